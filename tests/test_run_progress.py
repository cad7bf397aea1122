"""Progress of `leosim run` inside chunks: reported at CSI refreshes, with an ETA on stderr."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.cli import main
from simulator.commands import run as run_command
from simulator.engine import run as engine_run
from simulator.engine.run import run_scenario
from simulator.scenario import parse_scenario

TEXT = """
name = "progress"
seed = 1
[time]
start_utc = 2026-01-01T00:00:00Z
duration_s = 40
step_s = 2.0
[constellation]
preset = "starlink-shell1"
[users]
disc = { center_lat_deg = 42.36, center_lon_deg = -71.06, radius_km = 100, count = 2, seed = 2 }
[radio]
n_h = 2
n_v = 2
n_beams = 4
[schemes]
names = ["single-smrt", "nct"]
rsap_policies = ["best-channel"]
[events]
csi_period_s = 4.0
[output]
chunk_s = 20
"""


def test_every_csi_refresh_is_reported_inside_its_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(engine_run, "PROGRESS_INTERVAL_S", 0.0)
    seen = []
    run_scenario(parse_scenario(TEXT), output_dir=tmp_path / "run", progress=seen.append)
    inside = [(p.chunk, p.sim_s) for p in seen if p.in_chunk]
    ends = [(p.chunk, p.sim_s) for p in seen if not p.in_chunk]
    assert ends == [(1, 20.0), (2, 40.0)]
    # refreshes every 4 s of simulated time (0, 4, ..., 16 in chunk 1 and 20, ..., 36 in chunk 2),
    # then the chunk's end
    assert inside == ([(1, float(t)) for t in range(0, 24, 4)] + [(2, float(t)) for t in range(20, 44, 4)])
    walls = [p.wall_s for p in seen]
    assert np.all(np.diff(walls) >= 0)


def test_plain_progress_lines_carry_an_eta(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(engine_run, "PROGRESS_INTERVAL_S", 0.0)
    monkeypatch.setattr(run_command._Reporter, "PLAIN_S", 0.0)
    path = tmp_path / "s.toml"
    path.write_text(TEXT)
    assert main(["run", str(path), "-o", str(tmp_path / "out")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("leosim: warning:")]
    assert lines[0].startswith("chunk 1/2: simulated 0 / 40 s") and "ETA …" in lines[0]
    assert lines[-1].startswith("chunk 2/2 done: simulated 40 / 40 s") and "ETA 0:00" in lines[-1]
    assert all("ETA" in line for line in lines)


@pytest.mark.parametrize("wall, sim, expected", [(10.0, 10.0, None), (20.0, 20.0, 80.0), (20.0, 10.0, None)])
def test_eta_is_the_remaining_simulated_time_at_the_pace_since_the_first_report(wall, sim, expected):
    reporter = run_command._Reporter(duration_s=100.0)
    reporter.eta_s(10.0, 10.0)  # first report: the reference
    assert reporter.eta_s(wall, sim) == expected


def test_summary_tables_list_schemes_in_the_scenario_order(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(TEXT.replace('["single-smrt", "nct"]', '["nct", "single-smrt"]'))
    assert main(["run", str(path), "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    for section in out.split("\n\n")[1:]:
        assert section.index("nct ") < section.index("single-smrt"), section
