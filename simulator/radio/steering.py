"""UPA array response a(θ, φ) = a_h(θ, φ) ⊗ a_v(θ) of 000 eqs 2–4.

Element (i_h, i_v) of the N_h × N_v array sits at index n = i_h · N_v + i_v of a (Kronecker order of
eq 2: the vertical index runs fastest) and carries

    a_n = exp(−j 2π (i_h d_h sin θ cos φ + i_v d_v cos θ)),

with spacings d_h, d_v in wavelengths (000 writes 2π f d / c; d / λ = f d / c). |a_n| = 1, so
‖a‖² = N = N_h N_v: the array gain is in the steering vector, not in β. The angles are those of
:mod:`simulator.radio.antenna_frame` (θ from the vertical, along-track array axis).

>>> a = steering_vector(np.pi / 2, np.pi / 2, 2, 2)
>>> np.allclose(a, 1.0)
True

Inner products of two steering vectors have a closed form (:func:`steering_gram`): with
u_h = d_h sin θ cos φ and u_v = d_v cos θ, a(θ_a, φ_a)^H a(θ_b, φ_b) is the product of one geometric
series per axis, each a Dirichlet kernel,

    Σ_{i<n} e^{j2i δ} = e^{j(n−1)δ} sin(nδ) / sin δ,   δ = π (u_a − u_b),

so a Gram matrix of steering vectors costs O(1) per entry instead of the N-term sum. The ratio
sin(nδ)/sin δ is evaluated as the Chebyshev polynomial of the second kind U_{n−1}(cos δ) by its
three-term recurrence, which is exact at δ → 0 (value n) and at the grating lobes δ → mπ without a
division, and cos δ = cos πu_a cos πu_b + sin πu_a sin πu_b comes from per-vector terms
(:class:`SteeringFactors`), so no transcendental function is evaluated per pair. The rounding of
cos δ (≈ 1e-16) is amplified by U'_{n−1}(1) = (n³ − n)/3 near the main lobe: the relative error is
about n² × 1e-16 (4e-15 for n = 8 per axis), the same order as summing the N terms explicitly.

For large Gram matrices (K_a K_b ≥ ``AXIS_PRODUCT_MIN_PAIRS``) :func:`gram_matrix` uses the same
Kronecker split the other way round: a^H b = (a_h^H b_h)(a_v^H b_v), each factor one batched
matrix product of the per-axis vectors (..., K, n_h) and (..., K, n_v) (eqs 3–4), built from the
factors by powers of e^{−j2πu}. That is 2 (n_h + n_v) real multiply-adds per pair inside BLAS
instead of about twenty elementwise passes over K_a K_b arrays, and as accurate as the explicit sum.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["steering_vector", "SteeringFactors", "steering_factors", "gram_from_factors", "gram_matrix",
           "axis_vectors", "steering_gram"]


def steering_vector(
    theta: ArrayLike,
    phi: ArrayLike,
    n_h: int,
    n_v: int,
    spacing_h: float = 0.5,
    spacing_v: float = 0.5,
) -> np.ndarray:
    """UPA response a = a_h ⊗ a_v (000, eqs 2–4).

    Parameters
    ----------
    theta, phi : ndarray, shape (...), rad — elevation and azimuth AoD in the antenna frame
    n_h, n_v : int — elements along the horizontal (cross-track) and vertical (along-track) axes
    spacing_h, spacing_v : float — element spacings d_h, d_v in wavelengths (default λ/2)

    Returns
    -------
    ndarray, shape (..., n_h * n_v), complex128
    """
    th = np.asarray(theta, dtype=float)
    ph = np.asarray(phi, dtype=float)
    th, ph = np.broadcast_arrays(th, ph)
    u_h, u_v = _cycles_per_element(th, ph, spacing_h, spacing_v)
    a_h = np.exp(-2j * np.pi * u_h[..., np.newaxis] * np.arange(n_h))  # eq 3, shape (..., n_h)
    a_v = np.exp(-2j * np.pi * u_v[..., np.newaxis] * np.arange(n_v))  # eq 4, shape (..., n_v)
    # Kronecker product of eq 2: index i_h * n_v + i_v
    return (a_h[..., :, np.newaxis] * a_v[..., np.newaxis, :]).reshape(th.shape + (n_h * n_v,))


def _cycles_per_element(th: np.ndarray, ph: np.ndarray, spacing_h: float,
                        spacing_v: float) -> tuple[np.ndarray, np.ndarray]:
    """u_h = d_h sin θ cos φ and u_v = d_v cos θ: phase progression per element in cycles (eqs 3–4)."""
    return float(spacing_h) * np.sin(th) * np.cos(ph), float(spacing_v) * np.cos(th)


class SteeringFactors(NamedTuple):
    """Per-vector terms of the Gram closed form of :func:`steering_gram`, each shape (...).

    Attributes
    ----------
    cos_h, sin_h : ndarray, float — cos π u_h, sin π u_h (horizontal axis, u_h = d_h sin θ cos φ)
    cos_v, sin_v : ndarray, float — cos π u_v, sin π u_v (vertical axis, u_v = d_v cos θ)
    phasor : ndarray, complex — e^{jπ((n_h − 1) u_h + (n_v − 1) u_v)}, the centre phase of the array
    n_h, n_v : int — elements per axis
    """

    cos_h: np.ndarray
    sin_h: np.ndarray
    cos_v: np.ndarray
    sin_v: np.ndarray
    phasor: np.ndarray
    n_h: int
    n_v: int

    def take(self, index: object) -> "SteeringFactors":
        """The factors of ``array[index]`` for every array attribute (e.g. a slice of leading axes)."""
        return SteeringFactors(self.cos_h[index], self.sin_h[index], self.cos_v[index], self.sin_v[index],
                               self.phasor[index], self.n_h, self.n_v)

    def expand(self, axis: int) -> "SteeringFactors":
        """The factors with a new length-1 axis inserted at ``axis`` (to broadcast one side of a Gram)."""
        return SteeringFactors(*(np.expand_dims(x, axis) for x in self[:5]), self.n_h, self.n_v)


def steering_factors(theta: ArrayLike, phi: ArrayLike, n_h: int, n_v: int, spacing_h: float = 0.5,
                     spacing_v: float = 0.5) -> SteeringFactors:
    """Per-vector terms of the UPA Gram closed form (000 eqs 2–4; module docstring).

    Parameters
    ----------
    theta, phi : ndarray, shape (...), rad — AoDs as in :func:`steering_vector`
    n_h, n_v : int — elements per axis
    spacing_h, spacing_v : float — element spacings in wavelengths

    Returns
    -------
    SteeringFactors with arrays of the broadcast shape of ``theta`` and ``phi``
    """
    th, ph = np.broadcast_arrays(np.asarray(theta, dtype=float), np.asarray(phi, dtype=float))
    u_h, u_v = _cycles_per_element(th, ph, spacing_h, spacing_v)
    x_h, x_v = np.pi * u_h, np.pi * u_v
    cos_h, sin_h, cos_v, sin_v = np.cos(x_h), np.sin(x_h), np.cos(x_v), np.sin(x_v)
    # e^{j(n−1)x} as an integer power of e^{jx} (a few complex products instead of an exponential)
    phasor = _int_power(cos_h + 1j * sin_h, int(n_h) - 1) * _int_power(cos_v + 1j * sin_v, int(n_v) - 1)
    return SteeringFactors(cos_h, sin_h, cos_v, sin_v, phasor, int(n_h), int(n_v))


def _int_power(z: np.ndarray, n: int) -> np.ndarray:
    """z**n for an integer n ≥ 0 by repeated squaring (relative error ≈ 2 log2(n) × 1e-16 for |z| = 1)."""
    result = np.ones(np.shape(z), dtype=complex)
    base = np.array(z, dtype=complex)
    while n:
        if n & 1:
            result = result * base
        n >>= 1
        if n:
            base = base * base
    return result


def _chebyshev_u(c: np.ndarray, n: int) -> np.ndarray:
    """U_{n−1}(c) by the recurrence U_{m+1} = 2c U_m − U_{m−1}; equals sin(nδ)/sin δ for c = cos δ."""
    if n == 1:
        return np.ones(np.shape(c))
    two_c = 2.0 * np.asarray(c, dtype=float)
    lower, upper = np.ones(two_c.shape), np.array(two_c)   # U_0, U_1 (0-d arrays stay arrays)
    scratch = np.empty(two_c.shape)
    for _ in range(n - 2):
        np.multiply(two_c, upper, out=scratch)
        np.subtract(scratch, lower, out=lower)              # U_{m+1} overwrites U_{m−1}
        lower, upper = upper, lower
    return upper


def gram_from_factors(a: SteeringFactors, b: SteeringFactors) -> np.ndarray:
    """a^H b for every broadcast pair of vectors given by their :class:`SteeringFactors`.

    a^H b = e^{j(n_h−1)δ_h + j(n_v−1)δ_v} U_{n_h−1}(cos δ_h) U_{n_v−1}(cos δ_v), δ = π(u_a − u_b)
    (module docstring). Both factor sets must describe the same array (n_h, n_v, spacings).

    Returns
    -------
    ndarray, complex, the broadcast shape of the two factor sets
    """
    amp = _chebyshev_u(a.cos_h * b.cos_h + a.sin_h * b.sin_h, a.n_h)
    amp *= _chebyshev_u(a.cos_v * b.cos_v + a.sin_v * b.sin_v, a.n_v)
    return (a.phasor * np.conj(b.phasor)) * amp


def axis_vectors(f: SteeringFactors) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis steering vectors a_h (..., n_h) and a_v (..., n_v) of eqs 3–4 (a = a_h ⊗ a_v, eq 2),
    from the factors: a_h[i] = (e^{−jπu_h})^{2i}, a running product (error ≈ i × 1e-16)."""

    def powers(cos: np.ndarray, sin: np.ndarray, n: int) -> np.ndarray:
        step = (cos - 1j * sin) ** 2                         # e^{−j2πu}
        out = np.empty(np.shape(step) + (n,), dtype=complex)
        out[..., 0] = 1.0
        out[..., 1:] = step[..., None]
        return np.cumprod(out, axis=-1)

    return powers(f.cos_h, f.sin_h, f.n_h), powers(f.cos_v, f.sin_v, f.n_v)


