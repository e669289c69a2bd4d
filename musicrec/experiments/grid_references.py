"""Notebook 02: the references every grid agent is judged against, as cached runs.

* ``optimum`` runs (kind ``grid_optimum``): the Bayes-optimal mean return of one configuration
  (``musicrec.agents.grid_optimum``), exact or proven bounds, with its search effort and wall time.
* ``rule`` runs (kind ``grid_rule``): the rule baseline evaluated from every target
  (``musicrec.agents.grid_rule``), one row per target.

:func:`reference_table` puts both beside the best agent of the thesis's metric tables (figures 22-23) as
a percentage of the optimum. The thesis reports those tables for 2D only; its 3D/4D results
(figures 24-25) are training curves without numbers in the text; its numbers are read from
``data/sources/rynegardh2019_metrics.csv`` (:func:`musicrec.sources.published`). The sentences written
from these tables are in :mod:`musicrec.prose.grid_environment`.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from musicrec.agents.grid_optimum import GridOptimum
from musicrec.agents.grid_rule import GridRulePolicy
from musicrec.envs.grid_core import REWARD_TABLES, evaluate_all_targets
from musicrec.errors import ParameterError
from musicrec.profiles import Budget
from musicrec.sources import published
from musicrec.runs import Run, write_csv_atomic, write_metrics, write_timings

#: Bump when the solver or the rule changes a result (3 and 2: times moved to ``timings.csv``).
OPTIMUM_VERSION = 3
RULE_VERSION = 2
#: Columns kept out of ``metrics.csv`` (they differ between two runs of the same config).
TIMING_COLUMNS = ["seconds", "load_1min"]

#: The thesis's metric tables (figures 22-23): 2D, 5 levels, 21 steps, mean and std of the return over
#: every target of checkpoints of one training run each. Figure 23's rows use WiderTopTarget (the
#: captions of figures 18-21).
THESIS_METRICS = published("rynegardh2019_metrics").drop(columns="cite")


def thesis_best() -> pd.DataFrame:
    """The best thesis agent per (dims, target, reward): its mean, std and setting."""
    rows = THESIS_METRICS.loc[THESIS_METRICS.groupby(["dims", "target", "reward"])["mean"].idxmax()]
    setting = rows.apply(lambda r: f"{r.obs.capitalize()}Obs, n={r.n_steps}, "
                                   f"{'recurrent ' if r.recurrent else ''}{r.algorithm} ({r.figure})", axis=1)
    return pd.DataFrame({"dims": rows.dims, "target": rows.target, "reward": rows.reward,
                         "thesis_mean": rows["mean"], "thesis_std": rows["std"],
                         "thesis_setting": setting}).reset_index(drop=True)


@dataclass(frozen=True, kw_only=True)
class GridEnvironmentBudget(Budget):
    """What a profile of ``configs/profiles/grid_environment.yml`` spends on notebook 02's references."""

    study = "grid_environment"

    dims: tuple[int, ...]
    """Grid dimensions whose optimum and rule baseline are computed for every target and reward."""
    levels: int = 5
    """Levels per feature (the thesis: 5)."""
    episode_length: int = 21
    """Recommendations per episode (the thesis: 21)."""
    targets: tuple[str, ...] = ("top", "wider")
    """Target rules: ``top`` (TopTarget) and ``wider`` (WiderTopTarget)."""
    rewards: tuple[str, ...] = ("bullseye", "rating")
    """Reward tables (section 4.2 of the thesis)."""
    slice_dims: int = 3
    """Dimensions of the grid whose rating maps are drawn as slices."""
    rating_only_dims: tuple[int, ...] = ()
    """Dimensions where the value of the ``closer`` signal is measured (optimum with ratings only)."""
    node_limit: int | None = None
    """Beliefs the exact search may expand per configuration before it reports proven bounds (None: no limit)."""
    bound_depth: int | None = None
    """Decisions searched exactly in the relaxation that bounds a stopped search."""

    def validate(self, source: str) -> None:
        unknown = sorted(set(self.targets) - {"top", "wider"}) + sorted(set(self.rewards) - set(REWARD_TABLES))
        if unknown:
            raise ParameterError(f"{source}: unknown target or reward {unknown}")
        if self.levels < 2 or self.episode_length < 1 or min(self.dims + self.rating_only_dims, default=1) < 1:
            raise ParameterError(f"{source}: levels must be >= 2, episode_length and dims >= 1")


