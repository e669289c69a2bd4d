"""The batched actor-critic: the same A2C update as SB3's recurrent_a2c preset, determinism, and learning."""

import copy

import numpy as np
import pytest
import torch

import musicrec.envs  # noqa: F401  (registers the ids)
from musicrec.agents.batched_ac import (
    ActorCritic, BatchedActorCritic, Evaluations, LearnerSettings, Rollout, copy_sb3_gru_policy,
)
from musicrec.agents.recurrent_a2c import GruActorCriticPolicy, RecurrentA2C
from musicrec.agents.sb3 import RECURRENT_A2C_FIXED
from musicrec.envs.grid_vec import GridVecEnv
from musicrec.errors import ParameterError

RMSPROP = {"optimizer_class": torch.optim.RMSprop, "optimizer_kwargs": {"alpha": 0.99, "eps": 1e-5, "weight_decay": 0}}
A2C_SETTINGS = {"learning_rate": 7e-4, "gamma": 0.99, "ent_coef": 0.01, "vf_coef": 0.5, "max_grad_norm": 0.5}


def sb3_rollout(model, buffer) -> Rollout:
    """SB3's rollout buffer (as it was before the update) in the batched learner's layout."""
    tensor = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    starts = tensor(buffer.episode_starts)
    dones = torch.cat([starts[1:], tensor(model._last_episode_starts)[None]])
    n_heads = 1 if buffer.actions.shape[-1] == 1 else buffer.actions.shape[-1]
    return Rollout(obs=tensor(buffer.observations), starts=starts,
                   actions=torch.as_tensor(buffer.actions, dtype=torch.int64).reshape(*starts.shape, n_heads),
                   rewards=tensor(buffer.rewards), dones=dones, hidden=tensor(buffer.hidden_states_pi[0][0]),
                   last_value=torch.zeros(starts.shape[1]))


@pytest.mark.parametrize("action", ["flat", "factored"])
def test_the_batched_learner_makes_sb3s_recurrent_a2c_update(action):
    kwargs = {"dims": 2, "levels": 3, "target": "wider", "reward": "rating", "episode_length": 3, "action": action}
    n_envs, n_steps = 3, 5
    model = RecurrentA2C(GruActorCriticPolicy, GridVecEnv(n_envs, seed=0, **kwargs), n_steps=n_steps, seed=0, device="cpu",
                         policy_kwargs={**RMSPROP, "value_gain": 2 ** 0.5}, **RECURRENT_A2C_FIXED, **A2C_SETTINGS)
    settings = LearnerSettings(n_steps=n_steps, normalize_obs=False, normalize_returns=False, **A2C_SETTINGS)
    learner = BatchedActorCritic(kwargs, n_envs, settings, seed=1)
    copy_sb3_gru_policy(model.policy, learner.policy)
    before = copy.deepcopy(learner.policy)
    captured, sb3_update = {}, model.train

    def keep_rollout_then_update():
        captured["buffer"] = copy.deepcopy(model.rollout_buffer)
        sb3_update()

    model.train = keep_rollout_then_update
    model.learn(n_envs * n_steps)  # one rollout, one update
    rollout = sb3_rollout(model, captured["buffer"])
    # The bootstrap value of the observation after the rollout, from the weights that collected it.
    with torch.no_grad():
        last_obs = torch.as_tensor(model._last_obs, dtype=torch.float32)
        starts = torch.as_tensor(model._last_episode_starts, dtype=torch.float32)
        hidden = torch.as_tensor(model._last_lstm_states.pi[0][0], dtype=torch.float32)
        features, _ = before.step(last_obs, hidden, starts)
        rollout.last_value = before.value(features) * (1 - starts)
    assert rollout.dones.sum() > 0  # episode boundaries inside the rollout are exercised
    learner.update(rollout)
    mine = dict(learner.policy.named_parameters())
    theirs = copy.deepcopy(learner.policy)
    copy_sb3_gru_policy(model.policy, theirs)
    moved = max(float((mine[name] - p).abs().max()) for name, p in before.named_parameters())
    assert moved > 1e-4
    for name, param in theirs.named_parameters():
        torch.testing.assert_close(mine[name], param, rtol=1e-4, atol=2e-6, msg=name)


