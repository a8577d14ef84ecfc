"""Recognising the invisible watermarks that common generators leave (Stable Diffusion 1.x/2.x, SDXL, FLUX).

They all use invisible-watermark's ``dwtDct``: one Haar DWT level of the U plane, 4x4 blocks of the
approximation band, and in each block the largest coefficient after the first quantised with step 36
(its remainder above or below half a step is the bit); bits repeat over the blocks and are averaged.
This module reproduces that decoder in vectorised numpy — without the library, which imports torch —
and is checked bit for bit against the library's own decoder on fixtures the library made.

Two readings exist because of how the marks were made:
- the SD reference scripts mark a BGR 8-bit image; reading our RGB pixels as BGR matches them;
- diffusers' SDXL watermarker hands the library an RGB *float* array (taken for BGR, chroma offset 0.5
  instead of 128), so an 8-bit copy is read in the float domain too; and where the picture's chroma lies
  below that offset (dark or cold scenes) the 8-bit reading comes out inverted, so its complement counts;
- Black Forest Labs' FLUX reference code flips a float array to BGR before marking, so it is read as BGR
  in both domains, with the same inversion of the 8-bit reading. Its "48-bit" message goes through
  ``bin()[2:]``, which drops the two leading zeros: the payload really written is 46 bits long.

These marks rarely survive a single JPEG re-encode: a match is cheap evidence on pristine files, never a
repost detector, and no match means nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import comb

import cv2
import numpy as np

from aimark.labeller.codec import WatermarkCodec

SCALE = 36.0  # quantisation step of the U plane's DWT approximation band
BLOCK = 4
_HAAR = np.float64(0.7071067811865476)  # pywt's Haar filter tap; reproduce its rounding exactly

SDXL_MESSAGE = 0b101100111110110010010000011110111011000110011110
FLUX_MESSAGE = 0b001010101111111010000111100111001111010100101110  # black-forest-labs/flux watermark.py


def _bits_as_written(message: int) -> np.ndarray:
    """The bits the generators' code passes to the library: ``bin(message)[2:]``, leading zeros dropped."""
    return np.array([int(b) for b in bin(message)[2:]], dtype=np.int8)


def _bits_of(data: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8)).astype(np.int8)


@dataclass(frozen=True)
class GeneratorPayload:
    """A generator's known payload and where its authors' code writes it."""

    generator: str
    bits: np.ndarray
    readings: tuple[str, ...]
    inverted_readings: tuple[str, ...] = ()  # readings whose bit complement is also the payload


PAYLOADS = (
    GeneratorPayload("Stable Diffusion 1.x", _bits_of(b"StableDiffusionV1"), ("bgr_uint8",)),
    GeneratorPayload("Stable Diffusion 2.x", _bits_of(b"SDV2"), ("bgr_uint8",)),
    GeneratorPayload("SDXL", _bits_as_written(SDXL_MESSAGE), ("rgb_uint8", "rgb_float"),
                     inverted_readings=("rgb_uint8",)),
    GeneratorPayload("FLUX", _bits_as_written(FLUX_MESSAGE), ("bgr_uint8", "bgr_float"),
                     inverted_readings=("bgr_uint8",)),
)

# Stability AI's own thresholds for the 48-bit SDXL mark, as shares of the payload length.
VERDICTS = ((36 / 48, "very likely"), (34 / 48, "likely"), (28 / 48, "partial"))
# A match is reported only when chance alone would produce it at most this often (SDXL: 36 of 48 bits,
# the level Stability AI calls "very likely", is p = 3.6e-4).
REPORT_P_VALUE = 1e-3


def u_plane(rgb: np.ndarray, reading: str) -> np.ndarray:
    """The plane the library marks, as it would see it: cv2's YUV of the array it was handed."""
    order, domain = reading.split("_")
    view = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if order == "bgr" else rgb
    if domain == "float":
        view = view.astype(np.float32)
    return cv2.cvtColor(view, cv2.COLOR_BGR2YUV)[:, :, 1].astype(np.float64)


def haar_approximation(plane: np.ndarray) -> np.ndarray:
    """pywt.dwt2(plane, 'haar')[0] for an even-sized plane, with pywt's floating-point rounding."""
    rows = _HAAR * plane[0::2, :] + _HAAR * plane[1::2, :]
    return _HAAR * rows[:, 0::2] + _HAAR * rows[:, 1::2]


STRIP_ROWS = 512  # plane rows per strip: a multiple of 8 (a 2x2 Haar step, then 4x4 blocks)


