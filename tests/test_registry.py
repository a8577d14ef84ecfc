"""The registry of originals on both backends (an embedded SQLite file, a shared PostgreSQL server): the same
behaviour, compact lookup rows, concurrent writers, the upgrade of aimark 0.1 files, copying SQLite into
PostgreSQL, PDQ stored, matched and exported, and the multi-index hash search against brute force.

PostgreSQL tests need a server: ``AIMARK_TEST_POSTGRES=postgresql://...`` (``.ci/run`` starts one). Without
it they skip and say so; under ``CI=true`` they fail."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import sqlite3

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from aimark.detectors import signals
from aimark.detectors.cli import main
from aimark.detectors.hash_index import HashIndex
from aimark.detectors.registry import Registry, copy_registry, exported_signals
from aimark.detectors.registry_store import RegistryError, RegistryNeedsUpgrade
from aimark.labeller.pipeline import Labeller, LabelOptions
from aimark.labeller.vocabulary import MarkKind
from aimark.labeller.watermark import TiledSpreadSpectrum, WatermarkPayload
from bench.reposts import SUITE

from .conftest import PHOTO, PRODUCER, corpus_files, in_ci

AUTHOR = "1234567890"
POSTGRES = os.environ.get("AIMARK_TEST_POSTGRES")


def postgres_url() -> str:
    """The test server's URL with the registry's tables dropped, or a skip (a failure under CI=true)."""
    if not POSTGRES:
        message = ("no PostgreSQL server for the shared-registry tests: set AIMARK_TEST_POSTGRES="
                   "postgresql://USER@HOST:PORT/DB (.ci/run starts one from Debian's postgresql package)")
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as db:
        db.execute("DROP TABLE IF EXISTS original_media, originals, aimark_schema CASCADE")
    return POSTGRES


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path):
    return postgres_url() if request.param == "postgresql" else tmp_path / "originals.sqlite"


@pytest.fixture(scope="module")
def labelled(signer):
    labeller = Labeller(LabelOptions(producer=PRODUCER, author_id=AUTHOR, author_template="小红书号：{id}"),
                        signer=signer, watermark=TiledSpreadSpectrum())
    return labeller.label_bytes(PHOTO.read_bytes(), PHOTO.name)


def synthetic_rows(count: int, start: int = 0, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [{"produce_id": f"p{start + i}", "wm_author_kind": 0, "wm_author": start + i, "wm_content": start + i,
             "width": 1000, "height": 750, "dhash": int(rng.integers(-2**63, 2**63 - 1)),
             "phash": int(rng.integers(-2**63, 2**63 - 1)), "pdq": rng.bytes(32).hex(), "pdq_quality": 90,
             "marks": "{}"} for i in range(count)]


def test_the_counts_say_how_many_marks_failed_their_self_check(location, labelled):
    """A moderator reads from 'aimark registry info' how many originals a repost may be tied to without
    their watermark; the count is one SQL pass, the same in SQLite and PostgreSQL."""
    weak = synthetic_rows(1, 70)[0] | {"marks": json.dumps({"watermark_check": {"survives_repost": False}})}
    with Registry(location) as registry:
        registry.add(labelled.record, labelled.pixels, AUTHOR)
        registry.insert(weak)
        registry.insert(synthetic_rows(1, 71)[0] | {"wm_content": None, "pdq": None})
        assert registry.counts() == {"originals": 3, "watermarked": 2, "weak_marks": 1, "with_pdq": 2}
        [original] = registry.by_produce_id(weak["produce_id"])
        assert original.watermarked and not original.mark_survives_repost


def test_an_original_round_trips_with_its_marks_media_and_hashes(location, labelled):
    with Registry(location) as registry:
        assert registry.add(labelled.record, labelled.pixels, AUTHOR, "out/photo.jpg")
        assert not registry.add(labelled.record, labelled.pixels, AUTHOR, "out/photo.jpg")  # same ProduceID kept
        assert len(registry) == 1
    with Registry(location, read_only=True) as registry:
        [original] = registry.by_produce_id(labelled.record.produce_id)
        assert original.author_id == AUTHOR and original.path == "out/photo.jpg"
        assert original.size == labelled.pixels.size
        assert original.box(MarkKind.AUTHOR_ID) == labelled.record.box(MarkKind.AUTHOR_ID)
        assert original.payload is not None and registry.by_watermark(original.payload) == [original]
        assert Image.open(io.BytesIO(original.thumbnail)).size[0] <= 512
        assert MarkKind.AUTHOR_ID in original.crops
        expected = signals.PdqHash().compute(labelled.pixels.convert("L"))
        assert original.hashes["pdq"] == expected and original.pdq_quality >= 50
        [(found, distances)] = registry.nearest(signals.hashes(labelled.pixels))
        assert found == original.id and distances == {"dhash": 0, "phash": 0, "pdq": 0}
        with pytest.raises(RegistryError, match="read-only"):
            registry.add(labelled.record, labelled.pixels, AUTHOR)


def test_the_watermark_is_kept_whole_so_an_informed_read_can_rebuild_its_bits(tmp_path, labelled):
    """An informed read (``watermark.confirm``) needs the payload as it was written, layout included; a row
    written before the layout was kept gives the two forms it may have had, format 2 first."""
    written = WatermarkPayload(**labelled.record.mark(MarkKind.WATERMARK)["payload"])
    with Registry(tmp_path / "originals.sqlite") as registry:
        registry.add(labelled.record, labelled.pixels, AUTHOR)
        [original] = registry.by_produce_id(labelled.record.produce_id)
        assert original.watermark_layouts() == [written] and written.version == 2
        assert MarkKind.WATERMARK not in original.marks
    with sqlite3.connect(tmp_path / "originals.sqlite") as db:  # as an older aimark wrote the row
        marks = json.loads(db.execute("SELECT marks FROM originals").fetchone()[0])
        db.execute("UPDATE originals SET marks = ?", (json.dumps({k: v for k, v in marks.items()
                                                                   if k != MarkKind.WATERMARK.value}),))
    with Registry(tmp_path / "originals.sqlite", read_only=True) as registry:
        [original] = registry.by_produce_id(labelled.record.produce_id)
        guessed, old = original.watermark_layouts()
        assert guessed == written and old.version == 1 and old.identity == written.identity


def test_rows_name_their_layers_and_a_version_2_registry_is_marked_4_once_written(tmp_path, labelled):
    """Which layers an original was written with, and whether its watermark passed its self-check, live in
    its row's marks (``--no-c2pa`` writes no manifest, so none was stripped). A registry written before
    reads as before (layers unknown: taken as written; the mark taken as reliable); opened for writing it
    is marked schema 4, which an older aimark refuses at once rather than failing on each row that says
    more."""
    path = tmp_path / "originals.sqlite"
    with Registry(path) as registry:
        registry.add(labelled.record, labelled.pixels, AUTHOR)
        [original] = registry.by_produce_id(labelled.record.produce_id)
        assert original.layers == {MarkKind.METADATA, MarkKind.C2PA}
    with sqlite3.connect(path) as db:  # as the aimark before wrote it
        marks = json.loads(db.execute("SELECT marks FROM originals").fetchone()[0])
        assert marks["watermark_check"] == {"survives_repost": True}
        marks["watermark_check"] = {"survives_repost": False}
        db.execute("UPDATE originals SET marks = ?", (json.dumps(marks),))
    with Registry(path, read_only=True) as registry:
        [original] = registry.by_produce_id(labelled.record.produce_id)
        assert not original.mark_survives_repost
    with sqlite3.connect(path) as db:
        before = {name: value for name, value in marks.items() if name not in ("layers", "watermark_check")}
        db.execute("UPDATE originals SET marks = ?", (json.dumps(before),))
        db.execute("DELETE FROM aimark_schema")
        db.execute("INSERT INTO aimark_schema (version) VALUES (2)")

    def version():
        with sqlite3.connect(path) as db:
            return db.execute("SELECT MAX(version) FROM aimark_schema").fetchone()[0]

    with Registry(path, read_only=True) as registry:
        [original] = registry.by_produce_id(labelled.record.produce_id)
        assert original.layers is None and original.mark_survives_repost
    assert version() == 2
    with Registry(path):
        pass
    assert version() == 4


def test_a_sql_ascii_postgresql_database_reads_back_text(labelled):
    """A server made by initdb without a locale has SQL_ASCII databases, where psycopg returns text as
    bytes unless the connection asks for UTF-8 (seen on a clean CI machine): the registry asks."""
    import psycopg

    url = postgres_url()
    base, _, _ = url.rpartition("/")
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DROP DATABASE IF EXISTS aimark_sql_ascii")
        db.execute("CREATE DATABASE aimark_sql_ascii ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' "
                   "TEMPLATE template0")
    with Registry(f"{base}/aimark_sql_ascii") as registry:
        registry.add(labelled.record, labelled.pixels, AUTHOR, "out/照片.jpg")
        [original] = registry.by_produce_id(labelled.record.produce_id)
        assert original.author_id == AUTHOR and original.path == "out/照片.jpg"
        assert original.words(MarkKind.VISIBLE_LABEL) == "AI生成"
        assert registry.nearest(signals.hashes(labelled.pixels))[0][0] == original.id


def hot_row_bytes(location) -> float:
    if isinstance(location, str):
        import psycopg

        with psycopg.connect(location) as db:
            return db.execute("SELECT AVG(pg_column_size(o.*)) FROM originals o").fetchone()[0]
    with sqlite3.connect(location) as db:
        return db.execute("SELECT AVG(length(produce_id) + length(coalesce(author_id, '')) + length(coalesce(path, ''))"
                          " + length(marks) + length(coalesce(pdq, '')) + 8 * 8) FROM originals").fetchone()[0]


def test_the_lookup_table_stays_small_and_media_lives_apart(location, labelled):
    """Issue 14's target: <= 4 KB per original in the hot table (thumbnails and crops ~30 KB elsewhere)."""
    with Registry(location) as registry:
        registry.add(labelled.record, labelled.pixels, AUTHOR, "out/" + "x" * 200 + ".jpg")
        [row] = list(registry.rows())
    assert len(row["thumbnail"]) > 4096  # the media are real pictures...
    assert hot_row_bytes(location) < 1024  # ...and the lookup row a few hundred bytes


