"""Notebooks 11-12: VAE latent spaces and recommenders acting in them, as cached runs.

Run kinds (folders under ``runs/``):

``latent_vae``
    one VAE per (catalog, latent size, beta, seed): ``vae.pt``, ``latents.npy`` (rescaled means),
    ``metrics.csv`` (per-epoch history), ``reconstruction.csv`` (per-feature error), ``kl.csv``.
``latent_agent``
    one SB3 agent per (setting, agent, seed), trained with :func:`musicrec.agents.sb3.train`:
    ``model.zip``, ``metrics.csv`` (training episodes), ``timings.csv`` (their wall times),
    ``eval.csv`` (one row per evaluation session) and ``eval_steps.csv`` (mean reward per position in
    the session).
``latent_baseline``
    random neighbour / greedy nearest-to-last-liked / oracle, evaluated on the same sessions.

A *setting* is (listener, action space, lambda): ``listener`` is ``"fixed"`` (one hidden taste) or
``"mood_change"`` (two moods, one change per session); ``actions`` is ``"knn"`` or ``"continuous"``.
Every policy of a setting is evaluated on the same sessions: seed ``s`` uses the reset seeds
``EVAL_SEED + s * eval_sessions + i``, so agents and baselines meet the same start tracks and moods.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from musicrec.agents.latent_policies import BASELINES, ModelPolicy, baseline_policy, evaluate_sessions
from musicrec.data.catalog import AUDIO_FEATURES, load_catalog, normalise_features, synthetic_catalog
from musicrec.errors import ParameterError, check_choice
from musicrec.runs import Run, write_csv_atomic
from musicrec.users.listener import TASTE_FEATURES
from musicrec.utils import project_path

VERSION = 1
STUDY = "latent"
ENV_ID = "musicrec/LatentRecommender-v0"
EVAL_SEED = 1_000_000
LISTENERS = ("fixed", "mood_change")
BASELINE_LABELS = {"random": "random neighbour", "greedy": "greedy (nearest to last liked)",
                   "oracle": "myopic oracle (baseline)", "planner": "planner (ceiling)"}
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
}
ACTION_SPACES = ("knn", "continuous")
SCORING_POLICIES = ("candidate_scoring", "recurrent_candidate_scoring")


# -- catalog and VAE ---------------------------------------------------------------------------------
def study_catalog(budget: dict) -> pd.DataFrame:
    """The study's catalog: ``catalog_csv`` if the profile names one, else the synthetic catalog."""
    if budget.get("catalog_csv"):
        return load_catalog(project_path(budget["catalog_csv"]))
    return synthetic_catalog(int(budget["n_tracks"]), seed=int(budget["catalog_seed"]))


def catalog_config(budget: dict) -> dict:
    """What identifies the catalog in a run config (a real file by its content hash)."""
    if budget.get("catalog_csv"):
        path = project_path(budget["catalog_csv"])
        if not path.is_file():
            raise ParameterError(f"catalog_csv={budget['catalog_csv']!r} does not exist")
        return {"csv": Path(budget["catalog_csv"]).name,
                "sha1": hashlib.sha1(path.read_bytes()).hexdigest()}
    return {"synthetic": True, "n_tracks": int(budget["n_tracks"]), "seed": int(budget["catalog_seed"])}


def taste_space(catalog: pd.DataFrame) -> np.ndarray:
    """The listeners' view of the tracks: the normalised :data:`TASTE_FEATURES`."""
    columns = [AUDIO_FEATURES.index(name) for name in TASTE_FEATURES]
    return normalise_features(catalog)[:, columns].astype(np.float64)


def vae_config(budget: dict, latent_dim: int, beta: float | None = None) -> dict:
    """The full config of one VAE run."""
    return {
        "version": VERSION,
        "catalog": catalog_config(budget),
        "latent_dim": int(latent_dim),
        "beta": float(budget["vae_beta"] if beta is None else beta),
        "hidden": [int(h) for h in budget["vae_hidden"]],
        "epochs": int(budget["vae_epochs"]),
        "patience": int(budget["vae_patience"]),
        "batch_size": int(budget["vae_batch_size"]),
        "learning_rate": float(budget["vae_learning_rate"]),
        "validation_fraction": float(budget["vae_validation_fraction"]),
        "seed": int(budget["vae_seed"]),
    }


