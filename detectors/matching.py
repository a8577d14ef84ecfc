"""Tying a repost to its registered original: the watermark payload first (it survives crops), then
perceptual hashes; local-feature geometry confirms either and says where the original's pixels went."""

from __future__ import annotations

from dataclasses import dataclass

from aimark.labeller.source import DecodedImage

from . import geometry, signals
from .registry import Original, Registry


@dataclass
class Match:
    """The registered original a repost was matched to, how, and where its pixels went."""

    original: Original
    by: str  # "watermark" or "hash"
    distances: dict[str, int] | None
    alignment: geometry.Alignment | None

    @property
    def placed(self) -> bool:
        return self.alignment is not None

    def as_record(self) -> dict:
        return {"original_id": self.original.id, "produce_id": self.original.produce_id,
                "author_id": self.original.author_id, "path": self.original.path, "by": self.by,
                "hash_distances": self.distances,
                "alignment": self.alignment.as_record() if self.alignment else None}


def find_original(image: DecodedImage, payload, registry: Registry) -> Match | None:
    """The original ``image`` is a repost of, or None."""
    candidates: list[tuple[Original, str, dict | None]] = []
    if payload is not None:
        candidates += [(o, "watermark", None) for o in registry.by_watermark(payload)]
    if not candidates:
        for id_, distances in registry.nearest(signals.hashes_of(image)):
            candidates.append((registry.get(id_), "hash", distances))
    for original, by, distances in candidates:
        thumb = original.thumbnail_image()
        alignment = geometry.align(thumb, original.size, image) if thumb is not None else None
        if alignment is not None and alignment.confirmed and (
                geometry.registration(thumb, original.size, alignment, image) >= geometry.MIN_REGISTRATION):
            return Match(original, by, distances, alignment)
        if by == "watermark":  # an exact payload is a match even when geometry cannot place it
            return Match(original, by, distances, None)
    return None
