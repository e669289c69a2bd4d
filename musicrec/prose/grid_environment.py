"""Sentences of notebook 02 (the grid environment and its references), written from its tables.

Each function reads only the columns it names, so it can be checked on a hand-made table
(``tests/prose/test_grid_environment.py``); the tables come from
:mod:`musicrec.experiments.grid_references` (the optimum and rule-baseline references, the rating-4 counts)
and the thesis's metric tables (figures 22-23, ``data/sources/``, :func:`musicrec.sources.published`).
"""

from __future__ import annotations

import pandas as pd

from musicrec.envs.grid_core import REWARD_TABLES
from musicrec.prose.features import join_names
from musicrec.sources import published

#: The thesis's names of the two target modes.
MODE_NAMES = {"top": "TopTarget", "wider": "WiderTopTarget"}


def value_range(low: float, high: float, digits: int = 1) -> str:
    """``low`` with ``digits`` decimals, or ``low-high`` when they differ at that precision."""
    return f"{low:.{digits}f}" if round(low, digits) == round(high, digits) else f"{low:.{digits}f}-{high:.{digits}f}"


def rating_count_sentences(counts: pd.DataFrame, centre: pd.Series, *, levels: int) -> str:
    """What the rating-4 count table says, as sentences.

    ``counts`` has ``dims, target_mode, min, mean, max, min_pct, max_pct`` (rating-4 positions per
    target; ``target_mode`` ``TopTarget`` or ``WiderTopTarget``); ``centre`` the number of positions per
    rating for the centre target of the 2D WiderTopTarget grid (:func:`~musicrec.experiments.grid_references.centre_rating_counts`).
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
                         f"({value_range(row.min_pct, row.max_pct)}%, {row.mean:.1f} on average) rate 4, depending on "
                         "where the target lies.")
    missing = [str(r) for r in centre.index if centre[r] == 0]
    if missing:
        sentences.append(f"For the centre target of the 2D grid no position rates {' or '.join(missing)}.")
    return " ".join(sentences)


def comparison_with_thesis(*, reference: pd.DataFrame, counts: pd.DataFrame, closer: pd.DataFrame,
                           centre: pd.Series, levels: int, episode_length: int,
                           thesis: pd.DataFrame | None = None) -> str:
    """The comparison with the thesis as markdown bullets, every number taken from the tables given.

    Parameters
    ----------
    reference : pd.DataFrame
        :func:`~musicrec.experiments.grid_references.reference_table` (``dims, target, reward, optimum_exact, optimum_lower, optimum_upper,
        optimum_std, optimum_depth, rule_mean, rule_pct_low, thesis_mean, thesis_std, thesis_setting,
        thesis_pct_low``).
    counts : pd.DataFrame
        The rating-4 count table (see :func:`rating_count_sentences`).
    closer : pd.DataFrame
        :func:`~musicrec.experiments.grid_references.feedback_value_table` (``dims, target, reward, optimum_grid, optimum_board``).
    centre : pd.Series
        :func:`~musicrec.experiments.grid_references.centre_rating_counts` of the 2D WiderTopTarget grid.
    levels, episode_length : int
        The grid's levels and the episode length.
    thesis : pd.DataFrame, optional
        The thesis's metric tables (figures 22-23; default the published ones,
        ``musicrec.experiments.grid_references.THESIS_METRICS``).
    """
    if thesis is None:
        thesis = published("rynegardh2019_metrics").drop(columns="cite")
    bullets = []
    wider = counts[counts.target_mode == "WiderTopTarget"].sort_values("dims")
    two = wider[wider.dims == 2]
    share = ", ".join(f"{value_range(r.min_pct, r.max_pct)}% of the positions in {r.dims}D" for r in wider.itertuples())
    missing = [str(r) for r in centre.index if centre[r] == 0]
    environment = ("**The environment.** Ratings, rewards, episode length and the two target modes follow "
                   "section 4.2. One consequence the thesis does not spell out: WiderTopTarget's \"5% of the "
                   "positions\" holds only approximately")
    if len(two):
        row = two.iloc[0]
        environment += (f". On the {levels}×{levels} grid numpy's interpolated 5th percentile of {levels ** 2} "
                        f"distances gives {row['min']}-{row['max']} positions ({value_range(row.min_pct, row.max_pct, 0)}%) "
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
                       f"optimum is {join_names(values)}, out of {join_names([f'{t:g}' for t in tops])} if every step "
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
                       f"have standard deviations of {value_range(best_rows['std'].min(), best_rows['std'].max(), 0)} "
                       f"over targets ({spread}). An optimal policy has {optimal:.1f}"
                       + (" (as low as the lowest of them)" if optimal >= best_rows['std'].min() - 1 else "")
                       + ": some targets are found at reset and others need several steps, so no policy has a "
                       "spread near zero.")
    exact = reference[reference.optimum_exact]
    if len(exact):
        dims = f"{exact.dims.min()}D-{exact.dims.max()}D" if exact.dims.nunique() > 1 else f"{exact.dims.iloc[0]}D"
        equal = [f"{r.dims}D {MODE_NAMES[r.target]}/{r.reward.capitalize()}"
                 for r in exact.itertuples() if abs(r.rule_mean - r.optimum_lower) < 1e-9]
        text = (f"**The rule baseline** reaches {value_range(exact.rule_pct_low.min(), exact.rule_pct_low.max())}% of the "
                f"optimum wherever the optimum is exact ({dims})")
        if equal:
            text += f", equals it in {join_names(equal)}"
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
                part += f", nothing for {join_names(names)}"
            parts.append(part)
        text = (f"**The closer bit** (what GridObs shows and BoardObs does not) is worth {'; '.join(parts)}, so "
                "BoardObs agents lose little by missing it. Without the closer bits the board alone determines "
                "the consistent targets (though not the steps taken), so a BoardObs agent needs no recurrence to "
                "come close to its optimum, while a GridObs agent needs memory to have any belief at all.")
        for (target, reward, n_steps), rows in thesis.groupby(["target", "reward", "n_steps"], sort=False):
            board = rows[(rows.obs == "board") & ~rows.recurrent]
            grid = rows[(rows.obs == "grid") & rows.recurrent]
            if len(board) and len(grid):
                flat = join_names([f"{r.mean} ({r.algorithm})" for r in board.itertuples()])
                memory = join_names([f"{r.mean} ({r.algorithm})" for r in grid.itertuples()])
                text += (f" In the thesis's tables (printed above), on {MODE_NAMES[target]}/{reward.capitalize()} "
                         f"with n = {n_steps}, the non-recurrent BoardObs agents reached {flat}, beside {memory} "
                         "for the recurrent GridObs agent.")
        bullets.append(text)
    return "\n".join(f"* {bullet}" for bullet in bullets)
