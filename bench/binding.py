"""Does the watermark's binding say "this mark does not belong here" only of marks copied from elsewhere?

For every picture (``../shared/corpus``, ``tests/corpus``, and the kinds ``bench/pictures.py`` draws), the
labeller's payload is embedded as the labeller embeds it (``embed_checked``); then

- every benign and geometric attack of ``bench/reposts.py`` at every strength: the mark was embedded in this
  very picture, so a "foreign" reading is a false claim (target 0), and "bound" is the reading wanted;
- transplants: the marked picture's high-pass residue (a Gaussian blur of ``--sigmas`` taken away) added to
  each of the next ``--others`` pictures, resized to it, then saved as JPEG 90 — and the same again as a
  repost (resized to 75%, JPEG 75): the mark does not belong there, so "bound" is a false confirmation
  (target 0), and "foreign" is the reading wanted.

Every decode that finds the payload reads the binding (``localise.DecodedMark.binding``); the table counts the
three verdicts per case, and prints the spread of z / expected_z over the benign decodes (the thresholds'
margin: ``binding.FOREIGN_SHARE``) and the largest z / chance_z of a transplant (``binding.BOUND_Z``).

    python bench/binding.py [--jobs 2] [--seeds 0] [--others 3] [--folders ../shared/corpus tests/corpus]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from multiprocessing import Pool
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.pictures import pictures  # noqa: E402
from bench.reposts import BENIGN, GEOMETRY, jpeg, residue_copy, scale  # noqa: E402

FOLDERS = [ROOT.parent / "shared" / "corpus", ROOT / "tests" / "corpus"]
VERDICTS = ("bound", "cannot tell", "foreign")
BOUND_Z_GRID = (3.0, 4.0, 5.0, 6.0, 8.0)  # binding.BOUND_Z tried beside the one in use
FOREIGN_GRID = ((6.0, 0.25), (8.0, 0.25), (8.0, 0.35), (10.0, 0.25), (10.0, 0.35))  # (FOREIGN_EXPECTED_Z, SHARE)


def run_picture(job):
    """(case, kind, verdict or None, z, expected_z, chance_z) for every case on one picture."""
    index, (name, image), others, sigmas = job
    from aimark.labeller import localise
    from aimark.labeller import watermark as wm

    payload = wm.WatermarkPayload.for_label("1234567890", f"bench-{index}", "bottom-left", "bottom-right")
    marked, _ = wm.embed_checked(image.convert("RGB"), payload)
    cases = [(f"{a.name}@{s:g}" if isinstance(s, float) else f"{a.name}@{s}", "benign",
              lambda a=a, s=s: a.apply(marked, s).image) for a in BENIGN + GEOMETRY for s in a.strengths]
    for sigma in sigmas:
        for other_name, other in others:
            cases.append((f"transplant σ{sigma:g}", "transplant", lambda o=other, s=sigma: residue_copy(marked, o, s)))
            cases.append((f"transplant σ{sigma:g} + repost", "transplant",
                          lambda o=other, s=sigma: jpeg(scale(residue_copy(marked, o, s), 0.75), 75)))
    rows = []
    for case, kind, attack in cases:
        attacked = attack().convert("RGB")
        found = wm.detect(attacked)
        if not payload.same_mark(found.payload):
            rows.append((case, kind, None, 0.0, 0.0, 1.0))
            continue
        reading = localise.binding_of_picture(attacked, found)
        rows.append((case, kind, reading.verdict, reading.z, reading.expected_z, reading.chance_z))
    return name, [(case, kind, verdict, z, expected, chance, name) for case, kind, verdict, z, expected, chance in rows]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=Path, nargs="*", default=FOLDERS)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--others", type=int, default=3, help="pictures each mark is transplanted onto")
    parser.add_argument("--sigmas", type=float, nargs="*", default=[1.5, 3.0], help="residue blur radii")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    images = pictures([f for f in args.folders if f.is_dir()], args.seeds)
    started = time.time()
    jobs = [(i, images[i], [images[(i + k) % len(images)] for k in range(1, args.others + 1)], args.sigmas)
            for i in range(len(images))]
    with Pool(args.jobs) as pool:
        results = pool.map(run_picture, jobs, chunksize=1)
    totals = defaultdict(lambda: defaultdict(int))
    ratios, transplant_margin, readings, claims = [], [], [], []
    for _, rows in results:
        for case, kind, verdict, z, expected, chance, name in rows:
            if verdict is not None:
                readings.append((kind, z, expected, chance))
            if (kind, verdict) in (("benign", "foreign"), ("transplant", "bound")):
                claims.append(f"{kind} {case} on {name}: {verdict} (z {z:.1f}, expected {expected:.1f}, "
                              f"chance {chance:.1f})")
            totals[(kind, case)]["cases"] += 1
            if verdict is not None:
                totals[(kind, case)][verdict] += 1
                if kind == "benign" and expected >= 4.0:
                    ratios.append(z / expected)
                if kind == "transplant":
                    transplant_margin.append(z / chance)
    print(f"{len(images)} pictures; {time.time() - started:.0f} s wall\n")
    print(f"{'case':34} {'cases':>6} {'decoded':>8} " + " ".join(f"{v:>12}" for v in VERDICTS))
    for (kind, case), counts in totals.items():
        decoded = sum(counts[v] for v in VERDICTS)
        print(f"{case:34} {counts['cases']:>6} {decoded:>8} " + " ".join(f"{counts[v]:>12}" for v in VERDICTS))
    for kind in ("benign", "transplant"):
        summed = {v: sum(c[v] for (k, _), c in totals.items() if k == kind) for v in (*VERDICTS, "cases")}
        decoded = sum(summed[v] for v in VERDICTS)
        print(f"\n{kind}: {summed['cases']} cases, {decoded} decoded: "
              + ", ".join(f"{summed[v]} {v}" for v in VERDICTS))
    if ratios:
        print("benign z / expected_z (decodes expecting >= 4): percentiles 0.1/1/5/50: "
              + " / ".join(f"{np.percentile(ratios, p):.2f}" for p in (0.1, 1, 5, 50)))
    if transplant_margin:
        print(f"transplants: z / chance_z max {max(transplant_margin):.2f}, 99th percentile "
              f"{np.percentile(transplant_margin, 99):.2f}")
    print("\nfalse claims:" + "".join(f"\n  {line}" for line in claims) if claims else "\nno false claims")
    print("\n\"bound\" needs z >= BOUND_Z x chance_z (and >= BOUND_Z), as a grid:")
    print(f"{'BOUND_Z':>8} {'benign bound':>13} {'transplants bound':>18}")
    for t in BOUND_Z_GRID:
        counts = [sum(1 for k, z, e, c in readings if k == kind and z >= t * c and z >= t)
                  for kind in ("benign", "transplant")]
        print(f"{t:>8.1f} {counts[0]:>13} {counts[1]:>18}")
    print("\n\"foreign\" needs expected_z >= FOREIGN_EXPECTED_Z and z < FOREIGN_SHARE x expected_z, as a grid:")
    print(f"{'expected':>9} {'share':>6} {'benign foreign':>15} {'transplants foreign':>20}")
    for least, share in FOREIGN_GRID:
        counts = [sum(1 for k, z, e, c in readings if k == kind and e >= least and z < share * e)
                  for kind in ("benign", "transplant")]
        print(f"{least:>9.1f} {share:>6.2f} {counts[0]:>15} {counts[1]:>20}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
