"""``aimark inspect``: print every mark files carry, as a table or one JSON object per file."""

from __future__ import annotations

import json
import sys

import click

from aimark.labeller.batch import STDIO, discover
from aimark.labeller.workers import run

from ..tasks import InspectTask, Item
from .common import (EXIT_FAILED, EXIT_OK, Console, batch_options, console_options, discovery, discovery_options,
                     limits, list_skipped, max_pixels_option, read_stdin, read_watermark_key, trust_anchors,
                     trust_option, usage_errors, watermark_key_option)

EXIT_CODES = """\b
Exit codes:
  0  every file was read
  1  some file could not be read as an image (its metadata is still reported)
  2  the command line is wrong
"""


@click.command(epilog=EXIT_CODES)
@click.argument("inputs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file (JSON Lines) instead of a table.")
@trust_option()
@click.option("--no-ocr", is_flag=True, help="Skip reading visible marks (faster).")
@watermark_key_option
@discovery_options
@batch_options
@max_pixels_option
@console_options
def inspect(inputs, as_json, trust_files, no_ocr, watermark_key, recursive, include_hidden, follow_symlinks, jobs,
            timeout, max_memory, quiet, verbose):
    """Print every mark found in INPUTS: visible label and author ID (OCR), invisible watermark, generator
    watermarks (Stable Diffusion, SDXL), metadata label, C2PA.

    INPUTS are files, folders and globs; '-' reads one image from standard input. Results are printed in
    input order, whatever --jobs is.
    """
    console = Console(quiet, verbose)
    key = usage_errors(lambda: read_watermark_key(watermark_key))
    anchors = usage_errors(lambda: trust_anchors(trust_files))
    if STDIO in inputs:
        if len(inputs) != 1:
            raise click.UsageError("'-' (standard input) works with exactly one input")
        items, skipped, unmatched = [Item(0, "-", read_stdin())], [], []
    else:
        found = discover(inputs, discovery(recursive, include_hidden, follow_symlinks))
        items = [Item(i, str(path)) for i, (path, _) in enumerate(found.files)]
        skipped, unmatched = found.skipped, found.unmatched
    task = InspectTask(use_ocr=not no_ocr, trust_anchors=anchors, watermark_key=key)
    failed = False
    run_limits = limits(min(jobs, len(items)), timeout, max_memory)
    for _, record in run(task, items, run_limits):
        failed |= record.get("error") is not None
        click.echo(json.dumps(record, ensure_ascii=False) if as_json else table(record))
    list_skipped(console, skipped, unmatched)
    sys.exit(EXIT_FAILED if failed or unmatched else EXIT_OK)


def table(record: dict) -> str:
    """A person's view of one inspection record."""
    size = "x".join(map(str, record.get("size") or [])) or "not decoded"
    lines = [f"{record['path']}  ({record.get('format') or 'unknown format'}, {size})"]
    if record["error"]:
        lines.append(f"  pixels      unreadable: {record['error']}")
    meta = record["metadata"]
    if meta:
        if not meta["labels"]:
            lines.append("  metadata    no AIGC label")
        for found in meta["labels"]:
            state = "conforming" if found["conforming"] else "NON-CONFORMING: " + "; ".join(found["problems"])
            lines.append(f"  metadata    {found['carrier']}: {json.dumps(found['values'], ensure_ascii=False)} ({state})")
        for problem in meta["problems"]:
            lines.append(f"  metadata    problem: {problem}")
        lines.append(f"  iptc        DigitalSourceType: {meta['digital_source_type'] or 'none'}")
        if meta["artist"] or meta["software"]:
            lines.append(f"  exif        Artist: {meta['artist'] or '-'}  Software: {meta['software'] or '-'}")
    credentials = record["c2pa"]
    if credentials:
        detail = ", ".join(credentials["failures"]) or ("untrusted signer" if credentials["untrusted"] else "")
        detail = detail or credentials["error"] or ""
        lines.append(f"  c2pa        {credentials['state']}" + (f" ({detail})" if detail else "")
                     + (f", signed by {credentials['signer']}" if credentials["signer"] else ""))
    found = record["watermark"]
    if found:
        if found["found"]:
            payload = found["payload"]
            lines.append(f"  watermark   aimark payload: author {payload['author_id']}, content {payload['content_id']} "
                         f"(pilot z {found['pilot_z']}, false-positive bound {found['false_positive_bound']:.0e})")
        else:
            lines.append("  watermark   no aimark watermark")
    for match in record["generator_watermarks"] or []:
        lines.append(f"  generator   {match['generator']} watermark, {match['verdict']}: {match['matched_bits']}/"
                     f"{match['total_bits']} bits ({match['reading']}, chance {match['chance']:.1e})")
    if record["visible"] is not None:
        marks = [m for m in record["visible"] if m["kind"] != "text"]
        if not marks:
            lines.append("  visible     no AI label or author ID found")
        for mark in marks:
            detail = ""
            if mark.get("check"):
                check = mark["check"]
                detail = (f" glyphs {check['glyph_height_px']} px (≥{check['required_height_px']}), "
                          f"{check['position'] or 'not on an edge'}, "
                          + ("compliant" if check["compliant"] else "NOT compliant: " + "; ".join(check["problems"])))
            lines.append(f"  visible     {mark['kind']} {mark['text']!r} at {mark['box']}{detail}")
    return "\n".join(lines)
