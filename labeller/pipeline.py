"""Labelling one image, and a batch of them, in the order the rules require.

Order of writing (``labelling-rules.md``): pixels first (visible label, author mark, watermark), then the
metadata that describes them (EXIF, XMP), then the C2PA signature over the finished bytes. Any other order
either labels pixels that later change or breaks the signature's hard binding.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from PIL import Image

from . import carriers, image_io, metadata, visible
from .c2pa import MANIFEST_MARKER, MIME_TYPES, CredentialSigner, ai_manifest, read_c2pa
from .errors import AimarkError, AlreadyLabelled
from .watermark import NO_AUTHOR, WatermarkPayload, WatermarkStep, WatermarkTooSmall, soft_binding

VERSION = "0.1.0"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".gif", ".bmp", ".heic", ".avif"}


@dataclass(frozen=True)
class LabelOptions:
    """What to write on every image of a batch."""

    producer: str
    generator: str = "unspecified generator"
    label_text: str = visible.DEFAULT_LABEL_TEXT
    label_position: str = "bottom-left"
    author_id: str | None = None
    author_template: str = visible.DEFAULT_AUTHOR_TEMPLATE
    author_position: str = "bottom-right"
    author_name: str | None = None
    source_type: str = "trained"
    font_path: str = str(visible.DEFAULT_FONT)
    output_format: str | None = None
    quality: int | None = None

    def validate(self) -> None:
        """Fail before the batch starts on options that would fail every image."""
        visible.require_compliant_text(self.label_text)
        if self.source_type not in metadata.SOURCE_TYPES:
            raise AimarkError(f"unknown source type {self.source_type!r}; choose "
                              + " or ".join(metadata.SOURCE_TYPES))
        metadata.AigcLabel.for_producer(self.producer, "check")
        if self.author_id is not None:
            visible.author_text(self.author_id, self.author_template)
        image_io.output_format("JPEG", self.output_format)
        for text in [self.label_text] + ([self.author_template] if self.author_id else []):
            missing = visible.missing_glyphs(self.font_path, text.replace("{id}", self.author_id or ""))
            if missing:
                raise AimarkError(f"the font cannot draw {missing!r}; pass a font that has them (--font)")


@dataclass
class LabelResult:
    """Everything written into one image: the output bytes, the final pixels, and the record of each mark."""

    data: bytes
    format: str
    record: dict
    pixels: Image.Image


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def existing_label(data: bytes, mime: str | None) -> str | None:
    """Why ``data`` already counts as AI-labelled (a metadata label or an AI C2PA manifest), or None."""
    report = metadata.read_labels(data)
    if report.labels:
        found = report.labels[0]
        return (f"it already carries a metadata label ({found.carrier}, Label={found.values.get('Label')!r}, "
                f"producer {found.values.get('ContentProducer')!r})")
    if mime and MANIFEST_MARKER in data:  # no JUMBF "c2pa" box, no manifest: skip the reader
        credentials = read_c2pa(data, mime)
        if credentials.aigc or credentials.digital_source_type in (metadata.TRAINED, metadata.COMPOSITE):
            return f"its C2PA manifest ({credentials.state}) already declares AI generation"
    return None


class Labeller:
    """Labels images with one set of options, signer and watermark step. Reuse it across a batch."""

    def __init__(self, options: LabelOptions, signer: CredentialSigner | None = None,
                 watermark: WatermarkStep | None = None):
        options.validate()
        self.options = options
        self.signer = signer
        self.watermark = watermark

    def label_bytes(self, data: bytes, name: str = "image") -> LabelResult:
        """Label one encoded image. Raises an ``AimarkError`` subclass explaining any refusal."""
        opts = self.options
        reason = existing_label(data, MIME_TYPES.get(carriers.sniff_format(data) or ""))
        if reason:
            raise AlreadyLabelled(f"not labelled again: {reason}; a second label would stack on the first")
        source = image_io.load_source(data)
        pixels = source.pixels
        label_mark = visible.place_label(pixels.size, opts.label_text, opts.label_position, font_path=opts.font_path)
        marks = [label_mark]
        if opts.author_id is not None:
            marks.append(visible.place_author_mark(
                pixels.size, opts.author_id, template=opts.author_template, position=opts.author_position,
                font_path=opts.font_path, avoid=(label_mark,)))
        for mark in marks:
            visible.draw_mark(pixels, mark)

        produce_id = uuid.uuid4().hex
        payload, watermark_notes = None, []
        if self.watermark is not None:
            payload = WatermarkPayload.for_label(opts.author_id or NO_AUTHOR, produce_id)
            try:
                pixels = self.watermark.embed(pixels, payload)
            except WatermarkTooSmall as exc:
                payload, watermark_notes = None, [f"no watermark: {exc}"]

        fmt = image_io.output_format(source.format, opts.output_format)
        exif = metadata.stamp_exif(source.exif, artist=opts.author_name or opts.author_id,
                                   software=f"aimark {VERSION}")
        encoded = image_io.encode(pixels, fmt, quality=opts.quality, exif=exif, icc_profile=source.icc_profile)
        label = metadata.AigcLabel.for_producer(opts.producer, produce_id)
        source_type = metadata.SOURCE_TYPES[opts.source_type]
        encoded, xmp_notes = metadata.write_label(encoded, label, source_type, canvas=pixels.size,
                                                  has_alpha=pixels.mode == "RGBA")
        c2pa_record = None
        if self.signer is not None:
            binding = soft_binding(self.watermark.name, payload) if payload else None
            manifest = ai_manifest(name, label, generator=opts.generator, source_type=source_type, version=VERSION,
                                   soft_binding=binding)
            encoded = self.signer.sign(encoded, MIME_TYPES[fmt], manifest)
            c2pa_record = {"signer": self.signer.signer_name, "assertions": [a["label"] for a in manifest["assertions"]],
                           "certificate_expires": self.signer.expires.isoformat()}
        record = {
            "format": fmt,
            "size": list(pixels.size),
            "produce_id": produce_id,
            "marks": {
                "visible_label": label_mark.as_record(),
                "author_mark": marks[1].as_record() if len(marks) > 1 else None,
                "watermark": ({"step": self.watermark.name, "payload": payload.as_record(),
                               "key": "private" if getattr(self.watermark, "keyed", False) else "open"}
                              if payload else None),
                "metadata": {"xmp": {"namespace": metadata.TC260_NS, "property": "TC260:AIGC",
                                     "value": label.to_dict()},
                             "digital_source_type": source_type},
                "c2pa": c2pa_record,
            },
            "notes": source.notes + watermark_notes + xmp_notes + (self.signer.warnings if self.signer else []),
        }
        return LabelResult(data=encoded, format=fmt, record=record, pixels=pixels)

    def label_file(self, source: Path, target: Path,
                   on_labelled: Callable[[LabelResult, dict], None] | None = None) -> dict:
        """Label ``source`` into ``target`` (written atomically); returns the JSON record, never raises
        for a bad input: the record says ``failed`` with the reason. ``on_labelled`` sees each success."""
        started = time.perf_counter()
        record: dict = {"input": str(source), "output": None, "status": "failed", "error": None}
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            record["error"] = f"cannot read the input: {exc.strerror}"
            return record
        record["input_sha256"] = sha256(data)
        try:
            result = self.label_bytes(data, name=Path(source).name)
            target = target.with_suffix(image_io.OUTPUT_FORMATS[result.format][1])
            image_io.write_atomic(target, result.data)
        except AlreadyLabelled as exc:
            record.update(status="skipped", error=str(exc))
            return record
        except AimarkError as exc:
            record["error"] = str(exc)
            return record
        record.update(status="labelled", output=str(target), output_sha256=sha256(result.data), **result.record)
        if on_labelled is not None:
            on_labelled(result, record)
        record["seconds"] = round(time.perf_counter() - started, 4)
        return record


# --- batches --------------------------------------------------------------------------------------------

@dataclass
class BatchPlan:
    """Inputs expanded from files, folders and globs, each with its output path; and what matched nothing."""

    jobs: list[tuple[Path, Path]] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def expand_inputs(inputs: Iterable[str], exclude: Path | None = None) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Files, folders (recursively, image files only) and globs as (path, path relative to what was named),
    plus the inputs that matched nothing. Files under ``exclude`` are left out."""
    import glob

    found: list[tuple[Path, Path]] = []
    unmatched: list[str] = []
    excluded = exclude.resolve() if exclude is not None else None
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _is_image_name(p)
                           and (excluded is None or excluded not in p.resolve().parents))
            found += [(p, p.relative_to(path)) for p in files]
            if not files:
                unmatched.append(f"{item}: folder holds no images")
        elif path.is_file():
            found.append((path, Path(path.name)))
        else:
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True) if Path(m).is_file())
            found += [(m, Path(m.name)) for m in matches]
            if not matches:
                unmatched.append(f"{item}: no such file, folder or matching glob")
    return found, unmatched


