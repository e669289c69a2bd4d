"""Notebook 01: Q-learning and baselines on the genre recommender, one cached run per user and seed."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from musicrec.agents.qtable import (
    QTableAgent,
    oracle_reward_per_step,
    policy_reward_per_step,
    random_reward_per_step,
    train_q_learning,
)
from musicrec.envs.genre import GenreEnv
from musicrec.errors import ParameterError
from musicrec.hyperparams import load_hyperparams
from musicrec.profiles import Budget
from musicrec.runs import Run, write_csv_atomic
from musicrec.utils import set_seed

ENV_ID = "musicrec/Genre-v0"
AGENTS = ("q_learning", "bandit")
POLICIES = ("random", "bandit", "q_learning", "oracle")


@dataclass(frozen=True, kw_only=True)
class GenreBudget(Budget):
    """What a profile of ``configs/profiles/genre.yml`` spends on notebook 01."""

    study = "genre"

    episodes: int
    """Training episodes per run."""
    seeds: tuple[int, ...]
    """Seeds per (user, agent): one run each."""
    users: tuple[str, ...] = ("generic", "pop_lover", "transition")
    """Simulated user profiles (``configs/users/``)."""
    episode_length: int = 10
    """Recommendations per episode."""
    like_reward: float = 10.0
    """Reward of a liked recommendation (the slides: +10)."""
    dislike_reward: float = -5.0
    """Reward of a disliked one (the slides: -5)."""
    smoothing: int = 50
    """Episodes in the rolling mean of the training curves."""

    def validate(self, source: str) -> None:
        if self.episodes < 1 or self.episode_length < 1 or self.smoothing < 1 or not self.seeds or not self.users:
            raise ParameterError(f"{source}: episodes, episode_length and smoothing must be >= 1, "
                                 "seeds and users not empty")


def load_budget(profile: str) -> GenreBudget:
    """The validated budget of notebook 01 under ``profile``."""
    return GenreBudget.load(profile)


def as_budget(budget: Mapping) -> GenreBudget:
    """A budget given as a plain mapping (a notebook that changed a key) validated as a :class:`GenreBudget`."""
    return GenreBudget.from_mapping({"profile": "custom", **budget})


def run_config(user: str, agent: str, seed: int, budget: Mapping) -> dict:
    """The full config of one training run (everything that changes its result)."""
    budget = as_budget(budget)
    params = load_hyperparams("qtable", ENV_ID)
    if agent == "bandit":
        params["gamma"] = 0.0
    env = GenreEnv(user, episode_length=budget["episode_length"], like_reward=budget["like_reward"],
                   dislike_reward=budget["dislike_reward"])
    return {
        "env_id": ENV_ID,
        "user": user,
        "genres": list(env.genres),
        "like": env.listener.like.tolist(),  # a changed profile is a new run
        "agent": agent,
        "hyperparams": params,
        "episodes": int(budget["episodes"]),
        "episode_length": int(budget["episode_length"]),
        "like_reward": float(budget["like_reward"]),
        "dislike_reward": float(budget["dislike_reward"]),
        "seed": int(seed),
    }


def _train(config: dict, folder: Path) -> None:
    set_seed(config["seed"])
    env = GenreEnv(config["user"], genres=config["genres"], episode_length=config["episode_length"],
                   like_reward=config["like_reward"], dislike_reward=config["dislike_reward"])
    n = len(config["genres"])
    agent = QTableAgent(n, n, seed=config["seed"], **config["hyperparams"])
    metrics = train_q_learning(env, agent, config["episodes"], seed=config["seed"])
    write_csv_atomic(pd.DataFrame(agent.q, index=config["genres"], columns=config["genres"]),
                     folder / "q_table.csv", index=True)
    write_csv_atomic(metrics, folder / "metrics.csv")


def train_run(user: str, agent: str, seed: int, budget: Mapping, runs_dir: str | os.PathLike) -> Run:
    """Train (or reuse) the run of ``agent`` for ``user`` with ``seed``."""
    config = run_config(user, agent, seed, budget)
    run = Run(runs_dir, "genre_qtable", config, name=f"{user}-{agent}-seed{seed}")
    return run.execute(lambda folder: _train(config, folder))


def q_table(run: Run) -> pd.DataFrame:
    """The learned Q-table of a finished run (rows: now playing, columns: recommended)."""
    return pd.read_csv(run.file("q_table.csv"), index_col=0)


def run_study(budget: Mapping, runs_dir: str | os.PathLike, *, users: Sequence[str] | None = None) -> pd.DataFrame:
    """Train every (user, agent, seed) of the budget; one row per run with its folder and result."""
    budget = as_budget(budget)
    rows = []
    for user in users or budget["users"]:
        for agent in AGENTS:
            for seed in budget["seeds"]:
                run = train_run(user, agent, seed, budget, runs_dir)
                rows.append({"user": user, "agent": agent, "seed": seed, "run": run})
    return pd.DataFrame(rows)


def policy_rewards(study: pd.DataFrame, budget: Mapping) -> pd.DataFrame:
    """Exact expected reward per step of each policy per user and seed.

    Policies: ``random``; ``bandit`` (greedy of the gamma = 0 agent); ``q_learning`` (greedy of the
    Q-learner); ``oracle`` (backward induction with the true like matrix). The learned policies are
    scored exactly with the listener's like probabilities, so no evaluation noise enters.
    """
    rows = []
    length = int(budget["episode_length"])
    for user, group in study.groupby("user", sort=False):
        env = GenreEnv(user, episode_length=length, like_reward=budget["like_reward"],
                       dislike_reward=budget["dislike_reward"])
        expected = env.expected_reward()
        oracle, _ = oracle_reward_per_step(expected, length)
        for seed in budget["seeds"]:
            rows.append({"user": user, "policy": "random", "seed": seed,
                         "reward_per_step": random_reward_per_step(expected)})
            for _, item in group[group.seed == seed].iterrows():
                policy = q_table(item.run).to_numpy().argmax(axis=1)
                rows.append({"user": user, "policy": item.agent, "seed": seed,
                             "reward_per_step": policy_reward_per_step(policy, expected, length)})
            rows.append({"user": user, "policy": "oracle", "seed": seed, "reward_per_step": oracle})
    return pd.DataFrame(rows)


def summarise_policy_rewards(rewards: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds of the reward per step, per user and policy, with % of the oracle."""
    table = (rewards.groupby(["user", "policy"], sort=False)["reward_per_step"]
             .agg(mean="mean", std="std", seeds="count").reset_index())
    table["std"] = table["std"].fillna(0.0)
    oracle = table[table.policy == "oracle"].set_index("user")["mean"]
    table["pct_of_oracle"] = 100 * table["mean"] / table["user"].map(oracle)
    table["policy"] = pd.Categorical(table.policy, categories=POLICIES, ordered=True)
    table["user"] = pd.Categorical(table.user, categories=list(dict.fromkeys(rewards.user)), ordered=True)
    table = table.sort_values(["user", "policy"]).astype({"user": str, "policy": str})
    return table.reset_index(drop=True)


