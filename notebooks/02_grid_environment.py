# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · The feature-grid environment, its exact optimum and a rule baseline
#
# Reproduces the environment of the thesis *"Music recommendations with deep learning"*
# ([rynegardh2019], section 4.2): a simulated user prefers one combination of feature levels, the
# **target**, among the `5**d` positions of a grid; from the centre, an agent names one position per step
# for 21 steps and hears back a **rating** (0-4, a percentile bin of the Manhattan distance to the target)
# and whether it came **closer**. The thesis judged its agents by the mean return over every target
# (figures 22-23) but never computed what the best possible policy earns. Here we compute it exactly (the
# Bayes-optimal expected return, by search over belief states) and set a simple rule-based policy and the
# thesis's best agents beside it.
#
# Code: `musicrec/users/grid.py` (user, ratings), `musicrec/envs/grid.py` (gymnasium env, batched numpy core,
# evaluation over all targets), `musicrec/envs/grid_vec.py` (SB3 `VecEnv`), `musicrec/agents/grid_optimum.py`
# (exact optimum), `musicrec/agents/grid_rule.py` (rule baseline), `musicrec/experiments/grid_references.py`
# (cached runs); budgets in `musicrec/configs/profiles/grid_environment.yml`. Throughput:
# `benchmarks/grid_env.py`.

# %% tags=["parameters"]
profile = "default"      # smoke | default | full: budgets in musicrec/configs/profiles/grid_environment.yml
device = "cpu"           # unused here (no neural network); every notebook takes it
figures_dir = "figures"  # figures and CSV tables are written here (root-relative or absolute)
runs_dir = "runs"        # cached optimum and rule runs live here (root-relative or absolute)

# %% tags=["injected-parameters"]
# Parameters
profile = "default"
device = "cpu"


# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display

from musicrec.experiments import grid_references as refs
from musicrec.plotting import setup_style
from musicrec.prose import grid_environment as prose
from musicrec.profiles import load_profile
from musicrec.reporting import FigureWriter
from musicrec.users.grid import PERCENTILES, grid_geometry

setup_style()
budget = load_profile("grid_environment", profile)
out = FigureWriter(figures_dir, "02")
LEVELS = budget["levels"]
MODES = {"top": "TopTarget", "wider": "WiderTopTarget"}
print("budget:", budget)
print("rating percentiles:", PERCENTILES)

# %% [markdown]
# ## A target and the start (thesis figure 9)
# Each feature (x-axis) has 5 levels (y-axis). The crosses are the levels the user prefers (together: the
# target, here drawn uniformly in 4D); the circles are the start position, the centre, where every episode
# begins.

# %%
geometry4 = grid_geometry(4, LEVELS, "wider")
example = int(np.random.default_rng(9).integers(geometry4.n_positions))
fig, ax = plt.subplots(figsize=(5.5, 3.8))
features = np.arange(1, 5)
ax.scatter(features, geometry4.coords[geometry4.start], s=220, facecolors="none", edgecolors="C0",
           linewidths=2, label="start (centre)")
ax.scatter(features, geometry4.coords[example], marker="x", s=160, c="C3", linewidths=3, label="target")
ax.set(xticks=features, yticks=range(LEVELS), ylim=(-0.5, LEVELS - 0.5), xlabel="feature",
       ylabel="feature level", title=f"Target {tuple(int(c) for c in geometry4.coords[example])} and start in 4D")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
out.figure(fig, "target_and_start")
plt.show()


# %% [markdown]
# ## Rating maps in 2D: TopTarget vs WiderTopTarget
# The rating of every position for four targets (×; ○ = start). The edges are percentiles of the distances
# from *that* target to all 25 positions, so a corner target gets a wider spread of ratings than the centre
# target, whose 25 distances take only five values; the table below says which ratings each rule gives.

