# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 · Feature grid: 3D to 8D, and users that a rule cannot serve (thesis figures 24-25 and beyond)
#
# The thesis's last grid experiment ([rynegardh2019], §4.4.2, figures 24-25) trains its chosen configuration
# (recurrent A2C, GridObs, WiderTopTarget, Bullseye, n = 20) in 3D and 4D with **flat actions** (one of
# 125 or 625 positions), and reports convergence after about 40k (3D) and 130k (4D) iterations — 12.8 M and
# 41.6 M env steps if an iteration is one update of 16 environments × 20 steps; its conclusion names the
# size of the action space as what kept it from 5D. Three things go beyond it here:
#
# * **Recurrent PPO with the same flat actions**, on the same batched machinery and policy, beside the
#   thesis's A2C: whether the flat action space or the algorithm is what holds 3D and 4D back.
# * **Factored actions** (one level per feature, `MultiDiscrete([5] * d)`: d heads of 5 logits instead of
#   5^d) from 3D to 8D, trained with recurrent PPO on the same batched machinery. Up to 4D the reference is
#   the exact optimum of notebook 02; beyond, the rule baseline on a fixed sample of targets (the exact search
#   does not fit).
# * **Noisy users.** The thesis concludes that "a rule may" serve its deterministic users as well as deep RL,
#   and asks for users that "rate differently, or include random feedback" (§7.1). Here each rating is off by
#   one with probability p and each `closer` is flipped with probability p. The rule baseline cannot serve
#   them (a contradicting answer leaves it without a consistent target); the reference is a **Bayes filter**
#   that knows the noise model, keeps the posterior over targets and names the position with the highest
#   expected reward. Returns score the *true* ratings; the deterministic user's optimum bounds every p.

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
from musicrec.plotting import plot_mean_band, setup_style
from musicrec.prose import grid as grid_prose
from musicrec.reporting import FigureWriter

setup_style()
budget = grid_agents.load_budget(profile)
reference_budget = grid_references.load_budget(profile)
out = FigureWriter(figures_dir, "07")
names = grid_agents.study_experiments("07", budget)
# Flat actions per dimension: the thesis's A2C, then recurrent PPO on the same machinery
flat_by_dims = {dims: [n for n in (f"{dims}d_wider_grid_n20", f"{dims}d_flat_ppo_n20") if n in names] for dims in (3, 4)}
flat_by_dims = {dims: group for dims, group in flat_by_dims.items() if group}
flat = [n for group in flat_by_dims.values() for n in group]
factored = [n for n in names if n.endswith("factored_n20")]
noisy = [grid_agents.noise_experiment(d, p) for d in (2, 4) for p in budget.noise_levels]
noisy = [n for n in dict.fromkeys(noisy) if n in names]
print("seeds:", budget.seeds, "| env steps per run:", {n: budget.timesteps[n] for n in names})

# %%
study = grid_agents.run_study(names, budget, runs_dir, device=device, workers=workers, backend=backend)
dims_table = grid_agents.dimension_table(study[study.experiment.isin(flat + factored)], budget, reference_budget,
                                         runs_dir)
noise = grid_agents.noise_table(study[study.experiment.isin(noisy)], budget, reference_budget, runs_dir)
d = dims_table.set_index("experiment")

# %% [markdown]
# ## Thesis figures 24-25: flat actions in 3D and 4D

# %%
fig, axes = plt.subplots(1, len(flat_by_dims), figsize=(6.5 * len(flat_by_dims), 4.2), squeeze=False)
for ax, (dims, group) in zip(axes[0], flat_by_dims.items()):
    grid_agents.plot_curves(ax, study, group, kind="eval")
    ax.axhline(d.loc[group[0], "reference_value"], ls="--", c="k", lw=1,
               label=f"{d.loc[group[0], 'reference']} {d.loc[group[0], 'reference_value']:.1f}")
    ax.axhline(0.97 * d.loc[group[0], "reference_value"], ls=":", c="grey", lw=1, label="97% of it")
    ax.set(title=f"Thesis fig. {grid_agents.experiment(f'{dims}d_wider_grid_n20').figure}: {dims}D, flat actions", ylabel="mean return over all targets")
    ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
out.figure(fig, "flat_3d_4d")
plt.show()

# %% [markdown]
# ## Factored actions, 3D to 8D (% of the reference)

# %%
fig, ax = plt.subplots(figsize=(9, 4.4))
for name in factored:
    frames = grid_agents.curves(study, name, kind="eval")
    scaled = [f.assign(value=100 * f.value / d.loc[name, "reference_value"], msteps=f.timesteps / 1e6) for f in frames]
    plot_mean_band(ax, scaled, "msteps", "value", label=f"{d.loc[name, 'dims']}D vs {d.loc[name, 'reference']}")
ax.axhline(95, ls=":", c="grey", lw=1, label="95%")
ax.set(title="Factored actions: mean return as % of the reference", xlabel="environment steps (millions)",
       ylabel="% of the reference")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=8)
fig.tight_layout()
out.figure(fig, "factored_dims")
plt.show()

# %%
display(out.table(dims_table, "higher_dimensions").round(2))

# %% [markdown]
# ## Noisy users: the learned agent against the Bayes filter

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
for ax, (dims, group) in zip(axes, noise.groupby("dims")):
    ax.errorbar(group.noise, group.agent_mean, yerr=[group.agent_mean - group.agent_ci_low,
                                                   group.agent_ci_high - group.agent_mean],
                fmt="o-", capsize=3, label="learned agent (mean, 95% interval over seeds)")
    ax.errorbar(group.noise, group.bayes_mean, yerr=1.96 * group.bayes_se, fmt="s--", capsize=3,
                label="Bayes filter that knows the noise (± 1.96 s.e.)")
    ax.axhline(group.optimum_deterministic.iloc[0], ls=":", c="k", lw=1, label="optimum for the exact user")
    ax.set(title=f"{dims}D ({group.action.iloc[0]} actions)", xlabel="noise probability p",
           ylabel="mean true return over targets")
    ax.legend(loc="lower left", fontsize=8)
fig.tight_layout()
out.figure(fig, "noisy_users")
plt.show()

# %%
display(out.table(noise, "noisy_users").round(2))

# %% [markdown]
# ## Comparison with the thesis

# %%
display(Markdown(grid_prose.higher_dimensions(dims_table)))
display(Markdown(grid_prose.flat_algorithms(dims_table)))
display(Markdown(grid_prose.noisy_users(noise)))
