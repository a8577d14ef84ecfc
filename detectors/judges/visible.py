"""The visible marks. With a placed original: was each of its marks cropped out, removed, replaced, or is it
there? Without one: what the edge strips show, checked against the watermark's author."""

from __future__ import annotations

from dataclasses import replace
from difflib import SequenceMatcher

import cv2
import numpy as np
from PIL import Image

from aimark.labeller import visible, watermark
from aimark.labeller.vocabulary import Box, Confidence, FindingKind, MarkKind, Outcome

from .. import geometry, windows
from ..findings import Finding
from ..readers import VisibleReader
from .base import Case, Judge, as_information

# A mapped mark box that keeps less than this share inside the frame was cropped out; one that keeps
# less than WHOLE_INSIDE is cut by the frame, which alone is no evidence of a removal.
CROPPED_BELOW = 0.5
WHOLE_INSIDE = 0.98
# Around a mapped box, how much context OCR reads (in box heights), to absorb geometry error.
BOX_CONTEXT = 0.6
# OCR confidence needed to say a mark is there, and to say a *different* ID replaced it: blurred text is
# read with low confidence and often as near-miss digits, which must count as removed, not replaced.
PRESENT_SCORE = 0.6
REPLACED_SCORE = 0.9
REPLACED_MAX_SIMILARITY = 0.5
# A mark's region was edited when its likeness to the original's own pixels falls below ALTERED_BELOW, or
# when it keeps less than BLURRED_BELOW of the original's detail relative to its surroundings. Measured by
# ``bench/false_accusations.py`` on the 20 corpus photos (3,118 marks still there in every benign repost
# of the grid, 100 author IDs erased, blurred, covered or cloned): there, likeness >= 0.78 (a 2% keystone)
# and detail kept >= 0.54 (a blurred repost); taken, likeness <= 0.25 and detail kept <= 0.19.
ALTERED_BELOW = 0.5
BLURRED_BELOW = 0.3
# The watermark, when its payload is read, says how the repost is turned and whether it is mirrored: its
# pilot picks one of the tile's eight symmetries and a wrong pick leaves no payload to pass the CRC. A
# feature fit that turns or mirrors the original otherwise has put the original's content where it
# matches, but not its marks: a picture symmetric under that turn or mirror matches itself both ways, and
# the marks, the one asymmetric thing in it, are then looked for where they are not. Measured
# (``bench/false_accusations.py`` on held-out pictures): a mirrored Shepp-Logan phantom, fitted unmirrored,
# had both marks called removed at high confidence. Agreeing fits differ by under a degree (a 10-degree
# turn: 0.1); a fit within GEOMETRY_AGREES_DEG of the watermark's is the same geometry.
GEOMETRY_AGREES_DEG = 10.0
# OCR reads lines near the horizontal: a mark the repost shows mirrored, or turned by this much or more, is
# read in the original's own frame instead, the repost's pixels around it brought back upright by the fit.
# Measured (a throwaway scan of turned and mirrored honest reposts): read as the repost shows them, the
# marks were read at 30 degrees but not at 90, 180 or 270 nor mirrored ("present" at medium at best), and a
# poster's caption printed upside down, '138 0013 8000', was read as the ID '38 00T38000': replaced, at high.
# 20: under the 30 where reading the mark as it stands still worked; over a tilted photo's few degrees,
# whose reads the tuned thresholds were measured on.
UPRIGHT_FROM_DEG = 20.0
MARKS = (MarkKind.VISIBLE_LABEL, MarkKind.AUTHOR_ID)
READER = VisibleReader()
EDGE_READER = VisibleReader(where="edges")


