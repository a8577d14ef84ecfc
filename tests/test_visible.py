"""The visible label and author mark: words, size, placement, drawing, and the compliance checker."""

import math
from collections import namedtuple

import numpy as np
import pytest
from PIL import Image

from aimark.labeller import visible
from aimark.labeller.vocabulary import MarkKind
from aimark.labeller.errors import AimarkError, ImageTooSmall, NonCompliantLabelText


@pytest.mark.parametrize("text", ["AI生成", "AI合成", "人工智能生成", "人工智能合成", "AI生成 · AI illustration"])
def test_compliant_words_are_accepted(text):
    assert visible.text_problem(text) is None


@pytest.mark.parametrize("text, missing", [
    ("AI illustration", "generation element"),
    ("AI", "generation element"),
    ("生成", "AI element"),
    ("Made by a robot", "AI element (人工智能 or AI) and a generation element"),
])
def test_non_compliant_words_are_refused_with_what_is_missing(text, missing):
    with pytest.raises(NonCompliantLabelText, match="GB 45438") as raised:
        visible.require_compliant_text(text)
    assert missing in str(raised.value)


@pytest.mark.parametrize("size, expected", [((640, 427), 22), ((1000, 1000), 50), ((4000, 3001), 151), ((20, 900), 1)])
def test_required_height_is_ceil_five_percent_of_short_side(size, expected):
    assert visible.required_glyph_height(size) == expected == math.ceil(0.05 * min(size))


def _ink_height_of_cjk(image, mark):
    """Measure the drawn CJK glyphs: white ink rows inside the plate."""
    x0, y0, x1, y1 = mark.box
    plate = np.asarray(image.crop(mark.box).convert("L"))
    rows = np.flatnonzero((plate > 200).any(axis=1))
    return rows[-1] - rows[0] + 1


@pytest.mark.parametrize("size", [(640, 427), (1200, 1800), (3000, 2000), (250, 250)])
@pytest.mark.parametrize("position", visible.POSITIONS)
def test_label_fits_on_its_edge_with_tall_enough_glyphs(size, position):
    mark = visible.place_label(size, "AI生成", position)
    assert mark.glyph_height_px >= visible.required_glyph_height(size)
    assert 0 <= mark.box[0] < mark.box[2] <= size[0] and 0 <= mark.box[1] < mark.box[3] <= size[1]
    assert visible.nearest_position(size, mark.box) == position


def test_drawn_glyphs_are_as_tall_as_recorded_on_a_white_photo():
    image = Image.new("RGB", (1500, 1000), "white")
    mark = visible.place_label(image.size)
    visible.draw_mark(image, mark)
    assert _ink_height_of_cjk(image, mark) >= visible.required_glyph_height(image.size) == 50


def test_label_is_legible_on_white_and_on_black():
    for background in ("white", "black"):
        image = Image.new("RGB", (800, 600), background)
        mark = visible.place_label(image.size)
        visible.draw_mark(image, mark)
        plate = np.asarray(image.crop(mark.box).convert("L"), dtype=int)
        assert plate.max() - np.median(plate) > 150  # white ink stands out of a dark plate


def test_drawing_touches_only_the_marks_box():
    before = Image.effect_noise((600, 400), 40).convert("RGB")
    after = before.copy()
    mark = visible.place_label(after.size)
    visible.draw_mark(after, mark)
    diff = np.abs(np.asarray(before, int) - np.asarray(after, int)).sum(axis=2)
    ys, xs = np.nonzero(diff)
    assert xs.min() >= mark.box[0] and xs.max() < mark.box[2] and ys.min() >= mark.box[1] and ys.max() < mark.box[3]


def test_tiny_image_is_refused_with_the_size_it_needs():
    with pytest.raises(ImageTooSmall, match=r"24x24 is too small .* needs \d+x\d+ px"):
        visible.place_label((24, 24))


def test_author_mark_in_the_same_corner_stacks_instead_of_overlapping():
    size = (1000, 800)
    label = visible.place_label(size, position="bottom-right")
    author = visible.place_author_mark(size, "1234567890", template="小红书号：{id}", position="bottom-right",
                                       avoid=(label,))
    assert author.box[3] <= label.box[1]
    assert author.text == "小红书号：1234567890"


