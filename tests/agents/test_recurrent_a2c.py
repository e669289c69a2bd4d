import copy

import numpy as np
import pytest
import torch as th
import torch.nn.functional as F
from gymnasium import spaces
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.env_util import make_vec_env

import musicrec.envs  # noqa: F401  (registers the ids)
from musicrec.agents.recurrent_a2c import GruActorCriticPolicy, RecurrentA2C, learning_rate_schedule
from musicrec.agents.sb3 import PRESETS, RECURRENT_A2C_FIXED, load_model, policy_class, resolve_config, train
from musicrec.errors import ParameterError

# A tiny grid with short episodes, so a 5-step rollout holds episode boundaries.
TINY = {"id": "musicrec/FeatureGrid-v0",
        "kwargs": {"dims": 2, "levels": 3, "target": "wider", "reward": "rating", "episode_length": 3}}
RMSPROP = {"optimizer_class": th.optim.RMSprop, "optimizer_kwargs": {"alpha": 0.99, "eps": 1e-5, "weight_decay": 0}}
A2C_SETTINGS = {"learning_rate": 7e-4, "gamma": 0.99, "ent_coef": 0.01, "vf_coef": 0.5, "max_grad_norm": 0.5}


def vec_env(n_envs=2, seed=0, kwargs=None):
    return make_vec_env(TINY["id"], n_envs=n_envs, seed=seed,
                        env_kwargs={"render_mode": None, **TINY["kwargs"], **(kwargs or {})})


def collect(model, n_steps):
    """Fill ``model.rollout_buffer`` with one rollout of the model's current policy."""
    _, callback = model._setup_learn(n_steps * model.n_envs, callback=None)
    model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=n_steps)


def parameters(policy):
    return [p.detach().clone() for p in policy.parameters()]


def assert_same_parameters(first, second, **tolerance):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        th.testing.assert_close(a, b, **tolerance)


def ppo_as_a2c(env, **changes):
    settings = {"n_steps": 5, "batch_size": 5 * env.num_envs, "n_epochs": 1, "gae_lambda": 1.0,
                "normalize_advantage": False, "policy_kwargs": RMSPROP, **A2C_SETTINGS, **changes}
    return PPO("MlpPolicy", env, seed=1, device="cpu", **settings)


@pytest.mark.parametrize("changes, same", [
    ({}, True),
    ({"normalize_advantage": True}, False),  # the comparison can fail: PPO's defaults are not A2C
    ({"n_epochs": 2}, False),
])
def test_ppo_configured_as_a2c_makes_the_a2c_update(changes, same):
    a2c = A2C("MlpPolicy", vec_env(), n_steps=5, gae_lambda=1.0, use_rms_prop=True, rms_prop_eps=1e-5,
              normalize_advantage=False, seed=0, device="cpu", **A2C_SETTINGS)
    ppo = ppo_as_a2c(vec_env(seed=5), **changes)
    ppo.policy.load_state_dict(a2c.policy.state_dict())
    _, ppo_callback = ppo._setup_learn(10, callback=None)
    start = parameters(a2c.policy)
    for _ in range(3):  # three updates: the RMSprop statistics must agree too
        collect(a2c, 5)
        ppo.rollout_buffer = copy.deepcopy(a2c.rollout_buffer)
        a2c.train()
        ppo.train()
    moved = max(float((a - b).abs().max()) for a, b in zip(parameters(a2c.policy), start))
    assert moved > 1e-4
    if same:
        assert_same_parameters(parameters(a2c.policy), parameters(ppo.policy), rtol=1e-5, atol=1e-6)
    else:
        with pytest.raises(AssertionError):
            assert_same_parameters(parameters(a2c.policy), parameters(ppo.policy), rtol=1e-5, atol=1e-6)


def recurrent_a2c_model(policy, env, policy_kwargs, n_steps=5):
    return RecurrentA2C(policy, env, n_steps=n_steps, seed=0, device="cpu",
                        policy_kwargs={**RMSPROP, **policy_kwargs}, **RECURRENT_A2C_FIXED, **A2C_SETTINGS)


def manual_a2c_step(policy, buffer, *, ent_coef, vf_coef, max_grad_norm):
    """One recurrent n-step A2C update written out: the policy runs step by step through the rollout."""
    obs = th.as_tensor(buffer["observations"])
    starts = th.as_tensor(buffer["episode_starts"])
    state = (th.as_tensor(buffer["hidden_states_pi"][0]), th.as_tensor(buffer["cell_states_pi"][0]))
    log_probs, entropies, values = [], [], []
    for t in range(obs.shape[0]):
        distribution, next_state = policy.get_distribution(obs[t], state, starts[t])
        values.append(policy.predict_values(obs[t], state, starts[t]).flatten())
        actions = th.as_tensor(buffer["actions"][t]).long().flatten()
        log_probs.append(distribution.log_prob(actions))
        entropies.append(distribution.entropy())
        state = next_state
    log_prob, entropy, value = th.stack(log_probs), th.stack(entropies), th.stack(values)
    advantages = th.as_tensor(buffer["advantages"])
    returns = th.as_tensor(buffer["returns"])
    loss = (-(advantages * log_prob).mean() - ent_coef * entropy.mean()
            + vf_coef * F.mse_loss(returns, value))
    policy.optimizer.zero_grad()
    loss.backward()
    th.nn.utils.clip_grad_norm_(policy.parameters(), max_grad_norm)
    policy.optimizer.step()


