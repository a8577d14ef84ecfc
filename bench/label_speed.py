"""How long labelling takes next to its floor: Pillow decoding and re-encoding the same image.

Labelling = everything ``aimark label`` does to one image except file I/O and the watermark step:
decode, visible label + author mark, EXIF, XMP label, C2PA signature. A further column adds the watermark
step, for reference (its own cost is measured by bench/robustness.py), and the last says what its
self-check chose (the strength and PSNR of the mark written). The floor is what any tool that rewrites the
pixels must pay anyway (decode + encode in the same format and quality), measured in the same run on the
same bytes, so the ratio does not depend on the machine.

    python bench/label_speed.py [--repeat 5] [--corpus ../shared/corpus] [--author-id studio_ada] [--stages]

``--stages`` adds what the watermark step is made of, each part timed on its own: the check that the
picture carries no mark yet (the no-second-mark rule: a blind read of the input), preparing the picture
(luminance, amplitude map, working view), one marking at the usual strength, and the self-check's read of a
simulated social repost — the least the issue's self-check and refusal ask, one of each.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from aimark.labeller import formats, watermark
from aimark.labeller.c2pa import CredentialSigner
from aimark.labeller.keys import init_keys
from aimark.labeller.pipeline import Labeller, LabelOptions
from aimark.labeller.vocabulary import MarkKind
from aimark.labeller.watermark import TiledSpreadSpectrum, WatermarkPayload

SIZE_CLASSES = [(0.5, "< 0.5 MP"), (2.0, "0.5-2 MP"), (5.0, "2-5 MP"), (float("inf"), ">= 5 MP")]
TARGET_RATIO = 1.5
WATERMARK_TARGET = 2.0  # issue 13: labelling with the watermark <= 2x the floor


def floor_seconds(data: bytes) -> float:
    """Decode and re-encode in the format and settings the labeller writes (same quality, subsampling,
    depth), with Pillow and nothing else."""
    start = time.process_time()
    image = Image.open(io.BytesIO(data))
    plan = formats.plan_output(formats.source_encoding(image, data))
    image.load()
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if image.mode in ("P", "PA") else "RGB")
    formats.encode(image, plan)
    return time.process_time() - start


def label_seconds(labeller: Labeller, data: bytes, checks: list | None = None) -> float:
    """CPU seconds of one labelling; ``checks`` collects the watermark's self-check record, if any."""
    start = time.process_time()
    result = labeller.label_bytes(data, "bench")
    seconds = time.process_time() - start
    mark = result.record.mark(MarkKind.WATERMARK)
    if checks is not None and mark:
        checks.append(mark["self_check"])
    return seconds


STAGES = ("no mark yet", "prepare", "mark", "repost read")


def stage_seconds(data: bytes) -> tuple[float, ...]:
    """CPU seconds of each part of the watermark step (``STAGES``), as ``embed_checked`` and the pipeline's
    ``existing`` run them, on the decoded picture."""
    pixels = Image.open(io.BytesIO(data))
    pixels = pixels.convert("RGB") if pixels.mode not in ("RGB", "RGBA") else pixels
    pixels.load()
    payload = WatermarkPayload(author_id="1234567890", content_id=5)
    times = []
    start = time.process_time()
    TiledSpreadSpectrum().existing(pixels)
    times.append(time.process_time() - start)
    start = time.process_time()
    host = watermark.Host(pixels)
    times.append(time.process_time() - start)
    start = time.process_time()
    marked = host.marked(payload)
    times.append(time.process_time() - start)
    start = time.process_time()
    watermark.detect(watermark.social_repost(marked), whole_picture=False)
    times.append(time.process_time() - start)
    return tuple(times)


