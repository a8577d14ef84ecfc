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


def residue_copy(marked: Image.Image, onto: Image.Image, sigma: float = 3.0) -> Image.Image:
    """``marked``'s high-pass residue (a Gaussian blur of ``sigma`` taken away) added to another picture,
    resized to it, saved as JPEG 90: how a copier moves a mark onto a picture it was not embedded in."""
    source = marked.convert("RGB").resize(onto.size, Image.Resampling.LANCZOS)
    residue = np.asarray(source, np.float32) - np.asarray(source.filter(ImageFilter.GaussianBlur(sigma)), np.float32)
    mixed = np.clip(np.asarray(onto.convert("RGB"), np.float32) + residue, 0, 255).astype(np.uint8)
    return jpeg(Image.fromarray(mixed), 90)


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
    """A Gaussian blur over the ID: radius 8 px, or 30% of the box's height on a big photo, whose ID an 8-px
    blur leaves legible (OCR read it exactly on every corpus photo of 4 MP or more: no removal)."""
    region = _padded(box, image.size, 2)
    out = image.copy()
    radius = max(8.0, 0.3 * (box[3] - box[1]))
    out.paste(image.crop(region).filter(ImageFilter.GaussianBlur(radius)), region[:2])
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
    Repost("blur_id", "Gaussian blur (radius 8, or 30% of the box) over the author-ID box -> JPEG q85", _blur_id, needs_box=True,
           removes_id=True),
    Repost("cover_id", "sampled-background rectangle over the author-ID box -> JPEG q85", _cover_id,
           needs_box=True, removes_id=True),
]}


# --- attacks with strength grids ------------------------------------------------------------------------
#
# After videoseal's attacks: each attack is an object with its own grid of strengths, applied the same way
# by the tests (one strength, small images), the watermark benchmark and the false-accusation benchmark
# (every strength, the corpus). Geometric attacks also return where the original's pixels went (a 3x3
# matrix, original -> attacked), so a benchmark knows, independently of the scanner, whether a mark's box
# is still in the frame.

Matrix = np.ndarray


@dataclass(frozen=True)
class Attacked:
    image: Image.Image
    matrix: Matrix  # original pixel -> attacked pixel (homogeneous 3x3)

    def kept(self, box: Box) -> float:
        """How much of ``box`` (original pixels) lies inside the attacked frame."""
        x0, y0, x1, y1 = box
        corners = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], float) @ self.matrix.T
        corners = corners[:, :2] / corners[:, 2:]
        mx0, my0 = corners.min(axis=0)
        mx1, my1 = corners.max(axis=0)
        area = max(1e-9, (mx1 - mx0) * (my1 - my0))
        w, h = self.image.size
        inside = max(0.0, min(mx1, w) - max(mx0, 0)) * max(0.0, min(my1, h) - max(my0, 0))
        return inside / area


@dataclass(frozen=True)
class Attack:
    """A named operation with its strengths. ``removes`` names the mark it takes away on purpose (None: a
    benign edit an honest reposter or a platform makes)."""

    name: str
    family: str
    strengths: tuple
    fn: Callable[..., Attacked]
    removes: str | None = None  # "author-id", "visible-label" or None
    needs_box: bool = False

    def apply(self, image: Image.Image, strength=None, *, box: Box | None = None, seed: int = 0) -> Attacked:
        strength = self.strengths[0] if strength is None else strength
        rng = np.random.default_rng(seed)
        image = image.convert("RGB")
        if self.needs_box and box is None:
            raise ValueError(f"{self.name} needs the mark's box")
        return self.fn(image, strength, rng, box)

    def cases(self) -> list[tuple[str, object]]:
        return [(f"{self.name}@{s}", s) for s in self.strengths]


def _same(image) -> Attacked:
    return Attacked(image, np.eye(3))


def _affine(image, matrix) -> Attacked:
    return Attacked(image, np.asarray(matrix, float))


def _scale_matrix(sx, sy=None) -> Matrix:
    return np.diag([sx, sy if sy is not None else sx, 1.0])


def _shift(dx, dy) -> Matrix:
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], float)


def _a_jpeg(im, q, rng, box):
    return _same(jpeg(im, int(q)))


def _a_webp(im, q, rng, box):
    return _same(webp(im, int(q)))


