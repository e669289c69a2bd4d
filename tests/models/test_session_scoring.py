"""Per-split scores of the session models (rules, stored probabilities) and the widening grid search."""

import numpy as np
import pytest

from musicrec.data.session_simulator import SimulatorConfig, simulate_sessions
from musicrec.data.sessions import prepare_sessions
from musicrec.errors import ParameterError
from musicrec.metrics import mean_average_accuracy
from musicrec.models.scoring import SUMMARY_COLUMNS, probability_scores, rule_scores
from musicrec.models.selection import widening_search


@pytest.fixture(scope="module")
def data():
    sim = simulate_sessions(SimulatorConfig(n_sessions=80, n_users=20, n_tracks=100, n_playlists=5), seed=4)
    return prepare_sessions(sim.log, sim.track_features, source="simulated", key={}, split_seed=0,
                            test_fraction=0.2, validation_fraction=0.2, skip_probability=sim.skip_probability,
                            marginal_probability=sim.marginal_probability)


def test_rule_scores_are_keyed_by_split(data):
    scores = rule_scores("all_skipped", data)
    assert list(scores) == ["train_maa", "train_first_acc", "train_loss", "val_maa", "val_first_acc", "val_loss",
                            "test_maa", "test_first_acc", "test_loss"]
    assert scores["test_maa"] == pytest.approx(mean_average_accuracy(data.test.second_skips.astype(float),
                                                                     data.test.second_mask))
    assert np.isnan(scores["test_loss"]) and np.isfinite(rule_scores("oracle", data)["test_loss"])
    with pytest.raises(ParameterError, match="rule='majority'"):
        rule_scores("majority", data)


def test_probability_scores_read_stored_probabilities(data, tmp_path):
    for part, arrays in (("val", data.valid), ("test", data.test)):
        probability = np.where(arrays.second_mask, arrays.skip_probability, np.nan)
        np.savetxt(tmp_path / f"{part}_probability.csv", probability, delimiter=",")
    scores = probability_scores(data, tmp_path)
    assert set(scores) == set(SUMMARY_COLUMNS) and np.isnan(scores["train_maa"])
    oracle = rule_scores("oracle", data)
    assert scores["test_maa"] == pytest.approx(oracle["test_maa"])
    assert scores["test_loss"] == pytest.approx(oracle["test_loss"])


def test_a_grid_is_widened_until_the_choice_is_inside():
    values = {1e-3: 0.5, 3e-3: 0.6, 9e-3: 0.7, 0.027: 0.65}
    rounds = []

    def score(pending):
        rounds.append(pending)
        return [{"val_maa": values[lr]} for _, lr in pending]

    found = widening_search({"lstm": [3e-3, 1e-3]}, score, factor=3.0, steps=3)["lstm"]
    assert found.grid == [1e-3, 3e-3, 9e-3, 0.027] and found.best == 9e-3 and not found.at_edge
    assert rounds == [[("lstm", 1e-3), ("lstm", 3e-3)], [("lstm", 9e-3)], [("lstm", 0.027)]]
    values[0.027] = 0.9
    assert widening_search({"lstm": [1e-3, 3e-3]}, score, factor=3.0, steps=1)["lstm"].at_edge
    with pytest.raises(ParameterError, match="factor=1.0"):
        widening_search({"lstm": [1e-3]}, score, factor=1.0)
