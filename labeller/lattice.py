"""Finding a repeated tile's lattice in a picture, whatever geometry the picture went through.

The watermark repeats one tile over the picture, so its residual is periodic on a lattice spanned by two
vectors. A repost moves those vectors: a rescale changes their length, a rotation (any angle) turns them, a
mirror flips their handedness, an aspect change or a gentle perspective shears them. Whatever happened,
the autocorrelation of the residual still peaks at every lattice vector, so the lattice is measured there
— in two independent directions, not assumed square or upright:

1. the autocorrelation, on a spectrum whose narrow peaks are clipped to their neighbourhood's level, so a
   picture's own strong periodic texture (stripes, tiles, pixel art) cannot outshine the mark's lattice,
   which spreads its energy over many harmonics;
2. its strongest local maxima, paired into candidate bases of roughly equal length at roughly right angles
   (a square lattice after any rotation, mirror, aspect change of ±10% or keystone);
3. each basis scored over many lattice points and refined to a tenth of a pixel, since an error in a basis
   vector grows with every tile away from the centre.

Folding with a basis undoes the geometry up to the square's eight symmetries (which vector is which, and
their signs); ``DIHEDRAL`` lists them so the caller can test each against its keyed pilot.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

DEAD_LEVEL = 0.1  # of the residual's 90th percentile: below it a pixel has no detail (a flat synthetic area;
# measured on a phone screenshot: bars 0.002-0.007, the picture 0.008-0.22)
SQUARE_FROM = 12  # strongest peaks also completed to a square lattice on their own
PEAKS = 16  # autocorrelation maxima kept as basis vector candidates, whatever their direction
SECTOR_DEG, PER_SECTOR = 15, 2  # and the strongest in every 15-degree direction
SPECTRUM_CLIP = 4.0  # a spectral bin may exceed its neighbourhood's median power by this factor at most
MIN_SINE = np.sin(np.deg2rad(60))  # basis vectors at 60..120 degrees: a square after +-10% aspect and keystone
MAX_RATIO = 1.25  # and of lengths within 25% of each other
SCORE_POINTS = tuple((a, b) for a in range(-4, 5) for b in range(0, 5)
                     if (b > 0 or a > 0) and a * a + b * b <= 20)  # half-plane lattice points used for scoring
NEAR_POINTS = tuple(p for p in SCORE_POINTS if p[0] ** 2 + p[1] ** 2 <= 5)  # for ranking, before refinement


@dataclass(frozen=True)
class Lattice:
    """Two basis vectors (x, y) in the pixels of the view they were measured in, and how well the
    autocorrelation supports them (mean normalised autocorrelation over lattice points)."""

    u: tuple[float, float]
    v: tuple[float, float]
    score: float = 0.0

    @property
    def basis(self) -> np.ndarray:
        return np.array([self.u, self.v], dtype=np.float64).T  # columns u, v

    @property
    def period(self) -> float:
        """The side of a square tile of the same area."""
        return float(np.sqrt(abs(np.linalg.det(self.basis))))

    @property
    def angle_deg(self) -> float:
        return float(np.rad2deg(np.arctan2(self.u[1], self.u[0])))

    @property
    def mirrored(self) -> bool:
        return bool(np.linalg.det(self.basis) < 0)

    def to_tile(self, tile: int) -> np.ndarray:
        """The 2x2 matrix taking view pixels to tile pixels: u -> (tile, 0), v -> (0, tile)."""
        return tile * np.linalg.inv(self.basis)

    def scaled(self, factor: float) -> Lattice:
        return Lattice(tuple(np.multiply(self.u, factor)), tuple(np.multiply(self.v, factor)), self.score)

    @classmethod
    def square(cls, period: float) -> Lattice:
        return cls((period, 0.0), (0.0, period))


# --- autocorrelation ------------------------------------------------------------------------------------

def busiest_window(residual: np.ndarray, window: int) -> tuple[int, int, int, int]:
    """(top, left, h, w) of the ``window``-square part of ``residual`` to measure the lattice in: the most
    central one among those with the least dead area (pixels without any detail: the bars of a phone
    screenshot, a letterbox, padding), since a picture pasted into a screenshot is not always in the middle.
    Not the one with the most detail: where texture is strongest, the mark is weakest against it."""
    height, width = residual.shape
    h, w = min(height, window), min(width, window)
    if (h, w) == (height, width):
        return 0, 0, h, w
    step = max(8, window // 16)
    magnitude = np.abs(residual)
    level = DEAD_LEVEL * float(np.percentile(magnitude[::4, ::4], 90))
    dead = cv2.integral((magnitude < level).astype(np.float64))
    tops = np.arange(0, height - h + 1, step)
    lefts = np.arange(0, width - w + 1, step)
    t, l = np.meshgrid(tops, lefts, indexing="ij")
    share = (dead[t + h, l + w] - dead[t, l + w] - dead[t + h, l] + dead[t, l]) / (h * w)
    centre = np.hypot((t + h / 2 - height / 2) / height, (l + w / 2 - width / 2) / width)
    eligible = share <= share.min() + 0.05
    best = np.unravel_index(int(np.argmin(np.where(eligible, centre, np.inf))), share.shape)
    return int(t[best]), int(l[best]), h, w


def autocorrelation(residual: np.ndarray, max_lag: int, window: int) -> np.ndarray:
    """Normalised autocorrelation of the busiest window (at most ``window`` square) for lags up to
    ``max_lag``, without wrap-around, on a spectrum with its narrow peaks clipped."""
    top, left, h, w = busiest_window(residual, window)
    patch = residual[top:top + h, left:left + w]
    # zero padding past the largest lag keeps the correlation linear; sizes with small prime factors make
    # the transforms up to 2.6x faster than the bare sums (a one-off timing: 973 x 973 -> 1000 x 1000, 47 -> 18 ms)
    rows, cols = cv2.getOptimalDFTSize(h + max_lag + 1), cv2.getOptimalDFTSize(w + max_lag + 1)
    spectrum = np.fft.rfft2(patch, s=(rows, cols))
    power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)
    # A picture's own periodic texture puts its energy in a few bins far above their neighbours; the mark's
    # lattice spreads over many bins that each stand only a little above theirs. Clipping every bin to a
    # multiple of its neighbourhood's median keeps the second and silences the first.
    neighbourhood = cv2.medianBlur(power, 5)
    power = np.minimum(power, SPECTRUM_CLIP * neighbourhood + 1e-12)
    acf = np.fft.irfft2(power, s=(rows, cols))
    lag_y = np.minimum(np.arange(rows), rows - np.arange(rows))[:, None]
    lag_x = np.minimum(np.arange(cols), cols - np.arange(cols))[None, :]
    acf = acf / np.maximum((h - lag_y) * (w - lag_x), 0.25 * h * w)
    if not acf[0, 0] > 0:  # a flat picture: no texture, no lattice
        return np.zeros((rows, cols), np.float32)
    acf = (acf / acf[0, 0]).astype(np.float32)
    # Peaks of a whitened residual are a pixel wide; widen them so sub-pixel sampling is smooth.
    return cv2.GaussianBlur(acf, (0, 0), 1.0, borderType=cv2.BORDER_REFLECT)


RING = np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], axis=1)
RING_CHIPS = 1.5  # ring radius, in chips of the lattice the peak would belong to
CHIPS_PER_PERIOD = 32


def ring_radius(period) -> np.ndarray:
    """Where the ring around a lattice peak lies: past the peak's own width, which is about a chip."""
    return np.maximum(2.5, RING_CHIPS * np.asarray(period, dtype=np.float64) / CHIPS_PER_PERIOD)


