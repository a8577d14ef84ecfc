"""The registry of originals: what was labelled, by whom, where its marks were, and how to find it again.

SQLite, embedded, no server. One row per labelled image: its ids (ProduceID, watermark author and content
fields), size, perceptual hashes, the boxes and words of its visible marks, and a small JPEG thumbnail from
which local features are computed at match time and the moderator's side-by-side crops are cut.

Lookup order (``toolbox.md``): the watermark payload is an exact key that survives crops; perceptual
hashes find uncropped reposts; both only propose — local-feature geometry confirms.
Hash search runs in memory over numpy arrays (one XOR and popcount per entry), loaded once per process.
"""

from __future__ import annotations

import base64
import io
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from aimark.labeller.vocabulary import Box, LabelRecord, MarkKind, mark_kind
from aimark.labeller.watermark import WatermarkPayload

from . import signals

VISIBLE_MARKS = (MarkKind.VISIBLE_LABEL, MarkKind.AUTHOR_ID)
THUMBNAIL_SIDE = 512
CROP_GLYPH_PX = 32  # marks are kept at about this glyph height: enough to see blurring, a few KB each
CROP_PAD = 0.6  # context kept around a mark, in box heights
SCHEMA = """
CREATE TABLE IF NOT EXISTS originals (
    id INTEGER PRIMARY KEY,
    produce_id TEXT UNIQUE NOT NULL,
    author_id TEXT,
    wm_author_kind INTEGER,
    wm_author INTEGER,
    wm_content INTEGER,
    path TEXT,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    dhash INTEGER NOT NULL,
    phash INTEGER NOT NULL,
    marks TEXT NOT NULL,
    thumbnail BLOB,
    mark_crops TEXT
);
CREATE INDEX IF NOT EXISTS originals_by_watermark ON originals (wm_author_kind, wm_author, wm_content);
"""


@dataclass(frozen=True)
class Original:
    """One registered original."""

    id: int
    produce_id: str
    author_id: str | None
    path: str | None
    size: tuple[int, int]
    hashes: dict[str, int]
    marks: dict[MarkKind, dict]  # visible marks: {"text", "box"} in original pixels
    thumbnail: bytes | None
    watermarked: bool = False
    crops: dict[MarkKind, dict] | None = None  # mark -> {"origin": [x, y], "scale": s, "jpeg": base64}
    payload: WatermarkPayload | None = None  # what its watermark carries

    def reference(self, kind: MarkKind, box: Box):
        """The best picture the registry keeps of a mark: (image, 3x3 image->original transform, ``box`` in the
        image's pixels, whether it is the full-detail crop rather than the thumbnail), or None."""
        crop = self.mark_crop(kind)
        if crop is not None:
            image, to_original = crop
        else:
            image = self.thumbnail_image()
            if image is None:
                return None
            factor = self.size[0] / image.width
            to_original = np.diag([factor, factor, 1.0])
        corners = np.array([[box[0], box[1], 1], [box[2], box[3], 1]], dtype=np.float64) @ np.linalg.inv(to_original).T
        inner = (int(corners[0, 0]), int(corners[0, 1]), int(np.ceil(corners[1, 0])), int(np.ceil(corners[1, 1])))
        return image, to_original, inner, crop is not None

    def mark_crop(self, kind: MarkKind) -> tuple[Image.Image, np.ndarray] | None:
        """The kept crop of a mark and the 3x3 transform from its pixels to the original's."""
        crop = (self.crops or {}).get(kind)
        if not crop:
            return None
        image = Image.open(io.BytesIO(base64.b64decode(crop["jpeg"]))).convert("RGB")
        scale, (x, y) = crop["scale"], crop["origin"]
        return image, np.array([[1 / scale, 0, x], [0, 1 / scale, y], [0, 0, 1]], dtype=np.float64)

    def thumbnail_image(self) -> Image.Image | None:
        return Image.open(io.BytesIO(self.thumbnail)).convert("RGB") if self.thumbnail else None

    def box(self, kind: MarkKind) -> Box | None:
        mark = self.marks.get(kind)
        return Box.of(mark["box"]) if mark else None

    def words(self, kind: MarkKind) -> str | None:
        mark = self.marks.get(kind)
        return mark["text"] if mark else None


