"""Formats survive labelling: each comes back in its own format, depth and (within a stated tolerance) quality,
with its ICC profile, and every label readable back from it."""

import io
import math

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms, JpegImagePlugin

from aimark.labeller import c2pa, formats, metadata
from aimark.labeller.pipeline import Labeller, LabelOptions
from aimark.labeller.vocabulary import MarkKind
from aimark.labeller.watermark import TiledSpreadSpectrum, detect

from .conftest import PORTRAIT, PRODUCER, SMALL_PHOTO, encode

JPEG_QUALITY_TOLERANCE = 0  # IJG-scaled tables give the exact quality back
WEBP_QUALITY_TOLERANCE = 6  # libwebp's segments spread around the base quantiser


@pytest.fixture(scope="module")
def labeller(signer):
    return Labeller(LabelOptions(producer=PRODUCER, author_id="1234567890"), signer=signer,
                    watermark=TiledSpreadSpectrum())


@pytest.fixture(scope="module")
def rgb() -> Image.Image:
    return Image.open(SMALL_PHOTO).convert("RGB")


def labels_read_back(result, keys, watermark: bool = True) -> None:
    """The metadata label, the C2PA manifest (Trusted with our CA) and the watermark all read back."""
    report = metadata.read_labels(result.data)
    assert report.status == "conforming", report.as_record()
    assert report.label.produce_id == result.record.produce_id
    credentials = c2pa.read_c2pa(result.data, result.plan.mime, c2pa.read_context(keys.ca_cert.read_text()))
    assert credentials.state == "Trusted", credentials.as_record()
    decoded = Image.open(io.BytesIO(result.data))
    if decoded.mode == "I;16":
        decoded = Image.fromarray((np.asarray(decoded) >> 8).astype(np.uint8))
    if watermark:
        assert detect(decoded.convert("RGB")).payload.author_id == "1234567890"
    assert result.record.lacks == []


@pytest.mark.parametrize("quality", [40, 60, 75, 85, 95])
@pytest.mark.parametrize("subsampling", [0, 2])
def test_jpeg_keeps_its_quality_and_subsampling(labeller, keys, rgb, quality, subsampling):
    source = encode(rgb, "JPEG", quality=quality, subsampling=subsampling)
    result = labeller.label_bytes(source)
    out = Image.open(io.BytesIO(result.data))
    assert out.format == "JPEG" and JpegImagePlugin.get_sampling(out) == subsampling
    assert abs(formats.jpeg_quality(out.quantization)[0] - quality) <= JPEG_QUALITY_TOLERANCE
    labels_read_back(result, keys, watermark=quality >= 75)  # lower: the watermark issue's self-check


def test_quality_option_overrides_the_source(signer, rgb):
    labeller = Labeller(LabelOptions(producer=PRODUCER, quality=50), signer=signer)
    out = Image.open(io.BytesIO(labeller.label_bytes(encode(rgb, "JPEG", quality=95)).data))
    assert formats.jpeg_quality(out.quantization)[0] == 50


@pytest.mark.parametrize("quality", [30, 50, 70, 80, 90])
def test_webp_quality_is_estimated_from_its_quantiser(rgb, quality):
    estimate = formats.webp_quality(encode(rgb, "WEBP", quality=quality))
    assert abs(estimate - quality) <= WEBP_QUALITY_TOLERANCE, (quality, estimate)


def test_lossy_and_lossless_webp_stay_as_they_were(labeller, keys, rgb):
    lossy = labeller.label_bytes(encode(rgb, "WEBP", quality=70))
    assert lossy.plan.format == "WEBP" and not lossy.plan.lossless
    assert abs(lossy.plan.quality - 70) <= WEBP_QUALITY_TOLERANCE
    labels_read_back(lossy, keys, watermark=False)  # at this quality: the watermark issue's self-check
    lossless = labeller.label_bytes(encode(rgb, "WEBP", lossless=True))
    assert lossless.plan.lossless and b"VP8L" in lossless.data[:4096]
    labels_read_back(lossless, keys)


@pytest.mark.parametrize("fmt, params, pillow_format", [
    ("AVIF", {"quality": 60}, "AVIF"), ("HEIF", {"quality": 60}, "HEIF"),
    ("TIFF", {"compression": "tiff_lzw"}, "TIFF"), ("GIF", {}, "GIF"), ("PNG", {}, "PNG"),
])
def test_each_format_comes_back_as_itself_with_every_label(labeller, keys, rgb, fmt, params, pillow_format):
    image = rgb.quantize(200) if fmt == "GIF" else rgb
    result = labeller.label_bytes(encode(image, fmt, **params))
    out = Image.open(io.BytesIO(result.data))
    assert out.format == pillow_format and out.size == rgb.size
    if fmt == "TIFF":
        assert out.info.get("compression") == "tiff_lzw"
    labels_read_back(result, keys)


