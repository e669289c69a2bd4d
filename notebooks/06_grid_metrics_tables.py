# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · Feature grid: the thesis's metric tables (figures 22-23) with seeds, the optimum and modern baselines
#
# The thesis scores its 2D agents by running the deterministic policy once from every possible target and
# reporting the mean and the standard deviation of the returns ([rynegardh2019], section 4.4.1,
# "Metrics", figures 22-23; one training run per row, checkpoints 5k updates apart). This notebook
# rebuilds both tables from the checkpoints of notebooks 03-05 (the evaluation logged during training and
# the final policy of every seed), puts the thesis's numbers beside ours, and adds what the thesis did not
# have: the exact Bayes-optimal return and the rule baseline of notebook 02 (each agent as % of the
# optimum), and two modern baselines with their usual settings: **PPO** (BoardObs, which needs no memory)
# and sb3-contrib's **RecurrentPPO** (LSTM, GridObs).
#
# Table columns (`figures/06_grid_metrics_tables.csv`): `mean` is the final policy's mean return over all
# targets, averaged over seeds; `std` is the standard deviation of the return over targets (the thesis's
# "Std"), averaged over seeds; `optimum` is the exact optimum with the information of the observation
# (rating and `closer` for GridObs, ratings only for BoardObs); `pct_of_optimum` = 100 × mean / optimum.
# "TRPO (in ACKTR's place)" stands for the thesis's ACKTR, which SB3 dropped.

# %% tags=["parameters"]
profile = "default"      # smoke | default | full: budgets in musicrec/configs/profiles/grid_agents.yml
device = "cpu"           # cpu | cuda | auto (the small policies train fastest on one CPU thread)
figures_dir = "figures"  # figures and CSV tables are written here (root-relative or absolute)
runs_dir = "runs"        # cached training runs live here (root-relative or absolute)
workers = None           # runs trained at the same time, or None for the value of the profile

# %% tags=["injected-parameters"]
# Parameters
profile = "default"
device = "cpu"


# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from musicrec.experiments import grid_agents
from musicrec.hyperparams import load_hyperparams
from musicrec.plotting import setup_style
from musicrec.profiles import load_profile
from musicrec.reporting import FigureWriter

setup_style()
budget = load_profile("grid_agents", profile)
reference_budget = load_profile("grid_environment", profile)
out = FigureWriter(figures_dir, "06")
names = grid_agents.study_experiments("06", budget)
print("seeds:", budget["seeds"], "| env steps per run:", {n: budget["timesteps"][n] for n in names})
print("PPO:", load_hyperparams("ppo", grid_agents.ENV_ID))
print("RecurrentPPO:", load_hyperparams("recurrent_ppo", grid_agents.ENV_ID))

# %% [markdown]
# ## Runs (reused from notebooks 03-05; PPO and RecurrentPPO trained here)

# %%
study = grid_agents.run_study(names, budget, runs_dir, device=device, workers=workers)
table = grid_agents.metrics_table(study, budget, reference_budget, runs_dir)
out.table(table, "grid_metrics_tables")
print(f"{len(table)} rows written to {out.path('grid_metrics_tables', '.csv').name}")

# %% [markdown]
# ## Figure 22: Bullseye (TopTarget and WiderTopTarget)

# %%
show = ["target", "obs", "n_steps", "recurrent", "algorithm", "seeds", "mean", "std", "thesis_mean",
        "thesis_std", "optimum", "pct_of_optimum"]
display(table[table.reward == "bullseye"][show].round(1))

# %% [markdown]
# ## Figure 23: Rating reward (WiderTopTarget)

# %%
display(table[table.reward == "rating"][show].round(1))

# %% [markdown]
# ## Spread over seeds
# The tables average over seeds; here the final all-targets mean of each seed is summarised as mean ± std
# over seeds (the thesis had one run per row, so its numbers are single draws from such a spread).

# %%
spread = grid_agents.seed_spread(study)
agents = table.dropna(subset=["seeds"]).reset_index(drop=True)
spread.insert(1, "algorithm", agents.algorithm.to_numpy())
spread["thesis_mean"] = agents.thesis_mean.to_numpy()
spread["pct_of_optimum"] = agents.pct_of_optimum.to_numpy()
out.table(spread, "seed_spread")
display(spread[["experiment", "algorithm", "seeds", "mean", "mean_sd_over_seeds", "std_over_targets", "found",
                "thesis_mean", "pct_of_optimum", "timesteps", "steps_per_cpu_s"]].round(2))
