"""Every mark one file carries, layer by layer, read by each layer's own reader.

This is evidence only — what is there and whether it holds. Judging a repost against its original
(what was stripped) builds on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from aimark.labeller import c2pa, carriers, image_io, metadata, visible, watermark
from aimark.labeller.errors import AimarkError, input_guard

from . import generators


@dataclass
class Inspection:
    """What one file carries. ``error`` is set when the pixels could not be decoded (metadata may still be)."""

    path: str
    format: str | None
    size: tuple[int, int] | None = None
    metadata: metadata.MetadataReport | None = None
    c2pa: c2pa.C2paReport | None = None
    visible: list[visible.FoundMark] | None = None
    watermark: watermark.Detection | None = None
    generators: list[generators.GeneratorMatch] | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    pixels: Image.Image | None = field(default=None, repr=False)  # decoded once, for further analysis

    def as_record(self) -> dict:
        return {
            "path": self.path, "format": self.format, "size": list(self.size) if self.size else None,
            "metadata": self.metadata.as_record() if self.metadata else None,
            "c2pa": self.c2pa.as_record() if self.c2pa else None,
            "visible": [m.as_record() for m in self.visible] if self.visible is not None else None,
            "watermark": self.watermark.as_record() if self.watermark else None,
            "generator_watermarks": [m.as_record() for m in self.generators if m.reported]
            if self.generators is not None else None,
            "error": self.error, "notes": self.notes,
        }


def inspect_bytes(data: bytes, name: str = "", *, trust_anchors: str | None = c2pa.DEFAULT_TRUST, ocr=None,
                  watermark_key: bytes | None = None) -> Inspection:
    """Read every layer of ``data``. ``ocr`` (an ``aimark.models.OcrEngine``) enables visible marks.

    Never raises for a bad file: a layer that cannot be read says so in ``error`` or its own record, and
    an unforeseen failure in one reader does not stop the others (``input_guard``)."""
    fmt = carriers.sniff_format(data)
    result = Inspection(path=name, format=fmt)
    try:
        with input_guard("its metadata"):
            result.metadata = metadata.read_labels(data)
    except AimarkError as exc:
        result.metadata = metadata.MetadataReport(problems=[str(exc)])
    mime = c2pa.MIME_TYPES.get(fmt or "")
    if mime:
        result.c2pa = c2pa.read_c2pa(data, mime, c2pa.read_context(trust_anchors))
    try:
        with input_guard("this image"):
            source = image_io.load_source(data)
    except AimarkError as exc:
        result.error = str(exc)
        return result
    result.size = source.size
    result.notes = source.notes
    result.pixels = source.pixels
    try:
        with input_guard("its pixels"):
            result.watermark = watermark.detect(source.pixels, watermark_key)
            result.generators = generators.recognise(np.asarray(source.pixels.convert("RGB")))
            if ocr is not None:
                result.visible = visible.read_marks(source.pixels, ocr)
    except AimarkError as exc:
        result.error = str(exc)
    return result


def inspect(source: image_io.Source, *, name: str | None = None,
            trust_anchors: str | None = c2pa.DEFAULT_TRUST, ocr=None,
            watermark_key: bytes | None = None) -> Inspection:
    """Read every layer of an image given as bytes, a path or a binary file object."""
    data, found_name = image_io.read_source(source, name)
    return inspect_bytes(data, found_name, trust_anchors=trust_anchors, ocr=ocr, watermark_key=watermark_key)


def inspect_file(path: Path, *, trust_anchors: str | None = c2pa.DEFAULT_TRUST, ocr=None,
                 watermark_key: bytes | None = None) -> Inspection:
    return inspect(Path(path), trust_anchors=trust_anchors, ocr=ocr, watermark_key=watermark_key)
