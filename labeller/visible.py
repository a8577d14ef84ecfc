"""The visible (explicit) marks: the GB 45438 §5.2 AI label and the author's ID mark.

This module owns both marks' format: how they are worded, sized, placed and drawn, and how a label found
in an image is judged against the rules. Thresholds are named constants because the official text could
not be checked word for word (see ``shared/spec/labelling-rules.md``).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import AimarkError, ImageTooSmall, NonCompliantLabelText
from .vocabulary import MarkKind

OTHER_TEXT = "text"  # what OCR read that is neither a label nor an ID

# GB 45438 §5.2: the label text needs an AI element and a generation element.
AI_ELEMENTS = ("人工智能", "AI")
GENERATION_ELEMENTS = ("生成", "合成")
DEFAULT_LABEL_TEXT = "AI生成"
# §5.2: glyph height at least 5% of the image's shortest side.
MIN_HEIGHT_FRACTION = 0.05
# Our addition: below this many pixels a glyph is not legible whatever the image size.
MIN_LEGIBLE_GLYPH_PX = 10
# "On an edge or in a corner": the label's box lies within this fraction of the short side from an edge.
EDGE_BAND_FRACTION = 0.10
# A rendered pixel counts as ink when its coverage is at least half.
INK_COVERAGE = 128
# Labels are drawn this much taller than the minimum (plus one pixel), so that anti-aliasing, JPEG and a
# measurement from the pixels never find a compliant label one pixel short.
HEIGHT_HEADROOM = 1.04

DEFAULT_AUTHOR_TEMPLATE = "ID：{id}"
# Author marks are not regulated; this size stays readable after a 1080 px repost of a phone photo.
DEFAULT_AUTHOR_HEIGHT_FRACTION = 0.035

CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
EDGES = ("top", "right", "bottom", "left")
POSITIONS = CORNERS + EDGES
_ANCHORS = {  # position -> (horizontal, vertical) alignment
    "top-left": ("left", "top"), "top": ("center", "top"), "top-right": ("right", "top"),
    "right": ("right", "middle"), "bottom-right": ("right", "bottom"), "bottom": ("center", "bottom"),
    "bottom-left": ("left", "bottom"), "left": ("left", "middle"),
}

FONT_DIR = Path(__file__).parent / "fonts"
DEFAULT_FONT = FONT_DIR / "NotoSansSC-Bold-GB2312.otf"


def text_problem(text: str) -> str | None:
    """Why ``text`` is not a compliant visible label, or None when it is."""
    if not text.strip():
        return "the label text is empty"
    has_ai = any(element in text for element in AI_ELEMENTS)
    has_generation = any(element in text for element in GENERATION_ELEMENTS)
    if has_ai and has_generation:
        return None
    missing = []
    if not has_ai:
        missing.append("an AI element (人工智能 or AI)")
    if not has_generation:
        missing.append("a generation element (生成 or 合成)")
    return (f"{text!r} lacks {' and '.join(missing)} required by GB 45438 §5.2; "
            "use e.g. 'AI生成', or add it beside your text: 'AI生成 · AI illustration'")


# A line that discloses AI generation in words GB 45438 §5.2 does not take (English, 创作/绘制 in Chinese, or
# the EU languages below):
# an AI label that does not comply, where a compliant one is asked. The whole line must be the disclosure,
# so a headline or caption that only mentions AI ("AI-generated images flood the feeds") is not a label;
# a generator's name is one only as its own visible mark (``GENERATOR_MARKS``). OCR reads "AI" as "Al" or
# "A1" here too.
_AI_WORD = r"(?:A[Il1|]|A\.I\.?|artificial intelligence)"
_MADE = r"(?:generated|created|made|imagined|synthesi[sz]ed|produced)"
# The EU AI Act's Art. 50 disclosures (from August 2026) in the languages the OCR model reads in Latin script:
# German, French, Spanish, Italian, Portuguese and Dutch. OCR often drops an accent or the space before the
# last word ("Généré parIA"), and reads "IA" and "KI" as "lA" or "Kl" as it reads "AI" as "Al".
_IA = r"(?:[Il1|]A|A[Il1|])"
_KI = r"(?:K[Il1|]|A[Il1|])"
_EU_DISCLOSURE = (
    rf"|^{_KI}[- ]?(?:generiert|erstellt|erzeugt)(?:es bild)?$"
    rf"|^(?:mit|von|durch) ?{_KI} (?:generiert|erstellt|erzeugt)$"
    rf"|^(?:image |contenu )?(?:g[eé]n[eé]r[eé]e?|cr[eé][eé]e?) (?:par|avec) ?(?:l['’] ?)?{_IA}$"
    rf"|^(?:imagen |contenido )?(?:generad[oa]|cread[oa]) (?:por|con) ?(?:la )?{_IA}$"
    rf"|^(?:immagine )?(?:generat[oa]|creat[oa]) (?:da|con) ?(?:l['’] ?)?{_IA}$"
    rf"|^(?:imagem )?(?:gerad[oa]|criad[oa]) (?:por|com) ?{_IA}$"
    rf"|^(?:gegenereerd|gemaakt) (?:door|met) ?{_KI}$")
_AI_DISCLOSURE = re.compile(
    rf"^(?:this (?:image|picture|content) (?:is|was) )?(?:{_AI_WORD}[- ]?{_MADE}|{_MADE} (?:by|with|using) ?"
    rf"{_AI_WORD})(?: (?:image|picture|content|art|artwork))?$"
    r"|^(?:由|本图由|此图由|内容由|图片由)?(?:AI|人工智能)(?:创作|绘制|绘画|作画|制作)(?:的?(?:图片|内容|作品))?$"
    + _EU_DISCLOSURE, re.IGNORECASE)
_AI_ALONE = re.compile(r"(?<![A-Za-z])A[l1|](?![A-Za-z])")  # "AI" misread, as a word of its own

# Generators that print their product's name on what they make (China's services, some before GB 45438 took
# effect or beside its label): the name tells AI generation apart without the standard's words, so such a
# line alone is an AI label that does not comply, and the generator is named. Only the whole line as the
# service prints it: "豆包" or "海螺" alone are everyday words, and a caption that mentions a generator ("用
# 即梦AI做的海报") is other text. Names are looked for inside compliant labels too ("豆包AI生成").
GENERATOR_MARKS = ("即梦AI", "即梦", "可灵AI", "可灵", "海螺AI", "豆包AI", "文心一格", "通义万相", "腾讯混元")
GENERATORS = {"即梦": "Jimeng (ByteDance)", "可灵": "Kling (Kuaishou)", "海螺AI": "Hailuo (MiniMax)",
              "豆包": "Doubao (ByteDance)", "文心一格": "Wenxin Yige (Baidu)", "通义万相": "Tongyi Wanxiang (Alibaba)",
              "混元": "Hunyuan (Tencent)"}


def discloses_ai(text: str) -> bool:
    """Whether a whole line of text declares AI generation, compliant with GB 45438's words or not."""
    return text_problem(text) is None or _in_other_words(text)


