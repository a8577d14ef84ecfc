"""Scanning a repost: evidence from every layer, findings that say what survived and what was removed,
and a verdict in GB 45438 terms — each finding stating how sure it is and what it rests on.

A scan never accuses on weak evidence. "Removed" findings with high confidence need the original: a
registry match (by watermark payload, or by perceptual hash) confirmed by local-feature geometry, which
maps the original's mark boxes into the repost. Without an original the scan still reports what the
file carries, and what its watermark says should be there, at lower confidence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher

from PIL import Image

from aimark.labeller import metadata, visible, watermark
from aimark.labeller.c2pa import DEFAULT_TRUST
from aimark.labeller.errors import AimarkError, input_guard
from aimark.labeller.image_io import Source, read_source

from . import geometry, signals, windows
from .inspect import Inspection, inspect_bytes
from .registry import Original, Registry

# A mapped mark box that keeps less than this share inside the frame was cropped out.
CROPPED_BELOW = 0.5
# Around a mapped box, how much context OCR reads (in box heights), to absorb geometry error.
BOX_CONTEXT = 0.6
# OCR confidence needed to say a mark is there, and to say a *different* ID replaced it: blurred text is
# read with low confidence and often as near-miss digits, which must count as removed, not replaced.
PRESENT_SCORE = 0.6
REPLACED_SCORE = 0.9
REPLACED_MAX_SIMILARITY = 0.5
# A mark's region was edited when its likeness to the original's own pixels falls below ALTERED_BELOW
# (measured on the corpus: intact reposts >= 0.85, erased or covered <= 0.14), or when it keeps less than
# BLURRED_BELOW of the original's detail relative to its surroundings (intact >= 0.51, blurred <= 0.11).
ALTERED_BELOW = 0.5
BLURRED_BELOW = 0.3

REMOVAL_KINDS = {
    "visible-label-cropped", "visible-label-removed", "author-id-cropped", "author-id-removed",
    "author-id-replaced", "metadata-stripped", "metadata-altered", "c2pa-stripped", "c2pa-tampered",
}


@dataclass(frozen=True)
class Finding:
    """One statement about the image, with its confidence and the evidence it rests on."""

    kind: str
    confidence: str  # "high", "medium" or "low"
    summary: str
    rests_on: tuple[str, ...]
    box: tuple[int, int, int, int] | None = None  # where, in the repost
    original_box: tuple[int, int, int, int] | None = None  # where, in the original

    @property
    def removal(self) -> bool:
        return self.kind in REMOVAL_KINDS

    def as_record(self) -> dict:
        return {"kind": self.kind, "removal": self.removal, "confidence": self.confidence, "summary": self.summary,
                "rests_on": list(self.rests_on), "box": list(self.box) if self.box else None,
                "original_box": list(self.original_box) if self.original_box else None}


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


@dataclass
class Match:
    """The registered original a repost was matched to, how, and where its pixels went."""

    original: Original
    by: str  # "watermark" or "hash"
    distances: dict[str, int] | None
    alignment: geometry.Alignment | None

    def as_record(self) -> dict:
        return {"original_id": self.original.id, "produce_id": self.original.produce_id,
                "author_id": self.original.author_id, "path": self.original.path, "by": self.by,
                "hash_distances": self.distances,
                "alignment": self.alignment.as_record() if self.alignment else None}


@dataclass
class ScanResult:
    """Everything a scan found in one image. ``as_record()`` is its JSON form."""

    path: str
    inspection: Inspection
    visible: list[visible.FoundMark] | None = None
    match: Match | None = None
    findings: list[Finding] = field(default_factory=list)
    verdict: Verdict = field(default_factory=lambda: Verdict("none", "nothing was read"))
    seconds: float = 0.0

    @property
    def removals(self) -> list[Finding]:
        return [f for f in self.findings if f.removal]

    @property
    def error(self) -> str | None:
        return self.inspection.error

    def as_record(self) -> dict:
        record = self.inspection.as_record()
        record.update({
            "visible": [m.as_record() for m in self.visible] if self.visible is not None else None,
            "match": self.match.as_record() if self.match else None,
            "findings": [f.as_record() for f in self.findings],
            "removal_found": bool(self.removals),
            "verdict": self.verdict.as_record(),
            "seconds": round(self.seconds, 4),
        })
        return record


# --- the scan -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScanOptions:
    """What a scan reads. ``ocr`` is an ``aimark.models.OcrEngine`` (None: the fast mode, no OCR)."""

    ocr: object | None = None
    registry: Registry | None = None
    trust_anchors: str | None = DEFAULT_TRUST  # your own ca.pem, as the CLI; None: no anchors; or PEM text
    watermark_key: bytes | None = None
    declared_ai: bool = False


def scan(image: Source, options: ScanOptions | None = None, name: str = "") -> ScanResult:
    """Scan one image (encoded bytes, a path or a binary file object). Never raises for a bad image: the
    result says why; an unreadable path raises ``AimarkError``."""
    options = options or ScanOptions()
    started = time.perf_counter()
    image, name = read_source(image, name or None)
    inspection = inspect_bytes(image, name, trust_anchors=options.trust_anchors,
                               watermark_key=options.watermark_key)
    result = ScanResult(path=name, inspection=inspection)
    pixels = inspection.pixels.convert("RGB") if inspection.pixels is not None else None
    try:
        with input_guard("this image"):
            if pixels is not None:
                if options.registry is not None:
                    result.match = _match(pixels, inspection, options.registry)
                placed = result.match is not None and result.match.alignment is not None
                if options.ocr is not None and not placed:  # with an original, OCR reads just where its marks went
                    result.visible = windows.read_edges(pixels, options.ocr)
            result.findings = _findings(result, pixels, options)
            result.verdict = _verdict(result, options)
    except AimarkError as exc:
        inspection.error = str(exc)
    result.seconds = time.perf_counter() - started
    return result


def _match(pixels: Image.Image, inspection: Inspection, registry: Registry) -> Match | None:
    """Watermark payload first (survives crops), then perceptual hashes; geometry confirms either."""
    payload = inspection.watermark.payload if inspection.watermark else None
    candidates: list[tuple[Original, str, dict | None]] = []
    if payload is not None:
        candidates += [(o, "watermark", None) for o in registry.by_watermark(payload)]
    if not candidates:
        for id_, distances in registry.nearest(signals.hashes(pixels)):
            candidates.append((registry.get(id_), "hash", distances))
    for original, by, distances in candidates:
        thumb = original.thumbnail_image()
        alignment = geometry.align(thumb, original.size, pixels) if thumb is not None else None
        if alignment is not None and alignment.confirmed and (
                geometry.registration(thumb, original.size, alignment, pixels) >= geometry.MIN_REGISTRATION):
            return Match(original, by, distances, alignment)
        if by == "watermark":  # an exact payload is a match even when geometry cannot place it
            return Match(original, by, distances, None)
    return None


# --- findings -------------------------------------------------------------------------------------------

def _read_box(pixels: Image.Image, box, reader, glyph_px: float) -> list[visible.FoundMark]:
    x0, y0, x1, y1 = box
    pad = int(BOX_CONTEXT * (y1 - y0)) + 4
    region = (max(0, x0 - pad), max(0, y0 - pad), min(pixels.width, x1 + pad), min(pixels.height, y1 + pad))
    if region[2] - region[0] < 8 or region[3] - region[1] < 8:
        return []
    return windows.read_region(pixels, region, reader, glyph_px)


def _source_copy_doubt(result: ScanResult) -> str | None:
    """Why a hash-only match may be the unlabelled source picture rather than a stripped repost: the
    original was watermarked, and a repost keeps the watermark, but none was found here."""
    match = result.match
    payload = result.inspection.watermark.payload if result.inspection.watermark else None
    if match is not None and match.by == "hash" and match.original.watermarked and payload is None:
        return ("matched by appearance only and no watermark was found, though the original carried one: this may "
                "be the unlabelled source picture rather than a repost")
    return None


def _mark_findings(result: ScanResult, pixels: Image.Image, reader) -> list[Finding]:
    """With a confirmed original: was each of its visible marks cropped out, removed, or is it there?"""
    match = result.match
    findings = []
    rests = ("registry match by " + match.by, f"geometry: {match.alignment.inliers} feature inliers")
    for kind, label in (("visible_label", "visible-label"), ("author_mark", "author-id")):
        original_box = match.original.box(kind)
        if original_box is None:
            continue
        words = match.original.marks[kind]["text"]
        mapped = match.alignment.map_box(original_box)
        inside = geometry.visible_fraction(mapped, pixels.size)
        clipped = (max(0, mapped[0]), max(0, mapped[1]), min(pixels.width, mapped[2]), min(pixels.height, mapped[3]))
        if inside < CROPPED_BELOW:
            findings.append(Finding(f"{label}-cropped", "high",
                                    f"the original's {_describe(kind)} {words!r} lay where the repost was cut off "
                                    f"({inside:.0%} of its box remains in the frame)", rests, clipped, original_box))
            continue
        if reader is None:
            continue  # fast mode: no OCR, so no claim about whether the mark is still there
        glyph = max(6.0, (mapped[3] - mapped[1]) * 0.55)
        read = _read_box(pixels, mapped, reader, glyph)
        result.visible = (result.visible or []) + [m for m in read if m.kind != "text"]
        compared = _similarity(match, kind, original_box, pixels)
        similarity = compared.similarity
        altered = similarity < ALTERED_BELOW or compared.detail_kept < BLURRED_BELOW
        evidence = rests + ("OCR", f"similarity to the original's pixels {similarity:.2f}, "
                                   f"detail kept {compared.detail_kept:.2f}")
        if kind == "visible_label":
            present = [m for m in read if m.kind == "ai-label" and m.score >= PRESENT_SCORE]
        else:
            expected = visible.looks_like_author_id(words)
            present = [m for m in read if m.author_id == expected and m.score >= PRESENT_SCORE]
            others = [m for m in read if _different_id(m, expected)]
            if not present and others:
                findings.append(Finding("author-id-replaced", "high",
                                        f"where the original showed {words!r}, the repost shows {others[0].text!r}",
                                        evidence, clipped, original_box))
                continue
        if present and not altered:
            findings.append(Finding(f"{label}-present", "high", f"the original's {_describe(kind)} is still there: "
                                    f"{present[0].text!r}", evidence, present[0].box, original_box))
        elif not altered:  # OCR could not confirm it, but the pixels are the original's: never accuse on that
            findings.append(Finding(f"{label}-present", "medium",
                                    f"the original's {_describe(kind)} {words!r} looks untouched here (similarity "
                                    f"{similarity:.2f}), though OCR could not read it whole", evidence, clipped,
                                    original_box))
        elif present:
            findings.append(Finding(f"{label}-removed", "medium",
                                    f"the original's {_describe(kind)} was blurred or painted over here (its pixels "
                                    f"keep {compared.detail_kept:.0%} of the original's detail), though OCR still "
                                    f"reads {present[0].text!r}", evidence, clipped, original_box))
        else:
            findings.append(Finding(f"{label}-removed", "high",
                                    f"the original's {_describe(kind)} {words!r} was inside the frame here, and OCR "
                                    f"reads no such text: erased, blurred or covered (similarity to the original "
                                    f"{similarity:.2f})", evidence, clipped, original_box))
    return findings


def _similarity(match: Match, kind: str, original_box, pixels: Image.Image) -> geometry.RegionComparison:
    """Likeness of the repost to the original where a mark was: on the registry's full-detail crop of the
    mark when it has one, else on its thumbnail."""
    reference, to_original, box, _ = match.original.reference(kind, original_box)
    return geometry.region_similarity(reference, to_original, match.alignment, pixels, box)


def _different_id(mark: visible.FoundMark, expected: str | None) -> bool:
    """A clearly read ID that is not a misreading of ``expected``."""
    if not mark.author_id or mark.score < REPLACED_SCORE or expected is None:
        return False
    return SequenceMatcher(None, mark.author_id, expected).ratio() < REPLACED_MAX_SIMILARITY


def _describe(kind: str) -> str:
    return {"visible_label": "visible AI label", "author_mark": "author ID"}[kind]


def _findings(result: ScanResult, pixels: Image.Image | None, options: ScanOptions) -> list[Finding]:
    inspection = result.inspection
    payload = inspection.watermark.payload if inspection.watermark else None
    match = result.match
    # What says the image was once labelled (aimark labels always write every layer), and on what grounds.
    labelled = (("the registered original carried one", "registry") if match is not None else
                ("the aimark watermark shows it was labelled, and aimark labels carry one", "watermark payload")
                if payload is not None else None)
    findings = _metadata_findings(inspection.metadata, match, payload, labelled)
    findings += _c2pa_findings(inspection.c2pa, labelled)
    findings += _watermark_findings(inspection, payload)
    if match is not None and match.alignment is not None and pixels is not None:
        findings += _mark_findings(result, pixels, options.ocr)
    elif result.visible is not None:
        findings += _blind_visible_findings(result, payload)
    doubt = _source_copy_doubt(result)
    if doubt:
        findings = [replace(f, confidence="low", summary=f"{f.summary} ({doubt})") if f.removal else f
                    for f in findings]
    return findings


def _metadata_findings(meta, match: Match | None, payload, labelled) -> list[Finding]:
    if meta.status == "conforming":
        label = meta.label
        altered = match is not None and label.produce_id != match.original.produce_id
        altered = altered or (payload is not None
                              and watermark.WatermarkPayload.content_field(label.produce_id) != payload.content_id)
        if altered:
            return [Finding("metadata-altered", "high" if match else "medium",
                            f"the metadata label's ProduceID {label.produce_id!r} is not the original's",
                            ("metadata label", "registry" if match else "watermark content ID"))]
        return [Finding("metadata-present", "high", f"metadata label: {label.meaning} "
                        f"(Label={label.label}, producer {label.content_producer})", ("XMP TC260:AIGC",))]
    if meta.status == "non-conforming":
        problems = "; ".join(p for found in meta.labels for p in found.problems) or "; ".join(meta.problems)
        return [Finding("metadata-nonconforming", "high", f"a metadata label is there but does not conform: "
                        f"{problems}", tuple(f.carrier for f in meta.labels))]
    if labelled:
        return [Finding("metadata-stripped", "high" if match else "medium",
                        f"no metadata label, though {labelled[0]}", (labelled[1],))]
    return []


def _c2pa_findings(credentials, labelled) -> list[Finding]:
    if credentials is None:
        return []
    if credentials.state in ("Trusted", "Valid") and not credentials.failures:
        note = "signer not in the trust list" if credentials.untrusted else "signer trusted"
        findings = [Finding("c2pa-untrusted" if credentials.untrusted else "c2pa-valid", "high",
                            f"C2PA credentials hold ({note})", ("C2PA",))]
        for ingredient in credentials.ingredients:
            if ingredient["failures"]:
                findings.append(Finding("c2pa-tampered", "high",
                                        f"a parent ingredient ({ingredient['title']}) fails validation: "
                                        + ", ".join(ingredient["failures"]), ("C2PA ingredient",)))
            elif ingredient["untrusted"]:
                findings.append(Finding("c2pa-parent-untrusted", "medium",
                                        f"the parent ingredient ({ingredient['title']}) was signed by a signer "
                                        "the re-signer did not trust", ("C2PA ingredient",)))
        return findings
    if credentials.state in ("Invalid", "unreadable"):
        codes = ", ".join(credentials.failures) or credentials.error or "invalid"
        return [Finding("c2pa-tampered", "high", f"C2PA credentials are present but broken: {codes}", ("C2PA",))]
    if credentials.state == "absent" and labelled:
        return [Finding("c2pa-stripped", "medium", f"no C2PA manifest, though {labelled[0]} (any re-save by an image "
                        "tool drops it)", (labelled[1],))]
    return []


def _watermark_findings(inspection: Inspection, payload) -> list[Finding]:
    findings = []
    if payload is not None:
        findings.append(Finding("watermark-present", "high",
                                f"aimark watermark: author {payload.author_id}, content {payload.content_id}",
                                (f"watermark (false-positive bound {watermark.FALSE_POSITIVE_BOUND:.0e})",)))
    for generator in (m for m in (inspection.generators or []) if m.reported):
        findings.append(Finding("generator-watermark", generator.confidence,
                                f"{generator.generator} watermark ({generator.verdict}: {generator.matched}/"
                                f"{generator.total} bits, chance {generator.p_value:.0e})", ("generator watermark",)))
    return findings


def _blind_visible_findings(result: ScanResult, payload) -> list[Finding]:
    """Without an original: what the edge windows show, checked against the watermark's author."""
    findings = []
    labels = [m for m in result.visible if m.kind == "ai-label"]
    for mark in labels:
        kind = "visible-label-present" if mark.check.compliant else "visible-label-noncompliant"
        detail = "complies" if mark.check.compliant else "does not comply: " + "; ".join(mark.check.problems)
        findings.append(Finding(kind, "high", f"visible AI label {mark.text!r} {detail}", ("OCR",), mark.box))
    authors = [m for m in result.visible if m.kind == "author-id"]
    if payload is not None and payload.author_id != watermark.NO_AUTHOR:
        shown = [m for m in authors if payload.matches_author(m.author_id or "") and m.score >= PRESENT_SCORE]
        others = [m for m in authors if _different_id(m, payload.author_id)]
        if shown:
            findings.append(Finding("author-id-present", "high", f"visible author ID {shown[0].text!r} matches the "
                                    "watermark's author", ("OCR", "watermark payload"), shown[0].box))
        elif others:
            findings.append(Finding("author-id-replaced", "medium",
                                    f"the visible ID {others[0].text!r} is not the watermark's author "
                                    f"{payload.author_id}", ("OCR", "watermark payload"), others[0].box))
        else:
            findings.append(Finding("author-id-removed", "low",
                                    f"the watermark names author {payload.author_id} but no author ID is visible in "
                                    "the corners (cropped, erased, or never shown: no original to compare)",
                                    ("watermark payload", "OCR")))
    if payload is not None and not labels:
        findings.append(Finding("visible-label-removed", "low",
                                "the image carries an aimark watermark but no visible AI label is in its corners or "
                                "edges (cropped or erased: no original to compare)", ("watermark payload", "OCR")))
    return findings


