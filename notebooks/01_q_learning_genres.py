# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Q-learning genre recommender
#
# Reproduces the slides *"Music Recommendation System using Q-Learning"* [behrouz-qlearning]: a
# Q-table over genres (state = genre now playing, action = genre recommended), epsilon-greedy exploration
# with multiplicative decay, and simulated listeners that are either **generic** (feedback not tied to the
# genre) or **profiled** (a pop lover). Beyond the slides, a **transition** listener whose likes depend on
# the (now playing, recommended) pair makes the state matter, and every policy is scored against a random
# policy, a per-state bandit (the same learner with γ = 0) and the oracle that knows the listener.
#
# Code: `musicrec/envs/genre.py`, `musicrec/users/genre.py`, `musicrec/agents/qtable.py`,
# `musicrec/experiments/genre.py`; listener profiles in `musicrec/configs/genre_users.yml`; hyperparameters in
# `musicrec/configs/hyperparams/qtable.yml`; budgets in `musicrec/configs/profiles/genre.yml`.

# %% tags=["parameters"]
profile = "default"      # smoke | default | full: budgets in musicrec/configs/profiles/genre.yml
device = "cpu"           # unused by the tabular agent; every notebook takes it
figures_dir = "figures"  # figures and CSV tables are written here (root-relative or absolute)
runs_dir = "runs"        # cached training runs live here (root-relative or absolute)
seeds = None             # list of seeds, or None for the seeds of the profile
episodes = None          # training episodes per run, or None for the value of the profile

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

from musicrec.agents.qtable import oracle_reward_per_step
from musicrec.envs.genre import GenreEnv
from musicrec.experiments import genre
from musicrec.hyperparams import load_hyperparams
from musicrec.plotting import plot_mean_band, setup_style
from musicrec.profiles import load_profile
from musicrec.reporting import FigureWriter

setup_style()
budget = load_profile("genre", profile)
if seeds is not None:
    budget["seeds"] = list(seeds)
if episodes is not None:
    budget["episodes"] = int(episodes)
out = FigureWriter(figures_dir, "01")
hyper = load_hyperparams("qtable", genre.ENV_ID)
print("budget:", budget)
print("Q-learning hyperparameters:", hyper)

# %% [markdown]
# ## The slides' worked example
# One Q-update by hand: Q(Rock, Pop) = 1.0, max Q(Pop, ·) = 0.2, R = 10, γ = 0.9, α = 0.1.

# %%
from musicrec.agents.qtable import QTableAgent

example = QTableAgent(5, 5, alpha=0.1, gamma=0.9)
example.q[1, 0], example.q[0, 0] = 1.0, 0.2
new_q = example.update(1, 0, 10.0, 0)
print(f"new Q(Rock, Pop) = {new_q:.3f}   (slides: {genre.SLIDES_EXAMPLE_UPDATE})")

# %% [markdown]
# ## The simulated listeners
# Like probability of each recommendation given the genre now playing. The generic listener likes
# anything with probability 0.5; the pop lover's row is the same whatever is playing; the transition
# listener's likes depend on the pair.

# %%
fig, axes = plt.subplots(1, len(budget["users"]), figsize=(5 * len(budget["users"]), 4.2))
for ax, user in zip(np.atleast_1d(axes), budget["users"]):
    env = GenreEnv(user)
    sns.heatmap(pd.DataFrame(env.listener.like, index=env.genres, columns=env.genres), annot=True,
                fmt=".2f", vmin=0, vmax=1, cmap="viridis", cbar=False, ax=ax)
    ax.set(title=f"{user}: P(like)", xlabel="recommended genre (action)", ylabel="now playing (state)")
fig.tight_layout()
out.figure(fig, "listeners")
plt.show()

# %% [markdown]
# ## Training
# One cached run per (listener, agent, seed) under `runs/genre_qtable/`: a finished run is reused.

# %%
study = genre.run_study(budget, runs_dir)
print(f"{len(study)} runs, e.g. {study.run.iloc[0].path.name}")

# %% [markdown]
# ## Reward per step during training
# Reward per recommendation in each episode (smoothed over episodes), mean ± std over seeds. Dashed: the
# oracle's expected reward per step; dotted: the random policy's.

