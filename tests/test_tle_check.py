"""`leosim tle check`: shells, epoch warnings, satellites SGP4 cannot propagate."""

from __future__ import annotations

import re

import numpy as np
import pytest

from simulator.cli import main
from simulator.orbits import load_catalog, walker_catalog, write_tle
from simulator.orbits.shells import find_shells, mean_altitude_km, sgp4_errors
from simulator.orbits.catalog import Catalog
from simulator.timebase import to_utc_ns

JD_UNIX_EPOCH = 2_440_587.5


def _jd(iso: str) -> float:
    return JD_UNIX_EPOCH + to_utc_ns(iso) / 86_400e9


def _join(*catalogs: Catalog) -> Catalog:
    return Catalog(names=sum((c.names for c in catalogs), ()), sat_ids=np.concatenate([c.sat_ids for c in catalogs]),
                   satrecs=sum((c.satrecs for c in catalogs), ()), source="joined")


def test_two_walker_presets_are_two_shells_at_their_altitudes():
    starlink, kuiper = walker_catalog("starlink-shell1"), walker_catalog("kuiper-630")
    shells, shell_of = find_shells(_join(starlink, kuiper))
    assert len(shells) == 2 and (shell_of >= 0).all()
    by_inc = shells.sort_values("inclination_deg").reset_index(drop=True)
    assert by_inc["n_sats"].tolist() == [len(kuiper), len(starlink)]
    assert by_inc["inclination_deg"].tolist() == pytest.approx([51.9, 53.0], abs=1e-6)
    # the generator sets the mean motion of the preset's altitude by Kepler's law; SGP4's Brouwer a is
    # larger by its J2 term (about 0.7 km here)
    assert by_inc["mean_altitude_km"].tolist() == pytest.approx([630.0, 550.0], abs=1.0)


def test_satellites_outside_dense_bands_are_not_a_shell():
    starlink = walker_catalog("starlink-shell1")
    lone = walker_catalog("iridium").subset(np.arange(3))  # 3 satellites at 86.4°: below 1 % of the catalogue
    shells, shell_of = find_shells(_join(starlink, lone))
    assert len(shells) == 1 and int((shell_of < 0).sum()) == 3


def test_mean_altitude_of_a_circular_orbit_from_kepler():
    cat = walker_catalog("iridium")
    s = cat.satrecs[0]
    mu_km3_s2 = 398600.8  # WGS-72, SGP4's constants
    n_rad_s = s.no_kozai / 60.0
    a_kozai_km = (mu_km3_s2 / n_rad_s**2) ** (1 / 3)
    # SGP4's Brouwer a differs from the Kozai a by the J2 correction (< 0.1 % in LEO)
    assert mean_altitude_km(cat)[0] == pytest.approx(a_kozai_km - 6378.135, abs=0.001 * a_kozai_km)


def test_check_of_the_real_starlink_file_lists_its_shells_and_warns_about_ages(shared_tle_dir, capsys):
    path = shared_tle_dir / "starlink_celestrak_2026-02-24.tle"
    if not path.exists():
        pytest.skip(f"{path} not present")
    assert main(["tle", "check", str(path), "--start", "2026-03-10T00:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"shells \(\d+;", out)
    rows = re.findall(r"^\s+(\d+\.\d+)°\s+(\d+\.\d) km\s+[\d.]+–\s*[\d.]+ km\s+(\d+)$", out, flags=re.M)
    assert len(rows) >= 4 and any(abs(float(i) - 53.2) < 0.1 for i, _, _ in rows)
    assert any(abs(float(i) - 97.6) < 0.1 for i, _, _ in rows)
    assert re.search(r"warning: \d+ of 9594 element sets are more than 3 days from the start", out)
    assert "spread" in out
    # a year after the snapshot, the lowest satellites have decayed
    failing = sgp4_errors(load_catalog(path), _jd("2027-02-24T00:00:00Z"))
    assert len(failing) > 0 and 6 in set(failing["error_code"])


def test_fresh_walker_file_has_no_warning_at_its_epoch(tmp_path, capsys):
    path = tmp_path / "w.tle"
    write_tle(path, walker_catalog("iridium"))
    assert main(["tle", "check", str(path), "--start", "2026-01-01T12:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert "from the start" not in out and "SGP4 fails at the start" not in out
    assert "86.40°" in out and "spread 0.00 days" in out
    assert main(["tle", "check", str(path), "--max-age-days", "0"]) == 2


def test_walker_writes_to_stdout_with_the_summary_on_stderr(tmp_path, capsys):
    assert main(["tle", "walker", "iridium", "-o", str(tmp_path / "f.tle")]) == 0
    capsys.readouterr()
    assert main(["tle", "walker", "iridium", "-o", "-"]) == 0
    out, err = capsys.readouterr()
    assert out == (tmp_path / "f.tle").read_text() and err.startswith("wrote 66 satellites")
    assert main(["tle", "walker", "iridium"]) == 0
    assert capsys.readouterr().out == out
