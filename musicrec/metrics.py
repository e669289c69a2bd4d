"""Mean Average Accuracy (MAA), the metric of the Spotify Sequential Skip Prediction Challenge.

For one session the predicted part is its *second half*: the positions ``p`` with
``2 * p > session_length`` (positions 11-20 of a 20-track session, 8-15 of a 15-track one). With
``T`` predictions, ``L(i) = 1`` when the i-th one is right and ``A(i)`` the accuracy over the first
``i`` of them, the session's average accuracy is::

    AA = (1 / T) * sum_{i=1..T} A(i) * L(i)

and MAA is the mean of AA over sessions. Early positions weigh more: a right answer at position
``i`` adds ``A(i) / T``, and a wrong one lowers every later ``A``. The challenge also reports the
accuracy of the first prediction. For skip prediction the truth is ``skip_2``; for track sequences
``L(i) = 1`` when the i-th predicted track is the one played.

Arrays here are right-padded: ``correct[n, t]`` for session ``n`` and prediction ``t`` with a
``mask`` marking the real predictions.

>>> average_accuracy([1, 0, 1])   # (1/3) * (1/1 + 0 + 2/3)
0.5555555555555556
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from musicrec.errors import ParameterError

#: Columns of a skip ground-truth table and of a predictions table.
TRUTH_COLUMNS = ("session_id", "session_position", "session_length", "skip_2")
PREDICTION_COLUMNS = ("session_id", "session_position", "skip_pred")


def _as_matrix(correct, mask) -> tuple[np.ndarray, np.ndarray]:
    correct = np.asarray(correct, dtype=float)
    if correct.ndim != 2:
        raise ParameterError(f"correct must be a 2-D array (sessions, predictions), got shape "
                             f"{correct.shape}")
    mask = np.ones_like(correct, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if mask.shape != correct.shape:
        raise ParameterError(f"mask has shape {mask.shape}, correct has {correct.shape}")
    # Right padding: a real prediction never follows a padded one.
    if (mask[:, 1:] & ~mask[:, :-1]).any():
        row = int(np.argwhere(mask[:, 1:] & ~mask[:, :-1])[0, 0])
        raise ParameterError(f"mask of session row {row} is not right-padded: "
                             f"{mask[row].astype(int).tolist()}")
    if (mask.sum(axis=1) == 0).any():
        row = int(np.argmax(mask.sum(axis=1) == 0))
        raise ParameterError(f"session row {row} has no prediction to score")
    bad = mask & ~np.isin(correct, (0.0, 1.0))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ParameterError(f"correct[{row}, {col}]={correct[row, col]} must be 0 or 1")
    return correct * mask, mask


def average_accuracies(correct, mask=None) -> np.ndarray:
    """Average accuracy of each session.

    Parameters
    ----------
    correct : array-like [shape=(n_sessions, max_predictions)]
        1 where the prediction is right, 0 where wrong (padding: anything, masked out).
    mask : array-like of bool [same shape], optional
        True for the session's real predictions (right-padded); default all True.

    Returns
    -------
    np.ndarray [shape=(n_sessions,)]
    """
    correct, mask = _as_matrix(correct, mask)
    steps = np.arange(1, correct.shape[1] + 1)
    running_accuracy = np.cumsum(correct, axis=1) / steps  # A(i)
    return (running_accuracy * correct).sum(axis=1) / mask.sum(axis=1)


def average_accuracy(correct: Sequence[float]) -> float:
    """Average accuracy of one session from its 0/1 correctness sequence."""
    return float(average_accuracies(np.asarray(correct, dtype=float)[None, :])[0])


def mean_average_accuracy(correct, mask=None) -> float:
    """MAA: the mean over sessions of :func:`average_accuracies`."""
    return float(average_accuracies(correct, mask).mean())


def first_prediction_accuracy(correct, mask=None) -> float:
    """Share of sessions whose first prediction is right."""
    correct, _ = _as_matrix(correct, mask)
    return float(correct[:, 0].mean())


def accuracy_at_positions(correct, mask=None, positions: Sequence[int] = (1, 3, 5, 7, 9)) -> dict[int, float]:
    """Accuracy at each (1-based) position of the predicted sequence, over sessions that have it."""
    correct, mask = _as_matrix(correct, mask)
    result = {}
    for position in positions:
        column = int(position) - 1
        if not 0 <= column < correct.shape[1]:
            raise ParameterError(f"position={position} is outside 1..{correct.shape[1]}")
        has = mask[:, column]
        result[int(position)] = float(correct[has, column].mean()) if has.any() else float("nan")
    return result


def correct_count_distribution(correct, mask=None, *, max_count: int | None = None) -> np.ndarray:
    """Share of sessions with 0, 1, ..., ``max_count`` right predictions (the paper's table 4)."""
    correct, mask = _as_matrix(correct, mask)
    max_count = correct.shape[1] if max_count is None else int(max_count)
    counts = correct.sum(axis=1).astype(int)
    return np.bincount(counts, minlength=max_count + 1)[: max_count + 1] / len(counts)


# -- tables: the challenge's file format ----------------------------------------------------------
def second_half_mask(position, length) -> np.ndarray:
    """True for the positions the challenge scores: ``2 * session_position > session_length``."""
    return 2 * np.asarray(position) > np.asarray(length)


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ParameterError(f"{what} lacks the column(s) {missing}; it needs {list(columns)}")


def _binary(values: pd.Series, name: str, what: str, frame: pd.DataFrame) -> np.ndarray:
    """0/1 (or True/False) values as int; otherwise name the first bad row."""
    text = values.astype(str).str.strip().str.lower()
    mapped = text.map({"0": 0, "1": 1, "0.0": 0, "1.0": 1, "true": 1, "false": 0})
    bad = mapped.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        value = values.iloc[i]
        value = value.item() if hasattr(value, "item") else value
        raise ParameterError(
            f"{what} row {i + 1} (session_id={frame.session_id.iloc[i]}, "
            f"session_position={frame.session_position.iloc[i]}) has {name}={value!r}; "
            f"{name} must be 0 or 1 ({int(bad.sum())} bad row(s))")
    return mapped.to_numpy(dtype=int)


def _integer_column(frame: pd.DataFrame, name: str, what: str) -> np.ndarray:
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values != np.round(values)) | (values < 1)
    if bad.any():
        i = int(np.argmax(bad))
        raise ParameterError(f"{what} row {i + 1} (session_id={frame.session_id.iloc[i]}) has "
                             f"{name}={frame[name].iloc[i]!r}; it must be a positive integer")
    return values.astype(int)


