"""``leosim bench rates``: rate evaluation of every scheme over a block of steps, Gram path vs explicit.

Geometry (all measured in the same run): the ``starlink-shell1`` Walker preset propagated with SGP4
over ``--steps`` steps of 1 s; the ``--sats`` satellites nearest a service-area centre (Boston) at the
first step; ``--users`` users on a sunflower layout filling a disc of radius 200 km (000 Sec. VI);
statistical CSI from :func:`~simulator.radio.csi.compute_statistical_csi` with ``paper000_params``
(10° mask) and, for the 004 schemes, ``paper004_params`` with the aperture beam pointed at the
centre (0° mask). The precoders are built from the CSI of the first step (the last refresh) and
every step is evaluated on its true CSI, as the engine does between two events. Allocations follow
simple rules (no optimiser): uniform power over the ``--k-max`` (8) strongest users per satellite
(CF-mNTN and the Fig. 5 baselines), all visible links (CF-mMIMO, τ_p = K/2), the strongest
satellite (single), the best beam of 64 (spot beam), the 4 strongest satellites per user with
fractional power and τ_p = K (UC-DMIMO), all visible (FC-DMIMO), the RSAP alone (NCT). With
``--precoders per-step`` every step's precoders come from its own CSI instead, as in a replay whose
CSI refresh period is the logging step (the estimators and precoders are then rebuilt at every step).

Per scheme: CPU µs per step of :class:`~simulator.cooperation.evaluate.SchemeRates` with
``method='explicit'`` (N-element inner products, the baseline) and ``method='gram'`` (closed-form
Dirichlet Gram matrices), best of ``--repeats`` interleaved runs (process CPU time, so that other
jobs on a shared machine do not inflate it), the speed-up, the < 200 µs target, the cost of building
the block's steering vectors (which only the explicit path needs: the Gram path reads angles) and
the speed-up counting it, the largest relative SINR difference between the two paths, and the
agreement with the Monte-Carlo
estimators of :mod:`~simulator.cooperation.montecarlo` / ``single`` / ``spotbeam`` / ``ucdmimo`` on
one stale snapshot (step ``--mc-step``), with the draws used.

Single-threaded: BLAS and OpenMP pools are read when numpy loads, so unless ``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` are already 1, the benchmark re-runs itself in a
child process with them set to 1 and returns the child's rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from ..constants import THREAD_VARIABLES

DESCRIPTION = "rate evaluation per scheme over a block: closed-form Gram path vs explicit, and Monte-Carlo agreement"
TARGET_US_PER_STEP = 200.0
K_MAX = 8
CENTRE = (42.36, -71.06)          # deg, the service-area centre (Boston, as in `bench orbits`)
DISC_RADIUS_M = 200e3             # m, 000 Sec. VI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=600, help="steps of 1 s in the block (default 600)")
    parser.add_argument("--sats", type=int, default=30, help="satellites nearest the centre (default 30)")
    parser.add_argument("--users", type=int, default=10, help="users in the 200 km disc (default 10)")
    parser.add_argument("--n-h", type=int, default=8, help="UPA elements, horizontal axis (default 8)")
    parser.add_argument("--n-v", type=int, default=8, help="UPA elements, vertical axis (default 8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per path, best kept (default 3)")
    parser.add_argument("--mc-draws", type=int, default=16_000, help="Monte-Carlo draws per scheme (default 16000)")
    parser.add_argument("--mc-step", type=int, default=5, help="step of the Monte-Carlo snapshot (default 5)")
    parser.add_argument("--no-mc", action="store_true", help="skip the Monte-Carlo agreement")
    parser.add_argument("--seed", type=int, default=0, help="seed of the link draws and Monte-Carlo (default 0)")
    parser.add_argument("--k-max", type=int, default=K_MAX, help=f"users per satellite, CF-mNTN (default {K_MAX})")
    parser.add_argument("--precoders", choices=("snapshot", "per-step"), default="snapshot",
                        help="precoders from step 0 (default) or from every step's own CSI, as a replay")


def run(args: argparse.Namespace) -> list[dict]:
    if all(os.environ.get(name) == "1" for name in THREAD_VARIABLES):
        return measure(args)
    env = dict(os.environ, **{name: "1" for name in THREAD_VARIABLES})
    argv = [sys.executable, "-m", "simulator.cli", "bench", "rates", "--json"]
    for name in ("steps", "sats", "users", "n_h", "n_v", "repeats", "mc_draws", "mc_step", "seed", "k_max",
                 "precoders"):
        argv += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    if args.no_mc:
        argv.append("--no-mc")
    child = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if child.returncode != 0:
        raise RuntimeError(f"single-threaded child run failed ({child.returncode}):\n{child.stderr}")
    return json.loads(child.stdout)


# -- scenario ----------------------------------------------------------------------------------
def scenario(args: argparse.Namespace):
    """True CSI blocks (000 and 004 set-ups), the service-area centre and the array parameters."""
    from ..orbits import geodetic_to_ecef, propagate_ecef, walker_catalog
    from ..orbits.propagate import builtin_timescale
    from ..radio import compute_statistical_csi, paper000_params, paper004_params
    from ..timebase import jd_to_utc_ns, utc_ns_to_jd
    from .orbits import disc_points

    catalog = walker_catalog("starlink-shell1")
    start = int(jd_to_utc_ns(catalog.median_epoch_jd()))
    jd, fr = utc_ns_to_jd(start + np.arange(args.steps, dtype=np.int64) * 1_000_000_000)
    eph = propagate_ecef(catalog, jd, fr, timescale=builtin_timescale(), warn=False)
    centre = geodetic_to_ecef(*CENTRE, 0.0)
    nearest = np.argsort(np.linalg.norm(eph.positions_m[0] - centre, axis=-1))[: args.sats]
    pos, vel = eph.positions_m[:, nearest], eph.velocities_m_s[:, nearest]
    users = disc_points(*CENTRE, DISC_RADIUS_M, args.users)
    p000 = paper000_params(n_h=args.n_h, n_v=args.n_v)
    p004 = paper004_params(n_h=args.n_h, n_v=args.n_v)
    csi000 = compute_statistical_csi(pos, vel, users, params=p000, rng=np.random.default_rng(args.seed),
                                     min_elevation_deg=10.0)
    csi004 = compute_statistical_csi(pos, vel, users, params=p004, rng=np.random.default_rng(args.seed + 1),
                                     min_elevation_deg=0.0, beam_target_m=centre)
    return csi000, csi004, p000, p004


def _uniform_over(mask: np.ndarray) -> np.ndarray:
    count = mask.sum(axis=1, keepdims=True)
    return np.where(mask, 1.0 / np.sqrt(np.maximum(count, 1)), 0.0)


def allocations(csi000, csi004, p000, p004, k_max: int = K_MAX):
    """(scheme, csi block, allocation, context) for every registry scheme (module docstring)."""
    from ..cooperation.evaluate import Allocation, RateContext, spotbeam_allocation
    from ..cooperation.single import strongest_satellite
    from ..cooperation.spotbeam import beam_weights, hex_beam_grid, max_off_nadir_rad, select_beams
    from ..cooperation.ucdmimo import assign_pilots, fc_cluster, fractional_power, nct_cluster
    from ..units import rad

    snap = csi000.steps(0)
    n_sat, n_user = snap.beta.shape
    beta = np.where(snap.visible, snap.beta, 0.0)
    rank = np.argsort(np.argsort(-beta, axis=1), axis=1)
    kmax = (rank < k_max) & (beta > 0)
    serving = strongest_satellite(snap)
    onehot = np.arange(n_sat)[:, None] == serving[None, :]
    ctx000 = RateContext.from_params(p000)
    n_pil = max(1, n_user // 2)
    cf = Allocation(_uniform_over(kmax), kmax, serving)
    mmimo = Allocation(_uniform_over(beta > 0), beta > 0, serving, pilots=np.arange(n_user) % n_pil, n_pilots=n_pil)
    single = Allocation(_uniform_over(onehot), onehot, serving)
    grid = hex_beam_grid(64, max_off_nadir_rad(550e3, rad(10.0)))
    sat, beam, rx = select_beams(snap, beam_weights(grid, p000.n_h, p000.n_v))
    spot = spotbeam_allocation(sat, beam, n_sat, served=rx.max(axis=(-3, -1)) > 0)
    rows = [("cf-mntn-smrt", csi000, cf, ctx000), ("cf-mntn-szf", csi000, cf, ctx000),
            ("cf-mmimo-imrt", csi000, mmimo, ctx000), ("single-slnr", csi000, single, ctx000),
            ("single-smrt", csi000, single, ctx000),
            ("spot-beam", csi000, spot, RateContext.from_params(p000, beam_directions=grid)),
            ("distance-sca", csi000, cf, ctx000), ("distance-uniform", csi000, cf, ctx000),
            ("alg1-uniform", csi000, cf, ctx000)]
    snap4 = csi004.steps(0)
    beta4 = np.where(snap4.visible, snap4.beta, 0.0)
    rsap = strongest_satellite(snap4)
    uc = (np.argsort(np.argsort(-beta4, axis=0), axis=0) < 4) & (beta4 > 0)
    uc[rsap, np.arange(n_user)] = True
    pilots = assign_pilots(beta4, rsap, n_user)
    ctx004 = RateContext.from_params(p004, pilot_power_w=0.2)       # η = 23 dBm (docs/uc-dmimo.md)
    for name, cluster in (("uc-dmimo", uc), ("fc-dmimo", fc_cluster(snap4)), ("nct", nct_cluster(rsap, n_sat))):
        alloc = Allocation(fractional_power(beta4, cluster), cluster, rsap, pilots=pilots, n_pilots=n_user)
        rows.append((name, csi004, alloc, ctx004))
    return rows


# -- measurements ------------------------------------------------------------------------------
def _timed(fn) -> tuple[float, object]:
    """CPU seconds of this (single-threaded) process spent in ``fn()``, and its result."""
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def steering_cost_us(csi, n_h: int, n_v: int, repeats: int) -> float:
    """µs per step to build the block's steering vectors (T, S, U, N): needed by the explicit path only."""
    from ..radio.steering import steering_vector

    n_steps = csi.beta.shape[0]
    best = min(_timed(lambda: steering_vector(csi.theta_rad, csi.phi_rad, n_h, n_v))[0] for _ in range(repeats))
    return 1e6 * best / n_steps


