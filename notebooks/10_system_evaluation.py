# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 10 · The whole recommender: a trained grid agent searching a corpus for a target song
#
# Reproduces the thesis's section 6 ([rynegardh2019], figure 32, table 1): the songs are placed on the feature
# grid by their tagger features (layer 3 of `MSD_vgg`, PCA to as many dimensions as the grid has features), a
# trained grid agent (notebook 07: WiderTopTarget, Bullseye, GridObs, n = 20) starts at the
# centre and searches for a target song for 21 steps, and each visited position plays a song. The thesis's
# person listened to 10 songs per genre (4 hours) and rated each played song against the target; table 1 gives
# the mean absolute difference (MAD) between their ratings and the *ideal user's* (the grid environment's own
# rating of the position, which the agent is trained on and sees).
#
# Here **every song is a target**, on two corpora (notebook 08): the synthetic one and the real-audio one. A
# corpus needs at least as many songs as the grid has cells, so the default profile uses the thesis's 5 levels
# per feature on a **3-D grid** (125 cells) for both: the 200 synthetic songs and the 265 real clips would leave
# most of the 4-D grid's 625 cells empty (the full profile runs the 4-D grid on the 1,000-song synthetic corpus).
# The main agent has factored actions (one level per feature per step, recurrent PPO); the thesis's flat actions
# (recurrent A2C) are evaluated beside it. Three simulated listeners stand in for the person:
#
# * **perceptual**: rates each played song 0-4 by its distance to the target in the full 128-D layer-3 space (the
#   layer the grid's PCA is computed from), binned at the grid user's percentiles; it hears the very space the
#   system searches, so the evaluation is partly circular;
# * **genre-aware**: the same, one rating point more for a song of the target's genre;
# * **independent**: the same rule in a representation the system never searches: the 50 tag probabilities of a
#   second tagger trained on other data (`MTT_musicnn`, MagnaTagATune).
#
# Beyond table 1 we report how fast the target cell, a rating 4, a song of the target's genre and the target song
# are reached, the share of played songs in the target's genre and how often a song repeats, and we try the
# thesis's two proposals: **(a)** play distinct songs near the position instead of repeating one (§6.2) and
# **(b)** match approximately in the grid's space, then re-rank the k nearest songs in the full layer (§7.3).
#
# Code: `musicrec/system/` (song grid, playback rules, evaluation, the diagram), `musicrec/users/perceptual.py`
# (the listener and its assumptions), `musicrec/experiments/system.py`; sentences from `musicrec/prose/system.py`;
# budgets in `musicrec/configs/profiles/system.yml`.

# %% tags=["parameters"]
profile = "default"           # smoke | default | full: budgets in musicrec/configs/profiles/system.yml
device = "cpu"                # torch device of the agent and the tagger (cpu, cuda or auto)
figures_dir = "figures"       # figures and CSV tables are written here (root-relative or absolute)
runs_dir = "runs"             # cached runs (corpus features, grid agents, this evaluation) live here
dataset = "synthetic,real"    # corpora evaluated side by side, comma-separated: synthetic, real, gtzan
gtzan_root = None             # folder of a GTZAN copy (genres/, genres_original/ or the genre folders)

# %% tags=["injected-parameters"]
# Parameters
profile = "default"
device = "cpu"


# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display
from tqdm import TqdmWarning

from musicrec.data.corpus import genre_order
from musicrec.data.gtzan import parse_datasets
from musicrec.experiments import system
from musicrec.features.space import PCAModel
from musicrec.plotting import setup_style
from musicrec.prose import system as prose
from musicrec.reporting import FigureWriter
from musicrec.system.diagram import draw_system
from musicrec.system.evaluation import feature_columns, rating4_share
from musicrec.system.playback import LABELS
from musicrec.system.song_grid import grid_occupancy

