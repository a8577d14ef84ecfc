"""``aimark label``: label a batch of images (visible label, author mark, watermark, metadata label, C2PA)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from aimark.labeller import keys as keys_module
from aimark.labeller import metadata, visible
from aimark.labeller.batch import STDIO, BatchError, Journal, LabelTask, plan_batch, run_batch
from aimark.labeller.errors import AimarkError, AlreadyLabelled
from aimark.labeller.formats import FORMATS
from aimark.labeller.pipeline import Labeller, LabelOptions
from aimark.labeller.watermark import TiledSpreadSpectrum

from .common import (BATCH_EXIT_CODES, EXIT_FAILED, EXIT_OK, EXIT_STOPPED, Console, batch_options,
                     console_options, discovery, discovery_options, limits, list_skipped, max_pixels_option,
                     open_registry, read_stdin, registry_location, read_watermark_key, refuse_report_on_input, signing_options,
                     usage_errors, watermark_key_option, write_stdout)

FORMAT_CHOICES = ["jpeg", "png", "webp", "avif", "heic", "tiff", "gif"]


@click.command(epilog=BATCH_EXIT_CODES)
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--out", "out", required=True, metavar="FOLDER|-",
              help="Folder for the labelled copies, mirroring the inputs (a folder argument keeps its own name: "
                   "images/ -> FOLDER/images/). '-' writes the one labelled image to standard output.")
@click.option("-p", "--producer", envvar="AIMARK_PRODUCER", required=True,
              help="ContentProducer: your generation service's name or 27-character TC260 code "
                   "(printable ASCII, no spaces). Env: AIMARK_PRODUCER.")
@click.option("--generator", default="unspecified generator", show_default=True,
              help="The AI model or service that made the images (C2PA softwareAgent).")
@click.option("--label-text", default=visible.DEFAULT_LABEL_TEXT, show_default=True,
              help="Visible label; must contain AI/人工智能 and 生成/合成 (e.g. 'AI生成 · AI illustration').")
@click.option("--label-position", type=click.Choice(visible.POSITIONS), default="bottom-left", show_default=True)
@click.option("-a", "--author-id", help="Author's platform ID, drawn as a visible mark in a corner.")
@click.option("--author-template", default=visible.DEFAULT_AUTHOR_TEMPLATE, show_default=True,
              help="Words of the author mark; {id} is replaced, e.g. '小红书号：{id}'.")
@click.option("--author-position", type=click.Choice(visible.CORNERS), default="bottom-right", show_default=True)
@click.option("--author-name", help="EXIF Artist (defaults to the author ID).")
@click.option("--source-type", type=click.Choice(sorted(metadata.SOURCE_TYPES)), default="trained",
              show_default=True, help="trained: fully AI-generated; composite: AI edit of a real photo.")
@click.option("--font", type=click.Path(exists=True, dir_okay=False), default=str(visible.DEFAULT_FONT),
              help="Font file for the visible marks (default: bundled Noto Sans SC Bold, GB2312 subset).")
@click.option("--format", "output_format", type=click.Choice(FORMAT_CHOICES),
              help="Output format (default: the input's own; BMP and other formats without label carriers "
                   "become PNG).")
@click.option("--quality", type=click.IntRange(1, 100),
              help="JPEG/WebP/AVIF/HEIC quality (default: the source's own, estimated from its file; AVIF 80, "
                   "HEIC 85 where the file does not tell).")
@signing_options
@click.option("--no-watermark", is_flag=True, help="Do not embed the invisible watermark.")
@watermark_key_option
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON Lines record per image, appended to (default: FOLDER/aimark-label.jsonl). It is also the "
                   "journal a re-run resumes from.")
@click.option("--registry", "registry_path", metavar="FILE|URL",
              help="Record each labelled image in this registry of originals (a SQLite file, created if missing, "
                   "or a shared postgresql:// database), "
                   "so 'aimark scan --registry' can match reposts to it.")
@discovery_options
@click.option("-f", "--force", is_flag=True, help="Replace output files that already exist.")
@click.option("-n", "--dry-run", is_flag=True, help="Show what would be labelled where, and what is skipped; "
                                                   "write nothing.")
@batch_options
@max_pixels_option
@console_options
def label(inputs, out, producer, generator, label_text, label_position, author_id, author_template,
          author_position, author_name, source_type, font, output_format, quality, key_dir, cert, key_file,
          tsa_url, no_c2pa, no_watermark, watermark_key, report, registry_path, recursive, include_hidden,
          follow_symlinks, force, dry_run, jobs, timeout, max_memory, ray_address, quiet, verbose):
    """Label images: visible AI label, author mark, invisible watermark, metadata label, C2PA.

    INPUTS are files, folders and globs ('-' reads one image from standard input). Each image gets a
    labelled copy under --out in its own format, mirroring the inputs; an image that already carries an
    AI label is skipped, never labelled twice. Files in folders that are hidden, links or not images are
    listed as skipped, with the option that would take them. Bad files fail alone and are listed at the
    end; the batch goes on. Interrupted? Run the same command again: it finishes what is left.
    """
    console = Console(quiet, verbose)
    options = LabelOptions(
        producer=producer, generator=generator, label_text=label_text, label_position=label_position,
        author_id=author_id, author_template=author_template, author_position=author_position,
        author_name=author_name, source_type=source_type, font_path=font, output_format=output_format,
        quality=quality)

    def build():
        signer = None if no_c2pa else keys_module.find_signer(key_dir, cert, key_file, tsa_url)
        mark = None if no_watermark else TiledSpreadSpectrum(read_watermark_key(watermark_key))
        return Labeller(options, signer=signer, watermark=mark)

    labeller = usage_errors(build)
    for warning in labeller.signer.warnings if labeller.signer else []:
        console.info(f"warning: {warning}")
    if STDIO in inputs or out == STDIO:
        sys.exit(_label_one(labeller, inputs, out, console, force))
    out_dir = Path(out)
    try:
        plan = plan_batch(inputs, out_dir, output_format=output_format,
                          discovery=discovery(recursive, include_hidden, follow_symlinks))
    except BatchError as exc:
        raise click.UsageError(str(exc)) from None
    report = report or out_dir / "aimark-label.jsonl"
    refuse_report_on_input(report, [job.source for job in plan.jobs])
    if dry_run:
        for source, target in plan.mapping():
            click.echo(f"{source} -> {target}")
        list_skipped(console, plan.skipped, plan.unmatched)
        console.info(f"{len(plan.jobs)} to label, {len(plan.skipped)} skipped, {len(plan.unmatched)} not found "
                     "(dry run: nothing written)")
        sys.exit(EXIT_OK)
    registry = open_registry(registry_location(registry_path, must_exist=False), console=console)
    from ..registry import prepare_row

    task = LabelTask(labeller, registry_row=prepare_row if registry is not None else None)
    journal = Journal(report)
    try:
        with console.progress(len(plan.jobs), "labelling") as bar:
            outcome = run_batch(plan, task, fingerprint=labeller.fingerprint(), journal=journal, force=force,
                                registry=registry, limits=limits(jobs, timeout, max_memory, ray_address),
                                on_record=lambda record: bar.update(1))
    except KeyboardInterrupt:
        console.error("interrupted: run the same command again to finish the batch")
        sys.exit(130)
    finally:
        journal.close()
        if registry is not None:
            registry.close()
    sys.exit(summarise(console, outcome, plan, report, done_word="labelled"))


def summarise(console: Console, outcome, plan, report: Path, *, done_word: str) -> int:
    """The end of a batch: what was done, what failed or was skipped and why, the input -> output mapping."""
    for record in outcome.records:
        if record.get("output"):
            click.echo(f"{record['input']} -> {record['output']}")
    for record in outcome.records:
        if record.get("status") in ("failed", "skipped"):
            console.info(f"  {record['status'].upper():8} {record['input']}: {record.get('error')}")
    list_skipped(console, plan.skipped, plan.unmatched)
    failed = outcome.count("failed") + len(plan.unmatched)
    resumed = f" ({outcome.resumed} done by an earlier run)" if outcome.resumed else ""
    console.info(f"{len(outcome.records) - outcome.count('failed') - outcome.count('skipped')} {done_word}{resumed}, "
                 f"{outcome.count('skipped')} skipped (already labelled), {failed} failed, "
                 f"{len(plan.skipped)} not taken; records in {report}")
    if outcome.stopped:
        console.error(f"stopped early: {outcome.stopped}; {len(outcome.not_tried)} not tried:")
        for job in outcome.not_tried:
            console.error(f"  NOT TRIED {job.source}")
        console.error("free some space and run the same command again: it finishes what is left")
        return EXIT_STOPPED
    return EXIT_FAILED if failed else EXIT_OK


def _label_one(labeller: Labeller, inputs, out: str, console: Console, force: bool) -> int:
    """One image from a file or standard input ('-'), to a folder or standard output ('-')."""
    if len(inputs) != 1:
        raise click.UsageError("'-' (standard input or output) works with exactly one input")
    source = inputs[0]
    data = read_stdin() if source == STDIO else Path(source).read_bytes()
    name = "stdin" if source == STDIO else Path(source).name
    try:
        result = labeller.label_bytes(data, name=name)
    except AlreadyLabelled as exc:
        console.error(f"SKIPPED {source}: {exc}")
        if out == STDIO:
            write_stdout(data)  # a pipe gets the image through unchanged, not nothing
        return EXIT_OK
    except AimarkError as exc:
        console.error(f"FAILED {source}: {exc}")
        return EXIT_FAILED
    for note in result.record.notes:
        console.detail(f"note: {note}")
    if out == STDIO:
        write_stdout(result.data)
        return EXIT_OK
    from aimark.labeller.batch import write_output

    target = Path(out) / (Path(name).stem + result.plan.suffix_for(Path(name).suffix or FORMATS[result.format][1]))
    try:
        write_output(target, result.data, Path(out), force)
    except AimarkError as exc:
        console.error(f"FAILED {source}: {exc}")
        return EXIT_FAILED
    click.echo(f"{source} -> {target}")
    return EXIT_OK
