import itertools

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import musicrec.envs  # noqa: F401  (registers the ids)
from musicrec.envs.grid import FeatureGridEnv
from musicrec.envs.grid_core import BatchedFeatureGrid, evaluate_all_targets
from musicrec.errors import ParameterError

COMBINATIONS = list(itertools.product(["top", "wider"], ["bullseye", "rating"], ["grid", "board"],
                                      ["flat", "factored"]))


@pytest.mark.parametrize("target, reward, obs, action", COMBINATIONS)
@pytest.mark.parametrize("dims", [1, 3])
def test_check_env_passes(dims, target, reward, obs, action):
    env = gymnasium.make("musicrec/FeatureGrid-v0", dims=dims, target=target, reward=reward, obs=obs,
                         action=action, episode_length=5)
    check_env(env.unwrapped, skip_render_check=True)


def test_reset_observes_the_start_with_its_rating_and_closer_zero():
    env = FeatureGridEnv(dims=2, target="wider", obs="grid")
    obs, info = env.reset(seed=0, options={"target": (0, 0)})
    # centre (2, 2) is at distance 4 from the corner: rating 1 (edges 0, 1, 2, 3, 4, 8)
    np.testing.assert_allclose(obs, [0.5, 0.5, 0.0, 0.25])
    assert info == {"rating": 1, "closer": False, "position": 12, "true_rating": 1}
    board = FeatureGridEnv(dims=2, target="wider", obs="board")
    obs, _ = board.reset(seed=0, options={"target": 0})
    assert obs[12] == 1 and np.sum(obs == -1) == 24


def test_step_feedback_and_rewards():
    env = FeatureGridEnv(dims=2, target="top", reward="rating", episode_length=3)
    env.reset(seed=0, options={"target": (0, 0)})
    obs, reward, terminated, truncated, info = env.step(6)  # (1, 1): distance 2, closer than 4
    assert info["closer"] and not terminated and not truncated
    assert reward == info["rating"] ** 2 and obs[2] == 1.0
    obs, reward, terminated, truncated, info = env.step(0)  # the target: rating 4, episode goes on
    assert reward == 16.0 and info["rating"] == 4 and not terminated and not truncated
    _, reward, _, truncated, info = env.step(0)  # staying is not closer, still rating 4
    assert reward == 16.0 and not info["closer"] and truncated


def test_bullseye_rewards_rating_four_only():
    env = FeatureGridEnv(dims=2, target="wider", reward="bullseye")
    env.reset(seed=0, options={"target": 12})
    rewards = [env.step(a)[1] for a in (12, 7, 6, 0)]
    assert rewards == [10.0, 10.0, 0.0, 0.0]


def test_board_keeps_ratings_of_visited_positions():
    env = FeatureGridEnv(dims=2, target="top", obs="board")
    obs, _ = env.reset(seed=0, options={"target": 24})
    for position in (0, 24, 0):
        obs, *_ = env.step(position)
    ratings = env.geometry.ratings(24)
    visited = {12, 0, 24}
    np.testing.assert_array_equal(obs[list(visited)], ratings[list(visited)])
    assert np.all(obs[[p for p in range(25) if p not in visited]] == -1)
    obs, _ = env.reset(options={"target": 3})
    assert np.sum(obs != -1) == 1


def test_factored_actions_name_one_level_per_feature():
    env = FeatureGridEnv(dims=3, target="top", action="factored")
    env.reset(seed=0, options={"target": (4, 0, 2)})
    assert env.step(np.array([4, 0, 2]))[4]["position"] == np.ravel_multi_index((4, 0, 2), (5, 5, 5))
    assert env.step(np.array([4, 0, 2]))[1] == 10.0


def test_same_seed_same_episode():
    def episode(seed):
        env = FeatureGridEnv(dims=3, target="wider", reward="rating")
        env.reset(seed=seed)
        return [env.step(a)[1] for a in range(0, 125, 6)]

    assert episode(5) == episode(5)
    assert any(episode(5) != episode(s) for s in range(6, 10))


@pytest.mark.parametrize("obs, action, dims", [("grid", "flat", 2), ("board", "flat", 3),
                                               ("grid", "factored", 4), ("board", "factored", 2)])
@pytest.mark.parametrize("target, reward", [("top", "rating"), ("wider", "bullseye")])
def test_batched_core_equals_the_gymnasium_env_step_for_step(obs, action, dims, target, reward):
    kwargs = dict(dims=dims, target=target, reward=reward, obs=obs, action=action, episode_length=7)
    rng = np.random.default_rng(0)
    n = 6
    core = BatchedFeatureGrid(n, seed=1, **kwargs)
    envs = [FeatureGridEnv(**kwargs) for _ in range(n)]
    for episode in range(2):
        targets = rng.integers(5**dims, size=n)
        batch_obs = core.reset(targets)
        for i, env in enumerate(envs):
            obs_i, _ = env.reset(seed=i, options={"target": int(targets[i])})
            np.testing.assert_array_equal(batch_obs[i], obs_i)
        for _ in range(7):
            if action == "flat":
                actions = rng.integers(5**dims, size=n)
            else:
                actions = rng.integers(5, size=(n, dims))
            if episode == 1:  # also revisit and stay
                actions[0] = actions[1]
            batch_obs, rewards, truncated, info = core.step(actions)
            for i, env in enumerate(envs):
                obs_i, reward_i, terminated_i, truncated_i, info_i = env.step(actions[i])
                np.testing.assert_array_equal(batch_obs[i], obs_i)
                assert rewards[i] == reward_i and truncated[i] == truncated_i and not terminated_i
                assert info["rating"][i] == info_i["rating"] and info["closer"][i] == info_i["closer"]