warnings.filterwarnings("ignore", category=TqdmWarning)
setup_style()
pd.set_option("display.width", 200)
pd.set_option("display.max_columns", 30)
out = FigureWriter(figures_dir, "10")
budget = system.load_budget(profile)
datasets = parse_datasets(dataset)
print("budget:", budget)
studies = {}
for name in datasets:
    start = time.perf_counter()
    study = system.system_study(budget, runs_dir, device=device, progress=False, dataset=name,
                                root=gtzan_root if name == "gtzan" else None)
    studies[name] = study
    pca = PCAModel.load(study.feature_run.file("pca.npz"))
    print(f"{name}: evaluation run {study.run.path.name} ready in {time.perf_counter() - start:.1f} s\n"
          f"  searches {len(study.frame)} songs of the {name} corpus on the PCA of run "
          f"{study.feature_run.kind}/{study.feature_run.path.name} (layer {study.layer}, {pca.n_components}-D, "
          f"{pca.explained_variance_ratio.sum():.0%} of the variance), grid {study.grid.levels}^{study.grid.dims} = "
          f"{study.grid.n_cells} cells; agent {system.trained_agent(study.metrics)}, seeds {study.seeds}")

# %% [markdown]
# ## The system (thesis figure 32)
# What runs, from audio to the listeners' ratings; the listeners' ratings are recorded and never fed to the agent.

# %%
first = next(iter(studies.values()))
fig, ax = plt.subplots(figsize=(13, 6.2))
draw_system(ax, tagger="MSD_vgg", layer=first.layer, width=len(feature_columns(first.frame, first.layer)[0]),
            dims=first.grid.dims, levels=first.grid.levels, agent=system.trained_agent(first.metrics),
            listeners=["perceptual", "genre-aware", "independent (MTT_musicnn tags)"])
ax.set_title("The combined system evaluated here (after the thesis's figure 32)")
out.figure(fig, "system_diagram")
plt.show()

# %% [markdown]
# ## Songs on the grid
# Each PCA feature is cut into 5 levels at its quantiles (20% of the songs per level and feature); a song's cell is
# its levels. A position plays its representative song: the song of the cell nearest to the cell's centre or, for
# an **empty cell**, the song nearest to that centre among the songs of the nearest occupied cells in grid steps.

# %%
occupancy = pd.concat([grid_occupancy(s.grid).assign(corpus=n) for n, s in studies.items()])
out.table(occupancy, "grid_occupancy")
display(occupancy.pivot_table(index="quantity", columns="corpus", values="value", sort=False).round(3))
for name, s in studies.items():
    expected = s.grid.n_cells * (1 - 1 / s.grid.n_cells) ** s.grid.n_songs
    occ = s.grid.occupancy()
    print(f"{name}: {occ['empty_cells']} of {occ['cells']} cells empty; {s.grid.n_songs} songs dropped uniformly "
          f"into {s.grid.n_cells} cells would leave {expected:.0f} empty on average")

# %% [markdown]
# ## The agents on the grid alone
# Notebook 07's final evaluation of each seed over every target cell of the grid (Bullseye: 10 per step with
# rating 4, at most 210).

# %%
quality = out.table(system.agent_quality(first), "agents_on_grid")
display(quality.round(3))

# %% [markdown]
# ## Table 1: ideal user vs listeners, per genre
# Thesis's playback rule, the trained agent, all seeds pooled. `mad`: mean absolute difference between the ideal
# user's rating of the position and the perceptual listener's rating of the played song (thesis: `thesis_mad`,
# for the genres it has); `_genre_aware`, `_independent`: the same for the other listeners; `reached_*`: share of
# targets where it happened; `steps_to_*`: mean step (1-21) among those.

# %%
tables = []
for name, s in studies.items():
    genres = genre_order(s.frame.genre.unique())
    t = system.genre_table(s.metrics, genres=genres).merge(system.seed_spread(s.metrics), on=["playback", "genre"],
                                                            how="left")
    spread_ind = system.seed_spread(s.metrics, "mad_independent")
    tables.append(t.merge(spread_ind, on=["playback", "genre"], how="left").assign(corpus=name))
