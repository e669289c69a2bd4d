"""Sentences of notebook 10: the whole recommender against the thesis's section 6 and table 1."""

from __future__ import annotations

import numpy as np
import pandas as pd

from musicrec.errors import ParameterError
from musicrec.prose.features import CORPUS_NAMES, join_names, need_columns
from musicrec.system.evaluation import THESIS_TABLE1

def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _corr(a: pd.Series, b: pd.Series) -> float:
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def table1_sentences(per_genre: pd.DataFrame, *, corpus: str) -> str:
    """MAD per genre against the thesis's table 1, for each listener.

    ``per_genre``: index genre (an ``all`` row allowed), columns ``mad``, and optionally ``mad_genre_aware``,
    ``mad_independent``. Genres outside the thesis's ten are compared only with each other.
    """
    need_columns(per_genre, ["mad"], "per-genre")
    rows = per_genre.drop(index="all", errors="ignore")
    listeners = [c for c in ("mad", "mad_genre_aware", "mad_independent") if c in rows.columns]
    names = {"mad": "perceptual listener (hears the layer the grid was made from)",
             "mad_genre_aware": "genre-aware listener", "mad_independent": "independent listener (second tagger's tags)"}
    shared = [g for g in rows.index if g in THESIS_TABLE1]
    thesis = pd.Series({g: THESIS_TABLE1[g] for g in shared})
    lines = []
    for column in listeners:
        values = rows[column]
        text = (f"* **{names[column]}**: MAD {values.min():.2f}-{values.max():.2f} over the {len(rows)} labels of the "
                f"{CORPUS_NAMES.get(corpus, corpus)} (mean {values.mean():.2f}; largest for {values.idxmax()}, smallest "
                f"for {values.idxmin()})")
        if len(shared) >= 5:  # a correlation over fewer genres says little
            text += (f"; correlation with the thesis's table 1 over the {len(shared)} shared genres: "
                     f"{_corr(thesis, values[shared]):.2f}")
        elif shared:
            text += "; shared with table 1: " + ", ".join(f"{g} {values[g]:.2f} (thesis {THESIS_TABLE1[g]:.2f})"
                                                        for g in shared)
        lines.append(text + ".")
    if shared:
        table1 = pd.Series(THESIS_TABLE1)
        lines.append(f"* The thesis's person: {table1.min():.2f}-{table1.max():.2f} over its {len(table1)} genres (mean "
                     f"{table1.mean():.2f}), largest for {table1.idxmax()} ({table1.max():.2f}: \"if a song was not "
                     f"classical music when the target was, the rating was almost always 0\"), smallest for "
                     f"{table1.idxmin()} ({table1.min():.2f}).")
    return "\n".join(lines)


def listener_sentences(summary: pd.DataFrame, *, agent: str) -> str:
    """What the listener who does not hear the searched space says about the playback rules.

    ``summary``: index (agent, playback), columns ``rating``, ``rating_independent``, ``mad``, ``mad_independent``.
    """
    need_columns(summary, ["rating", "rating_independent", "mad", "mad_independent"], "summary")
    rows = summary.loc[agent]
    if "thesis" not in rows.index:
        raise ParameterError("the summary needs the 'thesis' playback rule")
    base = rows.loc["thesis"]
    parts = []
    for rule in [r for r in rows.index if r != "thesis"]:
        r = rows.loc[rule]
        parts.append(f"{rule}: perceptual {r.rating - base.rating:+.2f}, independent "
                     f"{r.rating_independent - base.rating_independent:+.2f}")
    return ("* **Listener ratings against the thesis's playback rule** (change of the mean rating of the played "
            "songs): " + "; ".join(parts) + ". The re-ranking rules (b) re-rank in the very layer the perceptual "
            "listener hears; the independent listener's change says how much of that gain survives a listener who "
            "judges with another representation.")


