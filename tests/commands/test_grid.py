import pytest

from musicrec.cli import main


def _last_line(capsys):
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_grid_optimum_prints_the_number_last(capsys):
    assert main(["grid", "optimum", "--dims", "1", "--levels", "3", "--target", "top"]) == 0
    assert float(_last_line(capsys)) == pytest.approx(620 / 3, rel=1e-5)


def test_grid_optimum_reports_bounds_when_stopped(capsys):
    assert main(["grid", "optimum", "--dims", "2", "--target", "top", "--reward", "rating",
                 "--node-limit", "1"]) == 0
    text = capsys.readouterr().out
    assert "NOT exact" in text and "proven bounds" in text
    assert float(text.strip().splitlines()[-1]) >= 315.36


def test_grid_rule_prints_the_number_last(capsys):
    assert main(["grid", "rule", "--dims", "2", "--target", "top", "--action", "factored"]) == 0
    assert float(_last_line(capsys)) == pytest.approx(194.0)


@pytest.mark.parametrize("argv, message", [
    (["grid", "rule", "--obs", "pixels"], "argument --obs: invalid choice: 'pixels'"),
    (["grid", "optimum", "--levels", "1"], "argument --levels: 1 must be >= 2"),
    (["grid", "optimum", "--target", "centre"], "argument --target: invalid choice: 'centre'"),
    (["grid", "optimum", "--episode-length", "1e9"], "argument --episode-length: 1e9 must be <= 10000"),
    (["grid", "optimum", "--time-limit", "0"], "argument --time-limit: 0 must be > 0"),
    (["grid", "optimum", "--time-limit", "nan"], "argument --time-limit: 'nan' is not a finite number"),
    (["grid", "optimum", "--node-limit", "2.5"], "argument --node-limit: '2.5' is not an integer"),
    (["grid", "rule", "--dims", "6", "--levels", "64"], "dims=6, levels=64 gives more than"),
])
def test_bad_input_gives_exit_code_2_and_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_grid_optimum_time_limit_reports_the_real_time_and_the_bounds(capsys):
    import re
    import time

    started = time.perf_counter()
    assert main(["grid", "optimum", "--dims", "4", "--target", "top", "--time-limit", "1"]) == 0
    elapsed = time.perf_counter() - started
    text = capsys.readouterr().out
    assert "NOT exact (the time limit stopped the search)" in text and "proven bounds [" in text
    reported = float(re.search(r"([0-9.]+) s in all", text).group(1))
    assert reported == pytest.approx(elapsed, abs=0.5) and elapsed < 2.5
