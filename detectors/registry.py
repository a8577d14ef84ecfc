"""The registry of originals: what was labelled, by whom, where its marks were, and how to find it again.

Chosen by location: a path is an embedded SQLite file (the default, no server); a ``postgresql://`` URL is
a database many machines share (``registry_store``). One row per labelled image: its ids (ProduceID,
watermark author and content fields), size, perceptual hashes (dHash, pHash, PDQ), the boxes and words of
its visible marks; apart from it, a small JPEG thumbnail from which local features are computed at match
time and the crops of its marks for the moderator's side-by-side view, read only when a match needs them.

Lookup order (``toolbox.md``): the watermark payload is an exact key that survives crops; perceptual
hashes find uncropped reposts; both only propose — local-feature geometry confirms. Hash search runs in
memory, one multi-index per signal (``hash_index``), loaded once per process and topped up with the rows
added since, so a long scan sees originals a label batch registers meanwhile.
"""

from __future__ import annotations

import base64
import io
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from aimark.labeller import visible
from aimark.labeller.vocabulary import Box, LabelRecord, MarkKind, mark_kind
from aimark.labeller.watermark import LAYOUT_VERSION, WatermarkPayload

from . import signals
from .hash_index import HashIndex
from .registry_store import HOT_COLUMNS, RegistryError, Store, is_url, open_store, redact

VISIBLE_MARKS = (MarkKind.VISIBLE_LABEL, MarkKind.AUTHOR_ID)
THUMBNAIL_SIDE = 512
CROP_GLYPH_PX = 32  # marks are kept at about this glyph height: enough to see blurring, a few KB each
CROP_PAD = 0.6  # context kept around a mark, in box heights
LAYOUT_KEYS = ("version", "label_position", "author_position")  # a format-2 payload's beyond author and content
# which of these layers an original was written with, kept beside its marks (the "marks" column's JSON; a
# registry whose rows may say so is schema 3 or later, registry_store.SCHEMA_VERSION)
RECORDED_LAYERS = (MarkKind.METADATA, MarkKind.C2PA)
LAYERS_KEY = "layers"
# whether the watermark passed its labelling self-check (read back from a simulated social repost), kept
# beside its marks too (schema 4): a repost of an original whose mark failed it is expected to carry no
# readable mark, so finding none there says nothing about being its unlabelled source
WATERMARK_CHECK_KEY = "watermark_check"
WEAK_MARK = {"survives_repost": False}  # as the JSON spells it, which Registry.counts looks for


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
    watermarked: bool = False
    payload: WatermarkPayload | None = None  # what its watermark carries
    pdq_quality: int | None = None
    media: Callable[[], tuple[bytes | None, str | None]] | None = field(default=None, compare=False, repr=False)
    _loaded: dict = field(default_factory=dict, compare=False, repr=False)
    # the metadata label and the C2PA manifest, whichever it was written with (``--no-c2pa`` writes none, a
    # format may hold neither); None for rows registered before this was kept: both taken as written
    layers: frozenset[MarkKind] | None = None
    # its watermark read back from a simulated social repost when it was labelled; True for rows registered
    # before this was kept (their marks taken as reliable, as they were)
    mark_survives_repost: bool = True

    @property
    def mark_boxes(self) -> tuple[tuple[int, int, int, int], ...]:
        """Where its visible marks are (original pixels): what a removal changes, so what no comparison of
        the picture as a whole may count against a repost."""
        return tuple(tuple(mark["box"]) for mark in self.marks.values())

    def _media(self) -> tuple[bytes | None, dict | None]:
        """The thumbnail and the marks' crops, read from the registry on first use."""
        if "media" not in self._loaded:
            thumbnail, crops = self.media() if self.media else (None, None)
            by_kind = {mark_kind(name): value for name, value in json.loads(crops).items()} if crops else None
            self._loaded["media"] = (thumbnail, by_kind)
        return self._loaded["media"]

    @property
    def thumbnail(self) -> bytes | None:
        return self._media()[0]

    @property
    def crops(self) -> dict[MarkKind, dict] | None:  # mark -> {"origin": [x, y], "scale": s, "jpeg": base64}
        return self._media()[1]

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

    def watermark_layouts(self) -> list[WatermarkPayload]:
        """The payload its watermark was written with, whole — what an informed read tests
        (``watermark.confirm``). A row that kept only the author and the content ID gives the two forms it
        may have had: format 2 with the layout its visible marks' boxes show, and format 1."""
        if self.payload is None or self.payload.version >= LAYOUT_VERSION:  # the layout was kept with it
            return [] if self.payload is None else [self.payload]
        label, author = self.box(MarkKind.VISIBLE_LABEL), self.box(MarkKind.AUTHOR_ID)
        label_at = visible.nearest_position(self.size, label.as_tuple()) if label is not None else None
        author_at = visible.nearest_position(self.size, author.as_tuple()) if author is not None else None
        layouts = [self.payload]
        if label_at is not None and (author_at is None or author_at in visible.CORNERS):
            layouts.insert(0, replace(self.payload, version=LAYOUT_VERSION, label_position=label_at,
                                      author_position=author_at))
        return layouts


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


