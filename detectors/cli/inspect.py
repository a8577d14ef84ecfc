"""``aimark inspect``: print every mark files carry, as a table or one JSON object per file."""

from __future__ import annotations

import json
import sys

import click

from aimark.labeller.workers import run

from .. import readers
from ..tasks import InspectTask
from .common import (EXIT_FAILED, EXIT_OK, Console, batch_options, console_options, discovery, discovery_options,
                     limits, list_skipped, max_pixels_option, read_only_items, read_watermark_key, trust_anchors,
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
            timeout, max_memory, ray_address, quiet, verbose):
    """Print every mark found in INPUTS: visible label and author ID (OCR), invisible watermark, generator
    watermarks (Stable Diffusion, SDXL), metadata label, C2PA.

    INPUTS are files, folders and globs; '-' reads one image from standard input. Results are printed in
    input order, whatever --jobs is.
    """
    console = Console(quiet, verbose)
    key = usage_errors(lambda: read_watermark_key(watermark_key))
    anchors = usage_errors(lambda: trust_anchors(trust_files))
    items, skipped, unmatched = read_only_items(inputs, discovery(recursive, include_hidden, follow_symlinks))
    task = InspectTask(use_ocr=not no_ocr, trust_anchors=anchors, watermark_key=key)
    failed = False
    run_limits = limits(min(jobs, len(items)), timeout, max_memory, ray_address)
    for _, record in run(task, items, run_limits):
        failed |= record.get("error") is not None
        click.echo(json.dumps(record, ensure_ascii=False) if as_json else table(record))
    list_skipped(console, skipped, unmatched)
    sys.exit(EXIT_FAILED if failed or unmatched else EXIT_OK)


def table(record: dict) -> str:
    """A person's view of one inspection record: a line per finding of each registered reader."""
    size = "x".join(map(str, record.get("size") or [])) or "not decoded"
    lines = [f"{record['path']}  ({record.get('format') or 'unknown format'}, {size})"]
    if record["error"]:
        lines.append(f"  {'pixels':<11} unreadable: {record['error']}")
    for reader in readers.READERS:
        if record.get(reader.key) is not None:
            lines += [f"  {reader.title:<11} {line}" for line in reader.lines(record[reader.key])]
    return "\n".join(lines)
