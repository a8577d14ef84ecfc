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
from aimark.labeller.errors import AimarkError

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


def inspect_bytes(data: bytes, name: str = "", *, trust_anchors: str | None = None, ocr=None,
                  watermark_key: bytes | None = None) -> Inspection:
    """Read every layer of ``data``. ``ocr`` (an ``aimark.models.OcrEngine``) enables visible marks."""
    fmt = carriers.sniff_format(data)
    result = Inspection(path=name, format=fmt)
    result.metadata = metadata.read_labels(data)
    mime = c2pa.MIME_TYPES.get(fmt or "")
    if mime:
        result.c2pa = c2pa.read_c2pa(data, mime, c2pa.read_context(trust_anchors))
    try:
        source = image_io.load_source(data)
    except AimarkError as exc:
        result.error = str(exc)
        return result
    result.size = source.size
    result.notes = source.notes
    result.pixels = source.pixels
    result.watermark = watermark.detect(source.pixels, watermark_key)
    result.generators = generators.recognise(np.asarray(source.pixels.convert("RGB")))
    if ocr is not None:
        result.visible = visible.read_marks(source.pixels, ocr)
    return result


def inspect_file(path: Path, *, trust_anchors: str | None = None, ocr=None,
                 watermark_key: bytes | None = None) -> Inspection:
    return inspect_bytes(Path(path).read_bytes(), str(path), trust_anchors=trust_anchors, ocr=ocr,
                         watermark_key=watermark_key)
