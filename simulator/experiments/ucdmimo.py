"""Experiments of paper 004 (UC-DMIMO): constellation snapshot drops and RSAP coverage-time replays.

Registered experiments
----------------------
``uc-dmimo-drop`` (004 Figs 2–4)
    One constellation snapshot (:mod:`~simulator.experiments.constellation`) with 004's radio set-up
    (:func:`~simulator.radio.params.paper004_params`). The RSAP of every user is chosen by both
    policies — ``best-channel`` (largest β) and ``max-service-time`` (largest remaining time above
    the mask, from the propagated geometry) — and every scheme (``uc-dmimo``, ``fc-dmimo``, ``nct``)
    is decided by the scheme registry around that RSAP (:func:`~simulator.cooperation.schemes.decide`)
    and evaluated with phase compensation on and off (synchronous vs asynchronous reception, 004
    Fig 2), all on the same draw. One row per (scheme, rsap_policy, phase_aware, user).
``uc-dmimo-coverage`` (004 Fig 5)
    A short engine replay of a generated scenario (:func:`coverage_scenario_toml`; the experiment
    itself is :func:`simulator.replay_experiments.uc_dmimo_coverage`, above the engine) with
    scheme ``uc-dmimo`` under both policies; one row per coverage interval (time between two RSAP
    handovers of a user), with a ``censored`` flag for intervals cut by the end of the replay.

Every parameter has a default (:data:`DROP_DEFAULTS`, :data:`COVERAGE_DEFAULTS`); values 004 states
are used as stated (2 GHz, 30 dBi, 15 dBW, 0 dB user gain, 0° mask), the others are leosim's choice
(docs/uc-dmimo.md, docs/reproduction.md part 2).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from ..cooperation.evaluate import Allocation, RateContext, evaluate_rates
from ..cooperation.rsap import POLICIES, select_rsap
from ..cooperation.schemes import DecideContext, decide
from ..errors import InputError
from ..orbits.geodesy import geodetic_to_ecef
from ..orbits.walker import preset
from ..radio.csi import compute_statistical_csi
from ..radio.params import paper004_params
from ..units import dbm_to_w, rad, w_to_dbm
from .constellation import constellation_snapshot, remaining_service_s
from .registry import experiment

# The replay-backed experiment of 004 Fig 5 (``uc-dmimo-coverage``) runs the engine, so it lives
# above both layers, in :mod:`simulator.replay_experiments`; this module gives it its scenario
# (:func:`coverage_scenario_toml`) and its rows (:func:`coverage_rows`).

__all__ = ["DROP_DEFAULTS", "COVERAGE_DEFAULTS", "SCHEMES_004", "uc_dmimo_drop",
           "antenna_shape", "walker_spec", "coverage_scenario_toml", "coverage_rows"]

#: Schemes of 004 Fig 3, in plotting order.
SCHEMES_004 = ("uc-dmimo", "fc-dmimo", "nct")

#: Parameters of ``uc-dmimo-drop`` and their defaults (004 Sec. IV where it states them).
DROP_DEFAULTS: dict[str, object] = {
    "constellation": "starlink-shell1",   # Walker preset (orbits.walker.PRESETS)
    "n_planes": 0,                        # 0: the preset's planes; else p planes of the preset's shell
    "n_sat": 0,                           # L nearest the centre; 0: all above the mask (FC = all visible)
    "n_user": 10,                         # K (lost in 004's extraction; ours)
    "n_ant": 64,                          # N = n_h × n_v, near-square UPA (antenna_shape)
    "n_pilots": 10,                       # τ_p (ours)
    "pilot_power_dbm": 23.0,              # η_k (ours; docs/uc-dmimo.md)
    "centre_lat_deg": 42.36,              # service-area centre (Boston, as the rate benchmark)
    "centre_lon_deg": -71.06,
    "disc_radius_km": 200.0,
    "min_elevation_deg": 0.0,             # 004 Sec. IV
    "cluster_min_elevation_deg": 40.0,    # UC candidate set S_k (engine default)
    "aperture_pattern": False,            # 004 eq 6 beam pattern towards the centre (off: in-beam gain)
    "async_phase": "carrier",             # delay phase at the carrier or at 1/bandwidth (004 eq 7)
    "window_s": 86_400.0,                 # the instant is drawn in one day from the catalogue epoch
}

#: Parameters of ``uc-dmimo-coverage`` and their defaults.
COVERAGE_DEFAULTS: dict[str, object] = {
    "constellation": "starlink-shell1",
    "n_planes": 0,
    "n_user": 10,
    "centre_lat_deg": 42.36,
    "centre_lon_deg": -71.06,
    "disc_radius_km": 200.0,
    "min_elevation_deg": 0.0,
    "duration_s": 1800.0,
    "step_s": 5.0,
    "hysteresis_db": 3.0,
    "time_to_trigger_s": 2.0,
    "n_ant": 16,
    "window_s": 86_400.0,
}


def _resolve_params(params: dict, defaults: dict[str, object], name: str) -> dict:
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise InputError(f"{name}: unknown parameter {unknown[0]!r}; allowed: {', '.join(sorted(defaults))}")
    return {**defaults, **params}


def antenna_shape(n_ant: int) -> tuple[int, int]:
    """Near-square UPA (n_h, n_v) with n_h · n_v = N and n_h the largest divisor ≤ √N.

    >>> antenna_shape(64), antenna_shape(32), antenna_shape(128)
    ((8, 8), (4, 8), (8, 16))
    """
    if int(n_ant) != n_ant or n_ant < 1:
        raise InputError(f"n_ant={n_ant!r} must be a positive integer (antennas per satellite)")
    n = int(n_ant)
    n_h = max(d for d in range(1, int(np.sqrt(n)) + 1) if n % d == 0)
    return n_h, n // n_h


def walker_spec(constellation: str, n_planes: int):
    """The Walker preset ``constellation``, with ``n_planes`` planes of its shell when > 0."""
    spec = preset(constellation)
    if not n_planes:
        return spec
    if int(n_planes) != n_planes or n_planes < 1:
        raise InputError(f"n_planes={n_planes!r} must be a positive integer or 0 (the preset's)")
    return dataclasses.replace(spec, name=f"{spec.name}-p{int(n_planes)}", n_planes=int(n_planes),
                   phasing=min(spec.phasing, int(n_planes) - 1))


def _async_frequency_hz(kind: object, params) -> float:
    if kind == "carrier":
        return params.frequency_hz
    if kind == "symbol":
        return params.bandwidth_hz          # 004 eq 7: 2π Δτ / T_s with T_s = 1 / B
    raise InputError(f"async_phase={kind!r} is not one of carrier, symbol")


@experiment("uc-dmimo-drop")
def uc_dmimo_drop(params: dict, seed: int) -> pd.DataFrame:
    """One constellation drop of 004's set-up: every scheme × RSAP policy × phase compensation.

    Columns: scheme, rsap_policy, phase_aware, user_id, se_bps_hz, n_serving, rsap_sat_id,
    rsap_elevation_deg, rsap_service_s, n_visible, n_orbiting (drop-level: n_visible, n_orbiting).
    """
    p = _resolve_params(params, DROP_DEFAULTS, "uc-dmimo-drop")
    spec = walker_spec(str(p["constellation"]), p["n_planes"])
    n_h, n_v = antenna_shape(p["n_ant"])
    radio = paper004_params(n_h=n_h, n_v=n_v)
    if not p["aperture_pattern"]:
        radio = radio.replace(aperture_radius_m=None)
    n_sat = int(p["n_sat"])
    snap = constellation_snapshot(
        np.random.default_rng(seed), spec, n_sat if n_sat > 0 else None, int(p["n_user"]),
        centre_lat_deg=float(p["centre_lat_deg"]), centre_lon_deg=float(p["centre_lon_deg"]),
        disc_radius_km=float(p["disc_radius_km"]), min_elevation_deg=float(p["min_elevation_deg"]),
        window_s=float(p["window_s"]))
    centre = geodetic_to_ecef(float(p["centre_lat_deg"]), float(p["centre_lon_deg"]), 0.0)
    csi = compute_statistical_csi(snap.sat_pos_m, snap.sat_vel_m_s, snap.user_pos_m, params=radio,
                                  rng=np.random.default_rng([seed, 1]),
                                  min_elevation_deg=float(p["min_elevation_deg"]),
                                  beam_target_m=centre if p["aperture_pattern"] else None)
    service = remaining_service_s(snap, float(p["min_elevation_deg"]))
    eligible = np.asarray(csi.visible, bool) & (csi.beta > 0)
    pilot_w = float(dbm_to_w(float(p["pilot_power_dbm"])))
    ctx = DecideContext(tx_power_w=radio.tx_power_w, noise_w=radio.noise_power_w, n_pilots=int(p["n_pilots"]),
                        pilot_power_w=pilot_w,
                        cluster_min_elevation_rad=float(rad(float(p["cluster_min_elevation_deg"]))))
    rate_ctx = {aware: RateContext.from_params(radio, pilot_power_w=pilot_w, phase_aware=aware,
                                               async_frequency_hz=_async_frequency_hz(p["async_phase"], radio))
                for aware in (True, False)}
    users = np.arange(csi.n_user)
    frames = []
    for policy in POLICIES:
        rsap = select_rsap(csi.beta, service, eligible, policy)
        has = rsap >= 0
        safe = np.where(has, rsap, 0)
        for scheme in SCHEMES_004:
            d = decide(scheme, csi, ctx, rsap)
            alloc = Allocation(d.power, d.mask, d.serving, pilots=d.pilots, n_pilots=int(p["n_pilots"]))
            for aware, rctx in rate_ctx.items():
                se = evaluate_rates(scheme, csi, csi, alloc, rctx).se_bps_hz
                frames.append(pd.DataFrame({
                    "scheme": scheme, "rsap_policy": policy, "phase_aware": aware, "user_id": users,
                    "se_bps_hz": np.asarray(se, float).reshape(-1), "n_serving": d.mask.sum(axis=0),
                    "rsap_sat_id": np.where(has, snap.sat_ids[safe] if len(snap.sat_ids) else -1, -1),
                    "rsap_elevation_deg": np.where(has, np.degrees(csi.elevation_rad[safe, users]), np.nan),
                    "rsap_service_s": np.where(has, service[safe, users], np.nan),
                }))
    rows = pd.concat(frames, ignore_index=True)
    rows["n_visible"] = int(snap.sat_pos_m.shape[0])
    rows["n_orbiting"] = int(spec.n_sats)
    return rows


def coverage_scenario_toml(p: dict, seed: int, start_utc: str) -> str:
    """Scenario TOML of one ``uc-dmimo-coverage`` task: uc-dmimo under both RSAP policies, 004's radio."""
    n_h, n_v = antenna_shape(p["n_ant"])
    radio = paper004_params(n_h=n_h, n_v=n_v)
    spec = walker_spec(str(p["constellation"]), p["n_planes"])
    noise_dbm = float(w_to_dbm(radio.noise_power_w))
    return f"""
name = "uc-dmimo-coverage"
seed = {int(seed)}
[time]
start_utc = {start_utc}
duration_s = {float(p["duration_s"])}
step_s = {float(p["step_s"])}
[constellation.walker]
planes = {spec.n_planes}
per_plane = {spec.sats_per_plane}
altitude_km = {spec.altitude_m / 1e3}
inclination_deg = {spec.inclination_deg}
phasing = {spec.phasing}
star = {"true" if spec.pattern == "star" else "false"}
[users]
disc = {{ center_lat_deg = {float(p["centre_lat_deg"])}, center_lon_deg = {float(p["centre_lon_deg"])}, radius_km = {float(p["disc_radius_km"])}, count = {int(p["n_user"])}, seed = {int(seed)} }}
[radio]
frequency_ghz = {radio.frequency_hz / 1e9}
bandwidth_mhz = {radio.bandwidth_hz / 1e6}
tx_power_dbm = {float(w_to_dbm(radio.tx_power_w))}
noise_dbm = {noise_dbm}
sat_gain_dbi = {radio.tx_gain_dbi}
ue_gain_dbi = {radio.rx_gain_dbi}
n_h = {n_h}
n_v = {n_v}
kappa_db = {radio.kappa_db}
shadowing = true
shadowing_sigma_db = {radio.shadowing_sigma_db}
scintillation = true
n_pilots = 10
ue_tx_power_dbm = 23.0
[schemes]
names = ["uc-dmimo"]
rsap_policies = ["best-channel", "max-service-time"]
[events]
min_elevation_deg = {float(p["min_elevation_deg"])}
csi_period_s = {float(p["step_s"])}
hysteresis_db = {float(p["hysteresis_db"])}
time_to_trigger_s = {float(p["time_to_trigger_s"])}
"""


