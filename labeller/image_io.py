"""Decoding inputs safely and writing outputs atomically.

Inputs arrive from anywhere (phones, generators, scrapers), so decoding is where hostile or odd files are
turned into one-line errors or into the one pixel form the labeller draws on: 8-bit RGB or RGBA, upright as
displayed. The original bytes are kept untouched; outputs only ever replace a file in one rename.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import piexif
from PIL import Image, ImageCms, ImageOps

from .errors import BadImage, OutputError

ORIENTATION_TAG = piexif.ImageIFD.Orientation

# Pillow format name -> (MIME type, file extension) for the formats we write.
OUTPUT_FORMATS = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
# Inputs in these formats are written back in the same format; any other input becomes PNG (lossless).
SAME_FORMAT_OUT = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}

DEFAULT_JPEG_QUALITY = 92
DEFAULT_WEBP_QUALITY = 90


@dataclass
class SourceImage:
    """An input, decoded: its untouched bytes, and upright 8-bit pixels to draw on."""

    data: bytes
    format: str
    pixels: Image.Image
    exif: dict | None
    icc_profile: bytes | None
    orientation: int
    original_mode: str
    notes: list[str]

    @property
    def size(self) -> tuple[int, int]:
        return self.pixels.size


def pixel_limit() -> int | None:
    """The decompression-bomb limit in force: Pillow's ``MAX_IMAGE_PIXELS`` (the CLI's --max-pixels)."""
    return Image.MAX_IMAGE_PIXELS


def open_image(data: bytes) -> Image.Image:
    """Open ``data`` with Pillow, turning every way it can refuse into a ``BadImage`` that says why.

    Only the header is read here; pixel data is decoded by ``decode_pixels``.
    """
    if not data:
        raise BadImage("empty file: there is no image to read")
    limit = pixel_limit()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage(
            f"decompression bomb refused: {exc}; if you trust this file, raise the limit with --max-pixels"
        ) from None
    except Image.UnidentifiedImageError:
        raise BadImage("not an image Pillow can read (unknown or damaged header)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadImage(f"damaged image header: {exc}") from None
    width, height = image.size
    if width < 1 or height < 1:
        raise BadImage(f"image has no pixels ({width}x{height})")
    if limit and width * height > limit:
        raise BadImage(
            f"decompression bomb refused: {width}x{height} = {width * height:,} pixels is over the limit of "
            f"{limit:,}; if you trust this file, raise the limit with --max-pixels"
        )
    return image


def decode_pixels(image: Image.Image) -> Image.Image:
    """Decode the pixel data, reporting truncation and corruption as ``BadImage``."""
    frames = getattr(image, "n_frames", 1)
    if frames > 1 and image.format != "MPO":
        raise BadImage(
            f"animated {image.format} with {frames} frames: labelling every frame is not supported; "
            "export the frame you publish as a still image"
        )
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadImage(f"truncated or corrupt image data ({exc}); re-export the original file") from None
    return image


def to_drawable(image: Image.Image) -> tuple[Image.Image, list[str]]:
    """Convert any decoded mode to 8-bit RGB or RGBA, saying what was converted.

    Why each rule: CMYK goes through its ICC profile when it has one (a naive convert shifts colours);
    16-bit and float greys are scaled, not clipped (clipping turns most 16-bit images white); palettes and
    greys keep their transparency as alpha.
    """
    mode = image.mode
    notes: list[str] = []
    if mode in ("RGB", "RGBA"):
        return image, notes
    if mode == "CMYK":
        icc = image.info.get("icc_profile")
        if icc:
            try:
                converted = ImageCms.profileToProfile(
                    image, ImageCms.ImageCmsProfile(io.BytesIO(icc)), ImageCms.createProfile("sRGB"),
                    outputMode="RGB",
                )
                return converted, ["CMYK converted to sRGB through the embedded ICC profile"]
            except (ImageCms.PyCMSError, OSError):
                notes.append("embedded CMYK ICC profile unusable; converted without it")
        return image.convert("RGB"), notes + ["CMYK converted to RGB"]
    if mode.startswith("I") or mode == "F":
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode.startswith("I") else max(1.0, float(values.max()))
        grey = np.clip(np.round(values * (255.0 / top)), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB"), [f"{mode} high-bit-depth grey scaled to 8 bits"]
    has_alpha = mode in ("LA", "La", "PA", "RGBa") or "transparency" in image.info
    target = "RGBA" if has_alpha else "RGB"
    return image.convert(target), [f"{mode} converted to {target}"]


def load_exif(image: Image.Image) -> tuple[dict | None, int, list[str]]:
    """The image's EXIF as a piexif dict and its orientation; unreadable EXIF is dropped with a note."""
    raw = image.info.get("exif")
    if not raw:
        return None, 1, []
    try:
        exif = piexif.load(raw)
    except Exception as exc:  # piexif raises many types on malformed data
        return None, _orientation_from_pillow(image), [f"unreadable EXIF dropped ({type(exc).__name__})"]
    orientation = exif.get("0th", {}).get(ORIENTATION_TAG, 1)
    return exif, orientation if isinstance(orientation, int) else 1, []