def test_author_template_needs_the_placeholder():
    with pytest.raises(AimarkError, match="placeholder"):
        visible.author_text("123", "ID")


def test_characters_the_font_lacks_are_refused_before_drawing_boxes():
    with pytest.raises(NonCompliantLabelText, match="cannot draw"):
        visible.place_label((800, 600), "AI生成 🤖")


def test_checker_passes_our_label_and_names_each_failing_rule():
    image = Image.new("RGB", (1000, 800), (90, 140, 200))
    good = visible.place_label(image.size, position="top-right")
    visible.draw_mark(image, good)
    check = visible.check_label(image, good.box, "AI生成")
    assert check.compliant and check.position == "top-right" and check.glyph_height_px >= 40

    small = visible.place_mark(image.size, "AI生成", "bottom-left", 20, kind=MarkKind.VISIBLE_LABEL)
    centred = visible.place_mark(image.size, "AI生成", "left", 60, kind=MarkKind.VISIBLE_LABEL)
    centred = visible.VisibleMark(**{**centred.__dict__, "box": (400, 380, 400 + centred.box[2] - centred.box[0],
                                                                  380 + centred.box[3] - centred.box[1])})
    for mark in (small, centred):
        visible.draw_mark(image, mark)
    small_check = visible.check_label(image, small.box, "AI生成")
    assert not small_check.height_ok and small_check.position_ok and "40 px" in small_check.problems[0]
    centred_check = visible.check_label(image, centred.box, "AI生成")
    assert centred_check.height_ok and not centred_check.position_ok
    words_check = visible.check_label(image, good.box, "AI illustration")
    assert not words_check.words_ok and not words_check.compliant


@pytest.mark.parametrize("text, declares", [
    ("AI生成", True), ("AI generated", True), ("Al-generated", True), ("Generated by AI", True),
    ("Made with AI.", True), ("Made withAI", True), ("Made with Google AI", True),
    ("Generated by Meta AI", True), ("This image was AI-generated", True),
    ("created with A.I.", True), ("AI创作", True), ("本图由AI创作的作品", True),
    ("即梦AI", True), ("可灵 AI", True), ("文心一格", True), ("@即梦AI", True),
    ("KI-generiert", True), ("Mit KI erstellt", True), ("Généré par IA", True), ("Genere parlA", True),
    ("Imagen generada por IA", True), ("Generato con l'IA", True), ("Gerado por IA", True),
    ("Gegenereerd door AI", True), ("KI-generierte Bilder überfluten das Netz", False),
    ("Generado por IA: el debate", False), ("Généré par Paul", False),
    ("AI-generated images flood the feeds", False), ("用即梦AI做的海报", False), ("豆包", False), ("海螺", False),
    ("AI illustration", False), ("OpenAI", False), ("Made with love", False), ("generated", False),
    ("AI art", False)])
def test_a_line_that_declares_ai_in_other_words_is_told_from_one_that_mentions_it(text, declares):
    """'AI generated' declares the picture AI-made in words GB 45438 does not take (a label that does not
    comply), and so do the EU AI Act's disclosures in other languages ("KI-generiert", "Généré par IA", as
    OCR reads them too) and a generator's own mark ("即梦AI"); a headline that only mentions AI or a
    generator, or an everyday word that is also a product's name ("豆包"), declares nothing."""
    assert visible.discloses_ai(text) == declares


@pytest.mark.parametrize("read, text, generator", [
    ("即梦Al", "即梦AI", "Jimeng (ByteDance)"), ("可灵A1", "可灵AI", "Kling (Kuaishou)"),
    ("豆包AI生成", "豆包AI生成", "Doubao (ByteDance)"), ("通义万相 AI生成", "通义万相 AI生成", "Tongyi Wanxiang (Alibaba)"),
    ("AI生成", "AI生成", None)])
