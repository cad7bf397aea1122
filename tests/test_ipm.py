"""The dense interior-point method for Algorithm 1's cone programs (``cooperation/ipm.py``).

Checked against independent references: closed-form optima of textbook cone programs, the dense
normal matrix A^T W^{-2} A built from the Nesterov–Todd scaling matrices (certified by W z = W^{-1} s),
and Clarabel on the same conic data of both program classes (P4 and the ratio program, with and
without 37c, sMRT-like, sZF-like and phase-averaged coefficient patterns, small and 000-sized).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from test_algorithm1 import synthetic_coefficients

from simulator.cooperation import ipm, socp
from simulator.cooperation.algorithm1 import algorithm1, uniform_power
from simulator.cooperation.coefficients import SinrCoefficients, phase_averaged, sinr
from simulator.errors import InputError, SolverError

OBJ_TOL = 1e-4  # both solvers stop at relative gap 1e-5 on O(1) objectives: optima agree to ~1e-5
FEAS_TOL = 1e-4  # cone residual of the returned x, relative to the O(1) rows (solver tolerance 1e-5)


def _cone_program(dims, rows, cols, vals, n_col):
    A = sparse.csc_matrix((vals, (rows, cols)), shape=(int(np.sum(dims)), n_col))
    A.sort_indices()
    no_gram = np.zeros(A.shape[0], dtype=bool)
    return ipm.ConeProgram(n_col, A.indices, A.indptr, np.asarray(dims), no_gram, np.zeros(A.nnz)), A.data


def test_textbook_programs_reach_their_closed_form_optima():
    # min -x1 - x2 s.t. ||(x1, x2)|| <= 1: optimum -sqrt(2) at (1, 1)/sqrt(2); one 3-dim cone s = (1, x1, x2).
    program, data = _cone_program([3], [1, 2], [0, 1], [-1.0, -1.0], 2)
    x = program.solve(np.array([-1.0, -1.0]), data, np.array([1.0, 0.0, 0.0]), np.ones(1), 1e-9)
    np.testing.assert_allclose(x, np.full(2, np.sqrt(0.5)), atol=1e-7)
    # LP: min -x1 - 2 x2 s.t. x >= 0, x1 + x2 <= 1 (nonnegative rows as 1-dim cones): optimum at (0, 1).
    program, data = _cone_program([1, 1, 1], [0, 1, 2, 2], [0, 1, 0, 1], [-1.0, -1.0, 1.0, 1.0], 2)
    x = program.solve(np.array([-1.0, -2.0]), data, np.array([0.0, 0.0, 1.0]), np.ones(3), 1e-9)
    np.testing.assert_allclose(x, [0.0, 1.0], atol=1e-7)


def _capture(problem, run):
    """Run ``run(problem)`` and return the conic data its IPM solve received (c, data, h, scale)."""
    seen = {}
    original = problem._ipm.solve

    def spy(c, data, h, scale, tol, max_iter=None):
        seen.update(c=c, data=data, h=h, scale=scale, tol=tol)
        return original(c, data, h, scale, tol, max_iter)

    problem._ipm.solve = spy
    out = run(problem)
    del problem._ipm.solve
    return seen, out


def _run(cls, p, t, omega):
    if cls is socp.RatioProblem:
        return lambda problem: problem.solve(np.sqrt(t), p, omega=omega)
    return lambda problem: problem.step(p, t, omega=omega)


def _interior(program, rng):
    v = rng.standard_normal(program.n_row)
    tails = np.sqrt(np.add.reduceat(v * v, program.offs) - v[program.offs] ** 2)
    v[program.offs] = tails + rng.uniform(0.1, 2.0, program.n_cone)
    return v


@pytest.mark.parametrize("structured", [True, False])
@pytest.mark.parametrize("cls", [socp.RatioProblem, socp.ScaProblem])
def test_normal_matrix_equals_dense_nt_product(cls, structured, monkeypatch):
    if not structured:  # the Grams from the rows (ConeProgram's generic path) instead of socp's blocks
        monkeypatch.setattr(socp._Conic, "_grams", lambda self: None)
    rng = np.random.default_rng(3)
    coeffs = synthetic_coefficients(rng, 5, 3)
    mask = np.ones((5, 3), dtype=bool)
    mask[0, 1] = False
    p = uniform_power(mask)
    problem = cls(coeffs, mask, k_max=2, backend="ipm")
    seen, _ = _capture(problem, _run(cls, p, sinr(coeffs, p).min(), 1.0 / (p**2 + 0.3)))
    prog = problem._ipm
    A = sparse.csc_matrix((seen["data"], prog.indices, prog.indptr), shape=(prog.n_row, prog.n)).toarray()
    s, z = _interior(prog, rng), _interior(prog, rng)
    prog._prepare(seen["data"], seen["scale"])
    scaling, terms = prog._scaling(s, z)
    H = prog._assemble(*terms)
    W = np.zeros((prog.n_row, prog.n_row))
    v, eta = scaling[0], scaling[2]
    for start, dim in zip(prog.offs, np.diff(np.r_[prog.offs, prog.n_row])):
        sl = slice(start, start + dim)
        J = np.diag(np.r_[1.0, -np.ones(dim - 1)])
        W[sl, sl] = eta[start] * (2.0 * np.outer(v[sl], v[sl]) - J)
    W_inv = np.linalg.inv(W)
    np.testing.assert_allclose(W @ z, W_inv @ s, rtol=1e-10, atol=1e-10)  # the NT scaling certificate
    reference = A.T @ W_inv @ W_inv @ A
    assert np.abs(np.triu(H) - np.triu(reference)).max() <= 1e-10 * np.abs(reference).max()


def _feasible(problem, seen, x):
    """Smallest cone margin s₀ − ‖s₁‖ of s = h − A x over all cones (negative: infeasible)."""
    prog = problem._ipm
    A = sparse.csc_matrix((seen["data"], prog.indices, prog.indptr), shape=(prog.n_row, prog.n))
    s = seen["h"] - A @ x
    tails = np.sqrt(np.maximum(np.add.reduceat(s * s, prog.offs) - s[prog.offs] ** 2, 0.0))
    return float(np.min(s[prog.offs] - tails))


def _coefficients(pattern, rng, n_sat, n_user):
    if pattern == "smrt":
        return synthetic_coefficients(rng, n_sat, n_user)
    if pattern == "szf":  # diagonal, no coherent inter-user rows
        return synthetic_coefficients(rng, n_sat, n_user, phases=False)
    return phase_averaged(synthetic_coefficients(rng, n_sat, n_user))


@pytest.mark.parametrize("k_max", [None, 2])
@pytest.mark.parametrize("pattern", ["smrt", "szf", "averaged"])
@pytest.mark.parametrize("cls", [socp.RatioProblem, socp.ScaProblem])
def test_agrees_with_clarabel(cls, pattern, k_max):
    rng = np.random.default_rng(11)
    coeffs = _coefficients(pattern, rng, 6, 4)
    mask = rng.random((6, 4)) < 0.8
    mask[np.argmax(coeffs.b, axis=0), np.arange(4)] = True  # every user keeps a link
    p = uniform_power(mask)
    run = _run(cls, p, sinr(coeffs, p).min(), 1.0 / (p**2 + 0.2))
    problem = cls(coeffs, mask, k_max=k_max, backend="ipm")
    seen, (p_ipm, obj_ipm) = _capture(problem, run)
    p_ref, obj_ref = run(cls(coeffs, mask, k_max=k_max, backend="clarabel"))
    assert problem.n_fallbacks == 0 and 3 <= problem.n_ipm_iters <= 30
    assert obj_ipm == pytest.approx(obj_ref, rel=OBJ_TOL, abs=OBJ_TOL)
    t_prev = 1.0 if cls is socp.RatioProblem else sinr(coeffs, p).min()  # P4's variable is τ = t / t_prev
    x = np.r_[p_ipm[problem.var_l, problem.var_k], obj_ipm / t_prev]
    assert _feasible(problem, seen, x) >= -FEAS_TOL
    np.testing.assert_allclose(np.sum(p_ipm**2, axis=1), np.sum(p_ref**2, axis=1), atol=1e-2)  # same 37d loads


@pytest.mark.parametrize("cls", [socp.RatioProblem, socp.ScaProblem])
def test_agrees_with_clarabel_at_paper_size(cls):
    # 000's set-up: L = 20, K = 10, every weight a variable (200 weights, ~2600 rows, dense cones)
    rng = np.random.default_rng(12)
    coeffs = synthetic_coefficients(rng, 20, 10)
    mask = np.ones((20, 10), dtype=bool)
    p = uniform_power(mask)
    run = _run(cls, p, sinr(coeffs, p).min(), 1.0 / (p**2 + 0.05))
    problem = cls(coeffs, mask, k_max=8)  # "auto": dense sMRT rows at 200 weights take the IPM
    assert problem._ipm is not None and problem.coupling > 1.0
    _, (_, obj_ipm) = _capture(problem, run)
    _, obj_ref = run(cls(coeffs, mask, k_max=8, backend="clarabel"))
    assert problem.n_fallbacks == 0 and problem.n_ipm_iters > 0
    assert obj_ipm == pytest.approx(obj_ref, rel=OBJ_TOL, abs=OBJ_TOL)


def test_degenerate_inputs_one_link_and_zero_rows():
    rng = np.random.default_rng(13)
    c = synthetic_coefficients(rng, 5, 4)
    G = np.array(c.G)
    G[2] = 0.0  # user 2 sees no interference at all: its cone has head rows only
    G[:, 1, :, 3] = 0.0  # satellite 3 leaks nothing of user 1's stream
    coeffs = SinrCoefficients(b=c.b, G=G, noise=c.noise)
    mask = np.ones((5, 4), dtype=bool)
    mask[:, 0] = False
    mask[1, 0] = True  # user 0 has a single link
    p = uniform_power(mask)
    t = sinr(coeffs, p).min()
    for cls in (socp.RatioProblem, socp.ScaProblem):
        run = _run(cls, p, t, None)
        problem = cls(coeffs, mask, backend="ipm")
        _, obj = run(problem)
        assert problem.n_fallbacks == 0
        assert obj == pytest.approx(run(cls(coeffs, mask, backend="clarabel"))[1], rel=OBJ_TOL, abs=OBJ_TOL)
    d_ipm = algorithm1(coeffs, 2, allowed=mask, problem_factory=_factory("ipm", []))
    d_ref = algorithm1(coeffs, 2, allowed=mask, problem_factory=_factory("clarabel", []))
    assert d_ipm.status == d_ref.status == "optimal"
    assert np.log2(1 + d_ipm.min_sinr) == pytest.approx(np.log2(1 + d_ref.min_sinr), rel=1e-3)


def _factory(backend, made):
    def factory(coeffs, variables, k_max, method):
        cls = socp.ScaProblem if method == "sca" else socp.RatioProblem
        made.append(cls(coeffs, variables, k_max=k_max, backend=backend))
        return made[-1]

    return factory


def test_non_convergence_falls_back_to_clarabel_with_the_same_answer(monkeypatch):
    coeffs = synthetic_coefficients(np.random.default_rng(14), 8, 4)
    free = algorithm1(coeffs, 2, problem_factory=_factory("ipm", []))  # the dense method, converging
    clarabel_only = algorithm1(coeffs, 2, problem_factory=_factory("clarabel", []))
    monkeypatch.setattr(ipm, "MAX_ITER", 1)
    made = []
    forced = algorithm1(coeffs, 2, problem_factory=_factory("ipm", made))
    assert sum(p.n_solves for p in made) > 0
    assert sum(p.n_fallbacks for p in made) == sum(p.n_solves for p in made)
    assert "no convergence in 1 interior-point iterations" in made[0].last_fallback
    # every program went to Clarabel with the same data: the same decision as the Clarabel backend
    np.testing.assert_array_equal(forced.power, clarabel_only.power)
    assert forced.status == "optimal"
    assert np.log2(1 + free.min_sinr) == pytest.approx(np.log2(1 + clarabel_only.min_sinr), rel=1e-3)


def test_non_finite_data_is_a_convergence_error():
    program, data = _cone_program([3], [1, 2], [0, 1], [-1.0, np.nan], 2)
    with pytest.raises(ipm.ConvergenceError) as err:
        program.solve(np.array([-1.0, -1.0]), data, np.array([1.0, 0.0, 0.0]), np.ones(1), 1e-8)
    assert isinstance(err.value, SolverError)


def test_auto_backend_takes_the_ipm_only_for_large_dense_programs():
    rng = np.random.default_rng(16)
    dense = synthetic_coefficients(rng, 20, 10)
    diagonal = synthetic_coefficients(rng, 20, 10, phases=False)  # as sZF: no coupling between weights
    mask = np.ones((20, 10), dtype=bool)
    assert socp.RatioProblem(dense, mask)._ipm is not None
    assert socp.RatioProblem(diagonal, mask)._ipm is None and socp.RatioProblem(diagonal, mask).coupling == 0.0
    few = np.zeros((20, 10), dtype=bool)
    few[:8] = True
    assert socp.ScaProblem(dense, few)._ipm is None  # 80 weights: below IPM_MIN_WEIGHTS
    assert socp.ScaProblem(diagonal, mask, backend="ipm")._ipm is not None


def test_unknown_backend_is_an_input_error():
    coeffs = synthetic_coefficients(np.random.default_rng(15), 3, 2)
    with pytest.raises(InputError, match="backend='mosek'"):
        socp.ScaProblem(coeffs, np.ones((3, 2), dtype=bool), backend="mosek")
