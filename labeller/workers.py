"""Running one task over many inputs in worker processes that no single input can take down.

Platforms run aimark over untrusted uploads: one file may hang a decoder, exhaust memory or crash native
code. Each worker runs with an address-space limit, each input with a time limit; when either is hit, or a
worker dies, that input gets a one-line failure and a fresh worker takes the next one. Results come back
in input order, so ``--jobs 2`` writes the same records as ``--jobs 1``.

Workers are started from a fork server (a clean process that preloads aimark), never forked from the
caller: a C2PA signer or an onnxruntime session made before ``fork`` is unusable in the child
(``shared/spec/c2pa.md``). Each worker builds its own heavy state once (``Task.setup``).

Pebble supervises the processes (per-task timeouts, replacing expired workers); what is here is the
policy: limits, ordering, and what a failure says.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Protocol

from .errors import one_line

DEFAULT_TIMEOUT = 300.0  # seconds per input: a 50-MP photo labels in a few seconds, scans in under a minute
DEFAULT_MEMORY = 4 << 30  # address space per worker; a worker with OCR loaded maps ~0.8 GB
IN_FLIGHT_PER_WORKER = 2  # unfinished inputs per worker: one running, one queued so no worker waits
HELD_PER_WORKER = 8  # finished results held per worker while an earlier input is still running (memory bound)
PRELOAD = ["aimark.labeller.pipeline", "aimark.labeller.watermark", "aimark.labeller.c2pa"]


def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Limits:
    """How a batch runs: ``jobs`` worker processes (0 = in this process, no isolation: for debugging and
    library callers that isolate for themselves), each input at most ``timeout`` seconds, each worker at
    most ``memory`` bytes of address space (None = no limit)."""

    jobs: int = 1
    timeout: float | None = DEFAULT_TIMEOUT
    memory: int | None = DEFAULT_MEMORY
    max_pixels: int | None = None  # the pixel budget to set in each worker (None: the library default)
    ray: str | None = None  # a Ray cluster's address ('local' starts one here): run there (``cluster``)


class Task(Protocol):
    """Work on one input. Built in the caller, pickled to each worker, set up there once, then called.

    ``__call__`` handles bad input itself (its result says what failed); ``failed`` makes the result for
    an input whose worker timed out, ran out of memory or died."""

    def setup(self) -> None: ...

    def __call__(self, item: Any) -> Any: ...

    def failed(self, item: Any, reason: str) -> Any: ...


_TASK: Task | None = None


def _limit_memory(limit: int | None) -> None:
    if limit:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        ceiling = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))


def _share_cores(jobs: int) -> None:
    """Give each worker its share of the cores for OpenCV's own thread pool: with one worker per core, a
    worker that also spreads a resize over every core only oversubscribes (measured: 14.1 CPU-s for 13.3
    of work at ``-j 2``); a single worker keeps them all."""
    import cv2

    cv2.setNumThreads(max(1, default_jobs() // max(1, jobs)))


def _start_worker(task: Task, memory: int | None, max_pixels: int | None, jobs: int = 1) -> None:
    global _TASK
    _limit_memory(memory)
    _share_cores(jobs)
    if max_pixels is not None:
        from .image_io import set_pixel_limit

        set_pixel_limit(max_pixels)
    task.setup()
    _TASK = task


def _run_one(item: Any) -> Any:
    assert _TASK is not None, "worker not set up"
    return _TASK(item)


def _context():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def run(task: Task, items: Iterable[Any], limits: Limits) -> Iterator[tuple[Any, Any]]:
    """(item, result) for every item, in order; a failure in one item never stops the others."""
    if limits.ray:
        from . import cluster

        yield from cluster.run(task, items, limits)
        return
    if limits.jobs <= 0:
        yield from _run_here(task, items)
        return
    from pebble import ProcessExpired, ProcessPool

    pending: deque = deque()  # [item, future or None] in input order: results are yielded in this order
    source = iter(items)
    running = max(1, limits.jobs) * IN_FLIGHT_PER_WORKER
    held = max(running, limits.jobs * HELD_PER_WORKER)
    with ProcessPool(max_workers=limits.jobs, initializer=_start_worker,
                     initargs=(task, limits.memory, limits.max_pixels, limits.jobs),
                     context=_context()) as pool:
        def top_up() -> None:
            """Keep every worker fed. Up to ``held`` inputs are taken ahead of the oldest unfinished one; of
            those not yet started, the largest file starts first, and a new one starts as soon as any input
            finishes. Otherwise a large image at the head of the batch, or the last large one, leaves the
            other workers idle (measured on the corpus: 1.47x at ``-j 2`` in input order)."""
            while len(pending) < held:
                item = next(source, _END)
                if item is _END:
                    break
                pending.append([item, None, _cost(item)])
            waiting = [entry for entry in pending if entry[1] is None]
            busy = sum(1 for entry in pending if entry[1] is not None and not entry[1].done())
            for entry in sorted(waiting, key=lambda e: -e[2])[:max(0, running - busy)]:
                entry[1] = pool.schedule(_run_one, (entry[0],), timeout=limits.timeout)

        top_up()
        try:
            while pending:
                while pending[0][1] is None or not pending[0][1].done():
                    wait([e[1] for e in pending if e[1] is not None and not e[1].done()], return_when=FIRST_COMPLETED)
                    top_up()
                item, future, _ = pending.popleft()
                try:
                    result = future.result()
                except FutureTimeout:
                    result = task.failed(item, f"took longer than {limits.timeout:g} s and was stopped "
                                               "(raise --timeout if the file is honest and very large)")
                except ProcessExpired as exc:
                    result = task.failed(item, _death(exc.exitcode, limits))
                except MemoryError:
                    result = task.failed(item, "needs more memory than the worker may use (--max-memory)")
                except Exception as exc:  # noqa: BLE001 - a bug in one input's handling must not stop the batch
                    result = task.failed(item, one_line(f"could not be processed ({type(exc).__name__}: {exc})"))
                top_up()
                yield item, result
        finally:
            for _, future, _ in pending:
                if future is not None:
                    future.cancel()


_END = object()


def _cost(item: Any) -> int:
    """How long an input will take, as far as can be told cheaply: its file's size (0 when unknown). A
    labelling ``Job`` names its file ``source``, a read-only command's ``Item`` names it ``path``."""
    path = getattr(item, "source", None) or getattr(item, "path", None) or item
    if isinstance(path, (str, os.PathLike)):
        try:
            return os.stat(path).st_size
        except (OSError, ValueError):
            return 0
    return 0


def _death(exitcode: int | None, limits: Limits) -> str:
    if exitcode is not None and exitcode < 0:
        signal = -exitcode
        return (f"its worker was killed by signal {signal} (out of memory or a crash in a decoder); "
                f"the file was refused" + (f" (workers may use {limits.memory >> 20} MB: --max-memory)"
                                           if limits.memory else ""))
    return f"its worker stopped unexpectedly (exit code {exitcode}); the file was refused"


def _run_here(task: Task, items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
    task.setup()
    for item in items:
        try:
            result = task(item)
        except MemoryError:
            result = task.failed(item, "needs more memory than this process has")
        except Exception as exc:  # noqa: BLE001
            result = task.failed(item, one_line(f"could not be processed ({type(exc).__name__}: {exc})"))
        yield item, result
