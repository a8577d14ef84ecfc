"""The watermark's binding to its picture: a mark copied onto another picture reads as not belonging there.

Why. A payload names an author, but the pattern that carries it is only a faint additive signal: adding a
labelled picture's high-pass residue to another picture moves the mark with it, private key or not, and the
second picture would then read as the first author's label. So the mark also carries a check of the picture
it was embedded in, without a payload bit:

- **Cells.** The mark's canonical frame is cut into square cells of ``CELL`` canonical pixels (half a tile,
  so the decoder, which knows where the tiles are, knows where the cells are in any rotation, mirror, scale
  or crop of the picture).
- **A coarse feature per cell**: its centre square's mean brightness minus the rest of the cell's
  (``Cells.weights``). It is the same in all eight orientations of the square, lives at a scale no repost
  blurs or re-encodes away, and a residue of fine detail barely moves it — so it follows the picture, not
  the mark. It is taken from the pixels as they are: a blur would mix a pad's or a fill's brightness into
  the cells beside it (measured: pads and turns read "foreign" on 94 of 2,519 benign decodes with a blur
  of 0.15 cell, on 1 without).
- **The binding pattern**: a keyed chip pattern drawn apart from the payload's, in each cell
  with the sign (and, up to ``FEATURE_SCALE``, the weight) of that cell's feature, at ``AMPLITUDE`` times a
  pilot chip's amplitude, inside the mark's own power budget.
- **The reading**: the decoder re-measures every whole cell's feature in the picture it has — leaving out
  cells that take in a frame a repost added (``frame``) — and correlates
  the picture with the binding pattern signed by those features. On the picture it was embedded in (or any
  repost of it) the signs agree, and the correlation reaches what the mark's pilot, correlated cell by cell,
  predicts (``expected_z``); on another picture they agree by chance, and the correlation falls to noise.

A binding is judged only with evidence enough (``Binding.verdict``): "bound" when the correlation stands out
of what chance agreement could give, "foreign" only when it falls far short of what a bound mark would show
*and* the prediction itself is strong; anything else is "cannot tell" (a thumbnail of a big picture, read
at its coarse layer's period, a 10% crop with a few cells, a flat picture whose cells have no feature).

Threat model (also in ``watermark`` and the README). The feature is public, so a copier who knows the
scheme could repaint the target picture's cells until their features match the source's — visible
brightness steps at the cell grid. A copy that carries the source's own visible structure along (the
high-pass residue of a striped picture is its stripes; a big photo's residue shrunk onto a small picture
keeps its edges) shares the source's cells and can read "bound": the copy then shows the source. With the
open key anyone can instead write a fresh, bound mark naming anyone (reading it is the open key's
purpose); with a private key, writing a bound mark needs the key.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import cv2
import numpy as np

from . import inset

CELL = 32  # canonical pixels per cell side: half a tile, so a tile holds 2 x 2 cells
CENTRE = 0.5  # the centre square's side, as a share of the cell's (a quarter of its area)
FEATURE_FLOOR = 1.0  # grey levels of centre-minus-rest a cell needs before it carries a sign at all
FEATURE_SCALE = 3.0  # and the grey levels above that at which its sign is drawn at full weight
PLACEMENT_PX = 0.5  # how far a repost's resampling may move the centre square's edge over the picture
NOISE_MARGIN = 2.0  # a cell's difference must stand this many of its own uncertainties above the floor
AMPLITUDE = 0.35  # the binding chips' amplitude, relative to a pilot chip's
MIN_COVER = 0.9  # a cell must lie this much inside the view to be measured
FRAME_MARGIN = 6  # view pixels a frame is widened by: the edge a resampler and a codec smear over the fill
BOUND_Z = 4.0  # "bound": the correlation stands this far out of what chance agreement of signs gives
FOREIGN_EXPECTED_Z = 8.0  # "foreign" needs a prediction at least this strong
FOREIGN_SHARE = 0.25  # and a correlation below this share of the prediction


def binding_chips(key: bytes, tile: int) -> np.ndarray:
    """The keyed ±1 chip pattern of the binding (``tile`` x ``tile`` chips), apart from the payload's."""
    seed = hmac.new(key, b"aimark-watermark-binding", hashlib.sha256).digest()
    rng = np.random.default_rng(np.frombuffer(seed, dtype=np.uint64))
    return rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(tile, tile))