def peakness(acf: np.ndarray, x: np.ndarray, y: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """How far the autocorrelation at lags (x, y) stands above the highest point of a ring around each.
    The mark's lattice makes isolated peaks; a picture's own straight lines make ridges (a horizon
    correlates with itself at every horizontal lag), which stand no higher than their ring and so count
    for nothing."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    spread = (len(RING),) + (1,) * x.ndim  # every ring point of every lag in one sampling pass
    ring = sample(acf, x[None] + radius * RING[:, 0].reshape(spread), y[None] + radius * RING[:, 1].reshape(spread))
    return sample(acf, x, y) - ring.max(axis=0)


def sample(acf: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples of the autocorrelation at lags (x, y), negative lags wrapping around. Indexes the
    flat array once per corner (the scoring of lattice hypotheses calls this ~2,000 times per image)."""
    rows, cols = acf.shape
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = x - x0, y - y0
    flat = acf.reshape(-1)
    left, right = x0 % cols, (x0 + 1) % cols
    top, bottom = (y0 % rows) * cols, ((y0 + 1) % rows) * cols
    return (flat[top + left] * (1 - fx) * (1 - fy) + flat[top + right] * fx * (1 - fy)
            + flat[bottom + left] * (1 - fx) * fy + flat[bottom + right] * fx * fy)


def score(acf: np.ndarray, u: np.ndarray, v: np.ndarray, max_lag: float, points=SCORE_POINTS,
          isolated: bool = True) -> np.ndarray:
    """Mean over the lattice points (within ``max_lag``) of bases ``u``, ``v`` (n x 2) of how far each
    stands out as an isolated peak (``isolated``), or of the autocorrelation itself (for refining a basis
    already chosen, where a smooth landscape matters more)."""
    total = np.zeros(u.shape[0])
    count = np.zeros(u.shape[0])
    radius = ring_radius(np.sqrt(np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0])))
    a, b = (np.array([p[k] for p in points], dtype=np.float64)[:, None] for k in (0, 1))
    x, y = a * u[:, 0] + b * v[:, 0], a * u[:, 1] + b * v[:, 1]  # every lattice point of every basis
    inside = np.hypot(x, y) < max_lag
    values = peakness(acf, x, y, radius) if isolated else sample(acf, x, y)
    for k in range(len(points)):  # summed point by point, in order
        total += np.where(inside[k], values[k], 0.0)
        count += inside[k]
    return total / np.maximum(count, 1)


