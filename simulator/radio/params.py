"""Radio configuration: a frozen, validated :class:`RadioParams` and the set-ups of papers 000 and 004.

Construct ``RadioParams`` at the edge (scenario loading) and pass it to the kernels; it never changes
afterwards. Values are SI and linear except the fields whose names end in ``_db``/``_dbi`` (dB).
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass
from typing import Any

from ..constants import SPEED_OF_LIGHT
from ..errors import InputError
from ..units import dbm_to_w, dbw_to_w
from .linkbudget import noise_power_w
from .pathloss import zenith_attenuation_db

__all__ = ["RadioParams", "KAPPA_MODELS", "ENVIRONMENTS", "BANDS", "LOS_MODELS", "paper000_params", "paper004_params"]

KAPPA_MODELS = ("constant", "uniform", "tr38811")
ENVIRONMENTS = ("dense_urban", "urban", "suburban", "rural")
BANDS = ("S", "Ka")
LOS_MODELS = ("always", "tr38811")


@dataclass(frozen=True)
class RadioParams:
    """Carrier, powers, antennas and channel model of every satellite→user link.

    Attributes
    ----------
    frequency_hz, bandwidth_hz : float, Hz — carrier f and system bandwidth B
    tx_power_w : float, W — satellite transmit power ρ_t (000 eq 13)
    noise_w : float, W, optional — receiver noise power σ_n²; if None it is k_B T_sys B from
        ``noise_temperature_k`` or from ``noise_figure_db`` (T_sys = 290 K + (F − 1) 290 K)
    noise_temperature_k : float, K, optional — system noise temperature
    noise_figure_db : float, dB, optional — UE noise figure (antenna temperature 290 K)
    n_h, n_v : int — UPA elements along the horizontal (cross-track) and vertical (along-track) axes
    spacing_h_wavelengths, spacing_v_wavelengths : float — element spacings d_h/λ, d_v/λ
    tx_gain_dbi, rx_gain_dbi : float, dBi — G^sat (peak, per link) and G^ue
    aperture_radius_m : float, m, optional — circular aperture radius for the TR 38.811 §6.4.1
        pattern evaluated at the off-nadir angle (004 eq 6); None: no pattern (000)
    zenith_attenuation_db : float, dB, optional — zenith gaseous attenuation; None: ITU-R P.676
        table value for the frequency (2–30 GHz)
    kappa_model : {'constant', 'uniform', 'tr38811'} — Rician K-factor model: ``kappa_db``;
        uniform in ``kappa_range_db`` (dB) per link (000 Sec. VI); or N(μ_K, σ_K) dB per link from
        TR 38.811 Tables 6.7.2-xa/b by elevation, environment and band
    kappa_db : float, dB — the constant K-factor
    kappa_range_db : (float, float), dB — [low, high] of the uniform model
    environment : {'dense_urban', 'urban', 'suburban', 'rural'} — TR 38.811 scenario of the tables
    band : {'S', 'Ka'} — which TR 38.811 column (tables, scintillation model) applies
    los_model : {'always', 'tr38811'} — every link LOS (000), or LOS drawn per link with the
        probability of Table 6.6.1-1; NLOS links get κ = 0 and the NLOS clutter loss and σ_SF
    shadowing : bool — draw log-normal shadow fading per link (004 eq 4)
    shadowing_sigma_db : float, dB, optional — σ_SF; None: TR 38.811 Tables 6.6.2-x by elevation
    scintillation : bool — add ionospheric (S band, 6.22/f_GHz^1.5 dB) or tropospheric (Ka band,
        Table 6.6.6.2.1-1) scintillation loss
    other_losses_db : float, dB — any further fixed loss (polarisation, body loss, …)
    ue_tx_power_w : float, W, optional — UE uplink (pilot) power η_t, used by pilot-based schemes
    """

    frequency_hz: float
    bandwidth_hz: float
    tx_power_w: float
    noise_w: float | None = None
    noise_temperature_k: float | None = None
    noise_figure_db: float | None = None
    n_h: int = 8
    n_v: int = 8
    spacing_h_wavelengths: float = 0.5
    spacing_v_wavelengths: float = 0.5
    tx_gain_dbi: float = 0.0
    rx_gain_dbi: float = 0.0
    aperture_radius_m: float | None = None
    zenith_attenuation_db: float | None = None
    kappa_model: str = "constant"
    kappa_db: float = 10.0
    kappa_range_db: tuple[float, float] = (15.0, 20.0)
    environment: str = "rural"
    band: str = "S"
    los_model: str = "always"
    shadowing: bool = False
    shadowing_sigma_db: float | None = None
    scintillation: bool = False
    other_losses_db: float = 0.0
    ue_tx_power_w: float | None = None

    def __post_init__(self) -> None:
        for name in ("frequency_hz", "bandwidth_hz", "tx_power_w"):
            _positive(name, getattr(self, name), "")
        for name in ("noise_w", "noise_temperature_k", "aperture_radius_m", "ue_tx_power_w"):
            if getattr(self, name) is not None:
                _positive(name, getattr(self, name), "or None")
        for name in ("spacing_h_wavelengths", "spacing_v_wavelengths"):
            _positive(name, getattr(self, name), "")
        for name in ("n_h", "n_v"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise InputError(f"{name}={value!r} must be an integer >= 1 (elements per array axis)")
            object.__setattr__(self, name, int(value))
        if self.noise_w is not None and (self.noise_temperature_k is not None or self.noise_figure_db is not None):
            raise InputError("give either noise_w or noise_temperature_k/noise_figure_db, not both")
        if self.noise_w is None and self.noise_temperature_k is None and self.noise_figure_db is None:
            raise InputError("no noise level: set noise_w (W), noise_temperature_k (K) or noise_figure_db (dB)")
        _choice("kappa_model", self.kappa_model, KAPPA_MODELS)
        _choice("environment", self.environment, ENVIRONMENTS)
        _choice("band", self.band, BANDS)
        _choice("los_model", self.los_model, LOS_MODELS)
        lo, hi = self.kappa_range_db
        if not lo <= hi:
            raise InputError(f"kappa_range_db=({lo}, {hi}) dB must have low <= high")
        if self.shadowing_sigma_db is not None and not self.shadowing_sigma_db >= 0.0:
            raise InputError(f"shadowing_sigma_db={self.shadowing_sigma_db} dB must be >= 0 or None (TR 38.811 tables)")
        if self.zenith_attenuation_db is None:
            zenith_attenuation_db(self.frequency_hz)  # raises InputError outside the tabulated range
        elif not self.zenith_attenuation_db >= 0.0:
            raise InputError(f"zenith_attenuation_db={self.zenith_attenuation_db} dB must be >= 0 or None")

    @property
    def wavelength_m(self) -> float:
        """Carrier wavelength λ = c / f (m)."""
        return SPEED_OF_LIGHT / self.frequency_hz

    @property
    def n_ant(self) -> int:
        """Number of satellite antenna elements N = N_h N_v."""
        return self.n_h * self.n_v

    @property
    def noise_power_w(self) -> float:
        """Noise power σ_n² (W): ``noise_w``, or k_B T_sys B from the temperature / noise figure."""
        if self.noise_w is not None:
            return float(self.noise_w)
        return noise_power_w(
            self.bandwidth_hz, noise_temperature_k=self.noise_temperature_k, noise_figure_db=self.noise_figure_db
        )

    @property
    def zenith_db(self) -> float:
        """Zenith gaseous attenuation in use (dB): the given value or the P.676 table value."""
        if self.zenith_attenuation_db is not None:
            return float(self.zenith_attenuation_db)
        return zenith_attenuation_db(self.frequency_hz)

    def replace(self, **changes: Any) -> "RadioParams":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def _positive(name: str, value: Any, extra: str) -> None:
    if isinstance(value, bool) or not (isinstance(value, numbers.Real) and value > 0.0):
        raise InputError(f"{name}={value!r} must be a positive number {extra}".rstrip())


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InputError(f"{name}={value!r} is not one of {', '.join(allowed)}")


def paper000_params(**changes: Any) -> RadioParams:
    """000 Section VI set-up (CF-mNTN, Kim et al. JSAC 2024), optionally with some fields changed.

    f = 5 GHz, B = 20 MHz, N = 8 × 8 UPA, κ uniform in 15–20 dB per link, G^sat = 3 dBi,
    G^ue = 0 dBi, ρ_t = 40 dBm (10 W), η_t = 30 dBm (1 W), σ_n² = −140 dBm (1e-17 W). The paper
    does not give the element spacing: half a wavelength is used. Atmospheric absorption uses the
    P.676 zenith value at 5 GHz (0.040 dB); no aperture pattern, shadowing or scintillation (000's
    β = G^sat G^ue / (L^free L^abs)). Satellites: 550 km, 53° (orbits, not radio).
    """
    base = RadioParams(
        frequency_hz=5.0e9,
        bandwidth_hz=20.0e6,
        tx_power_w=float(dbm_to_w(40.0)),
        noise_w=float(dbm_to_w(-140.0)),
        n_h=8,
        n_v=8,
        spacing_h_wavelengths=0.5,
        spacing_v_wavelengths=0.5,
        tx_gain_dbi=3.0,
        rx_gain_dbi=0.0,
        kappa_model="uniform",
        kappa_range_db=(15.0, 20.0),
        ue_tx_power_w=float(dbm_to_w(30.0)),
    )
    return base.replace(**changes) if changes else base


#: Noise power spectral density assumed for 004 (thermal noise at 290 K), dBm/Hz.
PAPER004_NOISE_PSD_DBM_HZ = -174.0


def paper004_params(**changes: Any) -> RadioParams:
    """004 Section IV set-up (UC-DMIMO), optionally with some fields changed.

    Stated in 004: f = 2 GHz, satellite antenna gain 30 dBi, maximum transmit power 15 dBW, user
    antenna gain 0 dB, minimum elevation 0° (pass ``min_elevation_deg=0`` to the CSI kernel).
    Lost in the text extraction of 004 and chosen here (change them with keyword arguments):
    aperture radius 10 wavelengths (the TR 38.811 §6.4.1 example aperture; 004 states the radius
    "in wavelengths"), bandwidth 30 MHz (TR 38.821 S-band), noise PSD −174 dBm/Hz, constant
    κ = 10 dB, log-normal shadowing with σ = 4 dB, N = 8 × 8 at λ/2. Other losses per 004 eq 4 and
    TR 38.811: P.676 gaseous absorption (0.035 dB at zenith) and S-band ionospheric scintillation
    (2.2 dB at 2 GHz).
    """
    frequency_hz = 2.0e9
    bandwidth_hz = 30.0e6
    base = RadioParams(
        frequency_hz=frequency_hz,
        bandwidth_hz=bandwidth_hz,
        tx_power_w=float(dbw_to_w(15.0)),
        noise_w=float(dbm_to_w(PAPER004_NOISE_PSD_DBM_HZ)) * bandwidth_hz,
        n_h=8,
        n_v=8,
        tx_gain_dbi=30.0,
        rx_gain_dbi=0.0,
        aperture_radius_m=10.0 * SPEED_OF_LIGHT / frequency_hz,
        kappa_model="constant",
        kappa_db=10.0,
        band="S",
        shadowing=True,
        shadowing_sigma_db=4.0,
        scintillation=True,
    )
    return base.replace(**changes) if changes else base
