"""Algorithm 1 of 000: user-centric satellite clustering and max-min power allocation (Sec. IV).

P1 (eq 23) — maximise the minimum SINR over clusters and power weights with at most K_max users per
satellite — is recast as the sparse recovery problem P2 (eq 29): the clusters are the supports of the
power weights p_{l,k}. The outer loop replaces the support-size constraint (29c) by the reweighted
ℓ2 constraint Σ_k ω_{l,k} p_{l,k}^2 <= K_max (eqs 30–31); the inner loop solves the resulting P3
(eq 32) by SCA (eqs 33–37) or exactly by the generalised Dinkelbach method on sqrt-SINR ratios.
``docs/algorithm1.md`` lists the choices made where the paper is silent; in short:

* eq 30 is used as ω = 1 / (p^2 + ε) with ε = 1e-10 (000 Sec. VI-A); read as printed, ε^{-1} in the
  denominator would make every weight ~1e-10 and 37c void;
* the printed SCA start t_prev = 0, p_prev = 0 divides by zero in eq 36; every P3 solve starts from a
  P3-feasible point instead: at first the better of uniform power over the allowed links and a
  leakage-based (per-user SLNR) point, later the previous solution scaled into the new 37c, with
  t_prev = min_k SINR_k > 0, so each step is monotone;
* default ``inner="hybrid"``: the first (cold) P3 by Dinkelbach, which converges in a few cone
  programs where SCA needs many small steps; each later reweighting iteration takes one SCA step
  (``reweight_steps``); the final polish runs SCA to ``tol``;
* a link counts towards (29c) when it carries more than 1 % of its user's signal amplitude
  Σ_l b_{l,k} p_{l,k}; links whose 37c bound sqrt(K_max / ω) is below 1e-4 are pinned to 0;
* when every satellite serves at most K_max such links, each satellite keeps its K_max strongest
  links and the power is re-optimised on them without 37c ("polish"); links left with under 1e-4
  of their user's amplitude are then dropped. If the reweighting stalls (``max_outer``), the same
  pruning enforces K_max and the reason says so;
* the cone programs of a step that is expected to gain much are solved loosely (solver tolerance
  1e-2 × the last gain, at most 1e-2, at least 1e-5): every point is re-evaluated exactly anyway.
* a program no clustering can lift above SINR 1e-6 (certified: the noise-only bound, or the dual
  bound of the relaxation after the first P3) stops there with ``status="degenerate"``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, SolverError
from .coefficients import SinrCoefficients
from .firstorder import FirstOrderProblem, LinkSinr, gap_certificate
from .rates_cfmntn import MomentCoefficients
from .socp import BACKENDS as CONE_BACKENDS
from .socp import TOLERANCE, RatioProblem, ScaProblem

__all__ = [
    "BACKENDS", "Decision", "algorithm1", "sca_power", "solve_p3", "p3_bisection", "uniform_power", "admit", "EPSILON",
    "FIRST_ORDER_MIN_LINKS", "FIRST_ORDER_MIN_LINKS_UNCOUPLED", "resolve_backend",
]

EPSILON = 1e-10  #: ε of the reweighting (000 eq 30, Sec. VI-A)
SHARE_MIN = 1e-2  #: a link serves when it carries more than this share of its user's signal amplitude
PIN_BOUND = 1e-4  #: links with sqrt(K_max / ω) < PIN_BOUND are pinned to 0 (−80 dB of a satellite's power)
LINK_FLOOR = 1e-4  #: after the polish, links below this share of their user's amplitude are dropped
ROUNDOFF = 1e-12  #: relative size below which a G entry is round-off and dropped
INNER_CHOICES = ("hybrid", "sca", "dinkelbach")
LEAKAGE_REGULARISATION = 100.0  #: ridge r of the leakage-based cold start, in units of K σ²
LEAKAGE_BALANCE = 10  #: SINR-balancing steps of the leakage-based cold start
ACCURACY_FIRST = 1e-3  #: solver tolerance of the first step of a P3 solve (the gain to come is unknown)
ACCURACY_COLD = 1e-2  #: ... of the first step from a cold start, which gains tens of per cent
ACCURACY_PER_GAIN = 1e-2  #: later steps are solved to this fraction of the last relative gain
#: a program is degenerate when no clustering can bring every user above this SINR (−60 dB, 1.4e-6
#: bit/s/Hz): certified upper bounds on P1's optimum (the noise-only bound before any solve; the
#: dual bound of the relaxation over every usable link after a first P3 that ends below it) are
#: checked against it and Algorithm 1 stops there (``status="degenerate"``, see :func:`_degenerate`)
DEGENERATE_SINR = 1e-6
ACCURACY_LOOSEST = 1e-2  #: the loosest solver tolerance used
#: the first-order path lays out a P3 on its variable links alone when they are at most this share
#: of the usable links (moment-form coefficients: the layout is a cheap gather)
SUBMODEL_SHARE = 0.7

#: ``backend`` choices of the optimisers: ``"auto"`` (by size, see :data:`FIRST_ORDER_MIN_LINKS`), the
#: first-order path of :mod:`.firstorder`, or the cone programs of :mod:`.socp` by the dense
#: interior-point method (Clarabel where it does not finish) or by Clarabel alone
BACKENDS = ("auto", "firstorder", "ipm", "clarabel")
#: ``"auto"`` takes the first-order path from this many usable links (L·K in play) when the
#: interference couples each user's weights (rows of G_kj over several links: sMRT's coherent d
#: terms), and the cone programs otherwise (socp's own choice between the interior-point method and
#: Clarabel). Measured (sMRT Algorithm 1, 000's set-up with 20 satellites, CPU s on one core, loaded
#: machine; cone programs / first-order): 0.7 / 1.5 at 400 links, 3.1 / 2.2 at 800, 17.8 / 3.8 at
#: 2000. Without coupling (sZF, phase-averaged) Clarabel's sparse factorisations stay cheap longer
#: (sZF: 0.12 / 0.9 s at 400 links, 0.21 / 1.2 s at 800) but not for ever (128 / 2.4 s at 2000).
FIRST_ORDER_MIN_LINKS = 600
#: ... and from this many links without coupling
FIRST_ORDER_MIN_LINKS_UNCOUPLED = 1000
#: ... or, without coupling, from this many nonzero interference terms: single-satellite sMRT
#: (K links, K² terms), CPU s cone programs / first-order: 0.044 / 0.063 at K = 40 (1600 terms),
#: 0.38 / 0.065 at K = 100 (10⁴), 2.3 / 0.37 at K = 200 (4·10⁴) (loaded machine)
FIRST_ORDER_MIN_TERMS_UNCOUPLED = 4000


#: ``factory(coeffs, variables, k_max, method)`` -> a P4 ("sca") or ratio ("dinkelbach") program
ProblemFactory = Callable[[SinrCoefficients, np.ndarray, "int | None", str], object]


def _cone_factory(backend: str) -> ProblemFactory:
    cone = backend if backend in CONE_BACKENDS else "auto"

    def factory(coeffs: SinrCoefficients, variables: np.ndarray, k_max: int | None, method: str) -> object:
        cls = ScaProblem if method == "sca" else RatioProblem
        return cls(coeffs, variables, k_max=k_max, backend=cone)

    return factory


def _first_order_factory(model: LinkSinr) -> ProblemFactory:
    last: list[FirstOrderProblem] = []  # the previous problem of the run: its last gradient step

    def factory(coeffs: SinrCoefficients, variables: np.ndarray, k_max: int | None, method: str) -> object:
        if isinstance(coeffs, MomentCoefficients) and variables.sum() <= SUBMODEL_SHARE * model.n_links:
            # the reweighting pins links and the polish keeps K_max per satellite: a layout of the
            # variable links alone (a gather of K² c numbers) makes every gradient step cheaper
            problem = FirstOrderProblem(LinkSinr(coeffs, variables), variables, k_max=k_max)
        else:
            problem = FirstOrderProblem(model, variables, k_max=k_max)
        if last:  # the same objective on (nearly) the same links: start from its step, not from 1
            problem.step_size = last[0].step_size
        last[:] = [problem]
        return problem

    return factory


def resolve_backend(backend: str, n_links: int, coupled: bool = True, n_terms: int | None = None) -> str:
    """The backend ``backend`` resolves to for a decision over ``n_links`` usable links.

    ``coupled``: some interference row of G_kj touches several of user j's links (sMRT).
    ``n_terms``: nonzero interference terms (:attr:`~.firstorder.LinkSinr.n_terms`), the size of
    the cone programs' data when each user has few links (single-satellite schemes: K links, K² terms).
    """
    if backend not in BACKENDS:
        raise InputError(f"backend={backend!r}, expected one of {BACKENDS}")
    if backend == "auto":
        if coupled:
            return "firstorder" if n_links >= FIRST_ORDER_MIN_LINKS else "auto"
        many_terms = n_terms is not None and n_terms >= FIRST_ORDER_MIN_TERMS_UNCOUPLED
        return "firstorder" if n_links >= FIRST_ORDER_MIN_LINKS_UNCOUPLED or many_terms else "auto"
    return backend


@dataclass(frozen=True)
class Decision:
    """A clustering and power decision for one snapshot.

    Attributes
    ----------
    power : ndarray, shape (L, K) — power weights p_{l,k} >= 0 with Σ_k p_{l,k}^2 <= 1 (000 eq 14)
    cluster : ndarray, shape (L, K), bool — served links (L_k of eq 25); power is 0 outside
    min_sinr : float, linear — minimum SINR over the users that have a usable link (000 fn. 2)
    sinr : ndarray, shape (K,), linear — SINR of every user (0.0 for users without a usable link)
    inner_iters : int — cone programs solved in the inner loops, polish included
    outer_iters : int — reweighting iterations (0 for fixed clusters)
    solve_s : float, s — wall time of the call
    status : str — ``"optimal"``; ``"uniform"`` (uniform power, no optimisation); ``"degenerate"``
        (:func:`algorithm1`: a certified bound keeps every clustering below DEGENERATE_SINR, so the
        start or first P3 point pruned to K_max is returned unpolished); or ``"fallback:no-link"``,
        ``"fallback:solver"``, ``"fallback:invalid-noise"``
    reason : str — what was done beyond the plain algorithm (empty when nothing)
    history : tuple of float — min SINR after each accepted inner step (non-decreasing per loop)
    omega : ndarray, shape (L, K) or None — final reweighting weights ω (for warm starts)
    allowed : ndarray, shape (L, K), bool or None — the usable links the decision was taken over
    certificate : float — relative gap t_up / min_sinr − 1 to an upper bound t_up on the optimum of
        the final power allocation (max-min SINR on ``cluster``, 37d–e) by Lagrangian duality
        (:func:`~.firstorder.gap_certificate`); NaN when nothing was optimised; ``"degenerate"``: the
        degeneracy bound / min_sinr − 1
    backend : str — the solver path taken: ``"firstorder"``, or ``"auto"``/``"ipm"``/``"clarabel"``
        for the cone programs of :mod:`.socp` (empty when nothing was solved)
    n_unadmitted : int — users left out by the capacity rule of :func:`admit` (power 0, SINR 0)
    """

    power: np.ndarray
    cluster: np.ndarray
    min_sinr: float
    sinr: np.ndarray
    inner_iters: int = 0
    outer_iters: int = 0
    solve_s: float = 0.0
    status: str = "optimal"
    reason: str = ""
    history: tuple[float, ...] = ()
    omega: np.ndarray | None = field(default=None, repr=False)
    allowed: np.ndarray | None = field(default=None, repr=False)
    certificate: float = float("nan")
    backend: str = ""
    n_unadmitted: int = 0

    @property
    def total_iters(self) -> int:
        """Inner plus outer iterations (the "total" of 000 Fig. 10)."""
        return self.inner_iters + self.outer_iters


# -- helpers -----------------------------------------------------------------------------------------
def _prepare(
    coeffs: SinrCoefficients, allowed: np.ndarray | None, *, roundoff: bool = True
) -> tuple[SinrCoefficients, np.ndarray, list[str]]:
    """Finite coefficients and the usable links: allowed, finite, b_{l,k} > 0.

    G entries below ROUNDOFF times the largest are set to 0: they are round-off (sZF's nulled
    interference comes out at ~1e-14 of the signal terms) and would make every cone dense.
    ``roundoff=False`` keeps them (an evaluation rather than an optimisation).
    """
    b = np.asarray(coeffs.b, dtype=float)
    notes = []
    usable = np.ones(b.shape, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool).copy()
    if isinstance(coeffs, MomentCoefficients):  # the same steps on the nonzero entries of G only
        parts = [np.asarray(coeffs.c, dtype=float)]  # (K, K, L) each: c, and Re d, Im d unless d is None
        parts += [] if coeffs.d is None else [np.real(coeffs.d), np.imag(coeffs.d)]
        finite = np.isfinite(b) & np.all([np.isfinite(x).all(axis=0) for x in parts], axis=0).T
    else:
        parts = [np.asarray(coeffs.G, dtype=float)]
        finite = np.isfinite(b) & np.all(np.isfinite(parts[0]), axis=(0, 2)).T
    if not finite.all():
        notes.append(f"{int((~finite).sum())} links with non-finite coefficients left out")
        b = np.where(np.isfinite(b), b, 0.0)
        parts = [np.where(np.isfinite(x), x, 0.0) for x in parts]
        usable &= finite
    usable &= b > 0.0
    if roundoff:
        top = max(float(np.abs(x).max(initial=0.0)) for x in parts)
        parts = [np.where(np.abs(x) > ROUNDOFF * top, x, 0.0) for x in parts]
    dead_users = np.flatnonzero(~usable.any(axis=0))
    if dead_users.size:
        notes.append(f"users {dead_users.tolist()} have no usable satellite link: power 0, SINR 0")
    if isinstance(coeffs, MomentCoefficients):
        d = None if coeffs.d is None else parts[1] + 1j * parts[2]
        return MomentCoefficients(b=b, c=parts[0], d=d, noise=float(coeffs.noise)), usable, notes
    return SinrCoefficients(b=b, G=parts[0], noise=float(coeffs.noise)), usable, notes


def uniform_power(cluster: np.ndarray) -> np.ndarray:
    """Each satellite splits its power equally over its served users: p_{l,k} = 1 / sqrt(|K_l|).

    >>> uniform_power(np.array([[True, True], [False, True]]))
    array([[0.70710678, 0.70710678],
           [0.        , 1.        ]])
    """
    cluster = np.asarray(cluster, dtype=bool)
    count = cluster.sum(axis=-1, keepdims=True)
    return np.where(cluster, 1.0 / np.sqrt(np.maximum(count, 1)), 0.0)


def _scale_into(p: np.ndarray, omega: np.ndarray | None, k_max: int | None) -> np.ndarray:
    """Scale each satellite's weights so that 37d (and 37c with ω) hold."""
    load = np.sum(p**2, axis=1)
    factor = np.ones(p.shape[0])
    np.divide(1.0, np.sqrt(load), out=factor, where=load > 1.0)
    if omega is not None and k_max is not None:
        wload = np.sum(omega * p**2, axis=1) / k_max
        factor = np.minimum(factor, np.where(wload > 1.0, 1.0 / np.sqrt(np.maximum(wload, 1.0)), 1.0))
    return p * factor[:, None]


