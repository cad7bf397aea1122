"""The scheme registry, decision side: what each scheme's central node decides from one CSI snapshot.

A decision is taken over the L candidate satellites of a snapshot (``StatisticalCSI`` of shape
(L, K)) and returns power weights, serving clusters and, where the scheme needs them, serving beams
and pilots. Rates under a decision are evaluated elsewhere (:mod:`simulator.cooperation.evaluate`).

Two families, by how the reference satellite (RSAP) relates to the decision (DESIGN.md "Schemes"):

- ``rsap_mode = "cluster"``: the scheme chooses its clusters itself (Algorithm 1, distance, all
  satellites); the RSAP is then chosen among each user's cluster members by the RSAP policy.
- ``rsap_mode = "serving"``: the RSAP is chosen first, among the visible satellites, by the RSAP
  policy, and the decision is built around it (the serving satellite of single-satellite schemes,
  spot beams and NCT; the anchor of a UC-DMIMO cluster).

Every decision function is pure and never raises for a degenerate snapshot (no satellite, a user
with no link, a solver failure): it returns a fallback decision whose ``status`` and ``reason`` say
what happened, and no NaN.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..radio.statistical_csi import StatisticalCSI
from .algorithm1 import Decision, algorithm1, sca_power
from .coefficients import SinrCoefficients, phase_averaged
from .baselines import alg1_uniform, distance_sca, distance_uniform, uniform_decision
from .rates_cfmmimo import coefficients_imrt, pilot_book
from .rates_cfmntn import coefficients
from .single import coefficients_single
from .evaluate import spotbeam_allocation
from .spotbeam import select_beams
from .ucdmimo import assign_pilots, fractional_power

#: SINR models a decision can maximise (``DecideContext.interference``).
INTERFERENCE_MODELS = ("instantaneous", "phase-averaged")

__all__ = ["INTERFERENCE_MODELS", "DecideContext", "SchemeDecision", "SchemeSpec", "SCHEMES", "decide"]


@dataclass(frozen=True)
class DecideContext:
    """What every decision needs besides the snapshot (all SI, linear).

    Attributes
    ----------
    tx_power_w : float, W — ρ_t, satellite transmit power
    noise_w : float, W — σ_n², receiver noise power
    k_max : int — users per satellite at most (000 eq 23b)
    n_pilots : int — τ_p, orthogonal uplink pilots (CF-mMIMO and UC-DMIMO)
    pilot_power_w : float, W — η_t, user pilot power
    beam_weights : ndarray, shape (B, N), complex, optional — fixed spot-beam precoders
    cluster_min_elevation_rad : float, rad — UC-DMIMO candidate set S_k (004 Sec. III-A)
    interference : str — the SINR model the optimisers maximise: ``"instantaneous"`` (000 eq 27 at
        the snapshot's phases, the paper's model) or ``"phase-averaged"`` (cross-satellite
        interference averaged over independent carrier phases, :func:`~.coefficients.phase_averaged`;
        what a decision held for seconds in a replay experiences)
    tolerance : float — relative min-SINR gain at which the optimisers' iterations stop (``tol`` of
        :func:`~.algorithm1.algorithm1` and :func:`~.algorithm1.sca_power`)
    """

    tx_power_w: float
    noise_w: float
    k_max: int = 8
    n_pilots: int = 4
    pilot_power_w: float = 1.0
    beam_weights: np.ndarray | None = None
    cluster_min_elevation_rad: float = np.radians(40.0)
    interference: str = "instantaneous"
    tolerance: float = 1e-3

    def __post_init__(self) -> None:
        if self.interference not in INTERFERENCE_MODELS:
            raise ValueError(f"interference={self.interference!r}; allowed: {', '.join(INTERFERENCE_MODELS)}")

    def for_decision(self, coeffs: SinrCoefficients) -> SinrCoefficients:
        """The coefficients the optimisers see under this context's interference model."""
        return phase_averaged(coeffs) if self.interference == "phase-averaged" else coeffs


