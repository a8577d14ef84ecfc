"""What a reader is: a plug-in that reads one kind of mark from one decoded image into ``Evidence``.

After perception's ``Hasher`` and ThreatExchange's ``SignalType``: one small abstract class; each kind of
mark a ~30-line subclass that declares which mark it reads, where its record goes, and how a person sees
it. The inspection is the list of evidence from the registered readers (``readers.READERS``); the CLI
table, the JSON record and the report render it generically.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from aimark.labeller.c2pa import DEFAULT_TRUST
from aimark.labeller.source import DecodedImage
from aimark.labeller.vocabulary import Evidence, MarkKind


@dataclass(frozen=True)
class ReadContext:
    """What readers may need beyond the image: trust anchors, a private watermark key, an OCR engine
    (None: visible marks are not read)."""

    trust_anchors: str | None = DEFAULT_TRUST
    watermark_key: bytes | None = None
    ocr: object | None = None


class Reader(ABC):
    """Reads one kind of mark. Subclasses set ``mark``, ``key`` (the inspection record's field) and
    ``title`` (the CLI table's column), and implement ``read`` and ``lines``."""

    mark: MarkKind
    key: str
    title: str
    needs_pixels: bool = True

    @abstractmethod
    def read(self, image: DecodedImage, context: ReadContext) -> Evidence:
        """The evidence in ``image``; raise nothing but ``AimarkError`` (the caller guards the rest)."""

    @staticmethod
    @abstractmethod
    def lines(record: Any) -> list[str]:
        """A person's view of this reader's JSON record, one line each (no title)."""

    def evidence(self, reading: Any, record: Any) -> Evidence:
        return Evidence(mark=self.mark, key=self.key, reading=reading, record=record)

    def wants(self, context: ReadContext) -> bool:
        """Whether this reader runs under ``context`` (the visible reader needs an OCR engine)."""
        return True
