"""The metadata label: present (and conforming), non-conforming, altered, or stripped."""

from __future__ import annotations

from aimark.labeller import watermark
from aimark.labeller.vocabulary import Confidence, FindingKind

from ..findings import Finding
from .base import Case, Judge


class MetadataJudge(Judge):
    def judge(self, case: Case) -> list[Finding]:
        meta, match, payload, labelled = case.inspection.metadata, case.match, case.payload, case.labelled
        if meta is None:
            return []
        if meta.status == "conforming":
            label = meta.label
            altered = match is not None and label.produce_id != match.original.produce_id
            altered = altered or (payload is not None
                                  and watermark.WatermarkPayload.content_field(label.produce_id) != payload.content_id)
            if altered:
                return [Finding(FindingKind.METADATA_ALTERED, Confidence.HIGH if match else Confidence.MEDIUM,
                                f"the metadata label's ProduceID {label.produce_id!r} is not the original's",
                                ("metadata label", "registry" if match else "watermark content ID"))]
            return [Finding(FindingKind.METADATA_PRESENT, Confidence.HIGH, f"metadata label: {label.meaning} "
                            f"(Label={label.label}, producer {label.content_producer})", ("XMP TC260:AIGC",))]
        if meta.status == "non-conforming":
            problems = "; ".join(p for found in meta.labels for p in found.problems) or "; ".join(meta.problems)
            return [Finding(FindingKind.METADATA_NONCONFORMING, Confidence.HIGH,
                            f"a metadata label is there but does not conform: {problems}",
                            tuple(f.carrier for f in meta.labels))]
        if labelled:
            return [Finding(FindingKind.METADATA_STRIPPED, Confidence.HIGH if match else Confidence.MEDIUM,
                            f"no metadata label, though {labelled[0]}", (labelled[1],))]
        return []
