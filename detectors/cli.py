"""The ``aimark`` command line: thin commands over the library.

It lives in ``detectors`` because that package sits on top: it already uses the labeller's readers and
the models, so the CLI adds no new dependency between packages.

Exit codes: ``label``, ``inspect`` and ``propagate``: 0 everything asked for was done, 1 some input failed
(the rest was still processed). ``scan``: 0 no removal found, 1 a mark was removed from at least one image, 3 no removal
but some input could not be read. 2 always means the command line itself was wrong.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from PIL import Image

from aimark.labeller import keys as keys_module
from aimark.labeller import image_io, metadata, visible
from aimark.labeller.c2pa import CredentialSigner
from aimark.labeller.errors import AimarkError
from aimark.labeller.pipeline import VERSION, Labeller, LabelOptions, expand_inputs, label_batch, plan_batch
from aimark.labeller.watermark import TiledSpreadSpectrum

from .inspect import inspect_file


def _set_pixel_limit(ctx, param, value):
    if value is not None:
        Image.MAX_IMAGE_PIXELS = value or None
    return value


watermark_key_option = click.option(
    "--watermark-key", "watermark_key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="AIMARK_WATERMARK_KEY_FILE",
    help="File holding a private watermark key: only holders of it can read or forge the mark "
         "(default: the open key anyone can read). Env: AIMARK_WATERMARK_KEY_FILE.")

def signing_options(command):
    """The C2PA signing credentials, shared by every command that signs."""
    for option in reversed([
        click.option("--keys", "key_dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Folder from 'aimark keys init' (default: $AIMARK_KEYS or ~/.config/aimark/keys)."),
        click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Your own signer certificate chain (PEM, leaf first)."),
        click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Private key for --cert (PEM)."),
        click.option("--tsa-url", help="RFC 3161 timestamp authority, so signatures outlive the certificate."),
        click.option("--no-c2pa", is_flag=True, help="Do not sign Content Credentials."),
    ]):
        command = option(command)
    return command


def trust_option(help_text: str = "PEM trust anchors for C2PA (default: your own ca.pem from 'aimark keys init', "
                                  "if any)."):
    return click.option("--trust", "trust_files", multiple=True,
                        type=click.Path(exists=True, dir_okay=False, path_type=Path), help=help_text)


max_pixels_option = click.option(
    "--max-pixels", type=click.IntRange(min=0), default=None, expose_value=False, callback=_set_pixel_limit,
    help=f"Refuse images with more pixels than this (decompression-bomb guard; default "
         f"{Image.MAX_IMAGE_PIXELS:,}; 0 disables the guard — only for files you trust).")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(VERSION, prog_name="aimark")
def main():
    """Label AI-generated images the way GB 45438-2025 asks, and check what reposts kept of the labels.

    \b
    Start with:  aimark keys init --org "Your Studio"
    Then:        aimark label images/ --out labelled/ --producer CODE --author-id ID --registry originals.sqlite
    Check:       aimark inspect labelled/photo.jpg
    Reposts:     aimark scan downloads/ --registry originals.sqlite --out scan/
    Platforms:   aimark propagate uploads/ --out published/ --platform YOUR_PLATFORM
    """


# --- label ----------------------------------------------------------------------------------------------

@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for labelled copies (inputs are never modified).")
@click.option("--producer", envvar="AIMARK_PRODUCER", required=True,
              help="ContentProducer: your generation service's name or 27-character TC260 code "
                   "(printable ASCII, no spaces). Env: AIMARK_PRODUCER.")
@click.option("--generator", default="unspecified generator", show_default=True,
              help="The AI model or service that made the images (C2PA softwareAgent).")
@click.option("--label-text", default=visible.DEFAULT_LABEL_TEXT, show_default=True,
              help="Visible label; must contain AI/人工智能 and 生成/合成 (e.g. 'AI生成 · AI illustration').")
@click.option("--label-position", type=click.Choice(visible.POSITIONS), default="bottom-left", show_default=True)
@click.option("--author-id", help="Author's platform ID, drawn as a visible mark in a corner.")
@click.option("--author-template", default=visible.DEFAULT_AUTHOR_TEMPLATE, show_default=True,
              help="Words of the author mark; {id} is replaced, e.g. '小红书号：{id}'.")
@click.option("--author-position", type=click.Choice(visible.CORNERS), default="bottom-right", show_default=True)
@click.option("--author-name", help="EXIF Artist (defaults to the author ID).")
@click.option("--source-type", type=click.Choice(sorted(metadata.SOURCE_TYPES)), default="trained",
              show_default=True, help="trained: fully AI-generated; composite: AI edit of a real photo.")
@click.option("--font", type=click.Path(exists=True, dir_okay=False), default=str(visible.DEFAULT_FONT),
              help="Font file for the visible marks (default: bundled Noto Sans SC Bold, GB2312 subset).")
@click.option("--format", "output_format", type=click.Choice(["jpeg", "png", "webp"]),
              help="Output format (default: same as the input; other inputs become PNG).")
@click.option("--quality", type=click.IntRange(1, 100), help="JPEG/WebP quality (default 92/90).")
@signing_options
@click.option("--no-watermark", is_flag=True, help="Do not embed the invisible watermark.")
@watermark_key_option
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON Lines record per image (default: OUT/aimark-label.jsonl).")
@click.option("--registry", "registry_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Record each labelled image in this registry of originals (SQLite file, created if missing), "
                   "so 'aimark scan --registry' can match reposts to it.")
@max_pixels_option
def label(inputs, out_dir, producer, generator, label_text, label_position, author_id, author_template,
          author_position, author_name, source_type, font, output_format, quality, key_dir, cert, key_file,
          tsa_url, no_c2pa, no_watermark, watermark_key, report, registry_path):
    """Label images: visible AI label, author mark, invisible watermark, metadata label, C2PA.

    INPUTS are files, folders (searched recursively) and globs. Each image gets a labelled copy in OUT;
    an image already carrying an AI label is skipped, never labelled twice. Bad files are reported at
    the end and do not stop the batch.
    """
    options = LabelOptions(
        producer=producer, generator=generator, label_text=label_text, label_position=label_position,
        author_id=author_id, author_template=author_template, author_position=author_position,
        author_name=author_name, source_type=source_type, font_path=font, output_format=output_format,
        quality=quality)
    try:
        signer = None if no_c2pa else _signer(key_dir, cert, key_file, tsa_url)
        mark = None if no_watermark else TiledSpreadSpectrum(_read_key(watermark_key))
        labeller = Labeller(options, signer=signer, watermark=mark)
    except AimarkError as exc:
        raise click.UsageError(str(exc)) from None
    plan = plan_batch(inputs, out_dir)
    report = report or out_dir / "aimark-label.jsonl"
    try:
        report.parent.mkdir(parents=True, exist_ok=True)
        report_file = report.open("w", encoding="utf-8")
    except OSError as exc:
        raise click.UsageError(f"cannot write the report {report}: {exc.strerror}; choose a writable --out") from None
    registry = _open_registry(registry_path)
    register = (lambda result, record: registry.add(record, result.pixels, author_id=author_id)) if registry is not None else None
    with report_file, click.progressbar(length=len(plan.jobs), label="labelling", file=sys.stderr,
                                        show_pos=True, item_show_func=lambda r: r and Path(r["input"]).name) as bar:
        def write(record):
            report_file.write(json.dumps(record, ensure_ascii=False) + "\n")
            report_file.flush()
            bar.update(1, record)
        try:
            records = label_batch(labeller, plan, on_record=write, on_labelled=register)
        finally:
            if registry is not None:
                registry.close()
    _summarise(records, plan.unmatched, report)
    failed = plan.unmatched or any(r["status"] == "failed" for r in records)
    sys.exit(1 if failed else 0)


def _open_registry(path: Path | None):
    if path is None:
        return None
    from .registry import Registry

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return Registry(path)
    except Exception as exc:  # sqlite3 raises several types for a bad path or a non-database file
        raise click.UsageError(f"cannot open the registry {path}: {exc}") from None


def _signer(key_dir, cert, key_file, tsa_url, trust_anchors=None):
    if bool(cert) != bool(key_file):
        raise AimarkError("--cert and --key go together")
    if cert:
        return CredentialSigner.from_files(cert, key_file, tsa_url, trust_anchors)
    paths = keys_module.KeyPaths(key_dir or keys_module.default_key_folder())
    if not paths.exist():
        raise AimarkError(f"no signing keys in {paths.folder}: run 'aimark keys init --org NAME', "
                          "pass --cert/--key, or --no-c2pa to skip Content Credentials")
    return CredentialSigner.from_files(paths.signer_chain, paths.signer_key, tsa_url, trust_anchors)


def _read_key(path: Path | None) -> bytes | None:
    if path is None:
        return None
    key = path.read_bytes().strip()
    if len(key) < 16:
        raise AimarkError(f"the watermark key in {path} is {len(key)} bytes; use at least 16 random bytes")
    return key


def _summarise(records, unmatched, report):
    counts = {status: sum(r["status"] == status for r in records) for status in ("labelled", "skipped", "failed")}
    click.echo(f"{counts['labelled']} labelled, {counts['skipped']} skipped (already labelled), "
               f"{counts['failed'] + len(unmatched)} failed; records in {report}", err=True)
    for record in records:
        if record["status"] != "labelled":
            click.echo(f"  {record['status'].upper():8} {record['input']}: {record['error']}", err=True)
    for item in unmatched:
        click.echo(f"  FAILED   {item}", err=True)


# --- inspect --------------------------------------------------------------------------------------------

@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file instead of a table.")
@trust_option()
@click.option("--no-ocr", is_flag=True, help="Skip reading visible marks (faster).")
@watermark_key_option
@max_pixels_option
def inspect(files, as_json, trust_files, no_ocr, watermark_key):
    """Print every mark found in FILES: visible label and author ID (OCR), invisible watermark,
    generator watermarks (Stable Diffusion, SDXL), metadata label, C2PA."""
    anchors = _trust_anchors(trust_files)
    try:
        key = _read_key(watermark_key)
    except AimarkError as exc:
        raise click.UsageError(str(exc)) from None
    ocr = None
    if not no_ocr:
        from aimark.models import OcrEngine

        ocr = OcrEngine()
    failed = False
    for path in files:
        result = inspect_file(path, trust_anchors=anchors, ocr=ocr, watermark_key=key)
        failed |= result.error is not None
        if as_json:
            click.echo(json.dumps(result.as_record(), ensure_ascii=False))
        else:
            click.echo(_table(result.as_record()))
    sys.exit(1 if failed else 0)


def _trust_anchors(trust_files) -> str | None:
    if trust_files:
        return "\n".join(Path(p).read_text() for p in trust_files)
    own = keys_module.KeyPaths(keys_module.default_key_folder()).ca_cert
    return own.read_text() if own.is_file() else None


def _table(record: dict) -> str:
    lines = [f"{record['path']}  ({record['format']}, {'x'.join(map(str, record['size'] or [])) or '?'})"]
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


# --- scan ---------------------------------------------------------------------------------------------

@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--registry", "registry_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Registry of originals from 'aimark label --registry': matches reposts to their originals, so "
                   "cropped, erased, blurred or covered marks can be told apart from marks never there.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("aimark-scan"),
              show_default=True, help="Folder for scan.jsonl (one record per image) and report.html.")
@click.option("--fast", is_flag=True, help="Skip OCR: no claims about visible marks, a fraction of the time.")
@click.option("--declared-ai", is_flag=True, help="The uploader declared the images AI-generated (verdict 2 "
              "instead of 3 when no label is found).")
@trust_option()
@watermark_key_option
@max_pixels_option
def scan(inputs, registry_path, out_dir, fast, declared_ai, trust_files, watermark_key):
    """Check reposts: which labels survive, which were stripped, and whether the author's ID was removed.

    INPUTS are files, folders and globs. Writes OUT/scan.jsonl and OUT/report.html (open it in a browser:
    thumbnails, findings with their evidence, and the original's corner beside the repost's). Exit code 1
    when any image had a mark removed.
    """
    from .report import HtmlReport
    from .scan import ScanOptions, scan as scan_image

    found, unmatched = expand_inputs(inputs)
    try:
        key = _read_key(watermark_key)
        out_dir.mkdir(parents=True, exist_ok=True)
        jsonl = (out_dir / "scan.jsonl").open("w", encoding="utf-8")
    except (AimarkError, OSError) as exc:
        raise click.UsageError(str(exc)) from None
    registry = _open_registry(registry_path)
    ocr = None
    if not fast:
        from aimark.models import OcrEngine

        ocr = OcrEngine()
    options = ScanOptions(ocr=ocr, registry=registry, trust_anchors=_trust_anchors(trust_files), watermark_key=key,
                          declared_ai=declared_ai)
    removals = errors = 0
    with jsonl, HtmlReport(out_dir / "report.html") as report, click.progressbar(
            [path for path, _ in found], label="scanning", file=sys.stderr, show_pos=True,
            item_show_func=lambda p: p and p.name) as paths:
        for path in paths:
            try:
                result = scan_image(path, options)
            except OSError as exc:
                click.echo(f"  FAILED   {path}: cannot read ({exc.strerror})", err=True)
                errors += 1
                continue
            jsonl.write(json.dumps(result.as_record(), ensure_ascii=False) + "\n")
            jsonl.flush()
            report.add(result)
            removals += bool(result.removals)
            errors += result.error is not None
    if registry is not None:
        registry.close()
    for item in unmatched:
        click.echo(f"  FAILED   {item}", err=True)
    errors += len(unmatched)
    click.echo(f"{len(found)} scanned, {removals} with a mark removed, {errors} unreadable; "
               f"records in {out_dir / 'scan.jsonl'}, report in {out_dir / 'report.html'}", err=True)
    sys.exit(1 if removals else 3 if errors else 0)


# --- propagate ----------------------------------------------------------------------------------------

@main.command(short_help="Republish uploads with the labels a platform owes them (Measures Art 6).")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the republished copies (uploads are never modified).")
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
@max_pixels_option
def propagate(inputs, out_dir, platform, declared_ai, position, fast, key_dir, cert, key_file, tsa_url, no_c2pa,
              trust_files, watermark_key):
    """Republish uploads the way CAC Measures Art. 6 asks of a platform.

    Labelled AI content keeps its producer's fields and gains your ContentPropagator and PropagateID in its
    one metadata label, and the prompt AI生成; an unlabelled upload the user declares AI gets Label 2 and
    可能为AI生成; one where aimark finds a visible label or another AI trace gets Label 3 and 疑似AI生成;
    anything else passes through untouched. C2PA is re-signed with the upload as parent ingredient.
    """
    import uuid

    from .propagate import propagate as propagate_one
    from .scan import ScanOptions

    anchors = _trust_anchors(trust_files)
    try:
        key = _read_key(watermark_key)
        signer = None if no_c2pa else _signer(key_dir, cert, key_file, tsa_url, trust_anchors=anchors)
        metadata.AigcLabel("1", "", "", "", platform, "x", "").validate()
    except AimarkError as exc:
        raise click.UsageError(str(exc)) from None
    ocr = None
    if not fast:
        from aimark.models import OcrEngine

        ocr = OcrEngine()
    options = ScanOptions(ocr=ocr, trust_anchors=anchors, watermark_key=key)
    plan = plan_batch(inputs, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = len(plan.unmatched)
    with (out_dir / "aimark-propagate.jsonl").open("w", encoding="utf-8") as jsonl, click.progressbar(
            plan.jobs, label="propagating", file=sys.stderr, show_pos=True) as jobs:
        for source, target in jobs:
            record = {"input": str(source), "output": None}
            try:
                done = propagate_one(source.read_bytes(), platform=platform, propagate_id=uuid.uuid4().hex,
                                     signer=signer, declared_ai=declared_ai, options=options, name=source.name,
                                     position=position)
                target = target.with_suffix(image_io.OUTPUT_FORMATS.get(done.format, ("", target.suffix))[1])
                image_io.write_atomic(target, done.data)
                record.update(output=str(target), **done.as_record())
            except (AimarkError, OSError) as exc:
                record["error"] = str(exc)
                failed += 1
                click.echo(f"  FAILED   {source}: {exc}", err=True)
            jsonl.write(json.dumps(record, ensure_ascii=False) + "\n")
    for item in plan.unmatched:
        click.echo(f"  FAILED   {item}", err=True)
    click.echo(f"{len(plan.jobs) - failed + len(plan.unmatched)} republished, {failed} failed; records in "
               f"{out_dir / 'aimark-propagate.jsonl'}", err=True)
    sys.exit(1 if failed else 0)


# --- keys -----------------------------------------------------------------------------------------------

@main.group()
def keys():
    """Signing credentials for C2PA."""


@keys.command("init")
@click.option("--org", required=True, help="Organization name written into the certificates.")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write them (default: $AIMARK_KEYS or ~/.config/aimark/keys).")
@click.option("--force", is_flag=True, help="Replace existing keys.")
def keys_init(org, folder, force):
    """Create a local CA and a C2PA signer certificate (files 0600, folder 0700).

    Give ca.pem to whoever verifies your files ('aimark inspect --trust ca.pem').
    """
    try:
        paths = keys_module.init_keys(folder or keys_module.default_key_folder(), org, force=force)
    except AimarkError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"wrote {paths.ca_cert}, {paths.signer_chain} and their keys (mode 0600) in {paths.folder}")


if __name__ == "__main__":
    main()
