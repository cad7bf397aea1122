"""Second stage after max-min power: more sum SE, every user kept at (a share of) the minimum.

A max-min SINR allocation (000 eq 37 with fixed clusters) balances every user at the minimum γ*,
so the users with strong channels give up rate they could have without hurting anyone. The second
stage raises the sum spectral efficiency over the same clusters subject to every served user
keeping SINR ≥ s·γ* (s = 1: a Pareto improvement, the minimum is unchanged; replays use s = 0.9,
docs/design.md "distance-sca's second stage")::

    maximise   f(p) = Σ_k log2(1 + SINR_k(p))                   (SINR_k: 000 eq 27)
    subject to b_k^T p_k ≥ sqrt(s·γ*) · ||(G_{k,1} p_1, …, G_{k,K} p_K, σ)||  for every served k
               ||p_l||_2 ≤ 1  for every satellite l  (Σ_k p_{l,k}² ≤ 1, 000 eq 14)
               p_{l,k} ≥ 0, and p_{l,k} = 0 outside the clusters

The constraints are second-order cones, so the feasible set F is convex; f is not concave. The
stage climbs from the max-min point (feasible) by conditional-gradient (Frank–Wolfe) steps: the cone
program max_{y ∈ F} ∇f(p)^T y gives a vertex y, and p moves to the best point of the segment
[p, y], which lies in F. Every step raises f and keeps every floor. Coefficients are scaled by 1/σ so
the cone program sees SINRs.
"""

from __future__ import annotations

import clarabel
import numpy as np
from scipy import sparse

from .coefficients import SinrCoefficients, sinr

__all__ = ["max_sum_above_floor"]

#: Relative slack of the floor: the cone programs ask for γ*(1 − slack/2), so the max-min point is
#: strictly inside, and a point under γ*(1 − slack) is never returned.
FLOOR_SLACK = 1e-6
#: Step lengths tried on each segment [p, y] (the best one is taken).
STEPS = np.array([1.0, 0.75, 0.5, 0.35, 0.25, 0.15, 0.1, 0.05, 0.02])