@dataclass(frozen=True)
class SchemeDecision:
    """Decision of one scheme over the L candidate satellites of a snapshot.

    Attributes
    ----------
    power : ndarray, shape (L, K) — p_{l,k} ≥ 0, Σ_k p_{l,k}² ≤ 1 (000 eq 14); 0 outside ``mask``
    mask : ndarray, shape (L, K), bool — serving clusters
    serving : ndarray, shape (K,), int — serving satellite (single-serving schemes) or the RSAP the
        decision was built around; −1 where none
    beam : ndarray, shape (K,), int, optional — spot beam of each user (−1 = none)
    pilots : ndarray, shape (K,), int, optional — pilot index of each user
    status, reason : str — ``optimal``/``uniform``/``rule`` or ``fallback:…``, and why
    inner_iters, outer_iters : int — optimiser iterations (0 for rule-based schemes)
    solve_s : float, s — wall time of the decision
    min_sinr : float, linear — minimum SINR of the decision's own model (0 if a user has no link)
    solver : algorithm1.Decision, optional — kept to warm-start the next decision
    certificate : float — relative duality gap of the power allocation (``Decision.certificate``); NaN if none
    n_unadmitted : int — users left out by Algorithm 1's capacity rule (``Decision.n_unadmitted``)
    """

    power: np.ndarray
    mask: np.ndarray
    serving: np.ndarray
    beam: np.ndarray | None = None
    pilots: np.ndarray | None = None
    status: str = "rule"
    reason: str = ""
    inner_iters: int = 0
    outer_iters: int = 0
    solve_s: float = 0.0
    min_sinr: float = 0.0
    solver: Decision | None = field(default=None, repr=False)
    certificate: float = float("nan")
    n_unadmitted: int = 0


@dataclass(frozen=True)
class SchemeSpec:
    """A registry entry: how the RSAP relates to the decision, and the decision function."""

    name: str
    rsap_mode: str  # "cluster" or "serving"
    single_serving: bool
    decide: Callable[[StatisticalCSI, DecideContext, np.ndarray, SchemeDecision | None, dict], SchemeDecision]


def _from_solver(d: Decision, serving: np.ndarray, **extra) -> SchemeDecision:
    power = np.nan_to_num(np.asarray(d.power, dtype=float))
    mask = np.asarray(d.cluster, dtype=bool) & (power > 0)
    return SchemeDecision(power=np.where(mask, power, 0.0), mask=mask, serving=serving, status=d.status,
                          reason=d.reason, inner_iters=d.inner_iters, outer_iters=d.outer_iters,
                          solve_s=d.solve_s, min_sinr=float(np.nan_to_num(d.min_sinr)), solver=d,
                          certificate=d.certificate, n_unadmitted=d.n_unadmitted, **extra)


def _warm(prev: SchemeDecision | None, shape: tuple[int, int]) -> Decision | None:
    """A previous solver decision usable as a warm start (same candidate shape only)."""
    if prev is None or prev.solver is None or np.shape(prev.solver.power) != shape:
        return None
    return prev.solver


def _one_hot(serving: np.ndarray, n_sat: int) -> np.ndarray:
    """(L, K) mask of the links l = serving[k]; users with serving −1 get no link."""
    return np.arange(n_sat)[:, None] == np.asarray(serving)[None, :]


def _no_serving(k: int) -> np.ndarray:
    return np.full(k, -1, dtype=np.int64)


def _cf_mntn(precoder: str) -> Callable:
    def decide(csi: StatisticalCSI, ctx: DecideContext, rsap: np.ndarray, prev: SchemeDecision | None,
               cache: dict) -> SchemeDecision:
        coeffs = ctx.for_decision(coefficients(csi, precoder, ctx.tx_power_w, ctx.noise_w))
        d = algorithm1(coeffs, ctx.k_max, allowed=csi.visible, warm_start=_warm(prev, csi.beta.shape),
                       tol=ctx.tolerance)
        cache[f"algorithm1-{precoder}"] = d
        return _from_solver(d, _no_serving(csi.n_user))

    return decide


