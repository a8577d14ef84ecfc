"""Text recognition for visible marks, with the PP-OCRv6 small models that ship inside the rapidocr wheel.

The models are pinned by path: rapidocr downloads any model that is not given by path, and this product
must never touch the network at run time. The angle classifier is off: our marks are horizontal, and
toolbox.md measured no accuracy loss without it at a third less time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .runtime import session_threads

MODEL_FILES = {
    "det": "PP-OCRv6_det_small.onnx",
    "rec": "PP-OCRv6_rec_small.onnx",
}


@dataclass(frozen=True)
class TextLine:
    """One line of text found in an image: what it says, where (x0, y0, x1, y1), and how sure."""

    text: str
    box: tuple[int, int, int, int]
    score: float


def shipped_model_paths() -> dict[str, Path]:
    """Paths of the OCR models inside the installed rapidocr package; an error if one is missing."""
    import rapidocr

    folder = Path(rapidocr.__file__).parent / "models"
    paths = {task: folder / name for task, name in MODEL_FILES.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"OCR model files missing from the rapidocr package: {', '.join(missing)}; "
            "reinstall rapidocr==3.10.0 (aimark never downloads models)"
        )
    return paths


class OcrEngine:
    """Reads text lines from an image. One engine per process; create it once and reuse it."""

    def __init__(self, threads: int | None = None):
        from rapidocr import RapidOCR

        self._threads = threads
        threads = threads or session_threads()
        paths = shipped_model_paths()
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        self._engine = RapidOCR(
            params={
                "Global.use_cls": False,
                "Global.log_level": "error",
                "Det.model_path": str(paths["det"]),
                # Never upscale: the default ("min", 736) blows a thin edge strip up sevenfold.
                "Det.limit_type": "max",
                "Det.limit_side_len": 1600,
                "Rec.model_path": str(paths["rec"]),
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )

    def __reduce__(self):
        """Pickled as its settings: each worker process loads its own onnxruntime sessions."""
        return (type(self), (self._threads,))

    def read(self, image: Image.Image | np.ndarray) -> list[TextLine]:
        """Every text line in ``image`` (RGB Pillow image or RGB array), in image coordinates."""
        rgb = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image)
        result = self._engine(np.ascontiguousarray(rgb[:, :, ::-1]))
        if result.boxes is None or result.txts is None:
            return []
        lines = []
        for quad, text, score in zip(result.boxes, result.txts, result.scores):
            xs, ys = quad[:, 0], quad[:, 1]
            box = (int(xs.min()), int(ys.min()), int(np.ceil(xs.max())), int(np.ceil(ys.max())))
            lines.append(TextLine(text=text, box=box, score=float(score)))
        return lines
