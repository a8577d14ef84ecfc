"""Where the original's pixels went: the fitted geometry against the truth each repost attack knows, and a
mark's region compared where the geometry puts it. Small real photos; the truth comes from the attack."""

import io

import numpy as np
import pytest
from PIL import Image

from aimark.detectors import geometry
from aimark.detectors.registry import thumbnail_bytes
from aimark.labeller.source import DecodedImage
from bench.reposts import ATTACKS

from .conftest import PHOTO, PORTRAIT


def _encoded(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def _fit(picture: Image.Image, name: str, strength):
    """The attack's truth (original -> repost, 3x3) and the fit from the registry's thumbnail."""
    done = ATTACKS[name].apply(picture, strength, box=(0, 0, 8, 8))
    thumbnail = Image.open(io.BytesIO(thumbnail_bytes(picture)))
    return done.matrix, geometry.align(thumbnail, picture.size, DecodedImage(_encoded(done.image)))


def _corner_error(picture: Image.Image, truth: np.ndarray, alignment) -> float:
    """Largest distance (repost pixels) between where the fit and the truth put points near the corners,
    where the marks sit."""
    w, h = picture.size
    points = np.array([[0.05 * w, 0.05 * h], [0.95 * w, 0.05 * h], [0.95 * w, 0.95 * h], [0.05 * w, 0.95 * h]])
    return float(np.hypot(*(geometry.project(truth, points) - geometry.project(alignment.matrix, points)).T).max())


@pytest.fixture(scope="module", params=[PHOTO, PORTRAIT], ids=lambda p: p.stem)
def picture(request):
    return Image.open(request.param).convert("RGB")


@pytest.mark.parametrize("name, strength", [("aspect", 0.9), ("aspect", 1.1), ("keystone", 0.05)])
def test_a_stretched_or_keystoned_repost_is_fitted_where_the_marks_are(picture, name, strength):
    """A similarity cannot follow a 10% stretch of one side: near the corners it is off by tens of pixels
    (it put a label box below the frame and called it cropped). The perspective fit lands within 1% of the
    picture's width there."""
    truth, alignment = _fit(picture, name, strength)
    assert alignment is not None and alignment.confirmed and alignment.perspective
    assert _corner_error(picture, truth, alignment) <= 0.01 * picture.width


@pytest.mark.parametrize("name, strength", [("scale", 0.5), ("rotate", 5), ("crop_sides", 0.04), ("jpeg", 50)])
def test_a_similarity_repost_keeps_the_similarity_fit(picture, name, strength):
    """The perspective fit has more freedom: it replaces the similarity only when it explains clearly more
    matches, so an ordinary repost keeps the four-parameter fit (and its record has no ``fit`` key)."""
    truth, alignment = _fit(picture, name, strength)
    assert alignment is not None and not alignment.perspective and "fit" not in alignment.as_record()
    assert _corner_error(picture, truth, alignment) <= 0.01 * picture.width


def test_an_implausible_homography_is_refused():
    """A fit that folds the picture, or stretches one axis far against the other, is not a view of it."""
    size = (400, 300)
    assert geometry._plausible(np.diag([1.1, 0.95, 1.0]), size)
    assert geometry._plausible(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2e-4, 0.0, 1.0]]), size)  # keystone
    assert not geometry._plausible(np.diag([2.0, 1.0, 1.0]), size)  # one axis twice the other
    assert not geometry._plausible(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [4e-3, 0.0, 1.0]]), size)  # uneven
    assert not geometry._plausible(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-5e-3, 0.0, 1.0]]), size)  # behind


def test_a_mark_is_compared_where_the_fit_puts_it_even_when_the_fit_is_off(picture):
    """The fit is a few pixels off near the edges; the mark's reference is lined up locally first. With the
    geometry deliberately 10 px off, an intact corner still compares as the original's pixels, and a corner
    painted flat still does not."""
    truth, alignment = _fit(picture, "jpeg", 90)
    off = geometry.Alignment(alignment.matrix @ np.array([[1, 0, 7], [0, 1, -7], [0, 0, 1]], float),
                             alignment.inliers, alignment.matches)
    w, h = picture.size
    box = (int(0.7 * w), int(0.85 * h), int(0.95 * w), int(0.95 * h))
    context = (box[0] - 30, box[1] - 30, min(w, box[2] + 30), min(h, box[3] + 30))
    reference = picture.crop(context)
    to_original = np.array([[1, 0, context[0]], [0, 1, context[1]], [0, 0, 1]], float)
    inner = (box[0] - context[0], box[1] - context[1], box[2] - context[0], box[3] - context[1])
    intact = geometry.region_similarity(reference, to_original, off, DecodedImage(_encoded(picture)), inner)
    painted = picture.copy()
    painted.paste(tuple(int(v) for v in np.asarray(picture.crop(box)).reshape(-1, 3).mean(0)), box)
    erased = geometry.region_similarity(reference, to_original, off, DecodedImage(_encoded(painted)), inner)
    assert intact.similarity >= 0.8 and erased.similarity < 0.3 and erased.detail_kept < 0.3


