"""One input, decoded once, with every view a reader needs made at most once.

A scan used to convert a 1920x1280 repost to grey four to six times and copy its RGB frame twice: each
reader decoded or converted the whole frame for itself. Here the file is decoded once (``image_io``) and
each derived view — RGB, the one luminance conversion, reduced copies of it, any reader's own working view
— is built on first use and shared. ``counts`` records the whole-frame work, so a test can hold the line.
"""

from __future__ import annotations

from collections import Counter
from functools import cached_property
from typing import Callable

import numpy as np
from PIL import Image

from . import image_io
from .errors import AimarkError, input_guard


class DecodedImage:
    """An encoded image and its decoded views. ``error`` says why there are no pixels (metadata can still
    be read from ``data``)."""

    def __init__(self, data: bytes, name: str = ""):
        self.data = data
        self.name = name
        self.counts: Counter = Counter()
        self._views: dict = {}
        self._error: str | None = None
        self._source: image_io.SourceImage | None = None
        self._decoded = False

    def _decode(self) -> None:
        if self._decoded:
            return
        self._decoded = True
        try:
            with input_guard("this image"):
                self._source = image_io.load_source(self.data)
            self.counts["decode"] += 1
        except AimarkError as exc:
            self._error = str(exc)

    @property
    def source(self) -> image_io.SourceImage | None:
        self._decode()
        return self._source

    @property
    def error(self) -> str | None:
        self._decode()
        return self._error

    @property
    def pixels(self) -> Image.Image | None:
        """The decoded, upright 8-bit RGB or RGBA pixels (None when the file could not be decoded)."""
        return self.source.pixels if self.source is not None else None

    @property
    def size(self) -> tuple[int, int] | None:
        return self.pixels.size if self.pixels is not None else None

    @cached_property
    def rgb(self) -> Image.Image:
        """RGB pixels (RGBA's alpha dropped once, here)."""
        pixels = self._require()
        if pixels.mode == "RGB":
            return pixels
        self.counts["rgb"] += 1
        return pixels.convert("RGB")

    @cached_property
    def rgb_array(self) -> np.ndarray:
        return np.asarray(self.rgb)

    @cached_property
    def grey(self) -> Image.Image:
        """Luminance (ITU-R 601 weights, as Pillow's "L"): the one conversion every grey view derives from."""
        self.counts["luminance"] += 1
        return self.rgb.convert("L")

    @cached_property
    def grey_array(self) -> np.ndarray:
        return np.asarray(self.grey)

    def grey_resized(self, size: tuple[int, int], resample=Image.Resampling.BOX) -> Image.Image:
        """Luminance at ``size``, made once per size and filter."""
        return self.view(("grey", size, resample), lambda: self.grey if size == self.grey.size
                         else self.grey.resize(size, resample))

    def grey_scaled(self, long_side: int, resample=Image.Resampling.BILINEAR) -> tuple[Image.Image, float]:
        """Luminance with its long side at most ``long_side`` and the factor applied (1.0: the full frame)."""
        width, height = self.size
        factor = min(1.0, long_side / max(width, height))
        if factor == 1.0:
            return self.grey, 1.0
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        return self.grey_resized(size, resample), factor

    def view(self, key, make: Callable):
        """Any reader's own derived view, made on first use (``key`` names it)."""
        if key not in self._views:
            self._views[key] = make()
        return self._views[key]

    def _require(self) -> Image.Image:
        if self.pixels is None:
            raise AimarkError(self.error or "the image could not be decoded")
        return self.pixels
