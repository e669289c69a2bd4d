"""Sentences of notebooks 03-07, generated from their result tables (a small table in, markdown out).

Each function reads only the columns it names, so it can be checked on a hand-made table
(``tests/prose/test_grid.py``); a notebook calls one of them per comparison and displays the
returned markdown. Numbers are formatted here, once, so the text always states what the tables hold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd


def _fmt(value: float, digits: int = 1) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _ci(row: Mapping, prefix: str = "final_") -> str:
    low, high = row.get(f"{prefix}ci_low"), row.get(f"{prefix}ci_high")
    if low is None or math.isnan(low):
        return ""
    return f", 95% interval {_fmt(low)}-{_fmt(high)}"


def agent_result(row: Mapping, *, prefix: str = "final_") -> str:
    """"186.2 ± 3.1 over 3 seeds (95% interval 178.5-193.9), 92.4% of the exact optimum 201.6"."""
    if row.get("collapsed_to") is not None and not pd.isna(row.get("collapsed_to")):
        return (f"{_fmt(row[f'{prefix}mean'])} over {int(row['seeds'])} seeds, which is what a policy earns that "
                f"names position {int(row['collapsed_to'])} whatever the user answers: it learned nothing else")
    text = f"{_fmt(row[f'{prefix}mean'])} ± {_fmt(row[f'{prefix}sd_seeds'])} over {int(row['seeds'])} seeds{_ci(row, prefix)}"
    optimum = row.get("optimum")
    if optimum is not None and not math.isnan(optimum):
        text += f", {_fmt(100 * row[f'{prefix}mean'] / optimum)}% of the exact optimum {_fmt(optimum)}"
    return text


def versus_thesis(row: Mapping) -> str:
    """Our number under the thesis's definition next to the thesis's, and which is higher."""
    thesis = row.get("thesis_mean")
    if thesis is None or math.isnan(thesis):
        return "the thesis reports no number for this setting"
    ours = row["pooled_mean"]
    relation = "above" if ours > thesis else ("equal to" if ours == thesis else "below")
    count = row.get("pooled_checkpoints")
    which = ("the last checkpoint only, as no earlier one 5k thesis iterations back fits in the budget"
             if count == 1 else f"the last {count or 'few'} checkpoints of a run, 5k thesis iterations apart")
    return (f"under the thesis's definition ({which}; pooled over every target, mean over seeds) ours is {_fmt(ours)} (std {_fmt(row['pooled_std'])}), {relation} the thesis's "
            f"{_fmt(thesis, 0)} (std {_fmt(row['thesis_std'], 0)})")


def reward_functions(table: pd.DataFrame) -> str:
    """Notebook 03: TopTarget vs WiderTopTarget (rows ``top_grid_n5`` and ``wider_grid_n5`` of the metrics table)."""
    t = table.set_index("experiment")
    top, wider = t.loc["top_grid_n5"], t.loc["wider_grid_n5"]
    lines = [
        f"* **TopTarget, n = 5** (thesis fig. 11): final policy {agent_result(top)}; {versus_thesis(top)}.",
        f"* **WiderTopTarget, n = 5** (thesis fig. 12): final policy {agent_result(wider)}; {versus_thesis(wider)}.",
    ]
    # the seeds' spread in points of each task's optimum (the tasks have different optima)
    spread = max(_spread_pct(top), _spread_pct(wider))
    gap = wider.pct_final - top.pct_final
    if abs(gap) > spread:
        easier = "WiderTopTarget" if gap > 0 else "TopTarget"
        lines.append(f"* As a share of each task's own optimum, {easier} is learned better "
                     f"({_fmt(wider.pct_final)}% vs {_fmt(top.pct_final)}% for TopTarget, {_fmt(abs(gap))} points "
                     f"apart, more than the seeds' spread of {_fmt(spread)}). The thesis's reason for WiderTopTarget, "
                     f"that a reward spread over the positions nearest the target is found more often than one for "
                     f"the target alone, is {'borne out' if easier == 'WiderTopTarget' else 'not borne out'} here.")
    else:
        lines.append(f"* As a share of each task's own optimum, WiderTopTarget scores {_fmt(wider.pct_final)}% and "
                     f"TopTarget {_fmt(top.pct_final)}%, {_fmt(abs(gap))} points apart, within the seeds' spread of "
                     f"{_fmt(spread)}: these seeds do not separate the two, so the thesis's reason for "
                     f"WiderTopTarget (a reward spread over the positions nearest the target is found more often "
                     f"than one for the target alone) is neither borne out nor contradicted here.")
    return "\n".join(lines)


def _spread_pct(row) -> float:
    """A row's std over seeds in points of its task's optimum (0 with one seed)."""
    sd = float(row["final_sd_seeds"])
    return 0.0 if math.isnan(sd) else 100 * sd / float(row["optimum"])


def nstep_returns(table: pd.DataFrame, at_updates: pd.DataFrame, at_steps: pd.DataFrame) -> str:
    """Notebook 04: n = 5, 10, 20 at the end of training, at equal updates and at equal env steps.

    ``at_updates`` / ``at_steps``: columns ``experiment, n_steps, mean, sd_seeds`` (the all-targets mean
    over seeds at the same number of updates / environment steps) and ``at`` (that number).
    """
    t = table.set_index("experiment")
    parts = []
    for name in ("wider_grid_n5", "wider_grid_n10", "wider_grid_n20"):
        row = t.loc[name]
        parts.append(f"n = {int(row.n_steps)}: {agent_result(row)}; {versus_thesis(row)}")
    lines = [f"* **At the end of training** ({_fmt(t.loc['wider_grid_n20'].timesteps / 1e6)} M env steps for "
             f"n = 20): " + "; ".join(parts) + "."]
    for frame, what in ((at_updates, "updates"), (at_steps, "environment steps")):
        ordered = frame.sort_values("mean", ascending=False)
        best, second = ordered.iloc[0], ordered.iloc[1] if len(ordered) > 1 else None
        values = ", ".join(f"n = {int(r['n_steps'])} {_fmt(r['mean'])} ± {_fmt(r['sd_seeds'])}"
                           for r in frame.sort_values("n_steps").to_dict("records"))
        scale = f"{int(frame['at'].iloc[0]):,}" if what == "updates" else f"{frame['at'].iloc[0] / 1e6:.2f} M"
        if second is None:
            verdict = f"n = {int(best.n_steps)} alone"
        else:
            gap, spread = best["mean"] - second["mean"], _spread(best, second)
            verdict = (f"n = {int(best.n_steps)} is highest, {_fmt(gap)} ahead of n = {int(second.n_steps)}, more "
                       f"than the seeds' spread ({_fmt(spread)})" if gap > spread else
                       f"n = {int(best.n_steps)} and n = {int(second.n_steps)} are the highest, {_fmt(gap)} apart, "
                       f"within the seeds' spread ({_fmt(spread)}): these seeds do not tell which is higher")
        lines.append(f"* **At equal {what}** ({scale}): {values}; {verdict}.")
    by_n = at_steps.sort_values("n_steps").to_dict("records")
    steps = [(a, b, b["mean"] - a["mean"], _spread(a, b)) for a, b in zip(by_n, by_n[1:])]
    if any(gap < -spread for _, _, gap, spread in steps):
        worse = "; ".join(f"n = {int(b['n_steps'])} is {_fmt(-gap)} below n = {int(a['n_steps'])}, more than the "
                          f"seeds' spread ({_fmt(spread)})" for a, b, gap, spread in steps if gap < -spread)
        verdict = f"does not hold in full at equal environment steps here ({worse})"
    elif all(gap > spread for _, _, gap, spread in steps):
        verdict = "holds at equal environment steps here, each step up by more than the seeds' spread"
    else:
        ties = ", ".join(f"n = {int(a['n_steps'])} and {int(b['n_steps'])}" for a, b, gap, spread in steps
                         if abs(gap) <= spread)
        verdict = (f"is not contradicted at equal environment steps here, but the seeds do not separate {ties} "
                   "(within their spread)")
    lines.append(f"* The thesis's finding, \"10 performing better than 5, and 20 better than 10\" (§7.1), {verdict}.")
    return "\n".join(lines)


def _spread(a, b) -> float:
    """The seeds' spread two means are compared against: the larger of their standard deviations over seeds
    (0 with one seed, which has none)."""
    spreads = [float(v) for v in (a["sd_seeds"], b["sd_seeds"]) if not math.isnan(float(v))]
    return max(spreads) if spreads else 0.0


def learning_rates(table: pd.DataFrame, *, default_rate: float, n_envs: int, thesis_steps: float) -> str:
    """Notebook 04: the thesis's two learning rates (fig. 15) at our batch of ``n_envs``, beside our default;
    ``thesis_steps``: the env steps of the thesis's 120k iterations of figure 15, as the study reads them."""
    t = table.set_index("experiment")
    lines = []
    names = [(name, rate) for name, rate in (("wider_grid_n10", default_rate), ("wider_grid_n10_lr7e-4", 7e-4),
                                            ("wider_grid_n10_lr7e-5", 7e-5)) if name in t.index]
    for name, rate in names:
        lines.append(f"* lr {rate:g}, n = 10, after {_fmt(t.loc[name].timesteps / 1e6)} M env steps: "
                     f"{agent_result(t.loc[name])}.")
    lines.append("* The thesis lowered the rate from 7e-4 to 7e-5 with 16 environments and saw \"high variance\" "
                 f"after 120k iterations (fig. 15, {_fmt(thesis_steps / 1e6)} M env steps if an iteration is one "
                 f"update of 16 environments x 10 steps); our updates average "
                 f"{_fmt(n_envs / 16, 0 if n_envs % 16 == 0 else 1)} times as many environments ({n_envs}), so "
                 "each rate is a smaller step relative to the batch, and the ranking of the rates above is "
                 "the comparison that carries over.")
    budgets = {float(t.loc[name].timesteps) for name, _ in names}
    if len(budgets) > 1:
        lines.append("* The rows ran for different budgets: each learning rate decays linearly to zero over its own "
                     "run, so a row is the policy at the end of its schedule, not the same run stopped earlier.")
    return "\n".join(lines)


