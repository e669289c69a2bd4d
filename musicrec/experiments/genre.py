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
from musicrec.prose import genre as prose_genre
from musicrec.runs import Run, code_fingerprint, library_versions, write_csv_atomic
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
    return GenreBudget.of(budget)


#: The modules whose code computes a run's result: their fingerprint is part of every run's cache key (as in the
#: other studies), so a change of that code retrains.
RESULT_MODULES = ("musicrec.agents.qtable", "musicrec.envs.genre", "musicrec.users.genre")


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
        "code": code_fingerprint(*RESULT_MODULES),
        "versions": library_versions("numpy"),
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
#: The slides' worked example: Q(Rock, Pop) after one update (``data/sources/behrouz_qlearning_slides.csv``).
SLIDES_EXAMPLE_UPDATE = prose_genre.SLIDES_EXAMPLE_UPDATE


def q_value_summary(study: pd.DataFrame, agent: str = "q_learning") -> pd.DataFrame:
    """The largest learned Q-value per user (mean over seeds): ``user, max_q``."""
    rows = [{"user": user, "max_q": float(np.mean([q_table(run).to_numpy().max() for run in group.run]))}
            for user, group in study[study.agent == agent].groupby("user", sort=False)]
    return pd.DataFrame(rows)


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
    """:func:`musicrec.prose.genre.comparison_with_slides` for a study (the notebook's one call)."""
    hyper = load_hyperparams("qtable", ENV_ID)
    return prose_genre.comparison_with_slides(
        example_update=example_update, rewards=summarise_policy_rewards(policy_rewards(study, budget)),
        q_policy=greedy_policy_table(study), bandit_policy=greedy_policy_table(study, agent="bandit"),
        q_values=q_value_summary(study), favourites=favourite_genres(list(dict.fromkeys(study.user))),
        gamma=float(hyper["gamma"]), episode_length=int(budget["episode_length"]),
        like_reward=float(budget["like_reward"]), dislike_reward=float(budget["dislike_reward"]))
