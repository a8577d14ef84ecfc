"""Shared fixtures: the project's own small corpus, the full-size corpus and peer files beside the checkout
(when present), signing keys, the OCR engine, and small hostile files.

The default run needs nothing outside the repository: ``tests/corpus/`` holds a few CC0 and public-domain
pictures (licences in its SOURCES.csv). ``../shared/corpus`` (20 full-size photos) and ``../shared/peers``
(other projects' C2PA files) feed the tests marked ``slow`` and ``conformance``: they skip, saying why, when
that folder is absent — and fail under ``CI=true``, where it must be there.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CORPUS = Path(__file__).resolve().parent / "corpus"
SHARED = Path(os.environ.get("AIMARK_SHARED") or Path(__file__).resolve().parents[1].parent / "shared")
SHARED_CORPUS = SHARED / "corpus"
PEERS = SHARED / "peers"
PRODUCER = "001191110102MACQD9K64010000"
# The project's stand-ins for a typical upload: a colour photo big enough for every repost case, a small
# colour photo, a greyscale portrait.
PHOTO = CORPUS / "hubble_deep_field.jpg"
SMALL_PHOTO = CORPUS / "chelsea.png"
PORTRAIT = CORPUS / "camera.png"


def knit(width: int = 1200, height: int = 900) -> Image.Image:
    """A drawn knit: V-shaped stitches 10 px wide and 14 px tall, a periodic texture whose harmonics drown the
    mark wherever the decoder reads without the spectrally flat view."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    wave = np.cos((np.abs((x % 10) - 5) * 2 - (y % 14)) / 2.5)
    return Image.fromarray(np.stack([110 + 60 * wave, 50 + 40 * wave, 80 + 30 * wave], -1).astype(np.uint8))


def label_and_register(signer, folder: Path, data: bytes, name: str, author: str, produce_id: str | None = None,
                       watermark: bool = True, template: str = "小红书号：{id}", **layout):
    """``data`` labelled as the evidence tests label (the visible label, ``author``'s ID in ``template``, by
    default Xiaohongshu's form, the watermark unless ``watermark`` is False, metadata, C2PA) and registered
    alone in a new registry in ``folder``: (result, registry). A fixed ``produce_id`` keeps the mark the same
    every run; ``layout``: other label words and places (``LabelOptions``' label_text, label_position,
    author_position)."""
    from aimark.detectors.registry import Registry
    from aimark.labeller.pipeline import Labeller, LabelOptions
    from aimark.labeller.watermark import TiledSpreadSpectrum

    labeller = Labeller(LabelOptions(producer=PRODUCER, author_id=author, author_template=template, **layout),
                        signer=signer, watermark=TiledSpreadSpectrum() if watermark else None)
    result = labeller.label_bytes(data, name, produce_id=produce_id)
    registry = Registry(folder / "originals.sqlite")
    registry.add(result.record, result.pixels, author)
    return result, registry


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def require(path: Path, what: str) -> Path:
    """``path``, or a skip saying what is missing and why (a failure under CI=true)."""
    if path.exists():
        return path
    message = (f"{what} not found at {path} (it lives beside the checkout in ../shared, or set AIMARK_SHARED); "
               "the default tests use tests/corpus only")
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def corpus_files(folder: Path = CORPUS) -> list[Path]:
    """Every picture listed in a corpus's SOURCES.csv (licences there)."""
    with open(folder / "SOURCES.csv", newline="") as handle:
        return [folder / row["file"] for row in csv.DictReader(handle)]


@pytest.fixture(scope="session")
def corpus() -> list[Path]:
    files = corpus_files()
    assert files and all(p.is_file() for p in files), f"the project's corpus is missing files in {CORPUS}"
    return files


@pytest.fixture(scope="session")
def shared_corpus() -> list[Path]:
    """The full-size photos beside the checkout (slow tests only)."""
    require(SHARED_CORPUS / "SOURCES.csv", "the full-size corpus")
    files = corpus_files(SHARED_CORPUS)
    assert files and all(p.is_file() for p in files), f"corpus files missing in {SHARED_CORPUS}"
    return files


@pytest.fixture(scope="session")
def peers() -> Path:
    """Other projects' C2PA test files (conformance tests only)."""
    require(PEERS / "EXPECTED.csv", "the peers' C2PA conformance files")
    return PEERS


@pytest.fixture(scope="session")
def photo_jpeg() -> bytes:
    """A real JPEG photo, as a camera or generator would hand it over."""
    return PHOTO.read_bytes()


@pytest.fixture(scope="session")
def small_photo(tmp_path_factory) -> Path:
    """A small real photo as a JPEG file (chelsea.png re-encoded once, q90)."""
    path = tmp_path_factory.mktemp("small") / "chelsea.jpg"
    path.write_bytes(encode(Image.open(SMALL_PHOTO).convert("RGB"), "JPEG", quality=90))
    return path


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    from aimark.labeller.keys import init_keys

    return init_keys(tmp_path_factory.mktemp("keys") / "k", "Test Studio")


@pytest.fixture(scope="session")
def signer(keys):
    from aimark.labeller.c2pa import CredentialSigner

    return CredentialSigner.from_files(keys.signer_chain, keys.signer_key)


@pytest.fixture(scope="session")
def ocr():
    from aimark.models import OcrEngine

    return OcrEngine()


def require_tool(name: str, package: str = "libimage-exiftool-perl") -> str:
    """The path of a system tool; missing fails under CI (CI=true) and skips elsewhere, saying why."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (Debian: apt-get install {package}); .ci/run installs it"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def image_data_start(jpeg: bytes) -> int:
    """Where a JPEG's entropy-coded data begins: past its first SOS segment, found by walking the segments.
    (Searching for the bytes FF DA can stop inside a C2PA manifest, whose signature and certificates are
    random: about one test session in 30 had them there, and the edit then fell in the manifest.)"""
    from aimark.labeller.carriers import jpeg_segments

    return next(segment.end for segment in jpeg_segments(jpeg) if segment.marker == 0xDA)


def photo(size=(480, 320), source: Path = SMALL_PHOTO) -> Image.Image:
    """A real colour photo at ``size`` (RGB)."""
    return Image.open(source).convert("RGB").resize(size)


from bench.hostile import header_only_bomb as header_only_bomb  # noqa: E402 - shared with the fuzz harness


def payload_dependent(note: str) -> bool:
    """A record's note that follows the random ProduceID: the self-check strengthens a mark whose repost
    pilot falls short of its margin, and that pilot depends on the payload the ProduceID makes. Two runs
    over the same inputs can differ there and nowhere else."""
    return note.startswith("watermark strengthened")


def steady_notes(notes: list[str]) -> list[str]:
    """A record's notes without those that follow the random ProduceID (``payload_dependent``)."""
    return [n for n in notes if not payload_dependent(n)]

