"""Fuzzing every reader that takes untrusted bytes: coverage-guided with atheris (libFuzzer) where it
installs, else a seeded mutation loop; both start from a seed corpus this project makes.

A *target* is a reader wrapped so that the only acceptable failure is ``AimarkError``: anything else it
raises, any input that takes more than ``--timeout`` seconds or more than ``--rss-limit-mb`` of memory, is
a crash. libFuzzer enforces the time and memory limits itself (``-timeout``, ``-rss_limit_mb``) and saves
the input; the mutation loop measures them. Crashes go to ``--crashes`` and, once fixed, to
``tests/fixtures/fuzz/`` where every test run replays them through every target.

    python bench/fuzz.py --runs 100000                    # every target, one process each, a table
    python bench/fuzz.py --target metadata --runs 1000000 # one target
    python bench/fuzz.py --engine mutate --runs 20000 --target inspect
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REGRESSIONS = ROOT / "tests" / "fixtures" / "fuzz"
MAX_LEN = 65536


# --- targets --------------------------------------------------------------------------------------------

def _targets() -> dict:
    """name -> function(bytes). Imported lazily so atheris can instrument aimark first."""
    from aimark.detectors import generators, inspect_bytes, scan
    from aimark.labeller import c2pa, carriers, formats, image_io, metadata
    from aimark.labeller.errors import AimarkError

    def guarded(function):
        def target(data: bytes) -> None:
            try:
                function(data)
            except AimarkError:
                pass
        return target

    def containers(data: bytes) -> None:
        for reader in (carriers.jpeg_segments, carriers.png_chunks, carriers.webp_chunks, carriers.gif_blocks):
            try:
                reader(data)
            except AimarkError:
                pass
        carriers.read_xmp(data)
        carriers.scan_xmp(data)
        block = carriers.read_exif(data)
        if block:
            carriers.exif_problem(block)
        carriers.exif_problem(data)
        formats.webp_quality(data)

    def decode(data: bytes) -> None:
        source = image_io.load_source(data)
        source.pixels.load()

    def c2pa_read(data: bytes) -> None:
        fmt = carriers.sniff_format(data) or "JPEG"
        c2pa.read_c2pa(data, c2pa.MIME_TYPES.get(fmt, "image/jpeg"))

    def generator_marks(data: bytes) -> None:
        import numpy as np

        generators.recognise(np.asarray(image_io.load_source(data).pixels.convert("RGB")))

    return {
        "containers": guarded(containers),
        "metadata": guarded(metadata.read_labels),
        "c2pa": guarded(c2pa_read),
        "decode": guarded(decode),
        "generators": guarded(generator_marks),
        "inspect": guarded(lambda data: inspect_bytes(data, "fuzz", trust_anchors=None)),
        "scan": guarded(lambda data: scan(data, _scan_options())),
    }


def _scan_options():
    from aimark.detectors import ScanOptions

    return ScanOptions(trust_anchors=None)


# --- seeds ----------------------------------------------------------------------------------------------

def make_seeds(folder: Path) -> list[Path]:
    """Small files of every kind the readers meet: labelled and plain images in each format (C2PA signed
    with throwaway keys), every label carrier and form, malformed XMP and EXIF, and the hostile files."""
    sys.path.insert(0, str(ROOT))
    import piexif
    from PIL.PngImagePlugin import PngInfo

    from aimark.labeller import carriers, metadata
    from aimark.labeller.c2pa import CredentialSigner
    from aimark.labeller.keys import init_keys
    from aimark.labeller.pipeline import Labeller, LabelOptions
    from bench import hostile

    folder.mkdir(parents=True, exist_ok=True)
    seeds: dict[str, bytes] = {}
    keys = init_keys(Path(tempfile.mkdtemp()) / "keys", "Fuzz")
    labeller = Labeller(LabelOptions(producer="FUZZ", author_id="123456"),
                        signer=CredentialSigner.from_files(keys.signer_chain, keys.signer_key))
    image = hostile._photo((160, 120))

    def encode(img, fmt, **params) -> bytes:
        buffer = io.BytesIO()
        img.save(buffer, fmt, **params)
        return buffer.getvalue()

    for fmt, params in (("JPEG", {"quality": 70}), ("PNG", {}), ("WEBP", {"quality": 60}),
                        ("WEBP", {"lossless": True}), ("GIF", {}), ("TIFF", {}), ("AVIF", {"quality": 40}),
                        ("HEIF", {"quality": 40})):
        plain = encode(image.quantize(64) if fmt == "GIF" else image, fmt, **params)
        name = f"{fmt.lower()}{'-lossless' if params.get('lossless') else ''}"
        seeds[f"plain-{name}"] = plain
        seeds[f"labelled-{name}"] = labeller.label_bytes(plain).data
    label = metadata.AigcLabel.for_producer("FUZZ", "abc")
    jpeg = seeds["plain-jpeg"]
    seeds["xmp-attribute"] = carriers.jpeg_set_xmp(jpeg, (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/" TC260:AIGC="'
        + label.to_json().replace('"', "&quot;").encode() + b'"/></rdf:RDF></x:xmpmeta>'))
    seeds["xmp-malformed"] = carriers.jpeg_set_xmp(jpeg, b"<x:xmpmeta><TC260:AIGC>" + label.to_json(True).encode())
    comment = b"ASCII\x00\x00\x00" + label.to_json(wrapped=True).encode()
    seeds["exif-comment"] = encode(image, "JPEG", exif=piexif.dump({"Exif": {piexif.ExifIFD.UserComment: comment},
                                                                     "0th": {piexif.ImageIFD.Orientation: 6}}))
    info = PngInfo()
    info.add_text("AIGC", label.to_json(wrapped=True))
    info.add_itxt("Description", label.to_json(wrapped=True), zip=True)
    seeds["png-text"] = encode(image, "PNG", pnginfo=info)
    for name, make in hostile.HOSTILE.items():
        data = make()
        if len(data) <= MAX_LEN:
            seeds[f"hostile-{name}"] = data
    paths = []
    for name, data in seeds.items():
        path = folder / name
        path.write_bytes(data[:MAX_LEN])
        paths.append(path)
    return paths


# --- engines --------------------------------------------------------------------------------------------

def run_atheris(target: str, corpus: Path, runs: int, timeout: int, rss_limit_mb: int, crashes: Path) -> int:
    """libFuzzer over ``target``, instrumenting aimark (this process becomes the fuzzer)."""
    import atheris

    with atheris.instrument_imports(include=["aimark"]):
        targets = _targets()
    function = targets[target]
    crashes.mkdir(parents=True, exist_ok=True)
    argv = [sys.argv[0], str(corpus), f"-runs={runs}", f"-timeout={timeout}", f"-rss_limit_mb={rss_limit_mb}",
            f"-max_len={MAX_LEN}", f"-artifact_prefix={crashes}/{target}-", "-print_final_stats=1"]
    atheris.Setup(argv, function)
    atheris.Fuzz()
    return 0


def mutate(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    """One of the mutations libFuzzer would try: flip, overwrite, insert, erase, duplicate, splice."""
    buffer = bytearray(data or b"\x00")
    for _ in range(rng.randint(1, 6)):
        if not buffer:
            buffer = bytearray(b"\x00")
        choice = rng.random()
        pos = rng.randrange(len(buffer) or 1)
        if choice < 0.3:
            buffer[pos] ^= 1 << rng.randrange(8)
        elif choice < 0.5:
            buffer[pos] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif choice < 0.6:
            buffer[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif choice < 0.7:
            del buffer[pos:pos + rng.randint(1, 64)]
        elif choice < 0.8:
            end = min(len(buffer), pos + rng.randint(1, 256))
            buffer[pos:pos] = buffer[pos:end]
        elif choice < 0.9:
            other = rng.choice(seeds)
            start = rng.randrange(len(other) or 1)
            buffer[pos:] = other[start:start + rng.randint(1, 4096)]
        else:
            value = rng.choice((0xFFFFFFFF, 0x7FFFFFFF, 0, 1, 0x10000))
            buffer[pos:pos + 4] = value.to_bytes(4, rng.choice(("big", "little")))
    return bytes(buffer[:MAX_LEN])


def run_mutations(target: str, corpus: Path, runs: int, timeout: float, rss_limit_mb: int, crashes: Path,
                  seed: int = 0) -> dict:
    """Seeded mutation fuzzing in this process; returns the figures (and saves any crash)."""
    function = _targets()[target]
    seeds = [p.read_bytes() for p in sorted(corpus.iterdir()) if p.is_file()]
    rng = random.Random(seed)
    slowest, failures, started = 0.0, [], time.perf_counter()
    for index in range(runs):
        data = mutate(rng.choice(seeds), rng, seeds) if index >= len(seeds) else seeds[index]
        began = time.perf_counter()
        try:
            function(data)
        except Exception as exc:  # noqa: BLE001 - a crash: keep the input
            crashes.mkdir(parents=True, exist_ok=True)
            path = crashes / f"{target}-{index}-{type(exc).__name__}"
            path.write_bytes(data)
            failures.append(f"{path.name}: {type(exc).__name__}: {str(exc)[:120]}")
        took = time.perf_counter() - began
        slowest = max(slowest, took)
        if took > timeout:
            crashes.mkdir(parents=True, exist_ok=True)
            (crashes / f"{target}-{index}-slow").write_bytes(data)
            failures.append(f"{target}-{index}-slow: {took:.1f} s")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"target": target, "inputs": runs, "seconds": time.perf_counter() - started, "slowest_s": slowest,
            "peak_rss_mb": rss, "crashes": failures, "over_rss": rss > rss_limit_mb}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", help="one target (default: every target, each in its own process)")
    parser.add_argument("--engine", choices=["atheris", "mutate"], default=None,
                        help="default: atheris when it imports, else mutate")
    parser.add_argument("--runs", type=int, default=10000, help="inputs per target")
    parser.add_argument("--timeout", type=int, default=10, help="seconds one input may take")
    parser.add_argument("--rss-limit-mb", type=int, default=2048,
                        help="memory one target process may use: the instrumented harness itself holds 0.6-0.8 GB "
                             "for the image targets; the 1 GB bound per file is measured on the real commands "
                             "by bench/hostile.py")
    parser.add_argument("--corpus", type=Path, default=None, help="seed corpus folder (default: made fresh)")
    parser.add_argument("--crashes", type=Path, default=Path("fuzz-crashes"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    corpus = args.corpus or Path(tempfile.mkdtemp()) / "seeds"
    if args.corpus is None or not any(corpus.iterdir()):
        make_seeds(corpus)
        for regression in REGRESSIONS.glob("*") if REGRESSIONS.is_dir() else []:
            (corpus / f"regression-{regression.name}").write_bytes(regression.read_bytes())
    engine = args.engine or ("atheris" if _has_atheris() else "mutate")
    if args.target:
        if engine == "atheris":
            return run_atheris(args.target, corpus, args.runs, args.timeout, args.rss_limit_mb, args.crashes)
        result = run_mutations(args.target, corpus, args.runs, args.timeout, args.rss_limit_mb, args.crashes, args.seed)
        print(_row(result))
        return 1 if result["crashes"] or result["over_rss"] else 0
    return _every_target(args, corpus, engine)


def _every_target(args, corpus: Path, engine: str) -> int:
    """Each target in its own process (so memory is per target and a crash stops only that one); a table."""
    print(f"engine {engine}, {args.runs:,} inputs per target, seeds: {len(list(corpus.iterdir()))} files, "
          f"limits {args.timeout} s and {args.rss_limit_mb} MB per input")
    print(f"{'target':12} {'inputs':>10} {'seconds':>9} {'crashes':>8} {'slowest s':>10} {'peak MB':>8}")
    status = 0
    for target in _target_names():
        command = [sys.executable, __file__, "--target", target, "--engine", engine, "--runs", str(args.runs),
                   "--timeout", str(args.timeout), "--rss-limit-mb", str(args.rss_limit_mb), "--corpus", str(corpus),
                   "--crashes", str(args.crashes), "--seed", str(args.seed)]
        began = time.perf_counter()
        process = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        seconds = time.perf_counter() - began
        crashes = len(list(args.crashes.glob(f"{target}-*"))) if args.crashes.exists() else 0
        peak = _peak_from(process.stderr + process.stdout)
        slowest = _slowest_from(process.stdout + process.stderr)
        print(f"{target:12} {args.runs:>10,} {seconds:>9.1f} {crashes:>8} {slowest:>10} {peak:>8}")
        if process.returncode != 0 or crashes:
            status = 1
            print(process.stdout[-2000:] + process.stderr[-2000:], file=sys.stderr)
    return status


def _target_names() -> list[str]:
    return ["containers", "metadata", "c2pa", "decode", "generators", "inspect", "scan"]


def _has_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def _peak_from(text: str) -> str:
    for line in text.splitlines()[::-1]:
        if "peak_rss_mb" in line or "stat::peak_rss_mb" in line:
            return line.split(":")[-1].strip()
        if line.startswith("{"):
            continue
    marker = " peak "
    for line in text.splitlines():
        if line.startswith("MUTATE") and marker in line:
            return line.split(marker)[1].split()[0]
    return "-"


def _slowest_from(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("MUTATE"):
            return line.split(" slowest ")[1].split()[0]
        if line.startswith("stat::slowest_unit_time_sec"):
            return line.split(":")[-1].strip()
    return "-"


def _row(result: dict) -> str:
    return (f"MUTATE {result['target']} inputs {result['inputs']} seconds {result['seconds']:.1f} slowest "
            f"{result['slowest_s']:.3f} peak {result['peak_rss_mb']:.0f} crashes {len(result['crashes'])}\n"
            + "\n".join(result["crashes"]))


if __name__ == "__main__":
    sys.exit(main())
