"""Invisible marks: aimark's watermark payload, and generator watermarks."""

from __future__ import annotations

from aimark.labeller import watermark
from aimark.labeller.vocabulary import Confidence, FindingKind

from ..findings import Finding
from .base import Case, Judge


class WatermarkJudge(Judge):
    def judge(self, case: Case) -> list[Finding]:
        findings = []
        payload = case.payload
        key = "private key" if case.options.watermark_key else "open key"
        if case.foreign:
            read, binding = case.inspection.watermark.payload, case.inspection.watermark.binding
            findings.append(Finding(FindingKind.WATERMARK_FOREIGN, Confidence.MEDIUM,
                                    f"an aimark watermark ({key}) naming author {read.author_id}, content "
                                    f"{read.content_id}, was embedded in another picture and copied onto this one: "
                                    f"its binding to the picture reads z {binding.z:.1f} where a mark embedded here "
                                    f"would show about {binding.expected_z:.1f}; it names nobody here",
                                    ("watermark payload", "watermark binding")))
        if payload is not None:
            bound = " and bound to this picture" if case.bound else ""
            findings.append(Finding(FindingKind.WATERMARK_PRESENT, Confidence.HIGH,
                                    f"aimark watermark ({key}{bound}): author {payload.author_id}, content "
                                    f"{payload.content_id}",
                                    (f"watermark (false-positive bound {watermark.FALSE_POSITIVE_BOUND:.0e})",)
                                    + (("watermark binding",) if case.bound else ())))
            others = case.inspection.watermark.others if case.inspection.watermark is not None else ()
            if others:
                authors = ", ".join(f"author {p.author_id} (content {p.content_id})" for p in (payload, *others))
                findings.append(Finding(FindingKind.WATERMARK_UNCONFIRMED, Confidence.LOW,
                                        f"the picture carries more than one aimark watermark: {authors}; it was "
                                        "marked twice, and the marks cannot tell which came first",
                                        ("watermark payloads",)))
            match = case.match
            if match is not None and match.disagreements:
                findings.append(Finding(FindingKind.WATERMARK_UNCONFIRMED, Confidence.LOW,
                                        "the watermark and the registry disagree: " + "; ".join(match.disagreements),
                                        ("watermark payload", "registry")))
        match = case.match
        if match is not None and match.mark_confirmed:  # sought only where no mark was read blind
            original = match.original.payload
            findings.append(Finding(FindingKind.WATERMARK_PRESENT, Confidence.HIGH,
                                    f"the registered original's aimark watermark ({key}): author {original.author_id}, "
                                    f"content {original.content_id} — too faint here to decode blind, found by "
                                    f"testing for that payload (z {match.mark.z:.1f}; chance "
                                    f"<= {watermark.CONFIRM_BOUND:.0e})",
                                    ("registry", "geometry", "watermark (an informed read)")))
        for generator in (m for m in (case.inspection.generators or []) if m.reported):
            findings.append(Finding(FindingKind.GENERATOR_WATERMARK, Confidence(generator.confidence),
                                    f"{generator.generator} watermark ({generator.verdict}: {generator.matched}/"
                                    f"{generator.total} bits, chance {generator.p_value:.0e})", ("generator watermark",)))
        return findings
