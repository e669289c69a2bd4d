"""Sentences of notebooks 14-15 built from their tables (a small table in, sentences out).

Every function takes the tables a notebook displays (or a few numbers of them) and returns Markdown; none
holds a measured number. The tables are those of :mod:`musicrec.experiments.sessions`; the paper's numbers
are its constants ``PAPER_SKIP``, ``PAPER_SEQUENCE``, ``PAPER_POSITIONS`` and ``PAPER_COUNTS`` (read from
``data/sources/khan_cui_sessions_*.csv``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from musicrec.errors import ParameterError
from musicrec.prose import bullets, require_columns


def _pct(value: float, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f}%"


def _pm(mean: float, std: float, digits: int = 1) -> str:
    return f"{100 * mean:.{digits}f} ± {100 * std:.{digits}f}%"


def maa_stats(summaries: pd.DataFrame, labels: Mapping[str, str]) -> pd.DataFrame:
    """Test and validation MAA per model, mean and std over seeds (``ddof=1``, as every table of seeds; NaN for
    one seed), indexed by the model's label.

    ``summaries``: :func:`musicrec.experiments.sessions.run_summaries` (``model, seed, val_maa, test_maa``).
    """
    require_columns(summaries, ["model", "val_maa", "test_maa", "train_maa"], "summaries")
    grouped = summaries.groupby("model", sort=False)
    frame = pd.DataFrame({"seeds": grouped.size(), "train_maa": grouped.train_maa.mean(),
                          "val_maa": grouped.val_maa.mean(), "test_maa": grouped.test_maa.mean(),
                          "test_maa_std": grouped.test_maa.std(ddof=1)})
    frame.index = [labels[m] for m in frame.index]
    return frame


# -- notebook 14 -------------------------------------------------------------------------------------
def epochs_phrase(epochs: Mapping[str, int]) -> str:
    """``"at most 30 epochs (SASRec 80)"`` from label -> epoch budget: the commonest budget, then the others."""
    if not epochs:
        return "no neural model"
    values = pd.Series(epochs)
    common = int(values.mode().max())
    others = [f"{label} {int(n)}" for label, n in values.items() if int(n) != common]
    return f"at most {common} epochs" + (f" ({', '.join(others)})" if others else "")


def _convergence(still_improving: Sequence[str]) -> str:
    if still_improving:
        return (f"**Kept epoch = last epoch** (the epoch budget ran out before early stopping) for "
                f"{', '.join(still_improving)}.")
    return ("**Convergence**: every neural model stopped early (its validation MAA had not risen for the "
            "profile's patience) before its epoch budget ran out.")


def skip_sentences(stats: pd.DataFrame, rules: Mapping[str, float], *, labels: Mapping[str, str],
                   paper: pd.DataFrame, best: str, source: str, size: str,
                   losses: Mapping[str, float] | None = None, coincidences: pd.DataFrame | None = None,
                   still_improving: Sequence[str] | None = None) -> str:
    """The comparison of notebook 14 with the paper's table 1.

    Parameters
    ----------
    stats : pd.DataFrame
        :func:`maa_stats` of the skip runs (index: labels).
    rules : mapping
        Label -> test MAA of the rules and references (all-skipped, first-half majority, the oracles, Bayes).
    labels : mapping
        Model key -> label (``sessions.SKIP_MODELS``).
    paper : pd.DataFrame
        ``sessions.PAPER_SKIP`` (``model, paper_test_maa`` in %, ``paper_test_loss``).
    best : str
        The key of the supervised model with the best validation MAA.
    source, size : str
        Where the sessions come from and how many there are (for the first sentence).
    losses : mapping, optional
        Label -> test cross-entropy.
    coincidences : pd.DataFrame, optional
        :func:`musicrec.experiments.sessions.coinciding_scores` (pairs of models whose mean train MAA agree to
        six decimals, with their per-seed values).
    still_improving : sequence of str, optional
        Labels of the models of which some seed kept the last epoch of its budget
        (:func:`musicrec.experiments.sessions.stopped_by_the_budget`); None: not checked.
    """
    require_columns(stats, ["test_maa", "test_maa_std", "val_maa"], "stats")
    paper_maa = paper.set_index("model").paper_test_maa / 100
    means, stds = stats.test_maa, stats.test_maa_std

    def has(*keys):
        return all(k in labels and labels[k] in means.index for k in keys)

    def m(key):
        return means[labels[key]]

    lines = [f"The paper's table 1 is on the real MSSD; ours on **{source}** sessions ({size}), so only the shape "
             "of the results compares. Test MAA, mean ± std over seeds."]
    text = []
    if has("lstm", "lstm_no_skip"):
        text.append(f"**SKIP token**: the standard LSTM goes from {_pm(m('lstm_no_skip'), stds[labels['lstm_no_skip']])} "
                    f"without to {_pm(m('lstm'), stds[labels['lstm']])} with it (paper: "
                    f"{_pct(paper_maa[labels['lstm_no_skip']])} -> {_pct(paper_maa[labels['lstm']])}); without it the "
                    f"LSTM sees only which tracks were played (all-skipped baseline: "
                    f"{_pct(rules['Baseline (predict all skipped)'])}).")
    others = [k for k in ("lstm", "lstm_word2vec", "bigru", "transformer", "bert") if has(k)]
    if others:
        values = means[[labels[k] for k in others]]
        seed_sd = stds[[labels[k] for k in others]].max()
        verdict = ("within the largest seed standard deviation" if values.max() - values.min() <= seed_sd
                   else "more than the largest seed standard deviation")
        in_paper = [labels[k] for k in others if labels[k] in paper_maa.index]
        text.append(f"**Architectures with the SKIP token** ({', '.join(labels[k] for k in others)}) span "
                    f"{_pct(values.min())}-{_pct(values.max())}, a range of {100 * (values.max() - values.min()):.2f} "
                    f"points, {verdict} ({100 * seed_sd:.2f} points); the paper's rows among them span "
                    f"{_pct(paper_maa[in_paper].min())}-{_pct(paper_maa[in_paper].max())}.")
    if has("bert_fused"):
        fused, label = m("bert_fused"), labels["bert_fused"]
        versus = f"; our plain BERT encoder {_pct(m('bert'))}" if has("bert") else ""
        versus += f", our Transformer {_pct(m('transformer'))}" if has("transformer") else ""
        text.append(f"**BERT-augmented Transformer** (a fixed pretrained BERT read by every Transformer layer): "
                    f"{_pm(fused, stds[label])} test, {_pct(stats.train_maa[label])} train (paper: "
                    f"{paper.set_index('model').paper_train_maa[label]:.1f}% train, {_pct(paper_maa[label])} test, "
                    f"its worst test row){versus}.")
    best_mean = m(best)
    lift = best_mean - rules["First-half majority"]
    text.append(f"**First-half majority** (every second-half track gets the first half's majority) scores "
                f"{_pct(rules['First-half majority'])}; the best model on validation ({labels[best]}) is "
                f"{100 * abs(lift):.2f} points {'above' if lift >= 0 else 'below'} it on test.")
    oracle = rules.get("Oracle (true p > 0.5)", np.nan)
    bayes = rules.get("Bayes without the listener's identity", np.nan)
    if np.isfinite(oracle):
        sentence = (f"**Oracle gap**: the oracle scores {_pct(oracle)}; {labels[best]} {_pct(best_mean)}, "
                    f"{100 * (oracle - best_mean):.2f} points below it.")
        if np.isfinite(bayes):
            sentence += (f" The predictor that knows the simulator and its listener population but not which "
                         f"listener is playing reaches {_pct(bayes)} ({100 * (oracle - bayes):.2f} points below the "
                         f"oracle): that part of the gap is the listener's hidden skip propensity, taste and mood, "
                         f"which no session log shows. The best model is {100 * (bayes - best_mean):.2f} points "
                         "below that reference.")
        text.append(sentence)
    if has("lstm", "lstm_covariates"):
        text.append(f"**Session covariates** (premium, shuffle, context type; ours, not in the paper): validation "
                    f"{_pct(stats.val_maa[labels['lstm']])} -> {_pct(stats.val_maa[labels['lstm_covariates']])}, "
                    f"test {_pct(m('lstm'))} -> {_pct(m('lstm_covariates'))}.")
    text.append(f"**All-skipped baseline**: {_pct(rules['Baseline (predict all skipped)'])} here vs "
                f"{_pct(paper_maa['Baseline (predict all skipped)'])} in the paper.")
    if has("ddpg", "ddpg_noise"):
        text.append(f"**DDPG**: {_pm(m('ddpg'), stds[labels['ddpg']])} without and "
                    f"{_pm(m('ddpg_noise'), stds[labels['ddpg_noise']])} with the decaying dimension-mask "
                    f"exploration (paper: {_pct(paper_maa[labels['ddpg']])} and "
                    f"{_pct(paper_maa[labels['ddpg_noise']])})"
                    + (f", {_pm(m('ddpg_constant_noise'), stds[labels['ddpg_constant_noise']])} with a constant mask"
                       if has("ddpg_constant_noise") else "")
                    + f"; the better of the paper's two is "
                    f"{100 * (best_mean - max(m('ddpg'), m('ddpg_noise'))):.1f} points below {labels[best]}.")
    if coincidences is not None:
        if len(coincidences):
            parts = [f"{r.first} and {r.second} (means {r.mean_first:.7f} and {r.mean_second:.7f}; per seed "
                     f"{r.per_seed_first} and {r.per_seed_second})" for r in coincidences.itertuples()]
            text.append("**Train MAA equal to six decimals**: " + "; ".join(parts) + ". The per-seed values differ: "
                        "the agreement is one of the means over seeds, not one model copying another.")
        else:
            text.append("**Train MAA equal to six decimals**: no two models' means over seeds agree to six "
                        "decimals.")
    if still_improving is not None:
        text.append(_convergence(still_improving))
    if losses is not None and labels[best] in losses:
        paper_losses = paper.paper_test_loss.dropna()
        text.append(f"**Losses**: {labels[best]}'s test cross-entropy is {losses[labels[best]]:.3f}, the oracle's "
                    f"floor {losses.get('Oracle (true p > 0.5)', np.nan):.3f}; the paper's test losses "
                    f"({paper_losses.min():.3f}-{paper_losses.max():.3f}) are on other data.")
    return lines[0] + "\n\n" + bullets(text)


# -- notebook 15 -------------------------------------------------------------------------------------
def sequence_sentences(stats: pd.DataFrame, table: pd.DataFrame, *, labels: Mapping[str, str],
                       heuristic_labels: Sequence[str], ceiling_label: str, paper: pd.DataFrame,
                       source: str, size: str, by_kind: pd.DataFrame | None = None,
                       selection: pd.DataFrame | None = None, still_improving: Sequence[str] = ()) -> str:
    """The comparison of notebook 15 with the paper's table 2 and what limits the neural models.

    Parameters
    ----------
    stats : pd.DataFrame
        :func:`maa_stats` of the sequence runs (index: labels), DDPG included.
    table : pd.DataFrame
        :func:`musicrec.experiments.sessions.sequence_table` (heuristics, ceiling, models, beam rows).
    labels : mapping
        Model key -> label (``sessions.SEQUENCE_MODELS``).
    heuristic_labels : sequence of str
        The heuristics' labels (the ceiling excluded).
    ceiling_label : str
    paper : pd.DataFrame
        ``sessions.PAPER_SEQUENCE``.
    by_kind : pd.DataFrame, optional
        :func:`musicrec.experiments.sessions.maa_by_session_kind` (simulated data).
    selection : pd.DataFrame, optional
        :func:`musicrec.experiments.sessions.select_learning_rates` (``model, lr, chosen, at_edge``).
    still_improving : sequence of str
        Labels of the models whose kept epoch was their last one.
    """
    require_columns(stats, ["test_maa", "test_maa_std", "train_maa"], "stats")
    require_columns(table, ["model", "test_maa"], "table")
    rows = table.set_index("model")
    paper_rows = paper.set_index("model")
    neural = [labels[k] for k in labels if not k.startswith("ddpg") and labels[k] in stats.index]
    text = []
    ranked = sorted(neural, key=lambda label: -stats.test_maa[label])
    # ">" only where the gap exceeds the larger std over seeds of the two, "≈" where the seeds cannot order them
    chain = ""
    for i, label in enumerate(ranked):
        if i:
            before = ranked[i - 1]
            gap = stats.test_maa[before] - stats.test_maa[label]
            spread = max(stats.test_maa_std[before], stats.test_maa_std[label])
            chain += " > " if gap > spread else " ≈ "
        chain += f"{label} {_pm(stats.test_maa[label], stats.test_maa_std[label])}"
    text.append("**Neural models** (test MAA, mean ± std over seeds; ≈ where the gap is within the larger std): "
                + chain + "; the paper's: " + " > ".join(
                    f"{label} {paper_rows.paper_test_maa[label]:.2f}%" for label in sorted(
                        (label for label in neural if label in paper_rows.index),
                        key=lambda label: -paper_rows.paper_test_maa[label])) + ".")
    best_n = ranked[0] if ranked else None
    present = [label for label in heuristic_labels if label in rows.index]
    if present and best_n is not None:
        best_h = max(present, key=lambda label: rows.test_maa[label])
        gap = stats.test_maa[best_n] - rows.test_maa[best_h]
        verdict = ("at or above" if gap >= 0 else "below")
        spread = stats.test_maa_std[best_n]
        seeds = (f", within {best_n}'s std over seeds ({100 * spread:.2f}): its seeds do not separate the two"
                 if abs(gap) <= spread else (f", beyond its std over seeds ({100 * spread:.2f})"
                                             if np.isfinite(spread) else ""))
        text.append(f"**Best neural model vs the best heuristic**: {best_n} {_pct(stats.test_maa[best_n])} is "
                    f"{verdict} {best_h} ({_pct(rows.test_maa[best_h])}), by {100 * abs(gap):.2f} points{seeds}.")
        transformer = paper_rows.paper_test_maa.get("Transformer", np.nan)
        above = [label for label in neural if 100 * stats.test_maa[label] > transformer]
        text.append(f"**The paper's Transformer figure** ({transformer:g}% test MAA): "
                    + (f"exceeded by {', '.join(above)}." if above else "no neural model of ours exceeds it here."))
    if ceiling_label in rows.index:
        ceiling = rows.test_maa[ceiling_label]
        text.append(f"**Ceiling**: a predictor that knows each session's kind, playlist, offset and listener "
                    f"scores {_pct(ceiling)}; the best neural model reaches "
                    + (f"{100 * stats.test_maa[best_n] / ceiling:.0f}% of it" if best_n else "nothing")
                    + (f", the best heuristic {100 * rows.test_maa[best_h] / ceiling:.0f}%." if present else "."))
    if by_kind is not None and len(by_kind):
        require_columns(by_kind, ["model", "session_kind", "test_maa"], "by_kind")
        kinds = by_kind.pivot(index="model", columns="session_kind", values="test_maa")
        if ceiling_label in kinds.index:
            parts = []
            for kind in kinds.columns:
                column = kinds[kind].drop(index=ceiling_label)
                leader = column.idxmax()
                parts.append(f"{kind}: ceiling {_pct(kinds.loc[ceiling_label, kind])}, best {leader} "
                             f"{_pct(column.max())}")
            text.append("**By session kind**: " + "; ".join(parts) + ".")
        if present and best_n is not None and best_n in kinds.index:
            losing = [kind for kind in kinds.columns if kinds.loc[best_h, kind] > kinds.loc[best_n, kind]]
            if losing:
                sentence = (f"**Where {best_n} loses to {best_h}**: on "
                            + ", ".join(f"{kind} sessions ({_pct(kinds.loc[best_n, kind], 2)} vs "
                                        f"{_pct(kinds.loc[best_h, kind], 2)})" for kind in losing) + ".")
                if "playlist" in losing:
                    train = rows.train_maa.get(best_h, np.nan) if "train_maa" in rows else np.nan
                    sentence += (f" On in-order playlists {best_h} looks up training sessions that played the same "
                                 "playlist and copies what followed the first half's tracks there"
                                 + (f" (its train MAA, {_pct(train)}, shows how much of the training data it "
                                    "holds)" if np.isfinite(train) else "")
                                 + f"; {best_n} must carry each playlist's order in its weights.")
                unordered = [kind for kind in losing if kind != "playlist"]
                if unordered and ceiling_label in kinds.index:
                    sentence += (" On " + " and ".join(f"{kind} sessions" for kind in unordered)
                                 + " the order is random: even the ceiling scores at most "
                                 + _pct(kinds.loc[ceiling_label, unordered].max(), 2)
                                 + ", so the differences there are hundredths of a point.")
                text.append(sentence)
    if selection is not None and len(selection):
        chosen = selection[selection.chosen]
        edges = [labels[m] for m in chosen[chosen.at_edge].model] if "at_edge" in chosen else []
        text.append("**Learning rates chosen on validation**: "
                    + ", ".join(f"{labels[r.model]} {r.lr:g}" for r in chosen.itertuples()) + "; "
                    + (f"still at the edge of the widened grid for {', '.join(edges)}." if edges
                       else "each lies inside its (widened) grid."))
    text.append(_convergence(still_improving))
    train_test = [f"{label} {_pct(stats.train_maa[label])} vs {_pct(stats.test_maa[label])}" for label in neural]
    if train_test and "Transformer" in paper_rows.index:
        text.append(f"**Train vs test MAA** (paper's Transformer {paper_rows.paper_train_maa['Transformer']}% vs "
                    f"{paper_rows.paper_test_maa['Transformer']}%): " + "; ".join(train_test) + ".")
    ddpg = [labels[k] for k in labels if k.startswith("ddpg") and labels[k] in stats.index]
    if ddpg:
        text.append("**DDPG** (full-catalog evaluation): " + "; ".join(
            f"{label} {_pm(stats.test_maa[label], stats.test_maa_std[label], 2)}" for label in ddpg)
            + (f" (paper: {paper_rows.paper_test_maa[ddpg[0]]}% test, starred)" if ddpg[0] in paper_rows.index
               else "") + ".")
    first = (f"The paper's tables 2-4 are on the real MSSD (103K tracks); ours on **{source}** sessions ({size}).")
    return first + "\n\n" + bullets(text)


def exploration_sentences(curves: Mapping[str, Sequence[pd.DataFrame]], labels: Mapping[str, str],
                          references: Mapping[str, float], *, last: int = 5, fixed_action: str | None = None,
                          variants: Mapping[str, str] | Sequence[Mapping[str, str]] | None = None,
                          ceiling: str | None = None,
                          from_fixed_action: Sequence[str] = ()) -> str:
    """The paper's figure 4 question (is noise alone unstable, decayed mask noise smoother and higher?).

    ``curves``: model key -> the ``eval.csv`` of every seed (``timesteps, val_maa``); ``references``: label ->
    validation MAA of a reference policy (random, most popular); ``fixed_action``: the label of a reference
    that is one fixed policy of DDPG's own action space (the last track's embedding), compared apart;
    ``variants``: which key is the ``decaying`` mask, the ``constant`` mask (the paper's "action noise alone")
    and ``none`` (no exploration noise), for the two sentences that test the paper's claims (a list of such
    mappings tests them on each set, e.g. the paper's sizes and a wider DDPG); ``ceiling``: the
    label of a reference that bounds every policy (the oracle), compared apart from the heuristics;
    ``from_fixed_action``: the keys of the variants whose actor starts as the fixed action. Stability
    is the mean absolute change of the validation MAA between consecutive evaluations; the level is the mean
    over the ``last`` evaluations; both averaged over seeds.
    """
    lines = []
    for key, frames in curves.items():
        if not frames:
            continue
        for frame in frames:
            require_columns(frame, ["timesteps", "val_maa"], f"the curve of {key}")
        levels = [f.val_maa.iloc[-last:].mean() for f in frames]
        jitters = [np.abs(np.diff(f.val_maa.to_numpy())).mean() for f in frames]
        peak = np.mean([f.val_maa.max() for f in frames])
        lines.append((key, np.mean(levels), _sd(levels), np.mean(jitters), peak, len(frames), len(frames[0]),
                      int(frames[0].timesteps.iloc[-1]), _sd(jitters)))
    if not lines:
        return ""
    # the budgets are named only where the variants' differ
    budgets = len({line[7] for line in lines}) > 1
    text = [f"**{labels[k]}** ({seeds} seeds, {points} evaluations{f' over {steps:,} env steps' if budgets else ''}): "
            f"last-{last} mean {_pm(level, sd, 2)}, peak {_pct(peak, 2)}, mean step-to-step change "
            f"{100 * jitter:.2f} points" for k, level, sd, jitter, peak, seeds, points, steps, _ in lines]
    text.append("References: " + ", ".join(f"{name} {_pct(value, 2)}" for name, value in references.items()) + ".")
    by_level = max(lines, key=lambda line: line[1])
    by_jitter = min(lines, key=lambda line: line[3])
    text.append(f"Highest final level: {labels[by_level[0]]}; smoothest curve: {labels[by_jitter[0]]}.")
    heuristics = {name: value for name, value in references.items() if name not in (fixed_action, ceiling)}
    if heuristics:
        top_name, top_value = max(heuristics.items(), key=lambda item: item[1])
        if by_level[1] < top_value:
            text.append(f"Every variant ends below {top_name} ({_pct(top_value, 2)}): none of the {len(lines)} "
                        "learns a policy better than that heuristic here.")
        else:
            text.append(f"{labels[by_level[0]]} ends above {top_name} ({_pct(top_value, 2)}).")
    if ceiling in references:
        text.append(f"{ceiling} bounds every policy: the best variant ends "
                    f"{100 * (references[ceiling] - by_level[1]):.2f} points below it.")
    stats = {line[0]: line[1:] for line in lines}
    for roles in ([variants] if isinstance(variants, Mapping) else list(variants or [])):
        text.extend(_exploration_claims(stats, labels, dict(roles)))
    if fixed_action in references:
        fixed = references[fixed_action]
        if by_level[1] < fixed:
            times = (f"{fixed / by_level[1]:.0f} times the best variant's final level" if by_level[1] > 0
                     else "while the best variant ends at zero")
            text.append(f"{fixed_action} scores {_pct(fixed, 2)}, {times}: the actor can express a far better "
                        "policy than the one DDPG learns, so what falls short is the learning (critic and "
                        "exploration), not the action space.")
        else:
            text.append(f"{labels[by_level[0]]} ends at or above {fixed_action} ({_pct(fixed, 2)}), one fixed "
                        "policy of its own action space.")
    for key in [key for key in from_fixed_action if curves.get(key)]:
        frames = curves[key]
        mean_curve = np.mean([f.val_maa.to_numpy() for f in frames], axis=0)
        start = mean_curve[0]
        level = np.mean([f.val_maa.iloc[-last:].mean() for f in frames])
        below = np.nonzero(mean_curve < start / 2)[0]
        fall = (f"falls below half of that by {int(frames[0].timesteps.iloc[below[0]]):,} steps"
                if len(below) else "never falls below half of that")
        verdict = ("DDPG's updates move the actor away from the better policy it starts from"
                   if level < start else "DDPG's updates keep or improve the policy it starts from")
        text.append(f"{labels[key]} starts at {_pct(start, 2)} (the fixed action), {fall} and ends "
                    f"at {_pct(level, 2)}: {verdict}.")
    return bullets(text)


def _sd(values: Sequence[float]) -> float:
    """Std over seeds (ddof 1, as the tables); 0 for one seed."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def _beyond(gap: float, spread: float) -> str:
    """A claim that ``gap`` > 0: ``holds``, ``does not hold``, or within ``spread`` (the seeds' std) not told."""
    if abs(gap) <= spread:
        return "cannot be told from seed noise"
    return "holds" if gap > 0 else "does not hold"


def _exploration_claims(stats: Mapping[str, tuple], labels: Mapping[str, str], variants: Mapping[str, str]
                        ) -> list[str]:
    """The paper's two claims of figure 4 checked on ``stats`` (key -> level, level std, change, peak, seeds,
    points, steps, change std): a difference of level or of step-to-step change within the larger std over
    seeds is not read as one."""
    unknown = sorted(set(variants) - {"decaying", "constant", "none"})
    if unknown:
        raise ParameterError(f"variants takes decaying, constant and none, not {unknown}")
    present = {role: key for role, key in variants.items() if key in stats}
    text = []
    if {"decaying", "constant"} <= set(present):
        decaying, constant = stats[present["decaying"]], stats[present["constant"]]
        verdict = _beyond(constant[2] - decaying[2], max(constant[-1], decaying[-1]))
        text.append(f"The paper's \"noise alone is very unstable\": the constant mask's curve "
                    f"({labels[present['constant']]}) changes by {100 * constant[2]:.2f} points from one evaluation "
                    f"to the next, the decaying mask's ({labels[present['decaying']]}) by {100 * decaying[2]:.2f} "
                    f"(largest std over seeds {100 * max(constant[-1], decaying[-1]):.2f}): "
                    + {"holds": "it holds here.", "does not hold": "it does not hold here.",
                       "cannot be told from seed noise": "the seeds cannot tell."}[verdict])
    if {"decaying", "none"} <= set(present):
        decaying, none = stats[present["decaying"]], stats[present["none"]]
        gap = decaying[0] - none[0]
        spread = max(decaying[1], none[1])
        smoother = _beyond(none[2] - decaying[2], max(decaying[-1], none[-1]))
        higher = _beyond(gap, spread)
        text.append(f"The paper's \"decayed mask smoother and higher than no noise\": step-to-step change "
                    f"{100 * decaying[2]:.2f} vs {100 * none[2]:.2f} points (largest std over seeds "
                    f"{100 * max(decaying[-1], none[-1]):.2f}), final level {_pct(decaying[0], 2)} vs "
                    f"{_pct(none[0], 2)} ({labels[present['decaying']]} vs {labels[present['none']]}): smoother "
                    f"{smoother}; higher {higher} (gap {100 * gap:+.2f} points, largest std over seeds "
                    f"{100 * spread:.2f}).")
    return text