# %%
def rating_map(ax, ratings, target_xy, title, start_xy=None):
    """Heatmap of a 2D rating array (rows: feature 1, columns: feature 2) with the target marked."""
    sns.heatmap(ratings, annot=True, fmt="d", vmin=0, vmax=4, cmap="viridis", cbar=False, square=True,
                ax=ax, annot_kws={"fontsize": 8})
    ax.plot(target_xy[1] + 0.5, target_xy[0] + 0.5, "x", color="red", ms=14, mew=3)
    if start_xy is not None:
        ax.plot(start_xy[1] + 0.5, start_xy[0] + 0.5, "o", mfc="none", mec="white", ms=16, mew=2)
    ax.set(title=title, xlabel="feature 2 level", ylabel="feature 1 level")


targets_2d = [(0, 0), (0, 2), (1, 3), (2, 2)]
fig, axes = plt.subplots(2, len(targets_2d), figsize=(3.2 * len(targets_2d), 6.6))
for row, mode in enumerate(MODES):
    geometry = grid_geometry(2, LEVELS, mode)
    for ax, target_xy in zip(axes[row], targets_2d):
        flat = int(np.ravel_multi_index(target_xy, geometry.shape))
        rating_map(ax, geometry.ratings(flat).reshape(geometry.shape), target_xy,
                   f"{MODES[mode]}, target {target_xy}", start_xy=(LEVELS // 2, LEVELS // 2))
fig.suptitle("Rating of each position (0-4) for four targets, 5×5 grid")
fig.tight_layout()
out.figure(fig, "rating_maps_2d")
plt.show()

# %% [markdown]
# ## Rating maps: slices of 3D
# The same rule in 3D, shown as slices through feature 3 for one target. In 3D the edges are percentiles
# of 125 distances; WiderTopTarget's rating-4 region is a small ball around the target.

# %%
target_3d = (1, 3, 2)
fig, axes = plt.subplots(2, LEVELS, figsize=(2.9 * LEVELS, 7.0))
for row, mode in enumerate(MODES):
    geometry = grid_geometry(budget["slice_dims"], LEVELS, mode)
    flat = int(np.ravel_multi_index(target_3d, geometry.shape))
    cube = geometry.ratings(flat).reshape(geometry.shape)
    for level, ax in enumerate(axes[row]):
        rating_map(ax, cube[:, :, level], target_3d[:2] if level == target_3d[2] else (-9, -9),
                   f"slice feature 3 = {level}")
        if level:
            ax.set_ylabel("")
    axes[row, 0].set_ylabel(f"{MODES[mode]}\nfeature 1 level")
fig.suptitle(f"3D ratings for target {target_3d}: top row TopTarget, bottom row WiderTopTarget "
             "(× marks the target in its slice)")
fig.tight_layout()
out.figure(fig, "rating_maps_3d_slices")
plt.show()

# %% [markdown]
# ## How many positions rate 4 (and 3, 2, 1, 0) per target
# TopTarget's rating 4 is the 0.01th percentile of the distances, WiderTopTarget's the 5th, so the size of the
# rating-4 region depends on the rule and, for WiderTopTarget, on where the target lies. Left:
# the distribution of the rating-4 count over all targets; right: the mean share of positions per rating.

# %%
count_rows, share_rows = [], []
for dims in (2, 3, 4):
    for mode in MODES:
        table = grid_geometry(dims, LEVELS, mode).rating_table()
        for target, count in enumerate((table == 4).sum(axis=1)):
            count_rows.append({"dims": dims, "target_mode": MODES[mode], "target": target,
                               "rating4_positions": int(count)})
        for rating in range(5):
            share_rows.append({"dims": dims, "target_mode": MODES[mode], "rating": rating,
                               "share": float((table == rating).mean())})
counts = pd.DataFrame(count_rows)
shares = pd.DataFrame(share_rows)
count_summary = (counts.groupby(["dims", "target_mode"])["rating4_positions"]
                 .agg(["min", "mean", "max"]).reset_index())
count_summary["min_pct"] = 100 * count_summary["min"] / LEVELS**count_summary.dims
count_summary["max_pct"] = 100 * count_summary["max"] / LEVELS**count_summary.dims
out.table(count_summary, "rating4_positions_per_target")
display(count_summary.round(2))
out.table(shares, "rating_shares")
centre = refs.centre_rating_counts(LEVELS)
display(Markdown(prose.rating_count_sentences(count_summary, centre, levels=LEVELS)))

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
wider = counts[counts.target_mode == "WiderTopTarget"].assign(
    percent=lambda f: 100 * f.rating4_positions / LEVELS**f.dims)
sns.boxplot(data=wider, x="dims", y="percent", color="0.85", showfliers=False, ax=axes[0])
sns.stripplot(data=wider, x="dims", y="percent", alpha=0.35, size=3, jitter=0.3, ax=axes[0])
axes[0].axhline(5, ls=":", c="k", lw=1, label="5% (the 5th percentile)")
axes[0].set(title="WiderTopTarget: positions rated 4, per target (dots)", xlabel="features d (5 levels each)",
            ylabel="% of all positions rated 4")
axes[0].legend(loc="upper right")
pivot = shares.pivot_table(index=["target_mode", "dims"], columns="rating", values="share")
pivot.plot(kind="bar", stacked=True, ax=axes[1], colormap="viridis", width=0.8)
axes[1].set(title="Mean share of positions per rating", xlabel="rating rule, features",
            ylabel="share of positions")
short = {"TopTarget": "Top", "WiderTopTarget": "Wider"}
axes[1].set_xticklabels([f"{short[mode]}\n{dims}D" for mode, dims in pivot.index], rotation=0)
axes[1].legend(title="rating", bbox_to_anchor=(1.01, 1), loc="upper left")
fig.tight_layout()
out.figure(fig, "rating4_positions_per_target")
plt.show()

# %% [markdown]
# ## The exact optimum, the rule baseline and the thesis's best agents
# For every configuration: the **Bayes-optimal** mean return over a uniform target (GridObs information:
# every rating and closer bit, with memory), found by exact search over belief states; the **rule
# baseline** (keep the consistent targets, name the position most likely to rate 4, tie-break by
# expected information), evaluated once from every target like any agent; and the thesis's best agent
# from its metric tables (2D only), each as a percentage of the optimum. When the exact search stops at
# the profile's node limit, the optimum is given as proven bounds `[lower, upper]` (upper: a relaxation,
# lower: the rule) and the percentages as ranges. Each value is a cached run under `runs/grid_optimum/`
# and `runs/grid_rule/`; the second table gives the search effort and the wall time of the runs that computed them (also in `figures/02_reference_effort.csv`).

# %%
print("The thesis's metric tables (figures 22-23; 2D, one training run each):")
display(refs.THESIS_METRICS)
reference = refs.reference_table(budget, runs_dir)
out.table(reference, "reference_returns")
display(reference[["dims", "target", "reward", "optimum_exact", "optimum_lower", "optimum_upper",
                   "optimum_std", "rule_mean", "rule_std", "rule_pct_low", "thesis_mean", "thesis_std",
                   "thesis_pct_low", "thesis_pct_high", "thesis_setting"]].round(2))
print("Effort (wall time of the run that computed each value, with the 1-minute load average then):")
display(out.table(refs.effort_table(budget, runs_dir), "reference_effort").round(2))

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 4.4))
for ax, reward in zip(axes, budget["rewards"]):
    part = reference[reference.reward == reward].reset_index(drop=True)
    x = np.arange(len(part))
    exact = part.optimum_exact.to_numpy(dtype=bool)
    ax.errorbar(x[exact], part.optimum_lower[exact], yerr=part.optimum_std[exact], fmt="D", color="k", ms=7,
                capsize=3, label="optimum (exact; ± std of one optimal policy)")
    if (~exact).any():
        ax.vlines(x[~exact], part.optimum_lower[~exact], part.optimum_upper[~exact], color="k", lw=4,
                  label="optimum: proven bounds [rule, relaxation] (search stopped)")
    ax.errorbar(x - 0.18, part.rule_mean, yerr=part.rule_std, fmt="o", color="C1", capsize=3,
                label="rule baseline (± std over targets)")
    ax.errorbar(x + 0.18, part.thesis_mean, yerr=part.thesis_std, fmt="s", color="C2", capsize=3,
                label="thesis best agent (± std over targets)")
    ax.set_xticks(x, [f"{d}D\n{MODES[t]}" for d, t in zip(part.dims, part.target)], fontsize=8)
    top = (10 if reward == "bullseye" else 16) * budget["episode_length"]
    ax.axhline(top, ls=":", c="grey", lw=1)
    ax.set(title=f"{reward.capitalize()} reward (dotted: {top}, every step rated 4)",
           ylabel="mean return over all targets", xlim=(-0.6, len(part) - 0.4))
