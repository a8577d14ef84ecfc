"""Pictures with text of their own at the edges, for the false-accusation bench's ``--corpus``: a sale poster
whose caption bar prints a phone number and a shop's @-handle, a meme with outlined words top and bottom (one
line an "ID：" and digits), a fake phone screenshot (status bar, chat bubbles, a 小红书号), a comic signed
"by kiko_art" in its corner, and a product shot under a tiled "SAMPLE 样图" overlay. AI images carry such
text often; a scanner that reads IDs with OCR must not take the picture's own words for a mark someone
replaced or left. The same seed gives the same pixels; ``--portrait FILE`` adds that photo with a caption bar.

    python bench/draw_text_pictures.py /tmp/text_pictures [--portrait grace_hopper.jpg]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT = Path(__file__).resolve().parents[1] / "labeller" / "fonts" / "NotoSansSC-Bold-GB2312.otf"


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size)


def _colour(rng, low=0, high=256) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(low, high, 3))


def poster(rng) -> Image.Image:
    width, height = 1080, 1440
    shade = np.linspace(0, 1, height)[:, None, None]
    ground = np.array([250, 170, 90]) * (1 - shade) + np.array([60, 40, 120]) * shade
    image = Image.fromarray(np.broadcast_to(ground, (height, width, 3)).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(9):
        colour = _colour(rng)
        x, y = int(rng.integers(0, width)), int(rng.integers(200, height - 300))
        draw.ellipse((x, y, x + int(rng.integers(80, 400)), y + int(rng.integers(80, 400))), fill=colour)
    draw.rectangle((0, height - 170, width, height), fill=(20, 20, 30))
    draw.text((40, height - 150), "夏日特惠 2026 · 电话 138 0013 8000", font=_font(52), fill=(255, 230, 120))
    draw.text((40, height - 80), "www.sunny-shop.cn  满199减50", font=_font(40), fill=(220, 220, 220))
    draw.text((40, 30), "@sunny_shop 官方", font=_font(44), fill=(255, 255, 255))
    return image


def meme(rng) -> Image.Image:
    coarse = rng.normal(0, 1, (90, 120, 3))
    ground = Image.fromarray(np.clip(128 + 60 * coarse, 0, 255).astype(np.uint8)).resize(
        (1200, 900), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(3))
    pixels = np.asarray(ground).astype(np.float32) + rng.normal(0, 6, (900, 1200, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for text, top in (("当你周一早上醒来", 30), ("ID：20261207 转发请注明", 780)):
        draw.text((60, top), text, font=_font(80), fill=(255, 255, 255), stroke_width=5, stroke_fill=(0, 0, 0))
    return image


def fake_screenshot(rng) -> Image.Image:
    width, height = 900, 1600
    image = Image.new("RGB", (width, height), (237, 237, 237))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, 70), fill=(250, 250, 250))
    draw.text((30, 12), "09:41", font=_font(40), fill=(0, 0, 0))
    draw.text((width - 220, 12), "5G 87%", font=_font(40), fill=(0, 0, 0))
    draw.text((30, 100), "小红书号：95279527", font=_font(40), fill=(60, 60, 60))
    lines = ("今天去哪里玩", "好呀 下午三点", "记得带伞", "收到 12:30 见")
    for i in range(7):
        top, span = 200 + i * 180, int(rng.integers(300, 650))
        left = 40 if i % 2 == 0 else width - 40 - span
        draw.rounded_rectangle((left, top, left + span, top + 120), 24,
                               fill=(255, 255, 255) if i % 2 == 0 else (149, 236, 105))
        draw.text((left + 24, top + 30), lines[i % 4], font=_font(44), fill=(20, 20, 20))
    draw.rectangle((0, height - 120, width, height), fill=(247, 247, 247))
    draw.text((30, height - 90), "发送消息…", font=_font(40), fill=(150, 150, 150))
    return image


def comic(rng) -> Image.Image:
    width, height = 1200, 1200
    image = Image.new("RGB", (width, height), (255, 252, 240))
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        colour = _colour(rng, 40, 230)
        x, y = int(rng.integers(0, width - 200)), int(rng.integers(250, height - 200))
        draw.rectangle((x, y, x + int(rng.integers(60, 300)), y + int(rng.integers(60, 300))),
                       fill=colour, outline=(0, 0, 0), width=6)
    for x, y, words in ((60, 40, "你好！"), (620, 80, "我们走吧")):
        draw.ellipse((x, y, x + 460, y + 170), fill=(255, 255, 255), outline=(0, 0, 0), width=5)
        draw.text((x + 90, y + 50), words, font=_font(64), fill=(0, 0, 0))
    draw.text((width - 300, height - 80), "by kiko_art", font=_font(44), fill=(30, 30, 30))
    return image


def sample_tiled(_rng) -> Image.Image:
    width, height = 1280, 960
    yy, xx = np.mgrid[0:height, 0:width]
    spot = 200 - 60 * np.exp(-((xx - 640) ** 2 + (yy - 480) ** 2) / 80000.0)
    product = np.stack([spot, spot * 0.95, spot * 0.9], -1)
    image = Image.fromarray(np.clip(product, 0, 255).astype(np.uint8)).convert("RGBA")
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for row, top in enumerate(range(0, height, 160)):
        for left in range(-80 if row % 2 else 0, width, 320):
            draw.text((left, top), "SAMPLE 样图", font=_font(40), fill=(255, 255, 255, 90))
    return Image.alpha_composite(image, overlay).convert("RGB")


def captioned(portrait: Path) -> Image.Image:
    image = Image.open(portrait).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, image.height - 60, image.width, image.height), fill=(0, 0, 0))
    draw.text((20, image.height - 52), "Grace Hopper 1906\u20131992", font=_font(36), fill=(255, 255, 255))
    return image


DRAWN = {"poster_caption": poster, "meme": meme, "fake_screenshot": fake_screenshot, "comic_signed": comic,
         "sample_tiled": sample_tiled}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=4141)
    parser.add_argument("--portrait", type=Path, help="a photo to add with a caption bar")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    for name, draw in DRAWN.items():
        draw(rng).save(args.folder / f"{name}.png")
    if args.portrait:
        captioned(args.portrait).save(args.folder / "portrait_caption.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
