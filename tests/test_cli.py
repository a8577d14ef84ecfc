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
    assert labelled["marks"]["author-id"]["text"] == "ID：1234567890"
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
    assert kinds["visible-label"]["check"]["compliant"] and kinds["author-id"]["author_id"] == "1234567890"
    assert record["watermark"]["found"] and record["watermark"]["payload"]["author_id"] == "1234567890"
    assert record["generator_watermarks"] == []
    table = run("inspect", env / "out" / PHOTO.name, "--no-ocr", "-j", "0").output
    assert "conforming" in table and "Trusted" in table and "aimark payload: author 1234567890" in table


def test_private_watermark_key_round_trips_and_short_keys_are_refused(env):
    assert run("keys", "init", "--org", "CLI Test").exit_code == 0
    key = env / "wm.key"
    key.write_bytes(b"0123456789abcdef0123456789abcdef")
    labelled = run("label", PHOTO, "--out", env / "out", "--author-id", "42", "--watermark-key", key, "-j", "0")
    assert labelled.exit_code == 0
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


# --- the conventions of the tools these users know ------------------------------------------------------

def test_version_and_help_say_the_exit_codes(env):
    from aimark.labeller.pipeline import VERSION

    assert run("--version").output.strip() == f"aimark, version {VERSION}"
    assert run("-V").exit_code == 0
    for command in ("label", "inspect", "scan", "propagate"):
        text = run(command, "--help").output
        assert "Exit codes:" in text and "2  the command line is wrong" in text, command


def test_short_options_dry_run_quiet_and_verbose(env):
    assert run("keys", "init", "--org", "CLI Test").exit_code == 0
    dry = run("label", PHOTO, "-o", env / "out", "-a", "42", "-n")
    assert dry.exit_code == 0 and f"{PHOTO} -> {env / 'out' / PHOTO.name}" in dry.output
    assert "dry run: nothing written" in dry.output and not (env / "out").exists()
    quiet = run("label", PHOTO, "-o", env / "out", "-a", "42", "-j", "0", "-q")
    assert quiet.exit_code == 0 and "labelled," not in quiet.output
    verbose = run("inspect", env / "out" / PHOTO.name, "--no-ocr", "-j", "0", "-v")
    assert verbose.exit_code == 0 and "metadata" in verbose.output


def test_standard_input_and_output(env):
    labelled = subprocess.run([_script(), "label", "-", "-o", "-", "-p", PRODUCER, "--no-c2pa", "-q"],
                              input=PHOTO.read_bytes(), capture_output=True, check=True)
    assert labelled.stdout[:2] == b"\xff\xd8" and len(labelled.stdout) > 10000
    inspected = subprocess.run([_script(), "inspect", "-", "--json", "--no-ocr", "-j", "0"], input=labelled.stdout,
                               capture_output=True, check=True)
    record = json.loads(inspected.stdout)
    assert record["path"] == "-" and record["metadata"]["status"] == "conforming" and record["watermark"]["found"]
    to_terminal = run("label", PHOTO, "-o", "-", "-p", PRODUCER, "--no-c2pa")
    assert to_terminal.exit_code in (0, 2)  # CliRunner's stdout is not a terminal; a real one is refused


def test_unreadable_files_are_named_and_non_images_say_so(env):
    bad = env / "notes.jpg"
    bad.write_text("meeting notes")
    table = run("inspect", bad, "--no-ocr", "-j", "0")
    assert table.exit_code == 1 and "(unknown format, not decoded)" in table.output and "(None, ?)" not in table.output
    scanned = run("scan", bad, "-o", env / "scan", "--fast", "-j", "0")
    assert scanned.exit_code == 3 and f"FAILED   {bad}" in scanned.output
    animated = env / "anim.gif"
    from bench.hostile import animated_gif

    animated.write_bytes(animated_gif())
    scanned = run("scan", animated, "-o", env / "scan2", "--fast", "-j", "0")
    assert "still images only" in scanned.output and "labelling" not in scanned.output


def test_the_library_takes_bytes_paths_and_file_objects(signer):
    from aimark.detectors import inspect, scan
    from aimark.labeller import Labeller, LabelOptions

    labeller = Labeller(LabelOptions(producer=PRODUCER), signer=signer)
    with open(SMALL_PHOTO, "rb") as handle:
        from_file = labeller.label(handle)
    assert from_file.format == "PNG" and labeller.label(SMALL_PHOTO).format == "PNG"
    import io

    assert inspect(io.BytesIO(from_file.data)).metadata.status == "conforming"
    assert scan(io.BytesIO(from_file.data)).verdict.level == "1"
    assert inspect(from_file.data).metadata.status == "conforming"


def _script() -> str:
    return shutil.which("aimark") or str(__import__("pathlib").Path(sys.executable).with_name("aimark"))