@pytest.mark.parametrize("env", [{"dims": 2}, {"dims": 3, "action": "factored", "reward": "rating", "episode_length": 4}])
def test_keeping_the_rollouts_graph_gives_the_recomputed_update(env):
    settings = LearnerSettings(n_steps=6, learning_rate=1e-3)
    kept, recomputed = (BatchedActorCritic(env, 8, settings, seed=3) for _ in range(2))
    for _ in range(3):  # three updates: the optimiser's statistics must agree too
        rollout = kept.collect(keep_graph=True)
        assert rollout.has_graph
        kept.update(rollout)
        recomputed.update(recomputed.collect(keep_graph=False))
    torch.testing.assert_close(kept.policy.state_dict(), recomputed.policy.state_dict(), rtol=1e-5, atol=1e-6)
    assert kept.num_timesteps == recomputed.num_timesteps == 3 * 6 * 8


def test_the_policy_steps_its_gru_as_torchs_gru_and_resets_it_at_episode_starts():
    torch.manual_seed(0)
    policy = ActorCritic(4, 1, 25)
    obs, starts = torch.randn(6, 3, 4), torch.zeros(6, 3)
    starts[3, 1] = 1.0  # environment 1 starts a new episode at t = 3
    hidden = torch.randn(3, 64)
    features = policy.sequence(obs, hidden, starts)
    expected, _ = policy.gru(obs, hidden[None])
    torch.testing.assert_close(features[:, [0, 2]], expected[:, [0, 2]], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(features[:3, 1], expected[:3, 1], rtol=1e-5, atol=1e-6)
    restarted, _ = policy.gru(obs[3:, 1:2], torch.zeros(1, 1, 64))
    torch.testing.assert_close(features[3:, 1], restarted[:, 0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("algorithm", ["a2c", "ppo"])
def test_same_seed_same_numbers_and_another_seed_other_numbers(algorithm):
    env = {"dims": 2, "action": "factored", "episode_length": 5}
    settings = LearnerSettings(algorithm=algorithm, n_steps=5, learning_rate=3e-3, n_minibatches=2, n_epochs=2)
    first, again, other = (BatchedActorCritic(env, 8, settings, seed=seed).learn(800, progress=False)
                           for seed in (7, 7, 8))
    torch.testing.assert_close(first.policy.state_dict(), again.policy.state_dict(), rtol=0, atol=0)
    assert first.episode_frame().equals(again.episode_frame())
    assert not first.episode_frame().equals(other.episode_frame())


@pytest.mark.parametrize("algorithm", ["a2c", "ppo"])
def test_both_algorithms_learn_a_small_grid(algorithm):
    # 3 x 3 grid, 5 steps, Bullseye: a random policy finds the target now and then, a trained one at once
    env = {"dims": 2, "levels": 3, "episode_length": 5, "target": "top"}
    ppo = {"n_epochs": 2, "n_minibatches": 2} if algorithm == "ppo" else {}
    settings = LearnerSettings(algorithm=algorithm, n_steps=5, learning_rate=5e-3, normalize_advantage=True, **ppo)
    learner = BatchedActorCritic(env, 64, settings, seed=0).learn(60_000 if algorithm == "a2c" else 30_000,
                                                                progress=False)
    returns = learner.episode_frame()["return"]
    early, late = returns.iloc[:500].mean(), returns.iloc[-500:].mean()
    assert late > early + 5, (early, late)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_the_learner_trains_on_cuda():
    settings = LearnerSettings(n_steps=5)
    learner = BatchedActorCritic({"dims": 2}, 16, settings, seed=0, device="cuda").learn(400, progress=False)
    assert next(learner.policy.parameters()).is_cuda and learner.num_timesteps == 400