def _orientation_from_pillow(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(ORIENTATION_TAG, 1))
    except Exception:
        return 1


def load_source(data: bytes) -> SourceImage:
    """Decode ``data`` into a ``SourceImage`` upright as displayed, or raise ``BadImage``.

    EXIF rotation is applied to the pixels and the Orientation tag reset to 1: every viewer, including
    those that ignore EXIF, then shows the label on the corner it was placed on.
    """
    image = decode_pixels(open_image(data))
    original_mode = image.mode
    fmt = image.format or "UNKNOWN"
    icc = image.info.get("icc_profile")
    exif, orientation, notes = load_exif(image)
    if orientation != 1:
        try:
            image = ImageOps.exif_transpose(image)
        except Exception as exc:
            raise BadImage(f"cannot apply EXIF orientation {orientation}: {exc}") from None
        notes.append(f"EXIF orientation {orientation} applied to the pixels")
    if exif is not None:
        exif.setdefault("0th", {})[ORIENTATION_TAG] = 1
        exif.pop("thumbnail", None)
        exif["1st"] = {}
    pixels, mode_notes = to_drawable(image)
    if original_mode == "CMYK":
        icc = None  # the pixels are sRGB now
    return SourceImage(
        data=data, format=fmt, pixels=pixels, exif=exif, icc_profile=icc, orientation=orientation,
        original_mode=original_mode, notes=notes + mode_notes,
    )


def output_format(source_format: str, requested: str | None = None) -> str:
    """The Pillow format to write: the one asked for, else the input's own, else PNG."""
    if requested:
        name = requested.upper().replace("JPG", "JPEG")
        if name not in OUTPUT_FORMATS:
            raise ValueError(f"cannot write {requested!r}; choose one of jpeg, png, webp")
        return name
    return SAME_FORMAT_OUT.get(source_format, "PNG")


def encode(pixels: Image.Image, fmt: str, *, quality: int | None = None, exif: dict | None = None,
           icc_profile: bytes | None = None) -> bytes:
    """Encode upright pixels to ``fmt`` bytes with Pillow, carrying EXIF and the ICC profile."""
    params: dict = {}
    if fmt == "JPEG":
        if pixels.mode == "RGBA":
            pixels = flatten(pixels)
        params["quality"] = quality or DEFAULT_JPEG_QUALITY
    elif fmt == "WEBP":
        params["quality"] = quality or DEFAULT_WEBP_QUALITY
    if exif:
        params["exif"] = _dump_exif(exif)
    if icc_profile:
        params["icc_profile"] = icc_profile
    buffer = io.BytesIO()
    pixels.save(buffer, fmt, **params)
    return buffer.getvalue()


def _dump_exif(exif: dict) -> bytes | None:
    try:
        return piexif.dump(exif)
    except Exception:
        # A tag piexif cannot re-serialise: keep the fields we own rather than fail the image.
        zeroth = {k: v for k, v in exif.get("0th", {}).items()
                  if k in (ORIENTATION_TAG, piexif.ImageIFD.Artist, piexif.ImageIFD.Software)}
        return piexif.dump({"0th": zeroth})


def flatten(pixels: Image.Image, background=(255, 255, 255)) -> Image.Image:
    """Composite RGBA on a white background (for formats without alpha)."""
    base = Image.new("RGB", pixels.size, background)
    base.paste(pixels, mask=pixels.getchannel("A"))
    return base


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see either the old file or the whole new one, never a part."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise OutputError(f"cannot write into {path.parent}: {exc.strerror}; choose a writable --out") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror}") from None