def observations_and_rewards(table: pd.DataFrame) -> str:
    """Notebook 05: GridObs vs BoardObs, Bullseye vs Rating, recurrent A2C vs TRPO and A2C without memory."""
    t = table.set_index("experiment")
    lines = []
    for name in ("wider_grid_n20", "wider_board_n20", "wider_board_n20_trpo", "wider_grid_n20_mlp",
                 "rating_grid_n20", "rating_board_n20", "rating_board_n20_trpo", "rating_board_n20_mlp"):
        if name not in t.index:
            continue
        row = t.loc[name]
        figure = f" (thesis fig. {row.figure})" if row.figure else ""
        lines.append(f"* **{row.reward.capitalize()}, {row.obs.capitalize()}Obs, {'recurrent ' if row.recurrent else ''}"
                     f"{row.algorithm}{'' if row.recurrent else ', no recurrence'}**{figure}: {agent_result(row)}; "
                     f"{versus_thesis(row)}.")
    if "wider_grid_n20_mlp" in t.index:
        recurrent, flat = t.loc["wider_grid_n20"], t.loc["wider_grid_n20_mlp"]
        gap = recurrent.final_mean - flat.final_mean
        spread = _spread({"sd_seeds": recurrent.final_sd_seeds}, {"sd_seeds": flat.final_sd_seeds})
        if gap > spread:
            lines.append(f"* Memory matters with GridObs: the observation shows only the last answer, and the "
                         f"recurrent policy scores {_fmt(gap)} more than the same A2C without its GRU (more than the "
                         f"seeds' spread, {_fmt(spread)}). BoardObs shows every rating so far, so a policy without "
                         f"memory can still act on the history there.")
        else:
            lines.append(f"* With GridObs the observation shows only the last answer, yet the recurrent policy scores "
                         f"{_fmt(gap)} against the same A2C without its GRU, "
                         + ("within" if abs(gap) <= spread else "below it by more than")
                         + f" the seeds' spread ({_fmt(spread)}): here memory does not show its worth.")
    if "wider_board_n20_trpo" in t.index:
        lines.append("* The thesis's figure 22 marks its ACKTR row as recurrent while the caption of figure 17 "
                     "says \"ACKTR and without RNN\"; we compare it with TRPO (no recurrence), the natural-gradient "
                     "method SB3 ships in ACKTR's place, and say so in every row.")
    return "\n".join(lines)