def mark_crops(pixels: Image.Image, marks: dict) -> dict:
    """Each mark's region with some context, scaled so its glyphs are about CROP_GLYPH_PX tall."""
    crops = {}
    for kind, mark in marks.items():
        x0, y0, x1, y1 = mark["box"]
        pad = int(CROP_PAD * (y1 - y0))
        region = (max(0, x0 - pad), max(0, y0 - pad), min(pixels.width, x1 + pad), min(pixels.height, y1 + pad))
        scale = min(1.0, CROP_GLYPH_PX / max(mark.get("glyph_height_px", CROP_GLYPH_PX), 1))
        crop = pixels.convert("RGB").crop(region)
        crop = crop.resize((max(1, round(crop.width * scale)), max(1, round(crop.height * scale))),
                           Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        crop.save(buffer, "JPEG", quality=90)
        crops[kind] = {"origin": list(region[:2]), "scale": scale,
                       "jpeg": base64.b64encode(buffer.getvalue()).decode("ascii")}
    return crops


def thumbnail_bytes(image: Image.Image) -> bytes:
    thumb = image.convert("RGB")
    thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    thumb.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def prepare_row(record: LabelRecord, pixels: Image.Image, author_id: str | None = None,
                path: str | None = None) -> dict:
    """A registry row for a labelled image, from its labelling record and its final pixels. Pure: it runs in
    the worker that has the pixels; the process that owns the registry only inserts it."""
    payload = (record.mark(MarkKind.WATERMARK) or {}).get("payload")
    kind, value, content = (None, None, None)
    if payload:
        kind, value = WatermarkPayload.author_field(payload["author_id"])
        content = payload["content_id"]
    kept = {mark.value: {"text": record.mark(mark)["text"], "box": record.mark(mark)["box"]}
            for mark in VISIBLE_MARKS if record.mark(mark)}
    crops = mark_crops(pixels, {mark.value: record.mark(mark) for mark in VISIBLE_MARKS if record.mark(mark)})
    hashes = signals.hashes(pixels)
    return {"produce_id": record.produce_id, "author_id": author_id, "wm_author_kind": kind, "wm_author": value,
            "wm_content": content, "path": path, "width": pixels.width, "height": pixels.height,
            "dhash": signals.to_signed(hashes["dhash"]), "phash": signals.to_signed(hashes["phash"]),
            "marks": json.dumps(kept, ensure_ascii=False), "thumbnail": thumbnail_bytes(pixels),
            "mark_crops": json.dumps(crops)}


class Registry:
    """A registry file. Use as a context manager; safe to reopen and append to.

    ``read_only`` opens it for lookups only (scan workers): many processes may read while one writes."""

    def __init__(self, path: Path | str, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        if read_only:
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        else:
            self._db = sqlite3.connect(str(self.path), timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)
        self._index = None

    def __reduce__(self):
        """Pickled as its path: each worker process opens its own connection."""
        return (type(self), (str(self.path), self.read_only))

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if not self.read_only:
            self._db.commit()
        self._db.close()

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM originals").fetchone()[0]

    # --- writing ---

    _ROW = ("produce_id", "author_id", "wm_author_kind", "wm_author", "wm_content", "path", "width", "height",
            "dhash", "phash", "marks", "thumbnail", "mark_crops")

    def insert(self, row: dict) -> None:
        """Insert a prepared row in its own transaction; a row already there (same ProduceID) is kept."""
        with self._db:
            self._db.execute(f"INSERT OR IGNORE INTO originals ({', '.join(self._ROW)}) VALUES "
                             f"({', '.join('?' * len(self._ROW))})", [row[name] for name in self._ROW])
        self._index = None

    def add(self, record: LabelRecord, pixels: Image.Image, author_id: str | None = None,
            path: str | None = None) -> None:
        """Register a labelled image from its labelling record and its final pixels."""
        self.insert(prepare_row(record, pixels, author_id, path))

    def has_produce_id(self, produce_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM originals WHERE produce_id = ?", (produce_id,)).fetchone() is not None

    @staticmethod
    def prepare(record: LabelRecord, pixels: Image.Image, author_id: str | None = None,
                path: str | None = None) -> dict:
        return prepare_row(record, pixels, author_id, path)

    def add_many(self, rows: list[tuple]) -> None:
        """Bulk insert of raw rows (benchmarks): (produce_id, author_id, kind, author, content, path, width,
        height, dhash, phash, marks_json, thumbnail)."""
        self._db.executemany(
            "INSERT INTO originals (produce_id, author_id, wm_author_kind, wm_author, wm_content, path, width,"
            " height, dhash, phash, marks, thumbnail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        self._db.commit()
        self._index = None

    # --- reading ---

    def _original(self, row) -> Original:
        (id_, produce_id, author_id, path, width, height, dhash, phash, marks, thumbnail, content, crops, kind,
         author) = row
        by_kind = lambda text: {mark_kind(name): value for name, value in json.loads(text).items()}  # noqa: E731
        payload = None
        if content is not None and kind is not None and author is not None:
            payload = WatermarkPayload(author_id=str(author) if kind == 0 else f"hash:{author:09x}",
                                       content_id=content)
        return Original(id_, produce_id, author_id, path, (width, height),
                        {"dhash": signals.to_unsigned(dhash), "phash": signals.to_unsigned(phash)},
                        by_kind(marks), thumbnail, content is not None, by_kind(crops) if crops else None, payload)

    _COLUMNS = ("id, produce_id, author_id, path, width, height, dhash, phash, marks, thumbnail, wm_content,"
                " mark_crops, wm_author_kind, wm_author")

    def get(self, id_: int) -> Original | None:
        row = self._db.execute(f"SELECT {self._COLUMNS} FROM originals WHERE id = ?", (id_,)).fetchone()
        return self._original(row) if row else None

    def by_produce_id(self, produce_id: str) -> list[Original]:
        rows = self._db.execute(f"SELECT {self._COLUMNS} FROM originals WHERE produce_id = ?", (produce_id,)).fetchall()
        return [self._original(row) for row in rows]

    def by_watermark(self, payload: WatermarkPayload) -> list[Original]:
        """Originals whose watermark carried exactly this payload."""
        kind, value = WatermarkPayload.author_field(payload.author_id)
        rows = self._db.execute(
            f"SELECT {self._COLUMNS} FROM originals WHERE wm_author_kind = ? AND wm_author = ? AND wm_content = ?",
            (kind, value, payload.content_id)).fetchall()
        return [self._original(row) for row in rows]

    def _hash_index(self) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
        """(ids, one contiguous uint64 array per signal, scratch buffer), loaded once."""
        if self._index is None:
            rows = self._db.execute("SELECT id, dhash, phash FROM originals").fetchall()
            table = np.array(rows, dtype=np.int64).reshape(-1, 3)
            columns = [np.ascontiguousarray(table[:, k + 1]).view(np.uint64) for k in range(len(signals.SIGNALS))]
            self._index = (table[:, 0].copy(), columns, np.empty(len(rows), dtype=np.uint64))
        return self._index

    def nearest(self, hashes: dict[str, int], limit: int = 3) -> list[tuple[int, dict[str, int]]]:
        """(id, distances) of registered originals within any signal's threshold, closest first.

        One XOR and popcount per entry and signal, into preallocated buffers: ~2 ms at a million entries."""
        ids, columns, scratch = self._hash_index()
        if ids.size == 0:
            return []
        within = np.zeros(ids.size, dtype=bool)
        for signal, column in zip(signals.SIGNALS, columns):
            np.bitwise_xor(column, np.uint64(hashes[signal.name]), out=scratch)
            np.logical_or(within, np.bitwise_count(scratch) <= signal.threshold, out=within)
        hits = np.flatnonzero(within)
        found = []
        for index in hits:
            distances = {s.name: signals.HashSignal.distance(int(column[index]), hashes[s.name])
                         for s, column in zip(signals.SIGNALS, columns)}
            found.append((min(distances[s.name] / s.threshold for s in signals.SIGNALS), int(ids[index]), distances))
        found.sort(key=lambda item: item[0])
        return [(id_, distances) for _, id_, distances in found[:limit]]
