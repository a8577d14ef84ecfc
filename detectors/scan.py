"""Scanning a repost: the readers' evidence, the match to an original, each judge's findings, a verdict.

``scan()`` only orchestrates — decode once (``DecodedImage``), read (``readers``), match (``matching``),
read the visible marks where they should be, judge (``judges``), decide (``judges.verdict``). A scan never
accuses on weak evidence: "removed" findings with high confidence need the original, a registry match
confirmed by local-feature geometry that maps the original's mark boxes into the repost. Without an
original the scan still reports what the file carries, and what its watermark says should be there, at
lower confidence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aimark.labeller.c2pa import DEFAULT_TRUST
from aimark.labeller.errors import AimarkError, input_guard
from aimark.labeller.image_io import Source, read_source
from aimark.labeller.source import DecodedImage
from aimark.labeller.visible import FoundMark
from aimark.labeller.vocabulary import Confidence

from .findings import Finding, Verdict
from .inspect import Inspection, inspect_image
from .judges import JUDGES, Case
from .judges.visible import EDGE_READER
from .judges.verdict import decide, with_doubts
from .matching import Match, confirm_mark, find_original
from .readers import READERS, ReadContext
from .registry import Registry

FIRST_READERS = tuple(reader for reader in READERS if reader.key != "visible")  # visible: after matching


@dataclass
class ScanResult:
    """Everything a scan found in one image. ``as_record()`` is its JSON form."""

    path: str
    inspection: Inspection
    visible: list[FoundMark] | None = None
    match: Match | None = None
    findings: list[Finding] = field(default_factory=list)
    verdict: Verdict = field(default_factory=lambda: Verdict("none", "nothing was read"))
    seconds: float = 0.0

    @property
    def removals(self) -> list[Finding]:
        """Findings that say a label was taken away, at any confidence."""
        return [f for f in self.findings if f.removal]

    @property
    def accusations(self) -> list[Finding]:
        """Removals at medium or high confidence: what a moderator acts on (low ones are information)."""
        return [f for f in self.removals if f.confidence >= Confidence.MEDIUM]

    @property
    def error(self) -> str | None:
        return self.inspection.error

    def as_record(self) -> dict:
        record = self.inspection.as_record()
        record.update({
            "visible": [m.as_record() for m in self.visible] if self.visible is not None else None,
            "match": self.match.as_record() if self.match else None,
            "findings": [f.as_record() for f in self.findings],
            "removal_found": bool(self.accusations),
            "verdict": self.verdict.as_record(),
            "seconds": round(self.seconds, 4),
        })
        return record


@dataclass(frozen=True)
class ScanOptions(ReadContext):
    """What a scan reads. ``ocr`` is an ``aimark.models.OcrEngine`` (None: the fast mode, no OCR);
    ``trust_anchors`` defaults to your own ca.pem, as the CLI's does (None: no anchors; or PEM text)."""

    trust_anchors: str | None = DEFAULT_TRUST
    registry: Registry | None = None
    declared_ai: bool = False


def scan(image: Source, options: ScanOptions | None = None, name: str = "") -> ScanResult:
    """Scan one image (encoded bytes, a path or a binary file object). Never raises for a bad image: the
    result says why; an unreadable path raises ``AimarkError``."""
    options = options or ScanOptions()
    started = time.perf_counter()
    data, name = read_source(image, name or None)
    decoded = DecodedImage(data, name)
    inspection = inspect_image(decoded, options, FIRST_READERS)
    result = ScanResult(path=name, inspection=inspection)
    case = Case(inspection=inspection, image=decoded, match=None, options=options)
    try:
        with input_guard("this image"):
            if not decoded.error:
                if options.registry is not None:
                    meta = inspection.metadata
                    produce_id = meta.label.produce_id if meta is not None and meta.label is not None else None
                    result.match = case.match = find_original(decoded, case.payload, options.registry, produce_id,
                                                               inspection.watermark)
                    confirm_mark(case.match, decoded, inspection.watermark, options.watermark_key,
                                 options.registry)
                if options.ocr is not None and not (case.match and case.match.placed):
                    case.visible = EDGE_READER.read(decoded, options).reading
            findings = [finding for judge in JUDGES for finding in judge.judge(case)]
            result.findings = with_doubts(case, findings)
            result.verdict = decide(case, result.findings)
            if case.visible is not None or case.read_at_marks:
                result.visible = (case.visible or []) + case.read_at_marks
    except AimarkError as exc:
        inspection.error = str(exc)
    result.seconds = time.perf_counter() - started
    return result
