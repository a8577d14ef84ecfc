"""The visible marks — the AI label and the author's ID — read with OCR: the whole picture (inspect), the
strips along its edges where the rules put marks (scan, no original), or given regions (scan, where a
matched original's marks went)."""

from __future__ import annotations

from aimark.labeller import visible
from aimark.labeller.vocabulary import Box, MarkKind

from .. import windows
from .base import Reader


class VisibleReader(Reader):
    mark = MarkKind.VISIBLE_LABEL
    key = "visible"
    title = "visible"

    def __init__(self, where: str = "whole"):
        self.where = where  # "whole" or "edges"

    def wants(self, context):
        return context.ocr is not None

    def read(self, image, context):
        if self.where == "edges":
            marks = windows.read_edges(image.rgb, context.ocr)
        else:
            marks = visible.read_marks(image.rgb, context.ocr)
        return self.evidence(marks, [m.as_record() for m in marks])

    def read_at(self, image, boxes: list[Box], context, glyph_px: list[float]) -> list[visible.FoundMark]:
        """Marks read in each of ``boxes`` (with context around it), glyphs expected ``glyph_px`` tall."""
        found = []
        for box, glyph in zip(boxes, glyph_px):
            if box.width >= 8 and box.height >= 8:
                found += windows.read_region(image.rgb, box.as_tuple(), context.ocr, glyph)
        return found

    @staticmethod
    def lines(record):
        marks = [m for m in record if m["kind"] != visible.OTHER_TEXT]
        if not marks:
            return ["no AI label or author ID found"]
        lines = []
        for mark in marks:
            detail = ""
            if mark.get("check"):
                check = mark["check"]
                detail = (f" glyphs {check['glyph_height_px']} px (≥{check['required_height_px']}), "
                          f"{check['position'] or 'not on an edge'}, "
                          + ("compliant" if check["compliant"] else "NOT compliant: " + "; ".join(check["problems"])))
            lines.append(f"{mark['kind']} {mark['text']!r} at {mark['box']}{detail}")
        return lines