def _train_vae_run(config: dict, budget: dict, device: str, progress: bool, folder: Path) -> None:
    from musicrec.features.vae import kl_per_dimension, latent_space, reconstruction_errors, save_vae, train_vae

    catalog = study_catalog(budget)
    x = normalise_features(catalog)
    fit = train_vae(x, latent_dim=config["latent_dim"], beta=config["beta"], hidden=config["hidden"],
                    epochs=config["epochs"], batch_size=config["batch_size"],
                    learning_rate=config["learning_rate"], patience=config["patience"],
                    validation_fraction=config["validation_fraction"], seed=config["seed"],
                    device=device, progress=progress)
    save_vae(fit.model, folder / "vae.pt")
    np.save(folder / "latents.npy", latent_space(fit.model, x))
    write_csv_atomic(reconstruction_errors(fit.model, x, fit.validation_index, names=AUDIO_FEATURES),
                     folder / "reconstruction.csv")
    kl = kl_per_dimension(fit.model, x)
    write_csv_atomic(pd.DataFrame({"dimension": np.arange(len(kl)), "kl": kl}), folder / "kl.csv")
    write_csv_atomic(fit.history.assign(best_epoch=fit.best_epoch), folder / "metrics.csv")


def vae_run(budget: dict, latent_dim: int, runs_dir: str | os.PathLike, *, beta: float | None = None,
            device: str = "cpu", progress: bool = True) -> Run:
    """Train (or reuse) the VAE with ``latent_dim`` and ``beta`` (default the profile's)."""
    config = vae_config(budget, latent_dim, beta)
    run = Run(runs_dir, "latent_vae", config, name=f"d{config['latent_dim']}-beta{config['beta']:g}")
    return run.execute(partial(_train_vae_run, config, budget, device, progress))


def vae_latents(run: Run) -> np.ndarray:
    """The rescaled latents of a finished VAE run, [shape=(n_tracks, d)]."""
    return np.load(run.file("latents.npy"))


# -- the recommender's space, listeners and envs ------------------------------------------------------
def listener_spec(budget: dict, listener: str) -> dict:
    """The :func:`musicrec.users.listener.make_listener` spec of ``"fixed"`` or ``"mood_change"``."""
    check_choice("listener", listener, LISTENERS)
    spec = {"tolerance": float(budget["tolerance"]), "like_power": float(budget["like_power"]),
            "concentration": float(budget["concentration"]), "taste_seed": int(budget["taste_seed"])}
    if listener == "mood_change":
        spec.update(moods=2, switch=[int(s) for s in budget["mood_switch"]],
                    min_mood_distance=float(budget["min_mood_distance"]),
                    max_mood_distance=float(budget["max_mood_distance"]))
    return spec


def env_kwargs(budget: dict, *, actions: str, lam: float, listener: str, history: int = 0,
               overrides: Mapping | None = None) -> dict:
    """Plain env kwargs of a setting (what a run config records), with an agent's ``overrides``."""
    return {"actions": actions, "k": int(budget["k"]), "session_length": int(budget["session_length"]),
            "lam": float(lam), "history": int(history), "listener": listener_spec(budget, listener),
            **dict(overrides or {})}


@dataclass
class LatentSpace:
    """Latents, the listeners' track space and the precomputed neighbour lists of one catalog."""

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
                make = partial(_agent_action_scale, make)
            vec = make_vec_env(make, n_envs=n_envs, seed=seed, vec_env_cls=DummyVecEnv)
            if normalize_reward:  # rewards up to 1 + lambda: scale them by a running std of returns
                vec = VecNormalize(vec, norm_obs=False, norm_reward=True, gamma=gamma)
            return vec

        return factory


