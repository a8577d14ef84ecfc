"""Every mark one file carries: the evidence of each registered reader over one decoded image.

This is evidence only — what is there and whether it holds. Judging a repost against its original (what
was stripped) builds on it (``scan``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aimark.labeller import c2pa, carriers, image_io
from aimark.labeller.errors import AimarkError, input_guard
from aimark.labeller.source import DecodedImage
from aimark.labeller.vocabulary import Evidence

from . import readers as registered
from .readers import ReadContext, Reader


@dataclass
class Inspection:
    """What one file carries, reader by reader. ``error`` is set when the pixels could not be decoded (the
    readers that need no pixels still report)."""

    path: str
    format: str | None
    image: DecodedImage | None = field(default=None, repr=False)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    error: str | None = None

    def reading(self, key: str) -> Any:
        found = self.evidence.get(key)
        return found.reading if found is not None else None

    @property
    def size(self) -> tuple[int, int] | None:
        return self.image.size if self.image is not None and self.error is None else None

    @property
    def notes(self) -> list[str]:
        return self.image.source.notes if self.image is not None and self.image.source else []

    @property
    def pixels(self):
        return self.image.pixels if self.image is not None else None

    # the readings judges use most, by name
    metadata = property(lambda self: self.reading("metadata"))
    c2pa = property(lambda self: self.reading("c2pa"))
    watermark = property(lambda self: self.reading("watermark"))
    generators = property(lambda self: self.reading("generator_watermarks"))
    visible = property(lambda self: self.reading("visible"))

    def as_record(self) -> dict:
        record: dict = {"path": self.path, "format": self.format, "size": list(self.size) if self.size else None}
        for reader in registered.READERS:
            found = self.evidence.get(reader.key)
            record[reader.key] = found.record if found is not None else None
        errors = [f"{e.key}: {e.error}" for e in self.evidence.values() if e.error]
        record.update(error=self.error, notes=self.notes + errors)
        return record


def run_readers(image: DecodedImage, context: ReadContext, readers=None) -> dict[str, Evidence]:
    """Each reader's evidence; a reader that fails (or needs pixels the file does not give) says so in its
    own evidence and never stops the others."""
    found: dict[str, Evidence] = {}
    for reader in registered.READERS if readers is None else readers:
        if not reader.wants(context) or (reader.needs_pixels and image.error):
            continue
        try:
            with input_guard(f"its {reader.title}"):
                found[reader.key] = reader.read(image, context)
        except AimarkError as exc:
            found[reader.key] = Evidence(mark=reader.mark, key=reader.key, error=str(exc))
    return found


def inspect_image(image: DecodedImage, context: ReadContext, readers: tuple[Reader, ...] | None = None) -> Inspection:
    """The inspection of a decoded image by ``readers``."""
    result = Inspection(path=image.name, format=carriers.sniff_format(image.data), image=image)
    result.evidence = run_readers(image, context, readers)
    result.error = image.error
    return result


def inspect_bytes(data: bytes, name: str = "", *, trust_anchors: str | None = c2pa.DEFAULT_TRUST, ocr=None,
                  watermark_key: bytes | None = None) -> Inspection:
    """Read every layer of ``data``. ``ocr`` (an ``aimark.models.OcrEngine``) enables visible marks.

    Never raises for a bad file: a layer that cannot be read says so in ``error`` or its own record, and
    an unforeseen failure in one reader does not stop the others."""
    context = ReadContext(trust_anchors=trust_anchors, watermark_key=watermark_key, ocr=ocr)
    return inspect_image(DecodedImage(data, name), context)


def inspect(source: image_io.Source, *, name: str | None = None,
            trust_anchors: str | None = c2pa.DEFAULT_TRUST, ocr=None, watermark_key: bytes | None = None) -> Inspection:
    """Read every layer of an image given as bytes, a path or a binary file object."""
    data, found_name = image_io.read_source(source, name)
    return inspect_bytes(data, found_name, trust_anchors=trust_anchors, ocr=ocr, watermark_key=watermark_key)


def inspect_file(path: Path, *, trust_anchors: str | None = c2pa.DEFAULT_TRUST, ocr=None,
                 watermark_key: bytes | None = None) -> Inspection:
    return inspect(Path(path), trust_anchors=trust_anchors, ocr=ocr, watermark_key=watermark_key)
