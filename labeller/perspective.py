"""A perspective (a photo of a screen, a keystone) measured from the mark's own lattice, and undone.

An affine warp (a rescale, a turn, an aspect change) leaves a tiled mark on one lattice; a perspective does
not. Under a 5% keystone the top row's tiles are 10% narrower than the bottom row's, so one fold over the
whole view lines up its middle only and the pilot drowns (measured: ``bench/robustness.py``'s keystone 5%
read on 18 of 41 pictures; undoing the attack's own homography first read 40, a throwaway check).

Any homography is an affine map followed by a pure perspective about the view's centre,
``P(z) = z / (1 + g.z)`` — two numbers, ``g``. The decoder's affine lattice handles the first; this module
measures ``g`` so that it can be undone. Near a view point ``y`` every lag of the autocorrelation is the
centre's lag times P's Jacobian there, so the autocorrelation of a window in each corner shows the centre
window's peaks moved by that Jacobian. ``g`` is the pair under which the corners' autocorrelations, summed,
stand highest at the centre's strongest peaks so moved. It needs no lattice: the peaks the windows share
are the mark's, since a picture's own texture differs from corner to corner. (Measured on the 41 pictures,
keystone 5%, a throwaway script: fitting a lattice first and ``g`` to it read 28-31, lost where the lattice
measured at the centre was a little off; the peaks alone 33.)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .lattice import autocorrelation, peakness, peaks, ring_radius, sample

WINDOW_SHARE = 0.4  # a window's side, of the view's short side: 3 tiles of a big photo's fine layer
MIN_WINDOW, MAX_WINDOW_SHARE = 256, 0.6  # and at least 256 px (almost two 144-px tiles of a picture marked
# at its own frame) where the view allows it. Measured (41 pictures, keystone 5%, a throwaway script): 0.4
# alone read 30 (the small pictures' windows held one tile), 0.5 alone 31 and 0.6 alone 30 (the big photos'
# corners averaged too much of the warp), the rule 33.
PEAKS = 24  # the centre window's strongest autocorrelation peaks followed into the corners
SPAN = 0.10  # the strongest perspective searched: 10% more or less scale at the view's edges
COARSE_STEP, FINE_STEP = 0.01, 0.0025  # of scale at the edges: a 0.25% error is 0.75 px 3 tiles away
MIN_PERSPECTIVE = 0.01  # weaker than 1% at the edges: the affine decode has seen it already


@dataclass(frozen=True)
class Window:
    """A square of the view: its centre (from the view's centre, pixels), autocorrelation and reach."""

    x: float
    y: float
    acf: np.ndarray
    max_lag: float


def windows(residual: np.ndarray, lowest_period: float) -> tuple[Window, list[Window]] | None:
    """The centre window and the four corner ones of a whitened view, or None when a window cannot hold
    two tiles of ``lowest_period``."""
    height, width = residual.shape
    short = min(height, width)
    side = int(min(max(WINDOW_SHARE * short, MIN_WINDOW), MAX_WINDOW_SHARE * short))
    if side < 2 * lowest_period:
        return None

    def window(top: int, left: int) -> Window:
        max_lag = 0.9 * side
        acf = autocorrelation(residual[top:top + side, left:left + side], int(max_lag) + 2, side)
        return Window(left + side / 2 - width / 2, top + side / 2 - height / 2, acf, max_lag)

    centre = window((height - side) // 2, (width - side) // 2)
    return centre, [window(top, left) for top in (0, height - side) for left in (0, width - side)]


def jacobians(g: np.ndarray, x: float, y: float) -> np.ndarray:
    """P's Jacobian (n x 2 x 2) for each row of ``g`` (n x 2) at the point of the undone view that lands on
    view point (x, y) (from the centre): P(z) = z / (1 + g.z), z = y / (1 - g.y)."""
    along = g[:, 0] * x + g[:, 1] * y
    zx, zy = x / (1 - along), y / (1 - along)
    d = 1 + g[:, 0] * zx + g[:, 1] * zy
    jac = np.empty((len(g), 2, 2))
    jac[:, 0, 0], jac[:, 0, 1] = d - zx * g[:, 0], -zx * g[:, 1]
    jac[:, 1, 0], jac[:, 1, 1] = -zy * g[:, 0], d - zy * g[:, 1]
    return jac / (d ** 2)[:, None, None]


def fit(found: tuple[Window, list[Window]], shape: tuple[int, int], lowest_period: float) -> np.ndarray | None:
    """``g`` (per view pixel, about the view's centre) of the perspective the corners show, or None when
    the centre shows no peak or the perspective is weaker than MIN_PERSPECTIVE (nothing the affine decode
    has not tried)."""
    centre, corners = found
    lags = peaks(centre.acf, 0.9 * lowest_period, centre.max_lag / 1.05, PEAKS)
    if len(lags) == 0:
        return None
    weights = np.maximum(peakness(centre.acf, lags[:, 0], lags[:, 1], ring_radius(np.hypot(*lags.T))), 0.0)
    half = np.array([shape[1] / 2, shape[0] / 2])

    def height(grid: np.ndarray) -> np.ndarray:
        total = np.zeros(len(grid))
        for corner in corners:
            moved = np.einsum("nij,kj->nki", jacobians(grid, corner.x, corner.y), lags)
            inside = np.hypot(moved[..., 0], moved[..., 1]) < corner.max_lag
            total += (np.where(inside, sample(corner.acf, moved[..., 0], moved[..., 1]), 0.0) * weights).sum(axis=1)
        return total

    g = np.zeros(2)
    for span, step in ((SPAN, COARSE_STEP), (COARSE_STEP, FINE_STEP)):
        steps = np.arange(-span, span + step / 2, step)
        grid = np.stack([a.ravel() for a in np.meshgrid(steps / half[0], steps / half[1])], axis=1) + g
        g = grid[int(np.argmax(height(grid)))]
    return g if float(np.abs(g * half).sum()) >= MIN_PERSPECTIVE else None


def matrix(g: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The 3x3 homography taking a pixel of the undone view to the view pixel it shows (P, in pixels)."""
    height, width = shape
    centre = np.array([[1, 0, width / 2], [0, 1, height / 2], [0, 0, 1.0]])
    return centre @ np.array([[1, 0, 0], [0, 1, 0], [g[0], g[1], 1.0]]) @ np.linalg.inv(centre)


def undone(view: np.ndarray, g) -> np.ndarray:
    """``view`` with the perspective ``g`` undone (same size; the edges reflected where it pulls them in)."""
    return cv2.warpPerspective(view, matrix(np.asarray(g), view.shape), (view.shape[1], view.shape[0]),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT)


def undone_positions(xs: np.ndarray, ys: np.ndarray, g, shape: tuple[int, int]):
    """Where view pixels (xs, ys) lie in the undone view: z = y / (1 - g.y) about the centre."""
    height, width = shape
    x, y = xs - width / 2, ys - height / 2
    scale = 1.0 / (1.0 - (g[0] * x + g[1] * y))
    return x * scale + width / 2, y * scale + height / 2
