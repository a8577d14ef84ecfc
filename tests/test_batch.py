"""Batches you can trust: predictable names, every skip said, nothing overwritten or lost, hostile files fail
alone, a kill at any point leaves a consistent state that a re-run finishes without redoing work, a full disk
stops cleanly, and worker processes give the same records as one."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from aimark.detectors.registry import Registry, prepare_row
from aimark.labeller import batch, image_io
from aimark.labeller.batch import BatchError, Discovery, Journal, LabelTask, plan_batch, run_batch
from aimark.labeller.errors import OutputError
from aimark.labeller.pipeline import Labeller, LabelOptions
from aimark.labeller.workers import Limits, run

from .conftest import CORPUS, PHOTO, PORTRAIT, PRODUCER, SMALL_PHOTO, encode, steady_notes, photo
from bench.hostile import HOSTILE


def write(path: Path, data: bytes | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if data is not None else encode(photo((320, 240)), "JPEG"))
    return path


def targets(plan) -> dict[str, str]:
    return {str(job.source): str(job.target) for job in plan.jobs}


# --- names and discovery --------------------------------------------------------------------------------

def test_a_folder_keeps_its_name_so_two_folders_never_merge(tmp_path):
    write(tmp_path / "a" / "x.jpg")
    write(tmp_path / "b" / "x.jpg")
    write(tmp_path / "a" / "deep" / "y.jpg")
    plan = plan_batch([str(tmp_path / "a"), str(tmp_path / "b")], tmp_path / "out")
    assert sorted(targets(plan).values()) == sorted(str(tmp_path / "out" / p) for p in
                                                    ("a/x.jpg", "b/x.jpg", "a/deep/y.jpg"))


def test_collisions_are_per_full_name_and_in_input_order(tmp_path):
    jpg, png = write(tmp_path / "a.jpg"), write(tmp_path / "a.png", encode(photo(), "PNG"))
    plan = plan_batch([str(jpg), str(png)], tmp_path / "out")
    assert [Path(t).name for t in targets(plan).values()] == ["a.jpg", "a.png"]  # different names: no suffix
    other = write(tmp_path / "other" / "a.jpg")
    plan = plan_batch([str(jpg), str(other)], tmp_path / "out")
    assert [Path(t).name for t in targets(plan).values()] == ["a.jpg", "a-2.jpg"]
    converted = plan_batch([str(jpg), str(png)], tmp_path / "out", output_format="png")
    assert [Path(t).name for t in targets(converted).values()] == ["a.png", "a-2.png"]


def test_the_extension_follows_the_content_not_the_name(tmp_path):
    disguised = write(tmp_path / "photo.png", encode(photo(), "JPEG"))
    bmp = write(tmp_path / "scan.bmp", encode(photo(), "BMP"))
    plan = plan_batch([str(disguised), str(bmp)], tmp_path / "out")
    assert [Path(t).name for t in targets(plan).values()] == ["photo.jpg", "scan.png"]


def test_every_skipped_file_is_listed_with_its_reason_and_option(tmp_path):
    folder = tmp_path / "in"
    write(folder / "good.jpg")
    write(folder / ".hidden.jpg")
    write(folder / ".cache" / "x.jpg")
    (folder / "notes.txt").write_text("hello")
    write(folder / "sub" / "deep.jpg")
    elsewhere = write(tmp_path / "elsewhere" / "linked.jpg")
    (folder / "link.jpg").symlink_to(elsewhere)
    (folder / "linkdir").symlink_to(elsewhere.parent)
    found = batch.discover([str(folder)])
    reasons = {Path(s.path).name: s.reason for s in found.skipped}
    assert "--include-hidden" in reasons[".hidden.jpg"] and "--include-hidden" in reasons[".cache"]
    assert "not an image by its name (.txt)" in reasons["notes.txt"]
    assert "--follow-symlinks" in reasons["link.jpg"] and "link to a folder" in reasons["linkdir"]
    assert sorted(p.name for p, _ in found.files) == ["deep.jpg", "good.jpg"]
    flat = batch.discover([str(folder)], Discovery(recursive=False))
    assert "--no-recursive" in {Path(s.path).name: s.reason for s in flat.skipped}["sub"]
    everything = batch.discover([str(folder)], Discovery(include_hidden=True, follow_symlinks=True))
    assert sorted(p.name for p, _ in everything.files) == [".hidden.jpg", "deep.jpg", "good.jpg", "link.jpg", "x.jpg"]
    assert any("named more than once" in s.reason for s in everything.skipped)  # linkdir/linked.jpg: same file


def test_a_link_loop_is_not_followed_forever(tmp_path):
    folder = tmp_path / "in"
    write(folder / "a.jpg")
    (folder / "loop").symlink_to(folder)
    found = batch.discover([str(folder)], Discovery(follow_symlinks=True))
    assert [p.name for p, _ in found.files] == ["a.jpg"]
    assert any("loop" in s.reason for s in found.skipped)


def test_out_inside_the_inputs_is_never_searched_and_never_touches_an_input(tmp_path):
    folder = tmp_path / "in"
    source = write(folder / "a.jpg")
    write(folder / "labelled" / "in" / "old.jpg")  # an earlier run's output inside the input folder
    plan = plan_batch([str(folder)], folder / "labelled")
    assert [job.source for job in plan.jobs] == [source]
    shutil.rmtree(folder / "labelled")
    write(folder / "in" / "earlier-output.jpg")
    same = plan_batch([str(folder)], folder)  # --out equal to the input folder: outputs go to in/in/, never searched
    assert [str(job.target) for job in same.jobs] == [str(folder / "in" / "a.jpg")]
    with pytest.raises(BatchError, match="would overwrite the input"):
        plan_batch([str(source)], folder)


# --- never lose data ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def labeller():
    return Labeller(LabelOptions(producer=PRODUCER, author_id="1234567890"))


def go(plan, labeller, journal_path=None, force=False, registry=None, jobs=0):
    return run_batch(plan, LabelTask(labeller, registry_row=prepare_row if registry is not None else None),
                     fingerprint=labeller.fingerprint(), limits=Limits(jobs=jobs), journal=Journal(journal_path),
                     force=force, registry=registry)


def test_an_unrelated_file_in_out_is_not_overwritten_without_force(tmp_path, labeller):
    source = write(tmp_path / "in" / "a.jpg")
    squatter = write(tmp_path / "out" / "a.jpg", b"someone else's file")
    plan = plan_batch([str(source)], tmp_path / "out")
    [record] = go(plan, labeller).records
    assert record["status"] == "failed" and "already exists; pass --force" in record["error"]
    assert squatter.read_bytes() == b"someone else's file"
    [forced] = go(plan, labeller, force=True).records
    assert forced["status"] == "labelled" and squatter.read_bytes() != b"someone else's file"


def test_the_report_is_appended_never_truncated(tmp_path, labeller):
    source = write(tmp_path / "in" / "a.jpg")
    report = tmp_path / "out" / "aimark-label.jsonl"
    go(plan_batch([str(source)], tmp_path / "out"), labeller, report)
    first = report.read_text()
    other = write(tmp_path / "in2" / "b.jpg")
    go(plan_batch([str(other)], tmp_path / "out"), labeller, report)
    assert report.read_text().startswith(first) and len(report.read_text()) > len(first)


def test_no_write_follows_a_symbolic_link_out_of_out(tmp_path, labeller):
    source = write(tmp_path / "in" / "a.jpg")
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "in").symlink_to(outside)
    [record] = go(plan_batch([str(tmp_path / "in")], tmp_path / "out"), labeller).records
    assert record["status"] == "failed" and "never writes through links" in record["error"]
    assert not list(outside.iterdir())
    target_link = tmp_path / "out2" / "a.jpg"
    target_link.parent.mkdir()
    target_link.symlink_to(outside / "victim.jpg")
    [record] = go(plan_batch([str(source)], tmp_path / "out2"), labeller, force=True).records
    assert "symbolic link" in record["error"] and not (outside / "victim.jpg").exists()


def test_inputs_are_never_modified(tmp_path, labeller):
    folder = tmp_path / "in"
    for path in CORPUS.glob("*.*"):
        shutil.copy(path, folder / path.name) if folder.exists() else (folder.mkdir(), shutil.copy(path, folder))
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    go(plan_batch([str(folder)], folder), labeller)  # --out is the input folder itself
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before


# --- resumable and crash-safe ---------------------------------------------------------------------------

def _inputs(tmp_path, count=4) -> Path:
    folder = tmp_path / "in"
    for i in range(count):
        write(folder / f"p{i}.jpg", encode(photo((320 + 8 * i, 240)), "JPEG"))
    return folder


def consistent(out: Path, report: Path, registry_path: Path, inputs: int) -> list[dict]:
    """Every output has a final record with its digest and a registry row; nothing is there twice."""
    lines = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    final = {}
    for record in lines:
        if record["status"] != "pending":
            final[record["input"]] = record
    outputs = sorted(p for p in out.rglob("*.jpg"))
    assert len(outputs) == inputs, outputs
    assert not list(out.rglob("*.part"))
    by_output = {r["output"]: r for r in final.values() if r["status"] == "labelled"}
    for path in outputs:
        record = by_output[str(path)]
        assert batch.sha256_file(path) == record["output_sha256"]
    with Registry(registry_path) as registry:
        rows = [(row["produce_id"], row["path"]) for row in registry.rows()]
    assert sorted(r[0] for r in rows) == sorted(r["produce_id"] for r in by_output.values())
    assert all(Path(path).exists() for _, path in rows)
    return lines


class Killed(BaseException):
    """Stands for SIGKILL at one point of the write protocol (BaseException: nothing catches it)."""


@pytest.mark.parametrize("point", ["journal-pending", "write", "registry", "journal-final"])
@pytest.mark.parametrize("nth", [1, 3])
def test_a_kill_at_any_point_then_a_rerun_is_consistent_and_redoes_nothing(tmp_path, labeller, monkeypatch, point,
                                                                          nth):
    folder, out = _inputs(tmp_path), tmp_path / "out"
    report, registry_path = out / "aimark-label.jsonl", tmp_path / "reg.sqlite"
    plan = plan_batch([str(folder)], out)
    calls = {"n": 0}

    def dying(original, match=lambda *a: True):
        def wrapper(*args, **kwargs):
            if match(*args):
                calls["n"] += 1
                if calls["n"] == nth:
                    if point in ("write", "journal-final", "registry"):
                        original(*args, **kwargs) if point != "write" else None
                    raise Killed()
            return original(*args, **kwargs)
        return wrapper

    if point == "write":
        monkeypatch.setattr(batch, "write_output", dying(batch.write_output))
    elif point == "registry":
        monkeypatch.setattr(Registry, "insert", dying(Registry.insert))
    else:
        status = "pending" if point == "journal-pending" else "labelled"
        monkeypatch.setattr(Journal, "append", dying(Journal.append, lambda self, record: record["status"] == status))
    with Registry(registry_path) as registry:
        with pytest.raises(Killed):
            go(plan, labeller, report, registry=registry)
    monkeypatch.undo()
    labelled_before = {p: batch.sha256_file(p) for p in out.rglob("*.jpg")}
    with Registry(registry_path) as registry:
        outcome = go(plan, labeller, report, registry=registry)
    assert [r["status"] for r in outcome.records] == ["labelled"] * 4
    lines = consistent(out, report, registry_path, 4)
    for path, digest in labelled_before.items():  # what was finished before the kill is not redone
        assert batch.sha256_file(path) == digest
    assert outcome.resumed >= len(labelled_before)
    for job in plan.jobs:  # each input labelled exactly once over both runs, or finished from its pending record
        mine = [r for r in lines if r["input"] == str(job.source) and r["status"] == "labelled"]
        assert len(mine) == 1, mine


def test_a_real_sigkill_mid_batch_then_rerun(tmp_path, keys):
    """The command itself, killed with SIGKILL while it works, then run again to the end."""
    folder, out = _inputs(tmp_path, 12), tmp_path / "out"  # enough work that the kill lands mid-batch
    env = {**os.environ, "AIMARK_KEYS": str(keys.folder)}
    command = [sys.executable, "-m", "aimark.detectors.cli", "label", str(folder), "-o", str(out), "-p", PRODUCER,
               "--registry", str(tmp_path / "reg.sqlite"), "-j", "1", "-q"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    report = out / "aimark-label.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and (not report.exists() or report.read_text().count('"labelled"') < 2):
        assert process.poll() is None, "the batch ended before it could be killed"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    rerun = subprocess.run(command, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    consistent(out, report, tmp_path / "reg.sqlite", 12)
    final = [json.loads(line) for line in report.read_text().splitlines()]
    for name in {r["input"] for r in final}:  # each labelled once: a kill after its output appeared resumes it
        mine = [r for r in final if r["input"] == name and r["status"] == "labelled"]
        assert sum(not r.get("resumed") for r in mine) <= 1 and mine, mine
    assert len({r["input"] for r in final}) == 12


def test_changed_options_do_not_resume_and_do_not_overwrite(tmp_path, labeller):
    folder, out = _inputs(tmp_path, 1), tmp_path / "out"
    report = out / "aimark-label.jsonl"
    go(plan_batch([str(folder)], out), labeller, report)
    other = Labeller(LabelOptions(producer="ANOTHER"))
    [record] = go(plan_batch([str(folder)], out), other, report).records
    assert record["status"] == "failed" and "--force" in record["error"]


def test_a_full_disk_stops_cleanly_with_what_was_and_was_not_done(tmp_path, labeller, monkeypatch):
    folder, out = _inputs(tmp_path, 5), tmp_path / "out"
    written = {"n": 0}
    real = image_io.write_atomic

    def filling(path, data):
        written["n"] += 1
        if written["n"] > 2:
            raise OutputError(f"cannot write {path}: No space left on device")
        return real(path, data)

    monkeypatch.setattr(image_io, "write_atomic", filling)
    outcome = go(plan_batch([str(folder)], out), labeller, out / "aimark-label.jsonl")
    assert outcome.stopped and "disk is full" in outcome.stopped
    assert [r["status"] for r in outcome.records] == ["labelled", "labelled", "failed"]
    assert [job.source.name for job in outcome.not_tried] == ["p3.jpg", "p4.jpg"]
    monkeypatch.undo()
    again = go(plan_batch([str(folder)], out), labeller, out / "aimark-label.jsonl")
    assert again.resumed == 2 and [r["status"] for r in again.records] == ["labelled"] * 5


# --- hostile inputs among good ones, in isolated workers ------------------------------------------------

def test_hostile_files_fail_alone_and_every_good_file_is_labelled(tmp_path, labeller):
    folder = tmp_path / "in"
    for name, make in HOSTILE.items():
        write(folder / name, make())
    for path in (PHOTO, SMALL_PHOTO, PORTRAIT):
        shutil.copy(path, folder / path.name)
    started = time.time()
    outcome = go(plan_batch([str(folder)], tmp_path / "out"), labeller, jobs=2)
    by_name = {Path(r["input"]).name: r for r in outcome.records}
    assert {n: by_name[n]["status"] for n in (PHOTO.name, SMALL_PHOTO.name, PORTRAIT.name)} == \
        dict.fromkeys((PHOTO.name, SMALL_PHOTO.name, PORTRAIT.name), "labelled")
    for name in HOSTILE:
        record = by_name[name]
        assert record["status"] in ("failed", "skipped", "labelled"), record
        if record["status"] != "labelled":
            assert record["error"] and "\n" not in record["error"] and "Traceback" not in record["error"]
    assert by_name["black-88mp.png"]["status"] == "failed" and "--max-pixels" in by_name["black-88mp.png"]["error"]
    assert time.time() - started < 60


class Sleepy:
    """A task that hangs on some items and eats memory on others: the worker pool's own test."""

    def setup(self):
        pass

    def __call__(self, item):
        if item == "hang":
            time.sleep(60)
        if item == "hog":
            hog = bytearray(3 << 30)
            return len(hog)
        if item == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        return f"done {item}"

    def failed(self, item, reason):
        return f"failed {item}: {reason}"


