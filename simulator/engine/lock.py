"""An exclusive OS lock on a run directory, held for the whole of ``leosim run``.

The lock is ``flock(LOCK_EX | LOCK_NB)`` on the directory itself (no lock file is written), so
the kernel releases it when the process ends in any way, kill -9 included. A second ``leosim run``
or a ``--resume`` of a run that is still going is refused with one line naming the holder's PID,
found in ``/proc/locks`` (Linux) or, failing that, in the manifest's ``pid`` field.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from ..errors import InputError

__all__ = ["RunLock", "lock_holder"]


def lock_holder(path: Path) -> int | None:
    """PID holding a ``flock`` on ``path`` according to ``/proc/locks``, None if unknown."""
    try:
        st = os.stat(path)
        text = Path("/proc/locks").read_text()
    except OSError:
        return None
    inode = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in text.splitlines():
        parts = line.split()
        if "->" in parts:  # a waiter, not the holder
            continue
        if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5] == inode:
            try:
                return int(parts[4])
            except ValueError:
                return None
    return None


def _manifest_pid(run_dir: Path) -> int | None:
    try:
        pid = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8")).get("pid")
    except (OSError, ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) else None


class RunLock:
    """``with RunLock(run_dir):`` — hold the directory's lock; raises InputError if another process has it."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.run_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = lock_holder(self.run_dir) or _manifest_pid(self.run_dir)
            who = f"leosim process {pid}" if pid else "another leosim process"
            raise InputError(
                f"{self.run_dir} is in use by {who} (run directory locked); wait for it to end or stop it "
                f"before running or resuming here"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = None

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
