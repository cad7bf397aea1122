"""Figures 2–5 of paper 004 (UC-DMIMO) from the rows of the ``uc-dmimo-drop`` and ``uc-dmimo-coverage`` sweeps.

* Figs 2a / 2b — empirical CDF of the per-user SE (bit/s/Hz, log2(1 + SINR) of the rebuilt 004
  eqs 18–19, no pilot pre-log) of UC-DMIMO with the best-channel RSAP, phase-aware (synchronous)
  and not (asynchronous), for each antenna count N; 2a on the smaller constellation of the sweep,
  2b on the larger one, with the medians of "synchronous with N" next to "asynchronous with 2N".
* Fig 3 — SE CDF of UC-DMIMO, FC-DMIMO and NCT under both RSAP policies (phase-aware).
* Fig 4 — distribution (CDF over users and drops) of the serving-cluster size of UC- and FC-DMIMO.
* Fig 5 — CDF of the coverage time (time between RSAP handovers), 1 − Kaplan–Meier survival with
  intervals cut by the end of a replay treated as right-censored.

Each plot function returns the plotted numbers (written as CSV by ``leosim figures``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..analysis.coverage import kaplan_meier
from .plotting import new_axes as _axes, save_axes as _save
from .registry import Figure, register_figure

__all__ = ["SWEEP_DIR", "ecdf_table", "plot_fig2a", "plot_fig2b", "plot_fig3", "plot_fig4", "plot_fig5"]

#: Folder of the shipped sweep files behind the figures.
SWEEP_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "figures"
LABELS = {"uc-dmimo": "UC-DMIMO", "fc-dmimo": "FC-DMIMO", "nct": "NCT"}
POLICY_LABELS = {"best-channel": "best channel", "max-service-time": "max service time"}
COLOURS = {"uc-dmimo": "tab:blue", "fc-dmimo": "tab:green", "nct": "tab:red"}
SE_AXIS = ("x: per-user downlink SE log2(1 + SINR_k), bit/s/Hz, SINR of MR on LMMSE estimates (004 eqs 18–21 "
           "rebuilt, docs/uc-dmimo.md), no τ_d/τ_c pre-log; y: empirical CDF over users and drops")
SETUP = ("one drop = a random instant (one day window) of the Walker constellation, every satellite above 0° "
         "from the centre (42.36° N, 71.06° W), 10 users uniform in a 200 km disc, τ_p = 10, η = 23 dBm, "
         "paper004_params without the aperture pattern, UC candidates above 40° plus the RSAP, fractional power, "
         "asynchronous phase e^{−j2πfΔτ} at the 2 GHz carrier relative to the RSAP")


def _one(rows: dict[str, pd.DataFrame], name: str, columns: set[str]) -> pd.DataFrame:
    if name not in rows:
        raise InputError(f"no rows of sweep {name!r} (have: {', '.join(rows) or 'none'})")
    frame = rows[name]
    missing = columns - set(frame.columns)
    if missing:
        raise InputError(f"rows of sweep {name!r} lack column(s) {', '.join(sorted(missing))}")
    return frame


def ecdf_table(frame: pd.DataFrame, value: str, by: list[str]) -> pd.DataFrame:
    """Empirical CDF of ``value`` per group: columns ``by`` + value + ``cdf``, plus each group's median/mean."""
    parts = []
    for key, g in frame.groupby(by, sort=False, observed=True):
        x = np.sort(g[value].to_numpy(dtype=float))
        part = pd.DataFrame(dict(zip(by, key if isinstance(key, tuple) else (key,))), index=range(x.size))
        part[value] = x
        part["cdf"] = np.arange(1, x.size + 1) / x.size
        part[f"median_{value}"] = float(np.median(x))
        part[f"mean_{value}"] = float(np.mean(x))
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=by + [value, "cdf"])


