"""Hand-made hostile and malformed files, each the shape of a failure an audit found (issue 9): the tests
batch them among good files, and the fuzz harness (``bench/fuzz.py``) starts from them. Outside the
installed package, like the repost suite."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from aimark.labeller import carriers

PICTURE = Path(__file__).resolve().parents[1] / "tests" / "corpus" / "chelsea.png"


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _photo(size=(320, 240)) -> Image.Image:
    """A real photo from the project's corpus when it is there; a drawn one otherwise."""
    if PICTURE.is_file():
        return Image.open(PICTURE).convert("RGB").resize(size)
    return Image.radial_gradient("L").resize(size).convert("RGB")


def header_only_bomb(width: int = 40000, height: int = 40000) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels: a decompression bomb's signature."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


def _with_exif_block(block: bytes) -> bytes:
    """A JPEG whose APP1 EXIF segment is ``block`` (a TIFF structure), spliced in after SOI."""
    jpeg = encode(_photo(), "JPEG", quality=80)
    payload = b"Exif\x00\x00" + block
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def exif_count_bomb() -> bytes:
    """An EXIF entry claiming 1,000,000,000 LONGs (4 GB) in a 40 KB file: piexif would allocate them."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x0111, 4, 1_000_000_000, 8) + struct.pack("<I", 0)
    return _with_exif_block(b"II*\x00" + struct.pack("<I", 8) + ifd)


def user_comment_not_bytes() -> bytes:
    """EXIF UserComment typed SHORT: piexif hands back a tuple where text is expected."""
    exif_ifd_offset = 8 + 2 + 12 + 4
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, exif_ifd_offset) + struct.pack("<I", 0)
    exif_ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x9286, 3, 2, 0x00410049) + struct.pack("<I", 0)
    return _with_exif_block(b"II*\x00" + struct.pack("<I", 8) + ifd0 + exif_ifd)


def itxt_inflate_bomb(megabytes: int = 256) -> bytes:
    """A PNG with a compressed iTXt chunk that inflates to ``megabytes`` of zeros."""
    png = encode(_photo(), "PNG")
    bomb = zlib.compress(b"\x00" * (megabytes << 20), 9)
    chunk = carriers.png_chunk(b"iTXt", b"AIGC\x00\x01\x00\x00\x00" + bomb)
    return carriers.png_insert_before_data(png, [chunk])


def label_with_a_huge_number() -> bytes:
    """A PNG tEXt AIGC label whose Label is a number of 5,000 digits (Python's int parser refuses it)."""
    info = PngInfo()
    info.add_text("AIGC", '{"AIGC":{"Label":' + "9" * 5000 + "}}")
    return encode(_photo(), "PNG", pnginfo=info)


def quadratic_xmp(size: int = 180_000) -> bytes:
    """XMP full of openings that never close: a backtracking regex spent 21 s on 180 KB of this."""
    unit = b"<x:xmpmeta TC260:AIGC='{\"a\":" + b"<rdf:RDF "
    packet = (unit * (size // len(unit)))[:60000]
    jpeg = encode(_photo(), "JPEG", quality=80)
    return carriers.jpeg_set_xmp(jpeg, packet) + b"<x:xmpmeta AIGC={" * (size // 18)


def black_png(pixels: int = 88_000_000) -> bytes:
    """A few hundred KB of black PNG that decodes to ``pixels`` pixels: over the default pixel budget."""
    width = 8000
    image = Image.new("L", (width, pixels // width))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=9)
    return buffer.getvalue()


def broken_c2pa_box() -> bytes:
    """A JPEG with an APP11 JUMBF segment labelled c2pa whose content is garbage."""
    jpeg = encode(_photo(), "JPEG", quality=80)
    jumbf = b"JP\x00\x01\x00\x00\x00\x01" + struct.pack(">I", 60) + b"jumb" + struct.pack(">I", 40) + b"jumd" \
        + b"c2pa" + b"\x00" * 12 + b"c2pa\x00" + b"\xff" * 11
    return jpeg[:2] + b"\xff\xeb" + struct.pack(">H", len(jumbf) + 2) + jumbf + jpeg[2:]


def animated_gif() -> bytes:
    frames = [_photo((120, 80)).quantize(64), _photo((120, 80)).rotate(180).quantize(64)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


HOSTILE = {  # file name -> maker
    "exif-count-bomb.jpg": exif_count_bomb,
    "user-comment-short.jpg": user_comment_not_bytes,
    "itxt-bomb.png": itxt_inflate_bomb,
    "huge-number-label.png": label_with_a_huge_number,
    "quadratic-xmp.jpg": quadratic_xmp,
    "black-88mp.png": black_png,
    "broken-c2pa.jpg": broken_c2pa_box,
    "header-bomb.png": header_only_bomb,
    "animated.gif": animated_gif,
    "empty.jpg": lambda: b"",
    "text.jpg": lambda: b"not a picture\n" * 100,
    "truncated.png": lambda: encode(_photo(), "PNG")[:3000],
}


def honest_photo(megapixels: float = 50.0) -> bytes:
    """An honest, very large photo (the corpus photo resampled up, JPEG 90): a batch must still label it."""
    base = Image.open(PICTURE).convert("RGB") if PICTURE.is_file() else _photo()
    factor = (megapixels * 1e6 / (base.width * base.height)) ** 0.5
    return encode(base.resize((round(base.width * factor), round(base.height * factor)), Image.Resampling.BICUBIC),
                  "JPEG", quality=90)


def main() -> int:
    """Each hostile file (and the fuzzer's regression fixtures, and a 50-MP honest photo) through the real
    commands, in this process (``-j 0``) so that ``/usr/bin/time`` sees the peak memory: wall seconds, peak
    RSS, exit code, and the one-line answer. Targets (issue 9): every hostile file <= 10 s and <= 1 GB."""
    import os
    import subprocess
    import sys
    import tempfile

    root = Path(__file__).resolve().parents[1]
    aimark = str(Path(sys.executable).with_name("aimark"))
    work = Path(tempfile.mkdtemp())
    env = {**os.environ, "AIMARK_KEYS": str(work / "keys")}
    subprocess.run([aimark, "keys", "init", "--org", "Bench"], env=env, check=True, capture_output=True)
    files = {name: make() for name, make in HOSTILE.items()}
    files.update({p.name: p.read_bytes() for p in sorted((root / "tests" / "fixtures" / "fuzz").glob("*"))
                  if p.suffix != ".md"})
    files["honest-50mp.jpg"] = honest_photo()
    commands = {"inspect": ["inspect", "--json"], "label": ["label", "-p", "BENCH", "-a", "1234567890", "-o"],
                "scan": ["scan", "-o"]}
    print(f"{'file':34} {'KB':>7} {'command':8} {'seconds':>8} {'peak MB':>8} {'exit':>4}  answer")
    worst_s = worst_mb = 0.0
    for name, data in files.items():
        path = work / "in" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        for command, args in commands.items():
            out = [str(work / f"{command}-{name}")] if args[-1] == "-o" else []
            cli = ["/usr/bin/time", "-f", "%e %M", aimark, *args, *out, str(path), "-j", "0", "-q"]
            run = subprocess.run(cli, env=env, capture_output=True, text=True)
            seconds, kb = run.stderr.strip().splitlines()[-1].split()
            answer = next((line for line in run.stderr.splitlines()[:-1]
                           if line.strip() and not line.startswith("Command exited")),
                          "ok" if run.returncode == 0 else "refused (reason in the JSON record)")[:60]
            seconds, mb = float(seconds), int(kb) / 1024
            if not name.startswith("honest"):
                worst_s, worst_mb = max(worst_s, seconds), max(worst_mb, mb)
            print(f"{name:34} {len(data) // 1024:>7} {command:8} {seconds:>8.2f} {mb:>8.0f} {run.returncode:>4}  {answer}")
    print(f"\nworst hostile file: {worst_s:.2f} s, {worst_mb:.0f} MB peak (targets: <= 10 s, <= 1024 MB)")
    return 0


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())
