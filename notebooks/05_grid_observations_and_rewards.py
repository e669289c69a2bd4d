# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Feature grid: observations, rewards, memory and ACKTR's place (thesis figures 16-21)
#
# The rest of the thesis's 2D experiments ([rynegardh2019], §4.4.1, "BoardObs" and "Rating reward"), all
# with WiderTopTarget and n = 20:
#
# * **BoardObs** (every position's rating once visited, -1 before) instead of GridObs (the position, the
#   last rating and `closer`), with recurrent A2C (fig. 16) and with ACKTR without recurrence (fig. 17);
# * the **Rating reward** (rating squared) with GridObs (fig. 18), BoardObs (fig. 19), ACKTR without
#   recurrence (fig. 20) and A2C without recurrence (fig. 21);
# * beyond the thesis, the same A2C without its GRU on GridObs, where the observation holds only the last
#   answer, so the policy has no memory of the episode.
#
# ACKTR is not in SB3; **TRPO** (sb3-contrib), the natural-gradient trust-region method closest to it, takes
# its place, with the thesis's batch (16 environments × 20 steps) and trained through SB3's pipeline (it does
# not step the batched grid, so its budget is smaller; the tables give each run's env steps). A2C without
# recurrence is the batched learner with `recurrent: false` (the same Tanh MLPs on the observation).

# %% tags=["parameters"]
profile = "default"      # smoke | default | full: budgets in musicrec/configs/profiles/grid_agents.yml
device = "cpu"           # cpu | cuda | auto (the small policies train fastest on one CPU thread)
figures_dir = "figures"  # figures and CSV tables are written here (root-relative or absolute)
runs_dir = "runs"        # cached training runs live here (root-relative or absolute)
workers = None           # runs trained at the same time, or None for the value of the profile
backend = None           # local | ray (one Ray task per run), or None for the value of the profile

# %% tags=["injected-parameters"]
# Parameters
profile = "default"
device = "cpu"


# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from musicrec.experiments import grid_agents, grid_references
from musicrec.hyperparams import load_hyperparams
from musicrec.plotting import setup_style
from musicrec.prose import grid as grid_prose
from musicrec.reporting import FigureWriter

setup_style()
budget = grid_agents.load_budget(profile)
reference_budget = grid_references.load_budget(profile)
out = FigureWriter(figures_dir, "05")
names = grid_agents.study_experiments("05", budget)
bullseye = [n for n in names if not n.startswith("rating")]
rating = [n for n in names if n.startswith("rating")]
print("seeds:", budget.seeds, "| env steps per run:", {n: budget.timesteps[n] for n in names})
print("TRPO (in ACKTR's place):", load_hyperparams("trpo", grid_agents.ENV_ID))

# %%
study = grid_agents.run_study(names, budget, runs_dir, device=device, workers=workers, backend=backend)
table = grid_agents.metrics_table(study, budget, reference_budget, runs_dir)
t = table.set_index("experiment")

# %% [markdown]
# ## Bullseye: GridObs and BoardObs, with and without memory (thesis figs. 14, 16, 17)

# %%
def panel(group, title, figure_name):
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.4))
    grid_agents.plot_curves(axes[0], study, group, kind="last10", smoothing=budget.smoothing // 20 or 1)
    axes[0].set(title="Training: mean return of the last 10 episodes", ylabel="return")
    grid_agents.plot_curves(axes[1], study, group, kind="eval")
    optima = {(t.loc[n, "obs"], t.loc[n, "optimum"]) for n in group}
    for (obs, value), style in zip(sorted(optima), ("--", "-.")):
        axes[1].axhline(value, ls=style, c="k", lw=1, label=f"exact optimum, {obs.capitalize()}Obs {value:.1f}")
    # the thesis's number of each row, in its colour, side by side at the right end (they often overlap)
    curves = [line for line in axes[1].get_lines() if not line.get_label().startswith("_")][:len(group)]
    x_end = axes[1].get_xlim()[1]
    for i, (name, line) in enumerate(zip(group, curves)):
        if name in t.index and t.loc[name, "thesis_mean"] == t.loc[name, "thesis_mean"]:
            axes[1].plot(x_end * (1 + 0.025 * i), t.loc[name, "thesis_mean"], "D", ms=6, clip_on=False, color=line.get_color(),
                         markeredgecolor="k")
    axes[1].plot([], [], "D", color="w", markeredgecolor="k", label="thesis figs. 22-23 (in the colour of its row)")
    axes[1].set(title="Deterministic policy, all targets", ylabel="mean return over targets")
    for ax in axes:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.26), ncol=2, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    out.figure(fig, figure_name)
    plt.show()


panel(bullseye, "Bullseye, WiderTopTarget, n = 20", "boardobs_bullseye")

# %% [markdown]
# ## Rating reward (thesis figs. 18-21)

# %%
panel(rating, "Rating reward (rating squared), WiderTopTarget, n = 20", "rating_reward")

# %%
columns = ["experiment", "figure", "reward", "obs", "recurrent", "algorithm", "seeds", "timesteps", "final_mean",
           "final_sd_seeds", "final_ci_low", "final_ci_high", "final_std_targets", "pooled_mean", "pooled_std",
           "thesis_mean", "thesis_std", "thesis_recurrent", "optimum", "pct_final", "pct_pooled", "collapsed_to"]
final = out.table(table[columns], "final_policies")
display(final.round(2))

# %% [markdown]
# ## Comparison with the thesis

# %%
display(Markdown(grid_prose.observations_and_rewards(table)))
