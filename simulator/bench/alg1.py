"""``leosim bench alg1``: Algorithm 1 of 000 — dense IPM / Clarabel data against cvxpy, warm starts, Fig. 5.

000's set-up (Sec. VI-A): L = 20 satellites at 550 km over a 700 × 700 km box, K = 10 users in a
200 km disc, K_max = 8, N = 8 × 8, f = 5 GHz, ρ_t = 40 dBm, σ² = −140 dBm, κ uniform 15–20 dB
(:func:`~simulator.radio.params.paper000_params`, :func:`~simulator.experiments.drops.paper000_drop`).
Per precoder and drop, in one run:

- ``algorithm1`` as shipped (``backend="auto"``: the dense interior-point method of
  :mod:`~simulator.cooperation.ipm` for dense programs, Clarabel for sparse ones and for any program
  the interior-point method does not finish), with its interior-point iterations and fallbacks;
- the same with ``backend="ipm"`` (every program by the interior-point method) and with
  ``backend="clarabel"`` (conic data handed to Clarabel once per shape, updated in place; the
  previous default), with the solver time per cone program of each;
- the same algorithm with every cone program written in cvxpy and rebuilt at each iteration (the
  straightforward implementation; the baseline of the speed ratio), and built once as a DPP problem
  with ``cp.Parameter``s and re-solved (the alternative the module docstring of ``socp`` mentions);
- the paper's SCA everywhere (``inner="sca"``), rebuilt in cvxpy, on the first drops: what a direct
  transcription of Algorithm 1 costs;
- a warm-started re-solve after 1 s of satellite motion (same link draws), against a cold re-solve;
- the minimum rate of Algorithm 1 and the Fig. 5 baselines;
- P3 with ω = 1 solved by bisection (exact), SCA and Dinkelbach on the first three drops.

Single-threaded: unless ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` are
already 1, the benchmark re-runs itself in a child process with them set to 1 and returns the
child's rows (as ``bench rates`` and ``bench drops``): the interior-point method factorises a
~200 × 200 matrix per iteration, which multi-threaded BLAS slows down on a shared machine.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from ..cooperation.algorithm1 import Decision, algorithm1, resolve_backend, solve_p3
from ..cooperation.baselines import alg1_uniform, distance_sca, distance_uniform
from ..cooperation.coefficients import SinrCoefficients, signal_and_interference
from ..cooperation.socp import RatioProblem, ScaProblem
from ..errors import SolverError
from ._child import single_threaded

DESCRIPTION = "Algorithm 1 (000): dense IPM / Clarabel vs cvxpy rebuilt each iteration / DPP; warm start; Fig. 5"
K_MAX = 8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--drops", type=int, default=20, help="random drops per precoder (default 20)")
    parser.add_argument("--precoders", default="smrt,szf", help="comma-separated: smrt, szf (default both)")
    parser.add_argument("--paper-sca-drops", type=int, default=3,
                        help="drops on which the all-SCA cvxpy transcription is also timed (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first drop (default 0)")


# -- cvxpy implementations of the same cone programs ----------------------------------------------
def _check(problem, context: str) -> None:
    import cvxpy as cp

    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise SolverError(f"cvxpy/Clarabel status {problem.status} on {context}")


def _solve(problem, context: str) -> None:
    import cvxpy as cp

    try:
        problem.solve(solver=cp.CLARABEL)
    except cp.error.SolverError as err:  # cvxpy raises when Clarabel stops without a solution
        raise SolverError(f"{context}: {err}") from err
    _check(problem, context)


class CvxpyRebuilt:
    """P4 (``step``) and the ratio program (``solve``) written in cvxpy and rebuilt at every call.

    Same scaling and constraints as :mod:`simulator.cooperation.socp` (000 eqs 32, 36–37), written the
    way eq 27 reads: one ``sum_squares(G[k, j] @ p_j)`` per user pair.
    """

    def __init__(self, coeffs: SinrCoefficients, variables: np.ndarray, k_max: int | None, method: str) -> None:
        self.coeffs, self.variables, self.k_max = coeffs, np.asarray(variables, dtype=bool), k_max
        self.users = np.flatnonzero(self.variables.any(axis=0))

    def _common(self, P, omega):
        import cvxpy as cp

        cons = [P <= self.variables.astype(float), cp.sum(cp.square(P), axis=1) <= 1]
        if self.k_max is not None:
            w = np.ones(P.shape) if omega is None else omega
            cons.append(cp.sum(cp.square(cp.multiply(np.sqrt(w / self.k_max), P)), axis=1) <= 1)
        return cons

    def step(self, p_prev, t_prev, *, omega=None):
        import cvxpy as cp

        c = self.coeffs
        L, K = c.b.shape
        signal, s = signal_and_interference(c, p_prev)
        P, tau = cp.Variable((L, K), nonneg=True), cp.Variable()
        cons = self._common(P, omega)
        for k in self.users:
            g = c.G[k] / np.sqrt(s[k])  # scaled inside the squares: unscaled, Clarabel fails numerically
            interference = sum(cp.sum_squares(g[j] @ P[:, j]) for j in range(K)) + c.noise / s[k]
            lin = (2.0 * np.sqrt(signal[k]) / (t_prev * s[k])) * (c.b[:, k] @ P[:, k])
            cons.append(interference <= lin - signal[k] / (t_prev * s[k]) * tau)
        problem = cp.Problem(cp.Maximize(tau), cons)
        _solve(problem, "P4 (cvxpy, rebuilt)")
        return np.maximum(P.value, 0.0), float(tau.value) * t_prev

    def solve(self, lam, p_ref, *, omega=None):
        import cvxpy as cp

        c = self.coeffs
        L, K = c.b.shape
        _, den = signal_and_interference(c, p_ref)
        D = np.sqrt(den)
        P, sigma = cp.Variable((L, K), nonneg=True), cp.Variable()
        cons = self._common(P, omega)
        for k in self.users:
            g = c.G[k] / D[k]
            stack = cp.hstack([g[j] @ P[:, j] for j in range(K)] + [np.atleast_1d(np.sqrt(c.noise) / D[k])])
            cons.append(cp.norm(stack) <= (c.b[:, k] @ P[:, k]) / (lam * D[k]) - sigma)
        problem = cp.Problem(cp.Maximize(sigma), cons)
        _solve(problem, "ratio program (cvxpy, rebuilt)")
        return np.maximum(P.value, 0.0), float(sigma.value)


class CvxpyDpp:
    """The same programs built once as DPP problems (``cp.Parameter``s) and re-solved."""

    def __init__(self, coeffs: SinrCoefficients, variables: np.ndarray, k_max: int | None, method: str) -> None:
        import cvxpy as cp

        self.coeffs, self.method, self.k_max = coeffs, method, k_max
        variables = np.asarray(variables, dtype=bool)
        L, K = coeffs.b.shape
        self.users = np.flatnonzero(variables.any(axis=0))
        P = self.P = cp.Variable((L, K), nonneg=True)
        self.x = cp.Variable()
        self.lin = cp.Parameter((L, K))
        self.scale = cp.Parameter(K, nonneg=True)
        self.offset = cp.Parameter(K)
        self.tau_coef = cp.Parameter(K, nonneg=True)
        self.w = cp.Parameter((L, K), nonneg=True)
        cons = [P <= variables.astype(float), cp.sum(cp.square(P), axis=1) <= 1]
        if k_max is not None:
            cons.append(cp.sum(cp.square(cp.multiply(self.w, P)), axis=1) <= 1)
        G = coeffs.G
        for k in self.users:
            if method == "sca":
                interference = sum(cp.sum_squares(self.scale[k] * (G[k, j] @ P[:, j])) for j in range(K))
                cons.append(interference + self.offset[k] <= self.lin[:, k] @ P[:, k] - self.tau_coef[k] * self.x)
            else:
                rows = [self.scale[k] * (G[k, j] @ P[:, j]) for j in range(K)] + [cp.reshape(self.offset[k], (1,), order="C")]
                cons.append(cp.norm(cp.hstack(rows)) <= self.lin[:, k] @ P[:, k] - self.x)
        self.problem = cp.Problem(cp.Maximize(self.x), cons)
        if not self.problem.is_dcp(dpp=True):
            raise SolverError("the cvxpy formulation is not DPP")

    def _solve(self, omega, context):
        L, K = self.coeffs.b.shape
        self.w.value = np.sqrt((np.ones((L, K)) if omega is None else omega) / (self.k_max or 1))
        _solve(self.problem, context)
        return np.maximum(self.P.value, 0.0), float(self.x.value)

    def step(self, p_prev, t_prev, *, omega=None):
        c = self.coeffs
        signal, s = signal_and_interference(c, p_prev)
        self.lin.value = c.b * (2.0 * np.sqrt(signal) / (t_prev * s))
        self.scale.value, self.offset.value = 1.0 / np.sqrt(s), c.noise / s
        self.tau_coef.value = signal / (t_prev * s)
        p, tau = self._solve(omega, "P4 (cvxpy DPP)")
        return p, tau * t_prev

    def solve(self, lam, p_ref, *, omega=None):
        c = self.coeffs
        _, den = signal_and_interference(c, p_ref)
        D = np.sqrt(den)
        self.lin.value = c.b / (lam * D)
        self.scale.value, self.offset.value = 1.0 / D, np.sqrt(c.noise) / D
        self.tau_coef.value = np.zeros(len(D))
        return self._solve(omega, "ratio program (cvxpy DPP)")


class Counted:
    """Problem factory with a given ``backend`` that keeps the problems it built, for their counters."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.problems: list = []

    def __call__(self, coeffs, variables, k_max, method):
        cls = ScaProblem if method == "sca" else RatioProblem
        problem = cls(coeffs, variables, k_max=k_max, backend=self.backend)
        self.problems.append(problem)
        return problem

    def totals(self) -> dict:
        keys = ("n_solves", "n_ipm_iters", "n_fallbacks", "n_clarabel_iters", "solver_s")
        out = {k: sum(getattr(p, k) for p in self.problems) for k in keys}
        self.problems.clear()
        return out


