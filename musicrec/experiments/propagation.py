"""Notebook 13: logged sessions, K-Means reward propagation, and PPO trained on the propagated rewards.

Run kinds (folders under ``runs/``):

``latent_logs``
    sessions of a behaviour policy (uniformly random kNN candidate) with the true, fixed-taste
    listener: ``logs.csv`` (one row per recommendation).
``latent_propagation``
    the error grid: for every cluster count, decay rate and selection seed, RMSE, Spearman and top-5%
    overlap of the propagated reward against the listener's true expected reward on the unobserved tracks,
    with two references (the mean of the 4 nearest observed tracks in the recommender's latent, and
    one global mean); ``metrics.csv``.
``latent_offline_agent``
    PPO trained on a simulator whose listener is the propagated table
    (:class:`musicrec.users.listener.TableListener`, sessions starting where the logged ones did),
    evaluated on the true listener with notebook 12's sessions; ``eval.csv`` and
    ``eval_simulator.csv`` (the same policy scored by its own simulator).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from musicrec.agents.latent_policies import ModelPolicy, evaluate_sessions
from musicrec.errors import check_number
from musicrec.experiments import latent
from musicrec.offline.propagation import (estimate_errors, kmeans, knn_estimate, log_sessions,
                                          observed_tracks, propagate, start_weights)
from musicrec.runs import Run, write_csv_atomic
from musicrec.users.listener import TableListener, make_listener

VERSION = 1
GRID_VERSION = 2  # 2: the error grid has the top-5% overlap
LOG_SEED = 500_000
SELECTION_SEED = 0


def lam0(budget: dict) -> float:
    """The lambda of notebook 13 (the profile's first)."""
    return float(budget["lambdas"][0])


def true_listener(budget: dict, space: latent.LatentSpace):
    """The fixed-taste listener of notebook 12 (its expected rewards are the ground truth)."""
    return make_listener(space.listener_space, latent.listener_spec(budget, "fixed"))


def cluster_points(budget: dict, runs_dir, *, device: str = "cpu", progress: bool = True) -> np.ndarray:
    """The latents K-Means clusters (the profile's ``cluster_latent_dim``, README: 2-D)."""
    return latent.vae_latents(latent.vae_run(budget, budget["cluster_latent_dim"], runs_dir, device=device,
                                             progress=progress))


# -- logs ---------------------------------------------------------------------------------------------
def logs_config(budget: dict) -> dict:
    return {"version": VERSION, "space": latent.vae_config(budget, budget["env_latent_dim"]),
            "env": latent.env_kwargs(budget, actions="knn", lam=lam0(budget), listener="fixed"),
            "behaviour": "random", "sessions": int(budget["log_sessions"]), "seed": LOG_SEED}


def logs_run(budget: dict, runs_dir, space: latent.LatentSpace) -> Run:
    """Log (or reuse) the behaviour policy's sessions with the true listener."""
    config = logs_config(budget)

    def work(folder: Path) -> None:
        logs = log_sessions(space.make_env(**config["env"]), config["sessions"], seed=config["seed"])
        write_csv_atomic(logs, folder / "logs.csv")
        summary = logs.groupby("session").agg(reward=("reward", "sum"), listened=("listened", "mean"),
                                              like_rate=("liked", "mean")).reset_index()
        write_csv_atomic(summary, folder / "metrics.csv")

    return Run(runs_dir, "latent_logs", config, name=f"random-{config['sessions']}sessions").execute(work)


def read_logs(run: Run) -> pd.DataFrame:
    return pd.read_csv(run.file("logs.csv"))


# -- propagation error grid -----------------------------------------------------------------------------
def propagation_config(budget: dict) -> dict:
    return {"version": GRID_VERSION, "logs": logs_config(budget),
            "cluster_space": latent.vae_config(budget, budget["cluster_latent_dim"]),
            "listener": latent.listener_spec(budget, "fixed"), "lam": lam0(budget),
            "cluster_counts": [int(c) for c in budget["cluster_counts"]],
            "decay_rates": [float(r) for r in budget["decay_rates"]],
            "per_cluster": int(budget["observed_per_cluster"]),
            "seeds": [int(s) for s in budget["propagation_seeds"]]}


def error_grid(points: np.ndarray, recommender_latents: np.ndarray, logs: pd.DataFrame, true_reward: np.ndarray,
               *, cluster_counts, decay_rates, per_cluster: int, seeds, lam: float) -> pd.DataFrame:
    """Errors of every (cluster count, decay rate, seed) on the tracks that were not observed.

    ``method`` is ``clusters`` (the documents' rule), ``knn_latent`` (mean of the 4 nearest observed
    tracks in ``recommender_latents``, the same observed tracks) or ``global_mean``.
    """
    rows = []
    for n_clusters in cluster_counts:
        for seed in seeds:
            labels, centroids = kmeans(points, int(n_clusters), seed=int(seed))
            observed = observed_tracks(logs, labels, per_cluster=per_cluster, seed=int(seed))
            base = {"n_clusters": int(n_clusters), "seed": int(seed), "observed": len(observed)}
            for rate in decay_rates:
                estimate = propagate(points, labels, centroids, observed, rate=float(rate))
                errors = estimate_errors(true_reward, estimate.reward(lam), ~estimate.observed)
                rows.append({"method": "clusters", "decay_rate": float(rate), **base, **errors})
            reference = knn_estimate(recommender_latents, observed, k=4)
            rows.append({"method": "knn_latent", "decay_rate": np.nan, **base,
                         **estimate_errors(true_reward, reference.reward(lam), ~reference.observed)})
            constant = np.full(len(true_reward), observed.listened.mean() + lam * observed.liked.mean())
            rows.append({"method": "global_mean", "decay_rate": np.nan, **base,
                         **estimate_errors(true_reward, constant, ~reference.observed)})
    return pd.DataFrame(rows)


def propagation_run(budget: dict, runs_dir, space: latent.LatentSpace, *, device: str = "cpu") -> Run:
    """Compute (or reuse) the error grid of notebook 13."""
    config = propagation_config(budget)

    def work(folder: Path) -> None:
        logs = read_logs(logs_run(budget, runs_dir, space))
        points = cluster_points(budget, runs_dir, device=device, progress=False)
        truth = true_listener(budget, space).expected_reward(config["lam"])
        grid = error_grid(points, space.latents, logs, truth, cluster_counts=config["cluster_counts"],
                          decay_rates=config["decay_rates"], per_cluster=config["per_cluster"],
                          seeds=config["seeds"], lam=config["lam"])
        write_csv_atomic(grid, folder / "metrics.csv")

    return Run(runs_dir, "latent_propagation", config, name="error-grid").execute(work)


def error_table(grid: pd.DataFrame) -> pd.DataFrame:
    """Mean +- std over selection seeds per (method, cluster count, decay rate)."""
    frame = grid.assign(decay_rate=grid.decay_rate.fillna(-1.0))
    table = frame.groupby(["method", "n_clusters", "decay_rate"], sort=False).agg(
        seeds=("seed", "count"), observed=("observed", "mean"), rmse=("rmse", "mean"),
        rmse_std=("rmse", "std"), spearman=("spearman", "mean"), spearman_std=("spearman", "std"),
        top_overlap=("top_overlap", "mean"), top_overlap_std=("top_overlap", "std")).reset_index()
    table["decay_rate"] = table.decay_rate.where(table.decay_rate >= 0)
    order = {"clusters": 0, "knn_latent": 1, "global_mean": 2}
    table = table.sort_values(["method", "n_clusters", "decay_rate"],
                              key=lambda column: column.map(order) if column.name == "method" else column)
    return table.reset_index(drop=True)


# -- the propagated simulator and PPO trained on it ------------------------------------------------------
def offline_simulator(budget: dict, runs_dir, space: latent.LatentSpace, *, device: str = "cpu"):
    """The propagated-reward listener of the profile (``offline_clusters``, ``offline_decay_rate``) and
    the logged start tracks' distribution: ``(TableListener, start_weights, Propagation)``."""
    logs = read_logs(logs_run(budget, runs_dir, space))
    points = cluster_points(budget, runs_dir, device=device, progress=False)
    labels, centroids = kmeans(points, int(budget["offline_clusters"]), seed=SELECTION_SEED)
    observed = observed_tracks(logs, labels, per_cluster=int(budget["observed_per_cluster"]),
                               seed=SELECTION_SEED)
    estimate = propagate(points, labels, centroids, observed, rate=float(budget["offline_decay_rate"]))
    return TableListener(estimate.listened, estimate.liked), start_weights(logs, len(points)), estimate


def offline_agent_config(budget: dict, seed: int) -> dict:
    config = latent.agent_config(budget, "ppo", actions="knn", lam=lam0(budget), listener="fixed", seed=seed,
                                 timesteps=budget["timesteps_knn"])
    config["offline"] = {"version": VERSION, "logs": logs_config(budget),
                         "cluster_space": latent.vae_config(budget, budget["cluster_latent_dim"]),
                         "n_clusters": int(budget["offline_clusters"]),
                         "decay_rate": float(budget["offline_decay_rate"]),
                         "per_cluster": int(budget["observed_per_cluster"]), "selection_seed": SELECTION_SEED}
    return config


def _offline_work(config: dict, budget: dict, runs_dir, device: str, progress: bool, folder: Path) -> None:
    space = latent.study_space(budget, runs_dir, device=device, progress=False)
    listener, starts, _ = offline_simulator(budget, runs_dir, space, device=device)
    overrides = {"listener": listener, "start": starts}
    model = latent.train_and_evaluate(config, space, folder, device=device, progress=progress,
                                      train_overrides=overrides)
    first, n = config["eval"]["first_seed"], config["eval"]["sessions"]
    kwargs = {**config["sb3"]["env"]["kwargs"], **overrides}
    sessions, _ = evaluate_sessions(space, kwargs, ModelPolicy(model),
                                           list(range(first, first + n)))
    write_csv_atomic(sessions, folder / "eval_simulator.csv")


def offline_agent_run(budget: dict, runs_dir, seed: int, *, device: str = "cpu", progress: bool = True) -> Run:
    """Train PPO on the propagated simulator (or reuse it); evaluated on the true listener."""
    config = offline_agent_config(budget, seed)
    return Run(runs_dir, "latent_offline_agent", config, name=f"ppo-propagated-seed{seed}").execute(
        partial(_offline_work, config, budget, runs_dir, device, progress))


def _execute_offline(budget: dict, runs_dir: str, seed: int, device: str, progress: bool) -> str:
    from musicrec.utils import setup_torch

    setup_torch(device)
    return str(offline_agent_run(budget, runs_dir, seed, device=device, progress=progress).path)


def run_offline_agents(budget: dict, runs_dir, *, device: str = "cpu", progress: bool = True) -> pd.DataFrame:
    """PPO on the propagated simulator for every seed (``n_jobs`` processes); one row per run."""
    space = latent.study_space(budget, runs_dir, device=device, progress=progress)
    logs_run(budget, runs_dir, space)
    cluster_points(budget, runs_dir, device=device, progress=progress)
    seeds = [int(s) for s in budget["seeds"]]
    runs = [Run(runs_dir, "latent_offline_agent", offline_agent_config(budget, s),
                name=f"ppo-propagated-seed{s}") for s in seeds]
    todo = [s for s, run in zip(seeds, runs) if not run.finished]
    n_jobs = max(1, min(int(budget.get("n_jobs", 1)), len(todo)))
    if n_jobs == 1:
        for seed in todo:
            _execute_offline(budget, str(runs_dir), seed, device, progress)
    else:
        from joblib import Parallel, delayed

        Parallel(n_jobs=n_jobs, backend="loky")(
            delayed(_execute_offline)(budget, str(runs_dir), seed, device, False) for seed in todo)
    return pd.DataFrame({"seed": seeds, "run": [Run(runs_dir, r.kind, r.config, name=r.name) for r in runs]})


def gap_table(budget: dict, runs_dir, offline: pd.DataFrame, *, device: str = "cpu") -> pd.DataFrame:
    """The offline-to-online gap: rewards on the true listener of PPO trained online (notebook 12's
    runs), PPO trained on the propagated simulator, the random neighbour, the myopic oracle and the planner
    (the ceiling), over the same seeds and sessions; plus the offline agent's reward as its own simulator
    predicts it. ``pct_of_ceiling``: the expected session reward as % of the planner's, mean over seeds."""
    lam = lam0(budget)
    plan = pd.DataFrame([{"listener": "fixed", "actions": "knn", "lam": lam, "agent": "ppo",
                          "timesteps": budget["timesteps_knn"]}])
    online = latent.run_agents(budget, runs_dir, plan=plan, device=device, progress=False)
    baselines = latent.run_baselines(budget, runs_dir, plan, device=device)
    rows = []
    for label, frame in (("PPO trained online (true listener)", online),
                         ("PPO trained on the propagated simulator", offline.assign(agent="offline")),
                         *((latent.BASELINE_LABELS[name], baselines[baselines.agent == name])
                           for name in ("random", "oracle", "planner"))):
        for item in frame.itertuples():
            true = pd.read_csv(item.run.file("eval.csv"))
            row = {"policy": label, "seed": item.seed, "reward_true_listener": true.reward.mean(),
                   "expected": true.expected.mean(), "listened": true.listened.mean(),
                   "like_rate": true.like_rate.mean(), "reward_simulator": np.nan}
            if label.startswith("PPO trained on the propagated"):
                row["reward_simulator"] = pd.read_csv(item.run.file("eval_simulator.csv")).reward.mean()
            rows.append(row)
    per_seed = pd.DataFrame(rows)
    ceiling = per_seed[per_seed.policy == latent.BASELINE_LABELS["planner"]].set_index("seed").expected
    per_seed["pct"] = 100 * per_seed.expected / per_seed.seed.map(ceiling)
    table = per_seed.groupby("policy", sort=False).agg(
        seeds=("seed", "count"), mean_reward=("reward_true_listener", "mean"),
        std_reward=("reward_true_listener", "std"), mean_expected=("expected", "mean"),
        listened=("listened", "mean"), like_rate=("like_rate", "mean"),
        simulator_predicted=("reward_simulator", "mean"), pct_of_ceiling=("pct", "mean"),
        pct_of_ceiling_std=("pct", "std")).reset_index()
    return table


def check_budget(budget: dict) -> None:
    """Fail early on a profile that cannot run notebook 13."""
    check_number("observed_per_cluster", budget["observed_per_cluster"], low=1, integer=True)
    check_number("offline_clusters", budget["offline_clusters"], low=1, integer=True)
    check_number("log_sessions", budget["log_sessions"], low=1, integer=True)
