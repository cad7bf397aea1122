"""``leosim bench scale``: the cost of one reclustering against the number of users K, per optimising scheme.

Drops of 000's set-up (:func:`~simulator.experiments.drops.paper000_drop`: L = 20 satellites at
550 km over a 700 × 700 km box, users in a 200 km disc, N = 8 × 8) with K ∈ ``--users``; K_max is 8
up to 20 users and 16 above (visible × K_max ≥ K for every K up to 320). Each user keeps its
``--max-links`` strongest visible satellites (a replay's ``max_candidate_sats``). Per K and scheme,
in one run and single-threaded (as ``bench alg1``):

- the CPU time of one decision (``schemes.decide``, what a reclustering runs per scheme, with
  ``backend="auto"``), the peak traced memory of a second, traced run of it (tracing slows
  allocation-heavy code, so it is kept out of the timed run), the backend ``auto`` chose and the
  certificate;
- the decision CPU per simulated hour: that time × ``--reclusterings-per-hour`` (an estimate from
  the reclustering rate of a replay, 8 per 120 s in issue 14's measurement; not a replay);
- per scheme, the exponent of a least-squares fit time ∝ K^a over the K measured;
- min-rate agreement (cf-mntn-smrt): the first-order power on the decision's final clusters
  against Clarabel on the same convex program (K <= ``--agreement-max-users``);
- the warm start (cf-mntn-smrt): a decision 1 s of satellite motion later, warm from the first,
  against a cold one.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from ._child import single_threaded

DESCRIPTION = "Time per reclustering vs users K (10–200) per optimising scheme: fitted exponent, memory, agreement"
SCHEMES = ("cf-mntn-smrt", "cf-mntn-szf", "cf-mmimo-imrt", "distance-sca", "single-smrt", "single-slnr", "alg1-uniform")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", default="10,20,40,100,200", help="comma-separated K (default 10,20,40,100,200)")
    parser.add_argument("--max-users", type=int, default=None, help="leave out K above this")
    parser.add_argument("--quick", action="store_true",
                        help="K 10 and 20, 6 links per user, cf-mntn-smrt and distance-sca, agreement at K 10 (smoke test)")
    parser.add_argument("--schemes", default=",".join(SCHEMES), help="comma-separated scheme names")
    parser.add_argument("--max-links", type=int, default=20, help="satellites per user at most (default 20)")
    parser.add_argument("--reclusterings-per-hour", type=float, default=240.0,
                        help="reclusterings per simulated hour for the per-hour estimate (default 240)")
    parser.add_argument("--agreement-max-users", type=int, default=100,
                        help="largest K of the Clarabel agreement check (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the drops (default 0)")


def _snapshot(n_user: int, seed: int, max_links: int, dt_s: float = 0.0):
    from ..experiments.drops import advance, paper000_drop
    from ..radio.csi import compute_statistical_csi, draw_link_variates
    from ..radio.params import paper000_params

    params = paper000_params()
    rng = np.random.default_rng(seed)
    sat, vel, user = paper000_drop(rng, n_user=n_user)
    draws = draw_link_variates(rng, (sat.shape[0], n_user))
    if dt_s:
        sat, vel = advance(sat, vel, dt_s)
    csi = compute_statistical_csi(sat, vel, user, params=params, link_draws=draws)
    beta = np.where(csi.visible, csi.beta, -np.inf)
    rank = np.argsort(np.argsort(-beta, axis=0, kind="stable"), axis=0, kind="stable")
    keep = np.asarray(csi.visible, bool) & (rank < max_links)
    return params, _with_visible(csi, keep)


def _with_visible(csi, visible: np.ndarray):
    import dataclasses

    return dataclasses.replace(csi, visible=visible)


def _decide(name: str, csi, ctx, prev=None):
    from ..cooperation.schemes import decide

    rsap = np.where(csi.visible.any(axis=0), np.argmax(np.where(csi.visible, csi.beta, -np.inf), axis=0), -1)
    return decide(name, csi, ctx, rsap, prev=prev, cache={})


def _agreement(csi, ctx, d) -> tuple[float, float]:
    """First-order vs Clarabel min SINR on the decision's final clusters (the same convex program)."""
    from ..cooperation.algorithm1 import sca_power
    from ..cooperation.rates_cfmntn import coefficients

    coeffs = ctx.for_decision(coefficients(csi, "smrt", ctx.tx_power_w, ctx.noise_w))
    cluster = np.asarray(d.mask, bool)
    fo = sca_power(coeffs, cluster, backend="firstorder", tol=ctx.tolerance)
    ref = sca_power(coeffs, cluster, backend="clarabel", tol=1e-6)
    return fo.min_sinr / ref.min_sinr - 1.0, ref.certificate


