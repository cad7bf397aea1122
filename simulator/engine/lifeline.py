"""Worker processes that never outlive the run that started them.

A ``spawn``ed worker is re-parented (to PID 1 or a sub-reaper) when its parent dies, even by
kill -9, which no handler can see. :func:`die_with_parent`, called first thing in a worker, starts a
daemon thread that checks the parent PID twice a second and ends the worker at once when it
changes. (``PR_SET_PDEATHSIG`` is not used: it fires when the *thread* that started the worker
ends, and the rate worker may be started from a decision thread.) When the worker ends, the
multiprocessing resource tracker sees its pipe close and ends too.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

__all__ = ["die_with_parent", "replay_worker_pool"]

POLL_S = 0.5


def _watch(parent: int, poll_s: float) -> None:
    while os.getppid() == parent:
        time.sleep(poll_s)
    os._exit(1)  # the run is gone: nothing to flush, nobody to report to


def die_with_parent(poll_s: float = POLL_S) -> None:
    """End this process within ``poll_s`` seconds of its parent's death (call it in the child)."""
    threading.Thread(target=_watch, args=(os.getppid(), poll_s), name="lifeline", daemon=True).start()


def _start_worker(initializer: Callable[..., None], initargs: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the replay's to handle; it shuts us down
    die_with_parent()  # a killed run leaves no idle worker behind
    initializer(*initargs)


def replay_worker_pool(workers: int, initializer: Callable[..., None], initargs: tuple) -> ProcessPoolExecutor:
    """``workers`` ``spawn``ed worker processes of a replay: each ignores Ctrl-C, ends with the
    replay (:func:`die_with_parent`), then runs ``initializer(*initargs)`` (a module-level function)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(initializer, initargs))
