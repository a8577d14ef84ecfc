"""The watermark's binding to its picture: reposts of the marked picture read "bound", a mark copied onto
another picture reads "foreign", and a scan names such a copy without crediting its author. Small real
photos; the grid over every attack, strength and transplant is ``bench/binding.py``."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from aimark.labeller import binding, localise, watermark
from aimark.labeller.watermark import WatermarkPayload
from bench.reposts import ATTACKS, residue_copy

from .conftest import PHOTO

PAYLOAD = WatermarkPayload.for_label("1234567890", "a-produce-id", "bottom-left", "bottom-right")


def shapes(seed: int, size: int = 1200) -> Image.Image:
    """Another picture to copy a mark onto: a drawn illustration of overlapping shapes, every cell of it
    with a clear feature (a smooth photo's cells mostly have none, and its binding cannot tell)."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(300):
        x, y = rng.integers(0, size, 2)
        w, h = rng.integers(20, 160, 2)
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((int(x), int(y), int(x + w), int(y + h)), fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    return image


@pytest.fixture(scope="module")
def marked() -> Image.Image:
    return watermark.embed(Image.open(PHOTO).convert("RGB"), PAYLOAD)


def reading(image: Image.Image, key: bytes | None = None) -> binding.Binding:
    found = watermark.detect(image, key)
    assert found.payload == PAYLOAD
    return localise.binding_of_picture(image, found, key)


@pytest.mark.parametrize("name, strength", [
    (None, None), ("jpeg", 50), ("long_side", 720), ("rotate", 90), ("flip", "horizontal"), ("rotate", 5),
    ("aspect", 0.9), ("pad", 0.1), ("caption_bar", 0.2),
])
def test_reposts_of_the_marked_picture_read_bound(marked, name, strength):
    attacked = marked if name is None else ATTACKS[name].apply(marked, strength).image
    found = reading(attacked)
    assert found.verdict == "bound", found.as_record()
    assert 0.5 * found.expected_z <= found.z  # the prediction holds: the signs agree


@pytest.mark.parametrize("name, strength", [("crop_area", 0.5), ("crop_area", 0.25), ("long_side", 512)])
def test_a_repost_with_fewer_cells_never_reads_foreign(marked, name, strength):
    """Half the picture or less, or a small repost, keeps fewer cells: the binding may not tell, but what
    it reads agrees with the prediction, never "foreign"."""
    found = reading(ATTACKS[name].apply(marked, strength).image)
    assert found.verdict != "foreign" and found.z >= 0.5 * found.expected_z, found.as_record()


@pytest.mark.parametrize("seed", (0, 2))
def test_a_mark_copied_onto_another_picture_reads_foreign(marked, seed):
    found = reading(residue_copy(marked, shapes(seed)))
    assert found.verdict == "foreign", found.as_record()
    assert found.z < binding.FOREIGN_SHARE * found.expected_z


def test_the_binding_follows_the_key(marked):
    """Under a private key the binding pattern is the key's too: a copy reads foreign there as well, and the
    original bound."""
    key = b"a private key of the studio, 32b"
    private = watermark.embed(Image.open(PHOTO).convert("RGB"), PAYLOAD, key)
    assert reading(private, key).verdict == "bound"
    assert reading(residue_copy(private, shapes(3)), key).verdict == "foreign"


def test_a_flat_picture_cannot_tell():
    """Cells with no feature carry no sign: a mark on a flat picture neither binds nor accuses."""
    flat = Image.new("RGB", (900, 700), (120, 150, 190))
    noisy = np.asarray(flat, np.float32) + np.random.default_rng(0).normal(0, 6, (700, 900, 1))
    image = watermark.embed(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)), PAYLOAD)
    found = reading(image)
    assert found.verdict == "cannot tell" and found.expected_z < binding.FOREIGN_EXPECTED_Z, found.as_record()


def test_cells_are_found_in_any_orientation(marked):
    """The decoder's cells are the embedder's: the cell weights it measures on a turned, mirrored repost
    agree with the ones the embedder drew (the binding's z near its prediction is the same fact, end to end)."""
    buffer = io.BytesIO()
    marked.transpose(Image.Transpose.TRANSVERSE).save(buffer, "PNG")
    turned = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    found = reading(turned)
    assert found.z >= 0.7 * found.expected_z and found.cells >= 0.8 * reading(marked).cells


def _encoded(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def test_a_scan_names_a_copied_mark_and_credits_nobody(marked):
    """The scan reports the copy as foreign, not as the author's watermark, and no verdict rests on it;
    the marked picture itself is reported present and bound."""
    from aimark.detectors import ScanOptions, scan
    from aimark.labeller.vocabulary import FindingKind

    options = ScanOptions(trust_anchors=None, watermark_key=b"a private key of the studio, 32b")
    key = options.watermark_key
    private = watermark.embed(Image.open(PHOTO).convert("RGB"), PAYLOAD, key)
    copy = scan(_encoded(residue_copy(private, shapes(3))), options)
    kinds = {f.kind for f in copy.findings}
    assert FindingKind.WATERMARK_FOREIGN in kinds and FindingKind.WATERMARK_PRESENT not in kinds, kinds
    assert copy.verdict.level == "none" and "copied" in copy.verdict.reason
    original = scan(_encoded(private), options)
    present = [f for f in original.findings if f.kind == FindingKind.WATERMARK_PRESENT]
    assert present and "bound to this picture" in present[0].summary
    assert original.verdict.level == "3"  # a private-key mark that shows it belongs is a trace on its own