def greedy_policy_table(study: pd.DataFrame, agent: str = "q_learning") -> pd.DataFrame:
    """Greedy recommendation per user and state, with how many seeds agree on it."""
    rows = []
    for user, group in study[study.agent == agent].groupby("user", sort=False):
        tables = [q_table(run) for run in group.run]
        genres = list(tables[0].index)
        for state in genres:
            picks = [table.columns[int(np.argmax(table.loc[state].to_numpy()))] for table in tables]
            values, counts = np.unique(picks, return_counts=True)
            rows.append({"user": user, "now_playing": state, "recommend": values[counts.argmax()],
                         "seeds_agreeing": f"{counts.max()}/{len(picks)}"})
    return pd.DataFrame(rows)


def action_distribution(study: pd.DataFrame, fraction: float = 0.1, agent: str = "q_learning") -> pd.DataFrame:
    """Share of each recommended genre in the first and last ``fraction`` of episodes, per user."""
    rows = []
    for user, group in study[study.agent == agent].groupby("user", sort=False):
        frames = [item.metrics() for item in group.run]
        genres = q_table(group.run.iloc[0]).columns
        for phase in ("early", "late"):
            counts = np.zeros(len(genres))
            for metrics in frames:
                k = max(1, int(len(metrics) * fraction))
                part = metrics.head(k) if phase == "early" else metrics.tail(k)
                counts += part[[f"action_{i}" for i in range(len(genres))]].to_numpy().sum(axis=0)
            for genre, share in zip(genres, counts / counts.sum()):
                rows.append({"user": user, "phase": phase, "genre": genre, "share": share})
    return pd.DataFrame(rows)


