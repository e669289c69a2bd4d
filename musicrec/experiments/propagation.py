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

The mechanics live one floor down: logging, K-Means, propagation and the error grid in
:mod:`musicrec.offline.propagation`, training and evaluation in :mod:`musicrec.agents.latent_training`.
The budget is notebook 12's (:class:`musicrec.experiments.latent.LatentBudget`, with its reward-propagation
fields); every entry point takes it, a plain mapping or a profile name.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from musicrec.agents.latent_training import LatentSpace, train_and_evaluate_on_simulator
from musicrec.experiments import latent
from musicrec.experiments.latent import BudgetLike, LatentBudget, as_budget
from musicrec.offline.propagation import error_grid, log_sessions, log_summary, propagated_simulator
from musicrec.runs import Run, run_all, write_csv_atomic
from musicrec.users.listener import make_listener

VERSION = 1
GRID_VERSION = 2  # 2: the error grid has the top-5% overlap
LOG_SEED = 500_000
SELECTION_SEED = 0


def lam0(budget: BudgetLike) -> float:
    """The lambda of notebook 13 (the profile's first)."""
    return float(as_budget(budget).lambdas[0])


def true_listener(budget: BudgetLike, space: LatentSpace):
    """The fixed-taste listener of notebook 12 (its expected rewards are the ground truth)."""
    return make_listener(space.listener_space, latent.listener_spec(budget, "fixed"))


def cluster_points(budget: BudgetLike, runs_dir, *, device: str = "cpu",
                   progress: bool = True) -> np.ndarray:
    """The latents K-Means clusters (the profile's ``cluster_latent_dim``, README: 2-D)."""
    budget = as_budget(budget)
    return latent.vae_latents(latent.vae_run(budget, budget.cluster_latent_dim, runs_dir, device=device,
                                             progress=progress))


# -- logs ---------------------------------------------------------------------------------------------
def logs_config(budget: BudgetLike) -> dict:
    """The full config of the logged sessions' run."""
    budget = as_budget(budget)
    return {"version": VERSION, "space": latent.vae_config(budget, budget.env_latent_dim),
            "env": latent.env_kwargs(budget, actions="knn", lam=lam0(budget), listener="fixed"),
            "behaviour": "random", "sessions": budget.log_sessions, "seed": LOG_SEED}


def logs_run(budget: BudgetLike, runs_dir, space: LatentSpace) -> Run:
    """Log (or reuse) the behaviour policy's sessions with the true listener."""
    config = logs_config(budget)

    def work(folder: Path) -> None:
        logs = log_sessions(space.make_env(**config["env"]), config["sessions"], seed=config["seed"])
        write_csv_atomic(logs, folder / "logs.csv")
        write_csv_atomic(log_summary(logs), folder / "metrics.csv")

    return Run(runs_dir, "latent_logs", config, name=f"random-{config['sessions']}sessions").execute(work)


def read_logs(run: Run) -> pd.DataFrame:
    """The logged recommendations of a finished logs run (:func:`musicrec.offline.propagation.log_sessions`)."""
    return pd.read_csv(run.file("logs.csv"))


# -- propagation error grid -----------------------------------------------------------------------------
def propagation_config(budget: BudgetLike) -> dict:
    """The full config of the error grid's run."""
    budget = as_budget(budget)
    return {"version": GRID_VERSION, "logs": logs_config(budget),
            "cluster_space": latent.vae_config(budget, budget.cluster_latent_dim),
            "listener": latent.listener_spec(budget, "fixed"), "lam": lam0(budget),
            "cluster_counts": [int(c) for c in budget.cluster_counts],
            "decay_rates": [float(r) for r in budget.decay_rates],
            "per_cluster": budget.observed_per_cluster,
            "seeds": [int(s) for s in budget.propagation_seeds]}


def propagation_run(budget: BudgetLike, runs_dir, space: LatentSpace, *,
                    device: str = "cpu") -> Run:
    """Compute (or reuse) the error grid of notebook 13 (:func:`musicrec.offline.propagation.error_grid`)."""
    budget = as_budget(budget)
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
def offline_simulator(budget: BudgetLike, runs_dir, space: LatentSpace, *, device: str = "cpu"):
    """The propagated-reward listener of the profile (``offline_clusters``, ``offline_decay_rate``) and
    the logged start tracks' distribution: ``(TableListener, start_weights, Propagation)``
    (:func:`musicrec.offline.propagation.propagated_simulator`)."""
    budget = as_budget(budget)
    logs = read_logs(logs_run(budget, runs_dir, space))
    points = cluster_points(budget, runs_dir, device=device, progress=False)
    return propagated_simulator(points, logs, n_clusters=budget.offline_clusters,
                                per_cluster=budget.observed_per_cluster, rate=budget.offline_decay_rate,
                                seed=SELECTION_SEED)


