"""Recurrent A2C as in the thesis, built from sb3-contrib's ``RecurrentPPO`` and a GRU policy of our own.

Neither stable-baselines3 nor sb3-contrib ships a recurrent A2C. ``RecurrentPPO`` configured with

* one epoch (``n_epochs=1``) and one minibatch holding the whole rollout (``batch_size=None``),
* ``gae_lambda=1`` (GAE with lambda 1 is the n-step return bootstrapped at the rollout's end),
* no advantage normalisation, no value clipping, no KL early stop,
* RMSprop (alpha 0.99, eps 1e-5) in place of Adam,

performs the n-step A2C update: the rollout is collected by the current policy, so at the only
gradient step the probability ratio is 1, the clipped surrogate ``min(r A, clip(r) A)`` has the
gradient of ``r A`` = the gradient of ``log pi * A``, and the value and entropy terms are A2C's. One
detail is not A2C's: sb3-contrib's recurrent buffer rotates the rollout by a random offset before
cutting it into sequences, which cuts one env's segment in two and stops backpropagation through time
at the cut. :class:`RecurrentA2C` (``RecurrentPPO`` with a buffer that keeps the rollout in order, no
other change) removes that cut, so the gradient flows through each env's whole n-step segment as in
the thesis's code. ``tests/agents/test_recurrent_a2c.py`` shows the equivalence twice: SB3 ``PPO``
configured this way and SB3 ``A2C`` make the same parameter update from the same weights and rollout,
and the ``recurrent_a2c`` preset's update equals a hand-written recurrent A2C step over the same rollout
(with this GRU policy and with sb3-contrib's LSTM policy).

The policy (:class:`GruActorCriticPolicy`) follows the thesis's code (ikostrikov's ``MLPBase`` with
``recurrent=True``): one GRU with hidden size 64 shared by actor and critic (both losses train it),
then a Tanh MLP of two 64-unit layers and a linear output for each head (the thesis's "three-layered
neural network"), orthogonal initialisation. One initialisation detail matters: the thesis's code scales
the value head by sqrt(2) where SB3 uses 1 (``value_gain``, set to sqrt(2) in
``configs/hyperparams/recurrent_a2c.yml``). On the 2D WiderTopTarget/Bullseye/GridObs task with n = 20,
3 M env steps and 4 seeds, gain 1 ended at a mean over all targets of 185.1 (one seed in four near 199),
gain sqrt(2) at 198.3 (all four seeds >= 196), the thesis's own code at 196.8; a linear learning-rate
decay to 0 (``learning_rate="lin_7e-4"``, the thesis's code's ``--use-linear-lr-decay``) did not help
(183.8); ``benchmarks/grid_agents.py ablation`` reruns this comparison.

The policy plugs into ``RecurrentPPO``'s machinery (rollout buffer, sequence padding, loss, optimiser
step) by standing in for its LSTM: the buffer's "cell state" is carried along unused. It is also leaner than sb3-contrib's ``MlpLstmPolicy``: one recurrent pass
over each padded batch instead of a Python loop over time steps (sequences are split at episode
starts, so a reset can only happen at a sequence's first step), and categorical sampling without
``torch.distributions`` objects. ``policy="MlpLstmPolicy"`` gives the same A2C update with
sb3-contrib's LSTM in place of the GRU.

Importing this module registers the preset ``recurrent_a2c`` with :mod:`musicrec.agents.sb3`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from sb3_contrib.common.recurrent.buffers import RecurrentRolloutBuffer
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.utils import FloatSchedule, LinearSchedule
from torch import nn
from torch.nn import functional as F

from musicrec.errors import ParameterError


class OrderedRecurrentRolloutBuffer(RecurrentRolloutBuffer):
    """sb3-contrib's recurrent buffer without the random rotation of the sample order.

    When one minibatch holds the whole rollout, sorting its indices gives each env's n-step segment as
    one sequence (split only at episode starts), so backpropagation through time covers it all.
    Smaller minibatches keep sb3-contrib's order.
    """

    def _get_samples(self, batch_inds: np.ndarray, env_change: np.ndarray, env=None):
        if len(batch_inds) == self.buffer_size * self.n_envs:
            batch_inds = np.sort(batch_inds)
        return super()._get_samples(batch_inds, env_change, env)


def learning_rate_schedule(learning_rate: float | str):
    """``learning_rate`` as SB3 takes it: a number (constant) or ``"lin_<lr>"`` (linear decay to 0).

    ``"lin_7e-4"`` is the thesis's code with ``--use-linear-lr-decay``: the rate falls linearly from
    7e-4 at the first update to 0 at the end of the run.
    """
    if isinstance(learning_rate, str):
        kind, _, value = learning_rate.partition("_")
        try:
            start = float(value)
        except ValueError:
            start = float("nan")
        if kind != "lin" or not start > 0:
            raise ParameterError(f"learning_rate={learning_rate!r}: use a number or 'lin_<positive number>'")
        return LinearSchedule(start, 0.0, 1.0)
    return learning_rate


class RecurrentA2C(RecurrentPPO):
    """``RecurrentPPO`` with :class:`OrderedRecurrentRolloutBuffer`; with :data:`musicrec.agents.sb3.RECURRENT_A2C_FIXED` it is A2C.

    ``learning_rate`` also takes ``"lin_<lr>"``: linear decay from ``<lr>`` to 0 over the run
    (:func:`learning_rate_schedule`).
    """

    def _setup_lr_schedule(self) -> None:
        self.lr_schedule = FloatSchedule(learning_rate_schedule(self.learning_rate))

    def _setup_model(self) -> None:
        super()._setup_model()
        if isinstance(self.observation_space, spaces.Dict):
            return  # the dict buffer keeps sb3-contrib's order
        lstm = self.policy.lstm_actor
        self.rollout_buffer = OrderedRecurrentRolloutBuffer(
            self.n_steps, self.observation_space, self.action_space,
            (self.n_steps, lstm.num_layers, self.n_envs, lstm.hidden_size), self.device,
            gamma=self.gamma, gae_lambda=self.gae_lambda, n_envs=self.n_envs)


class GruCore(nn.Module):
    """A multi-layer GRU that takes and returns ``(hidden, cell)`` pairs like ``nn.LSTM``.

    ``RecurrentPPO`` stores an LSTM's hidden and cell state; the GRU has no cell state, so the second
    element is passed through untouched (zeros). ``num_layers``, ``hidden_size`` and ``input_size``
    are what ``RecurrentPPO`` reads to size its buffers.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.gru = nn.GRU(input_size, hidden_size, num_layers=num_layers)
        for name, param in self.gru.named_parameters():  # as the thesis's code: orthogonal, zero bias
            if "weight" in name:
                nn.init.orthogonal_(param)
            else:
                nn.init.zeros_(param)

    def forward(self, x: th.Tensor, states: tuple[th.Tensor, th.Tensor]):
        if x.shape[0] == 1:  # one step (data collection): GRU cells, without nn.GRU's overhead
            inputs, hidden = x[0], []
            for layer in range(self.num_layers):
                inputs = th.gru_cell(inputs, states[0][layer], *self._layer_weights(layer))
                hidden.append(inputs)
            return inputs.unsqueeze(0), (th.stack(hidden), states[1])
        out, hidden = self.gru(x, states[0].contiguous())
        return out, (hidden, states[1])

    def _layer_weights(self, layer: int) -> tuple[th.Tensor, ...]:
        gru = self.gru
        return (getattr(gru, f"weight_ih_l{layer}"), getattr(gru, f"weight_hh_l{layer}"),
                getattr(gru, f"bias_ih_l{layer}"), getattr(gru, f"bias_hh_l{layer}"))


