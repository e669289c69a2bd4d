"""Notebook 01's comparison with the Q-learning slides [behrouz-qlearning], written from its tables."""

from __future__ import annotations

import pandas as pd

from musicrec.sources import published

#: The slides' published numbers: the worked example's Q(Rock, Pop) after one update (alpha 0.1,
#: gamma 0.9, R = 10) and the range of the values of their illustrative Q-table.
SLIDES = published("behrouz_qlearning_slides").set_index("quantity")["value"]
SLIDES_EXAMPLE_UPDATE = float(SLIDES["example_update"])
SLIDES_Q_RANGE = (float(SLIDES["q_table_min"]), float(SLIDES["q_table_max"]))


def policy_cycle(policy: dict[str, str], start: str) -> list[str]:
    """The cycle a deterministic policy (genre now playing -> genre recommended) settles into from
    ``start``, with its first genre repeated at the end (``["Jazz", "Classical", "Jazz"]``)."""
    visited, state = [], start
    while state not in visited:
        visited.append(state)
        state = policy[state]
    return visited[visited.index(state):] + [state]


def usual_cycle(policy: dict[str, str]) -> str:
    """The cycle reached from most start genres, as ``"Classical → Jazz → Classical"``."""
    from collections import Counter

    counts: Counter[str] = Counter()
    for start in policy:
        ring = policy_cycle(policy, start)[:-1]
        turn = ring.index(min(ring))  # the same cycle, whichever genre it is entered from
        ring = ring[turn:] + ring[:turn]
        counts[" → ".join(ring + [ring[0]])] += 1
    return counts.most_common(1)[0][0]


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
        The study's reward per step of each policy: ``user, policy, mean, std, seeds, pct_of_oracle``.
    q_policy, bandit_policy : pd.DataFrame
        The greedy policies of the Q-learner and of the bandit: ``user, now_playing, recommend,
        seeds_agreeing`` (``"k/n"``).
    q_values : pd.DataFrame
        The largest learned Q-value per user: ``user, max_q``.
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
            f"(γ = 0) settles into {usual_cycle(b_map)} and earns {pct['transition', 'bandit']:.1f}% of "
            f"the oracle (± {100 * std['transition', 'bandit'] / mean['transition', 'oracle']:.1f} points "
            f"over seeds); Q-learning with γ = {gamma:g} settles into {usual_cycle(q_map)} and earns "
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