def coverage_rows(run_dir: str | Path) -> pd.DataFrame:
    """Coverage intervals of a run (004 Fig 5) as experiment rows, via :mod:`simulator.analysis.coverage`.

    An interval is a spell with one RSAP, from access or an RSAP handover to the next RSAP record.
    ``censored`` marks intervals cut by the end of the run (right-censored, for Kaplan–Meier).
    Intervals starting at the run start are *not* censored: the replay starts with every user's
    initial access, so no RSAP was held before (``left_censored`` is kept as a column).

    Returns
    -------
    DataFrame — rsap_policy, user_id, sat_id, duration_s, censored, left_censored, start_s
    """
    from ..analysis.coverage import coverage_intervals
    from ..analysis.loading import load_run

    run = load_run(run_dir)
    iv = coverage_intervals(run)
    return pd.DataFrame({
        "rsap_policy": iv["rsap_policy"].astype(str), "user_id": iv["user_id"].astype(np.int64),
        "sat_id": iv["sat_id"].astype(np.int64), "duration_s": iv["duration_s"].astype(float),
        "censored": iv["right_censored"].astype(bool), "left_censored": iv["left_censored"].astype(bool),
        "start_s": (iv["start"] - run.window_start).dt.total_seconds().astype(float),
    })


uc_dmimo_drop.defaults = DROP_DEFAULTS

from . import figures_ucdmimo  # noqa: E402,F401  (registers 004 Figs 2–5)
