"""Watermark robustness over every attack and strength, on photos and drawn pictures, with false positives
and cost.

For every picture (``../shared/corpus``, ``tests/corpus`` and the kinds ``bench/pictures.py`` draws: flat
illustration, stripes, pixel art, near-white, near-black, tiles, a bare gradient): embed a random payload,
apply each attack of ``bench/reposts.py`` at each of its strengths (``BENIGN`` and ``GEOMETRY``), decode
blind. Per attack and strength it prints the share of exact payloads and the mean bit accuracy; then the
false positives and wrong payloads over decodes of unmarked pictures and their crops, rescales, canvases and
re-encodes; PSNR; CPU seconds per megapixel. Open codecs (imwatermark dwtDctSvd, blind-watermark) run in the
same table when they are installed.

    python bench/robustness.py [--jobs 2] [--cases rotate,jpeg@30] [--fp-per-image 250] [--seeds 0]

Held out (pictures and tools the project was not tuned on): ``--folders DIR --seeds 7 8 --cases grid,outside``
adds the attacks of ``bench/outside_tools.py`` (ImageMagick, cwebp, cjpeg) on the pictures in DIR and drawn
pictures of new seeds (``docs/benchmarks.md`` says which pictures were used).
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
from bench.cases import CATALOGUE, parse_cases  # noqa: E402
from bench.pictures import pictures  # noqa: E402
from bench.reposts import BENIGN, GEOMETRY, jpeg, scale  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = [ROOT.parent / "shared" / "corpus", ROOT / "tests" / "corpus"]


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
        """As the labeller embeds: with the self-check, strengthened where a repost would lose the mark."""
        return self.codec.embed_checked(pixels, payload)[0]

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


def informed_reads(attacked: Image.Image, truth, rng) -> dict:
    """What an informed read (``watermark.confirm``) says of an aimark-marked repost: whether it finds the
    embedded payload's mark, and how far it leans towards a sibling's — the same author, another content ID,
    whose coded bits before the content ID are the same (the riskiest wrong payload there is)."""
    from aimark.labeller import watermark

    sibling = watermark.WatermarkPayload(truth.author_id, int(truth.content_id ^ rng.integers(1, 2 ** 26)))
    return {"confirmed": watermark.confirm(attacked, [truth]).confirmed,
            "sibling_z": watermark.confirm(attacked, [sibling]).z}


def robustness_of(args):
    (name, image), codec_names, cases, seed, trials, informed = args
    megapixels = image.width * image.height / 1e6
    rng = np.random.default_rng(seed)
    siblings = np.random.default_rng([seed, 1])  # drawn apart: --informed leaves the payloads as without it
    rows = []
    for codec_name in [n for n in codec_names for _ in range(trials)]:
        codec = CODECS[codec_name]()
        truth = codec.random_payload(rng)
        start = time.process_time()
        marked = codec.embed(image, truth)
        embed_s = time.process_time() - start
        box = author_box(image.size)
        for case, (attack, strength) in cases:
            attacked = CATALOGUE[attack].apply(marked, strength, box=box, seed=seed).image
            start = time.process_time()
            try:
                reading = codec.read(attacked)
                accuracy, exact = score(codec, reading, truth)
                wrong = reading.payload is not None and not exact
            except Exception:  # e.g. imwatermark refuses images under 256x256 pixels: counts as not decoded
                accuracy, exact, wrong = 0.5, False, False
            decode_s = time.process_time() - start
            rows.append({"codec": codec_name, "image": name, "case": case, "accuracy": accuracy, "exact": exact,
                         "wrong": wrong,
                         "decode_s": decode_s, "decode_mp": attacked.width * attacked.height / 1e6,
                         **(informed_reads(attacked, truth, siblings) if informed and codec_name == "aimark" else {})})
        rows.append({"codec": codec_name, "image": name, "case": None, "psnr": psnr(image, marked),
                     "embed_s": embed_s, "mp": megapixels})
    return rows


def unmarked_variants(image: Image.Image, count: int, rng, with_image: bool = True):
    """The photo (unless not ``with_image``), then random crops (30-100% of each side), rescales (0.25-1),
    pasted into a flat canvas one time in four (1.1-2.5 times its size: a screenshot, a card, a pad, which
    the decoder also reads alone) and JPEG re-encodes: ``count`` pictures in all."""
    if with_image:
        yield image
    for _ in range(count - 1 if with_image else count):
        w, h = image.size
        cw, ch = (max(64, int(side * rng.uniform(0.3, 1.0))) for side in (w, h))
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        variant = image.crop((x, y, x + cw, y + ch))
        factor = rng.uniform(0.25, 1.0)
        if min(variant.size) * factor >= 64:
            variant = scale(variant, factor)
        if rng.random() < 0.25:
            canvas = Image.new("RGB", tuple(round(side * rng.uniform(1.1, 2.5)) for side in variant.size),
                               (int(rng.integers(0, 256)),) * 3)
            at = tuple(int(rng.integers(0, c - v + 1)) for c, v in zip(canvas.size, variant.size))
            canvas.paste(variant, at)
            variant = canvas
        if rng.random() < 0.5:
            variant = jpeg(variant, int(rng.integers(50, 96)))
        yield variant


FP_TASK = 250  # unmarked decodes per task: a long run is spread over both cores evenly


def false_positives_of(args):
    """(decodes, payloads claimed, informed reads, informed reads confirmed, their highest z) over unmarked
    variants; with ``informed``, each variant is also asked whether it carries a random payload's mark
    (``watermark.confirm``, both layouts a registry row may give), as a scan asks of a repost matched to its
    original by appearance alone."""
    (name, image), count, seed, with_image, informed = args
    from aimark.labeller import watermark

    rng = np.random.default_rng(seed)  # also draws the informed reads' payloads: other variants than without
    decodes = claimed = asked = confirmed = 0
    highest = float("-inf")
    for variant in unmarked_variants(image, count, rng, with_image):
        decodes += 1
        claimed += watermark.detect(variant).payload is not None
        if informed:
            author, content = str(int(rng.integers(1, 10 ** 10))), int(rng.integers(0, 2 ** 20))
            layouts = [watermark.WatermarkPayload(author, content, version=watermark.LAYOUT_VERSION,
                                                  label_position="bottom-left", author_position="bottom-right"),
                       watermark.WatermarkPayload(author, content)]
            read = watermark.confirm(variant, layouts)
            asked += 1
            confirmed += read.confirmed
            highest = max(highest, read.z)
    return decodes, claimed, asked, confirmed, highest


# --- report ---------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=Path, nargs="*", default=FOLDERS)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0], help="seeds of the drawn pictures (none: no drawn pictures)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--codecs", default="aimark,dwtDctSvd,blind")
    parser.add_argument("--cases", default=",".join(a.name for a in BENIGN + GEOMETRY),
                        help="comma-separated attacks, each optionally @strength; 'grid': the default ones, "
                             "'outside': those of bench/outside_tools.py, 'servers': its libvips and FFmpeg "
                             "ones; empty: none")
    parser.add_argument("--images", default="", help="comma-separated picture names (default: all)")
    parser.add_argument("--trials", type=int, default=1, help="payloads embedded per picture and codec")
    parser.add_argument("--fp-per-image", type=int, default=250, help="unmarked decodes per picture (0: skip)")
    parser.add_argument("--fp-seed", type=int, default=1000,
                        help="first seed of the unmarked variants (runs with seeds far apart add up)")
    parser.add_argument("--informed", action="store_true",
                        help="also read every aimark repost knowing its payload (watermark.confirm, as a scan does "
                             "with a registry), and a sibling payload's mark (same author, another content ID)")
    parser.add_argument("--fp-informed", action="store_true",
                        help="also ask each unmarked variant whether it carries a random payload's mark (the informed "
                             "read a scan makes of a repost matched by appearance alone)")
    parser.add_argument("--self-check-margin", type=float, default=None,
                        help="the self-check's pilot margin (default: the library's; 0: no margin)")
    args = parser.parse_args()
    if args.self_check_margin is not None:  # set before the worker processes fork
        from aimark.labeller import watermark

        watermark.SELF_CHECK_MARGIN_Z = args.self_check_margin

    # each picture keeps its place in the whole list, which seeds its payload, attacks and variants: a run on
    # a few pictures (--images) reads exactly what the whole run read of them
    numbered = list(enumerate(pictures(args.folders, args.seeds)))
    if args.images:
        numbered = [(i, p) for i, p in numbered if p[0] in args.images.split(",")]
    codecs = available(args.codecs.split(","))
    cases = parse_cases(args.cases)
    started = time.time()
    with Pool(args.jobs) as pool:
        rows = [r for batch in pool.imap_unordered(robustness_of, [(p, codecs, cases, i, args.trials, args.informed)
                                                                  for i, p in numbered])
                for r in batch]
        # tasks of at most FP_TASK decodes; the first of each picture has the seed and variants of a short run
        tasks = [(p, min(FP_TASK, args.fp_per_image - start), args.fp_seed + 1000 * (start // FP_TASK) + i, start == 0,
                  args.fp_informed)
                 for i, p in numbered for start in range(0, args.fp_per_image, FP_TASK)]
        fp = pool.map(false_positives_of, tasks, chunksize=1)
    print(f"{len(numbered)} pictures x {args.trials} payloads, {len(cases)} attack cases, codecs: {', '.join(codecs)} "
          f"(payload bits: {', '.join(f'{c} {CODECS[c].message_bits}' for c in codecs)}); "
          f"{time.time() - started:.0f} s wall\n")
    if cases:
        report_cases(rows, codecs, [c for c, _ in cases])
    if fp:
        decodes, claimed, asked, confirmed = (sum(x) for x in list(zip(*fp))[:4])
        from aimark.labeller.watermark import CONFIRM_BOUND, CONFIRM_Z, FALSE_POSITIVE_BOUND

        print(f"\naimark false positives: {claimed} payloads claimed in {decodes} decodes of unmarked pictures, "
              f"crops, rescales and canvases (bound per decode: {FALSE_POSITIVE_BOUND:.1e})")
        if asked:
            highest = max(row[4] for row in fp)
            print(f"informed reads: {confirmed} of {asked} unmarked pictures taken to carry a random payload's mark "
                  f"(z >= {CONFIRM_Z}; bound per read {CONFIRM_BOUND:.1e}); highest z {highest:.2f}")
    return 0


def report_cases(rows, codecs, cases):
    print("cells: mean payload bit accuracy / exact-payload rate")
    print(f"{'case':22}" + "".join(f"{c:>20}" for c in codecs))
    for case in cases:
        cells = []
        for codec in codecs:
            hits = [r for r in rows if r["codec"] == codec and r["case"] == case]
            cells.append(f"{np.mean([r['accuracy'] for r in hits]):.3f} / {np.mean([r['exact'] for r in hits]):6.1%}")
        print(f"{case:22}" + "".join(f"{c:>20}" for c in cells))
    informed = [r for r in rows if r["codec"] == "aimark" and r["case"] and "confirmed" in r]
    if informed:
        from aimark.labeller.watermark import CONFIRM_Z

        print(f"\naimark read blind / blind or by an informed read (z >= {CONFIRM_Z}, knowing the payload):")
        for case in cases:
            hits = [r for r in informed if r["case"] == case]
            print(f"{case:22}{np.mean([r['exact'] for r in hits]):>10.1%}"
                  f"{np.mean([r['exact'] or r['confirmed'] for r in hits]):>10.1%}")
        highest = max(informed, key=lambda r: r["sibling_z"])
        print(f"a sibling payload's mark (same author, another content ID) taken for there: "
              f"{sum(r['sibling_z'] >= CONFIRM_Z for r in informed)} of {len(informed)}; highest z "
              f"{highest['sibling_z']:.2f} ({highest['case']}: {highest['image']})")
    wrong = [f"{r['case']}: {r['image']}" for r in rows if r["codec"] == "aimark" and r["case"] and r.get("wrong")]
    decoded = sum(1 for r in rows if r["codec"] == "aimark" and r["case"])
    print(f"\naimark wrong payloads (a payload that is not the embedded one): {len(wrong)} in {decoded} decodes"
          + (": " + "; ".join(wrong) if wrong else ""))
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