class GruActorCriticPolicy(RecurrentActorCriticPolicy):
    """GRU actor-critic for ``RecurrentPPO``: shared GRU, separate Tanh MLP heads.

    Parameters
    ----------
    gru_hidden_size : int
        Units of the GRU (the thesis: 64).
    gru_layers : int
        Stacked GRU layers (the thesis's code: 1).
    value_gain : float
        Gain of the orthogonal initialisation of the value head (SB3: 1; the thesis's code: sqrt(2)).
    net_arch : dict
        MLP after the GRU, default ``{"pi": [64, 64], "vf": [64, 64]}``.
    Other keyword arguments go to :class:`RecurrentActorCriticPolicy` (optimizer, activation...).
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space, lr_schedule, *,
                 gru_hidden_size: int = 64, gru_layers: int = 1, net_arch=None, value_gain: float = 1.0,
                 **kwargs):
        for key in ("lstm_hidden_size", "n_lstm_layers", "shared_lstm", "enable_critic_lstm", "lstm_kwargs"):
            if key in kwargs:
                raise ValueError(f"GruActorCriticPolicy takes gru_hidden_size/gru_layers, not {key}")
        if net_arch is None:
            net_arch = {"pi": [64, 64], "vf": [64, 64]}
        super().__init__(observation_space, action_space, lr_schedule, net_arch=net_arch,
                         lstm_hidden_size=gru_hidden_size, n_lstm_layers=gru_layers,
                         shared_lstm=True, enable_critic_lstm=False, **kwargs)
        self.gru_hidden_size, self.gru_layers, self.value_gain = gru_hidden_size, gru_layers, float(value_gain)
        self.lstm_actor = GruCore(self.features_dim, gru_hidden_size, gru_layers)
        if self.value_gain != 1.0:  # SB3 initialises the value head with gain 1, the thesis's code sqrt(2)
            nn.init.orthogonal_(self.value_net.weight, gain=self.value_gain)
            nn.init.zeros_(self.value_net.bias)
        if isinstance(action_space, spaces.Discrete):
            self._splits: list[int] | None = [int(action_space.n)]
        elif isinstance(action_space, spaces.MultiDiscrete):
            self._splits = [int(n) for n in np.asarray(action_space.nvec).ravel()]
        else:
            self._splits = None  # other spaces: SB3's distributions
        # The parent built its optimiser over the LSTM it created; rebuild it over the GRU.
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        for key in ("lstm_hidden_size", "n_lstm_layers", "shared_lstm", "enable_critic_lstm", "lstm_kwargs"):
            data.pop(key, None)
        data.update(gru_hidden_size=self.gru_hidden_size, gru_layers=self.gru_layers, value_gain=self.value_gain)
        return data

    # -- the recurrent pass ------------------------------------------------------------------
    def _recurrent(self, features: th.Tensor, states: tuple[th.Tensor, th.Tensor],
                   episode_starts: th.Tensor) -> tuple[th.Tensor, tuple[th.Tensor, th.Tensor]]:
        """Run the GRU over ``n_seq`` padded sequences (``features`` is sequence-major, flattened)."""
        hidden, cell = states
        n_seq = hidden.shape[1]
        x = features.reshape(n_seq, -1, self.lstm_actor.input_size).transpose(0, 1)
        starts = episode_starts.reshape(n_seq, -1).transpose(0, 1)
        if x.shape[0] > 1 and bool(starts[1:].any()):
            # A reset inside a sequence (never the case for RecurrentPPO's batches): step by step.
            outputs = []
            for step in range(x.shape[0]):
                hidden = hidden * (1.0 - starts[step]).view(1, n_seq, 1)
                out, (hidden, cell) = self.lstm_actor(x[step:step + 1], (hidden, cell))
                outputs.append(out)
            out = th.cat(outputs)
        else:
            hidden = hidden * (1.0 - starts[0]).view(1, n_seq, 1)
            out, (hidden, cell) = self.lstm_actor(x, (hidden, cell))
        return out.transpose(0, 1).reshape(-1, self.lstm_actor.hidden_size), (hidden, cell)

    @staticmethod
    def _mlp(net: nn.Sequential, x: th.Tensor) -> th.Tensor:
        """``net(x)`` for a Sequential of Linear and activation layers, as plain function calls."""
        for module in net:
            if isinstance(module, nn.Linear):
                x = F.linear(x, module.weight, module.bias)
            elif isinstance(module, nn.Tanh):
                x = th.tanh(x)
            else:
                x = module(x)
        return x

    def _heads(self, latent: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        latent_pi = self._mlp(self.mlp_extractor.policy_net, latent)
        latent_vf = self._mlp(self.mlp_extractor.value_net, latent)
        return latent_pi, F.linear(latent_vf, self.value_net.weight, self.value_net.bias)

    def _log_probs(self, latent_pi: th.Tensor) -> list[th.Tensor]:
        logits = F.linear(latent_pi, self.action_net.weight, self.action_net.bias)
        parts = [logits] if len(self._splits) == 1 else th.split(logits, self._splits, dim=1)
        return [part.log_softmax(dim=1) for part in parts]

    def _sample(self, latent_pi: th.Tensor, deterministic: bool) -> tuple[th.Tensor, th.Tensor]:
        if self._splits is None:
            distribution = self._get_action_dist_from_latent(latent_pi)
            actions = distribution.get_actions(deterministic=deterministic)
            return actions, distribution.log_prob(actions)
        chosen, log_prob = [], 0.0
        for log_p in self._log_probs(latent_pi):
            if deterministic:
                action = log_p.argmax(dim=1)
            else:
                action = th.multinomial(log_p.exp(), 1).squeeze(1)
            chosen.append(action)
            log_prob = log_prob + log_p.gather(1, action.unsqueeze(1)).squeeze(1)
        actions = chosen[0] if len(chosen) == 1 else th.stack(chosen, dim=1)
        return actions, log_prob

    # -- the RecurrentActorCriticPolicy interface ---------------------------------------------
    def forward(self, obs: th.Tensor, lstm_states: RNNStates, episode_starts: th.Tensor,
                deterministic: bool = False):
        features = self.extract_features(obs)
        latent, states = self._recurrent(features, lstm_states.pi, episode_starts)
        latent_pi, values = self._heads(latent)
        actions, log_prob = self._sample(latent_pi, deterministic)
        actions = actions.reshape((-1, *self.action_space.shape))
        return actions, values, log_prob, RNNStates(states, states)

    def get_distribution(self, obs: th.Tensor, lstm_states: tuple[th.Tensor, th.Tensor],
                         episode_starts: th.Tensor):
        features = super(RecurrentActorCriticPolicy, self).extract_features(obs, self.pi_features_extractor)
        latent, states = self._recurrent(features, lstm_states, episode_starts)
        return self._get_action_dist_from_latent(self.mlp_extractor.forward_actor(latent)), states

    def predict_values(self, obs: th.Tensor, lstm_states: tuple[th.Tensor, th.Tensor],
                       episode_starts: th.Tensor) -> th.Tensor:
        features = self.extract_features(obs)
        latent, _ = self._recurrent(features, lstm_states, episode_starts)
        return self.value_net(self.mlp_extractor.forward_critic(latent))

    def evaluate_actions(self, obs: th.Tensor, actions: th.Tensor, lstm_states: RNNStates,
                         episode_starts: th.Tensor):
        features = self.extract_features(obs)
        latent, _ = self._recurrent(features, lstm_states.pi, episode_starts)
        latent_pi, values = self._heads(latent)
        if self._splits is None:
            distribution = self._get_action_dist_from_latent(latent_pi)
            return values, distribution.log_prob(actions), distribution.entropy()
        log_ps = self._log_probs(latent_pi)
        actions = actions.long().reshape(len(latent_pi), len(log_ps))
        log_prob = sum(log_p.gather(1, actions[:, i:i + 1]).squeeze(1) for i, log_p in enumerate(log_ps))
        entropy = sum(-(log_p.exp() * log_p).sum(dim=1) for log_p in log_ps)
        return values, log_prob, entropy
