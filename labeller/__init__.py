"""Writing aimark's marks — and reading each back: every layer's format lives in one module here.

- ``visible``: the GB 45438 §5.2 AI label and the author's ID mark (draw, place, check).
- ``watermark``: the invisible watermark step.
- ``metadata``: the TC260 XMP label, IPTC source type and EXIF fields (write, read, judge).
- ``c2pa``: Content Credentials (sign, read, validate); ``keys`` makes local signing credentials.
- ``pipeline``: one image or a batch, in the order the rules require.
"""

from .errors import AimarkError
from .pipeline import Labeller, LabelOptions, label_batch, plan_batch

__all__ = ["AimarkError", "Labeller", "LabelOptions", "label_batch", "plan_batch"]