def test_a_long_mark_is_compared_through_a_fit_a_little_off_in_scale(picture):
    """A fit whose axes are 2% apart near a corner (a perspective extrapolated there) drifts along a long
    mark by more than the box's own shift search; each third of it, lined up on its own, still compares as
    the original's pixels — and a long mark painted flat still does not."""
    from PIL import ImageDraw

    truth, alignment = _fit(picture, "jpeg", 90)
    marked = picture.copy()
    w, h = marked.size
    box = (int(0.45 * w), int(0.88 * h), int(0.95 * w), int(0.95 * h))
    ImageDraw.Draw(marked).text((box[0] + 4, box[1]), "ID 1234567890 1234567890", fill=(255, 255, 255),
                                font_size=max(10, (box[3] - box[1]) * 3 // 4), stroke_width=2,
                                stroke_fill=(0, 0, 0))
    centre = np.array([[1, 0, box[0]], [0, 1, box[1]], [0, 0, 1]], float)
    skew = centre @ np.diag([1.02, 1.0, 1.0]) @ np.linalg.inv(centre)  # 2% wider, about the box's corner
    off = geometry.Alignment(alignment.matrix @ skew, alignment.inliers, alignment.matches)
    context = (box[0] - 30, box[1] - 30, min(w, box[2] + 30), min(h, box[3] + 30))
    to_original = np.array([[1, 0, context[0]], [0, 1, context[1]], [0, 0, 1]], float)
    inner = (box[0] - context[0], box[1] - context[1], box[2] - context[0], box[3] - context[1])
    compare = lambda repost: geometry.region_similarity(marked.crop(context), to_original, off,  # noqa: E731
                                                         DecodedImage(_encoded(repost)), inner)
    painted = marked.copy()
    painted.paste(tuple(int(v) for v in np.asarray(marked.crop(box)).reshape(-1, 3).mean(0)), box)
    intact, erased = compare(marked), compare(painted)
    assert intact.similarity >= 0.6 and erased.similarity < 0.3, (intact, erased)


def test_a_sharpened_repost_keeps_its_marks_detail_and_a_blurred_mark_still_loses_it(picture):
    """Sharpening adds more detail around a mark than to its saturated strokes; only a loss of detail in the
    ring is made up for, so a sharpened mark is not read as blurred — and a mark blurred before the whole
    picture was sharpened still is."""
    from PIL import ImageDraw, ImageFilter

    marked = picture.copy()
    w, h = marked.size
    box = (int(0.6 * w), int(0.88 * h), int(0.95 * w), int(0.95 * h))
    ImageDraw.Draw(marked).text((box[0] + 4, box[1]), "ID 1234567890", fill=(255, 255, 255),
                                font_size=max(10, (box[3] - box[1]) * 3 // 4), stroke_width=2, stroke_fill=(0, 0, 0))
    truth, alignment = _fit(marked, "jpeg", 95)
    context = (box[0] - 30, box[1] - 30, min(w, box[2] + 30), min(h, box[3] + 30))
    to_original = np.array([[1, 0, context[0]], [0, 1, context[1]], [0, 0, 1]], float)
    inner = (box[0] - context[0], box[1] - context[1], box[2] - context[0], box[3] - context[1])
    sharpen = ImageFilter.UnsharpMask(radius=2, percent=150, threshold=0)
    sharpened = geometry.region_similarity(marked.crop(context), to_original, alignment,
                                           DecodedImage(_encoded(marked.filter(sharpen))), inner)
    blurred = marked.copy()
    blurred.paste(marked.crop(box).filter(ImageFilter.GaussianBlur(0.3 * (box[3] - box[1]))), box)
    then_sharpened = geometry.region_similarity(marked.crop(context), to_original, alignment,
                                                DecodedImage(_encoded(blurred.filter(sharpen))), inner)
    assert sharpened.similarity >= 0.8 and sharpened.detail_kept >= 0.8, sharpened
    assert then_sharpened.detail_kept < 0.3, then_sharpened


def test_a_fit_that_collapses_the_original_onto_a_few_pixels_is_refused(picture):
    """ORB finds a corner at several pyramid levels; a fit shrinking the whole original onto one spot of the
    repost counts those repeated matches as inliers (a 4352-px photo at 30% of a phone screenshot: 47 of them,
    at a scale of 0.002). Whatever the matches, no fit may show the original smaller than MIN_SHOWN_PX."""
    thumbnail = Image.open(io.BytesIO(thumbnail_bytes(picture)))
    for width in (40, 80, 160, 324):
        small = picture.resize((width, round(picture.height * width / picture.width)), Image.Resampling.LANCZOS)
        canvas = Image.new("RGB", (1080, 2340), (250, 250, 250))
        canvas.paste(small, (378, 900))
        alignment = geometry.align(thumbnail, picture.size, DecodedImage(_encoded(canvas)))
        if alignment is not None:
            shown = geometry.local_scale(alignment.matrix, (picture.width / 2, picture.height / 2)) * min(picture.size)
            assert shown >= geometry.MIN_SHOWN_PX * canvas.height / geometry.WORK_SIDE * 0.99, (width, shown)


def test_a_dark_picture_a_platform_shrank_is_fitted_on_its_equalised_features():
    """A near-black drawing served at 720 px in WebP shows FAST too little contrast for any corner; with
    both pictures' local contrast equalised the fit is found, and it is the true one."""
    from bench import pictures

    picture = pictures.near_black(np.random.default_rng(1))
    thumbnail = Image.open(io.BytesIO(thumbnail_bytes(picture))).convert("RGB")
    small = picture.copy()
    small.thumbnail((720, 720), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "WEBP", quality=80)
    repost = DecodedImage(buffer.getvalue(), "served.webp")
    plain = geometry._align(thumbnail, picture.size, repost, equalised=False)
    assert plain is None or not plain.confirmed  # the premise: the plain features confirm nothing
    fit = geometry.align(thumbnail, picture.size, repost)
    assert fit is not None and fit.confirmed and not fit.perspective
    assert abs(fit.scale - 720 / picture.width) < 0.01 and abs(fit.rotation_deg) < 0.5
    assert geometry.registration(thumbnail, picture.size, fit, repost) >= geometry.MIN_REGISTRATION


def test_a_residue_copied_onto_a_flat_picture_registers_its_detail_but_not_its_shapes():
    """The copy attack: a picture's high-pass residue added to a flat one. The features fit it and its
    detail lines up (that is what was copied); its broad shapes are the flat picture's. (The portrait: a
    star field's residue on a sky gives the features nothing to fit at all.)"""
    from PIL import ImageFilter

    from bench import pictures

    original = Image.open(PORTRAIT).convert("RGB")
    thumbnail = Image.open(io.BytesIO(thumbnail_bytes(original))).convert("RGB")
    residue = np.asarray(original, np.float32) - np.asarray(original.filter(ImageFilter.GaussianBlur(3)), np.float32)
    sky = np.asarray(pictures.gradient_sky(np.random.default_rng(0)).resize(original.size), np.float32)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(sky + residue, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    copy = DecodedImage(buffer.getvalue(), "copy.jpg")
    fit = geometry.align(thumbnail, original.size, copy)
    assert fit is not None and fit.confirmed  # the premise: the copied detail is fitted...
    assert geometry.registration(thumbnail, original.size, fit, copy) >= geometry.MIN_REGISTRATION  # ...and lines up
    assert geometry.appearance(thumbnail, original.size, fit, copy).gain < 0.2  # a tenth leaks through the residue
    assert not geometry.registered(thumbnail, original.size, fit, copy)
    for name, strength in (("brightness", 1.2), ("crop_area", 0.25)):  # a crop's border is no shape of either
        buffer = io.BytesIO()
        ATTACKS[name].apply(original, strength).image.save(buffer, "JPEG", quality=90)
        honest = DecodedImage(buffer.getvalue(), f"{name}.jpg")
        fit = geometry.align(thumbnail, original.size, honest)
        assert geometry.registered(thumbnail, original.size, fit, honest), name
        shapes = geometry.appearance(thumbnail, original.size, fit, honest)
        assert shapes.correlation >= 0.9 and 0.8 <= shapes.gain <= 1.5, (name, shapes)