def _a_avif(im, q, rng, box):
    buffer = io.BytesIO()
    im.save(buffer, "AVIF", quality=int(q))
    return _same(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def _a_scale(im, f, rng, box):
    out = scale(im, f)
    return _affine(out, _scale_matrix(out.width / im.width, out.height / im.height))


def _a_long_side(im, side, rng, box):
    factor = min(1.0, side / max(im.size))
    out = scale(im, factor) if factor < 1 else im
    return _affine(jpeg(out, 85), _scale_matrix(out.width / im.width, out.height / im.height))


def _a_pad(im, frac, rng, box):
    pad = round(frac * min(im.size))
    out = Image.new("RGB", (im.width + 2 * pad, im.height + 2 * pad), (255, 255, 255))
    out.paste(im, (pad, pad))
    return _affine(jpeg(out, 90), _shift(pad, pad))


def _a_caption(im, frac, rng, box):
    return _same(jpeg(_caption_bar(im, seed=0, fraction=frac), 90))


def _a_letterbox(im, aspect, rng, box):
    """Black bars to fit ``aspect`` (width/height), as a video platform's still does."""
    w, h = im.size
    if w / h < aspect:
        out_w, out_h = round(h * aspect), h
    else:
        out_w, out_h = w, round(w / aspect)
    out = Image.new("RGB", (out_w, out_h))
    dx, dy = (out_w - w) // 2, (out_h - h) // 2
    out.paste(im, (dx, dy))
    return _affine(jpeg(out, 90), _shift(dx, dy))


def _a_crop_sides(im, frac, rng, box):
    w, h = im.size
    dx, dy = round(w * frac), round(h * frac)
    return _affine(jpeg(im.crop((dx, dy, w - dx, h - dy)), 90), _shift(-dx, -dy))


def _a_crop_area(im, area, rng, box):
    """Keep ``area`` of the picture, at a seeded random place."""
    w, h = im.size
    side = area ** 0.5
    cw, ch = max(32, round(w * side)), max(32, round(h * side))
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return _affine(im.crop((x, y, x + cw, y + ch)), _shift(-x, -y))


def _a_brightness(im, f, rng, box):
    return _same(jpeg(ImageEnhance.Brightness(im).enhance(f), 90))


def _a_contrast(im, f, rng, box):
    return _same(jpeg(ImageEnhance.Contrast(im).enhance(f), 90))


def _a_gamma(im, g, rng, box):
    table = [round(255 * (i / 255) ** g) for i in range(256)] * 3
    return _same(jpeg(im.point(table), 90))


def _a_saturation(im, s, rng, box):
    return _same(jpeg(ImageEnhance.Color(im).enhance(s), 90))


def _a_sharpen(im, percent, rng, box):
    return _same(jpeg(im.filter(ImageFilter.UnsharpMask(radius=2, percent=int(percent), threshold=2)), 90))


def _a_blur(im, r, rng, box):
    return _same(jpeg(im.filter(ImageFilter.GaussianBlur(r)), 90))


def _a_noise(im, sigma, rng, box):
    return _same(jpeg(_noise(im, seed=int(rng.integers(1 << 30)), sigma=sigma), 90))


def _a_denoise(im, h, rng, box):
    import cv2

    out = cv2.fastNlMeansDenoisingColored(np.asarray(im), None, float(h), float(h), 7, 21)
    return _same(jpeg(Image.fromarray(out), 90))


def _a_screenshot(im, f, rng, box):
    out = scale(im, f, Image.Resampling.BICUBIC)
    return _affine(png(out), _scale_matrix(out.width / im.width, out.height / im.height))


def _a_phone_screenshot(im, f, rng, box):
    """The picture at ``f`` of a phone screen's width, between status and navigation bars, as a PNG."""
    screen_w = max(360, round(im.width * 1.1))
    screen_h = round(screen_w * 2.16)
    target_w = round(screen_w * f)
    factor = target_w / im.width
    shown = im.resize((target_w, max(1, round(im.height * factor))), Image.Resampling.BILINEAR)
    out = Image.new("RGB", (screen_w, screen_h), (250, 250, 250))
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, 0, screen_w, round(screen_h * 0.05)), fill=(30, 30, 30))
    draw.rectangle((0, screen_h - round(screen_h * 0.07), screen_w, screen_h), fill=(245, 245, 245))
    x, y = (screen_w - shown.width) // 2, round(screen_h * 0.18)
    out.paste(shown, (x, y))
    return _affine(png(out), _shift(x, y) @ _scale_matrix(factor))


