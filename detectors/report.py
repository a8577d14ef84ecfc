"""The moderator's HTML report: one self-contained file (images inlined) a browser opens offline.

At the top: when and how the scan ran, and a summary — images per verdict, findings per kind and confidence.
Then filters and sorting (verdict, finding kind, confidence, only images with a mark removed; also from the
URL, e.g. ``report.html?accused=1&sort=severity``). Per image, with its own anchor: a thumbnail, the verdict
and its reason, every finding with its confidence and evidence, and — for a removed or cropped mark — the
original's corner beside the repost's, so a person can see with their own eyes what the scan claims.
Colours carry meaning: red only for a removal at medium or high confidence; grey for information; a
"labelled AI" verdict is the label working, not an alarm. Rendered with Jinja2 templates
(``detectors/templates``), each image's section where its pixels are (a worker process).
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import datetime as dt
from collections import Counter
from functools import lru_cache

from jinja2 import Environment, PackageLoader, select_autoescape
from PIL import Image, ImageDraw

from aimark.labeller.vocabulary import Confidence

from .findings import VERDICT_MEANINGS
from .scan import ScanResult

THUMB_SIDE = 360
CROP_SIDE = 280
def _data_uri(image: Image.Image, side: int) -> str:
    view = image.convert("RGB")
    view.thumbnail((side, side))
    buffer = io.BytesIO()
    view.save(buffer, "JPEG", quality=82)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _crop_around(image: Image.Image, box, pad_fraction: float = 0.6) -> Image.Image:
    """``box`` with context around it, the box outlined in red. A box squeezed to nothing at the edge (a
    mark that was cropped off) shows that edge of the image instead."""
    x0, y0, x1, y1 = box
    x0, x1 = sorted((min(max(x0, 0), image.width - 1), min(max(x1, 1), image.width)))
    y0, y1 = sorted((min(max(y0, 0), image.height - 1), min(max(y1, 1), image.height)))
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
    pad = int(max(x1 - x0, y1 - y0) * pad_fraction) + 8
    region = (max(0, x0 - pad), max(0, y0 - pad), min(image.width, x1 + pad), min(image.height, y1 + pad))
    crop = image.convert("RGB").crop(region)
    ImageDraw.Draw(crop).rectangle((x0 - region[0], y0 - region[1], x1 - region[0] - 1, y1 - region[1] - 1),
                                   outline=(220, 0, 0), width=max(1, crop.width // 150))
    return crop


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(loader=PackageLoader("aimark.detectors", "templates"), autoescape=select_autoescape(),
                       trim_blocks=True, lstrip_blocks=True)


def _figures(result: ScanResult, finding, pixels: Image.Image | None) -> list[dict]:
    """The original's mark beside the repost's same place."""
    match = result.match
    if match is None or finding.original_box is None:
        return []
    figures = []
    reference = match.original.reference(finding.kind.mark, finding.original_box)
    if reference is not None:
        image, _, box, is_crop = reference
        caption = "original (registry)" if is_crop else "original (registry thumbnail)"
        figures.append({"caption": caption, "uri": _data_uri(_crop_around(image, box), CROP_SIDE)})
    if pixels is not None and finding.box is not None:
        figures.append({"caption": "this image, same place", "uri": _data_uri(_crop_around(pixels, finding.box), CROP_SIDE)})
    return figures


MAP_COLOURS = ((4.0, (40, 170, 80)), (2.0, (230, 180, 40)), (float("-inf"), (210, 40, 40)))  # z floor -> colour
MAP_TINT = 0.35


def _map_figure(result: ScanResult, pixels: Image.Image | None) -> dict | None:
    """The watermark's map over the picture: each cell tinted by how strongly it still carries the mark
    (green z >= 4, amber 2-4, red below 2), the regions the payload's layout names outlined (red when the
    mark is gone there alone). None when no map was drawn (no mark found, or a --fast scan)."""
    detection = result.inspection.watermark
    localisation = getattr(detection, "localisation", None)
    if pixels is None or localisation is None or not localisation.grid:
        return None
    view = pixels.convert("RGB")
    view.thumbnail((THUMB_SIDE, THUMB_SIDE))
    sx, sy = view.width / pixels.width, view.height / pixels.height
    tint = view.copy()  # outside the grid (a pasted picture's canvas) the blend leaves the picture as it is
    draw = ImageDraw.Draw(tint)
    rows, cols = len(localisation.grid), len(localisation.grid[0])
    # the grid covers the picture, or the picture pasted into it the mark was read in
    ax0, ay0, ax1, ay1 = localisation.area or (0, 0, pixels.width, pixels.height)
    across, down = (ax1 - ax0) * sx, (ay1 - ay0) * sy
    for r, row in enumerate(localisation.grid):
        for c, z in enumerate(row):
            colour = next(colour for floor, colour in MAP_COLOURS if z >= floor)
            draw.rectangle((round(ax0 * sx + c * across / cols), round(ay0 * sy + r * down / rows),
                            round(ax0 * sx + (c + 1) * across / cols) - 1,
                            round(ay0 * sy + (r + 1) * down / rows) - 1), fill=colour)
    shown = Image.blend(view, tint, MAP_TINT)
    outline = ImageDraw.Draw(shown)
    for region in localisation.regions:
        x0, y0, x1, y1 = region.box
        outline.rectangle((round(x0 * sx), round(y0 * sy), round(x1 * sx) - 1, round(y1 * sy) - 1),
                          outline=(210, 40, 40) if region.lost else (255, 255, 255), width=2)
    named = ", ".join(f"{r.name} at {r.position}: z {r.z:.1f}{' (gone there)' if r.lost else ''}"
                      for r in localisation.regions)
    return {"caption": "watermark map: green carries the mark, red lost it (a visible mark's own plate always "
                       "reads low: its glyphs drown the watermark)" + (f" — {named}" if named else ""),
            "uri": _data_uri(shown, THUMB_SIDE)}


def _css(finding) -> str:
    if finding.removal:
        return f"removal-{finding.confidence.value}"
    if finding.confidence == Confidence.LOW:
        return "info"
    return "holds" if finding.kind.outcome.value in ("present", "valid", "untrusted") else "note"


def severity(findings) -> int:
    """3: a removal at high confidence, 2: at medium, 1: removals as information only, 0: none."""
    ranks = [f.confidence.rank + 1 for f in findings if f.removal]
    return max(ranks, default=0)


def render_item(result: ScanResult, index: int = 0) -> str:
    """One image's section of the report (thumbnail and crops inlined)."""
    if result.error:
        return render_error(result.path, result.error, index)
    pixels = result.inspection.pixels
    findings = result.findings
    accusations = sum(f.removal and f.confidence >= Confidence.MEDIUM for f in findings)
    pairs = [{"kind": f.kind.value, "confidence": f.confidence.value, "figures": _figures(result, f, pixels)}
             for f in findings if f.removal and f.original_box is not None]
    return _templates().get_template("item.html.j2").render(
        index=index, path=result.path, error=None, verdict=result.verdict, verdict_class=result.verdict.level,
        verdict_key=result.verdict.level, severity=severity(findings), accusations=accusations,
        kinds=sorted({f.kind.value for f in findings}), confidences=sorted({f.confidence.value for f in findings}),
        thumbnail=_data_uri(pixels, THUMB_SIDE) if pixels is not None else None,
        match=result.match.as_record() if result.match else None,
        findings=[{**f.as_record(), "css": _css(f)} for f in findings], pairs=[p for p in pairs if p["figures"]],
        watermark_map=_map_figure(result, pixels))


