"""The words every part of aimark shares: which marks there are, what can be found of them, how sure a
finding is, where it is (``Box``), and the typed records that carry them between the labeller, the readers,
the judges, the JSON records and the reports.

Enums are string-valued, so a value *is* its JSON spelling. One spelling per thing: a mark kind reads the
same in the labelling record (``marks``), an inspection, a finding kind (``<mark>-<outcome>``) and the
registry. The spellings before this vocabulary, and where each changed once, are listed in
``docs/architecture.md``; readers of old records and registries accept both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Iterable


class MarkKind(StrEnum):
    """A kind of mark an image can carry."""

    VISIBLE_LABEL = "visible-label"  # the GB 45438 §5.2 text label
    AUTHOR_ID = "author-id"  # the author's visible ID mark
    WATERMARK = "watermark"  # aimark's invisible watermark
    METADATA = "metadata"  # the TC260 metadata label (and IPTC source type)
    C2PA = "c2pa"  # Content Credentials
    GENERATOR_WATERMARK = "generator-watermark"  # a generator's own invisible mark (SD, SDXL, FLUX)

    @property
    def words(self) -> str:
        """How a moderator reads it."""
        return _WORDS[self]


_WORDS = {MarkKind.VISIBLE_LABEL: "visible AI label", MarkKind.AUTHOR_ID: "author ID",
          MarkKind.WATERMARK: "aimark watermark", MarkKind.METADATA: "metadata label",
          MarkKind.C2PA: "C2PA credentials", MarkKind.GENERATOR_WATERMARK: "generator watermark"}
# The record keys these marks had before the vocabulary (labelling records and registry rows).
LEGACY_MARK_KEYS = {"visible_label": MarkKind.VISIBLE_LABEL, "author_mark": MarkKind.AUTHOR_ID,
                    "ai-label": MarkKind.VISIBLE_LABEL}


def mark_kind(name: str) -> MarkKind:
    """A mark kind from its spelling, old or new."""
    return LEGACY_MARK_KEYS.get(name) or MarkKind(name)


class Outcome(StrEnum):
    """What a scan can say about one mark."""

    PRESENT = "present"
    VALID = "valid"
    UNTRUSTED = "untrusted"
    NONCOMPLIANT = "noncompliant"
    NONCONFORMING = "nonconforming"
    CROPPED = "cropped"
    REMOVED = "removed"
    REPLACED = "replaced"
    STRIPPED = "stripped"
    ALTERED = "altered"
    INVALID = "invalid"  # C2PA: the signature or claim does not verify (not a removal)
    MODIFIED = "modified"  # C2PA: pixels changed after signing, the manifest kept (not a removal)
    PARENT_INVALID = "parent-invalid"
    PARENT_UNTRUSTED = "parent-untrusted"
    UNCONFIRMED = "unconfirmed"  # a mark read, but nothing else agrees it belongs to this picture
    FOREIGN = "foreign"  # a mark read whose binding shows it was embedded in another picture (copied here)
    REMOTE = "remote"  # C2PA: credentials referenced at a URL (never fetched)
    IDENTITY_VALID = "identity-valid"  # C2PA: a CAWG creator identity assertion that verifies
    IDENTITY_INVALID = "identity-invalid"  # ... or does not (the claim itself may still hold)
    VENDOR = "vendor"  # a vendor's own AI disclosure, not a TC260 label


class Confidence(StrEnum):
    """How sure a finding is; comparable (``HIGH > LOW``)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return ("low", "medium", "high").index(self.value)

    def __lt__(self, other) -> bool:  # type: ignore[override]
        return self.rank < Confidence(other).rank

    def __le__(self, other) -> bool:  # type: ignore[override]
        return self.rank <= Confidence(other).rank

    def __gt__(self, other) -> bool:  # type: ignore[override]
        return self.rank > Confidence(other).rank

    def __ge__(self, other) -> bool:  # type: ignore[override]
        return self.rank >= Confidence(other).rank


class FindingKind(StrEnum):
    """Every kind of finding, spelled ``<mark>-<outcome>``; each knows its mark, its outcome and whether it
    says a label was taken away."""

    VISIBLE_LABEL_PRESENT = "visible-label-present"
    VISIBLE_LABEL_NONCOMPLIANT = "visible-label-noncompliant"
    VISIBLE_LABEL_CROPPED = "visible-label-cropped"
    VISIBLE_LABEL_REMOVED = "visible-label-removed"
    AUTHOR_ID_PRESENT = "author-id-present"
    AUTHOR_ID_CROPPED = "author-id-cropped"
    AUTHOR_ID_REMOVED = "author-id-removed"
    AUTHOR_ID_REPLACED = "author-id-replaced"
    METADATA_PRESENT = "metadata-present"
    METADATA_NONCONFORMING = "metadata-nonconforming"
    METADATA_STRIPPED = "metadata-stripped"
    METADATA_ALTERED = "metadata-altered"
    METADATA_VENDOR = "metadata-vendor"
    C2PA_VALID = "c2pa-valid"
    C2PA_UNTRUSTED = "c2pa-untrusted"
    C2PA_PARENT_UNTRUSTED = "c2pa-parent-untrusted"
    C2PA_STRIPPED = "c2pa-stripped"
    C2PA_INVALID = "c2pa-invalid"
    C2PA_MODIFIED = "c2pa-modified"
    C2PA_PARENT_INVALID = "c2pa-parent-invalid"
    C2PA_REMOTE = "c2pa-remote"
    C2PA_IDENTITY_VALID = "c2pa-identity-valid"
    C2PA_IDENTITY_INVALID = "c2pa-identity-invalid"
    WATERMARK_PRESENT = "watermark-present"
    WATERMARK_UNCONFIRMED = "watermark-unconfirmed"
    WATERMARK_FOREIGN = "watermark-foreign"
    GENERATOR_WATERMARK = "generator-watermark"  # spelled without an outcome before the vocabulary: kept

    @property
    def mark(self) -> MarkKind:
        return next(m for m in sorted(MarkKind, key=len, reverse=True) if self.value.startswith(m.value))

    @property
    def outcome(self) -> Outcome:
        rest = self.value[len(self.mark.value) + 1:]
        return Outcome(rest) if rest else Outcome.PRESENT

    @property
    def removal(self) -> bool:
        """Whether the finding says a label was taken away (what a moderator acts on)."""
        return self.outcome in REMOVAL_OUTCOMES

    @classmethod
    def of(cls, mark: MarkKind, outcome: Outcome) -> FindingKind:
        return cls(f"{mark.value}-{outcome.value}")


