"""A dense primal-dual interior-point method for the cone programs of Algorithm 1 (``socp``).

Solves ``min c^T x  s.t.  A x + s = h,  s ∈ K`` with K a product of second-order cones (a
nonnegative orthant is a run of 1-dimensional cones) by the infeasible-start path-following method
with Nesterov–Todd scaling and Mehrotra's predictor-corrector — the method of CVXOPT's ``coneqp``
without equality rows (L. Vandenberghe, "The CVXOPT linear and quadratic cone program solvers",
2010; Y. Nesterov & M. Todd, SIAM J. Optim. 8(2), 1998). The Newton system is reduced to the normal
equations ``H Δx = r``, ``H = A^T W^{-2} A`` (n × n, dense), factorised by Cholesky once per
iteration and solved twice (predictor, corrector).

What makes it cheap for 000's programs is how ``H`` is assembled. For a cone with NT scaling
``W = η (2 v v^T − J)`` (v^T J v = 1, J = diag(1, −1, …, −1)), ``W^{-1} = η^{-1} (2 J v v^T J − J)``
acts as η^{-1} times the identity off the plane spanned by e₀ and the unit tail direction
u = v₁ / ‖v₁‖, and in that plane has eigenvalues η^{-1} (v₀ ± ‖v₁‖)² on (e₀ ∓ u)/√2. Hence

    A_c^T W_c^{-2} A_c = η_c^{-2} [A_c^T A_c + ((v₀+ρ)⁴ − 1) f₋ f₋^T + ((v₀−ρ)⁴ − 1) f₊ f₊^T],

ρ = ‖v₁‖, f∓ = A_c^T (e₀ ∓ u) / √2: a Gram matrix of the cone's rows plus two rank-one terms. The
Gram matrices of the rows that change between solves only by a per-cone factor (each user's G rows,
scaled by 1/sqrt(s_k) or 1/D_k) are computed once per problem on the union of their sparsity
patterns (block-diagonal by interfering user); rows with one nonzero (p ≥ 0, the satellite cones)
give a diagonal, the few dense head rows and the rank-one terms of cones with a wide support a small
dense product, and cones with a narrow support (a satellite's weights) scattered outer products.

The first solve starts from CVXOPT's least-squares point balanced as in Mehrotra's LP start; every
later solve of the same :class:`ConeProgram` (new numbers, same structure) starts warm, from the
previous solution blended with that cold point (:data:`WARM_BLEND`).

Failure to converge (iteration limit, step collapse, a non-finite value, a failed Cholesky
factorisation) raises :class:`ConvergenceError`; ``socp`` then re-solves the program with Clarabel.
No infeasibility certificates are produced: the programs of Algorithm 1 are feasible and bounded.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.linalg import blas, lapack

from ..errors import SolverError

__all__ = ["MAX_ITER", "STEP_FRACTION", "ConeProgram", "ConvergenceError"]

MAX_ITER = 60  #: interior-point iterations before giving up (the programs need 4–15)
#: fraction of the step to the cone boundary taken (with CVXOPT's and Clarabel's 0.99 the programs of
#: 12 drops of 000's set-up needed 5 % more iterations)
STEP_FRACTION = 0.95
MIN_STEP = 1e-8  #: a step length below this is a collapse
#: weight of the cold starting point in the warm start of a re-solve (iterations per program over
#: 12 drops of 000's set-up, sMRT: 5.6–5.9 for 0.01–0.05, 6.7 for 0 and for 0.3; cold 8.7)
WARM_BLEND = 0.02
SMALL_SUPPORT = 32  #: cones touching at most this many variables get scattered outer products


class ConvergenceError(SolverError):
    """The interior-point method stopped without a solution (the caller falls back to Clarabel)."""


class ConeProgram:
    """The fixed structure of ``min c^T x s.t. A x + s = h, s ∈ K``, solved for new numbers by :meth:`solve`.

    Parameters
    ----------
    n_col : int — number of variables n
    indices, indptr : ndarray, int — CSC pattern of A (n_row × n_col); the data come with each solve
    cone_dims : ndarray, int — dimensions of the second-order cones in row order (1 = a nonnegative row)
    gram_rows : ndarray, shape (n_row,), bool — rows whose values are, in every solve,
        ``gram_scale[cone] * gram_base`` (their Gram matrices are precomputed)
    gram_base : ndarray, shape (nnz,) — CSC data of the ``gram_rows`` at scale 1 (other entries unused)
    gram : (cones, pattern, values), optional — the Grams of the ``gram_rows`` at scale 1 when the
        caller knows them: cone indices (c,), flat indices into n × n (p,) and values (c, p) of
        Σ_rows a_r a_r^T per cone (the pattern may include zeros); computed from the rows otherwise
    """

    def __init__(
        self,
        n_col: int,
        indices: np.ndarray,
        indptr: np.ndarray,
        cone_dims: np.ndarray,
        gram_rows: np.ndarray,
        gram_base: np.ndarray,
        gram: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> None:
        n = self.n = int(n_col)
        dims = np.asarray(cone_dims, dtype=np.int64)
        self.n_row = int(dims.sum())
        self.n_cone = dims.size
        self.offs = np.concatenate([[0], np.cumsum(dims)[:-1]]).astype(np.int64)
        self.cone_of_row = np.repeat(np.arange(self.n_cone), dims)
        self.is_head = np.zeros(self.n_row, dtype=bool)
        self.is_head[self.offs] = True
        self.jsign = np.where(self.is_head, 1.0, -1.0)
        self.e = self.is_head.astype(float)
        self.indices = np.asarray(indices, dtype=np.int64)
        self.indptr = np.asarray(indptr, dtype=np.int64)
        row = self.indices
        col = np.repeat(np.arange(n), np.diff(self.indptr))
        cone = self.cone_of_row[row]
        gram_rows = np.asarray(gram_rows, dtype=bool)
        # Precomputed Grams of the scaled rows, on the union of their patterns.
        if gram is None:
            gnz = np.flatnonzero(gram_rows[row])
            self.gram_cones = np.unique(cone[gnz])
            self._gram_pattern, self._gram_values = self._grams(row[gnz], col[gnz], np.asarray(gram_base)[gnz], dims)
        else:
            self.gram_cones, self._gram_pattern, self._gram_values = (np.asarray(a) for a in gram)
        # Other rows: one nonzero -> diagonal; several -> a dense row of the product.
        count = np.bincount(row, weights=~gram_rows[row], minlength=self.n_row).astype(np.int64)
        single = np.flatnonzero(~gram_rows[row] & (count[row] == 1))
        self._single_nz, self._single_row = single, row[single]
        self._single_col = col[single]
        self._dense_rows = np.flatnonzero(~gram_rows & (count >= 2))
        dense_nz = np.flatnonzero(np.isin(row, self._dense_rows))
        self._dense_nz, self._dense_pos = dense_nz, np.searchsorted(self._dense_rows, row[dense_nz]) * n + col[dense_nz]
        # Rank-one terms of the cones of dimension >= 2 (index m into ``multi``): narrow supports
        # scattered, wide ones as dense rows.
        multi = self._multi = np.flatnonzero(dims >= 2)
        m_of_cone = np.full(self.n_cone, -1)
        m_of_cone[multi] = np.arange(multi.size)
        in_multi = m_of_cone[cone] >= 0
        key = m_of_cone[cone] * (n + 1) + col
        support = np.unique(key[in_multi])
        size = np.bincount(support // (n + 1), minlength=multi.size)
        narrow = size <= SMALL_SUPPORT
        self._wide, self._narrow = multi[~narrow], multi[narrow]
        width = int(size[narrow].max(initial=1))
        pad = np.full((self._narrow.size, width), n, dtype=np.int64)  # column n: an always-zero column
        sup_m, sup_col = support // (n + 1), support % (n + 1)
        keep = narrow[sup_m]
        rank_in = np.cumsum(np.r_[0, size[narrow]])[:-1]
        local = np.arange(keep.sum()) - np.repeat(rank_in, size[narrow])
        pad[np.searchsorted(np.flatnonzero(narrow), sup_m[keep]), local] = sup_col[keep]
        self._narrow_take = np.flatnonzero(narrow)[:, None] * (n + 1) + pad
        flat = pad[:, :, None] * n + pad[:, None, :]
        # the 37c and 37d cones of a satellite share their support: sum before scattering
        self._narrow_flat, self._narrow_inv = np.unique(
            np.where((pad[:, :, None] < n) & (pad[:, None, :] < n), flat, n * n).ravel(), return_inverse=True
        )
        self._wide_take = np.flatnonzero(~narrow)[:, None] * (n + 1) + np.arange(n)
        tail = np.flatnonzero(in_multi & ~self.is_head[row])
        self._tail_nz, self._tail_row, self._tail_key = tail, row[tail], key[tail]
        head = np.flatnonzero(in_multi & self.is_head[row])
        self._head_nz, self._head_key = head, key[head]
        self.iterations = 0
        self._last: tuple[np.ndarray, np.ndarray] | None = None  # (x, z) of the last solve, for a warm start

    def _grams(self, row, col, val, dims) -> tuple[np.ndarray, np.ndarray]:
        """Union pattern (flat indices into n × n) and per-cone values of Σ_rows a_r a_r^T."""
        n = self.n
        B = sparse.csr_matrix((val, (row, col)), shape=(self.n_row, n))
        flats, values = [], []
        for c in self.gram_cones:
            rows = B[self.offs[c] : self.offs[c] + dims[c]]
            gram = (rows.T @ rows).tocoo()
            flats.append(gram.row.astype(np.int64) * n + gram.col)
            values.append(gram.data)
        used = np.zeros(n * n, dtype=bool)
        for flat in flats:
            used[flat] = True
        pattern, pos = np.flatnonzero(used), np.cumsum(used) - 1
        out = np.zeros((len(flats), pattern.size))
        for i, (flat, value) in enumerate(zip(flats, values)):
            out[i, pos[flat]] = value
        return pattern, out

    # -- cone arithmetic, vectorised over all cones ------------------------------------------------
    def _seg(self, v: np.ndarray) -> np.ndarray:
        return np.add.reduceat(v, self.offs)

    def _jnorm2(self, v: np.ndarray) -> np.ndarray:
        """v^T J v per cone."""
        return 2.0 * v[self.offs] ** 2 - self._seg(v * v)

    def _jordan(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Jordan product u ∘ v = (u^T v, u₀ v₁ + v₀ u₁) per cone."""
        c = self.cone_of_row
        out = u[self.offs][c] * v + v[self.offs][c] * u
        out[self.offs] = self._seg(u * v)
        return out

    def _jordan_solve(self, u: np.ndarray, r: np.ndarray) -> np.ndarray:
        """x with u ∘ x = r: x₀ = (u₀ r₀ − u₁^T r₁) / (u^T J u), x₁ = (r₁ − x₀ u₁) / u₀."""
        u0, r0 = u[self.offs], r[self.offs]
        x0 = (2.0 * u0 * r0 - self._seg(u * r)) / self._jnorm2(u)
        c = self.cone_of_row
        x = (r - x0[c] * u) / u0[c]
        x[self.offs] = x0
        return x

    def _max_step(self, lam: np.ndarray, lam_j: np.ndarray, ds_t: np.ndarray, dz_t: np.ndarray) -> float:
        """Largest α with s + α Δs and z + α Δz in K, in the scaled space: λ + α W^{-1}Δs, λ + α WΔz ∈ K.

        (W maps K onto K, and W^{-1}s = W z = λ.) Per cone, the first positive root of the quadratic
        (λ+αd)^T J (λ+αd) (in the stable form q = −(b + sign(b) sqrt(b² − 4ac)) / 2, roots q/a and
        c/q) or of the head λ₀ + α d₀; ``lam_j`` is λ^T J λ per cone.
        """
        o = self.offs
        d = np.stack([ds_t, dz_t])
        sums = np.add.reduceat(np.concatenate([d * d, d * lam]), o, axis=1)
        d0, l0 = d[:, o], lam[o]
        a = 2.0 * d0 * d0 - sums[:2]
        b = 2.0 * (2.0 * l0 * d0 - sums[2:])
        with np.errstate(divide="ignore", invalid="ignore"):
            disc = b * b - 4.0 * a * lam_j
            q = -0.5 * (b + np.copysign(np.sqrt(np.maximum(disc, 0.0)), b))
            real = disc >= 0.0
            roots = np.concatenate([np.where(real, q / a, np.inf), np.where(real, lam_j / q, np.inf), -l0 / d0])
        return float(np.min(roots, where=roots > 0.0, initial=np.inf))

    # -- the method --------------------------------------------------------------------------------
    def solve(
        self,
        c: np.ndarray,
        data: np.ndarray,
        h: np.ndarray,
        gram_scale: np.ndarray,
        tol: float,
        max_iter: int | None = None,
    ) -> np.ndarray:
        """Solve for the CSC values ``data`` of A; return x. Raises :class:`ConvergenceError`.

        Stops when the primal and dual residuals, relative to the data and iterate sizes, and the
        duality gap (absolute, or relative to the objective) are below ``tol`` — the criteria of
        Clarabel's ``tol_feas`` and ``tol_gap_abs`` / ``tol_gap_rel``.

        Parameters
        ----------
        c : ndarray, shape (n,) — objective
        data : ndarray, shape (nnz,) — values of A in the CSC pattern
        h : ndarray, shape (n_row,) — right-hand side
        gram_scale : ndarray, shape (n_cone,) — factor of each cone's ``gram_rows`` against ``gram_base``
        tol : float — relative gap and feasibility tolerance
        max_iter : int, optional — iteration limit (default :data:`MAX_ITER`)
        """
        n = self.n
        A = sparse.csc_matrix((data, self.indices, self.indptr), shape=(self.n_row, n))
        AT = A.T.tocsr()
        self._prepare(data, gram_scale)
        self.iterations = 0
        max_iter = MAX_ITER if max_iter is None else max_iter
        tol = float(tol)
        hinf, cinf = np.abs(h).max(initial=0.0), np.abs(c).max(initial=0.0)
        e = self.e
        s, z, x = self._start(A, AT, c, h)
        for it in range(max_iter + 1):
            self.iterations = it
            rx = AT @ z + c
            rz = A @ x + s - h
            sz = float(s @ z)
            pcost, dcost = float(c @ x), -float(h @ z)
            pres = np.abs(rz).max() / max(1.0, hinf + np.abs(x).max() + np.abs(s).max())
            dres = np.abs(rx).max() / max(1.0, cinf + np.abs(z).max())
            gap = max(abs(pcost - dcost), sz)
            if not (np.isfinite(pres) and np.isfinite(dres) and np.isfinite(gap)):
                raise ConvergenceError(f"non-finite iterate after {it} interior-point iterations")
            if pres <= tol and dres <= tol and (gap <= tol or gap <= tol * min(abs(pcost), abs(dcost))):
                self._last = (x, z)
                return x
            if it == max_iter:
                break
            try:
                scaling, terms = self._scaling(s, z)
                factor = self._factor(*terms)
            except ConvergenceError as err:
                raise ConvergenceError(f"{err} after {it} interior-point iterations") from None
            lam = self._apply_w(scaling, z)
            lam_j = self._jnorm2(lam)
            # Predictor (affine scaling): λ ∘ (WΔz + W^{-1}Δs) = −λ ∘ λ, i.e. WΔz + W^{-1}Δs = −λ.
            rz_t = self._apply_winv(scaling, rz)
            _, _, ds_t = self._newton(factor, scaling, A, AT, rx, rz, rz_t, -lam)
            alpha = min(1.0, self._max_step(lam, lam_j, ds_t, -lam - ds_t))
            sigma = (1.0 - alpha) ** 3
            # Corrector (Mehrotra): λ ∘ (WΔz + W^{-1}Δs) = −λ∘λ − (W^{-1}Δs_a) ∘ (WΔz_a) + σ μ e.
            rc = -self._jordan(lam, lam) - self._jordan(ds_t, -lam - ds_t) + (sigma * sz / self.n_cone) * e
            q = self._jordan_solve(lam, rc)
            dx, ds, ds_t = self._newton(factor, scaling, A, AT, rx, rz, rz_t, q)
            alpha = min(1.0, STEP_FRACTION * self._max_step(lam, lam_j, ds_t, q - ds_t))
            if not alpha > MIN_STEP:
                raise ConvergenceError(f"step collapsed to {alpha:.1e} after {it} interior-point iterations")
            x, s, z = x + alpha * dx, s + alpha * ds, z + alpha * self._apply_winv(scaling, q - ds_t)
        raise ConvergenceError(
            f"no convergence in {max_iter} interior-point iterations (primal residual {pres:.1e}, "
            f"dual residual {dres:.1e}, gap {gap:.1e}, tolerance {tol:.0e})"
        )

    def _scaling(self, s: np.ndarray, z: np.ndarray) -> tuple[tuple, tuple]:
        """NT scaling W = η (2 v v^T − J) per cone, and the coefficients of H (see :meth:`_assemble`).

        Vandenberghe (2010), Sec. 4.3: s̄ = s / sqrt(s^TJs), z̄ likewise, γ² = (1 + s̄^T z̄) / 2,
        w̄ = (s̄ + J z̄) / (2γ), η = (s^TJs / z^TJz)^{1/4}, and
        W / η = [[w̄₀, w̄₁^T], [w̄₁, I + w̄₁ w̄₁^T / (1 + w̄₀)]] = 2 v v^T − J
        with v₀ = sqrt((1 + w̄₀) / 2), v₁ = w̄₁ / (2 v₀) (v^T J v = 1).
        """
        offs, cr, jsign = self.offs, self.cone_of_row, self.jsign
        sn2, zn2 = self._jnorm2(s), self._jnorm2(z)
        if not (np.all(sn2 > 0.0) and np.all(zn2 > 0.0)):
            raise ConvergenceError("iterate left the cone")
        sn, zn = np.sqrt(sn2), np.sqrt(zn2)
        sb, zb = s / sn[cr], z / zn[cr]
        gamma = np.sqrt(0.5 * (1.0 + self._seg(sb * zb)))
        w = (sb + jsign * zb) / (2.0 * gamma)[cr]
        v0 = np.sqrt(0.5 * (1.0 + w[offs]))
        v = w / (2.0 * v0)[cr]
        v[offs] = v0
        eta = np.sqrt(sn / zn)
        rho = np.sqrt(np.maximum(v0 * v0 - 1.0, 0.0))  # ‖v₁‖, as v^T J v = 1
        u = np.where(self.is_head, 0.0, v / np.maximum(rho, np.finfo(float).tiny)[cr])
        theta = 1.0 / (eta * eta)
        return (v, jsign * v, eta[cr]), (theta, theta * ((v0 + rho) ** 4 - 1.0), theta * ((v0 - rho) ** 4 - 1.0), u)

    def _prepare(self, data: np.ndarray, gram_scale: np.ndarray) -> None:
        """The parts of H that are fixed during one solve."""
        n = self.n
        self._gram_weight = np.asarray(gram_scale, dtype=float)[self.gram_cones] ** 2
        self._single_val2 = data[self._single_nz] ** 2
        R = np.zeros(self._dense_rows.size * n)
        R[self._dense_pos] = data[self._dense_nz]
        self._R = R.reshape(self._dense_rows.size, n)
        self._tail_val = data[self._tail_nz]
        fe = np.bincount(self._head_key, weights=data[self._head_nz], minlength=self._multi.size * (n + 1))
        self._fe_narrow, self._fe_wide = fe[self._narrow_take], fe[self._wide_take]

    def _start(self, A, AT, c: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Initial point: CVXOPT's least-squares x and least-norm z (W = I), then Mehrotra's shifts.

        s = h − A x̂ and z = −A (A^TA)^{-1} c are moved into K by 1.5 times their most negative
        eigenvalue, then each by half the complementarity s^Tz over the other's e^T (Mehrotra 1992's
        starting point for LPs, applied with the Jordan identity e), which balances s and z. After
        a first solve, the start is (1 − b) times the previous solution (x, s = h − A x for the new
        data and z, moved into K) plus b = :data:`WARM_BLEND` times that cold point.
        """
        ones, zeros = np.ones(self.n_cone), np.zeros(self.n_cone)
        factor = self._factor(ones, zeros, zeros, np.zeros(self.n_row))
        x = self._back(factor, AT @ h)
        s = h - A @ x
        z = -(A @ self._back(factor, c))
        e, offs = self.e, self.offs
        if not (np.all(np.isfinite(s)) and np.all(np.isfinite(z)) and np.all(np.isfinite(x))):
            raise ConvergenceError("non-finite starting point")
        for v in (s, z):
            v += max(0.0, -1.5 * self._lambda_min(v)) * e
        sz = float(s @ z)
        if sz > 0.0:
            s, z = s + (0.5 * sz / float(z[offs].sum())) * e, z + (0.5 * sz / float(s[offs].sum())) * e
        for v in (s, z):
            if self._lambda_min(v) <= 0.0:  # still on the boundary (e.g. z = 0 for c = 0)
                v += e
        if self._last is None:
            return s, z, x
        # Warm start: the previous solution, its slack for the new data, both moved into K, blended
        # with the cold point (strictly interior) so that the start is interior and not too close to
        # the boundary.
        x_prev, z_prev = self._last
        s_prev, z_prev = h - A @ x_prev, z_prev.copy()
        for v in (s_prev, z_prev):
            v += max(0.0, -1.5 * self._lambda_min(v)) * e
        blend = WARM_BLEND
        return (1.0 - blend) * s_prev + blend * s, (1.0 - blend) * z_prev + blend * z, (1.0 - blend) * x_prev + blend * x

    def _lambda_min(self, v: np.ndarray) -> float:
        """Smallest eigenvalue v₀ − ‖v₁‖ over the cones."""
        return float(np.min(v[self.offs] - np.sqrt(np.maximum(self._seg(v * v) - v[self.offs] ** 2, 0.0))))

    def _apply_w(self, scaling, r: np.ndarray) -> np.ndarray:
        """W r = η (2 v (v^T r) − J r)."""
        v, _, eta = scaling
        return eta * (2.0 * v * self._seg(v * r)[self.cone_of_row] - self.jsign * r)

    def _apply_winv(self, scaling, r: np.ndarray) -> np.ndarray:
        """W^{-1} r = η^{-1} (2 a (a^T r) − J r), a = J v."""
        _, a, eta = scaling
        return (2.0 * a * self._seg(a * r)[self.cone_of_row] - self.jsign * r) / eta

    def _newton(self, factor, scaling, A, AT, rx, rz, rz_t, q):
        """Solve A^TΔz = −r_x, AΔx + Δs = −r_z, WΔz + W^{-1}Δs = q by the normal equations.

        H Δx = −r_x − A^T W^{-1}(W^{-1} r_z + q), Δs = −r_z − A Δx.

        ``rz_t`` is W^{-1} r_z. Returns Δx, Δs and W^{-1}Δs (then WΔz = q − W^{-1}Δs).
        """
        rhs = -rx - AT @ self._apply_winv(scaling, rz_t + q)
        dx = self._back(factor, rhs)
        ds = -rz - A @ dx
        return dx, ds, self._apply_winv(scaling, ds)

    def _factor(self, theta, big, small, u):
        """Upper Cholesky factor of H (:meth:`_assemble`); raises ConvergenceError if H is not positive definite."""
        chol, info = lapack.dpotrf(self._assemble(theta, big, small, u), lower=0, clean=0, overwrite_a=1)
        if info != 0:
            raise ConvergenceError(f"Cholesky factorisation of the normal equations failed (info {info})")
        return chol

    def _assemble(self, theta, big, small, u):
        """Upper triangle of H = Σ_c [θ_c A_c^T A_c + big_c f₋ f₋^T + small_c f₊ f₊^T] (module docstring).

        ``big``, ``small`` already carry the factor θ_c; u is the unit tail direction per row.
        big_c >= 0 >= small_c, so the dense rows enter as two symmetric rank-k updates (BLAS syrk)
        of the upper triangle, which is all the factorisation reads. Returned Fortran-ordered.
        """
        n = self.n
        ft = np.bincount(self._tail_key, weights=u[self._tail_row] * self._tail_val,
                         minlength=self._multi.size * (n + 1))
        fn = ft[self._narrow_take]
        f = np.stack([self._fe_narrow - fn, self._fe_narrow + fn], axis=1)  # (cones, 2, width), times sqrt(2)
        cf = f * (0.5 * np.stack([big[self._narrow], small[self._narrow]], axis=1))[:, :, None]
        narrow = np.matmul(cf.transpose(0, 2, 1), f)
        theta_row = theta[self.cone_of_row]
        flat = np.zeros(n * n + 1)
        flat[self._gram_pattern] = (theta[self.gram_cones] * self._gram_weight) @ self._gram_values
        flat[self._narrow_flat] += np.bincount(self._narrow_inv, weights=narrow.ravel(),
                                               minlength=self._narrow_flat.size)
        H = flat[: n * n].reshape(n, n).T  # symmetric: the Fortran-ordered view LAPACK takes without a copy
        H.flat[:: n + 1] += np.bincount(self._single_col, weights=theta_row[self._single_row] * self._single_val2,
                                        minlength=n)
        fw = ft[self._wide_take]
        plus = np.concatenate([self._R * np.sqrt(theta_row[self._dense_rows])[:, None],
                               (self._fe_wide - fw) * np.sqrt(0.5 * big[self._wide])[:, None]])
        minus = (self._fe_wide + fw) * np.sqrt(-0.5 * small[self._wide])[:, None]
        for sign, rows in ((1.0, plus), (-1.0, minus)):
            if rows.shape[0]:
                H = blas.dsyrk(sign, rows, beta=1.0, c=H, trans=1, lower=0, overwrite_c=1)
        return H

    @staticmethod
    def _back(chol: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        return lapack.dpotrs(chol, rhs, lower=0)[0]
