"""Writing a labelled image in the format it came in, as close to the source's encoding as we can.

A creator's file should come back as the same kind of file: a JPEG at about its own quality and chroma
subsampling, a lossless WebP still lossless, a 16-bit PNG still 16-bit, a phone's HEIC still HEIC, with its
ICC profile. Where that cannot be done, the record says so and why, instead of changing formats silently.

Each format also has to carry the labels: XMP for the metadata label and IPTC source type, and a C2PA
manifest. Every format written here carries both (measured with c2pa-python 0.38.1 and exiftool 12.57);
a format that could not is listed in ``LACKS`` and the record names the labels it lacks.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from . import carriers
from .errors import AimarkError

# Pillow format name -> (MIME type, canonical extension, the other extensions that mean it).
FORMATS = {
    "JPEG": ("image/jpeg", ".jpg", (".jpeg", ".jpe", ".jfif")),
    "PNG": ("image/png", ".png", ()),
    "WEBP": ("image/webp", ".webp", ()),
    "AVIF": ("image/avif", ".avif", ()),
    "HEIF": ("image/heic", ".heic", (".heif", ".hif")),
    "TIFF": ("image/tiff", ".tif", (".tiff",)),
    "GIF": ("image/gif", ".gif", ()),
}
# Inputs in a format we read but cannot label in place (no carrier for XMP or C2PA) become this, losslessly.
FALLBACK = "PNG"
SAME_FORMAT = {"MPO": "JPEG", "BMP": FALLBACK, "PPM": FALLBACK, "ICO": FALLBACK}
# Labels a written format cannot carry (none of the formats above lacks any; kept for formats added later).
LACKS: dict[str, tuple[str, ...]] = {}
# Formats whose XMP is written by the encoder (the others get it spliced in at the byte level, so the
# label can also be updated in an upload without re-encoding it).
XMP_AT_ENCODE = {"AVIF", "HEIF", "TIFF"}
# Formats that hold 16 bits per sample in our writer: PNG (every mode, through OpenCV) and greyscale TIFF.
DEEP_FORMATS = {"PNG", "TIFF"}

DEFAULT_QUALITY = {"JPEG": 92, "WEBP": 90, "AVIF": 80, "HEIF": 85}
QUALITY_NOTE = {
    "AVIF": "an AVIF file does not record its encoder quality",
    "HEIF": "a HEIC file does not record its encoder quality",
}

# libjpeg's (IJG) base quantisation tables in natural order; every common encoder scales these.
_IJG_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=np.float64)
_IJG_CHROMA = np.full(64, 99.0)
_IJG_CHROMA[[0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 24, 25]] = [17, 18, 24, 47, 18, 21, 26, 66, 24, 26, 56, 47, 66]


def ijg_table(base: np.ndarray, quality: int) -> np.ndarray:
    """The table libjpeg writes for ``quality`` (1-100)."""
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    return np.clip(np.floor((base * scale + 50) / 100), 1, 255)


def jpeg_quality(tables: dict) -> tuple[int, float]:
    """(quality, mean absolute error per coefficient) of the IJG quality whose tables best match ``tables``
    (Pillow's ``quantization``, natural order). Error 0 means the file was written by an IJG-scaled encoder
    at exactly that quality; a few units mean another encoder's own tables, matched approximately."""
    actual = [np.asarray(tables[k], dtype=np.float64) for k in sorted(tables)[:2]]
    bases = [_IJG_LUMA, _IJG_CHROMA][:len(actual)]
    errors = [sum(np.abs(ijg_table(b, q) - a).mean() for b, a in zip(bases, actual)) / len(actual)
              for q in range(1, 101)]
    best = int(np.argmin(errors))
    return best + 1, float(errors[best])


def webp_quality(data: bytes) -> int | None:
    """The quality a lossy WebP was encoded at, estimated from its VP8 quantiser index, or None.

    libwebp maps quality q to a quantiser index through c = q/100 -> linear (c*2/3 below 0.75, else 2c-1)
    -> cube root -> index 127*(1 - that); per-segment indices spread around it. Inverting the mean of the
    segments' indices gives the quality back within a few units (``tests/test_formats.py``)."""
    try:
        chunks = carriers.webp_chunks(data)
    except AimarkError:
        return None
    frame = next((c.body for c in chunks if c.kind == b"VP8 "), None)
    if frame is None or len(frame) < 11 or frame[0] & 1 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    indices = _vp8_quant_indices(frame[10:])
    if not indices:
        return None
    compression = 1.0 - float(np.mean(indices)) / 127.0
    linear = compression ** 3
    quality = linear * 1.5 if linear < 0.5 else (linear + 1.0) / 2.0
    return int(np.clip(round(quality * 100), 1, 100))


class _BoolReader:
    """The VP8 boolean entropy decoder (RFC 6386 §7), enough to read the frame header's literals."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0
        self.value = int.from_bytes(data[:2].ljust(2, b"\0"), "big")
        self.pos, self.range, self.bits = 2, 255, 0

    def bit(self, probability: int = 128) -> int:
        split = 1 + (((self.range - 1) * probability) >> 8)
        big_split = split << 8
        if self.value >= big_split:
            out, self.range, self.value = 1, self.range - split, self.value - big_split
        else:
            out, self.range = 0, split
        while self.range < 128:
            self.value <<= 1
            self.range <<= 1
            self.bits += 1
            if self.bits == 8:
                self.bits = 0
                if self.pos < len(self.data):
                    self.value |= self.data[self.pos]
                self.pos += 1
        return out

    def literal(self, width: int) -> int:
        value = 0
        for _ in range(width):
            value = (value << 1) | self.bit()
        return value

    def signed(self, width: int) -> int:
        value = self.literal(width)
        return -value if self.bit() else value


def _vp8_quant_indices(partition: bytes) -> list[int]:
    """The luma AC quantiser index of each segment (or the frame's one) from a VP8 key-frame header."""
    reader = _BoolReader(partition[:64])
    reader.literal(2)  # colour space, clamping
    segments: list[int] | None = None
    absolute = False
    if reader.bit():  # segmentation enabled
        update_map = reader.bit()
        if reader.bit():  # update segment feature data
            absolute = bool(reader.bit())
            segments = [reader.signed(7) if reader.bit() else 0 for _ in range(4)]
            for _ in range(4):
                if reader.bit():
                    reader.signed(6)
        if update_map:
            for _ in range(3):
                if reader.bit():
                    reader.literal(8)
    reader.literal(1 + 6 + 3)  # filter type, level, sharpness
    if reader.bit() and reader.bit():  # loop-filter deltas enabled and updated
        for _ in range(8):
            if reader.bit():
                reader.signed(6)
    reader.literal(2)  # DCT partitions
    base = reader.literal(7)
    if segments is None:
        return [base]
    return [int(np.clip(s if absolute else base + s, 0, 127)) for s in segments]


@dataclass(frozen=True)
class Encoding:
    """How the source was encoded, as far as the file tells."""

    format: str
    depth: int = 8  # bits per sample
    quality: int | None = None  # estimated encoder quality (JPEG, lossy WebP)
    quality_error: float = 0.0  # JPEG: mean table mismatch at that quality (0 = exact IJG tables)
    lossless: bool = False  # WebP VP8L
    subsampling: int | None = None  # JPEG: Pillow's code (0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0)
    progressive: bool = False
    compression: str | None = None  # TIFF
    palette: bool = False


def source_encoding(image: Image.Image, data: bytes) -> Encoding:
    """What can be learnt from an opened (not yet decoded) image about how it was encoded."""
    fmt = image.format or "UNKNOWN"
    if fmt in ("JPEG", "MPO"):
        from PIL import JpegImagePlugin

        quality, error = jpeg_quality(image.quantization) if getattr(image, "quantization", None) else (None, 0.0)
        sampling = JpegImagePlugin.get_sampling(image)
        return Encoding("JPEG", quality=quality, quality_error=error, subsampling=sampling if sampling >= 0 else None,
                        progressive=bool(image.info.get("progressive") or image.info.get("progression")))
    if fmt == "WEBP":
        lossless = b"VP8L" in data[12:4096] and b"VP8 " not in data[12:4096]
        return Encoding("WEBP", lossless=lossless, quality=None if lossless else webp_quality(data))
    if fmt == "PNG":
        depth = data[24] if len(data) > 25 and data[12:16] == b"IHDR" else 8
        return Encoding("PNG", depth=16 if depth == 16 else 8, palette=image.mode in ("P", "PA"))
    if fmt == "TIFF":
        bits = image.tag_v2.get(258, (8,)) if hasattr(image, "tag_v2") else (8,)
        bits = bits if isinstance(bits, tuple) else (bits,)
        return Encoding("TIFF", depth=16 if max(bits) == 16 else 8, compression=image.info.get("compression"))
    if fmt == "HEIF":
        return Encoding("HEIF", depth=int(image.info.get("bit_depth") or 8))
    if fmt == "AVIF":
        return Encoding("AVIF")
    if fmt == "GIF":
        return Encoding("GIF", palette=True)
    return Encoding(fmt)


@dataclass(frozen=True)
class OutputPlan:
    """What will be written: the format, its parameters, and what the record must say about fidelity."""

    format: str
    quality: int | None = None
    lossless: bool = False
    subsampling: int | None = None
    progressive: bool = False
    compression: str | None = None
    depth: int = 8
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def mime(self) -> str:
        return FORMATS[self.format][0]

    @property
    def lacks(self) -> tuple[str, ...]:
        return LACKS.get(self.format, ())

    def suffix_for(self, source_suffix: str) -> str:
        """The output extension: the source's own spelling when the format is unchanged, else the canonical one."""
        _, canonical, others = FORMATS[self.format]
        return source_suffix if source_suffix.lower() in (canonical, *others) else canonical

    def as_record(self) -> dict:
        return {"format": self.format, "quality": self.quality, "lossless": self.lossless, "depth": self.depth,
                "subsampling": self.subsampling, "compression": self.compression, "lacks": list(self.lacks)}


def requested_format(name: str | None) -> str | None:
    """A user's ``--format`` word as a Pillow format name (jpg/jpeg, png, webp, avif, heic/heif, tif/tiff, gif)."""
    if not name:
        return None
    word = name.lower().lstrip(".")
    for fmt, (_, canonical, others) in FORMATS.items():
        if word == fmt.lower() or "." + word in (canonical, *others):
            return fmt
    raise AimarkError(f"cannot write {name!r}; choose one of jpeg, png, webp, avif, heic, tiff, gif")


def plan_output(encoding: Encoding, *, requested: str | None = None, quality: int | None = None,
                has_alpha: bool = False, grey: bool = False, depth: int = 8) -> OutputPlan:
    """Decide how to write an image decoded from ``encoding``: the same format and settings where we can."""
    notes: list[str] = []
    fmt = requested_format(requested) or SAME_FORMAT.get(encoding.format, encoding.format)
    if fmt not in FORMATS or (not requested and fmt == FALLBACK and encoding.format in SAME_FORMAT):
        notes.append(f"{encoding.format} cannot carry the metadata label or C2PA: written as {FALLBACK} (lossless)")
        fmt = FALLBACK
    same = fmt == SAME_FORMAT.get(encoding.format, encoding.format)
    plan: dict = {"format": fmt}
    if fmt in DEFAULT_QUALITY and not (fmt == "WEBP" and same and encoding.lossless and quality is None):
        if quality is not None:
            plan["quality"] = quality
        elif same and encoding.quality is not None:
            plan["quality"] = encoding.quality
            if fmt == "JPEG" and encoding.quality_error > 1.0:
                notes.append(f"the source's JPEG tables are not libjpeg's; quality {encoding.quality} is the nearest "
                             "match")
        else:
            plan["quality"] = DEFAULT_QUALITY[fmt]
            if same and fmt in QUALITY_NOTE:
                notes.append(f"{QUALITY_NOTE[fmt]}: written at quality {plan['quality']} (choose with --quality)")
    if fmt == "WEBP" and same and encoding.lossless and quality is None:
        plan["lossless"] = True
    if fmt == "JPEG":
        plan["subsampling"] = encoding.subsampling if same else None
        plan["progressive"] = encoding.progressive and same
        if has_alpha:
            notes.append("JPEG has no transparency: transparent areas flattened onto white")
    if fmt == "TIFF":
        plan["compression"] = _tiff_compression(encoding.compression if same else None, notes)
    if depth > 8:
        if fmt == "PNG" or (fmt == "TIFF" and grey and not has_alpha):
            plan["depth"] = 16
        else:
            notes.append(_depth_reason(fmt, grey))
    if encoding.palette and fmt != "GIF":
        notes.append("palette image written in full colour: the marks and the watermark need more than its palette")
    if fmt == "GIF" and not encoding.palette:
        notes.append("GIF holds 256 colours: the labelled image was reduced to a palette")
    return OutputPlan(notes=tuple(notes), **plan)


def _depth_reason(fmt: str, grey: bool) -> str:
    if fmt == "TIFF":
        kind = "greyscale TIFF with transparency" if grey else "colour TIFF"
        return (f"16-bit {kind} written as 8-bit: Pillow, which writes the TIFF tags that carry the labels, has "
                "no such 16-bit mode (write PNG with --format png to keep 16 bits)")
    return f"{fmt} is written 8 bits per sample: aimark writes 16 bits only in PNG and greyscale TIFF"


_TIFF_WRITABLE = {None: None, "raw": None, "tiff_lzw": "tiff_lzw", "tiff_deflate": "tiff_adobe_deflate",
                  "tiff_adobe_deflate": "tiff_adobe_deflate", "packbits": "packbits", "jpeg": "jpeg"}


def _tiff_compression(source: str | None, notes: list[str]) -> str | None:
    if source in _TIFF_WRITABLE:
        return _TIFF_WRITABLE[source]
    notes.append(f"TIFF compression {source} cannot hold a full-colour labelled image: written with LZW")
    return "tiff_lzw"


# --- encoding -------------------------------------------------------------------------------------------

def encode(pixels: Image.Image, plan: OutputPlan, *, exif: bytes | None = None, icc_profile: bytes | None = None,
           xmp: bytes | None = None, deep: np.ndarray | None = None, dpi=None) -> bytes:
    """Encode ``pixels`` (8-bit L, LA, RGB or RGBA) — or ``deep``, the same picture at 16 bits — as ``plan``
    says, carrying EXIF, the ICC profile, and (for formats whose encoder writes it) the XMP packet."""
    fmt = plan.format
    if deep is not None and plan.depth == 16:
        return _encode_deep(deep, plan, exif=exif, icc_profile=icc_profile, xmp=xmp, dpi=dpi)
    params: dict = {}
    image = pixels
    if fmt == "JPEG":
        if image.mode in ("RGBA", "LA"):
            image = flatten(image)
        params.update(quality=plan.quality, optimize=True)
        if plan.subsampling is not None:
            params["subsampling"] = plan.subsampling
        if plan.progressive:
            params["progressive"] = True
    elif fmt == "WEBP":
        params.update(lossless=True, quality=100, method=4) if plan.lossless else params.update(quality=plan.quality)
        if image.mode == "LA":
            image = image.convert("RGBA")
        elif image.mode == "L":
            image = image.convert("RGB")
    elif fmt in ("AVIF", "HEIF"):
        params["quality"] = plan.quality
        if image.mode in ("L", "LA"):
            image = image.convert("RGBA" if image.mode == "LA" else "RGB")
    elif fmt == "TIFF":
        if plan.compression == "jpeg":
            image = flatten(image) if image.mode in ("RGBA", "LA") else image
            params["quality"] = DEFAULT_QUALITY["JPEG"]
        if plan.compression:
            params["compression"] = plan.compression
        if xmp:
            params["tiffinfo"] = {700: xmp}
    elif fmt == "GIF":
        image = _to_palette(image)
    if xmp and fmt in ("AVIF", "HEIF"):
        params["xmp"] = xmp
    elif fmt in ("AVIF", "HEIF"):
        params["xmp"] = None
    if exif:
        params["exif"] = exif
    if icc_profile and fmt != "GIF":
        params["icc_profile"] = icc_profile
    if dpi and fmt in ("JPEG", "PNG", "TIFF"):
        params["dpi"] = dpi
    image.info.pop("xmp", None)  # never let a stale packet ride along: the caller's is the only one
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def flatten(pixels: Image.Image, background=(255, 255, 255)) -> Image.Image:
    """Composite RGBA (or LA) on a white background, for formats without alpha."""
    mode = "L" if pixels.mode == "LA" else "RGB"
    base = Image.new(mode, pixels.size, background if mode == "RGB" else 255)
    base.paste(pixels.convert(mode), mask=pixels.getchannel("A"))
    return base


def _to_palette(image: Image.Image) -> Image.Image:
    """An 8-bit palette image for GIF; a transparent source keeps transparency as palette index 255."""
    if image.mode not in ("RGBA", "LA"):
        return image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    alpha = np.asarray(image.getchannel("A"))
    paletted = image.convert("RGB").quantize(255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    indices = np.asarray(paletted).copy()
    indices[alpha < 128] = 255
    out = Image.fromarray(indices, "P")
    out.putpalette(paletted.getpalette()[:255 * 3] + [0, 0, 0])
    out.info["transparency"] = 255
    return out


def _encode_deep(deep: np.ndarray, plan: OutputPlan, *, exif, icc_profile, xmp, dpi) -> bytes:
    """16-bit PNG through OpenCV (Pillow has no 16-bit colour mode), metadata chunks added after; 16-bit
    greyscale TIFF through Pillow's I;16."""
    if plan.format == "TIFF":
        params: dict = {"tiffinfo": {700: xmp}} if xmp else {}
        if plan.compression:
            params["compression"] = plan.compression
        if icc_profile:
            params["icc_profile"] = icc_profile
        buffer = io.BytesIO()
        grey = np.ascontiguousarray(deep[..., 0] if deep.ndim == 3 else deep, dtype=np.uint16)
        Image.fromarray(grey).save(buffer, "TIFF", **params)
        return buffer.getvalue()
    import cv2

    array = deep
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGBA2BGRA if array.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(array), [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise AimarkError("cannot encode the 16-bit PNG")
    extra = []
    if icc_profile:
        import zlib

        extra.append(carriers.png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc_profile)))
    if dpi:
        per_metre = [round(v / 0.0254) for v in dpi]
        extra.append(carriers.png_chunk(b"pHYs", struct.pack(">IIB", per_metre[0], per_metre[1], 1)))
    if exif:
        extra.append(carriers.png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif))
    return carriers.png_insert_before_data(encoded.tobytes(), extra)