#: Final and pooled means closer than this (points of return) are read as the same.
SAME_WITHIN = 1.0


def metrics_tables(table: pd.DataFrame) -> str:
    """Notebook 06: every row of figures 22-23 under both definitions, and how many reach the thesis."""
    rows = table.dropna(subset=["thesis_mean"])
    above = rows[rows.pooled_mean >= rows.thesis_mean]
    final_above = rows[rows.final_mean >= rows.thesis_mean]
    lines = [f"* Under the thesis's own definition, {len(above)} of {len(rows)} rows are at or above the thesis's "
             f"mean; with the final policy averaged over seeds, {len(final_above)} of {len(rows)}."]
    below = rows[rows.pooled_mean < rows.thesis_mean]
    if len(below):
        lines.append("* Below the thesis: " + "; ".join(
            f"{r.experiment} {_fmt(r.pooled_mean)} vs {_fmt(r.thesis_mean, 0)}" for r in below.itertuples()) + ".")
    difference = (rows.final_mean - rows.pooled_mean).round(1)
    single = rows.pooled_checkpoints.fillna(1).astype(int) <= 1
    close = ~single & (difference.abs() < SAME_WITHIN)
    lower = int((~single & ~close & (difference > 0)).sum())
    higher = int((~single & ~close & (difference < 0)).sum())
    parts = []
    if lower:
        parts.append(f"lower for {lower} (runs still improving: earlier checkpoints pull the mean down)")
    if higher:
        parts.append(f"higher for {higher} (the last policy fell back from an earlier, better one)")
    if close.any():
        parts.append(f"within {SAME_WITHIN:g} point of it for {int(close.sum())} (the checkpoints average what "
                     "the last one scores)")
    if single.any():
        parts.append(f"the same for {int(single.sum())} (only the last checkpoint fits in the budget, so both read "
                     "one policy)")
    lines.append(f"* The two definitions differ by at most {_fmt(difference.abs().max())} points; of {len(rows)} rows, "
                 f"the thesis's (earlier checkpoints pooled with the last) is " + "; ".join(parts) + ".")
    return "\n".join(lines)


