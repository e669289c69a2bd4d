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
    budget.update(skip_models=["lstm", "lstm_covariates", "ddpg_noise"], sequence_models=["lstm"],
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


def test_skip_curve_references_are_the_rules_on_the_curves_sessions(budget, data):
    references = sessions.skip_reference_curve_maa(data, budget)
    assert list(references) == ["Baseline (predict all skipped)", "First-half majority", "Oracle (true p > 0.5)"]
    curve_valid = data.valid.subset(slice(0, int(budget["eval_valid"])))
    from musicrec.metrics import mean_average_accuracy
    by_hand = mean_average_accuracy(curve_valid.second_skips.astype(float), curve_valid.second_mask)
    assert references["Baseline (predict all skipped)"] == pytest.approx(by_hand)
    assert references["Oracle (true p > 0.5)"] >= references["First-half majority"] - 0.05


def test_finished_runs_are_reused_and_seeds_reproduce(budget, runs, data, tmp_path):
    first = sessions.model_run("skip", "lstm", data, budget, 0, runs)
    again = sessions.model_run("skip", "lstm", data, budget, 0, runs)
    assert again.info()["started"] == first.info()["started"]
    elsewhere = sessions.model_run("skip", "lstm", data, budget, 0, tmp_path)
    pd.testing.assert_frame_equal(pd.read_csv(first.file("summary.csv")),
                                  pd.read_csv(elsewhere.file("summary.csv")))


def test_the_cache_keys_hold_the_code_that_computes_the_runs(budget, runs, data):
    from musicrec.runs import Run, code_fingerprint

    data_run = sessions.simulated_data_run(budget, runs)
    assert data_run.config["code"] == code_fingerprint(*sessions.DATA_MODULES)
    assert data.key["data_run"] == data_run.path.name  # every model run's key holds the data run's
    model = sessions.model_run("skip", "lstm", data, budget, 0, runs)
    baseline = sessions.sequence_baseline_run("most_popular", data, budget, runs)
    for run in (model, baseline):
        assert run.config["code"] == code_fingerprint(*sessions.MODEL_MODULES)
        assert set(run.config["versions"]) >= {"python", "numpy", "torch"}
    # the model code covers the simulator's: what changes the sessions changes every run on them
    assert set(sessions.DATA_MODULES) <= set(sessions.MODEL_MODULES)
    edited = Run(runs, model.kind, {**model.config, "code": "0" * 12}, name=model.path.name.rsplit("-", 1)[0])
    assert edited.path != model.path and not edited.finished


def test_sequence_tables(budget, runs, data):
    study = sessions.run_study("sequence", data, budget, runs, progress=False)
    baselines = sessions.sequence_baseline_study(data, budget, runs)
    table = sessions.sequence_table(study, baselines)
    assert list(table.columns) == TABLE_COLUMNS
    assert list(table.model) == ["Most popular", "Continue the most common playlist", sessions.CEILING_LABEL,
                                 "LSTM seq2seq"]
    # the ceiling bounds every model and heuristic, overall and per kind of session
    ceiling = table.set_index("model").test_maa[sessions.CEILING_LABEL]
    assert (table.test_maa.drop(index=2) <= ceiling + 1e-12).all()
    by_kind = sessions.maa_by_session_kind(study, baselines, data)
    per_kind = by_kind.pivot(index="model", columns="session_kind", values="test_maa")
    assert (per_kind.drop(index=sessions.CEILING_LABEL) <= per_kind.loc[sessions.CEILING_LABEL] + 1e-12).all().all()
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
    assert sessions.population_bayes_run(real, budget, tmp_path / "runs") is None
    assert len(real.train) + len(real.valid) + len(real.test) == 80
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


def test_validation_sessions_are_held_out_of_training(data):
    ids = [set(part.session_id) for part in (data.train, data.valid, data.test)]
    assert not ids[0] & ids[1] and not ids[0] & ids[2] and not ids[1] & ids[2]
    assert len(data.valid) == round(0.2 * (len(data.train) + len(data.valid)))
    assert data.summary["validation_sessions"] == len(data.valid)


def test_learning_rates_are_chosen_on_validation(budget, runs, data):
    grid = {**budget, "training": {**budget["training"], "skip_lr": [1e-4, 2e-2]}}
    selection = sessions.select_learning_rates("skip", data, grid, runs, progress=False)
    assert list(selection.columns) == ["model", "lr", "val_maa", "val_loss", "epochs", "best_epoch", "chosen",
                                       "at_edge"]
    assert set(selection.model) == {"lstm", "lstm_covariates"}  # DDPG keeps its preset
    for _, group in selection.groupby("model"):
        assert group.chosen.sum() == 1
        assert group.loc[group.chosen, "val_maa"].iloc[0] == group.val_maa.max()
    # the study reuses the chosen first-seed run; a list of rates without a choice is an error
    study = sessions.run_study("skip", data, grid, runs, progress=False, selection=selection)
    chosen = selection[selection.chosen].set_index("model").lr
    assert (study[study.model == "lstm"].lr == chosen["lstm"]).all()
    with pytest.raises(ParameterError, match="choose one with select_learning_rates"):
        sessions.model_run("skip", "lstm", data, grid, 0, runs)


def test_bayes_reference_row(budget, runs, data):
    bayes = sessions.population_bayes_run(data, budget, runs, samples=200, mood_points=3)
    probability = np.loadtxt(bayes.file("test_probability.csv"), delimiter=",")
    assert probability.shape == (len(data.test), 10)
    assert np.array_equal(~np.isnan(probability), data.test.second_mask)
    study = sessions.run_study("skip", data, budget, runs, progress=False)
    table = sessions.skip_table(study, data, bayes).set_index("model")
    row = table.loc[sessions.BAYES_LABEL]
    assert 0 < row.test_maa < 1 and np.isfinite(row.test_loss)
    assert row.test_loss >= table.loc["Oracle (true p > 0.5)", "test_loss"] - 0.05


def test_a_grid_is_widened_until_the_choice_is_inside(budget, runs, data, monkeypatch):
    """With ``lr_widen``, a choice at an edge adds the next value beyond it (scores faked by lr)."""
    tried = []
    real_task = sessions.model_task

    def fake_task(task, model, data, budget, seed, runs_dir, *, lr=None, progress=False):
        tried.append(lr)
        run, work = real_task(task, model, data, {**budget, "training": {**budget["training"], "skip_lr": 2e-3}},
                              seed, runs_dir)
        run.lr = lr  # what the faked score reads
        return run, work

    scores = {1e-3: 0.5, 3e-3: 0.6, 9e-3: 0.7, 0.027: 0.65}
    monkeypatch.setattr(sessions, "model_task", fake_task)
    monkeypatch.setattr(sessions, "selection_score", lambda run: {"val_maa": scores[run.lr], "val_loss": 0.0,
                                                                    "epochs": 1, "best_epoch": 1})
    grid = {**budget, "n_jobs": 1, "training": {**budget["training"], "skip_lr": [1e-3, 3e-3],
                                                 "lr_widen": {"factor": 3.0, "steps": 3}}}
    selection = sessions.select_learning_rates("skip", data, grid, runs, models=["lstm"], progress=False)
    assert selection.lr.tolist() == [1e-3, 3e-3, 9e-3, 0.027]
    chosen = selection[selection.chosen].iloc[0]
    assert chosen.lr == 9e-3 and not chosen.at_edge
    capped = {**grid, "training": {**grid["training"], "lr_widen": {"factor": 3.0, "steps": 1}}}
    scores[0.027] = 0.9
    selection = sessions.select_learning_rates("skip", data, capped, runs, models=["lstm"], progress=False)
    assert selection[selection.chosen].iloc[0].at_edge


def test_metrics_are_byte_identical_for_the_same_seed_and_timings_apart(budget, data, tmp_path):
    first = sessions.model_run("skip", "lstm", data, budget, 0, tmp_path / "a")
    second = sessions.model_run("skip", "lstm", data, budget, 0, tmp_path / "b")
    assert first.file("metrics.csv").read_bytes() == second.file("metrics.csv").read_bytes()
    assert "time_s" not in pd.read_csv(first.file("metrics.csv")).columns
    assert list(pd.read_csv(first.file("timings.csv")).columns) == ["epoch", "time_s"]


def test_real_files_are_keyed_by_their_content(budget, tmp_path):
    sim = simulate_sessions(SimulatorConfig(n_sessions=60, n_users=20, n_tracks=100, n_playlists=5), seed=3)
    log = tmp_path / "log_mini.csv"
    sim.log.to_csv(log, index=False)
    sim.track_features.to_csv(tmp_path / "tf_mini.csv", index=False)
    key = sessions.load_data(budget, tmp_path / "runs", mssd_log=log, mssd_tracks=tmp_path / "tf_mini.csv").key
    size = log.stat().st_size
    # the same size, another content: shuffled skips
    shuffled = sim.log.assign(skip_2=np.random.default_rng(0).permutation(sim.log.skip_2.to_numpy()))
    shuffled.to_csv(log, index=False)
    assert log.stat().st_size == size
    again = sessions.load_data(budget, tmp_path / "runs", mssd_log=log, mssd_tracks=tmp_path / "tf_mini.csv").key
    assert again["log_sha256"] != key["log_sha256"] and again["tracks_sha256"] == key["tracks_sha256"]


def test_epoch_budgets_are_a_number_or_a_mapping_with_a_default(budget):
    per_model = {**budget, "training": {**budget["training"], "sequence_epochs": {"default": 4, "sasrec": 9}}}
    assert sessions.epoch_budget("sequence", "sasrec", per_model) == 9
    assert sessions.epoch_budget("sequence", "lstm", per_model) == 4
    assert sessions.epoch_budget("skip", "lstm", budget) == int(budget["training"]["skip_epochs"])
    no_default = {**budget, "training": {**budget["training"], "sequence_epochs": {"sasrec": 9}}}
    with pytest.raises(ParameterError, match="no epoch budget for 'lstm'"):
        sessions.epoch_budget("sequence", "lstm", no_default)
    for bad in ("many", 0):
        broken = {**budget, "training": {**budget["training"], "skip_epochs": bad}}
        with pytest.raises(ParameterError, match="skip_epochs"):
            sessions.epoch_budget("skip", "lstm", broken)


def test_ddpg_step_budgets_are_a_number_or_a_mapping_with_a_default(budget):
    per_model = {**budget, "training": {**budget["training"], "ddpg_sequence_steps": {"default": 700, "ddpg_wide": 900}}}
    assert sessions.ddpg_steps("sequence", "ddpg_wide", per_model) == 900
    assert sessions.ddpg_steps("sequence", "ddpg", per_model) == 700
    agent, _ = sessions.ddpg_specs("sequence", "ddpg_wide", per_model)
    assert agent["total_timesteps"] == 900 and agent["hyperparams"]["gamma"] == 0.0
    paper, _ = sessions.ddpg_specs("sequence", "ddpg", per_model)
    assert "hyperparams" not in paper  # the paper's variants keep ddpg_mask.yml's settings
    no_default = {**budget, "training": {**budget["training"], "ddpg_sequence_steps": {"ddpg_wide": 900}}}
    with pytest.raises(ParameterError, match="no step budget for 'ddpg'"):
        sessions.ddpg_steps("sequence", "ddpg", no_default)


def test_a_models_epoch_budget_enters_its_runs_config_and_no_others(budget, data, runs):
    per_model = {**budget, "training": {**budget["training"], "skip_epochs": {"default": 1, "lstm_covariates": 3}}}
    for model, epochs in (("lstm", 1), ("lstm_covariates", 3)):
        run, _ = sessions.model_task("skip", model, data, per_model, 0, runs, lr=2e-3)
        same, _ = sessions.model_task("skip", model, data, {**per_model, "training": {**budget["training"],
                                                                                    "skip_epochs": epochs}}, 0, runs,
                                      lr=2e-3)
        assert run.config["training"]["epochs"] == epochs and run.hash == same.hash


def test_a_run_that_keeps_its_last_epoch_is_reported_as_stopped_by_the_budget(budget, data, tmp_path):
    one_epoch = {**budget, "skip_models": ["lstm"], "training": {**budget["training"], "skip_epochs": 1}}
    study = sessions.run_study("skip", data, one_epoch, tmp_path, progress=False)
    assert sessions.stopped_by_the_budget(study, "skip", one_epoch) == ["lstm"]  # its only epoch is kept
    larger = {**one_epoch, "training": {**one_epoch["training"], "skip_epochs": {"default": 1, "lstm": 2}}}
    assert sessions.stopped_by_the_budget(study, "skip", larger) == []  # 1 epoch of 2: not the budget's end


def test_the_epochs_phrase_names_the_common_budget_and_the_others():
    from musicrec.prose.sessions import epochs_phrase

    assert epochs_phrase({"LSTM": 30, "GRU4Rec": 30, "SASRec": 80}) == "at most 30 epochs (SASRec 80)"
    assert epochs_phrase({"LSTM": 10}) == "at most 10 epochs"


def test_epoch_budgets_cover_the_profiles_neural_models_only(budget):
    budgets = sessions.epoch_budgets("skip", budget)
    assert list(budgets) == [m for m in budget["skip_models"] if not m.startswith("ddpg")]
    assert set(budgets.values()) == {int(budget["training"]["skip_epochs"])}
