"""Notebooks 14-15: skip prediction and track-sequence recommendation on listening sessions.

Configs in, cached runs out. The data are simulated sessions in the MSSD schema (written as CSV files
and read back through the MSSD loaders) or, when a user has them, the real MSSD files. Each model and
seed is one cached run (:class:`musicrec.runs.Run`) under ``runs/sessions_*``; a run writes

* ``metrics.csv``: one row per epoch (neural models), or SB3's episode log (DDPG, with ``eval.csv``
  holding the MAA curve), or one row (baselines);
* ``summary.csv``: one row, ``train_maa, val_maa, test_maa, train_first_acc, val_first_acc,
  test_first_acc, train_loss, val_loss, test_loss`` (train scores on the first ``eval_train`` training
  sessions, losses NaN where a model has none);
* ``test_correct.csv``: the 0/1 correctness of every test prediction (sessions x 10 slots) for the
  per-position tables; skip runs also write ``test_predictions.csv`` in the challenge format
  (``session_id, session_position, skip_pred``).

Sessions are split into training, validation (``validation_fraction`` of the training part) and test
sessions. Every choice is made on the validation sessions (learning rates: :func:`select_learning_rates`);
per-epoch curves are validation curves; the test sessions are scored once per finished run.

Budgets: ``musicrec/configs/profiles/sessions.yml``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from musicrec.data.sessions import (
    MAX_HALF,
    N_SPECIAL,
    SessionArrays,
    TrackVocabulary,
    check_tracks,
    encode_sessions,
    feature_matrix,
    read_log,
    read_track_features,
    split_sessions,
)
from musicrec.errors import ParameterError, check_choice
from musicrec.metrics import (
    accuracy_at_positions,
    correct_count_distribution,
    first_prediction_accuracy,
    mean_average_accuracy,
)
from musicrec.runs import Run, file_digest, write_csv_atomic
from musicrec.utils import project_path

VERSION = 3
SKIP_MODELS = {
    "lstm_no_skip": "Standard LSTM (no SKIP token)",
    "lstm": "Standard LSTM (SKIP token)",
    "lstm_word2vec": "LSTM + word2vec",
    "lstm_covariates": "LSTM + session covariates (ours)",
    "bigru": "Bidirectional GRU",
    "transformer": "Transformer",
    "bert": "BERT encoder (pretrained, fine-tuned)",
    "bert_fused": "BERT-augmented Transformer",
    "ddpg": "DDPG without noise",
    "ddpg_noise": "DDPG with mask noise",
}
SKIP_RULES = {
    "all_skipped": "Baseline (predict all skipped)",
    "first_half_majority": "First-half majority",
    "oracle": "Oracle (true p > 0.5)",
    "oracle_first_half": "Oracle without the second half's skips",
}
#: The row of :func:`population_bayes_run` in the skip table.
BAYES_LABEL = "Bayes without the listener's identity"
SEQUENCE_MODELS = {
    "lstm": "LSTM seq2seq",
    "transformer": "Transformer",
    "bert": "BERT encoder (fine-tuned)",
    "bert_fused": "BERT-augmented Transformer",
    "gru4rec": "GRU4Rec",
    "sasrec": "SASRec",
    "ddpg": "DDPG (decaying mask noise)",
    "ddpg_constant_noise": "DDPG (constant mask noise)",
    "ddpg_no_noise": "DDPG (no noise)",
}
SEQUENCE_BASELINE_LABELS = {
    "random": "Random tracks",
    "most_popular": "Most popular",
    "cooccurrence": "Item co-occurrence",
    "session_knn": "Session-kNN",
    "common_continuation": "Continue the most common playlist",
    "ceiling": "Ceiling (knows kind, playlist, offset, library)",
}
CEILING_LABEL = SEQUENCE_BASELINE_LABELS["ceiling"]
#: Rough training cost per run relative to an LSTM (the slowest are started first in parallel runs).
MODEL_COST = {"ddpg": 4.0, "ddpg_noise": 4.0, "ddpg_constant_noise": 4.0, "ddpg_no_noise": 4.0, "bert_fused": 3.0,
              "transformer": 2.5, "sasrec": 2.0, "bert": 2.0}
SUMMARY_COLUMNS = ("train_maa", "val_maa", "test_maa", "train_first_acc", "val_first_acc", "test_first_acc",
                   "train_loss", "val_loss", "test_loss")
POSITIONS = (1, 3, 5, 7, 9)

#: The paper's table 1 (skip prediction, MAA and loss in %/raw as printed), on the real MSSD.
PAPER_SKIP = pd.DataFrame([
    ("Baseline (predict all skipped)", None, 30.5, None, 0.328),
    ("Standard LSTM (no SKIP token)", 52.0, 52.1, 0.563, 0.562),
    ("Standard LSTM (SKIP token)", 60.5, 61.1, 0.527, 0.526),
    ("LSTM + word2vec", 61.2, 61.4, 0.525, 0.523),
    ("Bidirectional GRU", 61.3, 61.3, 0.520, 0.523),
    ("Transformer", 60.5, 57.1, 0.603, 0.625),
    ("BERT-augmented Transformer", 64.5, 44.1, 0.664, 0.714),
    ("DDPG without noise", None, 43.0, None, None),
    ("DDPG with mask noise", None, 43.7, None, None),
], columns=["model", "paper_train_maa", "paper_test_maa", "paper_train_loss", "paper_test_loss"])
#: The paper's table 2 (track sequences).
PAPER_SEQUENCE = pd.DataFrame([
    ("Random guessing", None, 9e-11, None, None),
    ("LSTM seq2seq", 9.78, 0.80, 7.59, 10.39),
    ("Transformer", 31.9, 17.8, 3.65, 7.62),
    ("BERT encoder (fine-tuned)", 24.3, 14.4, 3.43, 7.18),
    ("BERT-augmented Transformer", 41.3, 15.7, 1.72, 9.61),
    ("DDPG (decaying mask noise)", 38.5, 3.01, None, None),
], columns=["model", "paper_train_maa", "paper_test_maa", "paper_train_loss", "paper_test_loss"])
#: The paper's table 3 (test accuracy % at position T).
PAPER_POSITIONS = pd.DataFrame([
    ("LSTM seq2seq", 0.75, 0.60, 0.61, 0.60, 0.55),
    ("Transformer", 27.7, 21.7, 18.3, 15.6, 13.1),
    ("BERT-augmented Transformer", 24.6, 19.5, 16.5, 14.0, 11.8),
], columns=["model", *(f"T={p}" for p in POSITIONS)])
#: The paper's table 4 (% of test sessions with k correctly predicted tracks).
PAPER_COUNTS = pd.DataFrame([
    ("Transformer", 66.5, 3.4, 1.6, 1.4, 1.2, 11.1),
    ("BERT-augmented Transformer", 67.8, 3.6, 1.6, 1.2, 1.1, 9.6),
], columns=["model", "0", "2", "4", "6", "8", "10"])


# -- data -------------------------------------------------------------------------------------------
#: Where :func:`musicrec.runs.file_digest` keeps the digests of the real MSSD files it has read (in ``runs_dir``).
DIGEST_CACHE = "sessions_file_digests.json"
#: Columns that measure time: kept out of ``metrics.csv`` (in ``timings.csv``), so that two runs with the
#: same seed write byte-identical metrics.
TIMING_COLUMNS = ("time_s",)


def write_metrics(frame: pd.DataFrame, folder: Path, *, key: str | None = None) -> None:
    """``frame`` as ``metrics.csv`` without its timing columns, which go to ``timings.csv`` (with ``key``,
    the column that identifies a row, e.g. ``epoch``)."""
    timing = [c for c in TIMING_COLUMNS if c in frame.columns]
    write_csv_atomic(frame.drop(columns=timing), folder / "metrics.csv")
    if timing:
        write_csv_atomic(frame[([key] if key in frame.columns else []) + timing], folder / "timings.csv")


@dataclass
class SessionData:
    """Encoded train/test sessions and what identifies them in run configs."""

    source: str
    vocab: TrackVocabulary
    features: np.ndarray
    train: SessionArrays
    valid: SessionArrays
    test: SessionArrays
    key: dict
    summary: dict
    test_kind: np.ndarray | None = None
    test_knowledge: "SessionKnowledge | None" = None

    @property
    def n_tokens(self) -> int:
        return len(self.vocab)


def simulator_settings(budget: dict) -> dict:
    """The simulator's settings of a profile, as a plain mapping (for the data run's config)."""
    from musicrec.data.session_simulator import SimulatorConfig

    return SimulatorConfig.from_dict(budget.get("simulator") or {}).to_dict()


def simulated_data_run(budget: dict, runs_dir: str | os.PathLike) -> Run:
    """Simulate (or reuse) the sessions of the profile, written as MSSD CSV files in a run folder."""
    from musicrec.data.session_simulator import SimulatorConfig, simulate_sessions

    settings = simulator_settings(budget)
    config = {"version": VERSION, "simulator": settings, "seed": int(budget["data_seed"])}

    def work(folder: Path) -> None:
        sim = simulate_sessions(SimulatorConfig.from_dict(settings), seed=config["seed"])
        sim.write(folder)
        log = sim.log
        write_csv_atomic(pd.DataFrame([{
            "sessions": log.session_id.nunique(), "rows": len(log), "tracks": log.track_id_clean.nunique(),
            "skip_2_rate": log.skip_2.mean(), "mean_skip_probability": sim.skip_probability.mean(),
        }]), folder / "metrics.csv")

    return Run(runs_dir, "sessions_data", config, name=f"simulated-{settings['n_sessions']}").execute(work)


def _features_for(vocab: TrackVocabulary, track_features: pd.DataFrame) -> np.ndarray:
    table = track_features.drop_duplicates("track_id").set_index("track_id")
    matrix = np.zeros((len(vocab), 29), dtype=np.float32)
    known = np.isin(vocab.track_ids, table.index)
    rows = table.loc[vocab.track_ids[known]].reset_index()
    matrix[N_SPECIAL + np.flatnonzero(known)] = feature_matrix(rows)
    return matrix


def session_knowledge(truth, vocab: TrackVocabulary, session_ids: np.ndarray):
    """:class:`~musicrec.models.baselines.SessionKnowledge` of the sessions ``session_ids`` from the
    simulator's :class:`~musicrec.data.session_simulator.SessionTruth`, in the tokens of ``vocab``."""
    from musicrec.models.baselines import SessionKnowledge

    rows = truth.sessions.loc[session_ids]
    width = max(len(p) for p in truth.playlists)
    playlist = np.full((len(rows), width), -1, dtype=np.int64)
    library_width = max(len(t) for t in truth.libraries.values())
    library = np.full((len(rows), library_width), -1, dtype=np.int64)
    encoded = [vocab.encode(p) for p in truth.playlists]
    for i, (k, user) in enumerate(zip(rows.playlist.to_numpy(), rows.user.to_numpy())):
        if k >= 0:
            playlist[i, : len(encoded[k])] = encoded[k]
        own = vocab.encode(truth.libraries[int(user)])
        library[i, : len(own)] = own
    return SessionKnowledge(kind=rows.session_kind.to_numpy().astype(object), playlist=playlist,
                            offset=rows.playlist_offset.to_numpy(dtype=np.int64), library=library)


