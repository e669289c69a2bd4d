# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · Feature grid: the thesis's metric tables (figures 22-23), both definitions, and what reproduces
#
# The thesis scores its trained 2D agents by running the deterministic policy once from every target and
# reporting the mean and the standard deviation of the returns ([rynegardh2019], §4.4.1, figures 22
# (Bullseye) and 23 (Rating)). It did so over "several models from the same training, 5k iterations apart",
# pooled. We compute that definition — the last three checkpoints of each run, 5k thesis iterations (5,000 ×
# 16 environments × n steps) apart, as many as the run holds, pooled over checkpoints and targets, then
# averaged over seeds — beside the final policy's mean averaged over seeds with its 95% interval, and compare
# each with the thesis's number under the same definition. Every row also gets the exact optimum with the
# observation's information (notebook 02). A run that names one fixed position whatever the user answers is
# reported as such, not as a percentage.
#
# The modern rows (not in the thesis): recurrent PPO on the same batched machinery, and A2C without memory
# on GridObs.

# %% tags=["parameters"]
profile = "default"      # smoke | default | full: budgets in musicrec/configs/profiles/grid_agents.yml
device = "cpu"           # cpu | cuda | auto (the small GRU policies train fastest on one CPU thread)
figures_dir = "figures"  # figures and CSV tables are written here (root-relative or absolute)
runs_dir = "runs"        # cached training runs live here (root-relative or absolute)
workers = None           # runs trained at the same time, or None for the value of the profile
backend = None           # local | ray (one Ray task per run), or None for the value of the profile
rerun_kernels = "avx2"   # retrain one experiment's seeds with these torch CPU kernels to test bit-reproducibility

# %% tags=["injected-parameters"]
# Parameters
profile = "default"
device = "cpu"


# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from musicrec.experiments import grid_agents, grid_references
from musicrec.plotting import setup_style
from musicrec.prose import grid as grid_prose
from musicrec.reporting import FigureWriter

setup_style()
budget = grid_agents.load_budget(profile)
reference_budget = grid_references.load_budget(profile)
out = FigureWriter(figures_dir, "06")
names = grid_agents.study_experiments("06", budget)
print("seeds:", budget.seeds, "| env steps per run:", {n: budget.timesteps[n] for n in names})

# %%
study = grid_agents.run_study(names, budget, runs_dir, device=device, workers=workers, backend=backend)
table = grid_agents.metrics_table(study, budget, reference_budget, runs_dir)
columns = ["experiment", "figure", "target", "reward", "obs", "n_steps", "recurrent", "algorithm", "seeds",
           "timesteps", "pooled_mean", "pooled_std", "pooled_checkpoints", "thesis_mean", "thesis_std",
           "final_mean", "final_sd_seeds", "final_ci_low", "final_ci_high", "final_std_targets", "optimum", "rule",
           "pct_pooled", "pct_final", "collapsed_to"]
metrics = out.table(table[columns], "grid_metrics_tables")
display(metrics.round(1))
display(out.table(grid_agents.reference_rows(study, reference_budget, runs_dir), "references").round(2))

# %% [markdown]
# ## Every row beside the thesis's number and the optimum

# %%
fig, ax = plt.subplots(figsize=(13, 4.8))
rows = table.reset_index(drop=True)
x = np.arange(len(rows))
ax.bar(x - 0.2, rows.pooled_mean, 0.4, yerr=rows.pooled_std, capsize=2, label="ours, thesis's definition (± std)")
ax.bar(x + 0.2, rows.final_mean, 0.4, yerr=rows.final_sd_seeds, capsize=2,
       label="ours, final policy (± std over seeds)")
ax.scatter(x, rows.thesis_mean, marker="D", color="crimson", zorder=3, label="thesis figs. 22-23")
ax.scatter(x, rows.optimum, marker="_", s=400, color="k", zorder=3, label="exact optimum")
ax.set_xticks(x, rows.experiment, rotation=35, ha="right")
ax.set_ylabel("mean return over targets")
ax.set_title("Mean return over all targets, per experiment", pad=30)
ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, fontsize=8, frameon=False)
fig.tight_layout()
out.figure(fig, "pct_of_optimum")
plt.show()

# %% [markdown]
# ## Seeds: spread and 95% intervals
# Each point is one seed's final policy; the bar is the 95% Student-t interval of the mean over seeds.

# %%
summary = grid_agents.final_summary(study)
fig, ax = plt.subplots(figsize=(13, 4.2))
for i, name in enumerate(rows.experiment):
    seeds = summary[summary.experiment == name]["mean"]
    ax.scatter(np.full(len(seeds), i), seeds, s=14, color="tab:blue")
    row = rows.iloc[i]
    ax.errorbar(i + 0.15, row.final_mean, yerr=[[row.final_mean - row.final_ci_low], [row.final_ci_high - row.final_mean]],
                fmt="o", color="k", capsize=3)
ax.scatter([], [], s=14, color="tab:blue", label="one seed")
ax.errorbar([], [], yerr=[], fmt="o", color="k", label="mean, 95% interval")
ax.set_xticks(np.arange(len(rows)), rows.experiment, rotation=35, ha="right")
ax.set(title="Final policy per seed", ylabel="mean return over targets")
ax.legend(loc="lower left", fontsize=8)
fig.tight_layout()
out.figure(fig, "seed_spread")
plt.show()

# %% [markdown]
# ## What is bit-reproducible
# The same seed on the same machine gives byte-identical metrics (`tests/experiments/test_grid_agents.py`
# checks it). Another machine may not: torch picks its CPU kernels by instruction set, and another vector
# width sums in another order, so the floats differ in the last bits, and training amplifies that. We
# retrain every seed of one experiment with the kernels of a CPU without AVX-512. A seed retrained elsewhere
# is a new draw of its training, so its yardstick is the 95% interval in which one fresh seed lands
# (mean ± t · sd · √(1 + 1/n) over the n original seeds), not the interval of the mean (mean ± t · sd / √n);
# the retrained seeds' mean is judged by the interval of a rerun's mean over as many seeds
# (mean ± t · sd · √(2/n)). Each run's `run.yml` names the CPU and the kernels it ran on; after a
# `make reproduce` of your own, `make compare` counts the means of every table in `figures/` that are
# identical to the committed ones, inside their interval of the mean, and inside the interval of a rerun's mean.

# %%
reruns = {("wider_grid_n20", seed): grid_agents.rerun_with_cpu_kernels("wider_grid_n20", seed, budget, runs_dir,
                                                                        capability=rerun_kernels)
          for seed in budget.seeds}
reproducibility = out.table(grid_agents.reproducibility_table(study, reruns), "reproducibility")
display(reproducibility.round(2))
throughput = out.table(grid_agents.throughput_table(study), "throughput")
display(throughput.round(1))

# %% [markdown]
# ## Comparison with the thesis

# %%
display(Markdown(grid_prose.metrics_tables(table)))
display(Markdown(grid_prose.reproducibility(reproducibility, kernels=rerun_kernels, seeds=len(budget.seeds))))
