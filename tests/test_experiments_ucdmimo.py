"""Constellation drops, the 004 experiments (uc-dmimo-drop, uc-dmimo-coverage) and the 004 figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sgp4.api import SatrecArray

from simulator.errors import InputError
from simulator.experiments.constellation import cached_catalog, constellation_snapshot, remaining_service_s
from simulator.experiments.figures_ucdmimo import (plot_fig2a, plot_fig2b, plot_fig3, plot_fig4,
                                                   plot_fig5)
from simulator.experiments.registry import figures, get_experiment
from simulator.engine.recorder import read_table
from simulator.engine.run import run_scenario
from simulator.experiments.ucdmimo import COVERAGE_DEFAULTS, antenna_shape, coverage_rows, coverage_scenario_toml
from simulator.scenario import parse_scenario
from simulator.orbits import geodetic_to_ecef, look_angles, propagate_ecef
from simulator.orbits.propagate import builtin_timescale
from simulator.timebase import utc_ns_to_jd

CENTRE = dict(centre_lat_deg=42.36, centre_lon_deg=-71.06)
MASK_DEG = 10.0


def _snap(seed: int, n_sat=12, n_user=8, **kw):
    return constellation_snapshot(np.random.default_rng(seed), "starlink-shell1", n_sat, n_user,
                                  min_elevation_deg=MASK_DEG, **CENTRE, **kw)


def _brute_force(time_utc_ns: int):
    """Whole catalogue propagated independently of the drop's cache: elevation and range from the centre."""
    catalog, _ = cached_catalog("starlink-shell1")
    jd, fr = utc_ns_to_jd(np.array([time_utc_ns]))
    eph = propagate_ecef(catalog, jd, fr, timescale=builtin_timescale(), satrecs=SatrecArray(list(catalog.satrecs)))
    look = look_angles(eph.positions_m[0], eph.velocities_m_s[0], geodetic_to_ecef(CENTRE["centre_lat_deg"],
                                                                                   CENTRE["centre_lon_deg"], 0.0))
    return eph, look.elevation_rad[:, 0], look.slant_range_m[:, 0]


def test_constellation_drop_is_deterministic_per_seed():
    a, b, c = _snap(5), _snap(5), _snap(6)
    for x, y in zip(a.as_drop(), b.as_drop()):
        np.testing.assert_array_equal(x, y)
    assert a.time_utc_ns == b.time_utc_ns != c.time_utc_ns
    assert not np.array_equal(a.user_pos_m, c.user_pos_m)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kept_satellites_are_the_nearest_above_the_mask(seed):
    snap = _snap(seed)
    eph, elev, slant = _brute_force(snap.time_utc_ns)
    above = np.flatnonzero(np.degrees(elev) >= MASK_DEG)
    expected = above[np.argsort(slant[above])][:12]
    assert set(snap.sat_index.tolist()) == set(expected.tolist())
    assert snap.n_above_mask == above.size
    others = np.setdiff1d(above, snap.sat_index)
    assert slant[snap.sat_index].max() <= slant[others].min()
    # positions are the catalogue's at that instant (same SGP4 + frame): agreement to the metre
    np.testing.assert_allclose(snap.sat_pos_m, eph.positions_m[0, snap.sat_index], atol=1e-3)
    assert np.all(np.degrees(elev[snap.sat_index]) >= MASK_DEG)


def test_users_are_in_the_disc_and_spread_over_it():
    snap = _snap(3, n_user=400, disc_radius_km=150.0)
    centre = geodetic_to_ecef(CENTRE["centre_lat_deg"], CENTRE["centre_lon_deg"], 0.0)
    chord_m = np.linalg.norm(snap.user_pos_m - centre, axis=-1)
    assert chord_m.max() <= 150e3 + 1.0          # chord ≤ arc; 1 m for the ellipsoid vs sphere
    # uniform in area: the fraction inside half the radius is 1/4 (binomial sd 0.022 for 400 users)
    assert abs(np.mean(chord_m < 75e3) - 0.25) < 0.08


def test_all_above_mask_when_n_sat_is_none_and_bad_inputs_raise():
    snap = _snap(4, n_sat=None)
    assert snap.sat_pos_m.shape == (snap.n_above_mask, 3) and snap.n_above_mask > 12
    with pytest.raises(InputError, match="n_sat"):
        _snap(4, n_sat=0)
    with pytest.raises(InputError, match="catalog_or_preset"):
        constellation_snapshot(np.random.default_rng(0), 42, 3, 3, **CENTRE)