def test_a_generators_own_mark_is_read_as_a_label_naming_the_generator(read, text, generator):
    image = Image.new("RGB", (800, 600), (90, 140, 200))
    found = visible.classify(image, read, (600, 540, 780, 580), 0.9)
    assert found.kind == MarkKind.VISIBLE_LABEL and found.text == text and found.generator == generator
    assert found.check.words_ok == ("生成" in text)
    assert (found.as_record().get("generator")) == generator


def test_a_label_in_other_words_is_judged_for_what_it_lacks_not_for_how_ocr_read_it():
    image = Image.new("RGB", (800, 600), (90, 140, 200))
    found = visible.classify(image, "Made with Al", (20, 540, 300, 580), 0.9)
    assert found.kind == MarkKind.VISIBLE_LABEL and found.text == "Made with AI" and not found.check.words_ok
    assert "generation element" in found.check.problems[0] and "an AI element" not in found.check.problems[0]
    assert visible.classify(image, "Alice in Wonderland", (20, 540, 300, 580), 0.9).kind == visible.OTHER_TEXT


@pytest.mark.parametrize("read, expected", [("Al生成", "AI生成"), ("A1合成", "AI合成"), ("ＡＩ生成", "AI生成"),
                                            ("Alice", "Alice")])
def test_ocr_confusions_of_ai_are_undone_only_next_to_chinese(read, expected):
    assert visible.normalise_ocr_text(read) == expected


@pytest.mark.parametrize("text, author_id", [
    ("小红书号：1234567890", "1234567890"), ("ID: xhs_ada_88", "xhs_ada_88"), ("抖音号: ada.v", "ada.v"),
    ("小红书ID：ab12", "ab12"), ("by @studio_ada", "studio_ada"), ("微博@xiaoming_2024", "xiaoming_2024"),
    ("1234567890", "1234567890"),
    ("AI生成", None), ("Paid: no", None), ("mail ada@example.com", None), ("room 12", None), ("ID：a", None)])
def test_author_ids_are_read_in_letters_as_in_digits_and_only_where_named(text, author_id):
    """Platform IDs are often words: one is read after an ID's name and a colon, or an @; without a name only
    a run of digits counts, so captions' words and short numbers are no IDs."""
    assert visible.looks_like_author_id(text) == author_id


@pytest.mark.parametrize("text, shown", [
    ("小红书号：1234567890", True), ("ID: XHS_Ada_88", True), ("by xhs_ada_88", True), ("作者xhs_ada_88", True),
    ("@xhs_ada_88 ", True), ("ID: xhs ada 88", True), ("ID：xhsada88", True), ("小红书号：12345678901", False),
    ("ID: xhs_ada_889", False), ("xhs_ada", False)])
def test_a_line_shows_the_expected_id_as_a_whole_word_in_any_template(text, shown):
    """A replacement painted half over the original reads as the original's digits with one more: not it."""
    expected = "1234567890" if text.startswith("小红书号") else "xhs_ada_88"
    assert visible.shows_author_id(text, expected) == shown
    assert not visible.shows_author_id(None, expected) and not visible.shows_author_id(text, None)


def test_every_word_that_could_be_an_id_is_offered_whatever_the_template():
    assert "xhs_ada_88" in visible.id_words("by xhs_ada_88") and "小明" in visible.id_words("ID：小明")
    assert "xhs_ada_88" in visible.id_words("ID: xhs ada 88")  # the underscores read as spaces
    assert set(visible.id_words("小红书号：1234567890")) == {"1234567890"}


def test_pieces_of_one_printed_line_are_joined_and_other_lines_are_not():
    """OCR split "AI生成 · AI illustration" at its wide middle; the next line and a word far along the row stay
    apart. The joined line keeps its best piece's score."""
    line = namedtuple("Line", "text box score")
    pieces = [line("·AI illustration", (120, 10, 300, 40), 0.8), line("AI生成", (10, 12, 90, 41), 0.95),
              line("ID：1234567890", (10, 60, 150, 90), 0.9), line("far", (700, 10, 760, 40), 0.9)]
    joined = visible.joined_lines(pieces)
    assert len(joined) == 3 and ("AI生成 ·AI illustration", (10, 10, 300, 41), 0.95) in joined