def plan_batch(inputs: Iterable[str], out_dir: Path) -> BatchPlan:
    """Expand ``inputs`` and give every image a distinct output path under ``out_dir``.

    Folders keep their inner layout; explicitly named files that would collide get ``-2``, ``-3``... An
    output never lands on an input.
    """
    out_dir = Path(out_dir)
    found, unmatched = expand_inputs(inputs, exclude=out_dir)
    plan, taken = BatchPlan(unmatched=unmatched), set()
    inputs_resolved = {p.resolve() for p, _ in found}
    for source, relative in found:
        target = out_dir / relative
        stem, n = target.with_suffix(""), 1
        while str(target.with_suffix("")).lower() in taken or target.resolve() in inputs_resolved:
            n += 1
            target = Path(f"{stem}-{n}{target.suffix}")
        taken.add(str(target.with_suffix("")).lower())
        plan.jobs.append((source, target))
    return plan


def label_batch(labeller: Labeller, plan: BatchPlan,
                on_record: Callable[[dict], None] = lambda record: None,
                on_labelled: Callable[[LabelResult, dict], None] | None = None) -> list[dict]:
    """Label every job of ``plan``, calling ``on_record`` after each; bad files fail alone."""
    records = []
    for source, target in plan.jobs:
        record = labeller.label_file(source, target, on_labelled)
        records.append(record)
        on_record(record)
    return records
