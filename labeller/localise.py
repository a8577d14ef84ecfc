"""Where a found watermark is intact and where it is gone: the mark's own evidence of a local edit.

Once a payload is decoded, the decoder knows the whole pattern that should be there — every chip of the tile,
not only the pilot — and where each tile lies in the picture. Correlating the picture's residual with that
pattern region by region says how strongly each region still carries the mark. A region painted out,
inpainted, covered by a sticker or replaced by another picture's pixels carries none of it while the rest
does; that contrast is evidence of a local edit that needs no registry and no original.

Calibration is empirical, not assumed: the same correlation is taken with decoy patterns (the expected tile
moved by shifts that are not whole chips, and turned), which the picture cannot carry; their spread sets the
scale of every z-score, so texture, codec noise and the band-pass's own correlation are all accounted for.

A region is said to have lost the mark only when all of these hold (``Region.lost``): the picture's other
boxes of its size carry it strongly enough that the region *should* show it (90% of them reach z >=
``MIN_EXPECTED_Z``) and the region has the detail to show it; the region shows almost nothing (z <
``LOST_Z``), far outside chance (``MAX_DEFICIT_Z``); the boxes right beside it, inward, do carry it (so it
is not a screenshot's bar or padding around the picture); and moving the pattern by up to a chip does not
bring it back (so it is not a corner a perspective pulled off the global lattice). An honest repost —
re-encoded, resized, re-cropped, turned — lowers the mark everywhere alike and trips none of them
(``bench/watermark_map.py``: 0 regions called lost over every benign and geometric attack and strength).

Its resolution is a corner, not a glyph: inside a mark's own plate the bold strokes drown the watermark, so
an edit of the plate alone does not show; a flat fill cannot be told from a featureless area.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from . import binding, inset, perspective
from . import watermark as wm
from .lattice import DIHEDRAL_INVERSE, tile_map
from .visible import POSITIONS

DECOY_SHIFTS = ((17, 5), (9, 31), (41, 23))  # tile px: never a whole chip apart
MAP_CELLS = 12  # cells along the working view's long side in the recorded map
MIN_EXPECTED_Z = 6.0  # a region must be expected to show the mark at least this clearly to be judged
LOST_Z = 3.0  # below this a region shows no mark (P 0.13% for a blank one; benign grid: 0 claims up to 4)
FIT_BELOW_Z = 4.0  # the local fit is worth its cost only for a region this weak (the bench's grid of LOST_Z)
MAX_DEFICIT_Z = -4.0  # and it must fall this far short of what the rest of the picture predicts
DISPLACEMENTS = (-2.0, -1.0, 0.0, 1.0, 2.0)  # tile pixels (a chip is 2) the local fit moves the pattern by
DISPLACED_MAX_Z = 4.0  # the best of those 25 fits must stay below this (the max of 25 noises rarely reaches it)
DETAIL_SHARE = 0.25  # a box with less than this share of the median box's detail cannot show a mark either way
OTHERS_PERCENTILE = 10  # the expectation: what 90% of the picture's detailed boxes of the same size reach
# A region for a position: the corner or edge band where a mark drawn there lies, as fractions of the short
# side (labels are ~5% of it tall and rarely over a third of it wide; the plate adds a margin).
# Not the plate alone: inside a mark's own plate its bold strokes drown the mark (measured: z about 2 where
# the rest of the picture's boxes of that size reach 7), so only an edit of the corner around it shows.
REGION_LONG, REGION_SHORT = 0.40, 0.16


@dataclass(frozen=True)
class Region:
    """How strongly one region carries the found mark, against what the rest of the picture predicts."""

    name: str
    box: tuple[int, int, int, int]  # in the picture's pixels
    z: float  # the mark's presence here (0: none; grows with area and strength)
    expected_z: float  # what the region would show if it carried the mark as the rest of the picture does
    position: str | None = None  # the picture's edge or corner it lies at
    beside_z: float = 0.0  # the weaker of the mark's presence in the boxes just inward of it (across, along)
    displaced_z: float | None = None  # the best presence here with the pattern moved up to a chip (local fit)

    @property
    def deficit_z(self) -> float:
        return self.z - self.expected_z

    @property
    def judged(self) -> bool:
        return self.expected_z >= MIN_EXPECTED_Z

    @property
    def lost(self) -> bool:
        """Gone here alone: expected here, absent here, and present right beside it (not a frame around the
        picture — a screenshot's bars, padding — nor a corner a perspective warp pulled off the lattice)."""
        return self.lost_below(LOST_Z)

    @property
    def kept(self) -> bool:
        """Still carries the mark: clearly (z >= MIN_EXPECTED_Z), or about as the rest of the picture
        predicts (above LOST_Z and short of it by less than MAX_DEFICIT_Z). Neither kept nor lost: weakened
        there, and the map cannot say why."""
        return self.judged and (self.z >= MIN_EXPECTED_Z or (self.z >= LOST_Z and self.deficit_z > MAX_DEFICIT_Z))

    def lost_below(self, lost_z: float) -> bool:
        """``lost`` with another threshold for "shows no mark" (``bench/watermark_map.py``'s grid)."""
        return (self.judged and self.z < lost_z and self.deficit_z <= MAX_DEFICIT_Z
                and self.beside_z >= MIN_EXPECTED_Z and self.displaced_z is not None
                and self.displaced_z < DISPLACED_MAX_Z)

    def as_record(self) -> dict:
        return {"region": self.name, "position": self.position, "box": list(self.box), "z": round(self.z, 1),
                "expected_z": round(self.expected_z, 1), "beside_z": round(self.beside_z, 1), "lost": self.lost}


class LocalMap:
    """The found mark's strength over the picture, answerable for any box (integral images of the residual
    times the expected pattern, and of the null variance). ``area``: the part of the picture a region is
    compared with and the grid covers (a picture pasted into a canvas; None: the whole picture)."""

    def __init__(self, signal: np.ndarray, power: np.ndarray, null_factor: float,
                 factor: tuple[float, float], picture_size: tuple[int, int], displaced=None, area=None):
        self._signal = cv2.integral(signal.astype(np.float64))
        self._power = cv2.integral(power.astype(np.float64))
        self._null = null_factor
        self._fx, self._fy = factor  # working-view pixels per picture pixel
        self.area = area or (0, 0, *picture_size)
        self._displaced = displaced  # box (working-view rows, cols) -> best z with the pattern moved a little
        self.overall_z = float(self._signal[-1, -1] / np.sqrt(max(self._null * self._power[-1, -1], 1e-30)))

    def _sums(self, box) -> tuple[float, float]:
        """Sums over ``box`` (picture pixels) of the residual x pattern, and of its square."""
        rows, cols = self._signal.shape[0] - 1, self._signal.shape[1] - 1
        r0, c0, r1, c1 = self._view_box(box)
        r0, r1 = min(rows, max(0, r0)), min(rows, max(0, r1))
        c0, c1 = min(cols, max(0, c0)), min(cols, max(0, c1))
        if c1 <= c0 or r1 <= r0:
            return 0.0, 0.0
        return tuple(float(a[r1, c1] - a[r0, c1] - a[r1, c0] + a[r0, c0]) for a in (self._signal, self._power))

    def region(self, name: str, box: tuple[int, int, int, int], position: str | None = None) -> Region:
        """The mark's presence in ``box``, against the same-sized boxes over the rest of the picture that
        have detail enough to show it: what they show is what ``box`` should show."""
        z, power = self._z(box)
        x0, y0, x1, y1 = box
        ax0, ay0, ax1, ay1 = self.area
        bw, bh = x1 - x0, y1 - y0
        others = []
        for top in np.arange(ay0, max(ay0 + 1, ay1 - bh + 1), max(1, bh // 2)):
            for left in np.arange(ax0, max(ax0 + 1, ax1 - bw + 1), max(1, bw // 2)):
                if left < x1 and left + bw > x0 and top < y1 and top + bh > y0:
                    continue  # overlaps the region itself
                others.append(self._z((int(left), int(top), int(left + bw), int(top + bh))))
        detailed = [oz for oz, op in others if op >= DETAIL_SHARE * np.median([p for _, p in others])]
        if not detailed or power < DETAIL_SHARE * np.median([p for _, p in others]):
            return Region(name, box, z, 0.0, position)  # nothing to compare, or too flat to show a mark
        inward_x = bw if x0 + bw / 2 < (ax0 + ax1) / 2 else -bw
        inward_y = bh if y0 + bh / 2 < (ay0 + ay1) / 2 else -bh
        beside = min(self._z((x0, y0 + inward_y, x1, y1 + inward_y))[0], self._z((x0 + inward_x, y0, x1 + inward_x, y1))[0])
        found = Region(name, box, z, float(np.percentile(detailed, OTHERS_PERCENTILE)), position, beside)
        if found.judged and found.z < FIT_BELOW_Z and self._displaced is not None:  # only then worth the fit
            found = Region(name, box, z, found.expected_z, position, beside, self._displaced(self._view_box(box)))
        return found

    def _view_box(self, box) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) of a picture box in the working view, unclamped."""
        x0, y0, x1, y1 = box
        return (round(y0 * self._fy), round(x0 * self._fx), round(y1 * self._fy), round(x1 * self._fx))

    def _z(self, box) -> tuple[float, float]:
        """(z of the mark in ``box``, the view's power there per pixel)."""
        signal, power = self._sums(box)
        x0, y0, x1, y1 = box
        area = max(1.0, (x1 - x0) * (y1 - y0) * self._fx * self._fy)
        return float(signal / np.sqrt(max(self._null * power, 1e-30))), float(power / area)

    def grid(self, cells: int = MAP_CELLS) -> list[list[float]]:
        """z per cell over the picture (its ``area``), ``cells`` along the long side: the map a report
        draws."""
        ax0, ay0, ax1, ay1 = self.area
        width, height = ax1 - ax0, ay1 - ay0
        step = max(width, height) / cells
        rows, cols = max(1, round(height / step)), max(1, round(width / step))
        xs = [ax0 + round(c * width / cols) for c in range(cols + 1)]
        ys = [ay0 + round(r * height / rows) for r in range(rows + 1)]
        return [[round(self._z((xs[c], ys[r], xs[c + 1], ys[r + 1]))[0], 1) for c in range(cols)]
                for r in range(rows)]


def _aligned(upright: np.ndarray, alignment: wm.Alignment) -> np.ndarray:
    """An upright tile-sized array as the decoder's folded tile shows it: shifted and turned as ``alignment``
    found the picture's."""
    return np.ascontiguousarray(DIHEDRAL_INVERSE[alignment.orientation](
        np.roll(upright, (alignment.dy, alignment.dx), axis=(0, 1))))


def expected_tile(layout: wm.Layout, payload: wm.WatermarkPayload, alignment: wm.Alignment) -> np.ndarray:
    """The folded tile the decoder would see if the picture carried ``payload`` perfectly: the embedded
    tile, shifted and turned as ``alignment`` found the picture's."""
    return _aligned(wm.expand(layout.chip_values(layout.codeword(payload))), alignment).astype(np.float32)


def _render(tile: np.ndarray, tx: np.ndarray, ty: np.ndarray) -> np.ndarray:
    return cv2.remap(tile, tx, ty, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)


class DecodedMark:
    """A decoded mark as the decoder sees it in a picture, made once for the map and the binding: the
    (bounded) working view, the decoder's band-passed view of it, every pixel's place in the folded tile,
    and the calibration of a correlation's spread from decoys the picture cannot carry."""

    def __init__(self, work: np.ndarray, detection: wm.Detection, key: bytes | None):
        self.detection = detection
        self.layout = wm.layout_for(key)
        self.full = work
        self.work = wm.bounded(work)
        chip = round(detection.lattice.period / wm.TILE, 1)
        self.view = (wm.spectrally_white(self.work) if detection.view == "flat"
                     else wm.decoder_view(self.work, chip))
        self.matrix, self.offset, _ = tile_map(self.view.shape, detection.lattice, wm.PERIOD)
        height, width = self.view.shape
        xs = np.arange(width, dtype=np.float64)[None, :]
        ys = np.arange(height, dtype=np.float64)[:, None]
        if detection.perspective is not None:  # read in the view with a perspective undone: go through it
            xs, ys = perspective.undone_positions(xs, ys, detection.perspective, self.view.shape)
        # each pixel's place in the folded tile, exactly as ``lattice.fold`` puts it there: float64 for the
        # sums (positions far from the origin), float32 for the remap
        self.ux = self.matrix[0, 0] * xs + (self.matrix[0, 1] * ys + self.offset[0])
        self.uy = self.matrix[1, 0] * xs + (self.matrix[1, 1] * ys + self.offset[1])
        self.tx = np.mod(self.ux, wm.PERIOD).astype(np.float32)
        self.ty = np.mod(self.uy, wm.PERIOD).astype(np.float32)
        self.tile = expected_tile(self.layout, detection.payload, detection.alignment)
        decoys = [self.render(np.roll(turn(self.tile), shift, axis=(0, 1)).astype(np.float32))
                  for turn in (lambda t: t, np.rot90) for shift in DECOY_SHIFTS]
        self.null_factor = _null_factor(self.view, decoys)

    def render(self, folded_tile: np.ndarray) -> np.ndarray:
        """A folded-tile pattern drawn over the view where the decoder found the tiles."""
        return _render(folded_tile, self.tx, self.ty)

    def binding(self) -> binding.Binding:
        """The mark's binding to this picture (``binding``): the cells are the embedded frame's, found by
        turning the upright frame's cell boundaries the way the picture's tiles turned."""
        alignment = self.detection.alignment
        upright_x = np.tile(np.arange(wm.PERIOD, dtype=np.float32), (wm.PERIOD, 1))
        turned = (_aligned(upright_x, alignment), _aligned(upright_x.T.copy(), alignment))
        # along each folded axis, the upright coordinate that varies there wraps at a cell boundary
        starts = []
        for axis in (1, 0):
            line = next(t for t in turned if np.ptp(t[0] if axis == 1 else t[:, 0]) > 0)
            values = np.mod(line[0] if axis == 1 else line[:, 0], binding.CELL)
            jump = int(np.argmax(np.abs(np.diff(np.append(values, values[0])))))
            starts.append(jump + 0.5)  # between folded pixels jump and jump + 1 (pixel centres at integers)
        cells = binding.Cells(self.ux - starts[0], self.uy - starts[1])
        binding_tile = _aligned(wm.expand(self.layout.binding), alignment).astype(np.float32)
        pilot_tile = _aligned(self.layout.pilot_tile, alignment).astype(np.float32)
        cell_area = binding.CELL ** 2 / abs(float(np.linalg.det(self.matrix)))
        return binding.read(self.view, self.work, cells, self.render(binding_tile), self.render(pilot_tile),
                            self.null_factor, cell_area)


def local_map(found: DecodedMark, picture_size: tuple[int, int], area=None) -> LocalMap:
    """The map of a found mark over its working view, for a picture of ``picture_size`` (width, height);
    ``area``: the part of it the marked picture fills (``LocalMap``)."""
    view, tile, null_factor = found.view, found.tile, found.null_factor
    tx, ty = found.tx, found.ty
    expected = found.render(tile)
    # the view may be the centre of a longer working view (``bounded``): boxes are mapped through both
    full, work = found.full, found.work
    top, left = (full.shape[0] - work.shape[0]) // 2, (full.shape[1] - work.shape[1]) // 2
    fx, fy = full.shape[1] / picture_size[0], full.shape[0] / picture_size[1]
    pad = ((top, full.shape[0] - work.shape[0] - top), (left, full.shape[1] - work.shape[1] - left))
    product = np.pad(view * expected, pad)

    def displaced(view_box) -> float:
        """The best z in the box with the expected pattern moved by up to a chip either way: a mark that is
        there but off the global lattice (a perspective, a local warp) comes back; a removed one does not."""
        r0, c0, r1, c1 = view_box
        r0, r1 = max(0, r0 - top), min(view.shape[0], r1 - top)
        c0, c1 = max(0, c0 - left), min(view.shape[1], c1 - left)
        if r1 <= r0 or c1 <= c0:
            return 0.0
        patch, px, py = view[r0:r1, c0:c1], tx[r0:r1, c0:c1], ty[r0:r1, c0:c1]
        best = -np.inf
        for dy in DISPLACEMENTS:
            for dx in DISPLACEMENTS:
                moved = patch * _render(tile, (px + dx) % wm.PERIOD, (py + dy) % wm.PERIOD)
                best = max(best, float(moved.sum() / np.sqrt(max(null_factor * float((moved * moved).sum()), 1e-30))))
        return best

    return LocalMap(product, product * product, null_factor, (fx, fy), picture_size, displaced, area)


def decoded_mark(work: np.ndarray, detection: wm.Detection, key: bytes | None) -> DecodedMark | None:
    """The decoder's view of ``detection``'s mark in the working view ``work``; None when nothing was decoded."""
    if detection.payload is None or detection.lattice is None or detection.alignment is None:
        return None
    return DecodedMark(work, detection, key)


def _null_factor(view: np.ndarray, decoys: list[np.ndarray], cell: int = 48) -> float:
    """How much the correlation with a pattern the picture does not carry varies, relative to the sum of
    squared products it is made of (1 for independent pixels; more, since neighbouring pixels of a
    band-passed view move together): measured over cells of every decoy."""
    ratios = []
    height, width = view.shape
    rows, cols = height // cell, width // cell
    if rows == 0 or cols == 0:
        return 1.0
    for decoy in decoys:
        product = (view * decoy)[:rows * cell, :cols * cell].reshape(rows, cell, cols, cell)
        sums = product.sum(axis=(1, 3))
        squares = (product * product).sum(axis=(1, 3))
        ratios.append(float(np.sum(sums * sums)) / max(float(np.sum(squares)), 1e-30))
    return max(1.0, float(np.mean(ratios)))


def position_box(position: str, size: tuple[int, int], turned: bool = False) -> tuple[int, int, int, int]:
    """The region of a picture of ``size`` where a mark drawn at ``position`` (an edge or corner) lies: a band
    along the picture's width, or along its height when the picture was ``turned`` a quarter turn since the
    mark (horizontal text) was drawn."""
    width, height = size
    short = min(width, height)
    along, across = round(REGION_LONG * short), round(REGION_SHORT * short)
    if turned:
        along, across = across, along
    horizontal, vertical = _direction(position)
    x0 = {-1: 0, 0: (width - along) // 2, 1: width - along}[horizontal]
    y0 = {-1: 0, 0: (height - across) // 2, 1: height - across}[vertical]
    return x0, y0, x0 + along, y0 + across


def _direction(position: str) -> tuple[int, int]:
    """(horizontal, vertical) of a position: -1 left/top, 0 middle, 1 right/bottom."""
    horizontal = -1 if "left" in position else 1 if "right" in position else 0
    vertical = -1 if "top" in position else 1 if "bottom" in position else 0
    return horizontal, vertical


def _position(horizontal: int, vertical: int) -> str | None:
    names = {(h, v): p for p in POSITIONS for h, v in [_direction(p)]}
    return names.get((horizontal, vertical))


MAX_TILT_DEG = 10.0  # beyond this from a quarter turn, a corner of the original is no corner of the picture


def where_now(position: str, detection: wm.Detection) -> tuple[str, bool] | None:
    """Where the original's ``position`` lies in the picture the detection was made in, undoing quarter
    turns and mirrors the decoder measured, and whether the original's horizontal now runs vertically;
    None when the picture is turned too far from upright for its corners to be the original's."""
    if detection.lattice is None or detection.alignment is None:
        return None
    to_original = wm.to_upright(detection.lattice, detection.alignment)
    angle = (detection.angle_deg or 0.0) % 90.0
    if min(angle, 90.0 - angle) > MAX_TILT_DEG:
        return None
    direction = np.linalg.solve(to_original, np.array(_direction(position), dtype=np.float64))
    direction /= max(np.linalg.norm(direction), 1e-12)
    horizontal, vertical = (int(np.sign(c)) if abs(c) > 0.38 else 0 for c in direction)
    across = np.linalg.solve(to_original, np.array([1.0, 0.0]))
    return _position(horizontal, vertical), bool(abs(across[1]) > abs(across[0]))


@dataclass(frozen=True)
class Localisation:
    """The found mark's map and the regions its payload names: where the visible label and the author's
    ID were drawn, as they lie in this picture."""

    overall_z: float
    grid: list[list[float]]
    regions: tuple[Region, ...]  # named "visible-label" / "author-id" (the payload's layout)
    area: tuple[int, int, int, int] | None = None  # the box the grid covers (a pasted picture); None: all

    def region(self, name: str) -> Region | None:
        return next((r for r in self.regions if r.name == name), None)

    def as_record(self) -> dict:
        return {"overall_z": round(self.overall_z, 1), "grid": self.grid,
                "regions": [r.as_record() for r in self.regions],
                **({"area": list(self.area)} if self.area is not None else {})}


def localise(found: DecodedMark, picture_size: tuple[int, int], area=None) -> Localisation:
    """The map of a found mark and, when its payload carries the layout, the regions of its visible marks
    as they lie in this picture (``picture_size``: width, height). ``area``: where the marked picture lies
    in a canvas the mark was read in whole (a phone screenshot at full width, a pad: ``canvas_area``) —
    its regions are that picture's corners, not the canvas's bars. A mark read in a picture pasted into
    this one (``Detection.inset``) is mapped over that picture alone."""
    detection = found.detection
    if detection.inset is not None:  # the view is the pasted picture's own: its boxes move by its corner
        x0, y0, x1, y1 = area = detection.inset
        local, within, shift = local_map(found, (x1 - x0, y1 - y0)), (0, 0, x1 - x0, y1 - y0), (x0, y0)
    else:
        local, within, shift = local_map(found, picture_size, area), area or (0, 0, *picture_size), (0, 0)
    regions = []
    payload = detection.payload
    for name, position in (("visible-label", payload.label_position), ("author-id", payload.author_position)):
        now = where_now(position, detection) if position else None
        if now is not None and now[0] is not None:
            bx0, by0, bx1, by1 = position_box(now[0], (within[2] - within[0], within[3] - within[1]), now[1])
            box = (bx0 + within[0], by0 + within[1], bx1 + within[0], by1 + within[1])
            region = local.region(name, box, now[0])
            regions.append(replace(region, box=(box[0] + shift[0], box[1] + shift[1], box[2] + shift[0],
                                                box[3] + shift[1])))
    return Localisation(local.overall_z, local.grid(), tuple(regions), area)


def canvas_area(grey, detection: wm.Detection) -> tuple[int, int, int, int] | None:
    """Where the marked picture lies in a canvas the mark was read in whole (``inset.find`` on the 8-bit
    luminance ``grey``): a phone screenshot at full width, a pad, a letterbox. None when the mark was read
    in a pasted picture alone (``Detection.inset`` says where) or the picture is its own canvas."""
    return None if detection.inset is not None else inset.find(grey)


def localise_picture(pixels, detection: wm.Detection, key: bytes | None = None) -> Localisation | None:
    """``localise`` for a PIL picture (the decoder's own working view of it); None when nothing was decoded."""
    grey = pixels.convert("L")  # once, for the working view and the canvas both
    found = decoded_mark(wm.view_read_of_picture(grey, detection), detection, key)
    if found is None:
        return None
    return localise(found, pixels.size, canvas_area(grey, detection))


def binding_of_picture(pixels, detection: wm.Detection, key: bytes | None = None) -> binding.Binding | None:
    """The found mark's binding to a PIL picture (``binding``); None when nothing was decoded."""
    found = decoded_mark(wm.view_read_of_picture(pixels, detection), detection, key)
    return None if found is None else found.binding()