def geometry_doubt(case: Case) -> str | None:
    """Why the watermark contradicts the feature fit's geometry (mirrored, or turned otherwise), or None when
    it agrees or says nothing (no payload read; a turn is compared only where no perspective was undone)."""
    detection = case.inspection.watermark
    if detection is None or detection.payload is None or detection.lattice is None or detection.alignment is None:
        return None
    # the fit maps the original's pixels into the repost, the watermark the repost's onto the original's
    # upright tile (the embedder's frame: the original's pixels, scaled): together, a plain scale when they agree
    relative = case.match.alignment.matrix[:2, :2] @ watermark.to_upright(detection.lattice, detection.alignment)
    if np.linalg.det(relative) < 0:
        seen = "a mirror image of" if detection.mirrored else "unmirrored from"
        return (f"the watermark reads the repost as {seen} the labelled picture and the feature fit does not: a "
                "picture that matches itself mirrored, whose marks the fit cannot place")
    turn = float(np.degrees(np.arctan2(relative[1, 0], relative[0, 0])))
    if detection.perspective is None and abs(turn) > GEOMETRY_AGREES_DEG:
        return (f"the watermark reads the repost turned {abs(turn):.0f} degrees from where the feature fit puts it: "
                "a picture that matches itself turned, whose marks the fit cannot place")
    return None


def _geometry_evidence(alignment: geometry.Alignment) -> str:
    if alignment.by == "watermark":
        return "geometry: placed by the watermark's lattice (the features could not place it)"
    return f"geometry: {alignment.inliers} feature inliers"


def _shows(mark: visible.FoundMark, kind: MarkKind, author_id: str | None) -> bool:
    """Whether an OCR'd line is the mark sought: an AI label in GB 45438's words (one in other words, such as
    'AI generated', painted where the original's was, does not stand for it), or the original's author ID
    (``author_id``; None, when the original's ID cannot be told, matches no line — not every line that
    carries no ID)."""
    if kind == MarkKind.VISIBLE_LABEL:
        return mark.in_label_words
    return visible.shows_author_id(mark.text, author_id)


def _sought_id(case: Case, kind: MarkKind, words: str | None) -> str | None:
    """The ID the original's author mark shows: the registry's, else read from the mark's words (rows that
    kept no author ID). Digits or words alike: platform IDs such as ``studio_ada`` are not numbers."""
    if kind != MarkKind.AUTHOR_ID:
        return None
    return case.match.original.author_id or (visible.looks_like_author_id(words) if words else None)


def _read_at_edges(case: Case, kind: MarkKind, words: str) -> list[visible.FoundMark]:
    """The original's mark wherever OCR reads it in the repost's edge strips (read once per scan; the edge
    judge stays silent when an original is placed). A mark read there contradicts a fit that puts it
    elsewhere: the fit is off (measured: ImageMagick's sideways 4% keystone of a near-black picture, fitted
    by a similarity on 25 of 57 matches, put the author ID 30-70 px left of where it stood, and OCR around
    that place read only part of it — "removed" at high, though the edge strips read it whole). A repost
    the fit shows turned by quarter turns or mirrored is also read turned back (``_upright_edges``): OCR
    reads lines near the horizontal, and an off fit does not make the turn itself wrong."""
    if case.visible is None:
        case.visible = EDGE_READER.read(case.image, case.options).reading
        case.visible += _upright_edges(case)
    author_id = _sought_id(case, kind, words)
    return [m for m in case.visible if m.score >= PRESENT_SCORE and _shows(m, kind, author_id)]


def _upright_edges(case: Case) -> list[visible.FoundMark]:
    """OCR of the edge strips of the repost turned back upright by the quarter turn or mirror nearest the
    fit's (boxes in the repost's pixels); none when the fit shows it upright or no original is placed."""
    match = case.match
    if match is None or match.alignment is None or case.options.ocr is None:
        return []
    linear, size = match.alignment.matrix[:2, :2], case.image.size
    # the transpose that brings the original's axes closest to upright: the largest positive diagonal
    best = max(geometry.TRANSPOSES, key=lambda op: np.trace(geometry.transposed(op, size)[:2, :2] @ linear))
    if np.trace(geometry.transposed(best, size)[:2, :2] @ linear) <= np.trace(linear):
        return []  # shown upright already, or turned by about 45 degrees, which no quarter turn helps
    turned = case.image.rgb.transpose(best)
    back = np.linalg.inv(geometry.transposed(best, size))
    reads = windows.read_edges(turned, case.options.ocr)
    return [replace(m, box=geometry.map_box(back, m.box)) for m in reads]


