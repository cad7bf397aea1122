"""docs/python.md runs as written, and the examples/ scripts run (on shortened settings)."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import pytest

import simulator

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@pytest.fixture
def repo_cwd(tmp_path, monkeypatch):
    """A working directory that looks like the repository root (its input folders linked), so the
    documented relative paths work and every output lands in a temporary folder."""
    for name in ("scenarios", "tle", "examples", "docs"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_python_page_blocks_run_in_order(repo_cwd, capsys):
    text = (ROOT / "docs" / "python.md").read_text(encoding="utf-8")
    blocks = BLOCK.findall(text)
    assert len(blocks) >= 7
    namespace: dict = {"__name__": "__docs__"}
    for i, code in enumerate(blocks):
        exec(compile(code, f"docs/python.md block {i + 1}", "exec"), namespace)
    out = capsys.readouterr().out
    assert (repo_cwd / "runs" / "python-demo" / "report.html").is_file()
    assert (repo_cwd / "runs" / "python-demo-se-cdf.png").is_file()
    for i, code in enumerate(blocks):  # a second time: the page can be run again in the same folder
        exec(compile(code, f"docs/python.md block {i + 1}", "exec"), namespace)
    assert "rejected:" in out and "no such directory" in out


def test_every_public_name_is_documented_on_the_python_page():
    text = (ROOT / "docs" / "python.md").read_text(encoding="utf-8")
    missing = [n for n in simulator.__all__ if n != "__version__" and f"`{n}" not in text]
    assert not missing, f"public names missing from docs/python.md: {missing}"
    for name in simulator.__all__:
        getattr(simulator, name)


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "examples").glob("*.py")))
def test_example_scripts_run(script, repo_cwd, monkeypatch, capsys):
    monkeypatch.setenv("LEOSIM_EXAMPLE_SMOKE", "1")  # the scripts shorten their runs
    monkeypatch.setattr(sys, "argv", [script])
    runpy.run_path(str(ROOT / "examples" / script), run_name="__main__")
    assert capsys.readouterr().out.strip()
