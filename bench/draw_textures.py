"""Ten periodic textures of kinds the grid's drawn pictures lack, written to a folder for the benchmarks'
``--folders`` / ``--corpus``: a hexagonal dot grid (a halftone), tartan, herringbone, a 3-px grating, a chain-link
fence over a sky, a drawn brick wall, knit, a screen door's fine dots over a smooth field, a wallpaper motif and
corrugated metal. Drawn once to measure the spectrally flat view on textures it was not tuned on
(``docs/benchmarks.md``, "Periodic textures"); the same seed gives the same pixels.

    python bench/draw_textures.py /tmp/textures3
    python bench/draw_textures.py --more /tmp/periodic_new   # four more, drawn later (``more_textures``)
    python bench/draw_textures.py --seed 38 /tmp/weak        # new pictures of the same kinds
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

WIDTH, HEIGHT = 1200, 900


def _grey(values: np.ndarray, tint=(1.0, 1.0, 1.0)) -> np.ndarray:
    return values[..., None].repeat(3, 2) * np.array(tint)


def textures(seed: int = 31) -> dict[str, np.ndarray | Image.Image]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    out: dict[str, np.ndarray | Image.Image] = {}
    waves = sum(np.cos(2 * np.pi * (xx * np.cos(a) + yy * np.sin(a)) / 14.0) for a in np.deg2rad([0, 60, 120]))
    out["hexdots"] = _grey(np.where(waves > 0.8, 40, 235), (1, 0.95, 0.9))

    def bands(v, period):
        f = (v % period) / period
        return (f < 0.25) * 1.0 + ((f > 0.5) & (f < 0.6)) * 0.5

    out["tartan"] = np.stack([120 + 80 * bands(xx, 96) + 50 * bands(yy, 96), 40 + 90 * bands(xx + 12, 24),
                              60 + 60 * bands(yy + 30, 48)], -1)
    stripes = np.where((xx // 40) % 2 == 0, np.sin(2 * np.pi * (xx + yy) / 10), np.sin(2 * np.pi * (xx - yy) / 10))
    out["herringbone"] = _grey(128 + 90 * np.sign(stripes), (0.9, 0.8, 0.7))
    out["grating3"] = _grey(np.where(xx % 3 < 1, 60, 200))
    sky = np.stack([150 + 60 * yy / HEIGHT, 180 + 50 * yy / HEIGHT, 240 - 20 * yy / HEIGHT], -1)
    wire = (np.abs(((xx + yy) % 36) - 18) < 2) | (np.abs(((xx - yy) % 36) - 18) < 2)
    out["fence"] = np.where(wire[..., None], 90, sky)
    wall = Image.new("RGB", (WIDTH, HEIGHT), (180, 175, 165))
    draw = ImageDraw.Draw(wall)
    for row in range(HEIGHT // 24 + 1):
        for column in range(-1, WIDTH // 64 + 1):
            x0, y0 = column * 64 + (32 if row % 2 else 0), row * 24
            colour = (150 + rng.integers(-25, 25), 60 + rng.integers(-15, 15), 45 + rng.integers(-10, 10))
            draw.rectangle([x0 + 3, y0 + 3, x0 + 61, y0 + 21], fill=tuple(int(v) for v in colour))
    out["brickwall"] = np.asarray(wall).astype(np.float32) + rng.normal(0, 6, (HEIGHT, WIDTH, 1))
    v = np.cos((np.abs((xx % 12) - 6) * 2 - (yy % 16)) / 2.5)
    out["knit"] = np.stack([110 + 60 * v, 50 + 40 * v, 80 + 30 * v], -1)
    turn = np.deg2rad(7)
    u, w = xx * np.cos(turn) + yy * np.sin(turn), -xx * np.sin(turn) + yy * np.cos(turn)
    field = 120 + 60 * np.sin(xx / 150) * np.cos(yy / 110)
    out["screendoor"] = _grey(field - 50 * ((u % 4 < 1.5) & (w % 4 < 1.5)))
    tile = Image.new("RGB", (50, 50), (240, 230, 205))
    petals = ImageDraw.Draw(tile)
    for k in range(5):
        cx, cy = 25 + 9 * np.cos(2 * np.pi * k / 5), 25 + 9 * np.sin(2 * np.pi * k / 5)
        petals.ellipse([cx - 6, cy - 6, cx + 6, cy + 6], fill=(200, 90, 110))
    petals.ellipse([21, 21, 29, 29], fill=(230, 190, 60))
    paper = Image.new("RGB", (WIDTH, HEIGHT))
    for y in range(0, HEIGHT, 50):
        for x in range(0, WIDTH, 50):
            paper.paste(tile, (x, y))
    out["wallpaper"] = paper
    ridges = 140 + 60 * np.sin(2 * np.pi * xx / 22) + 25 * np.sin(yy / 80) + rng.normal(0, 8, (HEIGHT, WIDTH))
    out["corrugated"] = _grey(ridges, (0.85, 0.9, 1.0))
    return out


def more_textures(seed: int = 77) -> dict[str, np.ndarray | Image.Image]:
    """Four periodic pictures drawn later, held out from every threshold of the watermark's placement
    (``docs/benchmarks.md``, "Periodic pictures placed by their watermark"): a two-level checkerboard of
    24-px squares, a halftone of a smooth picture on a 9-px grid at 30 degrees, a basket weave of 16-px
    blocks, and a tiled floor with 60-px tiles and a rug on it (one part that does not repeat)."""
    rng = np.random.default_rng(seed)
    width, height = 1280, 960
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    out: dict[str, np.ndarray | Image.Image] = {}
    squares = (((xx // 24) + (yy // 24)) % 2) * 150 + 60
    out["checker24"] = np.stack([squares, squares * 0.9, squares * 0.8], -1)
    base = 0.5 + 0.4 * np.sin(xx / 180) * np.cos(yy / 140)
    turn = np.deg2rad(30)
    u, v = xx * np.cos(turn) + yy * np.sin(turn), -xx * np.sin(turn) + yy * np.cos(turn)
    dots = np.where(np.cos(2 * np.pi * u / 9) * np.cos(2 * np.pi * v / 9) > 1 - 2 * base, 30, 230).astype(np.float32)
    out["halftone9"] = np.stack([dots, dots, dots * 0.95], -1)
    block = ((xx // 16) + (yy // 16)) % 2
    thread = np.where(block == 0, np.sin(2 * np.pi * yy / 4), np.sin(2 * np.pi * xx / 4))
    weave = 140 + 50 * thread + rng.normal(0, 6, thread.shape)
    out["weave16"] = np.stack([weave * 0.85, weave * 0.75, weave * 0.55], -1)
    tiles = np.where(((xx % 60) < 3) | ((yy % 60) < 3), 90, 200) + 20 * (yy / height)
    floor = Image.fromarray(np.stack([tiles, tiles * 0.97, tiles * 0.9], -1).clip(0, 255).astype(np.uint8))
    ImageDraw.Draw(floor).ellipse((700, 500, 1100, 800), fill=(150, 40, 50))
    out["floor60"] = floor
    return out


def main(folder: Path, drawn=textures, seed: int | None = None) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    for name, picture in (drawn() if seed is None else drawn(seed)).items():
        if not isinstance(picture, Image.Image):
            picture = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))
        picture.save(folder / f"{name}.png")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, nargs="?", default=Path("textures"))
    parser.add_argument("--more", action="store_true", help="the four drawn later (more_textures)")
    parser.add_argument("--seed", type=int,
                        help="another seed: new pictures of the same kinds (default: 31, 77)")
    args = parser.parse_args()
    sys.exit(main(args.folder, more_textures if args.more else textures, args.seed))
