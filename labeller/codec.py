"""What a watermark codec is, for every invisible mark aimark meets: its own (``watermark``), the marks
generators leave (``aimark.detectors.generators``, read-only) and the open codecs the benchmarks compare
(``bench/robustness.py``). One shape, so a benchmark, a reader or a test treats them alike.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Protocol

import numpy as np
from PIL import Image


class Reading(Protocol):
    """What a codec read from pixels."""

    @property
    def bits(self) -> np.ndarray | None:
        """The message bits as read (None: nothing readable), for bit accuracy."""

    @property
    def payload(self) -> Any:
        """The payload, when the codec can tell a real one from noise (error detection); else None."""

    @property
    def found(self) -> bool: ...


class WatermarkCodec(ABC):
    """Embeds a payload in pixels and reads it back from pixels alone. Read-only codecs (a generator's
    mark) leave ``embed`` unimplemented."""

    name: str
    message_bits: int

    def embed(self, pixels: Image.Image, payload: Any) -> Image.Image:
        raise NotImplementedError(f"{self.name} is read-only: aimark reads this mark, it never writes it")

    def embed_checked(self, pixels: Image.Image, payload: Any) -> tuple[Image.Image, Any | None]:
        """Embed, and say what reading the mark back found (None: this codec does not check itself)."""
        return self.embed(pixels, payload), None

    def existing(self, pixels: Image.Image) -> Reading | None:
        """The mark of this codec a picture already carries, or None (a codec that cannot tell says None):
        the labeller never marks a picture twice."""
        return None

    @abstractmethod
    def read(self, pixels: Image.Image) -> Reading:
        """Read the mark blind; never raises for an unmarked picture."""

    def message(self, payload: Any) -> np.ndarray:
        """The bits a payload is carried as (what ``Reading.bits`` is compared with)."""
        return np.asarray(payload, dtype=np.int8)