def _prepare(log: pd.DataFrame, track_features: pd.DataFrame, probability, budget: dict, source: str,
             key: dict, kinds: pd.Series | None = None, marginal=None, truth=None) -> SessionData:
    sessions = pd.unique(log.session_id)
    train_index, test_index = split_sessions(len(sessions), float(budget["test_fraction"]),
                                             np.random.default_rng(int(budget["split_seed"])))
    train_ids = set(sessions[train_index])
    # the validation sessions (for every choice: learning rates, epochs, inputs) come out of the training
    # part; the vocabulary is that of the training and validation sessions, the test tracks stay unseen
    fit_index, valid_index = split_sessions(len(train_index), float(budget["validation_fraction"]),
                                            np.random.default_rng([int(budget["split_seed"]), 1]))
    valid_index, train_index = train_index[valid_index], train_index[fit_index]
    vocab = TrackVocabulary.from_log(log[log.session_id.isin(train_ids)], max_tracks=budget.get("max_tracks"))
    arrays = encode_sessions(log, vocab, skip_probability=probability, marginal_probability=marginal)
    features = _features_for(vocab, track_features)
    summary = {"source": source, "sessions": len(sessions), "train_sessions": len(train_index),
               "validation_sessions": len(valid_index), "test_sessions": len(test_index),
               "tracks": int(log.track_id_clean.nunique()), "vocabulary": vocab.n_tracks,
               "skip_2_rate": float(log.skip_2.mean())}
    test_kind = None
    if kinds is not None:
        per_session = pd.Series(kinds.to_numpy(), index=log.session_id.to_numpy()).groupby(level=0).first()
        test_kind = per_session.loc[arrays.session_id[test_index]].to_numpy()
    knowledge = None if truth is None else session_knowledge(truth, vocab, arrays.session_id[test_index])
    return SessionData(source=source, vocab=vocab, features=features, train=arrays.subset(train_index),
                       valid=arrays.subset(valid_index), test=arrays.subset(test_index), test_kind=test_kind,
                       test_knowledge=knowledge,
                       key={**key, "split_seed": int(budget["split_seed"]),
                            "test_fraction": float(budget["test_fraction"]),
                            "validation_fraction": float(budget["validation_fraction"]),
                            "max_tracks": budget.get("max_tracks")},
                       summary=summary)


