"""Tying a repost to its registered original, with every piece of evidence that could contradict the tie.

Candidates come from the strongest keys first: the ProduceID of the metadata label the file still carries,
the watermark payload (it survives crops), then perceptual hashes. Every candidate must be confirmed by the
picture itself — local-feature geometry that also registers the middle of the frame — and is checked
against the other keys: a watermark or a label naming another original is a disagreement, said in the
match and lowering everything that rests on it. A payload whose original the picture does not match (a
copied or forged mark) gives an unconfirmed match: information only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice

from aimark.labeller import watermark
from aimark.labeller.source import DecodedImage
from aimark.labeller.watermark import WatermarkPayload

from . import geometry, signals
from .registry import Original, Registry


@dataclass
class Match:
    """The registered original a repost was matched to, how, where its pixels went, and what disagrees."""

    original: Original
    by: str  # "label", "watermark" or "hash"
    distances: dict[str, int] | None
    alignment: geometry.Alignment | None
    disagreements: list[str] = field(default_factory=list)
    agreements: list[str] = field(default_factory=list)  # the keys that name this original
    mark: watermark.Confirmation | None = None  # the original's own watermark looked for (``confirm_mark``)
    caveat: str | None = None  # why a match nothing contradicts is not placed

    @property
    def placed(self) -> bool:
        return self.alignment is not None

    @property
    def mark_confirmed(self) -> bool:
        """The picture carries this original's own watermark, though no mark was read blind."""
        return self.mark is not None and self.mark.confirmed

    def as_record(self) -> dict:
        return {"original_id": self.original.id, "produce_id": self.original.produce_id,
                "author_id": self.original.author_id, "path": self.original.path, "by": self.by,
                "hash_distances": self.distances, "agreements": self.agreements,
                "disagreements": self.disagreements, **({"caveat": self.caveat} if self.caveat else {}),
                "alignment": self.alignment.as_record() if self.alignment else None,
                **({"original_watermark": self.mark.as_record()} if self.mark is not None else {})}


def _candidates(image: DecodedImage, payload, produce_id: str | None, registry: Registry):
    seen = set()
    if produce_id:
        for original in registry.by_produce_id(produce_id):
            seen.add(original.id)
            yield original, "label", None
    if payload is not None:
        for original in registry.by_watermark(payload):
            if original.id not in seen:
                seen.add(original.id)
                yield original, "watermark", None
    for id_, distances in registry.nearest(signals.hashes_of(image)):
        if id_ not in seen:
            seen.add(id_)
            yield registry.get(id_), "hash", distances
    if seen:
        return
    # Nothing named an original and no hash was near: the repost may be mirrored or turned, which every hash
    # changes (a --no-watermark original's turned repost was matched to nothing). Its turns are looked up
    # only here, for reposts nothing else ties.
    for transpose in geometry.TRANSPOSES:
        for id_, distances in registry.nearest(signals.hashes_transposed(image, transpose)):
            if id_ not in seen:
                seen.add(id_)
                yield registry.get(id_), "hash", distances


def disagreements(original: Original, payload, produce_id: str | None) -> list[str]:
    """The keys the image carries that name another original than ``original``."""
    found = []
    if payload is not None and original.payload is not None and original.payload.identity != payload.identity:
        found.append(f"its watermark names another original (author {payload.author_id}, content "
                     f"{payload.content_id}) than this one's (content {original.payload.content_id})")
    if payload is not None and not original.watermarked:  # a mark this original never had: put there since
        found.append(f"it carries an aimark watermark (author {payload.author_id}, content {payload.content_id}), "
                     "though this original was labelled without one")
    if produce_id and produce_id != original.produce_id and original.watermarked:
        if original.payload is None or not WatermarkPayload.content_matches(produce_id, original.payload.content_id):
            found.append(f"its metadata label names another ProduceID ({produce_id!r})")
    return found


