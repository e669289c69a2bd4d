"""A batched recurrent actor-critic for the feature grid: A2C (the thesis's algorithm) and PPO, in plain torch.

The learner steps the batched numpy core (:class:`musicrec.envs.grid.BatchedFeatureGrid`) directly, with
no per-environment Python objects between the policy and the grid: one forward pass of the policy per
time step for all ``n_envs`` environments, one backward pass per update. That is what makes the thesis's
budgets (millions of environment steps per run) fit on a CPU; the SB3 path
(:mod:`musicrec.agents.recurrent_a2c`, preset ``recurrent_a2c``) does the same A2C update through SB3's
machinery and is kept as its cross-check: ``tests/agents/test_batched_ac.py`` shows that both make the
same parameter update from the same weights and rollout.

What it computes (the thesis's code, ikostrikov's ``a2c_ppo_acktr``, with its defaults):

* **Policy** (:class:`ActorCritic`): one GRU (64 units) shared by actor and critic, then for each a Tanh
  MLP of two 64-unit layers and a linear output; orthogonal initialisation (gain sqrt(2) for the MLPs,
  0.01 for the action logits, ``value_gain`` = sqrt(2) for the value head as in the thesis's code).
  ``recurrent=False`` drops the GRU (the MLPs see the observation). Flat actions have one categorical
  head over the ``L**d`` positions; factored actions one head per feature (``d`` categoricals over ``L``
  levels; their log-probabilities and entropies add).
* **Rollouts** of ``n_steps`` steps in every environment; backpropagation through time over each
  environment's whole segment, the hidden state reset at episode starts (episodes last 21 steps and
  their end is terminal: the thesis's code does not bootstrap at the time limit).
* **Normalisation** as SB3's / baselines' ``VecNormalize``: running mean and variance of the
  observations (clipped at 10 standard deviations) and rewards divided by the running standard
  deviation of the discounted return (clip 10). The statistics are frozen in every evaluation.
* **A2C**: n-step returns bootstrapped with the critic at the rollout's end, loss
  ``-mean(A log pi) + vf_coef * mean(A^2) - ent_coef * mean(H)``, gradients clipped to
  ``max_grad_norm``, RMSprop (alpha 0.99, eps 1e-5) or Adam.
* **PPO** on the same machinery: GAE(``gae_lambda``), ``n_epochs`` passes over ``n_minibatches``
  minibatches of whole environment sequences, clipped surrogate, advantages normalised per minibatch.

Everything is seeded (the policy's initialisation and the action sampling by torch, the targets by the
core's generator): the same seed on the same machine gives the same numbers. ``device="cuda"`` runs the
policy on a GPU (the grid stays in numpy).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from musicrec.errors import ParameterError, check_choice

ALGORITHMS = ("a2c", "ppo")
OPTIMIZERS = ("rmsprop", "adam")
MODEL_FILE = "model.pt"
NORMALIZATION_FILE = "normalization.npz"
EVAL_FILE = "eval.csv"
CHECKPOINT_FILE = "checkpoints.csv"
EPISODE_COLUMNS = ["timesteps", "episode", "return", "length"]


@dataclass(frozen=True)
class LearnerSettings:
    """Hyperparameters of :class:`BatchedActorCritic` (``configs/hyperparams/batched_a2c.yml`` / ``batched_ppo.yml``)."""

    algorithm: str = "a2c"
    """``"a2c"`` (n-step A2C, the thesis's algorithm) or ``"ppo"``."""
    n_steps: int = 20
    """Steps per environment and rollout: the n of the n-step returns."""
    learning_rate: float = 7e-4
    """Step size of the optimiser (the thesis's code: 7e-4 with 16 environments)."""
    lr_decay: bool = False
    """Decay the learning rate linearly to 0 over the run (the thesis's ``--use-linear-lr-decay``)."""
    optimizer: str = "rmsprop"
    """``"rmsprop"`` (the thesis's code's A2C) or ``"adam"`` (PPO's usual choice)."""
    rmsprop_alpha: float = 0.99
    """RMSprop's smoothing constant."""
    optimizer_eps: float = 1e-5
    """The optimiser's epsilon."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 1.0
    """GAE's lambda (1: plain n-step returns, as A2C)."""
    ent_coef: float = 0.01
    """Weight of the entropy bonus."""
    vf_coef: float = 0.5
    """Weight of the value loss."""
    max_grad_norm: float = 0.5
    """Gradients are clipped to this global norm."""
    normalize_obs: bool = True
    """Running mean/std normalisation of the observations."""
    normalize_returns: bool = True
    """Rewards divided by the running std of the discounted return."""
    clip_obs: float = 10.0
    """Normalised observations are clipped to +-this."""
    clip_reward: float = 10.0
    """Normalised rewards are clipped to +-this."""
    recurrent: bool = True
    """A GRU trunk (the thesis's recurrent policy); False: MLPs on the observation."""
    hidden_size: int = 64
    """Units of the GRU."""
    head_sizes: tuple[int, ...] = (64, 64)
    """Tanh layers of the actor's and the critic's MLP."""
    value_gain: float = math.sqrt(2)
    """Orthogonal-initialisation gain of the value output (the thesis's code: sqrt(2); SB3: 1)."""
    n_epochs: int = 4
    """PPO: passes over each rollout."""
    n_minibatches: int = 4
    """PPO: minibatches per pass (each holds whole environment sequences)."""
    clip_range: float = 0.2
    """PPO: clipping of the probability ratio."""
    normalize_advantage: bool = False
    """Normalise advantages per minibatch (PPO's usual setting; the thesis's A2C does not)."""

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, source: str = "hyperparameters") -> "LearnerSettings":
        """Validated settings from a YAML mapping: an unknown key or a wrong type is named with ``source``."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ParameterError(f"{source}: unknown key(s) {unknown}; known: {sorted(known)}")
        converted = {}
        for name, value in values.items():
            default = getattr(cls, name)
            try:
                if isinstance(default, bool):
                    if not isinstance(value, bool):
                        raise TypeError
                    converted[name] = value
                elif isinstance(default, tuple):
                    converted[name] = tuple(int(v) for v in value)
                elif isinstance(default, int):
                    if isinstance(value, bool) or int(value) != value:
                        raise TypeError
                    converted[name] = int(value)
                elif isinstance(default, float):
                    if isinstance(value, bool):
                        raise TypeError
                    converted[name] = float(value)
                else:
                    converted[name] = str(value)
            except (TypeError, ValueError):
                raise ParameterError(f"{source}: {name}={value!r} must be of type {type(default).__name__}") from None
        settings = cls(**converted)
        settings.validate(source)
        return settings

    def validate(self, source: str = "hyperparameters") -> None:
        check_choice(f"{source}: algorithm", self.algorithm, ALGORITHMS)
        check_choice(f"{source}: optimizer", self.optimizer, OPTIMIZERS)
        for name in ("n_steps", "hidden_size", "n_epochs", "n_minibatches"):
            if getattr(self, name) < 1:
                raise ParameterError(f"{source}: {name}={getattr(self, name)} must be at least 1")
        for name in ("learning_rate", "optimizer_eps", "max_grad_norm", "clip_obs", "clip_reward", "clip_range"):
            if not getattr(self, name) > 0:
                raise ParameterError(f"{source}: {name}={getattr(self, name)} must be positive")
        if not 0 < self.gamma <= 1 or not 0 <= self.gae_lambda <= 1:
            raise ParameterError(f"{source}: gamma={self.gamma} and gae_lambda={self.gae_lambda} must lie in (0, 1]")
        if not self.head_sizes or min(self.head_sizes) < 1:
            raise ParameterError(f"{source}: head_sizes={self.head_sizes} must be positive layer sizes")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["head_sizes"] = list(self.head_sizes)
        return data


class RunningMeanStd:
    """Running mean and variance over batches (Chan et al.'s parallel update, as baselines' and SB3's)."""

    def __init__(self, shape: tuple[int, ...] = ()):
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = 1e-4

    def update(self, batch: np.ndarray) -> None:
        batch_mean, batch_var, batch_count = batch.mean(axis=0), batch.var(axis=0), batch.shape[0]
        delta = batch_mean - self.mean
        total = self.count + batch_count
        self.mean = self.mean + delta * batch_count / total
        m2 = self.var * self.count + batch_var * batch_count + delta**2 * self.count * batch_count / total
        self.var = m2 / total
        self.count = total

    def state(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}_mean": self.mean, f"{prefix}_var": self.var, f"{prefix}_count": np.array(self.count)}

    def load(self, arrays: Mapping[str, np.ndarray], prefix: str) -> None:
        self.mean = np.asarray(arrays[f"{prefix}_mean"], dtype=np.float64)
        self.var = np.asarray(arrays[f"{prefix}_var"], dtype=np.float64)
        self.count = float(arrays[f"{prefix}_count"])


def _mlp(sizes: Sequence[int]) -> nn.ModuleList:
    return nn.ModuleList(nn.Linear(fan_in, fan_out) for fan_in, fan_out in zip(sizes[:-1], sizes[1:]))


def _tanh_mlp(layers: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
    for layer in layers:
        x = torch.tanh(F.linear(x, layer.weight, layer.bias))
    return x


class ActorCritic(nn.Module):
    """GRU trunk shared by a Tanh-MLP actor and critic (see the module docstring).

    Parameters
    ----------
    obs_dim : int
        Length of an observation.
    n_heads, n_choices : int
        The action: ``n_heads`` categoricals over ``n_choices`` each (flat: 1 x ``L**d``; factored:
        ``d`` x ``L``).
    recurrent, hidden_size, head_sizes, value_gain
        As in :class:`LearnerSettings`.
    """

    def __init__(self, obs_dim: int, n_heads: int, n_choices: int, *, recurrent: bool = True,
                 hidden_size: int = 64, head_sizes: Sequence[int] = (64, 64), value_gain: float = math.sqrt(2)):
        super().__init__()
        self.obs_dim, self.n_heads, self.n_choices = int(obs_dim), int(n_heads), int(n_choices)
        self.recurrent, self.hidden_size = bool(recurrent), int(hidden_size)
        features = self.hidden_size if recurrent else self.obs_dim
        self.gru = nn.GRU(self.obs_dim, self.hidden_size) if recurrent else None
        self.actor = _mlp([features, *head_sizes])
        self.critic = _mlp([features, *head_sizes])
        self.action_out = nn.Linear(head_sizes[-1], self.n_heads * self.n_choices)
        self.value_out = nn.Linear(head_sizes[-1], 1)
        for layer in (*self.actor, *self.critic):
            nn.init.orthogonal_(layer.weight, gain=math.sqrt(2))
            nn.init.zeros_(layer.bias)
        nn.init.orthogonal_(self.action_out.weight, gain=0.01)
        nn.init.zeros_(self.action_out.bias)
        nn.init.orthogonal_(self.value_out.weight, gain=value_gain)
        nn.init.zeros_(self.value_out.bias)
        if self.gru is not None:
            for name, param in self.gru.named_parameters():
                (nn.init.orthogonal_ if "weight" in name else nn.init.zeros_)(param)

    def initial_state(self, n: int, device=None) -> torch.Tensor:
        """Hidden state of ``n`` new episodes, shape ``(n, hidden_size)`` (``(n, 0)`` without recurrence)."""
        return torch.zeros(n, self.hidden_size if self.recurrent else 0, device=device)

    def step(self, obs: torch.Tensor, hidden: torch.Tensor, starts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One time step: ``(features, new hidden)`` for observations ``(n, obs_dim)``.

        ``starts`` (shape ``(n,)``, 1.0 where ``obs`` is an episode's first observation) resets the hidden state.
        """
        if self.gru is None:
            return obs, hidden
        hidden = hidden * (1.0 - starts).unsqueeze(1)
        gru = self.gru
        hidden = torch.gru_cell(obs, hidden, gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)
        return hidden, hidden

    def sequence(self, obs: torch.Tensor, hidden: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
        """Features of a rollout ``(T, n, obs_dim)`` from the hidden state at its start: ``(T, n, features)``."""
        if self.gru is None:
            return obs
        outputs = []
        for t in range(obs.shape[0]):
            out, hidden = self.step(obs[t], hidden, starts[t])
            outputs.append(out)
        return torch.stack(outputs)

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """Action logits ``(..., n_heads, n_choices)``."""
        out = F.linear(_tanh_mlp(self.actor, features), self.action_out.weight, self.action_out.bias)
        return out.view(*features.shape[:-1], self.n_heads, self.n_choices)

    def value(self, features: torch.Tensor) -> torch.Tensor:
        """State values ``(...)``."""
        return F.linear(_tanh_mlp(self.critic, features), self.value_out.weight, self.value_out.bias).squeeze(-1)


def _log_prob_entropy(logits: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probability of ``actions`` (``(..., n_heads)``) and entropy, each summed over the heads."""
    log_p = logits.log_softmax(dim=-1)
    chosen = log_p.gather(-1, actions.unsqueeze(-1)).squeeze(-1).sum(-1)
    entropy = -(log_p.exp() * log_p).sum(-1).sum(-1)
    return chosen, entropy


def _sample_from_log_p(log_p: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One draw per row of the categoricals ``exp(log_p)`` ``(..., n_choices)`` by inverting the CDF
    with one uniform per row (cheaper than Gumbel noise on every logit)."""
    with torch.no_grad():
        cdf = log_p.exp().cumsum(dim=-1)
        u = torch.rand(log_p.shape[:-1] + (1,), generator=generator, device=log_p.device)
        return (cdf < u * cdf[..., -1:]).sum(dim=-1).clamp_(max=log_p.shape[-1] - 1)


def _sample(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One action per row of ``logits`` ``(..., n_choices)``."""
    return _sample_from_log_p(logits.log_softmax(dim=-1), generator)


def copy_sb3_gru_policy(source, target: ActorCritic) -> None:
    """Copy the weights of SB3's ``GruActorCriticPolicy`` (preset ``recurrent_a2c``) into ``target``.

    Both are the same network (one GRU, Tanh MLPs ``[64, 64]`` for actor and critic, linear outputs), so
    the batched learner can be checked against SB3's update from the same weights.
    """
    gru = source.lstm_actor.gru
    pairs = [(target.gru.weight_ih_l0, gru.weight_ih_l0), (target.gru.weight_hh_l0, gru.weight_hh_l0),
             (target.gru.bias_ih_l0, gru.bias_ih_l0), (target.gru.bias_hh_l0, gru.bias_hh_l0),
             (target.action_out.weight, source.action_net.weight), (target.action_out.bias, source.action_net.bias),
             (target.value_out.weight, source.value_net.weight), (target.value_out.bias, source.value_net.bias)]
    for mine, theirs in ((target.actor, source.mlp_extractor.policy_net), (target.critic, source.mlp_extractor.value_net)):
        linear = [module for module in theirs if isinstance(module, nn.Linear)]
        if len(linear) != len(mine):
            raise ParameterError(f"the SB3 policy has {len(linear)} hidden layers per head, the target {len(mine)}")
        for a, b in zip(mine, linear):
            pairs += [(a.weight, b.weight), (a.bias, b.bias)]
    with torch.no_grad():
        for mine, theirs in pairs:
            if mine.shape != theirs.shape:
                raise ParameterError(f"weight shapes differ: {tuple(mine.shape)} vs {tuple(theirs.shape)}")
            mine.copy_(theirs)


@dataclass
class Rollout:
    """One rollout of ``T`` steps in ``n`` environments (tensors on the policy's device).

    Attributes
    ----------
    obs : [shape=(T, n, obs_dim)] normalised observations
    starts : [shape=(T, n)] 1.0 where ``obs[t]`` is an episode's first observation
    actions : [shape=(T, n, n_heads)] int64
    rewards : [shape=(T, n)] (normalised) rewards
    dones : [shape=(T, n)] 1.0 where the episode ended with step ``t`` (terminal)
    hidden : [shape=(n, hidden)] hidden state before ``obs[0]``
    last_value : [shape=(n,)] critic's value of the observation after the last step (0 where done)
    values, log_probs : [shape=(T, n)] the behaviour policy's values and log-probabilities (PPO; for
        A2C with the forward pass kept, with their autograd graph)
    entropies : [shape=(T, n)] the policy's entropies, with their graph (A2C with the forward pass kept)
    """

    obs: torch.Tensor
    starts: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    dones: torch.Tensor
    hidden: torch.Tensor
    last_value: torch.Tensor
    values: torch.Tensor | None = None
    log_probs: torch.Tensor | None = None
    entropies: torch.Tensor | None = None

    @property
    def has_graph(self) -> bool:
        return self.entropies is not None


def discounted_returns(rewards: torch.Tensor, dones: torch.Tensor, last_value: torch.Tensor,
                       gamma: float) -> torch.Tensor:
    """n-step returns ``R_t = r_t + gamma (1 - done_t) R_{t+1}``, ``R_T = last_value``; shape ``(T, n)``."""
    returns = torch.empty_like(rewards)
    running = last_value
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = rewards[t] + gamma * (1.0 - dones[t]) * running
        returns[t] = running
    return returns


def gae(rewards: torch.Tensor, values: torch.Tensor, dones: torch.Tensor, last_value: torch.Tensor,
        gamma: float, lam: float) -> torch.Tensor:
    """Generalised advantage estimates, shape ``(T, n)`` (``lam = 1``: n-step returns minus values)."""
    advantages = torch.empty_like(rewards)
    running = torch.zeros_like(last_value)
    next_value = last_value
    for t in range(rewards.shape[0] - 1, -1, -1):
        alive = 1.0 - dones[t]
        delta = rewards[t] + gamma * alive * next_value - values[t]
        running = delta + gamma * lam * alive * running
        advantages[t] = running
        next_value = values[t]
    return advantages


class BatchedActorCritic:
    """Recurrent A2C / PPO on ``n_envs`` feature grids stepped at once (see the module docstring).

    Parameters
    ----------
    env_kwargs : mapping
        :class:`~musicrec.envs.grid.BatchedFeatureGrid` settings (``dims``, ``levels``, ``target``,
        ``reward``, ``obs``, ``action``, ``episode_length``, noise).
    n_envs : int
        Environments stepped together (the batch of every update holds ``n_envs * n_steps`` steps).
    settings : LearnerSettings
        Hyperparameters.
    seed : int
        Seeds the policy's initialisation, the action sampling and the targets.
    device : str or torch.device
        Where the policy runs.
    """

    def __init__(self, env_kwargs: Mapping[str, Any], n_envs: int, settings: LearnerSettings, *, seed: int = 0,
                 device: str | torch.device = "cpu"):
        from musicrec.envs.grid_core import BatchedFeatureGrid

        settings.validate()
        self.settings = settings
        self.device = torch.device(device)
        self.core = BatchedFeatureGrid(n_envs, seed=seed, **dict(env_kwargs))
        self.env_kwargs = dict(self.core.settings)
        self.n_envs = self.core.n_envs
        if self.core.action_mode == "flat":
            n_heads, n_choices = 1, self.core.n_positions
        else:
            n_heads, n_choices = self.core.dims, self.core.levels
        torch.manual_seed(seed)
        self.policy = ActorCritic(self.core.obs_dim, n_heads, n_choices, recurrent=settings.recurrent,
                                  hidden_size=settings.hidden_size, head_sizes=settings.head_sizes,
                                  value_gain=settings.value_gain).to(self.device)
        params = self.policy.parameters()
        if settings.optimizer == "rmsprop":
            self.optimizer = torch.optim.RMSprop(params, lr=settings.learning_rate, alpha=settings.rmsprop_alpha,
                                                 eps=settings.optimizer_eps)
        else:
            self.optimizer = torch.optim.Adam(params, lr=settings.learning_rate, eps=settings.optimizer_eps)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)
        self.obs_rms = RunningMeanStd((self.core.obs_dim,))
        self.ret_rms = RunningMeanStd(())
        self.num_timesteps = 0
        self.updates = 0
        self.episodes: list[tuple[int, int, float, int]] = []
        self._discounted = np.zeros(self.n_envs)
        self._episode_return = np.zeros(self.n_envs)
        self._episode_length = np.zeros(self.n_envs, dtype=np.int64)
        self._obs = self._normalize_obs(self.core.reset(), update=True)
        self._starts = np.ones(self.n_envs, dtype=np.float32)
        self._hidden = self.policy.initial_state(self.n_envs, self.device)

    # -- normalisation ---------------------------------------------------------------------------
    def _normalize_obs(self, obs: np.ndarray, *, update: bool) -> np.ndarray:
        if not self.settings.normalize_obs:
            return obs.astype(np.float32, copy=False)
        if update:
            self.obs_rms.update(obs)
        out = (obs - self.obs_rms.mean) / np.sqrt(self.obs_rms.var + 1e-8)
        return np.clip(out, -self.settings.clip_obs, self.settings.clip_obs).astype(np.float32)

    def _normalize_rewards(self, rewards: np.ndarray, dones: np.ndarray) -> np.ndarray:
        if not self.settings.normalize_returns:
            return rewards.astype(np.float32, copy=False)
        self._discounted = self._discounted * self.settings.gamma + rewards
        self.ret_rms.update(self._discounted)
        out = np.clip(rewards / np.sqrt(self.ret_rms.var + 1e-8), -self.settings.clip_reward, self.settings.clip_reward)
        self._discounted[dones] = 0.0
        return out.astype(np.float32)

    # -- data collection ---------------------------------------------------------------------------
    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    def collect(self, *, keep_graph: bool | None = None) -> Rollout:
        """Run the current policy for ``n_steps`` steps in every environment.

        With ``keep_graph`` (A2C's default) the forward pass that chose the actions is kept for the
        update: A2C's single gradient step uses the very same weights, so recomputing it (what
        :meth:`update` does for a rollout without a graph, and PPO always) would give the same numbers
        at twice the cost.
        """
        s = self.settings
        keep_graph = (s.algorithm == "a2c") if keep_graph is None else keep_graph
        T, n = s.n_steps, self.n_envs
        ppo = s.algorithm == "ppo"
        obs_buf = np.empty((T, n, self.core.obs_dim), dtype=np.float32)
        starts_buf = np.empty((T, n), dtype=np.float32)
        rewards_buf = np.empty((T, n), dtype=np.float32)
        dones_buf = np.empty((T, n), dtype=np.float32)
        actions_buf = torch.empty((T, n, self.policy.n_heads), dtype=torch.int64, device=self.device)
        log_probs, values, entropies = [], [], []
        hidden0 = self._hidden
        hidden = hidden0
        flat = self.core.action_mode == "flat"
        with torch.set_grad_enabled(keep_graph), torch.inference_mode(not keep_graph):
            for t in range(T):
                obs_buf[t], starts_buf[t] = self._obs, self._starts
                features, hidden = self.policy.step(self._tensor(self._obs), hidden, self._tensor(self._starts))
                log_p = self.policy.logits(features).log_softmax(dim=-1)
                actions = _sample_from_log_p(log_p, self.generator)
                actions_buf[t] = actions
                if keep_graph or ppo:
                    log_probs.append(log_p.gather(-1, actions.unsqueeze(-1)).squeeze(-1).sum(-1))
                    values.append(self.policy.value(features))
                if keep_graph:
                    entropies.append(-(log_p.exp() * log_p).sum(-1).sum(-1))
                env_actions = actions.cpu().numpy()
                raw_obs, rewards, dones, _ = self.core.step(env_actions[:, 0] if flat else env_actions)
                self.num_timesteps += n
                self._log_episodes(rewards, dones)
                rewards_buf[t] = self._normalize_rewards(rewards, dones)
                dones_buf[t] = dones
                if dones.any():
                    finished = np.flatnonzero(dones)
                    raw_obs[finished] = self.core.reset(envs=finished)
                self._obs = self._normalize_obs(raw_obs, update=True)
                self._starts = dones.astype(np.float32)
        with torch.inference_mode():
            features, _ = self.policy.step(self._tensor(self._obs), hidden.detach(), self._tensor(self._starts))
            last_value = self.policy.value(features) * (1.0 - self._tensor(self._starts))
        self._hidden = hidden.detach().clone()
        stack = (lambda items: torch.stack(items) if items else None)
        return Rollout(obs=self._tensor(obs_buf), starts=self._tensor(starts_buf), actions=actions_buf.clone(),
                       rewards=self._tensor(rewards_buf), dones=self._tensor(dones_buf), hidden=hidden0.clone(),
                       last_value=last_value.clone(), values=stack(values), log_probs=stack(log_probs),
                       entropies=stack(entropies) if keep_graph else None)

    def _log_episodes(self, rewards: np.ndarray, dones: np.ndarray) -> None:
        self._episode_return += rewards
        self._episode_length += 1
        if dones.any():
            for i in np.flatnonzero(dones):
                self.episodes.append((self.num_timesteps, len(self.episodes), float(self._episode_return[i]),
                                      int(self._episode_length[i])))
            self._episode_return[dones] = 0.0
            self._episode_length[dones] = 0

    # -- updates ---------------------------------------------------------------------------------
    def set_learning_rate(self, rate: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = rate

    def _step_optimizer(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.policy.parameters(), self.settings.max_grad_norm)
        self.optimizer.step()

    def _a2c_loss(self, rollout: Rollout, values: torch.Tensor, log_prob: torch.Tensor,
                  entropy: torch.Tensor) -> dict[str, torch.Tensor]:
        s = self.settings
        if s.gae_lambda == 1.0:
            advantages = discounted_returns(rollout.rewards, rollout.dones, rollout.last_value, s.gamma) - values
            policy_advantages = advantages.detach()
        else:
            policy_advantages = gae(rollout.rewards, values.detach(), rollout.dones, rollout.last_value,
                                    s.gamma, s.gae_lambda)
            advantages = policy_advantages + values.detach() - values
        if s.normalize_advantage:
            policy_advantages = (policy_advantages - policy_advantages.mean()) / (policy_advantages.std() + 1e-8)
        policy_loss = -(policy_advantages * log_prob).mean()
        value_loss = advantages.pow(2).mean()
        loss = policy_loss + s.vf_coef * value_loss - s.ent_coef * entropy.mean()
        return {"loss": loss, "policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy.mean()}

    def update(self, rollout: Rollout) -> dict[str, float]:
        """One A2C update, or PPO's epochs, from ``rollout``; returns the losses of the last step."""
        s = self.settings
        self.updates += 1
        if s.algorithm == "a2c":
            if rollout.has_graph:
                values, log_prob, entropy = rollout.values, rollout.log_probs, rollout.entropies
            else:
                features = self.policy.sequence(rollout.obs, rollout.hidden, rollout.starts)
                values = self.policy.value(features)
                log_prob, entropy = _log_prob_entropy(self.policy.logits(features), rollout.actions)
            losses = self._a2c_loss(rollout, values, log_prob, entropy)
            self._step_optimizer(losses["loss"])
            return {k: float(v.detach()) for k, v in losses.items()}
        advantages = gae(rollout.rewards, rollout.values, rollout.dones, rollout.last_value, s.gamma, s.gae_lambda)
        returns = advantages + rollout.values
        n = self.n_envs
        size = max(1, n // s.n_minibatches)
        out: dict[str, float] = {}
        for _ in range(s.n_epochs):
            order = torch.randperm(n, generator=self.generator, device=self.device)
            for begin in range(0, n, size):
                envs = order[begin:begin + size]
                features = self.policy.sequence(rollout.obs[:, envs], rollout.hidden[envs], rollout.starts[:, envs])
                values = self.policy.value(features)
                log_prob, entropy = _log_prob_entropy(self.policy.logits(features), rollout.actions[:, envs])
                adv = advantages[:, envs]
                if s.normalize_advantage:
                    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                ratio = (log_prob - rollout.log_probs[:, envs]).exp()
                policy_loss = -torch.min(ratio * adv, ratio.clamp(1 - s.clip_range, 1 + s.clip_range) * adv).mean()
                value_loss = (returns[:, envs] - values).pow(2).mean()
                loss = policy_loss + s.vf_coef * value_loss - s.ent_coef * entropy.mean()
                self._step_optimizer(loss)
                out = {"loss": float(loss.detach()), "policy_loss": float(policy_loss.detach()),
                       "value_loss": float(value_loss.detach()), "entropy": float(entropy.mean().detach())}
        return out

    def learn(self, total_timesteps: int, *, on_update: Callable[["BatchedActorCritic"], None] | None = None,
              progress: bool = True, description: str = "") -> "BatchedActorCritic":
        """Collect and update until ``total_timesteps`` environment steps (rounded up to whole rollouts).

        ``on_update(learner)`` runs before the first rollout and after every update (evaluations).
        """
        from tqdm import tqdm

        rollout = self.n_envs * self.settings.n_steps
        n_updates = max(1, math.ceil(total_timesteps / rollout))
        bar = tqdm(total=n_updates * rollout, desc=description or f"{self.settings.algorithm} {self.env_kwargs['dims']}D",
                   unit="step", unit_scale=True, disable=not progress, mininterval=5)
        if on_update is not None:
            on_update(self)
        for index in range(n_updates):
            if self.settings.lr_decay:
                self.set_learning_rate(self.settings.learning_rate * (1.0 - index / n_updates))
            self.update(self.collect())
            bar.update(rollout)
            if on_update is not None:
                on_update(self)
        bar.close()
        return self

    # -- acting and saving -------------------------------------------------------------------------
    def predict(self, obs: np.ndarray, state: torch.Tensor | None = None, episode_start: np.ndarray | None = None,
                deterministic: bool = True) -> tuple[np.ndarray, torch.Tensor]:
        """Actions for raw observations ``(n, obs_dim)``, SB3's ``predict`` signature (frozen normalisation)."""
        return policy_predict(self.policy, self.obs_rms if self.settings.normalize_obs else None,
                              self.settings.clip_obs, self.core.action_mode, obs, state, episode_start,
                              deterministic=deterministic, generator=self.generator)

    def save(self, folder: str | os.PathLike) -> None:
        """``model.pt`` (weights, loadable with ``weights_only=True``) and ``normalization.npz``."""
        folder = Path(folder)
        torch.save({k: v.cpu() for k, v in self.policy.state_dict().items()}, folder / MODEL_FILE)
        arrays = {**self.obs_rms.state("obs"), **self.ret_rms.state("ret")}
        np.savez(folder / NORMALIZATION_FILE, **arrays)

    def episode_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.episodes, columns=EPISODE_COLUMNS)


def policy_predict(policy: ActorCritic, obs_rms: RunningMeanStd | None, clip_obs: float, action_mode: str,
                   obs: np.ndarray, state: torch.Tensor | None, episode_start: np.ndarray | None, *,
                   deterministic: bool = True, generator: torch.Generator | None = None):
    """The deterministic (argmax) or sampled action of ``policy`` for raw observations."""
    obs = np.asarray(obs, dtype=np.float32)
    n = obs.shape[0]
    device = next(policy.parameters()).device
    if obs_rms is not None:
        obs = np.clip((obs - obs_rms.mean) / np.sqrt(obs_rms.var + 1e-8), -clip_obs, clip_obs).astype(np.float32)
    if state is None:
        state = policy.initial_state(n, device)
    starts = np.zeros(n, dtype=np.float32) if episode_start is None else np.asarray(episode_start, dtype=np.float32)
    with torch.inference_mode():
        features, state = policy.step(torch.from_numpy(obs).to(device), state, torch.from_numpy(starts).to(device))
        logits = policy.logits(features)
        if deterministic:
            actions = logits.argmax(dim=-1)
        else:
            actions = _sample(logits, generator)
    actions = actions.cpu().numpy()
    return (actions[:, 0] if action_mode == "flat" else actions), state


@dataclass
class TrainedPolicy:
    """A trained policy loaded from a run folder, with SB3's ``predict`` signature."""

    policy: ActorCritic
    obs_rms: RunningMeanStd | None
    clip_obs: float
    action_mode: str

    def predict(self, obs, state=None, episode_start=None, deterministic: bool = True):
        return policy_predict(self.policy, self.obs_rms, self.clip_obs, self.action_mode, obs, state, episode_start,
                              deterministic=deterministic)


def load_policy(folder: str | os.PathLike, config: Mapping[str, Any], *, device: str = "cpu") -> TrainedPolicy:
    """The policy a :func:`train` run saved in ``folder`` (``config`` is the run's resolved agent config)."""
    from musicrec.envs.grid_core import check_settings, make_spaces
    from musicrec.users.grid import grid_geometry

    folder = Path(folder)
    settings = LearnerSettings.from_mapping(config["hyperparams"], source=f"{folder.name}/config.yml")
    env = check_settings(**config["env"]["kwargs"])
    geometry = grid_geometry(env["dims"], env["levels"], env["target"])
    observation_space, _ = make_spaces(geometry, env["obs"], env["action"])
    n_heads, n_choices = (1, geometry.n_positions) if env["action"] == "flat" else (env["dims"], env["levels"])
    policy = ActorCritic(observation_space.shape[0], n_heads, n_choices, recurrent=settings.recurrent,
                         hidden_size=settings.hidden_size, head_sizes=settings.head_sizes)
    try:
        state = torch.load(folder / MODEL_FILE, map_location=device, weights_only=True)
        policy.load_state_dict(state)
    except Exception as error:  # noqa: BLE001  (a corrupt or foreign file)
        raise ParameterError(f"{folder / MODEL_FILE} is not a model of this policy: {error}") from None
    policy.to(device)
    obs_rms = None
    if settings.normalize_obs:
        obs_rms = RunningMeanStd((observation_space.shape[0],))
        with np.load(folder / NORMALIZATION_FILE, allow_pickle=False) as arrays:
            obs_rms.load(arrays, "obs")
    return TrainedPolicy(policy, obs_rms, settings.clip_obs, env["action"])


@dataclass
class BatchedTrainResult:
    """What :func:`train` returns: the learner, its episode log and evaluations, and the resolved config."""

    model: BatchedActorCritic
    episodes: pd.DataFrame
    evaluations: pd.DataFrame
    config: dict[str, Any]
    wall_time_s: float
    cpu_time_s: float


class Evaluations:
    """The deterministic policy from every (or a sample of) target(s) at fixed env-step intervals.

    Writes ``eval.csv`` (``timesteps, updates, mean, std, found, eval_s``) and, at the env steps of
    ``checkpoints``, every target's return to ``checkpoints.csv`` (``timesteps, target, return``) — the
    thesis's metric tables pool such checkpoints of one training. Times are kept apart (``timings``) so
    that two runs with the same seed write byte-identical CSVs.
    """

    def __init__(self, env_kwargs: Mapping[str, Any], *, every: int, targets: Sequence[int] | None = None,
                 checkpoints: Sequence[int] = (), repeats: int = 1, folder: str | os.PathLike | None = None):
        self.env_kwargs, self.every, self.targets = dict(env_kwargs), int(every), targets
        self.checkpoints = sorted(int(c) for c in checkpoints)
        self.repeats = int(repeats)
        self.folder = None if folder is None else Path(folder)
        self.rows: list[dict[str, float]] = []
        self.checkpoint_rows: list[pd.DataFrame] = []
        self.timings: list[dict[str, float]] = []
        self._next = 0
        self._next_checkpoint = 0

    def evaluate(self, learner: BatchedActorCritic) -> pd.DataFrame:
        """Every target's return under the current deterministic policy (true ratings for noisy users)."""
        from musicrec.envs.grid_core import evaluate_all_targets

        result = evaluate_all_targets(learner.predict, targets=self.targets, repeats=self.repeats,
                                      seed=learner.updates, **self.env_kwargs)
        return pd.DataFrame({"target": result.targets, "return": result.returns, "first_top": result.first_top})

    def __call__(self, learner: BatchedActorCritic, *, final: bool = False) -> None:
        steps = learner.num_timesteps
        due_checkpoint = (self._next_checkpoint < len(self.checkpoints)
                          and steps >= self.checkpoints[self._next_checkpoint])
        if not (final or steps >= self._next or due_checkpoint):
            return
        started = time.perf_counter()
        frame = self.evaluate(learner)
        self.timings.append({"timesteps": steps, "eval_s": round(time.perf_counter() - started, 4),
                             "cpu_s": round(time.process_time(), 3)})
        if not self.rows or self.rows[-1]["timesteps"] != steps:
            self.rows.append({"timesteps": steps, "updates": learner.updates, "mean": float(frame["return"].mean()),
                              "std": float(frame["return"].std(ddof=0)),
                              "found": float((frame.first_top > 0).mean())})
        while due_checkpoint:
            self.checkpoint_rows.append(frame[["target", "return"]].assign(timesteps=steps))
            self._next_checkpoint += 1
            due_checkpoint = (self._next_checkpoint < len(self.checkpoints)
                              and steps >= self.checkpoints[self._next_checkpoint])
        self._next = (steps // self.every + 1) * self.every
        self.write()

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["timesteps", "updates", "mean", "std", "found"])

    def checkpoint_frame(self) -> pd.DataFrame:
        if not self.checkpoint_rows:
            return pd.DataFrame(columns=["timesteps", "target", "return"])
        return pd.concat(self.checkpoint_rows, ignore_index=True)[["timesteps", "target", "return"]]

    def write(self) -> None:
        from musicrec.runs import write_csv_atomic

        if self.folder is None:
            return
        write_csv_atomic(self.frame(), self.folder / EVAL_FILE)
        if self.checkpoints:
            write_csv_atomic(self.checkpoint_frame(), self.folder / CHECKPOINT_FILE)


def resolve(config: Mapping[str, Any], env_config: Mapping[str, Any], *, hyperparams_file: str) -> dict[str, Any]:
    """The full, validated config of a batched run (what ``config.yml`` records)."""
    from musicrec.envs.grid_core import check_settings
    from musicrec.errors import check_number
    from musicrec.hyperparams import load_hyperparams

    if env_config.get("id") != "musicrec/FeatureGrid-v0":
        raise ParameterError(f"the batched learner trains on musicrec/FeatureGrid-v0, not {env_config.get('id')!r}")
    unknown = set(config) - {"preset", "total_timesteps", "n_envs", "hyperparams"}
    if unknown:
        raise ParameterError(f"unknown agent config key(s) {sorted(unknown)}")
    total = check_number("total_timesteps", config.get("total_timesteps"), low=1, integer=True)
    n_envs = check_number("n_envs", config.get("n_envs", 256), low=1, integer=True)
    hyper = load_hyperparams(hyperparams_file, env_config["id"])
    hyper.update(dict(config.get("hyperparams") or {}))
    settings = LearnerSettings.from_mapping(hyper, source=f"configs/hyperparams/{hyperparams_file}.yml + overrides")
    env = check_settings(**dict(env_config.get("kwargs") or {}))
    return {"preset": config["preset"], "algorithm": "musicrec.agents.batched_ac:BatchedActorCritic",
            "total_timesteps": int(total), "n_envs": int(n_envs), "hyperparams": settings.as_dict(),
            "env": {"id": env_config["id"], "kwargs": env}}


def train(resolved: Mapping[str, Any], seed: int, run_dir: str | os.PathLike | None, *, device: str = "cpu",
          progress_bar: bool = True, evaluations: Evaluations | None = None) -> BatchedTrainResult:
    """Train a resolved batched config (:func:`resolve`); save ``model.pt``, ``normalization.npz`` and
    ``metrics.csv`` (one row per finished training episode) in ``run_dir`` when given."""
    from musicrec.runs import write_csv_atomic
    from musicrec.utils import set_seed, setup_torch

    set_seed(seed)
    torch_device = setup_torch(device)
    settings = LearnerSettings.from_mapping(resolved["hyperparams"])
    learner = BatchedActorCritic(resolved["env"]["kwargs"], resolved["n_envs"], settings, seed=seed,
                                 device=torch_device)
    started, cpu_started = time.perf_counter(), time.process_time()
    learner.learn(resolved["total_timesteps"], on_update=evaluations, progress=progress_bar,
                  description=f"{resolved['preset']} seed {seed}")
    if evaluations is not None:
        evaluations(learner, final=True)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    episodes = learner.episode_frame()
    if run_dir is not None:
        run_dir = Path(run_dir)
        learner.save(run_dir)
        write_csv_atomic(episodes, run_dir / "metrics.csv")
    return BatchedTrainResult(model=learner, episodes=episodes,
                              evaluations=evaluations.frame() if evaluations is not None else pd.DataFrame(),
                              config=dict(resolved), wall_time_s=wall, cpu_time_s=cpu)
