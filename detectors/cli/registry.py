"""``aimark registry``: look after a registry of originals — describe it, upgrade an old file, copy it to a
shared PostgreSQL database, and export its PDQ hashes for hash-exchange tools."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click

from aimark.labeller.image_io import write_atomic

from .common import EXIT_OK, Console, console_options, open_registry, registry_location


@click.group()
def registry():
    """A registry of originals: a SQLite file or a postgresql:// URL.

    \b
    aimark registry info originals.sqlite
    aimark registry migrate originals.sqlite postgresql://aimark@db/aimark
    aimark registry export originals.sqlite -o originals.pdq.txt
    """


@registry.command("info")
@click.argument("location", metavar="FILE|URL")
def info(location):
    """How many originals, how many carry a watermark (and how many of those failed their self-check) and a
    PDQ hash, and the memory a scan worker's hash index takes for them (measured: 2.0 GB for ten million,
    docs/benchmarks.md)."""
    with open_registry(registry_location(location, must_exist=True), read_only=True, console=Console()) as reg:
        counts = reg.counts()
        click.echo(f"registry      {reg.describe()}")
        click.echo(f"originals     {counts['originals']}")
        click.echo(f"watermarked   {counts['watermarked']}")
        click.echo(f"weak marks    {counts['weak_marks']} "
                   "(failed their self-check: a repost may not carry them)")
        click.echo(f"with PDQ      {counts['with_pdq']}")
        click.echo(f"hash index    about {counts['originals'] * INDEX_BYTES_PER_ORIGINAL / 2**20:.0f} MB in each "
                   "scan worker")


INDEX_BYTES_PER_ORIGINAL = 212  # bench/registry_scale.py: 2,023 MB for 10,000,000 originals


@registry.command("upgrade")
@click.argument("location", metavar="FILE")
@console_options
def upgrade(location, quiet, verbose):
    """Bring a registry file written by an earlier aimark to the current layout, in place, in one
    transaction (thumbnails moved out of the lookup table, PDQ computed from them)."""
    console = Console(quiet, verbose)
    open_registry(registry_location(location, must_exist=True), console=console).close()
    console.info(f"{location} is in the current layout")


@registry.command("migrate")
@click.argument("source", metavar="FROM")
@click.argument("destination", metavar="TO")
@console_options
def migrate(source, destination, quiet, verbose):
    """Copy every original from one registry to another (typically a SQLite file into a shared
    postgresql:// database). Originals already in TO are kept; run it again to finish an interrupted copy.
    FROM is only read."""
    from ..registry import copy_registry

    console = Console(quiet, verbose)
    with open_registry(registry_location(source, must_exist=True), read_only=True, console=console) as src, \
            open_registry(registry_location(destination, must_exist=False), console=console) as dest:
        with console.progress(len(src), "copying") as bar:
            copied, kept = copy_registry(src, dest, progress=lambda done: bar.update(1))
    console.info(f"{copied} originals copied into {dest.describe()}, {kept} already there")
    sys.exit(EXIT_OK)


@registry.command("export")
@click.argument("location", metavar="FILE|URL")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here (default: standard output). An existing file is replaced only with --force.")
@click.option("--format", "form", type=click.Choice(["te", "csv"]), default="te", show_default=True,
              help="te: one 'pdq HASH' per line, the signal file python-threatexchange and HMA read; "
                   "csv: signal_type,signal_value,produce_id,quality with a header.")
@click.option("--min-quality", type=click.IntRange(0, 100), default=50, show_default=True,
              help="Leave out PDQ hashes of pictures with too little structure (HMA's default is 50).")
@click.option("-f", "--force", is_flag=True, help="Replace an existing --out file.")
def export(location, out, form, min_quality, force):
    """The PDQ hashes of the registry's originals, in the form hash-exchange tools share them."""
    import io

    from ..registry import exported_signals

    if out is not None and out.exists() and not force:
        raise click.UsageError(f"{out} exists; pass --force to replace it")
    buffer = io.StringIO()
    with open_registry(registry_location(location, must_exist=True), read_only=True, console=Console()) as reg:
        rows = list(exported_signals(reg, min_quality))
    if form == "csv":
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["signal_type", "signal_value", "produce_id", "quality"])
        writer.writerows(rows)
    else:
        buffer.writelines(f"{signal} {value}\n" for signal, value, _, _ in rows)
    if out is None:
        click.echo(buffer.getvalue(), nl=False)
    else:
        write_atomic(out, buffer.getvalue().encode("utf-8"))
        click.echo(f"{len(rows)} PDQ hashes written to {out}", err=True)