def _min_sinr(model: LinkSinr, p: np.ndarray, users: np.ndarray) -> float:
    return float(model.sinr(p)[users].min()) if users.size else 0.0


def admit(usable: np.ndarray, b: np.ndarray, k_max: int) -> np.ndarray:
    """Users admitted when they outnumber what the satellites can take (visible × K_max < users).

    Rule (strongest links first): users are taken in decreasing order of their strongest usable
    b_{l,k}; a user is admitted when one of its satellites has admitted fewer than K_max users, and
    is counted on the strongest such satellite. When the users do not outnumber the capacity every
    user with a usable link is admitted.

    Parameters
    ----------
    usable : ndarray, shape (L, K), bool — usable links
    b : ndarray, shape (L, K) — signal coefficients b_{l,k} (000 eq 27)
    k_max : int — users per satellite at most

    Returns
    -------
    ndarray, shape (K,), bool — admitted users

    >>> admit(np.ones((1, 3), dtype=bool), np.array([[1.0, 3.0, 2.0]]), 2).tolist()
    [False, True, True]
    """
    usable = np.asarray(usable, dtype=bool)
    has_link = usable.any(axis=0)
    n_sats = int(usable.any(axis=1).sum())
    if int(has_link.sum()) <= n_sats * k_max:
        return has_link
    strength = np.where(usable, b, -np.inf)
    room = np.full(usable.shape[0], int(k_max))
    admitted = np.zeros(usable.shape[1], dtype=bool)
    for k in np.argsort(-strength.max(axis=0, initial=-np.inf), kind="stable"):
        if not has_link[k]:
            continue
        options = np.flatnonzero(usable[:, k] & (room > 0))
        if options.size:
            room[options[np.argmax(b[options, k])]] -= 1
            admitted[k] = True
    return admitted


