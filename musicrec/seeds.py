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


def rerun_interval_from_summary(mean: float, sd: float, n: float, *, rerun_seeds: float | None = None,
                                level: float = 0.95) -> tuple[float, float]:
    """Where the mean of a rerun over ``rerun_seeds`` fresh seeds (default: as many as the table's ``n``) lands
    with probability ``level``: the Student-t prediction interval ``mean +- t(n - 1) * sd * sqrt(1/n + 1/m)``.

    A rerun on another CPU is a new draw of every seed (its floats differ in the last bits and training
    amplifies them), so its mean strays from the first by the spread of *two* means, not one: the interval of
    the mean (:func:`interval_from_summary`) is the wrong yardstick for it, and
    :func:`share_inside_interval_of_the_mean` says how often a fresh draw lands inside that one. Exact for
    normally distributed seed results of equal spread, whatever ``n`` (the numerator is normal, independent
    of ``sd``). NaN for fewer than two seeds.
    """
    from scipy import stats

    m = n if rerun_seeds is None else rerun_seeds
    if not all(math.isfinite(x) for x in (mean, sd, n, m)) or n < 2 or m < 1:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, int(n) - 1) * sd * math.sqrt(1 / n + 1 / m)
    return float(mean - half), float(mean + half)


def share_inside_interval_of_the_mean(n: int, *, level: float = 0.95) -> float:
    """How often the mean of a fresh draw of ``n`` seeds lands inside the first draw's ``level`` interval of the
    mean (normal results of equal spread): ``P(|T| <= t / sqrt(2))`` for ``T`` Student-t with ``n - 1``
    degrees of freedom. About 0.91 for 3 seeds, 0.88 for 5, 0.84 in the limit: even with many seeds one rerun
    in six lands outside.

    >>> round(share_inside_interval_of_the_mean(3), 3)
    0.907
    """
    from scipy import stats

    if n < 2:
        return float("nan")
    critical = stats.t.ppf(0.5 + level / 2, int(n) - 1)
    return float(2 * stats.t.cdf(critical / math.sqrt(2), int(n) - 1) - 1)


def seed_summary(values: Sequence[float]) -> dict[str, float]:
    """Mean, std over seeds and the 95% Student-t interval of the mean."""
    values = np.asarray(values, dtype=float)
    low, high = confidence_interval(values)
    return {"mean": float(values.mean()), "sd_seeds": float(values.std(ddof=1)) if len(values) > 1 else float("nan"),
            "ci_low": low, "ci_high": high}