def peaks(acf: np.ndarray, r_min: float, r_max: float, count: int = PEAKS) -> np.ndarray:
    """The strongest local maxima of the autocorrelation at lags between ``r_min`` and ``r_max``, one of
    each symmetric pair (the upper half-plane), as (x, y) rows: the ``count`` strongest overall, and the
    strongest few in every direction — a picture's own lines (a horizon, rows of windows) put a ridge of
    maxima along one direction that would otherwise fill the list."""
    rows, cols = acf.shape
    reach = int(np.ceil(r_max)) + 1
    ys = np.r_[0:reach + 1]
    xs = np.r_[-reach:reach + 1]
    patch = acf[np.ix_(ys % rows, xs % cols)]
    local_max = patch >= cv2.dilate(patch, np.ones((5, 5), np.uint8))
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    radius = np.hypot(xx, yy)
    keep = local_max & (radius >= r_min) & (radius <= r_max) & ((yy > 0) | (xx > 0)) & (patch > 0)
    xs_kept, ys_kept = xx[keep].astype(np.float64), yy[keep].astype(np.float64)
    # a first lattice vector is as long as the period, so its ring follows its own length
    values = peakness(acf, xs_kept, ys_kept, ring_radius(radius[keep]))
    xs_kept, ys_kept, values = xs_kept[values > 0], ys_kept[values > 0], values[values > 0]
    order = np.argsort(values)[::-1]
    sector = (np.degrees(np.arctan2(ys_kept, xs_kept)) // SECTOR_DEG).astype(int)
    chosen, per_sector = [], {}
    for rank, index in enumerate(order):
        taken = per_sector.get(sector[index], 0)
        if rank < count or taken < PER_SECTOR:
            chosen.append(index)
            per_sector[sector[index]] = taken + 1
    chosen = np.array(chosen, dtype=np.int64)
    return np.stack([xs_kept[chosen], ys_kept[chosen]], axis=1).astype(np.float64)


# --- candidate bases ------------------------------------------------------------------------------------

def _same_lattice(a: Lattice, b: Lattice, tolerance: float = 0.12) -> bool:
    coefficients = np.linalg.solve(a.basis, b.basis)
    return bool(np.all(np.abs(coefficients - np.round(coefficients)) < tolerance)
                and abs(abs(np.linalg.det(np.round(coefficients))) - 1) < 1e-9)


def refine(acf: np.ndarray, lattice: Lattice, max_lag: float) -> Lattice:
    """Each basis vector in turn moved to where the lattice scores best over its far points too: within a
    pixel in quarter-pixel steps, then within a quarter pixel in twentieths (an error of a tenth of a pixel
    is four tenths four tiles away)."""
    u, v = np.array(lattice.u), np.array(lattice.v)
    for reach, step in ((1.0, 0.25), (0.25, 0.05)):
        offsets = np.arange(-reach, reach + step / 2, step)
        grid = np.stack([g.ravel() for g in np.meshgrid(offsets, offsets)], axis=1)
        for which in (0, 1):
            moved = (u if which == 0 else v) + grid
            fixed = np.broadcast_to(v if which == 0 else u, moved.shape)
            scores = (score(acf, moved, fixed, max_lag, isolated=False) if which == 0
                      else score(acf, fixed, moved, max_lag, isolated=False))
            index = int(np.argmax(scores))
            if which == 0:
                u = moved[index]
            else:
                v = moved[index]
    return Lattice(tuple(u), tuple(v), lattice.score)


def candidates(residual: np.ndarray, period_range: tuple[float, float], count: int, window: int):
    """Lattice hypotheses for ``residual``, best first: every pair of strong autocorrelation peaks that
    could be a square tile's basis after the geometry a repost applies, scored, then refined as they are
    taken (an iterator)."""
    max_lag = 0.9 * min(residual.shape[0], residual.shape[1], window)
    r_min, r_max = 0.9 * period_range[0], min(1.15 * period_range[1], max_lag / 1.2)
    if r_max <= r_min:
        return iter(())
    acf = autocorrelation(residual, int(max_lag) + 2, window)
    found = peaks(acf, r_min, r_max)
    if len(found) < 2:
        return iter(())
    i, j = np.triu_indices(len(found), 1)
    u, v = found[i], found[j]
    # The second vector of a weak lattice may not stand out among the picture's own peaks: each strong peak
    # is also completed by the best vector near its quarter turn (a square after +-12% aspect, +-8 deg shear).
    lead = found[:SQUARE_FROM]
    stretch, skew = np.meshgrid(np.linspace(0.88, 1.12, 9), np.deg2rad(np.linspace(-8, 8, 9)))
    stretch, skew = stretch.ravel(), skew.ravel()
    turned = np.stack([-lead[:, 1], lead[:, 0]], axis=1)
    cos, sin = np.cos(skew), np.sin(skew)
    guesses = np.stack([(turned[:, None, 0] * cos - turned[:, None, 1] * sin) * stretch,
                        (turned[:, None, 0] * sin + turned[:, None, 1] * cos) * stretch], axis=2)
    lead_u = np.repeat(lead, guesses.shape[1], axis=0)
    guess_scores = score(acf, lead_u, guesses.reshape(-1, 2), max_lag, NEAR_POINTS).reshape(len(lead), -1)
    best_v = guesses[np.arange(len(lead)), np.argmax(guess_scores, axis=1)]
    u, v = np.concatenate([u, lead]), np.concatenate([v, best_v])
    lu, lv = np.hypot(u[:, 0], u[:, 1]), np.hypot(v[:, 0], v[:, 1])
    sine = np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]) / (lu * lv)
    ratio = np.maximum(lu, lv) / np.minimum(lu, lv)
    ok = (sine >= MIN_SINE) & (ratio <= MAX_RATIO)
    if not ok.any():
        return iter(())
    u, v = u[ok], v[ok]
    # A coarser lattice whose points all lie on the true one (twice the basis, or its diagonals) scores as
    # well as the true one; the finer relatives of every pair are offered too, and the pilot decides.
    halves = [(u / 2, v / 2), ((u + v) / 2, (u - v) / 2)]
    for fu, fv in halves:
        fine = np.minimum(np.hypot(fu[:, 0], fu[:, 1]), np.hypot(fv[:, 0], fv[:, 1])) >= r_min
        u, v = np.concatenate([u, fu[fine]]), np.concatenate([v, fv[fine]])
    scores = score(acf, u, v, max_lag, NEAR_POINTS)
    picks: list[Lattice] = []
    for index in np.argsort(scores)[::-1]:
        candidate = Lattice(tuple(u[index]), tuple(v[index]), float(scores[index]))
        if not any(_same_lattice(candidate, p) for p in picks):
            picks.append(candidate)
        if len(picks) == count:
            break
    return _refined(acf, picks, max_lag)


