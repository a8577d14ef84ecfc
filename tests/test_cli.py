"""The aimark command line: exit codes, reports, and errors that say what to do."""

import json
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from aimark.detectors.cli import main

from .conftest import PHOTO, PRODUCER, SMALL_PHOTO


@pytest.fixture()
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("AIMARK_KEYS", str(tmp_path / "keys"))
    monkeypatch.setenv("AIMARK_PRODUCER", PRODUCER)
    return tmp_path


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_label_without_keys_says_how_to_get_them(env):
    result = run("label", PHOTO, "--out", env / "out")
    assert result.exit_code == 2
    assert "aimark keys init" in result.output and "--no-c2pa" in result.output


def test_non_compliant_label_text_is_a_usage_error_with_the_rule(env):
    result = run("label", PHOTO, "--out", env / "out", "--no-c2pa", "--label-text", "AI illustration")
    assert result.exit_code == 2 and "generation element (生成 or 合成)" in result.output


def test_batch_with_a_bad_file_reports_it_and_exits_one(env):
    inputs = env / "in"
    inputs.mkdir()
    shutil.copy(PHOTO, inputs)
    shutil.copy(SMALL_PHOTO, inputs)
    (inputs / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    assert run("keys", "init", "--org", "CLI Test").exit_code == 0
    result = run("label", inputs, "--out", env / "out", "--author-id", "1234567890", "-j", "0")
    assert result.exit_code == 1
    assert "2 labelled, 0 skipped (already labelled), 1 failed" in result.output
    assert "broken.jpg" in result.output
    lines = [json.loads(line) for line in (env / "out" / "aimark-label.jsonl").read_text().splitlines()]
    records = [r for r in lines if r["status"] != "pending"]
    assert sorted(r["status"] for r in records) == ["failed", "labelled", "labelled"]
    labelled = next(r for r in records if r["status"] == "labelled")
    assert labelled["marks"]["author_mark"]["text"] == "ID：1234567890"
    assert labelled["marks"]["c2pa"]["signer"] == "CLI Test"
    assert len(labelled["output_sha256"]) == 64


def test_clean_batch_exits_zero_and_relabelling_skips(env):
    assert run("keys", "init", "--org", "CLI Test").exit_code == 0
    first = run("label", PHOTO, "--out", env / "out", "-j", "0")
    assert first.exit_code == 0
    again = run("label", env / "out" / PHOTO.name, "--out", env / "again", "-j", "0")
    assert again.exit_code == 0 and "0 labelled, 1 skipped" in again.output


def test_inspect_json_reports_every_layer(env):
    assert run("keys", "init", "--org", "CLI Test").exit_code == 0
    assert run("label", PHOTO, "--out", env / "out", "--author-id", "1234567890", "-j", "0").exit_code == 0
    result = run("inspect", env / "out" / PHOTO.name, "--json", "-j", "0")
    assert result.exit_code == 0
    record = json.loads(result.output)
    assert record["metadata"]["status"] == "conforming"
    assert record["c2pa"]["state"] == "Trusted"  # our own ca.pem is trusted by default
    kinds = {m["kind"]: m for m in record["visible"]}
    assert kinds["ai-label"]["check"]["compliant"] and kinds["author-id"]["author_id"] == "1234567890"
    assert record["watermark"]["found"] and record["watermark"]["payload"]["author_id"] == "1234567890"
    assert record["generator_watermarks"] == []
    table = run("inspect", env / "out" / PHOTO.name, "--no-ocr", "-j", "0").output
    assert "conforming" in table and "Trusted" in table and "aimark payload: author 1234567890" in table


def test_private_watermark_key_round_trips_and_short_keys_are_refused(env):
    assert run("keys", "init", "--org", "CLI Test").exit_code == 0
    key = env / "wm.key"
    key.write_bytes(b"0123456789abcdef0123456789abcdef")
    assert run("label", PHOTO, "--out", env / "out", "--author-id", "42", "--watermark-key", key, "-j", "0").exit_code == 0
    out = env / "out" / PHOTO.name
    with_key = json.loads(run("inspect", out, "--json", "--no-ocr", "--watermark-key", key, "-j", "0").output)
    without = json.loads(run("inspect", out, "--json", "--no-ocr", "-j", "0").output)
    assert with_key["watermark"]["payload"]["author_id"] == "42" and not without["watermark"]["found"]
    short = env / "short.key"
    short.write_bytes(b"abc")
    result = run("label", PHOTO, "--out", env / "o2", "--watermark-key", short)
    assert result.exit_code == 2 and "at least 16 random bytes" in result.output


def test_inspect_of_an_unreadable_file_exits_one(env):
    bad = env / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
    result = run("inspect", bad, "--no-ocr", "-j", "0")
    assert result.exit_code == 1 and "unreadable" in result.output


def test_console_script_is_installed_and_explains_itself():
    script = shutil.which("aimark") or str(__import__("pathlib").Path(sys.executable).with_name("aimark"))
    result = subprocess.run([script, "label", "--help"], capture_output=True, text=True, check=True)
    assert "--producer" in result.stdout and "AIMARK_PRODUCER" in result.stdout