def offline_agent_config(budget: BudgetLike, seed: int) -> dict:
    """The full config of PPO trained on the propagated simulator: notebook 12's PPO, plus the simulator."""
    budget = as_budget(budget)
    config = latent.agent_config(budget, "ppo", actions="knn", lam=lam0(budget), listener="fixed", seed=seed,
                                 timesteps=budget.timesteps_knn)
    config["offline"] = {"version": VERSION, "logs": logs_config(budget),
                         "cluster_space": latent.vae_config(budget, budget.cluster_latent_dim),
                         "n_clusters": budget.offline_clusters, "decay_rate": budget.offline_decay_rate,
                         "per_cluster": budget.observed_per_cluster, "selection_seed": SELECTION_SEED}
    return config


def _offline_work(config: dict, budget: LatentBudget, runs_dir, device: str, progress: bool, folder: Path) -> None:
    from musicrec.utils import setup_torch

    setup_torch(device)
    space = latent.study_space(budget, runs_dir, device=device, progress=False)
    listener, starts, _ = offline_simulator(budget, runs_dir, space, device=device)
    train_and_evaluate_on_simulator(config, space, folder, {"listener": listener, "start": starts},
                                    device=device, progress=progress)


def _offline_task(budget: LatentBudget, runs_dir, seed: int, *, device: str, progress: bool) -> tuple[Run, partial]:
    config = offline_agent_config(budget, seed)
    run = Run(runs_dir, "latent_offline_agent", config, name=f"ppo-propagated-seed{seed}")
    return run, partial(_offline_work, config, budget, str(runs_dir), device, progress)


def offline_agent_run(budget: BudgetLike, runs_dir, seed: int, *, device: str = "cpu", progress: bool = True) -> Run:
    """Train PPO on the propagated simulator (or reuse it); evaluated on the true listener."""
    run, work = _offline_task(as_budget(budget), runs_dir, seed, device=device, progress=progress)
    return run.execute(work)


def run_offline_agents(budget: BudgetLike, runs_dir, *, device: str = "cpu", progress: bool = True) -> pd.DataFrame:
    """PPO on the propagated simulator for every seed (``n_jobs`` at a time with
    :func:`musicrec.runs.run_all`); one row per run."""
    budget = as_budget(budget)
    space = latent.study_space(budget, runs_dir, device=device, progress=progress)
    logs_run(budget, runs_dir, space)
    cluster_points(budget, runs_dir, device=device, progress=progress)
    seeds = [int(s) for s in budget.seeds]
    alone = budget.n_jobs <= 1
    work = [_offline_task(budget, runs_dir, s, device=device, progress=progress and alone) for s in seeds]
    run_all(work, workers=budget.n_jobs, progress=progress and not alone,
            description=f"offline agents ({budget.n_jobs} processes)")
    return pd.DataFrame({"seed": seeds, "run": [run for run, _ in work]})


def gap_table(budget: BudgetLike, runs_dir, offline: pd.DataFrame, *, device: str = "cpu") -> pd.DataFrame:
    """The offline-to-online gap: rewards on the true listener of PPO trained online (notebook 12's
    runs), PPO trained on the propagated simulator, the random neighbour, the myopic oracle and the planner
    (the ceiling), over the same seeds and sessions; plus the offline agent's reward as its own simulator
    predicts it. ``pct_of_ceiling``: the expected session reward as % of the planner's, mean over seeds."""
    budget = as_budget(budget)
    plan = pd.DataFrame([{"listener": "fixed", "actions": "knn", "lam": lam0(budget), "agent": "ppo",
                          "timesteps": budget.timesteps_knn}])
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


def check_budget(budget: BudgetLike) -> LatentBudget:
    """Fail early on a profile that cannot run notebook 13: the budget validated as a
    :class:`~musicrec.experiments.latent.LatentBudget` (its ``validate``), which is returned."""
    return as_budget(budget)
