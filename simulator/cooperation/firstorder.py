"""A first-order path for max-min SINR power allocation, with cost per iteration linear in the links.

The programs of :mod:`.socp` (P3 of 000 eq 32, its SCA steps P4 eqs 36–37) cost about n³ per
interior-point iteration in the n = L·K power weights. Here P3 is solved directly, on the links in
play only, by accelerated projected gradient ascent (FISTA with backtracking and adaptive restart,
as applied to large cell-free downlinks by Farooq, Ngo, Hong & Tran, IEEE TCOM 2021) on the smoothed
minimum of the users' log sqrt-SINRs::

    maximise  F_μ(p) = −μ log Σ_k exp(−ℓ_k(p) / μ),   ℓ_k(p) = log b_k^T p_k − ½ log(Σ_j ||G_kj p_j||² + σ²)

over 37c–e. Each ℓ_k is the log of a ratio of a linear to a convex function, so every local
maximum of min_k ℓ_k over the convex set is global (the ratios are pseudo-concave); F_μ is within
μ log K of that minimum. μ is lowered by continuation (0.05 → :data:`MU_MIN` × accuracy) from the
start point, which Algorithm 1 supplies warm.

Layout: each user j keeps its c_j ≤ c links (``LinkSinr``); the power weights are an array q of
shape (K, c), and user k's interference from user j is G_kj restricted to j's links. Rows of G_kj
that touch a single link (sMRT's diag(c) rows, every row of sZF) add Σ_i W[j, i, k] q_ji²; the others
(sMRT's two Re/Im d rows) stay as products. One SINR evaluation, and one gradient, is then a few
passes over K × c × K × 3 numbers — 3 K · links — against the (L·K)³ of an interior-point
iteration.

The projection onto 37d (||p_l|| ≤ 1) and 37e (p ≥ 0) is a clip and a scaling per satellite;
with 37c (Σ_k ω_lk p_lk² ≤ K_max) it is the projection onto the intersection of two diagonal
ellipsoids, x = y⁺ / ((1 + μ₁)(1 + θ c)) with c = ω / K_max, found per satellite by a safeguarded
Newton iteration on one scalar in each of its three cases.

:func:`gap_certificate` bounds the optimum of the final P3 (fixed clusters, 37d–e) from above by
Lagrangian duality, whatever solver produced the point: for multipliers y on the simplex and the
concave g_k(p; λ) = (b_k^T p_k − λ ||[G_k p; σ]||) / D_k, linearised at p̂,
U(λ) = Σ_k y_k g_k(p̂) + max_{p ∈ C} ∇(Σ y g)^T (p − p̂) ≥ max_p min_k g_k(p; λ); where U(λ) < 0
no power reaches sqrt-SINR λ for every user. y is fitted to the KKT conditions at p̂ (non-negative
least squares), which makes the bound tight at an optimum.
"""

from __future__ import annotations

import numpy as np

from .coefficients import SinrCoefficients
from .rates_cfmntn import MomentCoefficients

__all__ = ["LinkSinr", "FirstOrderProblem", "project", "gap_certificate", "MU_START", "MU_MIN"]

MU_START = 0.05  #: smoothing μ of the first stage (log sqrt-SINR units: ~5 %)
MU_MIN = 0.2  #: last stage's μ, per unit of the requested accuracy divided by log K
MU_STEP = 0.2  #: μ is multiplied by this between stages
MAX_ITERS = 3000  #: gradient steps of one solve at most
STEP_ITERS = 100  #: gradient steps of one ``step`` (the analogue of one SCA step) at most
STALL = 20  #: a stage ends after this many steps without a gain of accuracy / 100 in min ℓ
#: runs of :func:`maximise_min` in one solve while each gains more than accuracy / 10. One: a run
#: ends when its last stage stalls, and a restart (μ re-read from the spread, momentum reset) then
#: gained ≤ 1e-5 in log sqrt-SINR for ≥ 40 more steps; Algorithm 1's loop re-solves anyway while a
#: solve gains more than its tolerance. Measured with 30 against 1: K = 100 sMRT 11 % less CPU, min
#: rate −0.2 … +0.4 % over 4 drops; 000's set-up, 20 drops, unchanged worst −0.14 % (sMRT) and
#: −0.32 % (sZF) against the interior-point path
MAX_RESTARTS = 1
ACCURACY_FLOOR = 5e-4  #: the first-order path solves to no less than this relative accuracy
NEWTON_STEPS = 60  #: safeguarded Newton steps of a projection case at most
NEWTON_TOL = 1e-10  #: a projection case's scalar equation (a sum of ~1 per satellite) is solved to this
NEWTON_LAST = 1e-7  #: case 2's Newton stops after the step taken from this residual (quadratic convergence)
#: slots below these shares of their satellite's largest weight count as unpowered when fitting the
#: certificate's multipliers (each share gives a valid bound; the smallest is kept)
SLACK_SHARES = (1e-3, 2e-2)


