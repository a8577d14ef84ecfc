"""Reposts made by tools aimark never uses: ImageMagick, libwebp's ``cwebp``, libjpeg-turbo's ``cjpeg``, and
the engines image servers resize with, libvips and FFmpeg.

Every other attack in ``bench/reposts.py`` is Pillow or OpenCV — the libraries the decoder was tuned
against. The issue asks that an evaluation with pictures *and tools* the project does not use reach the same
figures, so these run the real command-line programs (their own resampling filters, DCTs, encoder defaults,
rotation and perspective code) at strengths and angles the main grid does not hold. Each is an ``Attack``
like the grid's, so ``bench/robustness.py --cases outside`` puts them in the same table.

They need the programs (Debian: ``apt-get install imagemagick webp libjpeg-turbo-progs``, and for the
``servers`` group ``libvips-tools ffmpeg``); ``missing()`` names any that are absent, and a tool that fails
raises: a silent fallback would count the unattacked picture as a read.

The ``servers`` group is what a platform's upload path does with a picture, by the engines that do it at
scale: libvips (behind sharp and imgproxy) makes thumbnails from an uploaded JPEG with *shrink-on-load* — the
JPEG decoded at 1/2, 1/4 or 1/8 of its size in the DCT domain, then resized by its own kernel — which no
Pillow or OpenCV path does; FFmpeg (behind many media pipelines) resizes with swscale's bicubic and
converts to YUV by swscale too (full-range 4:4:4 for its MJPEG, 4:2:0 for WebP) before its encoder.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from bench.reposts import Attack, Attacked, _scale_matrix, _shift

TOOLS = {"outside": ("convert", "cwebp", "dwebp", "cjpeg", "djpeg"), "servers": ("vipsthumbnail", "ffmpeg")}
PACKAGES = {"outside": "imagemagick webp libjpeg-turbo-progs", "servers": "libvips-tools ffmpeg"}


def missing(group: str = "outside") -> list[str]:
    """The command-line programs the attacks of ``group`` need that are not installed."""
    return [tool for tool in TOOLS[group] if shutil.which(tool) is None]


def _run(image: Image.Image, *steps: list[str]) -> Image.Image:
    """``image`` through each command in turn: ``{in}`` names what the last step wrote (a PNG of ``image``
    first), ``{out}`` the stem of what this one writes (its suffix, e.g. ``{out}.jpg``, sets the format)."""
    with tempfile.TemporaryDirectory() as tmp:
        current = Path(tmp) / "0.png"
        image.save(current)
        for index, step in enumerate(steps, 1):
            stem = str(Path(tmp) / str(index))
            command = [part.replace("{in}", str(current)).replace("{out}", stem) for part in step]
            subprocess.run(command, check=True, capture_output=True, timeout=120)
            written = next(part.replace("{out}", stem) for part in reversed(step) if "{out}" in part)
            current = Path(written.split("[")[0])  # libvips' save options follow the name: x.jpg[Q=80]
        with Image.open(current) as out:
            return out.convert("RGB")


def _im(im: Image.Image, *options: str) -> Image.Image:
    """``im`` through ImageMagick with ``options``, written as its JPEG at quality 90 (a repost's re-encode)."""
    return _run(im, ["convert", "{in}", *options, "-quality", "90", "{out}.jpg"])


def _im_jpeg(im, q, rng, box):
    """ImageMagick's JPEG (its own libjpeg settings: 4:2:0 below quality 90)."""
    return Attacked(_run(im, ["convert", "{in}", "-quality", str(q), "{out}.jpg"]), np.eye(3))


def _cjpeg(im, q, rng, box):
    """libjpeg-turbo's reference encoder with the float DCT and optimised Huffman tables."""
    return Attacked(_run(im, ["convert", "{in}", "{out}.ppm"],
                         ["cjpeg", "-quality", str(q), "-dct", "float", "-optimize", "-outfile", "{out}.jpg", "{in}"]),
                    np.eye(3))


def _cwebp(im, q, rng, box):
    """libwebp's own command-line encoder at its defaults (method 4, its spatial noise shaping and filter)."""
    return Attacked(_run(im, ["cwebp", "-quiet", "-q", str(q), "{in}", "-o", "{out}.webp"],
                         ["dwebp", "-quiet", "{in}", "-o", "{out}.png"]), np.eye(3))


def _platform_webp(im, q, rng, box):
    """A platform's serving path: shrunk by ImageMagick to fit 720 px (never enlarged), then WebP."""
    factor = min(1.0, 720 / max(im.size))
    resized = _run(im, ["convert", "{in}", "-resize", "720x720>", "{out}.png"])
    return Attacked(_cwebp(resized, q, rng, box).image, _scale_matrix(factor))


def _im_resize(im, side, rng, box):
    """ImageMagick's resize to fit ``side`` px (its default filter), saved at its default JPEG quality."""
    out = _run(im, ["convert", "{in}", "-resize", f"{side}x{side}", "{out}.jpg"])
    return Attacked(out, _scale_matrix(out.width / im.width, out.height / im.height))


def _im_rotate(im, degrees, rng, box):
    """ImageMagick's rotation (its own resampling), the corners filled white, JPEG 90."""
    out = _im(im, "-background", "white", "-rotate", str(degrees))
    t = np.deg2rad(degrees)
    rotation = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    return Attacked(out, _shift(out.width / 2, out.height / 2) @ rotation @ _shift(-im.width / 2, -im.height / 2))


def _im_keystone(im, k, rng, box):
    """A sideways keystone by ImageMagick's perspective distortion: the left edge shortened by ``k`` of the
    height at each end (the grid's own keystone narrows the top, with OpenCV)."""
    w, h = im.size
    points = f"0,0 0,{k * h:.2f}  {w},0 {w},0  {w},{h} {w},{h}  0,{h} 0,{h - k * h:.2f}"
    out = _im(im, "-virtual-pixel", "white", "-distort", "Perspective", points)
    import cv2

    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[0, k * h], [w, 0], [w, h], [0, h - k * h]])
    return Attacked(out, cv2.getPerspectiveTransform(src, dst).astype(float))  # where the marks' boxes went


