"""Files written whole or not at all, their checksums, and the versions a run records.

Neutral helpers shared by the run directory (:mod:`simulator.engine.manifest`), sweeps and figure
experiments (:mod:`simulator.experiments`) and reports (:mod:`simulator.analysis`), so none of them
imports another layer for a file helper.
"""

from __future__ import annotations

import hashlib
import os
import platform
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

__all__ = ["PACKAGES", "TMP_SUFFIX", "commit_tmp", "file_sha256", "package_versions", "write_atomic"]

TMP_SUFFIX = ".tmp"
#: Distributions whose versions are recorded in every manifest.
PACKAGES = ("leosim", "numpy", "scipy", "sgp4", "skyfield", "simpy", "cvxpy", "clarabel", "pandas", "pyarrow")


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit_tmp(tmp: Path, path: Path) -> None:
    """Make the finished temporary file ``tmp`` durable and atomically rename it to ``path``.

    fsync of the file, ``os.replace`` (atomic within one file system), fsync of the folder so the
    rename itself survives a power cut. ``tmp`` must be in the same folder as ``path``.
    """
    _fsync_path(tmp)
    os.replace(tmp, path)
    _fsync_path(path.parent)


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` atomically: ``write(tmp)`` fills ``<path>.tmp``, then :func:`commit_tmp`.

    If ``write`` raises, the temporary file is removed and the exception propagates; ``path`` keeps
    its previous content. A crash (power cut, SIGKILL) can leave only a stray ``*.tmp`` file.
    """
    path = Path(path)
    tmp = path.with_name(path.name + TMP_SUFFIX)
    try:
        write(tmp)
        commit_tmp(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno is not None and not exc.filename:
            exc.filename = str(path)  # ENOSPC and friends: say which file could not be written
        raise


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def package_versions() -> dict[str, str | None]:
    """Installed version of Python and of each of :data:`PACKAGES` (None = not installed)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found
