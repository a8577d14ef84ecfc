"""The registry at platform scale: bytes per original, load time and memory of the hash index, and the
time of one lookup (dHash, pHash and PDQ together, as a scan asks) at 1M and 10M synthetic originals.

Rows are a real labelled picture's row (its marks, ids and path lengths) with fresh random hashes; half the
queries are a registered original's hashes with a few bits flipped (a repost), half random (an upload
with no original). One core: the process is pinned to one CPU.

    .venv/bin/python bench/registry_scale.py --sizes 1000000,10000000
    .venv/bin/python bench/registry_scale.py --sizes 1000000 --postgres postgresql://aimark@127.0.0.1:55432/aimark
    .venv/bin/python bench/registry_scale.py --sizes '' --writers 2 --postgres postgresql://...  # write rates only
"""

from __future__ import annotations

import argparse
import os
import statistics
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

QUERIES = 400


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def template_row() -> dict:
    """A real labelled picture's registry row (hot columns only)."""
    from aimark.detectors.registry import prepare_row
    from aimark.labeller.pipeline import Labeller, LabelOptions
    from aimark.labeller.watermark import TiledSpreadSpectrum

    picture = Path(__file__).resolve().parents[1] / "tests" / "corpus" / "chelsea.png"
    labeller = Labeller(LabelOptions(producer="001191110102MACQD9K64010000", author_id="1234567890",
                                     author_template="小红书号：{id}"), watermark=TiledSpreadSpectrum())
    result = labeller.label_bytes(picture.read_bytes(), picture.name)
    return prepare_row(result.record, result.pixels, "1234567890", "/data/labelled/2026/12/04/chelsea-0001.png")


