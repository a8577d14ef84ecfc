"""Every code block of the README runs, as written, in a folder holding the files it names: the shell blocks
with bash (``set -e``: a failing command fails the test), the Python blocks with this interpreter."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from .conftest import PHOTO, PORTRAIT, SMALL_PHOTO, encode

README = Path(__file__).resolve().parents[1] / "README.md"
SKIP = "<!-- readme-test: skip"


def blocks() -> list[tuple[str, str]]:
    """(language, code) of each fenced block, in order, without those marked as not run."""
    text = README.read_text(encoding="utf-8")
    found = []
    for match in re.finditer(r"(?P<before>[^\n]*)\n```(?P<lang>\w+)\n(?P<code>.*?)\n```", text, re.S):
        if not match.group("before").startswith(SKIP):
            found.append((match.group("lang"), match.group("code")))
    return found


def test_the_readme_has_the_blocks_this_test_runs():
    languages = [lang for lang, _ in blocks()]
    assert languages.count("sh") >= 2 and languages.count("python") >= 2, languages


@pytest.fixture()
def sandbox(tmp_path, monkeypatch):
    """The files the README's examples name, made from the project's corpus."""
    (tmp_path / "images").mkdir()
    shutil.copy(PHOTO, tmp_path / "images" / "stars.jpg")
    shutil.copy(PORTRAIT, tmp_path / "images" / "portrait.png")
    (tmp_path / "more").mkdir()
    shutil.copy(SMALL_PHOTO, tmp_path / "more" / "cat.png")
    (tmp_path / "one.jpg").write_bytes(encode(Image.open(SMALL_PHOTO).convert("RGB"), "JPEG", quality=90))
    shutil.copy(tmp_path / "one.jpg", tmp_path / "in.jpg")
    monkeypatch.setenv("AIMARK_KEYS", str(tmp_path / "keys"))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def prepare(block: str, folder: Path) -> None:
    """Files a block reads that an earlier block made: what a user would have downloaded or received."""
    if "downloads/" in block:
        (folder / "downloads").mkdir(exist_ok=True)
        shutil.copy(folder / "labelled" / "one.jpg", folder / "downloads" / "one.jpg")  # downloaded as is
    if "uploads/" in block:
        (folder / "uploads").mkdir(exist_ok=True)
        shutil.copy(folder / "labelled" / "one.jpg", folder / "uploads" / "labelled-upload.jpg")
        shutil.copy(SMALL_PHOTO, folder / "uploads" / "plain.png")
    if "upload.jpg" in block:
        shutil.copy(folder / "labelled" / "one.jpg", folder / "upload.jpg")


def test_every_readme_block_runs_as_written(sandbox):
    for language, code in blocks():
        prepare(code, sandbox)
        if language == "sh":
            result = subprocess.run(["bash", "-e", "-c", code], capture_output=True, text=True, cwd=sandbox)
            assert result.returncode == 0, f"{code}\n---\n{result.stdout}\n{result.stderr}"
        elif language == "python":
            result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=sandbox)
            assert result.returncode == 0, f"{code}\n---\n{result.stdout}\n{result.stderr}"
        else:
            pytest.fail(f"a README block in {language!r}: mark it '{SKIP} …' or teach this test to run it")
    assert (sandbox / "out.jpg").is_file() and (sandbox / "scan" / "report.html").is_file()
    assert (sandbox / "published" / "uploads" / "labelled-upload.jpg").is_file()


def test_the_python_snippets_give_the_trust_answer_the_cli_gives(sandbox):
    """Library and CLI read the same C2PA state for the same file: both trust your own ca.pem."""
    import json

    setup = [code for language, code in blocks() if language == "sh"][0]
    subprocess.run(["bash", "-e", "-c", setup], check=True, capture_output=True, cwd=sandbox)
    cli = subprocess.run(["aimark", "inspect", "labelled/one.jpg", "--json", "--no-ocr", "-j", "0"],
                         capture_output=True, text=True, check=True, cwd=sandbox)
    library = subprocess.run([sys.executable, "-c", "from aimark.detectors import inspect;"
                              "print(inspect('labelled/one.jpg').c2pa.state)"], capture_output=True, text=True,
                             check=True, cwd=sandbox)
    assert json.loads(cli.stdout)["c2pa"]["state"] == library.stdout.strip() == "Trusted"
