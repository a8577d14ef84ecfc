"""Fuzzing as a habit: a short property-based run of every reader in each test run (the long runs are
``bench/fuzz.py``), and every input that ever crashed a reader replayed as a regression fixture."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import fuzz, hostile

REGRESSIONS = Path(__file__).parent / "fixtures" / "fuzz"
FAST = ["containers", "metadata", "c2pa", "decode", "generators"]


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> list[bytes]:
    return [p.read_bytes() for p in fuzz.make_seeds(tmp_path_factory.mktemp("seeds"))]


@pytest.fixture(scope="module")
def targets() -> dict:
    return fuzz._targets()


def test_the_seed_corpus_covers_every_format_and_carrier(seeds):
    kinds = {__import__("aimark.labeller.carriers", fromlist=["x"]).sniff_format(s) for s in seeds}
    assert {"JPEG", "PNG", "WEBP", "GIF", "TIFF", "AVIF", "HEIF"} <= kinds
    assert len(seeds) >= 25


PAST = sorted(p.name for p in REGRESSIONS.glob("*") if p.suffix != ".md") + [f"hostile:{name}" for name in hostile.HOSTILE]


@pytest.mark.parametrize("name", PAST)
def test_every_past_crash_stays_fixed(targets, name):
    """The audit's hostile files (bench/hostile.py) and every crash the fuzzer found since."""
    data = hostile.HOSTILE[name[8:]]() if name.startswith("hostile:") else (REGRESSIONS / name).read_bytes()
    for target in targets.values():
        target(data)  # raises only if the reader lets something other than AimarkError out


@pytest.mark.parametrize("target", FAST + ["inspect"])
def test_mutated_seeds_raise_nothing_but_the_projects_error(targets, seeds, target):
    function = targets[target]

    @settings(max_examples=60 if target == "inspect" else 200, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.integers(0, len(seeds) - 1), st.randoms(use_true_random=False))
    def check(index, rng):
        function(fuzz.mutate(seeds[index], rng, seeds))

    check()


@settings(max_examples=300, deadline=None, database=None)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_through_the_metadata_reader(data):
    fuzz._targets()["metadata"](data)