def test_remaining_service_time_matches_the_mask_crossing():
    snap = _snap(7, n_sat=6, n_user=3)
    service = remaining_service_s(snap, MASK_DEG)
    catalog = snap.catalog.subset(snap.sat_index)
    for probe_s, above in ((-2.0, True), (2.0, False)):   # 2 s: interpolation error at 10 s steps ≪ 1 s
        t = snap.time_utc_ns + np.round((service + probe_s) * 1e9).astype(np.int64)  # (L, K)
        for l in range(service.shape[0]):
            for k in range(service.shape[1]):
                if service[l, k] <= 3.0:
                    continue
                jd, fr = utc_ns_to_jd(np.array([t[l, k]]))
                eph = propagate_ecef(catalog.subset([l]), jd, fr, timescale=builtin_timescale())
                el = look_angles(eph.positions_m[0], eph.velocities_m_s[0], snap.user_pos_m[k]).elevation_rad
                assert (np.degrees(el[0, 0]) >= MASK_DEG) == above


@pytest.fixture(scope="module")
def drop_rows():
    fn = get_experiment("uc-dmimo-drop")
    params = {"n_ant": 16, "n_user": 8, "n_pilots": 8, "n_sat": 30}
    return fn(params, 11), fn(params, 11)


def test_drop_is_deterministic_and_paired(drop_rows):
    a, b = drop_rows
    pd.testing.assert_frame_equal(a, b)
    groups = a.groupby(["scheme", "rsap_policy", "phase_aware"])
    assert groups.ngroups == 3 * 2 * 2
    assert all(sorted(g["user_id"]) == list(range(8)) for _, g in groups)
    # paired: within a policy every scheme and phase model sees the same RSAP
    rsap = a.pivot_table(index=["rsap_policy", "user_id"], columns=["scheme", "phase_aware"], values="rsap_sat_id")
    assert (rsap.nunique(axis=1) == 1).all()
    assert set(a.columns) >= {"scheme", "rsap_policy", "phase_aware", "user_id", "se_bps_hz", "n_serving"}


def test_cluster_sizes_fc_contains_uc_and_nct_is_one(drop_rows):
    a = drop_rows[0]
    size = a[a["phase_aware"]].pivot_table(index=["rsap_policy", "user_id"], columns="scheme", values="n_serving")
    assert (size["fc-dmimo"] >= size["uc-dmimo"]).all()
    assert (size["uc-dmimo"] >= 1).all()
    assert (size["nct"] == 1).all()
    assert (size["fc-dmimo"] == a["n_visible"].iloc[0]).mean() > 0.5   # most users see every kept satellite


def test_phase_compensation_never_hurts_with_orthogonal_pilots(drop_rows):
    """With K ≤ τ_p the desired term |Σ_l p √γ s* ŝ|² is largest for ŝ = s (triangle inequality) and no
    other term depends on ŝ (docs/uc-dmimo.md), so every user's SE is at least the uncompensated one;
    for NCT one satellite's phase is a common rotation, so the two are equal."""
    a = drop_rows[0]
    se = a.pivot_table(index=["scheme", "rsap_policy", "user_id"], columns="phase_aware", values="se_bps_hz")
    assert (se[True] >= se[False] - 1e-9).all()
    np.testing.assert_allclose(se.loc["nct", True], se.loc["nct", False], rtol=1e-12)
    assert (se.loc["fc-dmimo", True] - se.loc["fc-dmimo", False]).mean() > 0.1   # many satellites: a real gain


def test_max_service_time_rsap_serves_longer(drop_rows):
    a = drop_rows[0]
    one = a[(a["scheme"] == "nct") & a["phase_aware"]].pivot_table(index="user_id", columns="rsap_policy",
                                                                     values="rsap_service_s")
    assert (one["max-service-time"] >= one["best-channel"] - 1e-9).all()


def test_unknown_parameter_and_antenna_shapes():
    with pytest.raises(InputError, match="unknown parameter 'n_antennas'"):
        get_experiment("uc-dmimo-drop")({"n_antennas": 4}, 0)
    assert antenna_shape(32) == (4, 8) and antenna_shape(7) == (1, 7)
    with pytest.raises(InputError):
        antenna_shape(0)


