"""Generator watermarks: our torch-free decoder agrees bit for bit with invisible-watermark's own, on
fixtures the library made (tests/fixtures/generators/make_fixtures.py), and names each generator."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aimark.detectors import generators

from .conftest import corpus_files

FIXTURES = Path(__file__).parent / "fixtures" / "generators"
READINGS = json.loads((FIXTURES / "readings.json").read_text())


def pixels(name: str) -> np.ndarray:
    return np.asarray(Image.open(FIXTURES / name).convert("RGB"))


@pytest.mark.parametrize("name", sorted(READINGS))
@pytest.mark.parametrize("reading", ["bgr_uint8", "bgr_float", "rgb_uint8", "rgb_float"])
@pytest.mark.parametrize("length", ["136", "48", "46", "32"])
def test_bits_equal_the_librarys_decoder(name, reading, length):
    expected = READINGS[name]["readings"][reading][length]
    assert generators.read_bits(pixels(name), int(length), reading).tolist() == expected


@pytest.mark.parametrize("name, generator", [("sd1_coffee.png", "Stable Diffusion 1.x"),
                                             ("sd2_astronaut.png", "Stable Diffusion 2.x"),
                                             ("sdxl_coffee.png", "SDXL"), ("sdxl_astronaut.png", "SDXL"),
                                             ("sdxl_rocket_inverted.png", "SDXL"),
                                             ("flux_coffee.png", "FLUX"), ("flux_astronaut.png", "FLUX"),
                                             ("flux_rocket.png", "FLUX")])
def test_each_generator_is_recognised_by_name(name, generator):
    best = generators.recognise(pixels(name))[0]
    assert best.generator == generator and best.reported, best
    assert best.verdict in ("likely", "very likely")


def test_inverted_8bit_sdxl_reading_is_recognised():
    """On a dark sky the library's own 8-bit reading gets almost every SDXL bit inverted."""
    rgb = pixels("sdxl_rocket_inverted.png")
    truth = next(p for p in generators.PAYLOADS if p.generator == "SDXL").bits
    assert int(np.sum(generators.read_bits(rgb, 48, "rgb_uint8") == truth)) <= 12
    best = generators.recognise(rgb)[0]
    assert best.generator == "SDXL" and best.reading == "rgb_uint8_inverted" and best.matched >= 36


def test_flux_payload_is_the_46_bits_its_code_writes():
    """bin() drops the message's two leading zeros; reading 48 bits would shift every bit by two."""
    flux = next(p for p in generators.PAYLOADS if p.generator == "FLUX")
    assert flux.bits.size == 46 and flux.bits[0] == 1
    rgb = pixels("flux_astronaut.png")
    assert int(np.sum(generators.read_bits(rgb, 46, "bgr_float") == flux.bits)) == 46
    best = generators.recognise(rgb)[0]
    assert best.generator == "FLUX" and best.total == 46 and best.confidence == "high"


def test_flux_8bit_reading_comes_out_inverted_on_warm_pictures():
    rgb = pixels("flux_coffee.png")
    flux = next(p for p in generators.PAYLOADS if p.generator == "FLUX")
    assert int(np.sum(generators.read_bits(rgb, 46, "bgr_uint8") == flux.bits)) <= 10
    assert generators.recognise(rgb)[0].reading == "bgr_uint8_inverted"


def test_sdxl_float_reading_is_tried_and_never_loses_to_it():
    """The SDXL mark made on a float image reads better in the float domain on some pixels."""
    rgb = pixels("sdxl_coffee.png")
    truth = next(p for p in generators.PAYLOADS if p.generator == "SDXL").bits
    as_float = int(np.sum(generators.read_bits(rgb, 48, "rgb_float") == truth))
    assert as_float >= 36
    assert generators.recognise(rgb)[0].matched >= as_float


@pytest.mark.parametrize("photo", corpus_files(), ids=lambda p: p.name)
def test_unmarked_photos_report_no_generator(photo):
    matches = generators.recognise(np.asarray(Image.open(photo).convert("RGB")))
    assert matches and not any(m.reported for m in matches), [m.as_record() for m in matches]
    assert not any(m.reported for m in generators.recognise(pixels("plain_astronaut.png")))


def test_images_below_the_librarys_minimum_give_no_reading():
    assert generators.recognise(np.zeros((200, 300, 3), np.uint8)) == []