class Cells:
    """Every pixel's cell, and whether it lies in the cell's centre square. ``ux``/``uy`` are the pixels' cell
    coordinates in canonical pixels (cell boundaries at multiples of ``CELL``)."""

    def __init__(self, ux: np.ndarray, uy: np.ndarray):
        col, row = np.floor(ux / CELL).astype(np.int64), np.floor(uy / CELL).astype(np.int64)
        half = CENTRE * CELL / 2
        self.centre = ((np.abs(ux - col * CELL - CELL / 2) < half) & (np.abs(uy - row * CELL - CELL / 2) < half)).ravel()
        self.row0, self.col0 = int(row.min()), int(col.min())
        self.rows, self.cols = int(row.max()) - self.row0 + 1, int(col.max()) - self.col0 + 1
        self.index = ((row - self.row0) * self.cols + (col - self.col0)).ravel()
        self.shape = ux.shape
        self.pixels = np.bincount(self.index, minlength=self.rows * self.cols)  # per cell

    def weights(self, lum: np.ndarray, cell_area_px: float) -> np.ndarray:
        """Each cell's weight in [-1, 1]: the sign of its centre-minus-rest brightness, weighted by how far
        that stands above ``FEATURE_FLOOR`` (full weight ``FEATURE_SCALE`` above it). A smooth cell's
        difference is a few tenths of a grey level that a resampler or a codec can flip, so it carries no
        sign (measured: a gradient sky's phone screenshot read z -0.6 against a prediction of 5.2 before the
        floor). 0 too for a cell less than ``MIN_COVER`` inside the view: cut by an edge, its feature is not
        the embedded cell's. ``cell_area_px`` is how many of ``lum``'s pixels a whole cell covers."""
        size = self.rows * self.cols
        values = lum.ravel().astype(np.float64)
        sums = [np.bincount(self.index[part], weights=values[part], minlength=size)
                for part in (self.centre, ~self.centre)]
        centre = np.bincount(self.index[self.centre], minlength=size)
        counts = (centre, self.pixels - centre)
        whole = (self.pixels >= MIN_COVER * cell_area_px) & (counts[0] > 0) & (counts[1] > 0)
        feature = sums[0] / np.maximum(counts[0], 1) - sums[1] / np.maximum(counts[1], 1)
        # the difference's own uncertainty: the centre square's edge (4 x its side, in pixels) moved by
        # PLACEMENT_PX over the cell's mean gradient changes the centre's mean by about this much
        gradient = np.abs(np.diff(lum, axis=1, append=lum[:, -1:])) + np.abs(np.diff(lum, axis=0, append=lum[-1:]))
        mean_gradient = self.sum(gradient) / np.maximum(self.pixels, 1)
        side = CENTRE * np.sqrt(cell_area_px)
        uncertainty = mean_gradient * 4.0 * PLACEMENT_PX / max(side, 1.0)
        strength = np.clip((np.abs(feature) - FEATURE_FLOOR - NOISE_MARGIN * uncertainty) / FEATURE_SCALE, 0.0, 1.0)
        return np.where(whole, np.sign(feature) * strength, 0.0)

    def per_pixel(self, per_cell: np.ndarray) -> np.ndarray:
        return per_cell[self.index].reshape(self.shape).astype(np.float32)

    def sum(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.index, weights=values.ravel().astype(np.float64), minlength=self.rows * self.cols)


def frame(lum: np.ndarray) -> np.ndarray:
    """What a repost put around the picture: a pad, a letterbox, the fill a rotation adds, a caption or a
    screenshot's bar — pixels with no fine detail at all (not even the mark's, which every pixel of the
    picture carries) that reach the view's border (``inset.surround``), widened by ``FRAME_MARGIN``. A cell
    that takes in any of it is not the embedded cell: a few fill pixels move a smooth cell's brightness by
    grey levels (measured: a 10-degree turn of a smooth sky read "foreign" before cells touching the fill
    were left out)."""
    size = 2 * FRAME_MARGIN + 1
    return cv2.dilate(inset.surround(lum).astype(np.uint8), np.ones((size, size), np.uint8)).astype(bool)


