"""Finding every registered hash within a Hamming radius of a query, fast at ten million entries.

Multi-index hashing (Norouzi, Punjani and Fleet, 2012): split each code into ``m`` chunks; two codes at
distance <= r agree to within ``r // m`` bits on at least one chunk (pigeonhole). Each chunk's values are
sorted once (one ``argsort``), so the entries whose chunk lies within ``r // m`` of the query's are a few
contiguous runs, found by probing every chunk value at that distance; only those candidates are compared
in full. Chunks of about log2(size) bits keep each probe's run to one or two entries (measured on
10,000,000 uniform random codes, one core: 64-bit codes in 3 chunks, 0.45 ms at r=10 and 1.8 ms at r=12;
PDQ's 256 bits in 12 chunks, 1.5 ms at r=31; a full scan takes ~30 ms; 16-bit chunks took 11 ms at r=12,
each probe's run then holding ~150 entries).

New entries go to a small tail that is scanned in full and merged into the sorted chunks when it grows
past ``MERGE_AT`` or 1/16 of the index, so a registry that grows by one row per labelled image never
re-sorts ten million entries per insert.
"""

from __future__ import annotations

import itertools
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

MERGE_AT = 65536  # below this many entries the index is all tail: one pass over it takes < 0.3 ms


@lru_cache(maxsize=64)
def _flips(bits: int, radius: int) -> np.ndarray:
    """Every ``bits``-bit mask with at most ``radius`` bits set (XOR them into a chunk value to probe)."""
    masks = [0]
    for count in range(1, radius + 1):
        masks.extend(sum(1 << bit for bit in chosen) for chosen in itertools.combinations(range(bits), count))
    return np.array(masks, dtype=np.int64)


def _words(value: int, words: int) -> np.ndarray:
    return np.array([(value >> (64 * (words - 1 - k))) & 0xFFFFFFFFFFFFFFFF for k in range(words)], dtype=np.uint64)


