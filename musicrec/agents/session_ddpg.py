"""The paper's DDPG actor-critic for sessions, on SB3's DDPG, with decaying dimension-mask exploration.

The paper (after Zhao et al. 2017) explores by *dropping a random fraction of the dimensions* of the
actor's action embedding in the dot product that scores tracks, and lets that fraction decay, instead
of adding Gaussian noise. SB3's ``ActionNoise`` is additive and never sees the action
(``action + noise()``), so it cannot express a multiplicative mask by itself. :class:`DimensionMaskNoise`
is an ``ActionNoise`` (its additive part is zero) with a ``perturb(action)`` method, and
:class:`MaskedDDPG` is SB3's ``DDPG`` with ``_sample_action`` extended to apply ``perturb`` to the
exploration action, which is also what the replay buffer stores. Everything else (actor, critic,
target networks, replay buffer, updates) is SB3's DDPG unchanged.

The preset ``ddpg_mask`` (registered on import) trains it through
:func:`musicrec.agents.sb3.train`; hyperparameters live in
``musicrec/configs/hyperparams/ddpg_mask.yml``. With ``mask_noise: null`` it is plain DDPG without
exploration noise (the paper's "DDPG without noise").

On the session environments (:mod:`musicrec.envs.sessions`), :func:`session_agent_spec` names the agent and
environment of a task, :func:`train_session_ddpg` trains it on a study's sessions (with a validation MAA
curve) and writes a run's files, and :func:`session_predictions` / :func:`session_scores` read a trained
actor's deterministic predictions.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch as th
from stable_baselines3 import DDPG
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.td3.policies import Actor, TD3Policy
from torch import nn

from musicrec.data.sessions import SessionArrays, SessionData
from musicrec.errors import ParameterError, check_choice, check_number
from musicrec.metrics import first_prediction_accuracy, mean_average_accuracy
from musicrec.runs import write_csv_atomic, write_metrics


class DimensionMaskNoise(ActionNoise):
    """Drop each action dimension with probability ``fraction``; the fraction decays per step.

    Parameters
    ----------
    dim : int
        Action size.
    fraction : float
        Initial probability of dropping a dimension.
    decay : float
        Multiplied into the fraction after every perturbed step.
    min_fraction : float
        Floor of the fraction.
    seed : int
        Seed of the mask draws.
    """

    def __init__(self, dim: int, *, fraction: float = 0.5, decay: float = 0.9995, min_fraction: float = 0.0,
                 seed: int = 0):
        super().__init__()
        self.dim = int(check_number("dim", dim, low=1, integer=True))
        self.fraction = float(check_number("fraction", fraction, low=0, high=1))
        self.decay = float(check_number("decay", decay, low=0, high=1))
        self.min_fraction = float(check_number("min_fraction", min_fraction, low=0, high=1))
        self.rng = np.random.default_rng(seed)

    def __call__(self) -> np.ndarray:
        return np.zeros(self.dim, dtype=np.float32)

    def perturb(self, action: np.ndarray) -> np.ndarray:
        """``action`` with a random subset of dimensions set to 0 (one mask per row)."""
        action = np.asarray(action)
        keep = self.rng.random(action.shape) >= self.fraction
        self.fraction = max(self.min_fraction, self.fraction * self.decay)
        return action * keep

    def __repr__(self) -> str:
        return f"DimensionMaskNoise(dim={self.dim}, fraction={self.fraction:.4f}, decay={self.decay})"


class MaskedDDPG(DDPG):
    """SB3 DDPG whose exploration action is masked by :class:`DimensionMaskNoise`.

    ``mask_noise`` is a mapping of the noise's keyword arguments (``fraction``, ``decay``,
    ``min_fraction``), or None for no exploration noise at all. ``policy_delay`` updates the actor (and the
    target networks) once every ``policy_delay`` critic updates, as TD3 does; 1 is DDPG.
    """

    def __init__(self, policy, env, learning_rate=1e-3, buffer_size: int = 1_000_000,
                 learning_starts: int = 100, batch_size: int = 256, tau: float = 0.005, gamma: float = 0.99,
                 train_freq=1, gradient_steps: int = 1, action_noise: ActionNoise | None = None,
                 replay_buffer_class=None, replay_buffer_kwargs: dict | None = None,
                 optimize_memory_usage: bool = False, n_steps: int = 1,
                 tensorboard_log: str | None = None, policy_kwargs: dict | None = None, verbose: int = 0,
                 seed: int | None = None, device="auto", _init_setup_model: bool = True,
                 mask_noise: Mapping[str, Any] | None = None, policy_delay: int = 1):
        # the keywords are spelled out so that musicrec.agents.sb3.resolve_config can validate them
        super().__init__(policy, env, learning_rate=learning_rate, buffer_size=buffer_size,
                         learning_starts=learning_starts, batch_size=batch_size, tau=tau, gamma=gamma,
                         train_freq=train_freq, gradient_steps=gradient_steps, action_noise=action_noise,
                         replay_buffer_class=replay_buffer_class, replay_buffer_kwargs=replay_buffer_kwargs,
                         optimize_memory_usage=optimize_memory_usage, n_steps=n_steps,
                         tensorboard_log=tensorboard_log, policy_kwargs=policy_kwargs, verbose=verbose,
                         seed=seed, device=device, _init_setup_model=_init_setup_model)
        # TD3's delayed policy updates (DDPG fixes them at 1): the actor and the target networks are updated
        # once every policy_delay critic updates
        self.policy_delay = int(check_number("policy_delay", policy_delay, low=1, integer=True))
        self.mask_noise_spec = dict(mask_noise) if mask_noise else None
        self.mask_noise = None
        if mask_noise:
            unknown = sorted(set(mask_noise) - {"fraction", "decay", "min_fraction"})
            if unknown:
                raise ParameterError(f"mask_noise takes fraction, decay and min_fraction, not {unknown}")
            seed = 0 if self.seed is None else int(self.seed)
            self.mask_noise = DimensionMaskNoise(int(np.prod(self.action_space.shape)), seed=seed,
                                                 **dict(mask_noise))

    def _sample_action(self, learning_starts: int, action_noise: ActionNoise | None = None,
                       n_envs: int = 1) -> tuple[np.ndarray, np.ndarray]:
        action, buffer_action = super()._sample_action(learning_starts, action_noise, n_envs)
        if self.mask_noise is not None and self.num_timesteps >= learning_starts:
            buffer_action = self.mask_noise.perturb(buffer_action)
            action = self.policy.unscale_action(buffer_action)
        return action, buffer_action




class LastTrackResidualActor(Actor):
    """SB3's TD3/DDPG actor whose action is the state's last-track embedding plus the MLP's output, clipped to
    ``[-1, 1]``. The MLP's last layer starts at zero, so the untrained actor *is* the fixed policy "play the
    last track's nearest unplayed neighbour" (:class:`musicrec.models.baselines.LastTrackNeighbours`); training
    then shows whether DDPG's updates improve on that policy or move away from it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from musicrec.envs.sessions import last_track_block

        last_layer = [module for module in self.mu if isinstance(module, nn.Linear)][-1]
        nn.init.zeros_(last_layer.weight)
        nn.init.zeros_(last_layer.bias)
        self.block = last_track_block(int(np.prod(self.action_space.shape)))

    def forward(self, obs: th.Tensor) -> th.Tensor:
        features = self.extract_features(obs, self.features_extractor)
        return th.clamp(obs[..., self.block] + self.mu(features), -1.0, 1.0)