def find_original(image: DecodedImage, payload, registry: Registry, produce_id: str | None = None,
                  detection=None) -> Match | None:
    """The original ``image`` is a repost of: the first candidate the picture confirms and nothing
    contradicts; else the best confirmed one, with its disagreements; else an unconfirmed watermark match.
    ``detection``: the watermark read in ``image`` (``watermark.Detection``), which places an original whose
    payload it carries where the features cannot (``geometry.placed_by_mark``)."""
    fallback = unplaced = None
    for original, by, distances in _candidates(image, payload, produce_id, registry):
        thumb = original.thumbnail_image()
        alignment = None if thumb is None else geometry.place(thumb, original.size, image, original.mark_boxes)
        placed, alike = alignment is not None, 0
        if (not placed and thumb is not None and detection is not None and detection.payload is not None
                and original.payload is not None and detection.payload.identity == original.payload.identity):
            by_mark = geometry.placed_by_mark(thumb, original.size, detection, image, original.mark_boxes)
            alignment, placed, alike = by_mark.fit, by_mark.fit is not None, by_mark.alike
        if placed:
            agree = [key for key, same in (("label", produce_id == original.produce_id),
                                           ("watermark", payload is not None and original.payload is not None
                                            and payload.identity == original.payload.identity),
                                           ("geometry", True)) if same]
            match = Match(original, by, distances, alignment, disagreements(original, payload, produce_id), agree)
            if not match.disagreements:
                return match
            fallback = fallback or match
        elif alike > 1 and unplaced is None:  # the picture is the original's; where it lies in it is not known
            unplaced = Match(original, by, distances, None, agreements=["watermark"], caveat=(
                f"the picture shows the original at {alike} placements whole watermark tiles apart (it repeats "
                "itself), so where its marks lie cannot be told"))
        elif by in ("watermark", "label") and unplaced is None:
            unplaced = Match(original, by, distances, None,
                             [f"the picture does not match the original its {'watermark' if by == 'watermark' else 'label'} "
                              "names (the mark may be copied or forged)"])
    return fallback or unplaced


# Other registered originals of the same picture whose own watermark is also looked for when the matched
# one's is not found: each informed read adds its false-positive bound (``watermark.confirm``, ~1.2e-8).
SIBLINGS_TRIED = 2


def confirm_mark(match: Match | None, image: DecodedImage, detection, key: bytes | None,
                 registry: Registry | None = None) -> None:
    """Look for the original's own watermark where a repost was tied to it by appearance alone and no mark
    was read blind (``detection``): the case where an ID's removal cannot be told from the unlabelled source
    picture, which looks the same and never showed the ID. Knowing the payload, a platform's resize and
    re-encode leaves enough of the mark to test for it where too little is left to decode it blind
    (``watermark.confirm``); found, the picture is a labelled one, and that doubt is answered. The fit that
    placed the picture also says where the mark lies, so the picture is also read redrawn in the original's
    frame (``watermark.placed_view``): a keystone or a turn the blind synchroniser cannot undo is undone by
    the fit.

    Where the original's own mark is not found, up to SIBLINGS_TRIED other originals of the same picture in
    ``registry`` (the same source labelled again: by its author, or by another who has it too) are asked for
    theirs at the same placement, and one found becomes the match. Measured (a throwaway probe, four
    pictures each labelled by two authors, honest reposts the blind read missed): a WebP 50 and a denoised
    repost of the second author's picture were matched to the first's original, and showed "the repost
    shows '小红书号：2222222222'" where it had 'ID：1111111111' — "replaced", at low only because nothing
    confirmed the match."""
    if (match is None or match.by != "hash" or not match.placed or match.original.payload is None
            or (detection is not None and detection.payload is not None)):
        return

    def own_mark(original: Original) -> watermark.Confirmation:
        return watermark.confirm_image(image, original.watermark_layouts(), key,
                                       placed=match.alignment.matrix, original_size=original.size)

    match.mark = own_mark(match.original)
    if not match.mark.confirmed:  # the other originals are looked up only then
        for sibling, distances in islice(_siblings(match, image, registry), SIBLINGS_TRIED):
            mark = own_mark(sibling)
            if mark.confirmed:
                match.original, match.distances, match.mark = sibling, distances, mark
                break
    if match.mark.confirmed:
        match.agreements.append("watermark (its own bits, z %.1f)" % match.mark.z)


def _siblings(match: Match, image: DecodedImage, registry: Registry | None):
    """(original, distances) of the other originals near ``image``'s hashes, of the matched one's size and
    with a watermark: the same placement holds for them."""
    if registry is None:
        return
    for id_, distances in registry.nearest(signals.hashes_of(image), limit=SIBLINGS_TRIED + 1):
        original = registry.get(id_) if id_ != match.original.id else None
        if original is not None and original.payload is not None and original.size == match.original.size:
            yield original, distances
