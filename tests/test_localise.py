"""The watermark's map: the payload's layout of the visible marks, where the mark is intact and where it is
gone, and the scan's blind evidence built on it. Small real photos; the grid over every attack and strength
is ``bench/watermark_map.py``."""

import numpy as np
import pytest
from PIL import Image

from aimark.labeller import localise, watermark
from aimark.labeller.visible import CORNERS, POSITIONS
from aimark.labeller.watermark import WatermarkPayload
from bench.reposts import ATTACKS, jpeg

from .conftest import PHOTO

LAID_OUT = WatermarkPayload.for_label("1234567890", "a-produce-id", "bottom-left", "bottom-right")


@pytest.mark.parametrize("label", POSITIONS)
@pytest.mark.parametrize("author", (None,) + CORNERS)
def test_the_layout_round_trips_in_format_2(label, author):
    payload = WatermarkPayload.for_label("9999999999", "x", label, author)
    decoded = WatermarkPayload.from_bits(payload.to_bits())
    assert decoded == payload and decoded.version == watermark.LAYOUT_VERSION
    assert (decoded.label_position, decoded.author_position) == (label, author)


def test_content_ids_of_both_formats_check_against_the_produce_id():
    old = WatermarkPayload.for_label("1", "produce-7")
    new = WatermarkPayload.for_label("1", "produce-7", "top", None)
    assert old.version == 1 and new.content_id == old.content_id >> 6
    assert WatermarkPayload.content_matches("produce-7", old.content_id)
    assert WatermarkPayload.content_matches("produce-7", new.content_id)
    assert not WatermarkPayload.content_matches("produce-8", new.content_id)
    assert old.identity[:2] == new.identity[:2]  # the same author, whatever the format


@pytest.fixture(scope="module")
def marked() -> Image.Image:
    return watermark.embed(Image.open(PHOTO).convert("RGB"), LAID_OUT)


def replace_corner(image: Image.Image, position: str, turned: bool = False) -> Image.Image:
    """The corner region filled with pixels from the picture's middle (a clone stamp that keeps texture)."""
    x0, y0, x1, y1 = localise.position_box(position, image.size, turned)
    w, h = x1 - x0, y1 - y0
    sx, sy = (image.width - w) // 2 + 7, (image.height - h) // 2 + 3
    out = image.copy()
    out.paste(image.crop((sx, sy, sx + w, sy + h)), (x0, y0))
    return out


def regions(image: Image.Image) -> dict[str, localise.Region]:
    found = watermark.detect(image)
    assert found.payload == LAID_OUT
    where = localise.localise_picture(image, found)
    return {r.name: r for r in where.regions}


def test_the_map_finds_the_corner_painted_over_and_only_it(marked):
    found = regions(jpeg(replace_corner(marked, "bottom-right"), 85))
    assert found["author-id"].lost and found["author-id"].position == "bottom-right"
    assert found["author-id"].z < localise.LOST_Z < localise.MIN_EXPECTED_Z <= found["author-id"].expected_z
    assert not found["visible-label"].lost and found["visible-label"].z > localise.MIN_EXPECTED_Z


@pytest.mark.parametrize("turn", [("rotate", 90), ("flip", "horizontal"), ("rotate", 180)])
def test_the_layout_follows_quarter_turns_and_mirrors(marked, turn):
    edited = replace_corner(marked, "bottom-right")
    attacked = ATTACKS[turn[0]].apply(edited, turn[1]).image
    found = regions(attacked)
    expected = {("rotate", 90): "top-right", ("flip", "horizontal"): "bottom-left", ("rotate", 180): "top-left"}
    assert found["author-id"].position == expected[turn] and found["author-id"].lost
    assert not found["visible-label"].lost


@pytest.mark.parametrize("case", [("jpeg", 50), ("long_side", 720), ("crop_sides", 0.08), ("caption_bar", 0.12),
                                  ("phone_screenshot", 1.0), ("keystone", 0.02), ("brightness", 1.2)])
def test_honest_reposts_lose_the_mark_nowhere(marked, case):
    found = regions(ATTACKS[case[0]].apply(marked, case[1]).image.convert("RGB"))
    assert not any(r.lost for r in found.values()), found


def test_a_keystoned_repost_is_mapped_through_its_perspective(marked):
    """Read through an undone perspective (``perspective``), the map follows it: an honest 5% keystone
    loses the mark nowhere and every region is judged, and a corner painted over before it is still found."""
    honest = regions(ATTACKS["keystone"].apply(marked, 0.05).image)
    assert not any(r.lost for r in honest.values())
    assert min(r.expected_z for r in honest.values()) > localise.MIN_EXPECTED_Z, honest
    edited = regions(ATTACKS["keystone"].apply(jpeg(replace_corner(marked, "bottom-right"), 85), 0.05).image)
    assert edited["author-id"].lost and not edited["visible-label"].lost