def _agent_action_scale(make_env):
    """The continuous env with actions in [-1, 1]^d for the agent (SB3's advice for Box actions: a
    Gaussian policy starts with mean 0, the middle of the latent cube instead of its corner);
    :class:`ModelPolicy` maps them back with the same ``(a + 1) / 2``."""
    from gymnasium.wrappers import RescaleAction

    env = make_env()
    bound = np.ones(env.action_space.shape, dtype=np.float32)
    return RescaleAction(env, -bound, bound)


def study_space(budget: dict, runs_dir: str | os.PathLike, *, device: str = "cpu",
                progress: bool = True) -> LatentSpace:
    """The env's latent space: the profile's VAE (``env_latent_dim``), the taste space, neighbours."""
    from musicrec.envs.latent import nearest_neighbours, neighbours_needed

    latents = vae_latents(vae_run(budget, budget["env_latent_dim"], runs_dir, device=device,
                                  progress=progress))
    catalog = study_catalog(budget)
    needed = neighbours_needed(budget["k"], budget["session_length"])
    return LatentSpace(latents, taste_space(catalog), nearest_neighbours(latents, needed),
                       catalog.track_genre.to_numpy())


# -- evaluation --------------------------------------------------------------------------------------
def session_seeds(budget: dict, seed: int) -> list[int]:
    """Reset seeds of the evaluation sessions of seed ``seed`` (shared by every policy)."""
    n = int(budget["eval_sessions"])
    return [EVAL_SEED + int(seed) * n + i for i in range(n)]


def evaluation_kwargs(kwargs: dict) -> dict:
    """The env kwargs a policy is evaluated with: its setting's, with the study's yardstick reward
    (``listened + lam * liked``) whatever reward it was trained on."""
    return {**kwargs, "reward": "listened_liked"}



# -- agents and baselines as runs --------------------------------------------------------------------
def agent_policy(agent: str, actions: str) -> str:
    """The policy name of ``agent`` in the ``actions`` space (raises if it does not apply)."""
    spec = AGENTS[check_choice("agent", agent, AGENTS)]
    policy = spec.knn_policy if actions == "knn" else spec.continuous_policy
    if policy is None:
        raise ParameterError(f"agent {agent!r} does not act in the {actions!r} action space")
    return policy


def _policy_class(name: str):
    if name in SCORING_POLICIES:
        from musicrec.agents.candidate_policy import (CandidateScoringPolicy,
                                                      RecurrentCandidateScoringPolicy)

        return CandidateScoringPolicy if name == "candidate_scoring" else RecurrentCandidateScoringPolicy
    return name


def agent_config(budget: dict, agent: str, *, actions: str, lam: float, listener: str, seed: int,
                 timesteps: int, history: int = 0, space: dict | None = None) -> dict:
    """The full config of one agent run (validated by :func:`musicrec.agents.sb3.resolve_config`)."""
    from musicrec.agents.sb3 import resolve_config

    spec = AGENTS[check_choice("agent", agent, AGENTS)]
    policy = agent_policy(agent, actions)
    kwargs = env_kwargs(budget, actions=actions, lam=lam, listener=listener, history=history, overrides=spec.env)
    sb3 = resolve_config({"preset": spec.preset, "total_timesteps": int(timesteps), "n_envs": spec.n_envs},
                         {"id": ENV_ID, "kwargs": kwargs})
    if policy in SCORING_POLICIES:
        sb3["hyperparams"]["policy_kwargs"] = {**sb3["hyperparams"].get("policy_kwargs", {}),
                                               "k": kwargs["k"], "latent_dim": int(budget["env_latent_dim"]),
                                               "history": int(history)}
    sb3["policy"] = policy
    return {
        "version": VERSION,
        "agent": agent,
        "space": space or vae_config(budget, budget["env_latent_dim"]),
        "sb3": sb3,
        "normalize_reward": True,
        "agent_action_range": [-1.0, 1.0] if actions == "continuous" else None,
        "seed": int(seed),
        "eval": {"first_seed": session_seeds(budget, seed)[0], "sessions": int(budget["eval_sessions"])},
    }


