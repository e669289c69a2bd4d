"""DDPG with dimension-mask exploration: the noise, the SB3 subclass, the preset, determinism."""

import numpy as np
import pytest

from musicrec.agents.sb3 import PRESETS, resolve_config, train
from musicrec.agents.session_ddpg import DimensionMaskNoise, MaskedDDPG
from musicrec.errors import ParameterError


def test_mask_drops_dimensions_and_decays():
    noise = DimensionMaskNoise(1000, fraction=0.5, decay=0.5, min_fraction=0.1, seed=0)
    action = np.ones((1, 1000))
    masked = noise.perturb(action)
    assert set(np.unique(masked)) == {0.0, 1.0}
    assert 0.4 < (masked == 0).mean() < 0.6
    assert noise.fraction == 0.25
    for _ in range(5):
        noise.perturb(action)
    assert noise.fraction == 0.1
    np.testing.assert_array_equal(noise(), np.zeros(1000))


def test_same_seed_same_masks():
    a, b = DimensionMaskNoise(8, seed=3), DimensionMaskNoise(8, seed=3)
    np.testing.assert_array_equal(a.perturb(np.ones((2, 8))), b.perturb(np.ones((2, 8))))


def test_preset_validates_its_hyperparameters():
    resolved = resolve_config({"preset": "ddpg_mask", "total_timesteps": 10},
                              {"id": "musicrec/SessionSkip-v0"})
    assert resolved["hyperparams"]["gamma"] == 0.0
    assert resolved["hyperparams"]["mask_noise"]["fraction"] == 0.5
    assert "ddpg_mask" in PRESETS
    with pytest.raises(ParameterError, match="not taken by MaskedDDPG"):
        resolve_config({"preset": "ddpg_mask", "total_timesteps": 10, "hyperparams": {"n_epochs": 3}},
                       {"id": "musicrec/SessionSkip-v0"})


def _train(tmp_path, mask_noise, name):
    config = {"preset": "ddpg_mask", "total_timesteps": 300,
              "hyperparams": {"learning_starts": 100, "batch_size": 32, "mask_noise": mask_noise}}
    return train(config, {"id": "musicrec/SessionSkip-v0"}, 0, tmp_path / name, progress_bar=False)


def test_mask_noise_changes_exploration_and_runs_are_reproducible(tmp_path):
    noisy = _train(tmp_path, {"fraction": 0.9, "decay": 1.0}, "a")
    again = _train(tmp_path, {"fraction": 0.9, "decay": 1.0}, "b")
    plain = _train(tmp_path, None, "c")
    assert isinstance(noisy.model, MaskedDDPG) and noisy.model.mask_noise is not None
    assert plain.model.mask_noise is None
    buffer = noisy.model.replay_buffer.actions[100:300]
    assert (buffer == 0).mean() > 0.5  # 90% of the dimensions dropped after the warm-up
    assert (plain.model.replay_buffer.actions[100:300] == 0).mean() < 0.01
    np.testing.assert_array_equal(buffer, again.model.replay_buffer.actions[100:300])
    assert (tmp_path / "a" / "model.zip").exists()


def test_bad_mask_settings_are_named(tmp_path):
    with pytest.raises(ParameterError, match="mask_noise takes"):
        _train(tmp_path, {"share": 0.2}, "d")


def test_session_agent_spec_sets_the_mask_noise():
    from musicrec.agents.session_ddpg import session_agent_spec

    agent, env = session_agent_spec("skip", total_timesteps=10, mask_noise=None)
    assert agent == {"preset": "ddpg_mask", "total_timesteps": 10, "hyperparams": {"mask_noise": None}}
    assert env == {"id": "musicrec/SessionSkip-v0", "kwargs": {}}
    decaying, _ = session_agent_spec("sequence", total_timesteps=10, mask_noise={})
    assert "hyperparams" not in decaying  # the preset's decaying mask
    constant, _ = session_agent_spec("sequence", total_timesteps=10, mask_noise={"decay": 1.0})
    assert constant["hyperparams"]["mask_noise"]["decay"] == 1.0
    with pytest.raises(ParameterError, match="task='genre'"):
        session_agent_spec("genre", total_timesteps=10, mask_noise=None)


