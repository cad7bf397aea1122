"""A loaded set of satellites: the hand-off between element-set readers and the propagator."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sgp4.api import Satrec

__all__ = ["Catalog"]


@dataclass(frozen=True)
class Catalog:
    """Satellites ready for SGP4, in file order.

    Attributes
    ----------
    names : tuple of str — satellite names ("" where the source had none)
    sat_ids : ndarray, shape (S,), int64 — NORAD catalogue numbers (Alpha-5 decoded)
    satrecs : tuple of sgp4.api.Satrec — one initialised SGP4 record per satellite
    source : str — where the records came from (a path, ``"<string>"`` or a generator description)
    skipped : tuple of str — one message per record skipped under ``skip_invalid`` (empty otherwise)
    retired_utc_ns : ndarray, shape (S,), int64, optional — instant (ns since 1970 UTC) from which each
        satellite is out of service (SGP4 failure or re-entry; int64 max = in service); None = all in service
    """

    names: tuple[str, ...]
    sat_ids: np.ndarray
    satrecs: tuple[Satrec, ...]
    source: str = ""
    skipped: tuple[str, ...] = field(default_factory=tuple)
    retired_utc_ns: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.satrecs)
        if len(self.names) != n or len(self.sat_ids) != n:
            raise ValueError(
                f"Catalog sizes differ: {len(self.names)} names, {len(self.sat_ids)} ids, {n} satrecs"
            )

    def __len__(self) -> int:
        return len(self.satrecs)

    @property
    def epochs_jd(self) -> np.ndarray:
        """Element-set epochs as full Julian dates (UTC), shape (S,)."""
        return np.array([s.jdsatepoch + s.jdsatepochF for s in self.satrecs], dtype=float)

    def median_epoch_jd(self) -> float:
        """Median element-set epoch, Julian date (UTC); the default start of a pass search."""
        return float(np.median(self.epochs_jd))

    def subset(self, index: np.ndarray) -> "Catalog":
        """The satellites at ``index`` (integer indices or a boolean mask), same order."""
        idx = np.arange(len(self))[np.asarray(index)]
        return Catalog(
            names=tuple(self.names[i] for i in idx),
            sat_ids=np.asarray(self.sat_ids)[idx],
            satrecs=tuple(self.satrecs[i] for i in idx),
            source=self.source,
            skipped=self.skipped,
            retired_utc_ns=None if self.retired_utc_ns is None else np.asarray(self.retired_utc_ns)[idx],
        )
