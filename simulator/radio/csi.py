"""Statistical CSI from geometry: positions and velocities → {θ, φ, β, κ, ν, τ, φ_LOS} (000 Sec. II-B, III-A).

One call serves a snapshot (satellites ``(S, 3)``, users ``(U, 3)``) or a block of steps
(``(T, S, 3)`` and ``(T, U, 3)`` or ``(U, 3)``); every output has shape ``(..., S, U)`` and a block
equals the stack of its snapshots, random draws included (see :class:`LinkDraws`).

Conventions
-----------
- τ = d / c, with d the slant range (000 Sec. II-B).
- ν = −(f/c) ḋ: the received Doppler shift, positive while the satellite approaches. 000 writes
  ν = (f/c) d/dt‖p^sat − p^ue‖; with that sign eq 5 would advance the phase against the motion.
  With ν = −(f/c) ḋ, φ(t) = 2π(tν − fτ) is the first-order expansion of the LOS carrier phase
  −2π f τ(t0 + t) about the geometry instant t0, which is what eq 5 models.
- φ = 2π(t ν − f τ) (000 eq 5), with t = ``t_s`` counted from the geometry instant, wrapped to
  [−π, π). f τ is ~10⁷ cycles; its fractional part is computed with error-free products (Dekker's
  TwoProduct), so the phase equals the exactly rounded value for the float64 inputs to ~1e-15
  cycle. The range itself, computed from ECEF vectors of ~7e6 m, carries ~1e-9 m of rounding,
  i.e. ≲ 1e-7 rad at 30 GHz. Physically the phase is only as good as the positions: 1 mm of
  position error moves it by 2π · 1 mm / λ (0.1 rad at 5 GHz).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..constants import SPEED_OF_LIGHT
from ..errors import InputError
from ..units import db_to_lin, rad
from .antenna_frame import angles_of_departure, elevation_rad
from .aperture import aperture_gain
from .linkbudget import large_scale_gain
from .params import RadioParams
from .pathloss import (
    clutter_loss_db,
    gaseous_absorption_db,
    ionospheric_scintillation_db,
    los_probability,
    ricean_k_factor_db,
    shadow_fading_sigma_db,
    tropospheric_scintillation_db,
)
from .statistical_csi import StatisticalCSI
from .steering import steering_vector

__all__ = ["LinkDraws", "draw_link_variates", "carrier_phase_cycles", "los_phase_rad", "compute_statistical_csi"]

_DEKKER_SPLIT = 134_217_729.0  # 2**27 + 1, splits a float64 into two 26-bit halves


@dataclass(frozen=True)
class LinkDraws:
    """Per-link random variates behind κ, shadowing and the LOS state, each shape (S, U) or broadcastable.

    Keeping one ``LinkDraws`` for a whole run gives every (satellite, user) pair a fixed K-factor,
    shadowing and LOS state whose *values* still follow the elevation (TR 38.811 tables), so the CSI
    changes smoothly between refreshes. All four arrays are always drawn, in a fixed order, so
    switching one model on or off never changes the others' draws.

    Attributes
    ----------
    kappa_uniform : ndarray, U(0, 1) — position of κ in ``kappa_range_db`` (uniform model)
    kappa_normal : ndarray, N(0, 1) — κ_dB = μ_K + σ_K · z (TR 38.811 model)
    shadow_normal : ndarray, N(0, 1) — shadow fading σ_SF · z dB
    los_uniform : ndarray, U(0, 1) — the link is LOS when below P_LOS(elevation)
    """

    kappa_uniform: np.ndarray
    kappa_normal: np.ndarray
    shadow_normal: np.ndarray
    los_uniform: np.ndarray


def draw_link_variates(rng: np.random.Generator, shape: tuple[int, ...]) -> LinkDraws:
    """Draw the per-link variates of :class:`LinkDraws` from ``rng`` (order: κ-uniform, κ-normal, shadow, LOS)."""
    return LinkDraws(
        kappa_uniform=rng.random(shape),
        kappa_normal=rng.standard_normal(shape),
        shadow_normal=rng.standard_normal(shape),
        los_uniform=rng.random(shape),
    )


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = _DEKKER_SPLIT * a
    hi = t - (t - a)
    return hi, a - hi


def _two_product(a: ArrayLike, b: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """p, e with p = fl(a b) and p + e = a b exactly (Dekker 1971, TwoProduct)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    p = a * b
    a_hi, a_lo = _split(a)
    b_hi, b_lo = _split(b)
    e = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return p, e


def _wrap_cycles(x: np.ndarray) -> np.ndarray:
    """Wrap a cycle count to [−0.5, 0.5)."""
    return x - np.floor(x + 0.5)


