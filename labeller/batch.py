"""A batch: which files, where each output goes, and a journal so that a batch can stop at any point and be
run again to finish — without redoing work, without losing a file, without overwriting one.

**Discovery.** Files, folders and globs. A folder keeps its own name under ``--out`` (``images/`` ->
``OUT/images/...``), so two folders never merge. Inside folders, hidden files, symbolic links and files
that are not images by their name are skipped — each one listed with the reason and the option that would
include it. The output folder, when it lies inside an input folder, is never searched.

**Names.** An output keeps its input's relative path and name; only the extension can change (when the
format does). Two inputs that would get the same output name (compared case-insensitively, as macOS and
Windows do) get ``-2``, ``-3``... in input order; nothing is renamed after the fact.

**Never lose data.** No output replaces an existing file without ``--force``; no output lands on an input;
no write follows a symbolic link out of ``--out``; every output is written atomically.

**The journal** is the JSON Lines report itself, appended to, never truncated. For each image the parent
process appends a ``pending`` record (with the digest of the bytes it is about to write) before the output
is renamed into place, then registers it, then appends the final record. Whatever the kill point, a re-run
finds each image in one of three states and acts: done (output present with the recorded digest) — skipped;
written but unfinished (``pending`` + output present) — registered and recorded, not relabelled; anything
else — labelled again. Readers of the report take the last record per input.
"""

from __future__ import annotations

import errno
import glob
import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from . import carriers, formats
from .errors import AimarkError, DiskFull, OutputError, one_line

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".tif", ".tiff", ".gif", ".bmp", ".heic",
                  ".heif", ".hif", ".avif"}
GLOB_CHARS = set("*?[")
STDIO = "-"


class BatchError(AimarkError):
    """The batch as asked cannot run safely (it would overwrite an input, write through a link...)."""


# --- discovery ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Discovery:
    """What to take from folders: recurse into subfolders; include hidden files; follow symbolic links.

    Files and folders named on the command line are always taken, links or not: the user named them."""

    recursive: bool = True
    include_hidden: bool = False
    follow_symlinks: bool = False


@dataclass(frozen=True)
class Skipped:
    """A path that was not processed, and why (with the option that would include it)."""

    path: str
    reason: str

    def as_record(self) -> dict:
        return {"input": self.path, "status": "not-taken", "reason": self.reason}