def _fig2(which: str):
    def plot(rows: dict[str, pd.DataFrame], png_path: Path) -> pd.DataFrame:
        frame = _one(rows, "uc-dmimo-fig2", {"n_planes", "n_ant", "scheme", "rsap_policy", "phase_aware",
                                              "se_bps_hz", "n_orbiting"})
        sizes = sorted(frame["n_orbiting"].unique())
        n_orbiting = sizes[0] if which == "a" else sizes[-1]
        keep = frame[(frame["n_orbiting"] == n_orbiting) & (frame["scheme"] == "uc-dmimo")
                     & (frame["rsap_policy"] == "best-channel")]
        table = ecdf_table(keep.sort_values(["n_ant", "phase_aware"], ascending=[True, False]), "se_bps_hz",
                           ["n_ant", "phase_aware"])
        table.insert(0, "n_orbiting", int(n_orbiting))
        plt, fig, ax = _axes()
        ants = sorted(table["n_ant"].unique())
        for i, (n_ant, aware) in enumerate(table.groupby(["n_ant", "phase_aware"], sort=False).groups):
            part = table[(table["n_ant"] == n_ant) & (table["phase_aware"] == aware)]
            ax.step(np.r_[0.0, part["se_bps_hz"]], np.r_[0.0, part["cdf"]], where="post",
                    color=f"C{ants.index(n_ant)}", linestyle="-" if aware else "--",
                    label=f"N = {n_ant}, {'synchronous (phase-aware)' if aware else 'asynchronous'}")
        _save(plt, fig, ax, Path(png_path), "per-user spectral efficiency (bit/s/Hz)", "CDF",
              f"004 Fig. 2({which}): UC-DMIMO, best-channel RSAP, {int(n_orbiting)} satellites")
        return table

    return plot


plot_fig2a = _fig2("a")
plot_fig2b = _fig2("b")


def _scheme_policy_cdfs(table: pd.DataFrame, x: str, png_path: Path, xlabel: str, title: str) -> None:
    """Step CDFs of ``table`` (columns scheme, rsap_policy, ``x``, cdf): colour by scheme, line by policy."""
    plt, fig, ax = _axes()
    for (scheme, policy), part in table.groupby(["scheme", "rsap_policy"], sort=False):
        ax.step(np.r_[0.0, part[x]], np.r_[0.0, part["cdf"]], where="post", color=COLOURS.get(scheme),
                linestyle="-" if policy == "best-channel" else "--",
                label=f"{LABELS.get(scheme, scheme)}, {POLICY_LABELS.get(policy, policy)}")
    _save(plt, fig, ax, Path(png_path), xlabel, "CDF", title)


def plot_fig3(rows: dict[str, pd.DataFrame], png_path: Path) -> pd.DataFrame:
    """004 Fig 3: SE CDF of UC-DMIMO, FC-DMIMO and NCT under both RSAP policies (phase-aware)."""
    frame = _one(rows, "uc-dmimo-fig3", {"scheme", "rsap_policy", "phase_aware", "se_bps_hz"})
    keep = frame[frame["phase_aware"].astype(bool)]
    order = {s: i for i, s in enumerate(LABELS)}
    keep = keep.sort_values(["scheme", "rsap_policy"], key=lambda c: c.map(order) if c.name == "scheme" else c)
    table = ecdf_table(keep, "se_bps_hz", ["scheme", "rsap_policy"])
    _scheme_policy_cdfs(table, "se_bps_hz", png_path, "per-user spectral efficiency (bit/s/Hz)",
                        "004 Fig. 3: UC-DMIMO vs FC-DMIMO vs NCT, both RSAP policies")
    return table


def plot_fig4(rows: dict[str, pd.DataFrame], png_path: Path) -> pd.DataFrame:
    """004 Fig 4: distribution of the serving-cluster size (satellites serving a user), UC vs FC."""
    frame = _one(rows, "uc-dmimo-fig3", {"scheme", "rsap_policy", "phase_aware", "n_serving"})
    keep = frame[frame["phase_aware"].astype(bool) & frame["scheme"].isin(("uc-dmimo", "fc-dmimo"))]
    parts = []
    for (scheme, policy), g in keep.groupby(["scheme", "rsap_policy"], sort=True, observed=True):
        sizes, counts = np.unique(g["n_serving"].to_numpy(dtype=int), return_counts=True)
        prob = counts / counts.sum()
        parts.append(pd.DataFrame({"scheme": scheme, "rsap_policy": policy, "n_serving": sizes,
                                   "probability": prob, "cdf": np.cumsum(prob),
                                   "mean_n_serving": float(np.sum(sizes * prob))}))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["scheme", "rsap_policy", "n_serving", "probability", "cdf", "mean_n_serving"])
    _scheme_policy_cdfs(table, "n_serving", png_path, "serving-cluster size (satellites per user)",
                        "004 Fig. 4: serving-cluster size, UC-DMIMO vs FC-DMIMO")
    return table