def load_data(budget: dict, runs_dir: str | os.PathLike, *, mssd_log: str | os.PathLike | None = None,
              mssd_tracks: str | os.PathLike | Sequence | None = None) -> SessionData:
    """The sessions of a study: simulated by default, the real MSSD files when ``mssd_log`` is given.

    Parameters
    ----------
    budget : dict
        A ``sessions`` profile.
    runs_dir : path
        Where the simulated data run lives.
    mssd_log : path, optional
        An MSSD session log (e.g. ``log_mini.csv`` or ``training_set/log_0_...csv``); its first
        ``mssd_max_sessions`` sessions are used (read in chunks).
    mssd_tracks : path or list of paths, optional
        The MSSD track-feature file(s) (``tf_mini.csv`` or ``track_features/tf_*.csv``); needed with
        ``mssd_log``. Every track of the log must be in them.
    """
    if mssd_log is None:
        if mssd_tracks is not None:
            raise ParameterError("mssd_tracks was given without mssd_log")
        run = simulated_data_run(budget, runs_dir)
        from musicrec.data.session_simulator import load_session_truth, load_simulated

        log, track_features, truth = load_simulated(run.path)
        return _prepare(log, track_features, truth.skip_probability.to_numpy(), budget, "simulated",
                        {"source": "simulated", "data_run": run.path.name}, kinds=truth.session_kind,
                        marginal=truth.marginal_probability.to_numpy(), truth=load_session_truth(run.path))
    if mssd_tracks is None:
        raise ParameterError("mssd_log needs mssd_tracks (the track-features file or files)")
    mssd_log = project_path(mssd_log)
    mssd_tracks = ([project_path(mssd_tracks)] if isinstance(mssd_tracks, (str, os.PathLike))
                   else [project_path(p) for p in mssd_tracks])
    log = read_log(mssd_log, max_sessions=budget.get("mssd_max_sessions"))
    track_features = read_track_features(mssd_tracks, track_ids=pd.unique(log.track_id_clean))
    check_tracks(log, track_features)
    cache = Path(runs_dir) / DIGEST_CACHE
    key = {"source": "mssd", "log": mssd_log.name, "log_sha256": file_digest(mssd_log, cache=cache),
           "tracks": [p.name for p in mssd_tracks],
           "tracks_sha256": [file_digest(p, cache=cache) for p in mssd_tracks],
           "max_sessions": budget.get("mssd_max_sessions")}
    return _prepare(log, track_features, None, budget, "mssd", key)


# -- models -------------------------------------------------------------------------------------------
def _architecture(budget: dict, family: str) -> dict:
    arch = budget["architecture"]
    if family == "rnn":
        keys = ("emb_dim", "hidden")
    elif family == "transformer":
        keys = ("d_model", "heads", "layers", "ff", "dropout")
    elif family == "bert":
        return {"d_model": arch["bert_d_model"], "heads": arch["bert_heads"], "layers": arch["bert_layers"],
                "ff": arch["bert_ff"], "dropout": arch["dropout"]}
    elif family == "bert_fused":
        return {**{k: arch[k] for k in ("d_model", "heads", "layers", "ff", "dropout")},
                "drop_net_rate": float(arch["drop_net_rate"])}
    else:
        raise ParameterError(f"unknown model family {family!r}")
    return {k: arch[k] for k in keys}


def _family(task: str, model: str) -> str:
    if model.startswith("ddpg"):
        return "ddpg"
    if model in ("transformer", "sasrec"):
        return "transformer"
    if model in ("bert", "bert_fused"):
        return model
    return "rnn"


def bert_pretrain_run(data: SessionData, budget: dict, seed: int, runs_dir, *, progress: bool = False) -> Run:
    """Pretrain (or reuse) the BERT-style encoder by masked-track prediction on the training sessions."""
    import torch

    from musicrec.models.bert import BertEncoder, pretrain_bert
    from musicrec.utils import set_seed, setup_torch

    training = budget["training"]
    config = {"version": VERSION, "data": data.key, "architecture": _architecture(budget, "bert"),
              "epochs": int(training["bert_pretrain_epochs"]), "lr": float(training["bert_pretrain_lr"]),
              "batch_size": int(training["batch_size"]), "mask_prob": float(training["mask_prob"]),
              "seed": int(seed)}

    def work(folder: Path) -> None:
        set_seed(seed)
        setup_torch("cpu")
        encoder = BertEncoder(data.n_tokens, features=data.features, **config["architecture"])
        metrics = pretrain_bert(encoder, data.train, epochs=config["epochs"], batch_size=config["batch_size"],
                                lr=config["lr"], mask_prob=config["mask_prob"], seed=seed, progress=progress)
        torch.save(encoder.state_dict(), folder / "encoder.pt")
        write_metrics(metrics, folder, key="epoch")

    return Run(runs_dir, "sessions_bert_pretrain", config, name=f"bert-seed{seed}").execute(work)


def _n_covariates(model: str, data: SessionData) -> int:
    """Session covariates a skip model reads: premium, shuffle and context type for ``lstm_covariates``."""
    if model != "lstm_covariates":
        return 0
    if data.train.covariates is None:
        raise ParameterError("lstm_covariates needs premium, hist_user_behavior_is_shuffle and context_type "
                             "in the session log")
    return int(data.train.covariates.shape[1])


def build_model(task: str, model: str, data: SessionData, budget: dict, seed: int, runs_dir, *,
                progress: bool = False):
    """A fresh torch model for ``task`` (``skip`` or ``sequence``); BERT starts from its pretrained run."""
    import torch

    from musicrec.models import bert_fused, next_track, sequence, skip
    from musicrec.models.bert import BertEncoder
    from musicrec.models.word2vec import train_word2vec

    arch = budget["architecture"]
    n, features = data.n_tokens, data.features
    n_covariates = _n_covariates(model, data)
    if task == "skip":
        if model in ("lstm", "lstm_no_skip", "lstm_word2vec", "lstm_covariates", "bigru"):
            pretrained = None
            if model == "lstm_word2vec":
                pretrained = train_word2vec(data.train, n, dim=arch["emb_dim"], window=10,
                                            epochs=arch["word2vec_epochs"], seed=seed)
            return skip.RNNSkipModel(n, emb_dim=arch["emb_dim"], hidden=arch["hidden"],
                                     cell="gru" if model == "bigru" else "lstm",
                                     bidirectional=model == "bigru", skip_token=model != "lstm_no_skip",
                                     features=features, pretrained=pretrained, n_covariates=n_covariates)
        if model == "transformer":
            return skip.TransformerSkipModel(n, features=features, n_covariates=n_covariates,
                                             **_architecture(budget, "transformer"))
    else:
        if model == "lstm":
            return sequence.RNNSeq2Seq(n, emb_dim=arch["emb_dim"], hidden=arch["hidden"], features=features)
        if model == "transformer":
            return sequence.TransformerSeq2Seq(n, features=features, **_architecture(budget, "transformer"))
        if model == "gru4rec":
            return next_track.GRU4Rec(n, features=features, dropout=arch["dropout"], **_architecture(budget, "rnn"))
        if model == "sasrec":
            return next_track.SASRec(n, features=features, **_architecture(budget, "transformer"))
    if model in ("bert", "bert_fused"):
        run = bert_pretrain_run(data, budget, seed, runs_dir, progress=progress)
        encoder = BertEncoder(n, features=features, **_architecture(budget, "bert"))
        encoder.load_state_dict(torch.load(run.file("encoder.pt"), weights_only=True))
        if model == "bert_fused":
            fused = bert_fused.BertFusedSkipModel if task == "skip" else bert_fused.BertFusedSeq2Seq
            extra = {"n_covariates": n_covariates} if task == "skip" else {}
            return fused(encoder, n, features=features, **_architecture(budget, "bert_fused"), **extra)
        if task == "skip":
            return skip.BertSkipModel(encoder, n_covariates=n_covariates)
        return sequence.BertSequenceModel(encoder)
    raise ParameterError(f"model={model!r} is not a {task} model")


