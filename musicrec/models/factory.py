"""The session models by id: their family, architecture settings, construction and training.

Model ids are those of notebooks 14-15 (``lstm``, ``lstm_no_skip``, ``lstm_word2vec``, ``lstm_covariates``,
``bigru``, ``transformer``, ``bert``, ``bert_fused`` for skips; ``lstm``, ``transformer``, ``bert``,
``bert_fused``, ``gru4rec``, ``sasrec`` for track sequences; ``ddpg*`` are agents,
:mod:`musicrec.agents.session_ddpg`). ``arch`` is a profile's ``architecture`` mapping: ``emb_dim, hidden``
(RNNs), ``d_model, heads, layers, ff, dropout`` (Transformers), ``bert_d_model, bert_heads, bert_layers,
bert_ff`` (the BERT encoder), ``drop_net_rate`` (BERT-fused), ``word2vec_epochs``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musicrec.data.sessions import SessionArrays, SessionData
from musicrec.errors import ParameterError
from musicrec.models.scoring import SUMMARY_COLUMNS, write_run_outputs
from musicrec.runs import write_csv_atomic, write_metrics

#: Models that start from a pretrained BERT encoder (:func:`musicrec.models.bert.pretrain_bert`).
BERT_MODELS = ("bert", "bert_fused")
#: The recurrent skip models.
RNN_SKIP_MODELS = ("lstm", "lstm_no_skip", "lstm_word2vec", "lstm_covariates", "bigru")
#: Columns of the training logs that measure time (kept in ``timings.csv``, out of ``metrics.csv``).
TIMING_COLUMNS = ("time_s",)


def model_family(model: str) -> str:
    """``ddpg``, ``transformer``, ``bert``, ``bert_fused``, ``gru4rec`` or ``rnn``: which architecture settings a
    model reads."""
    if model.startswith("ddpg"):
        return "ddpg"
    if model == "gru4rec":
        return "gru4rec"
    if model in ("transformer", "sasrec"):
        return "transformer"
    if model in BERT_MODELS:
        return model
    return "rnn"


def architecture(arch: Mapping[str, Any], family: str) -> dict:
    """The settings of ``arch`` (a profile's ``architecture``) that a model ``family`` is built with."""
    if family == "rnn":
        keys = ("emb_dim", "hidden")
    elif family == "gru4rec":
        # GRU4Rec may be given its own sizes (gru4rec_emb_dim, gru4rec_hidden), else those of the RNNs
        return {"emb_dim": arch.get("gru4rec_emb_dim", arch["emb_dim"]),
                "hidden": arch.get("gru4rec_hidden", arch["hidden"]), "dropout": float(arch["dropout"])}
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


def n_covariates(model: str, train: SessionArrays) -> int:
    """Session covariates a skip model reads: premium, shuffle and context type for ``lstm_covariates``."""
    if model != "lstm_covariates":
        return 0
    if train.covariates is None:
        raise ParameterError("lstm_covariates needs premium, hist_user_behavior_is_shuffle and context_type "
                             "in the session log")
    return int(train.covariates.shape[1])


def build_model(task: str, model: str, data: SessionData, *, arch: Mapping[str, Any], seed: int,
                encoder: str | os.PathLike | None = None):
    """A fresh torch model for ``task`` (``skip`` or ``sequence``).

    Parameters
    ----------
    task : {"skip", "sequence"}
    model : str
        A model id (see the module docstring).
    data : SessionData
        Its vocabulary size, track features, and the training sessions (word2vec, covariates).
    arch : mapping
        A profile's ``architecture``.
    seed : int
        Seed of the word2vec embedding (``lstm_word2vec``).
    encoder : path, optional
        The pretrained encoder's state (``encoder.pt``) that :data:`BERT_MODELS` start from.
    """
    import torch

    from musicrec.models import bert_fused, next_track, sequence, skip
    from musicrec.models.bert import BertEncoder
    from musicrec.models.word2vec import train_word2vec

    n, features = data.n_tokens, data.features
    covariates = n_covariates(model, data.train)
    if task == "skip":
        if model in RNN_SKIP_MODELS:
            pretrained = None
            if model == "lstm_word2vec":
                pretrained = train_word2vec(data.train, n, dim=arch["emb_dim"], window=10,
                                            epochs=arch["word2vec_epochs"], seed=seed)
            return skip.RNNSkipModel(n, emb_dim=arch["emb_dim"], hidden=arch["hidden"],
                                     cell="gru" if model == "bigru" else "lstm",
                                     bidirectional=model == "bigru", skip_token=model != "lstm_no_skip",
                                     features=features, pretrained=pretrained, n_covariates=covariates)
        if model == "transformer":
            return skip.TransformerSkipModel(n, features=features, n_covariates=covariates,
                                             **architecture(arch, "transformer"))
    else:
        if model == "lstm":
            return sequence.RNNSeq2Seq(n, emb_dim=arch["emb_dim"], hidden=arch["hidden"], features=features)
        if model == "transformer":
            return sequence.TransformerSeq2Seq(n, features=features, **architecture(arch, "transformer"))
        if model == "gru4rec":
            return next_track.GRU4Rec(n, features=features, **architecture(arch, "gru4rec"))
        if model == "sasrec":
            return next_track.SASRec(n, features=features, **architecture(arch, "transformer"))
    if model in BERT_MODELS:
        if encoder is None:
            raise ParameterError(f"model={model!r} starts from a pretrained encoder: pass encoder (its encoder.pt)")
        bert = BertEncoder(n, features=features, **architecture(arch, "bert"))
        bert.load_state_dict(torch.load(encoder, weights_only=True))
        if model == "bert_fused":
            fused = bert_fused.BertFusedSkipModel if task == "skip" else bert_fused.BertFusedSeq2Seq
            extra = {"n_covariates": covariates} if task == "skip" else {}
            return fused(bert, n, features=features, **architecture(arch, "bert_fused"), **extra)
        if task == "skip":
            return skip.BertSkipModel(bert, n_covariates=covariates)
        return sequence.BertSequenceModel(bert)
    raise ParameterError(f"model={model!r} is not a {task} model")


def write_training_log(frame: pd.DataFrame, folder: str | Path, *, key: str) -> None:
    """A training log as ``metrics.csv``, its :data:`TIMING_COLUMNS` (with ``key``, e.g. ``epoch``) as
    ``timings.csv`` (:func:`musicrec.runs.write_metrics`)."""
    timings = [c for c in TIMING_COLUMNS if c in frame.columns]
    write_metrics(frame, folder, timings=timings, keys=[key] if timings and key in frame.columns else [])


def pretrain_encoder(data: SessionData, folder: str | Path, *, arch: Mapping[str, Any], epochs: int, lr: float,
                     batch_size: int, mask_prob: float, seed: int, progress: bool = False) -> None:
    """Pretrain the BERT encoder by masked-track prediction on the training sessions; write its state
    (``encoder.pt``) and per-epoch log (``metrics.csv``, ``timings.csv``) to ``folder``."""
    import torch

    from musicrec.models.bert import BertEncoder, pretrain_bert
    from musicrec.utils import set_seed, setup_torch

    set_seed(seed)
    setup_torch("cpu")
    encoder = BertEncoder(data.n_tokens, features=data.features, **architecture(arch, "bert"))
    metrics = pretrain_bert(encoder, data.train, epochs=epochs, batch_size=batch_size, lr=lr,
                            mask_prob=mask_prob, seed=seed, progress=progress)
    torch.save(encoder.state_dict(), Path(folder) / "encoder.pt")
    write_training_log(metrics, folder, key="epoch")


def train_and_score(net, task: str, data: SessionData, folder: str | Path, *, epochs: int,
                    patience: int | None, batch_size: int, lr: float, seed: int, eval_train: int,
                    eval_valid: int, beam: int | None = None, progress: bool = False,
                    description: str | None = None) -> dict[str, float]:
    """Train a session model with early stopping on the validation sessions, score it and write a run's files.

    Writes ``metrics.csv`` (one row per epoch, :func:`musicrec.models.training.fit`; times in
    ``timings.csv``), the files of :func:`~musicrec.models.scoring.write_run_outputs`, ``model.pt`` and,
    with ``beam``, ``beam.csv`` and ``beam_correct.csv`` (the test sessions decoded by beam search).
    Training scores are those of the kept epoch on the first ``eval_train`` training sessions.

    Returns
    -------
    dict
        The run's scores (:data:`~musicrec.models.scoring.SUMMARY_COLUMNS`).
    """
    import torch

    from musicrec.models.training import evaluate, fit

    folder = Path(folder)
    metrics = fit(net, task, data.train, data.valid, epochs=epochs, patience=patience, batch_size=batch_size,
                  lr=lr, seed=seed, eval_train=eval_train, eval_valid=eval_valid, progress=progress,
                  description=description)
    write_training_log(metrics, folder, key="epoch")
    kept = metrics[metrics.kept].iloc[0]
    scores = {name: float(kept[name]) for name in SUMMARY_COLUMNS if name.startswith("train_")}
    valid = evaluate(net, task, data.valid)
    result = evaluate(net, task, data.test)
    scores.update(val_maa=valid.maa, val_first_acc=valid.first_accuracy, val_loss=valid.loss,
                  test_maa=result.maa, test_first_acc=result.first_accuracy, test_loss=result.loss)
    write_run_outputs(folder, task, data, scores, result.correct, result.predictions)
    if beam is not None:
        decoded = evaluate(net, task, data.test, beam=beam)
        write_csv_atomic(pd.DataFrame([{"beam": beam, "test_maa": decoded.maa,
                                        "test_first_acc": decoded.first_accuracy}]), folder / "beam.csv")
        np.savetxt(folder / "beam_correct.csv", decoded.correct.astype(int), fmt="%d", delimiter=",")
    torch.save(net.state_dict(), folder / "model.pt")
    return scores