def _relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    scale = np.maximum(np.abs(b), 1e-300)
    return float(np.max(np.where(b > 0, np.abs(a - b) / scale, np.abs(a))))


def montecarlo(name: str, csi_true, csi_prec, alloc, ctx, n_draws: int, rng: np.random.Generator):
    """The existing Monte-Carlo estimator of ``name`` on one true snapshot with the stale precoders.

    Returns the estimator's result (``sinr`` and ``sinr_stderr`` of shape (U,)).
    """
    from ..cooperation import montecarlo as mc
    from ..cooperation.rates_cfmntn import statistical_precoders
    from ..cooperation.single import slnr_precoders_from_mask
    from ..cooperation.spotbeam import beam_weights, montecarlo_sinr_spotbeam
    from ..cooperation.ucdmimo import Pilots, async_phase_shift, montecarlo_sinr_ucdmimo

    scheme_family = {"cf-mmimo-imrt": "imrt", "spot-beam": "spot", "uc-dmimo": "mr", "fc-dmimo": "mr", "nct": "mr"}
    family = scheme_family.get(name, "statistical")
    single = name.startswith("single")
    onehot = np.arange(alloc.n_sat)[:, None] == alloc.serving[None, :]
    p = np.where(onehot if single else alloc.mask, alloc.power, 0.0)
    rho, noise = ctx.tx_power_w, ctx.noise_w
    if family == "spot":
        power = np.zeros((alloc.n_sat, ctx.beam_directions.shape[0]))
        ok = alloc.serving >= 0
        power[alloc.serving[ok], alloc.beam[ok]] = alloc.power[alloc.serving[ok], np.flatnonzero(ok)] ** 2
        weights = beam_weights(ctx.beam_directions, ctx.n_h, ctx.n_v, ctx.spacing_h, ctx.spacing_v)
        return montecarlo_sinr_spotbeam(csi_true, weights, np.maximum(alloc.serving, 0), np.maximum(alloc.beam, 0),
                                        power, rho, noise, n_draws, rng)
    active = p.any(axis=1)
    if family == "mr":
        active[alloc.serving] = True
    true, prec, p = csi_true.satellites(active), csi_prec.satellites(active), p[active]
    if family == "statistical":
        if name == "single-slnr":
            w = slnr_precoders_from_mask(prec, onehot[active], rho, noise, ctx.slnr_leakage)
        else:
            w = statistical_precoders(prec, "szf" if name == "cf-mntn-szf" else "smrt")
        return mc.montecarlo_sinr_statistical(true, w, p, rho, noise, n_draws, rng)
    if family == "imrt":
        book = np.eye(alloc.n_pilots, dtype=complex)[:, alloc.pilots]
        return mc.montecarlo_sinr_imrt(true, p, rho, noise, book, ctx.pilot_power_w, n_draws, rng,
                                       estimator_csi=prec)
    rsap = np.cumsum(active)[alloc.serving] - 1
    pilots = Pilots(index=alloc.pilots, n_pilots=alloc.n_pilots, power_w=ctx.pilot_power_w, noise_w=ctx.sigma_p_w)
    f = ctx.async_frequency_hz
    return montecarlo_sinr_ucdmimo(true, alloc.mask[active], p, pilots, rho, noise, n_draws, rng,
                                   phase_shift=async_phase_shift(true, rsap, f), phase_aware=ctx.phase_aware,
                                   predicted_shift=async_phase_shift(prec, rsap, f), nlos=ctx.nlos,
                                   estimator_csi=prec, batch_draws=100)


