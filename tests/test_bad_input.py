"""Odd and hostile inputs: each gets its own clear one-line error (or is labelled correctly), the rest of
the batch still succeeds, and no input is ever modified."""

import hashlib
import io

import numpy as np
import piexif
import pytest
from PIL import Image

from aimark.labeller import image_io, visible
from aimark.labeller.pipeline import Labeller, LabelOptions

from .conftest import PHOTO, PRODUCER, encode, header_only_bomb, photo
from .test_label_corpus import label_all


def gif_animation() -> bytes:
    frames = [photo((120, 80)).quantize(64), photo((120, 80)).rotate(180).quantize(64)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


BAD = {  # file name -> (bytes, words the error must contain)
    "truncated.jpg": (lambda: PHOTO.read_bytes()[:40000], "truncated or corrupt"),
    "notes.jpg": (lambda: b"meeting notes, not a picture\n" * 20, "not an image"),
    "empty.png": (lambda: b"", "empty file"),
    "bomb.png": (header_only_bomb, "decompression bomb"),
    "animated.gif": (gif_animation, "animated GIF with 2 frames"),
    "tiny.png": (lambda: encode(photo((24, 24)), "PNG"), "too small"),
}


def odd_but_fine() -> dict[str, bytes]:
    grey16 = (np.linspace(0, 65535, 400 * 300).reshape(300, 400)).astype(np.uint16)
    palette = photo().quantize(32)
    palette.info["transparency"] = 0
    rgba = photo().convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    exif = piexif.dump({"0th": {piexif.ImageIFD.Orientation: 6}})
    return {
        "cmyk.jpg": encode(photo().convert("CMYK"), "JPEG"),
        "grey16.png": encode(Image.fromarray(grey16), "PNG"),
        "palette.png": encode(palette, "PNG", transparency=0),
        "alpha.png": encode(rgba, "PNG"),
        "rotated.jpg": encode(photo((480, 320)), "JPEG", exif=exif),
        "photo.tiff": encode(photo(), "TIFF"),
    }


@pytest.fixture(scope="module")
def batch(tmp_path_factory, signer):
    folder = tmp_path_factory.mktemp("inputs")
    for name, (make, _) in BAD.items():
        (folder / name).write_bytes(make())
    for name, data in odd_but_fine().items():
        (folder / name).write_bytes(data)
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    out = tmp_path_factory.mktemp("out")
    labeller = Labeller(LabelOptions(producer=PRODUCER, author_id="1234567890"), signer=signer)
    records = {r["input"].rsplit("/", 1)[-1]: r for r in label_all(labeller, [folder], out)}
    return folder, out, digests, records


@pytest.mark.parametrize("name", BAD)
def test_each_bad_file_fails_alone_with_a_clear_reason(batch, name):
    _, out, _, records = batch
    record = records[name]
    assert record["status"] == "failed" and BAD[name][1] in record["error"], record["error"]
    assert "\n" not in record["error"] and record["output"] is None
    assert not any(p.stem == name.rsplit(".", 1)[0] for p in out.rglob("*"))


def test_the_rest_of_the_batch_is_labelled(batch):
    _, _, _, records = batch
    fine = odd_but_fine()
    assert all(records[name]["status"] == "labelled" for name in fine), {n: records[n]["error"] for n in fine}


def test_inputs_are_never_modified(batch):
    folder, _, digests, _ = batch
    assert digests == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_no_partial_files_are_left(batch):
    _, out, _, _ = batch
    assert not [p for p in out.rglob("*") if p.name.startswith(".") or p.suffix == ".part"]


def test_modes_and_formats_are_kept(batch):
    _, _, _, records = batch
    grey = Image.open(records["grey16.png"]["output"])
    assert grey.mode == "I;16" and records["grey16.png"]["encoding"]["depth"] == 16  # 16 bits kept
    assert 30000 < grey.getpixel((200, 150)) < 35000  # the gradient's middle, not clipped
    alpha = Image.open(records["alpha.png"]["output"])
    assert alpha.mode == "RGBA"
    assert Image.open(records["palette.png"]["output"]).mode == "RGBA"
    assert any("palette image written in full colour" in n for n in records["palette.png"]["notes"])
    assert "CMYK converted" in " ".join(records["cmyk.jpg"]["notes"])
    tiff = records["photo.tiff"]
    assert tiff["format"] == "TIFF" and tiff["output"].endswith("photo.tiff")


def test_exif_rotated_photo_gets_its_label_on_the_displayed_corner(batch, ocr):
    _, _, _, records = batch
    record = records["rotated.jpg"]
    output = Image.open(record["output"])
    assert output.size == (320, 480)  # displayed upright: orientation 6 turns 480x320 portrait
    assert output.getexif().get(piexif.ImageIFD.Orientation) == 1
    x0, y0, x1, y1 = record["marks"]["visible-label"]["box"]
    assert x0 < 320 * 0.1 and y1 > 480 * 0.9  # bottom-left of the upright picture
    marks = visible.read_marks(output, ocr)
    found = [m for m in marks if m.kind == "visible-label"]
    assert found and found[0].check.position == "bottom-left"


def test_unwritable_output_is_a_clear_error(tmp_path, signer):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    source = tmp_path / "photo.jpg"
    source.write_bytes(encode(photo(), "JPEG"))
    labeller = Labeller(LabelOptions(producer=PRODUCER), signer=signer)
    [record] = label_all(labeller, [source], blocker / "out")
    assert record["status"] == "failed" and "cannot write into" in record["error"]


def test_pixel_limit_is_the_one_in_force():
    data = encode(photo((100, 100)), "PNG")
    try:
        image_io.set_pixel_limit(5000)
        with pytest.raises(image_io.BadImage,
                           match=r"decompression bomb refused: .*10,000 pixels.* 5,000.*--max-pixels"):
            image_io.load_source(data)
    finally:
        image_io.set_pixel_limit(image_io.DEFAULT_MAX_PIXELS)
