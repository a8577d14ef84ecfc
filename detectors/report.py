"""The moderator's HTML report: one self-contained file (images inlined) a browser opens offline.

Per image: a thumbnail, the verdict and its reason, every finding with its confidence and evidence, and —
for findings about a removed or cropped mark — the original's corner beside the repost's, so a person
can see with their own eyes what the scan claims.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from PIL import Image, ImageDraw

from .scan import ScanResult

THUMB_SIDE = 360
CROP_SIDE = 280
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d1d1f;background:#fafafa}
h1{font-size:20px} .item{background:#fff;border:1px solid #ddd;border-radius:8px;padding:16px;margin:16px 0}
.head{display:flex;gap:16px;align-items:flex-start} .head img{max-width:360px;border:1px solid #ccc}
.v1,.v2,.v3{font-weight:600} .v1{color:#b00020} .v2{color:#b36b00} .v3{color:#8a5a00} .vnone{color:#2e7d32}
table{border-collapse:collapse;margin-top:8px;width:100%} td,th{border-bottom:1px solid #eee;padding:4px 8px;
text-align:left;vertical-align:top} .removal td:first-child{color:#b00020;font-weight:600}
.pair{display:flex;gap:12px;margin:8px 0} .pair figure{margin:0} .pair img{border:1px solid #ccc;max-width:280px}
figcaption{font-size:12px;color:#555} .err{color:#b00020}
"""


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


def _pair(result: ScanResult, finding, pixels: Image.Image | None) -> str:
    """The original's mark beside the repost's same place."""
    match = result.match
    if match is None or finding.original_box is None:
        return ""
    figures = []
    reference = match.original.reference(finding.kind.mark, finding.original_box)
    if reference is not None:
        image, _, box, is_crop = reference
        figures.append(("original (registry)" if is_crop else "original (registry thumbnail)", _crop_around(image, box)))
    if pixels is not None and finding.box is not None:
        figures.append(("this image, same place", _crop_around(pixels, finding.box)))
    cells = "".join(f'<figure><img src="{_data_uri(image, CROP_SIDE)}" alt="{html.escape(caption)}">'
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>" for caption, image in figures)
    return f'<div class="pair">{cells}</div>' if cells else ""


def render_item(result: ScanResult) -> str:
    """One image's section of the report (thumbnail and crops inlined)."""
    name = html.escape(result.path)
    pixels = result.inspection.pixels
    if result.error:
        return render_error(result.path, result.error)
    verdict = result.verdict
    thumb = f'<img src="{_data_uri(pixels, THUMB_SIDE)}" alt="{name}">' if pixels is not None else ""
    rows, pairs = [], []
    for finding in result.findings:
        css = ' class="removal"' if finding.removal else ""
        rows.append(f"<tr{css}><td>{html.escape(finding.kind)}</td><td>{html.escape(finding.confidence)}</td>"
                    f"<td>{html.escape(finding.summary)}</td><td>{html.escape(', '.join(finding.rests_on))}</td></tr>")
        if finding.removal and finding.original_box is not None:
            pairs.append(f"<p><b>{html.escape(finding.kind)}</b></p>{_pair(result, finding, pixels)}")
    match = ""
    if result.match:
        m = result.match
        match = (f"<p>Original: #{m.original.id} {html.escape(m.original.produce_id)} "
                 f"({html.escape(m.original.path or '')}), matched by {html.escape(m.by)}"
                 + (f", {m.alignment.inliers} feature inliers" if m.alignment else "") + "</p>")
    return (f'<div class="item"><div class="head">{thumb}<div><h2>{name}</h2>'
            f'<p class="v{verdict.level}">Verdict: {html.escape(verdict.meaning)} ({html.escape(verdict.level)})</p>'
            f"<p>{html.escape(verdict.reason)}</p>{match}</div></div>"
            "<table><tr><th>finding</th><th>confidence</th><th>what</th><th>rests on</th></tr>"
            + "".join(rows) + "</table>" + "".join(pairs) + "</div>")


def render_error(path: str, reason: str) -> str:
    return f'<div class="item"><h2>{html.escape(path)}</h2><p class="err">{html.escape(reason)}</p></div>'


GENERATOR_MARK = '<meta name="generator" content="aimark scan">'


def is_ours(path: Path) -> bool:
    """Whether ``path`` is a report an earlier scan wrote (so it may be rewritten without --force)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return GENERATOR_MARK in handle.read(4096)
    except OSError:
        return False


def write_report(path: Path, sections: list[str], records: list[dict]) -> None:
    """The whole report, written atomically: a heading, every image's section in input order, a total."""
    from aimark.labeller.image_io import write_atomic

    removals = sum(bool(r.get("removal_found")) for r in records)
    page = (f"<!doctype html><html lang=en><meta charset=utf-8>{GENERATOR_MARK}<title>aimark scan</title>"
            f"<style>{STYLE}</style><h1>aimark scan</h1>" + "".join(sections)
            + f"<p><b>{len(records)} images scanned, {removals} with a mark removed.</b></p></html>")
    write_atomic(path, page.encode("utf-8"))