def _verdict(result: ScanResult, options: ScanOptions) -> Verdict:
    inspection = result.inspection
    meta = inspection.metadata
    if meta.status == "conforming":
        label = meta.label
        return Verdict(label.label, f"the metadata label says {label.meaning} (Label={label.label})")
    credentials = inspection.c2pa
    if credentials and credentials.state in ("Trusted", "Valid") and credentials.digital_source_type in (
            metadata.TRAINED, metadata.COMPOSITE):
        return Verdict("1", "its C2PA credentials declare AI generation")
    traces = []
    if inspection.watermark and inspection.watermark.payload:
        traces.append("an aimark watermark")
    if any(f.kind == "visible-label-present" or f.kind == "visible-label-noncompliant" for f in result.findings):
        traces.append("a visible AI label")
    if meta.status == "non-conforming":
        traces.append("a non-conforming metadata label")
    traces += [f"a {m.generator} watermark" for m in (inspection.generators or [])
               if m.reported and m.confidence == "high"]
    if options.declared_ai:
        return Verdict("2", "the uploader declares it AI-generated" + (f"; it also carries {', '.join(traces)}"
                                                                        if traces else ""))
    if traces:
        return Verdict("3", "no valid label, but it carries " + ", ".join(traces))
    return Verdict("none", "no label, watermark or visible AI mark was found")