def different_id(mark: visible.FoundMark, expected: str | None) -> bool:
    """A clearly read ID that is not a misreading of ``expected`` (compared without the case, spaces and
    underscores OCR confuses: "xhs ada 8B" is a misreading of xhs_ada_88, not another ID)."""
    if not mark.author_id or mark.score < REPLACED_SCORE or expected is None:
        return False
    return not _alike(mark.author_id, expected)


def _alike(one: str, other: str) -> bool:
    """Two IDs as read that may be one ID, some characters misread or cut off."""
    likeness = SequenceMatcher(None, visible.id_key(one), visible.id_key(other)).ratio()
    return likeness >= REPLACED_MAX_SIMILARITY


class Frame:
    """Where a placed original's mark is read: in the repost as it is, or — when the repost shows the original
    mirrored or turned by UPRIGHT_FROM_DEG or more — in the original's own frame at the repost's scale, the
    repost's pixels brought back upright by the fit (``alignment``, original -> repost)."""

    def __init__(self, alignment: geometry.Alignment, upright: bool, to_frame: np.ndarray,
                 size: tuple[int, int]):
        self.alignment, self.upright = alignment, upright
        self.to_frame, self.size = to_frame, size  # to_frame: original -> frame

    @classmethod
    def of(cls, alignment: geometry.Alignment, original_size: tuple[int, int], repost_size: tuple[int, int]):
        linear = alignment.matrix[:2, :2]
        turned = np.linalg.det(linear) < 0 or abs(alignment.rotation_deg) >= UPRIGHT_FROM_DEG
        if not turned:
            return cls(alignment, False, alignment.matrix, repost_size)
        scale = alignment.scale
        size = (max(1, round(original_size[0] * scale)), max(1, round(original_size[1] * scale)))
        return cls(alignment, True, np.diag([scale, scale, 1.0]), size)

    def box(self, original_box: Box) -> Box:
        """An original-pixel box in this frame."""
        return Box.of(geometry.map_box(self.to_frame, original_box.as_tuple()))

    def read(self, case, region: Box, glyph: float) -> list[visible.FoundMark]:
        """What OCR reads over ``region`` (in this frame), with boxes in the repost's pixels."""
        if not self.upright:
            return READER.read_at(case.image, [region], case.options, [glyph])
        to_frame = self.to_frame @ np.linalg.inv(self.alignment.matrix)  # repost -> frame
        reads = _rendered_reads(case.image.rgb, to_frame, region, case.options.ocr, glyph) or []  # too small
        shift = np.array([[1, 0, region.x0], [0, 1, region.y0], [0, 0, 1]], dtype=np.float64)
        back = self.alignment.matrix @ np.linalg.inv(self.to_frame) @ shift  # the region's pixels -> repost
        return [replace(m, box=geometry.map_box(back, m.box)) for m in reads]

    def original_reads(self, case, reference, to_original, region: Box, glyph: float) -> list | None:
        """What OCR reads in the original's own pixels (``reference``, ``to_original``: its pixels -> the
        original's) brought into this frame over ``region``: shown as this frame shows the repost's (upside
        down, shrunk), so misread as they are; None where the region is too small to read either way."""
        return _rendered_reads(np.asarray(reference.convert("RGB")), self.to_frame @ to_original, region,
                               case.options.ocr, glyph)


