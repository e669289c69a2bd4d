"""An actor-critic policy for "pick one of k candidates" that scores every candidate with one shared MLP.

The kNN action space of :class:`musicrec.envs.latent.LatentRecommenderEnv` numbers the candidates
by distance to the current track, so a slot number says little about the track in it. An MLP over
the flat observation must learn the same "how good is this track" function once per slot; this
policy learns it once: the logit of slot ``i`` is ``score(candidate_i, candidate_i - current,
context)``, where ``context`` is the current latent, the last feedback and the stacked history, and
``score`` is one MLP applied to every slot (so permuting the candidates permutes the logits). The
critic is an ordinary MLP over the whole observation.

:class:`RecurrentCandidateScoringPolicy` is the same head on top of sb3-contrib's LSTM policy: the
LSTM's output joins the context of every slot (and the critic's input), so a recurrent agent and a
memoryless one differ only in the memory.

Use them through :func:`musicrec.agents.sb3.train` (presets ``ppo`` and ``recurrent_ppo``) by passing
the class as ``config["policy"]`` and ``policy_kwargs={"k": ..., "latent_dim": ..., "history": ...}``.
"""

from __future__ import annotations

import torch
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3.common.policies import ActorCriticPolicy
from torch import nn

from musicrec.errors import ParameterError, check_number


class CandidateScorer(nn.Module):
    """``mlp_extractor`` of :class:`CandidateScoringPolicy`: per-slot scores and a value embedding.

    The observation is ``[current (d), feedback (2), candidates (k d), history (h (d + 2)), extra (e)]``
    (``extra``: further context, e.g. the env's ``observe_mood`` one-hot); with ``memory_dim = m`` the input
    is ``[memory (m), observation]`` (an LSTM's output first).
    """

    def __init__(self, k: int, latent_dim: int, history: int, *, extra_dim: int = 0, memory_dim: int = 0,
                 score_arch=(64, 64), value_arch=(64, 64), activation_fn=nn.Tanh):
        super().__init__()
        self.k, self.d, self.history, self.memory = int(k), int(latent_dim), int(history), int(memory_dim)
        self.extra = int(extra_dim)
        self.obs_dim = self.d + 2 + self.k * self.d + self.history * (self.d + 2) + self.extra
        self.context_dim = self.memory + self.d + 2 + self.history * (self.d + 2) + self.extra
        layers, width = [], 2 * self.d + self.context_dim
        for size in score_arch:
            layers += [nn.Linear(width, size), activation_fn()]
            width = size
        self.score = nn.Sequential(*layers, nn.Linear(width, 1))
        layers, width = [], self.memory + self.obs_dim
        for size in value_arch:
            layers += [nn.Linear(width, size), activation_fn()]
            width = size
        self.value = nn.Sequential(*layers)
        self.latent_dim_pi = self.k
        self.latent_dim_vf = width

    def forward_actor(self, inputs):
        d, k = self.d, self.k
        memory, obs = inputs[:, :self.memory], inputs[:, self.memory:]
        current = obs[:, :d]
        context = torch.cat([memory, obs[:, :d + 2], obs[:, d + 2 + k * d:]], dim=1)
        candidates = obs[:, d + 2:d + 2 + k * d].reshape(-1, k, d)
        per_slot = torch.cat([candidates, candidates - current[:, None, :],
                              context[:, None, :].expand(-1, k, -1)], dim=2)
        return self.score(per_slot).squeeze(-1)

    def forward_critic(self, inputs):
        return self.value(inputs)

    def forward(self, inputs):
        return self.forward_actor(inputs), self.forward_critic(inputs)


def _scorer_spec(observation_space, k, latent_dim, history, extra_dim, score_arch, value_arch) -> dict:
    check_number("k", k, low=1, integer=True)
    check_number("latent_dim", latent_dim, low=1, integer=True)
    check_number("history", history, low=0, integer=True)
    check_number("extra_dim", extra_dim, low=0, integer=True)
    spec = dict(k=int(k), latent_dim=int(latent_dim), history=int(history), extra_dim=int(extra_dim),
                score_arch=tuple(score_arch), value_arch=tuple(value_arch))
    expected = CandidateScorer(**spec).obs_dim
    if observation_space.shape != (expected,):
        raise ParameterError(f"observation shape {observation_space.shape} does not match k={k}, "
                             f"latent_dim={latent_dim}, history={history}, extra_dim={extra_dim} "
                             f"(expected ({expected},))")
    return spec


def _use_scores_as_logits(policy, lr_schedule) -> None:
    """No mixing layer between slots; a small last layer starts the policy near uniform."""
    policy.action_net = nn.Identity()
    last = policy.mlp_extractor.score[-1]
    nn.init.orthogonal_(last.weight, gain=0.01)
    nn.init.zeros_(last.bias)
    policy.optimizer = policy.optimizer_class(policy.parameters(), lr=lr_schedule(1), **policy.optimizer_kwargs)


class CandidateScoringPolicy(ActorCriticPolicy):
    """PPO/A2C policy whose logits are per-candidate scores of one shared MLP (module docstring).

    Extra keyword arguments: ``k``, ``latent_dim``, ``history`` (the env's settings), ``extra_dim`` (context
    features after the history, e.g. the mood one-hot of ``observe_mood``), ``score_arch`` and ``value_arch``
    (hidden sizes). ``net_arch`` is not used.
    """

    def __init__(self, observation_space, action_space, lr_schedule, *, k: int, latent_dim: int,
                 history: int = 0, extra_dim: int = 0, score_arch=(64, 64), value_arch=(64, 64), **kwargs):
        self._scorer_spec = _scorer_spec(observation_space, k, latent_dim, history, extra_dim, score_arch,
                                         value_arch)
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build_mlp_extractor(self) -> None:
        scorer = CandidateScorer(**self._scorer_spec, activation_fn=self.activation_fn)
        self.mlp_extractor = scorer.to(self.device)

    def _build(self, lr_schedule) -> None:
        super()._build(lr_schedule)
        _use_scores_as_logits(self, lr_schedule)

    def _get_constructor_parameters(self):
        data = super()._get_constructor_parameters()
        data.update(self._scorer_spec)
        return data


class RecurrentCandidateScoringPolicy(RecurrentActorCriticPolicy):
    """:class:`CandidateScoringPolicy` with sb3-contrib's LSTM: the LSTM output (``lstm_hidden_size``)
    joins every slot's context and the critic's input. Same extra keyword arguments."""

    def __init__(self, observation_space, action_space, lr_schedule, *, k: int, latent_dim: int,
                 history: int = 0, extra_dim: int = 0, score_arch=(64, 64), value_arch=(64, 64), **kwargs):
        self._scorer_spec = _scorer_spec(observation_space, k, latent_dim, history, extra_dim, score_arch,
                                         value_arch)
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)
        _use_scores_as_logits(self, lr_schedule)

    def _build_mlp_extractor(self) -> None:
        self.mlp_extractor = CandidateScorer(**self._scorer_spec, memory_dim=self.lstm_output_dim,
                                             activation_fn=self.activation_fn).to(self.device)

    def _process_sequence(self, features, lstm_states, episode_starts, lstm):
        output, states = RecurrentActorCriticPolicy._process_sequence(features, lstm_states, episode_starts,
                                                                      lstm)
        return torch.cat([output, features], dim=-1), states

    def _get_constructor_parameters(self):
        data = super()._get_constructor_parameters()
        data.update(self._scorer_spec)
        return data