class LastTrackResidualPolicy(TD3Policy):
    """SB3's TD3/DDPG policy with :class:`LastTrackResidualActor` (for the track-sequence env's states)."""

    def make_actor(self, features_extractor=None) -> LastTrackResidualActor:
        kwargs = self._update_features_extractor(self.actor_kwargs, features_extractor)
        return LastTrackResidualActor(**kwargs).to(self.device)


#: The policy of ``ddpg_mask`` runs that start from the last track's embedding.
RESIDUAL_POLICY = "musicrec.agents.session_ddpg:LastTrackResidualPolicy"

#: The session environment of each task.
SESSION_ENV_IDS = {"skip": "musicrec/SessionSkip-v0", "sequence": "musicrec/SessionTrack-v0"}


def session_agent_spec(task: str, *, total_timesteps: int, mask_noise: Mapping[str, Any] | None,
                       residual: bool = False, policy_delay: int = 1,
                       hyperparams: Mapping[str, Any] | None = None) -> tuple[dict, dict]:
    """The agent and environment specs (for :func:`musicrec.agents.sb3.train`) of the ``ddpg_mask`` preset on
    the session environment of ``task`` (``skip`` or ``sequence``).

    ``mask_noise`` overrides the preset's dimension-mask settings: ``{}`` keeps them (decaying mask),
    e.g. ``{"decay": 1.0}`` changes some (a constant mask), None removes the exploration noise.
    ``residual`` (``sequence`` only): the actor starts as the last track's embedding
    (:class:`LastTrackResidualPolicy`); ``policy_delay`` > 1 updates the actor once every that many critic
    updates; ``hyperparams`` overrides further settings of the preset (e.g. ``gamma``, ``policy_kwargs``).
    """
    from musicrec.hyperparams import load_hyperparams

    check_choice("task", task, SESSION_ENV_IDS)
    env_id = SESSION_ENV_IDS[task]
    agent = {"preset": "ddpg_mask", "total_timesteps": int(total_timesteps)}
    if residual:
        if task != "sequence":
            raise ParameterError("a residual actor (from the last track's embedding) is for the sequence task")
        agent["policy"] = RESIDUAL_POLICY
    if mask_noise is None:
        agent["hyperparams"] = {"mask_noise": None}
    elif mask_noise:
        agent["hyperparams"] = {"mask_noise": {**load_hyperparams("ddpg_mask", env_id)["mask_noise"],
                                               **mask_noise}}
    if int(policy_delay) != 1:
        agent.setdefault("hyperparams", {})["policy_delay"] = int(policy_delay)
    if hyperparams:
        clash = sorted({"mask_noise", "policy_delay"} & set(hyperparams))
        if clash:
            raise ParameterError(f"hyperparams must not set {clash}: use the mask_noise and policy_delay arguments")
        agent.setdefault("hyperparams", {}).update(dict(hyperparams))
    return agent, {"id": env_id, "kwargs": {}}


