"""Decoding inputs safely and writing outputs atomically.

Inputs arrive from anywhere (phones, generators, scrapers), so decoding is where hostile or odd files are
turned into one-line errors or into the one pixel form the labeller draws on: 8-bit RGB or RGBA, upright as
displayed. A 16-bit source also keeps its full samples (``SourceImage.deep``) so the output can keep them.
The original bytes are kept untouched; outputs only ever replace a file in one rename.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
import piexif
from PIL import Image, ImageCms

from . import formats
from .errors import BadImage, OutputError, input_guard, one_line

try:  # HEIC/HEIF, what most phones write, through the maintained libheif plug-in
    import pillow_heif

    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
except ImportError:  # pragma: no cover - a core dependency; kept optional for minimal installs
    pillow_heif = None

ORIENTATION_TAG = piexif.ImageIFD.Orientation
# EXIF orientation -> the transposition that shows the pixels upright (orientation 1: none).
TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
             5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
             8: Image.Transpose.ROTATE_90}
# An input image as the library takes it: encoded bytes, a path, or a binary file object.
Source = Union[bytes, bytearray, memoryview, str, os.PathLike, BinaryIO]
# Nothing we label or scan is this big; a bigger input is refused before it is read whole.
MAX_INPUT_BYTES = 1 << 30


def read_source(source: Source, name: str | None = None) -> tuple[bytes, str]:
    """(bytes, name) of an input given as bytes, a path or a binary file object (read to its end)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), name or "image"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > MAX_INPUT_BYTES:
                raise BadImage(f"{size:,} bytes is over the {MAX_INPUT_BYTES:,}-byte input limit")
            return path.read_bytes(), name or str(path)
        except OSError as exc:
            raise BadImage(f"cannot read {path}: {exc.strerror or exc}") from None
    read = getattr(source, "read", None)
    if read is None:
        raise TypeError(f"an image is bytes, a path or a binary file object, not {type(source).__name__}")
    data = read(MAX_INPUT_BYTES + 1)
    if isinstance(data, str):
        raise TypeError("the file object was opened in text mode; open it with 'rb'")
    if len(data) > MAX_INPUT_BYTES:
        raise BadImage(f"the input is over the {MAX_INPUT_BYTES:,}-byte limit")
    return bytes(data), name or str(getattr(source, "name", "") or "image")


@dataclass
class SourceImage:
    """An input, decoded: its untouched bytes, upright 8-bit pixels to draw on, and how it was encoded.

    ``deep`` holds the same upright picture at 16 bits per sample (RGB, RGBA or grey, uint16) when the
    source had more than 8 bits; the labeller applies its changes to both."""

    data: bytes
    format: str
    pixels: Image.Image
    exif: dict | None
    icc_profile: bytes | None
    orientation: int
    original_mode: str
    notes: list[str]
    encoding: formats.Encoding | None = None
    deep: np.ndarray | None = None
    dpi: tuple[float, float] | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.pixels.size

    @property
    def grey(self) -> bool:
        """Whether the source was greyscale (it is written back greyscale)."""
        return self.original_mode in ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")


# The pixel budget per image (the CLI's --max-pixels): above a 50-MP camera's output, below what would let
# a few hundred KB of black PNG claim gigabytes. Checked from the header, before anything is decoded.
DEFAULT_MAX_PIXELS = 64_000_000
_pixel_limit: int | None = DEFAULT_MAX_PIXELS


def pixel_limit() -> int | None:
    """The pixel budget in force (None: no limit)."""
    return _pixel_limit


def set_pixel_limit(limit: int | None) -> None:
    """Set the pixel budget (None or 0: no limit); Pillow's own bomb guard is moved out of its way."""
    global _pixel_limit
    _pixel_limit = limit or None
    Image.MAX_IMAGE_PIXELS = max(limit, DEFAULT_MAX_PIXELS) if limit else None