def train_and_evaluate(config: dict, space: LatentSpace, folder: Path, *, device: str = "cpu",
                       progress: bool = True, train_overrides: dict | None = None):
    """Train ``config["sb3"]`` on ``space`` into ``folder``, then evaluate it on the config's env and
    sessions (``eval.csv``, ``eval_steps.csv``). Returns the trained model.

    ``train_overrides`` change the training env only (e.g. a simulator built from logs); the
    evaluation always uses the env of the config (the true listener).
    """
    from musicrec.agents.sb3 import train

    sb3 = config["sb3"]
    hyperparams = dict(sb3["hyperparams"])
    train_config = {"preset": sb3["preset"], "total_timesteps": sb3["total_timesteps"],
                    "n_envs": sb3["n_envs"], "policy": _policy_class(sb3["policy"]),
                    "hyperparams": hyperparams}
    factory = space.vec_env_factory(normalize_reward=config["normalize_reward"],
                                    gamma=float(hyperparams.get("gamma", 0.99)), overrides=train_overrides)
    result = train(train_config, sb3["env"], config["seed"], folder, device=device, progress_bar=progress,
                   vec_env_factory=factory, separate_timings=True)
    first, n = config["eval"]["first_seed"], config["eval"]["sessions"]
    sessions, steps, each = evaluate_sessions(space, evaluation_kwargs(sb3["env"]["kwargs"]),
                                              ModelPolicy(result.model), list(range(first, first + n)),
                                              session_steps=True)
    write_csv_atomic(sessions, folder / "eval.csv")
    write_csv_atomic(steps, folder / "eval_steps.csv")
    write_csv_atomic(each, folder / "eval_session_steps.csv")
    return result.model


def _agent_work(config: dict, budget: dict, runs_dir, device: str, progress: bool, folder: Path) -> None:
    space = study_space(budget, runs_dir, device=device, progress=False)
    train_and_evaluate(config, space, folder, device=device, progress=progress)


def agent_run(budget: dict, agent: str, runs_dir: str | os.PathLike, *, actions: str, lam: float,
              listener: str, seed: int, timesteps: int, history: int = 0, device: str = "cpu",
              progress: bool = True) -> Run:
    """Train and evaluate (or reuse) one agent of one setting."""
    config = agent_config(budget, agent, actions=actions, lam=lam, listener=listener, seed=seed,
                          timesteps=timesteps, history=history)
    name = f"{listener}-{actions}-lam{lam:g}-{agent}-seed{seed}"
    return Run(runs_dir, "latent_agent", config, name=name).execute(
        partial(_agent_work, config, budget, runs_dir, device, progress))


def baseline_config(budget: dict, baseline: str, *, actions: str, lam: float, listener: str,
                    seed: int) -> dict:
    check_choice("baseline", baseline, BASELINES)
    config = {"version": VERSION, "baseline": baseline, "space": vae_config(budget, budget["env_latent_dim"]),
              "env": env_kwargs(budget, actions=actions, lam=lam, listener=listener), "seed": int(seed),
              "eval": {"first_seed": session_seeds(budget, seed)[0], "sessions": int(budget["eval_sessions"])}}
    if baseline == "planner":
        config["planner_width"] = int(budget["planner_width"])
    return config


def _baseline_work(config: dict, space: LatentSpace, folder: Path) -> None:
    first, n = config["eval"]["first_seed"], config["eval"]["sessions"]
    policy = baseline_policy(config["baseline"], config["seed"], planner_width=config.get("planner_width", 32))
    sessions, steps, each = evaluate_sessions(space, config["env"], policy, list(range(first, first + n)),
                                              session_steps=True)
    write_csv_atomic(sessions, folder / "eval.csv")
    write_csv_atomic(steps, folder / "eval_steps.csv")
    write_csv_atomic(each, folder / "eval_session_steps.csv")
    write_csv_atomic(sessions, folder / "metrics.csv")


def baseline_run(budget: dict, baseline: str, runs_dir: str | os.PathLike, space: LatentSpace, *,
                 actions: str, lam: float, listener: str, seed: int) -> Run:
    """Evaluate (or reuse) one baseline of one setting on seed ``seed``'s sessions."""
    config = baseline_config(budget, baseline, actions=actions, lam=lam, listener=listener, seed=seed)
    name = f"{listener}-{actions}-lam{lam:g}-{baseline}-seed{seed}"
    return Run(runs_dir, "latent_baseline", config, name=name).execute(
        partial(_baseline_work, config, space))