def _in_other_words(text: str) -> bool:
    """Whether a whole line declares AI generation in words GB 45438 does not take (``_AI_DISCLOSURE``), or
    is a generator's own mark (``GENERATOR_MARKS``)."""
    line = " ".join(text.split()).strip(" .·•|:-–—()[]（）【】@")
    if _AI_DISCLOSURE.match(line) is not None:
        return True
    return _AI_ALONE.sub("AI", line).replace(" ", "") in GENERATOR_MARKS


def generator_named(text: str) -> str | None:
    """The generator an AI label names ("即梦AI", "豆包AI生成"), or None."""
    compact = text.replace(" ", "")
    return next((name for mark, name in GENERATORS.items() if mark in compact), None)


def require_compliant_text(text: str) -> str:
    """Return ``text`` if it complies, else raise ``NonCompliantLabelText`` saying what is missing."""
    problem = text_problem(text)
    if problem:
        raise NonCompliantLabelText(problem)
    return text


def required_glyph_height(size: tuple[int, int]) -> int:
    """The smallest compliant glyph height for an image of ``size``: ceil(5% of the short side)."""
    return math.ceil(MIN_HEIGHT_FRACTION * min(size))


def _is_cjk(char: str) -> bool:
    return "\u2e80" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


def measured_part(text: str) -> str:
    """The characters whose ink height is the glyph height: the CJK ones, or all if there are none."""
    cjk = "".join(c for c in text if _is_cjk(c))
    return cjk or text