# -- the run --------------------------------------------------------------------------------------
def _drop(seed: int, precoder: str):
    from ..cooperation.rates_cfmntn import coefficients
    from ..experiments.drops import advance, paper000_drop
    from ..radio.csi import compute_statistical_csi, draw_link_variates
    from ..radio.params import paper000_params

    params = paper000_params()
    rng = np.random.default_rng(seed)
    sat, vel, user = paper000_drop(rng)
    draws = draw_link_variates(rng, (sat.shape[0], user.shape[0]))
    csi = compute_statistical_csi(sat, vel, user, params=params, link_draws=draws)
    later = compute_statistical_csi(*advance(sat, vel, 1.0), user, params=params, link_draws=draws)
    coeffs = [coefficients(c, precoder, params.tx_power_w, params.noise_power_w) for c in (csi, later)]
    return csi, coeffs[0], coeffs[1]


def _rate(d: Decision) -> float:
    return float(np.log2(1.0 + d.min_sinr))


def _timed(fn, *args, **kwargs) -> tuple[Decision, float]:
    t0 = time.perf_counter()
    d = fn(*args, **kwargs)
    return d, time.perf_counter() - t0


def _p3_rows(precoder: str, args: argparse.Namespace) -> list[dict]:
    """P3 with ω = 1 (the first inner loop) by each method, on the first drops: time and agreement."""
    times = {m: [] for m in ("bisection", "sca", "dinkelbach")}
    iters = {m: [] for m in times}
    gaps = {m: [] for m in times}
    for i in range(min(args.drops, 3)):
        _, coeffs, _ = _drop(args.seed + i, precoder)
        omega = np.ones(coeffs.b.shape)
        runs = {m: _timed(solve_p3, coeffs, omega, K_MAX, method=m, tol=1e-6) for m in times}
        exact = runs["bisection"][0].min_sinr
        for m, (d, dt) in runs.items():
            times[m].append(dt)
            iters[m].append(d.inner_iters)
            gaps[m].append(abs(d.min_sinr / exact - 1.0))
    return [
        {"precoder": precoder, "drops": len(times[m]), "case": f"P3 (ω = 1) by {m}, tol 1e-6",
         "median_ms": float(np.median(times[m])) * 1e3,
         "note": f"cone programs {int(np.median(iters[m]))}; max |min SINR / bisection − 1| = {max(gaps[m]):.1e}"}
        for m in times
    ]


