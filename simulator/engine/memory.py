"""Giving the C allocator's free memory back to the system between chunks (glibc only)."""

from __future__ import annotations

import ctypes

__all__ = ["release_free_memory"]


def _libc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to do
        return None


_MALLOC_TRIM = _libc_trim()


def release_free_memory() -> None:
    """Give the C allocator's free memory back to the system (glibc ``malloc_trim``; no-op elsewhere).

    The decision threads allocate from their own glibc arenas, which keep freed blocks: without this
    the resident size of a 24-h replay grew by ~53 MB per simulated hour while the Python heap stayed
    flat (measured on starlink-24h.toml, 3 h); trimmed at each chunk's end it stayed at 472 MB.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