def _rendered_reads(pixels, to_frame: np.ndarray, region: Box, ocr, glyph: float) -> list | None:
    """OCR of ``pixels`` drawn into a frame by ``to_frame`` (3x3), over ``region`` of that frame; boxes in the
    region's pixels. None where the region is too small to read."""
    x0, y0, x1, y1 = region.as_tuple()
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], dtype=np.float64)
    rendered = cv2.warpPerspective(np.asarray(pixels), shift @ to_frame, (x1 - x0, y1 - y0),
                                   borderMode=cv2.BORDER_REPLICATE)
    picture = Image.fromarray(rendered)
    return windows.read_region(picture, (0, 0, picture.width, picture.height), ocr, glyph)


class PlacedMarksJudge(Judge):
    """With a confirmed original whose geometry maps its mark boxes into the repost.

    A mark is *cropped* when the geometry puts its box outside the frame and OCR (when on) does not read it
    at the repost's edges. A mark is *removed* only when four things agree: its box lies whole inside the
    frame, OCR reads no such text there, the pixels there are no longer the original's, and OCR reads the
    mark nowhere at the repost's edges (a fit that is off puts the box beside the mark). OCR reading the
    expected words where the mark should be is a mark that is there, whatever the pixels' likeness says (an
    edit beside it, a re-encode, a resize): at most a note. A mark the repost's frame cuts through is not a
    removal unless the frame cut most of it away. Another ID read there is a *replacement* only if OCR does
    not read it in the original's own pixels placed as the repost's (``Frame.original_reads``), and, where
    the pixels are still alike, reads a clearly other ID there. A mark the repost shows mirrored or turned
    is read upright, in the original's frame (``Frame``)."""

    def judge(self, case: Case) -> list[Finding]:
        match = case.match
        if match is None or match.alignment is None or case.image.error:
            return []
        findings = []
        size = case.image.size
        rests = ("registry match by " + match.by, _geometry_evidence(match.alignment))
        if match.mark_confirmed:
            rests += (f"the original's own watermark (an informed read, z {match.mark.z:.1f})",)
        ocr = case.options.ocr
        for kind in MARKS:
            original_box = match.original.box(kind)
            if original_box is None:
                continue
            words = match.original.words(kind)
            mapped = Box.of(match.alignment.map_box(original_box))
            inside = mapped.inside_fraction(size)
            clipped = mapped.clipped(size)
            if inside < CROPPED_BELOW:
                findings.append(self._cropped(case, kind, words, inside, clipped, original_box, rests))
                continue
            if ocr is None:
                continue  # fast mode: no OCR, so no claim about whether the mark is still there
            findings.append(self._judge_mark(case, kind, words, clipped, inside, original_box, rests))
        doubt = geometry_doubt(case) if any(f.removal and f.confidence > Confidence.LOW for f in findings) else None
        return findings if doubt is None else as_information(findings, doubt, ("watermark geometry",))

    @staticmethod
    def _cropped(case, kind, words, inside, clipped, original_box, rests) -> Finding:
        """A mark whose box the geometry puts (mostly) outside the repost's frame. What could contradict it is
        the mark still showing: a fit that cannot follow the repost's warp lands boxes off the frame. So with
        OCR, the repost's edge strips are read first, and the mark found there is no crop at all."""
        if case.options.ocr is not None:
            seen = _read_at_edges(case, kind, words)
            if seen:
                return Finding(FindingKind.of(kind, Outcome.PRESENT), Confidence.MEDIUM,
                               f"the fitted geometry puts the original's {kind.words} {words!r} outside the "
                               f"frame ({inside:.0%} of its box inside), but OCR reads it at the repost's edge: "
                               f"{seen[0].text!r} — the fit is off there, so no crop is claimed",
                               rests + ("OCR",), Box.of(seen[0].box), original_box)
            rests = rests + ("OCR: not at the repost's edges",)
        return Finding(FindingKind.of(kind, Outcome.CROPPED), Confidence.HIGH,
                       f"the original's {kind.words} {words!r} lay where the repost was cut off "
                       f"({inside:.0%} of its box remains in the frame)", rests, clipped, original_box)

    def _judge_mark(self, case, kind, words, clipped, inside, original_box, rests) -> Finding:
        match = case.match
        frame = Frame.of(match.alignment, match.original.size, case.image.size)
        box = frame.box(original_box)
        region = box.padded(int(BOX_CONTEXT * box.height) + 4, frame.size)  # the mark and some context
        glyph = max(6.0, box.height * 0.55)
        read = frame.read(case, region, glyph)
        case.read_at_marks += [m for m in read if m.kind != visible.OTHER_TEXT]
        author_id = _sought_id(case, kind, words)
        present = [m for m in read if _shows(m, kind, author_id) and m.score >= PRESENT_SCORE]
        others = [m for m in read if different_id(m, author_id)] if kind == MarkKind.AUTHOR_ID else []
        reference, to_original, box, _ = match.original.reference(kind, original_box)
        compared = geometry.region_similarity(reference, to_original, match.alignment, case.image, box)
        likeness = (f"similarity to the original's pixels {compared.similarity:.2f}, "
                    f"detail kept {compared.detail_kept:.2f}")
        evidence = rests + ("OCR", likeness)
        altered = compared.similarity < ALTERED_BELOW or compared.detail_kept < BLURRED_BELOW
        if present:
            note = (f" (the pixels around it differ from the original's — {likeness} — an edit near the mark, "
                    "not its removal)") if altered else ""
            return Finding(FindingKind.of(kind, Outcome.PRESENT), Confidence.HIGH,
                           f"the original's {kind.words} is still there: {present[0].text!r}{note}", evidence,
                           Box.of(present[0].box), original_box)
        if inside < WHOLE_INSIDE:
            return Finding(FindingKind.of(kind, Outcome.CROPPED), Confidence.LOW,
                           f"the repost's frame cuts through the original's {kind.words} {words!r} ({inside:.0%} of "
                           "its box remains) and OCR cannot read what remains: an ordinary crop, information only",
                           evidence, clipped, original_box)
        # Another ID read there is checked against the original's own pixels, placed as the repost's and
        # read by OCR the same way (``Frame.original_reads``):
        # - an ID they show too is the original's own text, whoever removed the mark: a poster's caption
        #   printed a phone number just above the author ID, and with the ID erased OCR read '00138000'
        #   there ("replaced", at high);
        # - where the pixels are still alike, another ID is a replacement only when they read as a clearly
        #   other ID: flipped upside down, a near-white poster's untouched 'ID：xhs_ada_88' was read as
        #   'ID: xµ2~gqg~88' at a score over REPLACED_SCORE (likeness 0.95), while a plate repainted with
        #   another ID keeps its name and ground, so stays alike as a whole (0.77).
        own = frame.original_reads(case, reference, to_original, region, glyph) if others else []
        theirs = [m for m in others
                  if any(o.author_id and _alike(m.author_id, o.author_id) for o in own or ())]
        if own is not None and others:  # None: the region too small to read the original's pixels there
            evidence += ("OCR of the original's pixels",)
        others = [m for m in others if m not in theirs]
        also = f" (only {theirs[0].text!r}, which the original itself shows there)" if theirs else ""
        misread = bool(others) and not altered and (
            own is None or not any(o.author_id and different_id(others[0], o.author_id) for o in own))
        if not altered and (not others or misread):  # OCR could not confirm it, or misread it
            said = (f"; OCR reads {others[0].text!r} there, but no other ID in the original's own "
                    "pixels placed as the repost's: a misreading" if others
                    else f", though OCR could not read it whole{also}")
            return Finding(FindingKind.of(kind, Outcome.PRESENT), Confidence.MEDIUM,
                           f"the original's {kind.words} {words!r} looks untouched here ({likeness}){said}",
                           evidence, clipped, original_box)
        # before either accusation (replaced, removed): the mark read anywhere at the repost's edges says the
        # fit is off where it looked
        seen = _read_at_edges(case, kind, words)
        if seen:
            return Finding(FindingKind.of(kind, Outcome.PRESENT), Confidence.MEDIUM,
                           f"where the fitted geometry puts the original's {kind.words} {words!r}, OCR reads "
                           f"{repr(others[0].text) if others else 'no such text'} ({likeness}), but it reads the mark "
                           f"elsewhere at the repost's edge: {seen[0].text!r} — the fit is off there, so neither a "
                           "removal nor a replacement is claimed", rests + ("OCR", "OCR at the edges", likeness),
                           Box.of(seen[0].box), original_box)
        if others:
            return Finding(FindingKind.AUTHOR_ID_REPLACED, Confidence.HIGH,
                           f"where the original showed {words!r}, the repost shows {others[0].text!r}",
                           evidence, clipped, original_box)
        elsewhere = self._there_otherwise(case, kind, original_box)
        if elsewhere is not None:
            how, there = elsewhere
            return Finding(FindingKind.of(kind, Outcome.REMOVED), Confidence.LOW,
                           f"the original's {kind.words} {words!r} is not where the fit puts it ({likeness}), but the "
                           f"picture also fits its original {how}, and there the mark is (similarity "
                           f"{there.similarity:.2f}, detail kept {there.detail_kept:.2f}): a picture that is its own "
                           "image that way, whose marks the features cannot place", evidence + ("symmetric fit",),
                           clipped, original_box)
        return Finding(FindingKind.of(kind, Outcome.REMOVED), Confidence.HIGH,
                       f"the original's {kind.words} {words!r} was inside the frame here, OCR reads no such "
                       f"text{also}, and the pixels there are no longer the original's ({likeness}): erased, "
                       "blurred or covered",
                       evidence, clipped, original_box)

    @staticmethod
    def _there_otherwise(case, kind, original_box):
        """(how, comparison) when the picture also fits its original under one of its own symmetries and the
        mark's pixels are the original's there: what contradicts a removal on a picture that is its own
        mirror image (a mirrored repost of it fits unmirrored; its marks are then on the other side). Sought
        only before an accusation, so it costs nothing on the reposts that draw none."""
        match = case.match
        if case.symmetric_fits is None:
            thumbnail = match.original.thumbnail_image()
            case.symmetric_fits = [] if thumbnail is None else geometry.symmetric_fits(
                thumbnail, match.original.size, match.alignment, case.image, match.original.mark_boxes)
        reference, to_original, box, _ = match.original.reference(kind, original_box)
        for how, fit in case.symmetric_fits:
            if Box.of(fit.map_box(original_box)).inside_fraction(case.image.size) < WHOLE_INSIDE:
                continue
            there = geometry.region_similarity(reference, to_original, fit, case.image, box)
            if there.similarity >= ALTERED_BELOW and there.detail_kept >= BLURRED_BELOW:
                return how, there
        return None


