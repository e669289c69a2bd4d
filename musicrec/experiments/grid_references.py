"""Notebook 02: the references every grid agent is judged against, as cached runs.

* ``optimum`` runs (kind ``grid_optimum``): the Bayes-optimal mean return of one configuration
  (``musicrec.agents.grid_optimum``), exact or proven bounds, with its search effort and wall time.
* ``rule`` runs (kind ``grid_rule``): the rule baseline evaluated from every target
  (``musicrec.agents.grid_rule``), one row per target.

:func:`reference_table` puts both beside the best agent of the thesis's metric tables (figures 22-23) as
a percentage of the optimum. The thesis reports those tables for 2D only; its 3D/4D results
(figures 24-25) are training curves without numbers in the text.
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


# -- sentences written from the results -------------------------------------------------------------------
MODE_NAMES = {"top": "TopTarget", "wider": "WiderTopTarget"}


def centre_rating_counts(levels: int, dims: int = 2, target: str = "wider") -> pd.Series:
    """How many positions get each rating (0-4) for the centre target, indexed by rating."""
    from musicrec.users.grid import grid_geometry

    geometry = grid_geometry(dims, levels, target)
    ratings = geometry.ratings(geometry.start)
    return pd.Series(np.bincount(ratings, minlength=5), index=range(5), name="positions")


def _range(low: float, high: float, digits: int = 1) -> str:
    return f"{low:.{digits}f}" if round(low, digits) == round(high, digits) else f"{low:.{digits}f}-{high:.{digits}f}"


def _names(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def rating_count_sentences(counts: pd.DataFrame, centre: pd.Series, *, levels: int) -> str:
    """What the rating-4 count table says, as sentences.

    ``counts`` has ``dims, target_mode, min, mean, max, min_pct, max_pct`` (rating-4 positions per
    target; ``target_mode`` ``TopTarget`` or ``WiderTopTarget``); ``centre`` the number of positions per
    rating for the centre target of the 2D WiderTopTarget grid (:func:`centre_rating_counts`).
    """
    top = counts[counts.target_mode == "TopTarget"]
    wider = counts[counts.target_mode == "WiderTopTarget"]
    sentences = []
    if len(top):
        dims = f"{top.dims.min()}D-{top.dims.max()}D" if top.dims.nunique() > 1 else f"{top.dims.iloc[0]}D"
        if (top["min"] == 1).all() and (top["max"] == 1).all():
            sentences.append(f"TopTarget: exactly one position (the target) rates 4, for every target in {dims}.")
        else:
            sentences.append(f"TopTarget: {top['min'].min()}-{top['max'].max()} positions rate 4 per target in {dims}.")
    for row in wider.itertuples():
        sentences.append(f"WiderTopTarget in {row.dims}D: {row.min}-{row.max} of the {levels ** row.dims} positions "
                         f"({_range(row.min_pct, row.max_pct)}%, {row.mean:.1f} on average) rate 4, depending on "
                         "where the target lies.")
    missing = [str(r) for r in centre.index if centre[r] == 0]
    if missing:
        sentences.append(f"For the centre target of the 2D grid no position rates {' or '.join(missing)}.")
    return " ".join(sentences)


def comparison_with_thesis(*, reference: pd.DataFrame, counts: pd.DataFrame, closer: pd.DataFrame,
                           centre: pd.Series, levels: int, episode_length: int,
                           thesis: pd.DataFrame = THESIS_METRICS) -> str:
    """The comparison with the thesis as markdown bullets, every number taken from the tables given.

    Parameters
    ----------
    reference : pd.DataFrame
        :func:`reference_table` (``dims, target, reward, optimum_exact, optimum_lower, optimum_upper,
        optimum_std, optimum_depth, rule_mean, rule_pct_low, thesis_mean, thesis_std, thesis_setting,
        thesis_pct_low``).
    counts : pd.DataFrame
        The rating-4 count table (see :func:`rating_count_sentences`).
    closer : pd.DataFrame
        :func:`feedback_value_table` (``dims, target, reward, optimum_grid, optimum_board``).
    centre : pd.Series
        :func:`centre_rating_counts` of the 2D WiderTopTarget grid.
    levels, episode_length : int
        The grid's levels and the episode length.
    thesis : pd.DataFrame
        The thesis's metric tables (figures 22-23).
    """
    bullets = []
    wider = counts[counts.target_mode == "WiderTopTarget"].sort_values("dims")
    two = wider[wider.dims == 2]
    share = ", ".join(f"{_range(r.min_pct, r.max_pct)}% of the positions in {r.dims}D" for r in wider.itertuples())
    missing = [str(r) for r in centre.index if centre[r] == 0]
    environment = ("**The environment.** Ratings, rewards, episode length and the two target modes follow "
                   "section 4.2. One consequence the thesis does not spell out: WiderTopTarget's \"5% of the "
                   "positions\" holds only approximately")
    if len(two):
        row = two.iloc[0]
        environment += (f". On the {levels}×{levels} grid numpy's interpolated 5th percentile of {levels ** 2} "
                        f"distances gives {row['min']}-{row['max']} positions ({_range(row.min_pct, row.max_pct, 0)}%) "
                        "rating 4")
        if missing:
            environment += f", and the centre target gets no rating {' or '.join(missing)} at all"
    environment += f" (count table: {share})."
    higher = []
    for (dims, reward), group in reference.groupby(["dims", "reward"]):
        by_target = group.set_index("target")
        if {"top", "wider"} <= set(by_target.index):
            higher.append(by_target.optimum_lower["wider"] > by_target.optimum_upper["top"])
    if higher and all(higher):
        environment += (" This is the \"non-consistency of the rating levels\" the thesis suspected behind "
                        "WiderTopTarget's variance, and it also makes WiderTopTarget the easier task: its optimum "
                        "is higher in every dimension and for both rewards.")
    elif higher:
        environment += (" This is the \"non-consistency of the rating levels\" the thesis suspected behind "
                        "WiderTopTarget's variance.")
    bullets.append(environment)

    best = {reward: float(REWARD_TABLES[reward].max()) * episode_length for reward in REWARD_TABLES}
    exact_2d = reference[(reference.dims == 2) & reference.optimum_exact]
    if len(exact_2d):
        values = [f"{r.optimum_lower:.2f} ({MODE_NAMES[r.target]}, {r.reward.capitalize()})"
                  for r in exact_2d.itertuples()]
        tops = sorted({best[r] for r in exact_2d.reward})
        bullets.append("**What the best possible policy earns.** The thesis never computed it. In 2D the exact "
                       f"optimum is {_names(values)}, out of {_names([f'{t:g}' for t in tops])} if every step "
                       "rated 4.")
    with_thesis = reference[reference.thesis_mean.notna()]
    if len(with_thesis):
        parts = [f"the best {MODE_NAMES[r.target]}/{r.reward.capitalize()} agent ({r.thesis_mean:.0f}, "
                 f"{r.thesis_setting}) reaches {r.thesis_pct_low:.1f}% of the optimum"
                 + ("" if r.optimum_exact else f" or more (the optimum is bounded)")
                 for r in with_thesis.itertuples()]
        bullets.append("**The thesis's agents as a share of it** (figures 22-23, 2D, checkpoints of one training "
                       f"run each): {'; '.join(parts)}. The agents of notebooks 03-07 are measured against the "
                       "same numbers.")
    wide_bull = reference[(reference.dims == 2) & (reference.target == "wider") & (reference.reward == "bullseye")]
    best_rows = thesis[(thesis.target == "wider") & (thesis.reward == "bullseye")].nlargest(3, "mean")
    if len(wide_bull) and len(best_rows):
        spread = ", ".join(f"{r.mean} ± {r.std}" for r in best_rows.itertuples())
        optimal = wide_bull.optimum_std.iloc[0]
        bullets.append(f"**Spread over targets.** The thesis's {len(best_rows)} best WiderTopTarget/Bullseye rows "
                       f"have standard deviations of {_range(best_rows['std'].min(), best_rows['std'].max(), 0)} "
                       f"over targets ({spread}). An optimal policy has {optimal:.1f}"
                       + (" (as low as the lowest of them)" if optimal >= best_rows['std'].min() - 1 else "")
                       + ": some targets are found at reset and others need several steps, so no policy has a "
                       "spread near zero.")
    exact = reference[reference.optimum_exact]
    if len(exact):
        dims = f"{exact.dims.min()}D-{exact.dims.max()}D" if exact.dims.nunique() > 1 else f"{exact.dims.iloc[0]}D"
        equal = [f"{r.dims}D {MODE_NAMES[r.target]}/{r.reward.capitalize()}"
                 for r in exact.itertuples() if abs(r.rule_mean - r.optimum_lower) < 1e-9]
        text = (f"**The rule baseline** reaches {_range(exact.rule_pct_low.min(), exact.rule_pct_low.max())}% of the "
                f"optimum wherever the optimum is exact ({dims})")
        if equal:
            text += f", equals it in {_names(equal)}"
        suggestion = ("The thesis's conclusions (§7.1.1) suggest that with simulated users this simple a less "
                      "complex, perhaps rule-based, approach could perform better")
        if len(with_thesis):
            beats = with_thesis.rule_mean > with_thesis.thesis_mean
            pairs = ", ".join(f"{r.rule_mean:.1f} vs {r.thesis_mean:.0f}" for r in with_thesis.itertuples())
            text += (", and beats the best thesis agent of every configuration of figures 22-23" if beats.all() else
                     f", and beats the best thesis agent in {int(beats.sum())} of {len(beats)} configurations of "
                     "figures 22-23") + f" ({pairs})"
            suggestion += ": here it does." if beats.all() else "."
        else:
            suggestion += "."
        bullets.append(f"{text}. {suggestion}")
    bounded = reference[~reference.optimum_exact]
    for dims, group in bounded.groupby("dims"):
        for target, rows in group.groupby("target"):
            bounds = ", ".join(f"[{r.optimum_lower:.2f}, {r.optimum_upper:.2f}] for {r.reward.capitalize()}"
                               for r in rows.itertuples())
            depth = rows.optimum_depth.dropna()
            decisions = int(depth.min()) if len(depth) and depth.min() == depth.max() else None
            relaxation = ("a relaxation" if decisions is None else
                          f"a relaxation searched exactly for {decisions} decision{'s' if decisions != 1 else ''}")
            bullets.append(f"**{dims}D {MODE_NAMES[target]}** is where the exact search did not finish within the "
                           f"profile's node limit: the table gives proven bounds, {bounds} (lower: the rule, an "
                           f"actual policy; upper: {relaxation}). The `full` profile runs the search without a "
                           "limit. The thesis reports no numbers for 3D and 4D (figures 24-25 are training "
                           "curves), so there is nothing to set beside ours there.")
    if len(closer):
        gain = closer.optimum_grid - closer.optimum_board
        parts = []
        for dims, group in closer.assign(gain=gain).groupby("dims"):
            top = group.loc[group.gain.idxmax()]
            zero = group[(group.gain.abs() < 1e-9)]
            part = (f"nothing in {dims}D" if (group.gain.abs() < 1e-9).all() else
                    f"at most {top.gain:.2f} points ({100 * top.gain / top.optimum_board:.2f}%) in {dims}D "
                    f"({MODE_NAMES[top.target]}/{top.reward.capitalize()})")
            if len(zero) and not (group.gain.abs() < 1e-9).all():
                names = [f"{MODE_NAMES[r.target]}/{r.reward.capitalize()}" for r in zero.itertuples()]
                part += f", nothing for {_names(names)}"
            parts.append(part)
        text = (f"**The closer bit** (what GridObs shows and BoardObs does not) is worth {'; '.join(parts)}, so "
                "BoardObs agents lose little by missing it. Without the closer bits the board alone determines "
                "the consistent targets (though not the steps taken), so a BoardObs agent needs no recurrence to "
                "come close to its optimum, while a GridObs agent needs memory to have any belief at all.")
        for (target, reward, n_steps), rows in thesis.groupby(["target", "reward", "n_steps"], sort=False):
            board = rows[(rows.obs == "board") & ~rows.recurrent]
            grid = rows[(rows.obs == "grid") & rows.recurrent]
            if len(board) and len(grid):
                flat = _names([f"{r.mean} ({r.algorithm})" for r in board.itertuples()])
                memory = _names([f"{r.mean} ({r.algorithm})" for r in grid.itertuples()])
                text += (f" In the thesis's tables (printed above), on {MODE_NAMES[target]}/{reward.capitalize()} "
                         f"with n = {n_steps}, the non-recurrent BoardObs agents reached {flat}, beside {memory} "
                         "for the recurrent GridObs agent.")
        bullets.append(text)
    return "\n".join(f"* {bullet}" for bullet in bullets)
