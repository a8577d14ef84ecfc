"""What a judge is: one layer's rule turning evidence (and, when there is one, the matched original) into
findings. ``scan()`` runs every judge in ``judges.JUDGES`` over one ``Case`` and then the verdict."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from aimark.labeller.source import DecodedImage
from aimark.labeller.visible import FoundMark

from ..findings import Finding
from ..inspect import Inspection
from ..matching import Match


@dataclass
class Case:
    """Everything a judge may look at for one image."""

    inspection: Inspection
    image: DecodedImage
    match: Match | None
    options: object  # ScanOptions
    visible: list[FoundMark] | None = None  # OCR of the edges (no placed original), else None
    read_at_marks: list[FoundMark] = field(default_factory=list)  # OCR where a placed original's marks went

    @property
    def payload(self):
        detection = self.inspection.watermark
        return detection.payload if detection is not None else None

    @property
    def labelled(self) -> tuple[str, str] | None:
        """What says this image was once labelled (aimark labels always write every layer), and on what
        grounds: the registered original, or the aimark watermark's payload."""
        if self.match is not None:
            return "the registered original carried one", "registry"
        if self.payload is not None:
            return "the aimark watermark shows it was labelled, and aimark labels carry one", "watermark payload"
        return None


class Judge(ABC):
    """Turns one layer's evidence into findings."""

    @abstractmethod
    def judge(self, case: Case) -> list[Finding]: ...