def _axis_gram(a: SteeringFactors, b: SteeringFactors | None) -> np.ndarray:
    """a_k^H b_i = (a_{h,k}^H b_{h,i})(a_{v,k}^H b_{v,i}): two batched matrix products (module docstring)."""
    a_h, a_v = axis_vectors(a)
    b_h, b_v = (a_h, a_v) if b is None else axis_vectors(b)
    gram = (np.conj(a_h) @ np.swapaxes(b_h, -1, -2)) * (np.conj(a_v) @ np.swapaxes(b_v, -1, -2))
    if b is None:                                          # exactly Hermitian, diagonal exactly N
        gram += np.conj(np.swapaxes(gram, -1, -2))         # in place: keeps the row-major layout
        gram *= 0.5
        diag = np.arange(gram.shape[-1])
        gram[..., diag, diag] = a.n_h * a.n_v
    return gram


#: K_a K_b from which :func:`gram_matrix` takes the per-axis products (faster from about 12 × 12 on)
AXIS_PRODUCT_MIN_PAIRS = 144


def gram_matrix(a: SteeringFactors, b: SteeringFactors | None = None) -> np.ndarray:
    """Gram matrices G[..., k, i] = a_k^H b_i between two sets of steering vectors.

    The same numbers as ``gram_from_factors(a.expand(-1), b.expand(-2))``, computed on flat
    (..., K_a K_b) arrays (each side repeated or tiled once), so that every elementwise pass runs over
    long contiguous rows instead of broadcasting length-K inner loops. With ``b`` None the Gram
    matrix of ``a`` with itself is formed from its upper triangle (Hermitian, diagonal exactly N).
    From K_a K_b ≥ :data:`AXIS_PRODUCT_MIN_PAIRS` on, by per-axis matrix products instead (module
    docstring; equal to rounding).

    Parameters
    ----------
    a : SteeringFactors, arrays (..., K_a)
    b : SteeringFactors, arrays (..., K_b), leading axes broadcastable against ``a``'s; None: ``a``

    Returns
    -------
    ndarray, shape (..., K_a, K_b), complex
    """
    n_a = a.cos_h.shape[-1]
    n_b = n_a if b is None else b.cos_h.shape[-1]
    if n_a * n_b >= AXIS_PRODUCT_MIN_PAIRS:
        return _axis_gram(a, b)
    if b is None:
        return _hermitian_gram(a)

    def rep(x: np.ndarray) -> np.ndarray:
        return np.repeat(x, n_b, axis=-1)             # [k K_b + i] = x[k]

    def til(x: np.ndarray) -> np.ndarray:
        return np.tile(x, n_a)                        # [k K_b + i] = x[i]

    flat = gram_from_factors(SteeringFactors(*(rep(x) for x in a[:5]), a.n_h, a.n_v),
                             SteeringFactors(*(til(x) for x in b[:5]), b.n_h, b.n_v))
    return flat.reshape(flat.shape[:-1] + (n_a, n_b))


