"""Reading visible marks where they are allowed to be: strips along the edges, not the whole picture.

GB 45438 puts the label on an edge or in a corner, and author IDs sit in corners, so OCR reads the four
corners first — windows sized from the short side (0.62 x 0.16 of it) and rescaled so that a compliant
label's glyphs come out about 32 px tall, the size the recogniser reads best (``toolbox.md``: ~94 ms for
all four at 1080 px, against ~350 ms for the whole image). Only when no AI label is in a corner are the
middles of the four edges read too.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from aimark.labeller import visible, vocabulary

CORNER_WIDTH, CORNER_DEPTH = 0.62, 0.16  # in short sides: a label or an author mark plus its margin
MIDDLE_WIDTH = 0.5
TARGET_GLYPH_PX = 32

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Window:
    name: str
    box: Box


def corner_windows(size: tuple[int, int]) -> list[Window]:
    width, height = size
    short = min(size)
    w, d = min(width, round(CORNER_WIDTH * short)), min(height, round(CORNER_DEPTH * short))
    return [Window("top-left", (0, 0, w, d)), Window("top-right", (width - w, 0, width, d)),
            Window("bottom-left", (0, height - d, w, height)), Window("bottom-right", (width - w, height - d, width, height))]


def middle_windows(size: tuple[int, int]) -> list[Window]:
    """The middles of the four edges (labels placed at "top", "bottom", "left", "right")."""
    width, height = size
    short = min(size)
    w, d = min(width, round(MIDDLE_WIDTH * short)), min(height, round(CORNER_DEPTH * short))
    cx, cy = (width - w) // 2, (height - d) // 2
    return [Window("top", (cx, 0, cx + w, d)), Window("bottom", (cx, height - d, cx + w, height)),
            Window("left", (0, cy, w, cy + d)), Window("right", (width - w, cy, width, cy + d))]


def read_region(pixels: Image.Image, box: Box, reader, glyph_px: float) -> list[visible.FoundMark]:
    """OCR ``box`` of ``pixels``, rescaled so glyphs of ``glyph_px`` become about 32 px; marks in image
    coordinates, classified and (for AI labels) judged at full resolution."""
    x0, y0, x1, y1 = box
    region = pixels.crop(box)
    factor = min(2.0, TARGET_GLYPH_PX / max(glyph_px, 1.0))
    if abs(factor - 1.0) > 0.1:
        region = region.resize((max(1, round(region.width * factor)), max(1, round(region.height * factor))),
                               Image.Resampling.BILINEAR)
    else:
        factor = 1.0
    found = []
    for text, (lx0, ly0, lx1, ly1), score in visible.joined_lines(reader.read(region.convert("RGB"))):
        mapped = (x0 + int(lx0 / factor), y0 + int(ly0 / factor), x0 + int(round(lx1 / factor)),
                  y0 + int(round(ly1 / factor)))
        mapped = (max(0, mapped[0]), max(0, mapped[1]), min(pixels.width, mapped[2]), min(pixels.height, mapped[3]))
        found.append(visible.classify(pixels, text, mapped, score))
    return found


def read_edges(pixels: Image.Image, reader) -> list[visible.FoundMark]:
    """Every mark in the corner windows of ``pixels`` — and the edge middles when no corner holds an AI
    label — without duplicates where windows overlap. A window whose rows were already read across the
    whole width (a line cut at a window's inner side) is not read again."""
    glyph = visible.MIN_HEIGHT_FRACTION * min(pixels.size)
    marks: list[visible.FoundMark] = []
    bands: list[tuple[int, int]] = []  # rows already read across the whole width

    def read(windows):
        for window in windows:
            _, top, _, bottom = window.box
            if any(b0 <= top and bottom <= b1 for b0, b1 in bands):
                continue  # the other corner of a band read whole, or an edge's middle within it
            found = read_region(pixels, window.box, reader, glyph)
            if any(_cut(mark.box, window.box, pixels.width) for mark in found):
                found = read_region(pixels, (0, top, pixels.width, bottom), reader, glyph)
                bands.append((top, bottom))
            for mark in found:
                same = [other for other in marks if _same(mark, other)]
                if not same:
                    marks.append(mark)
                elif _area(mark) > max(_area(other) for other in same):  # the fuller reading of it
                    marks[:] = [other for other in marks if other not in same] + [mark]

    read(corner_windows(pixels.size))
    if not any(mark.in_label_words for mark in marks):
        read(middle_windows(pixels.size))
    return marks


def _cut(line: Box, window: Box, width: int) -> bool:
    """Whether a line read in ``window`` comes within two of its own heights of an inner side (one that is
    not the picture's edge): a label longer than the window, on the right edge, loses its head "AI生成"
    there, and the cut glyphs are not read at all (measured: the line read began 0.9 heights inside the
    window). Such a window is read again across the picture's whole width, in the same rows."""
    reach = 2 * max(1, line[3] - line[1])
    return (window[0] > 0 and line[0] - window[0] <= reach) or (window[2] < width and window[2] - line[2] <= reach)


def _area(mark: visible.FoundMark) -> int:
    return vocabulary.Box.of(mark.box).area


def _same(a: visible.FoundMark, b: visible.FoundMark) -> bool:
    ax0, ay0, ax1, ay1 = a.box
    bx0, by0, bx1, by1 = b.box
    overlap = max(0, min(ax1, bx1) - max(ax0, bx0)) * max(0, min(ay1, by1) - max(ay0, by0))
    smaller = min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0)) or 1
    return overlap / smaller > 0.5
