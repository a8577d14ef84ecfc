"""Ways to match a repost to its original, each a small plug-in declaring its own hash, size, distance and
threshold (after ThreatExchange's signal types). The registry stores every signal; the matcher tries the
strongest key first.

Measured here (``shared/spec/toolbox.md``): a 64-bit difference hash finds re-encodes, resizes and small
label edits at Hamming distance <= 10 with no false match in 1,920 pairs, but not crops; the watermark
payload finds crops; local features confirm a candidate and give the geometry. PDQ is the 256-bit hash
platforms exchange (Meta's Hasher-Matcher-Actioner and ThreatExchange), so a registry's originals can be
shared with tools that never heard of aimark.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import cv2
import numpy as np
from PIL import Image

HASH_SIDE = 8


class HashSignal(ABC):
    """A perceptual hash of ``bits`` bits (an unsigned integer) compared by Hamming distance."""

    name: str
    threshold: int  # distances at or below this are candidates
    bits: int = 64

    @abstractmethod
    def compute(self, image: Image.Image) -> int:
        """The hash of ``image`` as an unsigned 64-bit integer."""

    @staticmethod
    def distance(a: int, b: int) -> int:
        return int(a ^ b).bit_count()

    @staticmethod
    def pack(bits: np.ndarray) -> int:
        return int.from_bytes(np.packbits(bits.astype(np.uint8).ravel()).tobytes(), "big")


class DifferenceHash(HashSignal):
    """dHash: is each pixel brighter than its right neighbour, on a 9x8 grey thumbnail."""

    name = "dhash"
    threshold = 10

    def compute(self, image: Image.Image) -> int:
        grey = np.asarray(image.convert("L").resize((HASH_SIDE + 1, HASH_SIDE), Image.Resampling.BOX), np.int16)
        return self.pack(grey[:, 1:] > grey[:, :-1])


class DctHash(HashSignal):
    """pHash: signs of the lowest 8x8 DCT frequencies of a 32x32 grey thumbnail, against their median."""

    name = "phash"
    threshold = 12

    def compute(self, image: Image.Image) -> int:
        grey = np.asarray(image.convert("L").resize((32, 32), Image.Resampling.BOX), np.float32)
        low = cv2.dct(grey)[:HASH_SIDE, :HASH_SIDE].ravel()
        return self.pack(low > np.median(low[1:]))


class PdqHash(HashSignal):
    """PDQ (Meta's reference implementation, through the ``pdqhash`` binding python-threatexchange uses):
    256 bits from a 64x64 luminance, compared at distance <= 31, the threshold HMA and ThreatExchange use.

    It is computed from the luminance reduced to at most 512 px (PDQ reduces to 64x64 itself; on the
    corpus the full-size and 512-px hashes differ by 5-15 bits, and the reduction saves ~0.1 s per 1-MP
    photo). ``quality`` (0-100) says how much structure the picture has; HMA ignores hashes below 50."""

    name = "pdq"
    threshold = 31
    bits = 256
    REDUCED_SIDE = 512

    def compute(self, image: Image.Image) -> int:
        return self.compute_with_quality(image)[0]

    def compute_with_quality(self, image: Image.Image) -> tuple[int, int]:
        import pdqhash

        grey = image.convert("L")
        if max(grey.size) > self.REDUCED_SIDE:
            grey = grey.copy()
            grey.thumbnail((self.REDUCED_SIDE, self.REDUCED_SIDE), Image.Resampling.BOX)
        plane = np.asarray(grey)
        bits, quality = pdqhash.compute(np.ascontiguousarray(np.dstack([plane] * 3)))
        return self.pack(np.asarray(bits) > 0), int(quality)


SIGNALS: tuple[HashSignal, ...] = (DifferenceHash(), DctHash(), PdqHash())
BY_NAME = {signal.name: signal for signal in SIGNALS}


def hashes(image: Image.Image) -> dict[str, int]:
    return {signal.name: signal.compute(image) for signal in SIGNALS}


def hashes_of(image) -> dict[str, int]:
    """The hashes of a ``DecodedImage``, from its shared luminance (each signal takes its own reduced view)."""
    return {signal.name: image.view(("signal", signal.name), lambda signal=signal: signal.compute(
        image.grey if signal.bits == 64 else image.grey_scaled(PdqHash.REDUCED_SIDE, Image.Resampling.BOX)[0]))
        for signal in SIGNALS}


def hashes_transposed(image, transpose: Image.Transpose) -> dict[str, int]:
    """The hashes a ``DecodedImage`` would have were it transposed (mirrored or turned a quarter or half
    round): none of the signals is, so a turned repost is looked up as each of its seven turns. Made from
    the luminance PDQ reads (at most 512 px), all three: a 64-bit hash of it is a few bits from the full
    frame's, well inside the thresholds."""
    view = image.grey_scaled(PdqHash.REDUCED_SIDE, Image.Resampling.BOX)[0].transpose(transpose)
    return {signal.name: signal.compute(view) for signal in SIGNALS}


def to_hex(value: int, bits: int) -> str:
    """How PDQ hashes travel between platforms: lower-case hex, most significant bit first."""
    return f"{value:0{bits // 4}x}"


def to_signed(value: int) -> int:
    """SQLite stores signed 64-bit integers."""
    return value - (1 << 64) if value >= 1 << 63 else value


def to_unsigned(value: int) -> int:
    return value + (1 << 64) if value < 0 else value
