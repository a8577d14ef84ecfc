"""Where the original's pixels went in a repost: local features (ORB) matched and fitted with RANSAC.

The fit maps the original's mark boxes into the repost, so that a scan can say "the author's ID was here,
inside the frame, and it is gone". Most reposts are a similarity (scale, rotation, shift: crops, rescales,
turns, added bars), fitted first because its four degrees of freedom are the hardest to fool. A repost
stretched on one side (an aspect change) or photographed off-axis (keystone) is not: a similarity then fits
only a band of the picture, and near the edges — where the marks are — it lands the boxes tens of pixels
off, even outside the frame ("cropped") or on other pixels ("altered"). So a perspective fit (a homography)
is tried too and kept when it explains clearly more matches and is a plausible view of a flat picture.
Measured here: at least 47 inliers for every repost of the corpus and at most 12 between different photos
(``toolbox.md``); a 10% stretch left the similarity 340 of 705 matches.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from aimark.labeller.vocabulary import Box as Rect

FEATURES = 1500
FAST_THRESHOLD = 5  # OpenCV's default (20) finds too few corners in flat skies and storm clouds
WORK_SIDE = 768  # long side the repost is matched at (the registry thumbnail is 512)
# A dark or washed-out picture has too little contrast for FAST's corners once a platform shrinks and
# re-encodes it: a held-out near-black drawing served at 720 px + WebP 80 fitted on 16 of 47 matches (24
# confirm a fit), so no removal on it could be placed. With each picture's local contrast equalised first
# (CLAHE, OpenCV's defaults but a clip of 4), 56 of 104, registration 0.61. Only where the plain features
# confirm nothing: elsewhere the fits stay exactly as they were (a throwaway check, bench's near-black,
# colour-chart, stripe and portrait pictures).
EQUALISE_CLIP = 4.0
EQUALISE_TILES = (8, 8)
APPEARANCE_BLUR = 0.04  # of the thumbnail's short side: the broad shapes ``appearance`` compares
APPEARANCE_MIN_SHARE = 0.1  # of the middle, shown in the repost, for ``appearance`` to compare only that
MIN_APPEARANCE = 0.5  # correlation of broad shapes below which a fit does not show the original (``registered``)
MIN_APPEARANCE_GAIN = 0.35  # nor when it shows less of them than this (a copied residue leaks ~0.1)
RATIO = 0.8  # Lowe's ratio test
REPROJECTION_PX = 4.0
MIN_INLIERS = 24
MIN_REGISTRATION = 0.4  # correlation of detail over the middle of the picture, for a geometry to be trusted
CLEAR_SHARE = 0.25  # of the middle clear of the marks, for a comparison to leave them out (else: all)
SIMILARITY_SHIFT_PX = 3
MIN_SHOWN_PX = 48  # a fit that shows the whole original smaller than this (short side, repost view) is degenerate
# A perspective fit replaces the similarity only when it explains this many more matches (share, and
# count): on a true similarity both fit the same matches, and a fit with more freedom must earn its place.
PERSPECTIVE_GAIN = 1.05
PERSPECTIVE_MORE = 8
# ...and only as a plausible view of a flat picture: the local scale may vary by this factor across the
# picture (a 5% keystone: 1.1), one axis may be stretched against the other by at most this factor.
PERSPECTIVE_SCALE_SPREAD = 1.5
PERSPECTIVE_STRETCH = 1.5
# How far (reference pixels) a mark's reference is lined up locally before its box is compared.
LOCAL_SEARCH_PX = 16
PIECES, PIECE_SHIFT_PX = 3, 8  # a mark's likeness is also taken a third at a time (``_piecewise_similarity``)
DETAIL_REACH_PX = 6  # three times the detail filter's outer sigma (2 px): how far an edge shows in it
DETAIL_FLOOR = 1.0  # grey levels squared: keeps flat regions from dividing by nothing

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Alignment:
    """A fitted original -> repost transform and how well it is supported."""

    matrix: np.ndarray  # 3x3, original pixels -> repost pixels (last row 0 0 1 unless a perspective)
    inliers: int
    matches: int
    by: str = "features"  # or "watermark": placed by the mark's own lattice (``placed_by_mark``)

    @property
    def confirmed(self) -> bool:
        return self.by == "watermark" or self.inliers >= MIN_INLIERS

    @property
    def perspective(self) -> bool:
        return not _affine(self.matrix)

    @property
    def scale(self) -> float:
        """Linear scale at the original's origin (the one scale of a similarity)."""
        return float(np.sqrt(abs(np.linalg.det(self.matrix[:2, :2]))))  # the matrix is kept with [2, 2] = 1

    @property
    def rotation_deg(self) -> float:
        return float(np.degrees(np.arctan2(self.matrix[1, 0], self.matrix[0, 0])))

    def map_box(self, box: Box) -> Box:
        """The repost-pixel bounding box of an original-pixel box."""
        return map_box(self.matrix, box)

    def as_record(self) -> dict:
        record = {"inliers": self.inliers, "matches": self.matches, "scale": round(self.scale, 4),
                  "rotation_deg": round(self.rotation_deg, 2),
                  "shift": [round(float(self.matrix[0, 2]), 1), round(float(self.matrix[1, 2]), 1)]}
        if self.perspective:
            record["fit"] = "perspective"
        if self.by != "features":
            record["placed_by"] = self.by
        return record


