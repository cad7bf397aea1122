"""Large steering Gram matrices by per-axis matrix products (radio/steering.py, ``_axis_gram``).

Checked against the explicit N-element inner products of :func:`steering_vector` (000 eqs 2–4) and
against the Dirichlet closed form :func:`gram_from_factors`, on both sides of the size switch.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator.radio import steering
from simulator.radio.steering import (
    AXIS_PRODUCT_MIN_PAIRS,
    axis_vectors,
    gram_from_factors,
    gram_matrix,
    steering_factors,
    steering_vector,
)


def angles(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    return rng.uniform(0.0, np.pi / 2, shape), rng.uniform(-np.pi, np.pi, shape)


@pytest.mark.parametrize("n_h,n_v,d_h,d_v", [(8, 8, 0.5, 0.5), (4, 6, 0.5, 0.7), (1, 5, 0.5, 0.5), (12, 2, 1.3, 0.5)])
def test_axis_vectors_kronecker_to_the_steering_vector(n_h: int, n_v: int, d_h: float, d_v: float) -> None:
    th, ph = angles(np.random.default_rng(0), (3, 7))
    a_h, a_v = axis_vectors(steering_factors(th, ph, n_h, n_v, d_h, d_v))
    kron = (a_h[..., :, None] * a_v[..., None, :]).reshape(th.shape + (n_h * n_v,))
    np.testing.assert_allclose(kron, steering_vector(th, ph, n_h, n_v, d_h, d_v), rtol=0, atol=1e-13)


@pytest.mark.parametrize("n_h,n_v,d_h,d_v", [(8, 8, 0.5, 0.5), (4, 6, 0.5, 0.7), (1, 5, 0.5, 0.5), (12, 2, 1.3, 0.5)])
@pytest.mark.parametrize("n_a,n_b", [(3, 4), (20, 20), (40, 9)])
def test_gram_matrix_equals_explicit_products_either_side_of_the_switch(n_h: int, n_v: int, d_h: float, d_v: float,
                                                                         n_a: int, n_b: int) -> None:
    rng = np.random.default_rng(n_a + 10 * n_b)
    th_a, ph_a = angles(rng, (2, 3, n_a))
    th_b, ph_b = angles(rng, (3, n_b))                      # leading axes broadcast
    th_b[..., 0], ph_b[..., 0] = th_a[0, :, 0], ph_a[0, :, 0]        # an exact match (value N)
    fa = steering_factors(th_a, ph_a, n_h, n_v, d_h, d_v)
    fb = steering_factors(th_b, ph_b, n_h, n_v, d_h, d_v)
    a = steering_vector(th_a, ph_a, n_h, n_v, d_h, d_v)
    b = steering_vector(th_b, ph_b, n_h, n_v, d_h, d_v)
    n = n_h * n_v
    got = gram_matrix(fa, fb)
    assert got.shape == (2, 3, n_a, n_b)
    np.testing.assert_allclose(got, np.conj(a) @ np.swapaxes(b, -1, -2), rtol=0, atol=1e-12 * n)
    closed = gram_from_factors(fa.expand(-1), fb.take((Ellipsis, None, slice(None))))
    np.testing.assert_allclose(got, closed, rtol=0, atol=1e-12 * n)
    self_gram = gram_matrix(fa)
    np.testing.assert_allclose(self_gram, np.conj(a) @ np.swapaxes(a, -1, -2), rtol=0, atol=1e-12 * n)
    assert np.array_equal(self_gram, np.conj(np.swapaxes(self_gram, -1, -2)))     # exactly Hermitian
    assert np.all(np.diagonal(self_gram, axis1=-2, axis2=-1) == n)                  # ‖a‖² = N exactly


def test_the_switch_is_taken(monkeypatch) -> None:
    """Above the threshold the per-axis path runs, below it the Dirichlet closed form."""
    calls = []
    original = steering._axis_gram
    monkeypatch.setattr(steering, "_axis_gram", lambda a, b: calls.append(1) or original(a, b))
    th, ph = angles(np.random.default_rng(1), (12,))
    f = steering_factors(th, ph, 4, 4)
    gram_matrix(f.take(slice(0, 3)), f.take(slice(0, 4)))
    assert not calls
    side = int(np.ceil(np.sqrt(AXIS_PRODUCT_MIN_PAIRS)))
    th, ph = angles(np.random.default_rng(2), (side,))
    gram_matrix(steering_factors(th, ph, 4, 4))
    assert calls == [1]