# -- the study of notebook 12 ------------------------------------------------------------------------
def study_plan(budget: dict) -> pd.DataFrame:
    """Every (setting, agent) notebook 12 trains, with its budget.

    Fixed taste, kNN candidates: PPO for each lambda; at the first lambda the flat-MLP PPO, the documents'
    design (current latent only, flat MLP) and PPO trained on the README's other reward and on the blog's
    immediate-skip penalty. Continuous space: PPO and DDPG. Mood change: PPO and RecurrentPPO on the kNN
    candidates.
    """
    lam0 = float(budget["lambdas"][0])
    rows = [{"listener": "fixed", "actions": "knn", "lam": float(lam), "agent": "ppo",
             "timesteps": budget["timesteps_knn"]} for lam in budget["lambdas"]]
    rows += [{"listener": "fixed", "actions": "knn", "lam": lam0, "agent": agent, "timesteps": budget["timesteps_knn"]}
             for agent in ("ppo_mlp", "ppo_documents", "ppo_liked_or_completed", "ppo_skip_penalty")]
    rows += [{"listener": "fixed", "actions": "continuous", "lam": lam0, "agent": "ppo",
              "timesteps": budget["timesteps_continuous"]},
             {"listener": "fixed", "actions": "continuous", "lam": lam0, "agent": "ddpg",
              "timesteps": budget["timesteps_ddpg"]}]
    rows += [{"listener": "mood_change", "actions": "knn", "lam": lam0, "agent": agent,
              "timesteps": budget["timesteps_mood"]} for agent in ("ppo", "recurrent_ppo")]
    return pd.DataFrame(rows)


def _execute_agent(budget: dict, runs_dir: str, task: dict, device: str, progress: bool) -> str:
    from musicrec.utils import setup_torch

    setup_torch(device)
    run = agent_run(budget, task["agent"], runs_dir, actions=task["actions"], lam=task["lam"],
                    listener=task["listener"], seed=task["seed"], timesteps=task["timesteps"],
                    device=device, progress=progress)
    return str(run.path)


def run_agents(budget: dict, runs_dir: str | os.PathLike, *, plan: pd.DataFrame | None = None,
               device: str = "cpu", progress: bool = True) -> pd.DataFrame:
    """Train every planned agent for every seed (``n_jobs`` processes); one row per run."""
    plan = study_plan(budget) if plan is None else plan
    study_space(budget, runs_dir, device=device, progress=progress)  # the VAE, before any worker needs it
    tasks = [{**row, "seed": int(seed)} for row in plan.to_dict("records") for seed in budget["seeds"]]
    runs = [Run(runs_dir, "latent_agent", agent_config(budget, t["agent"], actions=t["actions"], lam=t["lam"],
                                                        listener=t["listener"], seed=t["seed"],
                                                        timesteps=t["timesteps"]),
                name=f"{t['listener']}-{t['actions']}-lam{t['lam']:g}-{t['agent']}-seed{t['seed']}")
            for t in tasks]
    todo = [task for task, run in zip(tasks, runs) if not run.finished]
    # Longest first, so no process idles while another finishes a slow run at the end.
    todo.sort(key=lambda task: -AGENTS[task["agent"]].cost * task["timesteps"])
    n_jobs = max(1, min(int(budget.get("n_jobs", 1)), len(todo)))
    if todo and n_jobs == 1:
        for task in todo:
            _execute_agent(budget, str(runs_dir), task, device, progress)
    elif todo:
        from joblib import Parallel, delayed
        from tqdm import tqdm

        jobs = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")(
            delayed(_execute_agent)(budget, str(runs_dir), task, device, False) for task in todo)
        for _ in tqdm(jobs, total=len(todo), desc=f"agents ({n_jobs} processes)", disable=not progress):
            pass
    frame = pd.DataFrame(tasks)
    frame["run"] = [Run(runs_dir, "latent_agent", run.config, name=run.name) for run in runs]
    unfinished = [run.path.name for run in frame.run if not run.finished]
    if unfinished:
        raise RuntimeError(f"agent runs did not finish: {unfinished}")
    return frame


