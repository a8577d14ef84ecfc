"""A picture pasted into a larger canvas — a phone screenshot between its bars, a post's card, a pad, a
letterbox — found, so the watermark can be read in the picture alone and at the canvas's own resolution.

Why. The decoder's working view shrinks the whole canvas to ``WORK_SHORT_MAX``: a picture shown at 30% of a
phone screen's width is ~150 px across there, too small for its chips; cut out of the screenshot at full
resolution it is several times that and, being the whole marked picture, its tiles sit at a known fraction
of its short side (``watermark._whole_picture_lattices``). Measured (``bench/robustness.py``, 41 pictures,
``docs/benchmarks.md``): phone screenshots at 30/50/100% of the screen read on 12/54/93% from the whole
canvas, on 76/98/98% with the picture cut out of it.

How. A canvas's fill and flat bars carry no fine detail at all — not even a mark's, which every pixel of a
marked picture carries — and they reach the canvas's border (``surround``). What is left is the picture and
the islands of the interface (text, icons), each cut off from the others by fill; the picture is the largest
island, and a rectangle (``find``). A picture whose own flat area runs into a fill of the same grey without
an edge (a white page on a white card) is found smaller than it is: the decoder then reads a crop of it, as
it reads any crop; a picture turned inside its canvas is no rectangle and is left to the usual view.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

DEAD_LEVEL = 0.1  # grey levels of fine detail below which a pixel carries nothing, not even a mark
FIND_PIXELS = 4_000_000  # pixels the canvas is looked at with, at most (a 1290 x 2796 phone screen whole)
RING = 8  # px of the canvas's border looked at first: the test every picture pays
MIN_RING_FILL = 0.1  # share of the border that must be fill before the whole canvas is looked at
MIN_RECTANGLE = 0.9  # the picture must cover this share of its bounding box (a turned picture does not)
MAX_SHARE = 0.9  # and its box at most this share of the canvas: else the canvas is the picture
MIN_SIDE = 64  # canvas px of the picture's short side: the decoder reads nothing smaller
REACH = 24  # px beyond a picture's edge that can read as detail: the test's reach, a JPEG's 16-px blocks
EDGE_RISE = 2.0  # grey levels the picture's first line differs from the fill by, more than the lines outside


def dead(lum: np.ndarray) -> np.ndarray:
    """Pixels with no fine detail at all around them (``DEAD_LEVEL``): a fill, a flat bar, a pad."""
    detail = lum - cv2.GaussianBlur(lum, (0, 0), 1.0)
    return np.sqrt(np.maximum(cv2.blur(detail * detail, (5, 5)), 0.0)) < DEAD_LEVEL


def surround(lum: np.ndarray) -> np.ndarray:
    """The fill around a picture: dead pixels (``dead``) connected to the view's border."""
    flat = dead(lum).astype(np.uint8)
    count, labels = cv2.connectedComponents(flat, connectivity=4)
    if count <= 1:
        return np.zeros(lum.shape, bool)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return np.isin(labels, border[border > 0])


def _ring_fill(grey: Image.Image) -> float:
    """The share of the canvas's outermost pixels that are fill: four thin strips, so a photo costs little."""
    width, height = grey.size
    ring = min(RING, width, height)
    strips = [(grey.crop((0, 0, width, ring)), 0), (grey.crop((0, height - ring, width, height)), -1),
              (grey.crop((0, 0, ring, height)).transpose(Image.Transpose.TRANSPOSE), 0),
              (grey.crop((width - ring, 0, width, height)).transpose(Image.Transpose.TRANSPOSE), -1)]
    outer = [dead(np.asarray(strip, np.float32))[edge] for strip, edge in strips]
    return float(np.mean(np.concatenate(outer)))


def find(grey: Image.Image) -> tuple[int, int, int, int] | None:
    """The box (left, top, right, bottom, in ``grey``'s pixels) of a picture pasted into the canvas ``grey``
    (8-bit luminance), or None when the canvas is the picture, or no single rectangular picture stands out."""
    width, height = grey.size
    if min(width, height) < MIN_SIDE or _ring_fill(grey) < MIN_RING_FILL:
        return None
    factor = min(1.0, math.sqrt(FIND_PIXELS / (width * height)))
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    seen = grey if factor == 1.0 else grey.resize(size, Image.Resampling.BOX)
    fill = surround(np.asarray(seen, np.float32))
    if not fill.any():
        return None
    count, _, stats, _ = cv2.connectedComponentsWithStats((~fill).astype(np.uint8), connectivity=4)
    if count <= 1:
        return None
    left, top, across, down, area = stats[1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))]
    if area < MIN_RECTANGLE * across * down or across * down > MAX_SHARE * fill.size:
        return None
    left, top, right, bottom = _edges(np.asarray(seen, np.float32), (left, top, left + across, top + down))
    fx, fy = seen.width / width, seen.height / height
    box = (round(left / fx), round(top / fy), min(width, round(right / fx)), min(height, round(bottom / fy)))
    return box if min(box[2] - box[0], box[3] - box[1]) >= MIN_SIDE else None


def _edges(lum: np.ndarray, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """``box`` drawn in to the picture's own edges. The island reaches into the fill (the detail test looks
    around each pixel, and a JPEG rings over the 16-px blocks beside an edge): from the fill line just
    outside each side, the picture's first line is where the lines' difference from it rises most — by
    ``EDGE_RISE`` at least, and to more than twice whatever the lines before it show, else the side stays.
    A tile's period follows the box (``watermark._whole_picture_lattices``), so a few pixels of fill would
    cost it: 5 px on a 330-px picture is 3%, ten times what the lattice's fit takes up."""
    x0, y0, x1, y1 = (int(v) for v in box)
    height, width = lum.shape
    rows, cols = slice(y0 + REACH, y1 - REACH), slice(x0 + REACH, x1 - REACH)
    strips = {  # each from the fill line outside the side, inward; None where the side is the canvas's
        "left": lum[rows, x0 - 1:x0 + REACH] if x0 > 0 else None,
        "right": lum[rows, max(0, x1 - REACH):x1 + 1][:, ::-1] if x1 < width else None,
        "top": lum[y0 - 1:y0 + REACH, cols].T if y0 > 0 else None,
        "bottom": lum[max(0, y1 - REACH):y1 + 1, cols][::-1].T if y1 < height else None,
    }
    moved = dict.fromkeys(strips, 0)
    for side, strip in strips.items():
        if strip is None or strip.shape[0] == 0 or strip.shape[1] < 2:
            continue
        differs = np.mean(np.abs(strip - strip[:, :1]), axis=0)  # [0] is the fill line itself
        rises = np.diff(differs)
        first = int(np.argmax(rises)) + 1
        if rises[first - 1] >= EDGE_RISE and differs[first] > 2 * differs[:first].max():
            moved[side] = first - 1  # lines of fill inside the box
    return x0 + moved["left"], y0 + moved["top"], x1 - moved["right"], y1 - moved["bottom"]