for row, optimum in zip(spread.itertuples(), agents.optimum):
    thesis = (f"thesis {row.thesis_mean:.0f} ({100 * row.thesis_mean / optimum:.1f}% of optimum)"
              if not np.isnan(row.thesis_mean) else "not in the thesis")
    print(f"{row.experiment:26s} {row.algorithm:24s} {row.mean:6.1f} ± {row.mean_sd_over_seeds:4.1f} over "
          f"{row.seeds} seeds, {row.pct_of_optimum:5.1f}% of optimum; {thesis}")

# %% [markdown]
# ## Every row as a percentage of the optimum, ours and the thesis's
# Bars: our mean over seeds (error bar: std over seeds); diamonds: the thesis's single run; dashed: the
# rule baseline.

# %%
rows = spread.assign(thesis_pct=100 * agents.thesis_mean.to_numpy() / agents.optimum.to_numpy(),
                     sd_pct=100 * spread.mean_sd_over_seeds / agents.optimum.to_numpy())
labels = [f"{r.reward.capitalize()}, {'TopTarget' if r.target == 'top' else 'Wider'}, {r.obs.capitalize()}Obs, "
          f"n={r.n_steps}: {'recurrent ' if r.recurrent and r.algorithm == 'A2C' else ''}{r.algorithm}"
          for r in agents.itertuples()]
fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.5))
y = np.arange(len(rows))
ax.barh(y, rows.pct_of_optimum, xerr=rows.sd_pct.fillna(0), color="C0", alpha=0.8, label="ours (mean over seeds)")
ax.scatter(rows.thesis_pct, y, marker="D", color="C3", zorder=3, label="thesis (one run)")
rule = table[table.algorithm == "rule baseline"].set_index(["target", "reward", "obs"])
rule_pct = [float(100 * rule.loc[(e["target"], e["reward"], e["obs"]), "mean"] /
                  rule.loc[(e["target"], e["reward"], e["obs"]), "optimum"])
            for e in (grid_agents.experiment(n).env for n in rows.experiment)]
ax.scatter(rule_pct, y, marker="|", s=300, color="k", zorder=3, label="rule baseline")
ax.set_yticks(y, labels, fontsize=8)
ax.invert_yaxis()
ax.set(xlabel="mean return over all targets, % of the exact optimum", xlim=(0, 105),
       title="Final policies as % of the optimum (2D)")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=8)
out.figure(fig, "pct_of_optimum")
plt.show()

# %% [markdown]
# ## Modern baselines during training
# PPO (BoardObs) and RecurrentPPO (GridObs) beside the thesis's configuration (recurrent A2C, GridObs and
# BoardObs, n = 20): mean return over all targets of the deterministic policy, mean ± std over seeds.

# %%
fig, ax = plt.subplots(figsize=(8, 4.2))
compare = ["wider_grid_n20", "wider_board_n20", "wider_board_ppo", "wider_grid_recurrent_ppo"]
grid_agents.plot_curves(ax, study, compare, kind="eval")
ax.axhline(table[(table.algorithm.str.startswith("exact")) & (table.reward == "bullseye")
                 & (table.target == "wider")].optimum.iloc[0], ls="--", c="k", lw=1, label="exact optimum")
ax.set(title="Bullseye, WiderTopTarget: recurrent A2C vs PPO and RecurrentPPO", ylabel="mean return over targets")
ax.legend(loc="lower right", fontsize=8)
out.figure(fig, "modern_baselines")
plt.show()

# %% [markdown]
# ## Comparison with the thesis
# Built from the tables above. Rows labelled "TRPO (in ACKTR's place)" are sb3-contrib TRPO, not ACKTR (SB3
# has no ACKTR).

# %%
from IPython.display import Markdown

sp = spread.set_index("experiment")
steps = budget["timesteps"]
thesis_rows = sp.dropna(subset=["thesis_mean"])
below = thesis_rows[thesis_rows["mean"] < thesis_rows.thesis_mean]
above = thesis_rows[thesis_rows["mean"] >= thesis_rows.thesis_mean]
larger_std = (agents.dropna(subset=["thesis_std"]).pipe(lambda t: (t["std"] > t.thesis_std).sum()))
n_thesis = int(agents.thesis_std.notna().sum())
rule_rows = table[table.algorithm == "rule baseline"]
best_agent = agents.loc[agents.pct_of_optimum.idxmax()]
thesis_pct = 100 * agents.thesis_mean / agents.optimum


