"""Labels other services write, read by ``aimark scan``: each drawn in a photo's corner and scanned.

A moderator meets pictures labelled by other generators and platforms: GB 45438's own words with a brand
(``豆包AI生成``), AI declared in other words (``Made with AI``), or a generator's own mark alone (``即梦AI``).
Each is drawn with the bundled font in the bottom-right corner, in white on a dark plate and in white alone,
at 3.5% and 5% of the short side (the standard asks 5%; brands often print smaller), on each photo given,
and the scan's findings are counted: a label in GB 45438's words must be read as a label (present, or not
complying where drawn under 5%), the others as ``visible-label-noncompliant``, naming the generator where
the text names one. Then captions that only
mention AI or a generator, along the top edge, which must give no label finding at all.

    .venv/bin/python bench/other_labels.py ../shared/corpus/Storm.jpg ../shared/corpus/coffee.png ...

Services print their marks semi-transparent, in any corner, often with a soft shadow: ``--opacity 0.5,0.7
--corners br,bl,tr,tl --shadow`` draws each label at each opacity in each corner, with a shadow, at 5%.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from PIL import Image, ImageDraw, ImageFilter, ImageFont  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from aimark.detectors.scan import ScanOptions, scan  # noqa: E402
from aimark.labeller import visible  # noqa: E402
from aimark.models import OcrEngine  # noqa: E402

COMPLIANT = ("豆包AI生成", "通义万相 AI生成", "内容由AI生成", "人工智能生成", "AI合成")
OTHER_WORDS = ("AI generated", "Made with AI", "Imagined with AI", "AI创作", "KI-generiert", "Généré par IA",
               "Generado por IA")
CAPTIONS = ("AI-generated images flood the feeds", "用即梦AI做的海报", "可灵AI上线新功能", "文心一格教程第3期", "豆包",
            "海螺")


def drawn(path: Path, text: str, corner: str | None, plate: bool, share: float, opacity: float = 0.9,
          shadow: bool = False) -> bytes:
    """``path`` at most 1280 px, ``text`` drawn in white at ``opacity`` and ``share`` of its short side in
    ``corner`` ("br", "bl", "tr", "tl"; None: along the top, from the left), as a JPEG at quality 90."""
    image = Image.open(path).convert("RGB")
    image.thumbnail((1280, 1280))
    draw = ImageDraw.Draw(image, "RGBA")
    font = ImageFont.truetype(str(visible.DEFAULT_FONT), max(12, int(share * min(image.size))))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    margin = int(0.02 * min(image.size))
    x = image.width - (right - left) - margin if corner and corner[1] == "r" else margin
    y = image.height - (bottom - top) - margin if corner and corner[0] == "b" else margin
    if plate:
        draw.rectangle((x - 6, y - 6, x + right - left + 6, y + bottom - top + 6), fill=(0, 0, 0, 140))
    if shadow:  # a soft dark shadow, offset down and right, as services draw under white marks
        below = Image.new("RGBA", image.size, (0, 0, 0, 0))
        shade = (0, 0, 0, round(200 * opacity))
        ImageDraw.Draw(below).text((x - left + 2, y - top + 2), text, font=font, fill=shade)
        image = Image.alpha_composite(image.convert("RGBA"), below.filter(ImageFilter.GaussianBlur(1.5)))
        image = image.convert("RGB")
        draw = ImageDraw.Draw(image, "RGBA")
    draw.text((x - left, y - top), text, font=font, fill=(255, 255, 255, round(255 * opacity)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def allowed(text: str) -> tuple[str, ...]:
    """The findings that read ``text`` right: a label in GB 45438's words is present, or does not comply
    when drawn under the 5% the standard asks; one in other words never complies."""
    if visible.text_problem(visible.normalise_ocr_text(text)) is None:
        return "visible-label-present", "visible-label-noncompliant"
    return ("visible-label-noncompliant",)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, nargs="+")
    parser.add_argument("--show", action="store_true", help="print every miss with what OCR read")
    parser.add_argument("--opacity", help="comma-separated opacities (default: 0.9, with and without a "
                        "plate, at 3.5%% and 5%%; given: no plate, at 5%%)")
    parser.add_argument("--corners", default="br", help="comma-separated corners: br, bl, tr, tl")
    parser.add_argument("--shadow", action="store_true", help="a soft shadow under each label")
    args = parser.parse_args(argv)
    corners = args.corners.split(",")
    if args.opacity:
        styles = [(False, 0.05, float(o), c) for o in args.opacity.split(",") for c in corners]
    else:
        styles = [(plate, share, 0.9, corner) for plate in (True, False) for share in (0.035, 0.05)
                  for corner in corners]
    options = ScanOptions(ocr=OcrEngine())
    print(f"{'drawn':24s} {'read right as':38s} {'read':>7s}")
    read_all = total_all = 0
    for text in COMPLIANT + OTHER_WORDS + visible.GENERATOR_MARKS:
        want, generator = allowed(text), visible.generator_named(text)
        read = total = 0
        for photo in args.photos:
            for plate, share, opacity, corner in styles:
                report = scan(drawn(photo, text, corner, plate, share, opacity, args.shadow), options)
                ok = any(f.kind in want and (generator is None or generator in f.summary)
                         for f in report.findings)
                read, total = read + ok, total + 1
                if not ok and args.show:
                    read_as = [m.text for m in report.visible]
                    print(f"  miss {photo.name} plate={plate} {share} {opacity} {corner}: {read_as}")
        read_all, total_all = read_all + read, total_all + total
        kind = "label" if len(want) == 2 else "label not complying"
        kind += ", generator named" if generator else ""
        print(f"{text:24s} {kind:38s} {read:3d}/{total:<3d}")
    print(f"{'all':24s} {'':38s} {read_all:3d}/{total_all:<3d}")
    taken = seen = 0
    for photo in args.photos:
        for text in CAPTIONS:
            report = scan(drawn(photo, text, None, True, 0.04), options)
            wrong = [f.summary for f in report.findings if f.kind.startswith("visible-label")]
            taken, seen = taken + bool(wrong), seen + 1
            if wrong and args.show:
                print(f"  caption taken for a label {photo.name} {text!r}: {wrong}")
    print(f"captions taken for labels: {taken}/{seen}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
