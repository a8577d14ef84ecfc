"""Rebuild the bundled label font from Debian's Noto Sans CJK.

Why a subset: the full Noto Sans CJK Bold collection is 20 MB; the label strings, author-ID templates and
platform prompts only need GB2312 (6,763 hanzi, punctuation, full-width forms) plus ASCII, which fits in
about 3.6 MB and keeps the wheel small. Users who need other characters pass their own font (``--font``).

Run once by a maintainer, not at install or run time::

    apt-get install fonts-noto-cjk && python -m pip install fonttools
    python labeller/fonts/build_subset.py

The SIL Open Font License 1.1 allows a modified (subset) font to be redistributed with its licence (OFL.txt).
"""

from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
SIMPLIFIED_CHINESE_INDEX = 2  # JP, KR, SC, TC, HK in the collection
TARGET = Path(__file__).with_name("NotoSansSC-Bold-GB2312.otf")


def gb2312_characters() -> set[str]:
    """Every character GB2312 encodes: two-byte rows 0xA1-0xF7, cells 0xA1-0xFE."""
    chars = set()
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.add(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def main() -> None:
    font = TTCollection(str(SOURCE)).fonts[SIMPLIFIED_CHINESE_INDEX]
    wanted = gb2312_characters() | {chr(c) for c in range(0x20, 0x7F)} | set("·•｜　“”‘’—–…")
    options = subset.Options()
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.layout_features = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in wanted])
    subsetter.subset(font)
    font.save(str(TARGET))
    print(f"{TARGET}: {TARGET.stat().st_size:,} bytes, {len(wanted):,} characters")


if __name__ == "__main__":
    main()