def _frac_product(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Fractional part of a·b wrapped to [−0.5, 0.5), accurate even when a·b ≫ 1."""
    p, e = _two_product(a, b)
    return _wrap_cycles((p - np.round(p)) + e)


def carrier_phase_cycles(range_m: ArrayLike, frequency_hz: float) -> np.ndarray:
    """f τ = f d / c modulo 1, wrapped to [−0.5, 0.5), to ~1e-15 cycle of the exact value.

    f / c is split as k + r with k = fl(f / c) and the residual r recovered exactly from
    TwoProduct(k, c); d k is taken as TwoProduct(d, k); the integer part is removed before the small
    terms are added.

    Parameters
    ----------
    range_m : ndarray, shape (...), m
    frequency_hz : float, Hz

    Returns
    -------
    ndarray, shape (...), cycles in [−0.5, 0.5)

    >>> round(float(carrier_phase_cycles(2.25 * 299_792_458.0, 1.0)), 12)  # 2.25 cycles
    0.25
    """
    f = float(frequency_hz)
    k = f / SPEED_OF_LIGHT
    p, e = _two_product(k, SPEED_OF_LIGHT)
    residual = ((f - p) - e) / SPEED_OF_LIGHT  # f / c − k
    d = np.asarray(range_m, dtype=float)
    big, err = _two_product(d, k)
    return _wrap_cycles((big - np.round(big)) + err + d * residual)


def los_phase_rad(range_m: ArrayLike, doppler_hz: ArrayLike, t_s: ArrayLike, frequency_hz: float) -> np.ndarray:
    """LOS phase φ = 2π(t ν − f τ) of 000 eq 5, wrapped to [−π, π).

    Parameters
    ----------
    range_m : ndarray, shape (...), m — slant range d (τ = d / c)
    doppler_hz : ndarray, broadcastable, Hz — ν
    t_s : float or ndarray, broadcastable, s — time since the geometry instant
    frequency_hz : float, Hz

    Returns
    -------
    ndarray, rad in [−π, π)
    """
    cycles = _frac_product(t_s, doppler_hz) - carrier_phase_cycles(range_m, frequency_hz)
    return 2.0 * np.pi * _wrap_cycles(cycles)


def compute_statistical_csi(
    sat_pos_m: ArrayLike,
    sat_vel_m_s: ArrayLike,
    user_pos_m: ArrayLike,
    user_vel_m_s: ArrayLike | None = None,
    *,
    t_s: ArrayLike = 0.0,
    params: RadioParams,
    rng: np.random.Generator | None = None,
    link_draws: LinkDraws | None = None,
    min_elevation_deg: float = 0.0,
    beam_target_m: ArrayLike | None = None,
    with_steering: bool = True,
) -> StatisticalCSI:
    """Statistical CSI of every satellite→user link from ECEF positions and velocities (000 eqs 1–8).

    Parameters
    ----------
    sat_pos_m : ndarray, shape (..., S, 3), m — satellite ECEF positions
    sat_vel_m_s : ndarray, shape (..., S, 3), m/s — satellite ECEF (Earth-fixed) velocities
    user_pos_m : ndarray, shape (..., U, 3), m — user ECEF positions
    user_vel_m_s : ndarray, shape (..., U, 3), m/s, optional — user ECEF velocities (None: fixed)
    t_s : float or ndarray broadcastable to (..., S, U), s — time since the geometry instant at
        which the LOS phase of eq 5 is evaluated (0: the phase at the geometry instant)
    params : RadioParams
    rng : numpy.random.Generator, optional — draws the per-link variates (shape (S, U), shared by
        all leading axes) when ``link_draws`` is not given
    link_draws : LinkDraws, optional — per-link variates to reuse (time-consistent CSI)
    min_elevation_deg : float, deg — elevation mask; links below it have β = 0.0, visible False
    beam_target_m : ndarray, shape (3,) or (..., S, 3), m, optional — ECEF point each satellite's beam
        points at; the aperture pattern (004 eq 6, TR 38.811 §6.4.1) is evaluated at the angle between
        the beam axis and the user. None: the beam points at nadir (angle = off-nadir angle).
    with_steering : bool — compute the steering vectors (000 eq 2); False leaves a read-only zero
        array of the right shape in their place, for callers that read only β, κ or the geometry
        (a third of the cost at N = 64)

    Returns
    -------
    StatisticalCSI with arrays (..., S, U) and steering (..., S, U, N)

    Raises
    ------
    InputError
        A random model (κ 'uniform'/'tr38811', shadowing, LOS 'tr38811') without ``rng`` or
        ``link_draws``.
    """
    p = params
    sat = np.asarray(sat_pos_m, dtype=float)
    sat_vel = np.asarray(sat_vel_m_s, dtype=float)
    user = np.asarray(user_pos_m, dtype=float)
    rel = user[..., np.newaxis, :, :] - sat[..., :, np.newaxis, :]
    rel_vel = -sat_vel[..., :, np.newaxis, :]
    if user_vel_m_s is not None:
        rel_vel = rel_vel + np.asarray(user_vel_m_s, dtype=float)[..., np.newaxis, :, :]
    slant = np.linalg.norm(rel, axis=-1)
    range_rate = np.sum(rel * rel_vel, axis=-1) / slant
    delay = slant / SPEED_OF_LIGHT
    doppler = -(p.frequency_hz / SPEED_OF_LIGHT) * range_rate
    phase = los_phase_rad(slant, doppler, t_s, p.frequency_hz)

    aod = angles_of_departure(sat, sat_vel, user)
    elevation = elevation_rad(sat, user)
    visible = elevation >= rad(min_elevation_deg)
    if with_steering:
        steering = steering_vector(aod.theta_rad, aod.phi_rad, p.n_h, p.n_v, p.spacing_h_wavelengths,
                                   p.spacing_v_wavelengths)
    else:
        steering = np.broadcast_to(np.zeros((), complex), aod.theta_rad.shape + (p.n_h * p.n_v,))

    draws = _link_draws(p, rng, link_draws, elevation.shape[-2:])
    los = np.ones(elevation.shape, dtype=bool)
    if p.los_model == "tr38811":
        los = draws.los_uniform < los_probability(elevation, p.environment)
    kappa = np.where(los, db_to_lin(_kappa_db(p, elevation, draws)), 0.0)

    loss_db = gaseous_absorption_db(elevation, p.zenith_db) + p.other_losses_db
    if p.scintillation:
        loss_db = loss_db + (
            ionospheric_scintillation_db(p.frequency_hz) if p.band == "S" else tropospheric_scintillation_db(elevation)
        )
    if p.shadowing:
        sigma = p.shadowing_sigma_db
        if sigma is None:
            sigma = shadow_fading_sigma_db(elevation, p.environment, p.band, los)
        loss_db = loss_db + sigma * draws.shadow_normal
    if p.los_model == "tr38811":
        loss_db = loss_db + clutter_loss_db(elevation, p.environment, p.band, los)
    pattern = 1.0
    if p.aperture_radius_m is not None:
        off_axis = aod.boresight_rad if beam_target_m is None else _off_axis_rad(sat, rel, slant, beam_target_m)
        pattern = aperture_gain(off_axis, p.aperture_radius_m, p.frequency_hz)
    beta = large_scale_gain(
        slant, p.frequency_hz, tx_gain_dbi=p.tx_gain_dbi, rx_gain_dbi=p.rx_gain_dbi, pattern_gain=pattern, loss_db=loss_db
    )
    beta = np.where(visible, beta, 0.0)

    return StatisticalCSI(
        beta=beta,
        kappa=np.broadcast_to(kappa, beta.shape).copy(),
        steering=steering,
        phase_rad=np.broadcast_to(phase, beta.shape).copy(),
        delay_s=delay,
        doppler_hz=doppler,
        theta_rad=aod.theta_rad,
        phi_rad=aod.phi_rad,
        elevation_rad=elevation,
        slant_range_m=slant,
        visible=visible,
    )


def _off_axis_rad(sat: np.ndarray, rel: np.ndarray, slant: np.ndarray, beam_target_m: ArrayLike) -> np.ndarray:
    """Angle (…, S, U) between each satellite's beam axis (towards ``beam_target_m``) and each user."""
    axis = np.asarray(beam_target_m, dtype=float) - sat
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    cos = np.einsum("...sux,...sx->...su", rel, axis) / slant
    return np.arccos(np.clip(cos, -1.0, 1.0))


def _link_draws(
    p: RadioParams, rng: np.random.Generator | None, link_draws: LinkDraws | None, shape: tuple[int, ...]
) -> LinkDraws | None:
    random_needed = p.kappa_model != "constant" or p.shadowing or p.los_model != "always"
    if link_draws is not None:
        return link_draws
    if rng is not None:
        return draw_link_variates(rng, shape)
    if random_needed:
        raise InputError(
            f"kappa_model={p.kappa_model!r}, shadowing={p.shadowing}, los_model={p.los_model!r} draw random "
            "values per link: pass rng=numpy.random.default_rng(seed) or link_draws"
        )
    return None


def _kappa_db(p: RadioParams, elevation: np.ndarray, draws: LinkDraws | None) -> np.ndarray:
    """κ in dB per link: constant, uniform in kappa_range_db (000 Sec. VI), or TR 38.811 N(μ_K, σ_K)."""
    if p.kappa_model == "constant":
        return np.full(elevation.shape, float(p.kappa_db))
    if p.kappa_model == "uniform":
        lo, hi = p.kappa_range_db
        return np.broadcast_to(lo + (hi - lo) * draws.kappa_uniform, elevation.shape)
    mu, sigma = ricean_k_factor_db(elevation, p.environment, p.band)
    return mu + sigma * draws.kappa_normal