@lru_cache(maxsize=256)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def ink_rows(mask: np.ndarray) -> tuple[int, int] | None:
    """First and last row of a coverage mask holding any ink, or None."""
    rows = np.flatnonzero((mask >= INK_COVERAGE).any(axis=1))
    return (int(rows[0]), int(rows[-1])) if rows.size else None


def rendered_ink_height(font: ImageFont.FreeTypeFont, text: str) -> int:
    """Height in pixels of the ink of ``text`` as FreeType renders it (not the font's nominal size)."""
    left, top, right, bottom = font.getbbox(text)
    canvas = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(canvas).text((-left, -top), text, font=font, fill=255)
    rows = ink_rows(np.asarray(canvas))
    return rows[1] - rows[0] + 1 if rows else 0


def missing_glyphs(font_path: str, text: str) -> str:
    """Characters of ``text`` the font cannot draw (they would render as empty boxes)."""
    cmap = _cmap(font_path)
    return "".join(sorted({c for c in text if not c.isspace() and ord(c) not in cmap}))


@lru_cache(maxsize=16)
def _cmap(font_path: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(font_path, fontNumber=0, lazy=True) as font:
        return frozenset(font.getBestCmap())


@lru_cache(maxsize=1024)
def fit_font(font_path: str, text: str, glyph_px: int) -> tuple[int, int]:
    """The smallest font size whose rendered glyphs are at least ``glyph_px`` tall, and their height."""
    part = measured_part(text)
    size = max(1, round(glyph_px / 0.9))
    height = rendered_ink_height(load_font(font_path, size), part)
    while height < glyph_px:
        size += 1
        height = rendered_ink_height(load_font(font_path, size), part)
    while size > 1:
        smaller = rendered_ink_height(load_font(font_path, size - 1), part)
        if smaller < glyph_px:
            break
        size, height = size - 1, smaller
    return size, height


@dataclass(frozen=True)
class MarkStyle:
    """How a mark looks: light text on a dark translucent plate reads on any background."""

    plate_rgba: tuple[int, int, int, int] = (0, 0, 0, 184)
    ink_rgba: tuple[int, int, int, int] = (255, 255, 255, 255)
    pad_x: float = 0.45  # plate padding, in glyph heights
    pad_y: float = 0.30
    margin_fraction: float = 0.015  # gap to the image edge, in short sides


DEFAULT_STYLE = MarkStyle()


@dataclass(frozen=True)
class VisibleMark:
    """A mark drawn (or to be drawn) on an image: what, where, and how tall its glyphs are."""

    kind: MarkKind  # VISIBLE_LABEL or AUTHOR_ID
    text: str
    position: str
    box: tuple[int, int, int, int]  # the plate, x0 y0 x1 y1 (x1, y1 exclusive)
    glyph_height_px: int
    required_height_px: int
    font_size: int
    font_path: str

    def as_record(self) -> dict:
        record = asdict(self)
        record["font"] = Path(record.pop("font_path")).name
        return record


def _boxes_overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_mark(size: tuple[int, int], text: str, position: str, glyph_px: int, *, kind: MarkKind,
               font_path: Path | str = DEFAULT_FONT, avoid: tuple[VisibleMark, ...] = (),
               style: MarkStyle = DEFAULT_STYLE, required_px: int = 0) -> VisibleMark:
    """Lay out one mark on an image of ``size`` without drawing it; ``avoid`` marks are not overlapped.

    Raises ``ImageTooSmall`` when the mark cannot fit with legible glyphs.
    """
    if position not in POSITIONS:
        raise ValueError(f"unknown position {position!r}; choose one of {', '.join(POSITIONS)}")
    font_path = str(font_path)
    missing = missing_glyphs(font_path, text)
    if missing:
        raise NonCompliantLabelText(
            f"the font {Path(font_path).name} cannot draw {missing!r} in {text!r}; pass a font that has them (--font)"
        )
    width, height = size
    font_size, measured = fit_font(font_path, text, glyph_px)
    left, top, right, bottom = load_font(font_path, font_size).getbbox(text)
    pad_x, pad_y = round(style.pad_x * measured), round(style.pad_y * measured)
    plate_w, plate_h = (right - left) + 2 * pad_x, (bottom - top) + 2 * pad_y
    margin = max(1, round(style.margin_fraction * min(size)))
    if plate_w > width - 2 * margin or plate_h > height - 2 * margin:
        raise ImageTooSmall(
            f"{width}x{height} is too small for the {kind.words} {text!r}: at a glyph height of {glyph_px} px it needs "
            f"{plate_w + 2 * margin}x{plate_h + 2 * margin} px; use a larger image or shorter text"
        )
    horizontal, vertical = _ANCHORS[position]
    x0 = {"left": margin, "center": (width - plate_w) // 2, "right": width - margin - plate_w}[horizontal]
    y0 = {"top": margin, "middle": (height - plate_h) // 2, "bottom": height - margin - plate_h}[vertical]
    gap = max(1, margin // 2)
    for other in avoid:  # stack away from the edge the mark sits on
        box = (x0, y0, x0 + plate_w, y0 + plate_h)
        if _boxes_overlap(box, other.box):
            y0 = other.box[3] + gap if vertical in ("top", "middle") else other.box[1] - gap - plate_h
    if y0 < 0 or y0 + plate_h > height:
        raise ImageTooSmall(f"{width}x{height} has no room for the {kind.words} {text!r} beside the other marks; "
                            "put the marks in different corners")
    return VisibleMark(kind=kind, text=text, position=position, box=(x0, y0, x0 + plate_w, y0 + plate_h),
                       glyph_height_px=measured, required_height_px=required_px, font_size=font_size,
                       font_path=font_path)


def place_label(size: tuple[int, int], text: str = DEFAULT_LABEL_TEXT, position: str = "bottom-left", *,
                font_path: Path | str = DEFAULT_FONT, style: MarkStyle = DEFAULT_STYLE) -> VisibleMark:
    """Lay out a compliant AI label: compliant words, glyphs ≥ ceil(5% short side) and legible."""
    require_compliant_text(text)
    required = required_glyph_height(size)
    glyph_px = max(math.ceil(required * HEIGHT_HEADROOM) + 1, MIN_LEGIBLE_GLYPH_PX)
    return place_mark(size, text, position, glyph_px, kind=MarkKind.VISIBLE_LABEL, font_path=font_path, style=style,
                      required_px=required)


def author_text(author_id: str, template: str = DEFAULT_AUTHOR_TEMPLATE) -> str:
    """The author mark's words: ``template`` with ``{id}`` replaced by the author's ID."""
    if "{id}" not in template:
        raise AimarkError(f"the author template {template!r} has no {{id}} placeholder, e.g. '小红书号：{{id}}'")
    return template.replace("{id}", author_id)


def place_author_mark(size: tuple[int, int], author_id: str, *, template: str = DEFAULT_AUTHOR_TEMPLATE,
                      position: str = "bottom-right", height_fraction: float = DEFAULT_AUTHOR_HEIGHT_FRACTION,
                      font_path: Path | str = DEFAULT_FONT, avoid: tuple[VisibleMark, ...] = (),
                      style: MarkStyle = DEFAULT_STYLE) -> VisibleMark:
    """Lay out the author's visible ID mark in a corner, away from ``avoid`` marks."""
    if position not in CORNERS:
        raise ValueError(f"the author mark goes in a corner; choose one of {', '.join(CORNERS)}")
    glyph_px = max(MIN_LEGIBLE_GLYPH_PX, math.ceil(height_fraction * min(size)))
    return place_mark(size, author_text(author_id, template), position, glyph_px, kind=MarkKind.AUTHOR_ID,
                      font_path=font_path, avoid=avoid, style=style)


def draw_mark(image: Image.Image, mark: VisibleMark, style: MarkStyle = DEFAULT_STYLE) -> None:
    """Draw ``mark`` into ``image`` (RGB or RGBA) in place, touching only the mark's box."""
    x0, y0, x1, y1 = mark.box
    font = load_font(mark.font_path, mark.font_size)
    overlay = Image.new("RGBA", (x1 - x0, y1 - y0), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    radius = max(1, round(0.25 * mark.glyph_height_px))
    draw.rounded_rectangle((0, 0, x1 - x0 - 1, y1 - y0 - 1), radius=radius, fill=style.plate_rgba)
    left, top, right, bottom = font.getbbox(mark.text)
    text_x = (x1 - x0 - (right - left)) // 2 - left
    text_y = (y1 - y0 - (bottom - top)) // 2 - top
    draw.text((text_x, text_y), mark.text, font=font, fill=style.ink_rgba)
    region = image.crop(mark.box).convert("RGBA")
    region.alpha_composite(overlay)
    image.paste(region if image.mode == "RGBA" else region.convert(image.mode), mark.box[:2])


# --- reading: judging a label found in an image ---------------------------------------------------------

@dataclass(frozen=True)
class LabelCheck:
    """Whether a label found at ``box`` complies with §5.2, rule by rule, with the measurements."""

    text: str
    box: tuple[int, int, int, int]
    words_ok: bool
    glyph_height_px: int
    required_height_px: int
    height_ok: bool
    position: str | None
    position_ok: bool
    problems: tuple[str, ...]

    @property
    def compliant(self) -> bool:
        return self.words_ok and self.height_ok and self.position_ok


def nearest_position(size: tuple[int, int], box: tuple[int, int, int, int]) -> str | None:
    """The corner or edge ``box`` lies on (within ``EDGE_BAND_FRACTION`` of the short side), or None."""
    width, height = size
    band = EDGE_BAND_FRACTION * min(size)
    x0, y0, x1, y1 = box
    near = {"left": x0 <= band, "right": width - x1 <= band, "top": y0 <= band, "bottom": height - y1 <= band}
    vertical = "top" if near["top"] else "bottom" if near["bottom"] else None
    horizontal = "left" if near["left"] else "right" if near["right"] else None
    if vertical and horizontal:
        return f"{vertical}-{horizontal}"
    return vertical or horizontal


def measure_ink_height(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    """Height of the text ink inside ``box``: rows holding the minority (text) class after Otsu's split.

    Works on a plated label and on text straight on a photo, as long as the box is mostly background.
    """
    grey = np.asarray(image.crop(box).convert("L"), dtype=np.uint8)
    if grey.size == 0:
        return 0
    threshold = _otsu(grey)
    dark = grey <= threshold
    ink = dark if dark.mean() < 0.5 else ~dark
    min_count = max(1, int(0.005 * grey.shape[1]))
    rows = np.flatnonzero(ink.sum(axis=1) >= min_count)
    return int(rows[-1] - rows[0] + 1) if rows.size else 0


def _otsu(grey: np.ndarray) -> int:
    histogram = np.bincount(grey.ravel(), minlength=256).astype(np.float64)
    total = histogram.sum()
    levels = np.arange(256)
    weight_low = np.cumsum(histogram)
    mean_low = np.cumsum(histogram * levels)
    weight_high = total - weight_low
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean_low[-1] * weight_low / total - mean_low) ** 2 / (weight_low * weight_high)
    return int(np.nanargmax(np.where(np.isfinite(between), between, -1)))


def check_label(image: Image.Image, box: tuple[int, int, int, int], text: str) -> LabelCheck:
    """Judge a label read at ``box`` of ``image``: its words, its measured glyph height, its position."""
    size = image.size
    problems = []
    word_problem = text_problem(text)
    if word_problem:
        problems.append(word_problem)
    required = required_glyph_height(size)
    measured = measure_ink_height(image, box)
    if measured < required:
        problems.append(f"glyphs are {measured} px tall; GB 45438 asks ≥ {required} px (5% of the short side)")
    position = nearest_position(size, box)
    if position is None:
        problems.append("the label is not on an edge or in a corner")
    return LabelCheck(text=text, box=tuple(box), words_ok=word_problem is None, glyph_height_px=measured,
                      required_height_px=required, height_ok=measured >= required, position=position,
                      position_ok=position is not None, problems=tuple(problems))


# An author mark's ID: the rest of the line after an ID's name and a colon ("ID：studio_ada", "小红书号：xhs_88",
# "抖音号: ada.v"; OCR may read an underscore as a space) or the word after an @ (the templates platforms use:
# "@ada", "微博@ada", the platform's name written against the @), not in an e-mail address (a letter or digit
# before the @), else a bare run of digits (a numeric ID drawn without a name).
_ID_GLYPH = r"0-9A-Za-z_.\-"  # what an ID is spelt with beside the word (a whole ID has none of it on either side)
_NAMED_AUTHOR_ID = re.compile(rf"(?:(?<![A-Za-z])ID|ＩＤ|号)\s*[:：]\s*(\S.*\S)|(?<![{_ID_GLYPH}])@(\S{{2,}})",
                              re.IGNORECASE)
_AUTHOR_ID = re.compile(r"\d{5,}")
ID_PIECES = 4  # an ID read in at most this many pieces (three underscores lost) is still recognised


def id_key(author_id: str) -> str:
    """An ID as OCR can be trusted to read it: without letter case (c/C, o/O, s/S, x/X look alike), spaces or
    underscores (read as spaces, or not at all)."""
    return re.sub(r"[\s_]", "", author_id).casefold()


def shows_author_id(text: str | None, author_id: str | None) -> bool:
    """Whether an OCR'd line shows ``author_id`` as a whole word, whatever template surrounds it ("小红书号：…",
    "by …", "@…"), up to the letter case OCR confuses in Latin IDs (c/C, o/O, s/S, x/X) and an underscore
    read as a space or not at all. Not inside a longer ID: a replacement painted half over the original
    reads as the original's digits with one more."""
    if not text or not author_id:
        return False
    spelt = "".join(r"[_\s]?" if glyph == "_" else re.escape(glyph) for glyph in author_id)
    return re.search(rf"(?<![{_ID_GLYPH}]){spelt}(?![{_ID_GLYPH}])", text, re.IGNORECASE) is not None


def id_words(text: str) -> list[str]:
    """Every word of a line that could be an ID, whatever template surrounds it: its runs of ID glyphs and
    up to ID_PIECES neighbouring runs joined by "_" or by nothing (OCR reads an underscore on the baseline as
    a space, or not at all: "xhs ada 88" for xhs_ada_88), and the ID ``looks_like_author_id`` names (which
    may be spelt in other scripts)."""
    runs = re.findall(rf"[{_ID_GLYPH}]+", text)
    words = {glue.join(runs[start:end]) for start in range(len(runs))
             for end in range(start + 1, min(start + ID_PIECES, len(runs)) + 1) for glue in ("_", "")}
    named = looks_like_author_id(text)
    return sorted(words | ({named} if named else set()))


def looks_like_author_id(text: str) -> str | None:
    """The ID in an author-ID-like text, or None. Platform IDs are often words, not digits (a Xiaohongshu or
    Douyin ID may be ``studio_ada``), so a named ID is read whatever it is spelt with; without a name, only
    a run of at least five digits counts (short numbers and words are everywhere in captions)."""
    named = _NAMED_AUTHOR_ID.search(text.strip())
    if named:
        return (named.group(1) or named.group(2)).strip(" |·,;!?") or None
    match = _AUTHOR_ID.search(text)
    return match.group(0) if match else None


# --- reading: finding marks in an image with OCR --------------------------------------------------------

# OCR sees text at most this long side; a compliant label is then still >= 5% of the short side in pixels.
OCR_LONG_SIDE = 1600
# OCR's usual misreadings of "AI" next to CJK text ("Al生成", "A1生成").
_AI_CONFUSABLES = re.compile(r"A[l1|I丨](?=\s*(?:生成|合成|[\u4e00-\u9fff]))")


class TextReader:
    """What reading needs from an OCR engine (``aimark.models.OcrEngine`` is one)."""

    def read(self, image: Image.Image) -> list:  # pragma: no cover - protocol
        raise NotImplementedError


@dataclass(frozen=True)
class FoundMark:
    """Text found in an image and what it is: an AI label (judged), an author ID, or other text."""

    kind: MarkKind | str  # VISIBLE_LABEL, AUTHOR_ID, or "text" (other words)
    text: str
    box: tuple[int, int, int, int]
    score: float
    check: LabelCheck | None = None
    author_id: str | None = None

    @property
    def in_label_words(self) -> bool:
        """An AI label in GB 45438's words (AI + 生成/合成), whatever its size and place: what stands for a
        label that was drawn; one in other words ('AI generated') is reported, never taken for it."""
        return self.kind == MarkKind.VISIBLE_LABEL and (self.check is None or self.check.words_ok)

    @property
    def generator(self) -> str | None:
        """The generator an AI label names (its own mark, or beside GB 45438's words), or None."""
        return generator_named(self.text) if self.kind == MarkKind.VISIBLE_LABEL else None

    def as_record(self) -> dict:
        record = {"kind": self.kind, "text": self.text, "box": list(self.box), "score": round(self.score, 3)}
        if self.generator:
            record["generator"] = self.generator
        if self.check:
            record["check"] = {"compliant": self.check.compliant, "glyph_height_px": self.check.glyph_height_px,
                               "required_height_px": self.check.required_height_px,
                               "position": self.check.position, "problems": list(self.check.problems)}
        if self.author_id:
            record["author_id"] = self.author_id
        return record


def normalise_ocr_text(text: str) -> str:
    """Undo OCR's common confusions so the word rules judge what is printed, not how it was read."""
    text = text.translate({ord(c): ord(c) - 0xFEE0 for c in "ＡＩ"})
    return _AI_CONFUSABLES.sub("AI", text.strip())


# Pieces of one printed line that OCR returns apart are joined when they share a row (their heights overlap
# by this share of the smaller and differ by at most JOIN_HEIGHT_RATIO) and the gap between them is at most
# JOIN_GAP line heights: the recogniser split "AI生成 · AI illustration" at its wide middle (a gap of 0.9
# heights), and a piece alone is judged by its own box, off the edge the whole label stands on.
JOIN_OVERLAP, JOIN_HEIGHT_RATIO, JOIN_GAP = 0.6, 1.6, 1.5


def joined_lines(lines) -> list[tuple[str, tuple[int, int, int, int], float]]:
    """(text, box, score) of OCR ``lines`` (each with ``text``, ``box``, ``score``), the pieces of one printed
    line joined left to right; a joined line keeps its best piece's score (a garbled piece beside the label
    must not make the label read as absent)."""
    rows: list[tuple[str, tuple[int, int, int, int], float]] = []
    for line in sorted(lines, key=lambda line: line.box[0]):
        box = tuple(int(v) for v in line.box)
        for index, (text, row, score) in enumerate(rows):
            if _continues(row, box):
                union = (row[0], min(row[1], box[1]), max(row[2], box[2]), max(row[3], box[3]))
                rows[index] = (f"{text} {line.text}", union, max(score, line.score))
                break
        else:
            rows.append((line.text, box, line.score))
    return rows


def _continues(row: tuple[int, int, int, int], piece: tuple[int, int, int, int]) -> bool:
    """Whether ``piece`` (starting at or right of ``row``'s start) continues the printed line ``row``."""
    row_height, piece_height = row[3] - row[1], piece[3] - piece[1]
    smaller, larger = min(row_height, piece_height), max(row_height, piece_height)
    if smaller <= 0 or larger > JOIN_HEIGHT_RATIO * smaller:
        return False
    overlap = min(row[3], piece[3]) - max(row[1], piece[1])
    return overlap >= JOIN_OVERLAP * smaller and piece[0] - row[2] <= JOIN_GAP * smaller


def read_marks(pixels: Image.Image, reader: TextReader) -> list[FoundMark]:
    """Every text line in ``pixels``, classified; AI labels are checked at full resolution."""
    scale = min(1.0, OCR_LONG_SIDE / max(pixels.size))
    view = pixels if scale == 1.0 else pixels.resize(
        (max(1, round(pixels.width * scale)), max(1, round(pixels.height * scale))), Image.Resampling.BILINEAR)
    found = []
    for text, box, score in joined_lines(reader.read(view.convert("RGB"))):
        box = tuple(int(round(v / scale)) for v in box)
        box = (max(0, box[0]), max(0, box[1]), min(pixels.width, box[2]), min(pixels.height, box[3]))
        found.append(classify(pixels, text, box, score))
    return found


def classify(pixels: Image.Image, raw_text: str, box: tuple[int, int, int, int], score: float) -> FoundMark:
    """What a line of OCR'd text is: an AI label (then judged against §5.2), an author ID, or other text."""
    text = normalise_ocr_text(raw_text)
    in_gb_words = text_problem(text) is None
    if in_gb_words or _in_other_words(text):  # the latter is judged, and found wanting in its words
        if not in_gb_words:
            text = _AI_ALONE.sub("AI", text)  # OCR's 'Made with Al': the check names only what it lacks
        return FoundMark(MarkKind.VISIBLE_LABEL, text, box, score, check=check_label(pixels, box, text))
    author_id = looks_like_author_id(text)
    if author_id:
        return FoundMark(MarkKind.AUTHOR_ID, text, box, score, author_id=author_id)
    return FoundMark(OTHER_TEXT, text, box, score)
