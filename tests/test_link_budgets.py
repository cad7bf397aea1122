"""Named link budgets (``[radio] link_budget``): TR 38.821 anchors end to end, overrides, noise warning, manifest."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from simulator.constants import BOLTZMANN, WGS84_A
from simulator.engine.inputs import radio_params
from simulator.engine.manifest import Manifest
from simulator.errors import ScenarioError
from simulator.radio import compute_statistical_csi, paper000_params, paper004_params
from simulator.radio.antenna_frame import slant_range_m
from simulator.radio.linkbudget import NoiseBelowThermalWarning, describe_link_budget, reference_cnr_db
from simulator.radio.presets import LINK_BUDGETS
from simulator.scenario import RadioConfig, Scenario, parse_scenario
from simulator.units import lin_to_db

SCENARIO = """
name = "budget"
[time]
start_utc = 2026-01-01T00:00:00Z
duration_s = 60
[constellation]
preset = "starlink-shell1"
[users]
points = [ { name = "a", lat_deg = 0.0, lon_deg = 0.0 } ]
[radio]
"""

#: TR 38.821 Table 6.1.3.3-1 downlink CNRs at 30° elevation from LEO-600 (REFERENCE.md 3.5), dB:
#: SC9 S band to a handheld, SC6 Ka band to a VSAT.
ANCHORS_DB = {"tr38821-s-band-handheld": 6.6, "tr38821-ka-vsat": 8.5}
#: k_B · 290 K in dBm/Hz (−173.98; the usual −174 is its rounding).
KT0_DBM_HZ = 10 * np.log10(BOLTZMANN * 290.0) + 30.0
#: The anchors are printed to 0.1 dB.
ANCHOR_TOLERANCE_DB = 0.1


def _scenario(radio: str) -> Scenario:
    return parse_scenario(SCENARIO + radio + "\n")


def _cnr_from_geometry_db(scenario: Scenario) -> float:
    """ρ_t β N / σ² of one satellite at 30° elevation from 600 km, through the CSI kernel (000 eqs 1–8)."""
    params = radio_params(scenario)
    el = np.radians(30.0)
    user = np.array([[WGS84_A, 0.0, 0.0]])  # on the equator: the geodetic up is the radial +x
    d = float(slant_range_m(600e3, el))
    sat = user[0] + d * np.array([np.sin(el), np.cos(el), 0.0])  # up·sin(el) + east·cos(el)
    csi = compute_statistical_csi(sat[None], np.array([[0.0, 0.0, 7.5e3]]), user, params=params,
                                  rng=np.random.default_rng(0))
    assert float(np.degrees(csi.elevation_rad[0, 0])) == pytest.approx(30.0, abs=1e-9)
    return float(lin_to_db(params.tx_power_w * csi.beta[0, 0] * params.n_ant / params.noise_power_w))


@pytest.mark.parametrize("name", sorted(ANCHORS_DB))
def test_tr38821_presets_reproduce_the_cnr_anchors(name):
    """Scenario → RadioParams → statistical CSI → CNR: within 0.1 dB of Table 6.1.3.3-1."""
    sc = _scenario(f'link_budget = "{name}"')
    cnr = _cnr_from_geometry_db(sc)
    assert abs(cnr - ANCHORS_DB[name]) <= ANCHOR_TOLERANCE_DB
    assert reference_cnr_db(sc.radio.model_dump()) == pytest.approx(cnr, abs=1e-6)  # the one-line summary


def test_anchor_numbers_are_those_of_the_reference(shared_reference_dir: Path):
    text = (shared_reference_dir / "REFERENCE.md").read_text()
    rows = {"tr38821-s-band-handheld": "SC9 LEO-600 S DL", "tr38821-ka-vsat": "SC6 LEO-600 Ka DL"}
    for name, row in rows.items():
        line = next(ln for ln in text.splitlines() if ln.startswith(f"| {row} |"))
        assert float(re.search(r"\*\*([\d.]+) dB\*\*", line).group(1)) == ANCHORS_DB[name]


def test_preset_physics_matches_the_tr_tables():
    """EIRP, G/T and noise from the preset's fields agree with TR 38.821 Tables 6.1.1.1-1/-3 and 6.1.3.3-1."""
    s = RadioConfig(link_budget="tr38821-s-band-handheld")
    eirp_dbw = s.tx_power_dbm - 30 + s.sat_gain_dbi + 10 * np.log10(64)
    assert eirp_dbw == pytest.approx(34.0 + 10 * np.log10(30.0), abs=1e-9)  # 48.8 dBW of SC9
    assert s.noise_dbm == pytest.approx(KT0_DBM_HZ + 10 * np.log10(30e6) + 7.0, abs=1e-9)  # kTB + NF
    ka = RadioConfig(link_budget="tr38821-ka-vsat")
    t_sys = 10 ** ((ka.noise_dbm - 30) / 10) / (BOLTZMANN * 400e6)
    assert ka.ue_gain_dbi - 10 * np.log10(t_sys) == pytest.approx(15.9, abs=0.05)  # VSAT G/T, dB/K
    assert ka.tx_power_dbm - 30 + ka.sat_gain_dbi + 10 * np.log10(64) == pytest.approx(30.0, abs=0.05)
    assert (s.band, ka.band) == ("S", "Ka")