def higher_dimensions(table: pd.DataFrame) -> str:
    """Notebook 07: 3D-8D, flat and factored actions, against the exact optimum or the rule baseline."""
    lines = []
    for row in table.to_dict("records"):
        reached = (f"first reached 95% after {_fmt(row['steps_to_95pct'] / 1e6, 2)} M steps (median of "
                   f"{row['seeds_95pct']} seeds)" if not math.isnan(row["steps_to_95pct"])
                   else "did not reach 95% of it")
        lines.append(f"* **{row['label']}**{' (thesis fig. ' + row['figure'] + ')' if row['figure'] else ''}: "
                     f"{_fmt(row['mean'])} ± {_fmt(row['sd_seeds'])} over {row['seeds']} seeds after "
                     f"{_fmt(row['timesteps'] / 1e6)} M env steps ({row['thesis_iterations']:,} thesis iterations), "
                     f"{_fmt(row['pct_of_reference'])}% of the {row['reference']} {_fmt(row['reference_value'])}; "
                     f"{reached}.")
    return "\n".join(lines)


def flat_algorithms(table: pd.DataFrame) -> str:
    """Notebook 07: the thesis's A2C against recurrent PPO with the same flat actions, per dimension
    (rows ``{d}d_wider_grid_n20`` and ``{d}d_flat_ppo_n20`` of the dimension table)."""
    rows = table.set_index("experiment")
    lines = []
    for dims in sorted(table.dims.unique()):
        a2c, ppo = f"{dims}d_wider_grid_n20", f"{dims}d_flat_ppo_n20"
        if a2c not in rows.index or ppo not in rows.index:
            continue
        a, p = rows.loc[a2c], rows.loc[ppo]
        gap = p.pct_of_reference - a.pct_of_reference
        verdict = ("higher" if p.ci_low > a.ci_high else "lower" if p.ci_high < a.ci_low
                   else "not separated by the 95% intervals")
        lines.append(f"* **{dims}D, flat actions**: recurrent PPO {_fmt(p.pct_of_reference)}% of the {p.reference} after "
                     f"{_fmt(p.timesteps / 1e6)} M env steps against the thesis's A2C {_fmt(a.pct_of_reference)}% after "
                     f"{_fmt(a.timesteps / 1e6)} M ({'+' if gap >= 0 else ''}{_fmt(gap)} points; {verdict}).")
    if lines:
        lines.append("* The policy, the observation and the flat action space are the same in both rows; only the "
                     "update differs (PPO: several clipped epochs per rollout, Adam, GAE; A2C: one RMSprop step).")
    return "\n".join(lines)


