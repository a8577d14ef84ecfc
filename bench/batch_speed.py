"""Batch throughput with worker processes: ``aimark label`` (and ``scan``) over a corpus with ``--jobs 1`` and
``--jobs N``, wall-clock images per second, and the peak memory of each worker (sampled from /proc).

Each run is the real command in a fresh output folder; the first run of each command warms the page cache.

    python bench/batch_speed.py [--corpus ../shared/corpus] [--jobs 1 2] [--commands label scan] [--copies 3]
    python bench/batch_speed.py --commands scan --ray      # also on a Ray head started per row (ray start)

A batch of 20 images is short: each worker's start (about 1 s: imports, signer, OCR models) and the last
large image, which one worker finishes while the other has nothing left, are a large share of its wall
time. With ``--ray``, each jobs setting also runs on a Ray head of that many CPUs started beforehand
(``ray start --head --num-cpus N``), so the rows compare the per-image work, with the driver's connection
to the cluster and the workers' set-up in the wall time as the local run's process start is. ``--copies N`` runs the corpus N times over (hard links under other folder names) to measure the
throughput a platform's long batch sees; the startup row measures one tiny image.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Sampler(threading.Thread):
    """Peak RSS of every process under ``pid``, sampled every 50 ms."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peaks, self.stop = pid, {}, threading.Event()

    def run(self):
        while not self.stop.is_set():
            for child in descendants(self.pid):
                self.peaks[child] = max(self.peaks.get(child, 0.0), rss_mb(child))
            time.sleep(0.05)


def run(command: list[str], env: dict) -> tuple[float, dict[int, float], str]:
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sampler = Sampler(process.pid)
    sampler.start()
    _, err = process.communicate()
    sampler.stop.set()
    sampler.join()
    return time.perf_counter() - started, sampler.peaks, err


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--commands", nargs="+", default=["label", "scan"], choices=["label", "scan", "inspect"])
    parser.add_argument("--repeat", type=int, default=2, help="runs per setting; the fastest is kept")
    parser.add_argument("--copies", type=int, default=1, help="the corpus this many times over")
    parser.add_argument("--ray", action="store_true", help="also run each setting on a local Ray head (aimark[ray])")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    files = sorted(p for p in args.corpus.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    if args.copies > 1:
        copies = []
        for copy in range(args.copies):
            folder = work / "inputs" / f"copy{copy}"
            folder.mkdir(parents=True)
            for path in files:
                os.link(path, folder / path.name) if path.stat().st_dev == folder.stat().st_dev else \
                    (folder / path.name).write_bytes(path.read_bytes())
                copies.append(folder / path.name)
        files = copies
    aimark = str(Path(sys.executable).with_name("aimark"))
    env = {**os.environ, "AIMARK_KEYS": str(work / "keys")}
    subprocess.run([aimark, "keys", "init", "--org", "Bench"], env=env, check=True, capture_output=True)
    labelled = work / "labelled"
    subprocess.run([aimark, "label", *map(str, files), "-o", str(labelled), "-p", "BENCH", "-a", "1234567890",
                    "-q"], env=env, check=True)
    print(f"{len(files)} images ({args.corpus}), {os.cpu_count()} cores; wall seconds, fastest of {args.repeat}")
    print(f"{'command':12} {'jobs':>4} {'seconds':>8} {'images/s':>9} {'speed-up':>9} {'workers':>8} "
          f"{'peak MB per worker':>19}")
    tiny = work / "tiny.jpg"
    from PIL import Image
    Image.new("RGB", (320, 240), (90, 120, 150)).save(tiny)
    starts: dict[str, float] = {}

    def tiny_run(command: str, extra: list[str], name: str) -> float:
        cli = [aimark, command, str(tiny), *(["-o", str(work / f"{name}-tiny")] if command != "inspect" else [])]
        cli += ["-p", "BENCH"] if command == "label" else []
        return run(cli + ["-j", "1", "-q"] + extra, env)[0]

    for command in args.commands:
        starts[command] = seconds = tiny_run(command, [], command)
        print(f"{command:12} {'start':>4} {seconds:>8.1f}   (one tiny image: the fixed cost of a run)")
    ray = str(Path(sys.executable).with_name("ray"))
    for command in args.commands:
        base, local = None, {}
        for engine in ["local"] + (["ray"] if args.ray else []):
            for jobs in args.jobs:
                if engine == "ray":
                    subprocess.run([ray, "start", "--head", "--num-cpus", str(jobs), "--include-dashboard=false"],
                                   env=env, check=True, capture_output=True)
                    starts[f"{command}@ray{jobs}"] = tiny_run(command, ["--ray", "auto"], f"{command}-ray{jobs}")
                best, peaks = None, {}
                try:
                    for attempt in range(args.repeat):
                        out = work / f"{command}-{engine}-{jobs}-{attempt}"
                        if command == "label":
                            cli = [aimark, "label", *map(str, files), "-o", str(out), "-p", "BENCH", "-a", "1234567890"]
                        else:
                            cli = [aimark, command, str(labelled), *(["-o", str(out)] if command == "scan" else [])]
                        cli += ["--ray", "auto"] if engine == "ray" else []
                        seconds, sampled, err = run(cli + ["-j", str(jobs), "-q"], env)
                        if best is None or seconds < best:
                            best, peaks = seconds, sampled
                finally:
                    if engine == "ray":
                        subprocess.run([ray, "stop", "--force"], env=env, capture_output=True)
                base = base or best
                local.setdefault(jobs, best)
                name = command if engine == "local" else f"{command}@ray"
                if engine == "local":
                    workers = sorted((mb for mb in peaks.values() if mb > 150), reverse=True)[:jobs]
                    memory = " ".join(f"{mb:.0f}" for mb in workers)
                else:  # Ray's workers are not children of the command: say the overhead instead, in all
                    # and per image (each run's one-tiny-image time taken off: connection and set-up)
                    fixed = starts[f"{command}@ray{jobs}"]
                    per_image = (best - fixed) / (local[jobs] - starts[command]) - 1
                    workers, memory = [None] * jobs, f"{best / local[jobs] - 1:+.0%}, {per_image:+.0%}/image"
                print(f"{name:12} {jobs:>4} {best:>8.1f} {len(files) / best:>9.2f} {base / best:>8.2f}x "
                      f"{len(workers):>8} {memory:>19}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