def pdq_of_thumbnail(thumbnail: bytes | None) -> tuple[str | None, int | None]:
    """PDQ (hex) and its quality from a kept thumbnail (upgrading a registry written before PDQ)."""
    if not thumbnail:
        return None, None
    value, quality = signals.PdqHash().compute_with_quality(Image.open(io.BytesIO(thumbnail)))
    return signals.to_hex(value, 256), quality


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
    if payload and payload.get("version", 1) >= LAYOUT_VERSION:  # the layout, which the mark's own bits follow
        kept[MarkKind.WATERMARK.value] = {key: payload.get(key) for key in LAYOUT_KEYS}
    kept[LAYERS_KEY] = [kind.value for kind in RECORDED_LAYERS if record.mark(kind)]
    check = (record.mark(MarkKind.WATERMARK) or {}).get("self_check")
    if payload and check is not None:
        passed = check.get("survives_repost", True)
        kept[WATERMARK_CHECK_KEY] = {"survives_repost": True} if passed else WEAK_MARK
    crops = mark_crops(pixels, {mark.value: record.mark(mark) for mark in VISIBLE_MARKS if record.mark(mark)})
    grey = pixels.convert("L")
    pdq, quality = signals.PdqHash().compute_with_quality(grey)
    return {"produce_id": record.produce_id, "author_id": author_id, "wm_author_kind": kind, "wm_author": value,
            "wm_content": content, "path": path, "width": pixels.width, "height": pixels.height,
            "dhash": signals.to_signed(signals.DifferenceHash().compute(grey)),
            "phash": signals.to_signed(signals.DctHash().compute(grey)), "pdq": signals.to_hex(pdq, 256),
            "pdq_quality": quality, "marks": json.dumps(kept, ensure_ascii=False),
            "thumbnail": thumbnail_bytes(pixels), "mark_crops": json.dumps(crops)}