@pytest.fixture(scope="module")
def ridges() -> Image.Image:
    """Corrugated metal: 18-px ridges over a slow swell, with grain. Keystoned, its harmonics drift across the
    view and drown the mark in the undone view; flattened after the perspective is undone, it reads."""
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:600, 0:800].astype(np.float32)
    grey = 140 + 60 * np.sin(2 * np.pi * x / 18) + 20 * np.sin(y / 70) + rng.normal(0, 8, y.shape)
    picture = Image.fromarray(np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, 2))
    return watermark.embed_checked(picture, LAID_OUT)[0]


@pytest.mark.parametrize("strength", [0.05, -0.05])
def test_a_keystoned_texture_is_read_flat_in_its_undone_view_and_mapped_without_loss(ridges, strength):
    keystoned = ATTACKS["keystone"].apply(ridges, strength).image
    found = watermark.detect(keystoned)
    assert found.payload == LAID_OUT and found.view == "flat" and found.perspective is not None, found
    where = localise.localise_picture(keystoned, found)
    assert where.regions and not any(r.lost for r in where.regions), where.regions


@pytest.mark.parametrize("frame", [("phone_screenshot", 1.0), ("pad", 0.1), ("letterbox", 16 / 9)])
def test_in_a_framed_repost_the_regions_are_the_pictures_corners(marked, frame):
    """A mark read in the whole canvas of a screenshot, a pad or a letterbox: the regions are the marked
    picture's corners (where the canvas holds it), not the canvas's bars — so a corner painted over before
    the frame was added is still found, and an honest framed repost loses the mark nowhere."""
    edited = ATTACKS[frame[0]].apply(jpeg(replace_corner(marked, "bottom-right"), 85), frame[1])
    found = watermark.detect(edited.image)
    assert found.payload == LAID_OUT and found.inset is None  # read in the whole canvas
    where = localise.localise_picture(edited.image, found)
    x1, y1 = (edited.matrix @ [marked.width, marked.height, 1])[:2]
    author = where.region("author-id")
    assert abs(author.box[2] - x1) <= 2 and abs(author.box[3] - y1) <= 2, (author.box, (x1, y1))
    assert author.lost and not where.region("visible-label").lost
    honest = ATTACKS[frame[0]].apply(marked, frame[1]).image
    found = watermark.detect(honest)
    assert not any(r.lost for r in localise.localise_picture(honest, found).regions)


def test_the_map_grid_shows_the_hole(marked):
    edited = jpeg(replace_corner(marked, "bottom-right"), 85)
    found = watermark.detect(edited)
    where = localise.localise_picture(edited, found)
    grid = np.array(where.grid)
    assert grid[-1, -1] < 2.0 < np.median(grid)
    assert where.as_record()["regions"][1]["lost"] is True


def test_a_smooth_sticker_over_the_corner_is_found(marked):
    """A sticker smoother than most of the picture (another photo, blurred) carries no mark, and the corner
    under it is called lost; the label's corner is not."""
    from PIL import ImageFilter

    from .conftest import SMALL_PHOTO

    x0, y0, x1, y1 = localise.position_box("bottom-right", marked.size)
    sticker = Image.open(SMALL_PHOTO).convert("RGB").resize((x1 - x0, y1 - y0)).filter(ImageFilter.GaussianBlur(3))
    edited = marked.copy()
    edited.paste(sticker, (x0, y0))
    found = regions(jpeg(edited, 85))
    assert found["author-id"].lost and not found["visible-label"].lost


@pytest.mark.parametrize("quality", [30, 50])
def test_a_flat_corner_that_a_codec_emptied_is_not_called_lost(quality):
    """An honest picture with a flat patch where the ID was drawn (a plain sign, a white wall): a strong
    JPEG's dead zone empties the mark there and not in the textured rest. Nothing was taken away, so the
    corner must not be called lost (it is too flat to judge)."""
    picture = Image.open(PHOTO).convert("RGB")
    x0, y0, x1, y1 = localise.position_box("bottom-right", picture.size)
    picture.paste((236, 236, 232), (x0 - 40, y0 - 20, picture.width, picture.height))
    picture.paste((236, 236, 232), (0, 0, x1 - x0, y1 - y0))  # another flat patch elsewhere, as walls are
    attacked = jpeg(watermark.embed(picture, LAID_OUT), quality)
    found = watermark.detect(attacked)
    assert found.payload == LAID_OUT
    where = localise.localise_picture(attacked, found)
    assert not any(r.lost for r in where.regions), where.regions
