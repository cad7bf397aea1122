"""Matplotlib helpers shared by the paper-figure modules (Agg backend, one style for every figure)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["new_axes", "save_axes"]


def new_axes(size_in: tuple[float, float] = (6.4, 4.6)):
    """``(pyplot, figure, axes)`` of a new figure on the non-interactive Agg backend (size in inches)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size_in)
    return plt, fig, ax


def save_axes(plt, fig, ax, png_path: str | Path, xlabel: str, ylabel: str, title: str) -> None:
    """Label, grid and legend ``ax``, write ``png_path`` (folders created) at 120 dpi, close ``fig``."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    Path(png_path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path, dpi=120)
    plt.close(fig)
