import numpy as np
import pandas as pd
import pytest
from stable_baselines3.common.vec_env import VecCheckNan

from musicrec.agents.sb3 import train
from musicrec.envs.grid import FeatureGridEnv
from musicrec.envs.grid_core import evaluate_all_targets
from musicrec.envs.grid_vec import GridVecEnv
from musicrec.errors import ParameterError


def grid_vec_env_factory(env_config, n_envs, seed):
    return GridVecEnv(n_envs, seed=seed, **env_config["kwargs"])


@pytest.mark.parametrize("obs, action", [("grid", "flat"), ("board", "factored")])
def test_vec_env_contract(obs, action):
    env = VecCheckNan(GridVecEnv(4, seed=0, dims=2, obs=obs, action=action, episode_length=3),
                      raise_exception=True)
    first = env.reset()
    assert first.shape == (4, env.observation_space.shape[0]) and first.dtype == np.float32
    assert all(env.observation_space.contains(o) for o in first)
    for step in range(1, 7):
        actions = np.array([env.action_space.sample() for _ in range(4)])
        obs, rewards, dones, infos = env.step(actions)
        assert obs.shape == first.shape and rewards.dtype == np.float32 and dones.dtype == bool
        assert all(env.observation_space.contains(o) for o in obs)
        assert len(infos) == 4 and dones.all() == (step % 3 == 0)
        for i in np.flatnonzero(dones):
            assert infos[i]["episode"]["l"] == 3 and infos[i]["TimeLimit.truncated"]
            assert env.observation_space.contains(infos[i]["terminal_observation"])
    assert env.get_attr("render_mode") == [None] * 4 and env.env_is_wrapped(object) == [False] * 4


def test_vec_env_matches_gymnasium_env_and_auto_resets():
    kwargs = dict(dims=2, target="top", reward="rating", episode_length=2)
    vec = GridVecEnv(2, seed=0, **kwargs)
    vec.set_options([{"target": 0}, {"target": 24}])
    obs = vec.reset()
    envs = [FeatureGridEnv(**kwargs) for _ in range(2)]
    for env, target, row in zip(envs, (0, 24), obs):
        np.testing.assert_array_equal(env.reset(options={"target": target})[0], row)
    total, last = np.zeros(2), [None, None]
    for actions in ([6, 18], [0, 24]):
        obs, rewards, dones, infos = vec.step(np.array(actions))
        for i, env in enumerate(envs):
            last[i], reward_i, _, truncated_i, _ = env.step(actions[i])
            assert rewards[i] == reward_i and dones[i] == truncated_i
            total[i] += reward_i
    # finished: the terminal observation is the last step's, the returned one a fresh reset
    for i in range(2):
        np.testing.assert_array_equal(infos[i]["terminal_observation"], last[i])
    assert [info["episode"]["r"] for info in infos] == total.tolist()
    np.testing.assert_allclose(obs[:, :2], 0.5)  # back at the centre
    assert (obs[:, 2] == 0).all()


def test_vec_env_seeding():
    def targets(seed):
        env = GridVecEnv(8, dims=3)
        env.seed(seed)
        env.reset()
        return env.core.targets.copy()

    np.testing.assert_array_equal(targets(3), targets(3))
    assert not np.array_equal(targets(3), targets(4))


def test_vec_env_rejects_per_env_settings():
    env = GridVecEnv(2, dims=2)
    with pytest.raises(ParameterError, match="cannot set 'dims'"):
        env.set_attr("dims", 3)
    with pytest.raises(ParameterError, match="render_mode='human'"):
        GridVecEnv(2, render_mode="human")


def test_sb3_a2c_trains_on_grid_vec_env(tmp_path):
    env_config = {"id": "musicrec/FeatureGrid-v0", "kwargs": {"dims": 2, "target": "wider"}}
    result = train({"preset": "a2c", "total_timesteps": 2 * 21 * 8, "n_envs": 8}, env_config, seed=0,
                   run_dir=tmp_path, progress_bar=False, vec_env_factory=grid_vec_env_factory)
    episodes = pd.read_csv(tmp_path / "metrics.csv")
    assert len(episodes) == 16 and set(episodes.length) == {21}
    assert episodes["return"].between(0, 210).all()
    evaluation = evaluate_all_targets(result.model, **env_config["kwargs"])
    assert evaluation.returns.shape == (25,)


def test_recurrent_policy_evaluates_over_all_targets():
    env_config = {"id": "musicrec/FeatureGrid-v0", "kwargs": {"dims": 2, "action": "factored"}}
    result = train({"preset": "recurrent_ppo", "total_timesteps": 32, "n_envs": 4,
                    "hyperparams": {"n_steps": 8, "batch_size": 32, "n_epochs": 1}}, env_config, seed=0,
                   run_dir=None,
                   progress_bar=False, vec_env_factory=grid_vec_env_factory)
    first = evaluate_all_targets(result.model, **env_config["kwargs"])
    second = evaluate_all_targets(result.model, **env_config["kwargs"])
    np.testing.assert_array_equal(first.returns, second.returns)
