"""The standard repost suite (``shared/spec/reposts.md``) as named, parameterised, seeded operations.

One definition shared by the tests (small images), the benchmarks (whole corpus) and the scanner's
evaluation. It simulates what happens between an author and a repost — including people removing an
author's ID — so that aimark's detectors can be measured against it. It lives in ``bench/``, outside the
installed package, on purpose: aimark ships no tool that removes or hides a mark.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

Box = tuple[int, int, int, int]


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    """Re-encode as JPEG (Pillow default 4:2:0 subsampling) and decode again."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def webp(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "WEBP", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def png(image: Image.Image) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def scale(image: Image.Image, factor: float, resample=Image.Resampling.LANCZOS) -> Image.Image:
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, resample)


def crop_fraction(image: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    """Remove the given fractions of width/height from each side."""
    w, h = image.size
    return image.crop((round(w * left), round(h * top), w - round(w * right), h - round(h * bottom)))


@dataclass(frozen=True)
class Repost:
    """One named case: a deterministic operation on an image (and, for the ID cases, the mark's box)."""

    name: str
    description: str
    apply_fn: Callable[..., Image.Image]
    needs_box: bool = False
    removes_id: bool = False  # the case exists to take the author's ID away
    params: dict = field(default_factory=dict)

    def apply(self, image: Image.Image, box: Box | None = None, seed: int = 0) -> Image.Image:
        image = image.convert("RGB")
        if self.needs_box:
            if box is None:
                raise ValueError(f"{self.name} needs the author mark's box")
            return self.apply_fn(image, box, seed=seed, **self.params)
        return self.apply_fn(image, seed=seed, **self.params)


def _long_side(image, *, seed, long_side, quality):
    factor = min(1.0, long_side / max(image.size))
    return jpeg(scale(image, factor) if factor < 1 else image, quality)


def _noise(image, *, seed, sigma):
    rng = np.random.default_rng(seed)
    pixels = np.asarray(image, dtype=np.float32)
    noisy = pixels + rng.normal(0, sigma, pixels.shape)
    return Image.fromarray(np.clip(np.round(noisy), 0, 255).astype(np.uint8))


def _caption_bar(image, *, seed, fraction):
    w, h = image.size
    bar = max(1, round(h * fraction))
    out = Image.new("RGB", (w, h + bar), "white")
    out.paste(image, (0, 0))
    font = ImageFont.load_default(size=max(10, bar // 2))
    ImageDraw.Draw(out).text((bar // 3, h + bar // 4), "reposted with a caption #wow", fill="black", font=font)
    return out


def _bright_contrast(image, *, seed, factor):
    return ImageEnhance.Contrast(ImageEnhance.Brightness(image).enhance(factor)).enhance(factor)


def _crop_center(image, *, seed, area):
    side = (1 - area ** 0.5) / 2
    return crop_fraction(image, side, side, side, side)


def _chain_social(image, *, seed):
    return jpeg(_long_side(crop_fraction(image, 0, 0, 0.10, 0.10), seed=seed, long_side=1080, quality=85), 75)


def _chain_heavy(image, *, seed):
    cropped = crop_fraction(image, 0.05, 0.05, 0.05, 0.05)
    return jpeg(ImageEnhance.Brightness(scale(cropped, 0.75)).enhance(1.1), 70)


def _padded(box: Box, size, pad: int) -> Box:
    return (max(0, box[0] - pad), max(0, box[1] - pad), min(size[0], box[2] + pad), min(size[1], box[3] + pad))


def _erase_id(image, box, *, seed):
    import cv2

    pixels = np.asarray(image).copy()
    mask = np.zeros(pixels.shape[:2], np.uint8)
    x0, y0, x1, y1 = _padded(box, image.size, 2)
    mask[y0:y1, x0:x1] = 255
    filled = cv2.inpaint(pixels, mask, 5, cv2.INPAINT_TELEA)
    return jpeg(Image.fromarray(filled), 85)


def _blur_id(image, box, *, seed):
    region = _padded(box, image.size, 2)
    out = image.copy()
    out.paste(image.crop(region).filter(ImageFilter.GaussianBlur(8)), region[:2])
    return jpeg(out, 85)


def _cover_id(image, box, *, seed):
    x0, y0, x1, y1 = _padded(box, image.size, 2)
    pixels = np.asarray(image)
    ring = np.concatenate([pixels[max(0, y0 - 4):y0, x0:x1].reshape(-1, 3),
                           pixels[y1:y1 + 4, x0:x1].reshape(-1, 3),
                           pixels[y0:y1, max(0, x0 - 4):x0].reshape(-1, 3)])
    colour = tuple(int(v) for v in (np.median(ring, axis=0) if len(ring) else (128, 128, 128)))
    out = image.copy()
    ImageDraw.Draw(out).rectangle((x0, y0, x1 - 1, y1 - 1), fill=colour)
    return jpeg(out, 85)


SUITE: dict[str, Repost] = {r.name: r for r in [
    Repost("png", "lossless re-save", lambda im, seed: png(im)),
    Repost("jpeg90", "JPEG q90", lambda im, seed: jpeg(im, 90)),
    Repost("jpeg75", "JPEG q75", lambda im, seed: jpeg(im, 75)),
    Repost("jpeg50", "JPEG q50", lambda im, seed: jpeg(im, 50)),
    Repost("webp80", "WebP q80", lambda im, seed: webp(im, 80)),
    Repost("long1080_jpeg85", "long side to 1080 px (never upscale), JPEG q85", _long_side,
           params={"long_side": 1080, "quality": 85}),
    Repost("half_jpeg75", "scale x0.5, JPEG q75", lambda im, seed: jpeg(scale(im, 0.5), 75)),
    Repost("crop_corner10", "remove 10% of width on the right and 10% of height at the bottom",
           lambda im, seed: crop_fraction(im, 0, 0, 0.10, 0.10)),
    Repost("crop_center70", "keep the centred 70% of the area", _crop_center, params={"area": 0.70}),
    Repost("caption_bar", "12%-of-height white bar with black text below", _caption_bar, params={"fraction": 0.12}),
    Repost("bright_contrast15", "brightness x1.15 then contrast x1.15", _bright_contrast, params={"factor": 1.15}),
    Repost("blur1", "Gaussian blur radius 1", lambda im, seed: im.filter(ImageFilter.GaussianBlur(1))),
    Repost("noise5", "additive Gaussian noise sigma 5 (seeded)", _noise, params={"sigma": 5.0}),
    Repost("rotate2", "rotate 2 degrees about the centre, same canvas",
           lambda im, seed: im.rotate(2, resample=Image.Resampling.BICUBIC)),
    Repost("screenshot", "scale x0.8 bicubic, PNG", lambda im, seed: png(scale(im, 0.8, Image.Resampling.BICUBIC))),
    Repost("chain_social", "crop_corner10 -> long1080_jpeg85 -> jpeg75", _chain_social),
    Repost("chain_heavy", "crop 5% off every edge -> x0.75 -> brightness x1.1 -> JPEG q70", _chain_heavy),
    Repost("erase_id", "inpaint the author-ID box (OpenCV Telea) -> JPEG q85", _erase_id, needs_box=True, removes_id=True),
    Repost("blur_id", "Gaussian blur radius 8 over the author-ID box -> JPEG q85", _blur_id, needs_box=True,
           removes_id=True),
    Repost("cover_id", "sampled-background rectangle over the author-ID box -> JPEG q85", _cover_id,
           needs_box=True, removes_id=True),
]}
