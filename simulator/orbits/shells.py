"""What a catalogue holds: orbital shells, element-set ages and records SGP4 cannot propagate.

A *shell* is a group of satellites at one inclination and one altitude. Inclinations are grouped
where consecutive sorted values differ by at most ``inclination_gap_deg``; within an inclination
group, altitudes are counted in bands of ``band_km``, a band holding at least ``min_sats``
satellites is dense, and adjacent dense bands form one shell. Satellites outside dense bands are
reported apart: orbit raising, lowering, or lone satellites.

The altitude is the mean altitude ``a − R`` with ``a`` SGP4's (Brouwer) semi-major axis from the
mean motion and ``R`` the WGS-72 equatorial radius (SGP4's own constants): a few km below the
operators' nominal altitudes, which are quoted over a spherical Earth or at perigee.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sgp4.api import SGP4_ERRORS, SatrecArray

from .catalog import Catalog

__all__ = ["mean_altitude_km", "inclination_deg", "find_shells", "epoch_offsets_days", "sgp4_errors"]


def mean_altitude_km(catalog: Catalog) -> np.ndarray:
    """Mean altitude a − R_WGS72 of every satellite, km, shape (S,) (see the module docstring)."""
    return np.array([(s.a - 1.0) * s.radiusearthkm for s in catalog.satrecs], dtype=float)


def inclination_deg(catalog: Catalog) -> np.ndarray:
    """Mean inclination of every satellite, deg, shape (S,)."""
    return np.degrees([s.inclo for s in catalog.satrecs])


def _groups_by_gap(values: np.ndarray, gap: float) -> np.ndarray:
    """Label of each value's group: sorted values further apart than ``gap`` start a new group.

    >>> _groups_by_gap(np.array([53.2, 43.0, 53.05, 43.02]), 0.1).tolist()
    [2, 0, 1, 0]
    """
    order = np.argsort(values, kind="stable")
    starts = np.r_[0, np.cumsum(np.diff(values[order]) > gap)]
    labels = np.empty(len(values), dtype=np.int64)
    labels[order] = starts
    return labels


def find_shells(catalog: Catalog, *, band_km: float = 5.0, min_sats: int | None = None,
                inclination_gap_deg: float = 0.1) -> tuple[pd.DataFrame, np.ndarray]:
    """Shells of ``catalog`` (module docstring).

    Parameters
    ----------
    band_km : float, km — width of the altitude bands
    min_sats : int, optional — satellites in a dense band (default: 1 % of the catalogue, at least 5)
    inclination_gap_deg : float, deg — largest gap inside one inclination group

    Returns
    -------
    shells : DataFrame — one row per shell, by inclination then altitude: ``n_sats``,
        ``inclination_deg`` (mean), ``mean_altitude_km``, ``min_altitude_km``, ``max_altitude_km``
    shell_of : ndarray, shape (S,), int64 — row of each satellite's shell, −1 outside every shell
    """
    n = len(catalog)
    min_sats = max(5, int(np.ceil(0.01 * n))) if min_sats is None else int(min_sats)
    alt, inc = mean_altitude_km(catalog), inclination_deg(catalog)
    shell_of = np.full(n, -1, dtype=np.int64)
    rows = []
    groups = _groups_by_gap(inc, inclination_gap_deg) if n else np.empty(0, dtype=np.int64)
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        band = np.floor(alt[members] / band_km).astype(np.int64)
        bands, counts = np.unique(band, return_counts=True)
        dense = bands[counts >= min_sats]
        if not len(dense):
            continue
        run_id = np.r_[0, np.cumsum(np.diff(dense) > 1)]  # adjacent dense bands merge
        for r in np.unique(run_id):
            picked = members[np.isin(band, dense[run_id == r])]
            shell_of[picked] = len(rows)
            rows.append({"n_sats": len(picked), "inclination_deg": float(inc[picked].mean()),
                         "mean_altitude_km": float(alt[picked].mean()), "min_altitude_km": float(alt[picked].min()),
                         "max_altitude_km": float(alt[picked].max())})
    columns = ["n_sats", "inclination_deg", "mean_altitude_km", "min_altitude_km", "max_altitude_km"]
    return pd.DataFrame(rows, columns=columns), shell_of


def epoch_offsets_days(catalog: Catalog, reference_jd: float) -> np.ndarray:
    """Element-set epoch minus ``reference_jd``, days, shape (S,) (negative: older than the reference)."""
    return catalog.epochs_jd - float(reference_jd)


def sgp4_errors(catalog: Catalog, jd: float) -> pd.DataFrame:
    """Satellites SGP4 cannot propagate at the Julian date ``jd`` (UTC): decayed, or invalid elements.

    Returns
    -------
    DataFrame — ``sat_id``, ``name``, ``error_code`` (``sgp4.api`` code, 6 = decayed), ``error``
    (SGP4's message); empty when every satellite propagates
    """
    if not len(catalog):
        return pd.DataFrame({"sat_id": [], "name": [], "error_code": [], "error": []})
    whole = np.floor(jd - 0.5) + 0.5
    codes, _, _ = SatrecArray(list(catalog.satrecs)).sgp4(np.array([whole]), np.array([jd - whole]))
    bad = np.flatnonzero(codes[:, 0] != 0)
    return pd.DataFrame({"sat_id": np.asarray(catalog.sat_ids)[bad], "name": [catalog.names[i] for i in bad],
                         "error_code": codes[bad, 0].astype(np.int64),
                         "error": [SGP4_ERRORS.get(int(c), f"error {c}") for c in codes[bad, 0]]})