BUFFER_FIELDS = ("observations", "actions", "episode_starts", "advantages", "returns",
                 "hidden_states_pi", "cell_states_pi")


@pytest.mark.parametrize("policy, policy_kwargs", [
    (GruActorCriticPolicy, {"gru_hidden_size": 8, "net_arch": {"pi": [8], "vf": [8]}}),
    # sb3-contrib's LSTM policy (critic without recurrence): the same A2C update with an LSTM.
    ("MlpLstmPolicy", {"lstm_hidden_size": 8, "net_arch": {"pi": [8], "vf": [8]},
                       "shared_lstm": False, "enable_critic_lstm": False}),
])
def test_preset_update_is_the_hand_written_recurrent_a2c_step(policy, policy_kwargs):
    model = recurrent_a2c_model(policy, vec_env(n_envs=3), policy_kwargs)
    manual = copy.deepcopy(model.policy)
    for _ in range(2):
        collect(model, 5)
        buffer = {name: getattr(model.rollout_buffer, name).copy() for name in BUFFER_FIELDS}
        assert buffer["episode_starts"][1:].any(), "the rollout should cross an episode boundary"
        model.train()
        manual_a2c_step(manual, buffer, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5)
        assert_same_parameters(parameters(model.policy), parameters(manual), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("action", ["flat", "factored"])
def test_lean_sampling_agrees_with_sb3_distributions(action):
    env = vec_env(n_envs=4, kwargs={"action": action})
    model = recurrent_a2c_model(GruActorCriticPolicy, env, {"gru_hidden_size": 8})
    policy = model.policy
    obs = th.as_tensor(env.reset())
    zeros = th.zeros(1, 4, 8)
    states = RNNStates((zeros, zeros), (zeros, zeros))
    starts = th.ones(4)
    th.manual_seed(0)
    actions, values, log_prob, _ = policy(obs, states, starts)
    assert env.action_space.contains(actions[0].numpy() if action == "factored" else int(actions[0]))
    distribution, _ = policy.get_distribution(obs, states.pi, starts)
    flat = actions.reshape(4, -1).float() if action == "factored" else actions.float()
    th.testing.assert_close(log_prob, distribution.log_prob(actions))
    values2, log_prob2, entropy = policy.evaluate_actions(obs, flat, states, starts)
    th.testing.assert_close(log_prob2, distribution.log_prob(actions))
    th.testing.assert_close(entropy, distribution.entropy())
    th.testing.assert_close(values2, values)
    deterministic, *_ = policy(obs, states, starts, deterministic=True)
    th.testing.assert_close(deterministic, distribution.get_actions(deterministic=True))


def test_one_recurrent_pass_equals_step_by_step():
    policy = recurrent_a2c_model(GruActorCriticPolicy, vec_env(), {"gru_hidden_size": 8}).policy
    th.manual_seed(1)
    n_seq, length = 3, 4
    features = th.randn(n_seq * length, 4)
    hidden = th.randn(1, n_seq, 8)
    starts = th.zeros(n_seq, length)
    starts[1, 0] = 1.0  # the second sequence begins a new episode
    out, (last, _) = policy._recurrent(features, (hidden, hidden), starts.flatten())
    expected, h = [], hidden * (1 - starts[:, 0]).view(1, n_seq, 1)
    x = features.reshape(n_seq, length, 4)
    for t in range(length):
        step, h = policy.lstm_actor.gru(x[:, t].unsqueeze(0), h)
        expected.append(step[0])
    th.testing.assert_close(out, th.stack(expected, dim=1).reshape(-1, 8))
    th.testing.assert_close(last, h)
    # a reset in the middle of a sequence takes the step-by-step path and resets there
    starts[2, 2] = 1.0
    out2, _ = policy._recurrent(features, (hidden, hidden), starts.flatten())
    th.testing.assert_close(out2[:8], out[:8])
    assert not th.allclose(out2[-2:], out[-2:])


def test_preset_is_registered_and_fixes_the_a2c_settings():
    resolved = resolve_config({"preset": "recurrent_a2c", "total_timesteps": 10}, TINY)
    for key, value in RECURRENT_A2C_FIXED.items():
        assert resolved["hyperparams"][key] == value
    hyper = resolved["hyperparams"]
    assert hyper["learning_rate"] == 7e-4 and hyper["gamma"] == 0.99 and hyper["ent_coef"] == 0.01
    assert hyper["vf_coef"] == 0.5 and hyper["policy_kwargs"]["optimizer_class"] == "RMSprop"
    assert hyper["policy_kwargs"]["optimizer_kwargs"] == {"alpha": 0.99, "eps": 1e-5, "weight_decay": 0}
    assert hyper["policy_kwargs"]["value_gain"] == pytest.approx(2 ** 0.5)  # the thesis's code's value head
    assert policy_class(resolved["policy"]) is GruActorCriticPolicy
    assert PRESETS["recurrent_a2c"].recurrent and "A2C" in PRESETS["recurrent_a2c"].label


@pytest.mark.parametrize("config, message", [
    ({"hyperparams": {"n_epochs": 4}}, r"preset 'recurrent_a2c' fixes \['n_epochs'\]"),
    ({"hyperparams": {"use_rms_prop": True}}, r"\['use_rms_prop'\] are not taken by RecurrentA2C"),
    ({"policy": "musicrec.agents.recurrent_a2c:NoSuchPolicy"}, "cannot be imported"),
])
def test_bad_recurrent_a2c_config_is_named_before_training(config, message):
    with pytest.raises(ParameterError, match=message):
        resolve_config({"preset": "recurrent_a2c", "total_timesteps": 10, **config}, TINY)


def test_train_save_load_and_same_seed_same_training(tmp_path):
    config = {"preset": "recurrent_a2c", "total_timesteps": 120, "n_envs": 4,
              "hyperparams": {"n_steps": 5, "policy_kwargs": {"optimizer_class": "RMSprop", "gru_hidden_size": 8}}}
    first = train(config, TINY, seed=2, run_dir=tmp_path, progress_bar=False)
    second = train(config, TINY, seed=2, run_dir=None, progress_bar=False)
    assert len(first.episodes) >= 30
    assert first.episodes["return"].tolist() == second.episodes["return"].tolist()
    loaded = load_model("recurrent_a2c", tmp_path / "model.zip")
    assert isinstance(loaded.policy, GruActorCriticPolicy)
    obs = np.random.default_rng(0).random((5, 4)).astype(np.float32)
    expected, _ = first.model.predict(obs, None, np.ones(5, bool), deterministic=True)
    actions, _ = loaded.predict(obs, None, np.ones(5, bool), deterministic=True)
    np.testing.assert_array_equal(actions, expected)
    assert isinstance(loaded.action_space, spaces.Discrete)


def test_linear_learning_rate_decay_falls_to_zero_over_the_run():
    schedule = learning_rate_schedule("lin_7e-4")
    assert schedule(1.0) == pytest.approx(7e-4) and schedule(0.5) == pytest.approx(3.5e-4) and schedule(0.0) == 0
    assert learning_rate_schedule(7e-4) == 7e-4
    model = RecurrentA2C(GruActorCriticPolicy, vec_env(), learning_rate="lin_7e-4", n_steps=5, seed=0,
                         device="cpu", **RECURRENT_A2C_FIXED)
    rates, train_step = [], model.train

    def train_and_record():
        train_step()
        rates.append(model.policy.optimizer.param_groups[0]["lr"])

    model.train = train_and_record
    model.learn(100)  # 10 updates of 2 envs x 5 steps; SB3 reads the schedule after each rollout
    np.testing.assert_allclose(rates, 7e-4 * np.linspace(0.9, 0.0, 10), atol=1e-12)


@pytest.mark.parametrize("value", ["linear_7e-4", "lin_", "lin_-1", "cos_7e-4"])
def test_bad_learning_rate_schedule_is_named(value):
    with pytest.raises(ParameterError, match=f"learning_rate='{value}'"):
        learning_rate_schedule(value)


@pytest.mark.parametrize("gain", [1.0, 2 ** 0.5])
def test_value_head_gain_sets_the_initial_value_weights(tmp_path, gain):
    model = RecurrentA2C(GruActorCriticPolicy, vec_env(), n_steps=5, seed=0, device="cpu",
                         policy_kwargs={"value_gain": gain}, **RECURRENT_A2C_FIXED)
    weight = model.policy.value_net.weight.detach()
    assert float(weight.norm()) == pytest.approx(gain, rel=1e-5)  # one orthogonal row scaled by the gain
    assert float(model.policy.value_net.bias.detach().abs().max()) == 0
    model.save(tmp_path / "model.zip")
    assert RecurrentA2C.load(tmp_path / "model.zip", device="cpu").policy.value_gain == gain