def load_budget(profile: str) -> GridEnvironmentBudget:
    """The validated budget of notebook 02 under ``profile``."""
    return GridEnvironmentBudget.load(profile)


def configurations(budget: Mapping) -> list[dict]:
    """Every (dims, target, reward) of the budget, with the grid's levels and episode length."""
    budget = GridEnvironmentBudget.from_mapping(budget)
    return [{"dims": int(d), "levels": int(budget["levels"]), "target": t, "reward": r,
             "episode_length": int(budget["episode_length"])}
            for d, t, r in itertools.product(budget["dims"], budget["targets"], budget["rewards"])]


def _name(settings: Mapping) -> str:
    return f"{settings['dims']}d-L{settings['levels']}-{settings['target']}-{settings['reward']}"


def optimum_run(settings: Mapping, budget: Mapping, runs_dir: str | os.PathLike, *,
                feedback: str = "rating+closer") -> Run:
    """Compute (or reuse) the optimum of one configuration under the budget's search limits."""
    config = {**settings, "feedback": feedback, "node_limit": budget.get("node_limit"),
              "bound_depth": budget.get("bound_depth"), "version": OPTIMUM_VERSION}
    run = Run(runs_dir, "grid_optimum", config, name=f"{_name(settings)}-{feedback}")

    def work(folder):
        # The rule baseline with the same information is the policy to beat (and the lower bound
        # if the search stops): reuse its run.
        rule_obs = "grid" if feedback == "rating+closer" else "board"
        rule = rule_run({**settings, "obs": rule_obs}, runs_dir).metrics().sort_values("target")
        solver = GridOptimum(**settings, feedback=feedback)
        result = solver.solve(node_limit=config["node_limit"], bound_depth=config["bound_depth"],
                              policy_returns=rule["return"].to_numpy())
        row = result.as_row()
        row["std"] = np.nan
        if result.exact:  # per-target returns of one optimal policy
            returns = solver.optimal_returns()
            row["std"] = float(returns.std())
            write_csv_atomic(pd.DataFrame({"target": np.arange(len(returns)), "return": returns}),
                             folder / "returns.csv")
        row["load_1min"] = os.getloadavg()[0]
        write_metrics(pd.DataFrame([row]), folder, timings=TIMING_COLUMNS)

    return run.execute(work)


def optimum_summary(run: Run) -> dict:
    """The optimum row of a finished run (``exact``, ``lower``, ``upper``, ``mean``, ``std`` of one
    optimal policy over targets if exact, ``nodes``...) with its ``seconds`` and ``load_1min``."""
    return {**run.metrics().iloc[0].to_dict(), **run.timings().iloc[0].to_dict()}


def rule_run(settings: Mapping, runs_dir: str | os.PathLike) -> Run:
    """Evaluate (or reuse) the rule baseline from every target; ``settings`` may name ``obs``/``action``."""
    config = {"obs": "grid", "action": "flat", **settings, "version": RULE_VERSION}
    run = Run(runs_dir, "grid_rule", config, name=f"{_name(settings)}-{config['obs']}")

    def work(folder):
        env_settings = {k: v for k, v in config.items() if k != "version"}
        started = time.perf_counter()
        policy = GridRulePolicy(**env_settings)
        evaluation = evaluate_all_targets(policy, **env_settings)
        seconds = time.perf_counter() - started
        frame = pd.DataFrame({"target": evaluation.targets, "return": evaluation.returns,
                              "first_top": evaluation.first_top})
        frame["tree_nodes"] = len(policy.nodes)
        # One wall time for the whole evaluation, kept apart from the per-target results.
        write_metrics(frame, folder)
        write_timings(pd.DataFrame({"targets": [len(frame)], "seconds": [seconds],
                                    "load_1min": [os.getloadavg()[0]]}), folder)

    return run.execute(work)