def fill(registry, size: int, template: dict, rng) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Insert ``size`` rows; returns (seconds, dhash, phash, pdq arrays) for making queries."""
    from aimark.detectors.registry_store import HOT_COLUMNS

    step = 100_000
    dh = rng.integers(-2**63, 2**63 - 1, size, dtype=np.int64)
    ph = rng.integers(-2**63, 2**63 - 1, size, dtype=np.int64)
    pdq = rng.integers(0, 2**63, (size, 4), dtype=np.int64).view(np.uint64) * np.uint64(2)
    began = time.perf_counter()
    for start in range(0, size, step):
        rows = []
        for i in range(start, min(size, start + step)):
            row = dict(template)
            row.update(produce_id=f"{i:032x}", wm_author=i, wm_content=i % (1 << 26), dhash=int(dh[i]),
                       phash=int(ph[i]), pdq="".join(f"{int(w):016x}" for w in pdq[i]))
            rows.append({name: row[name] for name in HOT_COLUMNS})
        registry.add_many(rows)
    return time.perf_counter() - began, dh, ph, pdq


SHARED = True


def shared_index(location, rng, dh) -> dict:
    """The mapped index scan workers share: seconds for the first worker to build and save it, for the
    next to map it, the size of its files (held once per machine, in the page cache), and the query
    time through the mapping."""
    from aimark.detectors import signals
    from aimark.detectors.registry import Registry

    cache = Path(tempfile.mkdtemp(prefix="aimark-index-"))
    with Registry(location, read_only=True) as first:
        began = time.perf_counter()
        first.load_index(cache)
        build = time.perf_counter() - began
    files_mb = sum(f.stat().st_size for f in cache.rglob("*.npy")) / 2**20
    with Registry(location, read_only=True) as worker:
        began = time.perf_counter()
        worker.load_index(cache)
        mapped = time.perf_counter() - began
        times = []
        for _ in range(200):
            k = int(rng.integers(len(dh)))
            query = {"dhash": signals.to_unsigned(int(dh[k])) ^ 5, "phash": int(rng.integers(0, 2**63)),
                     "pdq": int.from_bytes(rng.bytes(32), "big")}
            began = time.perf_counter()
            worker.nearest(query)
            times.append((time.perf_counter() - began) * 1000)
    import shutil

    shutil.rmtree(cache, ignore_errors=True)
    return {"build_s": build, "map_s": mapped, "files_mb": files_mb, "median_ms": statistics.median(times)}


def hot_bytes_sqlite(path: Path) -> float | None:
    with sqlite3.connect(path) as db:
        try:
            pages = db.execute("SELECT SUM(pgsize) FROM dbstat WHERE name IN ('originals', "
                               "'sqlite_autoindex_originals_1', 'originals_by_watermark')").fetchone()[0]
        except sqlite3.OperationalError:
            return None
        count = db.execute("SELECT COUNT(*) FROM originals").fetchone()[0]
    return pages / max(count, 1)


def hot_bytes_postgres(url: str) -> float:
    import psycopg

    with psycopg.connect(url) as db:
        size = db.execute("SELECT pg_total_relation_size('originals')").fetchone()[0]
        count = db.execute("SELECT COUNT(*) FROM originals").fetchone()[0]
    return size / max(count, 1)


def measure(location, size: int, template: dict) -> dict:
    from aimark.detectors import signals
    from aimark.detectors.registry import Registry
    from aimark.labeller.watermark import WatermarkPayload

    rng = np.random.default_rng(size)
    with Registry(location) as registry:
        fill_seconds, dh, ph, pdq = fill(registry, size, template, rng)
    with Registry(location, read_only=True) as registry:
        before = rss_mb()
        began = time.perf_counter()
        registry.load_index()
        load_seconds = time.perf_counter() - began
        index_mb = registry.index_bytes() / 2**20
        rss = rss_mb() - before
        times, found, mark_ms = [], 0, []
        for q in range(QUERIES):
            if q % 2 == 0:
                k = int(rng.integers(size))
                flip = lambda v, bits: v ^ sum(1 << int(b) for b in rng.choice(bits, 4, replace=False))  # noqa: E731
                query = {"dhash": flip(signals.to_unsigned(int(dh[k])), 64),
                         "phash": flip(signals.to_unsigned(int(ph[k])), 64),
                         "pdq": flip(int("".join(f"{int(w):016x}" for w in pdq[k]), 16), 256)}
            else:
                query = {"dhash": int(rng.integers(0, 2**63)), "phash": int(rng.integers(0, 2**63)),
                         "pdq": int.from_bytes(rng.bytes(32), "big")}
            began = time.perf_counter()
            hits = registry.nearest(query)
            times.append((time.perf_counter() - began) * 1000)
            found += q % 2 == 0 and bool(hits)
            payload = WatermarkPayload(author_id=str(int(rng.integers(size))), content_id=int(rng.integers(1 << 26)))
            began = time.perf_counter()
            registry.by_watermark(payload)
            mark_ms.append((time.perf_counter() - began) * 1000)
    shared = shared_index(location, rng, dh) if SHARED else None
    return {"shared": shared, "fill_s": fill_seconds, "load_s": load_seconds, "index_mb": index_mb, "rss_mb": rss,
            "median_ms": statistics.median(times), "p99_ms": float(np.percentile(times, 99)),
            "recall": found / (QUERIES // 2), "mark_ms": statistics.median(mark_ms)}


def _writer(location: str, template: dict, start: int, count: int) -> None:
    from aimark.detectors.registry import Registry

    rng = np.random.default_rng(start)
    with Registry(location) as registry:
        for i in range(start, start + count):
            row = dict(template)
            row.update(produce_id=f"w{i:031x}", wm_author=i, dhash=int(rng.integers(-2**63, 2**63 - 1)),
                       phash=int(rng.integers(-2**63, 2**63 - 1)), pdq=rng.bytes(32).hex())
            registry.insert(row)


def write_rate(location, template: dict, writers: int, count: int) -> float:
    """Originals per second that ``writers`` processes register one at a time, media included (the label
    path: one transaction per original)."""
    import multiprocessing

    from aimark.detectors.registry import Registry

    Registry(location).close()
    began = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(writers) as pool:
        pool.starmap(_writer, [(str(location), template, k * count, count) for k in range(writers)])
    return writers * count / (time.perf_counter() - began)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--postgres", help="also measure a PostgreSQL registry at this URL (its tables are dropped)")
    parser.add_argument("--writers", type=int, default=0, help="also measure N concurrent writers (label path)")
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    template = template_row()
    media = len(template["thumbnail"]) + len(template["mark_crops"])
    print(f"one real row: {media / 1024:.1f} KB of thumbnail and crops (media table), hot columns "
          f"{sum(len(str(template[k])) for k in ('produce_id', 'author_id', 'path', 'marks', 'pdq'))} bytes of text\n")
    print(f"{'backend':10} {'originals':>11} {'fill s':>7} {'hot B/row':>9} {'load s':>7} {'index MB':>9} "
          f"{'RSS MB':>7} {'query ms':>9} {'p99 ms':>7} {'recall':>7} {'mark ms':>8}")
    for size in [int(s) for s in args.sizes.split(",") if s]:
        backends = [("sqlite", None)] + ([("postgresql", args.postgres)] if args.postgres else [])
        for backend, url in backends:
            if url:
                import psycopg

                with psycopg.connect(url, autocommit=True) as db:
                    db.execute("DROP TABLE IF EXISTS original_media, originals, aimark_schema CASCADE")
                location = url
            else:
                location = Path(tempfile.mkdtemp(prefix="aimark-registry-")) / "big.sqlite"
            result = measure(location, size, template)
            hot = hot_bytes_postgres(url) if url else hot_bytes_sqlite(location)
            print(f"{backend:10} {size:11,} {result['fill_s']:7.0f} {hot or float('nan'):9.0f} {result['load_s']:7.1f} "
                  f"{result['index_mb']:9.0f} {result['rss_mb']:7.0f} {result['median_ms']:9.2f} "
                  f"{result['p99_ms']:7.2f} {result['recall']:7.0%} {result['mark_ms']:8.2f}", flush=True)
            if result["shared"]:
                shared = result["shared"]
                print(f"{'':10} {'':11} shared, mapped index: first worker builds and saves it in "
                      f"{shared['build_s']:.1f} s, each next one maps its "
                      f"{shared['files_mb']:.0f} MB in {shared['map_s']:.2f} s ({shared['median_ms']:.2f} ms per query)", flush=True)
            if not url:
                location.unlink()
    if args.writers:
        print(f"\nconcurrent writers, one transaction per original with its media ({media / 1024:.0f} KB):")
        for backend, url in [("sqlite", None)] + ([("postgresql", args.postgres)] if args.postgres else []):
            location = url or Path(tempfile.mkdtemp(prefix="aimark-registry-")) / "writes.sqlite"
            for writers in sorted({1, args.writers}):
                if url:
                    import psycopg

                    with psycopg.connect(url, autocommit=True) as db:
                        db.execute("DROP TABLE IF EXISTS original_media, originals, aimark_schema CASCADE")
                elif Path(location).exists():
                    Path(location).unlink()
                rate = write_rate(location, template, writers, 1000)
                print(f"{backend:10} {writers} writer(s): {rate:7.0f} originals/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
