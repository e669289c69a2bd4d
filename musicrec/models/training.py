"""Training and evaluation loops shared by the skip and track-sequence models.

``fit`` trains with Adam on mini-batches of sessions and, after every epoch, scores the model on a
fixed subset of the training sessions and on the validation sessions (held out from training; the test
sessions are scored once, after training, by the caller): loss (binary cross-entropy for skips,
cross-entropy over tracks for sequences, both in eval mode and averaged over second-half tracks), MAA
and first-prediction accuracy (:mod:`musicrec.metrics`). A skip is predicted when its probability
exceeds 0.5; a sequence is decoded greedily (or by beam search). With ``patience``, training stops
early: after ``patience`` epochs without a higher validation MAA, the weights of the best epoch are
restored. A model with a ``training_loss(batch)`` method (the next-track models, trained on every
position) is trained on that loss; every model is scored on the second half.
"""

from __future__ import annotations

import copy
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
        patience: int | None = None, batch_size: int = 256, lr: float = 1e-3, weight_decay: float = 0.0,
        seed: int = 0, eval_train: int = 2000, eval_valid: int | None = None, progress: bool = False,
        description: str = "") -> pd.DataFrame:
    """Train ``model`` for at most ``epochs`` and return one row of scores per epoch.

    Columns: ``epoch, train_loss, val_loss, train_maa, val_maa, train_first_acc, val_first_acc,
    time_s, kept``. ``train_*`` are measured on the first ``eval_train`` training sessions and ``val_*`` on
    the first ``eval_valid`` validation sessions (all if None). ``kept`` marks the epoch whose weights the
    model holds on return: the last one, or with ``patience`` the one with the highest validation MAA
    (training stops once ``patience`` epochs in a row bring no higher one).
    """
    from tqdm import tqdm

    check_choice("task", task, TASKS)
    check_number("epochs", epochs, low=1, integer=True)
    check_number("batch_size", batch_size, low=1, integer=True)
    if patience is not None:
        check_number("patience", patience, low=1, integer=True)
    generator = torch.Generator().manual_seed(int(seed))
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimiser = torch.optim.Adam(trainable, lr=lr, weight_decay=weight_decay)
    train_probe = train.subset(slice(0, int(eval_train)))
    valid_probe = valid if eval_valid is None else valid.subset(slice(0, int(eval_valid)))
    own_loss = getattr(model, "training_loss", None)
    rows, start = [], time.perf_counter()
    best_maa, best_epoch, best_state = -np.inf, 0, None
    bar = tqdm(range(1, epochs + 1), desc=description or task, disable=not progress, mininterval=5)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(train), generator=generator).numpy()
        for begin in range(0, len(train), batch_size):
            batch = to_batch(train, order[begin:begin + batch_size])
            loss = own_loss(batch) if own_loss is not None else task_loss(task, model(batch), batch)
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(trainable, 1.0)
            optimiser.step()
        scores = {"epoch": epoch}
        for name, part in (("train", train_probe), ("val", valid_probe)):
            result = evaluate(model, task, part)
            scores.update({f"{name}_loss": result.loss, f"{name}_maa": result.maa,
                           f"{name}_first_acc": result.first_accuracy})
        scores["time_s"] = round(time.perf_counter() - start, 3)
        rows.append(scores)
        bar.set_postfix(val_maa=f"{scores['val_maa']:.3f}")
        if scores["val_maa"] > best_maa:
            best_maa, best_epoch = scores["val_maa"], epoch
            if patience is not None:
                best_state = copy.deepcopy(model.state_dict())
        elif patience is not None and epoch - best_epoch >= patience:
            break
    if patience is not None and best_state is not None:
        model.load_state_dict(best_state)
    frame = pd.DataFrame(rows)
    frame["kept"] = frame.epoch == (best_epoch if patience is not None else frame.epoch.iloc[-1])
    return frame
