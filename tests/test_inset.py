"""A picture pasted into a canvas (a phone screenshot between its bars, a card, a pad): found by the flat
fill around it, read alone at the canvas's own resolution, and its evidence placed where it lies. Small real
photos; the grid over every picture and strength is ``bench/robustness.py`` (``phone_screenshot``)."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from aimark.detectors.inspect import inspect_bytes
from aimark.labeller import inset, localise, watermark
from aimark.labeller.watermark import WatermarkPayload
from bench.reposts import ATTACKS, jpeg

from .conftest import CORPUS, encode, knit

PAYLOAD = WatermarkPayload.for_label("1234567890", "a-produce-id", "bottom-left", "bottom-right")


def screen(picture: Image.Image, width: int, at: tuple[int, int]) -> Image.Image:
    """``picture`` pasted at ``at`` into a phone screen ``width`` wide, with a dark status bar, a light
    navigation bar, and islands of text and icons above and below it: what the finder must see past."""
    canvas = Image.new("RGB", (width, round(width * 2.16)), (250, 250, 250))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, width, 60), fill=(30, 30, 30))
    draw.text((20, 20), "9:41", fill=(255, 255, 255))
    draw.rectangle((width - 60, 22, width - 20, 38), fill=(255, 255, 255))  # a battery
    draw.text((20, at[1] - 40), "someone posted this", fill=(20, 20, 20))
    draw.text((20, at[1] + picture.height + 20), "412 likes   37 comments", fill=(20, 20, 20))
    draw.rectangle((0, canvas.height - 120, width, canvas.height), fill=(240, 240, 240))
    draw.ellipse((width // 2 - 30, canvas.height - 90, width // 2 + 30, canvas.height - 30), fill=(90,) * 3)
    canvas.paste(picture, at)
    return canvas


@pytest.fixture(scope="module")
def hubble() -> Image.Image:
    return Image.open(CORPUS / "hubble_deep_field.jpg").convert("RGB")


@pytest.fixture(scope="module")
def marked(hubble) -> Image.Image:
    return watermark.embed(hubble, PAYLOAD)


def test_the_picture_pasted_into_a_screen_is_found_past_the_bars_and_the_text(hubble):
    picture = hubble.resize((420, 366))
    canvas = screen(picture, 700, (140, 400))
    assert inset.find(canvas.convert("L")) == (140, 400, 560, 766)
    reencoded = jpeg(canvas, 90).convert("L")  # ringing beside the edges
    assert np.max(np.abs(np.subtract(inset.find(reencoded), (140, 400, 560, 766)))) <= 2
    wide = screen(hubble.resize((700, 610)), 700, (0, 400))  # the picture as wide as the screen
    assert inset.find(wide.convert("L")) == (0, 400, 700, 1010)


def test_a_picture_that_is_its_own_canvas_has_no_inset():
    photo = Image.open(CORPUS / "chelsea.png")
    assert inset.find(photo.convert("L")) is None
    turned = ATTACKS["rotate"].apply(photo, 10).image  # on a white fill, but no rectangle
    assert inset.find(turned.convert("L")) is None
    padded = ATTACKS["pad"].apply(photo, 0.1)  # a pad is a canvas: the picture inside it is found
    x0, y0 = (padded.matrix @ [0, 0, 1])[:2]
    box = (x0, y0, x0 + photo.width, y0 + photo.height)
    assert np.max(np.abs(np.subtract(inset.find(padded.image.convert("L")), box))) <= 2  # a JPEG: ringing


def test_a_marked_picture_in_a_phone_screenshot_is_read_where_it_was_pasted(marked, hubble, monkeypatch):
    """At 30% of the screen's width the picture is ~340 px in a 1100 x 2376 screenshot: ~110 px in the
    canvas's working view, where nothing reads; cut out at full resolution it reads, and the detection says
    where."""
    shot = ATTACKS["phone_screenshot"].apply(marked, 0.3)
    x0, y0 = (shot.matrix @ [0, 0, 1])[:2]
    x1, y1 = (shot.matrix @ [marked.width, marked.height, 1])[:2]
    found = watermark.detect(shot.image)
    assert found.payload == PAYLOAD and found.candidates_decoded <= watermark.DECODES_PER_IMAGE
    assert np.max(np.abs(np.subtract(found.inset, (x0, y0, x1, y1)))) <= 1.0, found.inset
    assert found.as_record()["inset"] == list(found.inset)
    monkeypatch.setattr(inset, "find", lambda grey: None)
    assert watermark.detect(shot.image).payload is None  # the canvas's own view does not read it
    monkeypatch.undo()
    unmarked = watermark.detect(ATTACKS["phone_screenshot"].apply(hubble, 0.3).image)
    assert unmarked.payload is None and unmarked.candidates_decoded <= watermark.DECODES_PER_IMAGE


def test_a_texture_in_a_phone_screenshot_is_read_in_the_pasted_pictures_flat_view():
    """Knit shrunk bilinearly to 30% of a screen's width aliases into peaks that drown the mark in the usual
    view; the pasted picture is read spectrally flat, as a periodic picture is anywhere else."""
    marked, check = watermark.embed_checked(knit(), PAYLOAD)
    assert check.passed
    found = watermark.detect(ATTACKS["phone_screenshot"].apply(marked, 0.3).image)
    assert found.payload == PAYLOAD and found.inset is not None and found.view == "flat", found
    assert found.candidates_decoded <= watermark.DECODES_PER_IMAGE


def test_the_evidence_of_a_pasted_mark_lies_in_the_pasted_picture(marked):
    """The binding and the map are read in the picture the mark was found in, not in the canvas: the author
    ID's region is the pasted picture's bottom-right corner, and the mark is found bound to it — through a
    scan's reader (the decoded image's views) as through a PIL picture."""
    shot = ATTACKS["phone_screenshot"].apply(marked, 0.3).image
    found = watermark.detect(shot)
    where = localise.localise_picture(shot, found)
    assert where.area == found.inset and where.as_record()["area"] == list(found.inset)
    x0, y0, x1, y1 = found.inset
    author = where.region("author-id")
    assert author.box[2] == x1 and author.box[3] == y1 and author.box[0] > x0 and author.box[1] > y0
    assert author.z > 4 and not author.lost
    assert localise.binding_of_picture(shot, found).verdict == "bound"
    record = inspect_bytes(encode(shot, "PNG")).reading("watermark").as_record()
    assert record["inset"] == list(found.inset) and record["binding"]["verdict"] == "bound"

