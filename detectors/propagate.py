"""A platform's duty when it receives an upload (CAC Measures Art. 6), applied to one file.

| the upload | visible prompt | metadata label |
|---|---|---|
| carries a metadata label saying AI | AI生成 | keep the producer's fields; set ContentPropagator / PropagateID |
| no label, the uploader declares AI | 可能为AI生成 | create one, Label "2" |
| no label, no declaration, but a visible label or other AI trace is detected | 疑似AI生成 | create one, Label "3" |
| nothing | none | none: the file is passed through untouched |

The prompt is drawn like any visible label (edge, ≥ 5% glyphs, plate) unless the picture already shows a
compliant AI label; the file keeps exactly one metadata label; and the C2PA manifest is signed anew with
the upload as its parent ingredient, so the producer's credentials stay the first link of the chain.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from aimark.labeller import c2pa, carriers, image_io, metadata, visible
from aimark.labeller.c2pa import CredentialSigner
from aimark.labeller.errors import AimarkError
from aimark.labeller.pipeline import VERSION, encode_labelled
from aimark.labeller.vocabulary import MarkKind

from .scan import ScanOptions, ScanResult, scan

PROMPTS = {"1": "AI生成", "2": "可能为AI生成", "3": "疑似AI生成"}


@dataclass
class Propagation:
    """What the platform did to one upload."""

    data: bytes
    format: str | None
    level: str  # "1", "2", "3" or "none"
    prompt: str | None  # visible prompt drawn, if any
    label: metadata.AigcLabel | None
    scan: ScanResult
    notes: list[str]

    def as_record(self) -> dict:
        return {"level": self.level, "prompt": self.prompt, "label": self.label.to_dict() if self.label else None,
                "verdict": self.scan.verdict.as_record(), "notes": self.notes}


def propagate(data: bytes, *, platform: str, propagate_id: str, signer: CredentialSigner | None,
              declared_ai: bool = False, options: ScanOptions | None = None, name: str = "upload",
              position: str = "top-left") -> Propagation:
    """Apply Art. 6 to an upload. ``platform`` is the ContentPropagator (name or 27-character code)."""
    options = replace(options or ScanOptions(), declared_ai=declared_ai)
    result = scan(data, options, name=name)
    if result.error:
        raise AimarkError(f"cannot propagate: {result.error}")
    level = result.verdict.level
    if level == "none":
        return Propagation(data, carriers.sniff_format(data), level, None, None, result,
                           ["no AI label, declaration or trace: passed through untouched"])
    existing = result.inspection.metadata.label if result.inspection.metadata.status == "conforming" else None
    if existing is not None:
        label = metadata.AigcLabel(existing.label, existing.content_producer, existing.produce_id,
                                   existing.reserved_code1, platform, propagate_id, "")
    else:
        label = metadata.AigcLabel(level, "", "", "", platform, propagate_id, "")
    label.validate()
    notes = []
    shows_label = any(m.kind == MarkKind.VISIBLE_LABEL and m.check and m.check.compliant
                      for m in (result.visible or []))
    prompt = None if shows_label else PROMPTS[level]
    if shows_label:
        notes.append("the picture already shows a compliant AI label: no second visible prompt drawn")
    elif result.visible is None:
        notes.append("visible marks were not read (no OCR): prompt drawn")

    source_type = result.inspection.metadata.digital_source_type or (
        (result.inspection.c2pa.digital_source_type if result.inspection.c2pa else None) or metadata.TRAINED)
    packet, xmp_notes = metadata.label_packet(data, label, source_type)
    notes += xmp_notes
    fmt = carriers.sniff_format(data)
    if prompt or fmt not in metadata.IN_PLACE_FORMATS:
        source = image_io.load_source(data)
        pixels, before = source.pixels, source.pixels.copy()
        if prompt:
            visible.draw_mark(pixels, visible.place_label(pixels.size, prompt, position))
        else:
            notes.append(f"{fmt} metadata cannot be updated in place: the upload was re-encoded to write the label")
        out, plan = encode_labelled(source, pixels, before if source.deep is not None else None, packet,
                                    exif=source.exif)
        fmt = plan.format
        notes += list(plan.notes)
    else:
        out = metadata.set_xmp(data, packet)
    if signer is not None:
        mime = c2pa.MIME_TYPES[fmt]
        manifest = c2pa.propagation_manifest(name, label, platform=platform, source_type=source_type,
                                             edited=f"visible prompt {prompt!r} added" if prompt else None,
                                             version=VERSION)
        out = signer.sign(out, mime, manifest, parent=(data, c2pa.MIME_TYPES[carriers.sniff_format(data)]))
    return Propagation(out, fmt, level, prompt, label, result, notes)
