"""Registries of experiments (what one sweep task computes) and of paper figures.

An **experiment** is a pure function ``fn(params: dict, seed: int) -> pandas.DataFrame``: one
Monte-Carlo drop (or a small batch of drops) with the parameters of one grid point of a sweep and one
seed. It draws everything random from ``numpy.random.default_rng(seed)`` (plus fixed sub-streams), so
the same ``(params, seed)`` always gives the same rows, on any worker, and every grid point sees the
same drop for the same seed (common random numbers). The rows are tidy: one per (scheme, user, ...)
with units in the column names; the sweep adds the grid parameters and the seed as columns.

A **figure** names a paper figure, the shipped sweep file(s) behind it and the function that turns
the sweep's rows into a PNG and the CSV of the plotted numbers.

Experiments live in the modules listed in ``_EXPERIMENT_MODULES`` and register themselves with
:func:`experiment` when imported; :func:`get_experiment` imports them on first use, so a Dask worker
that unpickles a task finds the registry filled.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import InputError

__all__ = ["Experiment", "experiment", "get_experiment", "experiment_names", "Figure", "register_figure",
           "figures", "EXPERIMENTS", "FIGURES"]

Experiment = Callable[[dict, int], pd.DataFrame]

#: name -> experiment function, filled by :func:`experiment` as modules are imported.
EXPERIMENTS: dict[str, Experiment] = {}
#: (paper, number) -> Figure, filled by :func:`register_figure`.
FIGURES: dict[tuple[str, str], "Figure"] = {}

#: Modules that define experiments and figures (imported on first lookup).
_EXPERIMENT_MODULES: tuple[str, ...] = (
    "simulator.experiments.cfmntn",
    "simulator.experiments.ucdmimo",
    "simulator.replay_experiments",  # experiments that run the engine (above both layers)
)
_loaded = False


def experiment(name: str) -> Callable[[Experiment], Experiment]:
    """Decorator registering ``fn(params, seed) -> DataFrame`` under ``name``."""

    def register(fn: Experiment) -> Experiment:
        if name in EXPERIMENTS and EXPERIMENTS[name] is not fn:
            raise ValueError(f"experiment {name!r} is registered twice")
        EXPERIMENTS[name] = fn
        return fn

    return register


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in _EXPERIMENT_MODULES:
            importlib.import_module(module)
        _loaded = True


def experiment_names() -> list[str]:
    """Sorted names of every registered experiment."""
    _load()
    return sorted(EXPERIMENTS)


def get_experiment(name: str) -> Experiment:
    """The experiment registered as ``name``; an unknown name raises InputError listing the known ones."""
    _load()
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise InputError(f"unknown experiment {name!r}; experiments are: {', '.join(sorted(EXPERIMENTS))}") from None


@dataclass(frozen=True)
class Figure:
    """One paper figure and how to regenerate it.

    Attributes
    ----------
    paper : str — ``"cf-mntn"`` (000) or ``"uc-dmimo"`` (004)
    number : str — figure number as printed, e.g. ``"3"`` or ``"2b"``
    title : str — what is plotted against what, with units
    sweeps : tuple of Path — the shipped sweep file(s) whose rows the figure plots
    plot : callable — ``plot(rows: dict[str, DataFrame], png_path: Path) -> DataFrame``: draws the
        figure from the rows of each sweep (keyed by sweep name) and returns the plotted numbers
        (written next to the PNG as CSV)
    axes : str — our definition of every axis the paper leaves open (shown in docs and the CSV header)
    """

    paper: str
    number: str
    title: str
    sweeps: tuple[Path, ...]
    plot: Callable[[dict[str, pd.DataFrame], Path], pd.DataFrame]
    axes: str = ""
    tags: tuple[str, ...] = field(default=())


def register_figure(fig: Figure) -> Figure:
    """Add ``fig`` to :data:`FIGURES` (keyed by paper and number)."""
    key = (fig.paper, fig.number)
    if key in FIGURES and FIGURES[key] is not fig:
        raise ValueError(f"figure {fig.paper} {fig.number} is registered twice")
    FIGURES[key] = fig
    return fig


def figures(paper: str | None = None) -> list[Figure]:
    """Registered figures (of one paper), in paper then figure-number order."""
    _load()
    found = [f for f in FIGURES.values() if paper is None or f.paper == paper]
    return sorted(found, key=lambda f: (f.paper, len(f.number.rstrip("abcdefgh")), f.number))
