"""Precoder spans whose cost is linear in the users (cooperation/precoder_span.py) against their dense forms."""

from __future__ import annotations

import numpy as np
import pytest
from leo_snapshot import snapshot

from simulator.cooperation.precoder_span import slnr_span
from simulator.cooperation.single import serving_one_hot, strongest_satellite
from simulator.radio.params import paper000_params
from simulator.radio.steering import gram_matrix, steering_factors

PARAMS = paper000_params(n_h=4, n_v=4)


def _factors(csi):
    return steering_factors(csi.theta_rad, csi.phi_rad, PARAMS.n_h, PARAMS.n_v)


def dense_slnr_coef(csi, factors, served, tx_power_w, noise_w, leakage):
    """C = (I + D Ĝ)^{-1} with each served column scaled to ||Â c_j|| = 1: the K × K solve per satellite."""
    alpha = np.asarray(noise_w, dtype=float) / float(tx_power_w)
    weight = (csi.beta if leakage == "all" else csi.beta * served) / alpha[..., None, None]
    gram = gram_matrix(factors)
    n_user = csi.n_user
    system = np.eye(n_user) + weight[..., :, None] * gram
    coef = np.linalg.solve(system, np.broadcast_to(np.eye(n_user, dtype=complex), system.shape))
    norm_sq = np.real(np.einsum("...ij,...im,...mj->...j", np.conj(coef), gram, coef))
    scale = np.divide(1.0, np.sqrt(norm_sq), out=np.zeros(norm_sq.shape), where=served & (norm_sq > 0))
    return coef * scale[..., None, :]


@pytest.mark.parametrize("leakage", ["all", "served"])
@pytest.mark.parametrize("steps", [False, True])
def test_slnr_span_equals_the_dense_solve(leakage: str, steps: bool) -> None:
    """Served columns through the N × N Woodbury side: the same coefficients as the K × K solve, to 1e-9."""
    csi = snapshot(3, 5, 24, PARAMS, times_s=np.array([0.0, 3.0]))
    if not steps:
        csi = csi.steps(0)
    factors = _factors(csi)
    served = serving_one_hot(strongest_satellite(csi), csi.n_sat)
    served[..., 0, :3] = False                                   # a few users served by nobody
    got = slnr_span(csi, factors, served, PARAMS.tx_power_w, PARAMS.noise_power_w, leakage).coef
    ref = dense_slnr_coef(csi, factors, served, PARAMS.tx_power_w, PARAMS.noise_power_w, leakage)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9 * np.abs(ref).max())
    unserved = ~np.broadcast_to(served, got.shape[:-1])
    assert np.all(np.moveaxis(got, -1, -2)[unserved] == 0)              # no precoder off the serving links



def dense_szf_coef(csi, rcond=1e-10):
    """The K × K product C = U Σ^{-2} U^H with columns scaled by 1 / √C_jj (the previous szf_span),
    and the rounding scale of each entry, Σ_r |U_ir| σ_r^{-2} |U_jr| / √C_jj."""
    u, s, _ = np.linalg.svd(np.conj(csi.steering), full_matrices=False)
    keep = s > rcond * s.max(axis=-1, keepdims=True)
    inv_sq = np.divide(1.0, s**2, out=np.zeros(s.shape), where=keep)
    coef = (u * inv_sq[..., None, :]) @ np.conj(np.swapaxes(u, -1, -2))
    root = np.sqrt(np.real(np.diagonal(coef, axis1=-2, axis2=-1)))[..., None, :]
    size = (np.abs(u) * inv_sq[..., None, :]) @ np.abs(u).swapaxes(-1, -2)
    return coef / root, size / root


@pytest.mark.parametrize("n_user", [6, 14, 24])
def test_szf_span_factors_multiply_out_to_the_dense_coefficients(n_user: int) -> None:
    """sZF's span kept as U Σ^{-2} and U^H / √C_jj: the product and any of its columns equal the dense
    C to the rounding of its sums, with K < N, near N (ill-conditioned) and > N (rank-deficient)."""
    from simulator.cooperation.precoder_span import served_columns, szf_span

    csi = snapshot(4, 3, n_user, PARAMS, times_s=np.array([0.0, 2.0]))
    span = szf_span(csi, _factors(csi))
    ref, size = dense_szf_coef(csi)
    full = span.coefficients()
    assert full.shape == ref.shape
    np.testing.assert_array_less(np.abs(full - ref), 1e-13 * size + 1e-300)
    mask = np.zeros((3, n_user), bool)
    mask[:, ::3] = True
    cols = served_columns(mask)
    np.testing.assert_array_less(np.abs(span.coefficients(cols) - cols.take_last(ref)),
                                 1e-13 * cols.take_last(size) + 1e-300)