def _write_rows(location: str, start: int, count: int, shared: int) -> int:
    """A writer process: its own originals, then some every writer also writes (same ProduceIDs)."""
    inserted = 0
    with Registry(location) as registry:
        for row in synthetic_rows(count, start, seed=start) + synthetic_rows(shared, 10**6, seed=1):
            inserted += registry.insert(row)
    return inserted


def test_two_concurrent_writers_lose_nothing_and_duplicate_nothing(location):
    Registry(location).close()  # the schema, before the writers race
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        inserted = pool.starmap(_write_rows, [(str(location), 0, 60, 20), (str(location), 1000, 60, 20)])
    assert sum(inserted) == 140  # 60 + 60 own rows, and each shared row by exactly one writer
    with Registry(location, read_only=True) as registry:
        assert len(registry) == 140
        assert len({row["produce_id"] for row in registry.rows()}) == 140


def test_a_reader_sees_originals_added_after_it_opened(location):
    with Registry(location) as writer, Registry(location, read_only=True) as reader:
        reader.REFRESH_EVERY = 0
        rows = synthetic_rows(3)
        writer.insert(rows[0])
        assert [i for i, _ in reader.nearest({"dhash": rows[0]["dhash"] % 2**64})]
        writer.insert(rows[2])
        found = reader.nearest({"pdq": int(rows[2]["pdq"], 16)})
        assert [reader.get(i).produce_id for i, _ in found] == ["p2"]