def rule_summary(run: Run) -> dict:
    """Mean and std of the return over targets, steps to the first rating 4, wall time."""
    frame = run.metrics()
    timing = run.timings()
    found = frame.first_top[frame.first_top > 0]
    return {"mean": float(frame["return"].mean()), "std": float(frame["return"].std(ddof=0)),
            "found": float((frame.first_top > 0).mean()),
            "mean_steps_to_top": float(found.mean()) if len(found) else float("nan"),
            "seconds": float(timing.seconds.iloc[0]), "load_1min": float(timing.load_1min.iloc[0])}


def reference_table(budget: Mapping, runs_dir: str | os.PathLike, *,
                    progress: bool = True) -> pd.DataFrame:
    """Optimum, rule baseline and the thesis's best agent for every configuration of the budget.

    Percentages of the optimum are ranges when the optimum is only bounded: ``pct_low`` divides by the
    upper bound, ``pct_high`` by the lower one (equal when exact). Search effort and wall times are in
    :func:`effort_table`, so this table is the same on every machine.
    """
    from tqdm import tqdm

    rows = []
    settings_list = configurations(budget)
    for settings in tqdm(settings_list, desc="optimum and rule", disable=not progress, mininterval=5):
        rule = rule_summary(rule_run(settings, runs_dir))
        optimum = optimum_summary(optimum_run(settings, budget, runs_dir))
        rows.append({**{k: settings[k] for k in ("dims", "target", "reward")},
                     "optimum_exact": bool(optimum["exact"]), "optimum_lower": optimum["lower"],
                     "optimum_upper": optimum["upper"], "optimum_std": optimum["std"],
                     "optimum_depth": optimum["depth"],
                     "rule_mean": rule["mean"], "rule_std": rule["std"],
                     "rule_steps_to_top": rule["mean_steps_to_top"]})
    table = pd.DataFrame(rows).merge(thesis_best(), on=["dims", "target", "reward"], how="left")
    for who in ("rule", "thesis"):
        value = table[f"{who}_mean"]
        table[f"{who}_pct_low"] = 100 * value / table.optimum_upper
        table[f"{who}_pct_high"] = 100 * value / table.optimum_lower
    return table


def effort_table(budget: Mapping, runs_dir: str | os.PathLike) -> pd.DataFrame:
    """Per configuration: beliefs the optimum search expanded, and the wall time (with the 1-minute load
    average) of the runs that computed the optimum and the rule (made if missing)."""
    rows = []
    for settings in configurations(budget):
        rule = rule_summary(rule_run(settings, runs_dir))
        optimum = optimum_summary(optimum_run(settings, budget, runs_dir))
        rows.append({**{k: settings[k] for k in ("dims", "target", "reward")},
                     "optimum_nodes": int(optimum["nodes"]), "optimum_seconds": optimum["seconds"],
                     "optimum_load_1min": optimum["load_1min"], "rule_seconds": rule["seconds"],
                     "rule_load_1min": rule["load_1min"]})
    return pd.DataFrame(rows)


def feedback_value_table(budget: Mapping, runs_dir: str | os.PathLike) -> pd.DataFrame:
    """What the ``closer`` bit is worth: optimum and rule with GridObs (rating + closer) vs BoardObs
    (ratings only), for the budget's ``rating_only_dims``."""
    rows = []
    for settings in configurations({**budget, "dims": budget.get("rating_only_dims", [])}):
        row = {k: settings[k] for k in ("dims", "target", "reward")}
        for feedback, obs in (("rating+closer", "grid"), ("rating", "board")):
            optimum = optimum_summary(optimum_run(settings, budget, runs_dir, feedback=feedback))
            rule = rule_summary(rule_run({**settings, "obs": obs}, runs_dir))
            row[f"optimum_{obs}"] = optimum["lower"] if optimum["exact"] else np.nan
            row[f"rule_{obs}"] = rule["mean"]
        rows.append(row)
    return pd.DataFrame(rows)


# -- tables the sentences are written from -------------------------------------------------------------
def centre_rating_counts(levels: int, dims: int = 2, target: str = "wider") -> pd.Series:
    """How many positions get each rating (0-4) for the centre target, indexed by rating."""
    from musicrec.users.grid import grid_geometry

    geometry = grid_geometry(dims, levels, target)
    ratings = geometry.ratings(geometry.start)
    return pd.Series(np.bincount(ratings, minlength=5), index=range(5), name="positions")