def test_explicit_fields_override_the_preset():
    base = RadioConfig(link_budget="tr38821-s-band-handheld")
    narrow = RadioConfig(link_budget="tr38821-s-band-handheld", bandwidth_mhz=10.0)
    # The EIRP density and the noise PSD stay: power and noise both fall by 10 log10(3).
    assert base.tx_power_dbm - narrow.tx_power_dbm == pytest.approx(10 * np.log10(3.0))
    assert base.noise_dbm - narrow.noise_dbm == pytest.approx(10 * np.log10(3.0))
    big = RadioConfig(link_budget="tr38821-s-band-handheld", n_h=16, n_v=16)
    assert big.sat_gain_dbi + 10 * np.log10(256) == pytest.approx(30.0)  # same peak gain
    given = RadioConfig(link_budget="tr38821-s-band-handheld", tx_power_dbm=40.0, sat_gain_dbi=5.0, noise_dbm=-95.0)
    assert (given.tx_power_dbm, given.sat_gain_dbi, given.noise_dbm) == (40.0, 5.0, -95.0)
    assert given.noise_figure_db is None and given.antenna_temperature_k is None
    nf = RadioConfig(noise_figure_db=5.0)  # paper000 otherwise: the noise figure replaces −140 dBm
    assert nf.noise_dbm == pytest.approx(KT0_DBM_HZ + 10 * np.log10(20e6) + 5.0, abs=1e-9)
    cold = RadioConfig(noise_figure_db=1.0, antenna_temperature_k=50.0)
    assert cold.noise_dbm == pytest.approx(10 * np.log10(BOLTZMANN * (50 + 290 * (10**0.1 - 1)) * 20e6) + 30)


def test_paper_presets_are_the_papers_set_ups():
    assert RadioConfig() == RadioConfig(link_budget="paper000")  # the [radio] defaults
    with pytest.warns(NoiseBelowThermalWarning):
        assert radio_params(_scenario('link_budget = "paper000"')) == paper000_params()
    p004 = radio_params(_scenario('link_budget = "paper004"'))
    expected = paper004_params(aperture_radius_m=None, ue_tx_power_w=1.0)  # the 004 experiments' default
    assert p004.noise_w == pytest.approx(expected.noise_w, rel=1e-12)  # −174 dBm/Hz over 30 MHz, via dBm
    assert p004.replace(noise_w=expected.noise_w) == expected


def test_noise_below_ktb_warns_once_and_physical_noise_does_not():
    with pytest.warns(NoiseBelowThermalWarning, match=r"-140.0 dBm .* 39.0 dB below kTB = -101.0 dBm") as caught:
        _scenario("")
    assert len([w for w in caught if issubclass(w.category, NoiseBelowThermalWarning)]) == 1
    assert "\n" not in str(caught[0].message)
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("default")  # as a plain `leosim` process runs
        _scenario("")
        _scenario("")  # the same scenario loaded twice in one process: still one line
    below = [w for w in again if issubclass(w.category, NoiseBelowThermalWarning)]
    assert len(below) == 1 and below[0].filename == "leosim"  # no source line to echo under it
    assert warnings.formatwarning(below[0].message, below[0].category, below[0].filename,
                                  below[0].lineno).count("\n") == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", NoiseBelowThermalWarning)
        for radio in ('link_budget = "tr38821-s-band-handheld"', 'link_budget = "tr38821-ka-vsat"',
                      'link_budget = "paper004"', "noise_dbm = -100.0"):
            _scenario(radio)  # the VSAT's 242 K is below kT0B but comes from its noise figure


def test_bad_link_budget_input_is_one_line_error():
    with pytest.raises(ScenarioError, match=r"radio.*unknown link budget 'tr38821-x'; allowed: paper000, paper004"):
        _scenario('link_budget = "tr38821-x"')
    with pytest.raises(ScenarioError, match=r"noise_dbm = -90.0 disagrees with noise_figure_db = 7.0"):
        _scenario("noise_dbm = -90.0\nnoise_figure_db = 7.0")
    with pytest.raises(ScenarioError, match=r"antenna_temperature_k is used with noise_figure_db only"):
        _scenario('link_budget = "tr38821-s-band-handheld"\nnoise_dbm = -90.0\nantenna_temperature_k = 100.0')


@pytest.mark.parametrize("name", sorted(LINK_BUDGETS))
def test_manifest_records_the_resolved_radio(tmp_path, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoiseBelowThermalWarning)
        sc = _scenario(f'link_budget = "{name}"')
        radio = Manifest.create(tmp_path, sc).data["scenario"]["radio"]
        assert radio["link_budget"] == name
        for key in ("tx_power_dbm", "noise_dbm", "sat_gain_dbi", "bandwidth_mhz", "frequency_ghz"):
            assert radio[key] == getattr(sc.radio, key)
        assert Scenario.model_validate(sc.model_dump(mode="json")) == sc  # a dump re-validates unchanged
    line = describe_link_budget(radio)  # works on the manifest's dict as on the model
    assert line == describe_link_budget(sc.radio) and "\n" not in line and line.startswith(f"link budget {name}:")


def test_describe_link_budget_states_the_numbers():
    line = describe_link_budget(RadioConfig(link_budget="tr38821-s-band-handheld"))
    for part in ("2 GHz", "30 MHz", "EIRP 48.8 dBW", "34.0 dBW/MHz", "noise -92.2 dBm", "NF 7 dB", "kTB +7.0 dB",
                 "CNR 6.6 dB"):
        assert part in line
    # a manifest from before the presets: no link_budget, noise_figure_db or antenna_temperature_k
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoiseBelowThermalWarning)
        old = RadioConfig().model_dump(mode="json")
    for key in ("link_budget", "noise_figure_db", "antenna_temperature_k"):
        del old[key]
    line = describe_link_budget(old)
    assert line.startswith("link budget unnamed: 5 GHz, 20 MHz") and "noise -140.0 dBm (given; kTB -39.0 dB)" in line