def render_error(path: str, reason: str, index: int = 0) -> str:
    return _templates().get_template("item.html.j2").render(
        index=index, path=path, error=reason, verdict_class="unreadable", verdict_key="unreadable", severity=0,
        kinds=[], confidences=[], thumbnail=None, findings=[], pairs=[], accusations=0, match=None)


GENERATOR_MARK = '<meta name="generator" content="aimark scan">'


def is_ours(path: Path) -> bool:
    """Whether ``path`` is a report an earlier scan wrote (so it may be rewritten without --force)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return GENERATOR_MARK in handle.read(4096)
    except OSError:
        return False


def summarise(records: list[dict]) -> dict:
    """Counts for the report's top: images per verdict, findings per kind and confidence."""
    verdicts = Counter("unreadable" if r.get("error") else (r.get("verdict") or {}).get("level", "none")
                       for r in records)
    kinds: dict[str, Counter] = {}
    for record in records:
        for finding in record.get("findings") or []:
            kinds.setdefault(finding["kind"], Counter())[finding["confidence"]] += 1
    labels = {**VERDICT_MEANINGS, "unreadable": "could not be read"}
    return {"images": len(records), "unreadable": verdicts.get("unreadable", 0),
            "accused": sum(bool(r.get("removal_found")) for r in records),
            "verdicts": [(key, labels[key], verdicts[key]) for key in ("1", "2", "3", "none", "unreadable")
                         if verdicts.get(key)],
            "kinds": sorted(kinds.items())}


def write_report(path: Path, sections: list[str], records: list[dict], options: str = "") -> None:
    """The whole report, written atomically: when and how, the summary, every image's section in order."""
    from aimark.labeller.image_io import write_atomic
    from aimark.labeller.pipeline import VERSION

    meta = {"date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"), "version": VERSION,
            "options": options}
    page = _templates().get_template("report.html.j2").render(
        generator_mark=GENERATOR_MARK, meta=meta, summary=summarise(records), sections=sections)
    write_atomic(path, page.encode("utf-8"))
