"""``aimark scan``: check reposts — which labels survive, which were stripped, whether the author's ID was
removed — writing one JSON record per image and an HTML report."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import click

from aimark.labeller.batch import Journal, sha256_file
from aimark.labeller.image_io import write_atomic
from aimark.labeller.workers import run

from ..report import is_ours, write_report
from ..scan import ScanOptions
from ..tasks import Item, ScanTask
from .common import (EXIT_FAILED, EXIT_OK, EXIT_UNREADABLE, Console, batch_options, console_options, discovery,
                     discovery_options, limits, list_skipped, max_pixels_option, open_registry, read_only_items,
                     read_watermark_key, registry_location, trust_anchors, trust_option, usage_errors, watermark_key_option)

EXIT_CODES = """\b
Exit codes:
  0  no image had a mark removed (findings at low confidence are information, not removals)
  1  at least one image had a mark removed, at medium or high confidence
  2  the command line is wrong
  3  nothing was removed, but some input could not be read
"""
SECTIONS = ".aimark-report"  # one HTML section per scanned image, kept so a re-run reuses them


@click.command(epilog=EXIT_CODES)
@click.argument("inputs", nargs=-1, required=True)
@click.option("-R", "--registry", "registry_path", metavar="FILE|URL",
              help="Registry of originals from 'aimark label --registry' (a SQLite file or a postgresql:// URL): "
                   "matches reposts to their originals, so "
                   "cropped, erased, blurred or covered marks can be told apart from marks never there.")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("aimark-scan"),
              show_default=True, help="Folder for scan.jsonl (one record per image, appended to) and report.html.")
@click.option("--fast", is_flag=True, help="Skip OCR: no claims about visible marks, a fraction of the time.")
@click.option("--declared-ai", is_flag=True, help="The uploader declared the images AI-generated (verdict 2 "
              "instead of 3 when no label is found).")
@trust_option()
@watermark_key_option
@discovery_options
@click.option("-f", "--force", is_flag=True, help="Replace a report.html in --out that aimark did not write.")
@batch_options
@max_pixels_option
@console_options
def scan(inputs, registry_path, out_dir, fast, declared_ai, trust_files, watermark_key, recursive, include_hidden,
         follow_symlinks, force, jobs, timeout, max_memory, ray_address, quiet, verbose):
    """Check reposts: which labels survive, which were stripped, and whether the author's ID was removed.

    INPUTS are files, folders and globs ('-' reads one image from standard input). Appends to
    OUT/scan.jsonl and writes OUT/report.html (open it in a browser: thumbnails, findings with their
    evidence, the original's corner beside the repost's). A re-run skips images already scanned with the
    same options and registry.
    """
    console = Console(quiet, verbose)
    key = usage_errors(lambda: read_watermark_key(watermark_key))
    anchors = usage_errors(lambda: trust_anchors(trust_files))
    items, skipped, unmatched = read_only_items(inputs, discovery(recursive, include_hidden, follow_symlinks),
                                                exclude=[out_dir])
    report = out_dir / "report.html"
    if report.exists() and not force and not is_ours(report):
        raise click.UsageError(f"{report} exists and was not written by aimark; pass --force to replace it")
    try:
        (out_dir / SECTIONS).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.UsageError(f"cannot write into {out_dir}: {exc.strerror}") from None
    location = registry_location(registry_path, must_exist=True)
    registry = open_registry(location, read_only=True, console=console)
    task = ScanTask(ScanOptions(trust_anchors=anchors, watermark_key=key, declared_ai=declared_ai),
                    use_ocr=not fast, registry_path=str(location) if location else None)
    fingerprint = task.fingerprint(registry.state() if registry is not None else None)
    described_registry = registry.describe() if registry is not None else None
    if registry is not None:
        registry.close()
    journal = Journal(out_dir / "scan.jsonl")
    earlier = journal.last(key="path")
    records: dict[int, dict] = {}
    sections: dict[int, str] = {}
    todo = []
    for item in items:
        section = _section_path(out_dir, item, fingerprint)
        previous = earlier.get(str(Path(item.path).resolve())) if item.data is None else None
        if (previous and previous.get("options") == fingerprint and not previous.get("error") and section
                and section.is_file() and previous.get("input_sha256") == sha256_file(Path(item.path))):
            records[item.index], sections[item.index] = previous, section.read_text(encoding="utf-8")
        else:
            todo.append(item)
    if len(todo) < len(items):
        console.info(f"{len(items) - len(todo)} already scanned with these options (scan.jsonl): not scanned again")
    try:
        with console.progress(len(todo), "scanning") as bar:
            for item, output in run(task, todo, limits(min(jobs, len(todo)), timeout, max_memory, ray_address)):
                record = {**output.record, "options": fingerprint}
                journal.append(record)
                section = _section_path(out_dir, item, fingerprint)
                if section is not None and not record.get("error"):
                    write_atomic(section, output.html.encode("utf-8"))
                records[item.index], sections[item.index] = record, output.html
                if record.get("error"):
                    console.info(f"  FAILED   {item.path}: {record['error']}")
                bar.update(1)
    except KeyboardInterrupt:
        console.error("interrupted: run the same command again to finish the scan")
        sys.exit(130)
    finally:
        journal.close()
    ordered = [records[i] for i in sorted(records)]
    described = ", ".join(filter(None, [f"registry {described_registry}" if registry_path else "no registry",
                                        "no OCR (--fast)" if fast else "OCR", "declared AI" if declared_ai else "",
                                        f"{len(trust_files)} trust file(s)" if trust_files else "own ca.pem trusted",
                                        "private watermark key" if watermark_key else ""]))
    write_report(report, [sections[i] for i in sorted(sections)], ordered, described)
    list_skipped(console, skipped, unmatched)
    removals = sum(bool(r.get("removal_found")) for r in ordered)
    errors = sum(r.get("error") is not None for r in ordered) + len(unmatched)
    console.info(f"{len(ordered)} scanned, {removals} with a mark removed, {errors} unreadable; "
                 f"records in {out_dir / 'scan.jsonl'}, report in {report}")
    sys.exit(EXIT_FAILED if removals else EXIT_UNREADABLE if errors else EXIT_OK)


def _section_path(out_dir: Path, item: Item, fingerprint: str) -> Path | None:
    if item.data is not None:
        return None
    digest = hashlib.sha256(f"{Path(item.path).resolve()}\n{fingerprint}".encode()).hexdigest()[:24]
    return out_dir / SECTIONS / f"{digest}.html"