def run_baselines(budget: dict, runs_dir: str | os.PathLike, plan: pd.DataFrame, *, device: str = "cpu"
                  ) -> pd.DataFrame:
    """Every baseline for every setting of ``plan`` and every seed; one row per run."""
    space = study_space(budget, runs_dir, device=device, progress=False)
    settings = plan[["listener", "actions", "lam"]].drop_duplicates().to_dict("records")
    rows = []
    for setting in settings:
        for baseline in BASELINES:
            for seed in budget["seeds"]:
                run = baseline_run(budget, baseline, runs_dir, space, seed=int(seed), **setting)
                rows.append({**setting, "agent": baseline, "seed": int(seed), "run": run})
    return pd.DataFrame(rows)


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
    session (NaN where the setting has no planner run; a ceiling is only one if this is 0)."""
    frames = {(item.listener, item.actions, item.lam, item.agent, item.seed): pd.read_csv(item.run.file("eval.csv"))
              for item in runs.itertuples()}
    rows = []
    for (listener, actions, lam, agent, seed), sessions in frames.items():
        ceiling = frames.get((listener, actions, lam, CEILING, seed))
        above = np.nan
        if ceiling is not None:
            paired = sessions.merge(ceiling[["session_seed", "expected"]], on="session_seed", suffixes=("", "_ceiling"))
            above = float((paired.expected > paired.expected_ceiling + 1e-9).mean())
        rows.append({"listener": listener, "actions": actions, "lam": lam, "agent": agent, "seed": seed,
                     "reward": sessions.reward.mean(), "expected": sessions.expected.mean(),
                     "expected_before": sessions.expected_before.mean(),
                     "expected_after": sessions.expected_after.mean(),
                     "listened": sessions.listened.mean(), "like_rate": sessions.like_rate.mean(),
                     "above_ceiling": above})
    return pd.DataFrame(rows)


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
    order = {name: i for i, name in enumerate([*AGENTS, *BASELINES])}
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
def neighbour_genre_purity(points: np.ndarray, genres: np.ndarray, *, k: int = 4) -> float:
    """Share of each track's ``k`` nearest neighbours in ``points`` that have its genre."""
    from musicrec.envs.latent import nearest_neighbours

    neighbours = nearest_neighbours(np.asarray(points, dtype=np.float32), k + 1)[:, 1:]
    return float((genres[neighbours] == genres[:, None]).mean())


def neighbour_taste_distance(points: np.ndarray, taste: np.ndarray, *, k: int = 4) -> float:
    """Mean taste-space distance from each track to its ``k`` nearest neighbours in ``points``."""
    from musicrec.envs.latent import nearest_neighbours

    neighbours = nearest_neighbours(np.asarray(points, dtype=np.float32), k + 1)[:, 1:]
    return float(np.linalg.norm(taste[neighbours] - taste[:, None, :], axis=2).mean())


def vae_summary(runs: pd.DataFrame, catalog: pd.DataFrame, *, k: int = 4) -> pd.DataFrame:
    """One row per VAE run (columns ``latent_dim``, ``beta``, ``run``): best epoch, validation error,
    KL, active dimensions (KL > 0.05 nats), genre purity of the ``k`` nearest neighbours and their mean
    distance in the listeners' taste space; plus rows for the raw 11 normalised features and for
    the taste features themselves (the best a latent can do on the last column)."""
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


def run_vaes(budget: dict, runs_dir, *, device: str = "cpu", progress: bool = True) -> pd.DataFrame:
    """Every (latent size, beta) of the profile; one row per run."""
    rows = []
    for beta in budget["betas"]:
        for latent_dim in budget["latent_dims"]:
            run = vae_run(budget, latent_dim, runs_dir, beta=beta, device=device, progress=progress)
            rows.append({"latent_dim": int(latent_dim), "beta": float(beta), "run": run})
    return pd.DataFrame(rows)