legend = {}
for ax in axes:
    legend.update(zip(*reversed(ax.get_legend_handles_labels())))
fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=3, fontsize=9, bbox_to_anchor=(0.5, -0.08))
fig.tight_layout(rect=(0, 0.05, 1, 1))
out.figure(fig, "reference_returns")
plt.show()

# %%
for _, row in reference.iterrows():
    optimum = (f"{row.optimum_lower:.2f}" if row.optimum_exact
               else f"in [{row.optimum_lower:.2f}, {row.optimum_upper:.2f}] (bound)")
    at_least = "" if row.optimum_exact else ">= "
    line = (f"{row.dims}D {MODES[row.target]:15s} {row.reward:9s} optimum {optimum}  "
            f"rule {row.rule_mean:.2f} ({at_least}{row.rule_pct_low:.1f}% of the optimum)")
    if not np.isnan(row.thesis_mean):
        line += f"  thesis {row.thesis_mean:.0f} ({at_least}{row.thesis_pct_low:.1f}% of the optimum)"
    print(line)
exact = reference[reference.optimum_exact]
print(f"rule / optimum where exact: {exact.rule_pct_low.min():.2f}% to {exact.rule_pct_low.max():.2f}%")

# %% [markdown]
# ## What the closer bit is worth
# BoardObs shows the ratings of visited positions but not the closer bits. The optimum and the rule with
# ratings only (BoardObs information) against rating + closer (GridObs with memory).

