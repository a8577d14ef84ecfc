"""Make docs/watermark-flat-sky.png: a flat sky at 100%, before and after the watermark, and the
difference amplified ten times. Photo: Bridge_by_Sander_Klootwijk.jpg from the corpus (CC-BY-SA-4.0,
Sander Klootwijk).

    .venv/bin/python docs/make_watermark_figure.py
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from aimark.labeller import watermark

HERE = Path(__file__).parent
PHOTO = HERE.parents[1] / "shared" / "corpus" / "Bridge_by_Sander_Klootwijk.jpg"
BOX = (1850, 220, 2250, 520)  # open sky with two cables, 400 x 300 at 100%


def main() -> None:
    original = Image.open(PHOTO).convert("RGB")
    marked = watermark.embed(original, watermark.WatermarkPayload(author_id="1234567890", content_id=4242))
    before, after = original.crop(BOX), marked.crop(BOX)
    diff = np.asarray(after, np.float32) - np.asarray(before, np.float32)
    amplified = Image.fromarray(np.clip(128 + 10 * diff.mean(axis=2), 0, 255).astype(np.uint8)).convert("RGB")
    width, height = before.size
    sheet = Image.new("RGB", (3 * width + 20, height + 28), "white")
    titles = ("original, 100%", "watermarked, 100%", "difference x10 (grey = none)")
    for i, (title, panel) in enumerate(zip(titles, (before, after, amplified))):
        sheet.paste(panel, (i * (width + 10), 28))
        ImageDraw.Draw(sheet).text((i * (width + 10) + 4, 8), title, fill="black")
    sheet.save(HERE / "watermark-flat-sky.png", optimize=True)
    sky = diff[:, :250]  # the open sky left of the cables
    print(f"open sky: RMS change {np.sqrt(np.mean(sky ** 2)):.2f} grey levels, largest {np.abs(sky).max():.0f}; "
          f"whole crop (with cables): RMS {np.sqrt(np.mean(diff ** 2)):.2f}")


if __name__ == "__main__":
    main()
