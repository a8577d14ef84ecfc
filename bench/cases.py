"""The attack catalogue both benches choose from: the grid's attacks (``bench/reposts.py``: Pillow and OpenCV)
and those made by tools aimark never uses (``bench/outside_tools.py``: ImageMagick, cwebp, cjpeg), picked by
name and strength, so the watermark's robustness and the scan's false accusations are measured on the same
reposts."""

from __future__ import annotations

from bench.outside_tools import OUTSIDE, PACKAGES, SERVERS, missing
from bench.reposts import ATTACKS, BENIGN, GEOMETRY, OVERLAYS

CATALOGUE = {**ATTACKS, **{attack.name: attack for attack in OUTSIDE + SERVERS}}
GROUPS = {"grid": [a.name for a in BENIGN + GEOMETRY], "outside": [a.name for a in OUTSIDE],
          "servers": [a.name for a in SERVERS], "overlay": [a.name for a in OVERLAYS]}


def parse_cases(spec: str) -> list[tuple[str, tuple[str, object]]]:
    """``rotate,jpeg@30`` -> every strength of ``rotate`` and JPEG at 30 (a strength not in the grid is
    allowed: a new point to try); ``outside`` -> every strength of every attack in ``bench/outside_tools.py``,
    ``servers`` -> those of libvips and FFmpeg there, ``overlay`` -> a platform's own watermark drawn over the
    repost (``bench/reposts.OVERLAYS``), ``grid`` -> the default grid's (``grid,outside``: both).
    Each case is (label, (attack name, strength))."""
    cases = []
    tokens = [t for t in spec.split(",") if t]
    tokens = [name for t in tokens for name in GROUPS.get(t, [t])]
    for group in ("outside", "servers"):
        if missing(group) and any(t.partition("@")[0] in GROUPS[group] for t in tokens):
            absent = ", ".join(missing(group))
            raise SystemExit(f"the '{group}' attacks of bench/outside_tools.py need {absent}: "
                             f"apt-get install {PACKAGES[group]}")
    for token in tokens:
        name, _, strength = token.partition("@")
        if name not in CATALOGUE:
            raise SystemExit(f"no attack named {name!r}: choose from {', '.join(sorted(CATALOGUE))}, "
                             "'grid', 'outside', 'servers' or 'overlay'")
        attack = CATALOGUE[name]
        if not strength:
            cases += [(f"{name}@{s}", (name, s)) for s in attack.strengths]
            continue
        value = next((s for s in attack.strengths if str(s) == strength), None)
        if value is None:
            value = strength if isinstance(attack.strengths[0], str) else float(strength)
        cases.append((f"{name}@{strength}", (name, value)))
    return cases