def session_predictions(model, task: str, arrays: SessionArrays, embedding: np.ndarray) -> np.ndarray:
    """Deterministic predictions ``(n, 10)`` of a trained DDPG actor on ``arrays``' second halves: skips as bool
    (``skip``) or track tokens (``sequence``); ``embedding`` is the track embedding it acts in."""
    from musicrec.envs.sessions import plays, skip_observations, track_rollout, unit_rows

    embedding = unit_rows(embedding)

    def act(observations):
        return model.predict(observations, deterministic=True)[0]

    if task == "skip":
        observations = skip_observations(arrays, embedding)
        n, steps, width = observations.shape
        actions = act(observations.reshape(-1, width)).reshape(n, steps, -1)
        return ~plays(actions, embedding[arrays.second_tracks])
    return track_rollout(act, arrays, embedding)


def session_scores(model, task: str, arrays: SessionArrays, embedding: np.ndarray
                   ) -> tuple[float, float, np.ndarray, np.ndarray]:
    """``(MAA, first-prediction accuracy, correctness (n, 10), predictions (n, 10))`` of a trained actor."""
    from musicrec.models.training import correctness

    predictions = session_predictions(model, task, arrays, embedding)
    correct = correctness(task, predictions, arrays)
    mask = arrays.second_mask
    return (mean_average_accuracy(correct, mask), first_prediction_accuracy(correct, mask), correct,
            predictions)