def _a_rotate(im, degrees, rng, box):
    out = im.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(255, 255, 255))
    t = np.deg2rad(degrees)
    rotation = np.array([[np.cos(t), np.sin(t), 0], [-np.sin(t), np.cos(t), 0], [0, 0, 1]])
    matrix = _shift(out.width / 2, out.height / 2) @ rotation @ _shift(-im.width / 2, -im.height / 2)
    return _affine(jpeg(out, 90), matrix)


def _a_flip(im, axis, rng, box):
    if axis == "horizontal":
        return _affine(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                       np.array([[-1, 0, im.width], [0, 1, 0], [0, 0, 1]], float))
    return _affine(im.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
                   np.array([[1, 0, 0], [0, -1, im.height], [0, 0, 1]], float))


def _a_aspect(im, f, rng, box):
    out = im.resize((max(1, round(im.width * f)), im.height), Image.Resampling.LANCZOS)
    return _affine(jpeg(out, 90), _scale_matrix(out.width / im.width, 1.0))


def _a_keystone(im, k, rng, box):
    """Perspective: the top edge narrowed by ``k`` of the width on each side (a photo of a screen)."""
    import cv2

    w, h = im.size
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[k * w, 0], [w - k * w, 0], [w, h], [0, h]])
    matrix = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(np.asarray(im), matrix, (w, h), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(255, 255, 255))
    return Attacked(jpeg(Image.fromarray(out), 90), matrix.astype(float))


# removals: someone taking the author's ID (or the label) away on purpose

def _a_erase(im, pad, rng, box):
    return _same(_erase_id(im, box, seed=0))


def _a_blur_box(im, fraction, rng, box):
    """A Gaussian blur over the box, its radius a ``fraction`` of the box's height (the text's own scale:
    a fixed radius leaves a big photo's ID legible, which is no removal)."""
    region = _padded(box, im.size, 2)
    out = im.copy()
    radius = max(2.0, fraction * (box[3] - box[1]))
    out.paste(im.crop(region).filter(ImageFilter.GaussianBlur(radius)), region[:2])
    return _same(jpeg(out, 85))


def _a_cover(im, pad, rng, box):
    return _same(_cover_id(im, box, seed=0))


def _a_clone(im, offset, rng, box):
    """Clone-stamp: the box filled with the patch of the same size beside it (above, or left)."""
    x0, y0, x1, y1 = _padded(box, im.size, 2)
    h = y1 - y0
    source_y = y0 - round(h * offset) if y0 - round(h * offset) >= 0 else y1
    patch = im.crop((x0, source_y, x1, source_y + h))
    out = im.copy()
    out.paste(patch, (x0, y0))
    return _same(jpeg(out, 85))


def _a_replace(im, digits, rng, box):
    """Another ID painted over the author's, on the same kind of plate."""
    from aimark.labeller import visible

    x0, y0, x1, y1 = box
    out = im.copy()
    mark = visible.place_mark(out.size, f"ID：{digits}", "bottom-right", max(10, round((y1 - y0) * 0.6)),
                              kind=visible.MarkKind.AUTHOR_ID)
    shift = (x1 - mark.box[2], y1 - mark.box[3])
    moved = visible.VisibleMark(**{**mark.__dict__, "box": (mark.box[0] + shift[0], mark.box[1] + shift[1],
                                                            mark.box[2] + shift[0], mark.box[3] + shift[1])})
    covered = _cover_id(out, box, seed=0)
    visible.draw_mark(covered, moved)
    return _same(jpeg(covered, 90))


def _a_crop_corner(im, frac, rng, box):
    w, h = im.size
    return _affine(jpeg(im.crop((0, 0, w - round(w * frac), h - round(h * frac))), 90), np.eye(3))


PLATFORM_MARKS = {"above": "小红书号：95279527", "corner": "微博 @xiaoming_2024", "middle": "小红书号：95279527"}


