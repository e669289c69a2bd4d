# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Feature grid: TopTarget vs WiderTopTarget (thesis figures 10-12)
#
# Reproduces the first experiment of the thesis ([rynegardh2019], §4.4.1, "TopTarget in comparison to
# WiderTopTarget"): recurrent A2C on the 2D feature grid (5 levels, 21 steps, Bullseye reward, GridObs) with
# n = 5 step returns, under the two rating rules. **TopTarget** rates only the target 4 (the reward 10);
# **WiderTopTarget** rates 4 every position within the 5th percentile of the target's distances.
#
# The agent is the thesis's recurrent A2C, run by the batched learner `musicrec.agents.batched_ac`: a GRU of
# 64 units shared by actor and critic, two 64-unit Tanh layers per head, RMSprop (alpha 0.99, eps 1e-5),
# gamma 0.99, value coefficient 0.5, entropy 0.01, gradients clipped to 0.5, observations and returns
# normalised, the value head initialised with gain sqrt(2) — the defaults of the code the thesis forked
# [kostrikov2018a2c]. The thesis's text reports a GRU of 3 layers (§4.3.1); the code it forked builds one, and
# so do we. Two differences are deliberate and measured: the learner updates from 128 environments at once
# (the thesis: 16), which is what lets its budgets run on a CPU, and takes a larger step (lr 5e-3 instead of
# 7e-4, decayed linearly to 0; notebook 04 shows both rates); and its entropy bonus is 0.03 instead of 0.01,
# which keeps those larger steps from making the policy deterministic before it has found the target. The
# batch, the rate and the bonus come from pilots recorded in `musicrec/configs/hyperparams/batched_a2c.yml`
# (256 environments ended lower at equal environment steps: fewer updates; with the bonus 0.01, TopTarget's
# policy went deterministic before it found the target). Each run trains for the iteration count after which the thesis calls
# its model trained. The update itself is the thesis's: `tests/agents/test_batched_ac.py`
# shows it equals SB3's recurrent A2C (`musicrec/agents/recurrent_a2c.py`) from the same weights and rollout.
#
# Two measures, each a mean ± std over seeds: the thesis's training curve (the mean return of the last 10
# sampled training episodes) and the thesis's metric (the deterministic policy run once from every target)
# evaluated during training, beside the exact Bayes-optimal return of notebook 02. The thesis's x-axis counts
# "iterations"; we assume one is one update of 16 environments × n steps (80 env steps for n = 5) and say so
# wherever an iteration count is converted.

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
from musicrec.plotting import setup_style
from musicrec.prose import grid as grid_prose
from musicrec.reporting import FigureWriter
from musicrec.users.grid import top_share

setup_style()
budget = grid_agents.load_budget(profile)
reference_budget = grid_references.load_budget(profile)  # notebook 02's optimum and rule runs
out = FigureWriter(figures_dir, "03")
names = grid_agents.study_experiments("03", budget)
print("seeds:", budget.seeds, "| env steps per run:", {n: budget.timesteps[n] for n in names})
low, mean, high = top_share(2, 5, "wider")
display(Markdown(f"On the 5 × 5 grid WiderTopTarget rates {100 * low:.0f}-{100 * high:.0f}% of the positions 4 "
                 f"({100 * mean:.1f}% on average over targets: the 5th percentile of the distances ties with "
                 f"whole rings of positions); TopTarget rates {100 * top_share(2, 5, 'top')[1]:.0f}% (the target)."))

# %%
study = grid_agents.run_study(names, budget, runs_dir, device=device, workers=workers, backend=backend)
table = grid_agents.metrics_table(study, budget, reference_budget, runs_dir)
optimum = table.set_index("experiment").optimum

# %% [markdown]
# ## Thesis figures 11-12: training curves
# The thesis plots the mean return of the last 10 training episodes against iterations, with the
# iteration at which it calls the model "trained" (40k for TopTarget, 80k for WiderTopTarget), drawn here at
# 40k × 16 × 5 and 80k × 16 × 5 env steps under the iteration assumption.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
for ax, name, trained_at in zip(axes, names, (40_000, 80_000)):
    exp = grid_agents.experiment(name)
    grid_agents.plot_curves(ax, study, [name], kind="last10", smoothing=budget.smoothing // 20 or 1)
    ax.axhline(optimum[name], ls="--", c="k", lw=1, label=f"exact optimum {optimum[name]:.1f}")
    steps = trained_at * grid_agents.thesis_iteration_steps(exp.n_steps) / 1e6
    if steps <= ax.get_xlim()[1]:
        ax.axvline(steps, ls=":", c="grey", lw=1, label=f"thesis: trained after {trained_at // 1000}k iterations")
    ax.set(title=f"Thesis fig. {exp.figure}: {exp.label}", ylabel="return (mean of the last 10 episodes)")
    ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
out.figure(fig, "training_last10")
plt.show()

# %% [markdown]
# ## Thesis figure 10: a raw and a smoothed training curve
# The thesis shows why it smooths its curves: the return of single episodes jumps between 0 and 210. One seed
# of WiderTopTarget, the mean of the last 10 episodes (the thesis's curve) and a wider running mean.

# %%
fig, ax = plt.subplots(figsize=(8, 3.6))
run = study[(study.experiment == "wider_grid_n5") & (study.seed == budget.seeds[0])].run.iloc[0]
episodes = run.metrics()
for window, style in ((10, dict(lw=0.4, alpha=0.5)), (budget.smoothing * 10, dict(lw=2))):
    ax.plot(episodes.timesteps / 1e6, episodes["return"].rolling(window, min_periods=1).mean(),
            label=f"mean of the last {window} episodes", **style)
ax.axhline(optimum["wider_grid_n5"], ls="--", c="k", lw=1, label="exact optimum")
ax.set(title="WiderTopTarget, n = 5, one seed: raw and smoothed", xlabel="environment steps (millions)",
       ylabel="return per episode")
ax.legend(loc="lower right", fontsize=8)
out.figure(fig, "raw_vs_smoothed")
plt.show()

# %% [markdown]
# ## The deterministic policy from every target

# %%
fig, ax = plt.subplots(figsize=(8, 4.2))
grid_agents.plot_curves(ax, study, names, kind="eval")
for name, style in zip(names, ("--", ":")):
    ax.axhline(optimum[name], ls=style, c="k", lw=1,
               label=f"optimum, {grid_agents.experiment(name).env['target']}Target {optimum[name]:.1f}")
for name, marker in zip(names, ("o", "s")):
    row = table.set_index("experiment").loc[name]
    ax.plot(ax.get_xlim()[1], row.thesis_mean, marker=marker, c="crimson", clip_on=False,
            label=f"thesis fig. 22, {grid_agents.experiment(name).env['target']}Target: {row.thesis_mean:.0f}")
ax.set(title="Mean return over all targets (deterministic policy)", ylabel="mean return over targets")
ax.legend(loc="lower right", fontsize=8)
out.figure(fig, "all_targets")
plt.show()

# %%
columns = ["experiment", "figure", "target", "n_steps", "seeds", "timesteps", "final_mean", "final_sd_seeds",
           "final_ci_low", "final_ci_high", "final_std_targets", "pooled_mean", "pooled_std", "thesis_mean",
           "thesis_std", "optimum", "pct_final", "pct_pooled"]
final = out.table(table[columns], "final_policies")
display(final.round(2))

# %% [markdown]
# ## Comparison with the thesis

# %%
display(Markdown(grid_prose.reward_functions(table)))