table = pd.concat(tables, ignore_index=True)
out.table(table, "system_per_genre")
thesis_rule = table[table.playback == "thesis"].drop(columns="playback")
for name in studies:
    print(name)
    display(thesis_rule[thesis_rule.corpus == name].drop(columns="corpus").set_index("genre").round(2))

# %% [markdown]
# ### Figure: table 1 beside ours
# Bars: MAD per genre of the thesis's person (grey, where the thesis has the genre) and of our listeners; error
# bars: ± std over the agent's seeds of the genre mean.

# %%
fig, axes = plt.subplots(len(studies), 1, figsize=(12, 4.4 * len(studies)), squeeze=False)
for ax, (name, s) in zip(axes[:, 0], studies.items()):
    main = thesis_rule[thesis_rule.corpus == name].set_index("genre").drop(index="all")
    bars = pd.DataFrame({"thesis (a person, 10 songs per genre)": main.thesis_mad,
                         "perceptual listener (hears the searched layer)": main["mad"],
                         "genre-aware listener": main.mad_genre_aware,
                         "independent listener (MTT tags)": main.mad_independent})
    bars.plot.bar(ax=ax, width=0.85, color=["0.55", "C0", "C1", "C2"])
    x = np.arange(len(main))
    width = 0.85 / 4
    if len(s.seeds) > 1:
        ax.errorbar(x - width / 2, main["mad"], yerr=main["mad_sd_seeds"], fmt="none", ecolor="k", capsize=3, lw=1)
        ax.errorbar(x + 3 * width / 2, main.mad_independent, yerr=main.mad_independent_sd_seeds, fmt="none",
                    ecolor="k", capsize=3, lw=1, label="± std over agent seeds")
    ax.set(title=f"{name} corpus: mean |ideal - listener| per genre (thesis table 1)", xlabel="genre of the target song",
           ylabel="MAD (rating points, 0-4)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.tick_params(axis="x", rotation=0)
fig.tight_layout()
out.figure(fig, "system_per_genre")
plt.show()

# %% [markdown]
# ### Figure: the whole per-genre table as a heatmap
# Thesis's playback rule; colours are scaled per column (darker = larger), numbers are the values.

# %%
columns = {"mad": "MAD", "mad_genre_aware": "MAD genre-aware", "mad_independent": "MAD independent",
           "rating": "perceptual rating", "rating_independent": "independent rating", "ideal_rating": "ideal rating",
           "reached_cell": "share target cell reached", "steps_to_top": "steps to rating 4",
           "steps_to_genre": "steps to genre", "genre_fraction": "share in genre",
           "reached_song": "share target song played", "repeat_rate": "repeat rate", "distinct_songs": "distinct songs"}
fig, axes = plt.subplots(len(studies), 1, figsize=(14, 5.2 * len(studies)), squeeze=False)
for ax, (name, s) in zip(axes[:, 0], studies.items()):
    genres = genre_order(s.frame.genre.unique())
    heat = thesis_rule[thesis_rule.corpus == name].set_index("genre").loc[genres + ["all"], list(columns)].rename(columns=columns)
    scaled = (heat - heat.min()) / (heat.max() - heat.min()).replace(0, 1)
    sns.heatmap(scaled, annot=heat, fmt=".2f", cmap="Blues", cbar=False, ax=ax, annot_kws={"fontsize": 8})
    ax.set(title=f"{name} corpus: per-genre table, {system.trained_agent(s.metrics)}, thesis's rule, "
                 f"{len(s.seeds)} seed(s) pooled", xlabel="metric", ylabel="genre of the target song")
    ax.tick_params(axis="x", rotation=30)
fig.tight_layout()
out.figure(fig, "per_genre_heatmap")
plt.show()

# %% [markdown]
# ## The two improvements
# **(a) distinct**: a position the agent stays on plays its next-nearest songs not yet played. **(b) rerank**: the
# k songs nearest to the position in the grid's space are re-ranked by their full-layer distance to the song the
# perceptual listener rated highest so far, once that rating is 4. The agent's positions, and hence the ideal
# user's ratings, are the same under every rule. (b) re-ranks in the layer the perceptual listener hears; the
# independent listener does not hear it. Two reference searchers separate the agent from the features: the rule
# baseline of notebook 02, and an oracle that names the target cell at every step (the grid's ceiling for any
# searcher: whatever it plays is decided by the features and the playback rule alone).

# %%
summary = pd.concat([system.agents_summary(s.metrics).assign(corpus=n) for n, s in studies.items()], ignore_index=True)
out.table(summary, "system_playbacks")
display(summary.set_index(["corpus", "agent", "playback"])[
    ["mad", "mad_independent", "rating", "rating_independent", "genre_fraction", "reached_song", "repeat_rate",
     "distinct_songs"]].round(3))

# %%
panels = [("rating", "perceptual rating\nof the played songs (0-4)"),
          ("rating_independent", "independent rating\nof the played songs (0-4)"),
          ("genre_fraction", "share of played songs\nin the target's genre"),
          ("repeat_rate", "share of steps repeating\nthe song before")]
order = list(budget["playbacks"])
fig, axes = plt.subplots(len(studies), len(panels), figsize=(18, 5.0 * len(studies)), squeeze=False)
for r, (name, s) in enumerate(studies.items()):
    genres = genre_order(s.frame.genre.unique())
    part = table[table.corpus == name]
    for ax, (column, title) in zip(axes[r], panels):
        values = part.pivot_table(index="genre", columns="playback", values=column, sort=False).loc[genres + ["all"], order]
        sns.heatmap(values, annot=True, fmt=".2f", cmap="viridis", cbar=False, ax=ax, annot_kws={"fontsize": 8})
        ax.set(title=f"{name}: {title}", xlabel="playback rule", ylabel="genre of the target song" if ax is axes[r, 0] else "")
        ax.set_xticklabels(["thesis", "(a)", "(b)", "(a)+(b)"][: len(order)], rotation=0)
fig.suptitle(f"Playback rules: thesis = the cell's song; {LABELS['distinct']}; {LABELS['rerank']} "
             f"(k = {budget['rerank_k']})", y=1.0)
fig.tight_layout()
out.figure(fig, "improvements")
plt.show()

# %% [markdown]
# ## One search drawn over the 2-D PCA plot
# The songs of the first corpus on their first two PCA features (grey lines: the quantile edges of the levels),
# and the songs one search played under the thesis's rule and under (a)+(b), zoomed on them. The target is a
# typical song of the first genre of the corpus: the median number of steps to its cell among the targets of that
# genre whose cell was reached. A label lists the steps that played the song (only the first and last of a run of
# consecutive steps), and labels are pushed apart so they do not overprint.

# %%
s = first
agent = system.trained_agent(s.metrics)
traces = s.traces()
seed0 = s.seeds[0]
genres = genre_order(s.frame.genre.unique())
song = system.example_target(s.metrics, genre="hiphop" if "hiphop" in genres else genres[0], seed=seed0)
print(f"target song {song} ({s.frame.track_id[song]}, {s.frame.genre[song]}), cell {s.grid.song_cells[song]} "
      f"= levels {s.grid.song_levels[song].tolist()}")
palette = dict(zip(genres, sns.color_palette("tab10", len(genres))))
pcs = feature_columns(s.frame, s.layer)[1][:2]
xy = s.frame[pcs].to_numpy()
rules = ["thesis", "distinct_rerank"]
played_by = {rule: np.concatenate([[traces[(agent, seed0, rule)]["start_songs"][song]],
                                   traces[(agent, seed0, rule)]["songs"][song]]) for rule in rules}
shown = xy[np.concatenate([*played_by.values(), [song]])]
pad = np.maximum(1.0, 0.2 * (shown.max(axis=0) - shown.min(axis=0)))
low, high = shown.min(axis=0) - pad, shown.max(axis=0) + pad


def steps_label(steps):
    """'2-21' for a run of consecutive steps, '2,5,9' otherwise (at most four numbers)."""
    steps = list(steps)
    if len(steps) > 2 and steps == list(range(steps[0], steps[-1] + 1)):
        return f"{steps[0]}-{steps[-1]}"
    return ",".join(map(str, steps[:4])) + ("..." if len(steps) > 4 else "")


fig, axes = plt.subplots(1, 2, figsize=(15, 6.5), sharex=True, sharey=True)
for ax, rule in zip(axes, rules):
    played = played_by[rule]
    ax.grid(False)
    for genre in genres:
        mask = s.frame.genre.to_numpy() == genre
        ax.scatter(xy[mask, 0], xy[mask, 1], s=10, color=palette[genre], alpha=0.35, label=genre)
    for edge in s.grid.edges[0]:
        ax.axvline(edge, color="0.6", lw=0.6)
    for edge in s.grid.edges[1]:
        ax.axhline(edge, color="0.6", lw=0.6)
    path = xy[played]
    ax.plot(path[:, 0], path[:, 1], "-", color="k", lw=0.8, alpha=0.6)
    ax.scatter(path[1:, 0], path[1:, 1], s=70, c=np.arange(1, len(path)), cmap="plasma", edgecolor="k", zorder=3,
               label="played songs (colour = step)")
    placed = []
    for played_song in dict.fromkeys(played[1:]):
        when = steps_label(np.flatnonzero(played == played_song))
        anchor = xy[played_song]
        offset = np.array([6.0, 6.0])
        while any(np.abs(anchor - p).max() < 0.04 * (high - low).max() and abs(o[1] - offset[1]) < 11 for p, o in placed):
            offset[1] += 11
        placed.append((anchor, offset.copy()))
        ax.annotate(when, tuple(anchor), xytext=tuple(offset), textcoords="offset points", fontsize=8,
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))
    ax.scatter(*path[0], marker="s", s=120, facecolor="none", edgecolor="k", lw=1.5, zorder=4, label="start song (step 0)")
    ax.scatter(*xy[song], marker="*", s=400, color="gold", edgecolor="k", zorder=5, label="target song")
    ax.set(title=f"{LABELS[rule]}: {len(set(played[1:]))} distinct songs in 21 steps",
           xlabel=f"{pcs[0]} (PCA feature 1 of layer 3)", ylabel=f"{pcs[1]} (PCA feature 2 of layer 3)",
           xlim=(low[0], high[0]), ylim=(low[1], high[1]))
