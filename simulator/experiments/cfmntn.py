"""Experiment of paper 000 (CF-mNTN): one snapshot drop with every 000 scheme on the same draw.

Registered experiment
---------------------
``cf-mntn-drop`` — one drop of 000's set-up (Sec. VI-A): ``n_sat`` satellites over the 700 × 700 km
box at 550 km (:func:`~simulator.experiments.drops.paper000_drop`), ``n_user`` users in a 200 km disc,
the statistical CSI of that geometry with :func:`~simulator.radio.params.paper000_params`, then every
requested scheme decided by :func:`~simulator.cooperation.schemes.decide` and evaluated with the
closed-form rates of :func:`~simulator.cooperation.evaluate.evaluate_rates` on fresh statistics
(the precoders are built from the same snapshot the rates are evaluated on).

Parameters (000 Sec. VI-A defaults)
-----------------------------------
n_sat : int, 20 — L, satellites in the drop
n_user : int, 10 — K, users
n_h, n_v : int, 8, 8 — UPA elements per axis (N = n_h n_v)
n_ant : int or None, None — N; when given (and n_h, n_v are not), the most nearly square UPA
    n_h × n_v = N with n_h ≥ n_v (96 → 12 × 8, 32 → 8 × 4, 64 → 8 × 8)
k_max : int or "8K/10", 8 — users per satellite (000 eq 23b); ``"8K/10"`` is Fig. 6's
    K_max = ⌊8K/10⌋ (at least 1)
snr_db : float or None, None — reference SNR ρ_t β_ref / σ_n² (dB), β_ref the large-scale gain of a
    user at the sub-satellite point (slant range = altitude, G^sat G^ue, zenith absorption); the
    satellite power ρ_t is set to reach it. None keeps 000's ρ_t = 40 dBm (β_ref = −158.3 dB at
    550 km and 5 GHz, so SNR ≈ 21.7 dB). The array gain is not included (a single user beamformed
    by one satellite at nadir sees SNR + 10 log10 N).
kappa_db : float or None, None — a fixed Rician K-factor for every link (Fig. 7); None: κ uniform in
    15–20 dB per link, drawn from the seed
schemes : list of str, all nine — any of :data:`SCHEMES_000`
n_pilots : int, 4 — τ_p of CF-mMIMO iMRT
n_beams : int, 64 — spot beams per satellite
geometry : "box" or "constellation", "box" — 000's box (:func:`~simulator.experiments.drops.paper000_drop`)
    or the ``n_sat`` satellites of a Walker preset nearest the disc centre at a random instant of one
    day (:func:`~simulator.experiments.constellation.constellation_drop`, mask 10° from the centre;
    fewer than ``n_sat`` when fewer are above it)
constellation : str, "starlink-shell1" — Walker preset of the "constellation" geometry
centre_lat_deg, centre_lon_deg : float, deg, 0.0, 0.0 — geodetic centre of the users' disc (and box)

Rows: one per (scheme, user): ``scheme``, ``user_id``, ``se_bps_hz`` (log2(1 + SINR), bit/s/Hz, 000
eq 22), ``sinr_db`` (−inf for an unserved user), ``n_serving``; drop-level columns repeated on every
row of a scheme: ``sum_se_bps_hz`` (000's R_tot), ``min_se_bps_hz`` (R_min), ``inner_iters``,
``outer_iters``, ``solve_s``, ``status``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd

from ..cooperation.evaluate import Allocation, RateContext, evaluate_rates
from ..cooperation.rsap import select_rsap
from ..cooperation.schemes import DecideContext, decide
from ..cooperation.spotbeam import beam_weights, hex_beam_grid, max_off_nadir_rad
from ..errors import InputError
from ..radio.csi import compute_statistical_csi, draw_link_variates
from ..radio.linkbudget import large_scale_gain
from ..radio.params import RadioParams, paper000_params
from ..units import db_to_lin, lin_to_db, rad
from .drops import paper000_drop
from .registry import experiment

__all__ = ["SCHEMES_000", "DEFAULTS", "ALTITUDE_M", "reference_gain", "tx_power_for_snr", "upa_shape", "cf_mntn_drop"]

#: The nine schemes of 000 Sec. VI (registry names), in the order the rows are written.
SCHEMES_000 = ("cf-mntn-smrt", "cf-mntn-szf", "cf-mmimo-imrt", "single-slnr", "single-smrt", "spot-beam",
               "distance-sca", "distance-uniform", "alg1-uniform")
#: Satellite altitude of 000 Sec. VI-A, m.
ALTITUDE_M = 550e3
#: Elevation mask of the drop's links and of the spot-beam field of view, deg (all of 000's box is above ~30°).
MIN_ELEVATION_DEG = 10.0
K_MAX_RULE = "8K/10"
GEOMETRIES = ("box", "constellation")

DEFAULTS: dict[str, Any] = {
    "n_sat": 20, "n_user": 10, "n_h": 8, "n_v": 8, "n_ant": None, "k_max": 8, "snr_db": None, "kappa_db": None,
    "schemes": list(SCHEMES_000), "n_pilots": 4, "n_beams": 64, "geometry": "box",
    "constellation": "starlink-shell1", "centre_lat_deg": 0.0, "centre_lon_deg": 0.0,
}


def reference_gain(params: RadioParams, altitude_m: float = ALTITUDE_M) -> float:
    """β_ref: large-scale gain (linear) of a user at the sub-satellite point (000 eq 1 at d = h).

    >>> round(float(lin_to_db(reference_gain(paper000_params()))), 1)
    -158.3
    """
    return float(large_scale_gain(altitude_m, params.frequency_hz, tx_gain_dbi=params.tx_gain_dbi,
                                  rx_gain_dbi=params.rx_gain_dbi, loss_db=params.zenith_db + params.other_losses_db))


def tx_power_for_snr(snr_db: float, params: RadioParams, altitude_m: float = ALTITUDE_M) -> float:
    """ρ_t (W) such that ρ_t β_ref / σ_n² equals ``snr_db`` (our SNR of 000 Figs 3, 6 and 9)."""
    return float(db_to_lin(snr_db)) * params.noise_power_w / reference_gain(params, altitude_m)


def upa_shape(n_ant: int) -> tuple[int, int]:
    """The most nearly square (n_h, n_v) with n_h n_v = n_ant and n_h ≥ n_v.

    >>> upa_shape(96), upa_shape(32), upa_shape(64)
    ((12, 8), (8, 4), (8, 8))
    """
    n_v = max(d for d in range(1, math.isqrt(n_ant) + 1) if n_ant % d == 0)
    return n_ant // n_v, n_v


def _int(params: dict, key: str, low: int) -> int:
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise InputError(f"cf-mntn-drop: {key}={value!r} must be an integer >= {low}")
    return int(value)


def _number(params: dict, key: str) -> float | None:
    value = params[key]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise InputError(f"cf-mntn-drop: {key}={value!r} must be a finite number (dB) or None")
    return float(value)


def resolve_params(params: dict) -> dict:
    """``params`` over :data:`DEFAULTS`, validated; unknown keys raise InputError naming the allowed ones."""
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise InputError(f"cf-mntn-drop: unknown parameter(s) {', '.join(map(repr, unknown))}; "
                         f"allowed: {', '.join(DEFAULTS)}")
    p = {**DEFAULTS, **params}
    for key, low in (("n_sat", 1), ("n_user", 1), ("n_h", 1), ("n_v", 1), ("n_pilots", 1), ("n_beams", 1)):
        p[key] = _int(p, key, low)
    if p["n_ant"] is not None:
        n_ant = _int(p, "n_ant", 1)
        if ("n_h" in params or "n_v" in params) and (p["n_h"], p["n_v"]) != upa_shape(n_ant):
            raise InputError(f"cf-mntn-drop: give either n_ant={n_ant} or n_h, n_v ({p['n_h']}, {p['n_v']}), not both")
        p["n_h"], p["n_v"] = upa_shape(n_ant)
    if p["k_max"] == K_MAX_RULE:
        p["k_max"] = max(1, (8 * p["n_user"]) // 10)
    elif isinstance(p["k_max"], str):
        raise InputError(f"cf-mntn-drop: k_max={p['k_max']!r} must be an integer >= 1 or {K_MAX_RULE!r}")
    else:
        p["k_max"] = _int(p, "k_max", 1)
    p["snr_db"], p["kappa_db"] = _number(p, "snr_db"), _number(p, "kappa_db")
    for key in ("centre_lat_deg", "centre_lon_deg"):
        if _number(p, key) is None:
            raise InputError(f"cf-mntn-drop: {key}=None must be a number of degrees")
    if not -90.0 <= p["centre_lat_deg"] <= 90.0:
        raise InputError(f"cf-mntn-drop: centre_lat_deg={p['centre_lat_deg']!r} outside [-90, 90] deg")
    if not isinstance(p["constellation"], str):
        raise InputError(f"cf-mntn-drop: constellation={p['constellation']!r} must be a Walker preset name")
    schemes = p["schemes"]
    if isinstance(schemes, str) or not isinstance(schemes, (list, tuple)) or not schemes:
        raise InputError(f"cf-mntn-drop: schemes={schemes!r} must be a non-empty list of {', '.join(SCHEMES_000)}")
    bad = [s for s in schemes if s not in SCHEMES_000]
    if bad:
        raise InputError(f"cf-mntn-drop: schemes {bad} not among {', '.join(SCHEMES_000)}")
    p["schemes"] = list(dict.fromkeys(schemes))
    if p["geometry"] not in GEOMETRIES:
        raise InputError(f"cf-mntn-drop: geometry={p['geometry']!r} is not one of {', '.join(GEOMETRIES)}")
    return p


def radio_params(p: dict) -> RadioParams:
    """000's RadioParams with the drop's array, K-factor model and SNR (validated ``p``)."""
    params = paper000_params(n_h=p["n_h"], n_v=p["n_v"])
    if p["kappa_db"] is not None:
        params = params.replace(kappa_model="constant", kappa_db=p["kappa_db"])
    if p["snr_db"] is not None:
        params = params.replace(tx_power_w=tx_power_for_snr(p["snr_db"], params))
    return params


@experiment("cf-mntn-drop")
def cf_mntn_drop(params: dict, seed: int) -> pd.DataFrame:
    """One drop of 000's set-up with every requested scheme on the same draw (module docstring).

    Parameters
    ----------
    params : dict — overrides of :data:`DEFAULTS` (module docstring lists them with units)
    seed : int — seed of ``numpy.random.default_rng``: satellite box, user disc, then κ draws

    Returns
    -------
    pandas.DataFrame — one row per (scheme, user), columns in the module docstring
    """
    p = resolve_params(params)
    radio = radio_params(p)
    rng = np.random.default_rng(seed)
    sat, vel, user = _geometry(rng, p)
    draws = draw_link_variates(rng, (sat.shape[0], p["n_user"]))
    csi = compute_statistical_csi(sat, vel, user, params=radio, link_draws=draws, min_elevation_deg=MIN_ELEVATION_DEG)
    directions = hex_beam_grid(p["n_beams"], max_off_nadir_rad(ALTITUDE_M, rad(MIN_ELEVATION_DEG)))
    dctx = DecideContext(tx_power_w=radio.tx_power_w, noise_w=radio.noise_power_w, k_max=p["k_max"],
                         n_pilots=p["n_pilots"], pilot_power_w=radio.ue_tx_power_w,
                         beam_weights=beam_weights(directions, radio.n_h, radio.n_v, radio.spacing_h_wavelengths,
                                                   radio.spacing_v_wavelengths))
    rctx = RateContext.from_params(radio, beam_directions=directions)
    # The serving satellite of single-satellite schemes and spot beams: highest received power (000 Sec. VI).
    rsap = select_rsap(csi.beta, np.full(csi.beta.shape, np.inf), csi.visible, "best-channel")
    cache: dict = {}
    frames = []
    for name in _decision_order(p["schemes"]):
        d = decide(name, csi, dctx, rsap, None, cache)
        alloc = Allocation(power=d.power, mask=d.mask, serving=d.serving, beam=d.beam, pilots=d.pilots,
                           n_pilots=p["n_pilots"] if d.pilots is not None else None)
        block = evaluate_rates(name, csi, csi, alloc, rctx)
        se = np.asarray(block.se_bps_hz, dtype=float)
        frames.append(pd.DataFrame({
            "scheme": name, "user_id": np.arange(p["n_user"]), "se_bps_hz": se,
            "sinr_db": lin_to_db(block.sinr), "n_serving": np.asarray(block.n_serving, dtype=np.int64),
            "sum_se_bps_hz": float(se.sum()), "min_se_bps_hz": float(se.min()),
            "inner_iters": int(d.inner_iters), "outer_iters": int(d.outer_iters), "solve_s": float(d.solve_s),
            "status": d.status,
        }))
    order = {name: i for i, name in enumerate(p["schemes"])}
    frames.sort(key=lambda f: order[f["scheme"].iat[0]])
    return pd.concat(frames, ignore_index=True)


def _geometry(rng: np.random.Generator, p: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Satellite ECEF positions, Earth-fixed velocities and user positions of the drop."""
    centre = dict(centre_lat_deg=p["centre_lat_deg"], centre_lon_deg=p["centre_lon_deg"])
    if p["geometry"] == "box":
        return paper000_drop(rng, p["n_sat"], p["n_user"], ALTITUDE_M, **centre)
    from .constellation import constellation_drop

    return constellation_drop(rng, p["constellation"], p["n_sat"], p["n_user"],
                              min_elevation_deg=MIN_ELEVATION_DEG, **centre)


def _decision_order(schemes: list[str]) -> list[str]:
    """``alg1-uniform`` after ``cf-mntn-smrt`` so it reuses that Algorithm-1 run (decide's cache)."""
    return sorted(schemes, key=lambda s: s == "alg1-uniform")


from . import figures_cfmntn  # noqa: E402,F401  (registers the 000 figures)
