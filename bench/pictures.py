"""Pictures the benchmarks draw for themselves: the kinds of image a photo corpus never holds.

Generated AI images are often flat illustrations, pixel art, posters on white, night scenes, or strong
periodic texture (fabric, tiles, stripes); a watermark tuned on photographs fails there first. Each
picture is drawn from a seed, so every run sees the same pixels, and a new seed gives new pictures of
the same kind (the held-out check the issue asks for).

    from bench.pictures import drawn
    for name, image in drawn(seed=0): ...
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

KINDS = ("flat_illustration", "stripes", "pixel_art", "near_white", "near_black", "tiles", "gradient_sky")


def flat_illustration(rng, size=(1200, 900)) -> Image.Image:
    """Flat colour shapes on a plain ground, hard edges, no noise: vector art and many AI posters."""
    image = Image.new("RGB", size, tuple(int(v) for v in rng.integers(180, 250, 3)))
    draw = ImageDraw.Draw(image)
    w, h = size
    for _ in range(int(rng.integers(6, 14))):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(60, w // 2)), y0 + int(rng.integers(60, h // 2))
        shape = rng.integers(0, 3)
        if shape == 0:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif shape == 1:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.polygon([(x0, y1), ((x0 + x1) // 2, y0), (x1, y1)], fill=colour)
    return image


def stripes(rng, size=(1000, 1000)) -> Image.Image:
    """Strong vertical stripes of a few pixels' period (fabric, blinds): periodic texture that lines up an
    autocorrelation on its own."""
    period = int(rng.integers(4, 13))
    x = np.arange(size[0])
    row = 128 + 90 * np.sign(np.sin(2 * np.pi * x / period + rng.uniform(0, 6.28)))
    y = np.arange(size[1])[:, None]
    shade = 1.0 - 0.25 * (y / size[1])
    grey = (row[None, :] * shade).astype(np.float32)
    tint = rng.uniform(0.7, 1.0, 3)
    return Image.fromarray(np.clip(grey[..., None] * tint, 0, 255).astype(np.uint8))


def pixel_art(rng, size=(960, 960)) -> Image.Image:
    """Blocky sprites magnified on a flat ground: big flat cells with sharp edges."""
    cell = int(rng.integers(12, 25))
    cells = (size[0] // cell, size[1] // cell)
    ground = rng.integers(0, 256, 3)
    palette = rng.integers(0, 256, (5, 3))
    grid = np.tile(ground, (cells[1], cells[0], 1))
    for _ in range(int(rng.integers(3, 7))):
        sw, sh = int(rng.integers(6, 14)), int(rng.integers(6, 14))
        x, y = int(rng.integers(0, cells[0] - sw)), int(rng.integers(0, cells[1] - sh))
        sprite = palette[rng.integers(0, 5, (sh, sw))]
        keep = rng.random((sh, sw)) < 0.7
        grid[y:y + sh, x:x + sw][keep] = sprite[keep]
    image = Image.fromarray(grid.astype(np.uint8)).resize((cells[0] * cell, cells[1] * cell), Image.Resampling.NEAREST)
    return image


def near_white(rng, size=(1080, 1350)) -> Image.Image:
    """A poster: almost all white, a little dark text and a thin frame."""
    image = Image.new("RGB", size, (252, 252, 250))
    draw = ImageDraw.Draw(image)
    w, h = size
    for i in range(int(rng.integers(4, 9))):
        y = int(h * (0.15 + 0.08 * i))
        draw.rectangle((int(w * 0.12), y, int(w * rng.uniform(0.4, 0.88)), y + 14), fill=(40, 40, 40))
    draw.rectangle((20, 20, w - 20, h - 20), outline=(200, 60, 60), width=4)
    return image


def near_black(rng, size=(1280, 853)) -> Image.Image:
    """A night scene: almost all black with a few soft lights."""
    grey = np.zeros((size[1], size[0]), np.float32) + float(rng.uniform(3, 10))
    yy, xx = np.mgrid[0:size[1], 0:size[0]]
    for _ in range(int(rng.integers(3, 8))):
        cx, cy, r = rng.uniform(0, size[0]), rng.uniform(0, size[1]), rng.uniform(10, 60)
        grey += 200 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    rgb = np.clip(grey[..., None] * np.array([1.0, 0.9, 0.7]), 0, 255).astype(np.uint8)
    return Image.fromarray(rgb)


def tiles(rng, size=(1024, 768)) -> Image.Image:
    """Floor tiles: a strong 2-D periodic pattern with grout lines, slightly blurred."""
    period = int(rng.integers(24, 70))
    yy, xx = np.mgrid[0:size[1], 0:size[0]]
    grout = ((xx % period) < 3) | ((yy % period) < 3)
    base = rng.integers(120, 230, 3)
    checker = ((xx // period + yy // period) % 2)[..., None] * 25
    rgb = np.where(grout[..., None], 70, base[None, None, :] - checker)
    return Image.fromarray(rgb.astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.6))


def gradient_sky(rng, size=(1600, 900)) -> Image.Image:
    """A smooth gradient with nothing else: where a pattern shows first."""
    t = np.linspace(0, 1, size[1])[:, None, None]
    top, bottom = rng.integers(60, 200, 3), rng.integers(150, 255, 3)
    rgb = np.broadcast_to(top * (1 - t) + bottom * t, (size[1], size[0], 3))
    return Image.fromarray(rgb.astype(np.uint8))


def drawn(seed: int = 0, kinds=KINDS) -> list[tuple[str, Image.Image]]:
    """One picture of each kind, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    return [(f"{kind}_{seed}.png", globals()[kind](rng)) for kind in kinds]


def pictures(folders: list[Path], seeds=(0,)) -> list[tuple[str, Image.Image]]:
    """Every picture in ``folders`` (those that exist) and the drawn ones, as (name, RGB image)."""
    found = []
    for folder in folders:
        if folder.is_dir():
            found += [(p.name, p) for p in sorted(folder.iterdir()) if p.suffix.lower() in (".jpg", ".png")]
    loaded = [(name, Image.open(path).convert("RGB")) for name, path in found]
    for seed in seeds:
        loaded += drawn(seed)
    return loaded