class LinkSinr:
    """SINR_k(p) of 000 eq 27 on a set of links, in a per-user padded layout.

    Parameters
    ----------
    coeffs : SinrCoefficients — b (L, K), G (K, K, M, L), noise (finite, > 0); a
        :class:`~.rates_cfmntn.MomentCoefficients` is read in its (K, K, L) moment form
    links : ndarray, shape (L, K), bool — links that may carry power; p is 0 elsewhere

    Attributes
    ----------
    sat : ndarray, shape (K, c), int — satellite of each slot of user j (0 in padding)
    valid : ndarray, shape (K, c), bool — slots that are links
    b : ndarray, shape (K, c) — b_{l,j} of each slot
    W : ndarray, shape (K, c, K) — W[j, i, k]: Σ of the squares of G_kj's rows that touch slot i only
    H : ndarray, shape (K, c, K·m) — H[j, i, k·m + r] = row r of G_kj's other rows (restricted) on slot i;
        m = 0 when no row touches several slots (no coupling: sZF, phase-averaged)
    n_terms : int — nonzero entries of W and H (the interference terms in play)
    """

    def __init__(self, coeffs: SinrCoefficients, links: np.ndarray) -> None:
        links = np.asarray(links, dtype=bool)
        b = np.asarray(coeffs.b, dtype=float)
        self.n_sat, self.n_user = b.shape
        self.noise = float(coeffs.noise)
        count = links.sum(axis=0)
        c = max(int(count.max(initial=0)), 1)
        order = np.argsort(~links.T, axis=1, kind="stable")[:, :c]  # (K, c): user j's satellites first
        self.valid = np.arange(c)[None, :] < count[:, None]
        self.sat = np.where(self.valid, order, 0)
        users = np.arange(self.n_user)[:, None]
        self.b = np.where(self.valid, b[self.sat, users], 0.0)
        self.n_links = int(count.sum())
        if isinstance(coeffs, MomentCoefficients):
            self._from_moments(coeffs)
            return
        G = np.asarray(coeffs.G, dtype=float)
        # G[k, j, :, sat[j, i]] -> (j, i, k, M), zero on padding
        Gj = G[:, users, :, self.sat]  # advanced indices first: (K_j, c, K_k, M)
        Gj = Gj * self.valid[:, :, None, None]
        rows = (Gj != 0.0).any(axis=(1, 2))  # (K_j, M): rows that touch user j's links
        m = max(int(rows.sum(axis=1).max(initial=0)), 1)
        ridx = np.argsort(~rows, axis=1, kind="stable")[:, :m]  # (K_j, m)
        rvalid = np.arange(m)[None, :] < rows.sum(axis=1)[:, None]
        H = np.take_along_axis(Gj, ridx[:, None, None, :], axis=3) * rvalid[:, None, None, :]  # (K_j, c, K_k, m)
        # rows that touch one slot of user j for every k (sMRT's diag(c) rows, all of sZF's) enter
        # SINR_k as Σ_i W[j, i, k] q_ji²; only the other rows (sMRT's Re/Im d rows) stay as products
        single = ((H != 0.0).any(axis=2).sum(axis=1) <= 1) & rvalid  # (K_j, m)
        self.W = np.einsum("jikr,jr->jik", H * H, single.astype(float))  # (K_j, c, K_k)
        dense = rvalid & ~single
        md = int(dense.sum(axis=1).max(initial=0))  # 0 without coupling: no H products at all
        didx = np.argsort(~dense, axis=1, kind="stable")[:, :md]
        dvalid = np.arange(md)[None, :] < dense.sum(axis=1)[:, None]
        H = np.take_along_axis(H, didx[:, None, None, :], axis=3) * dvalid[:, None, None, :]
        self.m = md
        #: some row of G_kj touches several of user j's links (coherent interference, sMRT)
        self.coupled = bool(dense.any())
        self.H = np.ascontiguousarray(H.reshape(self.n_user, c, self.n_user * md))
        self._W_flat = self.W.reshape(self.n_user * c, self.n_user)
        self.n_terms = int(np.count_nonzero(self.W) + np.count_nonzero(self.H))

    def _from_moments(self, coeffs: MomentCoefficients) -> None:
        """W and H straight from c and d (K, K, L) of eq 28: K² c numbers gathered, no (K, K, L + 2, L) G.

        Row l of G_kj (c_{l,k,j} on column l) touches one slot: c² goes to W. The rows Re d and Im d
        of user j go to W as well when they touch at most one of j's slots (for every k), and stay
        in H otherwise; the same split as the dense layout, so the same SINR.
        """
        n_user, c = self.valid.shape
        users = np.arange(n_user)[:, None]

        def gather(x: np.ndarray) -> np.ndarray:  # x[k, j, sat[j, i]] -> (j, i, k), zero on padding
            return np.moveaxis(x[:, users, self.sat], 0, -1) * self.valid[:, :, None]

        W = gather(np.asarray(coeffs.c, dtype=float)) ** 2
        dense = []
        for part in () if coeffs.d is None else (np.real(coeffs.d), np.imag(coeffs.d)):
            row = gather(np.asarray(part, dtype=float))  # (K_j, c, K_k)
            single = (row != 0.0).any(axis=2).sum(axis=1) <= 1  # (K_j,)
            W += np.where(single[:, None, None], row * row, 0.0)
            if not single.all():
                dense.append(np.where(single[:, None, None], 0.0, row))
        self.W = W
        self.coupled = bool(dense)
        self.m = len(dense)  # 0 without coupling (sZF, phase-averaged): the H products vanish
        H = np.stack(dense, axis=-1) if dense else np.zeros((n_user, c, n_user, 0))
        self.H = np.ascontiguousarray(H.reshape(n_user, c, n_user * self.m))
        self._W_flat = self.W.reshape(n_user * c, n_user)
        self.n_terms = int(np.count_nonzero(self.W) + np.count_nonzero(self.H))

    # -- layout ----------------------------------------------------------------------------------
    def to_q(self, p: np.ndarray) -> np.ndarray:
        """(L, K) power weights -> (K, c) slots."""
        return np.where(self.valid, np.asarray(p, dtype=float)[self.sat, np.arange(self.n_user)[:, None]], 0.0)

    def to_p(self, q: np.ndarray) -> np.ndarray:
        """(K, c) slots -> (L, K) power weights (0 off the links)."""
        p = np.zeros((self.n_sat, self.n_user))
        j, i = np.nonzero(self.valid)
        p[self.sat[j, i], j] = q[j, i]
        return p

    # -- evaluation ------------------------------------------------------------------------------
    def forward(self, q: np.ndarray, linear: tuple[np.ndarray, np.ndarray] | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Amplitudes b_k^T p_k (K,), interference-plus-noise (K,), projections of the dense rows (K_j, K_k, m).

        ``linear``: the amplitudes and projections at q when already known (both are linear in q,
        so a gradient method gets them at its extrapolated point by the same combination as q).
        """
        if linear is None:
            amp = np.einsum("ji,ji->j", self.b, q)
            proj = np.matmul(q[:, None, :], self.H)[:, 0, :].reshape(self.n_user, self.n_user, self.m)
        else:
            amp, proj = linear
        flat = proj.reshape(self.n_user, -1)  # Σ_j Σ_r proj[j, k, r]²; "jkr,jkr->k" directly is ~5x slower
        den = np.einsum("jx,jx->x", flat, flat).reshape(self.n_user, self.m).sum(axis=1)
        den += (q * q).reshape(-1) @ self._W_flat + self.noise
        return amp, den, proj

    def sinr(self, p: np.ndarray) -> np.ndarray:
        """SINR_k (linear, shape (K,)) of the (L, K) power weights ``p`` (000 eq 27)."""
        amp, den, _ = self.forward(self.to_q(p))
        return amp**2 / den

    def den_grad(self, q: np.ndarray, proj: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Σ_k weight_k ½ ∇_q (interference-plus-noise of k) at q, shape (K, c); ``proj`` from :meth:`forward`."""
        # weight repeated over the m rows: a broadcast over the short last axis of proj is ~3x slower
        scaled = proj.reshape(self.n_user, -1) * np.repeat(weight, self.m)
        dense = np.matmul(self.H, scaled[:, :, None])[:, :, 0]
        dense += q * (self._W_flat @ weight).reshape(q.shape)  # one gemv: ~30 % less than the stacked W @ weight
        return dense

    def den_grads(self, q: np.ndarray, proj: np.ndarray) -> np.ndarray:
        """½ ∇_q of every user's interference-plus-noise, shape (K_j, c, K_k)."""
        Hk = self.H.reshape(self.n_user, self.valid.shape[1], self.n_user, self.m)
        return np.einsum("jikr,jkr->jik", Hk, proj) + self.W * q[:, :, None]

    def leakage(self) -> np.ndarray:
        """Σ_k G_kj^T G_kj on user j's slots, shape (K, c, c) (the leakage of :func:`.algorithm1._leakage_start`)."""
        leak = np.matmul(self.H, self.H.transpose(0, 2, 1))
        idx = np.arange(leak.shape[1])
        leak[:, idx, idx] += self.W.sum(axis=2)
        return leak


def project(
    q: np.ndarray, sat: np.ndarray, valid: np.ndarray, n_sat: int, wc: np.ndarray | None = None,
    warm: dict | None = None,
) -> np.ndarray:
    """Euclidean projection onto {q ≥ 0, Σ_{slots of l} q² ≤ 1, Σ wc q² ≤ 1 per satellite l} (37c–e).

    Parameters
    ----------
    q : ndarray, shape (K, c) — point
    sat, valid : ndarray, shape (K, c) — satellite of each slot and the slots in use
    n_sat : int — number of satellites L
    wc : ndarray, shape (K, c), optional — ω / K_max of each slot (37c); None: 37d–e only
    warm : dict, optional — the scalar multipliers of the last projection with the same ``wc`` and
        ``valid``, and the constants derived from them
        (read and updated): successive projections of a gradient method move little, so Newton
        started there needs 1–3 steps instead of ~8 from 0

    Returns
    -------
    ndarray, shape (K, c) — the projection (0 on padding)
    """
    z = np.where(valid, np.maximum(q, 0.0), 0.0)
    s = sat.ravel()
    z2 = (z * z).ravel()
    norm = np.sqrt(np.bincount(s, z2, minlength=n_sat))
    x = z / np.maximum(norm, 1.0)[sat]
    if wc is None:
        return x
    warm = {} if warm is None else warm
    if warm.get("wc") is not wc:  # per-problem constants, kept with the multipliers
        warm.update(wc=wc, c=np.where(valid, wc, 0.0), bad=None)
        warm["cr"] = warm["c"].ravel()
    c, cr = warm["c"], warm["cr"]
    wload = np.bincount(s, cr * (x * x).ravel(), minlength=n_sat)
    bad = wload > 1.0 + 1e-12
    if not bad.any():
        return x
    # Case 2: 37c alone active: x = z / (1 + ν c), Σ c x² = 1 (convex, decreasing in ν); on the
    # slots of the violating satellites only, laid out satellite by satellite
    rows, cols, cs = _by_satellite(warm, s, cr, bad)
    z2s = np.zeros(cs.shape)
    z2s[rows, cols] = z2[warm["slots"]]
    nu_b = _newton_convex(cs, z2s, None if warm.get("nu") is None else warm["nu"][bad])
    nu = np.zeros(n_sat)
    nu[bad] = nu_b
    warm["nu"] = nu
    x2 = z / (1.0 + nu[sat] * c)
    use2 = bad & (np.bincount(s, (x2 * x2).ravel(), minlength=n_sat) <= 1.0 + 1e-9)
    # Case 3: both active: x = u / ||u||, u = z / (1 + θ c), Σ (c − 1) u² = 1 − 1 = 0 (decreasing in θ)
    both = bad & ~use2
    if both.any():
        def case3(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            d = 1.0 + v[s] * cr
            return (np.bincount(s, (cr - 1.0) * z2 / d**2, minlength=n_sat),
                    -2.0 * np.bincount(s, (cr - 1.0) * cr * z2 / d**3, minlength=n_sat))

        theta = _newton(case3, both, n_sat, warm.get("theta"))
        warm["theta"] = np.where(both, theta, warm.get("theta", 0.0))
        u = z / (1.0 + theta[sat] * c)
        x3 = u / np.maximum(np.sqrt(np.bincount(s, (u * u).ravel(), minlength=n_sat)), np.finfo(float).tiny)[sat]
    else:
        x3 = x
    out = np.where(valid, np.where(use2[sat], x2, np.where(both[sat], x3, x)), 0.0)
    # round-off of the scalar solves: scale into both constraints exactly
    o2 = (out * out).ravel()
    load = np.maximum(np.bincount(s, o2, minlength=n_sat), np.bincount(s, cr * o2, minlength=n_sat))
    return out / np.sqrt(np.maximum(load, 1.0))[sat]


def _by_satellite(warm: dict, s: np.ndarray, cr: np.ndarray, bad: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The slots of the satellites ``bad`` as rows of a padded (n_bad, n_max) layout: (row, column, c there).

    Cached in ``warm`` while ``bad`` does not change (it rarely does between successive projections).
    """
    key = bad.tobytes()
    if warm.get("bad") != key:
        slots = np.flatnonzero(bad[s] & (cr > 0.0))
        slots = slots[np.argsort(s[slots], kind="stable")]
        sat_row = np.cumsum(bad) - 1  # satellite -> its row among the bad ones
        rows = sat_row[s[slots]]
        first = np.searchsorted(rows, np.arange(int(bad.sum())))
        cols = np.arange(slots.size) - first[rows]
        cs = np.zeros((int(bad.sum()), int(cols.max(initial=-1)) + 1))
        cs[rows, cols] = cr[slots]
        warm.update(bad=key, slots=slots, rows=rows, cols=cols, cs=cs)
    return warm["rows"], warm["cols"], warm["cs"]


def _newton_convex(c: np.ndarray, z2: np.ndarray, start: np.ndarray | None) -> np.ndarray:
    """Per row, the root ν >= 0 of f(ν) = Σ c z² / (1 + ν c)² − 1 (f(0) > 0, convex and decreasing).

    Newton's method: from the left of the root it climbs monotonically to it, a step from the right
    lands left of it (clipped at 0, where f > 0), so no bracket is needed. ``start``: the last
    projection's multipliers (1–3 steps instead of ~8 from 0).

    The step taken from |f| <= NEWTON_LAST is the last (Newton's error squares: |f| after it is
    (f'' / 2 f'²) f²: every |f| after it was <= NEWTON_TOL over the ~1500 projections of a K = 100
    cf-mntn-smrt decision), which saves the evaluation that would only confirm it; :func:`project`
    scales the result into 37c–d exactly anyway.
    """
    v = np.zeros(c.shape[0]) if start is None else np.maximum(start, 0.0)
    cz = c * z2
    for _ in range(NEWTON_STEPS):
        inv = 1.0 / (1.0 + v[:, None] * c)
        t = cz * inv * inv
        val = t.sum(axis=1) - 1.0
        worst = np.abs(val).max()
        if worst <= NEWTON_TOL:
            break
        v = np.maximum(v + val / (2.0 * (t * c * inv).sum(axis=1)), 0.0)
        if worst <= NEWTON_LAST:
            break
    return v


def _newton(f, active: np.ndarray, n_sat: int, start: np.ndarray | None = None) -> np.ndarray:
    """Root ν ≥ 0 of a decreasing f (f(0) > 0; vector over satellites) where ``active``; 0 elsewhere.

    Newton's method from ``start`` (default 0), safeguarded by the bracket it builds (bisection, or
    doubling while no upper end is known, when a step leaves it); ``f(v)`` returns (value, derivative).
    """
    v = np.zeros(n_sat) if start is None else np.where(active, np.maximum(start, 0.0), 0.0)
    lo, hi = np.zeros(n_sat), np.full(n_sat, np.inf)
    for _ in range(NEWTON_STEPS):
        val, der = f(v)
        if np.all(~active | (np.abs(val) <= NEWTON_TOL)):  # the constraint holds to round-off: done
            break
        pos = val > 0.0
        lo = np.where(active & pos, v, lo)
        hi = np.where(active & ~pos, v, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = v - val / der
        inside = np.isfinite(step) & (step > lo) & (step < hi)
        fallback = np.where(np.isfinite(hi), 0.5 * (lo + hi), np.maximum(2.0 * v, 1.0))
        new = np.where(active, np.where(inside, step, fallback), 0.0)
        if np.all(np.abs(new - v) <= 1e-13 * np.maximum(np.abs(v), 1.0)):
            v = new
            break
        v = new
    return v


class FirstOrderProblem:
    """P3 of 000 (eq 32) on a subset of a :class:`LinkSinr`'s links, solved by accelerated projected gradient.

    It has the interface of :class:`.socp.ScaProblem` (``step``) and :class:`.socp.RatioProblem`
    (``solve``) that :func:`.algorithm1.algorithm1` drives: ``solve`` (the cold first P3 of the
    hybrid inner loop) returns a near-optimal P3 point from the point given, ``step`` (each
    reweighting iteration and the polish) at most STEP_ITERS gradient steps from it; the
    optimiser's loop repeats either while it gains more than its tolerance.

    Parameters
    ----------
    model : LinkSinr — the coefficients on the usable links
    variables : ndarray, shape (L, K), bool — links whose power is a variable (a subset of the model's)
    k_max : int, optional — include 37c with this K_max
    """

    def __init__(self, model: LinkSinr, variables: np.ndarray, k_max: int | None = None) -> None:
        self.model = model
        self.active = model.valid & model.to_q(np.asarray(variables, dtype=float)).astype(bool)
        self.k_max = k_max
        self.users = np.flatnonzero(self.active.any(axis=1))
        #: relative accuracy of the next solve (set by the optimiser)
        self.accuracy = 1e-3
        self.n_solves = 0
        self.iterations = 0
        #: the gradient step (1 / Lipschitz estimate) the next solve starts from: the last solve's
        self.step_size = 1.0
        #: the relative accuracy at which the last solve met its stopping rule (inf: it ran out of
        #: steps); a re-solve from its point would then gain about this much at most
        self.converged_to = np.inf

    def step(self, p_prev: np.ndarray, t_prev: float, *, omega: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """Ascent from ``p_prev`` by at most STEP_ITERS gradient steps (in place of one SCA step, 000 eqs
        36–37: the reweighting loop takes one step per ω, the polish repeats steps while they gain); (p, min SINR)."""
        p = self._solve(p_prev, omega, STEP_ITERS)
        s = self.model.sinr(p)[self.users]
        return p, float(s.min()) if s.size else 0.0

    def solve(self, lam: float, p_ref: np.ndarray, *, omega: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """Near-optimal P3 point from ``p_ref`` (in place of one Dinkelbach step); (p, sqrt-SINR margin over ``lam``)."""
        p = self._solve(p_ref, omega, MAX_ITERS)
        s = self.model.sinr(p)[self.users]
        return p, float(np.sqrt(s.min()) - lam) if s.size else 0.0

    def _solve(self, p0: np.ndarray, omega: np.ndarray | None, budget: int) -> np.ndarray:
        model = self.model
        wc = None
        if omega is not None and self.k_max is not None:
            wc = np.where(self.active, model.to_q(np.asarray(omega, dtype=float)) / self.k_max, 0.0)
        valid = self.active
        q = project(model.to_q(p0), model.sat, valid, model.n_sat, wc)
        accuracy = max(float(self.accuracy), ACCURACY_FLOOR)
        low = _min_ell(model, q, self.users)
        self.converged_to = np.inf
        for _ in range(MAX_RESTARTS):  # a restart re-reads μ from the spread and resets the momentum
            q, iters, self.step_size = maximise_min(model, q, valid, self.users, wc, accuracy, self.step_size, budget)
            self.iterations += iters
            budget -= iters
            if budget <= 0:
                break
            self.converged_to = accuracy
            new = _min_ell(model, q, self.users)
            gain, low = new - low, new
            if not gain > 0.1 * accuracy:
                break
        self.n_solves += 1
        return model.to_p(q)


def _min_ell(model: LinkSinr, q: np.ndarray, users: np.ndarray) -> float:
    """min_k ℓ_k (log sqrt-SINR) at q."""
    amp, den, _ = model.forward(q)
    with np.errstate(divide="ignore"):
        return float(np.min(np.log(np.maximum(amp[users], 0.0)) - 0.5 * np.log(den[users]))) if users.size else 0.0


def _objective(model: LinkSinr, q: np.ndarray, users: np.ndarray | slice, mu: float, linear=None):
    """(F_μ, min ℓ, softmin weights y (K,), amp, den, proj) at q; ``users`` an index array or slice(None).

    Called two to three times per gradient step: written for few numpy calls (ℓ = log(amp / √den));
    ``linear`` as for :meth:`LinkSinr.forward`.
    """
    amp, den, proj = model.forward(q, linear)
    a = amp[users]
    if not a.min() > 0.0:  # a user without signal: ℓ = −∞
        return -np.inf, -np.inf, None, amp, den, proj
    ell = np.log(a / np.sqrt(den[users]))
    low = ell.min()
    e = np.exp((low - ell) / mu)
    total = e.sum()
    if isinstance(users, slice):
        y = e / total
    else:
        y = np.zeros(model.n_user)
        y[users] = e / total
    return low - mu * np.log(total), low, y, amp, den, proj


def _gradient(model: LinkSinr, q: np.ndarray, y: np.ndarray, amp: np.ndarray, den: np.ndarray, proj: np.ndarray) -> np.ndarray:
    """∇ Σ_k y_k ℓ_k with respect to the slots q, shape (K, c)."""
    ratio = np.divide(y, amp, out=np.zeros_like(y), where=y > 0.0)
    return ratio[:, None] * model.b - model.den_grad(q, proj, y / den)


def maximise_min(
    model: LinkSinr,
    q: np.ndarray,
    valid: np.ndarray,
    users: np.ndarray,
    wc: np.ndarray | None,
    accuracy: float,
    step: float = 1.0,
    max_iters: int = MAX_ITERS,
) -> tuple[np.ndarray, int, float]:
    """Accelerated projected gradient on F_μ with continuation in μ; returns (best q by min ℓ, steps, last step).

    The first μ is the spread of ℓ over the users at q (mean − min, within [μ_min, MU_START]): a warm
    start close to balanced starts close to the end. Stops when the last stage (μ_min = MU_MIN ·
    accuracy / log K) has not raised min ℓ by accuracy / 100 for STALL steps, or after ``max_iters``
    steps in all. ``step`` is the initial gradient step (1 / Lipschitz estimate).
    """
    if users.size == 0:
        return q, 0, step
    mu_min = MU_MIN * accuracy / max(np.log(users.size), 1.0)
    amp, den, _ = model.forward(q)
    with np.errstate(divide="ignore"):
        ell = np.log(np.maximum(amp[users], 0.0)) - 0.5 * np.log(den[users])
    spread = float(np.mean(ell) - np.min(ell)) if np.all(np.isfinite(ell)) else MU_START
    mu = min(max(spread, mu_min), MU_START)
    warm: dict = {}
    proj_ = lambda v: project(v, model.sat, valid, model.n_sat, wc, warm)  # noqa: E731
    if users.size == model.n_user:
        users = slice(None)  # every user: views instead of gathers in each evaluation
    x = q
    at_x = _objective(model, x, users, mu)  # F_μ and its parts at x (the objective at z when z is x)
    f_x, low_x, _, amp, _, proj = at_x
    lin_x = lin_z = (amp, proj)  # amplitudes and projections (linear in q) at x and z
    best, best_low = x, low_x
    z, t_mom = x, 1.0
    iters, stall, stage_best = 0, 0, low_x
    while iters < max_iters:
        # z is x after every restart and on the step after it (momentum 0): no evaluation then
        f_z, _, y, amp, den, proj = at_x if z is x else _objective(model, z, users, mu, lin_z)
        if y is None:  # momentum left the domain: restart from x
            if z is x:  # x itself is outside it (a user without signal): no step to take from there
                break
            z, t_mom, lin_z = x, 1.0, lin_x
            continue
        g = _gradient(model, z, y, amp, den, proj)
        while True:  # backtracking on the quadratic lower model of the concave-like F_μ
            x_new = proj_(z + step * g)
            d = x_new - z
            at_new = _objective(model, x_new, users, mu)
            f_new, low_new, _, amp, _, proj = at_new
            if f_new >= f_z + np.vdot(g, d) - np.vdot(d, d) / (2.0 * step) - 1e-15 * abs(f_z):
                break
            step *= 0.5
            if step < 1e-20:
                break
        iters += 1
        if f_new < f_x:  # not monotone: restart the momentum at x
            z, t_mom, lin_z = x, 1.0, lin_x
            step *= 0.5
        else:
            t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t_mom * t_mom))
            beta = (t_mom - 1.0) / t_next
            z = x_new + beta * (x_new - x)
            lin_z = (amp + beta * (amp - lin_x[0]), proj + beta * (proj - lin_x[1]))
            if np.vdot(g, x_new - x) < 0.0:  # gradient restart (O'Donoghue & Candès)
                z, t_next, lin_z = x_new, 1.0, (amp, proj)
            x, f_x, t_mom, lin_x, at_x = x_new, f_new, t_next, (amp, proj), at_new
            step *= 1.25
            if low_new > best_low:
                best, best_low = x_new, low_new
        if best_low > stage_best + 0.01 * accuracy:
            stage_best, stall = best_low, 0
        else:
            stall += 1
        if stall >= STALL:
            if mu <= mu_min:
                break
            mu = max(mu * MU_STEP, mu_min)
            at_x = _objective(model, x, users, mu, lin_x)
            f_x = at_x[0]
            z, t_mom, stall, stage_best, lin_z = x, 1.0, 0, best_low, lin_x
    return best, iters, step


def gap_certificate(
    model: LinkSinr, p: np.ndarray, cluster: np.ndarray, users: np.ndarray
) -> float:
    """Relative gap t_up / t − 1 between an upper bound on the P3 optimum and the min SINR t of ``p``.

    P3 here is the final power allocation: max-min SINR over the links ``cluster`` with 37d–e
    (no 37c), users ``users``. Returns inf when no bound below infinity is found, NaN when t = 0.
    See the module docstring for the bound.

    Parameters
    ----------
    model : LinkSinr — coefficients on links that include ``cluster``
    p : ndarray, shape (L, K) — power weights (feasible: 37d–e, 0 off ``cluster``)
    cluster : ndarray, shape (L, K), bool
    users : ndarray of int — users in the min
    """
    if users.size == 0:
        return float("nan")
    valid = model.valid & model.to_q(np.asarray(cluster, dtype=float)).astype(bool)
    q = np.where(valid, model.to_q(p), 0.0)
    amp, den, proj = model.forward(q)
    r = np.zeros(model.n_user)
    r[users] = amp[users] / np.sqrt(den[users])
    lam0 = float(r[users].min())
    if not lam0 > 0.0:
        return float("nan")
    D = np.sqrt(den)
    s_flat, v_flat = model.sat.ravel(), valid.ravel()
    grad_a = np.where(valid, model.b, 0.0)  # ∇ a_j on j's own slots

    def pieces(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A = Σ y_k ∇a_k / D_k and B = Σ y_k ∇||·||_k / D_k on the slots (∇g = A − λ B)."""
        A = grad_a * (y / D)[:, None]
        B = model.den_grad(q, proj, y / (D * D))
        return A, np.where(valid, B, 0.0)

    def bound(y: np.ndarray, lam: float) -> tuple[float, np.ndarray]:
        """U(λ; y) and the maximiser x* of the linear term over 37d–e."""
        A, B = pieces(y)
        c = np.where(valid, A - lam * B, 0.0)
        cp = np.maximum(c, 0.0)
        norm = np.sqrt(np.bincount(s_flat, (cp * cp).ravel() * v_flat, minlength=model.n_sat))
        x = np.where(valid, cp / np.maximum(norm, np.finfo(float).tiny)[model.sat], 0.0)
        value = float(np.sum(y[users] * (r[users] - lam)) + np.sum(c * (x - q)))
        return value, x

    gaps = []
    for share in SLACK_SHARES:
        y = _multipliers(model, q, valid, users, proj, D, lam0, share)
        gaps.append(_root(lambda lam: bound(y, lam)[0], lam0))
    return float(min(gaps) ** 2 - 1.0)


def _root(u, lam0: float) -> float:
    """Smallest λ / λ₀ (to 1e-7) with u(λ) <= 0 for the convex u with u(λ₀) >= 0; inf when none below 2^60 λ₀."""
    hi = lam0 * 2.0
    for _ in range(60):
        if u(hi) <= 0.0:
            break
        hi *= 2.0
    else:
        return float("inf")
    lo = lam0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if u(mid) <= 0.0:
            hi = mid
        else:
            lo = mid
        if hi <= lo * (1.0 + 1e-7):
            break
    return hi / lam0


def _multipliers(
    model: LinkSinr, q: np.ndarray, valid: np.ndarray, users: np.ndarray, proj: np.ndarray, D: np.ndarray, lam: float,
    share: float,
) -> np.ndarray:
    """Multipliers y (K,) on the simplex from the KKT conditions of the ratio program at (q, λ).

    Stationarity asks Σ_k y_k ∇g_k = α_l q_l on the powered slots of each satellite l (α_l ≥ 0, and
    α_l = 0 where ||q_l|| < 1); y and α are fitted by non-negative least squares, with Σ y = 1 as a
    heavily weighted row. Any y gives a valid bound; these make it tight at an optimum.
    """
    from scipy.optimize import nnls

    n_user, c = model.b.shape
    # ∇g_k on every slot (j, i): b on k's own slots / D_k − λ Σ_r H[j, i, (k, r)] proj[j, k, r] / D_k²
    V = -lam * model.den_grads(q, proj) / (D * D)[None, None, :]
    own = np.arange(n_user)
    V[own, :, own] += model.b / D[:, None]
    rows = valid
    qmax = np.zeros(model.n_sat)
    np.maximum.at(qmax, model.sat[valid], q[valid])
    small = (q[rows] <= share * qmax[model.sat[rows]])  # (near) zero power: Σ y ∇g ≤ 0 there
    Vr = V[rows][:, users]  # (n_slots, n_users)
    sat_rows = model.sat[rows]
    load = np.bincount(model.sat[valid], (q[valid] ** 2), minlength=model.n_sat)
    full = np.flatnonzero(load > 1.0 - 1e-6)
    Q = np.zeros((Vr.shape[0], full.size))
    if full.size:
        col = np.searchsorted(full, sat_rows)
        on = np.isin(sat_rows, full)
        Q[np.flatnonzero(on), col[on]] = q[rows][on]
    S = np.zeros((Vr.shape[0], int(small.sum())))
    S[np.flatnonzero(small), np.arange(S.shape[1])] = 1.0
    scale = max(float(np.abs(Vr).max(initial=0.0)), np.finfo(float).tiny)
    A = np.vstack([
        np.hstack([Vr / scale, -Q / scale, S]),
        np.concatenate([np.full(users.size, 1e3), np.zeros(full.size + S.shape[1])]),
    ])
    rhs = np.concatenate([np.zeros(Vr.shape[0]), [1e3]])
    sol, _ = nnls(A, rhs, maxiter=50 * A.shape[1])
    y = np.zeros(n_user)
    total = sol[: users.size].sum()
    y[users] = sol[: users.size] / total if total > 0.0 else 1.0 / users.size
    return y