def noisy_users(table: pd.DataFrame) -> str:
    """Notebook 07: the learned agent vs the Bayes-filter greedy baseline for noisy users."""
    lines = []
    for dims, group in table.groupby("dims", sort=True):
        parts = [f"p = {r['noise']:g}: agent {_fmt(r['agent_mean'])} ± {_fmt(r['agent_sd_seeds'])}"
                 + (f" after {r['timesteps'] / 1e6:.1f} M env steps" if "timesteps" in r else "")
                 + f" vs Bayes filter {_fmt(r['bayes_mean'])} ({r['verdict']})" for r in group.to_dict("records")]
        lines.append(f"* **{dims}D** (deterministic user's optimum {_fmt(group.optimum_deterministic.iloc[0])}, "
                     f"an upper bound at every p): " + "; ".join(parts) + ".")
    if table.verdict.str.contains("one seed").any():
        lines.append("* With one seed there is no interval to compare with: the profile is too small for a verdict.")
        return "\n".join(lines)
    wins = table[table.verdict == "agent beats Bayes filter"]
    ties = table[table.verdict.str.startswith("undecided")]
    if len(wins):
        where = ", ".join(f"{r.dims}D p = {r.noise:g}" for r in wins.itertuples())
        lines.append(f"* The learned agent beats the Bayes filter at {where}.")
    elif len(ties):
        where = ", ".join(f"{r.dims}D p = {r.noise:g}" for r in ties.itertuples())
        gap = (ties.bayes_mean - ties.agent_mean).abs()
        lower = "lower" if (ties.agent_mean < ties.bayes_mean).all() else "away"
        low, high = _fmt(gap.min()), _fmt(gap.max())
        spread = low if low == high else f"{low}-{high}"
        lines.append(f"* At {where} the agent's 95% interval over {int(ties.seeds.min())} seeds still covers the Bayes "
                     f"filter's mean, though the agent's mean is {spread} {lower}: that many "
                     f"seeds cannot separate them there. The agent beats the filter nowhere.")
    else:
        lines.append("* The Bayes filter, which knows the noise model, beats the learned agent at every noise level.")
    return "\n".join(lines)