def open_image(data: bytes) -> Image.Image:
    """Open ``data`` with Pillow, turning every way it can refuse into a ``BadImage`` that says why.

    Only the header is read here; pixel data is decoded by ``decode_pixels``.
    """
    if not data:
        raise BadImage("empty file: there is no image to read")
    limit = pixel_limit()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Pillow's notes on odd EXIF tags while opening
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage(
            f"decompression bomb refused: {exc}; if you trust this file, raise the limit with --max-pixels"
        ) from None
    except Image.UnidentifiedImageError:
        raise BadImage("not an image Pillow can read (unknown or damaged header)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadImage(one_line(f"damaged image header: {exc}")) from None
    except Exception as exc:  # noqa: BLE001 - a decoder plug-in tripping over hostile bytes
        raise BadImage(one_line(f"damaged image header ({type(exc).__name__}: {exc})")) from None
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
    try:
        frames = getattr(image, "n_frames", 1)
    except Exception as exc:  # noqa: BLE001 - a plug-in walking a broken frame table
        raise BadImage(one_line(f"damaged frame table ({type(exc).__name__}: {exc})")) from None
    if frames > 1 and image.format != "MPO":
        raise BadImage(
            f"animated {image.format} with {frames} frames: aimark handles still images only; "
            "export the frame you publish as a still image"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Pillow's notes on odd tags: we report what matters
            image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadImage(one_line(f"truncated or corrupt image data ({exc}); re-export the original file")) from None
    except MemoryError:
        raise BadImage("the image needs more memory to decode than this process may use") from None
    except Exception as exc:  # noqa: BLE001 - a decoder plug-in tripping over hostile bytes
        raise BadImage(one_line(f"corrupt image data ({type(exc).__name__}: {exc})")) from None
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
        return Image.fromarray(grey, "L").convert("RGB"), []
    has_alpha = mode in ("LA", "La", "PA", "RGBa") or "transparency" in image.info
    target = "RGBA" if has_alpha else "RGB"
    # greys and palettes are drawn on in colour and written back as they came (see ``formats``): no note
    return image.convert(target), [] if mode in ("1", "L", "LA", "La", "P", "PA") else [f"{mode} converted to {target}"]


def load_exif(image: Image.Image) -> tuple[dict | None, int, list[str]]:
    """The image's EXIF as a piexif dict and its orientation; unreadable EXIF is dropped with a note."""
    raw = image.info.get("exif")
    if not raw:
        return None, 1, []
    from .carriers import exif_problem

    problem = exif_problem(raw[6:] if raw.startswith(b"Exif\x00\x00") else raw)
    if problem:
        return None, _orientation_from_pillow(image), [f"malformed EXIF dropped: {problem}"]
    try:
        exif = piexif.load(raw)
    except Exception as exc:  # piexif raises many types on malformed data
        return None, _orientation_from_pillow(image), [f"unreadable EXIF dropped ({type(exc).__name__})"]
    orientation = exif.get("0th", {}).get(ORIENTATION_TAG, 1)
    return exif, orientation if isinstance(orientation, int) else 1, []


def _orientation_from_pillow(image: Image.Image) -> int:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            value = int(image.getexif().get(ORIENTATION_TAG, 1))
        return value if 1 <= value <= 8 else 1
    except Exception:  # noqa: BLE001 - unreadable orientation means upright
        return 1


def load_source(data: bytes) -> SourceImage:
    """Decode ``data`` into a ``SourceImage`` upright as displayed, or raise ``BadImage`` (an ``AimarkError``,
    and nothing else, whatever the bytes).

    EXIF rotation is applied to the pixels and the Orientation tag reset to 1: every viewer, including
    those that ignore EXIF, then shows the label on the corner it was placed on.
    """
    with input_guard("this image"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Pillow's notes on odd tags: what matters is reported
        return _load_source(data)


def _load_source(data: bytes) -> SourceImage:
    image = open_image(data)
    encoding = formats.source_encoding(image, data)
    image = decode_pixels(image)
    original_mode = image.mode
    fmt = image.format or "UNKNOWN"
    icc = image.info.get("icc_profile")
    dpi = image.info.get("dpi")
    exif, orientation, notes = load_exif(image)
    deep = _deep_samples(data, image, encoding, orientation)
    if orientation in TRANSPOSE:
        image = image.transpose(TRANSPOSE[orientation])
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
        original_mode=original_mode, notes=notes + mode_notes, encoding=encoding, deep=deep,
        dpi=tuple(dpi) if dpi else None,
    )


def _deep_samples(data: bytes, image: Image.Image, encoding: formats.Encoding, orientation: int) -> np.ndarray | None:
    """The source at 16 bits per sample (upright, RGB(A) or grey), when it has more than 8 bits and we can
    write them back; None otherwise. Pillow reads 16-bit colour as 8-bit, so colour goes through OpenCV."""
    if encoding.depth <= 8 or encoding.format not in formats.DEEP_FORMATS:
        return None
    if image.mode.startswith("I;16"):
        deep = np.asarray(image, dtype=np.uint16)
    else:
        import cv2

        deep = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if deep is None or deep.dtype != np.uint16 or deep.shape[:2] != (image.height, image.width):
            return None
        if deep.ndim == 3:
            deep = cv2.cvtColor(deep, cv2.COLOR_BGRA2RGBA if deep.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return orient_array(deep, orientation)


def orient_array(array: np.ndarray, orientation: int) -> np.ndarray:
    """``array`` turned upright for an EXIF orientation (what ``ImageOps.exif_transpose`` does to pixels)."""
    steps = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
             5: lambda a: np.swapaxes(a, 0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: np.rot90(a, -1)[::-1],
             8: lambda a: np.rot90(a, 1)}
    return np.ascontiguousarray(steps[orientation](array)) if orientation in steps else array


def dump_exif(exif: dict | None) -> bytes | None:
    """EXIF bytes for an encoder; a tag piexif cannot re-serialise costs the others, not the image."""
    return _dump_exif(exif) if exif else None


def _dump_exif(exif: dict) -> bytes | None:
    try:
        return piexif.dump(exif)
    except Exception:
        # A tag piexif cannot re-serialise: keep the fields we own rather than fail the image.
        zeroth = {k: v for k, v in exif.get("0th", {}).items()
                  if k in (ORIENTATION_TAG, piexif.ImageIFD.Artist, piexif.ImageIFD.Software)}
        return piexif.dump({"0th": zeroth})


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