def _alg1_uniform(csi: StatisticalCSI, ctx: DecideContext, rsap: np.ndarray, prev: SchemeDecision | None,
                  cache: dict) -> SchemeDecision:
    """Algorithm-1 (sMRT) clusters with uniform power; reuses cf-mntn-smrt's run on the same snapshot."""
    if "algorithm1-smrt" not in cache:
        return _baseline(alg1_uniform)(csi, ctx, rsap, prev, cache)
    start = time.perf_counter()
    d = cache["algorithm1-smrt"]
    coeffs = ctx.for_decision(coefficients(csi, "smrt", ctx.tx_power_w, ctx.noise_w))
    uniform = uniform_decision(coeffs, d.cluster, reason=d.reason, start=start)
    return _from_solver(dataclasses.replace(uniform, inner_iters=d.inner_iters, outer_iters=d.outer_iters,
                                            solve_s=d.solve_s + uniform.solve_s), _no_serving(csi.n_user))


def _baseline(fn: Callable) -> Callable:
    def decide(csi: StatisticalCSI, ctx: DecideContext, rsap: np.ndarray, prev: SchemeDecision | None,
               cache: dict) -> SchemeDecision:
        coeffs = ctx.for_decision(coefficients(csi, "smrt", ctx.tx_power_w, ctx.noise_w))
        d = fn(coeffs, ctx.k_max, distance_m=csi.slant_range_m, allowed=csi.visible,
               warm_start=_warm(prev, csi.beta.shape), tol=ctx.tolerance)
        return _from_solver(d, _no_serving(csi.n_user))

    return decide


def _cf_mmimo(csi: StatisticalCSI, ctx: DecideContext, rsap: np.ndarray, prev: SchemeDecision | None,
              cache: dict) -> SchemeDecision:
    """CF-mMIMO with iMRT: all visible satellites serve every user, SCA power (000 Sec. VI)."""
    pilots = np.arange(csi.n_user) % ctx.n_pilots
    book = pilot_book(csi.n_user, ctx.n_pilots)
    cluster = np.asarray(csi.visible, bool) & (csi.beta > 0)
    coeffs = ctx.for_decision(coefficients_imrt(csi, ctx.tx_power_w, ctx.noise_w, book, ctx.pilot_power_w,
                                                cluster_mask=cluster))
    d = sca_power(coeffs, cluster, warm_start=_warm(prev, csi.beta.shape), tol=ctx.tolerance)
    return _from_solver(d, _no_serving(csi.n_user), pilots=pilots)


def _single(precoder: str) -> Callable:
    def decide(csi: StatisticalCSI, ctx: DecideContext, rsap: np.ndarray, prev: SchemeDecision | None,
               cache: dict) -> SchemeDecision:
        serving = np.asarray(rsap, dtype=np.int64)
        cluster = _one_hot(serving, csi.n_sat) & (csi.beta > 0)
        safe = np.where(serving >= 0, serving, 0)
        coeffs = ctx.for_decision(coefficients_single(csi, safe, precoder, ctx.tx_power_w, ctx.noise_w))
        d = sca_power(coeffs, cluster, warm_start=_warm(prev, csi.beta.shape), tol=ctx.tolerance)
        return _from_solver(d, serving)

    return decide


