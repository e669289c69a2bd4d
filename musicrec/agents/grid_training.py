"""The work of one grid run: train an agent into its folder, evaluate it, load it back.

A grid run's config (built by :mod:`musicrec.experiments.grid_agents`) names the agent (the batched
recurrent actor-critic of :mod:`musicrec.agents.batched_ac`, or an SB3 preset trained through
:mod:`musicrec.agents.sb3`), the environment's keyword arguments, the evaluation schedule and the
targets. :func:`train_in_folder` trains it into the run's temporary folder: ``metrics.csv`` (one row per
training episode), ``eval.csv`` and ``checkpoints.csv`` (the deterministic policy from the evaluation
targets), ``final_returns.csv`` (the final policy from the final targets) and ``timings.csv`` (kept apart
from the metrics, so that two runs with the same seed write identical metrics). The reference policies
(rule baseline on a sample of targets, Bayes filter) have their work functions here too.

A policy that ignores the user's answers is told apart by :func:`constant_position`: reporting a
percentage of the optimum for it would mislead.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musicrec.runs import write_csv_atomic


def _returns_frame(result) -> pd.DataFrame:
    return pd.DataFrame({"target": result.targets, "return": result.returns, "first_top": result.first_top})


def write_final_returns(predict, config: Mapping[str, Any], folder: Path) -> None:
    """Evaluate ``predict`` from the run's final targets into ``final_returns.csv``
    (``target, return, first_top``; noisy users answer with seed ``10_000 + seed``)."""
    from musicrec.envs.grid_core import evaluate_all_targets

    env = config["agent"]["env"]["kwargs"]
    final = evaluate_all_targets(predict, targets=config["final_targets"], repeats=config["eval_repeats"],
                                 seed=10_000 + int(config["seed"]), **env)
    write_csv_atomic(_returns_frame(final), folder / "final_returns.csv")


def train_in_folder(config: Mapping[str, Any], folder: Path, *, device: str = "cpu", progress: bool = True) -> None:
    """Train the run ``config`` into ``folder`` (the work of :meth:`musicrec.runs.Run.execute`)."""
    folder = Path(folder)
    cpu0 = time.process_time()
    if config["agent"]["algorithm"].startswith("musicrec.agents.batched_ac"):
        from musicrec.agents.batched_ac import Evaluations, train

        evaluations = Evaluations(config["agent"]["env"]["kwargs"], every=config["eval_every"],
                                  targets=config["eval_targets"], checkpoints=config["checkpoints"],
                                  repeats=config["eval_repeats"], folder=folder)
        result = train(config["agent"], config["seed"], folder, device=device, progress_bar=progress,
                       evaluations=evaluations)
        predict = result.model.predict
        timings = pd.DataFrame(evaluations.timings)
        train_cpu = result.cpu_time_s - float(timings.eval_s.sum())
    else:
        from musicrec.agents.sb3 import normalized_grid_predict, train_sb3_grid

        result, evaluations = train_sb3_grid(config, folder, device=device, progress=progress)
        predict = normalized_grid_predict(result.model, folder)
        timings = pd.DataFrame(evaluations.timings)
        train_cpu = time.process_time() - cpu0 - float(timings.eval_s.sum())
    write_final_returns(predict, config, folder)
    timings["train_cpu_s"] = train_cpu
    timings["env_steps_per_cpu_s"] = config["agent"]["total_timesteps"] / max(train_cpu, 1e-9)
    write_csv_atomic(timings, folder / "timings.csv")


def load_agent(run, *, device: str = "cpu"):
    """The trained policy of a finished run and its deterministic ``predict(obs, state, episode_start)``.

    ``run`` is a :class:`musicrec.runs.Run` (or anything with its ``config``, ``path`` and ``file(name)``).
    """
    config = run.config
    if config["agent"]["algorithm"].startswith("musicrec.agents.batched_ac"):
        from musicrec.agents.batched_ac import load_policy

        policy = load_policy(run.path, config["agent"], device=device)
        return policy, (lambda obs, state, start: policy.predict(obs, state, start, deterministic=True))
    from musicrec.agents.sb3 import load_weights, normalized_grid_predict
    from musicrec.envs.grid_vec import make_grid_vec_env

    # weights only: a model.zip from someone else's runs/ cannot run code when it is read
    model = load_weights(config["agent"], run.file("model.zip"), device=device, vec_env_factory=lambda env, n, seed:
                         make_grid_vec_env(env["kwargs"], n, seed, normalize=False))
    return model, normalized_grid_predict(model, run.path)


def evaluate_rule_on_targets(config: Mapping[str, Any], folder: Path) -> None:
    """The rule baseline from ``config["targets"]`` (the other keys: the env's settings) into ``metrics.csv``."""
    from musicrec.agents.grid_rule import GridRulePolicy
    from musicrec.envs.grid_core import evaluate_all_targets

    settings = {k: v for k, v in config.items() if k not in ("targets", "version")}
    result = evaluate_all_targets(GridRulePolicy(**settings), targets=config["targets"], **settings)
    write_csv_atomic(_returns_frame(result), Path(folder) / "metrics.csv")


def evaluate_bayes_filter(config: Mapping[str, Any], folder: Path) -> None:
    """The Bayes-filter greedy policy from every target, ``config["repeats"]`` episodes each, into ``metrics.csv``."""
    from musicrec.agents.grid_bayes import GridBayesPolicy
    from musicrec.envs.grid_core import evaluate_all_targets

    env = config["env"]
    result = evaluate_all_targets(GridBayesPolicy(**env), repeats=config["repeats"], seed=config["seed"], **env)
    write_csv_atomic(_returns_frame(result), Path(folder) / "metrics.csv")


#: A run whose deterministic policy returns the same total from every target (e.g. it never leaves the
#: start position, 2 x 21 points under Rating or 0 under Bullseye) has collapsed: it learned nothing.
def collapsed(returns: pd.DataFrame) -> bool:
    """True when every target gets the same return, i.e. the policy ignores the user's answers."""
    return bool(returns["return"].nunique() == 1)


def constant_position(returns: pd.DataFrame, env: Mapping[str, Any]) -> int | None:
    """The position a collapsed policy names at every step, or None.

    A policy that ignores the user's answers and names one position ``c`` throughout earns
    ``episode_length * reward(rating(target, c))`` from each target (e.g. 42.0 on average for the 2D
    centre under Bullseye/WiderTopTarget). If a run's final returns (``target, return``) equal that for
    some ``c`` on every target, it learned nothing but a fixed position.
    """
    from musicrec.envs.grid_core import REWARD_TABLES, TABLE_LIMIT
    from musicrec.users.grid import grid_geometry

    geometry = grid_geometry(int(env["dims"]), int(env["levels"]), env["target"])
    frame = returns.groupby("target")["return"].mean()
    if geometry.n_positions > TABLE_LIMIT:
        candidates = np.array([geometry.start])
    else:
        candidates = np.arange(geometry.n_positions)
    targets = frame.index.to_numpy()
    ratings = geometry.rating_by_distance[targets[:, None], geometry.distance(targets[:, None], candidates[None, :])]
    constant = int(env["episode_length"]) * REWARD_TABLES[env["reward"]][ratings]     # [target, candidate]
    same = np.isclose(constant, frame.to_numpy()[:, None]).all(axis=0)
    return int(candidates[np.flatnonzero(same)[0]]) if same.any() else None
