"""Watermark robustness over the whole repost suite, on the real corpus, with false positives and cost.

For every corpus photo: embed a random payload, apply each case of ``bench/reposts.py``, decode blind.
Per case it prints payload bit accuracy and the share of exact payloads; then the false positives over
thousands of decodes of unmarked photos, crops and rescales; PSNR; CPU seconds per megapixel. Open codecs
(imwatermark dwtDctSvd, blind-watermark) run in the same table when they are installed.

    python bench/robustness.py [--jobs 2] [--fp-per-image 250] [--codecs aimark,dwtDctSvd,blind]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from aimark.labeller.codec import WatermarkCodec  # noqa: E402
from bench.reposts import SUITE, jpeg, scale  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


# --- codecs under test ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bits:
    """A reading of a codec with no error detection: the bits, exact when they equal the message."""

    bits: np.ndarray | None
    payload: object = None

    @property
    def found(self) -> bool:
        return self.payload is not None


class Aimark(WatermarkCodec):
    """aimark's own codec, with the bench's random payloads."""

    name, message_bits = "aimark", 64

    def __init__(self):
        from aimark.labeller import watermark

        self.wm = watermark
        self.codec = watermark.TiledSpreadSpectrum()

    def random_payload(self, rng):
        return self.wm.WatermarkPayload(author_id=str(rng.integers(10 ** 9, 10 ** 10)),
                                        content_id=int(rng.integers(0, 2 ** 26)))

    def embed(self, pixels, payload):
        return self.codec.embed(pixels, payload)

    def read(self, pixels):
        return self.codec.read(pixels)

    def message(self, payload):
        return self.codec.message(payload)


class _ImWatermark(WatermarkCodec):
    """invisible-watermark's codecs with a 32-bit payload, as measured in shared/spec/watermark.md."""

    message_bits = 32

    def __init__(self, method):
        from imwatermark import WatermarkDecoder, WatermarkEncoder

        self.method, self.encoder, self.decoder = method, WatermarkEncoder, WatermarkDecoder

    def random_payload(self, rng):
        return rng.integers(0, 2, 32).astype(np.int8)

    def embed(self, pixels, payload):
        import cv2

        encoder = self.encoder()
        encoder.set_watermark("bits", payload.tolist())
        bgr = cv2.cvtColor(np.asarray(pixels.convert("RGB")), cv2.COLOR_RGB2BGR)
        return Image.fromarray(cv2.cvtColor(encoder.encode(bgr, self.method), cv2.COLOR_BGR2RGB))

    def read(self, pixels):
        import cv2

        bgr = cv2.cvtColor(np.asarray(pixels.convert("RGB")), cv2.COLOR_RGB2BGR)
        return Bits(np.array(self.decoder("bits", 32).decode(bgr, self.method), dtype=np.int8))


class DwtDctSvd(_ImWatermark):
    name = "dwtDctSvd"

    def __init__(self):
        super().__init__("dwtDctSvd")


class BlindWatermark(WatermarkCodec):
    name, message_bits = "blind", 32

    def __init__(self):
        from blind_watermark import WaterMark, bw_notes

        bw_notes.close()
        self.cls = WaterMark

    def random_payload(self, rng):
        return rng.integers(0, 2, 32).astype(np.int8)

    def embed(self, pixels, payload):
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            source, target = Path(tmp) / "in.png", Path(tmp) / "out.png"
            pixels.convert("RGB").save(source)
            mark = self.cls(password_img=1, password_wm=1)
            mark.read_img(str(source))
            mark.read_wm(payload.astype(bool), mode="bit")
            mark.embed(str(target))
            return Image.open(target).convert("RGB")

    def read(self, pixels):
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "in.png"
            pixels.convert("RGB").save(path)
            got = self.cls(password_img=1, password_wm=1).extract(str(path), wm_shape=32, mode="bit") > 0.5
        return Bits(got.astype(np.int8))


def score(codec: WatermarkCodec, reading, payload) -> tuple[float, bool]:
    """(bit accuracy against the message, exact payload?) for any codec's reading."""
    truth = codec.message(payload)
    bits = reading.bits
    accuracy = float(np.mean(np.asarray(bits) == truth)) if bits is not None else 0.5
    if reading.payload is not None or isinstance(codec, Aimark):
        return accuracy, reading.payload == payload
    return accuracy, bits is not None and bool(np.array_equal(bits, truth))


CODECS = {"aimark": Aimark, "dwtDctSvd": DwtDctSvd, "blind": BlindWatermark}


def available(names):
    ready = []
    for name in names:
        try:
            CODECS[name]()
            ready.append(name)
        except ImportError as exc:
            print(f"# {name}: not installed ({exc.name}); left out of this run", file=sys.stderr)
    return ready


# --- work per image -------------------------------------------------------------------------------------

def author_box(size):
    from aimark.labeller import visible

    return visible.place_author_mark(size, "1234567890").box


def psnr(a: Image.Image, b: Image.Image) -> float:
    diff = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    return float(10 * np.log10(255 ** 2 / max(np.mean(diff ** 2), 1e-12)))


