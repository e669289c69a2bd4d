"""Summaries over seeds: the Student-t interval against a known answer."""

import numpy as np
import pytest

from musicrec.seeds import confidence_interval, seed_summary


def test_confidence_interval_known_answer():
    low, high = confidence_interval([1.0, 2.0, 3.0])
    assert (low, high) == pytest.approx((2 - 4.302653 / np.sqrt(3), 2 + 4.302653 / np.sqrt(3)), rel=1e-6)
    assert np.isnan(confidence_interval([1.0])[0])


def test_seed_summary_uses_the_sample_std_and_has_no_spread_for_one_seed():
    summary = seed_summary([1.0, 2.0, 3.0])
    assert summary["mean"] == 2.0 and summary["sd_seeds"] == pytest.approx(1.0)
    assert np.isnan(seed_summary([4.0])["sd_seeds"])


def test_a_fresh_draw_of_seeds_lands_inside_the_interval_of_a_rerun_95_percent_of_the_time():
    # simulated reruns: normal results, 3 seeds a side; the interval of the mean holds about 91% of them
    from musicrec.seeds import rerun_interval_from_summary, share_inside_interval_of_the_mean

    rng = np.random.default_rng(0)
    first, second = rng.normal(size=(4000, 3)), rng.normal(size=(4000, 3))
    inside_mean = inside_rerun = 0
    for a, b in zip(first, second):
        low, high = confidence_interval(a)
        inside_mean += low <= b.mean() <= high
        low, high = rerun_interval_from_summary(a.mean(), a.std(ddof=1), 3)
        inside_rerun += low <= b.mean() <= high
    assert abs(inside_rerun / 4000 - 0.95) < 0.015
    assert abs(inside_mean / 4000 - share_inside_interval_of_the_mean(3)) < 0.015
    assert share_inside_interval_of_the_mean(3) == pytest.approx(0.907, abs=1e-3)
    # one rerun seed: the prediction interval of a single new seed, wider than the interval of the mean
    low, high = rerun_interval_from_summary(0.0, 1.0, 3, rerun_seeds=1)
    assert high == pytest.approx(4.303 * (1 + 1 / 3) ** 0.5, rel=1e-3)
    assert np.isnan(rerun_interval_from_summary(0.0, 1.0, 1)[0])