# What a moderator acts on: a label taken away or changed. A C2PA manifest that no longer verifies (pixels
# edited after signing, a broken signature) is reported, but says nothing about a label being removed.
REMOVAL_OUTCOMES = frozenset({Outcome.CROPPED, Outcome.REMOVED, Outcome.REPLACED, Outcome.STRIPPED,
                              Outcome.ALTERED})


@dataclass(frozen=True)
class Box:
    """A rectangle in image pixels: x0, y0 inclusive, x1, y1 exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @classmethod
    def of(cls, values: Iterable) -> Box:
        x0, y0, x1, y1 = (int(round(float(v))) for v in values)
        return cls(x0, y0, x1, y1)

    @property
    def width(self) -> int:
        return max(0, self.x1 - self.x0)

    @property
    def height(self) -> int:
        return max(0, self.y1 - self.y0)

    @property
    def area(self) -> int:
        return self.width * self.height

    def clipped(self, size: tuple[int, int]) -> Box:
        return Box(max(0, self.x0), max(0, self.y0), min(size[0], self.x1), min(size[1], self.y1))

    def padded(self, pad: int, size: tuple[int, int] | None = None) -> Box:
        box = Box(self.x0 - pad, self.y0 - pad, self.x1 + pad, self.y1 + pad)
        return box.clipped(size) if size else box

    def overlaps(self, other: Box) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def overlap_fraction(self, other: Box) -> float:
        """The shared area as a share of the smaller box."""
        shared = Box(max(self.x0, other.x0), max(self.y0, other.y0), min(self.x1, other.x1), min(self.y1, other.y1))
        smaller = min(self.area, other.area) or 1
        return shared.area / smaller

    def inside_fraction(self, size: tuple[int, int]) -> float:
        """How much of the box lies inside an image of ``size``."""
        return self.clipped(size).area / self.area if self.area else 0.0

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x0, self.y0, self.x1, self.y1)

    def as_list(self) -> list[int]:
        return [self.x0, self.y0, self.x1, self.y1]

    def __iter__(self):
        return iter(self.as_tuple())

    def __getitem__(self, index):
        return self.as_tuple()[index]


@dataclass(frozen=True)
class Disclosure:
    """A service's own AI disclosure that is not a TC260 label (Tencent Cloud's, Douyin's JSON, a generator's
    saved parameters): evidence of AI generation in the vendor's words, never a conforming GB 45438 label.
    Shared by the metadata reader and the parameters one (``metadata``, ``parameters``)."""

    vendor: str
    carrier: str
    fields: dict
    says: str  # what it discloses, in words

    def as_record(self) -> dict:
        return {"vendor": self.vendor, "carrier": self.carrier, "fields": self.fields, "says": self.says}


@dataclass
class Evidence:
    """What one reader found of one mark in one image: the typed reading for judges, its JSON record,
    and whether the reading itself failed. Every reader returns this one shape."""

    mark: MarkKind
    key: str  # the field of the inspection record that holds it
    reading: Any = None  # the layer's own typed result (MetadataReport, C2paReport, Detection...)
    record: Any = None  # its JSON form
    error: str | None = None

    @property
    def read(self) -> bool:
        return self.error is None and self.reading is not None


@dataclass
class LabelRecord:
    """What the labeller wrote into one image, mark by mark: the labelling record, typed. ``as_json()`` is
    the JSON Lines record's body (the batch adds input, output and digests)."""

    format: str
    size: tuple[int, int]
    produce_id: str
    encoding: dict
    marks: dict[MarkKind, dict | None]
    lacks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def mark(self, kind: MarkKind) -> dict | None:
        return self.marks.get(kind)

    def box(self, kind: MarkKind) -> Box | None:
        mark = self.marks.get(kind)
        return Box.of(mark["box"]) if mark and mark.get("box") else None

    def as_json(self) -> dict[str, Any]:
        return {"format": self.format, "size": list(self.size), "produce_id": self.produce_id,
                "encoding": self.encoding, "marks": {kind.value: value for kind, value in self.marks.items()},
                "lacks": self.lacks, "notes": self.notes}

    @classmethod
    def from_json(cls, record: dict) -> LabelRecord:
        """A labelling record back from JSON, old spellings included."""
        marks = {mark_kind(name): value for name, value in (record.get("marks") or {}).items()}
        return cls(format=record.get("format", ""), size=tuple(record.get("size") or (0, 0)),
                   produce_id=record.get("produce_id", ""), encoding=record.get("encoding") or {}, marks=marks,
                   lacks=list(record.get("lacks") or []), notes=list(record.get("notes") or []))