def robustness_of(args):
    path, codec_names, cases, seed, trials = args
    image = Image.open(path).convert("RGB")
    megapixels = image.width * image.height / 1e6
    rng = np.random.default_rng(seed)
    rows = []
    for name in [n for n in codec_names for _ in range(trials)]:
        codec = CODECS[name]()
        truth = codec.random_payload(rng)
        start = time.process_time()
        marked = codec.embed(image, truth)
        embed_s = time.process_time() - start
        box = author_box(image.size)
        for case in cases:
            attacked = SUITE[case].apply(marked, box=box, seed=seed)
            start = time.process_time()
            try:
                accuracy, exact = score(codec, codec.read(attacked), truth)
            except Exception:  # e.g. imwatermark refuses images under 256x256 pixels: counts as not decoded
                accuracy, exact = 0.5, False
            decode_s = time.process_time() - start
            rows.append({"codec": name, "image": path.name, "case": case, "accuracy": accuracy, "exact": exact,
                         "decode_s": decode_s, "decode_mp": attacked.width * attacked.height / 1e6})
        rows.append({"codec": name, "image": path.name, "case": None, "psnr": psnr(image, marked),
                     "embed_s": embed_s, "mp": megapixels})
    return rows


def unmarked_variants(image: Image.Image, count: int, rng):
    """The photo, then random crops (30-100% of each side), rescales (0.25-1) and JPEG re-encodes."""
    yield image
    for _ in range(count - 1):
        w, h = image.size
        cw, ch = (max(64, int(side * rng.uniform(0.3, 1.0))) for side in (w, h))
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        variant = image.crop((x, y, x + cw, y + ch))
        factor = rng.uniform(0.25, 1.0)
        if min(variant.size) * factor >= 64:
            variant = scale(variant, factor)
        if rng.random() < 0.5:
            variant = jpeg(variant, int(rng.integers(50, 96)))
        yield variant


def false_positives_of(args):
    path, count, seed = args
    from aimark.labeller import watermark

    rng = np.random.default_rng(seed)
    image = Image.open(path).convert("RGB")
    decodes = claimed = 0
    for variant in unmarked_variants(image, count, rng):
        decodes += 1
        claimed += watermark.detect(variant).payload is not None
    return decodes, claimed


# --- report ---------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--codecs", default="aimark,dwtDctSvd,blind")
    parser.add_argument("--cases", default=",".join(SUITE), help="comma-separated cases; empty: none")
    parser.add_argument("--images", default="", help="comma-separated file names (default: the whole corpus)")
    parser.add_argument("--trials", type=int, default=1, help="payloads embedded per photo and codec")
    parser.add_argument("--fp-per-image", type=int, default=250, help="unmarked decodes per photo (0: skip)")
    args = parser.parse_args()

    files = sorted(p for p in args.corpus.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    if args.images:
        files = [p for p in files if p.name in args.images.split(",")]
    codecs = available(args.codecs.split(","))
    cases = [c for c in args.cases.split(",") if c]
    started = time.time()
    with Pool(args.jobs) as pool:
        rows = [r for batch in pool.imap_unordered(robustness_of, [(p, codecs, cases, i, args.trials) for i, p in enumerate(files)])
                for r in batch]
        fp = pool.map(false_positives_of, [(p, args.fp_per_image, 1000 + i) for i, p in enumerate(files)]) \
            if args.fp_per_image else []
    print(f"{len(files)} corpus photos x {args.trials} payloads, {len(cases)} repost cases, codecs: {', '.join(codecs)} "
          f"(payload bits: {', '.join(f'{c} {CODECS[c].message_bits}' for c in codecs)}); "
          f"{time.time() - started:.0f} s wall\n")
    if cases:
        report_cases(rows, codecs, cases)
    if fp:
        decodes, claimed = (sum(x) for x in zip(*fp))
        from aimark.labeller.watermark import FALSE_POSITIVE_BOUND

        print(f"\naimark false positives: {claimed} payloads claimed in {decodes} decodes of unmarked photos, crops "
              f"and rescales (bound per decode: {FALSE_POSITIVE_BOUND:.1e})")
    return 0


def report_cases(rows, codecs, cases):
    print("cells: mean payload bit accuracy / exact-payload rate")
    print(f"{'case':20}" + "".join(f"{c:>20}" for c in codecs))
    for case in cases:
        cells = []
        for codec in codecs:
            hits = [r for r in rows if r["codec"] == codec and r["case"] == case]
            cells.append(f"{np.mean([r['accuracy'] for r in hits]):.3f} / {np.mean([r['exact'] for r in hits]):6.1%}")
        print(f"{case:20}" + "".join(f"{c:>20}" for c in cells))
    misses = [f"{r['case']}: {r['image']}" for r in rows if r["codec"] == "aimark" and r["case"] and not r["exact"]]
    print("\naimark misses: " + ("; ".join(misses) if misses else "none"))
    print()
    for codec in codecs:
        summary = [r for r in rows if r["codec"] == codec and r["case"] is None]
        decodes = [r for r in rows if r["codec"] == codec and r["case"] is not None]
        values = [r["psnr"] for r in summary]
        embed = sum(r["embed_s"] for r in summary) / sum(r["mp"] for r in summary)
        decode = sum(r["decode_s"] for r in decodes) / sum(r["decode_mp"] for r in decodes)
        print(f"{codec:10} PSNR mean {np.mean(values):.1f} dB, min {np.min(values):.1f} dB; CPU s/MP: embed {embed:.3f}, "
              f"decode {decode:.3f}; decode s/image median {np.median([r['decode_s'] for r in decodes]):.3f}, "
              f"max {np.max([r['decode_s'] for r in decodes]):.3f}")


if __name__ == "__main__":
    sys.exit(main())