def test_a_hang_a_memory_blowup_and_a_dead_worker_each_fail_alone_in_order():
    items = ["a", "hang", "b", "hog", "c", "die", "d"]
    results = [result for _, result in run(Sleepy(), items, Limits(jobs=2, timeout=3, memory=1 << 30))]
    assert results[0::2] == ["done a", "done b", "done c", "done d"]
    assert results[1].startswith("failed hang: took longer than 3 s")
    assert results[3].startswith("failed hog:") and "memory" in results[3]
    assert results[5].startswith("failed die:") and "signal 9" in results[5]


def test_two_workers_give_the_same_records_as_one(tmp_path, labeller):
    folder = tmp_path / "in"
    for path in CORPUS.glob("*.*"):
        if path.suffix != ".csv":
            write(folder / path.name, path.read_bytes())
    volatile = {"produce_id", "seconds", "output_sha256", "marks", "run", "output"}

    def stable(records):
        return [{k: (steady_notes(v) if k == "notes" else v)
                 for k, v in r.items() if k not in volatile} for r in records]

    one = go(plan_batch([str(folder)], tmp_path / "one"), labeller, jobs=1).records
    two = go(plan_batch([str(folder)], tmp_path / "two"), labeller, jobs=2).records
    assert stable(one) == stable(two)
    assert [r["marks"]["visible-label"]["box"] for r in one] == [r["marks"]["visible-label"]["box"] for r in two]
    for a, b in zip(one, two):
        pa, pb = Image.open(a["output"]), Image.open(b["output"])
        assert pa.size == pb.size and pa.mode == pb.mode