class _Stage:
    """The scaled problem on the cluster's links: x (n,) = p at ``links`` (flat indices of (L, K))."""

    def __init__(self, b: np.ndarray, G: np.ndarray, links: np.ndarray, served: np.ndarray, floor: float) -> None:
        self.b, self.G, self.links, self.served = b, G, links, served
        self.n_sat, self.n_user = b.shape
        self.l_of, self.k_of = links // self.n_user, links % self.n_user
        self.floor = floor
        self._solver = None
        self._build()

    def power(self, x: np.ndarray) -> np.ndarray:
        """(..., n) → (..., L, K)."""
        p = np.zeros(x.shape[:-1] + (self.n_sat * self.n_user,))
        p[..., self.links] = x
        return p.reshape(x.shape[:-1] + (self.n_sat, self.n_user))

    def sinr(self, x: np.ndarray) -> np.ndarray:
        return sinr(SinrCoefficients(b=self.b, G=self.G, noise=1.0), self.power(x))

    def value(self, x: np.ndarray) -> np.ndarray:
        """f of (..., n) points, bit/s/Hz summed over the served users."""
        return np.sum(np.log2(1.0 + self.sinr(x)[..., self.served]), axis=-1)

    def gradient(self, x: np.ndarray) -> np.ndarray:
        p = self.power(x)
        amp = np.einsum("lk,lk->k", self.b, p)
        proj = np.einsum("kjml,lj->kjm", self.G, p)
        den = 1.0 + np.einsum("kjm,kjm->k", proj, proj)
        dden = 2.0 * np.einsum("kjml,kjm->klj", self.G, proj).reshape(self.n_user, -1)[:, self.links]
        damp = np.zeros((self.n_user, self.links.size))
        damp[self.k_of, np.arange(self.links.size)] = self.b.ravel()[self.links]
        ds = (2.0 * amp[:, None] * damp * den[:, None] - (amp**2)[:, None] * dden) / (den**2)[:, None]
        s = amp**2 / den
        return np.sum(ds[self.served] / (1.0 + s[self.served])[:, None], axis=0) / np.log(2.0)

    def _build(self) -> None:
        """Cones of F in Clarabel's form A x + s = h, s ∈ K (rows of zeros left out); vectorised, so
        the cost grows with the non-zero coefficients, not with K² · M."""
        n, n_user = self.links.size, self.n_user
        link = np.arange(n)
        # x ≥ 0: rows 0 … n−1
        rows, cols, vals = [link], [link], [-np.ones(n)]
        # ||p_l|| ≤ 1: per satellite a row h = 1, then one row per link of it
        per_sat = np.unique(self.l_of, return_counts=True)[1]
        by_sat = np.argsort(self.l_of, kind="stable")
        sat_base = n + np.concatenate([[0], np.cumsum(per_sat + 1)[:-1]])  # the h = 1 row of each
        rank = np.arange(n) - np.repeat(np.concatenate([[0], np.cumsum(per_sat)[:-1]]), per_sat)
        rows.append(np.repeat(sat_base, per_sat) + 1 + rank)
        cols.append(by_sat)
        vals.append(-np.ones(n))
        top = n + int(np.sum(per_sat + 1))
        h = np.zeros(top)
        h[sat_base] = 1.0
        cones = [clarabel.NonnegativeConeT(n)] + [clarabel.SecondOrderConeT(1 + int(c)) for c in per_sat]
        # b_k^T p_k / sqrt(γ) ≥ ||(G_k p, 1)|| per served user k: a signal row, one row per (m, j)
        # with a non-zero coefficient on some link of user j, and the noise row h = 1
        root = np.sqrt(self.floor * (1.0 - FLOOR_SLACK / 2))
        coef = self.G[:, self.k_of, :, self.l_of]  # (n, K, M): G[k, j(i), m, l(i)] for link i
        n_rows = coef.shape[2] * n_user
        i, k, m = np.nonzero(coef)
        keep = np.isin(k, self.served)
        i, k, m = i[keep], k[keep], m[keep]
        key = k * n_rows + m * n_user + self.k_of[i]
        keys, which = np.unique(key, return_inverse=True)
        per_user = np.bincount(keys // n_rows, minlength=n_user)[self.served]
        user_base = top + np.concatenate([[0], np.cumsum(per_user + 2)[:-1]])  # signal row of each
        base_of = np.zeros(n_user, np.int64)
        base_of[self.served] = user_base
        first_key = np.searchsorted(keys, self.served * n_rows)
        first_of = np.zeros(n_user, np.int64)
        first_of[self.served] = first_key
        key_user = keys // n_rows
        rows.append(base_of[key_user] + 1 + np.arange(keys.size) - first_of[key_user])
        rows[-1] = rows[-1][which]
        cols.append(i)
        vals.append(-coef[i, k, m])
        signal = np.isin(self.k_of, self.served)
        rows.append(base_of[self.k_of[signal]])
        cols.append(link[signal])
        vals.append(-self.b[self.l_of[signal], self.k_of[signal]] / root)
        h = np.concatenate([h, np.zeros(int(np.sum(per_user + 2)))])
        h[user_base + 1 + per_user] = 1.0
        cones += [clarabel.SecondOrderConeT(2 + int(c)) for c in per_user]
        self.A = sparse.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                   shape=(h.size, n))
        self.h, self.cones = h, cones

    def vertex(self, direction: np.ndarray) -> np.ndarray | None:
        """argmax_{y ∈ F} direction^T y, or None when the cone program fails.

        With the floor at the max-min SINR, F has almost no interior and Clarabel may stop with a
        numerical error near the answer; its point is still a usable direction, since the line search
        keeps only trial points that ``feasible`` accepts and that raise the sum. Only non-finite
        points and infeasibility certificates count as failures."""
        n = self.links.size
        q = -direction / max(np.abs(direction).max(), 1e-300)
        if self._solver is None:
            settings = clarabel.DefaultSettings()
            settings.verbose = False
            settings.presolve_enable = False  # later vertices update q in place
            self._solver = clarabel.DefaultSolver(sparse.csc_matrix((n, n)), q, self.A, self.h, self.cones, settings)
        else:  # the same cones with a new objective: setup and symbolic factorisation are kept
            self._solver.update(q=q)
        solver = self._solver
        solution = solver.solve()
        status = str(solution.status).rsplit(".", 1)[-1]
        x = np.asarray(solution.x)
        usable = x.size == n and np.all(np.isfinite(x)) and "Infeasible" not in status
        return x if usable else None

    def feasible(self, x: np.ndarray) -> np.ndarray:
        """(...,) bool: every floor within the slack and every satellite within its power."""
        budget = (x**2) @ (self.l_of[:, None] == np.arange(self.n_sat)[None, :])  # (..., L)
        return ((self.sinr(x)[..., self.served].min(axis=-1) >= self.floor * (1.0 - FLOOR_SLACK))
                & (budget.max(axis=-1) <= 1.0 + FLOOR_SLACK) & (x.min(axis=-1) >= 0.0))


