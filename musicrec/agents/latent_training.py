"""Training and evaluating policies of the latent recommender (notebooks 12-13), one run folder each.

* :class:`LatentSpace`: one catalog's latents, the listeners' track space and the neighbour lists, with the
  envs and the SB3 vector-env factory built on them;
* :func:`policy_class`: an SB3 policy name of a run config, resolved to the class SB3 is given;
* :func:`train_and_evaluate`: train a run config's SB3 agent, then evaluate it on the config's sessions with
  the study's yardstick reward (:func:`evaluation_kwargs`);
* :func:`train_and_evaluate_on_simulator`: the same on a simulator (a listener built from logs), plus its
  score on that simulator;
* :func:`evaluate_baseline`: a baseline of :mod:`musicrec.agents.latent_policies` on a config's sessions;
* :func:`session_means`: one run's evaluation summarised, measured against the ceiling's on the same sessions.

A run config (built by :mod:`musicrec.experiments.latent`) holds ``sb3`` (a resolved
:func:`musicrec.agents.sb3.resolve_config`, with ``policy`` a name of :func:`policy_class`),
``normalize_reward``, ``seed`` and ``eval`` (``first_seed``, ``sessions``): session ``i`` of the evaluation
is reset with seed ``first_seed + i``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from musicrec.agents.latent_policies import ModelPolicy, baseline_policy, evaluate_sessions
from musicrec.runs import write_csv_atomic

#: Policy names resolved to the candidate-scoring policies of :mod:`musicrec.agents.candidate_policy`.
SCORING_POLICIES = ("candidate_scoring", "recurrent_candidate_scoring")


@dataclass
class LatentSpace:
    """Latents, the listeners' track space and the precomputed neighbour lists of one catalog.

    Attributes
    ----------
    latents : np.ndarray
        The recommender's track points, [shape=(n_tracks, d)].
    listener_space : np.ndarray
        The listeners' view of the tracks, [shape=(n_tracks, n_taste_features)].
    neighbours : np.ndarray
        Nearest neighbours of each track in ``latents`` (the kNN action space), [shape=(n_tracks, m)].
    genres : np.ndarray
        Each track's genre, [shape=(n_tracks,)].
    """

    latents: np.ndarray
    listener_space: np.ndarray
    neighbours: np.ndarray
    genres: np.ndarray

    def make_env(self, **kwargs):
        """A :class:`~musicrec.envs.latent.LatentRecommenderEnv` on this space."""
        from musicrec.envs.latent import LatentRecommenderEnv

        knn = kwargs.get("actions", "knn") == "knn"
        return LatentRecommenderEnv(self.latents, listener_space=self.listener_space,
                                    neighbours=self.neighbours if knn else None, **kwargs)

    def vec_env_factory(self, *, normalize_reward: bool, gamma: float, overrides: dict | None = None
                        ) -> Callable:
        """``factory(env_config, n_envs, seed)`` for :func:`musicrec.agents.sb3.train`.

        ``overrides`` replace env kwargs with objects a config cannot hold (e.g. a listener built
        from logs and its start weights).
        """
        from stable_baselines3.common.env_util import make_vec_env
        from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

        def factory(env_config, n_envs, seed):
            kwargs = {key: value for key, value in env_config["kwargs"].items() if key != "render_mode"}
            kwargs.update(overrides or {})
            make = partial(self.make_env, **kwargs)
            if kwargs.get("actions") == "continuous":
                make = partial(agent_action_scale, make)
            vec = make_vec_env(make, n_envs=n_envs, seed=seed, vec_env_cls=DummyVecEnv)
            if normalize_reward:  # rewards up to 1 + lambda: scale them by a running std of returns
                vec = VecNormalize(vec, norm_obs=False, norm_reward=True, gamma=gamma)
            return vec

        return factory


def agent_action_scale(make_env: Callable):
    """The continuous env of ``make_env()`` with actions in [-1, 1]^d for the agent.

    SB3's advice for Box actions: a Gaussian policy starts with mean 0, the middle of the latent cube
    instead of its corner; :class:`~musicrec.agents.latent_policies.ModelPolicy` maps them back with the
    same ``(a + 1) / 2``.
    """
    from gymnasium.wrappers import RescaleAction

    env = make_env()
    bound = np.ones(env.action_space.shape, dtype=np.float32)
    return RescaleAction(env, -bound, bound)


def policy_class(name: str):
    """The SB3 policy of a run config's policy name: the class for :data:`SCORING_POLICIES`
    (``candidate_scoring``, ``recurrent_candidate_scoring``), else the name itself (``"MlpPolicy"``, ...)."""
    if name in SCORING_POLICIES:
        from musicrec.agents.candidate_policy import CandidateScoringPolicy, RecurrentCandidateScoringPolicy

        return CandidateScoringPolicy if name == "candidate_scoring" else RecurrentCandidateScoringPolicy
    return name


def evaluation_kwargs(kwargs: Mapping) -> dict:
    """The env kwargs a policy is evaluated with: its setting's, with the study's yardstick reward
    (``listened + lam * liked``) whatever reward it was trained on."""
    return {**kwargs, "reward": "listened_liked"}


def evaluation_seeds(config: Mapping) -> list[int]:
    """Reset seeds of a run config's evaluation sessions: ``eval.first_seed`` and the ``eval.sessions`` after."""
    first, n = config["eval"]["first_seed"], config["eval"]["sessions"]
    return list(range(first, first + n))


