"""Scores of the session models on each split, and the files a session run writes with them.

Every score is keyed by a model id (``all_skipped``, ``oracle``, a baseline's name), never by the label a
table shows. A run's scores are one row of :data:`SUMMARY_COLUMNS`: Mean Average Accuracy
(:func:`musicrec.metrics.mean_average_accuracy`), first-prediction accuracy and loss on the training probe
(``train_*``: the first ``eval_train`` training sessions), the validation and the test sessions; a loss is
NaN where a model has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musicrec.data.sessions import SessionArrays, SessionData
from musicrec.errors import check_choice
from musicrec.metrics import first_prediction_accuracy, mean_average_accuracy
from musicrec.runs import Run, write_csv_atomic

SUMMARY_COLUMNS = ("train_maa", "val_maa", "test_maa", "train_first_acc", "val_first_acc", "test_first_acc",
                   "train_loss", "val_loss", "test_loss")
#: The skip rules of :mod:`musicrec.models.baselines` by model id.
SKIP_RULE_NAMES = {"all_skipped": "all_skipped", "first_half_majority": "first_half_majority",
                   "oracle": "oracle_skips", "oracle_first_half": "first_half_oracle_skips"}


def nan_scores() -> dict[str, float]:
    """A row of :data:`SUMMARY_COLUMNS`, all NaN."""
    return {name: float("nan") for name in SUMMARY_COLUMNS}


def binary_cross_entropy(probability: np.ndarray, arrays: SessionArrays) -> float:
    """Mean cross-entropy of skip probabilities ``(n, 10)`` against the second halves' skips (padding left out;
    probabilities clipped to ``[1e-9, 1 - 1e-9]``)."""
    p = np.clip(probability[arrays.second_mask], 1e-9, 1 - 1e-9)
    y = arrays.second_skips[arrays.second_mask]
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def accuracy_scores(correct: np.ndarray, arrays: SessionArrays) -> tuple[float, float]:
    """``(MAA, first-prediction accuracy)`` of a 0/1 correctness matrix ``(n, 10)`` of ``arrays``' second halves."""
    return (mean_average_accuracy(correct, arrays.second_mask),
            first_prediction_accuracy(correct, arrays.second_mask))


def rule_correctness(rule: str, arrays: SessionArrays) -> np.ndarray | None:
    """0/1 correctness ``(n, 10)`` of the skip rule ``rule`` (:data:`SKIP_RULE_NAMES`) on ``arrays``' second
    halves; None for an oracle where the simulator's probabilities are missing (real data)."""
    from musicrec.models import baselines

    check_choice("rule", rule, SKIP_RULE_NAMES)
    if rule.startswith("oracle") and arrays.skip_probability is None:
        return None
    return (getattr(baselines, SKIP_RULE_NAMES[rule])(arrays) == arrays.second_skips).astype(float)


def rule_scores(rule: str, data: SessionData) -> dict[str, float]:
    """Scores of a skip rule (:data:`SKIP_RULE_NAMES`) on the training, validation and test sessions.

    The oracles need the simulator's probabilities: on real data every score is NaN. Their loss is the
    cross-entropy of the probabilities they threshold (the oracle's: the floor of any model's loss); the other
    rules have no loss (NaN).
    """
    scores = {}
    for part, arrays in (("train", data.train), ("val", data.valid), ("test", data.test)):
        correct = rule_correctness(rule, arrays)
        if correct is None:
            return nan_scores()
        scores[f"{part}_maa"], scores[f"{part}_first_acc"] = accuracy_scores(correct, arrays)
        loss = float("nan")
        if rule.startswith("oracle"):
            probability = arrays.skip_probability if rule == "oracle" else arrays.marginal_probability
            loss = binary_cross_entropy(probability, arrays)
        scores[f"{part}_loss"] = loss
    return scores


def probability_scores(data: SessionData, folder: str | Path) -> dict[str, float]:
    """Scores of skip probabilities stored in ``folder`` as ``val_probability.csv`` and ``test_probability.csv``
    (sessions x 10 second-half slots, NaN in padding): a skip is predicted where p > 0.5; the loss is the
    cross-entropy. Training scores are NaN."""
    scores = nan_scores()
    for part, arrays in (("val", data.valid), ("test", data.test)):
        probability = np.atleast_2d(np.loadtxt(Path(folder) / f"{part}_probability.csv", delimiter=","))
        correct = ((np.nan_to_num(probability) > 0.5) == arrays.second_skips).astype(float)
        scores[f"{part}_maa"], scores[f"{part}_first_acc"] = accuracy_scores(correct, arrays)
        scores[f"{part}_loss"] = binary_cross_entropy(probability, arrays)
    return scores