def learning_rates(task: str, model: str, budget: dict) -> list[float]:
    """The candidate learning rates of a neural model: ``skip_lr`` / ``sequence_lr`` of the profile, a
    number or a list, or a mapping model -> number or list. With several, the one with the best
    validation MAA is chosen (:func:`select_learning_rates`)."""
    key = f"{task}_lr"
    values = budget["training"][key]
    if isinstance(values, dict):
        if model not in values:
            raise ParameterError(f"{key} of the profile gives no learning rate for {model!r}: {values}")
        values = values[model]
    values = [float(v) for v in (values if isinstance(values, (list, tuple)) else [values])]
    if not values:
        raise ParameterError(f"{key} of the profile gives an empty list for {model!r}")
    return values


def _model_config(task: str, model: str, data: SessionData, budget: dict, seed: int,
                  lr: float | None = None) -> dict:
    training = budget["training"]
    family = _family(task, model)
    config = {"version": VERSION, "task": task, "model": model, "data": data.key, "seed": int(seed),
              "eval_train": int(budget["eval_train"]), "eval_valid": int(budget["eval_valid"])}
    if family == "ddpg":
        from musicrec.agents.sb3 import resolve_config

        agent, env = _ddpg_specs(task, model, budget)
        config.update(agent=resolve_config(agent, env), ddpg_dim=int(budget["architecture"]["ddpg_dim"]),
                      ddpg_window=int(budget["architecture"]["ddpg_window"]),
                      word2vec_epochs=int(budget["architecture"]["word2vec_epochs"]),
                      eval_every=int(training[f"ddpg_{task}_eval_every"]))
        return config
    config["architecture"] = _architecture(budget, family)
    if task == "skip" and model == "lstm_covariates":
        config["architecture"]["covariates"] = _n_covariates(model, data)
    if model == "lstm_word2vec":
        config["architecture"]["word2vec_epochs"] = int(budget["architecture"]["word2vec_epochs"])
    if model == "gru4rec":
        config["architecture"]["dropout"] = float(budget["architecture"]["dropout"])
    if model in ("bert", "bert_fused"):
        config["pretrain"] = {"epochs": int(training["bert_pretrain_epochs"]),
                              "lr": float(training["bert_pretrain_lr"]),
                              "mask_prob": float(training["mask_prob"])}
    if lr is None:
        candidates = learning_rates(task, model, budget)
        if len(candidates) > 1:
            raise ParameterError(f"{task}_lr of the profile lists {candidates} for {model!r}: choose one with "
                                 "select_learning_rates (or pass lr)")
        lr = candidates[0]
    patience = training.get(f"{task}_patience")
    config["training"] = {"epochs": int(training[f"{task}_epochs"]), "lr": float(lr),
                          "batch_size": int(training["batch_size"]),
                          "patience": None if patience is None else int(patience)}
    if task == "sequence" and model == "transformer":
        config["beam"] = int(budget["beam"])
    return config


def _write_outputs(folder: Path, task: str, data: SessionData, scores: dict, correct: np.ndarray,
                   predictions: np.ndarray | None = None) -> None:
    write_csv_atomic(pd.DataFrame([scores]).reindex(columns=list(SUMMARY_COLUMNS)), folder / "summary.csv")
    np.savetxt(folder / "test_correct.csv", correct.astype(int), fmt="%d", delimiter=",")
    if task == "skip" and predictions is not None:
        mask = data.test.second_mask
        rows, cols = np.nonzero(mask)
        positions = data.test.n_first[rows] + cols + 1
        frame = pd.DataFrame({"session_id": data.test.session_id[rows], "session_position": positions,
                              "skip_pred": predictions[rows, cols].astype(int)})
        write_csv_atomic(frame, folder / "test_predictions.csv")


def _train_neural(task: str, model: str, data: SessionData, budget: dict, seed: int, runs_dir, config: dict,
                  folder: Path, progress: bool) -> None:
    import torch

    from musicrec.models.training import evaluate, fit
    from musicrec.utils import set_seed, setup_torch

    set_seed(seed)
    setup_torch("cpu")
    net = build_model(task, model, data, budget, seed, runs_dir, progress=progress)
    training = config["training"]
    metrics = fit(net, task, data.train, data.valid, epochs=training["epochs"], patience=training["patience"],
                  batch_size=training["batch_size"], lr=training["lr"], seed=seed,
                  eval_train=config["eval_train"], eval_valid=config["eval_valid"], progress=progress,
                  description=f"{task} {model} seed {seed}")
    write_metrics(metrics, folder, key="epoch")
    kept = metrics[metrics.kept].iloc[0]
    scores = {name: float(kept[name]) for name in SUMMARY_COLUMNS if name.startswith("train_")}
    valid = evaluate(net, task, data.valid)
    result = evaluate(net, task, data.test)
    scores.update(val_maa=valid.maa, val_first_acc=valid.first_accuracy, val_loss=valid.loss,
                  test_maa=result.maa, test_first_acc=result.first_accuracy, test_loss=result.loss)
    _write_outputs(folder, task, data, scores, result.correct, result.predictions)
    if "beam" in config:
        beam = evaluate(net, task, data.test, beam=config["beam"])
        write_csv_atomic(pd.DataFrame([{"beam": config["beam"], "test_maa": beam.maa,
                                        "test_first_acc": beam.first_accuracy}]), folder / "beam.csv")
        np.savetxt(folder / "beam_correct.csv", beam.correct.astype(int), fmt="%d", delimiter=",")
    torch.save(net.state_dict(), folder / "model.pt")


# -- DDPG ---------------------------------------------------------------------------------------------
def ddpg_mask_noise(task: str, model: str) -> dict | None:
    """The dimension-mask settings of a DDPG model over ``ddpg_mask.yml``'s: ``{}`` keeps the preset's
    decaying mask, ``{"decay": 1.0}`` a constant one, None no exploration noise (the paper's figure 4)."""
    if (task, model) in (("skip", "ddpg"), ("sequence", "ddpg_no_noise")):
        return None
    if model == "ddpg_constant_noise":
        return {"decay": 1.0}
    return {}


def _ddpg_specs(task: str, model: str, budget: dict) -> tuple[dict, dict]:
    import musicrec.agents.session_ddpg  # noqa: F401  (registers the ddpg_mask preset)
    from musicrec.hyperparams import load_hyperparams

    env_id = "musicrec/SessionSkip-v0" if task == "skip" else "musicrec/SessionTrack-v0"
    steps = int(budget["training"][f"ddpg_{task}_steps"])
    agent = {"preset": "ddpg_mask", "total_timesteps": steps}
    noise = ddpg_mask_noise(task, model)
    if noise is None:
        agent["hyperparams"] = {"mask_noise": None}
    elif noise:
        agent["hyperparams"] = {"mask_noise": {**load_hyperparams("ddpg_mask", env_id)["mask_noise"], **noise}}
    return agent, {"id": env_id, "kwargs": {}}


def ddpg_predictions(model, task: str, arrays: SessionArrays, embedding: np.ndarray) -> np.ndarray:
    """Deterministic predictions ``(n, 10)`` of a trained DDPG actor (skips as bool, or track tokens)."""
    from musicrec.envs.sessions import plays, skip_observations, track_rollout, unit_rows

    embedding = unit_rows(embedding)

    def act(observations):
        return model.predict(observations, deterministic=True)[0]

    if task == "skip":
        observations = skip_observations(arrays, embedding)
        n, steps, width = observations.shape
        actions = act(observations.reshape(-1, width)).reshape(n, steps, -1)
        return ~plays(actions, embedding[arrays.second_tracks])
    return track_rollout(act, arrays, embedding)