def _affine(matrix: np.ndarray) -> bool:
    """Whether a 3x3 transform has no perspective part (its last row is 0 0 1)."""
    return bool(np.allclose(matrix[2], (0.0, 0.0, 1.0)))


def project(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points`` (n x 2) through a 3x3 transform, with the perspective division."""
    mapped = np.hstack([points, np.ones((len(points), 1))]) @ matrix.T
    return mapped[:, :2] / mapped[:, 2:3]


def map_box(matrix: np.ndarray, box: Box) -> Box:
    """The bounding box of ``box`` (x0, y0, x1, y1) through a 3x3 transform."""
    x0, y0, x1, y1 = box
    mapped = project(matrix, np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], dtype=np.float64))
    return (int(np.floor(mapped[:, 0].min())), int(np.floor(mapped[:, 1].min())),
            int(np.ceil(mapped[:, 0].max())), int(np.ceil(mapped[:, 1].max())))


def local_scale(matrix: np.ndarray, point) -> float:
    """How much a 3x3 transform enlarges lengths near ``point`` (the root of its Jacobian's determinant)."""
    x, y = point
    w = matrix[2, 0] * x + matrix[2, 1] * y + matrix[2, 2]
    u = matrix[0, 0] * x + matrix[0, 1] * y + matrix[0, 2]
    v = matrix[1, 0] * x + matrix[1, 1] * y + matrix[1, 2]
    jacobian = np.array([[matrix[0, 0] * w - u * matrix[2, 0], matrix[0, 1] * w - u * matrix[2, 1]],
                         [matrix[1, 0] * w - v * matrix[2, 0], matrix[1, 1] * w - v * matrix[2, 1]]])
    jacobian /= w * w
    return float(np.sqrt(abs(np.linalg.det(jacobian))))


def _features(image: Image.Image, equalised: bool = False):
    grey = np.asarray(image if image.mode == "L" else image.convert("L"))
    if equalised:
        grey = cv2.createCLAHE(clipLimit=EQUALISE_CLIP, tileGridSize=EQUALISE_TILES).apply(grey)
    orb = cv2.ORB_create(nfeatures=FEATURES, fastThreshold=FAST_THRESHOLD)
    return orb.detectAndCompute(grey, None)


def align(original_thumbnail: Image.Image, original_size: tuple[int, int], repost) -> Alignment | None:
    """Fit the original -> repost transform (``repost`` a ``DecodedImage``), or None when too few agree.
    Where the features of the pictures as they are confirm no fit, they are sought again in both pictures
    with their local contrast equalised (``EQUALISE_CLIP``), and the better-supported fit is kept. Whether
    the fit shows the original's picture is ``registered``'s to say; a mirrored repost is ``align_mirrored``'s."""
    fit = _align(original_thumbnail, original_size, repost, equalised=False)
    if fit is not None and fit.confirmed:
        return fit
    again = _align(original_thumbnail, original_size, repost, equalised=True)
    return again if again is not None and (fit is None or again.inliers > fit.inliers) else fit


def align_mirrored(original_thumbnail: Image.Image, original_size: tuple[int, int], repost) -> Alignment | None:
    """The fit of a repost that shows the original mirrored, composed with the mirror (any mirror: one
    turned as well is a left-right mirror turned, and ORB's features turn with the picture); None unless
    confirmed. ORB's descriptors are not mirror-invariant, so a mirrored repost — a common way past a
    platform's matcher — matched too few features of its original upright to be placed, or a portrait or
    a poster nearly its own mirror image matched enough for a wrong fit that did not register: its marks were
    judged "removed" (low) while they stood there mirrored, or the repost was tied to nothing."""
    return _transposed_fit(original_thumbnail, original_size, repost, Image.Transpose.FLIP_LEFT_RIGHT)


def place(original_thumbnail: Image.Image, original_size: tuple[int, int], repost,
          marks: tuple[Box, ...] = ()) -> Alignment | None:
    """The fit that shows the original in the repost (``registered``): upright, else mirrored; None when
    neither does."""
    for fit_with in (align, align_mirrored):
        fit = fit_with(original_thumbnail, original_size, repost)
        if fit is not None and registered(original_thumbnail, original_size, fit, repost, marks):
            return fit
    return None


def _transposed_fit(original_thumbnail: Image.Image, original_size: tuple[int, int], repost,
                    transpose: Image.Transpose) -> Alignment | None:
    """The confirmed fit of the original transposed, composed with the transpose (original -> repost)."""
    fit = align(original_thumbnail.transpose(transpose), original_size, repost)
    if fit is None or not fit.confirmed:
        return None
    return Alignment(fit.matrix @ transposed(transpose, original_size), fit.inliers, fit.matches)


def _align(original_thumbnail: Image.Image, original_size: tuple[int, int], repost, equalised: bool):
    repost_view, repost_factor = repost.grey_scaled(WORK_SIDE, Image.Resampling.BILINEAR)
    thumb_factor = original_thumbnail.width / original_size[0]
    kp_a, des_a = _features(original_thumbnail, equalised)
    # the repost's features are the same for every candidate and every turn of it tried: found once
    kp_b, des_b = repost.view(("orb", equalised), lambda: _features(repost_view, equalised))
    if des_a is None or des_b is None or len(kp_a) < 3 or len(kp_b) < 3:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(des_a, des_b, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    if len(good) < 3:
        return None
    src = np.float32([kp_a[m.queryIdx].pt for m in good])
    dst = np.float32([kp_b[m.trainIdx].pt for m in good])
    matrix, mask = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=REPROJECTION_PX,
                                               maxIters=4000, confidence=0.999, refineIters=20)
    if matrix is None:
        return None
    full, inliers = np.vstack([matrix, [0, 0, 1]]), int(mask.sum())
    if len(good) >= inliers * PERSPECTIVE_GAIN + PERSPECTIVE_MORE:  # the similarity left many matches out
        # MAGSAC, not RANSAC: on 10% stretches and 5% keystones of three corpus photos the RANSAC homography
        # was up to 33 px off at the corners, MAGSAC's within 6.4 (a throwaway check against the attacks' truth)
        homography, kept = cv2.findHomography(src, dst, cv2.USAC_MAGSAC, REPROJECTION_PX, maxIters=4000,
                                              confidence=0.999)
        if (homography is not None and int(kept.sum()) >= inliers * PERSPECTIVE_GAIN + PERSPECTIVE_MORE
                and _plausible(homography, original_thumbnail.size)):
            full, inliers = homography / homography[2, 2], int(kept.sum())
    centre = (original_thumbnail.width / 2, original_thumbnail.height / 2)
    if local_scale(full, centre) * min(original_thumbnail.size) < MIN_SHOWN_PX:
        # The whole original collapsed onto a few pixels: ORB finds a corner at several pyramid levels, and a
        # fit shrinking everything onto one spot counts those repeated matches as inliers (a phone screenshot
        # showing a 4352-px photo at 30% of the screen: 47 "inliers" at a scale of 0.002, which then passed
        # the registration, whose box had vanished). Nothing can be judged there: no placed geometry.
        return None
    # thumbnail -> repost view, made original -> repost: scale in on the left, out on the right
    total = np.diag([1 / repost_factor, 1 / repost_factor, 1]) @ full @ np.diag([thumb_factor, thumb_factor, 1])
    return Alignment(matrix=total, inliers=inliers, matches=len(good))


# What each of PIL's transposes does to a point of a w x h picture: the 3x3 from its pixels to the
# transposed picture's (the quarter turns are counter-clockwise, as PIL's).
TRANSPOSES = {
    Image.Transpose.FLIP_LEFT_RIGHT: lambda w, h: [[-1, 0, w], [0, 1, 0], [0, 0, 1]],
    Image.Transpose.FLIP_TOP_BOTTOM: lambda w, h: [[1, 0, 0], [0, -1, h], [0, 0, 1]],
    Image.Transpose.ROTATE_90: lambda w, h: [[0, 1, 0], [-1, 0, w], [0, 0, 1]],
    Image.Transpose.ROTATE_180: lambda w, h: [[-1, 0, w], [0, -1, h], [0, 0, 1]],
    Image.Transpose.ROTATE_270: lambda w, h: [[0, -1, h], [1, 0, 0], [0, 0, 1]],
    Image.Transpose.TRANSPOSE: lambda w, h: [[0, 1, 0], [1, 0, 0], [0, 0, 1]],
    Image.Transpose.TRANSVERSE: lambda w, h: [[0, -1, h], [-1, 0, w], [0, 0, 1]],
}


def transposed(op: Image.Transpose, size: tuple[int, int]) -> np.ndarray:
    """The 3x3 that ``op`` applies to a point of a picture of ``size``."""
    return np.asarray(TRANSPOSES[op](*size), dtype=np.float64)


# The ways a picture can be its own image: mirrored either way, or turned half round (a phantom, a logo, a
# face-on portrait, a playing card).
SYMMETRIES = {
    "mirrored left to right": Image.Transpose.FLIP_LEFT_RIGHT,
    "mirrored top to bottom": Image.Transpose.FLIP_TOP_BOTTOM,
    "turned half round": Image.Transpose.ROTATE_180,
}
OTHER_PLACE = 0.05  # of the repost's short side: a corner placed this far off is a different placement


def symmetric_fits(original_thumbnail: Image.Image, original_size: tuple[int, int], fitted: Alignment,
                   repost, marks: tuple[Box, ...] = ()) -> list[tuple[str, Alignment]]:
    """Fits of the original to the repost other than ``fitted``, found by turning the original onto itself
    (``SYMMETRIES``): each confirmed and registered as a fit must be, and placing the picture elsewhere. A
    picture symmetric that way fits its repost both ways, and the features cannot tell which is true."""
    width, height = original_size
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    placed = project(fitted.matrix, corners)
    found = []
    for how, transpose in SYMMETRIES.items():
        other = _transposed_fit(original_thumbnail, original_size, repost, transpose)
        if other is None:
            continue
        moved = np.abs(project(other.matrix, corners) - placed).max()
        if (moved < OTHER_PLACE * min(repost.size)
                or not registered(original_thumbnail, original_size, other, repost, marks)):
            continue
        found.append((how, other))
    return found


# How far (share of the original's long side) the repost's frame may reach past the original's when placed by
# the watermark: the frame's map is within 3 original pixels of the attack's truth on the ten drawn textures
# (crops to 10%, turns, a 0.9 aspect, thumbnails from either layer, screenshots; a throwaway check).
MARK_FRAME_SLACK = 0.02
# ...and by how much the placement kept must line the picture up better than every other one tried.
MARK_PLACE_MARGIN = 0.2


@dataclass(frozen=True)
class MarkPlacement:
    """What the watermark's geometry made of a repost (``placed_by_mark``): the one placement that shows the
    original, or how many alike did (a picture repeating itself whole tiles apart), or neither."""

    fit: Alignment | None
    alike: int = 0


def placed_by_mark(original_thumbnail: Image.Image, original_size: tuple[int, int], detection,
                   repost, marks: tuple[Box, ...] = ()) -> MarkPlacement:
    """The original placed in the repost by the watermark read there (a ``watermark.Detection`` whose payload
    is the original's), where features cannot place it: on a picture whose features repeat every few
    pixels (stripes, knit, a grating, a fence) every corner matches many others and RANSAC finds no fit.

    The mark's lattice, symmetry and pilot shift say where the embedder's frame lies in the repost up to
    whole tiles (``watermark.frame_in_picture``), at the scale of either of the original's layers. Each
    placement that keeps the repost's frame (or the picture a canvas holds) inside the original's is
    tried. One is kept only when it shows the original (``registered``) and lines the picture up clearly
    better than every other (``MARK_PLACE_MARGIN``): a picture that repeats itself whole tiles apart shows
    its original at several, and which one is true cannot be told — then none is kept, and ``alike`` says
    how many did. Measured (a throwaway check of every placement tried against the attack's truth: the ten
    drawn textures, the seven drawn kinds and three photos under 9-14 attacks each — crops, rescales,
    thumbnails, a 0.9 aspect, pads, bars, screenshots, JPEG): every placement kept was the true one; crops
    of a periodic texture by more than a tile were left unplaced.

    Only a picture that repeats itself (``watermark.repeats_itself``) is placed so: that is why the features
    fail there, and elsewhere their failure is itself evidence. A labelled picture's residue copied onto a
    dark one carries the mark, its detail and — rectified by the clip at black — something of its broad
    shapes, and the features do not fit it; placed by the mark, the bench's pixel art's residue on a
    near-black picture passed ``registered`` and drew "metadata stripped" at high
    (``bench/false_accusations.py``; 1 of 141 copies of 37 pictures onto dark and sky grounds, a throwaway
    check). The residue of a picture that does not repeat itself is not periodic on its new ground
    (periodic share 0.10-0.18 for the drawn pixel art, flat illustrations, near-white and near-black pictures
    copied onto a dark one, against 0.25-0.41 for them marked)."""
    from aimark.labeller import inset, watermark

    frame = watermark.frame_in_picture(detection, repost.size)
    if (frame is None or (detection.binding is not None and detection.binding.verdict == "foreign")
            or not watermark.repeats_itself(watermark.view_read(repost, detection), detection.perspective)):
        return MarkPlacement(None)
    width, height = original_size
    # the picture's own part of the repost: the pasted picture the mark was read in, or the one a canvas
    # (a screenshot's bars, a pad, a caption bar) holds, else the whole frame
    x0, y0, x1, y1 = detection.inset or inset.find(repost.grey) or (0, 0, *repost.size)
    probes = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], dtype=np.float64)  # to lie inside: corners
    slack = MARK_FRAME_SLACK * max(width, height)
    # Read through an undone perspective, the repost's frame holds more than the original: a keystone fills
    # the corners it pulls in, which reach past the original by as much as the scale changes across the
    # picture. The middles of the frame's edges reach past it by at most half that (the narrowed edge's
    # middle lies on the original's edge), and a tile's shift still shows — on a keystoned knit, a slack
    # of the whole change let in the placements a tile above and below, which line a knit up as well.
    change = (abs(frame[2, 0]) * (x1 - x0) + abs(frame[2, 1]) * (y1 - y0)) / abs(frame[2, 2])
    if change > 0:
        xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
        probes = np.array([[xm, y0], [xm, y1], [x0, ym], [x1, ym]], dtype=np.float64)
        slack = (MARK_FRAME_SLACK + change / 2) * max(width, height)
    in_canonical = project(frame, probes).T  # before whole tiles
    period = watermark.PERIOD
    tried = []
    for scale in watermark.frame_scales(original_size):
        reach = in_canonical / scale  # in the original's pixels at that layer's scale
        steps = [range(int(np.ceil((-slack - reach[axis].min()) * scale / period)),
                       int(np.floor((limit + slack - reach[axis].max()) * scale / period)) + 1)
                 for axis, limit in ((0, width), (1, height))]
        for mx in steps[0]:
            for my in steps[1]:
                to_original = np.diag([1 / scale, 1 / scale, 1.0]) @ (np.array(
                    [[1, 0, period * mx], [0, 1, period * my], [0, 0, 1]], dtype=np.float64) @ frame)
                to_repost = np.linalg.inv(to_original)
                fit = Alignment(to_repost / to_repost[2, 2], 0, 0, by="watermark")
                tried.append((registration(original_thumbnail, original_size, fit, repost, marks), fit))
    tried.sort(key=lambda scored: scored[0], reverse=True)
    if not tried or tried[0][0] < MIN_REGISTRATION:
        return MarkPlacement(None)
    (best, fit), others = tried[0], tried[1:]
    if not appearance(original_thumbnail, original_size, fit, repost, marks).shows_original:
        return MarkPlacement(None)
    if others and others[0][0] > best - MARK_PLACE_MARGIN:
        return MarkPlacement(None, sum(score >= MIN_REGISTRATION for score, _ in tried))
    return MarkPlacement(fit)


