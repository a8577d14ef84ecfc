"""How many pixels per file byte honest encoders reach (issue 9: could a pixels-per-byte rule refuse
decompression bombs?): the drawn pictures of ``bench/pictures.py`` and a flat 30-MP picture, at their size
and 4x, in PNG, JPEG, lossless and lossy WebP and AVIF. The fuzz fixture jpeg-header-30mp-truncated.jpg
holds 118,000 pixels per byte.

    .venv/bin/python bench/pixels_per_byte.py
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.pictures import drawn  # noqa: E402

FORMATS = (("PNG", {"optimize": True}), ("JPEG", {"quality": 95}), ("JPEG", {"quality": 30}),
           ("WEBP", {"lossless": True}), ("WEBP", {"quality": 50}), ("AVIF", {"quality": 50}))


def ratio(image: Image.Image, fmt: str, params: dict) -> float:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return image.width * image.height / len(buffer.getvalue())


def main() -> int:
    pictures = [(name, image) for name, image in drawn(0)]
    pictures += [(f"{name} x4", image.resize((image.width * 4, image.height * 4), Image.Resampling.NEAREST))
                 for name, image in drawn(0)]
    pictures.append(("flat colour 30 MP", Image.new("RGB", (5000, 6000), (200, 30, 40))))
    header = "".join(f"{fmt + ' ' + ','.join(f'{k}={v}' for k, v in params.items()):>22}" for fmt, params in FORMATS)
    print(f"pixels per file byte\n{'picture':28}{header}")
    highest = 0.0
    for name, image in pictures:
        values = [ratio(image, fmt, params) for fmt, params in FORMATS]
        if "flat colour" not in name:
            highest = max(highest, *values)
        print(f"{name:28}" + "".join(f"{v:22,.0f}" for v in values))
    print(f"\nhighest among the drawn pictures: {highest:,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
