"""The ``cf-mntn-drop`` experiment, the 000 figures and ``leosim figures`` (issue 7)."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest

from simulator.cli import main
from simulator.constants import SPEED_OF_LIGHT
from simulator.errors import InputError
from simulator.experiments import registry
from simulator.experiments.cfmntn import (
    DEFAULTS,
    SCHEMES_000,
    cf_mntn_drop,
    reference_gain,
    resolve_params,
    tx_power_for_snr,
    upa_shape,
)
from simulator.experiments.drops import paper000_drop
from simulator.radio.params import paper000_params
from simulator.units import db_to_lin, lin_to_db

# A small drop keeps every scheme (Algorithm 1 included) well under a second.
SMALL = {"n_sat": 6, "n_user": 4, "n_ant": 16, "k_max": 3}


@pytest.fixture(scope="module")
def small_rows() -> pd.DataFrame:
    return cf_mntn_drop(SMALL, 3)


def test_every_scheme_present_with_finite_nonnegative_rates(small_rows):
    assert list(dict.fromkeys(small_rows["scheme"])) == list(SCHEMES_000)
    for scheme, part in small_rows.groupby("scheme"):
        assert sorted(part["user_id"]) == list(range(SMALL["n_user"]))
        se = part["se_bps_hz"].to_numpy()
        assert np.all(np.isfinite(se)) and np.all(se >= 0.0)
        # drop-level columns are the sum and minimum of the per-user column (bit/s/Hz, rounding only)
        assert part["sum_se_bps_hz"].nunique() == 1 and part["sum_se_bps_hz"].iat[0] == pytest.approx(se.sum())
        assert part["min_se_bps_hz"].iat[0] == pytest.approx(se.min())
        served = part["n_serving"] > 0
        sinr = db_to_lin(part["sinr_db"].to_numpy()[served.to_numpy()])
        assert np.allclose(np.log2(1.0 + sinr), se[served.to_numpy()], rtol=1e-9)
    single = small_rows[small_rows["scheme"].isin(["single-slnr", "single-smrt", "spot-beam"])]
    assert set(single["n_serving"]) <= {0, 1}
    assert set(small_rows.columns) >= {"scheme", "user_id", "se_bps_hz", "sinr_db", "n_serving", "sum_se_bps_hz",
                                       "min_se_bps_hz", "inner_iters", "outer_iters", "solve_s", "status"}


def test_deterministic_per_seed_and_different_across_seeds(small_rows):
    again = cf_mntn_drop(SMALL, 3)
    cols = [c for c in small_rows.columns if c != "solve_s"]  # wall time is the only unrepeatable column
    pd.testing.assert_frame_equal(small_rows[cols], again[cols])
    other = cf_mntn_drop({**SMALL, "schemes": ["single-smrt"]}, 4)
    mine = small_rows[small_rows["scheme"] == "single-smrt"]
    assert not np.allclose(other["se_bps_hz"], mine["se_bps_hz"])


def test_paired_draw_does_not_depend_on_the_scheme_list(small_rows):
    """Schemes never consume random numbers: each one alone sees the drop it sees among all nine."""
    for scheme in ("cf-mntn-szf", "single-slnr", "spot-beam", "cf-mmimo-imrt"):
        alone = cf_mntn_drop({**SMALL, "schemes": [scheme]}, 3)
        mine = small_rows[small_rows["scheme"] == scheme].reset_index(drop=True)
        np.testing.assert_allclose(alone["se_bps_hz"], mine["se_bps_hz"], rtol=1e-6, atol=1e-9)
        np.testing.assert_array_equal(alone["n_serving"], mine["n_serving"])


def test_single_satellite_single_user_matches_analytic_smrt():
    """L = K = 1: Algorithm 1 and the single-satellite scheme both use full power, and the sMRT SINR
    of 000 eq 22 reduces to κ x / (x + 1) with x = ρ_t N v / σ_n², v = β / (κ + 1)."""
    params = {"n_sat": 1, "n_user": 1, "n_ant": 16, "k_max": 1, "kappa_db": 10.0, "snr_db": 0.0,
              "schemes": ["cf-mntn-smrt", "single-smrt"]}
    rows = cf_mntn_drop(params, 5)
    se = rows.set_index("scheme")["se_bps_hz"]
    assert se["cf-mntn-smrt"] == pytest.approx(se["single-smrt"], rel=1e-4)  # solver tolerance on p = 1
    sat, _, user = paper000_drop(np.random.default_rng(5), 1, 1)
    rel = user[0] - sat[0]
    d = np.linalg.norm(rel)
    sin_el = -rel @ user[0] / (d * np.linalg.norm(user[0]))   # spherical up: < 0.2° off the geodetic one
    p = paper000_params()
    loss_db = p.zenith_db / sin_el                              # cosecant law, within 1.5 % of the shell path
    beta = db_to_lin(3.0 - loss_db) * (SPEED_OF_LIGHT / (4 * np.pi * p.frequency_hz * d)) ** 2
    kappa = 10.0
    x = tx_power_for_snr(0.0, p) * 16 * beta / (kappa + 1) / p.noise_power_w
    expected = np.log2(1 + kappa * x / (x + 1))
    assert se["single-smrt"] == pytest.approx(expected, rel=1e-4)  # 0.001 dB of absorption ≈ 2e-5 relative


def test_reference_snr_definition():
    p = paper000_params()
    fspl = (4 * np.pi * 550e3 * p.frequency_hz / SPEED_OF_LIGHT) ** 2
    expected = db_to_lin(3.0 - p.zenith_db) / fspl
    assert reference_gain(p) == pytest.approx(expected, rel=1e-9)
    # 000's ρ_t = 40 dBm gives SNR = 40 + 140 − 158.3 dB
    assert float(lin_to_db(p.tx_power_w * reference_gain(p) / p.noise_power_w)) == pytest.approx(21.7, abs=0.05)
    assert tx_power_for_snr(21.7, p) == pytest.approx(p.tx_power_w, rel=0.02)


def test_higher_snr_never_lowers_smrt_rates():
    rows = [cf_mntn_drop({**SMALL, "snr_db": snr, "schemes": ["cf-mntn-smrt", "single-smrt"]}, 7)
            for snr in (-10.0, 0.0, 10.0, 20.0)]
    for scheme in ("cf-mntn-smrt", "single-smrt"):
        total = [r.loc[r["scheme"] == scheme, "sum_se_bps_hz"].iat[0] for r in rows]
        low = [r.loc[r["scheme"] == scheme, "min_se_bps_hz"].iat[0] for r in rows]
        # max-min optima can only grow with ρ_t; 0.5 % allows for the solver's relative tolerance
        assert all(b >= a * 0.995 for a, b in zip(total, total[1:])), (scheme, total)
        assert all(b >= a * 0.995 for a, b in zip(low, low[1:])), (scheme, low)
        assert total[-1] > total[0]


def test_fixed_kappa_and_array_shape():
    assert upa_shape(96) == (12, 8) and upa_shape(32) == (8, 4) and upa_shape(7) == (7, 1)
    p = resolve_params({"n_ant": 96, "n_user": 16, "k_max": "8K/10"})
    assert (p["n_h"], p["n_v"], p["k_max"]) == (12, 8, 12)
    assert resolve_params({"n_user": 4, "k_max": "8K/10"})["k_max"] == 3
    rows = cf_mntn_drop({**SMALL, "kappa_db": 40.0, "schemes": ["single-smrt"]}, 2)
    # at κ = 40 dB the SINR of a single sMRT link is capped by κ (000 eq 22 with σ → 0 and no interference)
    assert np.all(db_to_lin(rows["sinr_db"]) < 1e4)


@pytest.mark.parametrize("params, words", [
    ({"n_sats": 3}, ["n_sats", "allowed", "n_sat"]),
    ({"n_sat": 0}, ["n_sat=0", ">= 1"]),
    ({"n_user": 2.5}, ["n_user"]),
    ({"k_max": "auto"}, ["k_max", "8K/10"]),
    ({"snr_db": "high"}, ["snr_db"]),
    ({"kappa_db": float("nan")}, ["kappa_db"]),
    ({"schemes": ["uc-dmimo"]}, ["uc-dmimo", "cf-mntn-smrt"]),
    ({"schemes": "cf-mntn-smrt"}, ["schemes"]),
    ({"geometry": "sphere"}, ["geometry", "box"]),
    ({"n_ant": 64, "n_h": 4}, ["n_ant", "n_h"]),
    ({"centre_lat_deg": 95.0}, ["centre_lat_deg"]),
])
def test_parameter_validation(params, words):
    with pytest.raises(InputError) as err:
        cf_mntn_drop(params, 0)
    for word in words:
        assert word in str(err.value)


def test_defaults_are_000_section_vi():
    assert (DEFAULTS["n_sat"], DEFAULTS["n_user"], DEFAULTS["n_h"] * DEFAULTS["n_v"], DEFAULTS["k_max"],
            DEFAULTS["n_pilots"], DEFAULTS["n_beams"]) == (20, 10, 64, 8, 4, 64)
    assert registry.get_experiment("cf-mntn-drop") is cf_mntn_drop


# -- figures ------------------------------------------------------------------------------------------
def _synthetic(grid: dict, schemes, n_seeds: int = 3) -> pd.DataFrame:
    """Rows shaped like a sweep of cf-mntn-drop (grid columns, seed, scheme, per-user and drop-level)."""
    rng = np.random.default_rng(0)
    keys = list(grid)
    points = [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]
    out = []
    for point in points:
        for seed in range(n_seeds):
            for scheme in schemes:
                se = rng.uniform(0.5, 5.0, size=2)
                out.append(pd.DataFrame({**{k: point[k] for k in keys}, "seed": seed, "scheme": scheme,
                                         "user_id": [0, 1], "se_bps_hz": se, "sum_se_bps_hz": se.sum(),
                                         "min_se_bps_hz": se.min(), "inner_iters": int(rng.integers(5, 30)),
                                         "outer_iters": int(rng.integers(1, 15))}))
    return pd.concat(out, ignore_index=True)


def _assert_png(path):
    import matplotlib.image as mpimg

    image = mpimg.imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert float(np.std(image[..., :3])) > 0.02   # not a blank canvas


def test_every_figure_plots_synthetic_rows(tmp_path):
    figs = {f.number: f for f in registry.figures("cf-mntn")}
    assert list(figs) == ["3", "4", "5", "6", "7", "8", "9", "10"]
    grids = {"3": {"snr_db": [0, 10]}, "4": {"n_sat": [10, 20]}, "5": {"n_sat": [10, 20]},
             "6": {"n_user": [4, 8]}, "7": {"kappa_db": [0.0, 10.0]}, "8": {"n_ant": [16, 64]}}
    for number, fig in figs.items():
        assert all(p.is_file() for p in fig.sweeps), fig.sweeps  # the shipped sweep files exist
        assert fig.axes
        png = tmp_path / f"fig{number}.png"
        if number in grids:
            (x,) = grids[number]
            metric = "min_se_bps_hz" if number in ("5", "8") else "sum_se_bps_hz"
            rows = {f"cf-mntn-fig{number}": _synthetic(grids[number], SCHEMES_000)}
            table = fig.plot(rows, png)
            assert list(table.columns) == ["scheme", x, f"{metric}_mean", f"{metric}_ci95", "n_drops"]
            assert (table["n_drops"] == 3).all()
            frame = rows[f"cf-mntn-fig{number}"]
            first = frame[(frame["scheme"] == table["scheme"].iat[0]) & (frame[x] == table[x].iat[0])]
            assert table[f"{metric}_mean"].iat[0] == pytest.approx(first.groupby("seed")[metric].first().mean())
        elif number == "9":
            rows = {f"cf-mntn-fig9-{env}": _synthetic({"snr_db": [0, 10]}, ["cf-mntn-smrt", "cf-mntn-szf"])
                    for env in ("dense", "moderate", "sparse")}
            table = fig.plot(rows, png)
            assert list(table.columns) == ["environment", "scheme", "snr_db", "min_se_bps_hz_mean",
                                           "min_se_bps_hz_ci95", "n_drops"]
            assert len(table) == 3 * 2 * 2
        else:
            rows = {"cf-mntn-fig10": _synthetic({}, ["cf-mntn-smrt", "cf-mntn-szf"], n_seeds=5)}
            table = fig.plot(rows, png)
            assert list(table.columns) == ["scheme", "kind", "iterations", "cdf"]
            last = table.groupby(["scheme", "kind"])["cdf"].last()
            assert np.allclose(last, 1.0) and len(last) == 6
        _assert_png(png)


def test_figure_reports_missing_sweep(tmp_path):
    fig = {f.number: f for f in registry.figures("cf-mntn")}["3"]
    with pytest.raises(InputError, match="cf-mntn-fig3"):
        fig.plot({}, tmp_path / "x.png")


# -- leosim figures --------------------------------------------------------------------------------------
TINY_FIG10 = """
name = "cf-mntn-fig10"
experiment = "cf-mntn-drop"
seeds = 50
[base]
schemes = ["cf-mntn-smrt", "cf-mntn-szf"]
n_sat = 4
n_user = 3
n_ant = 16
k_max = 2
"""


def test_leosim_figures_end_to_end(tmp_path, monkeypatch, capsys):
    sweep = tmp_path / "tiny-fig10.toml"
    sweep.write_text(TINY_FIG10, encoding="utf-8")
    fig = {f.number: f for f in registry.figures("cf-mntn")}["10"]
    monkeypatch.setitem(registry.FIGURES, ("cf-mntn", "10"), dataclasses.replace(fig, sweeps=(sweep,)))
    out = tmp_path / "out"
    argv = ["figures", "cf-mntn", "--fig", "10", "--drops", "2", "--workers", "0", "--no-progress", "-o", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "cf-mntn-fig10.png" in printed and "cf-mntn-fig10.csv" in printed
    _assert_png(out / "cf-mntn-fig10.png")
    csv = out / "cf-mntn-fig10.csv"
    assert csv.read_text(encoding="utf-8").startswith("# leosim figures cf-mntn --fig 10")
    table = pd.read_csv(csv, comment="#")
    assert set(table["kind"]) == {"inner", "outer", "total"} and set(table["scheme"]) == {"cf-mntn-smrt",
                                                                                             "cf-mntn-szf"}
    data = sorted((out / "data" / "cf-mntn-fig10" / "data").rglob("*.parquet"))
    assert len(data) == 2                                   # --drops 2 overrides the file's 50 seeds
    stamps = [p.stat().st_mtime_ns for p in data]
    assert main(argv) == 0                                  # a rerun skips the finished tasks
    assert [p.stat().st_mtime_ns for p in data] == stamps


def test_leosim_figures_unknown_number(tmp_path, capsys):
    assert main(["figures", "cf-mntn", "--fig", "11", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "11" in err and "3, 4, 5, 6, 7, 8, 9, 10" in err


def test_constellation_geometry_runs_every_scheme():
    params = {"geometry": "constellation", "n_sat": 5, "n_user": 3, "n_ant": 16, "k_max": 2, "centre_lat_deg": 40.0,
              "schemes": ["cf-mntn-smrt", "single-smrt", "spot-beam"]}
    rows = cf_mntn_drop(params, 1)
    assert len(rows) == 3 * 3 and np.all(np.isfinite(rows["se_bps_hz"]))
    assert rows["n_serving"].max() <= 5
    assert rows.loc[rows["scheme"] == "cf-mntn-smrt", "se_bps_hz"].min() > 0.0  # Starlink shell 1 covers 40° N
    pd.testing.assert_series_equal(cf_mntn_drop(params, 1)["se_bps_hz"], rows["se_bps_hz"])
