"""What one scan costs, stage by stage, against decoding the same file, in the same run (issue 14's ratios):
for reposts of labelled corpus photos at a social size (long side 1080, JPEG q85) and for the same photos
never labelled (an upload with no marks: the common case on a platform).

CPU seconds of this process (``time.process_time``), one thread for OpenCV and onnxruntime, median over
the pictures; each stage is timed on a fresh decoded image, so its shared views are paid by the first stage
that needs them, as in a scan.

    .venv/bin/python bench/scan_cost.py [--corpus ../shared/corpus] [--images 8]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

import cv2
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def cpu(function) -> float:
    began = time.process_time()
    function()
    return time.process_time() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--images", type=int, default=8)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    from aimark.detectors import ScanOptions, scan
    from aimark.detectors.inspect import run_readers
    from aimark.detectors.matching import find_original
    from aimark.detectors.readers import READERS, ReadContext
    from aimark.detectors.registry import Registry
    from aimark.labeller.pipeline import Labeller, LabelOptions
    from aimark.labeller.source import DecodedImage
    from aimark.labeller.watermark import TiledSpreadSpectrum
    from aimark.models import OcrEngine

    files = sorted(p for p in args.corpus.iterdir() if p.suffix.lower() in (".jpg", ".png"))[:args.images]
    labeller = Labeller(LabelOptions(producer="001191110102MACQD9K64010000", author_id="1234567890",
                                     author_template="小红书号：{id}"), watermark=TiledSpreadSpectrum())
    registry = Registry(Path(tempfile.mkdtemp()) / "originals.sqlite")

    def social(image: Image.Image) -> bytes:
        image = image.convert("RGB")
        image.thumbnail((1080, 1080), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        return buffer.getvalue()

    cases = {"labelled repost": [], "unlabelled upload": []}
    for path in files:
        result = labeller.label_bytes(path.read_bytes(), path.name)
        registry.add(result.record, result.pixels, "1234567890")
        cases["labelled repost"].append(social(result.pixels))
        cases["unlabelled upload"].append(social(Image.open(path)))
    ocr = OcrEngine()
    full, fast = ScanOptions(ocr=ocr, registry=registry), ScanOptions(registry=registry)
    for data in cases["labelled repost"][:2]:  # warm the models and the registry's index
        scan(data, full)
    print(f"{len(files)} corpus photos, long side 1080 px, JPEG q85; CPU ms per image, median; x = / decode\n")
    stages = ["decode"] + [f"read {r.key}" for r in READERS] + ["match (registry)", "scan --fast", "scan (full)"]
    print(f"{'stage':24}" + "".join(f"{name:>26}" for name in cases))
    rows: dict[str, dict[str, float]] = {stage: {} for stage in stages}
    for case, datas in cases.items():
        timings: dict[str, list[float]] = {stage: [] for stage in stages}
        for data in datas:
            decode = min(cpu(lambda: Image.open(io.BytesIO(data)).load()) for _ in range(3))
            timings["decode"].append(decode)
            image = DecodedImage(data)
            context = ReadContext(ocr=ocr)
            for reader in READERS:
                timings[f"read {reader.key}"].append(cpu(lambda: run_readers(image, context, (reader,))))
            evidence = run_readers(image, context, READERS)
            payload = evidence.get("watermark").reading.payload if evidence.get("watermark") and \
                evidence["watermark"].reading is not None else None
            timings["match (registry)"].append(cpu(lambda: find_original(image, payload, registry)))
            timings["scan --fast"].append(cpu(lambda: scan(data, fast)))
            timings["scan (full)"].append(cpu(lambda: scan(data, full)))
        for stage in stages:
            rows[stage][case] = statistics.median(timings[stage])
    for stage in stages:
        cells = []
        for case in cases:
            value, decode = rows[stage][case], rows["decode"][case]
            cells.append(f"{value * 1000:9.1f} ms {value / decode:7.1f}x" if stage != "decode"
                         else f"{value * 1000:9.1f} ms {'':8}")
        print(f"{stage:24}" + "".join(f"{cell:>26}" for cell in cells))
    print("\ntargets (issue 14): full scan <= 10x the decode, --fast <= 3x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