def _ddpg_scores(model, task, arrays, embedding) -> tuple[float, float, np.ndarray, np.ndarray]:
    from musicrec.models.training import correctness

    predictions = ddpg_predictions(model, task, arrays, embedding)
    correct = correctness(task, predictions, arrays)
    mask = arrays.second_mask
    return (mean_average_accuracy(correct, mask), first_prediction_accuracy(correct, mask), correct,
            predictions)


def _train_ddpg(task: str, model: str, data: SessionData, budget: dict, seed: int, config: dict, folder: Path,
                progress: bool) -> None:
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    from musicrec.agents.sb3 import train
    from musicrec.envs.sessions import SessionSkipEnv, SessionTrackEnv, unit_rows
    from musicrec.models.word2vec import train_word2vec

    embedding = unit_rows(train_word2vec(data.train, data.n_tokens, dim=config["ddpg_dim"],
                                         window=config["ddpg_window"], epochs=config["word2vec_epochs"],
                                         seed=seed))
    env_class = SessionSkipEnv if task == "skip" else SessionTrackEnv
    probe = data.train.subset(slice(0, config["eval_train"]))
    curve_valid = data.valid.subset(slice(0, config["eval_valid"]))

    def factory(env_config, n_envs, env_seed):
        envs = DummyVecEnv([lambda: Monitor(env_class(data.train, embedding)) for _ in range(n_envs)])
        envs.seed(env_seed)
        return envs

    rows = []

    class Curve(BaseCallback):
        def _record(self):
            train_maa = _ddpg_scores(self.model, task, probe, embedding)[0]
            val_maa = _ddpg_scores(self.model, task, curve_valid, embedding)[0]
            noise = getattr(self.model, "mask_noise", None)
            rows.append({"timesteps": int(self.num_timesteps), "train_maa": train_maa, "val_maa": val_maa,
                         "mask_fraction": float(noise.fraction) if noise is not None else 0.0})

        def _on_training_start(self):
            self._record()

        def _on_step(self):
            if self.num_timesteps % config["eval_every"] == 0:
                self._record()
            return True

    agent, env = _ddpg_specs(task, model, budget)
    result = train(agent, env, seed, folder, callbacks=[Curve()], progress_bar=progress,
                   vec_env_factory=factory)
    write_metrics(pd.read_csv(folder / "metrics.csv"), folder, key="timesteps")  # SB3's episode log
    write_csv_atomic(pd.DataFrame(rows), folder / "eval.csv")
    train_maa, train_first, _, _ = _ddpg_scores(result.model, task, probe, embedding)
    val_maa, val_first, _, _ = _ddpg_scores(result.model, task, data.valid, embedding)
    test_maa, test_first, correct, predictions = _ddpg_scores(result.model, task, data.test, embedding)
    scores = {"train_maa": train_maa, "val_maa": val_maa, "test_maa": test_maa, "train_first_acc": train_first,
              "val_first_acc": val_first, "test_first_acc": test_first}
    _write_outputs(folder, task, data, scores, correct, predictions)


def model_run(task: str, model: str, data: SessionData, budget: dict, seed: int, runs_dir, *,
              lr: float | None = None, progress: bool = False) -> Run:
    """Train (or reuse) one model with one seed (``lr``: the learning rate, else the profile's only one)."""
    check_choice("task", task, ("skip", "sequence"))
    check_choice(f"{task} model", model, SKIP_MODELS if task == "skip" else SEQUENCE_MODELS)
    config = _model_config(task, model, data, budget, seed, lr=lr)

    def work(folder: Path) -> None:
        if _family(task, model) == "ddpg":
            _train_ddpg(task, model, data, budget, seed, config, folder, progress)
        else:
            _train_neural(task, model, data, budget, seed, runs_dir, config, folder, progress)

    return Run(runs_dir, f"sessions_{task}", config, name=f"{model}-seed{seed}").execute(work)


def _parallel(function, jobs: list[tuple], n_jobs: int, *, desc: str, progress: bool) -> list:
    """``function(*job)`` for every job, in ``n_jobs`` processes (the session models use one torch thread
    each); results in the order of ``jobs``."""
    from tqdm import tqdm

    n_jobs = max(1, min(int(n_jobs), len(jobs)))
    if n_jobs == 1:
        return [function(*job) for job in tqdm(jobs, desc=desc, disable=not progress or not jobs)]
    from joblib import Parallel, delayed

    results = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")(delayed(function)(*job) for job in jobs)
    return list(tqdm(results, total=len(jobs), desc=f"{desc} ({n_jobs} processes)", disable=not progress))


def _pretrain_berts(task: str, models: Sequence[str], data: SessionData, budget: dict, seeds, runs_dir) -> None:
    """The BERT pretraining runs the models need, trained once before parallel jobs share them."""
    if any(m in ("bert", "bert_fused") for m in models):
        for seed in seeds:
            bert_pretrain_run(data, budget, int(seed), runs_dir)


def selection_score(run: Run, lr: float) -> dict:
    """What the learning-rate search reads of a finished run: validation MAA and loss (of the kept epoch),
    epochs trained and the kept epoch."""
    summary = pd.read_csv(run.file("summary.csv")).iloc[0]
    metrics = run.metrics()
    return {"val_maa": float(summary.val_maa), "val_loss": float(summary.val_loss), "epochs": len(metrics),
            "best_epoch": int(metrics[metrics.kept].epoch.iloc[0])}


def _select_one(task: str, model: str, data: SessionData, budget: dict, runs_dir) -> list[dict]:
    """The widening learning-rate search of one model (see :func:`select_learning_rates`)."""
    seed = int(budget["seeds"][0])
    widen = budget["training"].get("lr_widen") or {}
    factor, steps = float(widen.get("factor", 3.0)), int(widen.get("steps", 0))
    if factor <= 1:
        raise ParameterError(f"lr_widen.factor={factor} must be > 1")
    grid = sorted(learning_rates(task, model, budget))
    scores: dict[float, dict] = {}
    added = {"low": 0, "high": 0}
    while True:
        for lr in grid:
            if lr not in scores:
                scores[lr] = selection_score(model_run(task, model, data, budget, seed, runs_dir, lr=lr), lr)
        best = max(grid, key=lambda lr: scores[lr]["val_maa"])
        if len(grid) > 1 and best == grid[0] and added["low"] < steps:
            grid.insert(0, float(f"{best / factor:.3g}"))
            added["low"] += 1
        elif len(grid) > 1 and best == grid[-1] and added["high"] < steps:
            grid.append(float(f"{best * factor:.3g}"))
            added["high"] += 1
        else:
            break
    return [{"model": model, "lr": lr, **scores[lr], "chosen": lr == best,
             "at_edge": lr == best and len(grid) > 1 and best in (grid[0], grid[-1])} for lr in grid]