class EdgeMarksJudge(Judge):
    """Without a placed original: the edge strips, against what the watermark says should be there."""

    def judge(self, case: Case) -> list[Finding]:
        if case.visible is None or (case.match is not None and case.match.alignment is not None):
            return []
        findings = []
        payload = case.payload
        labels = [m for m in case.visible if m.kind == MarkKind.VISIBLE_LABEL]
        for mark in labels:
            kind = FindingKind.VISIBLE_LABEL_PRESENT if mark.check.compliant else FindingKind.VISIBLE_LABEL_NONCOMPLIANT
            detail = "complies" if mark.check.compliant else "does not comply: " + "; ".join(mark.check.problems)
            whose = f" ({mark.generator}'s mark)" if mark.generator else ""
            findings.append(Finding(kind, Confidence.HIGH, f"visible AI label {mark.text!r}{whose} {detail}",
                                    ("OCR",), Box.of(mark.box)))
        authors = [m for m in case.visible if m.kind == MarkKind.AUTHOR_ID]
        if payload is not None and payload.author_id != watermark.NO_AUTHOR:
            # any line whose words hold the payload's author, whatever its template ("by xhs_ada_88")
            shown = [m for m in case.visible if m.score >= PRESENT_SCORE
                     and any(payload.matches_author(word) for word in visible.id_words(m.text))]
            # a text ID is carried as its hash: a read one letter off cannot be told from another ID
            hashed = payload.author_id.startswith(watermark.HASHED_PREFIX)
            others = [m for m in authors
                      if (m.score >= REPLACED_SCORE if hashed else different_id(m, payload.author_id))]
            if shown:
                findings.append(Finding(FindingKind.AUTHOR_ID_PRESENT, Confidence.HIGH,
                                        f"visible author ID {shown[0].text!r} matches the watermark's author",
                                        ("OCR", "watermark payload"), Box.of(shown[0].box)))
            elif others:  # the watermark alone names the author: information only
                how = (f"does not hash to the watermark's author {payload.author_id} (another ID, or misread)"
                       if hashed else f"is not the watermark's author {payload.author_id}")
                findings.append(Finding(FindingKind.AUTHOR_ID_REPLACED, Confidence.LOW,
                                        f"the visible ID {others[0].text!r} {how}",
                                        ("OCR", "watermark payload"), Box.of(others[0].box)))
            else:
                findings.append(self._missing(case, "author-id", FindingKind.AUTHOR_ID_REMOVED,
                                              f"the watermark names author {payload.author_id} but no author ID is "
                                              "visible in the corners"))
        if payload is not None and not any(mark.in_label_words for mark in labels):
            findings.append(self._missing(case, "visible-label", FindingKind.VISIBLE_LABEL_REMOVED,
                                          "the image carries an aimark watermark but no visible AI label "
                                          "in GB 45438's words is in its corners or edges"))
        return findings

    @staticmethod
    def _missing(case: Case, region_name: str, kind: FindingKind, what: str) -> Finding:
        """A mark the watermark says was drawn and OCR does not see — with, when the payload carries the
        layout, what the watermark's map shows where it was drawn: gone there alone (painted over, cloned or
        replaced) or still there (the place was cut off, or the mark never shown). Low confidence either way:
        an open-key mark alone can be forged, and a platform's own overlay also covers the mark locally."""
        localisation = case.inspection.watermark.localisation
        region = localisation.region(region_name) if localisation is not None else None
        if region is None:
            return Finding(kind, Confidence.LOW, what + " (cropped, erased, or never shown: no original to compare)",
                           ("watermark payload", "OCR"))
        where = f"the {region.position} {'corner' if '-' in region.position else 'edge'}"
        if region.lost:
            return Finding(kind, Confidence.LOW,
                           f"{what}; the watermark's layout puts it at {where}, and there alone the watermark the rest "
                           f"of the picture carries is gone (z {region.z:.1f}, against >= {region.expected_z:.1f} in "
                           "90% of the picture's regions of that size): painted over, cloned or replaced there — by "
                           "the uploader or by a platform's own overlay; a watermark alone is information only",
                           ("watermark payload", "watermark map", "OCR"), Box.of(region.box))
        if region.kept:
            state = f"the watermark is still there (z {region.z:.1f}): the place was cut off or the mark never shown"
        elif region.judged:
            state = (f"the watermark is much weaker than elsewhere (z {region.z:.1f}, against >= "
                     f"{region.expected_z:.1f}) but not gone, so it cannot tell what happened there")
        else:
            state = "the watermark cannot tell what happened there"
        return Finding(kind, Confidence.LOW, f"{what}; the watermark's layout puts it at {where}, where {state} "
                       "(no original to compare)", ("watermark payload", "watermark map", "OCR"), Box.of(region.box))