def test_skipped_files_are_in_the_report_too(tmp_path, labeller):
    write(tmp_path / "in" / "a.jpg")
    (tmp_path / "in" / "notes.txt").write_text("x")
    report = tmp_path / "out" / "aimark-label.jsonl"
    go(plan_batch([str(tmp_path / "in")], tmp_path / "out"), labeller, report)
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert any(r["status"] == "not-taken" and r["input"].endswith("notes.txt") and "not an image" in r["reason"]
               for r in lines)


# --- keys: never through a link, never in a folder others can open ---------------------------------------

def test_keys_refuse_an_open_folder_and_never_write_through_a_link(tmp_path):
    from aimark.labeller import keys
    from aimark.labeller.errors import AimarkError

    open_folder = tmp_path / "open"
    open_folder.mkdir(mode=0o755)
    os.chmod(open_folder, 0o755)
    with pytest.raises(AimarkError, match="open to other users .*chmod 700"):
        keys.init_keys(open_folder, "Studio")
    paths = keys.init_keys(tmp_path / "k", "Studio")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    paths.signer_key.unlink()
    paths.signer_key.symlink_to(victim)
    keys.init_keys(paths.folder, "Studio", force=True)
    assert victim.read_text() == "precious"  # the link was replaced by a file, not written through
    assert not paths.signer_key.is_symlink() and (paths.signer_key.stat().st_mode & 0o777) == 0o600
    created = tmp_path / "deep" / "er" / "keys"
    keys.init_keys(created, "Studio")
    assert all(p.stat().st_mode & 0o077 == 0 for p in (created, created.parent, created.parent.parent))


def test_a_world_readable_key_is_warned_about(tmp_path):
    from aimark.labeller import keys
    from aimark.labeller.c2pa import CredentialSigner

    paths = keys.init_keys(tmp_path / "k", "Studio")
    os.chmod(paths.signer_key, 0o644)
    signer = CredentialSigner.from_files(paths.signer_chain, paths.signer_key)
    assert any("readable by other users" in w and "chmod 600" in w for w in signer.warnings)
