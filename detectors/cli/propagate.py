"""``aimark propagate``: republish uploads with the labels a platform owes them (CAC Measures Art. 6)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import click

from aimark.labeller import keys as keys_module
from aimark.labeller import metadata, visible
from aimark.labeller.batch import BatchError, Journal, plan_batch, run_batch

from ..scan import ScanOptions
from ..tasks import PropagateTask
from .common import (BATCH_EXIT_CODES, Console, batch_options, console_options, discovery, discovery_options, limits,
                     max_pixels_option, read_watermark_key, refuse_report_on_input, signing_options, trust_anchors,
                     trust_option, usage_errors, watermark_key_option)
from .label import summarise


@click.command(short_help="Republish uploads with the labels a platform owes them (Measures Art 6).",
               epilog=BATCH_EXIT_CODES)
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the republished copies, mirroring the inputs (uploads are never modified).")
@click.option("--platform", envvar="AIMARK_PLATFORM", required=True,
              help="ContentPropagator: your platform's name or 27-character TC260 code. Env: AIMARK_PLATFORM.")
@click.option("--declared-ai", is_flag=True, help="The uploader declared these images AI-generated.")
@click.option("--position", type=click.Choice(visible.POSITIONS), default="top-left", show_default=True,
              help="Where the visible prompt goes when one is needed.")
@click.option("--fast", is_flag=True, help="Skip OCR (the prompt is then drawn even if a label is visible).")
@signing_options
@trust_option("PEM trust anchors: producers whose credentials you trust (recorded in the parent "
              "ingredient; default: your own ca.pem from 'aimark keys init', if any).")
@watermark_key_option
@discovery_options
@click.option("-f", "--force", is_flag=True, help="Replace output files that already exist.")
@batch_options
@max_pixels_option
@console_options
def propagate(inputs, out_dir, platform, declared_ai, position, fast, key_dir, cert, key_file, tsa_url, no_c2pa,
              trust_files, watermark_key, recursive, include_hidden, follow_symlinks, force, jobs, timeout,
              max_memory, ray_address, quiet, verbose):
    """Republish uploads the way CAC Measures Art. 6 asks of a platform.

    Labelled AI content keeps its producer's fields and gains your ContentPropagator and PropagateID in its
    one metadata label, and the prompt AI生成; an unlabelled upload the user declares AI gets Label 2 and
    可能为AI生成; one where aimark finds a visible label or another AI trace gets Label 3 and 疑似AI生成;
    anything else passes through untouched. C2PA is re-signed with the upload as parent ingredient.
    Records go to OUT/aimark-propagate.jsonl (appended; a re-run finishes what is left).
    """
    console = Console(quiet, verbose)

    def prepare():
        anchors = trust_anchors(trust_files)
        signer = None if no_c2pa else keys_module.find_signer(key_dir, cert, key_file, tsa_url, trust_anchors=anchors)
        metadata.AigcLabel("1", "", "", "", platform, "x", "").validate()
        return anchors, signer, read_watermark_key(watermark_key)

    anchors, signer, key = usage_errors(prepare)
    try:
        plan = plan_batch(inputs, out_dir, discovery=discovery(recursive, include_hidden, follow_symlinks))
    except BatchError as exc:
        raise click.UsageError(str(exc)) from None
    report = out_dir / "aimark-propagate.jsonl"
    refuse_report_on_input(report, [job.source for job in plan.jobs])
    task = PropagateTask(platform, signer, ScanOptions(trust_anchors=anchors, watermark_key=key),
                         declared_ai=declared_ai, position=position, use_ocr=not fast)
    parts = [platform, str(declared_ai), position, str(fast), signer.certificate_sha256 if signer else "no-c2pa",
             hashlib.sha256(key or b"").hexdigest(), anchors or ""]
    fingerprint = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    journal = Journal(report)
    try:
        with console.progress(len(plan.jobs), "propagating") as bar:
            outcome = run_batch(plan, task, fingerprint=fingerprint, journal=journal, force=force,
                                limits=limits(jobs, timeout, max_memory, ray_address), on_record=lambda record: bar.update(1))
    except KeyboardInterrupt:
        console.error("interrupted: run the same command again to finish the batch")
        sys.exit(130)
    finally:
        journal.close()
    sys.exit(summarise(console, outcome, plan, report, done_word="republished"))