def check_truth(truth: pd.DataFrame) -> pd.DataFrame:
    """Validate a skip ground-truth table and return its second-half rows, sorted.

    Every session must have one ``session_length``, positions within ``1..session_length`` without
    repeats, and every second-half position present (first-half rows are allowed and ignored).
    Errors name the session.
    """
    _require_columns(truth, TRUTH_COLUMNS, "truth")
    frame = truth[list(TRUTH_COLUMNS)].copy()
    frame["session_id"] = frame.session_id.astype(str)
    frame["session_position"] = _integer_column(frame, "session_position", "truth")
    frame["session_length"] = _integer_column(frame, "session_length", "truth")
    frame["skip_2"] = _binary(frame.skip_2, "skip_2", "truth", frame)
    lengths = frame.groupby("session_id", sort=False).session_length.agg(["min", "max"])
    mixed = lengths[lengths["min"] != lengths["max"]]
    if len(mixed):
        sid = mixed.index[0]
        raise ParameterError(f"session {sid} has inconsistent session_length "
                             f"({mixed.loc[sid, 'min']} and {mixed.loc[sid, 'max']} in different rows)")
    outside = frame.session_position > frame.session_length
    if outside.any():
        row = frame[outside].iloc[0]
        raise ParameterError(f"session {row.session_id} has session_position {row.session_position} "
                             f"outside 1..{row.session_length}")
    repeated = frame.duplicated(["session_id", "session_position"])
    if repeated.any():
        row = frame[repeated].iloc[0]
        raise ParameterError(f"session {row.session_id} lists session_position {row.session_position} twice")
    second = frame[second_half_mask(frame.session_position, frame.session_length)]
    have = second.groupby("session_id", sort=False).size()
    lengths = frame.groupby("session_id", sort=False).session_length.first()
    need = lengths - lengths // 2
    short = need[have.reindex(need.index, fill_value=0) != need]
    if len(short):
        sid = short.index[0]
        present = set(second.session_position[second.session_id == sid])
        length = int(lengths[sid])
        absent = [p for p in range(length // 2 + 1, length + 1) if p not in present]
        raise ParameterError(f"session {sid} (session_length {length}) lacks second-half "
                             f"session_position(s) {absent}")
    return second.sort_values(["session_id", "session_position"], kind="stable").reset_index(drop=True)


def align_predictions(truth: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Join predictions onto the truth's second half; errors name missing, extra or bad rows.

    Returns the truth's second-half rows with a ``skip_pred`` column (0/1), sorted by session and
    position.
    """
    second = check_truth(truth)
    _require_columns(predictions, PREDICTION_COLUMNS, "predictions")
    pred = predictions[list(PREDICTION_COLUMNS)].copy()
    pred["session_id"] = pred.session_id.astype(str)
    pred["session_position"] = _integer_column(pred, "session_position", "predictions")
    pred["skip_pred"] = _binary(pred.skip_pred, "skip_pred", "predictions", pred)
    pred["_row"] = np.arange(1, len(pred) + 1)
    repeated = pred.duplicated(["session_id", "session_position"])
    if repeated.any():
        row = pred[repeated].iloc[0]
        raise ParameterError(f"predictions row {row._row} repeats session {row.session_id} "
                             f"position {row.session_position}")
    joined = second.merge(pred, on=["session_id", "session_position"], how="outer", indicator=True)
    extra = joined[joined._merge == "right_only"]
    if len(extra):
        row = extra.sort_values("_row").iloc[0]
        raise ParameterError(
            f"predictions row {int(row._row)} (session {row.session_id}, position {row.session_position}) "
            f"is not a second-half position of a truth session ({len(extra)} such row(s))")
    missing = joined[joined._merge == "left_only"]
    if len(missing):
        row = missing.iloc[0]
        raise ParameterError(
            f"predictions lack {len(missing)} row(s); the first is session {row.session_id} "
            f"position {row.session_position}")
    joined = joined.drop(columns=["_merge", "_row"]).astype({"skip_pred": int})
    return joined.sort_values(["session_id", "session_position"], kind="stable").reset_index(drop=True)


def rows_to_matrix(frame: pd.DataFrame, value: str) -> tuple[np.ndarray, np.ndarray]:
    """Second-half rows (sorted by session, position) to a right-padded ``(sessions, T_max)`` matrix."""
    sessions = frame.session_id.to_numpy()
    start = np.r_[0, np.flatnonzero(sessions[1:] != sessions[:-1]) + 1]
    counts = np.diff(np.r_[start, len(frame)])
    index = np.arange(len(frame)) - np.repeat(start, counts)
    matrix = np.zeros((len(start), int(counts.max()) if len(counts) else 0))
    mask = np.zeros_like(matrix, dtype=bool)
    session_row = np.repeat(np.arange(len(start)), counts)
    matrix[session_row, index] = frame[value].to_numpy(dtype=float)
    mask[session_row, index] = True
    return matrix, mask


def skip_scores(truth: pd.DataFrame, predictions: pd.DataFrame) -> dict[str, float]:
    """MAA and first-prediction accuracy of skip predictions in the challenge's table format.

    Parameters
    ----------
    truth : pd.DataFrame
        ``session_id, session_position, session_length, skip_2`` (whole sessions or their second half).
    predictions : pd.DataFrame
        ``session_id, session_position, skip_pred`` (0/1) for every second-half position.

    Returns
    -------
    dict
        ``maa``, ``first_prediction_accuracy`` and ``sessions``.
    """
    joined = align_predictions(truth, predictions)
    joined["correct"] = (joined.skip_pred == joined.skip_2).astype(float)
    correct, mask = rows_to_matrix(joined, "correct")
    return {"maa": mean_average_accuracy(correct, mask),
            "first_prediction_accuracy": first_prediction_accuracy(correct, mask),
            "sessions": int(len(correct))}
