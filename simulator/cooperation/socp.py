"""The convex core of 000's Algorithm 1: the SCA cone program P4 and the ratio cone program of P3.

Both are assembled as conic data (``min q^T x  s.t.  A x + s = b,  s ∈ K``) once per problem shape —
the sparsity pattern of ``A`` is fixed by the coefficient pattern and the set of power variables —
and re-solved with new numbers. With ``backend="ipm"`` each program is solved by the dense
primal-dual interior-point method of :mod:`.ipm`, which builds its normal equations from Gram
matrices of each user's G rows precomputed here; any program it does not finish is re-solved by
Clarabel, and the fallback is counted (``n_fallbacks``, ``last_fallback``). ``backend="clarabel"``
uses Clarabel alone, updated in place through ``DefaultSolver.update`` (an update skips the setup).
The default ``backend="auto"`` takes the interior-point method where it is the faster — programs
whose G rows couple the weights densely (sMRT's coherent d-terms) with at least
:data:`IPM_MIN_WEIGHTS` weights — and Clarabel otherwise (sZF, phase-averaged and small programs,
whose sparse KKT systems Clarabel factorises in a fraction of a millisecond).
``leosim bench alg1`` measures both against the same SCA problem written in cvxpy and rebuilt at
every iteration, and against a cvxpy DPP problem built once with ``cp.Parameter``s.

Variables are the power weights p_{l,k} of the links in a boolean mask (other weights are 0). Each
user's SINR cone is divided by a per-user scale s_k (the user's interference-plus-noise at the
current point), which makes its data O(1) whatever the link budget; unscaled, the coefficients span
~1e±10 and the solvers return inaccurate or failed statuses.

Each problem has an ``accuracy`` (relative gap and feasibility tolerance of either backend,
default :data:`TOLERANCE`) that the caller may change between solves; the optimisers solve steps
that still gain tens of per cent at 1e-2 (5–7 interior-point iterations instead of 9–12). With sMRT
the programs are dense — every user's cone involves every power weight; see ``docs/algorithm1.md``
for the formulations that were measured and the cost per interior-point iteration of both backends.
"""

from __future__ import annotations

import time

import clarabel
import numpy as np
from scipy import sparse

from ..errors import InputError, SolverError
from .coefficients import SinrCoefficients, signal_and_interference
from .ipm import ConeProgram, ConvergenceError

__all__ = ["ACCEPTED_STATUSES", "BACKENDS", "IPM_MIN_COUPLING", "IPM_MIN_WEIGHTS", "RatioProblem", "ScaProblem"]

#: Clarabel statuses accepted as a solution (cvxpy's "optimal" and "optimal_inaccurate").
ACCEPTED_STATUSES = ("Solved", "AlmostSolved")
#: Default Clarabel gap and feasibility tolerance (relative): the optimisers re-evaluate every point
#: with the exact SINR and keep only improvements, so the steps need no more than this.
TOLERANCE = 1e-5
#: ``backend`` choices: the dense interior-point method of :mod:`.ipm` (Clarabel when it does not
#: converge) where it is the faster, always, or Clarabel alone
BACKENDS = ("auto", "ipm", "clarabel")
#: "auto" uses the interior-point method from this many weights ... (ratio programs of 000's set-up
#: with sMRT, 3–20 links per user: Clarabel 1.1 / 3.4 / 6.2 / 14.8 ms at 30 / 80 / 120 / 200 weights,
#: the interior-point method 3.3 / 3.6 / 4.4 / 7.3 ms)
IPM_MIN_WEIGHTS = 90
#: ... when the G rows couple the weights: pairs of weights sharing a G row, Σ_rows m_r (m_r − 1),
#: per squared number of weights (sMRT: 1.2–1.7; sZF and phase-averaged: 0, where Clarabel takes
#: 0.4–2.2 ms against 2.3–5.4 ms)
IPM_MIN_COUPLING = 0.5


