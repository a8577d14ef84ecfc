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