class HashIndex:
    """Codes of ``bits`` bits (a multiple of 64), each with an integer id; ``within(code, radius)`` gives
    the ids and distances of every code at Hamming distance <= ``radius``.

    Chunks are about log2(size) bits, chosen again at each merge (so each probe's run holds one or two
    entries), at most ``max_chunk_bits``: the chunk tables take 4 bytes per entry plus 4 * 2**chunk_bits
    bytes each, 1 GB in all for PDQ at ten million with 22-bit chunks."""

    def __init__(self, bits: int = 64, max_chunk_bits: int = 22):
        if bits % 64:
            raise ValueError("codes are a whole number of 64-bit words")
        self.bits, self.words = bits, bits // 64
        self.max_chunk_bits = max_chunk_bits
        self._layout(1)
        self._codes = np.empty((0, self.words), dtype=np.uint64)
        self._ids = np.empty(0, dtype=np.int64)
        self._sorted: list[tuple] = []  # per chunk: (order, offsets, codes in that order or None)
        self._indexed = 0  # entries covered by the sorted chunks; the rest is the tail
        self._tail_codes: list[np.ndarray] = []  # blocks of (n, words) codes, scanned in full
        self._tail_ids: list[np.ndarray] = []
        self._tail_size = 0

    def _layout(self, size: int) -> None:
        chunk_bits = int(min(self.max_chunk_bits, max(8, np.ceil(np.log2(max(size, 2))))))
        self.chunks = max(1, -(-self.bits // chunk_bits))
        self._bounds = [(self.bits * j) // self.chunks for j in range(self.chunks + 1)]

    def __len__(self) -> int:
        return self._indexed + self._tail_size

    @property
    def nbytes(self) -> int:
        """Memory held by the index (codes, ids, chunk tables)."""
        return int(self._codes.nbytes + self._ids.nbytes
                   + sum(o.nbytes + f.nbytes + (c.nbytes if c is not None else 0) for o, f, c in self._sorted)
                   + sum(block.nbytes for block in self._tail_codes + self._tail_ids))

    def add(self, ids, codes, merge: bool = True) -> None:
        """Append entries: ``codes`` as Python ints or as an (n, words) uint64 array. ``merge=False`` leaves
        them in the tail (a bulk load merges once at the end)."""
        ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
        if isinstance(codes, np.ndarray):
            rows = codes.reshape(-1, self.words).astype(np.uint64, copy=False)
        else:
            rows = np.array([_words(int(code), self.words) for code in codes], dtype=np.uint64).reshape(-1, self.words)
        if len(ids) != len(rows):
            raise ValueError("one id per code")
        if not len(ids):
            return
        self._tail_codes.append(rows)
        self._tail_ids.append(ids)
        self._tail_size += len(ids)
        if len(self._tail_codes) > 64:  # keep the tail one block, so a scan of it is one pass
            self._tail_codes, self._tail_ids = [np.concatenate(self._tail_codes)], [np.concatenate(self._tail_ids)]
        if merge:
            self.settle()

    @property
    def ids(self) -> np.ndarray:
        """The ids of the merged entries (not the tail's)."""
        return self._ids

    def settle(self) -> None:
        """Merge the tail once it has grown past MERGE_AT or 1/16 of the sorted entries (after a bulk load
        added with ``merge=False``)."""
        if self._tail_size >= max(MERGE_AT, self._indexed // 16):
            self._merge()

    def _chunk_values(self, codes: np.ndarray, j: int) -> np.ndarray:
        """Chunk ``j`` of every code (bits counted from the most significant), as int64."""
        lo, hi = self._bounds[j], self._bounds[j + 1]
        values = np.zeros(len(codes), dtype=np.uint64)
        word_lo, word_hi = lo // 64, (hi - 1) // 64
        for word in range(word_lo, word_hi + 1):
            start, end = max(lo, 64 * word), min(hi, 64 * (word + 1))
            width = end - start
            shift = 64 * (word + 1) - end  # bits to the right of the piece within its word
            piece = (codes[:, word] >> np.uint64(shift)) & np.uint64((1 << width) - 1)
            values = (values << np.uint64(width)) | piece
        return values.astype(np.int64)

    def merge(self) -> None:
        """Sort the tail into the chunk tables now (after a bulk load)."""
        if self._tail_size:
            self._merge()

    def _merge(self) -> None:
        if self._tail_size:
            self._codes = np.concatenate([self._codes, *self._tail_codes])
            self._ids = np.concatenate([self._ids, *self._tail_ids])
            self._tail_codes, self._tail_ids, self._tail_size = [], [], 0
        self._sorted = []
        self._layout(len(self._ids))
        for j in range(self.chunks):
            width = self._bounds[j + 1] - self._bounds[j]
            values = self._chunk_values(self._codes, j)
            order = np.argsort(values, kind="stable").astype(np.int32 if len(values) < 2**31 else np.int64)
            offsets = np.zeros((1 << width) + 1, dtype=np.int64)
            np.cumsum(np.bincount(values, minlength=1 << width), out=offsets[1:])
            # 64-bit codes are also kept in each chunk's order: a probe's candidates are then one contiguous
            # run to compare, not scattered reads (3.6 -> 1.8 ms at radius 12 and ten million, for 80 MB a chunk)
            ordered = self._codes[order] if self.words == 1 else None
            self._sorted.append((order, offsets.astype(np.int32 if len(values) < 2**31 else np.int64), ordered))
        self._indexed = len(self._ids)

    def _distances(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        total = np.zeros(len(rows), dtype=np.int64)
        for word in range(self.words):
            total += np.bitwise_count(rows[:, word] ^ query[word])
        return total

    def within(self, code: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, distances) of every entry at distance <= ``radius`` from ``code``, in no particular order."""
        query = _words(int(code), self.words)
        found: list[np.ndarray] = []
        if self._indexed:
            per_chunk = radius // self.chunks
            single = query.reshape(1, -1)
            for j, (order, offsets, ordered) in enumerate(self._sorted):
                width = self._bounds[j + 1] - self._bounds[j]
                probes = int(self._chunk_values(single, j)[0]) ^ _flips(width, per_chunk)
                starts, ends = offsets[probes].astype(np.int64), offsets[probes + 1].astype(np.int64)
                lengths = ends - starts
                total = int(lengths.sum())
                if not total:
                    continue
                shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
                runs = np.arange(total) + shift
                if ordered is not None:
                    close = np.bitwise_count(ordered[runs, 0] ^ query[0]) <= radius
                    found.append(order[runs[close]])
                else:
                    candidates = order[runs]
                    close = self._distances(self._codes[candidates], query) <= radius
                    found.append(candidates[close])
        positions = np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
        ids = self._ids[positions]
        distances = self._distances(self._codes[positions], query) if len(positions) else np.empty(0, np.int64)
        if self._tail_size:
            if len(self._tail_codes) > 1:
                self._tail_codes, self._tail_ids = [np.concatenate(self._tail_codes)], [np.concatenate(self._tail_ids)]
            tail_distances = self._distances(self._tail_codes[0], query)
            close = tail_distances <= radius
            ids = np.concatenate([ids, self._tail_ids[0][close]])
            distances = np.concatenate([distances, tail_distances[close]])
        return ids, distances

    # --- sharing one index between the processes of a machine ------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the merged index as .npy files (the tail is merged first)."""
        self.merge()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "codes.npy", np.ascontiguousarray(self._codes))
        np.save(folder / "ids.npy", self._ids)
        for j, (order, offsets, ordered) in enumerate(self._sorted):
            np.save(folder / f"order{j}.npy", order)
            np.save(folder / f"offsets{j}.npy", offsets)
            if ordered is not None:
                np.save(folder / f"ordered{j}.npy", ordered)
        (folder / "layout.json").write_text(json.dumps({
            "bits": self.bits, "max_chunk_bits": self.max_chunk_bits, "chunks": self.chunks,
            "bounds": self._bounds, "entries": int(len(self._ids)), "sorted": bool(self._sorted)}))

    @classmethod
    def load(cls, folder: Path) -> HashIndex:
        """An index saved by ``save``, its arrays mapped read-only: every process of a machine that maps the
        same files shares one copy in the page cache. Entries added later go to this process's own tail."""
        folder = Path(folder)
        layout = json.loads((folder / "layout.json").read_text())
        index = cls(layout["bits"], layout["max_chunk_bits"])
        index.chunks, index._bounds = layout["chunks"], layout["bounds"]
        mapped = lambda name: np.load(folder / name, mmap_mode="r")  # noqa: E731
        index._codes, index._ids = mapped("codes.npy"), mapped("ids.npy")
        if layout["sorted"]:
            index._sorted = [(mapped(f"order{j}.npy"), mapped(f"offsets{j}.npy"),
                              mapped(f"ordered{j}.npy") if (folder / f"ordered{j}.npy").exists() else None)
                             for j in range(index.chunks)]
        index._indexed = len(index._ids)
        return index
