"""The invisible watermark step of the labelling pipeline.

The pipeline calls a ``WatermarkStep`` between the visible marks and the metadata: it changes pixels, so it
must come before anything that describes or signs them. The robust codec is its own piece of work; until a
step is configured the pipeline records that no watermark was embedded rather than pretending one was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from PIL import Image


@dataclass(frozen=True)
class WatermarkPayload:
    """What a watermark carries: enough to tie a stripped repost back to its author and its record."""

    author_id: str
    content_id: str

    def as_record(self) -> dict:
        return {"author_id": self.author_id, "content_id": self.content_id}


class WatermarkStep(Protocol):
    """Embeds a payload in pixels and reads it back from pixels alone."""

    name: str

    def embed(self, pixels: Image.Image, payload: WatermarkPayload) -> Image.Image:
        """Return marked pixels; never modify ``pixels`` in place."""

    def read(self, pixels: Image.Image) -> WatermarkPayload | None:
        """The payload, or None when there is no watermark (with the step's stated false-positive bound)."""
