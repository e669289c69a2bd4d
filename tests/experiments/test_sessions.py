"""Notebooks 14-15's experiment layer: tables, cached runs, determinism, the real-data switch."""

import numpy as np
import pandas as pd
import pytest

from musicrec.data.session_simulator import SimulatorConfig, simulate_sessions
from musicrec.errors import ParameterError
from musicrec.experiments import sessions
from musicrec.profiles import load_profile

TABLE_COLUMNS = ["model", "seeds", "train_maa", "test_maa", "test_first_acc", "train_loss", "test_loss"]


@pytest.fixture(scope="module")
def budget():
    budget = load_profile("sessions", "smoke")
    budget.update(skip_models=["lstm", "ddpg_noise"], sequence_models=["lstm"],
                  sequence_baselines=["most_popular", "common_continuation"])
    return budget


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def data(budget, runs):
    return sessions.load_data(budget, runs)


def test_skip_table_has_the_issue_columns_and_rule_rows(budget, runs, data):
    study = sessions.run_study("skip", data, budget, runs, progress=False)
    table = sessions.skip_table(study, data)
    assert list(table.columns) == TABLE_COLUMNS
    labels = list(table.model)
    assert labels[:4] == ["Baseline (predict all skipped)", "First-half majority", "Oracle (true p > 0.5)",
                          "Oracle without the second half's skips"]
    assert {"Standard LSTM (SKIP token)", "DDPG with mask noise"} <= set(labels)
    assert table[["test_maa", "test_first_acc"]].apply(lambda c: c.between(0, 1)).all().all()
    oracle = table.set_index("model").loc["Oracle (true p > 0.5)"]
    assert np.isfinite(oracle.test_loss)
    assert np.isnan(table.set_index("model").loc["DDPG with mask noise", "test_loss"])
    # the baseline's MAA equals the metric applied by hand to all-skipped predictions
    test = data.test
    from musicrec.metrics import mean_average_accuracy
    by_hand = mean_average_accuracy(test.second_skips.astype(float), test.second_mask)
    assert table.test_maa[0] == pytest.approx(by_hand)
    # skip runs write challenge-format predictions the CLI can score
    predictions = pd.read_csv(study.run[0].file("test_predictions.csv"))
    assert list(predictions.columns) == ["session_id", "session_position", "skip_pred"]
    assert len(predictions) == int(test.n_second.sum())


def test_finished_runs_are_reused_and_seeds_reproduce(budget, runs, data, tmp_path):
    first = sessions.model_run("skip", "lstm", data, budget, 0, runs)
    again = sessions.model_run("skip", "lstm", data, budget, 0, runs)
    assert again.info()["started"] == first.info()["started"]
    elsewhere = sessions.model_run("skip", "lstm", data, budget, 0, tmp_path)
    pd.testing.assert_frame_equal(pd.read_csv(first.file("summary.csv")),
                                  pd.read_csv(elsewhere.file("summary.csv")))


def test_sequence_tables(budget, runs, data):
    study = sessions.run_study("sequence", data, budget, runs, progress=False)
    baselines = sessions.sequence_baseline_study(data, budget, runs)
    table = sessions.sequence_table(study, baselines)
    assert list(table.columns) == TABLE_COLUMNS
    assert list(table.model) == ["Most popular", "Continue the most common playlist", "LSTM seq2seq"]
    positions = sessions.position_table(study, baselines, data)
    assert list(positions.columns) == ["model", "T=1", "T=3", "T=5", "T=7", "T=9"]
    counts = sessions.count_table(study, baselines, data)
    assert np.allclose(counts.drop(columns="model").sum(axis=1), 1.0)


def test_real_mssd_files_switch(budget, tmp_path):
    sim = simulate_sessions(SimulatorConfig(n_sessions=80, n_users=20, n_tracks=100, n_playlists=5), seed=9)
    sim.log.to_csv(tmp_path / "log_mini.csv", index=False)
    sim.track_features.to_csv(tmp_path / "tf_mini.csv", index=False)
    real = sessions.load_data(budget, tmp_path / "runs", mssd_log=tmp_path / "log_mini.csv",
                              mssd_tracks=tmp_path / "tf_mini.csv")
    assert real.source == "mssd" and real.test.skip_probability is None
    assert len(real.train) + len(real.test) == 80
    assert np.isnan(sessions.oracle_maa(real))
    sim.track_features.iloc[5:].to_csv(tmp_path / "tf_short.csv", index=False)
    with pytest.raises(ParameterError, match="is missing from the track features"):
        sessions.load_data(budget, tmp_path / "runs", mssd_log=tmp_path / "log_mini.csv",
                           mssd_tracks=tmp_path / "tf_short.csv")
    with pytest.raises(ParameterError, match="needs mssd_tracks"):
        sessions.load_data(budget, tmp_path / "runs", mssd_log=tmp_path / "log_mini.csv")


def test_unknown_model_is_named(budget, runs, data):
    with pytest.raises(ParameterError, match="skip model='gpt'"):
        sessions.model_run("skip", "gpt", data, budget, 0, runs)
