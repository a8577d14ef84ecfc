"""The registered judges, in the order their findings are reported; then ``verdict.decide``."""

from .base import Case, Judge
from .c2pa import C2paJudge
from .metadata import MetadataJudge
from .visible import EdgeMarksJudge, PlacedMarksJudge
from .watermark import WatermarkJudge

JUDGES: tuple[Judge, ...] = (MetadataJudge(), C2paJudge(), WatermarkJudge(), PlacedMarksJudge(), EdgeMarksJudge())

__all__ = ["JUDGES", "Case", "Judge"]