def select_learning_rates(task: str, data: SessionData, budget: dict, runs_dir, *,
                          models: Sequence[str] | None = None, progress: bool = True) -> pd.DataFrame:
    """Choose each neural model's learning rate on the **validation** sessions.

    Every candidate of :func:`learning_rates` is trained with the profile's first seed; the one with the
    highest validation MAA (of the epoch kept by early stopping) is chosen. When it is the smallest or the
    largest candidate, the grid is widened by the profile's ``lr_widen: {factor, steps}`` (the next value
    ``lr / factor`` or ``lr * factor``) and the new value trained, until the choice lies inside the grid or
    ``steps`` values were added on that side. The test sessions play no part. Models are searched in
    ``n_jobs`` processes. One row per trained candidate: ``model, lr, val_maa, val_loss, epochs, best_epoch,
    chosen, at_edge`` (``at_edge``: the chosen value is still the grid's smallest or largest). DDPG models
    have none: they are not listed.
    """
    models = [m for m in (models or budget[f"{task}_models"]) if _family(task, m) != "ddpg"]
    _pretrain_berts(task, models, data, budget, budget["seeds"][:1], runs_dir)
    jobs = [(task, m, data, budget, runs_dir) for m in models]
    # the slowest searches first, so that no process idles at the end
    jobs.sort(key=lambda job: -MODEL_COST.get(job[1], 1.0))
    found = _parallel(_select_one, jobs, budget.get("n_jobs", 1), desc=f"{task} learning rates", progress=progress)
    by_model = {rows[0]["model"]: rows for rows in found}
    rows = [row for m in models for row in by_model[m]]
    return pd.DataFrame(rows, columns=["model", "lr", "val_maa", "val_loss", "epochs", "best_epoch", "chosen",
                                       "at_edge"])


def _run_one(task: str, model: str, data: SessionData, budget: dict, seed: int, runs_dir, lr) -> str:
    return str(model_run(task, model, data, budget, seed, runs_dir, lr=lr).path)


def run_study(task: str, data: SessionData, budget: dict, runs_dir, *, models: Sequence[str] | None = None,
              progress: bool = True, selection: pd.DataFrame | None = None) -> pd.DataFrame:
    """Train every model of the profile for every seed (``n_jobs`` processes); one row per run
    (``model, seed, run, lr``).

    Learning rates come from ``selection`` (:func:`select_learning_rates`, computed here when None).
    """
    models = list(models or budget[f"{task}_models"])
    if selection is None:
        selection = select_learning_rates(task, data, budget, runs_dir, models=models, progress=progress)
    chosen = selection[selection.chosen].set_index("model").lr.to_dict()
    _pretrain_berts(task, models, data, budget, budget["seeds"], runs_dir)
    jobs = [(task, m, data, budget, int(s), runs_dir, chosen.get(m)) for m in models for s in budget["seeds"]]
    todo = [job for job in jobs if not Run(runs_dir, f"sessions_{task}", _model_config(
        task, job[1], data, budget, job[4], lr=job[6]), name=f"{job[1]}-seed{job[4]}").finished]
    todo.sort(key=lambda job: -MODEL_COST.get(job[1], 1.0))
    _parallel(_run_one, todo, budget.get("n_jobs", 1), desc=f"{task} runs", progress=progress)
    rows = [{"model": job[1], "seed": job[4], "run": model_run(*job[:5], job[5], lr=job[6]), "lr": job[6]}
            for job in jobs]
    return pd.DataFrame(rows)


def run_summaries(study: pd.DataFrame) -> pd.DataFrame:
    """``summary.csv`` of every run, with its model and seed."""
    frames = [pd.read_csv(row.run.file("summary.csv")).assign(model=row.model, seed=row.seed)
              for row in study.itertuples()]
    return pd.concat(frames, ignore_index=True)


def test_correct(run: Run, name: str = "test_correct.csv") -> np.ndarray:
    return np.atleast_2d(np.loadtxt(run.file(name), delimiter=",", dtype=float))


# -- skip rules and tables ----------------------------------------------------------------------------
def _rule_scores(rule: str, data: SessionData) -> dict:
    from musicrec.models import baselines

    rules = {"all_skipped": baselines.all_skipped, "first_half_majority": baselines.first_half_majority,
             "oracle": baselines.oracle_skips, "oracle_first_half": baselines.first_half_oracle_skips}
    scores = {}
    for part, arrays in (("train", data.train), ("val", data.valid), ("test", data.test)):
        if rule.startswith("oracle") and arrays.skip_probability is None:
            return {name: float("nan") for name in SUMMARY_COLUMNS}
        correct = (rules[rule](arrays) == arrays.second_skips).astype(float)
        scores[f"{part}_maa"] = mean_average_accuracy(correct, arrays.second_mask)
        scores[f"{part}_first_acc"] = first_prediction_accuracy(correct, arrays.second_mask)
        loss = float("nan")
        if rule.startswith("oracle"):  # the cross-entropy of the probabilities (the oracle's: the loss floor)
            probability = arrays.skip_probability if rule == "oracle" else arrays.marginal_probability
            p = np.clip(probability[arrays.second_mask], 1e-9, 1 - 1e-9)
            y = arrays.second_skips[arrays.second_mask]
            loss = float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())
        scores[f"{part}_loss"] = loss
    return scores


def population_bayes_run(data: SessionData, budget: dict, runs_dir, *, samples: int = 2000,
                         mood_points: int = 11) -> Run | None:
    """Skip probabilities of the simulator-aware predictor that does not know the listener (simulated data
    only; None on real data): :func:`musicrec.data.session_simulator.population_posterior` on the
    validation and test sessions, written as ``val_probability.csv`` and ``test_probability.csv``
    (sessions x 10 second-half slots, NaN in padding). It bounds what a model that reads the session log
    can reach, where the oracle also knows the listener's propensity, taste and mood."""
    if data.source != "simulated":
        return None
    from musicrec.data.session_simulator import (
        SimulatorConfig,
        load_simulated,
        population_posterior,
        simulated_listeners,
    )

    data_run = simulated_data_run(budget, runs_dir)
    settings = simulator_settings(budget)
    config = {"version": VERSION, "data": data.key, "simulator": settings, "data_seed": int(budget["data_seed"]),
              "samples": int(samples), "mood_points": int(mood_points)}

    def work(folder: Path) -> None:
        simulator = SimulatorConfig.from_dict(settings)
        listeners = simulated_listeners(simulator, seed=config["data_seed"])
        log, track_features, _ = load_simulated(data_run.path)
        catalog_index = pd.Series(np.arange(len(track_features)), index=track_features.track_id)
        starts = pd.Series(np.flatnonzero(log.session_position.to_numpy() == 1),
                           index=log.session_id.to_numpy()[log.session_position.to_numpy() == 1])
        tokens = catalog_index.loc[log.track_id_clean].to_numpy()
        for part, arrays in (("val", data.valid), ("test", data.test)):
            first_row = starts.loc[arrays.session_id].to_numpy()
            rows = np.minimum(first_row[:, None] + np.arange(20)[None, :], len(log) - 1)
            inside = np.arange(20)[None, :] < arrays.length[:, None]
            tracks = np.where(inside, tokens[rows], 0)
            skips = np.where(inside, log.skip_2.to_numpy(dtype=bool)[rows], False)
            session_rows = log.iloc[first_row]
            probability = population_posterior(
                listeners, tracks, arrays.length, skips, session_rows.premium.to_numpy(dtype=bool),
                session_rows.context_type.to_numpy(), samples=config["samples"],
                mood_points=config["mood_points"], rng=np.random.default_rng([config["data_seed"], 2]))
            second = np.full((len(arrays), MAX_HALF), np.nan)
            columns = arrays.n_first[:, None] + np.arange(MAX_HALF)[None, :]
            valid = arrays.second_mask
            second[valid] = probability[np.nonzero(valid)[0], columns[valid]]
            np.savetxt(folder / f"{part}_probability.csv", second, delimiter=",", fmt="%.6f")
        write_csv_atomic(pd.DataFrame([_probability_scores(data, folder)]), folder / "metrics.csv")

    return Run(runs_dir, "sessions_bayes", config, name="population-bayes").execute(work)


