"""Labelling one image in the order the rules require (batches: ``batch``).

Order of writing (``labelling-rules.md``): pixels first (visible label, author mark, watermark), then the
metadata that describes them (EXIF, XMP), then the C2PA signature over the finished bytes. Any other order
either labels pixels that later change or breaks the signature's hard binding.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from dataclasses import dataclass

import numpy as np
from PIL import Image

from . import carriers, formats, image_io, metadata, visible
from .c2pa import MANIFEST_MARKER, MIME_TYPES, CredentialSigner, ai_manifest, read_c2pa
from .errors import AimarkError, AlreadyLabelled, input_guard
from .image_io import Source
from .vocabulary import LabelRecord, MarkKind
from .codec import WatermarkCodec
from .watermark import NO_AUTHOR, WatermarkPayload, WatermarkTooSmall, soft_binding

VERSION = "0.2.0"


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
        formats.requested_format(self.output_format)
        for text in [self.label_text] + ([self.author_template] if self.author_id else []):
            missing = visible.missing_glyphs(self.font_path, text.replace("{id}", self.author_id or ""))
            if missing:
                raise AimarkError(f"the font cannot draw {missing!r}; pass a font that has them (--font)")


@dataclass
class LabelResult:
    """Everything written into one image: the output bytes, the final pixels, and the record of each mark."""

    data: bytes
    format: str
    record: LabelRecord
    pixels: Image.Image
    plan: formats.OutputPlan | None = None

    @property
    def mime(self) -> str:
        return formats.FORMATS[self.format][0]


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


def output_mode(pixels: Image.Image, grey: bool) -> Image.Image:
    """A greyscale source goes back greyscale (the marks are white on a dark plate, the watermark is in
    luminance: both stay grey), so a grey PNG does not triple in size."""
    if not grey:
        return pixels
    return pixels.convert("LA" if pixels.mode == "RGBA" else "L")


def deep_output(deep: np.ndarray, before: Image.Image, after: Image.Image) -> np.ndarray | None:
    """The 16-bit samples with the labeller's changes applied: each 8-bit step the marks and watermark made
    is 257 steps at 16 bits, so everything the labeller did not touch keeps its full precision."""
    a, b = np.asarray(after, dtype=np.int32), np.asarray(before, dtype=np.int32)
    if deep.ndim == 2:
        a, b = a[..., 0], b[..., 0]
    elif a.shape[-1] != deep.shape[-1]:
        return None
    return np.clip(deep.astype(np.int32) + 257 * (a - b), 0, 65535).astype(np.uint16)


def encode_labelled(source: image_io.SourceImage, pixels: Image.Image, before: Image.Image | None, packet: bytes, *,
                    exif: dict | None, requested: str | None = None,
                    quality: int | None = None) -> tuple[bytes, formats.OutputPlan]:
    """Encode marked ``pixels`` of ``source`` as its own format (or ``requested``) with the XMP ``packet``,
    EXIF and ICC profile; ``before`` (the pixels before marking) carries a 16-bit source's changes over."""
    has_alpha = pixels.mode == "RGBA"
    plan = formats.plan_output(source.encoding, requested=requested, quality=quality, has_alpha=has_alpha,
                               grey=source.grey, depth=source.encoding.depth)
    deep = (deep_output(source.deep, before, pixels)
            if source.deep is not None and before is not None and plan.depth == 16 else None)
    at_encode = plan.format in formats.XMP_AT_ENCODE
    encoded = formats.encode(output_mode(pixels, source.grey), plan, exif=image_io.dump_exif(exif),
                             icc_profile=source.icc_profile, xmp=packet if at_encode else None, deep=deep,
                             dpi=source.dpi)
    if not at_encode:
        encoded = metadata.set_xmp(encoded, packet, canvas=pixels.size, has_alpha=has_alpha)
    return encoded, plan


