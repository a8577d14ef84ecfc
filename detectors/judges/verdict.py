"""The verdict in GB 45438 terms, and the doubt that lowers removals when the match may be the source."""

from __future__ import annotations

from dataclasses import replace

from aimark.labeller import metadata
from aimark.labeller.vocabulary import Confidence, FindingKind

from ..findings import Finding, Verdict
from .base import Case


def source_copy_doubt(case: Case) -> str | None:
    """Why a hash-only match may be the unlabelled source picture rather than a stripped repost: the
    original was watermarked, and a repost keeps the watermark, but none was found here."""
    match = case.match
    if match is not None and match.by == "hash" and match.original.watermarked and case.payload is None:
        return ("matched by appearance only and no watermark was found, though the original carried one: this may "
                "be the unlabelled source picture rather than a repost")
    return None


def with_doubts(case: Case, findings: list[Finding]) -> list[Finding]:
    doubt = source_copy_doubt(case)
    if not doubt:
        return findings
    return [replace(f, confidence=Confidence.LOW, summary=f"{f.summary} ({doubt})") if f.removal else f
            for f in findings]


def decide(case: Case, findings: list[Finding]) -> Verdict:
    inspection = case.inspection
    meta = inspection.metadata
    if meta is not None and meta.status == "conforming":
        label = meta.label
        return Verdict(label.label, f"the metadata label says {label.meaning} (Label={label.label})")
    credentials = inspection.c2pa
    if credentials and credentials.state in ("Trusted", "Valid") and credentials.digital_source_type in (
            metadata.TRAINED, metadata.COMPOSITE):
        return Verdict("1", "its C2PA credentials declare AI generation")
    traces = []
    if case.payload is not None:
        traces.append("an aimark watermark")
    if any(f.kind in (FindingKind.VISIBLE_LABEL_PRESENT, FindingKind.VISIBLE_LABEL_NONCOMPLIANT) for f in findings):
        traces.append("a visible AI label")
    if meta is not None and meta.status == "non-conforming":
        traces.append("a non-conforming metadata label")
    traces += [f"a {m.generator} watermark" for m in (inspection.generators or [])
               if m.reported and m.confidence == "high"]
    if case.options.declared_ai:
        return Verdict("2", "the uploader declares it AI-generated" + (f"; it also carries {', '.join(traces)}"
                                                                        if traces else ""))
    if traces:
        return Verdict("3", "no valid label, but it carries " + ", ".join(traces))
    return Verdict("none", "no label, watermark or visible AI mark was found")