def _write_evaluation(folder: Path, sessions: pd.DataFrame, steps: pd.DataFrame, each: pd.DataFrame) -> None:
    write_csv_atomic(sessions, folder / "eval.csv")
    write_csv_atomic(steps, folder / "eval_steps.csv")
    write_csv_atomic(each, folder / "eval_session_steps.csv")


def train_and_evaluate(config: Mapping, space: LatentSpace, folder: Path, *, device: str = "cpu",
                       progress: bool = True, train_overrides: dict | None = None):
    """Train ``config["sb3"]`` on ``space`` into ``folder``, then evaluate it on the config's env and
    sessions (``eval.csv``, ``eval_steps.csv``, ``eval_session_steps.csv``; see
    :func:`~musicrec.agents.latent_policies.evaluate_sessions`). Returns the trained model.

    ``train_overrides`` change the training env only (e.g. a simulator built from logs); the
    evaluation always uses the env of the config (the true listener) with :func:`evaluation_kwargs`.
    """
    from musicrec.agents.sb3 import train

    sb3 = config["sb3"]
    hyperparams = dict(sb3["hyperparams"])
    train_config = {"preset": sb3["preset"], "total_timesteps": sb3["total_timesteps"],
                    "n_envs": sb3["n_envs"], "policy": policy_class(sb3["policy"]),
                    "hyperparams": hyperparams}
    factory = space.vec_env_factory(normalize_reward=config["normalize_reward"],
                                    gamma=float(hyperparams.get("gamma", 0.99)), overrides=train_overrides)
    result = train(train_config, sb3["env"], config["seed"], folder, device=device, progress_bar=progress,
                   vec_env_factory=factory, separate_timings=True)
    _write_evaluation(folder, *evaluate_sessions(space, evaluation_kwargs(sb3["env"]["kwargs"]),
                                                 ModelPolicy(result.model), evaluation_seeds(config),
                                                 session_steps=True))
    return result.model


def train_and_evaluate_on_simulator(config: Mapping, space: LatentSpace, folder: Path, overrides: dict, *,
                                    device: str = "cpu", progress: bool = True):
    """:func:`train_and_evaluate` with the training env's kwargs replaced by ``overrides`` (a simulator:
    e.g. ``{"listener": TableListener, "start": weights}``), then the same policy scored by that simulator
    on the same sessions (with the reward it trained on): ``eval_simulator.csv``. Returns the model."""
    model = train_and_evaluate(config, space, folder, device=device, progress=progress,
                               train_overrides=overrides)
    kwargs = {**config["sb3"]["env"]["kwargs"], **overrides}
    sessions, _ = evaluate_sessions(space, kwargs, ModelPolicy(model), evaluation_seeds(config))
    write_csv_atomic(sessions, folder / "eval_simulator.csv")
    return model


def evaluate_baseline(config: Mapping, space: LatentSpace, folder: Path) -> None:
    """Evaluate the baseline ``config["baseline"]`` (seeded by ``config["seed"]``; the planner's beam
    ``config["planner_width"]``, default 32) on the env ``config["env"]`` and the config's sessions: the
    files of :func:`train_and_evaluate`, and ``metrics.csv`` (the per-session rows again)."""
    policy = baseline_policy(config["baseline"], config["seed"], planner_width=config.get("planner_width", 32))
    sessions, steps, each = evaluate_sessions(space, config["env"], policy, evaluation_seeds(config),
                                              session_steps=True)
    _write_evaluation(folder, sessions, steps, each)
    write_csv_atomic(sessions, folder / "metrics.csv")


def session_means(sessions: pd.DataFrame, ceiling: pd.DataFrame | None = None) -> dict:
    """Means over a run's evaluation sessions (``eval.csv``: ``reward, expected, expected_before,
    expected_after, listened, like_rate``) and ``above_ceiling``: the share of its sessions whose expected
    reward exceeds the one of ``ceiling`` (the ceiling's ``eval.csv``) on the same session by more than
    1e-9 (NaN without a ceiling; a ceiling is only one if this is 0)."""
    above = np.nan
    if ceiling is not None:
        paired = sessions.merge(ceiling[["session_seed", "expected"]], on="session_seed", suffixes=("", "_ceiling"))
        above = float((paired.expected > paired.expected_ceiling + 1e-9).mean())
    return {"reward": sessions.reward.mean(), "expected": sessions.expected.mean(),
            "expected_before": sessions.expected_before.mean(), "expected_after": sessions.expected_after.mean(),
            "listened": sessions.listened.mean(), "like_rate": sessions.like_rate.mean(), "above_ceiling": above}