axes[1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=1.0)
fig.suptitle(f"One search for target song {s.frame.track_id[song]} ({agent}, seed {seed0}); zoomed on the songs it played")
fig.tight_layout()
out.figure(fig, "trajectory")
plt.show()


# %% [markdown]
# ## How many steps until the target?
# Over every target song and agent seed. Left: the share of targets with the first rating 4 from the ideal user at
# each step, per searcher (what the agents are rewarded for, and what the thesis means by "finding the target";
# its "three to six steps" is drawn as a band). Right: the share of targets reached by each step, for the main
# agent: the target's cell, a rating 4, a song of the target's genre, and the target song itself.

# %%
def first_steps(values):
    """Share of targets per first step 1..21, and 'never' (22)."""
    return values.fillna(22).astype(int).value_counts(normalize=True).reindex(range(1, 23), fill_value=0)


steps_tables = []
fig, axes = plt.subplots(len(studies), 2, figsize=(15, 4.6 * len(studies)), squeeze=False)
for (left, right), (name, s) in zip(axes, studies.items()):
    agent = system.trained_agent(s.metrics)
    thesis_rows = s.metrics[s.metrics.playback == "thesis"]
    searchers = list(dict.fromkeys(thesis_rows.agent))
    to_top = pd.DataFrame({n: first_steps(thesis_rows[thesis_rows.agent == n].steps_to_top) for n in searchers})
    rows = s.metrics[s.metrics.agent == agent]
    series = {"target cell": rows[rows.playback == "thesis"].steps_to_cell,
              "rating 4 (ideal user)": rows[rows.playback == "thesis"].steps_to_top,
              "song of the target's genre, thesis's rule": rows[rows.playback == "thesis"].steps_to_genre,
              "song of the target's genre, (a)+(b)": rows[rows.playback == "distinct_rerank"].steps_to_genre,
              "target song itself, thesis's rule": rows[rows.playback == "thesis"].steps_to_song,
              "target song itself, (a)+(b)": rows[rows.playback == "distinct_rerank"].steps_to_song}
    reached = pd.DataFrame({n: first_steps(v) for n, v in series.items()})
    steps_tables.append(pd.concat([to_top.add_prefix("rating 4: "), reached.add_prefix(f"{agent}: ")], axis=1)
                        .rename(index={22: "never"}).rename_axis("step").reset_index().assign(corpus=name))
    left.axvspan(3, 6, color="0.9", label="thesis: target found after 3-6 steps")
    for n in [n for n in searchers if n != system.ORACLE]:
        shares = to_top[n]
        left.plot(np.arange(1, 22), shares.iloc[:21], marker="o", ms=3, label=f"{n} (never: {100 * shares.iloc[21]:.0f}%)")
    left.set(title=f"{name}: first step with rating 4 from the ideal user", xlabel="step (1-21)",
             ylabel="share of target songs", xticks=[1, 5, 10, 15, 21])
    left.legend(fontsize=7, loc="upper right")
    for n in series:
        right.step(np.arange(0, 22), np.concatenate([[0], reached[n].iloc[:21].cumsum()]), where="post", label=n)
    right.set(title=f"{name}: reached by step t, {agent}", xlabel="step t (1-21)", ylabel="share of target songs reached",
              xticks=[1, 5, 10, 15, 21], ylim=(0, 1))
    right.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