@dataclass
class Found:
    """Discovered inputs as (path, relative output path), plus what was skipped or matched nothing."""

    files: list[tuple[Path, Path]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _folder_label(path: Path) -> str:
    """The name a folder argument keeps under --out: its own name (the resolved name for '.' or '..')."""
    return path.name if path.name not in ("", ".", "..") else (path.resolve().name or "root")


def discover(inputs: Iterable[str], options: Discovery = Discovery(), exclude: Iterable[Path] = ()) -> Found:
    """Expand files, folders and globs, in a stable order. ``exclude``: folders never searched (--out)."""
    found = Found()
    excluded = {Path(p).resolve() for p in exclude}
    seen: set[Path] = set()

    def take(path: Path, relative: Path) -> None:
        real = path.resolve()
        if real in seen:
            found.skipped.append(Skipped(str(path), "named more than once: processed once"))
            return
        seen.add(real)
        found.files.append((path, relative))

    def walk(folder: Path, relative: Path, visited: frozenset) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            found.skipped.append(Skipped(str(folder), f"cannot list the folder: {exc.strerror}"))
            return
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith(".") and not options.include_hidden:
                found.skipped.append(Skipped(str(path), "hidden: not taken (--include-hidden takes it)"))
                continue
            link = entry.is_symlink()
            if link and not options.follow_symlinks:
                what = "a folder" if path.is_dir() else "a file" if path.exists() else "nothing (broken)"
                found.skipped.append(Skipped(str(path), f"symbolic link to {what}: not followed "
                                                        "(--follow-symlinks follows links)"))
                continue
            if path.is_dir():
                real = path.resolve()
                if real in excluded:
                    found.skipped.append(Skipped(str(path), "the output folder: never searched for inputs"))
                elif not options.recursive:
                    found.skipped.append(Skipped(str(path), "subfolder: not searched (--no-recursive is set)"))
                elif real in visited:
                    found.skipped.append(Skipped(str(path), "link back to a folder already searched: a loop"))
                else:
                    walk(path, relative / entry.name, visited | {real})
            elif path.is_file():
                if is_image_name(path):
                    take(path, relative / entry.name)
                else:
                    found.skipped.append(Skipped(str(path), "not an image by its name "
                                                            f"({path.suffix or 'no extension'})"))
            else:
                found.skipped.append(Skipped(str(path), "not a regular file"))

    for item in inputs:
        path = Path(item)
        if path.is_dir():
            walk(path, Path(_folder_label(path)), frozenset({path.resolve()}))
        elif path.is_file():
            take(path, Path(path.name))
        elif GLOB_CHARS & set(item):
            matches = sorted(glob.glob(item, recursive=True, include_hidden=options.include_hidden))
            if not matches:
                found.unmatched.append(f"{item}: no file matches this pattern")
            for match in map(Path, matches):
                if match.is_dir():
                    walk(match, Path(_folder_label(match)), frozenset({match.resolve()}))
                elif match.is_file():
                    take(match, Path(match.name))
        else:
            found.unmatched.append(f"{item}: no such file or folder")
    return found


# --- the plan -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """One input and the output it goes to."""

    index: int
    source: Path
    target: Path


@dataclass
class BatchPlan:
    """Every job with its output path, and every path not taken with the reason."""

    jobs: list[Job] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    out_dir: Path | None = None

    def mapping(self) -> list[tuple[str, str]]:
        return [(str(job.source), str(job.target)) for job in self.jobs]


def planned_format(path: Path, requested: str | None) -> str | None:
    """The format the output of ``path`` will have, from its first bytes (None when they name no format)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
    except OSError:
        return None
    sniffed = carriers.sniff_format(head)
    if sniffed is None and not requested:
        return None
    encoding = formats.Encoding(sniffed or "UNKNOWN")
    return formats.plan_output(encoding, requested=requested).format


def output_name(path: Path, relative: Path, requested: str | None) -> Path:
    """``relative`` with the extension of the format its output will be written in."""
    fmt = planned_format(path, requested)
    if fmt is None:
        return relative
    suffix = formats.OutputPlan(format=fmt).suffix_for(relative.suffix)
    return relative.with_suffix(suffix) if relative.suffix else relative.with_name(relative.name + suffix)


def _output_subtrees(inputs: list[str], out_dir: Path) -> list[Path]:
    """Where outputs land that could sit inside an input folder: OUT/<name> for each folder argument, and
    OUT itself unless it contains an input folder (then excluding it would exclude the inputs)."""
    out = out_dir.resolve()
    folders = [Path(i).resolve() for i in inputs if Path(i).is_dir()]
    trees = [out / _folder_label(Path(i)) for i in inputs if Path(i).is_dir()]
    if not any(folder == out or out in folder.parents for folder in folders):
        trees.append(out)
    return trees


def plan_batch(inputs: Iterable[str], out_dir: Path, *, output_format: str | None = None,
               discovery: Discovery = Discovery()) -> BatchPlan:
    """Discover the inputs and give each a distinct output path under ``out_dir``.

    Raises ``BatchError`` when an output would land on an input (``--out`` chosen so that the tree it
    mirrors overlaps the inputs' own files)."""
    inputs = list(inputs)
    out_dir = Path(out_dir)
    found = discover(inputs, discovery, exclude=_output_subtrees(inputs, out_dir))
    plan = BatchPlan(skipped=found.skipped, unmatched=found.unmatched, out_dir=out_dir)
    sources = {p.resolve(): p for p, _ in found.files}
    taken: set[str] = set()
    for index, (source, relative) in enumerate(found.files):
        target = out_dir / output_name(source, relative, output_format)
        stem, suffix, n = target.with_suffix(""), target.suffix, 1
        while str(target).casefold() in taken:
            n += 1
            target = Path(f"{stem}-{n}{suffix}")
        taken.add(str(target).casefold())
        clash = sources.get(target.resolve())
        if clash is not None:
            raise BatchError(f"the output for {source} would overwrite the input {clash}; "
                             "choose an --out outside the input folders")
        plan.jobs.append(Job(index, source, target))
    return plan


# --- writing outputs safely -----------------------------------------------------------------------------

def sha256_file(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def check_target(target: Path, out_dir: Path | None, force: bool) -> str | None:
    """Why ``target`` must not be written (None: it may): an existing file without --force, a link, or a
    folder that resolves outside ``out_dir`` through a symbolic link."""
    if target.is_symlink():
        return f"{target} is a symbolic link: aimark never writes through links; remove it or choose another --out"
    if target.exists() and not force:
        return f"{target} already exists; pass --force to replace it"
    if target.exists() and not target.is_file():
        return f"{target} exists and is not a file"
    if out_dir is not None:
        root = Path(out_dir).resolve()
        parent = _deepest_existing(target.parent).resolve()
        not_made_yet = parent in root.parents and not Path(out_dir).exists()
        if parent != root and root not in parent.parents and not not_made_yet:
            return (f"{target.parent} leads outside --out {out_dir} through a symbolic link: "
                    "aimark never writes through links")
    return None


def _deepest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def write_output(target: Path, data: bytes, out_dir: Path | None, force: bool) -> None:
    """Write ``data`` to ``target`` atomically after ``check_target``; a full disk raises ``DiskFull``."""
    from .image_io import write_atomic

    problem = check_target(target, out_dir, force)
    if problem:
        raise OutputError(problem)
    try:
        write_atomic(target, data)
    except OutputError as exc:
        if "No space left" in str(exc) or "Disk quota" in str(exc):
            raise DiskFull(str(exc)) from None
        raise
    problem = check_target(target, out_dir, True)  # a link raced in while we wrote: say so
    if problem:
        raise OutputError(problem)


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, DiskFull) or (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT))


# --- the journal ----------------------------------------------------------------------------------------

class Journal:
    """The JSON Lines report, used as the batch's journal: records are appended and flushed to disk one by
    one, never truncated; ``last()`` reads the newest record per input (a torn last line is ignored)."""

    def __init__(self, path: Path | None):
        self.path = Path(path) if path else None
        self.run = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self._handle = None

    def last(self, key: str = "input") -> dict[str, dict]:
        """The newest record of each input, by its resolved path (read from the record's ``key`` field)."""
        newest: dict[str, dict] = {}
        if self.path is None or not self.path.is_file():
            return newest
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a line torn by a kill mid-write
                if isinstance(record, dict) and isinstance(record.get(key), str):
                    newest[str(Path(record[key]).resolve())] = record
        return newest

    def append(self, record: dict) -> None:
        if self.path is None:
            return
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.is_symlink():
                raise BatchError(f"the report {self.path} is a symbolic link: aimark never writes through links")
            self._handle = open(self.path, "a", encoding="utf-8")
        self._handle.write(json.dumps({**record, "run": self.run}, ensure_ascii=False) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


# --- running a batch ------------------------------------------------------------------------------------

@dataclass
class JobResult:
    """What a worker made of one job: the record, and for a success the output bytes and registry row."""

    record: dict
    data: bytes | None = None
    registry_row: Any = None


@dataclass
class BatchOutcome:
    """The final record of every job (in order), whether the batch stopped early, and what it never tried."""

    records: list[dict] = field(default_factory=list)
    stopped: str | None = None
    not_tried: list[Job] = field(default_factory=list)
    resumed: int = 0

    def count(self, status: str) -> int:
        return sum(r.get("status") == status for r in self.records)


def resume_state(job: Job, previous: dict | None, fingerprint: str) -> tuple[str, dict | None]:
    """What an earlier run left for ``job``: ("done", record), ("finish", pending record) or ("todo", None).

    Only a record made with the same options, for the same input bytes, to the same output, counts."""
    if not previous or previous.get("options") != fingerprint:
        return "todo", None
    status = previous.get("status")
    if status == "skipped":
        return ("done", previous) if previous.get("input_sha256") == sha256_file(job.source) else ("todo", None)
    if status in (None, "failed") or previous.get("output") != str(job.target):
        return "todo", None
    if previous.get("input_sha256") != sha256_file(job.source):
        return "todo", None
    if sha256_file(job.target) != previous.get("output_sha256"):
        return "todo", None
    return ("finish" if status == "pending" else "done"), previous


def run_batch(plan: BatchPlan, task, *, fingerprint: str, limits, journal: Journal, force: bool = False,
              registry=None, on_record: Callable[[dict], None] = lambda record: None) -> BatchOutcome:
    """Run ``task`` (a ``workers.Task`` returning ``JobResult``) over ``plan``, writing outputs, registry rows
    and journal records in input order from this process; see the module docstring for the protocol."""
    from . import workers

    outcome = BatchOutcome()
    earlier = journal.last()
    for skipped in plan.skipped:  # machines see what was not taken, and why, as people do on the console
        journal.append({**skipped.as_record(), "options": fingerprint})
    todo: list[Job] = []
    for job in plan.jobs:
        _remove_stale_parts(job.target)
        state, previous = resume_state(job, earlier.get(str(job.source.resolve())), fingerprint)
        if state == "done":
            if registry is not None and previous.get("status") != "skipped":
                _ensure_registered(registry, previous)
            outcome.records.append({**previous, "resumed": True})
            outcome.resumed += 1
            on_record(outcome.records[-1])
        elif state == "finish":
            if registry is not None:
                _ensure_registered(registry, previous)
            final = {key: value for key, value in previous.items() if key != "final_status"}
            final.update(status=previous.get("final_status", "done"), resumed=True)
            journal.append(final)
            outcome.records.append(final)
            outcome.resumed += 1
            on_record(final)
        else:
            problem = check_target(job.target, plan.out_dir, force)
            if problem:
                record = {"input": str(job.source), "output": None, "status": "failed", "error": problem,
                          "options": fingerprint}
                journal.append(record)
                outcome.records.append(record)
                on_record(record)
            else:
                todo.append(job)
    results = workers.run(task, todo, limits)
    for job, result in results:
        record = {**result.record, "options": fingerprint}
        try:
            if result.data is not None:
                _commit(job, result, record, plan.out_dir, force, journal, registry)
            else:
                journal.append(record)
        except Exception as exc:  # noqa: BLE001 - decide below whether the batch can go on
            if not is_disk_full(exc):
                record = {**record, "status": "failed", "output": None, "error": one_line(str(exc))}
                _safe_append(journal, record)
            else:
                outcome.stopped = f"the disk is full ({one_line(str(exc), 160)})"
                record = {**record, "status": "failed", "output": None, "error": "not written: the disk is full"}
                outcome.not_tried = [j for j in todo if j.index > job.index]
                outcome.records.append(record)
                on_record(record)
                results.close()
                break
        outcome.records.append(record)
        on_record(record)
    order = {str(job.source): job.index for job in plan.jobs}
    outcome.records.sort(key=lambda r: order.get(r.get("input"), len(order)))
    return outcome


def _remove_stale_parts(target: Path) -> None:
    """Temporary files a killed run left beside ``target`` (``write_atomic`` names them ``.NAME.*.part``)."""
    if target.parent.is_dir():
        for stale in target.parent.glob(f".{glob.escape(target.name)}.*.part"):
            if stale.is_file() and not stale.is_symlink():
                stale.unlink(missing_ok=True)


def _commit(job: Job, result: JobResult, record: dict, out_dir, force, journal: Journal, registry) -> None:
    """pending record -> output renamed into place -> registry row -> final record."""
    pending = {**record, "status": "pending", "final_status": record["status"]}
    journal.append(pending)
    write_output(job.target, result.data, out_dir, force)
    if registry is not None and result.registry_row is not None:
        registry.insert(result.registry_row)
    journal.append(record)


def _safe_append(journal: Journal, record: dict) -> None:
    try:
        journal.append(record)
    except OSError:
        pass  # the console summary still lists it


def _ensure_registered(registry, record: dict) -> None:
    """Add the registry row of an output an earlier run wrote but did not register (a kill between the
    two); the row is rebuilt from the output file itself."""
    if registry.has_produce_id(record.get("produce_id", "")):
        return
    from .image_io import load_source
    from .vocabulary import LabelRecord

    output = Path(record["output"])
    pixels = load_source(output.read_bytes()).pixels
    registry.insert(registry.prepare(LabelRecord.from_json(record), pixels, record.get("author_id"), str(output)))


# --- the labelling task ---------------------------------------------------------------------------------

@dataclass
class LabelTask:
    """Label one job in a worker: read, label in memory, return the bytes for the parent to write.

    ``registry_row`` (record, pixels, author_id) -> row prepares the registry row in the worker, where the
    pixels are; the parent only inserts it."""

    labeller: Any
    registry_row: Callable | None = None

    def setup(self) -> None:
        pass  # the labeller (and its signer) was rebuilt when this task was unpickled in the worker

    def __call__(self, job: Job) -> JobResult:
        from .errors import AlreadyLabelled, input_guard
        from .image_io import read_source
        from .pipeline import sha256

        started = time.perf_counter()
        record: dict = {"input": str(job.source), "output": None, "status": "failed", "error": None}
        try:
            data, _ = read_source(job.source)
        except AimarkError as exc:
            record["error"] = str(exc)
            return JobResult(record)
        record["input_sha256"] = sha256(data)
        try:
            with input_guard("this image"):
                result = self.labeller.label_bytes(data, name=job.source.name)
        except AlreadyLabelled as exc:
            record.update(status="skipped", error=str(exc))
            return JobResult(record)
        except AimarkError as exc:
            record["error"] = str(exc)
            return JobResult(record)
        if result.plan.suffix_for(job.source.suffix).lower() != job.target.suffix.lower():
            record["error"] = (f"the file's content is {result.format}, not what its name "
                               f"{job.source.name!r} says; rename it and run again")
            return JobResult(record)
        record.update(status="labelled", output=str(job.target), output_sha256=sha256(result.data),
                      author_id=self.labeller.options.author_id, **result.record.as_json())
        record["seconds"] = round(time.perf_counter() - started, 4)
        row = (self.registry_row(result.record, result.pixels, self.labeller.options.author_id, str(job.target))
               if self.registry_row else None)
        return JobResult(record, result.data, row)

    def failed(self, job: Job, reason: str) -> JobResult:
        return JobResult({"input": str(job.source), "output": None, "status": "failed", "error": reason})