def _plausible(homography: np.ndarray, size: tuple[int, int]) -> bool:
    """A homography that is a view of the whole flat picture: its corners in the same turning order (no
    fold), in front of the camera, the local scale nearly even over the picture, and neither axis stretched
    far against the other — not a fit to a few matches that flings the rest away."""
    width, height = size
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    mapped = project(homography, corners)
    if not np.all(np.isfinite(mapped)):
        return False
    edges = np.roll(mapped, -1, axis=0) - mapped
    turns = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    if not (np.all(turns > 0) or np.all(turns < 0)):
        return False
    w = homography[2, 0] * corners[:, 0] + homography[2, 1] * corners[:, 1] + homography[2, 2]
    if np.any(w <= 0):
        return False  # the picture's plane passes behind the camera
    scales = [local_scale(homography, point) for point in corners]
    if max(scales) > PERSPECTIVE_SCALE_SPREAD * min(scales):
        return False
    singular = np.linalg.svd(homography[:2, :2] / homography[2, 2], compute_uv=False)
    return singular[0] <= PERSPECTIVE_STRETCH * singular[1]


def registered(original_thumbnail: Image.Image, original_size: tuple[int, int], alignment: Alignment | None,
               repost, marks: tuple[Box, ...] = ()) -> bool:
    """Whether a fit shows the original's picture: confirmed by its matches, its detail lined up over the
    middle of the picture (``registration``), and its broad shapes too (``appearance``). Detail alone is
    what a labelled picture's high-pass residue added to another picture carries along (the copy attack):
    on a flat picture the residue is all the features see, and it registers — the held-out portrait's on a
    gradient sky, 0.93, and a false "metadata stripped" at high. Measured (a throwaway script, the 25
    held-out and 7 test pictures): 221 honest reposts fitted and registered (11 edits each, among them a
    platform's path, crops to 25% and 10%, a turn, a keystone, a caption bar, a denoiser) kept a
    correlation >= 0.76 and a gain >= 0.5 (a flat pixel-art picture under a gamma; next 0.8); 31 residues
    on drawn flat pictures fitted and registered, correlations up to 0.94 but gains <= 0.2 — but one, a
    brick texture's, whose broad shapes are too faint to measure (gain 1.9, correlation 0.25)."""
    return (alignment is not None and alignment.confirmed
            and registration(original_thumbnail, original_size, alignment, repost, marks) >= MIN_REGISTRATION
            and appearance(original_thumbnail, original_size, alignment, repost, marks).shows_original)


