"""Pilot assignment with τ_p orthogonal pilots (004 Sec. III-B; CF-mMIMO with τ_p < K, 000 eqs 38–51).

004 lets the RSAP assign each user's pilot and cites the scalable cell-free procedure of Björnson &
Sanguinetti (2020, Sec. V-A, "joint initial access, pilot assignment and cluster formation"): users
are taken one at a time; the first τ_p get mutually orthogonal pilots and every later user takes the
pilot with the least pilot contamination, i.e. the smallest

    c_t(k) = Σ_{l ∈ A_k} Σ_{i ∈ P_t} β_{l,i}

where P_t are the users already on pilot t and A_k is the set of satellites that will estimate user
k's channel: its serving cluster (``scope="cluster"``, default — the serving cluster is what the
RSAP coordinates in 004) or its RSAP alone (``scope="rsap"``, Björnson & Sanguinetti's master-AP
rule). Ties go to the least-used pilot, then to the lowest index (or a random one with ``rng``).

:func:`one_user_per_pilot` applies the companion rule of the same procedure: a satellite serves at
most one user per pilot (its co-located antennas use orthogonal pilots, 004 Sec. III-B), the
strongest one.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from .clusters import serving_mask

__all__ = ["assign_pilots", "pilot_contamination", "one_user_per_pilot"]


def _estimators(mask: np.ndarray, rsap: np.ndarray | None, scope: str) -> np.ndarray:
    """(S, U) float: which satellites estimate each user's channel (A_k)."""
    if scope == "cluster":
        return mask.astype(float)
    if scope == "rsap":
        if rsap is None:
            raise InputError("scope='rsap' needs rsap (U,) — the RSAP of every user")
        return serving_mask(rsap, mask.shape[0]).astype(float)
    raise InputError(f"scope={scope!r}; use 'cluster' or 'rsap'")


def pilot_contamination(gain: ArrayLike, mask: ArrayLike, pilot: ArrayLike, n_pilots: int, *,
                        rsap: ArrayLike | None = None, scope: str = "cluster") -> np.ndarray:
    """Contamination c_{t}(k) of every pilot t seen by every user k, excluding k itself.

    Parameters
    ----------
    gain : ndarray, shape (S, U), linear — β_{l,i}; 0 where satellite l cannot hear user i
    mask : ndarray, shape (S, U), bool — serving clusters
    pilot : ndarray, shape (U,), int — assigned pilots, −1 = none
    n_pilots : int — τ_p

    Returns
    -------
    ndarray, shape (U, τ_p), linear — Σ_{l ∈ A_k} Σ_{i ∈ P_t, i ≠ k} β_{l,i}
    """
    gain = np.asarray(gain, float)
    pilot = np.asarray(pilot, np.int64)
    onehot = (pilot[:, None] == np.arange(n_pilots)[None, :]).astype(float)  # (U, τ)
    load = gain @ onehot  # (S, τ): Σ_{i ∈ P_t} β_{l,i}
    est = _estimators(np.asarray(mask, bool), None if rsap is None else np.asarray(rsap), scope)
    own = (est * gain).sum(axis=0)[:, None] * onehot  # remove k's own term on its pilot
    return est.T @ load - own


