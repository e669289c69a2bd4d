"""``musicrec sessions maa``: prints MAA and first-prediction accuracy, MAA alone on the last line."""

import pandas as pd
import pytest

from musicrec.cli import main


def _write(tmp_path):
    truth = pd.DataFrame({
        "session_id": ["a"] * 4 + ["b"] * 5,
        "session_position": [1, 2, 3, 4, 1, 2, 3, 4, 5],
        "session_length": [4] * 4 + [5] * 5,
        "skip_2": [True, False, True, False, False, True, False, False, True],
    })
    pred = pd.DataFrame({"session_id": ["a", "a", "b", "b", "b"], "session_position": [3, 4, 3, 4, 5],
                         "skip_pred": [1, 1, 1, 0, 1]})
    truth.to_csv(tmp_path / "truth.csv", index=False)
    pred.to_csv(tmp_path / "pred.csv", index=False)
    return pred


def _maa(tmp_path):
    return main(["sessions", "maa", "--truth", str(tmp_path / "truth.csv"), "--pred", str(tmp_path / "pred.csv")])


def test_maa_last_line_is_the_number(tmp_path, capsys):
    _write(tmp_path)
    assert _maa(tmp_path) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert float(lines[-1]) == pytest.approx((1 / 2 + 7 / 18) / 2, abs=1e-6)
    assert "first-prediction accuracy: 0.500000" in lines


def test_missing_row_exits_2_and_names_it(tmp_path, capsys):
    pred = _write(tmp_path)
    pred.drop(index=4).to_csv(tmp_path / "pred.csv", index=False)
    assert _maa(tmp_path) == 2
    assert "session b position 5" in capsys.readouterr().err


def test_non_binary_prediction_exits_2(tmp_path, capsys):
    pred = _write(tmp_path)
    pred.assign(skip_pred=[1, 2, 1, 0, 1]).to_csv(tmp_path / "pred.csv", index=False)
    assert _maa(tmp_path) == 2
    assert "skip_pred=2" in capsys.readouterr().err


def test_simulate_then_score_a_log_against_itself(tmp_path, capsys):
    assert main(["sessions", "simulate", "--out", str(tmp_path), "--sessions", "30", "--users", "10",
                 "--tracks", "100"]) == 0
    log = pd.read_csv(tmp_path / "log_simulated.csv")
    second = log[2 * log.session_position > log.session_length]
    pred = second.assign(skip_pred=second.skip_2.astype(int))[["session_id", "session_position", "skip_pred"]]
    pred.to_csv(tmp_path / "pred.csv", index=False)
    capsys.readouterr()
    assert main(["sessions", "maa", "--truth", str(tmp_path / "log_simulated.csv"),
                 "--pred", str(tmp_path / "pred.csv")]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "1.000000"
