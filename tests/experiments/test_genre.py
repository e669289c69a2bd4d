import pandas as pd

from musicrec.experiments import genre
from musicrec.profiles import load_profile


def _budget():
    budget = load_profile("genre", "smoke")
    budget.update(users=["pop_lover", "transition"], seeds=[0, 1], episodes=200)
    return budget


def test_same_seed_same_numbers(tmp_path):
    budget = _budget()
    first = genre.run_study(budget, tmp_path / "a")
    second = genre.run_study(budget, tmp_path / "b")
    for a, b in zip(first.run, second.run):
        pd.testing.assert_frame_equal(a.metrics(), b.metrics())
        pd.testing.assert_frame_equal(genre.q_table(a), genre.q_table(b))


def test_policy_table_has_every_policy_and_oracle_is_best(tmp_path):
    budget = _budget()
    study = genre.run_study(budget, tmp_path)
    table = genre.summarise_policy_rewards(genre.policy_rewards(study, budget))
    assert set(table.policy) == {"random", "bandit", "q_learning", "oracle"}
    for _, group in table.groupby("user"):
        oracle = group.set_index("policy")["mean"]["oracle"]
        assert (group["mean"] <= oracle + 1e-9).all()
    assert (table.seeds == 2).all()


def test_second_study_reuses_finished_runs(tmp_path):
    budget = _budget()
    first = genre.run_study(budget, tmp_path)
    stamps = [run.info()["started"] for run in first.run]
    second = genre.run_study(budget, tmp_path)
    assert [run.info()["started"] for run in second.run] == stamps


def _policy(user, mapping, agree="5/5"):
    return pd.DataFrame([{"user": user, "now_playing": state, "recommend": pick, "seeds_agreeing": agree}
                         for state, pick in mapping.items()])


def _rewards(rows):
    return pd.DataFrame(rows, columns=["user", "policy", "mean", "std", "seeds", "pct_of_oracle"])


def test_policy_cycle_follows_the_greedy_choices():
    policy = {"A": "B", "B": "C", "C": "B", "D": "A"}
    assert genre.policy_cycle(policy, "D") == ["B", "C", "B"]
    assert genre.policy_cycle({"A": "A"}, "A") == ["A", "A"]


def test_comparison_with_slides_is_written_from_the_tables():
    rewards = _rewards([
        ("generic", "random", 2.5, 0.0, 3, 100.0), ("generic", "oracle", 2.5, 0.0, 3, 100.0),
        ("pop_lover", "q_learning", 6.0, 0.0, 3, 75.0), ("pop_lover", "oracle", 8.0, 0.0, 3, 100.0),
        ("transition", "bandit", 2.0, 1.0, 3, 25.0), ("transition", "q_learning", 7.2, 0.0, 3, 90.0),
        ("transition", "oracle", 8.0, 0.0, 3, 100.0)])
    q_policy = pd.concat([_policy("pop_lover", {"Pop": "Pop", "Rock": "Pop", "Jazz": "Rock"}, "2/3"),
                          _policy("transition", {"Pop": "Jazz", "Jazz": "Classical", "Classical": "Jazz"})])
    bandit = _policy("transition", {"Pop": "Rock", "Rock": "Pop", "Jazz": "Pop", "Classical": "Jazz"})
    text = genre.comparison_with_slides(
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
    exact = genre.comparison_with_slides(
        example_update=1.918, rewards=rewards[rewards.user != "transition"], q_policy=q_policy,
        bandit_policy=bandit, q_values=pd.DataFrame(columns=["user", "max_q"]), favourites={"pop_lover": "Pop"},
        gamma=0.9, episode_length=10, like_reward=10, dislike_reward=-5)
    assert "as the slides do" in exact and "Transition" not in exact and "Q-value" not in exact


def test_favourite_genres_are_those_of_profiled_listeners():
    assert genre.favourite_genres(["generic", "pop_lover", "transition"]) == {"pop_lover": "Pop"}


def test_two_identical_runs_write_byte_identical_metrics(tmp_path):
    budget = _budget()
    first = genre.train_run("transition", "q_learning", 0, budget, tmp_path / "a")
    second = genre.train_run("transition", "q_learning", 0, budget, tmp_path / "b")
    assert (first.path / "metrics.csv").read_bytes() == (second.path / "metrics.csv").read_bytes()