def assign_pilots(
    gain: ArrayLike,
    mask: ArrayLike,
    n_pilots: int,
    *,
    rsap: ArrayLike | None = None,
    prev_pilot: ArrayLike | None = None,
    order: ArrayLike | None = None,
    scope: str = "cluster",
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Greedy least-contamination pilot assignment (Björnson & Sanguinetti 2020, Sec. V-A; 004 III-B).

    Users with a pilot in ``prev_pilot`` keep it; users without one are assigned in ``order``
    (default: increasing index), each taking the pilot t minimising c_t(k) given every pilot assigned
    so far. Users without any estimating satellite (empty cluster / no RSAP) get −1.

    Parameters
    ----------
    gain : ndarray, shape (S, U), linear — average channel gain β; 0 for links that cannot be heard
    mask : ndarray, shape (S, U), bool — serving clusters
    n_pilots : int — τ_p ≥ 1 orthogonal pilots
    rsap : ndarray, shape (U,), int, optional — needed for ``scope="rsap"``
    prev_pilot : ndarray, shape (U,), int, optional — −1 for users to assign
    order : ndarray of user indices, optional — assignment order of the new users
    scope : ``"cluster"`` or ``"rsap"`` — which satellites' contamination counts
    rng : numpy.random.Generator, optional — random choice among exact ties (else the lowest index)

    Returns
    -------
    ndarray, shape (U,), int64 — pilot in 0 … τ_p − 1, −1 = none

    >>> g = np.array([[1.0, 1.0, 0.0], [0.0, 0.1, 1.0]])
    >>> assign_pilots(g, g > 0, 2).tolist()
    [0, 1, 0]
    """
    if int(n_pilots) != n_pilots or n_pilots < 1:
        raise InputError(f"n_pilots={n_pilots!r} must be a positive integer (τ_p)")
    n_pilots = int(n_pilots)
    gain = np.asarray(gain, float)
    mask = np.asarray(mask, bool)
    n_user = mask.shape[1]
    pilot = np.full(n_user, -1, np.int64) if prev_pilot is None else np.asarray(prev_pilot, np.int64).copy()
    if pilot.size and pilot.max() >= n_pilots:
        raise InputError(f"prev_pilot holds pilot {pilot.max()} but n_pilots={n_pilots}")
    est = _estimators(mask, None if rsap is None else np.asarray(rsap), scope)
    served = est.any(axis=0)
    pilot[~served] = -1
    onehot = (pilot[:, None] == np.arange(n_pilots)[None, :]).astype(float)
    load = gain @ onehot  # (S, τ)
    count = onehot.sum(axis=0)
    todo = np.arange(n_user) if order is None else np.asarray(order, np.int64)
    for k in todo[(pilot[todo] < 0) & served[todo]]:
        c = est[:, k] @ load
        tied = np.flatnonzero(c <= c.min())
        tied = tied[count[tied] <= count[tied].min()]
        t = int(tied[0] if rng is None else rng.choice(tied))
        pilot[k] = t
        load[:, t] += gain[:, k]
        count[t] += 1
    return pilot


def one_user_per_pilot(mask: ArrayLike, gain: ArrayLike, pilot: ArrayLike, rsap: ArrayLike | None = None) -> np.ndarray:
    """Each satellite keeps at most one served user per pilot: the strongest (Björnson & Sanguinetti
    2020, Sec. V-A, step 3). RSAP links are never removed, so a satellite that is RSAP of two users
    on one pilot keeps both (the assignment with ``scope="rsap"`` avoids that while τ_p allows).

    Parameters
    ----------
    mask : ndarray, shape (S, U), bool; gain : ndarray, shape (S, U), linear
    pilot : ndarray, shape (U,), int (−1: no pilot, link dropped); rsap : ndarray, shape (U,), optional

    Returns
    -------
    ndarray, shape (S, U), bool — subset of ``mask``

    >>> one_user_per_pilot(np.ones((1, 3), bool), np.array([[1.0, 3.0, 2.0]]), np.array([0, 0, 1])).tolist()
    [[False, True, True]]
    """
    mask = np.asarray(mask, bool)
    gain = np.asarray(gain, float)
    pilot = np.asarray(pilot, np.int64)
    n_sat, n_user = mask.shape
    forced = np.zeros_like(mask)
    if rsap is not None:
        forced = serving_mask(rsap, n_sat) & mask
    out = forced.copy()
    if n_sat == 0 or n_user == 0:
        return out
    key = np.where(mask & (pilot >= 0)[None, :], gain, -np.inf)
    for t in np.unique(pilot[pilot >= 0]):
        users = np.flatnonzero(pilot == t)
        sub = key[:, users]
        best = np.argmax(sub, axis=1)
        ok = np.isfinite(sub[np.arange(n_sat), best])
        out[np.flatnonzero(ok), users[best[ok]]] = True
    return out