# %%
closer_value = refs.feedback_value_table(budget, runs_dir)
out.table(closer_value, "closer_value")
display(closer_value.round(3))
gain = closer_value.optimum_grid - closer_value.optimum_board
worst = gain.idxmax()
print(f"largest gain of the closer bit: {gain.max():.2f} points "
      f"({100 * gain.max() / closer_value.optimum_board[worst]:.2f}%), "
      f"{closer_value.dims[worst]}D {closer_value.target[worst]}/{closer_value.reward[worst]}")

# %% [markdown]
# ## How fast the rule finds a rating 4
# Steps until the rule baseline first names a rating-4 position, over all targets (Bullseye; the Rating
# reward gives the same searches up to tie-breaks). An optimal policy's step counts follow from its
# Bullseye returns (`10 * (22 - step)`), saved per target in each exact optimum run's `returns.csv`.

# %%
rows = []
for settings in refs.configurations({**budget, "rewards": ["bullseye"]}):
    frame = refs.rule_run(settings, runs_dir).metrics()
    rows.append(frame.assign(dims=settings["dims"], target_mode=MODES[settings["target"]]))
steps = pd.concat(rows)
percent = (steps.groupby(["target_mode", "dims"]).first_top.value_counts(normalize=True).mul(100)
           .rename("percent").reset_index())
grid = sns.catplot(data=percent, x="first_top", y="percent", hue="dims", col="target_mode", kind="bar",
                   height=3.6, aspect=1.3, palette="colorblind")
grid.set_axis_labels("step of the first rating 4", "% of targets")
grid.set_titles("{col_name}")
grid.figure.suptitle("Rule baseline: steps to the first rating 4", y=1.04)
out.figure(grid.figure, "rule_steps_to_top")
plt.show()
print(steps.groupby(["target_mode", "dims"]).first_top.agg(["mean", "max"]).round(2))

# %% [markdown]
# ## Comparison with the thesis
# Written from the tables above (`musicrec.prose.grid_environment.comparison_with_thesis`).

# %%
display(Markdown(prose.comparison_with_thesis(reference=reference, counts=count_summary, closer=closer_value,
                                             centre=centre, levels=LEVELS,
                                             episode_length=budget["episode_length"])))