class _Conic:
    """Conic data with a fixed sparsity pattern, solved by :mod:`.ipm` or one Clarabel solver updated in place.

    Subclasses' :meth:`_layout` appends constraint blocks with :meth:`_block` in the order in which
    :meth:`_solve` later receives their values, and records the row layout. The shared blocks are ``p >= 0``
    (37e), the user cones' G rows, and per
    satellite ``||p_l|| <= 1`` (37d) and, with ``k_max``, ``||sqrt(ω_l / K_max) ∘ p_l|| <= 1``
    (37c, the reweighted ℓ2 sparsity constraint of eq 31).
    """

    def __init__(
        self,
        coeffs: SinrCoefficients,
        variables: np.ndarray,
        *,
        k_max: int | None = None,
        reuse: bool = True,
        backend: str = "auto",
    ) -> None:
        if backend not in BACKENDS:
            raise InputError(f"backend={backend!r}, expected one of {BACKENDS}")
        self.backend = backend
        self.coeffs = coeffs
        self.b = np.asarray(coeffs.b, dtype=float)
        self.G = np.asarray(coeffs.G, dtype=float)
        self.noise = float(coeffs.noise)
        self.variables = np.asarray(variables, dtype=bool)
        self.k_max, self.reuse = k_max, reuse
        self.n_sat, self.n_user = self.b.shape
        self.var_l, self.var_k = np.nonzero(self.variables)
        self.n_var = self.var_l.size
        self.users = np.flatnonzero(self.variables.any(axis=0))
        self._rows: list[np.ndarray] = []
        self._cols: list[np.ndarray] = []
        self.cones: list[object] = []
        self._solver: clarabel.DefaultSolver | None = None
        self._accuracy_set = TOLERANCE
        #: relative gap and feasibility tolerance of the next solve; the optimisers loosen it while
        #: their steps still gain much more than it (the point is re-evaluated exactly either way)
        self.accuracy = TOLERANCE
        self.n_solves = 0
        #: interior-point iterations of the dense method, its solves handed to Clarabel, and
        #: Clarabel's iterations (its own solves and the fallbacks)
        self.n_ipm_iters = 0
        self.n_fallbacks = 0
        self.n_clarabel_iters = 0
        #: wall time spent in the solvers, s
        self.solver_s = 0.0
        #: why the last solve fell back to Clarabel (empty when it did not)
        self.last_fallback = ""
        self._soc_dims: list[int] = []
        self._ipm: ConeProgram | None = None
        # p >= 0 (rows 0..n_var); power weights outside ``variables`` are not variables at all.
        self._block(np.arange(self.n_var), np.arange(self.n_var))
        self.cones.append(clarabel.NonnegativeConeT(self.n_var))
        self.n_row = self.n_var
        self._layout()

    def _layout(self) -> None:
        """Append the program's blocks and call :meth:`_finish` (subclasses)."""
        raise NotImplementedError

    def _block(self, rows: np.ndarray, cols: np.ndarray) -> None:
        self._rows.append(np.asarray(rows, dtype=np.int64))
        self._cols.append(np.asarray(cols, dtype=np.int64))

    def _user_cones(self, n_head: int, n_tail: int) -> np.ndarray:
        """Append one cone per user: ``n_head`` rows, the rows of G_k on the variables, ``n_tail`` rows.

        Returns the first row of each user's cone (shape (n_users_with_variables,)).
        """
        G = self.G
        col_of = np.full(self.b.shape, -1)
        col_of[self.var_l, self.var_k] = np.arange(self.n_var)
        has_cone = np.zeros(self.n_user, dtype=bool)
        has_cone[self.users] = True
        pattern = (G != 0.0) & self.variables.T[None, :, None, :] & has_cone[:, None, None, None]
        nz_k, nz_j, nz_m, nz_l = np.nonzero(pattern)
        n_m = G.shape[2]
        key = (nz_k * self.n_user + nz_j) * n_m + nz_m
        uniq, local = np.unique(key, return_inverse=True)
        per_user = np.bincount(uniq // (self.n_user * n_m), minlength=self.n_user)
        first = np.concatenate([[0], np.cumsum(per_user)[:-1]])
        dims = n_head + per_user[self.users] + n_tail
        start = np.zeros(self.n_user, dtype=np.int64)
        start[self.users] = self.n_row + np.concatenate([[0], np.cumsum(dims)[:-1]])
        self._head_vars = np.flatnonzero(np.isin(self.var_k, self.users))
        self._head_blocks = []
        for r in range(n_head):
            self._head_blocks.append(start[self.var_k[self._head_vars]] + r)
        self._g_rows = start[nz_k] + n_head + local - first[nz_k]
        self._g_cols = col_of[nz_l, nz_j]
        self._g_values = G[nz_k, nz_j, nz_m, nz_l]
        self._g_user = nz_k
        self.cones.extend(clarabel.SecondOrderConeT(int(d)) for d in dims)
        self._soc_dims.extend(int(d) for d in dims)
        self.n_row += int(dims.sum())
        return start[self.users]

    def _satellite_cones(self) -> None:
        """Append the 37d cones and, with ``k_max``, the 37c cones, one per satellite with variables."""
        sats = np.flatnonzero(self.variables.any(axis=1))
        n_per_sat = np.bincount(self.var_l, minlength=self.n_sat)[sats]
        sat_of_var = np.searchsorted(sats, self.var_l)
        first_var = np.concatenate([[0], np.cumsum(n_per_sat)[:-1]])
        self._sat_heads = []
        for _ in range(2 if self.k_max is not None else 1):
            head = self.n_row + np.concatenate([[0], np.cumsum(1 + n_per_sat)[:-1]])
            self._block(head[sat_of_var] + 1 + np.arange(self.n_var) - first_var[sat_of_var], np.arange(self.n_var))
            self.cones.extend(clarabel.SecondOrderConeT(int(1 + c)) for c in n_per_sat)
            self._soc_dims.extend(int(1 + c) for c in n_per_sat)
            self._sat_heads.append(head)
            self.n_row += int((1 + n_per_sat).sum())

    def _finish(self, n_col: int, q: np.ndarray, g_block: int) -> None:
        """Fix the CSC pattern; ``g_block`` is the index of the block of the users' G rows."""
        r_all, c_all = np.concatenate(self._rows), np.concatenate(self._cols)
        self._perm = np.lexsort((r_all, c_all))
        self._indices = r_all[self._perm]
        self._indptr = np.concatenate([[0], np.cumsum(np.bincount(c_all, minlength=n_col))]).astype(np.int64)
        self.n_col, self._q = n_col, q
        self._P = sparse.csc_matrix((n_col, n_col))
        pairs = np.bincount(self._g_rows, minlength=self.n_row) if self._g_rows.size else np.zeros(1)
        self.coupling = float(np.sum(pairs * (pairs - 1.0))) / max(self.n_var, 1) ** 2
        dense = self.n_var >= IPM_MIN_WEIGHTS and self.coupling >= IPM_MIN_COUPLING
        if self.backend == "ipm" or (self.backend == "auto" and dense):
            # The G rows of user k are -2 G_k / sqrt(s_k) (P4) or -G_k / D_k (ratio): a per-cone factor.
            sizes = [r.size for r in self._rows]
            base = np.zeros(sum(sizes))
            first = sum(sizes[:g_block])
            base[first : first + sizes[g_block]] = self._g_values
            g_rows = np.zeros(self.n_row, dtype=bool)
            g_rows[self._g_rows] = True
            dims = np.concatenate([np.ones(self.n_var, dtype=np.int64), self._soc_dims]).astype(np.int64)
            self._ipm = ConeProgram(n_col, self._indices, self._indptr, dims, g_rows, base[self._perm], self._grams())

    def _grams(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Σ_{j,m} G_kjm^T G_kjm on the weights of each user j, per user cone k (for :mod:`.ipm`).

        Row (k, j, m) of user k's cone touches only user j's weights, so each Gram is block-diagonal
        by j with blocks T[k, j] = G[k, j]^T G[k, j] (L × L) restricted to user j's variable links.
        """
        col_of = np.full(self.b.shape, -1)
        col_of[self.var_l, self.var_k] = np.arange(self.n_var)
        T = np.matmul(self.G.transpose(0, 1, 3, 2), self.G)  # (K, K, L, L)
        j, la, lb = np.nonzero(self.variables.T[:, :, None] & self.variables.T[:, None, :])
        pattern = col_of[la, j] * (self.n_var + 1) + col_of[lb, j]
        return self.n_var + np.arange(self.users.size), pattern, T[self.users][:, j, la, lb]

    def _common_values(self, omega: np.ndarray | None) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Values of the bound block (first) and of the satellite cones (last)."""
        nv = self.n_var
        tail = [-np.ones(nv)]
        if self.k_max is not None:
            w = np.ones(nv) if omega is None else omega[self.var_l, self.var_k]
            tail.append(-np.sqrt(w / self.k_max))
        return [-np.ones(nv)], tail

    def _rhs(self) -> np.ndarray:
        h = np.zeros(self.n_row)
        for head in self._sat_heads:
            h[head] = 1.0
        return h

    def _solve(self, values: list[np.ndarray], h: np.ndarray, context: str, g_scale: np.ndarray) -> np.ndarray:
        """Solve with the values of the blocks; ``g_scale`` is each user cone's factor on its G rows."""
        data = np.concatenate(values)[self._perm]
        accuracy = float(self.accuracy)
        self.n_solves += 1
        self.last_fallback = ""
        start = time.perf_counter()
        try:
            if self._ipm is not None:
                scale = np.ones(self._ipm.n_cone)
                scale[self.n_var : self.n_var + self.users.size] = g_scale
                try:
                    x = self._ipm.solve(self._q, data, h, scale, accuracy)
                except ConvergenceError as err:
                    self.n_fallbacks += 1
                    self.last_fallback = str(err)
                else:
                    return x
                finally:
                    self.n_ipm_iters += self._ipm.iterations
            return self._clarabel(data, h, context, accuracy)
        finally:
            self.solver_s += time.perf_counter() - start

    def _clarabel(self, data: np.ndarray, h: np.ndarray, context: str, accuracy: float) -> np.ndarray:
        if self._solver is not None and self.reuse:
            if accuracy != self._accuracy_set:
                self._solver.update(A=data, b=h, settings=self._settings(accuracy))
            else:
                self._solver.update(A=data, b=h)
        else:
            A = sparse.csc_matrix((data, self._indices, self._indptr), shape=(self.n_row, self.n_col))
            self._solver = clarabel.DefaultSolver(self._P, self._q, A, h, self.cones, self._settings(accuracy))
        self._accuracy_set = accuracy
        solution = self._solver.solve()
        self.n_clarabel_iters += int(solution.iterations)
        status = str(solution.status).rsplit(".", 1)[-1]
        x = np.asarray(solution.x)
        if status in ACCEPTED_STATUSES and np.all(np.isfinite(x)):
            return x
        nonzero = np.abs(data[data != 0.0])
        raise SolverError(
            f"Clarabel status {status} on {context}: {self.n_col} variables, {self.n_row} rows, "
            f"{len(self.cones)} cones, {self.users.size} users, {self.n_var} links; "
            f"|A| in [{nonzero.min():.3g}, {nonzero.max():.3g}], |b| <= {np.abs(h).max():.3g}; "
            f"coefficient b in [{self.b.min():.3g}, {self.b.max():.3g}], noise {self.noise:.3g}; "
            f"solver tolerance {accuracy:.0e}"
            + (f"; the interior-point method stopped first: {self.last_fallback}" if self._ipm is not None else "")
        )

    @staticmethod
    def _settings(accuracy: float) -> clarabel.DefaultSettings:
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        settings.presolve_enable = False  # in-place data updates need the un-presolved problem
        settings.input_sparse_dropzeros = False
        settings.equilibrate_enable = False  # the rows are already scaled to O(1)
        settings.tol_gap_abs = settings.tol_gap_rel = accuracy
        settings.tol_feas = accuracy
        return settings

    def _power(self, x: np.ndarray) -> np.ndarray:
        p = np.zeros((self.n_sat, self.n_user))
        p[self.var_l, self.var_k] = np.maximum(x[: self.n_var], 0.0)
        return p


class ScaProblem(_Conic):
    """P4 of 000 (eqs 36–37): one SCA step of P3, on a fixed set of power variables.

    Variables ``[p (n_var), τ]`` with τ = t / t_prev. With a_k = b_k^T p_prev_k and the per-user
    scale s_k = Σ_j ||G_kj p_prev_j||^2 + noise, eq 36 divided by s_k reads::

        ||G_k p||^2 / s_k + noise / s_k <= (2 a_k / (t_prev s_k)) b_k^T p_k - (a_k^2 / (t_prev s_k)) τ

    written as the rotated cone ``||[2 G_k p / sqrt(s_k); w - 1]|| <= w + 1`` with w the right side
    minus noise / s_k. At (p_prev, τ = 1) it holds whenever t_prev <= SINR_k(p_prev), so each step
    returns t >= t_prev (SCA is monotone from a P3-feasible start).

    Parameters
    ----------
    coeffs : SinrCoefficients — one snapshot: b (L, K), G (K, K, M, L), scalar noise > 0
    variables : ndarray, shape (L, K), bool — links whose power weight is a variable
    k_max : int, optional — include the 37c cones with this K_max
    reuse : bool — update one Clarabel solver in place between solves (True) or build a new one
    backend : {"auto", "ipm", "clarabel"} — the dense interior-point method of :mod:`.ipm`, re-solving
        with Clarabel any program it does not finish, where it is the faster ("auto", the default:
        see :data:`IPM_MIN_WEIGHTS`, :data:`IPM_MIN_COUPLING`) or always ("ipm"); or Clarabel alone
    """

    def _layout(self) -> None:
        self._starts = self._user_cones(n_head=2, n_tail=0)
        tau = self.n_var
        for rows in self._head_blocks:
            self._block(rows, self._head_vars)
        for r in (0, 1):
            self._block(self._starts + r, np.full(self.users.size, tau))
        g_block = len(self._rows)
        self._block(self._g_rows, self._g_cols)
        self._satellite_cones()
        q = np.zeros(self.n_var + 1)
        q[tau] = -1.0
        self._finish(self.n_var + 1, q, g_block)

    def step(
        self,
        p_prev: np.ndarray,
        t_prev: float,
        *,
        omega: np.ndarray | None = None,
    ) -> tuple[np.ndarray, float]:
        """Solve P4 (000 eqs 36–37) linearised at (p_prev, t_prev); return (p, t).

        Parameters
        ----------
        p_prev : ndarray, shape (L, K) — linearisation point, feasible for P3 (p_prev >= 0, 37c–d)
        t_prev : float, linear — 0 < t_prev <= min_k SINR_k(p_prev) over the users with variables
        omega : ndarray, shape (L, K), optional — reweighting weights ω of 37c (used with ``k_max``)

        Returns
        -------
        p : ndarray, shape (L, K) — the P4 optimum (0 outside the variables, clipped to >= 0)
        t : float — the P4 optimum; min_k SINR_k(p) >= t since eq 36 under-estimates eq 33
        """
        signal, s = signal_and_interference(self.coeffs, p_prev)
        hv = self._head_vars
        lin = 2.0 * np.sqrt(signal) / (t_prev * s)
        c_hat = -lin[self.var_k[hv]] * self.b[self.var_l[hv], self.var_k[hv]]
        d_hat = (signal / (t_prev * s))[self.users]
        first, last = self._common_values(omega)
        values = first + [c_hat, c_hat, d_hat, d_hat, -2.0 * self._g_values / np.sqrt(s[self._g_user])] + last
        h = self._rhs()
        n_hat = self.noise / s[self.users]
        h[self._starts] = 1.0 - n_hat
        h[self._starts + 1] = -1.0 - n_hat
        x = self._solve(values, h, "P4 (SCA step)", -2.0 / np.sqrt(s[self.users]))
        return self._power(x), float(x[self.n_var] * t_prev)


class RatioProblem(_Conic):
    """P3 of 000 (eq 32) in ratio form: maximise the worst margin of sqrt(SINR) over a target λ.

    With r_k(p) = b_k^T p_k / ||[G_k p; sqrt(noise)]|| (so SINR_k = r_k^2, eq 27) and the per-user
    scale D_k = ||[G_k p_ref; sqrt(noise)]||, the program is::

        maximise σ  s.t.  ||[G_k p; sqrt(noise)]|| / D_k <= b_k^T p_k / (λ D_k) - σ   for all k,  37c–e

    (all divided by λ). Its optimum σ* >= 0 exactly when some p reaches min_k SINR_k >= λ^2, which
    gives bisection on t = λ^2; and it is the subproblem of the generalised Dinkelbach method
    (Crouzeix, Ferland & Schaible 1985, with the D_k-normalised variant) whose iterate
    λ_{n+1} = min_k r_k(p_n) increases to the optimum of P3 superlinearly.

    Parameters
    ----------
    coeffs, variables, k_max, reuse, backend : as for :class:`ScaProblem`
    """

    def _layout(self) -> None:
        self._starts = self._user_cones(n_head=1, n_tail=1)
        sigma = self.n_var
        self._block(self._head_blocks[0], self._head_vars)
        self._block(self._starts, np.full(self.users.size, sigma))
        g_block = len(self._rows)
        self._block(self._g_rows, self._g_cols)
        self._tails = self._starts + np.diff(np.append(self._starts, self.n_row)) - 1
        self._satellite_cones()
        q = np.zeros(self.n_var + 1)
        q[sigma] = -1.0
        self._finish(self.n_var + 1, q, g_block)

    def solve(
        self,
        lam: float,
        p_ref: np.ndarray,
        *,
        omega: np.ndarray | None = None,
    ) -> tuple[np.ndarray, float]:
        """Solve the ratio program at target sqrt-SINR ``lam``; return (p, σ*).

        Parameters
        ----------
        lam : float > 0 — target λ = sqrt(t)
        p_ref : ndarray, shape (L, K) — point defining the per-user scales D_k
        omega : as in :meth:`ScaProblem.step`

        Returns
        -------
        p : ndarray, shape (L, K)
        sigma : float — optimum margin; >= 0 iff min_k SINR_k(p) >= lam^2 is reachable
        """
        _, den = signal_and_interference(self.coeffs, p_ref)
        D = np.sqrt(den)
        hv = self._head_vars
        head = -self.b[self.var_l[hv], self.var_k[hv]] / (lam * D[self.var_k[hv]])
        first, last = self._common_values(omega)
        values = first + [head, np.ones(self.users.size), -self._g_values / D[self._g_user]] + last
        h = self._rhs()
        h[self._tails] = np.sqrt(self.noise) / D[self.users]
        x = self._solve(values, h, f"P3 ratio program at SINR {lam**2:.6g}", -1.0 / D[self.users])
        return self._power(x), float(x[self.n_var])
