"""Benchmark clusterings and power allocations of 000 Fig. 5: distance clustering, uniform power.

000 Sec. VI-B compares Algorithm 1 with "distance-based satellite clustering that associates UE with
the nearest LEO satellites" and with "uniform power allocation that distributes the transmit power
equally among UEs", all with sMRT. The paper gives neither the number of satellites per user nor the
order of association, so here (see ``docs/algorithm1.md``):

* **distance clustering** is user-centric and round-robin: in each round every user joins its
  nearest allowed satellite that it has not joined yet and that serves fewer than K_max users
  (23b); users whose candidate is nearer go first. Without a per-user cap (``n_per_user=None``) the
  rounds continue until no satellite has room, so the scheme uses the same K_max budget as
  Algorithm 1, and no user is left without a satellite while one with room is allowed to it;
* **uniform power** gives each satellite's power equally to its served users, p_{l,k} = 1/sqrt(|K_l|)
  (meets 000 eq 14 with equality);
* **SCA power** is max-min SINR power on the clusters (``sca_power``), followed by the largest sum
  SE that keeps every user at that minimum (:mod:`simulator.cooperation.sumstage`; the minimum, and
  so Fig. 5, is unchanged), or at a fraction ``floor_share`` of it (replays: 0.9).

Registry names (``docs/design`` scheme table): ``distance-sca``, ``distance-uniform``, ``alg1-uniform``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from ..errors import InputError
from .algorithm1 import Decision, _prepare, algorithm1, sca_power, uniform_power
from .coefficients import SinrCoefficients, sinr
from .firstorder import LinkSinr
from .sumstage import max_sum_above_floor

__all__ = [
    "distance_clusters",
    "uniform_decision",
    "distance_sca",
    "distance_uniform",
    "alg1_uniform",
    "BASELINES",
]


def distance_clusters(
    distance_m: np.ndarray, k_max: int, allowed: np.ndarray | None = None, n_per_user: int | None = None
) -> np.ndarray:
    """User-centric nearest-satellite clusters under K_max users per satellite (000 Sec. VI-B).

    Parameters
    ----------
    distance_m : ndarray, shape (L, K), m — satellite-to-user distance (slant range)
    k_max : int — users per satellite at most (23b)
    allowed : ndarray, shape (L, K), bool, optional — links that may serve (visibility)
    n_per_user : int, optional — satellites per user at most (None: no cap)

    Returns
    -------
    ndarray, shape (L, K), bool — cluster mask

    >>> d = np.array([[1.0, 2.0, 3.0], [3.0, 1.0, 2.0]])
    >>> distance_clusters(d, k_max=1).astype(int).tolist()
    [[1, 0, 0], [0, 1, 0]]
    >>> distance_clusters(d, k_max=2).astype(int).tolist()
    [[1, 1, 0], [0, 1, 1]]
    """
    dist = np.asarray(distance_m, dtype=float)
    n_sat, n_user = dist.shape
    ok = np.isfinite(dist) if allowed is None else np.asarray(allowed, dtype=bool) & np.isfinite(dist)
    cluster = np.zeros((n_sat, n_user), dtype=bool)
    load = np.zeros(n_sat, dtype=int)
    rounds = n_sat if n_per_user is None else min(n_sat, n_per_user)
    for _ in range(rounds):
        free = ok & ~cluster & (load < k_max)[:, None]
        reach = np.where(free, dist, np.inf).min(axis=0)
        for k in np.argsort(reach, kind="stable"):  # nearest candidate first
            candidates = np.where(ok[:, k] & ~cluster[:, k] & (load < k_max), dist[:, k], np.inf)
            sat = int(np.argmin(candidates))
            if np.isfinite(candidates[sat]):
                cluster[sat, k] = True
                load[sat] += 1
    return cluster


def uniform_decision(coeffs: SinrCoefficients, cluster: np.ndarray, *, reason: str = "", start: float | None = None) -> Decision:
    """Decision with uniform power p_{l,k} = 1/sqrt(|K_l|) on ``cluster`` (status ``"uniform"``).

    Links with b_{l,k} <= 0 or non-finite coefficients are left out of the cluster first; users
    without a link get SINR 0.

    Parameters
    ----------
    coeffs : SinrCoefficients — one snapshot (000 eq 27)
    cluster : ndarray, shape (L, K), bool
    reason : str — carried into the decision
    start : float, optional — ``time.perf_counter()`` at the start of the scheme (for ``solve_s``)
    """
    t0 = time.perf_counter() if start is None else start
    clean, usable, _ = _prepare(coeffs, cluster, roundoff=False)  # cluster, finite and b > 0
    p = uniform_power(usable)
    noise = float(coeffs.noise)
    if np.isfinite(noise) and noise > 0.0:
        s = LinkSinr(clean, usable).sinr(p)  # on the cluster's links: no dense (K, K, M, L) pass
    else:
        s, p = np.zeros(usable.shape[1]), np.zeros_like(p)
        reason = "; ".join(filter(None, [reason, f"noise power {noise!r} is not a positive number: no power"]))
    served = usable.any(axis=0)
    return Decision(
        power=p,
        cluster=usable,
        min_sinr=float(s[served].min()) if served.any() else 0.0,
        sinr=s,
        solve_s=time.perf_counter() - t0,
        status="uniform" if served.any() else "fallback:no-link",
        reason=reason,
        allowed=usable,
    )


def _need_distance(distance_m: np.ndarray | None, name: str) -> np.ndarray:
    if distance_m is None:
        raise InputError(f"scheme {name!r} needs distance_m (L, K) in metres, e.g. StatisticalCSI.slant_range_m")
    return np.asarray(distance_m, dtype=float)


#: distance-sca's second stage runs while (served users) × (cluster links) is at most this: its cone
#: programs have one cone per user over every cluster link, and beyond ~15 users they cost 10× the
#: max-min power (``leosim bench scale``, loaded machine: K = 10, 1600 terms, 0.035 s; K = 40,
#: 12 800 terms, 1.26 s against 0.10 s for the max-min power; K = 100, 1.7 s against 0.25 s).
#: Larger decisions stay at the max-min point, with the reason saying so.
SUM_STAGE_MAX_TERMS = 4000


def distance_sca(
    coeffs: SinrCoefficients,
    k_max: int,
    *,
    distance_m: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    warm_start: Decision | None = None,
    tol: float = 1e-3,
    max_sum: bool = True,
    floor_share: float = 1.0,
) -> Decision:
    """``distance-sca``: nearest-satellite clusters with max-min SINR power (000 Fig. 5), then the
    largest sum SE that keeps every user at or above that minimum.

    Parameters
    ----------
    coeffs : SinrCoefficients — one snapshot (000 eq 27)
    k_max : int — users per satellite at most
    distance_m : ndarray, shape (L, K), m — satellite-to-user distance (required)
    allowed : ndarray, shape (L, K), bool, optional — visibility
    warm_start : Decision, optional — passed to :func:`~simulator.cooperation.algorithm1.sca_power`
    tol : float — relative min-SINR gain at which the power iteration stops (``sca_power``)
    max_sum : bool — the second stage :func:`~simulator.cooperation.sumstage.max_sum_above_floor`
        (False: the max-min point itself)
    floor_share : float in (0, 1] — the second stage keeps every user at or above this fraction of the
        max-min SINR (1: the minimum is unchanged; ``[events] sum_stage_floor`` in replays)
    """
    cluster = distance_clusters(_need_distance(distance_m, "distance-sca"), k_max, allowed)
    d = sca_power(coeffs, cluster, warm_start=warm_start, tol=tol)
    if not max_sum or d.status != "optimal":
        return d
    terms = int(d.cluster.any(axis=0).sum()) * int(d.cluster.sum())
    if terms > SUM_STAGE_MAX_TERMS:
        return dataclasses.replace(d, reason="; ".join(filter(None, [
            d.reason, f"max-sum stage skipped: {terms} user-link terms > {SUM_STAGE_MAX_TERMS}"])))
    start = time.perf_counter()
    power, improved = max_sum_above_floor(coeffs, d.power, d.cluster, floor_share=floor_share)
    if not improved:
        return d
    s = sinr(SinrCoefficients(b=np.where(d.cluster, coeffs.b, 0.0), G=coeffs.G, noise=coeffs.noise), power)
    served = d.cluster.any(axis=0)
    return dataclasses.replace(d, power=power, sinr=s, min_sinr=float(s[served].min()),
                               solve_s=d.solve_s + time.perf_counter() - start,
                               reason="; ".join(filter(None, [d.reason, "max sum SE above the max-min floor"])))


def distance_uniform(
    coeffs: SinrCoefficients,
    k_max: int,
    *,
    distance_m: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    warm_start: Decision | None = None,
    tol: float = 1e-3,
) -> Decision:
    """``distance-uniform``: nearest-satellite clusters with uniform power (000 Fig. 5).

    Arguments as :func:`distance_sca` (``warm_start`` and ``tol`` are accepted and unused: nothing
    to iterate).
    """
    start = time.perf_counter()
    cluster = distance_clusters(_need_distance(distance_m, "distance-uniform"), k_max, allowed)
    return uniform_decision(coeffs, cluster, start=start)


def alg1_uniform(
    coeffs: SinrCoefficients,
    k_max: int,
    *,
    distance_m: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    warm_start: Decision | None = None,
    tol: float = 1e-3,
) -> Decision:
    """``alg1-uniform``: the clusters of Algorithm 1 with uniform power (000 Fig. 5).

    Arguments as :func:`distance_sca` (``distance_m`` unused); ``inner_iters``/``outer_iters`` are
    those of the Algorithm-1 run, whose status and reason are carried over when it fell back.
    """
    start = time.perf_counter()
    decision = algorithm1(coeffs, k_max, allowed=allowed, warm_start=warm_start, tol=tol)
    uniform = uniform_decision(coeffs, decision.cluster, reason=decision.reason, start=start)
    return dataclasses.replace(
        uniform,
        inner_iters=decision.inner_iters,
        outer_iters=decision.outer_iters,
        solve_s=time.perf_counter() - start,
        status=decision.status if decision.status.startswith("fallback") else uniform.status,
        history=decision.history,
        omega=decision.omega,
        allowed=decision.allowed,
    )


#: Scheme registry entries of this module: ``scheme(coeffs, k_max, *, distance_m, allowed, warm_start)``.
BASELINES: dict[str, Callable[..., Decision]] = {
    "distance-sca": distance_sca,
    "distance-uniform": distance_uniform,
    "alg1-uniform": alg1_uniform,
}