def _refined(acf: np.ndarray, picks: list[Lattice], max_lag: float):
    """Each pick refined on the raw autocorrelation, lazily (a decoder that reads the mark from the first
    one never pays for refining the rest); refined bases that meet on one lattice are given once."""
    unique: list[Lattice] = []
    for pick in picks:
        lattice = refine(acf, pick, max_lag)
        if not any(_same_lattice(lattice, q) for q in unique):
            unique.append(lattice)
            yield lattice



# --- folding --------------------------------------------------------------------------------------------

def tile_map(shape: tuple[int, int], lattice: Lattice, tile: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """How ``fold`` places a view of ``shape`` in tile coordinates: the 2x2 matrix, the offset that keeps the
    warped view in positive coordinates, and the warped size (width, height). A pixel (x, y) of the view
    lands in the folded tile at ``(matrix @ (x, y) + offset) mod tile``."""
    matrix = lattice.to_tile(tile)
    height, width = shape
    corners = np.array([[0, 0], [width, 0], [0, height], [width, height]], dtype=np.float64) @ matrix.T
    offset = -corners.min(axis=0)
    out_w, out_h = np.ceil(corners.max(axis=0) + offset).astype(int)
    return matrix, offset, (int(out_w), int(out_h))


def fold(residual: np.ndarray, lattice: Lattice, tile: int) -> np.ndarray:
    """Warp ``residual`` so the lattice becomes a square grid of ``tile`` pixels, and average every tile
    onto one (``tile`` x ``tile``)."""
    matrix, offset, (out_w, out_h) = tile_map(residual.shape, lattice, tile)
    affine = np.hstack([matrix, offset[:, None]]).astype(np.float32)
    warped = cv2.warpAffine(residual, affine, (int(out_w), int(out_h)), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    weight = cv2.warpAffine(np.ones_like(residual), affine, (int(out_w), int(out_h)), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    rows, cols = -(-int(out_h) // tile) * tile, -(-int(out_w) // tile) * tile
    total = np.zeros((rows, cols), np.float32)
    count = np.zeros((rows, cols), np.float32)
    total[:out_h, :out_w] = warped
    count[:out_h, :out_w] = weight
    folded = total.reshape(rows // tile, tile, cols // tile, tile).sum(axis=(0, 2))
    counted = count.reshape(rows // tile, tile, cols // tile, tile).sum(axis=(0, 2))
    return folded / np.maximum(counted, 1e-6)


# The eight symmetries of a square tile: a folded tile is one of them applied to the embedded tile.
DIHEDRAL = (
    ("identity", lambda t: t),
    ("rot90", lambda t: np.rot90(t, 1)),
    ("rot180", lambda t: np.rot90(t, 2)),
    ("rot270", lambda t: np.rot90(t, 3)),
    ("flip", lambda t: t[:, ::-1]),
    ("transpose", lambda t: t.T),
    ("flip-vertical", lambda t: t[::-1, :]),
    ("anti-transpose", lambda t: np.rot90(t, 2).T),
)


def _linear_part(op) -> np.ndarray:
    """The 2x2 matrix (x, y) -> (x', y') by which ``op`` moves positions in an array, about its centre."""
    xs, ys = np.meshgrid(np.arange(3), np.arange(3))
    moved_x, moved_y = op(xs), op(ys)  # at each new position, the old position it holds
    new_to_old = np.array([[moved_x[1, 2] - 1, moved_x[2, 1] - 1], [moved_y[1, 2] - 1, moved_y[2, 1] - 1]])
    return np.round(np.linalg.inv(new_to_old)).astype(np.float64)


DIHEDRAL_MATRICES = tuple(_linear_part(op) for _, op in DIHEDRAL)
DIHEDRAL_INVERSE = (lambda t: t, lambda t: np.rot90(t, -1), lambda t: np.rot90(t, 2), lambda t: np.rot90(t, -3),
                    lambda t: t[:, ::-1], lambda t: t.T, lambda t: t[::-1, :], lambda t: np.rot90(t, 2).T)
