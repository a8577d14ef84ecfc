"""ONNX models run through onnxruntime: which models, where their files come from, sessions and threads.

No model is ever downloaded: every model here ships inside an installed package, and asking for one that
is missing is an error, not a fetch.
"""

from .ocr import OcrEngine, TextLine

__all__ = ["OcrEngine", "TextLine"]
