"""Closed-form Gram matrices of UPA steering vectors (000 eqs 2–4) against explicit vectors.

|a^H b| ≤ N, and summing N unit-modulus terms explicitly carries a rounding of about N × 1e-16, so
agreement is checked as |closed − explicit| ≤ 1e-12 N (absolute, in units of the array gain).
"""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from simulator.radio import steering
from simulator.radio.steering import gram_from_factors, gram_matrix, steering_factors, steering_gram, steering_vector

ARRAYS = [  # (n_h, n_v, spacing_h, spacing_v)
    (8, 8, 0.5, 0.5),      # 000 Sec. VI
    (4, 2, 0.5, 0.7),
    (1, 6, 0.5, 0.5),
    (5, 1, 0.6, 0.5),
    (16, 16, 0.5, 0.5),
    (3, 5, 1.0, 1.0),      # λ spacing: grating lobes inside the visible region
]


def explicit(theta_a, phi_a, theta_b, phi_b, n_h, n_v, d_h, d_v) -> np.ndarray:
    a = steering_vector(theta_a, phi_a, n_h, n_v, d_h, d_v)
    b = steering_vector(theta_b, phi_b, n_h, n_v, d_h, d_v)
    return np.sum(np.conj(a) * b, axis=-1)


@pytest.mark.parametrize("n_h, n_v, d_h, d_v", ARRAYS)
def test_gram_equals_explicit_inner_products(n_h: int, n_v: int, d_h: float, d_v: float) -> None:
    rng = np.random.default_rng(n_h * 31 + n_v)
    th_a, th_b = rng.uniform(0.0, np.pi, (2, 500))
    ph_a, ph_b = rng.uniform(-np.pi, np.pi, (2, 500))
    closed = steering_gram(th_a, ph_a, th_b, ph_b, n_h, n_v, d_h, d_v)
    ref = explicit(th_a, ph_a, th_b, ph_b, n_h, n_v, d_h, d_v)
    assert np.max(np.abs(closed - ref)) <= 1e-12 * n_h * n_v


@pytest.mark.parametrize("n_h, n_v, d_h, d_v", ARRAYS)
def test_small_difference_limit(n_h: int, n_v: int, d_h: float, d_v: float) -> None:
    """δ → 0, where sin(nδ)/sin δ is 0/0: exact at δ = 0 (value N) and smooth next to it."""
    n = n_h * n_v
    th, ph = 1.1, 0.7
    for step in (0.0, 1e-15, 1e-13, 1e-11, 1e-9, 1e-7, 1e-5, 1e-3):
        closed = steering_gram(th, ph, th + step, ph - 0.5 * step, n_h, n_v, d_h, d_v)
        ref = explicit(th, ph, th + step, ph - 0.5 * step, n_h, n_v, d_h, d_v)
        assert abs(closed - ref) <= 1e-12 * n
    self_gram = steering_gram(th, ph, th, ph, n_h, n_v, d_h, d_v)
    assert abs(self_gram - n) <= 1e-13 * n               # ‖a‖² = N (000 eq 2: unit-modulus entries)


def test_grating_lobe_is_a_full_match() -> None:
    """With λ spacing, directions whose u_h differ by exactly 1 have identical steering vectors."""
    n_h, n_v = 4, 3
    # u_h = sin θ cos φ: 1 at (θ, φ) = (π/2, 0) and 0 at (π/2, π/2); u_v = cos θ = 0 for both
    closed = steering_gram(np.pi / 2, 0.0, np.pi / 2, np.pi / 2, n_h, n_v, 1.0, 1.0)
    assert abs(closed - n_h * n_v) <= 1e-12 * n_h * n_v
    # an exact null of the horizontal axis: d_h Δ(sin θ cos φ) = 0.5 × 2/n_h = 1/n_h
    u = 2.0 / n_h
    closed = steering_gram(np.pi / 2, np.arccos(u), np.pi / 2, np.pi / 2, n_h, n_v, 0.5, 0.5)
    assert abs(closed) <= 1e-12 * n_h * n_v


def test_broadcasting_and_gram_matrices() -> None:
    rng = np.random.default_rng(5)
    n_h, n_v = 4, 4
    th_a, ph_a = rng.uniform(0.3, 2.8, (2, 3, 1, 4))
    th_b, ph_b = rng.uniform(0.3, 2.8, (2, 1, 5, 4))
    closed = steering_gram(th_a, ph_a, th_b, ph_b, n_h, n_v)
    assert closed.shape == (3, 5, 4)
    for i in range(3):
        for j in range(5):
            ref = explicit(th_a[i, 0], ph_a[i, 0], th_b[0, j], ph_b[0, j], n_h, n_v, 0.5, 0.5)
            assert np.max(np.abs(closed[i, j] - ref)) <= 1e-12 * 16
    # Gram matrices of two sets: (T, L, K) against (L, J) -> (T, L, K, J), both formulations
    th, ph = rng.uniform(0.3, 2.8, (2, 6, 3, 5))
    th2, ph2 = rng.uniform(0.3, 2.8, (2, 3, 4))
    fa, fb = steering_factors(th, ph, n_h, n_v), steering_factors(th2, ph2, n_h, n_v)
    flat = gram_matrix(fa, fb)
    bcast = gram_from_factors(fa.expand(-1), fb.expand(-2))
    assert flat.shape == bcast.shape == (6, 3, 5, 4)
    assert np.max(np.abs(flat - bcast)) <= 1e-12 * 16
    a = steering_vector(th, ph, n_h, n_v)
    b = steering_vector(th2, ph2, n_h, n_v)
    assert np.max(np.abs(flat - np.conj(a) @ np.swapaxes(b, -1, -2))) <= 1e-12 * 16
    # Hermitian symmetry a^H b = conj(b^H a)
    assert np.max(np.abs(gram_matrix(fb, fb) - np.conj(np.swapaxes(gram_matrix(fb, fb), -1, -2)))) <= 1e-12 * 16


def test_factors_slice_like_the_angles() -> None:
    rng = np.random.default_rng(6)
    th, ph = rng.uniform(0.3, 2.8, (2, 7, 3))
    f = steering_factors(th, ph, 8, 4, 0.5, 0.6)
    part = steering_factors(th[2:5], ph[2:5], 8, 4, 0.5, 0.6)
    for x, y in zip(f.take(slice(2, 5))[:5], part[:5]):
        assert np.array_equal(x, y)
    assert np.allclose(np.abs(f.phasor), 1.0, rtol=0.0, atol=1e-14)


def test_doctests() -> None:
    assert doctest.testmod(steering, raise_on_error=False).failed == 0


def test_hermitian_gram_of_one_set() -> None:
    rng = np.random.default_rng(8)
    th, ph = rng.uniform(0.3, 2.8, (2, 4, 3, 6))
    f = steering_factors(th, ph, 8, 4, 0.5, 0.6)
    a = steering_vector(th, ph, 8, 4, 0.5, 0.6)
    gram = gram_matrix(f)
    assert np.max(np.abs(gram - np.conj(a) @ np.swapaxes(a, -1, -2))) <= 1e-12 * 32
    assert np.array_equal(gram, np.conj(np.swapaxes(gram, -1, -2)))
    assert np.all(np.diagonal(gram, axis1=-2, axis2=-1) == 32.0)