class Registry:
    """A registry of originals at ``location`` (a SQLite path or a ``postgresql://`` URL). Use as a context
    manager; safe to reopen and append to, from many processes at once.

    ``read_only`` opens it for lookups only (scan workers): they never write, and never create a registry."""

    # PostgreSQL hands out ids when a row is inserted, so concurrent writers may commit a lower id after a
    # higher one: a lookup re-reads this many ids below the highest seen. SQLite has one writer at a time.
    REFRESH_OVERLAP = {"sqlite": 0, "postgresql": 256}
    REFRESH_EVERY = 1.0  # seconds between top-ups of the index (a scan takes longer than that per image)

    def __init__(self, location: Path | str, read_only: bool = False):
        self.location = location if is_url(location) else Path(location)
        self.read_only = read_only
        self._store: Store = open_store(self.location, read_only)
        self._indexes: dict[str, HashIndex] | None = None
        self._seen_max = 0
        self._recent: set[int] = set()
        self._overlap = self.REFRESH_OVERLAP["postgresql" if is_url(location) else "sqlite"]
        self._refreshed = float("-inf")

    @property
    def path(self) -> Path | str:  # the name earlier versions used
        return self.location

    def __reduce__(self):
        """Pickled as its location: each worker process opens its own connection."""
        return (type(self), (str(self.location), self.read_only))

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._store.close()

    def __len__(self) -> int:
        return self._store.fetchone("SELECT COUNT(*) FROM originals")[0]

    def counts(self) -> dict[str, int]:
        """How many originals, how many carry a watermark payload, how many of those marks failed their
        self-check (a repost of them may carry no readable mark: only their visible marks, hashes and
        features tie it), and how many carry a PDQ hash. One pass over the rows."""
        total, watermarked, weak, with_pdq = self._store.fetchone(
            "SELECT COUNT(*), COUNT(wm_content), SUM(CASE WHEN marks LIKE ? THEN 1 ELSE 0 END), COUNT(pdq) "
            "FROM originals", (f'%"{WATERMARK_CHECK_KEY}": {json.dumps(WEAK_MARK)}%',))
        return {"originals": total, "watermarked": watermarked, "weak_marks": weak or 0, "with_pdq": with_pdq}

    def describe(self) -> str:
        """The location as a message may show it (no password)."""
        return redact(self.location)

    def state(self) -> list:
        """Changes whenever originals are added: part of what a scan's resumable records depend on."""
        return self._store.state()

    # --- writing ---

    def insert(self, row: dict) -> bool:
        """Insert a prepared row (hot columns and media) in its own transaction; a row already there (same
        ProduceID) is kept and False returned."""
        if self.read_only:
            raise RegistryError(f"the registry {self.describe()} was opened read-only")
        self._refreshed = float("-inf")
        return self._store.insert({name: row.get(name) for name in HOT_COLUMNS},
                                  {"thumbnail": row.get("thumbnail"), "mark_crops": row.get("mark_crops")})

    def add(self, record: LabelRecord, pixels: Image.Image, author_id: str | None = None,
            path: str | None = None) -> bool:
        """Register a labelled image from its labelling record and its final pixels."""
        return self.insert(prepare_row(record, pixels, author_id, path))

    def has_produce_id(self, produce_id: str) -> bool:
        return self._store.fetchone("SELECT 1 FROM originals WHERE produce_id = ?", (produce_id,)) is not None

    @staticmethod
    def prepare(record: LabelRecord, pixels: Image.Image, author_id: str | None = None,
                path: str | None = None) -> dict:
        return prepare_row(record, pixels, author_id, path)

    def add_many(self, rows: list[dict]) -> None:
        """Bulk insert of hot rows without media, in one transaction (benchmarks, migrations of hashes)."""
        self._store.insert_many([{name: row.get(name) for name in HOT_COLUMNS} for row in rows])
        self._refreshed = float("-inf")

    def rows(self, batch: int = 1000):
        """Every original's full row (hot columns and media), oldest first: what a migration copies."""
        last = 0
        while True:
            chunk = self._store.fetchall(
                f"SELECT o.id, {', '.join('o.' + c for c in HOT_COLUMNS)}, m.thumbnail, m.mark_crops FROM originals o "
                "LEFT JOIN original_media m ON m.original_id = o.id WHERE o.id > ? ORDER BY o.id LIMIT ?",
                (last, batch))
            if not chunk:
                return
            for row in chunk:
                yield dict(zip(("id", *HOT_COLUMNS, "thumbnail", "mark_crops"), row))
            last = chunk[-1][0]

    # --- reading ---

    _COLUMNS = ("id, produce_id, author_id, path, width, height, dhash, phash, pdq, marks, wm_content, "
                "wm_author_kind, wm_author, pdq_quality")

    def _original(self, row) -> Original:
        (id_, produce_id, author_id, path, width, height, dhash, phash, pdq, marks, content, kind, author,
         quality) = row
        kept = json.loads(marks)
        layout = kept.pop(MarkKind.WATERMARK.value, None) or {}
        layers = kept.pop(LAYERS_KEY, None)
        check = kept.pop(WATERMARK_CHECK_KEY, None) or {}
        payload = None
        if content is not None and kind is not None and author is not None:
            payload = WatermarkPayload(author_id=str(author) if kind == 0 else f"hash:{author:09x}",
                                       content_id=content, **layout)
        hashes = {"dhash": signals.to_unsigned(dhash), "phash": signals.to_unsigned(phash)}
        if pdq:
            hashes["pdq"] = int(pdq, 16)
        return Original(id_, produce_id, author_id, path, (width, height), hashes,
                        {mark_kind(name): value for name, value in kept.items()},
                        content is not None, payload, quality, media=lambda: self._media_of(id_),
                        layers=None if layers is None else frozenset(MarkKind(name) for name in layers),
                        mark_survives_repost=bool(check.get("survives_repost", True)))

    def _media_of(self, id_: int) -> tuple[bytes | None, str | None]:
        row = self._store.fetchone("SELECT thumbnail, mark_crops FROM original_media WHERE original_id = ?", (id_,))
        if row is None:
            return None, None
        return (bytes(row[0]) if row[0] is not None else None), row[1]

    def get(self, id_: int) -> Original | None:
        row = self._store.fetchone(f"SELECT {self._COLUMNS} FROM originals WHERE id = ?", (id_,))
        return self._original(row) if row else None

    def by_produce_id(self, produce_id: str) -> list[Original]:
        rows = self._store.fetchall(f"SELECT {self._COLUMNS} FROM originals WHERE produce_id = ?", (produce_id,))
        return [self._original(row) for row in rows]

    def by_watermark(self, payload: WatermarkPayload) -> list[Original]:
        """Originals whose watermark carried exactly this payload."""
        kind, value = WatermarkPayload.author_field(payload.author_id)
        rows = self._store.fetchall(
            f"SELECT {self._COLUMNS} FROM originals WHERE wm_author_kind = ? AND wm_author = ? AND wm_content = ?",
            (kind, value, payload.content_id))
        return [self._original(row) for row in rows]

    LOAD_BATCH = 200_000

    def _refresh(self) -> dict[str, HashIndex]:
        """The hash indexes, topped up with the rows added since the last lookup (indexed range queries, in
        batches converted by numpy: 10M rows load without a Python object per hash)."""
        if self._indexes is None:
            self._indexes = {signal.name: HashIndex(signal.bits)
                             for signal in signals.SIGNALS}
        if time.monotonic() - self._refreshed < self.REFRESH_EVERY:
            return self._indexes
        self._refreshed = time.monotonic()
        cursor = max(0, self._seen_max - self._overlap)
        while True:
            rows = self._store.fetchall("SELECT id, dhash, phash, pdq FROM originals WHERE id > ? ORDER BY id LIMIT ?",
                                        (cursor, self.LOAD_BATCH))
            if not rows:
                break
            cursor = rows[-1][0]
            fresh = [row for row in rows if row[0] > self._seen_max or row[0] not in self._recent]
            if fresh:
                self._add_rows(fresh)
            if len(rows) < self.LOAD_BATCH:
                break
        for index in self._indexes.values():
            index.settle()
        return self._indexes

    def _add_rows(self, rows: list[tuple]) -> None:
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        for position, name in ((1, "dhash"), (2, "phash")):
            codes = np.fromiter((row[position] for row in rows), dtype=np.int64, count=len(rows)).view(np.uint64)
            self._indexes[name].add(ids, codes.reshape(-1, 1), merge=False)
        with_pdq = [k for k, row in enumerate(rows) if row[3]]
        if with_pdq:
            raw = bytes.fromhex("".join(rows[k][3] for k in with_pdq))
            codes = np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, 4)
            self._indexes["pdq"].add(ids[with_pdq], codes, merge=False)
        self._remember(ids, max(self._seen_max, int(ids.max())))

    def _remember(self, ids: np.ndarray, seen_max: int) -> None:
        """The highest id indexed, and the ids within the overlap below it (PostgreSQL may commit ids out of
        order: a refresh re-reads that window and skips what it already holds)."""
        self._seen_max = seen_max
        if self._overlap:
            self._recent.update(int(i) for i in ids[ids > seen_max - self._overlap])
            self._recent = {i for i in self._recent if i > seen_max - self._overlap}

    SHARED_INDEX_FROM = 200_000  # originals from which scan workers share one mapped index (building takes ~1 s)

    def load_index(self, cache: Path | None = None) -> None:
        """Load the hash indexes now (a scan worker does it once at start, not on its first image).

        With ``cache``, the merged indexes of this registry's current contents are kept there as files that
        every worker of the machine maps read-only, so a node holds one copy in memory instead of one per
        worker (2.0 GB at ten million originals): the first worker builds and saves them under a lock, the
        others map them; rows added later go to each worker's own small tail."""
        if cache is None:
            for index in self._refresh().values():
                index.merge()
            return
        import fcntl
        import hashlib
        import shutil

        count, last = self._store.fetchone("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM originals")
        identity = hashlib.sha256(str(self._store.state()[0]).encode()).hexdigest()[:16]  # resolved path or URL
        folder = Path(cache) / f"{identity}-{last}-{count}"
        Path(cache).mkdir(parents=True, exist_ok=True)
        with open(Path(cache) / f"{identity}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one builder per registry at a time; the others wait, then map
            if not (folder / "complete").exists():
                for index in self._refresh().values():
                    index.merge()
                partial = folder.with_name(folder.name + ".partial")
                shutil.rmtree(partial, ignore_errors=True)
                for name, index in self._indexes.items():
                    index.save(partial / name)
                (partial / "complete").write_text("")
                for stale in Path(cache).glob(f"{identity}-*"):  # mapped files stay readable once unlinked
                    if stale != partial:
                        shutil.rmtree(stale, ignore_errors=True)
                partial.rename(folder)
            # mapped under the lock: a builder of a newer snapshot cannot remove these files before they are open
            self._indexes = {signal.name: HashIndex.load(folder / signal.name) for signal in signals.SIGNALS}
        self._recent = set()
        self._remember(np.asarray(self._indexes["dhash"].ids), last)
        self._refreshed = float("-inf")

    def index_bytes(self) -> int:
        """Memory the hash indexes hold."""
        return sum(index.nbytes for index in self._refresh().values())

    def nearest(self, hashes: dict[str, int], limit: int = 3) -> list[tuple[int, dict[str, int]]]:
        """(id, distances) of registered originals within any signal's threshold, closest first (by the
        distance relative to each signal's threshold)."""
        indexes = self._refresh()
        found: dict[int, dict[str, int]] = {}
        for signal in signals.SIGNALS:
            if signal.name not in hashes:
                continue
            ids, distances = indexes[signal.name].within(hashes[signal.name], signal.threshold)
            for id_, distance in zip(ids.tolist(), distances.tolist()):
                found.setdefault(id_, {})[signal.name] = distance
        if not found:
            return []
        ranked = []
        for id_, known in found.items():
            original = None
            for signal in signals.SIGNALS:  # a candidate one signal found: its distance in the others too
                if signal.name in hashes and signal.name not in known:
                    original = original or self.get(id_)
                    if original is not None and signal.name in original.hashes:
                        known[signal.name] = signal.distance(original.hashes[signal.name], hashes[signal.name])
            ranked.append((min(known[s.name] / s.threshold for s in signals.SIGNALS if s.name in known), id_, known))
        ranked.sort(key=lambda item: (item[0], item[1]))
        return [(id_, distances) for _, id_, distances in ranked[:limit]]


def index_cache_dir() -> Path:
    """Where scan workers keep the shared hash index of a large registry: $AIMARK_CACHE/index, else
    ~/.cache/aimark/index ($XDG_CACHE_HOME respected). Safe to delete at any time."""
    import os

    base = os.environ.get("AIMARK_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aimark"
    return Path(base) / "index"


def copy_registry(source: Registry, destination: Registry, batch: int = 500,
                  progress: Callable[[int], None] = lambda done: None) -> tuple[int, int]:
    """Copy every original of ``source`` into ``destination`` (SQLite -> PostgreSQL, or the reverse), media
    included; originals already there (same ProduceID) are kept as they are, so a copy that was interrupted
    is finished by running it again. Returns (copied, already there). Rows written before PDQ get it from
    their thumbnail on the way."""
    copied = kept = 0
    for row in source.rows(batch):
        if row.get("pdq") is None:
            row["pdq"], row["pdq_quality"] = pdq_of_thumbnail(row.get("thumbnail"))
        if row.get("thumbnail") is not None:
            row["thumbnail"] = bytes(row["thumbnail"])
        if destination.insert(row):
            copied += 1
        else:
            kept += 1
        progress(copied + kept)
    return copied, kept


def exported_signals(registry: Registry, min_quality: int = 50):
    """(signal type, hash, produce_id, quality) of every original's PDQ, oldest first: what a platform
    shares with hash-exchange tools. PDQ below ``min_quality`` (a picture with too little structure, e.g.
    flat colour) is left out, as Meta's Hasher-Matcher-Actioner does by default."""
    for row in registry.rows():
        if row.get("pdq") and (row.get("pdq_quality") or 0) >= min_quality:
            yield "pdq", row["pdq"], row["produce_id"], row["pdq_quality"]