def _users(args: argparse.Namespace) -> list[int]:
    users = [10, 20] if args.quick else [int(k) for k in args.users.split(",") if k.strip()]
    return [k for k in users if args.max_users is None or k <= args.max_users]


def measure(args: argparse.Namespace) -> list[dict]:
    from ..cooperation.schemes import DecideContext

    schemes = ["cf-mntn-smrt", "distance-sca"] if args.quick else [s for s in args.schemes.split(",") if s]
    max_links = min(args.max_links, 6) if args.quick else args.max_links
    agreement_max = 10 if args.quick else args.agreement_max_users
    rows, times = [], {s: [] for s in schemes}
    users = _users(args)
    for n_user in users:
        params, csi = _snapshot(n_user, args.seed, max_links)
        k_max = 8 if n_user <= 20 else 16
        ctx = DecideContext(tx_power_w=params.tx_power_w, noise_w=params.noise_power_w, k_max=k_max)
        for name in schemes:
            t0 = time.process_time()
            d = _decide(name, csi, ctx)
            dt = time.process_time() - t0
            tracemalloc.start()  # a second, traced run: tracing slows allocation-heavy code ~2x
            _decide(name, csi, ctx)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            times[name].append(dt)
            solver = d.solver
            row = {"K": n_user, "k_max": k_max, "links": int(csi.visible.sum()), "scheme": name,
                   "reclustering_s": dt, "per_hour_s": dt * args.reclusterings_per_hour,
                   "peak_mb": peak / 2**20, "backend": getattr(solver, "backend", ""),
                   "min_rate_bps_hz": float(np.log2(1.0 + d.min_sinr)),
                   "certificate": float(d.certificate), "status": d.status}
            if name == "cf-mntn-smrt":
                _, later = _snapshot(n_user, args.seed, max_links, dt_s=1.0)
                t0 = time.process_time()
                _decide(name, later, ctx, prev=d)
                warm = time.process_time() - t0
                t0 = time.process_time()
                _decide(name, later, ctx)
                cold = time.process_time() - t0
                row["note"] = f"1 s later: warm {warm:.3g} s, cold {cold:.3g} s"
                if n_user <= agreement_max:
                    rel, cert = _agreement(csi, ctx, d)
                    row["agreement_pct"] = 100.0 * rel
                    row["note"] += f"; first-order vs Clarabel min SINR {100 * rel:+.2f} % (Clarabel gap {cert:.1e})"
            rows.append(row)
    if len(users) >= 2:
        for name in schemes:
            slope = np.polyfit(np.log(users), np.log(np.maximum(times[name], 1e-9)), 1)[0]
            rows.append({"K": f"{users[0]}–{users[-1]}", "scheme": name, "exponent": float(slope),
                         "target": "exponent ≤ 1.5; K = 100 cf-mntn-smrt ≤ 1 s"})
    return rows


def run(args: argparse.Namespace) -> list[dict]:
    options = ("users", "schemes", "max_links", "reclusterings_per_hour", "agreement_max_users", "seed", "max_users")
    return single_threaded("scale", args, measure, options, ("quick",))
