"""The metadata label: present (a producer's or, on republishing, a platform's), non-conforming, altered, or
stripped. Only a confirmed original can say it was altered or stripped with confidence."""

from __future__ import annotations

from aimark.labeller import metadata, watermark
from aimark.labeller.vocabulary import Confidence, FindingKind, MarkKind

from ..findings import Finding
from .base import Case, Judge


SOURCE_TYPE_PLACE = "XMP Iptc4xmpExt:DigitalSourceType"


def source_type_declared(meta) -> str | None:
    """What an AI source type in XMP declares where no conforming TC260 label speaks (Google, Meta, Midjourney
    and Adobe write it beside or instead of any label; aimark writes it beside its own), or None."""
    if meta is None or meta.status == "conforming":
        return None
    return metadata.SOURCE_TYPE_MEANINGS.get(meta.digital_source_type)


def platform_label(label) -> bool:
    """A label a platform created on republishing (CAC Measures Art. 6: Label 2 or 3, no producer fields)."""
    return not label.content_producer and not label.produce_id and bool(label.content_propagator)


class MetadataJudge(Judge):
    def judge(self, case: Case) -> list[Finding]:
        meta, labelled = case.inspection.metadata, case.labelled_with(MarkKind.METADATA)
        if meta is None:
            return []
        vendors = [Finding(FindingKind.METADATA_VENDOR, Confidence.HIGH,
                           f"an AI disclosure by {d.vendor} in its own form ({d.carrier}): {d.says} — not a GB 45438 "
                           "label", (d.carrier,)) for d in meta.disclosures]
        declared = source_type_declared(meta)
        if declared:
            said = (f"the IPTC digital source type in XMP says {declared} — the AI disclosure generators and "
                    "platforms write (not a GB 45438 label)")
            vendors.append(Finding(FindingKind.METADATA_VENDOR, Confidence.HIGH, said, (SOURCE_TYPE_PLACE,)))
        return vendors + self._labels(case, meta, labelled)

    def _labels(self, case: Case, meta, labelled) -> list[Finding]:
        if meta.status == "conforming":
            return [self._conforming(case, meta.label)]
        if meta.status == "non-conforming":
            problems = "; ".join(p for found in meta.labels for p in found.problems) or "; ".join(meta.problems)
            return [Finding(FindingKind.METADATA_NONCONFORMING, Confidence.HIGH,
                            f"a metadata label is there but does not conform: {problems}",
                            tuple(f.carrier for f in meta.labels))]
        if labelled:
            return [Finding(FindingKind.METADATA_STRIPPED, labelled.confidence,
                            f"no metadata label, though {labelled.reason}", labelled.rests_on)]
        return []

    @staticmethod
    def _conforming(case: Case, label) -> Finding:
        present = Finding(FindingKind.METADATA_PRESENT, Confidence.HIGH,
                          f"metadata label: {label.meaning} (Label={label.label}, producer "
                          f"{label.content_producer or '-'}, propagator {label.content_propagator or '-'})",
                          ("XMP TC260:AIGC",))
        if platform_label(label):
            return Finding(FindingKind.METADATA_PRESENT, Confidence.HIGH,
                           f"metadata label created by the platform {label.content_propagator} on republishing: "
                           f"{label.meaning} (Label={label.label})", ("XMP TC260:AIGC",))
        if case.confirmed and label.produce_id != case.match.original.produce_id:
            return Finding(FindingKind.METADATA_ALTERED, Confidence.HIGH,
                           f"the metadata label's ProduceID {label.produce_id!r} is not the original's "
                           f"{case.match.original.produce_id!r}", ("metadata label", "registry", "geometry"))
        payload = case.payload
        if payload is not None and not watermark.WatermarkPayload.content_matches(label.produce_id, payload.content_id):
            return Finding(FindingKind.METADATA_ALTERED, Confidence.LOW,
                           f"the metadata label's ProduceID {label.produce_id!r} is not the one the watermark names "
                           "(a watermark alone can be copied or forged: information only)",
                           ("metadata label", "watermark content ID"))
        return present
