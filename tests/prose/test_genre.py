"""Notebook 01's comparison with the slides, written from hand-made tables."""

import pandas as pd

from musicrec.prose import genre as prose_genre


def _policy(user, mapping, agree="5/5"):
    return pd.DataFrame([{"user": user, "now_playing": state, "recommend": pick, "seeds_agreeing": agree}
                         for state, pick in mapping.items()])


def _rewards(rows):
    return pd.DataFrame(rows, columns=["user", "policy", "mean", "std", "seeds", "pct_of_oracle"])


def test_policy_cycle_follows_the_greedy_choices():
    policy = {"A": "B", "B": "C", "C": "B", "D": "A"}
    assert prose_genre.policy_cycle(policy, "D") == ["B", "C", "B"]
    assert prose_genre.policy_cycle({"A": "A"}, "A") == ["A", "A"]


def test_comparison_with_slides_is_written_from_the_tables():
    rewards = _rewards([
        ("generic", "random", 2.5, 0.0, 3, 100.0), ("generic", "oracle", 2.5, 0.0, 3, 100.0),
        ("pop_lover", "q_learning", 6.0, 0.0, 3, 75.0), ("pop_lover", "oracle", 8.0, 0.0, 3, 100.0),
        ("transition", "bandit", 2.0, 1.0, 3, 25.0), ("transition", "q_learning", 7.2, 0.0, 3, 90.0),
        ("transition", "oracle", 8.0, 0.0, 3, 100.0)])
    q_policy = pd.concat([_policy("pop_lover", {"Pop": "Pop", "Rock": "Pop", "Jazz": "Rock"}, "2/3"),
                          _policy("transition", {"Pop": "Jazz", "Jazz": "Classical", "Classical": "Jazz"})])
    bandit = _policy("transition", {"Pop": "Rock", "Rock": "Pop", "Jazz": "Pop", "Classical": "Jazz"})
    text = prose_genre.comparison_with_slides(
        example_update=1.9, rewards=rewards, q_policy=q_policy, bandit_policy=bandit,
        q_values=pd.DataFrame({"user": ["pop_lover", "transition"], "max_q": [56.0, 40.0]}),
        favourites={"pop_lover": "Pop"}, gamma=0.9, episode_length=10, like_reward=10, dislike_reward=-5)
    lines = text.splitlines()
    assert len(lines) == 5 and all(line.startswith("* ") for line in lines)
    assert "our update gives 1.900, the slides give 1.918" in lines[0]
    assert "every policy, the oracle included, earns 2.50 per step" in lines[1]
    assert "recommends Pop from 2 of 3 states by a majority of seeds and reaches 75.0% of the oracle" in lines[2]
    assert "settles into Pop → Rock → Pop and earns 25.0% of the oracle (± 12.5 points" in lines[3]
    assert "Q-learning with γ = 0.9 settles into Classical → Jazz → Classical and earns 90.0%" in lines[3]
    assert "largest learned Q-value is 56.0 (pop lover" in lines[4] and "20 times the slides' largest" in lines[4]
    assert "r / (1 − γ) = 80.0 for the oracle's 8.00 per step" in lines[4]
    exact = prose_genre.comparison_with_slides(
        example_update=1.918, rewards=rewards[rewards.user != "transition"], q_policy=q_policy,
        bandit_policy=bandit, q_values=pd.DataFrame(columns=["user", "max_q"]), favourites={"pop_lover": "Pop"},
        gamma=0.9, episode_length=10, like_reward=10, dislike_reward=-5)
    assert "as the slides do" in exact and "Transition" not in exact and "Q-value" not in exact


def test_the_slides_numbers_come_from_the_published_table():
    assert prose_genre.SLIDES_EXAMPLE_UPDATE == 1.918 and prose_genre.SLIDES_Q_RANGE == (0.3, 2.8)
