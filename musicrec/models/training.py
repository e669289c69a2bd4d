"""Training and evaluation loops shared by the skip and track-sequence models.

``fit`` trains with Adam on mini-batches of sessions and, after every epoch, scores the model on a
fixed subset of the training sessions and on the validation sessions (held out from training; the test
sessions are scored once, after training, by the caller): loss (binary cross-entropy for skips,
cross-entropy over tracks for sequences, both in eval mode and averaged over second-half tracks), MAA
and first-prediction accuracy (:mod:`musicrec.metrics`). A skip is predicted when its probability
exceeds 0.5; a sequence is decoded greedily (or by beam search).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from musicrec.data.sessions import UNK, SessionArrays
from musicrec.errors import check_choice, check_number
from musicrec.metrics import first_prediction_accuracy, mean_average_accuracy
from musicrec.models.common import length_mask, to_batch

TASKS = ("skip", "sequence")


def task_loss(task: str, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean loss over the real second-half tracks of the batch."""
    mask = length_mask(batch["second_len"])
    if task == "skip":
        return nn.functional.binary_cross_entropy_with_logits(logits[mask],
                                                              batch["second_skips"][mask].float())
    return nn.functional.cross_entropy(logits[mask], batch["second_tracks"][mask], ignore_index=UNK)


def correctness(task: str, predictions: np.ndarray, arrays: SessionArrays) -> np.ndarray:
    """1 where a prediction matches the truth (``skip_2`` or the played track), shape ``(n, 10)``."""
    if task == "skip":
        return (np.asarray(predictions, dtype=bool) == arrays.second_skips).astype(float)
    return ((predictions == arrays.second_tracks) & (arrays.second_tracks != UNK)).astype(float)


@dataclass
class Evaluation:
    """Scores of a model on a set of sessions, and its predictions ``(n, 10)``."""

    loss: float
    maa: float
    first_accuracy: float
    predictions: np.ndarray
    correct: np.ndarray


@torch.no_grad()
def evaluate(model: nn.Module, task: str, arrays: SessionArrays, *, batch_size: int = 1024,
             beam: int = 1) -> Evaluation:
    """Loss, MAA and first-prediction accuracy of ``model`` on ``arrays`` (eval mode)."""
    check_choice("task", task, TASKS)
    model.eval()
    losses, predictions = [], []
    for begin in range(0, len(arrays), batch_size):
        batch = to_batch(arrays, slice(begin, begin + batch_size))
        n_tracks = int(batch["second_len"].sum())
        if task == "skip":
            logits = model(batch)
            losses.append(float(task_loss(task, logits, batch)) * n_tracks)
            predictions.append((logits > 0).cpu().numpy())
        else:
            losses.append(float(task_loss(task, model(batch), batch)) * n_tracks)
            predictions.append(model.predict(batch, beam=beam).cpu().numpy())
    predictions = np.concatenate(predictions)
    correct = correctness(task, predictions, arrays)
    mask = arrays.second_mask
    return Evaluation(loss=sum(losses) / int(arrays.n_second.sum()), maa=mean_average_accuracy(correct, mask),
                      first_accuracy=first_prediction_accuracy(correct, mask), predictions=predictions,
                      correct=correct)


def fit(model: nn.Module, task: str, train: SessionArrays, valid: SessionArrays, *, epochs: int,
        batch_size: int = 256, lr: float = 1e-3, weight_decay: float = 0.0, seed: int = 0,
        eval_train: int = 2000, eval_valid: int | None = None, progress: bool = False,
        description: str = "") -> pd.DataFrame:
    """Train ``model`` for ``epochs`` and return one row of scores per epoch.

    Columns: ``epoch, train_loss, val_loss, train_maa, val_maa, train_first_acc, val_first_acc,
    time_s``. ``train_*`` are measured on the first ``eval_train`` training sessions and ``val_*`` on
    the first ``eval_valid`` validation sessions (all if None).
    """
    from tqdm import tqdm

    check_choice("task", task, TASKS)
    check_number("epochs", epochs, low=1, integer=True)
    check_number("batch_size", batch_size, low=1, integer=True)
    generator = torch.Generator().manual_seed(int(seed))
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    train_probe = train.subset(slice(0, int(eval_train)))
    valid_probe = valid if eval_valid is None else valid.subset(slice(0, int(eval_valid)))
    rows, start = [], time.perf_counter()
    bar = tqdm(range(1, epochs + 1), desc=description or task, disable=not progress, mininterval=5)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(train), generator=generator).numpy()
        for begin in range(0, len(train), batch_size):
            batch = to_batch(train, order[begin:begin + batch_size])
            loss = task_loss(task, model(batch), batch)
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
        scores = {"epoch": epoch}
        for name, part in (("train", train_probe), ("val", valid_probe)):
            result = evaluate(model, task, part)
            scores.update({f"{name}_loss": result.loss, f"{name}_maa": result.maa,
                           f"{name}_first_acc": result.first_accuracy})
        scores["time_s"] = round(time.perf_counter() - start, 3)
        rows.append(scores)
        bar.set_postfix(val_maa=f"{scores['val_maa']:.3f}")
    return pd.DataFrame(rows)