def train_session_ddpg(task: str, data: SessionData, folder: str | Path, *, agent: Mapping[str, Any],
                       env: Mapping[str, Any], seed: int, dim: int, window: int, word2vec_epochs: int,
                       eval_train: int, eval_valid: int, eval_every: int, progress: bool = False) -> dict:
    """Train DDPG on a study's training sessions and write a session run's files to ``folder``.

    The actor acts in a word2vec embedding of the tracks (``dim`` wide, context ``window``, trained
    ``word2vec_epochs`` epochs with ``seed``). Writes SB3's episode log (``metrics.csv``, times in
    ``timings.csv``), ``eval.csv`` (``timesteps, train_maa, val_maa, mask_fraction``: the MAA of the
    deterministic actor on the first ``eval_train`` training and ``eval_valid`` validation sessions at the
    start and every ``eval_every`` steps) and the files of :func:`musicrec.models.scoring.write_run_outputs`.

    Parameters
    ----------
    task : {"skip", "sequence"}
    data : SessionData
    folder : path
        The run's (temporary) folder.
    agent, env : mapping
        From :func:`session_agent_spec`.

    Returns
    -------
    dict
        The run's scores (no loss).
    """
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    from musicrec.agents.sb3 import train
    from musicrec.envs.sessions import SessionSkipEnv, SessionTrackEnv, unit_rows
    from musicrec.models.scoring import write_run_outputs
    from musicrec.models.word2vec import train_word2vec

    folder = Path(folder)
    embedding = unit_rows(train_word2vec(data.train, data.n_tokens, dim=dim, window=window, epochs=word2vec_epochs,
                                         seed=seed))
    env_class = SessionSkipEnv if task == "skip" else SessionTrackEnv
    probe = data.train.subset(slice(0, eval_train))
    curve_valid = data.valid.subset(slice(0, eval_valid))

    def factory(env_config, n_envs, env_seed):
        envs = DummyVecEnv([lambda: Monitor(env_class(data.train, embedding)) for _ in range(n_envs)])
        envs.seed(env_seed)
        return envs

    rows = []

    class Curve(BaseCallback):
        def _record(self):
            train_maa = session_scores(self.model, task, probe, embedding)[0]
            val_maa = session_scores(self.model, task, curve_valid, embedding)[0]
            noise = getattr(self.model, "mask_noise", None)
            rows.append({"timesteps": int(self.num_timesteps), "train_maa": train_maa, "val_maa": val_maa,
                         "mask_fraction": float(noise.fraction) if noise is not None else 0.0})

        def _on_training_start(self):
            self._record()

        def _on_step(self):
            if self.num_timesteps % eval_every == 0:
                self._record()
            return True

    result = train(agent, env, seed, folder, callbacks=[Curve()], progress_bar=progress,
                   vec_env_factory=factory)
    # SB3's episode log, written with its times by train: rewritten with the times apart
    write_metrics(pd.read_csv(folder / "metrics.csv"), folder, timings=["time_s"], keys=["timesteps"])
    write_csv_atomic(pd.DataFrame(rows), folder / "eval.csv")
    train_maa, train_first, _, _ = session_scores(result.model, task, probe, embedding)
    val_maa, val_first, _, _ = session_scores(result.model, task, data.valid, embedding)
    test_maa, test_first, correct, predictions = session_scores(result.model, task, data.test, embedding)
    scores = {"train_maa": train_maa, "val_maa": val_maa, "test_maa": test_maa, "train_first_acc": train_first,
              "val_first_acc": val_first, "test_first_acc": test_first}
    write_run_outputs(folder, task, data, scores, correct, predictions)
    return scores
