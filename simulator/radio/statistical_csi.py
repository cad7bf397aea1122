"""Statistical CSI of every (satellite, user) link: the hand-off from radio to cooperation (000 Sec. II-B)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

__all__ = ["StatisticalCSI"]


@dataclass(frozen=True)
class StatisticalCSI:
    """Statistical CSI {θ, φ, β, κ, ν, τ} of 000 eq 1, plus the derived quantities the precoders use.

    Arrays share leading axes ``(..., S, U)`` (a snapshot is ``(S, U)``, a block of steps ``(T, S, U)``).

    Attributes
    ----------
    beta : ndarray, shape (..., S, U), linear — large-scale gain β_{l,k} (antenna gains, path loss,
        atmospheric and other losses); 0.0 where there is no link
    kappa : ndarray, shape (..., S, U), linear — Rician K-factor κ_{l,k}
    steering : ndarray, shape (..., S, U, N), complex — UPA response a_{l,k} = a_h ⊗ a_v (000 eqs 2–4, 7)
    phase_rad : ndarray, shape (..., S, U), rad — LOS phase φ_{l,k} = 2π(tν − fτ) (000 eq 5), wrapped to [−π, π)
    delay_s : ndarray, shape (..., S, U), s — LOS propagation delay τ_{l,k}
    doppler_hz : ndarray, shape (..., S, U), Hz — received Doppler shift ν_{l,k} = −(f/c) d/dt range
        (positive while approaching; the sign that makes eq 5 the expansion of −2πfτ(t), see docs/radio.md)
    theta_rad, phi_rad : ndarray, shape (..., S, U), rad — AoD in the satellite antenna frame
    elevation_rad : ndarray, shape (..., S, U), rad — elevation of the satellite seen from the user
    slant_range_m : ndarray, shape (..., S, U), m
    visible : ndarray, shape (..., S, U), bool — above the elevation mask (β is 0.0 where False)
    """

    beta: np.ndarray
    kappa: np.ndarray
    steering: np.ndarray
    phase_rad: np.ndarray
    delay_s: np.ndarray
    doppler_hz: np.ndarray
    theta_rad: np.ndarray
    phi_rad: np.ndarray
    elevation_rad: np.ndarray
    slant_range_m: np.ndarray
    visible: np.ndarray

    @property
    def v(self) -> np.ndarray:
        """v_{l,k} = β_{l,k} / (κ_{l,k} + 1) (000 eq 6; the paper reuses ν for it)."""
        return self.beta / (self.kappa + 1.0)

    @property
    def n_sat(self) -> int:
        return int(self.beta.shape[-2])

    @property
    def n_user(self) -> int:
        return int(self.beta.shape[-1])

    @property
    def n_ant(self) -> int:
        return int(self.steering.shape[-1])

    def _map(self, fn) -> "StatisticalCSI":
        """A copy with ``fn(array, n_trailing)`` applied to every array (n_trailing: 3 for steering, else 2)."""
        return StatisticalCSI(**{f.name: fn(getattr(self, f.name), 3 if f.name == "steering" else 2)
                                 for f in fields(self)})

    def steps(self, index: object) -> "StatisticalCSI":
        """The CSI at ``index`` of the leading axes (an int, a slice, …), e.g. one snapshot of a block.

        >>> z = np.zeros((4, 2, 3))
        >>> csi = StatisticalCSI(z, z, np.zeros((4, 2, 3, 5), complex), z, z, z, z, z, z, z, z.astype(bool))
        >>> csi.steps(slice(1, 3)).beta.shape, csi.steps(0).steering.shape
        ((2, 2, 3), (2, 3, 5))
        """
        return self._map(lambda x, n: x[index])

    def satellites(self, index: np.ndarray) -> "StatisticalCSI":
        """The CSI of the satellites ``index`` (integer or boolean array along the satellite axis)."""
        return self._map(lambda x, n: np.take(x, np.flatnonzero(index) if np.asarray(index).dtype == bool
                                               else np.asarray(index), axis=x.ndim - n))

    def flatten_steps(self) -> "StatisticalCSI":
        """The CSI with all leading axes flattened into one: arrays (T, S, U), steering (T, S, U, N)."""
        return self._map(lambda x, n: x.reshape((-1,) + x.shape[x.ndim - n:]))