# %%
fig, axes = plt.subplots(1, len(budget["users"]), figsize=(5.5 * len(budget["users"]), 4), sharey=True)
for ax, user in zip(np.atleast_1d(axes), budget["users"]):
    for agent, label in (("q_learning", "Q-learning"), ("bandit", "per-state bandit (γ = 0)")):
        runs = study[(study.user == user) & (study.agent == agent)].run
        plot_mean_band(ax, [run.metrics() for run in runs], "episode", "reward_per_step",
                       label=label, smoothing=budget["smoothing"])
    expected = GenreEnv(user).expected_reward()
    ax.axhline(oracle_reward_per_step(expected, budget["episode_length"])[0], ls="--", c="k", lw=1,
               label="oracle")
    ax.axhline(expected.mean(), ls=":", c="grey", lw=1, label="random")
    ax.set(title=user, xlabel="episode", ylabel="reward per step (smoothed)")
    ax.legend(loc="lower right", fontsize=8)
fig.suptitle(f"Training reward, {budget['episode_length']} recommendations per episode")
fig.tight_layout()
out.figure(fig, "training_reward")
plt.show()

# %% [markdown]
# ## Exploration schedule
# ε used in each episode: ε ← max(ε_min, ε · decay) after every episode.

# %%
metrics = study.run.iloc[0].metrics()
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(metrics.episode, metrics.epsilon)
ax.set(title=f"ε-greedy exploration (decay {hyper['epsilon_decay']}, floor {hyper['epsilon_min']})",
       xlabel="episode", ylabel="ε (probability of a random genre)")
out.figure(fig, "epsilon")
plt.show()

# %% [markdown]
# ## What the Q-learner recommends, early vs late
# Share of each recommended genre in the first and last 10% of training episodes (all seeds).

# %%
actions = genre.action_distribution(study)
grid = sns.catplot(data=actions, x="genre", y="share", hue="phase", col="user", kind="bar",
                   height=3.6, aspect=1.1)
grid.set_axis_labels("recommended genre", "share of recommendations")
grid.figure.suptitle("Action distribution early vs late in training", y=1.04)
out.figure(grid.figure, "action_distribution")
plt.show()

# %% [markdown]
# ## Learned Q-tables (seed of the first run)

# %%
fig, axes = plt.subplots(1, len(budget["users"]), figsize=(5 * len(budget["users"]), 4.2))
for ax, user in zip(np.atleast_1d(axes), budget["users"]):
    run = study[(study.user == user) & (study.agent == "q_learning")].run.iloc[0]
    sns.heatmap(genre.q_table(run), annot=True, fmt=".1f", cmap="mako", cbar=False, ax=ax)
    ax.set(title=f"{user}: Q(s, a)", xlabel="recommended genre (action)", ylabel="now playing (state)")
fig.tight_layout()
out.figure(fig, "q_tables")
plt.show()

# %% [markdown]
# ## Greedy policy
# The genre each trained Q-table recommends for each genre now playing (majority over seeds).

# %%
policy = genre.greedy_policy_table(study)
out.table(policy, "greedy_policy")
display(policy.pivot(index="now_playing", columns="user", values="recommend"))

# %% [markdown]
# ## Average reward per step of each policy
# Exact expected reward per recommendation (from the listener's like probabilities, uniform start genre),
# mean ± std over seeds; the oracle solves the known listener by backward induction.

# %%
rewards = genre.summarise_policy_rewards(genre.policy_rewards(study, budget))
out.table(rewards, "policy_rewards")
display(rewards.round(3))

# %%
fig, ax = plt.subplots(figsize=(8, 4))
sns.barplot(data=rewards, x="user", y="mean", hue="policy", ax=ax)
ax.set(title="Expected reward per recommendation by policy", xlabel="simulated listener",
       ylabel="reward per step (+10 like, −5 dislike)")
ax.legend(title="policy", fontsize=8)
out.figure(fig, "policy_rewards")
plt.show()


# %%
def share_recommending(user, genre_name):
    picks = policy[(policy.user == user) & (policy.recommend == genre_name)]
    return f"{len(picks)}/{len(policy[policy.user == user])} states"

pct = rewards.set_index(["user", "policy"])["pct_of_oracle"]
print("pop_lover: greedy Q-policy recommends Pop in", share_recommending("pop_lover", "Pop"),
      f"(majority over seeds); Q-learning reaches {pct['pop_lover', 'q_learning']:.1f}% of the oracle")
print(f"transition: bandit {pct['transition', 'bandit']:.1f}% vs Q-learning "
      f"{pct['transition', 'q_learning']:.1f}% of the oracle")
print("transition: greedy Q-policy", dict(policy[policy.user == "transition"][["now_playing", "recommend"]].values))

# %% [markdown]
# ## Comparison with the slides
# Written from the tables above (`musicrec.prose.genre.comparison_with_slides`).

# %%
display(Markdown(genre.slides_comparison(study, budget, example_update=new_q)))
