"""PDQ on reposts: each case of ``bench/reposts.py`` applied to every picture of the corpora, and the
distance of the repost's PDQ to the original's (bits of 256; HMA and ThreatExchange match at <= 31).

    .venv/bin/python bench/pdq_reposts.py [--folders tests/corpus ../shared/corpus]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from aimark.detectors import signals
    from bench.reposts import SUITE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=Path, nargs="+",
                        default=[ROOT / "tests" / "corpus", ROOT.parent / "shared" / "corpus"])
    args = parser.parse_args()
    files = [p for folder in args.folders if folder.is_dir() for p in sorted(folder.iterdir())
             if p.suffix.lower() in (".jpg", ".png")]
    pdq = signals.PdqHash()
    distances: dict[str, list[int]] = {case: [] for case in SUITE}
    originals = []
    for path in files:
        image = Image.open(path).convert("RGB")
        if max(image.size) > 1600:
            image.thumbnail((1600, 1600))
        original = pdq.compute(image)
        originals.append(original)
        box = (image.width * 3 // 4, image.height * 23 // 25, image.width - 10, image.height - 10)
        for case, repost in SUITE.items():
            distances[case].append(signals.HashSignal.distance(pdq.compute(repost.apply(image, box=box)), original))
    print(f"{len(files)} pictures; PDQ distance of each repost to its original (threshold {pdq.threshold})\n")
    print(f"{'case':20} {'max':>4} {'median':>7} {'missed':>7}")
    for case, values in distances.items():
        print(f"{case:20} {max(values):4d} {int(np.median(values)):7d} "
              f"{sum(v > pdq.threshold for v in values):3d}/{len(values)}")
    closest = min(signals.HashSignal.distance(a, b) for i, a in enumerate(originals) for b in originals[i + 1:])
    print(f"\nclosest two different pictures: {closest} bits")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
