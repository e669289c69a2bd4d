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