def test_coverage_rows_agree_with_the_handovers_of_a_tiny_replay(tmp_path):
    p = {**COVERAGE_DEFAULTS, "duration_s": 300.0, "step_s": 10.0, "n_user": 3, "n_ant": 4}
    scenario = parse_scenario(coverage_scenario_toml(p, 5, "2026-01-01T06:00:00Z"))
    run_dir = run_scenario(scenario, output_dir=tmp_path / "run")
    rows = coverage_rows(run_dir)
    h = read_table(run_dir, "handovers")
    h = h[(h["kind"] == "rsap") & h["from_sat"].notna() & h["to_sat"].notna()]
    t0 = pd.Timestamp("2026-01-01T06:00:00Z")
    assert set(rows["rsap_policy"]) == {"best-channel", "max-service-time"}
    for (policy, user), g in rows.groupby(["rsap_policy", "user_id"]):
        g = g.sort_values("start_s")
        # with a 0° mask a Starlink user is never without an RSAP: the intervals tile the replay
        assert g["start_s"].iloc[0] == 0.0
        np.testing.assert_allclose(g["start_s"].to_numpy()[1:], (g["start_s"] + g["duration_s"]).to_numpy()[:-1])
        assert g["censored"].tolist() == [False] * (len(g) - 1) + [True]
        assert g["start_s"].iloc[-1] + g["duration_s"].iloc[-1] == pytest.approx(300.0)
        # every later interval starts at an RSAP handover of that user, to the satellite handed over to
        mine = h[(h["rsap_policy"].astype(str) == policy) & (h["user_id"] == user)].sort_values("time", kind="stable")
        last = mine.groupby("time")["to_sat"].last()
        assert g["start_s"].tolist()[1:] == pytest.approx((last.index - t0).total_seconds().tolist())
        assert g["sat_id"].tolist()[1:] == [int(x) for x in last]


def test_coverage_experiment_rows_and_km_figure_numbers(tmp_path):
    rows = get_experiment("uc-dmimo-coverage")({"duration_s": 120.0, "step_s": 10.0, "n_user": 2, "n_ant": 4}, 3)
    assert set(rows.columns) >= {"rsap_policy", "user_id", "duration_s", "censored"}
    assert rows.groupby(["rsap_policy", "user_id"])["duration_s"].sum().to_numpy() == pytest.approx(120.0)
    # without censoring the plotted CDF (1 − Kaplan–Meier) is the empirical CDF of the durations
    rows = rows.assign(censored=False)
    table = plot_fig5({"uc-dmimo-fig5": rows}, tmp_path / "f5.png")
    for policy, g in rows.groupby("rsap_policy"):
        t = table[table["rsap_policy"] == policy]
        expected = [np.mean(g["duration_s"] <= d) for d in t["duration_s"]]
        np.testing.assert_allclose(t["cdf"], expected)


def _synthetic_drop_rows(rng):
    frames = []
    for n_planes, n_orb in ((36, 792), (72, 1584)):
        for n_ant in (16, 32):
            for scheme, size in (("uc-dmimo", 4), ("fc-dmimo", 40), ("nct", 1)):
                for policy in ("best-channel", "max-service-time"):
                    for aware in (True, False):
                        frames.append(pd.DataFrame({
                            "n_planes": n_planes, "n_ant": n_ant, "seed": 0, "scheme": scheme,
                            "rsap_policy": policy, "phase_aware": aware, "user_id": np.arange(6),
                            "se_bps_hz": rng.gamma(2.0, 1.0, 6), "n_serving": size + rng.integers(0, 3, 6),
                            "n_orbiting": n_orb}))
    return pd.concat(frames, ignore_index=True)


def test_every_figure_writes_a_non_blank_png(tmp_path):
    import matplotlib.image

    rng = np.random.default_rng(0)
    drops = _synthetic_drop_rows(rng)
    cover = pd.DataFrame({"rsap_policy": ["best-channel"] * 5 + ["max-service-time"] * 5, "user_id": 0,
                          "duration_s": rng.uniform(10, 600, 10), "censored": [False, True] * 5})
    rows = {"uc-dmimo-fig2": drops, "uc-dmimo-fig3": drops[drops["n_planes"] == 72], "uc-dmimo-fig5": cover}
    assert [f.number for f in figures("uc-dmimo")] == ["2a", "2b", "3", "4", "5"]
    for fn, name in ((plot_fig2a, "2a"), (plot_fig2b, "2b"), (plot_fig3, "3"), (plot_fig4, "4"), (plot_fig5, "5")):
        png = tmp_path / f"fig{name}.png"
        table = fn(rows, png)
        image = matplotlib.image.imread(png)
        assert image.std() > 0.01 and len(table) > 0
    assert set(plot_fig2a(rows, tmp_path / "a.png")["n_orbiting"]) == {792}
    assert set(plot_fig2b(rows, tmp_path / "b.png")["n_orbiting"]) == {1584}