def upright_weights(work: np.ndarray, scale: float, factor: float) -> np.ndarray:
    """The embedder's cell weights for a picture seen as ``work`` (its luminance reduced by ``factor``) whose
    canonical frame is drawn at ``scale``: a (rows, cols) grid of cells from the frame's top-left corner, 0
    where a cell is cut by the picture's edge."""
    height, width = work.shape

    def cell_coordinate(count: int) -> np.ndarray:
        # a work pixel's centre in original pixels, then in canonical ones (pixel centres at integers, so
        # canonical pixel 0 spans -0.5..0.5 and the first cell -0.5..CELL - 0.5)
        return ((np.arange(count) + 0.5) / factor - 0.5) * scale + 0.5

    ux = np.broadcast_to(cell_coordinate(width)[None, :], work.shape)
    uy = np.broadcast_to(cell_coordinate(height)[:, None], work.shape)
    cells = Cells(ux, uy)
    grid = cells.weights(work, (CELL * factor / scale) ** 2).reshape(cells.rows, cells.cols)
    return np.pad(grid, ((cells.row0, 0), (cells.col0, 0))).astype(np.float32)


def cell_pattern(grid: np.ndarray, chips: np.ndarray, chip: int, rows: int, cols: int) -> np.ndarray:
    """The binding pattern in the canonical frame (``rows`` x ``cols`` canonical pixels): the keyed tile of
    ``chips`` (``chip`` pixels each) repeated, each cell signed and weighted by ``grid`` (cells beyond it: 0)."""
    tile = np.kron(chips, np.ones((chip, chip), dtype=np.float32))
    period = tile.shape[0]
    pattern = np.tile(tile, (rows // period + 1, cols // period + 1))[:rows, :cols]
    cells = np.kron(grid, np.ones((CELL, CELL), dtype=np.float32))
    cells = np.pad(cells, ((0, max(0, rows - cells.shape[0])), (0, max(0, cols - cells.shape[1]))))
    return pattern * cells[:rows, :cols]


@dataclass(frozen=True)
class Binding:
    """How the found mark's binding reads in this picture.

    ``z``: the correlation of the picture with the binding pattern signed by the picture's own cells;
    ``expected_z``: what it would be if the mark was embedded in this picture (the pilot's strength per cell,
    times the binding's amplitude and the cells' weights); ``chance_z``: its spread if the mark came from
    another picture (each cell's share of ``expected_z`` then takes a random sign); ``cells``: cells used."""

    z: float
    expected_z: float
    chance_z: float
    cells: int

    @property
    def verdict(self) -> str:
        """"bound", "foreign" or "cannot tell" (the thresholds' measured reasons: ``bench/binding.py``)."""
        if self.z >= BOUND_Z * self.chance_z and self.z >= BOUND_Z:
            return "bound"
        if self.expected_z >= FOREIGN_EXPECTED_Z and self.z < FOREIGN_SHARE * self.expected_z:
            return "foreign"
        return "cannot tell"

    def as_record(self) -> dict:
        return {"verdict": self.verdict, "z": round(self.z, 1), "expected_z": round(self.expected_z, 1),
                "chance_z": round(self.chance_z, 1), "cells": self.cells}


def read(view: np.ndarray, lum: np.ndarray, cells: Cells, binding_view: np.ndarray, pilot_view: np.ndarray,
         null_factor: float, cell_area_px: float) -> Binding:
    """The binding of a found mark. ``view``: the decoder's band-passed picture; ``lum``: its luminance;
    ``cells``: every pixel's cell as the decoder found the tiles; ``binding_view``/``pilot_view``: the binding
    tile's and the pilot's patterns rendered there; ``null_factor``: ``localise``'s calibration of a
    correlation's spread against the sum of squared products."""
    weight = cells.weights(lum, cell_area_px)
    weight[cells.sum(frame(lum)) > 0] = 0.0  # a cell that takes in a pad, a fill or a bar
    if not np.any(weight):
        return Binding(0.0, 0.0, 1.0, 0)
    signed = view * binding_view * cells.per_pixel(weight)
    spread = np.sqrt(max(float(np.sum(signed * signed)) * null_factor, 1e-30))
    # what a bound mark would give, per cell: the pilot's correlation there (a pilot chip is 1, a binding chip
    # AMPLITUDE x the weight, and the binding fills four times the pilot's chips) times the weight squared
    contributions = 4.0 * AMPLITUDE * cells.sum(view * pilot_view) * weight ** 2 / spread
    return Binding(float(np.sum(signed)) / spread, float(contributions.sum()),
                   float(np.sqrt(1.0 + np.sum(contributions ** 2))), int(np.count_nonzero(weight)))