def test_avif_is_not_bloated_into_png(labeller, rgb):
    source = encode(rgb, "AVIF", quality=60)
    result = labeller.label_bytes(source)
    assert result.format == "AVIF" and len(result.data) < 4 * len(source)


def test_heic_from_a_phone_is_labelled_and_inspected(labeller, keys, rgb):
    from aimark.detectors import inspect_bytes

    result = labeller.label_bytes(encode(rgb, "HEIF", quality=70))
    inspection = inspect_bytes(result.data, trust_anchors=keys.ca_cert.read_text())
    assert inspection.format == "HEIF" and inspection.metadata.status == "conforming"
    assert inspection.c2pa.state == "Trusted" and inspection.watermark.found


def test_sixteen_bit_png_stays_sixteen_bit_colour_and_grey(labeller, keys, rgb):
    rng = np.random.default_rng(1)
    deep = np.asarray(rgb).astype(np.uint16) * 257 + rng.integers(0, 256, (rgb.height, rgb.width, 3)).astype(np.uint16)
    ok, png = cv2.imencode(".png", deep[..., ::-1])
    result = labeller.label_bytes(png.tobytes())
    back = cv2.imdecode(np.frombuffer(result.data, np.uint8), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert back.dtype == np.uint16 and result.record.encoding["depth"] == 16
    untouched = np.ones(back.shape[:2], bool)
    for mark in (MarkKind.VISIBLE_LABEL, MarkKind.AUTHOR_ID):
        x0, y0, x1, y1 = result.record.box(mark)
        untouched[y0:y1, x0:x1] = False
    # away from the marks only the watermark changed the samples: a few 8-bit steps (more when the
    # self-check strengthened the mark, which follows the random ProduceID), low byte kept
    gain = result.record.mark(MarkKind.WATERMARK)["self_check"]["gain"]
    assert np.abs(back.astype(int) - deep)[untouched].max() <= 257 * math.ceil(16 * gain)
    assert (back[untouched] % 257 != 0).mean() > 0.9
    labels_read_back(result, keys)
    grey = labeller.label_bytes(encode(Image.fromarray(deep[..., 1]), "PNG"))
    assert Image.open(io.BytesIO(grey.data)).mode == "I;16"
    labels_read_back(grey, keys)


def test_sixteen_bit_colour_tiff_says_why_it_is_written_in_8_bits(labeller, rgb):
    deep = np.asarray(rgb).astype(np.uint16) * 257
    ok, tiff = cv2.imencode(".tiff", deep[..., ::-1])
    result = labeller.label_bytes(tiff.tobytes())
    assert result.format == "TIFF" and result.plan.depth == 8
    assert any("16-bit colour TIFF written as 8-bit" in note for note in result.record.notes)


def test_greyscale_stays_greyscale(labeller, keys):
    result = labeller.label_bytes(PORTRAIT.read_bytes())
    assert Image.open(io.BytesIO(result.data)).mode == "L"
    labels_read_back(result, keys)


def test_icc_profile_is_kept(labeller, rgb):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    for fmt in ("JPEG", "PNG", "WEBP", "AVIF", "HEIF", "TIFF"):
        result = labeller.label_bytes(encode(rgb, fmt, icc_profile=profile))
        assert Image.open(io.BytesIO(result.data)).info.get("icc_profile") == profile, fmt


def test_bmp_becomes_png_and_says_so(labeller, rgb):
    result = labeller.label_bytes(encode(rgb, "BMP"))
    assert result.format == "PNG"
    assert any("BMP cannot carry the metadata label or C2PA" in note for note in result.record.notes)


def test_the_source_xmp_is_kept_beside_the_label(labeller):
    from .conftest import PHOTO

    result = labeller.label_bytes(PHOTO.read_bytes())  # it carries Photoshop's XMP
    packet = metadata.carriers.read_xmp(result.data)[0][0]
    assert b"photoshop" in packet.lower() and b"TC260:AIGC" in packet


@pytest.mark.parametrize("word, fmt", [("jpg", "JPEG"), ("jpeg", "JPEG"), ("heic", "HEIF"), ("tif", "TIFF"),
                                       ("webp", "WEBP"), ("avif", "AVIF"), ("gif", "GIF"), ("png", "PNG")])
def test_format_words(word, fmt):
    assert formats.requested_format(word) == fmt


def test_output_extension_keeps_the_inputs_spelling():
    assert formats.OutputPlan("JPEG").suffix_for(".JPEG") == ".JPEG"
    assert formats.OutputPlan("HEIF").suffix_for(".heif") == ".heif"
    assert formats.OutputPlan("PNG").suffix_for(".bmp") == ".png"
