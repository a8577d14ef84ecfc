"""Batches on a real Ray instance (``ray.init(num_cpus=2)``, started here): the same records as a local
``--jobs 2`` run for scan and label, in input order; a worker that dies has its image retried and then
failed alone; a hang is stopped at the timeout; the CLI's ``--ray`` writes the same JSONL as a local run.

Ray is in the test extra; without it these tests skip and say so (under ``CI=true`` they fail)."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from aimark.detectors.cli import main
from aimark.detectors.registry import Registry, prepare_row
from aimark.detectors.scan import ScanOptions
from aimark.detectors.tasks import Item, ScanTask
from aimark.labeller.batch import Journal, LabelTask, plan_batch, run_batch
from aimark.labeller.pipeline import Labeller, LabelOptions
from aimark.labeller.watermark import TiledSpreadSpectrum
from aimark.labeller.workers import Limits, run

from .conftest import PRODUCER, corpus_files, in_ci, steady_notes
from bench.hostile import itxt_inflate_bomb

AUTHOR = "1234567890"
VOLATILE = {"seconds", "run", "produce_id", "output_sha256", "timestamp", "propagate_id", "label_time",
            "content_id", "ProduceID", "PropagateID", "psnr_db", "repost_pilot_z", "gain"}
# psnr, the self-check's pilot and so the strength it settles on: the payload differs with the ProduceID


@pytest.fixture(scope="module")
def ray_local():
    try:
        import ray
    except ImportError:
        message = "Ray is not installed (pip install -e '.[test]' brings it: the aimark[ray] extra)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def stable(record) -> object:
    """A record without what differs between any two runs (times, run ids, fresh ProduceIDs)."""
    if isinstance(record, dict):
        return {k: (steady_notes(v) if k == "notes" else stable(v))
                for k, v in record.items() if k not in VOLATILE}
    if isinstance(record, (list, tuple)):
        return [stable(v) for v in record]
    return record


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("inputs")
    files = []
    for path in corpus_files()[:4]:
        files.append(folder / path.name)
        shutil.copy(path, files[-1])
    files.insert(2, folder / "itxt-bomb.png")
    files[2].write_bytes(itxt_inflate_bomb())
    return files


@pytest.fixture(scope="module")
def registry_path(tmp_path_factory, signer, inputs) -> Path:
    """Two of the inputs labelled and registered, so the scans also match originals."""
    folder = tmp_path_factory.mktemp("registry")
    labeller = Labeller(LabelOptions(producer=PRODUCER, author_id=AUTHOR, author_template="小红书号：{id}"),
                        signer=signer, watermark=TiledSpreadSpectrum())
    with Registry(folder / "originals.sqlite") as registry:
        for path in (inputs[0], inputs[1]):
            result = labeller.label_bytes(path.read_bytes(), path.name)
            registry.add(result.record, result.pixels, AUTHOR)
            (folder / f"labelled-{path.name}").write_bytes(result.data)
    return folder / "originals.sqlite"


def test_ray_that_cannot_be_reached_is_a_usage_error(tmp_path):
    """Before any Ray starts in this process: an address nothing answers at fails in seconds, saying why."""
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "--ray", "127.0.0.1:1", "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and "cannot join the Ray cluster at 127.0.0.1:1" in result.output, result.output
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "--ray", "nonsense", "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and "give 'auto', 'local'" in result.output


def test_scan_on_ray_gives_the_local_records_in_input_order(ray_local, inputs, registry_path, keys):
    labelled = sorted(registry_path.parent.glob("labelled-*"))
    items = [Item(i, str(p)) for i, p in enumerate(inputs + labelled)]
    task = ScanTask(ScanOptions(trust_anchors=keys.ca_cert.read_text()), use_ocr=False,
                    registry_path=str(registry_path))
    local = [(item.index, output.record) for item, output in run(task, items, Limits(jobs=2))]
    remote = [(item.index, output.record) for item, output in run(task, items, Limits(jobs=2, ray="local"))]
    assert [i for i, _ in remote] == list(range(len(items)))
    assert stable(remote) == stable(local)
    assert remote[2][1]["error"] and "itxt-bomb" in remote[2][1]["path"]  # the hostile file failed alone
    assert sum(r.get("match") is not None for _, r in remote) >= 2  # the labelled copies found their originals


def test_label_on_ray_writes_the_same_outputs_records_and_registry_rows(ray_local, inputs, signer, tmp_path):
    labeller = Labeller(LabelOptions(producer=PRODUCER, author_id=AUTHOR), signer=signer,
                        watermark=TiledSpreadSpectrum())
    outcomes = {}
    for name, limits in (("local", Limits(jobs=2)), ("ray", Limits(jobs=2, ray="local"))):
        plan = plan_batch([str(p) for p in inputs], tmp_path / name)
        with Registry(tmp_path / f"{name}.sqlite") as registry:
            outcome = run_batch(plan, LabelTask(labeller, registry_row=prepare_row), fingerprint=labeller.fingerprint(),
                                limits=limits, journal=Journal(tmp_path / f"{name}.jsonl"), registry=registry)
            outcomes[name] = (outcome.records, len(registry))
    local, remote = outcomes["local"], outcomes["ray"]
    assert remote[1] == local[1] == len(inputs) - 1  # every good file registered once
    strip = lambda r: {k: v for k, v in stable(r).items() if k not in ("output", "input")}  # noqa: E731
    assert [strip(r) for r in remote[0]] == [strip(r) for r in local[0]]
    assert [Path(r["output"]).name if r["output"] else None for r in remote[0]] == \
        [Path(r["output"]).name if r["output"] else None for r in local[0]]


def _dying_task(marker: str):
    """A task whose worker dies (native-crash style) on the file named 'die', and hangs on 'hang'. Defined
    in a function so Ray ships the class by value to its workers."""

    @dataclass
    class Dying:
        def setup(self) -> None:
            pass

        def __call__(self, item):
            if item.endswith("die"):
                with open(marker, "a") as log:
                    log.write("attempt\n")
                os._exit(1)
            if item.endswith("hang"):
                import time

                time.sleep(60)
            return {"item": item, "pid": os.getpid()}

        def failed(self, item, reason):
            return {"item": item, "error": reason}

    return Dying()


def test_a_dead_worker_is_retried_then_fails_alone(ray_local, tmp_path):
    """A generous timeout: each retry starts a fresh Ray worker, which takes seconds on a loaded machine
    (an 8-s limit once ran out on the retries of a CI run sharing the machine)."""
    from aimark.labeller import cluster

    marker = tmp_path / "attempts.txt"
    items = ["a", "die", "b", "c"]
    results = dict(run(_dying_task(str(marker)), items, Limits(jobs=2, ray="local", timeout=120)))
    assert [results[i]["item"] for i in ("a", "b", "c")] == ["a", "b", "c"]
    assert "worker died" in results["die"]["error"]
    assert marker.read_text().count("attempt") == cluster.RETRIES + 1  # Ray ran it again before giving up


def test_a_hang_times_out_and_the_batch_goes_on(ray_local, tmp_path):
    items = ["a", "hang", "b"]
    results = dict(run(_dying_task(str(tmp_path / "attempts.txt")), items, Limits(jobs=2, ray="local", timeout=6)))
    assert [results[i]["item"] for i in ("a", "b")] == ["a", "b"]
    assert "took longer than 6 s" in results["hang"]["error"]


def test_cli_ray_scan_appends_the_same_jsonl_as_a_local_scan(ray_local, inputs, tmp_path):
    runner = CliRunner()
    local = runner.invoke(main, ["scan", *map(str, inputs), "-o", str(tmp_path / "local"), "--fast", "-j", "2"])
    remote = runner.invoke(main, ["scan", *map(str, inputs), "-o", str(tmp_path / "ray"), "--fast", "--ray", "auto"])
    assert local.exit_code == remote.exit_code == 3, remote.output  # one unreadable input, nothing removed
    read = lambda folder: [json.loads(line) for line in (folder / "scan.jsonl").read_text().splitlines()]  # noqa: E731
    assert stable(read(tmp_path / "ray")) == stable(read(tmp_path / "local"))
    assert "<section" in (tmp_path / "ray" / "report.html").read_text()


