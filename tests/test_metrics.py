"""Mean Average Accuracy: known answers computed by hand, properties, the table format and bad input."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicrec.errors import ParameterError
from musicrec.metrics import (
    accuracy_at_positions,
    average_accuracies,
    average_accuracy,
    correct_count_distribution,
    first_prediction_accuracy,
    mean_average_accuracy,
    second_half_mask,
    skip_scores,
)


@pytest.mark.parametrize("correct, expected", [
    ([1, 1, 1, 1], 1.0),
    ([0, 0, 0], 0.0),
    ([1, 0], (1 / 1 + 0) / 2),                                  # A = 1, 1/2
    ([0, 1], (0 + 1 / 2) / 2),                                  # A = 0, 1/2
    ([1, 0, 1], (1 / 1 + 0 + 2 / 3) / 3),                       # 5/9
    ([0, 1, 1, 0, 1], (0 + 1 / 2 + 2 / 3 + 0 + 3 / 5) / 5),    # 0.35333
    ([1, 1, 0, 0, 0, 0, 0, 0, 0, 0], (1 + 1) / 10),
    ([0, 0, 0, 0, 0, 0, 0, 0, 1, 1], (1 / 9 + 2 / 10) / 10),
])
def test_average_accuracy_known_answers(correct, expected):
    assert average_accuracy(correct) == pytest.approx(expected)


def test_hand_values_written_out():
    assert average_accuracy([1, 0, 1]) == pytest.approx(5 / 9)
    assert average_accuracy([0, 1, 1, 0, 1]) == pytest.approx(0.353333, abs=1e-6)


def test_early_right_answers_weigh_more():
    assert average_accuracy([1, 0]) > average_accuracy([0, 1])


def test_maa_with_padding_averages_sessions():
    correct = [[1, 0, 1], [0, 1, 0]]
    mask = [[1, 1, 1], [1, 1, 0]]        # second session has T = 2
    assert mean_average_accuracy(correct, mask) == pytest.approx((5 / 9 + 1 / 4) / 2)
    assert first_prediction_accuracy(correct, mask) == 0.5


def test_positions_and_count_distribution():
    correct = np.array([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 1, 1]])
    mask = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 1, 1]], dtype=bool)
    assert accuracy_at_positions(correct, mask, (1, 3, 4)) == {1: pytest.approx(2 / 3), 3: 1.0, 4: 1.0}
    np.testing.assert_allclose(correct_count_distribution(correct, mask, max_count=4),
                               [0, 1 / 3, 0, 1 / 3, 1 / 3])


def _reference(correct):
    total, right = 0.0, 0
    for i, c in enumerate(correct, start=1):
        right += c
        total += (right / i) * c
    return total / len(correct)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 1), min_size=1, max_size=10))
def test_matches_a_plain_loop_and_is_bounded_by_accuracy(correct):
    value = average_accuracy(correct)
    assert value == pytest.approx(_reference(correct))
    assert 0.0 <= value <= np.mean(correct) + 1e-12
    assert (value == 1.0) == all(correct)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(0, 1), min_size=1, max_size=10), min_size=1, max_size=8))
def test_padded_matrix_equals_per_session_values(sessions):
    width = max(len(s) for s in sessions)
    correct = np.zeros((len(sessions), width))
    mask = np.zeros_like(correct, dtype=bool)
    for i, s in enumerate(sessions):
        correct[i, : len(s)], mask[i, : len(s)] = s, True
    np.testing.assert_allclose(average_accuracies(correct, mask), [_reference(s) for s in sessions])


def test_second_half_rule():
    assert second_half_mask([10, 11, 20], 20).tolist() == [False, True, True]
    assert second_half_mask([7, 8, 15], 15).tolist() == [False, True, True]   # 15 tracks: T = 8
    assert second_half_mask([5, 6], 11).tolist() == [False, True]


def test_bad_matrices_are_named():
    with pytest.raises(ParameterError, match="must be 0 or 1"):
        average_accuracies([[1, 0.5]])
    with pytest.raises(ParameterError, match="not right-padded"):
        average_accuracies([[1, 0]], [[0, 1]])
    with pytest.raises(ParameterError, match="no prediction"):
        average_accuracies([[1, 0]], [[0, 0]])


# -- the challenge's table format --------------------------------------------------------------------
def _truth():
    # session a: length 4, second half = positions 3, 4; session b: length 5, second half = 3, 4, 5
    return pd.DataFrame({
        "session_id": ["a"] * 4 + ["b"] * 5,
        "session_position": [1, 2, 3, 4, 1, 2, 3, 4, 5],
        "session_length": [4] * 4 + [5] * 5,
        "skip_2": [True, False, True, False, False, True, False, False, True],
    })


def _pred():
    return pd.DataFrame({"session_id": ["a", "a", "b", "b", "b"], "session_position": [3, 4, 3, 4, 5],
                         "skip_pred": [1, 1, 1, 0, 1]})


def test_skip_scores_known_answer():
    # a: truth [1, 0], pred [1, 1] -> correct [1, 0] -> AA 1/2
    # b: truth [0, 0, 1], pred [1, 0, 1] -> correct [0, 1, 1] -> AA (0 + 1/2 + 2/3) / 3 = 7/18
    scores = skip_scores(_truth(), _pred())
    assert scores["maa"] == pytest.approx((1 / 2 + 7 / 18) / 2)
    assert scores["first_prediction_accuracy"] == 0.5
    assert scores["sessions"] == 2


def test_truth_may_hold_only_the_second_half_and_rows_in_any_order():
    truth = _truth()
    second = truth[2 * truth.session_position > truth.session_length].sample(frac=1, random_state=0)
    assert skip_scores(second, _pred().iloc[::-1])["maa"] == pytest.approx((1 / 2 + 7 / 18) / 2)


def test_booleans_and_strings_are_accepted():
    pred = _pred().assign(skip_pred=[True, True, True, False, True])
    assert skip_scores(_truth(), pred)["maa"] == pytest.approx((1 / 2 + 7 / 18) / 2)


def test_missing_prediction_row_is_named():
    with pytest.raises(ParameterError, match=r"lack 1 row.*session b position 4"):
        skip_scores(_truth(), _pred().drop(index=3))


def test_prediction_not_binary_is_named():
    with pytest.raises(ParameterError, match=r"row 2 \(session_id=a, session_position=4\) has skip_pred=0.7"):
        skip_scores(_truth(), _pred().assign(skip_pred=[1, 0.7, 1, 0, 1]))


def test_extra_or_repeated_prediction_rows_are_named():
    row = pd.DataFrame({"session_id": ["a"], "session_position": [1], "skip_pred": [1]})
    extra = pd.concat([_pred(), row])
    with pytest.raises(ParameterError, match=r"row 6 \(session a, position 1\) is not a second-half"):
        skip_scores(_truth(), extra)
    with pytest.raises(ParameterError, match="repeats session a position 3"):
        skip_scores(_truth(), pd.concat([_pred(), _pred().iloc[:1]]))


def test_inconsistent_truth_sessions_are_named():
    truth = _truth()
    truth.loc[5, "session_length"] = 6
    with pytest.raises(ParameterError, match="session b has inconsistent session_length"):
        skip_scores(truth, _pred())
    truth = _truth()
    truth.loc[8, "session_position"] = 7
    with pytest.raises(ParameterError, match="session b has session_position 7 outside 1..5"):
        skip_scores(truth, _pred())
    truth = _truth().drop(index=3)
    with pytest.raises(ParameterError,
                       match=r"session a \(session_length 4\) lacks second-half session_position\(s\) \[4\]"):
        skip_scores(truth, _pred())


def test_missing_columns_are_named():
    with pytest.raises(ParameterError, match=r"truth lacks the column\(s\) \['skip_2'\]"):
        skip_scores(_truth().drop(columns="skip_2"), _pred())
    with pytest.raises(ParameterError, match=r"predictions lack.*\['skip_pred'\]"):
        skip_scores(_truth(), _pred().drop(columns="skip_pred"))