V1_SCHEMA = """
CREATE TABLE originals (id INTEGER PRIMARY KEY, produce_id TEXT UNIQUE NOT NULL, author_id TEXT,
    wm_author_kind INTEGER, wm_author INTEGER, wm_content INTEGER, path TEXT, width INTEGER NOT NULL,
    height INTEGER NOT NULL, dhash INTEGER NOT NULL, phash INTEGER NOT NULL, marks TEXT NOT NULL,
    thumbnail BLOB, mark_crops TEXT);
CREATE INDEX originals_by_watermark ON originals (wm_author_kind, wm_author, wm_content);
"""


def version_1_file(path, labelled):
    """A registry as aimark 0.1 wrote it: one table, thumbnail and crops inline."""
    from aimark.detectors.registry import prepare_row

    row = prepare_row(labelled.record, labelled.pixels, AUTHOR, "out/photo.jpg")
    with sqlite3.connect(path) as db:
        db.executescript(V1_SCHEMA)
        columns = [c for c in row if c not in ("pdq", "pdq_quality")]
        db.execute(f"INSERT INTO originals ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                   [row[c] for c in columns])
    return row


def test_an_aimark_0_1_registry_is_upgraded_in_place_and_keeps_every_original(tmp_path, labelled):
    path = tmp_path / "old.sqlite"
    row = version_1_file(path, labelled)
    with pytest.raises(RegistryNeedsUpgrade, match="aimark registry upgrade"):
        Registry(path, read_only=True)
    result = CliRunner().invoke(main, ["registry", "upgrade", str(path)])
    assert result.exit_code == 0, result.output
    with Registry(path, read_only=True) as registry:
        [original] = registry.by_produce_id(row["produce_id"])
        assert original.thumbnail == row["thumbnail"] and original.crops
        # PDQ from the kept thumbnail, within a few bits of the full picture's
        full = signals.PdqHash().compute(labelled.pixels)
        assert signals.HashSignal.distance(original.hashes["pdq"], full) <= 16
    with sqlite3.connect(path) as db:
        columns = {r[1] for r in db.execute("PRAGMA table_info(originals)")}
    assert "thumbnail" not in columns and "pdq" in columns


def test_scan_upgrades_an_old_registry_it_is_given_and_says_so(tmp_path, labelled, keys):
    path = tmp_path / "old.sqlite"
    version_1_file(path, labelled)
    image = tmp_path / "repost.jpg"
    image.write_bytes(labelled.data)
    result = CliRunner().invoke(main, ["scan", str(image), "-R", str(path), "-o", str(tmp_path / "scan"), "--fast",
                                       "-j", "0"])
    assert "upgraded the registry" in result.output
    record = json.loads((tmp_path / "scan" / "scan.jsonl").read_text().splitlines()[-1])
    assert record["match"]["produce_id"] == labelled.record.produce_id


def test_a_sqlite_registry_copies_into_postgresql_and_a_rerun_finishes_it(tmp_path, labelled):
    url = postgres_url()
    path = tmp_path / "originals.sqlite"
    with Registry(path) as registry:
        registry.add(labelled.record, labelled.pixels, AUTHOR, "out/photo.jpg")
        registry.add_many(synthetic_rows(30))
    with Registry(path, read_only=True) as source, Registry(url) as destination:
        for row in list(source.rows())[:10]:  # an interrupted earlier copy
            destination.insert(row)
        assert copy_registry(source, destination) == (21, 10)
    result = CliRunner().invoke(main, ["registry", "migrate", str(path), url])
    assert result.exit_code == 0 and "0 originals copied" in result.output, result.output
    with Registry(path, read_only=True) as source, Registry(url, read_only=True) as copy:
        assert [{k: v for k, v in r.items() if k != "id"} for r in source.rows()] == \
            [{k: (bytes(v) if isinstance(v, memoryview) else v) for k, v in r.items() if k != "id"} for r in copy.rows()]
        [original] = copy.by_produce_id(labelled.record.produce_id)
        assert original.thumbnail and original.crops and original.payload is not None


def test_registry_urls_that_cannot_be_reached_say_what_failed(tmp_path):
    result = CliRunner().invoke(main, ["registry", "info", "postgresql://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 2 and "cannot connect to the registry" in result.output
    assert "Traceback" not in result.output
    (tmp_path / "not.sqlite").write_bytes(b"not a database at all" * 100)
    result = CliRunner().invoke(main, ["registry", "info", str(tmp_path / "not.sqlite")])
    assert result.exit_code == 2 and "not a registry" in result.output


# --- PDQ ---


def pdq(image: Image.Image) -> int:
    return signals.PdqHash().compute(image)


# Reposts PDQ matches (measured on the 27 pictures of both corpora: <= 22 bits, threshold 31). It misses
# crops, caption bars and rotations (90-156 bits) like any global hash — the watermark covers those — and
# one picture in 27 after halving (bench/registry_scale.py prints the grid).
PDQ_KEEPS = ("png", "jpeg90", "jpeg75", "jpeg50", "webp80", "long1080_jpeg85", "bright_contrast15", "blur1",
             "noise5", "erase_id", "blur_id", "cover_id")


def test_pdq_matches_the_corpus_reposts_and_tells_the_pictures_apart():
    """Every repost PDQ is meant to survive within its threshold of the original; no two different
    pictures within it."""
    pictures = [Image.open(path).convert("RGB") for path in corpus_files()]
    originals = [pdq(picture) for picture in pictures]
    threshold = signals.PdqHash.threshold
    for picture, original in zip(pictures, originals):
        box = (picture.width * 3 // 4, picture.height * 23 // 25, picture.width - 10, picture.height - 10)
        for case in PDQ_KEEPS:
            assert signals.HashSignal.distance(pdq(SUITE[case].apply(picture, box=box)), original) <= threshold, case
    for i, a in enumerate(originals):
        for b in originals[i + 1:]:
            assert signals.HashSignal.distance(a, b) > threshold


def test_pdq_hex_is_the_form_hash_exchanges_use():
    """Bit 0 of pdqhash's vector is the hex string's most significant bit, as python-threatexchange
    writes it; 64 lower-case hex digits."""
    import pdqhash

    picture = Image.open(PHOTO).convert("L")
    picture.thumbnail((512, 512), Image.Resampling.BOX)  # what PdqHash hashes
    vector, _ = pdqhash.compute(np.ascontiguousarray(np.dstack([np.asarray(picture)] * 3)))
    by_hand = "%064x" % int("".join(str(int(bit)) for bit in vector), 2)
    assert signals.to_hex(pdq(picture), 256) == by_hand


def test_export_writes_the_threatexchange_signal_file_and_csv(tmp_path, labelled):
    path = tmp_path / "originals.sqlite"
    with Registry(path) as registry:
        registry.add(labelled.record, labelled.pixels, AUTHOR)
        weak = json.dumps({"watermark_check": {"survives_repost": False}})
        flat = synthetic_rows(1, 50)[0] | {"pdq_quality": 10, "marks": weak}  # too little structure: left out
        registry.insert(flat)
        [(signal, value, produce_id, quality)] = list(exported_signals(registry))
    out = tmp_path / "hashes.txt"
    result = CliRunner().invoke(main, ["registry", "export", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == f"pdq {value}\n" and signal == "pdq" and len(value) == 64
    assert int(value, 16) == pdq(labelled.pixels.convert("L"))
    assert CliRunner().invoke(main, ["registry", "export", str(path), "-o", str(out)]).exit_code == 2  # no --force
    info = CliRunner().invoke(main, ["registry", "info", str(path)]).output.splitlines()
    assert ["originals     2", "watermarked   2"] == info[1:3] and info[3].startswith("weak marks    1 (")
    assert info[4] == "with PDQ      2"
    result = CliRunner().invoke(main, ["registry", "export", str(path), "--format", "csv"])
    assert result.output.splitlines() == ["signal_type,signal_value,produce_id,quality",
                                          f"pdq,{value},{produce_id},{quality}"]


# --- the hash index ---


@settings(max_examples=30, deadline=None)
@given(bits=st.sampled_from([64, 256]), seed=st.integers(0, 2**32 - 1), radius=st.integers(0, 40),
       merged=st.integers(0, 300))
def test_the_hash_index_finds_exactly_what_a_full_scan_finds(bits, seed, radius, merged):
    rng = np.random.default_rng(seed)
    codes = [int.from_bytes(rng.bytes(bits // 8), "big") for _ in range(300)]
    # near neighbours of a few codes, so every radius has hits
    codes += [codes[k] ^ sum(1 << int(b) for b in rng.choice(bits, int(rng.integers(0, 45)), replace=False))
              for k in range(40)]
    index = HashIndex(bits)
    index.add(range(merged), codes[:merged])
    index._merge()
    index.add(range(merged, len(codes)), codes[merged:])  # the rest in the unsorted tail
    query = codes[int(rng.integers(len(codes)))] ^ (1 << int(rng.integers(bits)))
    ids, distances = index.within(query, radius)
    truth = {i: (c ^ query).bit_count() for i, c in enumerate(codes) if (c ^ query).bit_count() <= radius}
    assert dict(zip(ids.tolist(), distances.tolist())) == truth


def test_label_and_scan_through_a_shared_postgresql_registry(tmp_path, keys):
    """The CLI end to end on PostgreSQL: two label batches (two worker processes each) write into one
    registry; a scan's workers read it and match a repost to its original."""
    url = postgres_url()
    from .conftest import SMALL_PHOTO

    env = {"AIMARK_KEYS": str(keys.folder)}
    runner = CliRunner(env=env)
    for batch in ("a", "b"):
        (tmp_path / batch).mkdir()
        Image.open(SMALL_PHOTO).convert("RGB").rotate(90 if batch == "b" else 0, expand=True).save(
            tmp_path / batch / "photo.png")
        result = runner.invoke(main, ["label", str(tmp_path / batch), "-o", str(tmp_path / f"out-{batch}"), "-p",
                                      PRODUCER, "-a", AUTHOR, "--registry", url, "-j", "2"])
        assert result.exit_code == 0, result.output
    with Registry(url, read_only=True) as registry:
        assert len(registry) == 2
    repost = tmp_path / "repost.jpg"
    labelled = Image.open(tmp_path / "out-b" / "b" / "photo.png").convert("RGB")
    labelled.resize((labelled.width * 3 // 4, labelled.height * 3 // 4)).save(repost, quality=80)
    result = runner.invoke(main, ["scan", str(repost), "-R", url, "-o", str(tmp_path / "scan"), "--fast", "-j", "1"])
    assert result.exit_code == 1, result.output  # the re-save dropped the metadata label: a real removal
    record = json.loads((tmp_path / "scan" / "scan.jsonl").read_text().splitlines()[-1])
    assert record["match"] is not None and record["match"]["path"].endswith("out-b/b/photo.png")
    assert "metadata-stripped" in {finding["kind"] for finding in record["findings"]}


def test_workers_share_one_mapped_index_that_finds_what_a_private_one_finds(tmp_path):
    """A large registry's index is built once into files every scan worker maps read-only; lookups through
    it equal a private index's, originals added after the snapshot are still found, and a registry that
    grew gets a new snapshot (the stale one removed)."""
    path, cache = tmp_path / "originals.sqlite", tmp_path / "cache"
    rows = synthetic_rows(3000)
    with Registry(path) as registry:
        registry.add_many(rows)
    queries = [{"dhash": r["dhash"] % 2**64, "phash": r["phash"] % 2**64, "pdq": int(r["pdq"], 16) ^ 0b1011}
               for r in rows[::150]] + [{"dhash": 12345, "phash": 678, "pdq": 1 << 200}]
    with Registry(path, read_only=True) as private, Registry(path, read_only=True) as first, \
            Registry(path, read_only=True) as second:
        private.load_index()
        first.load_index(cache)
        second.load_index(cache)  # maps what the first one built
        [snapshot] = [p for p in cache.iterdir() if p.is_dir()]
        assert isinstance(second._indexes["pdq"]._codes, np.memmap)
        for query in queries:
            assert private.nearest(query) == first.nearest(query) == second.nearest(query)
    with Registry(path) as writer:
        extra = synthetic_rows(1, 99999, seed=7)[0]
        writer.insert(extra)
    with Registry(path, read_only=True) as third:
        third.load_index(cache)
        [fresh] = [p for p in cache.iterdir() if p.is_dir()]
        assert fresh != snapshot and not snapshot.exists()
        [(found, _)] = third.nearest({"pdq": int(extra["pdq"], 16)})
        assert third.get(found).produce_id == "p99999"
        later = synthetic_rows(1, 123456, seed=8)[0]
        with Registry(path) as writer:
            writer.insert(later)
        third.REFRESH_EVERY = 0
        [(found, _)] = third.nearest({"dhash": later["dhash"] % 2**64})  # from this worker's own tail
        assert third.get(found).produce_id == "p123456"


def test_a_scan_worker_that_cannot_write_the_index_cache_still_scans(tmp_path, monkeypatch):
    """A large registry's shared index goes to $AIMARK_CACHE; where that cannot be written (a read-only
    home on a cluster node) the worker builds its own copy instead of failing every image."""
    from aimark.detectors.scan import ScanOptions
    from aimark.detectors.tasks import Item, ScanTask

    path = tmp_path / "originals.sqlite"
    rows = synthetic_rows(50)
    with Registry(path) as registry:
        registry.add_many(rows)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would go")
    monkeypatch.setenv("AIMARK_CACHE", str(blocked))
    monkeypatch.setattr(Registry, "SHARED_INDEX_FROM", 10)  # this small registry counts as large
    task = ScanTask(ScanOptions(), use_ocr=False, registry_path=str(path))
    task.setup()
    assert task.options.registry.nearest({"dhash": rows[3]["dhash"] % 2**64})
    image = tmp_path / "upload.png"
    Image.new("RGB", (320, 240), (120, 90, 60)).save(image)
    assert task(Item(0, str(image))).record["error"] is None
