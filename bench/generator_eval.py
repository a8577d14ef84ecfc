"""Generator-watermark recognition: what it reports on the library-made fixtures, how often it reports a
generator on unmarked photos and crops (it must not), and what it costs.

    python bench/generator_eval.py [--crops 40]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from aimark.detectors import generators

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
FIXTURES = ROOT / "tests" / "fixtures" / "generators"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=int, default=40, help="random crops per corpus photo, besides the photo")
    args = parser.parse_args()
    print("fixtures made by invisible-watermark (tests/fixtures/generators/make_fixtures.py):")
    for path in sorted(FIXTURES.glob("*.png")):
        best = generators.recognise(np.asarray(Image.open(path).convert("RGB")))[0]
        print(f"  {path.name:22} best: {best.generator:22} {best.matched:3}/{best.total:<3} bits, {best.verdict:11} "
              f"chance {best.p_value:.1e}, reported: {best.reported}, confidence: {best.confidence}")
    rng = np.random.default_rng(5)
    decodes = reported = strong = 0
    smallest = 1.0
    seconds = megapixels = 0.0
    for path in sorted(p for p in CORPUS.iterdir() if p.suffix.lower() in (".jpg", ".png")):
        pixels = np.asarray(Image.open(path).convert("RGB"))
        for k in range(args.crops + 1):
            view = pixels
            if k:
                h, w = pixels.shape[:2]
                ch, cw = int(h * rng.uniform(0.3, 1)), int(w * rng.uniform(0.3, 1))
                y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
                view = pixels[y:y + ch, x:x + cw]
            start = time.process_time()
            matches = generators.recognise(view)
            seconds += time.process_time() - start
            if matches:
                decodes += 1
                megapixels += view.shape[0] * view.shape[1] / 1e6
                reported += any(m.reported for m in matches)
                strong += any(m.reported and m.confidence == "high" for m in matches)
                smallest = min(smallest, matches[0].p_value)
    print(f"\nunmarked corpus photos and crops: {reported} generator reports ({strong} of high confidence, the "
          f"only ones a verdict uses) in {decodes} readings (smallest chance seen {smallest:.1e}; reports need "
          f"<= {generators.REPORT_P_VALUE:.0e}, high confidence <= 1e-06); "
          f"{seconds / megapixels:.3f} CPU-s per MP")
    return 0


if __name__ == "__main__":
    sys.exit(main())
