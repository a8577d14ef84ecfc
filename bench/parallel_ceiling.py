"""What two processes get out of this machine's cores, for comparison with ``--jobs 2`` (issue 9): a pure
Python loop and a memory-bound numpy loop, each alone and two at once; the corpus labelled as two halves by
two separate ``aimark label -j 1`` commands, one after the other and at once; and labelling without the
watermark at ``-j 1`` and ``-j 2``.

    .venv/bin/python bench/parallel_ceiling.py [--corpus ../shared/corpus]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def python_loop(_=None) -> None:
    total = 0
    for i in range(12_000_000):
        total += i * i % 7


def numpy_loop(_=None) -> None:
    a = np.random.default_rng(0).random(40_000_000, dtype=np.float32)  # 160 MB: far beyond the caches
    for _ in range(25):
        a = a * 1.0001 + 0.5


def speed_up(work) -> float:
    """One run alone against two runs at once in two processes (each warmed up first: the first run of a
    process also pays for the pages its arrays are first given)."""
    work()
    began = time.perf_counter()
    work()
    alone = time.perf_counter() - began
    with get_context("spawn").Pool(2) as pool:
        pool.map(work, [None, None])  # start-up of the pool's processes out of the timing
        began = time.perf_counter()
        pool.map(work, [None, None])
        both = time.perf_counter() - began
    return 2 * alone / both


def timed(commands: list[list[str]], env: dict, at_once: bool) -> float:
    began = time.perf_counter()
    if at_once:
        for process in [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL) for c in commands]:
            process.wait()
    else:
        for command in commands:
            subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; speed-up = work of two processes at once against one after the other\n")
    print(f"pure Python loop           {speed_up(python_loop):5.2f}x")
    print(f"memory-bound numpy loop    {speed_up(numpy_loop):5.2f}x")
    work = Path(tempfile.mkdtemp())
    aimark = str(Path(sys.executable).with_name("aimark"))
    env = {**os.environ, "AIMARK_KEYS": str(work / "keys")}
    subprocess.run([aimark, "keys", "init", "--org", "Bench"], env=env, check=True, capture_output=True)
    files = sorted(p for p in args.corpus.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    halves = [files[0::2], files[1::2]]  # alternate files: both halves hold large and small pictures

    def label(inputs, out, *extra):
        return [aimark, "label", *map(str, inputs), "-o", str(work / out), "-p", "BENCH", "-a", "1234567890",
                "-q", *extra]

    apart = timed([label(h, f"apart{k}", "-j", "1") for k, h in enumerate(halves)], env, at_once=False)
    together = timed([label(h, f"together{k}", "-j", "1") for k, h in enumerate(halves)], env, at_once=True)
    print(f"two halves of {len(files)} photos, two 'aimark label -j 1' commands: {apart:.1f} s one after the other, "
          f"{together:.1f} s at once = {apart / together:.2f}x")
    one = timed([label(files, "nowm1", "-j", "1", "--no-watermark")], env, at_once=False)
    two = timed([label(files, "nowm2", "-j", "2", "--no-watermark")], env, at_once=False)
    print(f"'aimark label --no-watermark' on {len(files)} photos: -j 1 {one:.1f} s, -j 2 {two:.1f} s = {one / two:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
