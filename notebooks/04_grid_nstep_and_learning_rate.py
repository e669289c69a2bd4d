# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Feature grid: n-step returns and the learning rate (thesis figures 13-15)
#
# The thesis's search for a stable configuration ([rynegardh2019], §4.4.1, "N-step"): recurrent A2C on the 2D
# grid (WiderTopTarget, Bullseye, GridObs) with n = 5, 10 and 20 step returns, then n = 10 with the learning
# rate lowered from 7e-4 to 7e-5. The thesis concludes that "increasing n reduces the variance" and keeps
# n = 20; it says its models are trained (converged) after about 80k (n = 5), 20k (n = 10) and 14k (n = 20)
# iterations.
#
# A larger n also means fewer updates per environment step (one update per n steps of every environment), so
# the comparison depends on what is held equal. We show both: the policies **at equal updates** and **at
# equal environment steps**. The agent, its settings and the batch of 128 environments are those of
# notebook 03; the learning rate study runs the thesis's two rates (7e-4, 7e-5) beside ours (5e-3), each
# decayed linearly to 0 over its run, all with 128 environments, so each of the thesis's rates is a smaller
# step relative to the batch than it was with the thesis's 16. The thesis's rates train for the thesis's 120k
# iterations of figure 15, ours for n = 10's 20k (the budgets are in the tables).

# %% tags=["parameters"]
profile = "default"      # smoke | default | full: budgets in musicrec/configs/profiles/grid_agents.yml
device = "cpu"           # cpu | cuda | auto (the small GRU policies train fastest on one CPU thread)
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
out = FigureWriter(figures_dir, "04")
names = grid_agents.study_experiments("04", budget)
nstep_names = ["wider_grid_n5", "wider_grid_n10", "wider_grid_n20"]
lr_names = [n for n in ("wider_grid_n10", "wider_grid_n10_lr7e-4", "wider_grid_n10_lr7e-5") if n in names]
default_rate = load_hyperparams("batched_a2c", grid_agents.ENV_ID)["learning_rate"]
print("seeds:", budget.seeds, "| env steps per run:", {n: budget.timesteps[n] for n in names})

# %%
study = grid_agents.run_study(names, budget, runs_dir, device=device, workers=workers, backend=backend)
table = grid_agents.metrics_table(study, budget, reference_budget, runs_dir)
optimum = float(table.optimum.iloc[0])
at_updates = grid_agents.evaluation_at(study, nstep_names, x="updates")
at_steps = grid_agents.evaluation_at(study, nstep_names, x="timesteps")

# %% [markdown]
# ## Thesis figures 12-14: the training curves for n = 5, 10, 20

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4), sharey=True)
for ax, name in zip(axes, nstep_names):
    exp = grid_agents.experiment(name)
    grid_agents.plot_curves(ax, study, [name], kind="last10", smoothing=budget.smoothing // 20 or 1)
    ax.axhline(optimum, ls="--", c="k", lw=1, label=f"exact optimum {optimum:.1f}")
    ax.set(title=f"Thesis fig. {exp.figure}: n = {exp.n_steps}", ylabel="return (mean of the last 10 episodes)")
    ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
out.figure(fig, "nstep_last10")
plt.show()

# %% [markdown]
# ## At equal environment steps and at equal updates
# Left: the deterministic policy's mean return over all targets against environment steps; middle: the same
# against updates; right: the std of the return over targets (the thesis's "Std"), with its n = 20 value.
# Each run trains for the thesis's own iteration count of its n and decays its learning rate to 0 over that
# run, so at a common point the shorter run has ended its schedule while the longer ones are still taking
# larger steps.

# %%
fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
grid_agents.plot_curves(axes[0], study, nstep_names, kind="eval", x="timesteps")
grid_agents.plot_curves(axes[1], study, nstep_names, kind="eval", x="updates")
for ax, what in zip(axes[:2], ("environment steps", "updates")):
    ax.axhline(optimum, ls="--", c="k", lw=1, label="exact optimum")
    ax.axhline(188, ls=":", c="crimson", lw=1, label="thesis fig. 22, n = 20: 188")
    ax.set(title=f"Mean return over all targets, by {what}", ylabel="mean return over targets")
grid_agents.plot_curves(axes[2], study, nstep_names, kind="eval_std")
axes[2].axhline(8, ls=":", c="crimson", lw=1, label="thesis fig. 22, n = 20: std 8")
axes[2].set(title="Std of the return over targets", ylabel="std over targets")
for ax in axes:
    ax.legend(loc="best", fontsize=8)
fig.tight_layout()
out.figure(fig, "nstep_all_targets")
plt.show()

# %% [markdown]
# ## Thesis figure 15: the learning rate (n = 10)

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
labels = {"wider_grid_n10": f"lr {default_rate:g} (ours)", "wider_grid_n10_lr7e-4": "lr 7e-4 (thesis's default)",
          "wider_grid_n10_lr7e-5": "lr 7e-5 (thesis fig. 15)"}
grid_agents.plot_curves(axes[0], study, lr_names, kind="last10", smoothing=budget.smoothing // 20 or 1, labels=labels)
axes[0].set(title="Training: mean return of the last 10 episodes", ylabel="return")
grid_agents.plot_curves(axes[1], study, lr_names, kind="eval", labels=labels)
axes[1].axhline(optimum, ls="--", c="k", lw=1, label="exact optimum")
axes[1].set(title="Deterministic policy, all targets", ylabel="mean return over targets")
for ax in axes:
    ax.legend(loc="center right", fontsize=8)  # between the curves of the thesis's two rates
fig.suptitle(f"n = 10, {budget.n_envs} environments: learning rate")
fig.tight_layout()
out.figure(fig, "learning_rate")
plt.show()

# %%
columns = ["experiment", "figure", "n_steps", "seeds", "timesteps", "final_mean", "final_sd_seeds", "final_ci_low",
           "final_ci_high", "final_std_targets", "pooled_mean", "pooled_std", "thesis_mean", "thesis_std", "optimum",
           "pct_final", "pct_pooled", "collapsed_to"]
final = out.table(table[columns], "final_policies")
display(final.round(2))
display(out.table(at_updates.assign(held_equal="updates"), "at_equal_updates").round(2))
display(out.table(at_steps.assign(held_equal="env steps"), "at_equal_steps").round(2))

# %% [markdown]
# ## Comparison with the thesis

# %%
display(Markdown(grid_prose.nstep_returns(table, at_updates, at_steps)))
display(Markdown(grid_prose.learning_rates(table, default_rate=default_rate, n_envs=budget.n_envs,
                                           thesis_steps=120_000 * grid_agents.thesis_iteration_steps(10))))
