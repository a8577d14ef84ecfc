"""What embedding the watermark costs in memory and CPU, by picture size (issue 13: <= 16 bytes per pixel).

Each size runs in a fresh process, so the peak resident memory it reports is the embedding's own: the
growth of the peak over the process with the picture already decoded (the input picture is the caller's;
the output picture, 3 bytes per pixel, is counted). CPU seconds per megapixel beside it.

    python bench/embed_cost.py [--megapixels 2 12 30 48]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PICTURE = ROOT / "tests" / "corpus" / "retina.jpg"

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from PIL import Image
from aimark.labeller import watermark as wm
megapixels = float(sys.argv[2])
base = Image.open(sys.argv[3]).convert("RGB")
side = (megapixels * 1e6 / (4 * 3)) ** 0.5
picture = base.resize((round(4 * side), round(3 * side)))
payload = wm.WatermarkPayload("1234567890", 7)
wm.embed(base.resize((640, 480)), payload)  # imports and caches, as in any batch after its first image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.process_time()
marked = wm.embed(picture, payload)
cpu = time.process_time() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"pixels": picture.width * picture.height, "grown_kb": after - before, "cpu": cpu}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, nargs="*", default=[2, 12, 30, 48])
    args = parser.parse_args()
    print(f"{'MP':>6} {'peak growth MB':>15} {'bytes/pixel':>12} {'CPU s':>7} {'CPU s/MP':>9}")
    for megapixels in args.megapixels:
        run = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(megapixels), str(PICTURE)],
                             capture_output=True, text=True, check=True)
        found = json.loads(run.stdout.strip().splitlines()[-1])
        pixels, grown = found["pixels"], found["grown_kb"] * 1024
        print(f"{pixels / 1e6:6.1f} {grown / 2**20:15.0f} {grown / pixels:12.1f} {found['cpu']:7.2f} "
              f"{found['cpu'] / (pixels / 1e6):9.3f}")
    print("\ntarget (issue 13): <= 16 bytes per pixel")
    return 0


if __name__ == "__main__":
    sys.exit(main())
