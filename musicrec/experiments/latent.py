"""Notebooks 11-12: VAE latent spaces and recommenders acting in them, as cached runs.

Run kinds (folders under ``runs/``):

``latent_vae``
    one VAE per (catalog, latent size, beta, seed), trained by :func:`musicrec.features.vae.train_vae_run`:
    ``vae.pt``, ``latents.npy`` (rescaled means), ``metrics.csv`` (per-epoch history), ``reconstruction.csv``
    (per-feature error), ``kl.csv``.
``latent_agent``
    one SB3 agent per (setting, agent, seed), trained and evaluated by
    :func:`musicrec.agents.latent_training.train_and_evaluate`: ``model.zip``, ``metrics.csv`` (training
    episodes), ``timings.csv`` (their wall times), ``eval.csv`` (one row per evaluation session) and
    ``eval_steps.csv`` (mean reward per position in the session).
``latent_baseline``
    random neighbour / greedy nearest-to-last-liked / oracle / planner, evaluated on the same sessions
    (:func:`musicrec.agents.latent_training.evaluate_baseline`).

A *setting* is (listener, action space, lambda): ``listener`` is ``"fixed"`` (one hidden taste) or
``"mood_change"`` (two moods, one change per session); ``actions`` is ``"knn"`` or ``"continuous"``.
Every policy of a setting is evaluated on the same sessions: seed ``s`` uses the reset seeds
``EVAL_SEED + s * eval_sessions + i``, so agents and baselines meet the same start tracks and moods.

Budgets come from ``musicrec/configs/profiles/latent.yml`` as a :class:`LatentBudget` (notebook 13's
reward-propagation keys included), with the VAE's and the listener's hyperparameters merged in from
``configs/hyperparams/latent_vae.yml`` and ``latent_listener.yml``; every entry point also takes a plain
mapping or a profile name.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musicrec.agents.latent_policies import BASELINES, MOOD_RULES
from musicrec.agents.latent_training import (SCORING_POLICIES, LatentSpace, evaluate_baseline, session_means,
                                             train_and_evaluate)
from musicrec.data.catalog import AUDIO_FEATURES, load_catalog, normalise_features, synthetic_catalog
from musicrec.errors import ParameterError, check_choice, check_number
from musicrec.profiles import Budget
from musicrec.runs import Run, code_fingerprint, library_versions, run_all
from musicrec.users.listener import TASTE_FEATURES
from musicrec.utils import project_path

VERSION = 1
#: The modules whose code computes a VAE run's result, and an agent's or a baseline's: their fingerprint is part of
#: every run's cache key (as in :mod:`musicrec.experiments.grid_agents`), so a change of that code retrains.
VAE_MODULES = ("musicrec.features.vae", "musicrec.data.catalog")
POLICY_MODULES = ("musicrec.envs.latent", "musicrec.users.listener", "musicrec.agents.latent_training",
                  "musicrec.agents.latent_policies", "musicrec.agents.latent_planner",
                  "musicrec.agents.candidate_policy", "musicrec.agents.sb3")


STUDY = "latent"
ENV_ID = "musicrec/LatentRecommender-v0"
EVAL_SEED = 1_000_000
LISTENERS = ("fixed", "mood_change")
BASELINE_LABELS = {"random": "random neighbour", "greedy": "greedy (nearest to last liked)",
                   "oracle": "myopic oracle (baseline)", "planner": "planner (ceiling)",
                   "switch_on_dislike": "rule: switch mood on a dislike (knows the moods, no memory)",
                   "mood_filter": "rule: Bayes filter of the mood (knows the moods, memory)"}
BASELINE_LABELS_CONTINUOUS = {**BASELINE_LABELS, "random": "random point"}
#: The reference every policy of a setting is measured against (:mod:`musicrec.agents.latent_planner`).
CEILING = "planner"


@dataclass(frozen=True)
class AgentSpec:
    """An agent of the study: an SB3 preset, its policy per action space, its label and what it changes in
    the env it trains on (``env``: observation or reward settings of
    :class:`~musicrec.envs.latent.LatentRecommenderEnv`; evaluation always uses the study's reward)."""

    preset: str
    label: str
    knn_policy: str | None
    continuous_policy: str | None
    n_envs: int = 8
    cost: float = 1.0
    """Rough CPU time per step relative to PPO (longest runs are started first)."""
    env: Mapping = field(default_factory=dict)


AGENTS = {
    "ppo": AgentSpec("ppo", "PPO", "candidate_scoring", "MlpPolicy"),
    "recurrent_ppo": AgentSpec("recurrent_ppo", "RecurrentPPO", "recurrent_candidate_scoring", "MlpLstmPolicy",
                               cost=3.0),
    "ppo_mlp": AgentSpec("ppo", "PPO (flat MLP, candidates observed)", "MlpPolicy", None),
    "ppo_documents": AgentSpec("ppo", "PPO, the documents' design (current latent only, flat MLP)", "MlpPolicy",
                               None, env={"observe_candidates": False, "observe_feedback": False}),
    "ppo_liked_or_completed": AgentSpec("ppo", "PPO trained on liked-or-completed (README)",
                                        "candidate_scoring", None, env={"reward": "liked_or_completed"}),
    "ppo_skip_penalty": AgentSpec("ppo", "PPO trained with an immediate-skip penalty (blog)",
                                  "candidate_scoring", None, env={"reward": "skip_penalty"}),
    "ddpg": AgentSpec("ddpg", "DDPG", None, "MlpPolicy", n_envs=4, cost=6.0),
    # Two probes of the mood change: memory given as a frame stack, and the hidden mood itself (privileged).
    "ppo_history": AgentSpec("ppo", "PPO with the last 4 tracks and feedback stacked", "candidate_scoring", None,
                             env={"history": 4}),
    "ppo_told_mood": AgentSpec("ppo", "PPO told the hidden mood (privileged)", "candidate_scoring", None,
                               env={"observe_mood": True}),
    # The memory test: any track (continuous), and only the likes observed, so one feedback says little and the
    # change shows only in several; the privileged PPO told the mood is what perfect inference gives the learner.
    "ppo_likes": AgentSpec("ppo", "PPO, likes only", None, "MlpPolicy", env={"observe_listened": False}),
    "recurrent_ppo_likes": AgentSpec("recurrent_ppo", "RecurrentPPO, likes only", None, "MlpLstmPolicy", cost=3.0,
                                     env={"observe_listened": False}),
    "ppo_told_mood_likes": AgentSpec("ppo", "PPO told the hidden mood (privileged), likes only", None, "MlpPolicy",
                                     env={"observe_listened": False, "observe_mood": True}),
}
ACTION_SPACES = ("knn", "continuous")
#: The agents trained on the mood-changing listener: without memory, with an LSTM, with a frame stack, and
#: told the hidden mood (what knowing it is worth to the learner, so roughly what a memory inferring it could add).
MOOD_AGENTS = ("ppo", "recurrent_ppo", "ppo_history", "ppo_told_mood")
#: The agents of the memory test (any track, likes only): without memory, with an LSTM, told the hidden mood.
MEMORY_AGENTS = ("ppo_likes", "recurrent_ppo_likes", "ppo_told_mood_likes")


# -- the budget ----------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class LatentBudget(Budget):
    """What a profile of ``configs/profiles/latent.yml`` spends on notebooks 11-13, with the VAE's and the
    listener's hyperparameters (``configs/hyperparams/latent_vae.yml``, ``latent_listener.yml``)."""

    study = "latent"

    # the catalog
    n_tracks: int
    """Tracks of the synthetic catalog (:func:`musicrec.data.catalog.synthetic_catalog`)."""
    catalog_seed: int
    """Seed of the synthetic catalog."""
    catalog_csv: str | None = None
    """A Spotify tracks CSV (root-relative path) used instead of the synthetic catalog; ``None``: synthetic."""
    # the VAE (notebook 11)
    vae_beta: float
    """Weight of the KL term of the study's VAEs (the recommender's and the clusters' latents)."""
    vae_hidden: tuple[int, ...]
    """Encoder layer sizes (the decoder mirrors them)."""
    vae_learning_rate: float
    """Adam's learning rate."""
    vae_batch_size: int
    """Tracks per minibatch."""
    vae_validation_fraction: float
    """Share of the tracks held out for early stopping, in (0, 0.5]."""
    vae_seed: int
    """Seed of the split, the initialisation and the minibatches."""
    vae_epochs: int
    """Most epochs of a VAE's training."""
    vae_patience: int
    """Epochs without a lower validation loss before training stops."""
    latent_dims: tuple[int, ...]
    """Latent sizes compared in notebook 11."""
    betas: tuple[float, ...]
    """KL weights compared in notebook 11."""
    env_latent_dim: int
    """The latent the recommender acts in (README: 4-D)."""
    cluster_latent_dim: int
    """The latent K-Means clusters in for reward propagation (README: 2-D)."""
    # the env and its listeners (notebook 12)
    session_length: int
    """Recommendations per session."""
    k: int
    """Candidates per step in the kNN action space."""
    lambdas: tuple[float, ...]
    """Weights of a like in the reward ``listened + lambda * liked``; notebook 13 uses the first."""
    tolerance: float
    """The listener's taste width ``sigma`` in normalised feature units (:mod:`musicrec.users.listener`)."""
    like_power: float
    """The like probability is ``affinity ** like_power``."""
    concentration: float
    """``kappa`` of the listened fraction's Beta distribution (its spread around the mean)."""
    taste_seed: int
    """Seed of the listener's hidden taste."""
    mood_switch: tuple[int, ...]
    """``[low, high]``: the mood changes after ``low`` to ``high`` recommendations."""
    min_mood_distance: float
    """Least taste-space distance of the second mood's centre from the first."""
    max_mood_distance: float
    """Largest taste-space distance of the second mood's centre from the first."""
    planner_width: int
    """Beam width of the planner, the latent recommender's ceiling."""
    # training and evaluation (notebook 12)
    seeds: tuple[int, ...]
    """Seeds per (setting, agent or baseline): one run each."""
    timesteps_knn: int
    """Training steps of an agent on the kNN candidates (fixed taste)."""
    timesteps_continuous: int
    """Training steps of PPO in the continuous space."""
    timesteps_ddpg: int
    """Training steps of DDPG in the continuous space."""
    timesteps_mood: int
    """Training steps of an agent with the mood-changing listener."""
    timesteps_memory: int
    """Training steps of an agent of the memory test (mood change, any track, likes only)."""
    eval_sessions: int
    """Evaluation sessions per run (shared by every policy of a setting and seed)."""
    n_jobs: int = 1
    """Training runs executed at the same time (processes)."""
    # reward propagation (notebook 13)
    log_sessions: int
    """Sessions of the behaviour policy logged with the true listener."""
    observed_per_cluster: int
    """Observed tracks per cluster."""
    cluster_counts: tuple[int, ...]
    """K-Means cluster counts of the error grid."""
    decay_rates: tuple[float, ...]
    """Decay rates of the error grid (``exp(-rate d)``; 0 is no decay)."""
    propagation_seeds: tuple[int, ...]
    """Selection seeds of the error grid (K-Means and the observed tracks)."""
    offline_clusters: int
    """Cluster count of the propagated simulator PPO trains on."""
    offline_decay_rate: float
    """Decay rate of the propagated simulator."""

    def validate(self, source: str) -> None:
        """Fail early on a budget that cannot run notebooks 11-13 (counts >= 1, seeds given)."""
        try:
            for name in ("n_tracks", "vae_epochs", "vae_patience", "vae_batch_size", "env_latent_dim",
                         "cluster_latent_dim", "session_length", "k", "eval_sessions", "planner_width", "n_jobs",
                         "observed_per_cluster", "offline_clusters", "log_sessions"):
                check_number(name, self[name], low=1, integer=True)
        except ParameterError as error:
            raise ParameterError(f"{source}: {error}") from None
        empty = [name for name in ("seeds", "lambdas", "latent_dims", "betas", "mood_switch", "cluster_counts",
                                   "decay_rates", "propagation_seeds") if not self[name]]
        if empty:
            raise ParameterError(f"{source}: {empty} must not be empty")


#: What the entry points take as a budget: a :class:`LatentBudget`, a plain mapping or a profile name.
BudgetLike = LatentBudget | Mapping[str, Any] | str


def load_budget(profile: str) -> LatentBudget:
    """The validated budget of notebooks 11-13 under ``profile``."""
    return LatentBudget.load(profile)


def as_budget(budget: BudgetLike) -> LatentBudget:
    """A budget given as a profile name or a plain mapping (a notebook that changed a key), validated."""
    return LatentBudget.of(budget)


# -- catalog and VAE ---------------------------------------------------------------------------------
def study_catalog(budget: BudgetLike) -> pd.DataFrame:
    """The study's catalog: ``catalog_csv`` if the profile names one, else the synthetic catalog."""
    budget = as_budget(budget)
    if budget.catalog_csv:
        return load_catalog(project_path(budget.catalog_csv))
    return synthetic_catalog(budget.n_tracks, seed=budget.catalog_seed)


def catalog_config(budget: BudgetLike) -> dict:
    """What identifies the catalog in a run config (a real file by its content hash)."""
    budget = as_budget(budget)
    if budget.catalog_csv:
        path = project_path(budget.catalog_csv)
        if not path.is_file():
            raise ParameterError(f"catalog_csv={budget.catalog_csv!r} does not exist")
        return {"csv": Path(budget.catalog_csv).name, "sha1": hashlib.sha1(path.read_bytes()).hexdigest()}
    return {"synthetic": True, "n_tracks": budget.n_tracks, "seed": budget.catalog_seed}


def taste_space(catalog: pd.DataFrame) -> np.ndarray:
    """The listeners' view of the tracks: the normalised :data:`TASTE_FEATURES`."""
    columns = [AUDIO_FEATURES.index(name) for name in TASTE_FEATURES]
    return normalise_features(catalog)[:, columns].astype(np.float64)


def vae_config(budget: BudgetLike, latent_dim: int, beta: float | None = None) -> dict:
    """The full config of one VAE run."""
    budget = as_budget(budget)
    return {
        "version": VERSION,
        "catalog": catalog_config(budget),
        "latent_dim": int(latent_dim),
        "beta": float(budget.vae_beta if beta is None else beta),
        "hidden": [int(h) for h in budget.vae_hidden],
        "epochs": budget.vae_epochs,
        "patience": budget.vae_patience,
        "batch_size": budget.vae_batch_size,
        "learning_rate": budget.vae_learning_rate,
        "validation_fraction": budget.vae_validation_fraction,
        "seed": budget.vae_seed,
        "code": code_fingerprint(*VAE_MODULES),
        "versions": library_versions("numpy", "torch"),
    }


def _vae_work(config: dict, budget: LatentBudget, device: str, progress: bool, folder: Path) -> None:
    from musicrec.features.vae import train_vae_run

    train_vae_run(normalise_features(study_catalog(budget)), config, folder, names=AUDIO_FEATURES,
                  device=device, progress=progress)


def vae_run(budget: BudgetLike, latent_dim: int, runs_dir: str | os.PathLike, *, beta: float | None = None,
            device: str = "cpu", progress: bool = True) -> Run:
    """Train (or reuse) the VAE with ``latent_dim`` and ``beta`` (default the profile's)."""
    budget = as_budget(budget)
    config = vae_config(budget, latent_dim, beta)
    run = Run(runs_dir, "latent_vae", config, name=f"d{config['latent_dim']}-beta{config['beta']:g}")
    return run.execute(partial(_vae_work, config, budget, device, progress))


def vae_latents(run: Run) -> np.ndarray:
    """The rescaled latents of a finished VAE run, [shape=(n_tracks, d)]."""
    return np.load(run.file("latents.npy"))


# -- the recommender's space, listeners and envs ------------------------------------------------------
def listener_spec(budget: BudgetLike, listener: str) -> dict:
    """The :func:`musicrec.users.listener.make_listener` spec of ``"fixed"`` or ``"mood_change"``."""
    check_choice("listener", listener, LISTENERS)
    budget = as_budget(budget)
    spec = {"tolerance": budget.tolerance, "like_power": budget.like_power,
            "concentration": budget.concentration, "taste_seed": budget.taste_seed}
    if listener == "mood_change":
        spec.update(moods=2, switch=[int(s) for s in budget.mood_switch],
                    min_mood_distance=budget.min_mood_distance, max_mood_distance=budget.max_mood_distance)
    return spec


def env_kwargs(budget: BudgetLike, *, actions: str, lam: float, listener: str, history: int = 0,
               overrides: Mapping | None = None) -> dict:
    """Plain env kwargs of a setting (what a run config records), with an agent's ``overrides``."""
    budget = as_budget(budget)
    return {"actions": actions, "k": budget.k, "session_length": budget.session_length,
            "lam": float(lam), "history": int(history), "listener": listener_spec(budget, listener),
            **dict(overrides or {})}


def study_space(budget: BudgetLike, runs_dir: str | os.PathLike, *, device: str = "cpu",
                progress: bool = True) -> LatentSpace:
    """The env's latent space: the profile's VAE (``env_latent_dim``), the taste space, neighbours."""
    from musicrec.envs.latent import nearest_neighbours, neighbours_needed

    budget = as_budget(budget)
    latents = vae_latents(vae_run(budget, budget.env_latent_dim, runs_dir, device=device, progress=progress))
    catalog = study_catalog(budget)
    needed = neighbours_needed(budget.k, budget.session_length)
    return LatentSpace(latents, taste_space(catalog), nearest_neighbours(latents, needed),
                       catalog.track_genre.to_numpy())


def session_seeds(budget: BudgetLike, seed: int) -> list[int]:
    """Reset seeds of the evaluation sessions of seed ``seed`` (shared by every policy)."""
    n = as_budget(budget).eval_sessions
    return [EVAL_SEED + int(seed) * n + i for i in range(n)]


# -- agents and baselines as runs --------------------------------------------------------------------
def agent_policy(agent: str, actions: str) -> str:
    """The policy name of ``agent`` in the ``actions`` space (raises if it does not apply)."""
    spec = AGENTS[check_choice("agent", agent, AGENTS)]
    policy = spec.knn_policy if actions == "knn" else spec.continuous_policy
    if policy is None:
        raise ParameterError(f"agent {agent!r} does not act in the {actions!r} action space")
    return policy


def agent_config(budget: BudgetLike, agent: str, *, actions: str, lam: float, listener: str, seed: int,
                 timesteps: int, history: int = 0, space: dict | None = None) -> dict:
    """The full config of one agent run (validated by :func:`musicrec.agents.sb3.resolve_config`)."""
    from musicrec.agents.sb3 import resolve_config

    budget = as_budget(budget)
    spec = AGENTS[check_choice("agent", agent, AGENTS)]
    policy = agent_policy(agent, actions)
    kwargs = env_kwargs(budget, actions=actions, lam=lam, listener=listener, history=history, overrides=spec.env)
    sb3 = resolve_config({"preset": spec.preset, "total_timesteps": int(timesteps), "n_envs": spec.n_envs},
                         {"id": ENV_ID, "kwargs": kwargs})
    if policy in SCORING_POLICIES:
        scorer = {"k": kwargs["k"], "latent_dim": budget.env_latent_dim, "history": int(kwargs["history"])}
        if kwargs.get("observe_mood"):
            scorer["extra_dim"] = int(kwargs["listener"].get("moods", 1))
        sb3["hyperparams"]["policy_kwargs"] = {**sb3["hyperparams"].get("policy_kwargs", {}), **scorer}
    sb3["policy"] = policy
    return {
        "version": VERSION,
        "code": code_fingerprint(*POLICY_MODULES),
        "versions": library_versions("numpy", "torch", "gymnasium", "stable-baselines3", "sb3-contrib"),
        "agent": agent,
        "space": space or vae_config(budget, budget.env_latent_dim),
        "sb3": sb3,
        "normalize_reward": True,
        "agent_action_range": [-1.0, 1.0] if actions == "continuous" else None,
        "seed": int(seed),
        "eval": {"first_seed": session_seeds(budget, seed)[0], "sessions": budget.eval_sessions},
    }


def agent_run_name(*, listener: str, actions: str, lam: float, agent: str, seed: int) -> str:
    """The readable prefix of an agent's or a baseline's run folder."""
    return f"{listener}-{actions}-lam{lam:g}-{agent}-seed{seed}"


def _agent_work(config: dict, budget: LatentBudget, runs_dir, device: str, progress: bool, folder: Path) -> None:
    from musicrec.utils import setup_torch

    setup_torch(device)
    space = study_space(budget, runs_dir, device=device, progress=False)
    train_and_evaluate(config, space, folder, device=device, progress=progress)


def _agent_task(budget: LatentBudget, runs_dir, *, agent: str, actions: str, lam: float, listener: str,
                seed: int, timesteps: int, history: int = 0, device: str = "cpu",
                progress: bool = True) -> tuple[Run, partial]:
    config = agent_config(budget, agent, actions=actions, lam=lam, listener=listener, seed=seed,
                          timesteps=timesteps, history=history)
    run = Run(runs_dir, "latent_agent", config,
              name=agent_run_name(listener=listener, actions=actions, lam=lam, agent=agent, seed=seed))
    return run, partial(_agent_work, config, budget, str(runs_dir), device, progress)


def agent_run(budget: BudgetLike, agent: str, runs_dir: str | os.PathLike, *, actions: str, lam: float,
              listener: str, seed: int, timesteps: int, history: int = 0, device: str = "cpu",
              progress: bool = True) -> Run:
    """Train and evaluate (or reuse) one agent of one setting."""
    run, work = _agent_task(as_budget(budget), runs_dir, agent=agent, actions=actions, lam=lam,
                            listener=listener, seed=seed, timesteps=timesteps, history=history, device=device,
                            progress=progress)
    return run.execute(work)


def baseline_config(budget: BudgetLike, baseline: str, *, actions: str, lam: float, listener: str, seed: int) -> dict:
    """The full config of one baseline run (:func:`musicrec.agents.latent_training.evaluate_baseline`)."""
    check_choice("baseline", baseline, BASELINES + MOOD_RULES)
    budget = as_budget(budget)
    config = {"version": VERSION, "code": code_fingerprint(*POLICY_MODULES), "versions": library_versions("numpy"),
              "baseline": baseline, "space": vae_config(budget, budget.env_latent_dim),
              "env": env_kwargs(budget, actions=actions, lam=lam, listener=listener), "seed": int(seed),
              "eval": {"first_seed": session_seeds(budget, seed)[0], "sessions": budget.eval_sessions}}
    if baseline == "planner":
        config["planner_width"] = budget.planner_width
    return config


def _baseline_task(budget: BudgetLike, baseline: str, runs_dir: str | os.PathLike, space: LatentSpace, *,
                   actions: str, lam: float, listener: str, seed: int) -> tuple[Run, partial]:
    config = baseline_config(budget, baseline, actions=actions, lam=lam, listener=listener, seed=seed)
    name = agent_run_name(listener=listener, actions=actions, lam=lam, agent=baseline, seed=seed)
    return Run(runs_dir, "latent_baseline", config, name=name), partial(evaluate_baseline, config, space)


def baseline_run(budget: BudgetLike, baseline: str, runs_dir: str | os.PathLike, space: LatentSpace, *,
                 actions: str, lam: float, listener: str, seed: int) -> Run:
    """Evaluate (or reuse) one baseline of one setting on seed ``seed``'s sessions."""
    run, work = _baseline_task(budget, baseline, runs_dir, space, actions=actions, lam=lam, listener=listener,
                               seed=seed)
    return run.execute(work)


# -- the study of notebook 12 ------------------------------------------------------------------------
def study_plan(budget: BudgetLike) -> pd.DataFrame:
    """Every (setting, agent) notebook 12 trains, with its budget.

    Fixed taste, kNN candidates: PPO for each lambda; at the first lambda the flat-MLP PPO, the documents'
    design (current latent only, flat MLP) and PPO trained on the README's other reward and on the blog's
    immediate-skip penalty. Continuous space: PPO and DDPG. Mood change: the :data:`MOOD_AGENTS` on the kNN
    candidates, and the memory test's :data:`MEMORY_AGENTS` in the continuous space.
    """
    budget = as_budget(budget)
    lam0 = float(budget.lambdas[0])
    rows = [{"listener": "fixed", "actions": "knn", "lam": float(lam), "agent": "ppo",
             "timesteps": budget.timesteps_knn} for lam in budget.lambdas]
    rows += [{"listener": "fixed", "actions": "knn", "lam": lam0, "agent": agent, "timesteps": budget.timesteps_knn}
             for agent in ("ppo_mlp", "ppo_documents", "ppo_liked_or_completed", "ppo_skip_penalty")]
    rows += [{"listener": "fixed", "actions": "continuous", "lam": lam0, "agent": "ppo",
              "timesteps": budget.timesteps_continuous},
             {"listener": "fixed", "actions": "continuous", "lam": lam0, "agent": "ddpg",
              "timesteps": budget.timesteps_ddpg}]
    rows += [{"listener": "mood_change", "actions": "knn", "lam": lam0, "agent": agent,
              "timesteps": budget.timesteps_mood} for agent in MOOD_AGENTS]
    rows += [{"listener": "mood_change", "actions": "continuous", "lam": lam0, "agent": agent,
              "timesteps": budget.timesteps_memory} for agent in MEMORY_AGENTS]
    return pd.DataFrame(rows)


def run_agents(budget: BudgetLike, runs_dir: str | os.PathLike, *, plan: pd.DataFrame | None = None,
               device: str = "cpu", progress: bool = True) -> pd.DataFrame:
    """Train every planned agent for every seed (``n_jobs`` at a time with :func:`musicrec.runs.run_all`,
    longest first); one row per run. A failed run does not stop the others; all are named at the end."""
    budget = as_budget(budget)
    plan = study_plan(budget) if plan is None else plan
    study_space(budget, runs_dir, device=device, progress=progress)  # the VAE, before any worker needs it
    tasks = [{**row, "seed": int(seed)} for row in plan.to_dict("records") for seed in budget.seeds]
    alone = budget.n_jobs <= 1
    work = [_agent_task(budget, runs_dir, agent=t["agent"], actions=t["actions"], lam=t["lam"],
                        listener=t["listener"], seed=t["seed"], timesteps=t["timesteps"], device=device,
                        progress=progress and alone) for t in tasks]
    # Longest first, so no process idles while another finishes a slow run at the end.
    order = sorted(range(len(tasks)), key=lambda i: -AGENTS[tasks[i]["agent"]].cost * tasks[i]["timesteps"])
    run_all([work[i] for i in order], workers=budget.n_jobs, progress=progress and not alone,
            description=f"agents ({budget.n_jobs} processes)")
    return pd.DataFrame(tasks).assign(run=[run for run, _ in work])


def run_baselines(budget: BudgetLike, runs_dir: str | os.PathLike, plan: pd.DataFrame, *, device: str = "cpu"
                  ) -> pd.DataFrame:
    """Every baseline for every setting of ``plan`` and every seed (``n_jobs`` at a time, the planner's searches
    first: they take the longest), with the :data:`MOOD_RULES` where the listener changes mood; one row per run."""
    budget = as_budget(budget)
    space = study_space(budget, runs_dir, device=device, progress=False)
    settings = plan[["listener", "actions", "lam"]].drop_duplicates().to_dict("records")
    rows = [{**setting, "agent": baseline, "seed": int(seed)} for setting in settings
            for baseline in BASELINES + (MOOD_RULES if setting["listener"] == "mood_change" else ())
            for seed in budget.seeds]
    work = [_baseline_task(budget, row["agent"], runs_dir, space, actions=row["actions"], lam=row["lam"],
                           listener=row["listener"], seed=row["seed"]) for row in rows]
    order = sorted(range(len(rows)), key=lambda i: rows[i]["agent"] != CEILING)
    run_all([work[i] for i in order], workers=budget.n_jobs, progress=False, description="baselines")
    return pd.DataFrame(rows).assign(run=[run for run, _ in work])


def agent_label(agent: str, actions: str, listener: str) -> str:
    """The table's ``agent`` column: the agent's name, tagged when the listener changes mood."""
    if agent in AGENTS:
        label = AGENTS[agent].label
    else:
        label = (BASELINE_LABELS if actions == "knn" else BASELINE_LABELS_CONTINUOUS)[agent]
    return f"{label} [mood change]" if listener == "mood_change" else label


def evaluation_results(runs: pd.DataFrame) -> pd.DataFrame:
    """Per run: means over its evaluation sessions of the realised session reward, the expected session
    reward, its per-step means before and after the mood change, the listened fraction and the like rate;
    and ``above_ceiling``, the share of its sessions whose expected reward exceeds the planner's on the same
    session (NaN where the setting has no planner run; a ceiling is only one if this is 0): one row per run of
    :func:`musicrec.agents.latent_training.session_means`."""
    frames = {(item.listener, item.actions, item.lam, item.agent, item.seed): pd.read_csv(item.run.file("eval.csv"))
              for item in runs.itertuples()}
    return pd.DataFrame([{"listener": listener, "actions": actions, "lam": lam, "agent": agent, "seed": seed,
                          **session_means(sessions, frames.get((listener, actions, lam, CEILING, seed)))}
                         for (listener, actions, lam, agent, seed), sessions in frames.items()])


TABLE_COLUMNS = ("agent", "agent_id", "listener", "action_space", "lambda", "seeds", "mean_reward", "std_reward",
                 "mean_expected", "std_expected", "pct_of_ceiling", "pct_of_ceiling_std", "above_ceiling", "listened",
                 "like_rate", "expected_before", "expected_before_std", "expected_after", "expected_after_std")


def agent_table(results: pd.DataFrame) -> pd.DataFrame:
    """Mean +- std over seeds per (setting, agent), with % of the same setting's ceiling (the planner).

    Columns: ``agent`` (the label), ``agent_id`` (the key of :data:`AGENTS` or of the baselines),
    ``listener, action_space, lambda, seeds``; ``mean_reward, std_reward`` (realised session reward)
    and ``mean_expected, std_expected`` (expected session reward: the realised one without the listener's
    noise), means over seeds with the std over seeds of the per-seed means; ``pct_of_ceiling`` (+- std
    over seeds): the expected reward as % of the planner's on the same sessions; ``above_ceiling``: the share
    of sessions where the policy's expected reward beat the planner's; ``listened, like_rate``;
    ``expected_before, expected_after`` (with ``_std`` over seeds): expected reward per step before and after
    the mood change (mood-changing listener only).
    """
    keys = ["listener", "actions", "lam", "agent"]
    results = results.copy()
    ceiling = results[results.agent == CEILING].set_index(["listener", "actions", "lam", "seed"]).expected
    results["pct"] = [100 * row.expected / ceiling.get((row.listener, row.actions, row.lam, row.seed), np.nan)
                      for row in results.itertuples()]
    table = results.groupby(keys, sort=False).agg(
        seeds=("seed", "count"), mean_reward=("reward", "mean"), std_reward=("reward", "std"),
        mean_expected=("expected", "mean"), std_expected=("expected", "std"), pct_of_ceiling=("pct", "mean"),
        pct_of_ceiling_std=("pct", "std"), above_ceiling=("above_ceiling", "mean"),
        listened=("listened", "mean"), like_rate=("like_rate", "mean"),
        expected_before=("expected_before", "mean"), expected_before_std=("expected_before", "std"),
        expected_after=("expected_after", "mean"), expected_after_std=("expected_after", "std")).reset_index()
    for column in ("std_reward", "std_expected", "pct_of_ceiling_std", "expected_before_std", "expected_after_std"):
        table[column] = table[column].fillna(0.0)
    for column in ("expected_before", "expected_after"):  # no std where there is no mean
        table.loc[table[column].isna(), f"{column}_std"] = np.nan
    order = {name: i for i, name in enumerate([*AGENTS, *MOOD_RULES, *BASELINES])}
    table["_listener"] = table.listener.map({name: i for i, name in enumerate(LISTENERS)})
    table["_actions"] = table.actions.map({name: i for i, name in enumerate(ACTION_SPACES)})
    table["_agent"] = table.agent.map(order)
    table = table.sort_values(["_listener", "_actions", "lam", "_agent"])
    table["agent_id"] = table.agent
    table["agent"] = [agent_label(a, s, listener) for a, s, listener in
                      zip(table.agent, table.actions, table.listener)]
    table = table.rename(columns={"actions": "action_space", "lam": "lambda"})
    return table[list(TABLE_COLUMNS)].reset_index(drop=True)


def steps_around_the_change(runs: pd.DataFrame, *, before: int = 5, after: int = 10) -> pd.DataFrame:
    """Mean expected reward per recommendation, aligned on each session's mood change, per (agent, seed):
    columns ``agent, seed, offset, expected`` (``offset`` 0 is the first recommendation in the new mood;
    from ``-before`` to ``after - 1``)."""
    frames = []
    for item in runs.itertuples():
        each = pd.read_csv(item.run.file("eval_session_steps.csv"))
        switch = pd.read_csv(item.run.file("eval.csv")).set_index("session_seed").switch_at
        each["offset"] = each.step - each.session_seed.map(switch)
        each = each[each.offset.between(-before, after - 1)]
        frames.append(each.groupby("offset", as_index=False).expected.mean().assign(agent=item.agent,
                                                                                     seed=item.seed))
    return pd.concat(frames, ignore_index=True)[["agent", "seed", "offset", "expected"]]


def learning_curves(runs: pd.DataFrame, bins: int = 40) -> dict[tuple, list[pd.DataFrame]]:
    """Training episode returns per run, averaged in ``bins`` equal timestep bins (for plotting)."""
    curves: dict[tuple, list[pd.DataFrame]] = {}
    for item in runs.itertuples():
        metrics = item.run.metrics()
        total = int(item.run.config["sb3"]["total_timesteps"])
        edges = np.linspace(0, total, bins + 1)
        which = np.clip(np.digitize(metrics.timesteps, edges) - 1, 0, bins - 1)
        binned = metrics.groupby(which)["return"].mean()
        frame = pd.DataFrame({"timesteps": (edges[:-1] + edges[1:])[binned.index] / 2,
                              "return": binned.to_numpy()})
        curves.setdefault((item.listener, item.actions, item.lam, item.agent), []).append(frame)
    return curves


# -- notebook 11: comparing latent spaces ---------------------------------------------------------------
def vae_summary(runs: pd.DataFrame, catalog: pd.DataFrame, *, k: int = 4) -> pd.DataFrame:
    """One row per VAE run (columns ``latent_dim``, ``beta``, ``run``): best epoch, validation error,
    KL, active dimensions (KL > 0.05 nats), genre purity of the ``k`` nearest neighbours and their mean
    distance in the listeners' taste space; plus rows for the raw 11 normalised features and for
    the taste features themselves (the best a latent can do on the last column)."""
    from musicrec.envs.latent import neighbour_genre_purity, neighbour_taste_distance

    genres = catalog.track_genre.to_numpy()
    taste = taste_space(catalog)
    rows = []
    for item in runs.itertuples():
        history = item.run.metrics()
        best = history.iloc[int(history.best_epoch.iloc[0]) - 1]
        kl = pd.read_csv(item.run.file("kl.csv")).kl.to_numpy()
        latents = vae_latents(item.run)
        rows.append({"space": f"VAE d={item.latent_dim}, beta={item.beta:g}", "latent_dim": item.latent_dim,
                     "beta": item.beta, "best_epoch": int(best.epoch), "epochs": len(history),
                     "val_mse": best.val_mse, "val_kl": best.val_kl, "active_dims": int((kl > 0.05).sum()),
                     "genre_purity": neighbour_genre_purity(latents, genres, k=k),
                     "taste_distance": neighbour_taste_distance(latents, taste, k=k)})
    features = normalise_features(catalog)
    for label, points in (("11 normalised features", features), ("taste features (reference)", taste)):
        rows.append({"space": label, "latent_dim": points.shape[1], "beta": np.nan, "best_epoch": np.nan,
                     "epochs": np.nan, "val_mse": np.nan, "val_kl": np.nan, "active_dims": np.nan,
                     "genre_purity": neighbour_genre_purity(points, genres, k=k),
                     "taste_distance": neighbour_taste_distance(points, taste, k=k)})
    return pd.DataFrame(rows)


def run_vaes(budget: BudgetLike, runs_dir, *, device: str = "cpu", progress: bool = True) -> pd.DataFrame:
    """Every (latent size, beta) of the profile; one row per run."""
    budget = as_budget(budget)
    rows = []
    for beta in budget.betas:
        for latent_dim in budget.latent_dims:
            run = vae_run(budget, latent_dim, runs_dir, beta=beta, device=device, progress=progress)
            rows.append({"latent_dim": int(latent_dim), "beta": float(beta), "run": run})
    return pd.DataFrame(rows)
