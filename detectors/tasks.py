"""The per-image work of ``inspect``, ``scan`` and ``propagate``, as tasks a worker process can run.

Each task is built in the caller, pickled to each worker (its OCR engine, registry and signer rebuild
themselves there), and turns one input into a record — never an exception: a file that fails, hangs or
blows up becomes that file's one-line error (``aimark.labeller.workers``). The same tasks run locally and,
later, on a cluster.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from aimark.labeller.batch import Job, JobResult
from aimark.labeller.errors import AimarkError, input_guard
from aimark.labeller.image_io import read_source
from aimark.labeller.pipeline import sha256

from .inspect import inspect_bytes
from .scan import ScanOptions, scan


@dataclass(frozen=True)
class Item:
    """One input of a read-only command: a path, or bytes already read (standard input)."""

    index: int
    path: str
    data: bytes | None = None

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        return read_source(Path(self.path))[0]


@dataclass
class InspectTask:
    """Every layer of one file, as the JSON record ``aimark inspect --json`` prints. The OCR engine is
    loaded by ``setup`` in the process that runs the task."""

    use_ocr: bool = True
    trust_anchors: str | None = None
    watermark_key: bytes | None = None
    ocr: object | None = None

    def setup(self) -> None:
        if self.use_ocr and self.ocr is None:
            from aimark.models import OcrEngine

            self.ocr = OcrEngine()

    def __call__(self, item: Item) -> dict:
        try:
            data = item.read()
        except AimarkError as exc:
            return self.failed(item, str(exc))
        record = inspect_bytes(data, item.path, trust_anchors=self.trust_anchors, ocr=self.ocr,
                               watermark_key=self.watermark_key).as_record()
        record["input_sha256"] = sha256(data)
        return record

    def failed(self, item: Item, reason: str) -> dict:
        return {"path": item.path, "format": None, "size": None, "metadata": None, "c2pa": None, "visible": None,
                "watermark": None, "generator_watermarks": None, "error": reason, "notes": []}


@dataclass
class ScanOutput:
    """One scanned image: its JSON record and its section of the HTML report."""

    record: dict
    html: str


@dataclass
class ScanTask:
    """``scan()`` on one file, with its report section rendered where the pixels are. ``setup`` loads the
    OCR engine and opens the registry read-only in the process that runs the task."""

    options: ScanOptions
    use_ocr: bool = True
    registry_path: str | None = None

    def setup(self) -> None:
        from .registry import Registry

        ocr = None
        if self.use_ocr:
            from aimark.models import OcrEngine

            ocr = OcrEngine()
        registry = Registry(self.registry_path, read_only=True) if self.registry_path else None
        if registry is not None:
            from .registry import index_cache_dir

            large = len(registry) >= Registry.SHARED_INDEX_FROM  # then one mapped copy per machine
            try:
                registry.load_index(cache=index_cache_dir() if large else None)
            except OSError:  # a cache folder this worker cannot write or lock: its own copy, as below the size
                registry.load_index()
        self.options = replace(self.options, ocr=ocr, registry=registry)

    def fingerprint(self, registry_state: list | None = None) -> str:
        """What decides a scan's findings: a re-run resumes only records made with the same options and
        registry contents (``Registry.state()``)."""
        import hashlib
        import json

        parts = {"ocr": self.use_ocr, "trust": self.options.trust_anchors, "declared": self.options.declared_ai,
                 "key": hashlib.sha256(self.options.watermark_key or b"").hexdigest(),
                 "registry": registry_state}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

    def __call__(self, item: Item) -> ScanOutput:
        from .report import render_item

        try:
            data = item.read()
        except AimarkError as exc:
            return self.failed(item, str(exc))
        result = scan(data, self.options, name=item.path)
        record = result.as_record()
        record["input_sha256"] = sha256(data)
        return ScanOutput(record, render_item(result, item.index))

    def failed(self, item: Item, reason: str) -> ScanOutput:
        from .report import render_error

        record = {"path": item.path, "error": reason, "findings": [], "removal_found": False, "verdict": None}
        return ScanOutput(record, render_error(item.path, reason, item.index))


@dataclass
class PropagateTask:
    """Apply a platform's Art. 6 duties to one upload; the parent writes the output (like labelling)."""

    platform: str
    signer: object | None
    options: ScanOptions
    declared_ai: bool = False
    position: str = "top-left"
    use_ocr: bool = True

    def setup(self) -> None:
        if self.use_ocr and self.options.ocr is None:
            from aimark.models import OcrEngine

            self.options = replace(self.options, ocr=OcrEngine())

    def __call__(self, job: Job) -> JobResult:
        from .propagate import propagate

        started = time.perf_counter()
        record: dict = {"input": str(job.source), "output": None, "status": "failed", "error": None}
        try:
            data, _ = read_source(job.source)
            record["input_sha256"] = sha256(data)
            with input_guard("this upload"):
                done = propagate(data, platform=self.platform, propagate_id=uuid.uuid4().hex, signer=self.signer,
                                 declared_ai=self.declared_ai, options=replace(self.options),
                                 name=job.source.name, position=self.position)
        except AimarkError as exc:
            record["error"] = str(exc)
            return JobResult(record)
        record.update(status="propagated", output=str(job.target), output_sha256=sha256(done.data), **done.as_record())
        record["seconds"] = round(time.perf_counter() - started, 4)
        return JobResult(record, done.data)

    def failed(self, job: Job, reason: str) -> JobResult:
        return JobResult({"input": str(job.source), "output": None, "status": "failed", "error": reason})
