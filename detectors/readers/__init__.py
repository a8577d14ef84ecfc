"""The registered readers, in the order an inspection reports them. Adding a reader: one module with a
``Reader`` subclass, and one line here (see ``docs/architecture.md``)."""

from .base import Reader, ReadContext
from .c2pa import C2paReader
from .generators import GeneratorReader
from .metadata import MetadataReader
from .visible import VisibleReader
from .watermark import WatermarkReader

READERS: tuple[Reader, ...] = (
    MetadataReader(),
    C2paReader(),
    VisibleReader(),
    WatermarkReader(),
    GeneratorReader(),
)

__all__ = ["READERS", "ReadContext", "Reader"]