def system_comparison(per_genre: pd.DataFrame, summary: pd.DataFrame, reach: pd.DataFrame, *, agent: str,
                      corpus: str, songs: int, seeds: int, dims: int, levels: int, rating4_share: float,
                      rerank_k: int, rule: str, oracle: str) -> str:
    """The comparison of notebook 10 with the thesis's section 6, as Markdown.

    Parameters
    ----------
    per_genre : pd.DataFrame
        The trained agent's per-genre table under the thesis's playback rule (index genre, an ``all`` row):
        ``mad``, ``mad_genre_aware``, ``mad_independent``, ``steps_to_genre``, ``genre_fraction``,
        ``steps_to_top``, ``reached_cell``, ``rating``, ``repeat_rate``, ``distinct_songs``, ``reached_genre``,
        ``reached_song``.
    summary : pd.DataFrame
        Index (agent, playback): the ``all`` rows of every agent and rule (same columns).
    reach : pd.DataFrame
        Index agent: ``share`` (targets with a rating 4 within the episode), ``mean`` and ``median`` step.
    """
    need_columns(per_genre, ["mad", "steps_to_genre", "genre_fraction", "steps_to_top"], "per-genre")
    need_columns(reach, ["share", "mean", "median"], "reach")
    genres = per_genre.drop(index="all", errors="ignore")
    mine = summary.loc[agent]
    rule_row, oracle_row = summary.loc[(rule, "thesis")], summary.loc[(oracle, "thesis")]
    cells = levels ** dims
    fastest = genres.steps_to_genre.dropna().idxmin() if genres.steps_to_genre.notna().any() else "none"
    lines = [f"Numbers from the cells above: {songs} songs of the {CORPUS_NAMES.get(corpus, corpus)} on the "
             f"{levels}^{dims} = {cells}-cell grid ({songs / cells:.1f} songs per cell), {seeds} seed(s) of the trained "
             f"agent `{agent}`.", "", table1_sentences(per_genre, corpus=corpus)]
    lines.append(
        f"* **Why our MAD cannot reach the thesis's extremes.** The listeners rate by percentiles of their own "
        f"distances, so for every target the same share of the corpus rates 4 whatever its genre; the grid user "
        f"rates 4 on {_pct(rating4_share)} of the {cells} positions for a target (WiderTopTarget in {dims}-D).")
    lines.append(
        f"* **Genres.** The thesis found hip-hop fastest (\"often already at the third step another hiphop song\") "
        f"and classical hardest. Here a song of the target's genre comes first for **{fastest}** (mean step "
        f"{genres.steps_to_genre.min():.1f}); the largest share of played songs in the target's genre is "
        f"**{genres.genre_fraction.idxmax()}**'s ({genres.genre_fraction.max():.2f}), the slowest first rating 4 "
        f"**{genres.steps_to_top.idxmax()}**'s ({genres.steps_to_top.max():.1f} steps).")
    r = reach.loc[agent]
    lines.append(
        f"* **Finding the target.** The agent gets a first rating 4 for {_pct(r['share'])} of the targets, after "
        f"{r['mean']:.1f} steps on average (median {r['median']:.0f}; the thesis: \"three to six steps\"); the rule "
        f"baseline of notebook 02 for {_pct(reach.loc[rule, 'share'])} after {reach.loc[rule, 'mean']:.1f} steps.")
    lines.append(
        f"* **The target cell** is reached for {_pct(mine.loc['thesis', 'reached_cell'])} of the targets (rule baseline "
        f"{_pct(rule_row.reached_cell)}): WiderTopTarget rewards every position rated 4, and the search stops on the "
        f"first one it finds. The oracle standing on the target cell shows what the grid's features can give: "
        f"perceptual rating {oracle_row.rating:.2f} (agent {mine.loc['thesis', 'rating']:.2f}), "
        f"{_pct(oracle_row.genre_fraction)} in genre (agent {_pct(mine.loc['thesis', 'genre_fraction'])}), "
        f"MAD {oracle_row.mad:.2f}.")
    lines.append(
        f"* **Repeats** (the thesis's complaint, §6.2): under its rule {_pct(mine.loc['thesis', 'repeat_rate'])} of the "
        f"steps replay the song before ({mine.loc['thesis', 'distinct_songs']:.1f} distinct songs in 21 steps); "
        f"(a) plays {mine.loc['distinct', 'distinct_songs']:.0f} distinct songs, reaches a song of the target's genre "
        f"for {_pct(mine.loc['distinct', 'reached_genre'])} of the targets instead of "
        f"{_pct(mine.loc['thesis', 'reached_genre'])} and the target song itself for "
        f"{_pct(mine.loc['distinct', 'reached_song'])} instead of {_pct(mine.loc['thesis', 'reached_song'])}.")
    lines.append(
        f"* **(b), re-ranking the {rerank_k} songs nearest in the grid's space by the full layer**: perceptual rating "
        f"{mine.loc['thesis', 'rating']:.2f} → {mine.loc['rerank', 'rating']:.2f}; (a) + (b): "
        f"{mine.loc['distinct_rerank', 'rating']:.2f}, target song played for {_pct(mine.loc['distinct_rerank', 'reached_song'])}.")
    if "rating_independent" in summary.columns:
        lines.append(listener_sentences(summary, agent=agent))
    return "\n".join(lines)


def corpora_sentences(overview: pd.DataFrame) -> str:
    """The two corpora side by side. ``overview``: index corpus, columns ``songs``, ``cells``, ``mad``,
    ``mad_independent``, ``genre_fraction``, ``reached_song``, ``rating_independent`` (the trained agent under
    the thesis's rule)."""
    need_columns(overview, ["songs", "cells", "mad", "mad_independent", "genre_fraction", "reached_song"], "overview")
    parts = [f"{CORPUS_NAMES.get(c, c)}: {int(r.songs)} songs on {int(r.cells)} cells, MAD perceptual {r.mad:.2f} / "
             f"independent {r.mad_independent:.2f}, {_pct(r.genre_fraction)} of the played songs in the target's "
             f"genre, target song played for {_pct(r.reached_song)}" for c, r in overview.iterrows()]
    higher = overview.genre_fraction.idxmax()
    return ("* **Both corpora** (trained agent, thesis's rule): " + "; ".join(parts) + f". The share in genre is "
            f"higher on the {CORPUS_NAMES.get(higher, higher)}; it depends on how many labels share the grid "
            f"({join_names([f'{CORPUS_NAMES.get(c, c)}: chance {1 / n:.2f}' for c, n in overview.get('labels', pd.Series(dtype=int)).items()])}).")
