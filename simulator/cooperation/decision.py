"""What a scheme is: the decision it takes from one CSI snapshot, and the descriptor that names it.

A decision is taken over the L candidate satellites of a snapshot (``StatisticalCSI`` of shape
(L, K)) and returns power weights, serving clusters and, where the scheme needs them, serving beams
and pilots (:class:`SchemeDecision`). A :class:`Scheme` is one registry entry: its decision
function, its rate model (:mod:`simulator.cooperation.evaluate`) and the properties the engine,
the analysis and the scenario ask about. The entries live in one module per family under
:mod:`simulator.cooperation.families`; the registry is :mod:`simulator.cooperation.schemes`.

Two ways the reference satellite (RSAP) relates to the decision (DESIGN.md "Schemes"):

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

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..radio.statistical_csi import StatisticalCSI
from .algorithm1 import Decision
from .coefficients import SinrCoefficients, phase_averaged
from .evaluate import RateModel

__all__ = ["INTERFERENCE_MODELS", "RSAP_MODES", "DecideContext", "DecideFn", "Scheme", "SchemeDecision",
           "from_solver", "warm_start", "one_hot", "no_serving", "empty_decision"]

#: SINR models a decision can maximise (``DecideContext.interference``).
INTERFERENCE_MODELS = ("instantaneous", "phase-averaged")


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
    sum_stage_floor : float in (0, 1] — distance-sca's second stage keeps every user at or above this
        fraction of the max-min SINR (:func:`~.sumstage.max_sum_above_floor`; 1: minimum unchanged)
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
    sum_stage_floor: float = 1.0

    def __post_init__(self) -> None:
        if self.interference not in INTERFERENCE_MODELS:
            raise ValueError(f"interference={self.interference!r}; allowed: {', '.join(INTERFERENCE_MODELS)}")
        if not 0.0 < self.sum_stage_floor <= 1.0:
            raise ValueError(f"sum_stage_floor={self.sum_stage_floor!r}: a fraction in (0, 1]")

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


#: How the RSAP relates to a scheme's decision (module docstring).
RSAP_MODES = ("cluster", "serving")

#: ``decide(csi, ctx, rsap, prev, cache) -> SchemeDecision``: ``csi`` the snapshot (L, K), ``rsap``
#: (K,) local indices or −1, ``prev`` the lane's previous decision laid on this snapshot's
#: satellites (a warm start) or None, ``cache`` a dict shared by the schemes deciding on one snapshot.
DecideFn = Callable[[StatisticalCSI, "DecideContext", np.ndarray, "SchemeDecision | None", dict], "SchemeDecision"]


@dataclass(frozen=True)
class Scheme:
    """One scheme: everything the rest of the code asks about it (``docs/contributing.md``).

    Attributes
    ----------
    name : str — registry name (scenario ``[schemes] names``, the ``scheme`` column of every table)
    decide : DecideFn — the central node's decision on one snapshot (pure; never raises)
    rates : RateModel — how rates under a decision are evaluated (the closed form and its links)
    rsap_mode : 'cluster' or 'serving' — see the module docstring
    single_serving : bool — one serving satellite per user: a change of it is an ``inter_satellite``
        handover (otherwise cluster joins and leaves are recorded), and losing it is decided anew
    reuses : str, optional — the scheme whose work on the same snapshot this one reuses through the
        decision cache (decided after it, in the same reclustering)
    paper : str — where it comes from ('000', '004' or '' for schemes of this project)
    summary : str — one line: clusters, power, precoder
    """

    name: str
    decide: DecideFn
    rates: RateModel
    rsap_mode: str
    single_serving: bool = False
    reuses: str | None = None
    paper: str = ""
    summary: str = ""

    def __post_init__(self) -> None:
        if self.rsap_mode not in RSAP_MODES:
            raise InputError(f"scheme {self.name!r}: rsap_mode={self.rsap_mode!r} is not one of {', '.join(RSAP_MODES)}")
        if not isinstance(self.rates, RateModel):
            raise InputError(f"scheme {self.name!r}: rates must be a RateModel (simulator.cooperation.evaluate)")

    @property
    def beams(self) -> bool:
        """Users are served on fixed spot beams (the scheme records ``inter_beam`` handovers)."""
        return self.rates.beams

    @property
    def pilots(self) -> bool:
        """The rates use pilot-based channel estimates (decisions carry a pilot per user)."""
        return self.rates.needs_pilots

    @property
    def decides_per_policy(self) -> bool:
        """Serving-mode decisions are built around each policy's RSAP; cluster-mode schemes decide
        once per snapshot for every RSAP policy."""
        return self.rsap_mode == "serving"


def from_solver(d: Decision, serving: np.ndarray, **extra) -> SchemeDecision:
    """The scheme decision of a solver decision (NaN power → 0; links without power leave the mask)."""
    power = np.nan_to_num(np.asarray(d.power, dtype=float))
    mask = np.asarray(d.cluster, dtype=bool) & (power > 0)
    return SchemeDecision(power=np.where(mask, power, 0.0), mask=mask, serving=serving, status=d.status,
                          reason=d.reason, inner_iters=d.inner_iters, outer_iters=d.outer_iters,
                          solve_s=d.solve_s, min_sinr=float(np.nan_to_num(d.min_sinr)), solver=d,
                          certificate=d.certificate, n_unadmitted=d.n_unadmitted, **extra)


def warm_start(prev: SchemeDecision | None, shape: tuple[int, int]) -> Decision | None:
    """A previous solver decision usable as a warm start (same candidate shape only)."""
    if prev is None or prev.solver is None or np.shape(prev.solver.power) != shape:
        return None
    return prev.solver


def one_hot(serving: np.ndarray, n_sat: int) -> np.ndarray:
    """(L, K) mask of the links l = serving[k]; users with serving −1 get no link."""
    return np.arange(n_sat)[:, None] == np.asarray(serving)[None, :]


def no_serving(k: int) -> np.ndarray:
    return np.full(k, -1, dtype=np.int64)


def empty_decision(csi: StatisticalCSI, status: str) -> SchemeDecision:
    """A decision with no link (``status`` says why)."""
    shape = csi.beta.shape
    return SchemeDecision(power=np.zeros(shape), mask=np.zeros(shape, bool), serving=no_serving(shape[-1]),
                          status=status, reason="no satellite or beam to serve with")
