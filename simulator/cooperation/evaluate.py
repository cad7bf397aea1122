"""Rates of every scheme under the decision in force, on the true geometry of a block of steps.

Between two events the engine holds, per scheme, a decision (clusters, power, serving satellite,
beams, pilots: an :class:`Allocation`) and precoders built from the statistical CSI of the last CSI
refresh (``csi_precoder``, a snapshot (S, U)); it evaluates the rate at every logging step on the
true statistics (``csi_true``, a block (T, S, U)) in one vectorised call (DESIGN "Event model")::

    block = SCHEMES["cf-mntn-smrt"].rates(csi_true, csi_precoder, allocation, ctx)   # schemes.SCHEMES
    block.sinr, block.se_bps_hz        # (T, U), linear and bit/s/Hz; 0 for users without service

The closed forms use the true statistics and the (stale) precoders: for statistical precoders the
link moments of 000 eqs 65–66 with the projections a_{l,k}^H w_{l,j} of the true steering vectors
on the stale precoders (:func:`~simulator.cooperation.rates_cfmntn.moments_from_projections`); for
pilot-based schemes the moments of a channel estimator that uses the stale statistics
(:mod:`~simulator.cooperation.mismatched`). Passing ``csi_precoder`` equal to ``csi_true`` (a
snapshot, or a block of the same shape) gives fresh CSI and the closed forms of
:mod:`~simulator.cooperation.rates_cfmntn`, :mod:`~simulator.cooperation.rates_cfmmimo`,
:mod:`~simulator.cooperation.single`, :mod:`~simulator.cooperation.spotbeam` and
:mod:`~simulator.cooperation.ucdmimo`.

``RateContext.method`` selects how inner products of steering vectors are formed: ``'gram'``
(closed-form Dirichlet kernels, :func:`~simulator.radio.steering.gram_matrix`, O(1) per pair)
or ``'explicit'`` (N-element products with the CSI's steering vectors, the original path). Both give
the same rates to rounding. The block is processed in sub-blocks of steps (``sub_block_steps``) so
that intermediates stay small; satellites that serve nobody are left out (they radiate nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import InputError
from ..radio.channel import delay_phase_shift, reference_delay_s
from ..radio.params import RadioParams
from ..radio.statistical_csi import StatisticalCSI
from ..radio.steering import SteeringFactors, gram_from_factors, gram_matrix, steering_factors, steering_vector
from .mismatched import imrt_estimator, imrt_moments, mr_estimator, mr_sinr
from .precoder_span import served_columns, slnr_span, smrt_span, span_projections, szf_span
from .precoders import smrt_precoders
from .rates_cfmntn import (moments_from_projections, sinr_from_column_moments, sinr_from_moments, spectral_efficiency,
                           statistical_precoders)
from .single import DEFAULT_LEAKAGE, slnr_precoders_from_mask
from .spotbeam import beam_angles, beam_weights

__all__ = [
    "Allocation",
    "RateContext",
    "RateBlock",
    "RateModel",
    "StatisticalRates",
    "ImrtRates",
    "MrRates",
    "SpotRates",
    "evaluate_rates",
    "spotbeam_allocation",
    "accepts_per_step",
]

METHODS = ("gram", "explicit")
PHASE_SOURCES = ("precoder", "true")
_TARGET_GRAM_ELEMENTS = 1 << 15      # (t, L, K, K) entries per sub-block: keeps the passes in cache


@dataclass(frozen=True)
class Allocation:
    """A decision in force: who serves whom, with what power, beam and pilot.

    Attributes
    ----------
    power : ndarray, shape (S, U) or (T, S, U), float ≥ 0 — power weights p_{l,k} (Σ_k p_{l,k}² ≤ 1
        per satellite, 000 eq 14); zero outside the clusters. Single-satellite and spot-beam schemes
        read p at (serving[k], k) (for spot beams: the beam's weight, p² = its share of ρ_t). With a
        leading step axis the weights change from step to step (see :attr:`per_step`)
    mask : ndarray, shape of ``power``, bool — cluster membership (l serves k)
    serving : ndarray, shape (U,), int — serving satellite / RSAP, −1 = none
    beam : ndarray, shape (U,), int, optional — spot beam of each user, −1 = none
    pilots : ndarray, shape (U,), int, optional — pilot index (CF-mMIMO, UC-DMIMO), −1 = none
    n_pilots : int, optional — τ_p
    """

    power: np.ndarray
    mask: np.ndarray
    serving: np.ndarray
    beam: np.ndarray | None = None
    pilots: np.ndarray | None = None
    n_pilots: int | None = None

    def __post_init__(self) -> None:
        power = np.array(self.power, dtype=float)
        mask = np.array(self.mask, dtype=bool)
        serving = np.array(self.serving, dtype=np.int64)
        if power.ndim not in (2, 3) or mask.shape != power.shape:
            raise InputError(f"power {power.shape} and mask {mask.shape} must both have shape (S, U) or (T, S, U)")
        n_sat, n_user = power.shape[-2:]
        if not np.all(np.isfinite(power)) or np.any(power < 0):
            raise InputError("power must be finite and >= 0 (power weights p_{l,k})")
        _check_index("serving", serving, n_user, n_sat)
        object.__setattr__(self, "power", power)
        object.__setattr__(self, "mask", mask)
        object.__setattr__(self, "serving", serving)
        if self.beam is not None:
            beam = np.array(self.beam, dtype=np.int64)
            _check_index("beam", beam, n_user, None)
            object.__setattr__(self, "beam", beam)
        if (self.pilots is None) != (self.n_pilots is None):
            raise InputError("give pilots and n_pilots together (pilot index per user and τ_p)")
        if self.pilots is not None:
            if int(self.n_pilots) != self.n_pilots or self.n_pilots < 1:
                raise InputError(f"n_pilots={self.n_pilots!r} must be a positive integer (τ_p)")
            pilots = np.array(self.pilots, dtype=np.int64)
            _check_index("pilots", pilots, n_user, int(self.n_pilots))
            object.__setattr__(self, "pilots", pilots)
            object.__setattr__(self, "n_pilots", int(self.n_pilots))

    @property
    def n_sat(self) -> int:
        return int(self.power.shape[-2])

    @property
    def n_user(self) -> int:
        return int(self.power.shape[-1])

    @property
    def per_step(self) -> bool:
        """Power and mask carry a leading step axis (T, S, U): one decision's weights per step of a
        block, e.g. a cluster repaired between two reclusterings. Serving, beams and pilots stay
        fixed over the block; only cluster-link schemes whose precoders do not depend on the
        weights accept it (:meth:`RateModel.accepts_per_step`)."""
        return self.power.ndim == 3


def _check_index(name: str, value: np.ndarray, n_user: int, upper: int | None) -> None:
    if value.shape != (n_user,):
        raise InputError(f"{name} has shape {value.shape}; expected ({n_user},), one entry per user")
    if value.size and (value.min() < -1 or (upper is not None and value.max() >= upper)):
        bound = "" if upper is None else f" … {upper - 1}"
        raise InputError(f"{name} has values in [{value.min()}, {value.max()}]; allowed −1 (none) or 0{bound}")


@dataclass(frozen=True)
class RateContext:
    """Everything besides CSI and decision that the rate formulas need (SI units, linear).

    Attributes
    ----------
    tx_power_w : float, W — satellite transmit power ρ_t
    noise_w : float, W — user receiver noise σ_n²
    n_h, n_v : int — UPA elements per axis (must match the CSI's steering vectors)
    spacing_h, spacing_v : float — element spacings in wavelengths
    pilot_power_w : float, W, optional — user pilot power η (CF-mMIMO η_t, 004 η_k); pilot schemes only
    pilot_noise_w : float, W, optional — satellite pilot noise σ_p²; None: ``noise_w`` (as in 000)
    beam_directions : ndarray, shape (B, 2), optional — spot-beam centres (c_y, c_x)
        (:func:`~simulator.cooperation.spotbeam.hex_beam_grid`); spot beams only
    method : 'gram' or 'explicit' — closed-form Gram matrices or N-element products (module docstring)
    phase_source : 'precoder' or 'true' — LOS phase compensated by the precoders (e^{jφ} of sMRT,
        sZF, SLNR; the LOS mean of the iMRT estimator; 004's predicted delay phase ŝ): the refresh
        snapshot's, or the true one at each step (phase tracked between refreshes)
    zf_users : 'all' or 'cluster' — users stacked by sZF (000 eq 11 stacks all)
    slnr_leakage : 'all' (default) or 'served' — leakage users of the SLNR precoder
    nlos : 'iid' or 'steering' — 004's scattered part (:func:`~simulator.cooperation.ucdmimo.covariance_terms`)
    phase_aware : bool — 004 precoders compensate the asynchronous-reception phase
    async_frequency_hz : float, Hz, optional — frequency of 004's delay phase s = e^{−j2πfΔτ}
        (the carrier; 1/T_s for the symbol-timing phase); None: synchronous reception
    sub_block_steps : int, optional — steps per sub-block; None: automatic (cache and memory bounded)
    max_block_bytes : int — upper bound on the intermediates of one sub-block
    """

    tx_power_w: float
    noise_w: float
    n_h: int
    n_v: int
    spacing_h: float = 0.5
    spacing_v: float = 0.5
    pilot_power_w: float | None = None
    pilot_noise_w: float | None = None
    beam_directions: np.ndarray | None = None
    method: str = "gram"
    phase_source: str = "precoder"
    zf_users: str = "all"
    slnr_leakage: str = DEFAULT_LEAKAGE
    nlos: str = "iid"
    phase_aware: bool = True
    async_frequency_hz: float | None = None
    sub_block_steps: int | None = None
    max_block_bytes: int = 200 * 2**20

    def __post_init__(self) -> None:
        for name, allowed in (("method", METHODS), ("phase_source", PHASE_SOURCES), ("zf_users", ("all", "cluster")),
                              ("slnr_leakage", ("served", "all")), ("nlos", ("iid", "steering"))):
            if getattr(self, name) not in allowed:
                raise InputError(f"{name}={getattr(self, name)!r} is not one of {', '.join(allowed)}")
        for name in ("tx_power_w", "noise_w"):
            if not getattr(self, name) > 0:
                raise InputError(f"{name}={getattr(self, name)!r} W must be > 0")
        for name in ("pilot_power_w", "pilot_noise_w", "async_frequency_hz"):
            if getattr(self, name) is not None and not getattr(self, name) > 0:
                raise InputError(f"{name}={getattr(self, name)!r} must be > 0 or None")
        if self.sub_block_steps is not None and self.sub_block_steps < 1:
            raise InputError(f"sub_block_steps={self.sub_block_steps} must be >= 1 or None (automatic)")
        if self.beam_directions is not None:
            object.__setattr__(self, "beam_directions", np.array(self.beam_directions, dtype=float))

    @classmethod
    def from_params(cls, params: RadioParams, **changes: Any) -> "RateContext":
        """Context of a :class:`~simulator.radio.params.RadioParams` set-up (ρ_t, σ_n², array, η, carrier)."""
        base = dict(tx_power_w=params.tx_power_w, noise_w=params.noise_power_w, n_h=params.n_h, n_v=params.n_v,
                    spacing_h=params.spacing_h_wavelengths, spacing_v=params.spacing_v_wavelengths,
                    pilot_power_w=params.ue_tx_power_w, async_frequency_hz=params.frequency_hz)
        base.update(changes)
        return cls(**base)

    @property
    def sigma_p_w(self) -> float:
        """Pilot noise σ_p² in use (W)."""
        return float(self.noise_w if self.pilot_noise_w is None else self.pilot_noise_w)

    def factors(self, csi: StatisticalCSI) -> SteeringFactors:
        """Per-vector Gram terms of the steering vectors of ``csi`` (``steering_factors``)."""
        return steering_factors(csi.theta_rad, csi.phi_rad, self.n_h, self.n_v, self.spacing_h, self.spacing_v)


@dataclass(frozen=True)
class RateBlock:
    """Rates of one scheme over a block of steps.

    Attributes
    ----------
    sinr : ndarray, shape (..., U), linear — 0.0 for users without service
    se_bps_hz : ndarray, shape (..., U), bit/s/Hz — log2(1 + SINR) (÷ users sharing a spot beam)
    n_serving : ndarray, shape (U,), int — satellites serving each user under the decision
    """

    sinr: np.ndarray
    se_bps_hz: np.ndarray
    n_serving: np.ndarray


# ---------------------------------------------------------------------------------------------
# Rate models: one strategy object per closed form (a scheme descriptor holds one)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RateModel:
    """How the rates of a scheme are evaluated; call it as ``model(csi_true, csi_precoder, allocation, ctx)``.

    A subclass is one closed form: :meth:`prepare` builds everything that depends on the precoder CSI
    only (once per block when that is a snapshot), :meth:`run` gives the SINR of a sub-block of
    steps. A scheme descriptor (:class:`~simulator.cooperation.decision.Scheme`) carries one model.

    Attributes
    ----------
    links : 'cluster' or 'serving' — power weights on the cluster mask, or on (serving[k], k) only
    family : str (class attribute) — 'statistical', 'imrt', 'mr' or 'spot'
    precoder : str (class attribute, or field of :class:`StatisticalRates`) — '' unless statistical
    needs_pilots, beams : bool (class attributes) — the allocation must carry pilots / spot beams
    """

    links: str = "cluster"
    family = ""
    precoder = ""
    needs_pilots = False
    beams = False

    def __post_init__(self) -> None:
        if self.links not in ("cluster", "serving"):
            raise InputError(f"links={self.links!r} is not one of cluster, serving")

    def __call__(self, csi_true: StatisticalCSI, csi_precoder: StatisticalCSI, allocation: Allocation,
                 ctx: RateContext) -> RateBlock:
        return self.evaluate(csi_true, csi_precoder, allocation, ctx)

    def accepts_per_step(self, ctx: RateContext) -> bool:
        """Whether the model takes per-step power weights (:attr:`Allocation.per_step`): its
        precoders and estimators must not depend on the weights."""
        return False

    def precoder_steering(self, ctx: RateContext) -> bool:
        """Whether :meth:`prepare` reads the steering vectors of the precoder CSI (the Gram path
        reads angles only, but for the sZF and SLNR spans)."""
        return ctx.method == "explicit"

    def active(self, p: np.ndarray, alloc: Allocation, n_serving: np.ndarray) -> np.ndarray:
        """(S,) bool: satellites that radiate (the others are left out of the evaluation)."""
        return p.any(axis=-1) if p.ndim == 2 else p.any(axis=(0, 2))

    def share(self, alloc: Allocation, p: np.ndarray) -> np.ndarray | int:
        """Users time-sharing each user's resource (spot beams), ≥ 1."""
        return 1

    def prepare(self, csi_p: StatisticalCSI, p: np.ndarray, alloc: Allocation, ctx: RateContext) -> dict:
        raise NotImplementedError

    def run(self, csi_t: StatisticalCSI, state: dict, p: np.ndarray, ctx: RateContext) -> np.ndarray:
        raise NotImplementedError

    def evaluate(self, csi_true: StatisticalCSI, csi_precoder: StatisticalCSI, allocation: Allocation,
                 ctx: RateContext) -> RateBlock:
        """SINR and SE of every user at every step of ``csi_true`` (module docstring).

        Parameters
        ----------
        csi_true : StatisticalCSI — true statistics, arrays (..., S, U) (a block (T, S, U) or a snapshot)
        csi_precoder : StatisticalCSI — statistics the precoders are built from: a snapshot (S, U)
            (the last refresh) or arrays of the same shape as ``csi_true``
        allocation : Allocation — the decision in force, (S, U), or with per-step weights (T, S, U)
        ctx : RateContext

        Returns
        -------
        RateBlock with sinr and se_bps_hz of shape (..., U)
        """
        lead = _check_inputs(self, csi_true, csi_precoder, allocation, ctx)
        p, n_serving = _weights(self, allocation)
        share = self.share(allocation, p)
        active = self.active(p, allocation, n_serving)
        sats = np.flatnonzero(active)
        n_steps = int(np.prod(lead, dtype=np.int64))
        sinr = np.zeros((n_steps, allocation.n_user))
        if sats.size and n_steps:
            csi_t = _select(csi_true, sats, keep_steering=ctx.method == "explicit")
            snapshot = csi_precoder.beta.ndim == 2
            csi_p = _select(csi_precoder, sats, self.precoder_steering(ctx), flatten=not snapshot)
            alloc = _restrict(allocation, sats)
            p = p[..., sats, :]
            state = self.prepare(csi_p, p, alloc, ctx) if snapshot else None
            step = _sub_block_size(ctx, sats.size, allocation.n_user, csi_true.n_ant)
            for start in range(0, n_steps, step):
                stop = min(start + step, n_steps)
                ps = p[start:stop] if allocation.per_step else p
                part = state if snapshot else self.prepare(csi_p.steps(slice(start, stop)), ps, alloc, ctx)
                sinr[start:stop] = self.run(csi_t.steps(slice(start, stop)), part, ps, ctx)
        sinr = np.where(n_serving > 0, sinr, 0.0)
        se = spectral_efficiency(sinr) / share
        return RateBlock(sinr=sinr.reshape(lead + (-1,)), se_bps_hz=se.reshape(lead + (-1,)), n_serving=n_serving)


@dataclass(frozen=True)
class StatisticalRates(RateModel):
    """Statistical-CSI precoders (000 eqs 9–11, 65–66): ``precoder`` 'smrt', 'szf' or 'slnr'."""

    precoder: str = "smrt"
    family = "statistical"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.precoder not in ("smrt", "szf", "slnr"):
            raise InputError(f"precoder={self.precoder!r} is not one of smrt, szf, slnr")

    def accepts_per_step(self, ctx: RateContext) -> bool:
        return self.links == "cluster" and self.precoder != "slnr" and ctx.zf_users == "all"

    def precoder_steering(self, ctx: RateContext) -> bool:
        return ctx.method == "explicit" or self.precoder != "smrt"

    def prepare(self, csi_p: StatisticalCSI, p: np.ndarray, alloc: Allocation, ctx: RateContext) -> dict:
        state: dict = {"phase": csi_p.phase_rad}
        kind = self.precoder
        stacked = None if ctx.zf_users == "all" else p > 0
        if ctx.method == "gram":
            factors = ctx.factors(csi_p)
            if kind == "smrt":
                state["span"] = smrt_span(csi_p, factors)
            elif kind == "szf":
                state["span"] = szf_span(csi_p, factors, stacked)
            else:
                state["span"] = slnr_span(csi_p, factors, _serving_onehot(alloc), ctx.tx_power_w, ctx.noise_w,
                                          ctx.slnr_leakage)
        elif kind == "smrt":
            state["w"] = smrt_precoders(csi_p)
        elif kind == "szf":
            state["w"] = statistical_precoders(csi_p, "szf", stacked, ctx.zf_users)
        else:
            state["w"] = slnr_precoders_from_mask(csi_p, _serving_onehot(alloc), ctx.tx_power_w, ctx.noise_w,
                                                  ctx.slnr_leakage)
        return state

    def run(self, csi_t: StatisticalCSI, state: dict, p: np.ndarray, ctx: RateContext) -> np.ndarray:
        columns = None
        if ctx.method == "gram":
            # only precoders with power enter 000 eq 21: form those columns when they are few
            # (≤ K_max of K per satellite), which makes sMRT linear in the users
            served = served_columns(p > 0)
            columns = served if 2 * served.width <= p.shape[-1] else None
            proj = span_projections(ctx.factors(csi_t), state["span"], columns)
        else:
            proj = np.conj(csi_t.steering) @ np.swapaxes(state["w"], -1, -2)
        if ctx.phase_source == "true":                          # re-phase each precoder to the true LOS phase
            rephase = np.exp(1j * (csi_t.phase_rad - state["phase"]))
            proj = proj * (rephase if columns is None else columns.take(rephase))[..., None, :]
        mean, var = moments_from_projections(csi_t, proj)
        if columns is not None:
            return sinr_from_column_moments(mean, var, p, columns, ctx.tx_power_w, ctx.noise_w)
        return sinr_from_moments(mean, var, p, ctx.tx_power_w, ctx.noise_w)


@dataclass(frozen=True)
class _PilotRates(RateModel):
    """Pilot-based estimators: no estimate without a pilot, so weights of users without one are 0."""

    needs_pilots = True

    def accepts_per_step(self, ctx: RateContext) -> bool:
        return self.links == "cluster" and ctx.zf_users == "all"

    def _estimation(self, csi_p: StatisticalCSI, ctx: RateContext) -> dict:
        vectors = _vectors(ctx, csi_p)
        gram_est = gram_matrix(vectors) if ctx.method == "gram" else _gram(ctx, vectors, vectors)
        return {"phase": csi_p.phase_rad, "vectors": vectors, "gram_est": gram_est}


@dataclass(frozen=True)
class ImrtRates(_PilotRates):
    """CF-mMIMO with iMRT: MMSE-type estimates from shared pilots (000 Sec. II-C.2)."""

    family = "imrt"

    def prepare(self, csi_p: StatisticalCSI, p: np.ndarray, alloc: Allocation, ctx: RateContext) -> dict:
        state = self._estimation(csi_p, ctx)
        gram_est = state.pop("gram_est")
        state["est"] = imrt_estimator(csi_p, alloc.pilots, alloc.n_pilots, ctx.pilot_power_w, ctx.sigma_p_w,
                                      gram_est if ctx.method == "gram" else None)
        return state

    def run(self, csi_t: StatisticalCSI, state: dict, p: np.ndarray, ctx: RateContext) -> np.ndarray:
        vectors = _vectors(ctx, csi_t)
        gram_ts = _gram(ctx, vectors, state["vectors"])
        phase_hat = csi_t.phase_rad if ctx.phase_source == "true" else None
        mean, var = imrt_moments(csi_t, gram_ts, state["est"], phase_hat)
        return sinr_from_moments(mean, var, np.where(state["est"].inv_norm > 0, p, 0.0), ctx.tx_power_w, ctx.noise_w)


@dataclass(frozen=True)
class MrRates(_PilotRates):
    """004's MR precoding from LS/MMSE estimates with asynchronous reception (004 eqs 7–8, 18–21)."""

    family = "mr"

    def active(self, p: np.ndarray, alloc: Allocation, n_serving: np.ndarray) -> np.ndarray:
        active = super().active(p, alloc, n_serving)     # plus the RSAP: it times the delay phases (004 eq 8)
        served = n_serving > 0 if n_serving.ndim == 1 else (n_serving > 0).any(axis=0)
        active[alloc.serving[(alloc.serving >= 0) & served]] = True
        return active

    def prepare(self, csi_p: StatisticalCSI, p: np.ndarray, alloc: Allocation, ctx: RateContext) -> dict:
        state = self._estimation(csi_p, ctx)
        gram_est = state.pop("gram_est")
        state["est"] = mr_estimator(csi_p, gram_est, alloc.pilots, alloc.n_pilots, ctx.pilot_power_w,
                                    ctx.sigma_p_w, ctx.nlos)
        state["rsap"] = np.maximum(alloc.serving, 0)      # users without an RSAP have no power
        if ctx.async_frequency_hz is not None and ctx.phase_aware and ctx.phase_source == "precoder":
            state["s_hat"] = _delay_phase(csi_p, state["rsap"], ctx.async_frequency_hz)
        return state

    def run(self, csi_t: StatisticalCSI, state: dict, p: np.ndarray, ctx: RateContext) -> np.ndarray:
        vectors = _vectors(ctx, csi_t)
        gram_st = _gram(ctx, state["vectors"], vectors)
        gram_tt = gram_matrix(vectors) if ctx.method == "gram" else _gram(ctx, vectors, vectors)
        s = s_hat = None
        if ctx.async_frequency_hz is not None:
            s = _delay_phase(csi_t, state["rsap"], ctx.async_frequency_hz)
            s_hat = (s if ctx.phase_source == "true" else state["s_hat"]) if ctx.phase_aware else None
        weights = np.where(state["est"].gamma > 0, p, 0.0)
        return mr_sinr(csi_t, gram_st, gram_tt, state["est"], weights, ctx.tx_power_w, ctx.noise_w, ctx.sigma_p_w,
                       ctx.nlos, s, s_hat)


@dataclass(frozen=True)
class SpotRates(RateModel):
    """Fixed spot beams (000 Sec. II-C.1): streams are the active (satellite, beam) pairs."""

    links: str = "serving"
    family = "spot"
    beams = True

    def share(self, alloc: Allocation, p: np.ndarray) -> np.ndarray | int:
        return _spot_sharing(alloc, p)

    def prepare(self, csi_p: StatisticalCSI, p: np.ndarray, alloc: Allocation, ctx: RateContext) -> dict:
        return _spot_prepare(alloc, p, ctx)

    def run(self, csi_t: StatisticalCSI, state: dict, p: np.ndarray, ctx: RateContext) -> np.ndarray:
        return _spot_run(csi_t, state, ctx)


def _select(csi: StatisticalCSI, sats: np.ndarray, keep_steering: bool, flatten: bool = True) -> StatisticalCSI:
    """The satellites ``sats`` of ``csi``, with its steps flattened to (T, S, U) if ``flatten``.
    Without ``keep_steering`` the steering array (a block's largest, never read by the Gram path)
    is replaced by a zero-stride placeholder of its shape, so it is neither copied nor gathered."""
    n_ant = csi.n_ant
    if not keep_steering:
        csi = replace(csi, steering=np.broadcast_to(np.zeros((), complex), csi.beta.shape + (1,)))
    if flatten:
        csi = csi.flatten_steps()
    if sats.size != csi.n_sat:
        csi = csi.satellites(sats)
    if not keep_steering:
        csi = replace(csi, steering=np.broadcast_to(np.zeros((), complex), csi.beta.shape + (n_ant,)))
    return csi


def _check_inputs(model: RateModel, csi_true: StatisticalCSI, csi_precoder: StatisticalCSI,
                  alloc: Allocation, ctx: RateContext) -> tuple[int, ...]:
    shape = csi_true.beta.shape
    what = type(model).__name__
    if shape[-2:] != (alloc.n_sat, alloc.n_user):
        raise InputError(f"csi_true has (S, U) = {shape[-2:]}, the allocation {(alloc.n_sat, alloc.n_user)}")
    if csi_precoder.beta.shape not in (shape[-2:], shape):
        raise InputError(f"csi_precoder has shape {csi_precoder.beta.shape}; expected a snapshot {shape[-2:]} "
                         f"or the shape of csi_true {shape}")
    if csi_true.n_ant != ctx.n_h * ctx.n_v or csi_precoder.n_ant != csi_true.n_ant:
        raise InputError(f"steering vectors have {csi_true.n_ant} / {csi_precoder.n_ant} elements, "
                         f"the context's array n_h × n_v = {ctx.n_h} × {ctx.n_v}")
    if ctx.method == "gram" and csi_true.beta.size:
        first = np.unravel_index(0, shape)
        ref = steering_vector(csi_true.theta_rad[first], csi_true.phi_rad[first], ctx.n_h, ctx.n_v,
                              ctx.spacing_h, ctx.spacing_v)
        if np.max(np.abs(ref - csi_true.steering[first])) > 1e-6:
            raise InputError(f"the context's array (n_h={ctx.n_h}, n_v={ctx.n_v}, spacing {ctx.spacing_h}, "
                             f"{ctx.spacing_v} λ) does not reproduce the CSI's steering vectors; "
                             "build the context with RateContext.from_params(params)")
    if model.needs_pilots and (alloc.pilots is None or ctx.pilot_power_w is None):
        raise InputError(f"{what} needs allocation.pilots/n_pilots and ctx.pilot_power_w")
    if model.beams and (alloc.beam is None or ctx.beam_directions is None):
        raise InputError(f"{what} needs allocation.beam and ctx.beam_directions")
    if alloc.per_step and (len(shape) != 3 or alloc.power.shape[0] != shape[0]):
        raise InputError(f"per-step power {alloc.power.shape} needs csi_true of shape (T, S, U) with the same T; "
                         f"got {shape}")
    if alloc.per_step and not model.accepts_per_step(ctx):
        raise InputError(f"{what} builds its precoders from the power weights: per-step power "
                         "needs a cluster-link scheme with sMRT/sZF (zf_users='all'), CF-mMIMO or UC/FC/NCT-DMIMO")
    if model.beams and alloc.beam.max(initial=-1) >= ctx.beam_directions.shape[0]:
        raise InputError(f"allocation.beam reaches {alloc.beam.max()} but ctx.beam_directions has "
                         f"{ctx.beam_directions.shape[0]} beams")
    return shape[:-2]


def accepts_per_step(scheme: "str | RateModel", ctx: RateContext) -> bool:
    """Whether ``scheme`` (a registry name or a rate model) can be evaluated with per-step power
    weights (:attr:`Allocation.per_step`): its precoders and estimators must not depend on the weights."""
    return _model(scheme).accepts_per_step(ctx)


def _weights(model: RateModel, alloc: Allocation) -> tuple[np.ndarray, np.ndarray]:
    """Power weights p (S, U) in force and the number of serving satellites per user (U,)."""
    if model.links == "cluster":
        p = np.where(alloc.mask, alloc.power, 0.0)       # (S, U), or (T, S, U) per step
        if alloc.pilots is not None and model.needs_pilots:
            p = p * (alloc.pilots >= 0)              # no pilot, no estimate, no precoder
    else:
        onehot = (np.arange(alloc.n_sat)[:, None] == alloc.serving[None, :]) & (alloc.serving >= 0)
        if model.beams:
            onehot &= alloc.beam >= 0
        p = np.where(onehot, alloc.power, 0.0)
    return p, np.count_nonzero(p > 0, axis=-2)


def _restrict(alloc: Allocation, sats: np.ndarray) -> Allocation:
    """The allocation on the satellites ``sats`` (serving indices renumbered, others −1)."""
    new_index = np.full(alloc.n_sat, -1, dtype=np.int64)
    new_index[sats] = np.arange(sats.size)
    serving = np.where(alloc.serving >= 0, new_index[alloc.serving], -1)
    return Allocation(alloc.power[..., sats, :], alloc.mask[..., sats, :], serving, alloc.beam, alloc.pilots,
                      alloc.n_pilots)


def _sub_block_size(ctx: RateContext, n_sat: int, n_user: int, n_ant: int) -> int:
    if ctx.sub_block_steps is not None:
        return int(ctx.sub_block_steps)
    per_step_bytes = 16 * n_sat * n_user * (n_ant + 16 * n_user)
    cache = _TARGET_GRAM_ELEMENTS // max(1, n_sat * n_user * n_user)
    return max(1, min(cache if ctx.method == "gram" else 4 * cache, ctx.max_block_bytes // per_step_bytes))


def _serving_onehot(alloc: Allocation) -> np.ndarray:
    return (np.arange(alloc.n_sat)[:, None] == alloc.serving[None, :]) & (alloc.serving >= 0)


def _gram(ctx: RateContext, fa: SteeringFactors | np.ndarray, fb: SteeringFactors | np.ndarray) -> np.ndarray:
    """[..., l, k, i] = a_k^H b_i from factors (Gram path) or steering arrays (explicit path)."""
    if ctx.method == "gram":
        return gram_matrix(fa, fb)
    return np.conj(fa) @ np.swapaxes(fb, -1, -2)


def _vectors(ctx: RateContext, csi: StatisticalCSI) -> SteeringFactors | np.ndarray:
    return ctx.factors(csi) if ctx.method == "gram" else csi.steering


def _delay_phase(csi: StatisticalCSI, rsap: np.ndarray, frequency_hz: float) -> np.ndarray:
    """s_{l,k} = e^{−j2πf(τ_{l,k} − τ_{r_k,k})} (004 eqs 7–8)."""
    rsap = np.broadcast_to(rsap, csi.delay_s.shape[:-2] + rsap.shape)
    return delay_phase_shift(csi.delay_s, reference_delay_s(csi.delay_s, rsap_index=rsap), frequency_hz)


# ---------------------------------------------------------------------------------------------
# Spot beams (000 Sec. II-C.1): streams are the active (satellite, beam) pairs
# ---------------------------------------------------------------------------------------------
def spotbeam_allocation(serving_sat: np.ndarray, beam: np.ndarray, n_sat: int,
                        served: np.ndarray | None = None) -> Allocation:
    """Spot-beam decision with ρ_t split equally over each satellite's active beams (p² = 1/|B_l|).

    The split of :func:`~simulator.cooperation.spotbeam.spotbeam_rates`; ``served`` (U,) bool marks
    users that have a beam (None: all).
    """
    serving = np.asarray(serving_sat, dtype=np.int64)
    beam = np.asarray(beam, dtype=np.int64)
    ok = np.ones(serving.shape, bool) if served is None else np.asarray(served, dtype=bool)
    serving, beam = np.where(ok, serving, -1), np.where(ok, beam, -1)
    onehot = (np.arange(n_sat)[:, None] == serving[None, :]) & ok
    n_beams = np.array([np.unique(beam[serving == l]).size for l in range(n_sat)])
    power = np.where(onehot, 1.0 / np.sqrt(np.maximum(n_beams, 1))[:, None], 0.0)
    return Allocation(power=power, mask=onehot, serving=serving, beam=beam)


def _streams(alloc: Allocation, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Active streams (satellite, beam), their power p_{l,b}², and each user's stream (−1: none)."""
    users = np.flatnonzero(p.max(axis=0, initial=0.0) > 0)
    key = alloc.serving[users] * (alloc.beam.max(initial=0) + 1) + alloc.beam[users]
    keys, inverse = np.unique(key, return_inverse=True)
    first = np.array([users[np.flatnonzero(inverse == m)[0]] for m in range(keys.size)], dtype=np.int64)
    power_sq = np.zeros(keys.size)
    np.maximum.at(power_sq, inverse, p[alloc.serving[users], users] ** 2)
    own = np.full(alloc.n_user, -1, dtype=np.int64)
    own[users] = inverse
    return alloc.serving[first], alloc.beam[first], power_sq, own


def _spot_sharing(alloc: Allocation, p: np.ndarray) -> np.ndarray:
    """Users time-sharing each user's beam (≥ 1)."""
    _, _, _, own = _streams(alloc, p)
    counts = np.bincount(own[own >= 0], minlength=max(1, own.max(initial=-1) + 1))
    return np.where(own >= 0, counts[np.maximum(own, 0)], 1)


def _spot_prepare(alloc: Allocation, p: np.ndarray, ctx: RateContext) -> dict:
    sat, beam, power_sq, own = _streams(alloc, p)
    theta, phi = beam_angles(ctx.beam_directions[beam])
    if ctx.method == "gram":
        beams = steering_factors(theta, phi, ctx.n_h, ctx.n_v, ctx.spacing_h, ctx.spacing_v).expand(-1)
    else:
        beams = beam_weights(ctx.beam_directions[beam], ctx.n_h, ctx.n_v, ctx.spacing_h, ctx.spacing_v)
    return {"sat": sat, "power_sq": power_sq, "own": own, "beams": beams}


def _spot_run(csi_t: StatisticalCSI, state: dict, ctx: RateContext) -> np.ndarray:
    """SINR of 000 eq 21 per stream (docstring of :mod:`~simulator.cooperation.spotbeam`)."""
    sat, own = state["sat"], state["own"]
    n_ant = ctx.n_h * ctx.n_v
    if ctx.method == "gram":
        proj = gram_from_factors(ctx.factors(csi_t.satellites(sat)), state["beams"]) / np.sqrt(n_ant)
    else:
        proj = (np.conj(csi_t.steering[:, sat]) @ state["beams"][:, :, None])[..., 0]   # (t, M, K)
    v = csi_t.v[:, sat]
    gain = proj.real**2 + proj.imag**2
    total = np.einsum("tmk,m->tk", v * (csi_t.kappa[:, sat] + 1.0) * gain, state["power_sq"])
    users = np.flatnonzero(own >= 0)
    mean_sq = np.zeros(total.shape)
    mean_sq[:, users] = (csi_t.kappa[:, sat] * v * gain)[:, own[users], users] * state["power_sq"][own[users]]
    signal = ctx.tx_power_w * mean_sq
    return signal / (ctx.tx_power_w * total - signal + ctx.noise_w)


# ---------------------------------------------------------------------------------------------
# Registry names (the registry itself is :mod:`simulator.cooperation.schemes`)
# ---------------------------------------------------------------------------------------------
def _model(scheme: "str | RateModel") -> RateModel:
    if isinstance(scheme, RateModel):
        return scheme
    from .schemes import SCHEMES  # the registry imports this module; names are looked up at call time

    if scheme not in SCHEMES:
        raise InputError(f"scheme={scheme!r} is not one of {', '.join(SCHEMES)}")
    return SCHEMES[scheme].rates


def evaluate_rates(scheme: "str | RateModel", csi_true: StatisticalCSI, csi_precoder: StatisticalCSI,
                   allocation: Allocation, ctx: RateContext) -> RateBlock:
    """The rates of ``scheme`` (a registry name or a :class:`RateModel`), with a clear error for
    unknown names: ``SCHEMES[scheme].rates(csi_true, csi_precoder, allocation, ctx)``."""
    return _model(scheme)(csi_true, csi_precoder, allocation, ctx)


def __getattr__(name: str):
    if name == "SCHEME_RATES":  # name → rate model, a view of the registry (kept for callers of old)
        from .schemes import SCHEME_RATES

        return SCHEME_RATES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