def _probability_scores(data: SessionData, folder: Path) -> dict:
    """MAA, first accuracy and cross-entropy of skip probabilities stored as ``{val,test}_probability.csv``."""
    scores = {name: float("nan") for name in SUMMARY_COLUMNS}
    for part, arrays in (("val", data.valid), ("test", data.test)):
        probability = np.atleast_2d(np.loadtxt(Path(folder) / f"{part}_probability.csv", delimiter=","))
        correct = ((np.nan_to_num(probability) > 0.5) == arrays.second_skips).astype(float)
        scores[f"{part}_maa"] = mean_average_accuracy(correct, arrays.second_mask)
        scores[f"{part}_first_acc"] = first_prediction_accuracy(correct, arrays.second_mask)
        p = np.clip(probability[arrays.second_mask], 1e-9, 1 - 1e-9)
        y = arrays.second_skips[arrays.second_mask]
        scores[f"{part}_loss"] = float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())
    return scores


def skip_table(study: pd.DataFrame, data: SessionData, bayes: Run | None = None) -> pd.DataFrame:
    """Table 1: mean over seeds per model, with the rules (baseline, first-half majority, oracles) and,
    when ``bayes`` (:func:`population_bayes_run`) is given, the predictor without the listener's identity.

    Columns ``model, seeds, train_maa, test_maa, test_first_acc, train_loss, test_loss`` (MAA and
    accuracy as fractions); the std over seeds is in :func:`table_std`; validation scores are in
    :func:`run_summaries`.
    """
    rows = []
    for rule, label in SKIP_RULES.items():
        scores = _rule_scores(rule, data)
        rows.append({"model": label, "seeds": 1, **scores})
    if bayes is not None:
        rows.append({"model": BAYES_LABEL, "seeds": 1, **_probability_scores(data, bayes.path)})
    summaries = run_summaries(study) if len(study) else pd.DataFrame(columns=["model", *SUMMARY_COLUMNS])
    for model, group in summaries.groupby("model", sort=False):
        rows.append({"model": SKIP_MODELS[model], "seeds": len(group),
                     **group[list(SUMMARY_COLUMNS)].mean().to_dict()})
    table = pd.DataFrame(rows)
    return table[["model", "seeds", "train_maa", "test_maa", "test_first_acc", "train_loss", "test_loss"]]