def plot_fig5(rows: dict[str, pd.DataFrame], png_path: Path) -> pd.DataFrame:
    """004 Fig 5: CDF of the coverage time per RSAP policy, 1 − Kaplan–Meier with censoring at the run end."""
    frame = _one(rows, "uc-dmimo-fig5", {"rsap_policy", "duration_s", "censored"})
    parts = []
    for policy, g in frame.groupby("rsap_policy", sort=True, observed=True):
        km = kaplan_meier(g["duration_s"].to_numpy(), ~g["censored"].to_numpy(dtype=bool))
        km.insert(0, "rsap_policy", policy)
        below = km.loc[km["survival"] <= 0.5, "duration_s"]
        km["km_median_s"] = float(below.iloc[0]) if len(below) else float("nan")
        km["n_intervals"] = len(g)
        km["n_censored"] = int(g["censored"].sum())
        parts.append(km)
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["rsap_policy", "duration_s", "at_risk", "events", "survival", "cdf"])
    plt, fig, ax = _axes()
    for policy, part in table.groupby("rsap_policy", sort=False):
        ax.step(np.r_[0.0, part["duration_s"]], np.r_[0.0, part["cdf"]], where="post",
                label=f"UC-DMIMO, {POLICY_LABELS.get(policy, policy)}")
    _save(plt, fig, ax, Path(png_path), "coverage time without RSAP handover (s)", "CDF (1 − Kaplan–Meier)",
          "004 Fig. 5: coverage time per RSAP policy")
    return table


_FIG2_AXES = (f"{SE_AXIS}; curves: N = n_h × n_v antennas (near-square UPA, λ/2) × synchronous (phase-aware "
              f"precoding, ŝ = s) / asynchronous (ŝ = 1); UC-DMIMO, best-channel RSAP; {SETUP}")
register_figure(Figure(
    "uc-dmimo", "2a", "CDF of per-user SE, phase-aware vs not, smaller constellation (36 × 22 = 792 satellites)",
    (SWEEP_DIR / "uc-dmimo-fig2.toml",), plot_fig2a, _FIG2_AXES))
register_figure(Figure(
    "uc-dmimo", "2b", "CDF of per-user SE, phase-aware vs not, larger constellation (72 × 22 = 1 584 satellites)",
    (SWEEP_DIR / "uc-dmimo-fig2.toml",), plot_fig2b, _FIG2_AXES))
register_figure(Figure(
    "uc-dmimo", "3", "CDF of per-user SE: UC-DMIMO vs FC-DMIMO vs NCT, both RSAP policies",
    (SWEEP_DIR / "uc-dmimo-fig3.toml",), plot_fig3,
    f"{SE_AXIS}; phase-aware precoding; N = 64; 1 584 satellites; {SETUP}"))
register_figure(Figure(
    "uc-dmimo", "4", "distribution of the serving-cluster size, UC-DMIMO vs FC-DMIMO",
    (SWEEP_DIR / "uc-dmimo-fig3.toml",), plot_fig4,
    "x: satellites serving a user (cluster size |M_k|); y: CDF over users and drops; FC = every satellite above "
    f"the user's 0° mask; UC = satellites above 40° plus the RSAP; {SETUP}"))
register_figure(Figure(
    "uc-dmimo", "5", "CDF of the coverage time (no RSAP handover), best channel vs max service time",
    (SWEEP_DIR / "uc-dmimo-fig5.toml",), plot_fig5,
    "x: coverage interval = time a user keeps the same RSAP (from access or a handover to the next RSAP change), s; "
    "y: 1 − Kaplan–Meier survival over intervals of all users and replays, intervals cut by the end of a replay "
    "right-censored; UC-DMIMO in the engine, 30 min replays at 5 s steps, 10 users in a 200 km disc, "
    "Starlink shell-1 Walker (1 584), 0° mask, best-channel with 3 dB hysteresis and 2 s time-to-trigger"))
