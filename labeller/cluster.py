"""The same per-image tasks as ``workers``, run as Ray tasks on a cluster (``--ray ADDRESS``).

Ray is the engine — it places tasks on the cluster's cores, restarts a worker that dies and runs its image
again (``max_retries``) — and nothing here schedules. What is here is the batch's contract, the same as
a local run: results in input order, streamed back as they finish (at most ``IN_FLIGHT_PER_CPU`` images
per cluster core are submitted ahead, so a million-file batch never sits in the object store), and every
failure one line in that image's record: a timeout, a worker that died more than ``RETRIES`` times, a
task that ran out of memory.

Each worker process sets the task up once (OCR model, registry connection) and keeps it for every image
of the batch it runs; the task travels to the cluster once, as one object. Inputs are paths: the cluster's
nodes must see the same files (a shared or network file system), as with any Ray Data job over files.

Memory: a Ray worker maps the node's shared object store, so the local workers' address-space limit
(``--max-memory``) would stop the worker itself; on Ray, Ray's memory monitor (which kills the task using
most memory when a node runs short, reported here as that image's failure) and aimark's own in-process
bounds (pixel budget, decompression limits) keep one image from taking a node down.
"""

from __future__ import annotations

import uuid
from collections import deque
from typing import Any, Iterable, Iterator

from .errors import AimarkError, one_line

IN_FLIGHT_PER_CPU = 4  # finished results wait at most this many per core behind a slow head image
RETRIES = 2  # a worker that dies (killed, crashed in native code) has its image run again this many times
_SET_UP: dict[str, Any] = {}  # in each Ray worker process: batch id -> the task, set up once


def _ray():
    try:
        import ray
    except ImportError:
        raise AimarkError("running on a Ray cluster needs Ray: pip install 'aimark[ray]'") from None
    return ray


def connect(address: str, cpus: int | None = None) -> None:
    """Join the cluster at ``address`` ('auto', 'HOST:PORT', 'ray://HOST:10001'), or start a Ray instance on
    this machine for ``'local'``; a Ray the caller already started is used as it is."""
    ray = _ray()
    if ray.is_initialized():
        return
    _reachable(address)
    try:
        if address == "local":
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise AimarkError(one_line(f"cannot join the Ray cluster at {address} ({exc}); start one with "
                                   "'ray start --head' or pass --ray local")) from None


def _reachable(address: str, seconds: float = 5.0) -> None:
    """Refuse an address nothing answers at within ``seconds`` (Ray itself waits minutes for a head node)."""
    import socket

    if address in ("local", "auto"):
        return
    host_port = address.split("://", 1)[-1].rsplit("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise AimarkError(f"--ray {address}: give 'auto', 'local', HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except OSError as exc:
        raise AimarkError(one_line(f"cannot join the Ray cluster at {address}: nothing answers there "
                                   f"({exc.strerror or exc}); start one with 'ray start --head' or pass --ray local"))


def _run_remote(batch: str, task_ref: list, max_pixels: int | None, item: Any) -> Any:
    """One image in a Ray worker: the batch's task is set up on this worker's first image of the batch."""
    task = _SET_UP.get(batch)
    if task is None:
        import cv2

        ray = _ray()
        task = ray.get(task_ref[0])
        cv2.setNumThreads(1)  # Ray runs one task per core
        if max_pixels is not None:
            from .image_io import set_pixel_limit

            set_pixel_limit(max_pixels)
        task.setup()
        _SET_UP.clear()  # one batch at a time per worker: drop an earlier batch's models
        _SET_UP[batch] = task
    return task(item)


def run(task, items: Iterable[Any], limits) -> Iterator[tuple[Any, Any]]:
    """(item, result) for every item, in input order, computed on the Ray cluster ``limits.ray``."""
    ray = _ray()
    connect(limits.ray, cpus=limits.jobs or None)
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    remote = ray.remote(num_cpus=1, max_retries=RETRIES, retry_exceptions=False)(_run_remote)
    batch = uuid.uuid4().hex
    task_ref = [ray.put(task)]  # in a list, so Ray hands the reference itself to the worker
    pending: deque = deque()
    source = iter(items)

    def top_up() -> None:
        while len(pending) < cpus * IN_FLIGHT_PER_CPU:
            item = next(source, _END)
            if item is _END:
                return
            pending.append((item, remote.remote(batch, task_ref, limits.max_pixels, item)))

    top_up()
    try:
        while pending:
            item, ref = pending.popleft()
            yield item, _result(ray, task, item, ref, limits)
            top_up()
    finally:
        for _, ref in pending:
            ray.cancel(ref, force=True)


def _result(ray, task, item, ref, limits) -> Any:
    from ray import exceptions

    try:
        return ray.get(ref, timeout=limits.timeout)
    except exceptions.GetTimeoutError:
        ray.cancel(ref, force=True)
        return task.failed(item, f"took longer than {limits.timeout:g} s and was stopped "
                                 "(raise --timeout if the file is honest and very large)")
    except exceptions.OutOfMemoryError:
        return task.failed(item, "needs more memory than a Ray worker may use; Ray's memory monitor stopped it")
    except (exceptions.WorkerCrashedError, exceptions.RayActorError, exceptions.NodeDiedError):
        return task.failed(item, f"its Ray worker died {RETRIES + 1} times on it (a crash in a decoder or "
                                 "out of memory); the file was refused")
    except exceptions.RayTaskError as exc:  # a bug in one input's handling must not stop the batch
        cause = exc.cause if getattr(exc, "cause", None) is not None else exc
        return task.failed(item, one_line(f"could not be processed ({type(cause).__name__}: {cause})"))


_END = object()
