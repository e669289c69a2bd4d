"""Summaries over seeds: the mean, its spread and a Student-t interval, as the results tables report them.

A table row of a study is the mean over independent trainings (seeds) with their standard deviation
(``ddof=1``: the seeds are a sample of all the trainings one could run) and a 95% Student-t interval of
the mean, which with 3 seeds is wide (t = 4.30): a reader should see it.

>>> seed_summary([1.0, 2.0, 3.0])["mean"]
2.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def confidence_interval(values: Sequence[float], *, level: float = 0.95) -> tuple[float, float]:
    """Student-t interval ``(low, high)`` of the mean of ``values`` (NaN for one value)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float("nan"), float("nan")
    return interval_from_summary(float(values.mean()), float(values.std(ddof=1)), len(values), level=level)


def interval_from_summary(mean: float, sd: float, n: float, *, level: float = 0.95) -> tuple[float, float]:
    """The Student-t interval of :func:`confidence_interval` from a table's mean, std over seeds (ddof 1) and
    number of seeds (NaN for fewer than two, or a value that is not finite)."""
    from scipy import stats

    if not (math.isfinite(mean) and math.isfinite(sd) and math.isfinite(n)) or n < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, int(n) - 1) * sd / math.sqrt(n)
    return float(mean - half), float(mean + half)


def seed_summary(values: Sequence[float]) -> dict[str, float]:
    """Mean, std over seeds and the 95% Student-t interval of the mean."""
    values = np.asarray(values, dtype=float)
    low, high = confidence_interval(values)
    return {"mean": float(values.mean()), "sd_seeds": float(values.std(ddof=1)) if len(values) > 1 else float("nan"),
            "ci_low": low, "ci_high": high}