def _prune(p: np.ndarray, b: np.ndarray, support: np.ndarray, k_max: int) -> np.ndarray:
    """Keep per satellite the K_max links with the largest share of their user's signal amplitude."""
    share = np.where(support, _shares(p * support, b), -1.0)
    rank = np.argsort(np.argsort(-share, axis=1, kind="stable"), axis=1)
    return support & (rank < k_max)


def _serve_everyone(keep: np.ndarray, p: np.ndarray, b: np.ndarray, support: np.ndarray, k_max: int) -> np.ndarray:
    """``keep`` (a K_max pruning) with every user of ``support`` left without a link given one where possible.

    Users in decreasing order of their strongest b: the strongest satellite of the user with room
    takes it; else the strongest satellite where some user holds more than one link gives up that
    user's smallest-share link there. (K_max per satellite is kept; a user can still go without a
    link when every satellite it sees serves K_max single-link users.)
    """
    keep = keep.copy()
    share = _shares(p * support, b)
    for k in np.argsort(-np.where(support, b, 0.0).max(axis=0), kind="stable"):
        if keep[:, k].any() or not support[:, k].any():
            continue
        for sat in np.flatnonzero(support[:, k])[np.argsort(-b[support[:, k], k], kind="stable")]:
            if keep[sat].sum() < k_max:
                keep[sat, k] = True
                break
            donors = np.flatnonzero(keep[sat] & (keep.sum(axis=0) > 1))
            if donors.size:
                keep[sat, donors[np.argmin(share[sat, donors])]] = False
                keep[sat, k] = True
                break
    return keep


