"""pilot_statistics (cooperation/rates_cfmmimo.py), one system per pilot group, against eq 44 per user."""

from __future__ import annotations

import numpy as np
import pytest
from leo_snapshot import snapshot

from simulator.cooperation.rates_cfmmimo import pilot_book, pilot_statistics
from simulator.radio.params import paper000_params


def v_inv_a_by_definition(csi, book, pilot_power_w, pilot_noise_w):
    """V_{l,k}^{-1} a_{l,k} with V_{l,k} = σ²/η I + Σ_j |ψ_j^H ψ_k|² v_{l,j} a_{l,j} a_{l,j}^H (000 eq 44), N × N per link."""
    a, v = csi.steering, csi.v
    overlap = np.abs(np.conj(book.T) @ book) ** 2
    out = np.zeros(a.shape, dtype=complex)
    for idx in np.ndindex(a.shape[:-2]):
        for k in range(csi.n_user):
            w = v[idx] * overlap[:, k]
            V = pilot_noise_w / pilot_power_w * np.eye(a.shape[-1]) + (a[idx].T * w) @ np.conj(a[idx])
            out[idx + (k,)] = np.linalg.solve(V, a[idx + (k,)])
    return out


@pytest.mark.parametrize("n_side, n_user", [(4, 10), (2, 12)])          # K ≤ N (K × K systems) and K > N (N × N)
@pytest.mark.parametrize("book", ["orthonormal", "random"])
def test_grouped_systems_equal_the_per_user_definition(n_side: int, n_user: int, book: str) -> None:
    params = paper000_params(n_h=n_side, n_v=n_side)
    csi = snapshot(2, 4, n_user, params, times_s=np.array([0.0, 1.5]))
    pilots = pilot_book(n_user, 3, None if book == "orthonormal" else np.random.default_rng(4))
    stats = pilot_statistics(csi, pilots, 0.2, params.noise_power_w)
    ref = v_inv_a_by_definition(csi, pilots, 0.2, params.noise_power_w)
    np.testing.assert_allclose(stats.v_inv_a, ref, rtol=0, atol=1e-9 * np.abs(ref).max())