def _hermitian_gram(a: SteeringFactors) -> np.ndarray:
    """a^H a for the vectors of ``a`` (..., K): strict upper triangle by the closed form, the rest by symmetry."""
    n = a.cos_h.shape[-1]
    row, col = np.triu_indices(n, k=1)
    upper = gram_from_factors(SteeringFactors(*(np.take(x, row, axis=-1) for x in a[:5]), a.n_h, a.n_v),
                              SteeringFactors(*(np.take(x, col, axis=-1) for x in a[:5]), a.n_h, a.n_v))
    out = np.empty(upper.shape[:-1] + (n, n), dtype=complex)
    out[..., row, col] = upper
    out[..., col, row] = np.conj(upper)
    diag = np.arange(n)
    out[..., diag, diag] = a.n_h * a.n_v                 # ‖a‖² = N exactly (unit-modulus entries)
    return out


def steering_gram(theta_a: ArrayLike, phi_a: ArrayLike, theta_b: ArrayLike, phi_b: ArrayLike, n_h: int, n_v: int,
                  spacing_h: float = 0.5, spacing_v: float = 0.5) -> np.ndarray:
    """Inner products a(θ_a, φ_a)^H a(θ_b, φ_b) of UPA steering vectors in closed form (000 eqs 2–4).

    Equal to ``np.vdot``-style sums of :func:`steering_vector` outputs, at O(1) cost per pair:
    the Kronecker structure a = a_h ⊗ a_v splits the sum into one Dirichlet kernel per axis
    (module docstring). All four angle arrays broadcast against each other, so a Gram matrix of
    users k, j is ``steering_gram(th[..., :, None], ph[..., :, None], th[..., None, :], ph[..., None, :], ...)``.

    Parameters
    ----------
    theta_a, phi_a : ndarray, shape broadcastable, rad — AoDs of the conjugated vectors
    theta_b, phi_b : ndarray, shape broadcastable, rad — AoDs of the other vectors
    n_h, n_v : int — elements per axis
    spacing_h, spacing_v : float — element spacings in wavelengths

    Returns
    -------
    ndarray, complex, the broadcast shape of the four angle arrays; |·| ≤ n_h n_v

    >>> round(float(steering_gram(0.3, 1.2, 0.3, 1.2, 8, 8).real), 9)
    64.0
    >>> g = steering_gram(0.3, 1.2, 1.0, 0.4, 4, 2, 0.5, 0.7)
    >>> a, b = steering_vector(0.3, 1.2, 4, 2, 0.5, 0.7), steering_vector(1.0, 0.4, 4, 2, 0.5, 0.7)
    >>> bool(np.isclose(g, np.vdot(a, b)))
    True
    """
    a = steering_factors(theta_a, phi_a, n_h, n_v, spacing_h, spacing_v)
    b = steering_factors(theta_b, phi_b, n_h, n_v, spacing_h, spacing_v)
    return gram_from_factors(a, b)