def measure(args: argparse.Namespace) -> list[dict]:
    """Run the benchmark in this process (see the module docstring)."""
    from dataclasses import replace

    from ..cooperation.evaluate import SCHEME_RATES

    csi000, csi004, p000, p004 = scenario(args)
    rng = np.random.default_rng(args.seed + 2)
    steering_us = {id(c): steering_cost_us(c, args.n_h, args.n_v, args.repeats) for c in (csi000, csi004)}
    rows = []
    per_step = args.precoders == "per-step"
    for name, csi, alloc, ctx in allocations(csi000, csi004, p000, p004, args.k_max):
        prec = csi if per_step else csi.steps(0)
        scheme = SCHEME_RATES[name]
        best = {"explicit": np.inf, "gram": np.inf}
        result = {}
        for _ in range(args.repeats):
            for method in best:
                wall, result[method] = _timed(lambda: scheme(csi, prec, alloc, replace(ctx, method=method)))
                best[method] = min(best[method], wall)
        explicit_us, gram_us = (1e6 * best[m] / args.steps for m in ("explicit", "gram"))
        served = result["gram"].n_serving > 0
        steer = steering_us[id(csi)]
        row = {"scheme": name, "explicit_us": explicit_us, "gram_us": gram_us,
               "speedup": explicit_us / gram_us, "target_us": TARGET_US_PER_STEP,
               "pass": "yes" if gram_us < TARGET_US_PER_STEP else "no",
               "steering_us": steer, "speedup_with_steering": (explicit_us + steer) / gram_us,
               "gram_vs_explicit": _relative_difference(result["gram"].sinr, result["explicit"].sinr),
               "served_users": int(served.sum()),
               "mean_se_bps_hz": float(result["gram"].se_bps_hz[:, served].mean()) if served.any() else 0.0}
        if not args.no_mc:
            step = min(args.mc_step, args.steps - 1)
            mc_prec = csi.steps(step) if per_step else prec
            closed = scheme(csi.steps(step), mc_prec, alloc, ctx).sinr
            wall, est = _timed(lambda: montecarlo(name, csi.steps(step), mc_prec, alloc, ctx, args.mc_draws, rng))
            ok = closed > 0
            row.update({"mc_step": step, "mc_draws": args.mc_draws,
                        "mc_max_rel_err": float(np.max(np.abs(closed[ok] / est.sinr[ok] - 1.0))) if ok.any() else 0.0,
                        "mc_max_rel_stderr": float(np.max(est.sinr_stderr[ok] / est.sinr[ok])) if ok.any() else 0.0,
                        "mc_max_z": float(np.max(np.abs(closed[ok] - est.sinr[ok]) / est.sinr_stderr[ok]))
                        if ok.any() else 0.0,
                        "mc_s": wall})
        row["threads"] = "1" if all(os.environ.get(v) == "1" for v in THREAD_VARIABLES) else "?"
        rows.append(row)
    return rows
