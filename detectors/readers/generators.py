"""The invisible marks common generators leave (Stable Diffusion 1.x/2.x, SDXL)."""

from __future__ import annotations

from aimark.labeller.vocabulary import MarkKind

from .. import generators
from .base import Reader


class GeneratorReader(Reader):
    mark = MarkKind.GENERATOR_WATERMARK
    key = "generator_watermarks"
    title = "generator"

    def read(self, image, context):
        matches = generators.recognise(image.rgb_array)
        return self.evidence(matches, [m.as_record() for m in matches if m.reported])

    @staticmethod
    def lines(record):
        return [f"{m['generator']} watermark, {m['verdict']}: {m['matched_bits']}/{m['total_bits']} bits "
                f"({m['reading']}, chance {m['chance']:.1e})" for m in record]
