"""The one place that converts units. Nobody else writes ``10 ** (x / 10)``.

>>> float(db_to_lin(30.0))
1000.0
>>> float(lin_to_db(100.0))
20.0
>>> float(dbm_to_w(30.0))
1.0
>>> float(w_to_dbm(0.001))
0.0
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["db_to_lin", "lin_to_db", "dbm_to_w", "w_to_dbm", "dbw_to_w", "w_to_dbw", "deg", "rad"]


def db_to_lin(x_db: ArrayLike) -> np.ndarray:
    """Power ratio in dB to a linear ratio."""
    return np.power(10.0, np.asarray(x_db, dtype=float) / 10.0)


def lin_to_db(x: ArrayLike) -> np.ndarray:
    """Linear power ratio to dB (``-inf`` for 0, as numpy gives; callers mask "no link" first)."""
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(np.asarray(x, dtype=float))


def dbm_to_w(x_dbm: ArrayLike) -> np.ndarray:
    """Power in dBm to watts."""
    return db_to_lin(np.asarray(x_dbm, dtype=float) - 30.0)


def w_to_dbm(x_w: ArrayLike) -> np.ndarray:
    """Power in watts to dBm."""
    return lin_to_db(x_w) + 30.0


def dbw_to_w(x_dbw: ArrayLike) -> np.ndarray:
    """Power in dBW to watts."""
    return db_to_lin(x_dbw)


def w_to_dbw(x_w: ArrayLike) -> np.ndarray:
    """Power in watts to dBW."""
    return lin_to_db(x_w)


def deg(x_rad: ArrayLike) -> np.ndarray:
    """Radians to degrees."""
    return np.degrees(np.asarray(x_rad, dtype=float))


def rad(x_deg: ArrayLike) -> np.ndarray:
    """Degrees to radians."""
    return np.radians(np.asarray(x_deg, dtype=float))
