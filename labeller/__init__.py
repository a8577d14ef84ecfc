"""Writing aimark's marks — and reading each back: every layer's format lives in one module here.

- ``visible``: the GB 45438 §5.2 AI label and the author's ID mark (draw, place, check).
- ``watermark``: the invisible watermark step.
- ``metadata``: the TC260 XMP label, IPTC source type and EXIF fields (write, read, judge).
- ``c2pa``: Content Credentials (sign, read, validate); ``keys`` makes local signing credentials.
- ``formats``: writing each format back as it came (quality, depth, ICC), with every label carrier.
- ``pipeline``: one image, in the order the rules require; ``batch``: many, resumable, never losing a file;
  ``workers``: the isolated worker processes a batch runs in.
"""

from .errors import AimarkError
from .pipeline import Labeller, LabelOptions, LabelResult

__all__ = ["AimarkError", "Labeller", "LabelOptions", "LabelResult"]
