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
    (["grid", "rule", "--obs", "pixels"], "obs='pixels' is not one of"),
    (["grid", "optimum", "--levels", "1"], "levels=1 must be >= 2"),
    (["grid", "optimum", "--target", "centre"], "target='centre' is not one of"),
])
def test_bad_input_gives_exit_code_2(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err
