"""Plot helpers shared by the notebooks: one style, learning curves as mean +- band over seeds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import cycle

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def setup_style() -> None:
    """The compendium's plot style (readable fonts, light grid)."""
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "axes.titleweight": "bold", "figure.autolayout": False})


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over ``window`` points (shorter at the start), same length."""
    values = np.asarray(values, dtype=float)
    if window <= 1 or len(values) == 0:
        return values
    return pd.Series(values).rolling(window, min_periods=1).mean().to_numpy()


def align_runs(frames: Sequence[pd.DataFrame], x: str, y: str, *, points: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Put ``y`` of several runs on one ``x`` grid; returns ``(grid, values[run, point])``.

    Runs that share their ``x`` values are stacked as they are; otherwise each run is linearly
    interpolated onto a grid spanning the range common to all runs.
    """
    xs = [frame[x].to_numpy(dtype=float) for frame in frames]
    ys = [frame[y].to_numpy(dtype=float) for frame in frames]
    if all(len(v) == len(xs[0]) and np.array_equal(v, xs[0]) for v in xs):
        return xs[0], np.vstack(ys)
    low, high = max(v.min() for v in xs), min(v.max() for v in xs)
    grid = np.linspace(low, high, points or max(len(v) for v in xs))
    return grid, np.vstack([np.interp(grid, vx, vy) for vx, vy in zip(xs, ys)])


def plot_mean_band(ax, frames: Sequence[pd.DataFrame], x: str, y: str, *, label: str,
                   smoothing: int = 1, color=None, band: str = "std"):
    """Plot the mean over runs of ``y`` against ``x`` with a band (std or min-max) around it.

    Each run is smoothed first (trailing moving average of ``smoothing`` points).
    """
    grid, values = align_runs(frames, x, y)
    values = np.vstack([smooth(row, smoothing) for row in values])
    mean = values.mean(axis=0)
    if band == "std":
        spread = values.std(axis=0)
        low, high = mean - spread, mean + spread
    else:
        low, high = values.min(axis=0), values.max(axis=0)
    (line,) = ax.plot(grid, mean, label=f"{label} (n={len(frames)})", color=color)
    ax.fill_between(grid, low, high, alpha=0.2, color=line.get_color(), linewidth=0)
    return line


def plot_groups_mean_std(ax, frame: pd.DataFrame, x: str, y: str, *, group: str, order: Sequence[str],
                         labels: Mapping[str, str], dashed: Sequence[str] = ()) -> None:
    """For each value of ``group`` in ``order`` that ``frame`` holds: the mean of ``y`` over its rows at each ``x``
    (e.g. over seeds) as a line with markers and a +- std band, colour ``C<position in order>``, labelled
    ``labels[value]``, dashed for the values in ``dashed`` (e.g. baselines)."""
    for i, key in enumerate(order):
        part = frame[frame[group] == key]
        if not len(part):
            continue
        stats = part.groupby(x)[y].agg(["mean", "std"]).reset_index()
        ax.plot(stats[x], stats["mean"], marker="o", ms=3, label=labels[key], color=f"C{i}",
                ls="--" if key in dashed else "-")
        ax.fill_between(stats[x], stats["mean"] - stats["std"], stats["mean"] + stats["std"], alpha=0.15,
                        color=f"C{i}", linewidth=0)


def plot_curves_with_references(ax, curves: Mapping[str, Sequence[pd.DataFrame]], keys: Sequence[str],
                                labels: Mapping[str, str], references: Mapping[str, float], *,
                                x: str = "timesteps", y: str = "val_maa") -> None:
    """Mean +- std over seeds of each model's curve (``curves[key]``, labelled ``labels[key]``) and a grey
    horizontal line per reference (label -> value), each in its own line style."""
    for i, key in enumerate(keys):
        plot_mean_band(ax, curves[key], x, y, label=labels[key], color=f"C{i}")
    for (label, value), style in zip(references.items(), cycle((":", "-.", "--", (0, (1, 4))))):
        ax.axhline(value, color="0.3", ls=style, lw=1, label=label)
