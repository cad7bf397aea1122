"""TR 38.811 tables, aperture pattern, path loss and link budgets against TR 38.811/38.821 and ITU-R P.676."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import j0

from simulator.constants import SPEED_OF_LIGHT
from simulator.errors import InputError
from simulator.radio import tr38811_tables as tables
from simulator.radio.antenna_frame import slant_range_m
from simulator.radio.aperture import aperture_gain, beamwidth_3db_rad
from simulator.radio.linkbudget import cnr_db, large_scale_gain, noise_power_w
from simulator.radio.params import RadioParams, paper000_params, paper004_params
from simulator.radio.pathloss import (
    clutter_loss_db,
    free_space_path_loss_db,
    gaseous_absorption_db,
    ionospheric_scintillation_db,
    los_probability,
    ricean_k_factor_db,
    shadow_fading_sigma_db,
    tropospheric_scintillation_db,
    zenith_attenuation_db,
)
from simulator.units import db_to_lin, dbm_to_w, lin_to_db

GRID_RAD = np.radians(tables.ELEVATION_GRID_DEG)
EL30 = np.radians(30.0)


@pytest.fixture(scope="module")
def reference(shared_reference_dir: Path) -> dict:
    return json.loads((shared_reference_dir / "tr38811_reference_tables.json").read_text())


def test_tables_equal_reference_json(reference: dict) -> None:
    assert list(tables.ELEVATION_GRID_DEG) == reference["elevation_deg"]
    assert {k: list(v) for k, v in tables.LOS_PROBABILITY_PCT.items()} == reference["los_probability_pct_table_6.6.1-1"]
    sf = reference["shadow_fading_sigma_and_clutter_loss_dB_tables_6.6.2-1_to_3"]
    assert set(sf) == set(tables.SHADOW_FADING_SIGMA_DB) == set(tables.CLUTTER_LOSS_DB)
    for env, cols in sf.items():
        for band in ("S", "Ka"):
            assert list(tables.SHADOW_FADING_SIGMA_DB[env][band]["LOS"]) == cols[f"{band}_LOS_sigma_SF"]
            assert list(tables.SHADOW_FADING_SIGMA_DB[env][band]["NLOS"]) == cols[f"{band}_NLOS_sigma_SF"]
            assert list(tables.CLUTTER_LOSS_DB[env][band]) == cols[f"{band}_NLOS_CL"]
    k_ref = {k: v for k, v in reference["ricean_K_factor_LOS_dB_tables_6.7.2-xa_xb"].items() if k != "note"}
    assert {f"{env}_{band}" for env, band in tables.RICEAN_K_DB} == set(k_ref)
    for (env, band), (mu, sigma) in tables.RICEAN_K_DB.items():
        assert list(mu) == k_ref[f"{env}_{band}"]["mu_K"]
        assert list(sigma) == k_ref[f"{env}_{band}"]["sigma_K"]
    scint_key = "tropospheric_scintillation_dB_table_6.6.6.2.1-1_20GHz_Toulouse_p99"
    assert list(tables.TROPOSPHERIC_SCINTILLATION_DB) == reference[scint_key]
    p676 = reference["p676_zenith_attenuation_dB_sea_level_7.5gm3"]
    for f_hz, a_db in tables.P676_ZENITH_ATTENUATION_DB:
        assert p676[f"{f_hz / 1e9:g} GHz"] == a_db


def test_elevation_tables_interpolate_through_grid_points() -> None:
    """At 10°, 20°, … the interpolants equal the table rows; between them they are linear; below 10° held."""
    for env in ("dense_urban", "urban", "suburban", "rural"):
        key = tables.table_environment(env)
        np.testing.assert_allclose(los_probability(GRID_RAD, env) * 100, tables.LOS_PROBABILITY_PCT[key], atol=1e-12)
        for band in ("S", "Ka"):
            mu, sigma = ricean_k_factor_db(GRID_RAD, env, band)
            np.testing.assert_allclose(mu, tables.RICEAN_K_DB[(env, band)][0], atol=1e-12)
            np.testing.assert_allclose(sigma, tables.RICEAN_K_DB[(env, band)][1], atol=1e-12)
            rows = tables.SHADOW_FADING_SIGMA_DB[key][band]
            np.testing.assert_allclose(shadow_fading_sigma_db(GRID_RAD, env, band, True), rows["LOS"], atol=1e-12)
            np.testing.assert_allclose(shadow_fading_sigma_db(GRID_RAD, env, band, False), rows["NLOS"], atol=1e-12)
            cl = clutter_loss_db(GRID_RAD, env, band, False)
            np.testing.assert_allclose(cl, tables.CLUTTER_LOSS_DB[key][band], atol=1e-12)
            np.testing.assert_array_equal(clutter_loss_db(GRID_RAD, env, band, True), 0.0)
    mu_mid, _ = ricean_k_factor_db(np.radians(25.0), "rural", "Ka")
    assert float(mu_mid) == pytest.approx((12.72 + 8.4) / 2, abs=1e-12)
    mu_low, _ = ricean_k_factor_db(np.radians([0.0, 5.0]), "urban", "S")
    np.testing.assert_allclose(mu_low, 31.83, atol=1e-12)
    np.testing.assert_allclose(tropospheric_scintillation_db(GRID_RAD), tables.TROPOSPHERIC_SCINTILLATION_DB, atol=1e-12)


@pytest.mark.parametrize(
    ("diameter_m", "frequency_hz", "beamwidth_deg"),
    # TR 38.821 Table 6.1.1.1-1 via REFERENCE 3.1–3.2
    [(2.0, 2.0e9, 4.4127), (0.5, 20.0e9, 1.7647), (22.0, 2.0e9, 0.4011), (5.0, 20.0e9, 0.1765)],
)
def test_aperture_3db_beamwidths_of_tr38821(diameter_m: float, frequency_hz: float, beamwidth_deg: float) -> None:
    bw = beamwidth_3db_rad(diameter_m / 2, frequency_hz)
    assert np.degrees(bw) == pytest.approx(beamwidth_deg, abs=5e-5)  # the TR prints 4 decimals
    assert float(lin_to_db(aperture_gain(bw / 2, diameter_m / 2, frequency_hz))) == pytest.approx(-3.0, abs=1e-9)


def test_aperture_pattern_is_the_far_field_of_a_uniform_disc() -> None:
    """2 J1(u)/u = 2 ∫₀¹ J0(u r) r dr (uniformly illuminated circular aperture), checked by quadrature."""
    a, f = 1.0, 2.0e9
    k = 2 * np.pi * f / SPEED_OF_LIGHT
    theta = np.radians([0.0, 1e-7, 0.5, 2.2, 3.0, 5.0, 10.0, 45.0, 90.0])
    got = aperture_gain(theta, a, f)
    for th, g in zip(theta, got):
        u = k * a * np.sin(th)
        field = 2 * quad(lambda r: j0(u * r) * r, 0.0, 1.0, limit=200)[0]
        assert g == pytest.approx(field**2, abs=1e-10)
    assert got[0] == 1.0 and np.all(got <= 1.0)
    u_null = 3.8317059702075125  # first zero of J1
    assert float(aperture_gain(np.arcsin(u_null / (k * a)), a, f)) < 1e-20


@pytest.mark.parametrize(
    ("altitude_m", "frequency_hz", "fspl_db"),
    [  # REFERENCE 3.5 (OpenNTN Link_Budget_test, TR 38.821): 30° elevation
        (600e3, 20e9, 179.1), (600e3, 30e9, 182.6), (600e3, 2e9, 159.1),
        (1200e3, 20e9, 184.5), (1200e3, 30e9, 188.0), (1200e3, 2e9, 164.5),
    ],
)
def test_fspl_at_30_degrees(altitude_m: float, frequency_hz: float, fspl_db: float) -> None:
    d = slant_range_m(altitude_m, EL30)
    got = float(free_space_path_loss_db(d, frequency_hz))
    assert got == pytest.approx(fspl_db, abs=0.1)  # the TR rounds to 0.1 dB
    tr_formula = 32.45 + 20 * np.log10(frequency_hz / 1e9) + 20 * np.log10(d)  # TR 38.811 §6.6.2
    assert got == pytest.approx(tr_formula, abs=0.003)  # 32.45 is 32.4478 rounded


def test_gaseous_absorption_against_p676() -> None:
    a20 = zenith_attenuation_db(20e9)
    assert a20 == pytest.approx(0.253, abs=1e-12)
    # ITU-Rpy exact slant path at 20 GHz: 0.505 dB at 30°, 1.44 dB at 10° (REFERENCE 3.4)
    assert float(gaseous_absorption_db(np.radians(30.0), a20)) == pytest.approx(0.505, abs=0.01)
    assert float(gaseous_absorption_db(np.radians(10.0), a20)) == pytest.approx(1.44, abs=0.02)
    el = np.radians(np.linspace(10.0, 90.0, 17))
    cosecant = a20 / np.sin(el)  # 000 L^abs, TR 38.811 §6.6.4
    np.testing.assert_allclose(gaseous_absorption_db(el, a20, equivalent_height_m=np.inf), cosecant, rtol=1e-14)
    np.testing.assert_allclose(gaseous_absorption_db(el, a20), cosecant, rtol=0.015)
    assert np.isfinite(gaseous_absorption_db(0.0, a20))
    for f_hz, a_db in tables.P676_ZENITH_ATTENUATION_DB:
        assert zenith_attenuation_db(f_hz) == pytest.approx(a_db, rel=1e-12)
    between = zenith_attenuation_db(3.5e9)
    assert 0.035 < between < 0.040 and between == pytest.approx(np.sqrt(0.035 * 0.040), rel=1e-12)  # log-linear midpoint
    with pytest.raises(InputError, match="zenith_attenuation_db"):
        zenith_attenuation_db(1.6e9)


def test_noise_temperature_of_handheld_gives_tr38821_g_over_t() -> None:
    """TR 38.821 Table 6.1.1.1-3 handheld: 0 dBi, 290 K, NF 7 dB ⇒ G/T = −31.6 dB/K (used in SC9)."""
    n1 = noise_power_w(1.0, noise_figure_db=7.0)
    t_sys = n1 / 1.380649e-23
    assert 0.0 - float(lin_to_db(t_sys)) == pytest.approx(-31.6, abs=0.05)
    assert float(lin_to_db(noise_power_w(1.0, noise_temperature_k=290.0))) + 30 == pytest.approx(-173.98, abs=0.01)


def _leo600_budget(frequency_hz: float, atm_db: float, scint_db: float, shadow_db: float) -> float:
    d = slant_range_m(600e3, EL30)
    return float(free_space_path_loss_db(d, frequency_hz)) + atm_db + scint_db + shadow_db


def test_tr38821_sc9_s_band_downlink_cnr() -> None:
    """SC9 LEO-600 S-band DL at 30°: EIRP 48.8 dBW, G/T −31.6 dB/K, B 30 MHz ⇒ CNR 6.6 dB."""
    atm = float(gaseous_absorption_db(EL30, zenith_attenuation_db(2e9)))
    scint = float(ionospheric_scintillation_db(2e9))
    assert atm == pytest.approx(0.1, abs=0.05)  # the TR lists 0.1 dB (P.676 gives 0.07 dB)
    assert scint == pytest.approx(2.2, abs=0.005)
    cnr = float(cnr_db(48.8, -31.6, _leo600_budget(2e9, atm, scint, 3.0), 30e6))
    assert cnr == pytest.approx(6.6, abs=0.1)


def test_tr38821_sc6_ka_band_downlink_cnr() -> None:
    """SC6 LEO-600 Ka-band DL at 30°: EIRP 30 dBW, G/T 15.9 dB/K, B 400 MHz ⇒ CNR 8.5 dB."""
    atm = float(gaseous_absorption_db(EL30, zenith_attenuation_db(20e9)))
    scint = float(tropospheric_scintillation_db(EL30))
    assert atm == pytest.approx(0.5, abs=0.01)
    assert scint == pytest.approx(0.3, abs=1e-12)
    cnr = float(cnr_db(30.0, 15.9, _leo600_budget(20e9, atm, scint, 0.0), 400e6))
    assert cnr == pytest.approx(8.5, abs=0.1)


def test_large_scale_gain_snr_equals_cnr_of_the_same_budget() -> None:
    """ρ β / σ² from β and a noise figure equals the TR-style CNR of the same link (two independent paths)."""
    d = slant_range_m(600e3, EL30)
    tx_power_dbw, tx_gain = 18.8, 30.0  # EIRP 48.8 dBW
    losses = 0.1 + 3.0 + 2.2
    beta = large_scale_gain(d, 2e9, tx_gain_dbi=tx_gain, rx_gain_dbi=0.0, loss_db=losses)
    snr_db = tx_power_dbw + float(lin_to_db(beta)) - float(lin_to_db(noise_power_w(30e6, noise_figure_db=7.0)))
    cnr = float(cnr_db(tx_power_dbw + tx_gain, -float(lin_to_db(noise_power_w(1.0, noise_figure_db=7.0) / 1.380649e-23)),
                       float(free_space_path_loss_db(d, 2e9)) + losses, 30e6))
    assert snr_db == pytest.approx(cnr, abs=1e-9)


def test_beta_of_000_section_v_example() -> None:
    """000 Sec. V: 12 GHz, 600 km, G^sat = 3 dBi ⇒ "β ≈ 2 × 10⁻¹⁷"."""
    beta = float(large_scale_gain(600e3, 12e9, tx_gain_dbi=3.0))
    assert beta == pytest.approx(2e-17, rel=0.15)  # the paper gives one significant digit


def test_paper_parameter_sets() -> None:
    p0 = paper000_params()
    assert (p0.frequency_hz, p0.bandwidth_hz, p0.n_ant) == (5e9, 20e6, 64)
    assert p0.tx_power_w == pytest.approx(10.0) and p0.noise_power_w == pytest.approx(1e-17)  # 40 dBm, −140 dBm
    assert p0.ue_tx_power_w == pytest.approx(1.0) and p0.kappa_range_db == (15.0, 20.0)
    assert p0.zenith_db == pytest.approx(0.040)
    p4 = paper004_params()
    assert p4.tx_power_w == pytest.approx(float(db_to_lin(15.0))) and p4.tx_gain_dbi == 30.0
    assert p4.aperture_radius_m == pytest.approx(10 * SPEED_OF_LIGHT / 2e9)
    assert p4.noise_power_w == pytest.approx(float(dbm_to_w(-174.0)) * 30e6)
    assert paper000_params(kappa_model="constant", kappa_db=30.0).kappa_db == 30.0


@pytest.mark.parametrize(
    "changes",
    [
        {"frequency_hz": -1.0}, {"n_h": 0}, {"n_v": 2.5}, {"kappa_model": "rayleigh"}, {"environment": "forest"},
        {"band": "Ku"}, {"kappa_range_db": (20.0, 15.0)}, {"noise_temperature_k": 290.0},
        {"frequency_hz": 1.5e9}, {"los_model": "sometimes"}, {"shadowing_sigma_db": -1.0},
    ],
)
def test_invalid_params_raise_input_error(changes: dict) -> None:
    with pytest.raises(InputError):
        paper000_params(**changes)


def test_noise_from_temperature() -> None:
    p = RadioParams(frequency_hz=2e9, bandwidth_hz=30e6, tx_power_w=1.0, noise_figure_db=7.0)
    assert p.noise_power_w == pytest.approx(noise_power_w(30e6, noise_figure_db=7.0))
    with pytest.raises(InputError, match="noise"):
        RadioParams(frequency_hz=2e9, bandwidth_hz=30e6, tx_power_w=1.0)