# -- the comparison with the slides, written from the results ---------------------------------------------
#: The slides' worked example: Q(Rock, Pop) after one update (alpha 0.1, gamma 0.9, R = 10).
SLIDES_EXAMPLE_UPDATE = 1.918
#: The range of the values in the slides' illustrative Q-table.
SLIDES_Q_RANGE = (0.3, 2.8)


def policy_cycle(policy: dict[str, str], start: str) -> list[str]:
    """The cycle a deterministic policy (genre now playing -> genre recommended) settles into from
    ``start``, with its first genre repeated at the end (``["Jazz", "Classical", "Jazz"]``)."""
    visited, state = [], start
    while state not in visited:
        visited.append(state)
        state = policy[state]
    return visited[visited.index(state):] + [state]


def _usual_cycle(policy: dict[str, str]) -> str:
    """The cycle reached from most start genres, as ``"Classical → Jazz → Classical"``."""
    from collections import Counter

    counts: Counter[str] = Counter()
    for start in policy:
        ring = policy_cycle(policy, start)[:-1]
        turn = ring.index(min(ring))  # the same cycle, whichever genre it is entered from
        ring = ring[turn:] + ring[:turn]
        counts[" → ".join(ring + [ring[0]])] += 1
    return counts.most_common(1)[0][0]


def q_value_summary(study: pd.DataFrame, agent: str = "q_learning") -> pd.DataFrame:
    """The largest learned Q-value per user (mean over seeds): ``user, max_q``."""
    rows = [{"user": user, "max_q": float(np.mean([q_table(run).to_numpy().max() for run in group.run]))}
            for user, group in study[study.agent == agent].groupby("user", sort=False)]
    return pd.DataFrame(rows)