def _im_crop(im, area, rng, box):
    """ImageMagick's crop of ``area`` of the picture from its top-right corner (off centre), JPEG 90."""
    w, h = im.size
    cw, ch = max(32, round(w * area ** 0.5)), max(32, round(h * area ** 0.5))
    out = _im(im, "-crop", f"{cw}x{ch}+{w - cw}+0", "+repage")
    return Attacked(out, _shift(-(w - cw), 0))


def _im_aspect(im, f, rng, box):
    """Height alone changed by ImageMagick (``-resize 100%xN%!``), JPEG 90."""
    out = _im(im, "-resize", f"100%x{100 * f:g}%!")
    return Attacked(out, _scale_matrix(1.0, out.height / im.height))


def _im_blur(im, sigma, rng, box):
    return Attacked(_im(im, "-gaussian-blur", f"0x{sigma}"), np.eye(3))


def _im_unsharp(im, amount, rng, box):
    return Attacked(_im(im, "-unsharp", f"0x1.5+{amount}+0"), np.eye(3))


def _im_median(im, size, rng, box):
    """A median filter (a cheap denoiser many tools offer), ``size`` x ``size`` pixels."""
    return Attacked(_im(im, "-statistic", "Median", f"{size}x{size}"), np.eye(3))


def _im_levels(im, change, rng, box):
    """ImageMagick's brightness and contrast, both by ``change`` percent."""
    return Attacked(_im(im, "-brightness-contrast", f"{change}x{change}"), np.eye(3))


def _im_flop(im, _, rng, box):
    out = _im(im, "-flop")
    return Attacked(out, np.array([[-1, 0, im.width], [0, 1, 0], [0, 0, 1]], float))


# the step that makes the upload a server receives: the labelled picture as a JPEG at quality 92 (so a
# thumbnailer's shrink-on-load has a JPEG to work on)
UPLOADED = ["convert", "{in}", "-quality", "92", "{out}.jpg"]


def _resized(im: Image.Image, out: Image.Image) -> Attacked:
    return Attacked(out, _scale_matrix(out.width / im.width, out.height / im.height))


def _vips_thumb(im, side, rng, box):
    """libvips' thumbnail of an uploaded JPEG to fit ``side`` px, never enlarged (shrink-on-load, then its
    kernel), written as its JPEG at quality 80, the metadata stripped (sharp's and imgproxy's defaults)."""
    out = _run(im, UPLOADED,
               ["vipsthumbnail", "{in}", "--size", f"{side}x{side}>", "-o", "{out}.jpg[Q=80,strip]"])
    return _resized(im, out)


def _vips_webp(im, q, rng, box):
    """libvips' 1080-px thumbnail of an uploaded JPEG, served as WebP at quality ``q``."""
    out = _run(im, UPLOADED,
               ["vipsthumbnail", "{in}", "--size", "1080x1080>", "-o", f"{{out}}.webp[Q={q},strip]"])
    return _resized(im, out)


def _ffmpeg_scale(im, side, rng, box):
    """FFmpeg's resize to ``side`` px wide, never enlarged (swscale's bicubic, even height), and its MJPEG at
    qscale 4 (full-range 4:4:4, as it picks for an RGB input)."""
    out = _run(im, ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", "{in}",
                    "-vf", f"scale='min({side},iw)':-2", "-q:v", "4", "{out}.jpg"])
    return _resized(im, out)


def _ffmpeg_webp(im, q, rng, box):
    """FFmpeg's libwebp encoder at quality ``q``, the picture's own size (its 4:2:0 conversion by swscale)."""
    out = _run(im, ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", "{in}", "-c:v", "libwebp",
                    "-quality", str(q), "{out}.webp"])
    return _resized(im, out)


SERVERS: tuple[Attack, ...] = (
    Attack("vips_thumb", "scale", (1080, 720, 480, 320), _vips_thumb),
    Attack("vips_webp", "codec", (80, 60), _vips_webp),
    Attack("ffmpeg_scale", "scale", (720, 480), _ffmpeg_scale),
    Attack("ffmpeg_webp", "codec", (75, 50), _ffmpeg_webp),
)

OUTSIDE: tuple[Attack, ...] = (
    Attack("im_jpeg", "codec", (30, 50, 70), _im_jpeg),
    Attack("cjpeg", "codec", (40, 60), _cjpeg),
    Attack("cwebp", "codec", (50, 75), _cwebp),
    Attack("platform_webp", "codec", (60, 80), _platform_webp),
    Attack("im_resize", "scale", (720, 512, 384, 320, 256), _im_resize),
    Attack("im_rotate", "geometry", (7, 20, 60, 200), _im_rotate),
    Attack("im_keystone", "geometry", (0.02, 0.04), _im_keystone),
    Attack("im_crop", "crop", (0.5, 0.25), _im_crop),
    Attack("im_aspect", "geometry", (0.92, 1.08), _im_aspect),
    Attack("im_flop", "geometry", ("x",), _im_flop),
    Attack("im_blur", "filter", (0.7, 1.2), _im_blur),
    Attack("im_unsharp", "filter", (1.2,), _im_unsharp),
    Attack("im_median", "filter", (3,), _im_median),
    Attack("im_levels", "tone", (-10, 10), _im_levels),
)