class Labeller:
    """Labels images with one set of options, signer and watermark step. Reuse it across a batch."""

    def __init__(self, options: LabelOptions, signer: CredentialSigner | None = None,
                 watermark: WatermarkCodec | None = None):
        options.validate()
        self.options = options
        self.signer = signer
        self.watermark = watermark

    def fingerprint(self) -> str:
        """A digest of everything that decides what this labeller writes (options, signing certificate,
        watermark and its key): a batch re-run resumes only records made with the same fingerprint."""
        parts = [json.dumps(dataclasses.asdict(self.options), sort_keys=True),
                 self.signer.certificate_sha256 if self.signer else "no-c2pa",
                 getattr(self.watermark, "name", "no-watermark"),
                 hashlib.sha256(getattr(self.watermark, "key", None) or b"").hexdigest()]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    def label(self, source: Source, name: str | None = None, *, produce_id: str | None = None) -> LabelResult:
        """Label one image given as encoded bytes, a path, or a binary file object."""
        data, found_name = image_io.read_source(source)
        return self.label_bytes(data, name or found_name, produce_id=produce_id)

    def label_bytes(self, data: bytes, name: str = "image", *, produce_id: str | None = None) -> LabelResult:
        """Label one encoded image. Raises an ``AimarkError`` subclass explaining any refusal, and nothing
        else whatever the bytes (``input_guard``).

        ``produce_id`` is the producer's own number for this content (GB 45438's ProduceID: a generation
        service already has one for every image it made, and its records use it); by default a random UUID.
        It feeds the watermark's content ID, so one ID gives one mark, run after run."""
        if produce_id is not None:
            if not produce_id:
                raise AimarkError("the ProduceID is empty; pass the producer's number for this content, or none "
                                  "for a random one")
            metadata.AigcLabel.for_producer(self.options.producer, produce_id)  # refuse a malformed one early
        with input_guard("this image"):
            return self._label(data, name, produce_id)

    def _label(self, data: bytes, name: str, produce_id: str | None = None) -> LabelResult:
        opts = self.options
        reason = existing_label(data, MIME_TYPES.get(carriers.sniff_format(data) or ""))
        if reason:
            raise AlreadyLabelled(f"not labelled again: {reason}; a second label would stack on the first")
        source = image_io.load_source(data)
        pixels = source.pixels
        if self.watermark is not None:
            found = self.watermark.existing(pixels)
            if found is not None:
                who = found.payload
                raise AlreadyLabelled(
                    f"not labelled again: it already carries an aimark watermark (author {who.author_id}, "
                    f"content {who.content_id}); a second mark would credit another author over the first")
        before = pixels.copy() if source.deep is not None else None
        label_mark = visible.place_label(pixels.size, opts.label_text, opts.label_position, font_path=opts.font_path)
        marks = [label_mark]
        if opts.author_id is not None:
            marks.append(visible.place_author_mark(
                pixels.size, opts.author_id, template=opts.author_template, position=opts.author_position,
                font_path=opts.font_path, avoid=(label_mark,)))
        for mark in marks:
            visible.draw_mark(pixels, mark)

        produce_id = uuid.uuid4().hex if produce_id is None else produce_id
        payload, watermark_notes, check = None, [], None
        if self.watermark is not None:
            payload = WatermarkPayload.for_label(opts.author_id or NO_AUTHOR, produce_id, label_mark.position,
                                                 marks[1].position if len(marks) > 1 else None)
            try:
                pixels, check = self.watermark.embed_checked(pixels, payload)
                note = check.note() if check is not None else None
                watermark_notes += [note] if note else []
            except WatermarkTooSmall as exc:
                payload, watermark_notes = None, [f"no watermark: {exc}"]

        exif = metadata.stamp_exif(source.exif, artist=opts.author_name or opts.author_id,
                                   software=f"aimark {VERSION}")
        label = metadata.AigcLabel.for_producer(opts.producer, produce_id)
        source_type = metadata.SOURCE_TYPES[opts.source_type]
        packet, xmp_notes = metadata.label_packet(data, label, source_type)
        encoded, plan = encode_labelled(source, pixels, before, packet, exif=exif, requested=opts.output_format,
                                        quality=opts.quality)
        c2pa_record = None
        if self.signer is not None:
            binding = soft_binding(self.watermark.name, payload) if payload else None
            manifest = ai_manifest(name, label, generator=opts.generator, source_type=source_type, version=VERSION,
                                   soft_binding=binding)
            encoded = self.signer.sign(encoded, plan.mime, manifest)
            c2pa_record = {"signer": self.signer.signer_name, "assertions": [a["label"] for a in manifest["assertions"]],
                           "certificate_expires": self.signer.expires.isoformat()}
        record = LabelRecord(
            format=plan.format, size=pixels.size, produce_id=produce_id, encoding=plan.as_record(),
            marks={
                MarkKind.VISIBLE_LABEL: label_mark.as_record(),
                MarkKind.AUTHOR_ID: marks[1].as_record() if len(marks) > 1 else None,
                MarkKind.WATERMARK: ({"step": self.watermark.name, "payload": payload.as_record(),
                                      "key": "private" if getattr(self.watermark, "keyed", False) else "open",
                                      **({"self_check": check.as_record()} if check else {})}
                                     if payload else None),
                MarkKind.METADATA: {"xmp": {"namespace": metadata.TC260_NS, "property": "TC260:AIGC",
                                            "value": label.to_dict()}, "digital_source_type": source_type},
                MarkKind.C2PA: c2pa_record,
            },
            lacks=list(plan.lacks),
            notes=(source.notes + list(plan.notes) + watermark_notes + xmp_notes
                   + (self.signer.warnings if self.signer else [])),
        )
        return LabelResult(data=encoded, format=plan.format, record=record, pixels=pixels, plan=plan)
