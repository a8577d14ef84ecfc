"""Ways to match a repost to its original, each a small plug-in declaring its own hash, distance and
threshold (after ThreatExchange's signal types). The registry stores every signal; the matcher tries the
strongest key first.

Measured here (``shared/spec/toolbox.md``): a 64-bit difference hash finds re-encodes, resizes and small
label edits at Hamming distance <= 10 with no false match in 1,920 pairs, but not crops; the watermark
payload finds crops; local features confirm a candidate and give the geometry.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import cv2
import numpy as np
from PIL import Image

HASH_SIDE = 8


class HashSignal(ABC):
    """A 64-bit perceptual hash compared by Hamming distance."""

    name: str
    threshold: int  # distances at or below this are candidates

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


SIGNALS: tuple[HashSignal, ...] = (DifferenceHash(), DctHash())


def hashes(image: Image.Image) -> dict[str, int]:
    return {signal.name: signal.compute(image) for signal in SIGNALS}


def hashes_of(image) -> dict[str, int]:
    """The hashes of a ``DecodedImage``, from its shared luminance (each signal takes its own reduced view)."""
    return {signal.name: signal.compute(image.grey) for signal in SIGNALS}


def to_signed(value: int) -> int:
    """SQLite stores signed 64-bit integers."""
    return value - (1 << 64) if value >= 1 << 63 else value


def to_unsigned(value: int) -> int:
    return value + (1 << 64) if value < 0 else value