def test_batched_core_large_grid_uses_coordinates():
    # 5**6 positions is past the table limit: feedback comes from coordinates, same answers
    core = BatchedFeatureGrid(4, dims=6, target="wider", seed=0)
    env = FeatureGridEnv(dims=6, target="wider")
    core.reset([0, 100, 7000, 15624])
    actions = np.array([0, 15624, 7001, 3])
    _, rewards, _, info = core.step(actions)
    for i, target in enumerate([0, 100, 7000, 15624]):
        env.reset(options={"target": target})
        assert env.step(int(actions[i]))[4]["rating"] == info["rating"][i]


def test_batched_core_same_seed_same_targets():
    a, b = BatchedFeatureGrid(50, dims=3, seed=7), BatchedFeatureGrid(50, dims=3, seed=7)
    a.reset(), b.reset()
    np.testing.assert_array_equal(a.targets, b.targets)
    assert len(np.unique(a.targets)) > 10


def test_batched_core_partial_reset():
    core = BatchedFeatureGrid(3, dims=2, obs="board", seed=0)
    core.reset([0, 1, 2])
    core.step([5, 5, 5])
    obs = core.reset([24], envs=[1])
    assert obs.shape == (1, 25) and core.targets[1] == 24 and core.steps.tolist() == [1, 0, 1]
    assert core.board[0, 5] != -1 and core.board[1, 5] == -1


def test_evaluate_all_targets_of_a_fixed_and_an_oracle_policy():
    kwargs = dict(dims=2, target="top", reward="bullseye")
    stay = evaluate_all_targets(lambda obs, state, start: (np.full(len(obs), 12), None), **kwargs)
    assert stay.returns.shape == (25,) and stay.mean == pytest.approx(210 / 25)
    assert stay.first_top[12] == 1 and stay.found_fraction == pytest.approx(1 / 25)

    class Oracle:  # knows the targets: the upper limit 210 everywhere
        def predict(self, obs, state, episode_start, deterministic=True):
            return np.arange(len(obs)), state

    oracle = evaluate_all_targets(Oracle(), **kwargs)
    assert oracle.mean == 210.0 and oracle.std == 0.0 and set(oracle.first_top) == {1}


def test_evaluate_passes_episode_start_and_state():
    seen = []

    def predict(obs, state, start):
        seen.append((start.copy(), state))
        return np.zeros((len(obs), 3), dtype=np.int64), (0 if state is None else state + 1)

    evaluate_all_targets(predict, dims=3, action="factored", episode_length=4)
    assert seen[0][0].all() and seen[0][1] is None
    assert [s for _, s in seen[1:]] == [0, 1, 2] and not any(start.any() for start, _ in seen[1:])


@pytest.mark.parametrize("kwargs, message", [
    ({"dims": 0}, "dims=0 must be >= 1"),
    ({"levels": 1}, "levels=1 must be >= 2"),
    ({"target": "bullseye"}, "target='bullseye' is not one of"),
    ({"reward": "stars"}, "reward='stars' is not one of"),
    ({"obs": "image"}, "obs='image' is not one of"),
    ({"action": "continuous"}, "action='continuous' is not one of"),
    ({"episode_length": 0}, "episode_length=0 must be >= 1"),
])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        FeatureGridEnv(**kwargs)
    with pytest.raises(ParameterError, match=message):
        BatchedFeatureGrid(2, **kwargs)


def test_bad_targets_and_actions_are_named():
    env = FeatureGridEnv(dims=2)
    with pytest.raises(ParameterError, match="target=25 is outside the grid"):
        env.reset(options={"target": 25})
    env.reset(seed=0)
    with pytest.raises(ParameterError, match="action=25 is not in the action space"):
        env.step(25)
    factored = FeatureGridEnv(dims=2, action="factored")
    factored.reset(seed=0)
    with pytest.raises(ParameterError, match=r"action=array\(\[0, 5\]\) is not in the action space"):
        factored.step(np.array([0, 5]))
    core = BatchedFeatureGrid(2, dims=2)
    with pytest.raises(ParameterError, match="target=-1 is outside the grid"):
        core.reset([0, -1])
    core.reset()
    with pytest.raises(ParameterError, match="action=30 is outside the grid"):
        core.step([0, 30])
    core = BatchedFeatureGrid(2, dims=2, action="factored")
    core.reset()
    with pytest.raises(ParameterError, match=r"action=\[5, 0\] is outside the levels"):
        core.step([[0, 0], [5, 0]])