def comparison_with_slides(*, example_update: float, rewards: pd.DataFrame, q_policy: pd.DataFrame,
                           bandit_policy: pd.DataFrame, q_values: pd.DataFrame, favourites: dict[str, str],
                           gamma: float, episode_length: int, like_reward: float,
                           dislike_reward: float) -> str:
    """The comparison with the slides as markdown bullets, every number taken from the tables given.

    Parameters
    ----------
    example_update : float
        Our value of the slides' worked Q-update.
    rewards : pd.DataFrame
        :func:`summarise_policy_rewards`: ``user, policy, mean, std, seeds, pct_of_oracle``.
    q_policy, bandit_policy : pd.DataFrame
        :func:`greedy_policy_table` of the Q-learner and of the bandit: ``user, now_playing, recommend,
        seeds_agreeing`` (``"k/n"``).
    q_values : pd.DataFrame
        :func:`q_value_summary`: ``user, max_q``.
    favourites : dict
        The most liked genre of each profiled listener (``{"pop_lover": "Pop"}``).
    gamma, episode_length, like_reward, dislike_reward
        The Q-learner's discount and the budget's episode and rewards.
    """
    mean = rewards.set_index(["user", "policy"])["mean"]
    std = rewards.set_index(["user", "policy"])["std"]
    pct = rewards.set_index(["user", "policy"])["pct_of_oracle"]
    users = list(dict.fromkeys(rewards.user))
    same = "as the slides do" if round(example_update, 3) == SLIDES_EXAMPLE_UPDATE else (
        f"the slides give {SLIDES_EXAMPLE_UPDATE:.3f}")
    bullets = [f"**Worked example**: our update gives {example_update:.3f}, {same}."]
    if "generic" in users:
        values = rewards[rewards.user == "generic"]["mean"]
        if values.max() - values.min() < 1e-9:
            bullets.append(
                "**Generic listener**: the slides train on a user whose feedback is pure chance. The table "
                f"above shows why nothing can be learned there: every policy, the oracle included, earns "
                f"{values.iloc[0]:.2f} per step (the like probability times {like_reward:g} plus the "
                f"dislike probability times {dislike_reward:g}, whatever is recommended), so the learned "
                "Q-table only reflects sampling noise.")
        else:
            bullets.append(f"**Generic listener**: the policies earn between {values.min():.2f} and "
                           f"{values.max():.2f} per step.")
    for user, genre in favourites.items():
        if user not in users:
            continue
        rows = q_policy[q_policy.user == user]
        hits = rows[rows.recommend == genre]
        unanimous = all(a == b for a, b in (s.split("/") for s in hits.seeds_agreeing))
        seeds = "in every seed" if unanimous else "by a majority of seeds"
        reach = ("reaches the oracle's reward per step" if pct[user, "q_learning"] >= 100 - 1e-6 else
                 f"reaches {pct[user, 'q_learning']:.1f}% of the oracle's reward per step")
        bullets.append(
            f"**{user.replace('_', ' ').capitalize()}**: the slides show the agent learning the profile's "
            f"favourite genre. Ours recommends {genre} from {len(hits)} of {len(rows)} states {seeds} and "
            f"{reach} ({mean[user, 'q_learning']:.2f} per step).")
    if "transition" in users:
        q_map = dict(q_policy[q_policy.user == "transition"][["now_playing", "recommend"]].values)
        b_map = dict(bandit_policy[bandit_policy.user == "transition"][["now_playing", "recommend"]].values)
        bullets.append(
            "**Transition listener (not in the slides)**: here the state matters. The per-state bandit "
            f"(γ = 0) settles into {_usual_cycle(b_map)} and earns {pct['transition', 'bandit']:.1f}% of "
            f"the oracle (± {100 * std['transition', 'bandit'] / mean['transition', 'oracle']:.1f} points "
            f"over seeds); Q-learning with γ = {gamma:g} settles into {_usual_cycle(q_map)} and earns "
            f"{pct['transition', 'q_learning']:.1f}% (policies by majority over seeds).")
    if len(q_values):
        top = q_values.loc[q_values.max_q.idxmax()]
        per_step = mean[top.user, "oracle"]
        low, high = SLIDES_Q_RANGE
        bullets.append(
            f"The slides' example Q-table (values {low:g}-{high:g}) is illustrative and their result plots "
            "are not in the extracted text, so there are no numbers of theirs to set beside ours. Our "
            f"largest learned Q-value is {top.max_q:.1f} ({top.user.replace('_', ' ')}, mean over seeds), "
            f"{top.max_q / high:.0f} times the slides' largest, as the rewards (+{like_reward:g} like, "
            f"{dislike_reward:g} dislike) and γ = {gamma:g} require: the learner bootstraps through the end "
            f"of an episode ({episode_length} steps), so a value approaches r / (1 − γ) = "
            f"{per_step / (1 - gamma):.1f} for the oracle's {per_step:.2f} per step.")
    return "\n".join(f"* {bullet}" for bullet in bullets)


def favourite_genres(users: Sequence[str]) -> dict[str, str]:
    """The favourite genre of each *profiled* listener: one whose like probabilities do not depend on the
    genre now playing and have a single largest entry (the pop lover's Pop)."""
    favourites = {}
    for user in users:
        env = GenreEnv(user)
        like = env.listener.like
        row = like[0]
        if np.allclose(like, row[None, :]) and (row == row.max()).sum() == 1:
            favourites[user] = env.genres[int(row.argmax())]
    return favourites


def slides_comparison(study: pd.DataFrame, budget: Mapping, *, example_update: float) -> str:
    """:func:`comparison_with_slides` for a study (the notebook's one call)."""
    hyper = load_hyperparams("qtable", ENV_ID)
    return comparison_with_slides(
        example_update=example_update, rewards=summarise_policy_rewards(policy_rewards(study, budget)),
        q_policy=greedy_policy_table(study), bandit_policy=greedy_policy_table(study, agent="bandit"),
        q_values=q_value_summary(study), favourites=favourite_genres(list(dict.fromkeys(study.user))),
        gamma=float(hyper["gamma"]), episode_length=int(budget["episode_length"]),
        like_reward=float(budget["like_reward"]), dislike_reward=float(budget["dislike_reward"]))