def _shares(p: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share p_{l,k} b_{l,k} / Σ_l p_{l,k} b_{l,k} of each link in its user's signal amplitude."""
    amp = p * b
    return amp / np.maximum(amp.sum(axis=0, keepdims=True), np.finfo(float).tiny)


def _support(p: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Links carrying more than SHARE_MIN of their user's signal amplitude (each user keeps its strongest)."""
    return _shares(p, b) > SHARE_MIN


class _Run:
    """Bookkeeping of one optimiser call: cone programs, iterations and the min-SINR history."""

    def __init__(
        self,
        coeffs: SinrCoefficients,
        usable: np.ndarray,
        users: np.ndarray,
        max_inner: int,
        factory: ProblemFactory | None,
        backend: str = "auto",
    ) -> None:
        self.coeffs, self.users, self.max_inner = coeffs, users, max_inner
        #: the SINR on the usable links: every evaluation, the first-order path and the certificate
        self.model = LinkSinr(coeffs, usable)
        self.backend = "custom" if factory is not None else resolve_backend(
            backend, self.model.n_links, self.model.coupled, self.model.n_terms)
        if factory is None:
            factory = _first_order_factory(self.model) if self.backend == "firstorder" else _cone_factory(self.backend)
        self.factory = factory
        self.n_unadmitted = 0
        self.inner_iters = 0
        self.history: list[float] = []
        self._problems: dict[tuple, object] = {}

    def problem(self, variables: np.ndarray, k_max: int | None, method: str) -> object:
        key = (variables.tobytes(), k_max, method)
        if key not in self._problems:
            self._problems[key] = self.factory(self.coeffs, variables, k_max, method)
        return self._problems[key]

    def p3(
        self,
        p: np.ndarray,
        variables: np.ndarray,
        *,
        method: str,
        tol: float,
        omega: np.ndarray | None = None,
        k_max: int | None = None,
        max_steps: int | None = None,
        accuracy: float = ACCURACY_FIRST,
    ) -> tuple[np.ndarray, float]:
        """Solve P3 from the feasible point ``p``; return the best point and its min SINR.

        Every step's point is re-evaluated with the exact SINR and kept only if it improves the
        minimum, so the history is non-decreasing whatever the solver accuracy; the loop stops when
        the relative gain falls to ``tol``. The cone programs are solved to ``accuracy`` at first,
        then to ACCURACY_PER_GAIN times the last gain (within [TOLERANCE, ACCURACY_LOOSEST]): a
        step that gains 10 % needs no 1e-5 solve. A loose step that does not improve is redone at
        TOLERANCE before the loop gives up.
        """
        problem = self.problem(variables, k_max, method)
        t = _min_sinr(self.model, p, self.users)
        self.history.append(t)
        steps = self.max_inner if max_steps is None else min(max_steps, self.max_inner)
        while steps > 0:
            _set_accuracy(problem, accuracy)
            if method == "sca":
                p_new, _ = problem.step(p, t, omega=omega)
            else:
                p_new, _ = problem.solve(np.sqrt(t), p, omega=omega)
            p_new = _scale_into(p_new * variables, omega, k_max)  # solver tolerance: hold 37c–d exactly
            t_new = _min_sinr(self.model, p_new, self.users)
            self.inner_iters += 1
            if t_new <= t:
                if accuracy <= TOLERANCE:
                    break
                accuracy = TOLERANCE  # a loose solve may have missed a small gain: redo it accurately
                continue
            steps -= 1
            gain = t_new / t - 1.0
            p, t = p_new, t_new
            self.history.append(t)
            if gain <= tol or getattr(problem, "converged_to", np.inf) <= tol:
                break  # (or the solve met its own stopping rule at tol: a re-solve would only confirm it)
            accuracy = min(ACCURACY_LOOSEST, max(TOLERANCE, ACCURACY_PER_GAIN * gain))
        return p, t

    def decision(self, p, cluster, allowed, *, outer=0, status="optimal", notes=(), omega=None, start=0.0,
                 certificate=float("nan")):
        s = self.model.sinr(p)
        if status == "optimal" and self.users.size:
            certificate = gap_certificate(self.model, p, cluster, self.users)
        return Decision(
            power=p,
            cluster=cluster,
            min_sinr=float(s[self.users].min()) if self.users.size else 0.0,
            sinr=s,
            inner_iters=self.inner_iters,
            outer_iters=outer,
            solve_s=time.perf_counter() - start,
            status=status,
            reason="; ".join(n for n in notes if n),
            history=tuple(self.history),
            omega=omega,
            allowed=allowed,
            certificate=certificate,
            backend="" if status.startswith("fallback:no-link") else self.backend,
            n_unadmitted=self.n_unadmitted,
        )


def _set_accuracy(problem: object, accuracy: float) -> None:
    """Set the solver tolerance of the next cone program, for problems that have one (``socp``)."""
    if hasattr(problem, "accuracy"):
        problem.accuracy = accuracy


def _noise_bound(run: _Run, usable: np.ndarray, b: np.ndarray) -> float:
    """min_k (Σ_l b_{l,k})² / σ² over the usable links: no power (p_{l,k} <= 1 by 37d) and no
    clustering gives user k more than this SINR even without interference (000 eq 27)."""
    amp = np.where(usable, b, 0.0).sum(axis=0)[run.users]
    return float(np.min(amp**2) / float(run.coeffs.noise))


def _degenerate(run: _Run, p: np.ndarray, usable: np.ndarray, b: np.ndarray, k_max: int, notes: list[str],
                start: float, omega: np.ndarray, *, outer: int) -> Decision | None:
    """The decision for a degenerate program, or None when it is not (or not provably) degenerate.

    Two certified upper bounds on every decision's min SINR, the cheap one first: the noise-only
    bound :func:`_noise_bound` (before any solve, ``outer`` 0) and, once the first P3's point ``p``
    has a min SINR below DEGENERATE_SINR, the dual bound of :func:`~.firstorder.gap_certificate` on
    P3 over every usable link without 37c — a relaxation of P1 (any clustering with its power is
    feasible there). Below DEGENERATE_SINR no clustering serves every user usefully (sZF's
    statistical nulling over 40+ users leaves its weakest user's signal at min SINRs of 1e-7 …
    1e-12 even without interference): ``p`` is pruned to K_max per satellite and returned with
    ``status="degenerate"``, the bound in ``reason`` and ``certificate`` = bound / min SINR − 1.
    """
    t = _min_sinr(run.model, p, run.users) if outer else 0.0
    if outer == 0:
        bound, how = _noise_bound(run, usable, b), "noise-only bound (Σ_l b_lk)² / σ²"
    elif 0.0 < t < DEGENERATE_SINR:
        bound, how = (1.0 + gap_certificate(run.model, p, usable, run.users)) * t, \
            "dual bound of the relaxation over every usable link"
    else:
        return None
    if not bound < DEGENERATE_SINR:
        return None
    cluster = _serve_everyone(_prune(p, b, usable & (p > 0.0), k_max), p, b, usable & (p > 0.0), k_max)
    final = _scale_into(p * cluster, None, None)
    t_final = _min_sinr(run.model, final, run.users)
    where = "the start point" if outer == 0 else "the first P3 point"
    notes.append(f"degenerate: no clustering gives every user a SINR above {bound:.2e} ({how}, < {DEGENERATE_SINR:g}); "
                 f"{where} pruned to K_max, not optimised further")
    return run.decision(final, cluster, usable, outer=outer, status="degenerate", notes=notes, omega=omega, start=start,
                        certificate=bound / t_final - 1.0 if t_final > 0.0 else float("inf"))


def _leakage_start(model: LinkSinr, variables: np.ndarray, users: np.ndarray) -> np.ndarray:
    """Cold start point: the better (min SINR) of uniform power and a leakage-based point, within 37d.

    Each user's weights maximise its signal-to-leakage ratio (b_j^T p_j)^2 / (Σ_k ||G_kj p_j||^2 +
    r ||p_j||^2) — the leakage-based precoder of Sadek, Tarighat & Sayed (2007) on the coefficient
    form of eq 27 — so p_j ∝ (Σ_k G_kj^T G_kj + r I)^{-1} b_j over its variable links, clipped to
    p >= 0 (37e); then LEAKAGE_BALANCE fixed-point steps scale the users towards equal SINR and the
    point is scaled into 37d. r = LEAKAGE_REGULARISATION K σ² (flat optimum from 30 K σ² to 300 K σ²
    on 000's set-up). With coherent interference (sMRT) this starts P3 at ~60 % of its optimum
    instead of ~4 % for uniform power, saving 1–2 cone programs; without it (sZF) uniform power is
    usually the better point and is kept. Computed on the model's per-user link slots (c × c
    systems, one per user).
    """
    uniform = uniform_power(variables)
    m = model.valid & model.to_q(np.asarray(variables, dtype=float)).astype(bool)  # (K, c)
    leak = model.leakage()  # Σ_k G_kj^T G_kj on user j's slots, (K, c, c)
    c = m.shape[1]
    # r; never below 1e-12 of the largest leakage, so that the solve stays well conditioned
    ridge = max(LEAKAGE_REGULARISATION * model.n_user * model.noise, ROUNDOFF * float(np.abs(leak).max(initial=0.0)))
    leak = np.where(m[:, :, None] & m[:, None, :], leak, 0.0) + np.eye(c) * np.where(m, ridge, 1.0)[:, :, None]
    u = np.maximum(np.linalg.solve(leak, (model.b * m)[..., None])[..., 0], 0.0) * m
    norm = np.sqrt(np.einsum("ji,ji->j", u, u))
    p = np.where((norm > 0.0)[None, :], model.to_p(u / np.where(norm > 0.0, norm, 1.0)[:, None]), uniform)
    weight = np.ones(model.n_user)
    for _ in range(LEAKAGE_BALANCE):
        q = model.sinr(_scale_into(p * weight, None, None))[users]
        if not q.min() > 0.0:  # a user without signal: no balance to strike (weights would all be 0)
            break
        weight[users] *= np.sqrt(q.min() / np.maximum(q, np.finfo(float).tiny))
        weight /= weight.max()
    p = _scale_into(p * weight, None, None)
    return p if _min_sinr(model, p, users) > _min_sinr(model, uniform, users) else uniform


def _seed(p: np.ndarray, variables: np.ndarray, users: np.ndarray) -> np.ndarray:
    """Give users without signal uniform weights on their variable links (then rescaled into 37c–d)."""
    silent = users[~(p[:, users] > 0.0).any(axis=0)]
    if silent.size:
        p = p.copy()
        p[:, silent] = uniform_power(variables)[:, silent]
    return p


def _invalid_noise(coeffs: SinrCoefficients, start: float) -> Decision | None:
    noise = float(coeffs.noise)
    if np.isfinite(noise) and noise > 0.0:
        return None
    L, K = np.shape(coeffs.b)
    return Decision(
        power=np.zeros((L, K)),
        cluster=np.zeros((L, K), dtype=bool),
        min_sinr=0.0,
        sinr=np.zeros(K),
        solve_s=time.perf_counter() - start,
        status="fallback:invalid-noise",
        reason=f"noise power {noise!r} is not a positive number: no power allocated",
    )


def _check(coeffs: SinrCoefficients, mask: np.ndarray | None, k_max: int | None = None) -> None:
    """Shapes of one snapshot and K_max; raises InputError (a caller's mistake, not numerics)."""
    b = np.shape(coeffs.b)
    G = coeffs.g_shape if isinstance(coeffs, MomentCoefficients) else np.shape(coeffs.G)
    if len(b) != 2 or len(G) != 4 or G[:2] != (b[1], b[1]) or G[3] != b[0]:
        raise InputError(f"coefficients of one snapshot need b (L, K) and G (K, K, M, L); got b {b}, G {G}")
    if mask is not None and np.shape(mask) != b:
        raise InputError(f"mask shape {np.shape(mask)} differs from b {b}: pass an (L, K) bool array")
    if k_max is not None and (int(k_max) != k_max or k_max < 1):
        raise InputError(f"k_max={k_max!r}: the users per satellite must be an integer >= 1")


def _methods(inner: str) -> tuple[str, str]:
    """P3 solvers (cold start, refinement) of an ``inner`` choice."""
    if inner not in INNER_CHOICES:
        raise InputError(f"inner={inner!r}, expected one of {INNER_CHOICES}")
    return ("sca", "sca") if inner == "sca" else ("dinkelbach", "dinkelbach" if inner == "dinkelbach" else "sca")


def algorithm1(
    coeffs: SinrCoefficients,
    k_max: int,
    *,
    epsilon: float = EPSILON,
    allowed: np.ndarray | None = None,
    warm_start: Decision | None = None,
    max_outer: int = 20,
    max_inner: int = 30,
    tol: float = 1e-3,
    reweight_steps: int | None = 1,
    inner: str = "hybrid",
    problem_factory: ProblemFactory | None = None,
    backend: str = "auto",
    warm_margin: float = 1.0,
) -> Decision:
    """Joint clustering and max-min power allocation: Algorithm 1 of 000 (eqs 29–37).

    Outer loop: reweighted ℓ2 (eqs 30–31) until every satellite serves at most K_max users (29c);
    inner loop: P3 (eq 32) for the current ω; then the power is re-optimised on the final clusters.
    Never raises for numerical trouble: users without a usable link get power 0 and SINR 0, a
    solver failure returns the last feasible point pruned to K_max (``status="fallback:solver"``).
    Raises :class:`~simulator.errors.InputError` only for malformed arguments (shapes, K_max < 1).

    Parameters
    ----------
    coeffs : SinrCoefficients — one snapshot: b (L, K), G (K, K, M, L), noise > 0 (000 eq 27)
    k_max : int — maximum number of users per satellite K_max (23b)
    epsilon : float — regularisation ε of ω = 1 / (p^2 + ε) (eq 30)
    allowed : ndarray, shape (L, K), bool, optional — links that may serve (visibility); default all
    warm_start : Decision, optional — previous decision of the same shape: its power is the start
        point and ω = 1 / (p^2 + ε) at it (eq 30; links it did not allow and users it did not serve
        get ω = 1), if that point beats the cold start point on ``coeffs`` (else a cold start, noted)
    warm_margin : float — the warm start is taken when its min SINR times this beats the cold start
        point's; the cold point is a dense allocation over every usable link, which no K_max clustering
        matches, so a margin > 1 lets a good clustered predecessor through (docs/algorithm1.md)
    max_outer, max_inner : int — iteration limits of the reweighting and of each P3 solve
    tol : float — relative min-SINR gain at which a P3 solve stops
    reweight_steps : int or None — P3 steps per reweighting iteration after the first (the first
        P3 and the final polish run to ``tol``); None runs each to ``tol`` as the paper does
    inner : {"hybrid", "sca", "dinkelbach"} — P3 solver: the paper's SCA (eqs 33–37) throughout;
        the exact Dinkelbach method throughout; or (default) Dinkelbach for the cold first P3, where
        SCA needs many small steps, and SCA afterwards
    problem_factory : callable, optional — ``factory(coeffs, variables, k_max, method)`` returning
        an object with :class:`~simulator.cooperation.socp.ScaProblem`'s ``step`` (method "sca") or
        :class:`~simulator.cooperation.socp.RatioProblem`'s ``solve``, and optionally a settable
        ``accuracy`` (solver tolerance of the next solve); default those classes (the benchmark
        passes cvxpy implementations of the same programs, solved at cvxpy's default tolerance)
    backend : {"auto", "firstorder", "ipm", "clarabel"} — solver path (see :data:`BACKENDS`);
        ignored when ``problem_factory`` is given

    When the users outnumber the satellites' capacity (satellites with a usable link × K_max), only
    the users of :func:`admit` take part; the others get power 0 and SINR 0 and the reason says so.

    Returns
    -------
    Decision — clusters satisfy |K_l| <= K_max, power satisfies 37d–e, ``omega`` the last weights

    Examples
    --------
    >>> c = SinrCoefficients(b=np.array([[2.0, 0.1], [0.1, 2.0]]), G=np.zeros((2, 2, 1, 2)), noise=1.0)
    >>> d = algorithm1(c, k_max=1)
    >>> d.cluster.tolist(), round(d.min_sinr, 4)
    ([[True, False], [False, True]], 4.0)
    """
    start = time.perf_counter()
    cold, refine = _methods(inner)
    _check(coeffs, allowed, k_max)
    invalid = _invalid_noise(coeffs, start)
    if invalid is not None:
        return invalid
    clean, usable, notes = _prepare(coeffs, allowed)
    b = clean.b
    admitted = admit(usable, b, k_max)
    left_out = np.flatnonzero(usable.any(axis=0) & ~admitted)
    if left_out.size:
        usable = usable & admitted[None, :]
        notes.append(
            f"users {left_out.tolist()} not admitted: {int(usable.any(axis=1).sum())} satellites x K_max {k_max} "
            f"< {left_out.size + int(admitted.sum())} users (strongest links first): power 0, SINR 0"
        )
    users = np.flatnonzero(usable.any(axis=0))
    run = _Run(clean, usable, users, max_inner, problem_factory, backend)
    run.n_unadmitted = int(left_out.size)
    if users.size == 0:
        return run.decision(np.zeros(usable.shape), usable, usable, status="fallback:no-link", notes=notes, start=start)
    omega = np.ones(usable.shape)
    p = _leakage_start(run.model, usable, users)
    first_accuracy = ACCURACY_COLD
    if warm_start is not None and np.shape(warm_start.power) == usable.shape:
        warm = _seed(np.asarray(warm_start.power, dtype=float) * usable, usable, users)
        if warm_margin * _min_sinr(run.model, _scale_into(warm, None, None), users) > _min_sinr(run.model, p, users):
            p, cold, first_accuracy = warm, refine, ACCURACY_FIRST
            omega = 1.0 / (warm**2 + epsilon)  # eq 30 at the previous decision
            if warm_start.allowed is not None:
                omega[usable & ~np.asarray(warm_start.allowed, dtype=bool)] = 1.0
            omega[:, ~(np.asarray(warm_start.power) > 0.0).any(axis=0)] = 1.0  # users it did not serve
        else:
            notes.append("warm start no better than the cold start point on the new coefficients"
                         + (f" / {warm_margin:g}" if warm_margin != 1.0 else "") + ": started cold")
    stop = _degenerate(run, _scale_into(p, None, None), usable, b, k_max, notes, start, omega, outer=0)
    if stop is not None:
        return stop
    best, outer = p, 0
    try:
        for outer in range(1, max_outer + 1):
            live = usable & (np.sqrt(k_max / omega) >= PIN_BOUND)
            lost = users[~live[:, users].any(axis=0)]  # every link pinned: start this user afresh
            live[:, lost] = usable[:, lost]
            omega[:, lost] = 1.0
            p = _scale_into(_seed(p * live, live, users), omega, k_max)
            method, steps = (cold, None) if outer == 1 else (refine, reweight_steps)
            void = np.all(omega[live] == 1.0)  # 37c is then implied by 37d (K_max >= 1): leave it out
            p, _ = run.p3(
                p, live, method=method, tol=tol, omega=omega, k_max=None if void else k_max, max_steps=steps,
                accuracy=first_accuracy if outer == 1 else ACCURACY_FIRST,
            )
            best = p
            if outer == 1:
                stop = _degenerate(run, p, usable, b, k_max, notes, start, omega, outer=1)
                if stop is not None:
                    return stop
            support = _support(p, b)
            if np.all(support.sum(axis=1) <= k_max):
                break
            omega = 1.0 / (p**2 + epsilon)
        else:
            over = int(np.maximum(support.sum(axis=1) - k_max, 0).sum())
            notes.append(f"reweighting left {over} links over K_max after {max_outer} outer iterations: pruned the weakest")
        # Polish on each satellite's K_max strongest links that still carry power: the support found
        # plus, where a satellite has room, links the reweighting was fading out (none idles).
        support = _prune(p, b, live & (p > 0.0), k_max)
        # the first-order path's "sca" step is a budgeted ascent; the polish decides the rate: solve it fully
        polish = "dinkelbach" if run.backend == "firstorder" else refine
        start_p = _scale_into(p * support, None, None)
        if run.backend == "firstorder":
            # the reweighting leaves the kept links squeezed by 37c (min SINR ~5x below the polished
            # one at K = 100); the leakage point on the final clusters starts within a few per cent
            # of it and cuts the polish's gradient steps ~4x. (The cone programs close either gap in
            # a few Dinkelbach steps: their path keeps the pruned point.)
            alt = _leakage_start(run.model, support, users)
            if _min_sinr(run.model, alt, users) > _min_sinr(run.model, start_p, users):
                start_p = alt
        final, _ = run.p3(start_p, support, method=polish, tol=tol)
        cluster = support & (_shares(final, b) > LINK_FLOOR)
        return run.decision(final * cluster, cluster, usable, outer=outer, notes=notes, omega=omega, start=start)
    except SolverError as err:
        support = _prune(best, b, _support(best, b), k_max)
        fallback = _scale_into(best * support, None, None)
        notes.append(f"solver failed, kept the last feasible point pruned to K_max: {err}")
        return run.decision(
            fallback, support, usable, outer=outer, status="fallback:solver", notes=notes, omega=omega, start=start
        )


def sca_power(
    coeffs: SinrCoefficients,
    cluster_mask: np.ndarray,
    *,
    warm_start: Decision | None = None,
    max_inner: int = 50,
    tol: float = 1e-3,
    inner: str = "hybrid",
    problem_factory: ProblemFactory | None = None,
    backend: str = "auto",
) -> Decision:
    """Max-min SINR power allocation for fixed clusters (P3 without 37c; 000 Sec. IV-C, VI).

    000 uses this power allocation for every benchmark scheme (CF-mMIMO, single-satellite, distance
    clustering). A cold start begins at the better of uniform power and the leakage-based point of
    :func:`algorithm1`. On solver failure the uniform power of the clusters is returned
    (``status="fallback:solver"``); users without a usable link get power 0 and SINR 0.

    Parameters
    ----------
    coeffs : SinrCoefficients — one snapshot (000 eq 27)
    cluster_mask : ndarray, shape (L, K), bool — served links
    warm_start : Decision, optional — start from its power restricted to the clusters
    max_inner, tol : as for :func:`algorithm1`
    inner : {"hybrid", "sca", "dinkelbach"} — as for :func:`algorithm1` ("hybrid": Dinkelbach, from a
        cold or a warm start: after a geometry change the warm point is a few per cent off the
        optimum, which Dinkelbach closes in 2–3 cone programs and SCA in tens)
    problem_factory, backend : as for :func:`algorithm1`

    Returns
    -------
    Decision — power on the clusters (K_max is not enforced), ``outer_iters`` 0

    Examples
    --------
    >>> c = SinrCoefficients(b=np.array([[2.0, 1.0]]), G=np.zeros((2, 2, 1, 1)), noise=1.0)
    >>> d = sca_power(c, np.ones((1, 2), dtype=bool))
    >>> np.round(d.power ** 2, 4).tolist(), round(d.min_sinr, 4)  # p^2 = (1/5, 4/5): SINR 4/5 each
    ([[0.2, 0.8]], 0.8)
    """
    start = time.perf_counter()
    cold, refine = _methods(inner)
    _check(coeffs, cluster_mask)
    invalid = _invalid_noise(coeffs, start)
    if invalid is not None:
        return invalid
    clean, usable, notes = _prepare(coeffs, cluster_mask)
    users = np.flatnonzero(usable.any(axis=0))
    run = _Run(clean, usable, users, max_inner, problem_factory, backend)
    if users.size == 0:
        return run.decision(np.zeros(usable.shape), usable, usable, status="fallback:no-link", notes=notes, start=start)
    p, method, accuracy = _leakage_start(run.model, usable, users), cold, ACCURACY_COLD
    if warm_start is not None and np.shape(warm_start.power) == usable.shape:
        warm = _scale_into(_seed(np.asarray(warm_start.power, dtype=float) * usable, usable, users), None, None)
        if _min_sinr(run.model, warm, users) > _min_sinr(run.model, _scale_into(p, None, None), users):
            p, accuracy = warm, ACCURACY_FIRST  # same method: SCA from a point a few per cent off creeps
        else:
            notes.append("warm start no better than the cold start point on the new coefficients: started cold")
    try:
        p, _ = run.p3(_scale_into(p, None, None), usable, method=method, tol=tol, accuracy=accuracy)
        return run.decision(p, usable, usable, notes=notes, start=start)
    except SolverError as err:
        notes.append(f"solver failed, uniform power on the clusters: {err}")
        return run.decision(uniform_power(usable), usable, usable, status="fallback:solver", notes=notes, start=start)


def solve_p3(
    coeffs: SinrCoefficients,
    omega: np.ndarray,
    k_max: int,
    allowed: np.ndarray | None = None,
    *,
    method: str = "dinkelbach",
    tol: float = 1e-6,
    max_iter: int = 200,
) -> Decision:
    """P3 (000 eq 32) for fixed weights ω, by SCA, Dinkelbach or bisection on t.

    For fixed ω, P3 is quasi-convex: for fixed t each SINR constraint is a second-order cone
    (sqrt(t) ||[G_k p; sqrt(noise)]|| <= b_k^T p_k), so bisection on t gives the exact optimum; it is
    the reference against which the SCA of eqs 33–37 and the Dinkelbach method are checked. All
    start from uniform power; links pinned by the 37c bound (sqrt(K_max / ω) < 1e-4) are 0 in every
    method. Raises :class:`~simulator.errors.SolverError` on solver failure (a check, not a scheme).

    Parameters
    ----------
    coeffs : SinrCoefficients — one snapshot
    omega : ndarray, shape (L, K) — weights ω of 37c
    k_max : int — K_max of 37c
    allowed : ndarray, shape (L, K), bool, optional — links that may serve
    method : {"dinkelbach", "sca", "bisection"}
    tol : float — relative tolerance on the min SINR (bisection: on the bracket hi / lo)
    max_iter : int — cone programs at most

    Returns
    -------
    Decision — ``cluster`` = the variable links, ``history`` the min SINR reached after each step
    """
    start = time.perf_counter()
    _check(coeffs, allowed, k_max)
    clean, usable, notes = _prepare(coeffs, allowed)
    users = np.flatnonzero(usable.any(axis=0))
    omega = np.asarray(omega, dtype=float)
    live = usable & (np.sqrt(k_max / omega) >= PIN_BOUND)
    p = _scale_into(_seed(uniform_power(live), live, users), omega, k_max)
    run = _Run(clean, usable, users, max_iter, None)
    if method == "bisection":
        p = _bisection(run, p, live, omega, k_max, tol)
    else:
        p, _ = run.p3(p, live, method=method, tol=tol, omega=omega, k_max=k_max)
    return run.decision(p, live, usable, notes=notes, omega=omega, start=start)


def _bisection(run: _Run, p: np.ndarray, live: np.ndarray, omega: np.ndarray, k_max: int, tol: float) -> np.ndarray:
    """Bisection on t with the ratio program as the feasibility oracle (optimum σ* >= 0 iff feasible)."""
    problem = RatioProblem(run.coeffs, live, k_max=k_max)
    lo = _min_sinr(run.model, p, run.users)
    amp = np.where(live, run.coeffs.b, 0.0).sum(axis=0)[run.users]
    hi = float(np.min(amp**2) / float(run.coeffs.noise))  # SINR_k <= (Σ_l b_lk)^2 / noise as p <= 1
    run.history.append(lo)
    while hi > lo * (1.0 + tol) and run.inner_iters < run.max_inner:
        mid = np.sqrt(lo * hi)
        q, sigma = problem.solve(np.sqrt(mid), p, omega=omega)
        run.inner_iters += 1
        if sigma >= 0.0:
            q = _scale_into(q * live, omega, k_max)
            if _min_sinr(run.model, q, run.users) > _min_sinr(run.model, p, run.users):
                p = q
            lo = mid
            run.history.append(_min_sinr(run.model, p, run.users))
        else:
            hi = mid
    return p


def p3_bisection(
    coeffs: SinrCoefficients, omega: np.ndarray, k_max: int, allowed: np.ndarray | None = None, tol: float = 1e-6
) -> Decision:
    """Exact P3 optimum by bisection on t (000 eq 32); see :func:`solve_p3`."""
    return solve_p3(coeffs, omega, k_max, allowed, method="bisection", tol=tol)
