"""Sentences of notebooks 11-13 built from their tables (a small table in, sentences out).

Every function takes the table a notebook displays (or a few numbers of it) and returns Markdown; none
holds a measured number. The tables are those of :mod:`musicrec.experiments.latent` and
:mod:`musicrec.experiments.propagation`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from musicrec.errors import ParameterError
from musicrec.prose import bullets, require_columns


def _pm(mean: float, std: float, digits: int = 1) -> str:
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


# -- notebook 11 ------------------------------------------------------------------------------------
def vae_sentences(summary: pd.DataFrame, ratios: Mapping[str, Mapping[str, float]], *, beta: float) -> str:
    """The comparison of notebook 11's latent spaces.

    Parameters
    ----------
    summary : pd.DataFrame
        :func:`musicrec.experiments.latent.vae_summary` (``space, latent_dim, beta, active_dims,
        genre_purity, taste_distance``; the reference rows have ``beta`` NaN).
    ratios : mapping
        ``"d=<latent_dim>"`` -> feature -> validation MSE / variance at the profile's ``beta`` (1: not encoded).
    beta : float
        The profile's beta (the latent notebooks 12-13 use).
    """
    require_columns(summary, ["space", "latent_dim", "beta", "active_dims", "genre_purity", "taste_distance"], "summary")
    vaes = summary[summary.beta.notna()]
    references = summary[summary.beta.isna()].set_index("space")
    lines = []
    for value, group in vaes.groupby("beta", sort=True):
        dims = ", ".join(f"{int(r.active_dims)} of d = {int(r.latent_dim)}" for r in group.itertuples())
        lines.append(f"**β = {value:g}** keeps {dims} active dimensions (KL > 0.05 nats)"
                     + (" (the profile's choice for notebooks 12-13)" if value == beta else "") + ".")
    for name, by_feature in ratios.items():
        ordered = sorted(by_feature.items(), key=lambda item: item[1])
        best = ", ".join(f"{feature} {ratio:.2f}" for feature, ratio in ordered[:4])
        worst = ", ".join(f"{feature} {ratio:.2f}" for feature, ratio in ordered[-3:])
        lines.append(f"**{name}, β = {beta:g}**: best encoded (validation error / variance) {best}; least "
                     f"encoded {worst}.")
    chosen = vaes[vaes.beta == beta]
    if len(references) and len(chosen):
        raw = references.iloc[0]
        purity = ", ".join(f"{r.genre_purity:.3f} (d = {int(r.latent_dim)})" for r in chosen.itertuples())
        distance = ", ".join(f"{r.taste_distance:.3f} (d = {int(r.latent_dim)})" for r in chosen.itertuples())
        relation = ("below" if (chosen.genre_purity < raw.genre_purity).all() else
                    "above" if (chosen.genre_purity > raw.genre_purity).all() else "around")
        lines.append(f"**Neighbours**: the 4 nearest latent neighbours share the track's genre at a rate of "
                     f"{purity}, {relation} the {raw.genre_purity:.3f} of the {references.index[0]}; their mean "
                     f"distance in the listeners' taste features is {distance}, against "
                     f"{references.taste_distance.iloc[-1]:.3f} for neighbours found in the taste features "
                     "themselves (the smallest possible).")
    return bullets(lines)


# -- notebook 12 ------------------------------------------------------------------------------------
def _row(table: pd.DataFrame, agent_id: str, *, listener: str = "fixed", actions: str = "knn",
         lam: float | None = None) -> pd.Series | None:
    rows = table[(table.agent_id == agent_id) & (table.listener == listener) & (table.action_space == actions)]
    if lam is not None:
        rows = rows[np.isclose(rows["lambda"], lam)]
    return rows.iloc[0] if len(rows) else None


def _pct(row: pd.Series | None) -> str:
    return "not run" if row is None else f"{_pm(row.pct_of_ceiling, row.pct_of_ceiling_std)}%"


def ceiling_sentences(table: pd.DataFrame, *, width: int, wider: Mapping[str, float] | None = None) -> str:
    """How the planner bounds every policy: its value against the myopic oracle's, and the share of sessions
    any policy beat it on (``wider``: optional ``{"width": w, "gain_pct": g}``, the extra expected reward a
    beam of width ``w`` finds, in % of the planner's)."""
    require_columns(table, ["agent_id", "listener", "action_space", "lambda", "mean_expected", "above_ceiling"], "table")
    lines = []
    for (listener, actions, lam), group in table.groupby(["listener", "action_space", "lambda"], sort=False):
        planner = group[group.agent_id == "planner"]
        oracle = group[group.agent_id == "oracle"]
        if not len(planner) or not len(oracle):
            continue
        ratio = planner.mean_expected.iloc[0] / oracle.mean_expected.iloc[0]
        lines.append(f"{listener.replace('_', ' ')} listener, {actions}, λ = {lam:g}: the planner's expected session "
                     f"reward is {planner.mean_expected.iloc[0]:.1f}, {ratio:.2f} times the myopic oracle's "
                     f"({oracle.mean_expected.iloc[0]:.1f}).")
    others = table[table.agent_id != "planner"]
    worst = others.above_ceiling.max()
    if np.isfinite(worst) and worst > 0:
        row = others.loc[others.above_ceiling.idxmax()]
        lines.append(f"**The planner is not a ceiling everywhere**: {row.agent} beat it on {100 * worst:.1f}% of its "
                     f"sessions ({row.action_space}, λ = {row['lambda']:g}).")
    else:
        lines.append(f"No policy's expected reward exceeded the planner's (beam width {width}) on any evaluation "
                     "session, so it bounds every agent here.")
    if wider:
        lines.append(f"A beam of width {wider['width']:g} finds {wider['gain_pct']:.2f}% more expected reward on the "
                     "sessions it was tried on, so the planner is close to, not at, the optimum of the kNN walk.")
    return bullets(lines)


def agent_sentences(table: pd.DataFrame, *, lambdas: Sequence[float]) -> str:
    """The agents of notebook 12 as % of the planner ceiling, against the baselines."""
    require_columns(table, ["agent_id", "listener", "action_space", "lambda", "pct_of_ceiling", "pct_of_ceiling_std",
                     "like_rate"], "table")
    lam0 = float(lambdas[0])
    lines = []
    for lam in lambdas:
        ppo, oracle, rnd = (_row(table, a, lam=lam) for a in ("ppo", "oracle", "random"))
        if ppo is None:
            continue
        relation = ""
        if oracle is not None:
            relation = (f", {'above' if ppo.pct_of_ceiling > oracle.pct_of_ceiling else 'below'} the myopic oracle "
                        f"({oracle.pct_of_ceiling:.1f}%)")
        lines.append(f"**PPO on the kNN candidates, λ = {lam:g}**: {_pct(ppo)} of the planner ceiling{relation}; "
                     f"random neighbour {_pct(rnd)}; like rate {ppo.like_rate:.3f}.")
    mlp, documents = _row(table, "ppo_mlp", lam=lam0), _row(table, "ppo_documents", lam=lam0)
    if documents is not None:
        lines.append(f"**The documents' design** (state = the current latent only, a flat MLP over the 4 slots): "
                     f"{_pct(documents)}; with the candidates' latents and the last feedback in its observation the "
                     f"flat MLP reaches {_pct(mlp)}, the candidate-scoring network {_pct(_row(table, 'ppo', lam=lam0))}.")
    continuous = [(label, _row(table, agent, actions="continuous", lam=lam0))
                  for agent, label in (("ppo", "PPO"), ("ddpg", "DDPG"), ("greedy", "greedy"))]
    shown = [f"{label} {_pct(row)}" for label, row in continuous if row is not None]
    if shown:
        lines.append("**Continuous actions** (a point of the latent, mapped to the nearest unplayed track; the "
                     "ceiling there may pick any unplayed track): " + ", ".join(shown) + ".")
    return bullets(lines)


def reward_sentences(table: pd.DataFrame, *, lam: float) -> str:
    """PPO trained on the documents' other rewards, evaluated (like every policy) on ``listened + λ liked``."""
    base = _row(table, "ppo", lam=lam)
    rows = [(label, _row(table, agent, lam=lam)) for agent, label in
            (("ppo_liked_or_completed", "+1 liked or completed, 0 skipped (README)"),
             ("ppo_skip_penalty", "minus a penalty for an immediate skip (blog)"))]
    rows = [(label, row) for label, row in rows if row is not None]
    if base is None or not rows:
        return ""
    parts = []
    for label, row in rows:
        gap = row.pct_of_ceiling - base.pct_of_ceiling
        spread = max(row.pct_of_ceiling_std, base.pct_of_ceiling_std)
        verdict = "within the seeds' spread of" if abs(gap) <= spread else ("above" if gap > 0 else "below")
        parts.append(f"trained on {label}: {_pct(row)} of the ceiling, {verdict} PPO trained on "
                     f"listened + λ · liked ({_pct(base)}); like rate {row.like_rate:.3f} vs {base.like_rate:.3f}")
    return bullets([f"**Rewards** (λ = {lam:g}, all scored by the expected listened + λ · liked): " + "; ".join(parts)
                     + "."])


def _after_gap(first: pd.Series, second: pd.Series) -> tuple[float, float]:
    """``second`` minus ``first`` in expected reward per recommendation after the mood change, and the seeds'
    spread of that difference (the two stds combined)."""
    return (second.expected_after - first.expected_after,
            float(np.hypot(first.expected_after_std, second.expected_after_std)))


def mood_sentences(table: pd.DataFrame, *, lam: float) -> str:
    """The agents of the mood change before and after it, with the planner's values: the memory test, and
    what knowing the hidden mood is worth to the learner (PPO told it)."""
    rows = {agent: _row(table, agent, listener="mood_change", lam=lam)
            for agent in ("ppo", "recurrent_ppo", "ppo_history", "ppo_told_mood", "planner", "oracle", "random")}
    ppo, recurrent, planner = rows["ppo"], rows["recurrent_ppo"], rows["planner"]
    if ppo is None or recurrent is None or planner is None:
        return ""
    lines = [f"**The ceiling after the change**: the planner earns {planner.expected_after:.2f} expected reward per "
             f"recommendation after the mood change ({planner.expected_before:.2f} before); the myopic oracle "
             + (f"{rows['oracle'].expected_after:.2f}" if rows["oracle"] is not None else "was not run")
             + (f", random {rows['random'].expected_after:.2f}" if rows["random"] is not None else "") + "."]
    labels = {"ppo": "PPO", "recurrent_ppo": "RecurrentPPO", "ppo_history": "PPO with the last 4 tracks stacked",
              "ppo_told_mood": "PPO told the mood"}
    for agent, label in labels.items():
        row = rows[agent]
        if row is None:
            continue
        lines.append(f"**{label}**: {_pm(row.expected_before, row.expected_before_std, 2)} per recommendation before "
                     f"the change, {_pm(row.expected_after, row.expected_after_std, 2)} after "
                     f"({100 * row.expected_after / planner.expected_after:.1f}% of the planner's after the change); "
                     f"{_pct(row)} of the ceiling over the session.")
    told = rows["ppo_told_mood"]
    if told is not None:
        gap, spread = _after_gap(ppo, told)
        if gap <= spread:
            where = (f"within the seeds' spread ({spread:.2f})" if gap >= -spread
                     else f"below it by more than the seeds' spread ({spread:.2f})")
            worth = (f"told the hidden mood, PPO earns {gap:+.2f} per recommendation after the change against PPO "
                     f"without it, {where}: knowing that the taste changed does not help this learner recover, "
                     "so what holds it back is finding its way to the new taste's tracks through the candidates "
                     "(which the planner does), and a memory that only inferred the mood would not help it either")
        else:
            worth = (f"told the hidden mood, PPO earns {gap:+.2f} per recommendation after the change against PPO "
                     f"without it, more than the seeds' spread ({spread:.2f}): a memory that infers the mood from "
                     "the feedback has about that much to win")
        lines.append(f"**What the mood is worth to the learner**: {worth}.")
    verdicts = []
    for agent in ("recurrent_ppo", "ppo_history"):
        if rows[agent] is None:
            continue
        gap, spread = _after_gap(ppo, rows[agent])
        side = "ahead of" if gap > 0 else "behind"
        verdicts.append(f"{labels[agent]} is {abs(gap):.2f} per recommendation {side} PPO after the change, "
                        + ("within" if abs(gap) <= spread else "beyond") + f" the seeds' spread ({spread:.2f})")
    lines.append(f"**Memory**: {'; '.join(verdicts)}.")
    return bullets(lines)


def memory_sentences(table: pd.DataFrame, *, lam: float) -> str:
    """The memory test (mood change, any track, likes only): the two rules that know the moods (without and
    with memory), the ceiling after the change, and PPO, RecurrentPPO and PPO told the mood before and after
    it; whether the LSTM recovers any of what knowing the mood is worth to the learner."""
    def row(agent):
        return _row(table, agent, listener="mood_change", actions="continuous", lam=lam)

    planner, rule, bayes = row("planner"), row("switch_on_dislike"), row("mood_filter")
    ppo, recurrent, told = row("ppo_likes"), row("recurrent_ppo_likes"), row("ppo_told_mood_likes")
    if planner is None or ppo is None or recurrent is None:
        return ""
    lines = [f"**The ceiling after the change**: the planner earns {planner.expected_after:.2f} expected reward per "
             f"recommendation after the mood change ({planner.expected_before:.2f} before): a listener that can "
             "still be served well."]
    if rule is not None and bayes is not None:
        gap, spread = _after_gap(rule, bayes)
        lines.append(f"**What memory is worth to a rule that knows the moods**: switching mood on a dislike (no "
                     f"memory) {_pct(rule)} of the ceiling, {rule.expected_after:.2f} per recommendation after the "
                     f"change; the Bayes filter of the mood (the same knowledge, with memory) {_pct(bayes)}, "
                     f"{bayes.expected_after:.2f} after the change ({gap:+.2f}"
                     + (f", beyond the seeds' spread of {spread:.2f}" if abs(gap) > spread else
                        f", within the seeds' spread of {spread:.2f}") + "): with only likes observed, one "
                     "dislike does not tell a changed mood from a miss, and several do.")
    labels = {"ppo_likes": "PPO", "recurrent_ppo_likes": "RecurrentPPO", "ppo_told_mood_likes": "PPO told the mood"}
    for agent, label in labels.items():
        each = row(agent)
        if each is None:
            continue
        lines.append(f"**{label}**: {_pm(each.expected_before, each.expected_before_std, 2)} per recommendation "
                     f"before the change, {_pm(each.expected_after, each.expected_after_std, 2)} after; "
                     f"{_pct(each)} of the ceiling over the session.")
    verdict = []
    if told is not None:
        worth, spread = _after_gap(ppo, told)
        verdict.append(f"told the hidden mood, PPO earns {worth:+.2f} per recommendation after the change against "
                       "PPO without it, " + ("beyond" if worth > spread else "within")
                       + f" the seeds' spread ({spread:.2f})")
    gained, spread = _after_gap(ppo, recurrent)
    verdict.append(f"RecurrentPPO is {abs(gained):.2f} {'ahead of' if gained > 0 else 'behind'} PPO after the "
                   "change, " + ("beyond" if abs(gained) > spread else "within") + f" the seeds' spread ({spread:.2f})")
    if told is not None and worth > spread and gained > spread:
        verdict.append(f"so the LSTM recovers about {100 * gained / worth:.0f}% of what knowing the mood is worth "
                       "to this learner")
    elif told is not None and worth > spread:
        verdict.append("so knowing the mood would help this learner, and its LSTM does not recover that at "
                       "this budget: the memory test separates the rules, not the learners")
    lines.append("**Memory in the learners**: " + "; ".join(verdict) + ".")
    if rule is not None:
        best = max((a for a in labels if row(a) is not None), key=lambda a: row(a).pct_of_ceiling)
        if row(best).pct_of_ceiling < rule.pct_of_ceiling:
            lines.append(f"**Where the learners stand**: the best of them, {labels[best]} at {_pct(row(best))} of "
                         f"the ceiling, stays below even the rule without memory ({_pct(rule)}), which plays "
                         "each mood's best tracks by name: a policy that names a point of the latent space and gets "
                         "its nearest unplayed track must first learn where those tracks lie, and that, more than "
                         "memory, is what these budgets leave unlearned.")
    return bullets(lines)


def curve_flattened(curves: Sequence[pd.DataFrame], *, column: str = "return", tail: float = 0.25) -> dict:
    """Whether learning curves have flattened: the mean over runs of ``column`` in the last ``tail`` of the
    steps against the ``tail`` before it. Returns ``{"last", "before", "change_pct"}``."""
    if not curves:
        raise ParameterError("no learning curves given")
    last, before = [], []
    for curve in curves:
        n = len(curve)
        k = max(1, int(round(tail * n)))
        values = curve[column].to_numpy(dtype=float)
        last.append(values[n - k:].mean())
        before.append(values[max(0, n - 2 * k):n - k].mean() if n > k else np.nan)
    last_mean, before_mean = float(np.mean(last)), float(np.nanmean(before))
    return {"last": last_mean, "before": before_mean,
            "change_pct": 100 * (last_mean - before_mean) / abs(before_mean) if before_mean else np.nan}


def flattening_sentence(label: str, flat: Mapping[str, float], *, steps: int, threshold_pct: float = 5.0) -> str:
    """One sentence on :func:`curve_flattened`'s result for an agent trained ``steps`` steps."""
    change = flat["change_pct"]
    state = ("has flattened" if abs(change) <= threshold_pct else "is still rising" if change > 0 else "is falling")
    return (f"**{label}** ({steps:,} steps): the training return of the last quarter is {flat['last']:.1f} against "
            f"{flat['before']:.1f} in the quarter before ({change:+.1f}%): its curve {state} "
            f"(threshold ±{threshold_pct:g}%).")


# -- notebook 13 ------------------------------------------------------------------------------------
def propagation_sentences(errors: pd.DataFrame, gap: pd.DataFrame) -> str:
    """Notebook 13's findings: the propagation error grid and the offline-to-online gap.

    ``errors``: :func:`musicrec.experiments.propagation.error_table` (``method`` clusters / knn_latent /
    global_mean, ``n_clusters, decay_rate, rmse, spearman, top_overlap``). ``gap``:
    :func:`musicrec.experiments.propagation.gap_table` (``policy, mean_reward, std_reward,
    simulator_predicted, pct_of_ceiling``), its rows named as there.
    """
    require_columns(errors, ["method", "n_clusters", "decay_rate", "rmse", "spearman", "top_overlap"], "errors")
    require_columns(gap, ["policy", "mean_reward", "std_reward", "simulator_predicted", "pct_of_ceiling"], "gap")
    rule = errors[errors.method == "clusters"]
    knn = errors[errors.method == "knn_latent"].set_index("n_clusters")
    overall = errors[errors.method == "global_mean"].set_index("n_clusters")
    lines = []
    best = rule.loc[rule.rmse.idxmin()]
    lines.append(f"**RMSE**: the documents' rule is best with {int(best.n_clusters)} clusters and decay rate "
                 f"{best.decay_rate:g} ({best.rmse:.3f}); with the same observed tracks the kNN reference scores "
                 f"{knn.rmse.get(best.n_clusters, np.nan):.3f} and one global mean "
                 f"{overall.rmse.get(best.n_clusters, np.nan):.3f}. With {int(rule.n_clusters.min())} clusters the "
                 f"rule's best RMSE is {rule[rule.n_clusters == rule.n_clusters.min()].rmse.min():.3f}.")
    best_rank = rule.loc[rule.spearman.idxmax()]
    below = [int(c) for c, group in rule.groupby("n_clusters") if group.spearman.max() < knn.spearman.get(c, np.inf)]
    negative = sorted({int(c) for c in rule[rule.spearman < 0].n_clusters})
    lines.append(f"**Rank correlation** (Spearman over all unobserved tracks): at most {best_rank.spearman:.3f} "
                 f"({int(best_rank.n_clusters)} clusters, decay rate {best_rank.decay_rate:g}); below the kNN "
                 f"reference ({knn.spearman.min():.3f}-{knn.spearman.max():.3f}) at "
                 f"{len(below)} of {rule.n_clusters.nunique()} cluster counts"
                 + (f", negative for some decay rate at {', '.join(map(str, negative))} clusters" if negative else "")
                 + ". Half the catalog's true reward is near zero, so this coefficient is decided by their order.")
    no_decay = rule[rule.decay_rate == 0].set_index("n_clusters")
    if len(no_decay):
        wins = [int(c) for c in no_decay.index if no_decay.top_overlap[c] >= knn.top_overlap.get(c, np.inf)]
        top = rule.loc[rule.top_overlap.idxmax()]
        lines.append(f"**Top-5% overlap** (are the best tracks found? 0.05 for a random estimate): at most "
                     f"{top.top_overlap:.3f} ({int(top.n_clusters)} clusters, decay rate {top.decay_rate:g}); without "
                     f"decay the rule matches or beats the kNN reference at {len(wins)} of {len(no_decay)} cluster "
                     f"counts{' (' + ', '.join(map(str, wins)) + ')' if wins else ''}.")
        decayed = rule[rule.decay_rate > 0]
        base = no_decay.loc[decayed.n_clusters]
        lower = int((decayed.rmse.to_numpy() < base.rmse.to_numpy()).sum())
        higher = int((decayed.spearman.to_numpy() > base.spearman.to_numpy()).sum())
        best_rate = rule.loc[rule.groupby("n_clusters").top_overlap.idxmax()]
        zero = int((best_rate.decay_rate == 0).sum())
        lines.append(f"**The decay** lowers the RMSE in {lower} of {len(decayed)} (cluster count, rate) cells and "
                     f"raises the Spearman coefficient in {higher}; no decay gives the highest top-5% overlap at "
                     f"{zero} of {len(best_rate)} cluster counts. A decay shrinks estimates towards the near-zero "
                     "typical track, which lowers the squared error without finding the best tracks.")
    rows = gap.set_index("policy")
    online = rows.loc[[p for p in rows.index if "online" in p]].iloc[0] if any("online" in p for p in rows.index) \
        else None
    offline = [p for p in rows.index if "propagated" in p]
    if online is not None and offline:
        off = rows.loc[offline[0]]
        lines.append(f"**Offline-to-online gap**: on the true listener, PPO trained on the propagated simulator "
                     f"earns {_pm(off.mean_reward, off.std_reward)} per session ({off.pct_of_ceiling:.1f}% of the "
                     f"planner ceiling) against {_pm(online.mean_reward, online.std_reward)} "
                     f"({online.pct_of_ceiling:.1f}%) for PPO trained on the listener; its own simulator predicts "
                     f"{off.simulator_predicted:.1f}, "
                     + ("less" if off.simulator_predicted < off.mean_reward else "more")
                     + " than it earns, so an offline score of this kind is not an online one.")
    return bullets(lines)


def lambda_sentence(table: pd.DataFrame, *, lambdas: Sequence[float]) -> str:
    """What λ changes for PPO on the kNN candidates: its like rate and % of the ceiling under each λ."""
    rows = [(lam, _row(table, "ppo", lam=lam)) for lam in lambdas]
    rows = [(lam, row) for lam, row in rows if row is not None]
    if len(rows) < 2:
        return ""
    parts = ", ".join(f"λ = {lam:g}: like rate {row.like_rate:.3f}, {_pct(row)} of the ceiling" for lam, row in rows)
    return bullets([f"**λ** (PPO, kNN candidates): {parts}. In this listener listening and liking grow with the "
                     "same affinity, so λ rescales the reward more than it changes which track is best."])
