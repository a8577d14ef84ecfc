"""onnxruntime session settings shared by every model.

Why one thread: the product runs on small machines (2 cores) and in batch; measured here, letting each
session spread over every core oversubscribes the CPU and makes a batch slower, so parallelism belongs to
the caller (one process per core), not to the session.
"""

import os

DEFAULT_THREADS = 1


def session_threads() -> int:
    """Threads per session: ``AIMARK_ORT_THREADS`` if set, else one."""
    value = os.environ.get("AIMARK_ORT_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_THREADS