def row_text(name):
    r = sp.loc[name]
    return f"{r['mean']:.1f} ± {r.mean_sd_over_seeds:.1f} ({r.pct_of_optimum:.1f}% of the optimum)"


def holds(a, b):
    return "holds" if sp.loc[a, "mean"] > sp.loc[b, "mean"] else "does not hold"


display(Markdown(f"""
* **Same protocol, more runs, mostly smaller budgets.** Every number of ours is the final policy of each
  seed, evaluated from all 25 targets, then averaged over {int(sp.seeds.max())} seeds; the thesis evaluated
  checkpoints of one run per row after 3-6 M environment steps. Our budgets in this profile are
  {sp.timesteps.min() / 1e6:.2f}-{sp.timesteps.max() / 1e6:.1f} M steps per run (the `timesteps` column); the
  `full` profile trains 5-10 M steps. Of the {len(thesis_rows)} rows with a thesis number, ours is at or
  above the thesis's in {len(above)} ({', '.join(above.index) or 'none'}) and below in {len(below)}
  ({', '.join(below.index) or 'none'}).
* **The thesis's chosen configuration** (GridObs, n = 20, {steps['wider_grid_n20'] / 1e6:.0f} M steps):
  {row_text('wider_grid_n20')} against the thesis's {sp.loc['wider_grid_n20', 'thesis_mean']:.0f}; recurrent
  A2C with BoardObs and the Rating reward: {row_text('rating_board_n20')} against
  {sp.loc['rating_board_n20', 'thesis_mean']:.0f} after {steps['rating_board_n20'] / 1e6:.0f} M steps. The
  orderings the thesis draws from its tables: n = 20 beats n = 5 and n = 10 ({holds('wider_grid_n20',
  'wider_grid_n10')} for n = 10, {holds('wider_grid_n20', 'wider_grid_n5')} for n = 5); recurrence beats no
  recurrence on the Rating reward with BoardObs ({holds('rating_board_n20', 'rating_board_n20_a2c')} against
  A2C, {holds('rating_board_n20', 'rating_board_n20_trpo')} against TRPO); recurrent BoardObs beats recurrent
  GridObs on the Rating reward ({holds('rating_board_n20', 'rating_grid_n20')}). Our std over targets is
  larger than the thesis's in {larger_std} of {n_thesis} rows: single runs evaluated at good checkpoints
  against the final policy of every seed.
* **The optimum.** The thesis's rows reach {thesis_pct.min():.0f}-{thesis_pct.max():.0f}% of the exact
  optimum; our best row is {best_agent.algorithm} ({best_agent.obs.capitalize()}Obs, {best_agent.reward}, n =
  {best_agent.n_steps}) at {best_agent.pct_of_optimum:.1f}%. The rule baseline of notebook 02 is at
  {rule_rows.pct_of_optimum.min():.1f}-{rule_rows.pct_of_optimum.max():.1f}% of the optimum in every setting
  (the rule rows): on these simple users the rule {'beats' if rule_rows.pct_of_optimum.min() > max(agents.pct_of_optimum.max(), thesis_pct.max()) else 'is not beaten by'}
  every deep-RL agent here and in the thesis, as the thesis suspected.
* **Modern baselines.** PPO (BoardObs) reaches {row_text('wider_board_ppo')} after
  {steps['wider_board_ppo'] / 1e6:.2f} M steps and RecurrentPPO (sb3-contrib's LSTM, GridObs)
  {row_text('wider_grid_recurrent_ppo')} after {steps['wider_grid_recurrent_ppo'] / 1e6:.2f} M steps, at
  {sp.loc['wider_board_ppo', 'steps_per_cpu_s']:,.0f} and {sp.loc['wider_grid_recurrent_ppo', 'steps_per_cpu_s']:,.0f}
  env steps per CPU second against {sp.loc['wider_grid_n20', 'steps_per_cpu_s']:,.0f} for recurrent A2C
  (the curves compare them per env step). Neither is trained long enough here to say where it ends.
"""))
