import numpy as np
import pytest

from musicrec.agents.grid_optimum import grid_optimum
from musicrec.agents.grid_rule import GridRulePolicy
from musicrec.envs.grid import FeatureGridEnv
from musicrec.envs.grid_core import evaluate_all_targets
from musicrec.errors import ParameterError


def evaluate(**kwargs):
    policy = GridRulePolicy(**kwargs)
    return policy, evaluate_all_targets(policy, **kwargs)


@pytest.mark.parametrize("target", ["top", "wider"])
@pytest.mark.parametrize("reward", ["bullseye", "rating"])
def test_rule_is_below_the_optimum_and_finds_every_target(target, reward):
    kwargs = dict(dims=2, target=target, reward=reward)
    _, result = evaluate(**kwargs)
    assert result.found_fraction == 1.0
    assert result.mean <= grid_optimum(**kwargs).mean + 1e-9


def test_rule_stays_once_it_has_rating_four():
    _, result = evaluate(dims=3, target="wider", reward="bullseye")
    np.testing.assert_array_equal(result.returns, 10 * (21 - result.first_top + 1))


def test_rule_in_2d_top_by_hand():
    # From the centre of a 5x5 grid every target is found within 4 steps; the centre target at once.
    _, result = evaluate(dims=2, target="top")
    assert result.first_top[12] == 1 and result.first_top.max() <= 4
    assert result.mean == pytest.approx(10 * (22 - result.first_top).mean())


@pytest.mark.parametrize("obs", ["grid", "board"])
def test_factored_actions_give_the_same_returns(obs):
    _, flat = evaluate(dims=3, target="wider", obs=obs, action="flat")
    _, factored = evaluate(dims=3, target="wider", obs=obs, action="factored")
    np.testing.assert_array_equal(flat.returns, factored.returns)


def test_board_rule_uses_ratings_only_and_stays_below_its_optimum():
    _, grid = evaluate(dims=2, target="top", reward="rating", obs="grid")
    _, board = evaluate(dims=2, target="top", reward="rating", obs="board")
    limit = grid_optimum(dims=2, target="top", reward="rating", feedback="rating").mean
    assert board.mean <= limit + 1e-9 and board.mean <= grid.mean + 1e-9


def test_rule_drives_a_gymnasium_env_like_an_agent():
    kwargs = dict(dims=2, target="wider", reward="rating")
    policy, result = evaluate(**kwargs)
    env = FeatureGridEnv(**kwargs)
    obs, _ = env.reset(options={"target": 17})
    state, start, total = None, np.array([True]), 0.0
    for _ in range(21):
        action, state = policy.predict(obs[None, :], state, start)
        obs, reward, *_ = env.step(int(action[0]))
        total += reward
        start = np.array([False])
    assert total == result.returns[17]


def test_tree_is_shared_and_deterministic():
    policy, first = evaluate(dims=3, target="top")
    decisions = policy.decisions
    second = evaluate_all_targets(policy, dims=3, target="top")
    np.testing.assert_array_equal(first.returns, second.returns)
    assert policy.decisions == decisions  # the second pass reused every decision
    assert decisions < 125 * 21


def test_sampled_candidates_on_large_grids_still_find_targets():
    kwargs = dict(dims=3, target="wider")
    sampling = dict(max_candidates=16, sample_candidates=16, max_scored=32)
    policy = GridRulePolicy(**kwargs, **sampling)
    assert not policy.full
    targets = np.arange(0, 125, 5)
    result = evaluate_all_targets(policy, **kwargs, targets=targets)
    assert result.found_fraction == 1.0
    again = evaluate_all_targets(GridRulePolicy(**kwargs, **sampling), **kwargs, targets=targets)
    np.testing.assert_array_equal(result.returns, again.returns)


def test_observations_from_another_policy_are_refused():
    policy = GridRulePolicy(dims=2, target="top")
    env = FeatureGridEnv(dims=2, target="top")
    obs, _ = env.reset(options={"target": 3})
    action, state = policy.predict(obs[None, :], None, np.array([True]))
    obs, *_ = env.step((int(action[0]) + 1) % 25)
    with pytest.raises(ParameterError, match="not the ones this rule chose"):
        policy.predict(obs[None, :], state, np.array([False]))


def test_bad_settings_are_named():
    with pytest.raises(ParameterError, match="max_candidates=0"):
        GridRulePolicy(max_candidates=0)
    with pytest.raises(ParameterError, match="obs='pixels'"):
        GridRulePolicy(obs="pixels")
