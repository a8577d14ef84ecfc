"""What a judge is: one layer's rule turning evidence (and, when there is one, the matched original) into
findings. ``scan()`` runs every judge in ``judges.JUDGES`` over one ``Case`` and then the verdict."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace

from aimark.labeller.source import DecodedImage
from aimark.labeller.visible import FoundMark
from aimark.labeller.vocabulary import Confidence, MarkKind

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
    visible: list[FoundMark] | None = None  # OCR of the edges (no placed original, or a mark mapped off
    # the frame), else None
    read_at_marks: list[FoundMark] = field(default_factory=list)  # OCR where a placed original's marks went
    symmetric_fits: list | None = None  # the match's other fits under the picture's own symmetries, once sought

    @property
    def payload(self):
        """The aimark payload this picture carries as its own: None when none was read, or when the mark's
        binding shows it was embedded in another picture (``foreign``) — a copied mark names nobody here."""
        detection = self.inspection.watermark
        return detection.payload if detection is not None and not self.foreign else None

    @property
    def binding(self) -> str | None:
        """What the mark read says of its own picture (``labeller.binding``): "bound" (embedded in this very
        picture), "foreign" (embedded in another and copied here), "cannot tell", or None (no binding read)."""
        detection = self.inspection.watermark
        return detection.binding.verdict if detection is not None and detection.binding is not None else None

    @property
    def foreign(self) -> bool:
        return self.binding == "foreign"

    @property
    def bound(self) -> bool:
        return self.binding == "bound"

    @property
    def confirmed(self) -> bool:
        """A registered original that the picture itself confirms (geometry) and no evidence contradicts."""
        return self.match is not None and self.match.placed and not self.match.disagreements

    def labelled_with(self, layer: MarkKind) -> Labelled | None:
        """What says this image was once labelled with ``layer`` (the metadata label or C2PA), on what
        grounds, and how far that can be trusted: a registered original the picture confirms is strong; a
        watermark payload alone is not (anyone can write an open-key mark, and a mark can be copied from
        another picture), so what rests on it alone stays information. None when nothing does — among them
        a registered original written without that layer (``--no-c2pa``; a format that holds no metadata):
        its repost lost nothing (measured: every scan of such an original, even of its own file, said
        "c2pa-stripped" at medium, an accusation)."""
        if self.match is not None and self.match.original.layers is not None \
                and layer not in self.match.original.layers:
            return None
        if self.confirmed:
            return Labelled("the registered original carried one", ("registry", "geometry"), Confidence.HIGH)
        if self.match is not None:
            but = self.match.disagreements or [self.match.caveat or "the picture could not be matched to it"]
            return Labelled(f"the registered original #{self.match.original.id} carried one (but {'; '.join(but)})",
                            ("registry",), Confidence.LOW)
        if self.payload is not None:
            return Labelled("the aimark watermark shows it was labelled, and aimark labels carry one unless "
                            "made without it (a watermark alone can be copied or forged: information only)",
                            ("watermark payload",), Confidence.LOW)
        return None


@dataclass(frozen=True)
class Labelled:
    """Why the image is believed to have been labelled once."""

    reason: str
    rests_on: tuple[str, ...]
    confidence: Confidence


def as_information(findings: list[Finding], reason: str, rests_on: tuple[str, ...] = ()) -> list[Finding]:
    """``findings`` with every removal above low lowered to low, ``reason`` said in its summary and
    ``rests_on`` added to its evidence: what contradicting evidence does to an accusation."""
    return [replace(f, confidence=Confidence.LOW, summary=f"{f.summary} ({reason})", rests_on=f.rests_on + rests_on)
            if f.removal and f.confidence > Confidence.LOW else f for f in findings]


class Judge(ABC):
    """Turns one layer's evidence into findings."""

    @abstractmethod
    def judge(self, case: Case) -> list[Finding]: ...