def test_session_agent_spec_overrides_further_hyperparameters():
    from musicrec.agents.sb3 import resolve_config
    from musicrec.agents.session_ddpg import session_agent_spec

    agent, env = session_agent_spec("sequence", total_timesteps=10, mask_noise={},
                                    hyperparams={"gamma": 0.0, "policy_kwargs": {"net_arch": [64, 64]}})
    resolved = resolve_config(agent, env)["hyperparams"]
    assert resolved["gamma"] == 0.0 and resolved["policy_kwargs"] == {"net_arch": [64, 64]}
    assert resolved["mask_noise"]["decay"] < 1  # the preset's decaying mask is kept
    with pytest.raises(ParameterError, match="must not set"):
        session_agent_spec("sequence", total_timesteps=10, mask_noise={}, hyperparams={"mask_noise": None})


def test_the_residual_actor_starts_as_the_last_track_action_and_training_moves_it(tmp_path):
    from musicrec.agents.session_ddpg import LastTrackResidualPolicy, session_agent_spec
    from musicrec.envs.sessions import SessionTrackEnv, last_track_block, track_rollout

    agent, env_spec = session_agent_spec("sequence", total_timesteps=300, mask_noise={}, residual=True)
    agent["hyperparams"] = {"learning_starts": 100, "batch_size": 32}
    untrained = MaskedDDPG(LastTrackResidualPolicy, SessionTrackEnv(), policy_kwargs={"net_arch": [8]}, seed=0)
    env = SessionTrackEnv()
    observations = np.stack([env.reset(seed=i)[0] for i in range(5)])
    block = observations[:, last_track_block(env.dim)]
    np.testing.assert_allclose(untrained.predict(observations, deterministic=True)[0], np.clip(block, -1, 1),
                               atol=1e-6)
    trained = train(agent, env_spec, 0, tmp_path / "residual", progress_bar=False).model
    assert isinstance(trained.policy, LastTrackResidualPolicy)
    assert not np.allclose(trained.predict(observations, deterministic=True)[0], block, atol=1e-4)
    # one rollout of the untrained actor is the nearest-neighbour chain of the last track
    episodes, embedding = env.episodes, env.embedding
    np.testing.assert_array_equal(
        track_rollout(lambda o: untrained.predict(o, deterministic=True)[0], episodes, embedding),
        track_rollout(lambda o: o[:, last_track_block(env.dim)], episodes, embedding))
    with pytest.raises(ParameterError, match="residual actor"):
        session_agent_spec("skip", total_timesteps=10, mask_noise=None, residual=True)


def test_policy_delay_updates_the_actor_less_often(tmp_path):
    from musicrec.agents.session_ddpg import session_agent_spec
    from musicrec.envs.sessions import SessionTrackEnv, last_track_block

    agent, env_spec = session_agent_spec("sequence", total_timesteps=300, mask_noise={}, residual=True,
                                         policy_delay=1000)
    assert agent["hyperparams"] == {"policy_delay": 1000}
    quiet, _ = session_agent_spec("sequence", total_timesteps=10, mask_noise=None, policy_delay=5)
    assert quiet["hyperparams"] == {"mask_noise": None, "policy_delay": 5}
    agent["hyperparams"].update(learning_starts=100, batch_size=32)
    trained = train(agent, env_spec, 0, tmp_path / "delayed", progress_bar=False).model
    assert trained.policy_delay == 1000 and trained._n_updates > 0
    env = SessionTrackEnv()
    observations = np.stack([env.reset(seed=i)[0] for i in range(5)])
    # fewer critic updates than the delay: the actor has not moved from the last track's embedding
    np.testing.assert_allclose(trained.predict(observations, deterministic=True)[0],
                               observations[:, last_track_block(env.dim)], atol=1e-6)
    with pytest.raises(ParameterError, match="policy_delay"):
        MaskedDDPG("MlpPolicy", SessionTrackEnv(), policy_delay=0)
