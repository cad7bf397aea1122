"""Spot-beam benchmark of 000 Sec. II-C.1 / Sec. VI: a fixed grid of beams per satellite, best beam per user.

Beam grid. Every satellite carries the same ``n_beams`` fixed beams (64 in 000 Sec. VI; 48 for the
Starlink-like layout 000 Sec. II-C cites), formed by its own N_h × N_v UPA. A beam pointing at the
direction cosines (c_y, c_x) = (u · y_b, u · x_b) of the antenna frame
(:mod:`simulator.radio.antenna_frame`: y_b cross-track, x_b along-track, z_b nadir) has the weights
w = a(c_y, c_x) / √N, the steering vector of 000 eqs 2–4 in that direction. The array factor
|a(u)^H w|² depends only on the difference of direction cosines, so in (c_y, c_x) space every beam
has the same shape and 3 dB width (:func:`beamwidth_3db`: 0.223 for 8 elements at λ/2, 12.8° at
nadir). The beam centres form a hexagonal lattice in that space (the tessellated hexagonal
footprints of 000 Sec. II-C.1): nadir, then whole hexagonal rings of 6, 12, 18, … beams, and the
remaining beams on the innermost points of the next ring, spread evenly in angle (64 = 1 + 6 + 12 +
18 + 24 + 3), with the
lattice spacing chosen so that ``n_beams`` hexagonal cells have the area of the field-of-view disk
c_y² + c_x² ≤ sin² η_max, η_max the off-nadir angle of the elevation mask
(:func:`max_off_nadir_rad`). With 64 beams, an 8 × 8 array at λ/2 and a 550 km orbit with a 10°
mask the spacing is 0.216 ≈ the 3 dB width, so neighbouring beams cross at about −3 dB.

The beamwidth comes from the UPA, not from the TR 38.811 aperture pattern: the channel of every
scheme is h = g a (000 eq 8), so the received beam gain is exactly a^H w and the spot-beam scheme
uses the same array, the same β and the same N as the cooperative schemes it is compared with.

Association and power. User k picks the (satellite, beam) of maximum received reference power
E|h_{l,k}^H w_{l,b}|² = β_{l,k} |a_{l,k}^H w_{l,b}|² over all satellites' beams (000 Sec. II-C.1),
with every beam's reference signal at the same power. A beam chosen by at least one user is
active; satellite l splits ρ_t equally over its |B_l| active beams (power weight p_{l,b}² = 1/|B_l|).
Users sharing a beam are time-shared round-robin: in each slot an active beam carries one user's
data, so the SINR of a user does not depend on the schedule, and its spectral efficiency is
log2(1 + SINR) / n_share. All satellites and beams reuse the full band (inter-beam and
inter-satellite interference).

SINR (000 eq 21 with the moments of eqs 65–66, per stream (l, b)): mean = m_{l,k}^* a_{l,k}^H w_{l,b},
var = v_{l,k} |a_{l,k}^H w_{l,b}|², and::

    SINR_k = ρ p_o² |mean_o|² / (ρ Σ_{(l,b) active} p_{l,b}² (var + |mean|²)_{l,k,b} − ρ p_o² |mean_o|² + σ²)

with o = (s_k, b_k) the user's own beam.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from ..constants import WGS84_A
from ..errors import InputError
from ..radio.channel import draw_link_coefficients
from ..radio.statistical_csi import StatisticalCSI
from ..radio.steering import steering_vector
from .single import StreamMonteCarlo, montecarlo_sinr_streams

__all__ = [
    "max_off_nadir_rad",
    "beamwidth_3db",
    "hex_beam_grid",
    "beam_angles",
    "beam_weights",
    "SpotBeamResult",
    "select_beams",
    "spotbeam_rates",
    "spotbeam_precoders",
    "montecarlo_sinr_spotbeam",
]


def max_off_nadir_rad(altitude_m: float, min_elevation_rad: float, earth_radius_m: float = WGS84_A) -> float:
    """Off-nadir angle η_max of the elevation mask on a spherical Earth: sin η = R cos ε / (R + h).

    >>> round(float(np.degrees(max_off_nadir_rad(550e3, np.radians(10.0)))), 2)
    65.04
    """
    return float(np.arcsin(earth_radius_m * np.cos(min_elevation_rad) / (earth_radius_m + altitude_m)))


def beamwidth_3db(n_elements: int, spacing: float = 0.5) -> float:
    """Full 3 dB width, in direction-cosine units, of a uniform n-element line array (spacing in λ).

    Solves |sin(nπdx) / (n sin(πdx))|² = 1/2 for the half width x. The nadir beamwidth in angle is
    2 arcsin(x).

    >>> round(beamwidth_3db(8), 4)
    0.223
    """
    if n_elements < 2:
        raise InputError(f"n_elements={n_elements}: a beamwidth needs at least 2 elements")
    n, d = int(n_elements), float(spacing)

    def excess(x: float) -> float:
        return (np.sin(n * np.pi * d * x) / (n * np.sin(np.pi * d * x))) ** 2 - 0.5

    return 2.0 * brentq(excess, 1e-12, 1.0 / (n * d), xtol=1e-15)


def hex_beam_grid(n_beams: int, max_off_nadir: float) -> np.ndarray:
    """Beam centres (c_y, c_x) on a hexagonal lattice covering the field of view (module docstring).

    Parameters
    ----------
    n_beams : int — beams per satellite (64 in 000 Sec. VI)
    max_off_nadir : float, rad — η_max; the field of view is the disk of radius sin η_max

    Returns
    -------
    ndarray, shape (n_beams, 2) — direction cosines (cross-track c_y, along-track c_x), nearest to
    nadir first
    """
    if n_beams < 1:
        raise InputError(f"n_beams={n_beams}: need at least one beam per satellite")
    if not 0.0 < max_off_nadir < np.pi / 2:
        raise InputError(f"max_off_nadir={max_off_nadir} rad outside (0, π/2)")
    radius = np.sin(max_off_nadir)
    spacing = radius * np.sqrt(2.0 * np.pi / (np.sqrt(3.0) * n_beams))   # n hexagons = disk area
    m = int(np.ceil(np.sqrt(n_beams))) + 2
    i, j = np.meshgrid(np.arange(-m, m + 1), np.arange(-m, m + 1), indexing="ij")
    i, j = i.ravel(), j.ravel()
    ring = np.maximum.reduce([np.abs(i), np.abs(j), np.abs(i + j)])        # hexagonal distance from nadir
    pts = spacing * np.stack([i + 0.5 * j, (np.sqrt(3.0) / 2.0) * j], axis=-1)
    angle = np.mod(np.arctan2(pts[:, 1], pts[:, 0]), 2 * np.pi)
    order = np.lexsort((np.round(angle, 9), ring))
    n_full = int(np.searchsorted(np.cumsum(np.bincount(ring[order])), n_beams, side="right"))
    full = order[ring[order] < n_full]
    rest = n_beams - full.size
    partial = order[ring[order] == n_full]
    radius_of = np.round(np.hypot(pts[partial, 0], pts[partial, 1]) / spacing, 9)
    if rest:                       # the innermost points of the next ring, spread evenly in angle
        nearest = partial[radius_of <= np.sort(radius_of)[rest - 1]]      # already in angle order
        partial = nearest[np.floor(np.arange(rest) * nearest.size / rest).astype(int)]
    centres = pts[np.concatenate([full, partial[:rest]])]
    if np.any(np.hypot(centres[:, 0], centres[:, 1]) >= 1.0):
        raise InputError(f"n_beams={n_beams} over a field of view of {np.degrees(max_off_nadir):.1f}° off nadir puts "
                         "beam centres beyond the horizon of the array; use more beams or a smaller field of view")
    return centres


def beam_weights(directions: np.ndarray, n_h: int, n_v: int, spacing_h: float = 0.5,
                 spacing_v: float = 0.5) -> np.ndarray:
    """Unit-norm beam weights w_b = a(c_y, c_x) / √N towards direction cosines (000 eqs 2–4).

    Parameters
    ----------
    directions : ndarray, shape (..., B, 2) — (c_y, c_x) with c_y² + c_x² < 1
    n_h, n_v : int — UPA size (must match the CSI's steering vectors)
    spacing_h, spacing_v : float — element spacings in wavelengths

    Returns
    -------
    ndarray, shape (..., B, n_h n_v), complex
    """
    theta, phi = beam_angles(directions)
    return steering_vector(theta, phi, n_h, n_v, spacing_h, spacing_v) / np.sqrt(n_h * n_v)


def beam_angles(directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AoDs (θ, φ) of the antenna frame pointing at direction cosines (c_y, c_x) (docs/radio.md).

    cos θ = c_x (along-track), sin θ cos φ = c_y (cross-track), sin θ sin φ = √(1 − c_y² − c_x²) (nadir).

    Parameters
    ----------
    directions : ndarray, shape (..., 2) — (c_y, c_x) with c_y² + c_x² < 1

    Returns
    -------
    theta, phi : ndarray, shape (...), rad
    """
    c = np.asarray(directions, dtype=float)
    c_y, c_x = c[..., 0], c[..., 1]
    nadir = 1.0 - c_y**2 - c_x**2
    if np.any(nadir <= 0.0):
        raise InputError("beam directions must satisfy c_y² + c_x² < 1 (inside the visible hemisphere)")
    return np.arccos(c_x), np.arctan2(np.sqrt(nadir), c_y)


@dataclass(frozen=True)
class SpotBeamResult:
    """Per-user outcome of the spot-beam scheme.

    Attributes
    ----------
    sinr : ndarray, shape (..., K), linear — 0.0 for users that see no satellite
    se_bps_hz : ndarray, shape (..., K), bit/s/Hz — log2(1 + SINR) / n_share
    serving_sat, beam : ndarray, shape (..., K), int — the chosen (satellite, beam)
    served : ndarray, shape (..., K), bool — False where no beam reaches the user (β = 0 everywhere)
    n_share : ndarray, shape (..., K), int — users on the same beam (time-shared), ≥ 1
    beam_power : ndarray, shape (..., L, B) — p_{l,b}² = 1/|B_l| on active beams, 0 elsewhere
    """

    sinr: np.ndarray
    se_bps_hz: np.ndarray
    serving_sat: np.ndarray
    beam: np.ndarray
    served: np.ndarray
    n_share: np.ndarray
    beam_power: np.ndarray


def _projections(csi: StatisticalCSI, weights: np.ndarray) -> np.ndarray:
    """a_{l,k}^H w_{l,b}, shape (..., L, K, B); weights (B, N) or (..., L, B, N)."""
    w = np.asarray(weights)
    if w.shape[-1] != csi.n_ant:
        raise InputError(f"beam weights have {w.shape[-1]} elements, the CSI steering vectors {csi.n_ant}")
    return np.conj(csi.steering) @ np.swapaxes(w, -1, -2)


def select_beams(csi: StatisticalCSI, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best (satellite, beam) per user by received reference power β |a^H w|² (000 Sec. II-C.1).

    Returns
    -------
    serving_sat, beam : ndarray, shape (..., K), int
    rx_gain : ndarray, shape (..., L, K, B) — β_{l,k} |a_{l,k}^H w_{l,b}|² (linear, per unit power)
    """
    proj = _projections(csi, weights)
    rx = np.where(csi.visible, csi.beta, 0.0)[..., None] * np.abs(proj) ** 2
    n_beam = rx.shape[-1]
    flat = np.moveaxis(rx, -3, -2).reshape(rx.shape[:-3] + (rx.shape[-2], -1))   # (..., K, L*B)
    best = np.argmax(flat, axis=-1)
    return best // n_beam, best % n_beam, rx


def _assignment(serving_sat: np.ndarray, beam: np.ndarray, served: np.ndarray, n_sat: int,
                n_beam: int) -> tuple[np.ndarray, np.ndarray]:
    """Beam power p_{l,b}² (..., L, B) and users per beam n_share (..., K)."""
    stream = serving_sat * n_beam + beam
    same = (stream[..., :, None] == stream[..., None, :]) & served[..., None, :]
    n_share = np.maximum(same.sum(axis=-1), 1)
    hits = (np.arange(n_sat * n_beam)[:, None] == stream[..., None, :]) & served[..., None, :]
    active = hits.any(axis=-1).reshape(stream.shape[:-1] + (n_sat, n_beam))
    count = active.sum(axis=-1, keepdims=True)
    return np.where(active, 1.0 / np.maximum(count, 1), 0.0), n_share


def spotbeam_rates(csi: StatisticalCSI, weights: np.ndarray, tx_power_w: float,
                   noise_w: float | np.ndarray) -> SpotBeamResult:
    """Closed-form SINR and SE of the spot-beam scheme (module docstring; 000 eqs 21, 65–66).

    Parameters
    ----------
    csi : StatisticalCSI — arrays (..., L, K), steering (..., L, K, N)
    weights : ndarray, shape (B, N) or (..., L, B, N), complex — unit-norm beam weights
        (:func:`beam_weights` of :func:`hex_beam_grid`)
    tx_power_w : float, W — ρ_t per satellite
    noise_w : float or ndarray, shape (...,), W — σ_n²

    Returns
    -------
    SpotBeamResult
    """
    serving_sat, beam, rx = select_beams(csi, weights)
    proj = _projections(csi, weights)
    served = np.take_along_axis(rx.max(axis=-1), serving_sat[..., None, :], axis=-2)[..., 0, :] > 0
    n_sat, n_beam = csi.n_sat, proj.shape[-1]
    power, n_share = _assignment(serving_sat, beam, served, n_sat, n_beam)
    v, kappa = csi.v[..., None], csi.kappa[..., None]
    second = v * (kappa + 1.0) * np.abs(proj) ** 2                 # var + |mean|² = β |a^H w|²
    total = np.einsum("...lkb,...lb->...k", second, power)
    mean_sq = kappa * v * np.abs(proj) ** 2                          # |m|² |a^H w|²
    own_idx = serving_sat[..., None, :, None]
    own_mean_sq = np.take_along_axis(np.take_along_axis(mean_sq, own_idx, axis=-3), beam[..., None, :, None],
                                     axis=-1)[..., 0, :, 0]
    own_power = np.take_along_axis(np.take_along_axis(power, serving_sat[..., :, None], axis=-2),
                                   beam[..., :, None], axis=-1)[..., 0]
    signal = tx_power_w * own_power * own_mean_sq
    noise = np.asarray(noise_w, dtype=float)[..., None]
    sinr = np.where(served, signal / (tx_power_w * total - signal + noise), 0.0)
    se = np.log2(1.0 + sinr) / n_share
    return SpotBeamResult(sinr=sinr, se_bps_hz=se, serving_sat=serving_sat, beam=beam, served=served,
                          n_share=n_share, beam_power=power)


def spotbeam_precoders(weights: np.ndarray, serving_sat: np.ndarray, beam: np.ndarray, n_sat: int) -> np.ndarray:
    """Per-user precoders w[l, k] = w_{s_k, b_k} for l = s_k, else 0; shape (..., L, K, N).

    Feeds :func:`~simulator.cooperation.single.coefficients_single` so the SCA power allocation of
    000 Sec. VI can be applied to spot beams when no two users share a beam.
    """
    w = np.asarray(weights)
    if w.ndim == 2:
        chosen = w[beam]                                              # (..., K, N)
        chosen = np.broadcast_to(chosen[..., None, :, :], beam.shape[:-1] + (n_sat,) + chosen.shape[-2:])
    else:
        chosen = np.take_along_axis(w, beam[..., None, :, None], axis=-2)     # (..., L, K, N)
    mask = np.arange(n_sat)[:, None] == serving_sat[..., None, :]
    return np.where(mask[..., None], chosen, 0.0)


def montecarlo_sinr_spotbeam(csi: StatisticalCSI, weights: np.ndarray, serving_sat: np.ndarray, beam: np.ndarray,
                             beam_power: np.ndarray, tx_power_w: float, noise_w: float | np.ndarray,
                             n_draws: int, rng: np.random.Generator, **kwargs) -> StreamMonteCarlo:
    """Monte-Carlo SINR of the spot-beam scheme: channel draws (000 eq 8), gains of every active beam.

    h_{l,k} = g_{l,k} a_{l,k} with g = √v (√κ e^{jφ} + α), α ~ CN(0, 1) drawn per realisation
    (:func:`~simulator.radio.channel.draw_link_coefficients`), so h^H w = g^* (a^H w) and only the
    scalars are drawn; the sample terms of 000 eq 21 are formed over all active beams.

    Parameters
    ----------
    csi, weights, tx_power_w, noise_w : as :func:`spotbeam_rates`
    serving_sat, beam : ndarray, shape (..., K), int — the association (e.g. from :func:`spotbeam_rates`)
    beam_power : ndarray, shape (..., L, B) — p_{l,b}²
    n_draws : int; rng : numpy.random.Generator
    **kwargs : n_groups, batch_draws of :func:`~simulator.cooperation.single.montecarlo_sinr_streams`

    Returns
    -------
    StreamMonteCarlo
    """
    power = np.asarray(beam_power, dtype=float)                     # (..., L, B)
    n_sat, n_beam = power.shape[-2:]
    proj = np.sqrt(power)[..., None, :] * _projections(csi, weights)   # √p a_{l,k}^H w_{l,b}
    proj = np.moveaxis(proj, -3, -2).reshape(proj.shape[:-3] + (csi.n_user, n_sat * n_beam))
    sat_of = np.repeat(np.arange(n_sat), n_beam)
    keep = np.flatnonzero(np.any(power.reshape(-1, n_sat * n_beam) > 0, axis=0))   # active streams only
    position = np.zeros(n_sat * n_beam, dtype=np.int64)
    position[keep] = np.arange(keep.size)
    proj, sat_of = proj[..., keep], sat_of[keep]

    def draw(n: int) -> np.ndarray:
        g = np.conj(draw_link_coefficients(csi, n, rng))               # (n, ..., L, K)
        g = np.swapaxes(g, -1, -2)[..., sat_of]                         # (n, ..., K, streams)
        return g * proj

    own = position[np.asarray(serving_sat) * n_beam + np.asarray(beam)]
    return montecarlo_sinr_streams(draw, n_draws, tx_power_w, noise_w, own=own, **kwargs)