def selection_score(run: Run) -> dict:
    """What a learning-rate search reads of a finished neural run: validation MAA and loss (of the kept epoch),
    epochs trained and the kept epoch."""
    summary = pd.read_csv(run.file("summary.csv")).iloc[0]
    metrics = run.metrics()
    return {"val_maa": float(summary.val_maa), "val_loss": float(summary.val_loss), "epochs": len(metrics),
            "best_epoch": int(metrics[metrics.kept].epoch.iloc[0])}


def sequence_baseline_scores(model, data: SessionData, *, eval_train: int) -> tuple[dict[str, float], np.ndarray]:
    """Scores of a fitted track-sequence heuristic on the first ``eval_train`` training sessions and the test
    sessions (no loss), and its test correctness ``(n_test, 10)``."""
    from musicrec.models.training import correctness

    scores, correct = {}, None
    probe = data.train.subset(slice(0, int(eval_train)))
    for part, arrays in (("train", probe), ("test", data.test)):
        correct = correctness("sequence", model.predict(arrays), arrays)
        scores[f"{part}_maa"], scores[f"{part}_first_acc"] = accuracy_scores(correct, arrays)
        scores[f"{part}_loss"] = float("nan")
    return scores, correct


def ceiling_scores(data: SessionData) -> tuple[dict[str, float], np.ndarray]:
    """Test scores of :func:`musicrec.models.baselines.ceiling_predictions` (the other scores NaN) and its test
    correctness; ``data`` must hold the test sessions' knowledge (simulated data)."""
    from musicrec.models.baselines import ceiling_predictions
    from musicrec.models.training import correctness

    correct = correctness("sequence", ceiling_predictions(data.test, data.test_knowledge), data.test)
    scores = nan_scores()
    scores["test_maa"], scores["test_first_acc"] = accuracy_scores(correct, data.test)
    return scores, correct


def rule_validation_maa(rule: str, data: SessionData, *, eval_valid: int) -> float:
    """Validation MAA of the skip rule ``rule`` (:data:`SKIP_RULE_NAMES`) on the first ``eval_valid`` validation
    sessions (the sessions of DDPG's curves); NaN for an oracle on real data."""
    curve_valid = data.valid.subset(slice(0, int(eval_valid)))
    correct = rule_correctness(rule, curve_valid)
    return float("nan") if correct is None else mean_average_accuracy(correct, curve_valid.second_mask)


def heuristic_validation_maa(name: str, data: SessionData, *, eval_valid: int,
                             params: Mapping[str, Any] | None = None) -> float:
    """Validation MAA of the track-sequence heuristic ``name`` (built with ``params``, fitted on the training
    sessions) on the first ``eval_valid`` validation sessions."""
    from musicrec.models import baselines
    from musicrec.models.training import correctness

    curve_valid = data.valid.subset(slice(0, int(eval_valid)))
    model = baselines.SEQUENCE_BASELINES[name](**dict(params or {})).fit(data.train, data.n_tokens)
    correct = correctness("sequence", model.predict(curve_valid), curve_valid)
    return mean_average_accuracy(correct, curve_valid.second_mask)


def write_run_outputs(folder: str | Path, task: str, data: SessionData, scores: dict, correct: np.ndarray,
                      predictions: np.ndarray | None = None) -> None:
    """A session run's ``summary.csv`` (:data:`SUMMARY_COLUMNS`, missing scores empty), ``test_correct.csv``
    (the 0/1 correctness of every test prediction) and, for skip runs with ``predictions``,
    ``test_predictions.csv`` in the challenge format (``session_id, session_position, skip_pred``)."""
    folder = Path(folder)
    write_csv_atomic(pd.DataFrame([scores]).reindex(columns=list(SUMMARY_COLUMNS)), folder / "summary.csv")
    np.savetxt(folder / "test_correct.csv", correct.astype(int), fmt="%d", delimiter=",")
    if task == "skip" and predictions is not None:
        mask = data.test.second_mask
        rows, cols = np.nonzero(mask)
        positions = data.test.n_first[rows] + cols + 1
        frame = pd.DataFrame({"session_id": data.test.session_id[rows], "session_position": positions,
                              "skip_pred": predictions[rows, cols].astype(int)})
        write_csv_atomic(frame, folder / "test_predictions.csv")