def block_scores(rgb: np.ndarray, reading: str) -> np.ndarray:
    """Per 4x4 block of the U plane's DWT band, the library's bit (0/1) — whatever the payload length.

    Worked in strips of whole block rows, in block order: the same bits as the whole plane at once, with
    memory that does not grow with the picture's height."""
    height, width = rgb.shape[:2]
    usable_rows, usable_cols = height // 8 * 8, width // 8 * 8
    strips = []
    for top in range(0, usable_rows, STRIP_ROWS):
        strip = rgb[top:min(top + STRIP_ROWS, usable_rows)]
        band = haar_approximation(u_plane(strip, reading)[:, :usable_cols])
        block_rows, block_cols = band.shape[0] // BLOCK, band.shape[1] // BLOCK
        blocks = (band[: block_rows * BLOCK, : block_cols * BLOCK]
                  .reshape(block_rows, BLOCK, block_cols, BLOCK).transpose(0, 2, 1, 3).reshape(-1, BLOCK * BLOCK))
        position = np.argmax(np.abs(blocks[:, 1:]), axis=1) + 1
        value = np.abs(blocks[np.arange(blocks.shape[0]), position])
        strips.append(np.mod(value, SCALE) > 0.5 * SCALE)
    return np.concatenate(strips).astype(np.uint8) if strips else np.zeros(0, np.uint8)


def read_bits(rgb: np.ndarray, length: int, reading: str = "bgr_uint8",
              scores: np.ndarray | None = None) -> np.ndarray:
    """What invisible-watermark's ``dwtDct`` decoder returns for a ``length``-bit payload (``scores``: the
    reading's ``block_scores``, when already made)."""
    scores = block_scores(rgb, reading) if scores is None else scores
    bit_index = np.arange(scores.size) % length
    totals = np.bincount(bit_index, weights=scores, minlength=length)
    counts = np.bincount(bit_index, minlength=length)
    with np.errstate(invalid="ignore", divide="ignore"):
        averages = totals / counts
    return (averages * 255 > 127).astype(np.int8)


def chance(matched: int, total: int) -> float:
    """Probability that random bits match at least ``matched`` of ``total``."""
    return sum(comb(total, k) for k in range(matched, total + 1)) / 2 ** total


@dataclass(frozen=True)
class GeneratorMatch:
    """How well one generator's payload reads from an image, and what that is worth."""

    generator: str
    matched: int
    total: int
    reading: str
    p_value: float
    bits: np.ndarray | None = field(default=None, repr=False, compare=False)  # the best reading's bits

    @property
    def payload(self) -> str | None:
        """The generator's name when the match is strong enough to report (the ``codec.Reading`` view)."""
        return self.generator if self.reported else None

    @property
    def found(self) -> bool:
        return self.reported

    @property
    def verdict(self) -> str:
        share = self.matched / self.total
        return next((name for threshold, name in VERDICTS if share >= threshold), "none")

    @property
    def reported(self) -> bool:
        return self.verdict != "none" and self.p_value <= REPORT_P_VALUE

    @property
    def confidence(self) -> str:
        """How far chance is from explaining the match. Several payloads and readings are tried per image,
        so only "high" (chance <= 1e-6) is strong enough for a verdict to rest on."""
        return "high" if self.p_value <= 1e-6 else "medium" if self.p_value <= 1e-4 else "low"

    def as_record(self) -> dict:
        return {"generator": self.generator, "matched_bits": self.matched, "total_bits": self.total,
                "reading": self.reading, "verdict": self.verdict, "chance": self.p_value,
                "confidence": self.confidence}


class GeneratorCodec(WatermarkCodec):
    """One generator's mark as a read-only codec (aimark never writes another generator's mark)."""

    def __init__(self, payload: GeneratorPayload):
        self.spec = payload
        self.name = payload.generator
        self.message_bits = payload.bits.size

    def read(self, pixels) -> GeneratorMatch:
        rgb = np.ascontiguousarray(np.asarray(pixels.convert("RGB") if hasattr(pixels, "convert") else pixels)[..., :3])
        return self.read_array(rgb, {})

    def read_array(self, rgb: np.ndarray, scores: dict) -> GeneratorMatch:
        """The best reading of this payload; ``scores`` caches each reading's block scores across codecs."""
        payload, best = self.spec, None
        for reading in payload.readings:
            if reading not in scores:  # each plane is converted and transformed once, whatever the payloads
                scores[reading] = block_scores(rgb, reading)
            bits = read_bits(rgb, payload.bits.size, reading, scores[reading])
            matched = int(np.sum(bits == payload.bits))
            options = [(matched, reading, bits)]
            if reading in payload.inverted_readings:
                options.append((payload.bits.size - matched, reading + "_inverted", 1 - bits))
            for candidate in options:
                if best is None or candidate[0] > best[0]:
                    best = candidate
        return GeneratorMatch(payload.generator, best[0], payload.bits.size, best[1],
                              chance(best[0], payload.bits.size), bits=best[2])

    def message(self, payload=None) -> np.ndarray:
        return self.spec.bits


CODECS = tuple(GeneratorCodec(payload) for payload in PAYLOADS)


def recognise(rgb: np.ndarray) -> list[GeneratorMatch]:
    """Every known generator payload, best reading each, strongest evidence first.

    Images smaller than the library accepts (256x256 pixels in all) give no readings.
    """
    rgb = np.ascontiguousarray(rgb[:, :, :3])
    if rgb.shape[0] * rgb.shape[1] < 256 * 256:
        return []
    scores: dict = {}
    return sorted((codec.read_array(rgb, scores) for codec in CODECS), key=lambda m: m.p_value)