def table_std(study: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """Std over seeds of the summary scores per model."""
    summaries = run_summaries(study)
    table = summaries.groupby("model", sort=False)[list(SUMMARY_COLUMNS)].std(ddof=0).reset_index()
    table["model"] = table.model.map(labels)
    return table


def learning_curves(study: pd.DataFrame) -> dict[str, list[pd.DataFrame]]:
    """Per model, the per-epoch metrics (or DDPG MAA curve) of every seed."""
    curves: dict[str, list[pd.DataFrame]] = {}
    for row in study.itertuples():
        name = "eval.csv" if row.model.startswith("ddpg") else "metrics.csv"
        curves.setdefault(row.model, []).append(pd.read_csv(row.run.file(name)))
    return curves


# -- sequence baselines and tables -----------------------------------------------------------------------
def sequence_baseline_run(name: str, data: SessionData, budget: dict, runs_dir) -> Run:
    """Fit (or reuse) a track-sequence heuristic and score it on the training probe and the test set."""
    from musicrec.models import baselines
    from musicrec.models.training import correctness

    check_choice("baseline", name, baselines.SEQUENCE_BASELINES)
    params = {"k": int(budget["knn_k"])} if name == "session_knn" else {}
    config = {"version": VERSION, "baseline": name, "params": params, "data": data.key,
              "eval_train": int(budget["eval_train"])}

    def work(folder: Path) -> None:
        model = baselines.SEQUENCE_BASELINES[name](**params).fit(data.train, data.n_tokens)
        scores, test_correct_matrix = {}, None
        probe = data.train.subset(slice(0, config["eval_train"]))
        for part, arrays in (("train", probe), ("test", data.test)):
            correct = correctness("sequence", model.predict(arrays), arrays)
            scores[f"{part}_maa"] = mean_average_accuracy(correct, arrays.second_mask)
            scores[f"{part}_first_acc"] = first_prediction_accuracy(correct, arrays.second_mask)
            scores[f"{part}_loss"] = float("nan")
            test_correct_matrix = correct
        write_csv_atomic(pd.DataFrame([scores]), folder / "metrics.csv")
        _write_outputs(folder, "sequence", data, scores, test_correct_matrix)

    return Run(runs_dir, "sessions_sequence_baseline", config, name=name).execute(work)


def sequence_ceiling_run(data: SessionData, runs_dir) -> Run | None:
    """Score (or reuse) the track-sequence ceiling on the test sessions (simulated data only; None on real
    data): :func:`musicrec.models.baselines.ceiling_predictions` with what the simulator knows of each
    session. Its train and validation scores are NaN (only the test sessions' knowledge is kept)."""
    if data.test_knowledge is None:
        return None
    from musicrec.models.baselines import ceiling_predictions
    from musicrec.models.training import correctness

    config = {"version": VERSION, "baseline": "ceiling", "data": data.key}

    def work(folder: Path) -> None:
        correct = correctness("sequence", ceiling_predictions(data.test, data.test_knowledge), data.test)
        scores = {name: float("nan") for name in SUMMARY_COLUMNS}
        scores.update(test_maa=mean_average_accuracy(correct, data.test.second_mask),
                      test_first_acc=first_prediction_accuracy(correct, data.test.second_mask))
        write_csv_atomic(pd.DataFrame([scores]), folder / "metrics.csv")
        _write_outputs(folder, "sequence", data, scores, correct)

    return Run(runs_dir, "sessions_sequence_baseline", config, name="ceiling").execute(work)


def sequence_baseline_study(data: SessionData, budget: dict, runs_dir) -> pd.DataFrame:
    """Every heuristic of the profile, then the ceiling (simulated data); one row per run."""
    rows = [{"model": name, "seed": 0, "run": sequence_baseline_run(name, data, budget, runs_dir)}
            for name in budget["sequence_baselines"]]
    ceiling = sequence_ceiling_run(data, runs_dir)
    if ceiling is not None:
        rows.append({"model": "ceiling", "seed": 0, "run": ceiling})
    return pd.DataFrame(rows)


def _beam_rows(study: pd.DataFrame) -> list[dict]:
    rows = []
    for row in study.itertuples():
        path = row.run.path / "beam.csv"
        if path.exists():
            beam = pd.read_csv(path).iloc[0]
            rows.append({"model": row.model, "seed": row.seed, "beam": int(beam.beam),
                         "test_maa": beam.test_maa, "test_first_acc": beam.test_first_acc, "run": row.run})
    return rows


def sequence_table(study: pd.DataFrame, baselines_study: pd.DataFrame) -> pd.DataFrame:
    """Table 2: MAA, first accuracy and loss per model (mean over seeds), heuristics first."""
    labels = {**SEQUENCE_BASELINE_LABELS, **SEQUENCE_MODELS}
    rows = []
    for frame in (baselines_study, study):
        if not len(frame):
            continue
        summaries = run_summaries(frame)
        for model, group in summaries.groupby("model", sort=False):
            rows.append({"model": labels[model], "seeds": len(group),
                         **group[list(SUMMARY_COLUMNS)].mean().to_dict()})
    beams = pd.DataFrame(_beam_rows(study))
    if len(beams):
        for (model, beam), group in beams.groupby(["model", "beam"], sort=False):
            rows.append({"model": f"{SEQUENCE_MODELS[model]} + beam search (k={beam})", "seeds": len(group),
                         "test_maa": group.test_maa.mean(), "test_first_acc": group.test_first_acc.mean()})
    table = pd.DataFrame(rows)
    return table[["model", "seeds", "train_maa", "test_maa", "test_first_acc", "train_loss", "test_loss"]]


def _correct_sets(study: pd.DataFrame, baselines_study: pd.DataFrame):
    """``(label, [test correctness matrix per seed])`` of every heuristic, model and beam search."""
    labels = {**SEQUENCE_BASELINE_LABELS, **SEQUENCE_MODELS}
    for frame in (baselines_study, study):
        for model, group in frame.groupby("model", sort=False):
            yield labels[model], [test_correct(run) for run in group.run]
    beams = pd.DataFrame(_beam_rows(study))
    if len(beams):
        for (model, beam), group in beams.groupby(["model", "beam"], sort=False):
            yield (f"{SEQUENCE_MODELS[model]} + beam search (k={beam})",
                   [test_correct(run, "beam_correct.csv") for run in group.run])


def position_table(study: pd.DataFrame, baselines_study: pd.DataFrame, data: SessionData) -> pd.DataFrame:
    """Table 3: test accuracy at positions 1, 3, 5, 7, 9 of the predicted sequence (mean over seeds)."""
    mask = data.test.second_mask
    rows = []
    for label, matrices in _correct_sets(study, baselines_study):
        values = np.mean([list(accuracy_at_positions(m, mask, POSITIONS).values()) for m in matrices], axis=0)
        rows.append({"model": label, **{f"T={p}": v for p, v in zip(POSITIONS, values)}})
    return pd.DataFrame(rows)


def count_table(study: pd.DataFrame, baselines_study: pd.DataFrame, data: SessionData) -> pd.DataFrame:
    """Table 4: share of test sessions with 0..10 correctly predicted tracks (mean over seeds)."""
    mask = data.test.second_mask
    rows = []
    for label, matrices in _correct_sets(study, baselines_study):
        shares = np.mean([correct_count_distribution(m, mask, max_count=10) for m in matrices], axis=0)
        rows.append({"model": label, **{str(k): v for k, v in enumerate(shares)}})
    return pd.DataFrame(rows)


def oracle_maa(data: SessionData) -> float:
    """The simulator's oracle MAA on the test sessions (NaN on real data)."""
    return _rule_scores("oracle", data)["test_maa"]


def first_half_oracle_maa(data: SessionData) -> float:
    """MAA of the oracle that knows the hidden state but not the second half's skips (NaN on real data)."""
    return _rule_scores("oracle_first_half", data)["test_maa"]


def maa_by_session_kind(study: pd.DataFrame, baselines_study: pd.DataFrame, data: SessionData
                        ) -> pd.DataFrame:
    """Test MAA of every sequence model per simulated session kind (playlist, shuffle, personal)."""
    if data.test_kind is None:
        raise ParameterError("session kinds are known for simulated sessions only")
    mask = data.test.second_mask
    rows = []
    for label, matrices in _correct_sets(study, baselines_study):
        for kind in ("playlist", "shuffle", "personal"):
            chosen = data.test_kind == kind
            if chosen.any():
                value = np.mean([mean_average_accuracy(m[chosen], mask[chosen]) for m in matrices])
                rows.append({"model": label, "session_kind": kind, "sessions": int(chosen.sum()),
                             "test_maa": value})
    return pd.DataFrame(rows)


def skip_truth_frame(arrays: SessionArrays) -> pd.DataFrame:
    """The second half of ``arrays`` as a challenge ground-truth table (``session_id, session_position,
    session_length, skip_2``), the input of ``musicrec sessions maa --truth``."""
    rows, cols = np.nonzero(arrays.second_mask)
    return pd.DataFrame({"session_id": arrays.session_id[rows],
                         "session_position": arrays.n_first[rows] + cols + 1,
                         "session_length": arrays.length[rows], "skip_2": arrays.second_skips[rows, cols]})


def coinciding_scores(summaries: pd.DataFrame, labels: dict, *, column: str = "train_maa",
                      decimals: int = 6) -> pd.DataFrame:
    """Pairs of models whose mean ``column`` over seeds agrees to ``decimals`` decimals, with what tells a
    coincidence of means from one model copying another: their per-seed values and the difference of means.

    Columns ``first, second, mean_first, mean_second, difference, per_seed_first, per_seed_second``.
    """
    means = summaries.groupby("model", sort=False)[column].mean()
    per_seed = summaries.groupby("model", sort=False)[column].apply(lambda v: [round(float(x), decimals) for x in v])
    rows = []
    keys = list(means.index)
    for i, first in enumerate(keys):
        for second in keys[i + 1:]:
            if round(float(means[first]), decimals) == round(float(means[second]), decimals):
                rows.append({"first": labels[first], "second": labels[second], "mean_first": float(means[first]),
                             "mean_second": float(means[second]),
                             "difference": abs(float(means[first]) - float(means[second])),
                             "per_seed_first": per_seed[first], "per_seed_second": per_seed[second]})
    return pd.DataFrame(rows, columns=["first", "second", "mean_first", "mean_second", "difference",
                                       "per_seed_first", "per_seed_second"])


def sequence_reference_curve_maa(data: SessionData, budget: dict, names: Sequence[str] = ("random", "most_popular")
                                 ) -> dict[str, float]:
    """Validation MAA of reference heuristics on the sessions DDPG's curves are measured on (the first
    ``eval_valid`` validation sessions): label -> MAA."""
    from musicrec.models import baselines
    from musicrec.models.training import correctness

    curve_valid = data.valid.subset(slice(0, int(budget["eval_valid"])))
    scores = {}
    for name in names:
        model = baselines.SEQUENCE_BASELINES[name]().fit(data.train, data.n_tokens)
        correct = correctness("sequence", model.predict(curve_valid), curve_valid)
        scores[SEQUENCE_BASELINE_LABELS[name]] = mean_average_accuracy(correct, curve_valid.second_mask)
    return scores


def stopped_by_the_budget(study: pd.DataFrame, epochs: int) -> list[str]:
    """Neural models (keys) of which some seed kept its last epoch after ``epochs`` epochs: early stopping did
    not end it, the epoch budget did."""
    models = []
    for row in study.itertuples():
        if row.model.startswith("ddpg") or row.model in models:
            continue
        metrics = row.run.metrics()
        if "kept" in metrics and len(metrics) >= int(epochs) and bool(metrics.kept.iloc[-1]):
            models.append(row.model)
    return models
