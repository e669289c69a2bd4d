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


def test_the_cache_key_holds_the_code_that_computes_a_run():
    from musicrec.runs import code_fingerprint

    budget = _budget()
    config = genre.run_config("pop_lover", "q_learning", 0, budget)
    assert config["code"] == code_fingerprint(*genre.RESULT_MODULES) and "numpy" in config["versions"]


def test_favourite_genres_are_those_of_profiled_listeners():
    assert genre.favourite_genres(["generic", "pop_lover", "transition"]) == {"pop_lover": "Pop"}


def test_two_identical_runs_write_byte_identical_metrics(tmp_path):
    budget = _budget()
    first = genre.train_run("transition", "q_learning", 0, budget, tmp_path / "a")
    second = genre.train_run("transition", "q_learning", 0, budget, tmp_path / "b")
    assert (first.path / "metrics.csv").read_bytes() == (second.path / "metrics.csv").read_bytes()
