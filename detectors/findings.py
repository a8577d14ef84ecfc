"""What a scan says: findings (each with its confidence and what it rests on) and a verdict."""

from __future__ import annotations

from dataclasses import dataclass

from aimark.labeller.vocabulary import Box, Confidence, FindingKind


@dataclass(frozen=True)
class Finding:
    """One statement about the image, with its confidence and the evidence it rests on."""

    kind: FindingKind
    confidence: Confidence
    summary: str
    rests_on: tuple[str, ...]
    box: Box | None = None  # where, in the repost
    original_box: Box | None = None  # where, in the original

    @property
    def removal(self) -> bool:
        return self.kind.removal

    def as_record(self) -> dict:
        return {"kind": self.kind.value, "removal": self.removal, "confidence": self.confidence.value,
                "summary": self.summary, "rests_on": list(self.rests_on),
                "box": self.box.as_list() if self.box else None,
                "original_box": self.original_box.as_list() if self.original_box else None}


VERDICT_MEANINGS = {"1": "labelled AI-generated", "2": "possibly AI-generated", "3": "suspected AI-generated",
                    "none": "no evidence of AI generation"}


@dataclass(frozen=True)
class Verdict:
    """GB 45438 terms: "1" labelled AI, "2" possibly AI, "3" suspected AI, or "none"."""

    level: str
    reason: str

    @property
    def meaning(self) -> str:
        return VERDICT_MEANINGS[self.level]

    def as_record(self) -> dict:
        return {"level": self.level, "meaning": self.meaning, "reason": self.reason}
