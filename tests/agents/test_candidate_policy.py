import numpy as np
import pytest
import torch

from musicrec.agents.candidate_policy import CandidateScoringPolicy, RecurrentCandidateScoringPolicy
from musicrec.agents.sb3 import train
from musicrec.envs.latent import LatentRecommenderEnv
from musicrec.errors import ParameterError

ENV = {"id": "musicrec/LatentRecommender-v0",
       "kwargs": {"n_tracks": 200, "latent_dim": 3, "k": 4, "session_length": 8, "history": 1}}
POLICY_KWARGS = {"k": 4, "latent_dim": 3, "history": 1}


def _train(preset, policy, seed=0):
    config = {"preset": preset, "total_timesteps": 128, "n_envs": 2, "policy": policy,
              "hyperparams": {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "policy_kwargs": POLICY_KWARGS}}
    return train(config, ENV, seed, None, progress_bar=False)


def test_permuting_the_candidates_permutes_the_logits():
    model = _train("ppo", CandidateScoringPolicy).model
    env = LatentRecommenderEnv(**ENV["kwargs"])
    obs, _ = env.reset(seed=1)
    d, k = 3, 4
    order = [2, 0, 3, 1]
    candidates = obs[d + 2:d + 2 + k * d].reshape(k, d)
    permuted = obs.copy()
    permuted[d + 2:d + 2 + k * d] = candidates[order].reshape(-1)
    with torch.no_grad():
        logits = model.policy.get_distribution(torch.as_tensor(np.stack([obs, permuted]))).distribution.logits
    np.testing.assert_allclose(logits[1].numpy(), logits[0].numpy()[order], rtol=1e-5, atol=1e-6)


def test_recurrent_policy_trains_and_keeps_a_state():
    model = _train("recurrent_ppo", RecurrentCandidateScoringPolicy).model
    env = LatentRecommenderEnv(**ENV["kwargs"])
    obs, _ = env.reset(seed=0)
    action, state = model.predict(obs[None], state=None, episode_start=np.array([True]), deterministic=True)
    assert 0 <= int(action[0]) < 4 and state[0].shape[:2] == (1, 1)


def test_same_seed_same_policy():
    a, b = _train("ppo", CandidateScoringPolicy, seed=3), _train("ppo", CandidateScoringPolicy, seed=3)
    for p, q in zip(a.model.policy.parameters(), b.model.policy.parameters()):
        assert torch.equal(p, q)


def test_observation_shape_is_checked():
    env = LatentRecommenderEnv(n_tracks=100, latent_dim=3, k=4, history=0)
    with pytest.raises(ParameterError, match=r"does not match k=4, latent_dim=3, history=1"):
        CandidateScoringPolicy(env.observation_space, env.action_space, lambda _: 1e-3, **POLICY_KWARGS)


def test_extra_context_joins_every_slot():
    """With ``observe_mood`` the mood one-hot is context: changing it changes the logits, and the shape
    check counts it."""
    kwargs = {"n_tracks": 200, "latent_dim": 3, "k": 4, "session_length": 8, "observe_mood": True,
              "listener": {"moods": 2, "switch": [2, 4]}}
    env = {"id": "musicrec/LatentRecommender-v0", "kwargs": kwargs}
    config = {"preset": "ppo", "total_timesteps": 128, "n_envs": 2, "policy": CandidateScoringPolicy,
              "hyperparams": {"n_steps": 32, "batch_size": 32, "n_epochs": 1,
                              "policy_kwargs": {"k": 4, "latent_dim": 3, "history": 0, "extra_dim": 2}}}
    model = train(config, env, 0, None, progress_bar=False).model
    obs, _ = LatentRecommenderEnv(**kwargs).reset(seed=0)
    other = obs.copy()
    other[-2:] = 1 - obs[-2:]
    with torch.no_grad():
        logits = model.policy.get_distribution(torch.as_tensor(np.stack([obs, other]))).distribution.logits
    assert not torch.allclose(logits[0], logits[1])
    space = LatentRecommenderEnv(**kwargs).observation_space
    with pytest.raises(ParameterError, match=r"shape \(19,\) .*extra_dim=0 \(expected \(17,\)\)"):
        CandidateScoringPolicy(space, LatentRecommenderEnv(**kwargs).action_space, lambda _: 1e-3,
                               k=4, latent_dim=3, history=0)
