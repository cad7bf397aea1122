"""mr_estimator by pilot blocks (cooperation/mismatched.py) against the dense K × K formulas."""

from __future__ import annotations

import numpy as np
import pytest
from leo_snapshot import snapshot

from simulator.cooperation.mismatched import _real_diag, extended_pilots, mr_estimator
from simulator.cooperation.ucdmimo import covariance_terms
from simulator.radio.params import paper004_params
from simulator.radio.steering import gram_matrix, steering_factors

PARAMS = paper004_params(n_h=4, n_v=4, aperture_radius_m=None)


def dense_mr_estimator(csi_est, gram_est, pilot_index, n_pilots, pilot_power_w, pilot_noise_w, nlos):
    """The estimator's fields from K × K matrices (M inverted whole, every product dense)."""
    index, n_ext = extended_pilots(pilot_index, n_pilots)
    n_user, n_ant = csi_est.n_user, csi_est.n_ant
    onehot = (np.arange(n_ext)[:, None] == index[None, :]).astype(float)
    same = onehot.T @ onehot
    q = n_pilots * np.broadcast_to(np.asarray(pilot_power_w, dtype=float), (n_user,))
    _, c1, c0 = covariance_terms(csi_est, nlos)
    f = np.sqrt(q * c1)
    s_hat = pilot_noise_w + (onehot @ (q * c0)[..., None])[..., 0]
    s_user = s_hat[..., index]
    m_inv = np.linalg.inv(s_user[..., :, None] * np.eye(n_user) + same * f[..., :, None] * gram_est * f[..., None, :])
    x = f[..., :, None] * m_inv * f[..., None, :]
    positive = f > 0
    safe_f = np.where(positive, f, 1.0)
    exact = m_inv * f[..., None, :] / safe_f[..., :, None]
    cancel = (np.eye(n_user) - (gram_est * same) @ x) / s_user[..., :, None]
    coef = np.where(positive[..., :, None], exact, cancel)
    phi_self = _real_diag(coef @ gram_est)
    b_sq = np.real(np.einsum("...ij,...jm,...im->...i", coef, gram_est, np.conj(coef)))
    xg = x @ (gram_est * same)
    tr_xg = (onehot @ _real_diag(xg)[..., None])[..., 0]
    tr_xgxg = (onehot @ _real_diag(xg @ xg)[..., None])[..., 0]
    tr_b = (n_ant - tr_xg) / s_hat
    tr_b2 = (n_ant - 2.0 * tr_xg + tr_xgxg) / s_hat**2
    gamma = q * (c1**2 * n_ant * phi_self + 2.0 * c1 * c0 * phi_self + c0**2 * tr_b[..., index])
    return dict(coef=coef, x=x, s_hat=s_hat, tr_b=tr_b, tr_b2=tr_b2, phi_self=phi_self, b_sq=b_sq, gamma=gamma,
                same=same, onehot=onehot)


@pytest.mark.parametrize("pilots", ["shared", "orthogonal", "some-without"])
@pytest.mark.parametrize("nlos", ["iid", "steering"])
def test_mr_estimator_by_blocks_equals_the_dense_formulas(pilots: str, nlos: str) -> None:
    """Same fields to 1e-9 (relative to each field's largest entry), with steps, for shared, orthogonal
    and partly missing pilots (blocks of several sizes)."""
    n_user = 17
    csi = snapshot(4, 4, n_user, PARAMS, times_s=np.array([0.0, 2.0]))
    gram = gram_matrix(steering_factors(csi.theta_rad, csi.phi_rad, PARAMS.n_h, PARAMS.n_v))
    n_pilots = {"shared": 3, "orthogonal": n_user, "some-without": 4}[pilots]
    index = np.arange(n_user) % n_pilots
    if pilots == "some-without":
        index[[2, 5, 11]] = -1
    power = np.linspace(0.1, 0.3, n_user)
    got = mr_estimator(csi, gram, index, n_pilots, power, 1e-13, nlos)
    ref = dense_mr_estimator(csi, gram, index, n_pilots, power, 1e-13, nlos)
    for name, value in ref.items():
        np.testing.assert_allclose(getattr(got, name), value, rtol=0, atol=1e-9 * np.abs(value).max(), err_msg=name)
