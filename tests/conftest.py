"""Shared fixtures: the real photo corpus, signing keys, the OCR engine, and small hostile files."""

from __future__ import annotations

import csv
import io
import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
PRODUCER = "001191110102MACQD9K64010000"


def corpus_files() -> list[Path]:
    """Every photo listed in the corpus's SOURCES.csv (licences there)."""
    with open(CORPUS / "SOURCES.csv", newline="") as handle:
        return [CORPUS / row["file"] for row in csv.DictReader(handle)]


@pytest.fixture(scope="session")
def corpus() -> list[Path]:
    files = corpus_files()
    assert files and all(p.is_file() for p in files), f"corpus missing at {CORPUS}"
    return files


@pytest.fixture(scope="session")
def small_photo() -> Path:
    return CORPUS / "china.jpg"


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    from aimark.labeller.keys import init_keys

    return init_keys(tmp_path_factory.mktemp("keys"), "Test Studio")


@pytest.fixture(scope="session")
def signer(keys):
    from aimark.labeller.c2pa import CredentialSigner

    return CredentialSigner.from_files(keys.signer_chain, keys.signer_key)


@pytest.fixture(scope="session")
def ocr():
    from aimark.models import OcrEngine

    return OcrEngine()


def require_tool(name: str) -> str:
    """The path of a system tool; missing fails under CI (CI=true) and skips elsewhere, saying why."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (Debian: apt-get install libimage-exiftool-perl); .ci/run installs it"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def header_only_bomb(width: int = 40000, height: int = 40000) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels: a decompression bomb's signature."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)