def max_sum_above_floor(coeffs: SinrCoefficients, power: np.ndarray, cluster: np.ndarray, *,
                        steps: int = 4, floor_share: float = 1.0) -> tuple[np.ndarray, bool]:
    """Power with a larger sum SE and every served user's SINR at least the minimum SINR of ``power``.

    Parameters
    ----------
    coeffs : SinrCoefficients — one snapshot (000 eq 27), b (L, K), G (K, K, M, L), noise > 0
    power : ndarray, shape (L, K) — a feasible allocation on ``cluster`` (the max-min point)
    cluster : ndarray, shape (L, K), bool — links that may carry power
    steps : int — conditional-gradient steps at most (one cone program each)
    floor_share : float in (0, 1] — every served user keeps SINR ≥ floor_share × the minimum SINR of
        ``power`` (1: the minimum is unchanged, a Pareto improvement)

    Returns
    -------
    (power (L, K), improved) — the new power and True, or ``power`` itself and False when no step
    raised the sum (a cone program failed at the first step, or ``power`` is already the best).

    Two satellites, one user each, no interference: a max-min optimum leaves the strong user at the
    weak user's SINR 1; the stage gives it its satellite's full power.

    >>> c = SinrCoefficients(b=np.array([[2.0, 0.0], [0.0, 1.0]]), G=np.zeros((2, 2, 1, 2)), noise=1.0)
    >>> p0 = np.array([[0.5, 0.0], [0.0, 1.0]])  # SINR 1 for both users: a max-min optimum
    >>> p, improved = max_sum_above_floor(c, p0, np.eye(2, dtype=bool))
    >>> improved, np.round(sinr(c, p), 3).tolist()
    (True, [4.0, 1.0])
    """
    given = np.asarray(power, dtype=float)
    cluster = np.asarray(cluster, dtype=bool)
    noise = float(coeffs.noise)
    b = np.where(cluster, np.asarray(coeffs.b, dtype=float), 0.0)
    G = np.asarray(coeffs.G, dtype=float)
    if not (np.isfinite(noise) and noise > 0 and np.isfinite(b).all() and np.isfinite(G).all()):
        return given, False
    b, G = b / np.sqrt(noise), G / np.sqrt(noise)
    links = np.flatnonzero((cluster & (b > 0)).ravel())
    s0 = sinr(SinrCoefficients(b=b, G=G, noise=1.0), np.where(cluster, given, 0.0))
    served = np.flatnonzero((cluster & (b > 0)).any(axis=0) & (s0 > 0))
    if served.size == 0 or links.size == 0:
        return given, False
    if not 0.0 < floor_share <= 1.0:
        raise ValueError(f"floor_share={floor_share!r}: a fraction in (0, 1]")
    stage = _Stage(b, G, links, served, float(s0[served].min()) * floor_share)
    x = given.ravel()[links]
    best = float(stage.value(x))
    start = best
    for _ in range(steps):
        y = stage.vertex(stage.gradient(x))
        if y is None:
            break
        trial = x[None, :] + STEPS[:, None] * (np.maximum(y, 0.0) - x)[None, :]
        value = np.where(stage.feasible(trial), stage.value(trial), -np.inf)
        i = int(np.argmax(value))
        if value[i] <= best * (1.0 + 1e-6):
            break
        x, best = trial[i], float(value[i])
    if best <= start:
        return given, False
    return stage.power(x), True