def print_stages(rows: list, stages: dict) -> None:
    """Per size class: each part's CPU seconds and its ratio to the floor, and the sum of one of each."""
    print(f"\nthe watermark step's parts, CPU seconds per size class (x = / floor; target for the whole step "
          f"with the rest of labelling: <= {WATERMARK_TARGET}x)\n")
    names = "".join(f" {name:>18}" for name in STAGES + ("one of each",))
    print(f"{'size class':12} {'floor s':>8}{names}")
    for _, name in SIZE_CLASSES:
        members = [r for r in rows if size_class(r[1]) == name]
        if not members:
            continue
        floor = sum(r[2] for r in members)
        parts = [sum(stages[r[0]][i] for r in members) for i in range(len(STAGES))]
        cells = "".join(f" {part:9.3f} {part / floor:6.2f}x " for part in parts + [sum(parts)])
        print(f"{name:12} {floor:8.3f}{cells}")


def size_class(megapixels: float) -> str:
    return next(name for limit, name in SIZE_CLASSES if megapixels < limit)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus")
    parser.add_argument("--repeat", type=int, default=5, help="runs per image; the median is kept")
    parser.add_argument("--author-id", default="1234567890",
                        help="the author ID marked (a text ID is hashed into the payload)")
    parser.add_argument("--stages", action="store_true", help="also time the watermark step's parts")
    args = parser.parse_args()

    keys = init_keys(Path(tempfile.mkdtemp()) / "keys", "Bench")
    signer = CredentialSigner.from_files(keys.signer_chain, keys.signer_key)
    options = LabelOptions(producer="001191110102MACQD9K64010000", author_id=args.author_id,
                           author_template="小红书号：{id}")
    labeller = Labeller(options, signer=signer)
    with_watermark = Labeller(options, signer=signer, watermark=TiledSpreadSpectrum())
    files = sorted(p for p in args.corpus.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    rows = []
    stages = {}
    for path in files:
        data = path.read_bytes()
        with Image.open(path) as image:
            megapixels = image.width * image.height / 1e6
        labeller.label_bytes(data, "warm-up")  # font fitting and caches, as in any batch after its first image
        floor = statistics.median(floor_seconds(data) for _ in range(args.repeat))
        label = statistics.median(label_seconds(labeller, data) for _ in range(args.repeat))
        checks = []
        marked = statistics.median(label_seconds(with_watermark, data, checks) for _ in range(args.repeat))
        rows.append((path.name, megapixels, floor, label, marked, checks[-1] if checks else None))
        if args.stages:
            timed = [stage_seconds(data) for _ in range(args.repeat)]
            stages[path.name] = tuple(statistics.median(run[i] for run in timed) for i in range(len(STAGES)))

    print(f"CPU seconds per image (median of {args.repeat}), 1 process; target: label <= {TARGET_RATIO}x floor\n")
    print(f"{'image':42} {'MP':>6} {'floor s':>8} {'label s':>8} {'ratio':>6} {'+wm s':>8}  wm gain, PSNR")
    for name, megapixels, floor, label, marked, check in rows:
        mark = f"{check['gain']:g}x {check['psnr_db']:.1f} dB" if check else "none"
        print(f"{name:42} {megapixels:6.2f} {floor:8.3f} {label:8.3f} {label / floor:6.2f} {marked:8.3f}  {mark}")
    print(f"\n{'size class':12} {'images':>6} {'floor s':>8} {'label s':>8} {'ratio':>6}  verdict"
          f"   {'+wm s':>7} {'+wm ratio':>9}  verdict (<= {WATERMARK_TARGET}x)")
    worst = 0.0
    for _, name in SIZE_CLASSES:
        members = [r for r in rows if size_class(r[1]) == name]
        if not members:
            continue
        floor = sum(r[2] for r in members)
        label = sum(r[3] for r in members)
        marked = sum(r[4] for r in members)
        worst = max(worst, label / floor)
        verdict = "ok" if label / floor <= TARGET_RATIO else "OVER TARGET"
        wm_verdict = "ok" if marked / floor <= WATERMARK_TARGET else "OVER TARGET"
        print(f"{name:12} {len(members):6} {floor:8.3f} {label:8.3f} {label / floor:6.2f}  {verdict:11}   "
              f"{marked:7.3f} {marked / floor:9.2f}  {wm_verdict}")
    if args.stages:
        print_stages(rows, stages)
    return 0 if worst <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