def _spot_beam(csi: StatisticalCSI, ctx: DecideContext, rsap: np.ndarray, prev: SchemeDecision | None,
               cache: dict) -> SchemeDecision:
    """Best beam of the serving satellite (the RSAP); ρ_t split equally over each satellite's active beams."""
    serving = np.asarray(rsap, dtype=np.int64)
    if ctx.beam_weights is None or csi.n_sat == 0:
        return _empty(csi, "fallback:no-beams" if ctx.beam_weights is None else "fallback:no-link")
    _, _, rx = select_beams(csi, ctx.beam_weights)  # (L, K, B)
    k = np.arange(csi.n_user)
    safe = np.where(serving >= 0, serving, 0)
    beam = np.where(serving >= 0, np.argmax(rx[safe, k, :], axis=-1), -1)
    served = (serving >= 0) & (csi.beta[safe, k] > 0)
    alloc = spotbeam_allocation(serving, beam, csi.n_sat, served=served)
    return SchemeDecision(power=alloc.power, mask=alloc.mask, serving=alloc.serving, beam=alloc.beam, status="rule")


def _uc_family(kind: str) -> Callable:
    def decide(csi: StatisticalCSI, ctx: DecideContext, rsap: np.ndarray, prev: SchemeDecision | None,
               cache: dict) -> SchemeDecision:
        serving = np.asarray(rsap, dtype=np.int64)
        usable = np.asarray(csi.visible, bool) & (csi.beta > 0)
        if kind == "fc":
            cluster = usable
        elif kind == "nct":
            cluster = _one_hot(serving, csi.n_sat) & usable
        else:  # UC-DMIMO: S_k = satellites above the cluster elevation, plus the RSAP (004 Sec. III-A)
            cluster = (usable & (csi.elevation_rad >= ctx.cluster_min_elevation_rad)) | (
                _one_hot(serving, csi.n_sat) & usable)
        pilots = assign_pilots(csi.beta, np.where(serving >= 0, serving, 0), ctx.n_pilots)
        power = fractional_power(csi.beta, cluster)
        return SchemeDecision(power=power, mask=cluster & (power > 0), serving=serving, pilots=pilots, status="rule")

    return decide


def _empty(csi: StatisticalCSI, status: str) -> SchemeDecision:
    shape = csi.beta.shape
    return SchemeDecision(power=np.zeros(shape), mask=np.zeros(shape, bool), serving=_no_serving(shape[-1]),
                          status=status, reason="no satellite or beam to serve with")


SCHEMES: dict[str, SchemeSpec] = {
    spec.name: spec
    for spec in (
        SchemeSpec("cf-mntn-smrt", "cluster", False, _cf_mntn("smrt")),
        SchemeSpec("cf-mntn-szf", "cluster", False, _cf_mntn("szf")),
        SchemeSpec("cf-mmimo-imrt", "cluster", False, _cf_mmimo),
        SchemeSpec("single-slnr", "serving", True, _single("slnr")),
        SchemeSpec("single-smrt", "serving", True, _single("smrt")),
        SchemeSpec("spot-beam", "serving", True, _spot_beam),
        SchemeSpec("distance-sca", "cluster", False, _baseline(distance_sca)),
        SchemeSpec("distance-uniform", "cluster", False, _baseline(distance_uniform)),
        SchemeSpec("alg1-uniform", "cluster", False, _alg1_uniform),
        SchemeSpec("uc-dmimo", "serving", False, _uc_family("uc")),
        SchemeSpec("fc-dmimo", "serving", False, _uc_family("fc")),
        SchemeSpec("nct", "serving", True, _uc_family("nct")),
    )
}


def decide(name: str, csi: StatisticalCSI, ctx: DecideContext, rsap: np.ndarray,
           prev: SchemeDecision | None = None, cache: dict | None = None) -> SchemeDecision:
    """Decision of scheme ``name`` on the snapshot ``csi`` (L, K); ``rsap`` (K,) local indices or −1.

    ``cache`` (a dict kept for one snapshot) lets schemes share work: ``alg1-uniform`` reuses the
    Algorithm-1 run of ``cf-mntn-smrt`` on the same snapshot instead of repeating it.
    """
    if csi.n_sat == 0 or csi.n_user == 0:
        return _empty(csi, "fallback:no-link")
    return SCHEMES[name].decide(csi, ctx, np.asarray(rsap, dtype=np.int64), prev, {} if cache is None else cache)
