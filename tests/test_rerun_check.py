import subprocess

import pandas as pd
import pytest

from musicrec.errors import ParameterError
from musicrec.rerun_check import compare_table, compare_tables, interval_columns, reference_tables, summary

REFERENCE = pd.DataFrame({"experiment": ["a", "b", "c"], "seeds": [3, 3, 1],
                          "final_mean": [10.0, 20.0, 30.0], "final_ci_low": [9.0, 19.0, float("nan")],
                          "final_ci_high": [11.0, 21.0, float("nan")]})


def test_a_rerun_mean_is_identical_inside_or_outside_the_reference_interval():
    rerun = REFERENCE.assign(final_mean=[10.0, 21.5, 31.0])
    table = compare_table("t.csv", REFERENCE, rerun).set_index("row")
    assert table.identical.tolist() == [True, False, False]
    assert table.loc["a", "inside"] and not table.loc["b", "inside"]
    assert table.loc["c", "inside"] is None  # one seed: no interval to judge by
    # the interval of a rerun's mean is the interval of the mean widened by sqrt(2) for as many seeds:
    # 20 +- 1.414 holds 21.5 no more than 20 +- 1 does
    assert table.loc["b", "rerun_interval_high"] == pytest.approx(20 + 2 ** 0.5)
    assert table.loc["a", "inside_rerun_interval"] and not table.loc["b", "inside_rerun_interval"]
    assert ("3 means, 1 identical, 1 inside the reference's 95% interval of the mean, 1 outside it, "
            "1 outside the 95% interval of a rerun's mean, 1 without") in summary(table.reset_index())


def test_a_rerun_inside_the_interval_of_a_rerun_but_outside_the_interval_of_the_mean():
    # 21.2 lies beyond the interval of the mean (19-21) but within where a fresh draw of 3 seeds lands
    # (20 +- 1.41); a rerun over 12 seeds is itself more precise: 20 +- sqrt(1 + 3/12) = 20 +- 1.118
    table = compare_table("t.csv", REFERENCE, REFERENCE.assign(final_mean=[10.0, 21.2, 30.0])).set_index("row")
    assert not table.loc["b", "inside"] and table.loc["b", "inside_rerun_interval"]
    more_seeds = compare_table("t.csv", REFERENCE, REFERENCE.assign(final_mean=[10.0, 21.2, 30.0], seeds=12))
    assert more_seeds.rerun_interval_high.iloc[1] == pytest.approx(20 + 1.25 ** 0.5)
    assert more_seeds.inside_rerun_interval.tolist() == [True, False, None]
    assert "lands inside the interval of the mean about 91% of the time with 3 seeds" in summary(table)


def test_an_interval_is_computed_from_a_std_over_seeds_where_the_table_gives_none():
    reference = pd.DataFrame({"model": ["x", "y"], "seeds": [3, 3], "test_maa": [0.30, 0.10],
                              "test_maa_std": [0.01, 0.0]})
    assert interval_columns(reference) == [("test_maa", None, None, "test_maa_std")]
    table = compare_table("m.csv", reference, reference.assign(test_maa=[0.31, 0.1000001]))
    # Student-t with 2 degrees of freedom: 0.30 +- 4.30 * 0.01 / sqrt(3) = 0.30 +- 0.0248; a rerun's mean over
    # 3 fresh seeds: 0.30 +- 4.30 * 0.01 * sqrt(2/3) = 0.30 +- 0.0351
    assert table.reference_low.iloc[0] == pytest.approx(0.30 - 0.02484, abs=1e-4)
    assert table.rerun_interval_low.iloc[0] == pytest.approx(0.30 - 0.03513, abs=1e-4)
    assert table.inside.tolist() == [True, False]  # a zero spread admits only the same number


def test_rows_are_matched_by_their_settings_not_by_position():
    reference = pd.DataFrame({"agent": ["p", "p"], "lam": [1.0, 10.0], "seeds": [3, 3], "mean_reward": [1.0, 2.0],
                              "std_reward": [0.1, 0.1]})
    rerun = reference.iloc[::-1].reset_index(drop=True)
    table = compare_table("a.csv", reference, rerun)
    assert table.row.tolist() == ["p, 1.0", "p, 10.0"] and table.identical.all()
    with pytest.raises(ParameterError, match="lacks the column"):
        compare_table("a.csv", reference, rerun.drop(columns="lam"))


def test_reference_tables_from_a_git_revision_and_the_errors_a_user_can_make(tmp_path):
    repo = tmp_path / "repo"
    figures = repo / "figures"
    figures.mkdir(parents=True)
    REFERENCE.to_csv(figures / "t.csv", index=False)
    for args in (["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "t"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    REFERENCE.assign(final_mean=[10.5, 25.0, 30.0]).to_csv(figures / "t.csv", index=False)
    comparison = compare_tables(reference_tables(revision="HEAD", figures=figures), figures)
    assert comparison.inside.tolist() == [True, False, None]
    with pytest.raises(ParameterError, match="git ls-tree"):
        reference_tables(revision="no-such-revision", figures=figures)
    with pytest.raises(ParameterError, match="does not exist"):
        compare_tables({}, tmp_path / "missing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "t.csv").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ParameterError, match="not a readable CSV"):
        reference_tables(folder=tmp_path / "bad")


def test_the_compare_command_prints_the_outliers_and_writes_its_table(tmp_path, capsys):
    from musicrec.cli import main

    (tmp_path / "ref").mkdir()
    (tmp_path / "new").mkdir()
    REFERENCE.to_csv(tmp_path / "ref" / "t.csv", index=False)
    REFERENCE.assign(final_mean=[10.0, 25.0, 30.0]).to_csv(tmp_path / "new" / "t.csv", index=False)
    out = tmp_path / "comparison.csv"
    assert main(["notebook", "compare", "--reference-dir", str(tmp_path / "ref"), "--figures-dir",
                 str(tmp_path / "new"), "--csv", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "all tables: 3 means, 2 identical, 1 inside" in printed and "25.0" in printed
    assert "outside the 95% interval of a rerun's mean:" in printed
    assert pd.read_csv(out).shape[0] == 3
    assert main(["notebook", "compare", "--against", "HEAD", "--reference-dir", str(tmp_path / "ref"),
                 "--figures-dir", str(tmp_path / "new")]) == 2
    assert "not both" in capsys.readouterr().err