def reproducibility(table: pd.DataFrame, *, kernels: str, seeds: int) -> str:
    """Notebook 06: a run retrained with other CPU kernels, against the original, the interval of the mean over
    ``seeds`` seeds and the interval in which one fresh seed lands."""
    from musicrec.seeds import share_inside_interval_of_the_mean

    def side(inside, low, high, what):
        if inside is None or pd.isna(inside):
            return f"no {what} (one seed)"
        return f"{'inside' if inside else 'outside'} {what} ({_fmt(low, 2)}-{_fmt(high, 2)})"

    lines = []
    for row in table.to_dict("records"):
        same = "byte-identical" if row["metrics_identical"] else "not identical"
        lines.append(f"* **{row['experiment']}, seed {row['seed']}**, retrained with torch's {kernels} kernels: "
                     f"metrics {same}; final mean {_fmt(row['rerun_mean'], 2)} against {_fmt(row['original_mean'], 2)}, "
                     + side(row["rerun_inside_ci"], row["ci_low"], row["ci_high"],
                            "the 95% interval of the mean over seeds")
                     + ", " + side(row["rerun_inside_seed_interval"], row["seed_interval_low"],
                                   row["seed_interval_high"], "the 95% interval of one fresh seed") + ".")
    together = table[table.reruns > 1].drop_duplicates("experiment") if "reruns" in table else table.iloc[:0]
    for row in together.to_dict("records"):
        lines.append(f"* **{row['experiment']}, the {row['reruns']} retrained seeds together**: mean "
                     f"{_fmt(row['reruns_mean'], 2)} against the original seeds' {_fmt(row['original_seeds_mean'], 2)}, "
                     + side(row["reruns_inside_rerun_interval"], row["rerun_mean_interval_low"],
                            row["rerun_mean_interval_high"], f"the 95% interval of a rerun's mean over "
                                                             f"{row['reruns']} seeds") + ".")
    any_differs = not table.metrics_identical.all()
    # the retrained seeds' mean where there are several, else each seed on its own
    if len(together):
        beyond = (together.reruns_inside_rerun_interval == False).any()  # noqa: E712  (True, False or None)
        judged = "the retrained seeds' mean lands outside the interval in which a rerun's mean lands"
        strays = int((table.rerun_inside_seed_interval == False).sum())  # noqa: E712
        subject = ("Their mean lands where a fresh draw's mean would"
                   + (f" ({strays} of {len(table)} retrained seeds outside the interval of one fresh seed, "
                      "as one seed in 20 is by chance alone)" if strays else "") + ".")
    else:
        beyond = (table.rerun_inside_seed_interval == False).any()  # noqa: E712
        judged = "the rerun above lands outside even the interval in which one fresh seed lands"
        subject = "It lands where a fresh seed would."
    beyond_the_mean = (table.rerun_inside_ci == False).any()  # noqa: E712
    share = 100 * share_inside_interval_of_the_mean(seeds)
    if beyond:
        across = (f"Across CPUs they are not reproducible within their seeds' spread: {judged}, so the other "
                  "kernels changed more than a new draw of the seeds would; read a row's digits as one "
                  "machine's, and only differences well beyond its interval as findings.")
    elif any_differs:
        mean_note = (" A retrained seed outside the interval of the mean is no contradiction: that interval "
                     "bounds the mean over seeds, not where one retrained seed lands." if beyond_the_mean else "")
        across = ("Across CPUs the bits differ, and a seed retrained on other kernels is a fresh draw of that "
                  f"seed's training. {subject}" + mean_note + " Read each row as its "
                  f"mean ± its 95% interval, not as one machine's digits. A whole rerun's mean over {seeds} fresh "
                  f"seeds would land inside the interval of the mean only about {share:.0f}% of the time; "
                  "`make compare` judges it by the interval of a rerun's mean, where it lands 95% of the time.")
    else:
        across = ("Here the other kernels gave the same bits as well; on other CPUs the floats may still "
                  "differ, so read each row as its mean ± its 95% interval.")
    lines.append("* So: the code, the seeds and the configs are fixed and every run's cache key holds a fingerprint "
                 "of the code that computes it, which makes results bit-reproducible on one machine. " + across)
    return "\n".join(lines)