def registration(original_thumbnail: Image.Image, original_size: tuple[int, int], alignment: Alignment,
                 repost, marks: tuple[Box, ...] = ()) -> float:
    """How well the fitted geometry lines the repost up with the original over the middle of the picture
    (normalised correlation of detail, as for a mark's region). RANSAC can settle on a wrong transform
    with enough inliers on repetitive structure; a wrong transform scores near 0 here, a right one high.
    ``marks`` (original pixels) are left out, as what a removal changes: a long label at the middle of
    an edge reaches into the middle, and on a smooth picture its strokes are most of the detail there
    (a retina photo's, erased: 0.24; the middle clear of it: 0.97, a throwaway check)."""
    width, height = original_thumbnail.size
    factor = original_thumbnail.width / original_size[0]
    middle = (width // 5, height // 5, width - width // 5, height - height // 5)
    clear = _clear_of(middle, [tuple(round(v * factor) for v in mark) for mark in marks],
                      DETAIL_REACH_PX + SIMILARITY_SHIFT_PX)
    if Rect.of(clear).area >= CLEAR_SHARE * Rect.of(middle).area:  # else the marks fill it: compare it all
        middle = clear
    to_original = np.diag([1 / factor, 1 / factor, 1.0])
    return region_similarity(original_thumbnail, to_original, alignment, repost, middle).similarity


def _clear_of(box: Box, marks: list[Box], reach: int) -> Box:
    """The largest part of ``box`` that keeps ``reach`` pixels clear of every mark: for each mark it
    overlaps, the biggest of the strips above, below, left and right of it."""
    clear = Rect.of(box)
    for mark in marks:
        around = Rect.of(mark).padded(reach)
        if not around.overlaps(clear):
            continue
        strips = [Rect(clear.x0, clear.y0, clear.x1, min(clear.y1, around.y0)),
                  Rect(clear.x0, max(clear.y0, around.y1), clear.x1, clear.y1),
                  Rect(clear.x0, clear.y0, min(clear.x1, around.x0), clear.y1),
                  Rect(max(clear.x0, around.x1), clear.y0, clear.x1, clear.y1)]
        clear = max(strips, key=lambda strip: strip.area)
    return clear.as_tuple()


@dataclass(frozen=True)
class Appearance:
    """The repost's broad shapes against the original's under a fit (``appearance``): how alike they are
    (normalised correlation) and how strongly the repost shows the original's (regression gain)."""

    correlation: float
    gain: float

    @property
    def shows_original(self) -> bool:
        return self.correlation >= MIN_APPEARANCE and self.gain >= MIN_APPEARANCE_GAIN


def appearance(original_thumbnail: Image.Image, original_size: tuple[int, int], alignment: Alignment,
               repost, marks: tuple[Box, ...] = ()) -> Appearance:
    """The repost's broad shapes against the original's under the fitted geometry, over the middle of the
    picture where the repost shows it: luminance blurred to APPEARANCE_BLUR of the short side, each
    picture's plane (its overall slope of light) taken out. The registration compares detail, which a
    labelled picture's high-pass residue added to another picture carries along (the copy attack); a 3-px
    residue also leaks a tenth of the original's broad shapes, which on a flat picture can be all there is
    to correlate with — so the gain says how much of them the repost shows: an honest edit scales them by
    its change of contrast, a copy shows a tenth. ``marks`` (original pixels) are left out, as for the
    registration: a long label's plate can be most of a textured picture's broad shapes (brick's, erased:
    gain 0.08; without it 0.92, a throwaway check)."""
    width, height = original_thumbnail.size
    factor = original_thumbnail.width / original_size[0]
    to_repost = alignment.matrix @ np.diag([1 / factor, 1 / factor, 1.0])
    grey, to_repost = _repost_grey_near(repost, to_repost, (width / 2, height / 2))
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warped = cv2.warpPerspective(grey, to_repost.astype(np.float32), (width, height), flags=flags,
                                 borderMode=cv2.BORDER_REPLICATE)
    # where the repost shows the original at all (a crop, a turn's corners), away from the frame's edge by
    # the blur's reach: the fill beyond it is no shape of either picture
    inside = cv2.warpPerspective(np.ones(grey.shape, np.float32), to_repost.astype(np.float32), (width, height),
                                 flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    sigma = APPEARANCE_BLUR * min(width, height)
    reach = max(1, int(2 * sigma))
    inside = cv2.erode((inside > 0.99).astype(np.uint8), np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)) > 0
    whole = np.zeros((height, width), bool)
    whole[height // 5:height - height // 5, width // 5:width - width // 5] = True
    middle = whole.copy()
    for x0, y0, x1, y1 in marks:  # what a removal changes, and so no sign of another picture
        middle[max(0, int(y0 * factor) - reach):int(np.ceil(y1 * factor)) + reach,
               max(0, int(x0 * factor) - reach):int(np.ceil(x1 * factor)) + reach] = False
    if middle.sum() < CLEAR_SHARE * whole.sum():  # the marks fill it: compare it all
        middle = whole
    where = middle & inside
    if where.sum() < APPEARANCE_MIN_SHARE * middle.sum():
        where = middle  # too little of the middle is shown to tell: compare as the registration does
    ys, xs = np.nonzero(where)
    plane = np.stack([np.ones(len(xs)), xs / width, ys / height], axis=1)

    def shapes(picture: np.ndarray) -> np.ndarray:
        values = cv2.GaussianBlur(picture, (0, 0), sigma)[where].astype(np.float64)
        return values - plane @ np.linalg.lstsq(plane, values, rcond=None)[0]

    a = shapes(np.asarray(original_thumbnail.convert("L"), dtype=np.float32))
    b = shapes(warped)
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    if norm <= 0:
        return Appearance(0.0, 0.0)
    return Appearance(float((a * b).sum()) / norm, float((a * b).sum()) / float((a * a).sum()))


def region_similarity(reference: Image.Image, reference_to_original: np.ndarray, alignment: Alignment,
                      repost, box: Box) -> RegionComparison:
    """How alike the repost is to a reference picture of the original inside ``box`` (reference pixels).

    ``reference_to_original`` (3x3) places the reference in the original: the registry thumbnail, or the
    full-detail crop of a mark the registry keeps. The repost is brought into the reference's frame and
    the two are compared by the normalised correlation of their local detail: the whole reference (the mark
    and its context) is lined up first (``_local_offset``, what the fitted geometry is off by near the
    edges), then the box is compared at its best over shifts of up to three pixels more, and a third at a
    time where that is better (``_piecewise_similarity``: a fit a little off in scale). Near 1 where a
    mark is intact — even re-encoded, rescaled or brightened — and near 0 where it was erased or covered;
    blurring takes most of its edges."""
    to_repost = alignment.matrix @ reference_to_original
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    scale = local_scale(to_repost, centre)
    if scale < 1.0:  # the repost is coarser than the reference: compare at the repost's resolution
        reference = reference.resize((max(1, round(reference.width * scale)), max(1, round(reference.height * scale))),
                                     Image.Resampling.BOX)
        reference_to_original = reference_to_original @ np.diag([1 / scale, 1 / scale, 1.0])
        to_repost = to_repost @ np.diag([1 / scale, 1 / scale, 1.0])
        box = tuple(int(round(v * scale)) for v in box)
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    grey, to_repost = _repost_grey_near(repost, to_repost, centre)
    width, height = reference.size
    margin = LOCAL_SEARCH_PX  # the repost is brought in with a margin, to line the reference up locally
    to_repost = to_repost @ np.array([[1, 0, -margin], [0, 1, -margin], [0, 0, 1]], dtype=np.float64)
    size = (width + 2 * margin, height + 2 * margin)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    if _affine(to_repost):
        warped = cv2.warpAffine(grey, to_repost[:2].astype(np.float32), size, flags=flags,
                                borderMode=cv2.BORDER_REPLICATE)
    else:
        warped = cv2.warpPerspective(grey, to_repost.astype(np.float32), size, flags=flags,
                                     borderMode=cv2.BORDER_REPLICATE)
    detail = lambda a: cv2.GaussianBlur(a, (0, 0), 0.7) - cv2.GaussianBlur(a, (0, 0), 2.0)  # noqa: E731
    a, b = detail(np.asarray(reference.convert("L"), dtype=np.float32)), detail(warped)
    oy, ox = _local_offset(a, b, margin)
    around = b
    b = b[margin + oy:margin + oy + height, margin + ox:margin + ox + width]
    shift = SIMILARITY_SHIFT_PX
    x0, y0, x1, y1 = box
    x0, y0, x1, y1 = max(shift, x0), max(shift, y0), min(width - shift, x1), min(height - shift, y1)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return RegionComparison(1.0, 1.0)
    target = a[y0:y1, x0:x1] - a[y0:y1, x0:x1].mean()
    best, best_shift = -1.0, (0, 0)
    for dy in range(-shift, shift + 1):
        for dx in range(-shift, shift + 1):
            candidate = b[y0 + dy:y1 + dy, x0 + dx:x1 + dx]
            candidate = candidate - candidate.mean()
            norm = float(np.sqrt((target ** 2).sum() * (candidate ** 2).sum()))
            if norm > 0 and float((target * candidate).sum()) / norm > best:
                best, best_shift = float((target * candidate).sum()) / norm, (dy, dx)
    best = max(best, _piecewise_similarity(a, around, (x0, y0, x1, y1), (margin + oy, margin + ox)))
    # Detail kept inside the box, relative to the detail kept around it (which a global blur or a
    # re-encode lowers just as much): a blur over the mark alone leaves the box far behind its ring. Only
    # a loss is made up for: a sharpened repost gains 2-3.4x the detail in the ring and 1-1.2x in a mark's
    # saturated strokes (flower and rocket, unsharp mask 80-150%), which would read as the mark losing it.
    dy, dx = best_shift
    inner = np.zeros(a.shape, bool)
    inner[y0:y1, x0:x1] = True
    # The ring leaves out the reference's own border, which is often the picture's edge (a mark sits near
    # one): beyond it the repost has bars, a turn's fill or nothing, and the detail filter reaches across.
    ring = ~inner
    band = shift + DETAIL_REACH_PX
    ring[:band, :] = ring[-band:, :] = False
    ring[:, :band] = ring[:, -band:] = False
    shifted = np.roll(b, (-dy, -dx), axis=(0, 1))
    energy = lambda image, mask: float((image[mask] ** 2).mean()) + DETAIL_FLOOR  # noqa: E731
    kept_box = energy(shifted, inner) / energy(a, inner)
    kept_ring = energy(shifted, ring) / energy(a, ring) if ring.any() else 1.0
    return RegionComparison(best, kept_box / min(kept_ring, 1.0))


def _piecewise_similarity(a: np.ndarray, around: np.ndarray, box: tuple[int, int, int, int],
                          at: tuple[int, int]) -> float:
    """The box's likeness with each of its PIECES (cut along its long side) lined up on its own within
    PIECE_SHIFT_PX, averaged. A fit a little off in scale or shear drifts along a long mark: on a
    135-degree turn the perspective fit's axes were 1.8% apart at the author-ID's corner, 8 px across its
    430 px, and the whole box's likeness fell to 0.38 though the mark was untouched (its thirds: 0.7-0.9).
    An erased or covered mark has no strokes to line up at any shift. ``around``: the repost in the
    reference's frame with a margin; ``at``: where the reference's origin lies in it."""
    x0, y0, x1, y1 = box
    wide = x1 - x0 >= y1 - y0
    cuts = np.linspace(x0, x1, PIECES + 1) if wide else np.linspace(y0, y1, PIECES + 1)
    scores = []
    for start, end in zip(cuts[:-1].astype(int), cuts[1:].astype(int)):
        px0, py0, px1, py1 = (start, y0, end, y1) if wide else (x0, start, x1, end)
        target = a[py0:py1, px0:px1]
        if min(target.shape) < 3 or float(target.std()) < 1e-3:
            return -1.0
        top, left = at[0] + py0 - PIECE_SHIFT_PX, at[1] + px0 - PIECE_SHIFT_PX
        window = around[max(0, top):at[0] + py1 + PIECE_SHIFT_PX, max(0, left):at[1] + px1 + PIECE_SHIFT_PX]
        if window.shape[0] < target.shape[0] or window.shape[1] < target.shape[1]:
            return -1.0
        found = cv2.matchTemplate(window, target, cv2.TM_CCOEFF_NORMED)
        if not np.all(np.isfinite(found)):
            return -1.0
        scores.append(float(found.max()))
    return float(np.mean(scores))


def _local_offset(a: np.ndarray, b: np.ndarray, margin: int) -> tuple[int, int]:
    """Where the reference's detail ``a`` lines up best in ``b`` (the repost brought into the reference's
    frame with ``margin`` pixels more on every side), as an offset of at most ``margin``: the fitted
    geometry is a few pixels off near the picture's edges, where the marks are (its features are found
    at 768 px and a perspective fits a whole picture). The whole reference — the mark and the context kept
    around it — is matched, so a mark erased from its place does not move where it is looked for."""
    if a.shape[0] < 8 or a.shape[1] < 8 or float(a.std()) < 1e-3:
        return 0, 0
    scores = cv2.matchTemplate(b, a, cv2.TM_CCOEFF_NORMED)
    if not np.all(np.isfinite(scores)):
        return 0, 0
    y, x = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return int(y) - margin, int(x) - margin


def _repost_grey_near(repost, to_repost: np.ndarray, centre) -> tuple[np.ndarray, np.ndarray]:
    """The repost's luminance to bring into a reference frame, and the frame -> that luminance transform:
    reduced where the frame is coarser than the repost near ``centre`` (a big repost compared with a
    thumbnail), so a warp never samples finer detail than the frame can hold."""
    shrink = round(min(1.0, 1.0 / max(local_scale(to_repost, centre), 1e-6)), 3)
    return _float_grey(repost, shrink), np.diag([shrink, shrink, 1]) @ to_repost


def _float_grey(repost, shrink: float) -> np.ndarray:
    """The repost's luminance as float, reduced by ``shrink`` (shared by every comparison of one scan)."""
    def make():
        grey = repost.grey_array.astype(np.float32)
        if shrink >= 1.0:
            return grey
        size = (max(1, round(grey.shape[1] * shrink)), max(1, round(grey.shape[0] * shrink)))
        return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return repost.view(("grey-float", shrink), make)


@dataclass(frozen=True)
class RegionComparison:
    """A mark's region in the repost against the original's: likeness of detail (normalised correlation)
    and the share of the original's detail kept there, relative to the region around it."""

    similarity: float
    detail_kept: float