fig.tight_layout()
out.table(pd.concat(steps_tables, ignore_index=True), "steps_to_target")
out.figure(fig, "steps_to_target")
plt.show()

# %% [markdown]
# ## Comparison with the thesis
# Written by `musicrec.prose.system` from the tables above, per corpus; the thesis's numbers are the constants of
# its table 1 (`THESIS_TABLE1`) and the quotes of its section 6.

# %%
texts, overview = [], {}
for name, s in studies.items():
    agent = system.trained_agent(s.metrics)
    per = thesis_rule[thesis_rule.corpus == name].set_index("genre")
    summ = summary[summary.corpus == name].set_index(["agent", "playback"])
    texts.append(f"### {name} corpus\n" + prose.system_comparison(
        per, summ, system.reach_table(s.metrics), agent=agent, corpus=name, songs=len(s.frame), seeds=len(s.seeds),
        dims=s.grid.dims, levels=s.grid.levels, rating4_share=rating4_share(s.env),
        rerank_k=int(budget["rerank_k"]), rule=system.RULE, oracle=system.ORACLE))
    row = summ.loc[(agent, "thesis")]
    overview[name] = {"songs": len(s.frame), "cells": s.grid.n_cells, "labels": s.frame.genre.nunique(),
                      "mad": row.mad, "mad_independent": row.mad_independent, "genre_fraction": row.genre_fraction,
                      "reached_song": row.reached_song}
if len(overview) > 1:
    texts.append(prose.corpora_sentences(pd.DataFrame(overview).T))
display(Markdown("\n\n".join(texts)))