def _a_platform_mark(im, where, rng, box):
    """A platform's own download watermark over the repost, as Xiaohongshu and Weibo add: its name and the
    *uploader's* ID in white over a dark shadow, ``above`` the author's ID (right-aligned with it, a third
    of a line between, or below an ID at the top; an ID the judges read as one), in the ``corner`` away
    from the marks (top right) or across the ``middle``; JPEG 85. Benign: every mark is still there, and
    another ID beside the author's replaces nothing."""
    from aimark.labeller.visible import DEFAULT_FONT

    w, h = im.size
    x0, y0, x1, y1 = box
    size = max(10, round((y1 - y0) * 0.7)) if where == "above" else max(12, round(0.035 * min(w, h)))
    font = ImageFont.truetype(str(DEFAULT_FONT), size)
    text = PLATFORM_MARKS[where]
    left, top, right, bottom = font.getbbox(text)
    tw, th = right - left, bottom - top
    if where == "above":  # below it when the ID is at the top edge
        x, y = max(0, x1 - tw), y0 - round(th / 3) - th
        y = y if y >= 0 else y1 + round(th / 3)
    elif where == "corner":
        x, y = w - tw - round(0.02 * w), round(0.02 * h)
    else:
        x, y = (w - tw) // 2, (h - th) // 2
    out = im.convert("RGBA")
    layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    draw.text((x - left + 1, y - top + 1), text, fill=(0, 0, 0, 110), font=font)
    draw.text((x - left, y - top), text, fill=(255, 255, 255, 220), font=font)
    return _same(jpeg(Image.alpha_composite(out, layer).convert("RGB"), 85))


BENIGN: tuple[Attack, ...] = (
    Attack("jpeg", "compression", (30, 50, 60, 70, 80, 90, 95), _a_jpeg),
    Attack("webp", "compression", (50, 70, 90), _a_webp),
    Attack("avif", "compression", (50, 75), _a_avif),
    Attack("scale", "resize", (0.3, 0.5, 0.75, 1.25, 1.5), _a_scale),
    Attack("long_side", "resize", (1080, 720, 512, 384, 320, 256), _a_long_side),
    Attack("pad", "frame", (0.05, 0.1), _a_pad),
    Attack("caption_bar", "frame", (0.08, 0.12, 0.2), _a_caption),
    Attack("letterbox", "frame", (16 / 9, 9 / 16, 1.0), _a_letterbox),
    Attack("crop_sides", "crop", (0.01, 0.02, 0.04, 0.08), _a_crop_sides),
    Attack("brightness", "colour", (0.8, 0.9, 1.1, 1.2), _a_brightness),
    Attack("contrast", "colour", (0.8, 1.2), _a_contrast),
    Attack("gamma", "colour", (0.8, 1.25), _a_gamma),
    Attack("saturation", "colour", (0.0, 0.5, 1.5), _a_saturation),
    Attack("sharpen", "filter", (80, 150), _a_sharpen),
    Attack("blur", "filter", (0.5, 1.0), _a_blur),
    Attack("noise", "noise", (2, 5, 8), _a_noise),
    Attack("screenshot", "screenshot", (0.8, 1.0), _a_screenshot),
    Attack("phone_screenshot", "screenshot", (0.3, 0.5, 1.0), _a_phone_screenshot),
)
GEOMETRY: tuple[Attack, ...] = (
    Attack("rotate", "geometry", (1, 2, 3, 5, 10, 30, 45, 90, 135, 180, 270), _a_rotate),
    Attack("flip", "geometry", ("horizontal", "vertical"), _a_flip),
    Attack("aspect", "geometry", (0.9, 0.95, 1.05, 1.1), _a_aspect),
    Attack("keystone", "geometry", (0.02, 0.05), _a_keystone),
    Attack("crop_area", "crop", (0.5, 0.25, 0.1), _a_crop_area),
    Attack("denoise", "filter", (5, 10), _a_denoise),
)
REMOVALS: tuple[Attack, ...] = (
    Attack("erase_id", "removal", (2,), _a_erase, removes="author-id", needs_box=True),
    Attack("blur_id", "removal", (0.15, 0.3), _a_blur_box, removes="author-id", needs_box=True),
    Attack("cover_id", "removal", (2,), _a_cover, removes="author-id", needs_box=True),
    Attack("clone_id", "removal", (1.2,), _a_clone, removes="author-id", needs_box=True),
    Attack("replace_id", "removal", ("5550001111",), _a_replace, removes="author-id", needs_box=True),
    Attack("crop_corner", "removal", (0.10, 0.15), _a_crop_corner, removes="author-id"),
)
# benign edits drawn over the picture, placed by the author ID's box (so outside the box-free grid)
OVERLAYS: tuple[Attack, ...] = (
    Attack("platform_mark", "overlay", ("above", "corner", "middle"), _a_platform_mark, needs_box=True),
)

ATTACKS: dict[str, Attack] = {a.name: a for a in BENIGN + GEOMETRY + OVERLAYS + REMOVALS}
