"""The noisy grid user and the Bayes-filter baseline that knows its noise."""

import numpy as np
import pytest

from musicrec.agents.grid_bayes import GridBayesPolicy
from musicrec.agents.grid_rule import GridRulePolicy
from musicrec.envs.grid import FeatureGridEnv
from musicrec.envs.grid_core import BatchedFeatureGrid, evaluate_all_targets
from musicrec.errors import ParameterError
from musicrec.users.grid import noisy_feedback, report_likelihood


def test_noisy_feedback_flips_with_the_stated_probabilities(rng):
    ratings = np.array([0, 2, 4] * 100_000)
    closer = np.zeros(len(ratings), dtype=bool)
    reported, flipped = noisy_feedback(ratings, closer, rng=rng, rating_noise=0.2, closer_noise=0.1)
    assert abs(flipped.mean() - 0.1) < 0.005
    for true in (0, 2, 4):
        got = reported[ratings == true]
        assert abs((got != true).mean() - 0.2) < 0.005 and np.abs(got - true).max() == 1
    assert set(np.unique(reported[ratings == 0])) == {0, 1}  # from 0 only up
    np.testing.assert_allclose(report_likelihood(rating_noise=0.2).sum(axis=1), 1.0)
    assert report_likelihood(rating_noise=0.2)[2, 1] == pytest.approx(0.1)


def test_a_noiseless_user_is_the_thesis_user_and_noise_is_validated():
    exact = BatchedFeatureGrid(25, dims=2, seed=1)
    same = BatchedFeatureGrid(25, dims=2, seed=1, rating_noise=0.0, closer_noise=0.0)
    assert exact.settings == same.settings and "rating_noise" not in exact.settings
    with pytest.raises(ParameterError, match="rating_noise=1.0 must be below 1"):
        FeatureGridEnv(rating_noise=1.0)


def test_noisy_envs_observe_the_reported_rating_and_evaluations_score_the_true_one():
    env = FeatureGridEnv(dims=2, rating_noise=0.5, closer_noise=0.5)
    env.reset(seed=3, options={"target": 0})
    differs = 0
    for position in range(25):
        obs, reward, *_, info = env.step(position)
        assert obs[3] * 4 == info["rating"]
        differs += info["rating"] != info["true_rating"]
    assert differs > 0


def test_the_bayes_filter_is_near_the_rule_for_exact_users_and_survives_noise():
    env = {"dims": 2, "target": "wider", "reward": "bullseye"}
    bayes = evaluate_all_targets(GridBayesPolicy(**env), **env).mean
    assert bayes >= evaluate_all_targets(GridRulePolicy(**env), **env).mean - 1.0
    noisy = {**env, "rating_noise": 0.3, "closer_noise": 0.3}
    result = evaluate_all_targets(GridBayesPolicy(**noisy), repeats=4, seed=0, **noisy)
    assert 150 < result.mean <= 201.6 + 1e-9  # below the exact user's optimum, far above chance
    with pytest.raises(ParameterError, match="contradicts every target"):
        evaluate_all_targets(GridRulePolicy(**env), repeats=4, seed=0, **noisy)
