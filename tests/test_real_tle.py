"""The real TLE snapshots in ../shared/data/tle load cleanly, re-write byte for byte, and show their planes."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.orbits.tle import format_tle_text, load_catalog

EXPECTED_COUNTS = {  # from ../shared/data/tle/README.md
    "starlink_celestrak_2026-02-24.tle": 9594,
    "starlink_2026-02-23.tle": 9543,
    "starlink_2023-07-18.tle": 4428,
    "oneweb_2025-12-23.tle": 651,
    "iridium_next_2026-01-03.tle": 66,
}


@pytest.fixture(scope="module")
def catalogs(shared_tle_dir):
    return {path.name: (path, load_catalog(path)) for path in sorted(shared_tle_dir.glob("*.tle"))}


def test_every_file_loads_without_problems(catalogs):
    assert set(catalogs) == set(EXPECTED_COUNTS)
    for name, (_, catalog) in catalogs.items():
        assert len(catalog) == EXPECTED_COUNTS[name]
        assert catalog.skipped == ()
        assert len(set(catalog.sat_ids.tolist())) == len(catalog)  # unique within a file (README)
        assert all(catalog.names)
    assert sum(len(c) for _, c in catalogs.values()) == 24_282


def test_formatting_reproduces_every_real_line(catalogs):
    """parse → Satrec → format gives the files back byte for byte (all 48 564 element lines)."""
    for path, catalog in catalogs.values():
        assert format_tle_text(catalog) == path.read_text()


def raan_clusters(raan_deg: np.ndarray, gap_deg: float = 5.0) -> list[np.ndarray]:
    """Node longitudes (deg) grouped where neighbours around the circle are more than ``gap_deg``
    apart. Groups come in order round the circle from the widest gap, values unwrapped (increasing)."""
    values = np.sort(np.asarray(raan_deg) % 360.0)
    gaps = np.diff(np.concatenate([values, values[:1] + 360.0]))  # gaps[i]: values[i] → next
    start = int(np.argmax(gaps)) + 1
    values, gaps = np.roll(values, -start), np.roll(gaps, -start)
    values = np.degrees(np.unwrap(np.radians(values)))
    return np.split(values, np.flatnonzero(gaps[:-1] > gap_deg) + 1)


def test_iridium_has_six_planes_of_eleven(catalogs):
    _, catalog = catalogs["iridium_next_2026-01-03.tle"]
    incl = np.degrees([s.inclo for s in catalog.satrecs])
    assert np.all(np.abs(incl - 86.4) < 0.1)
    groups = raan_clusters(np.degrees([s.nodeo for s in catalog.satrecs]))
    assert [len(g) for g in groups] == [11] * 6


def test_oneweb_has_twelve_planes_about_15_deg_apart(catalogs):
    _, catalog = catalogs["oneweb_2025-12-23.tle"]
    incl = np.degrees([s.inclo for s in catalog.satrecs])
    shell = np.abs(incl - 87.9) < 0.2
    assert shell.sum() == 648  # README: 648 of 651 in the 87.9° shell
    groups = raan_clusters(np.degrees([s.nodeo for s, ok in zip(catalog.satrecs, shell) if ok]))
    planes = [g for g in groups if len(g) >= 10]  # one drifting satellite sits alone between planes
    assert len(planes) == 12 and sum(map(len, planes)) == 647
    centres = np.array([np.median(g) for g in planes])
    # star pattern: 12 planes over about half a circle, 180/12 = 15° nominal, 15.2° flown
    assert np.allclose(np.diff(centres), 15.2, atol=0.5)
