"""Does the watermark's map say "the mark is gone here" only where it was taken away?

For every picture (``../shared/corpus``, ``tests/corpus``, and the kinds ``bench/pictures.py`` draws), the
labeller's payload (format 2: it names the label's and the author ID's corners) is embedded as the labeller
embeds it; then

- every benign and geometric attack of ``bench/reposts.py`` at every strength — nothing was taken away, so
  any region the map calls *lost* is a false claim;
- corner edits: the author-ID corner region replaced by another part of the same picture (clone stamp),
  by another picture (a sticker), or inpainted (OpenCV Telea, smooth), then a JPEG 85 repost — the map
  should call it lost (recall), and never the label's untouched corner; each edit also framed afterwards
  (a phone screenshot at full width, a 10% pad), where the regions are the pasted picture's corners.

Each decode that finds the payload is localised; the table counts, per case, the decodes, the regions judged
(the rest of the picture carries the mark clearly enough to expect it there), and the regions called lost.

    python bench/watermark_map.py [--jobs 2] [--seeds 0] [--folders ../shared/corpus tests/corpus]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from multiprocessing import Pool
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.pictures import pictures  # noqa: E402
from bench.reposts import ATTACKS, BENIGN, GEOMETRY, jpeg  # noqa: E402

FOLDERS = [ROOT.parent / "shared" / "corpus", ROOT / "tests" / "corpus"]
LABEL_AT, AUTHOR_AT = "bottom-left", "bottom-right"


def _corner(image: Image.Image) -> tuple[int, int, int, int]:
    from aimark.labeller.localise import position_box

    return position_box(AUTHOR_AT, image.size)


def clone_corner(image: Image.Image, sticker: Image.Image) -> Image.Image:
    x0, y0, x1, y1 = _corner(image)
    w, h = x1 - x0, y1 - y0
    sx, sy = (image.width - w) // 2 + 7, (image.height - h) // 2 + 3  # not a whole tile away
    out = image.copy()
    out.paste(image.crop((sx, sy, sx + w, sy + h)), (x0, y0))
    return jpeg(out, 85)


def sticker_corner(image: Image.Image, sticker: Image.Image) -> Image.Image:
    x0, y0, x1, y1 = _corner(image)
    out = image.copy()
    out.paste(sticker.convert("RGB").resize((x1 - x0, y1 - y0)), (x0, y0))
    return jpeg(out, 85)


def inpaint_corner(image: Image.Image, sticker: Image.Image) -> Image.Image:
    x0, y0, x1, y1 = _corner(image)
    pixels = np.asarray(image.convert("RGB")).copy()
    mask = np.zeros(pixels.shape[:2], np.uint8)
    mask[y0:y1, x0:x1] = 255
    return jpeg(Image.fromarray(cv2.inpaint(pixels, mask, 5, cv2.INPAINT_TELEA)), 85)


EDITS = {"clone_corner": clone_corner, "sticker_corner": sticker_corner, "inpaint_corner": inpaint_corner}
FRAMES = {"phone_screenshot@1": ("phone_screenshot", 1.0), "pad@0.1": ("pad", 0.1)}  # added after an edit


def edited(case: str) -> bool:
    """Whether ``case`` took the author-ID corner away (an edit, framed or not)."""
    return case.split("+")[0] in EDITS


LOST_Z_GRID = (2.0, 2.5, 3.0, 3.5, 4.0)  # "shows no mark" thresholds tried beside the one in use


def run_picture(job):
    """Every case on one picture: (case, decoded, judged regions, lost regions, lost-but-untouched), then
    the lost and lost-but-untouched counts at each threshold of ``LOST_Z_GRID``."""
    index, (name, image), sticker = job
    from aimark.labeller import localise
    from aimark.labeller import watermark as wm

    payload = wm.WatermarkPayload.for_label("1234567890", f"bench-{index}", LABEL_AT, AUTHOR_AT)
    marked, _ = wm.embed_checked(image.convert("RGB"), payload)
    rows = []
    cases = [(f"{a.name}@{s:g}" if isinstance(s, float) else f"{a.name}@{s}",
              lambda im, a=a, s=s: a.apply(im, s).image) for a in BENIGN + GEOMETRY for s in a.strengths]
    cases += [(edit, lambda im, f=f: f(im, sticker)) for edit, f in EDITS.items()]
    cases += [(f"{edit}+{frame}", lambda im, f=f, a=a, s=s: ATTACKS[a].apply(f(im, sticker), s).image)
              for edit, f in EDITS.items() for frame, (a, s) in FRAMES.items()]
    for case, attack in cases:
        attacked = attack(marked).convert("RGB")
        found = wm.detect(attacked)
        if not payload.same_mark(found.payload):
            rows.append((case, 0, 0, 0, 0) + (0,) * (2 * len(LOST_Z_GRID)))
            continue
        where = localise.localise_picture(attacked, found)
        regions = where.regions if where else ()
        taken = edited(case)
        judged = sum(r.judged for r in regions)
        lost = sum(r.lost for r in regions if taken and r.name == "author-id")
        false = sum(r.lost for r in regions if not taken or r.name != "author-id")
        grid = []
        for t in LOST_Z_GRID:
            grid += [sum(r.lost_below(t) for r in regions if taken and r.name == "author-id"),
                     sum(r.lost_below(t) for r in regions if not taken or r.name != "author-id")]
        rows.append((case, 1, judged, lost, false, *grid))
    return name, rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=Path, nargs="*", default=FOLDERS)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    images = pictures([f for f in args.folders if f.is_dir()], args.seeds)
    started = time.time()
    stickers = [image for _, image in images[1:] + images[:1]]  # each picture's sticker: the next picture
    jobs = [(i, images[i], stickers[i]) for i in range(len(images))]
    with Pool(args.jobs) as pool:
        results = pool.map(run_picture, jobs, chunksize=1)
    totals = defaultdict(lambda: np.zeros(4 + 2 * len(LOST_Z_GRID), dtype=int))
    for _, rows in results:
        for case, *counts in rows:
            totals[case] += counts
    print(f"{len(images)} pictures, {len(totals)} cases; {time.time() - started:.0f} s wall\n")
    print(f"{'case':28} {'decoded':>8} {'judged':>7} {'lost: edited corner':>20} {'lost: untouched':>16}")
    for case, (decoded, judged, lost, false, *_) in totals.items():
        found = f"{lost:>4} / {decoded:<4}" if edited(case) else ""
        print(f"{case:28} {decoded:>8} {judged:>7} {found:>20} {false:>16}")
    benign = sum(t for c, t in totals.items() if not edited(c))
    print(f"\nbenign: {benign[0]} decodes, {benign[1]} regions judged, {benign[3]} called lost (false claims)")
    for edit in [c for c in totals if edited(c)]:
        decoded, judged, lost, false, *_ = totals[edit]
        print(f"{edit}: the edited corner called lost in {lost} of {decoded} decodes; untouched regions called "
              f"lost: {false}")
    print("\nthe threshold for \"shows no mark\" (localise.LOST_Z) as a grid; every other condition unchanged:")
    print(f"{'LOST_Z':>7} {'benign: false claims':>21} {'edits: corner found':>20} {'edits: untouched':>17}")
    edits = sum(t for c, t in totals.items() if edited(c))
    for i, t in enumerate(LOST_Z_GRID):
        print(f"{t:>7.1f} {benign[5 + 2 * i]:>21} {f'{edits[4 + 2 * i]} / {edits[0]}':>20} {edits[5 + 2 * i]:>17}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