def _precoder_rows(precoder: str, args: argparse.Namespace) -> list[dict]:
    keys = ("ours", "ipm", "clarabel", "firstorder", "rebuilt", "dpp", "paper", "warm", "recold")
    t = {k: [] for k in keys}
    chosen = set()
    rate = {k: [] for k in ("ours", "ipm", "clarabel", "firstorder", "rebuilt", "dpp", "warm", "recold", "distance-sca",
                            "distance-uniform", "alg1-uniform")}
    iters: list[tuple[int, int]] = []
    statuses = []
    factories = {"ours": Counted("auto"), "ipm": Counted("ipm"), "clarabel": Counted("clarabel")}
    stats: dict[str, list[dict]] = {k: [] for k in factories}
    for i in range(args.drops):
        csi, coeffs, later = _drop(args.seed + i, precoder)
        for key, factory in factories.items():
            d_k, dt = _timed(algorithm1, coeffs, K_MAX, problem_factory=factory)
            t[key].append(dt)
            rate[key].append(_rate(d_k))
            stats[key].append(factory.totals())
            if key == "ours":
                d = d_k
                iters.append((d.inner_iters, d.outer_iters))
                statuses.append(d.status)
        chosen.add(resolve_backend("auto", int(np.sum(coeffs.b > 0))))
        d_fo, dt = _timed(algorithm1, coeffs, K_MAX, backend="firstorder")
        t["firstorder"].append(dt)
        rate["firstorder"].append(_rate(d_fo))
        for key, factory in (("rebuilt", CvxpyRebuilt), ("dpp", CvxpyDpp)):
            db, dt = _timed(algorithm1, coeffs, K_MAX, problem_factory=factory)
            t[key].append(dt)
            rate[key].append(_rate(db))
        if i < args.paper_sca_drops:
            t["paper"].append(_timed(algorithm1, coeffs, K_MAX, inner="sca", problem_factory=CvxpyRebuilt)[1])
        dw, dt = _timed(algorithm1, later, K_MAX, warm_start=d)
        t["warm"].append(dt)
        rate["warm"].append(_rate(dw))
        dc, dt = _timed(algorithm1, later, K_MAX)
        t["recold"].append(dt)
        rate["recold"].append(_rate(dc))
        for name, scheme in (("distance-sca", distance_sca), ("distance-uniform", distance_uniform),
                             ("alg1-uniform", alg1_uniform)):
            rate[name].append(_rate(scheme(coeffs, K_MAX, distance_m=csi.slant_range_m)))
    med = {k: float(np.median(v)) * 1e3 for k, v in t.items() if v}
    ours = np.array(rate["ours"])
    inner, outer = np.array(iters).T
    total = inner + outer
    rel = {k: float(np.max(np.abs(np.array(rate[k]) - ours) / ours)) * 100
           for k in ("ipm", "clarabel", "rebuilt", "dpp")}
    base = {"precoder": precoder, "drops": args.drops}
    fo_vs_ipm = np.array(rate["firstorder"]) / np.array(rate["ipm"]) - 1.0
    tot = {key: {k: float(sum(s[k] for s in v)) for k in v[0]} for key, v in stats.items()}

    def per_program(key: str) -> str:
        s = tot[key]
        return (f"{s['n_solves'] / args.drops:.1f} programs per call, {1e3 * s['solver_s'] / s['n_solves']:.2f} ms "
                f"each in the solver; IPM {s['n_ipm_iters'] / args.drops:.0f} iterations per call, Clarabel "
                f"{s['n_clarabel_iters'] / args.drops:.0f}; fallbacks to Clarabel {int(s['n_fallbacks'])}")

    rows = [
        {**base, "case": "alg1 cold, backend=\"auto\" (ours)", "median_ms": med["ours"],
         "mean_min_rate_bps_hz": float(ours.mean()),
         "note": f"cone programs {int(np.median(inner))} median [{inner.min()}–{inner.max()}], outer "
                 f"{int(np.median(outer))} [{outer.min()}–{outer.max()}], total {int(np.median(total))} "
                 f"[{total.min()}–{total.max()}], total <= 35 in {int((total <= 35).sum())}/{len(total)}; "
                 f"status {sorted(set(statuses))}; backend auto chose {sorted(chosen)}; {per_program('ours')}"},
        {**base, "case": "alg1 cold, backend=\"ipm\" (every program)", "median_ms": med["ipm"],
         "ratio": med["ipm"] / med["ours"], "max_min_rate_diff_pct": rel["ipm"], "note": per_program("ipm")},
        {**base, "case": "alg1 cold, backend=\"clarabel\" (direct conic data)", "median_ms": med["clarabel"],
         "ratio": med["clarabel"] / med["ours"], "max_min_rate_diff_pct": rel["clarabel"],
         "note": per_program("clarabel")},
        {**base, "case": "alg1 cold, backend=\"firstorder\" (accelerated projected gradient)",
         "median_ms": med["firstorder"], "ratio": med["firstorder"] / med["ours"],
         "max_min_rate_diff_pct": float(np.max(np.abs(fo_vs_ipm))) * 100,
         "target": "min rate within 0.5 % of backend=\"ipm\"",
         "note": f"min rate vs ipm {100 * np.median(fo_vs_ipm):+.3f} % median "
                 f"[{100 * fo_vs_ipm.min():+.3f}, {100 * fo_vs_ipm.max():+.3f}]"},
        {**base, "case": "alg1 cold, cvxpy rebuilt every iteration (baseline)", "median_ms": med["rebuilt"],
         "ratio": med["rebuilt"] / med["ours"], "max_min_rate_diff_pct": rel["rebuilt"],
         "target": "ratio ≥ 20 (goal 50), diff ≤ 1 %"},
        {**base, "case": "alg1 cold, cvxpy DPP built once", "median_ms": med["dpp"],
         "ratio": med["dpp"] / med["ours"], "max_min_rate_diff_pct": rel["dpp"]},
    ]
    if t["paper"]:
        rows.append({**base, "drops": len(t["paper"]), "case": "alg1 cold, all-SCA (paper), cvxpy rebuilt",
                     "median_ms": med["paper"], "ratio": med["paper"] / med["ours"]})
    warm_diff = (np.array(rate["warm"]) - np.array(rate["recold"])) / np.array(rate["recold"]) * 100
    rows.append({**base, "case": "alg1 warm start after 1 s of motion", "median_ms": med["warm"],
                 "ratio": med["recold"] / med["warm"], "target": "≤ 50 ms",
                 "note": f"cold re-solve {med['recold']:.0f} ms; warm − cold min rate {np.median(warm_diff):+.2f} % "
                         f"median [{warm_diff.min():+.2f}, {warm_diff.max():+.2f}]"})
    for name in ("distance-sca", "distance-uniform", "alg1-uniform"):
        r = np.array(rate[name])
        rows.append({**base, "case": f"Fig. 5 {name}", "mean_min_rate_bps_hz": float(r.mean()),
                     "note": f"Algorithm 1 gain {100 * (ours.mean() / r.mean() - 1):+.1f} % in mean min rate"})
    return rows


def run(args: argparse.Namespace) -> list[dict]:
    return single_threaded("alg1", args, measure, ("drops", "precoders", "paper_sca_drops", "seed"))


def measure(args: argparse.Namespace) -> list[dict]:
    """The benchmark proper, in this process."""
    rows: list[dict] = []
    with warnings.catch_warnings():  # cvxpy's notes on "optimal_inaccurate" steps of the baselines
        warnings.simplefilter("ignore", UserWarning)
        for precoder in [p.strip() for p in args.precoders.split(",") if p.strip()]:
            rows.extend(_precoder_rows(precoder, args))
            rows.extend(_p3_rows(precoder, args))
    return rows
