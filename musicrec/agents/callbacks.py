"""Training callbacks: a periodic evaluation over every target, written to the run folder as CSV.

The thesis plots "the average total reward of the last 10 sampled trajectories" during training (the
episode log of :func:`musicrec.agents.sb3.train` gives that), and scores trained models by running the
deterministic policy once from every possible target (figures 22-23). :class:`PeriodicEvaluation` does
the latter at fixed intervals of environment steps while training, so each learning curve has both.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from stable_baselines3.common.callbacks import BaseCallback

from musicrec.errors import ParameterError, check_number
from musicrec.runs import write_csv_atomic

EVAL_FILE = "eval.csv"
EVAL_COLUMNS = ["timesteps", "mean", "std", "found", "eval_s", "time_s", "cpu_s"]


def all_targets_evaluator(env_kwargs: Mapping[str, Any], *, targets=None,
                          policy: Callable[[Any], Any] | None = None) -> Callable[[Any], dict[str, float]]:
    """An evaluator for :class:`PeriodicEvaluation`: the deterministic policy once from every target.

    ``targets`` (flat indices) restricts the evaluation to a subset, for grids too large to sweep.
    ``policy(model)`` turns the model into the ``predict`` function to evaluate (default: the model's
    own deterministic ``predict``), e.g. to normalise observations as during training.
    """
    from musicrec.envs.grid import evaluate_all_targets

    kwargs = dict(env_kwargs)
    kwargs.pop("render_mode", None)

    def evaluate(model) -> dict[str, float]:
        result = evaluate_all_targets(model if policy is None else policy(model), targets=targets, **kwargs)
        return {"mean": result.mean, "std": result.std, "found": result.found_fraction}

    return evaluate


class PeriodicEvaluation(BaseCallback):
    """Evaluate the model every ``every`` environment steps and log the results to ``folder/eval.csv``.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(model) -> {"mean": ..., "std": ..., ...}``, e.g. :func:`all_targets_evaluator`.
    every : int
        Interval in environment steps (summed over the parallel envs): the model is evaluated at the
        start of the first rollout past each multiple of ``every`` (when it has been updated with every
        step collected so far), before training and after the last update, so the CSV spans the run.
    folder : path or None
        Where ``eval.csv`` is written (rewritten atomically after each evaluation); ``None`` keeps
        the rows in memory only (:meth:`frame`).

    The CSV has one row per evaluation: ``timesteps``, the evaluator's values (``mean, std, found``
    for :func:`all_targets_evaluator`; ``found``: share of targets where a rating-4 position was
    reached), ``eval_s`` (seconds the evaluation took), ``time_s`` (wall seconds since training
    started, evaluations included) and ``cpu_s`` (CPU seconds of this process since training started:
    a throughput measure that other jobs on the machine do not inflate).
    """

    def __init__(self, evaluate: Callable[[Any], Mapping[str, float]], every: int,
                 folder: str | os.PathLike | None = None, *, file_name: str = EVAL_FILE):
        super().__init__()
        if not callable(evaluate):
            raise ParameterError(f"evaluate={evaluate!r} must be callable")
        self.evaluate = evaluate
        self.every = int(check_number("every", every, low=1, integer=True))
        self.folder = None if folder is None else Path(folder)
        self.file_name = file_name
        self.rows: list[dict[str, float]] = []
        self._next = 0
        self._start = 0.0
        self._cpu_start = 0.0

    def _evaluate_now(self) -> None:
        started = time.perf_counter()
        result = dict(self.evaluate(self.model))
        finished = time.perf_counter()
        row = {"timesteps": int(self.num_timesteps), **{k: float(v) for k, v in result.items()},
               "eval_s": round(finished - started, 4), "time_s": round(finished - self._start, 3),
               "cpu_s": round(time.process_time() - self._cpu_start, 3)}
        self.rows.append(row)
        if self.folder is not None:
            write_csv_atomic(self.frame(), self.folder / self.file_name)

    def _on_training_start(self) -> None:
        self._start = time.perf_counter()
        self._cpu_start = time.process_time()
        self._next = (self.num_timesteps // self.every + 1) * self.every
        self._evaluate_now()

    def _on_rollout_start(self) -> None:
        # At a rollout's start the policy has been updated with every step collected so far.
        if self.num_timesteps >= self._next:
            self._next = (self.num_timesteps // self.every + 1) * self.every
            self._evaluate_now()

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        if self.rows and self.rows[-1]["timesteps"] == self.num_timesteps:
            self.rows.pop()  # an update may have followed that evaluation: the final policy replaces it
        self._evaluate_now()

    def frame(self) -> pd.DataFrame:
        """The evaluations so far as a DataFrame (columns as in the CSV)."""
        frame = pd.DataFrame(self.rows)
        columns = [c for c in EVAL_COLUMNS if c in frame] + [c for c in frame if c not in EVAL_COLUMNS]
        return frame[columns] if len(frame) else pd.DataFrame(columns=EVAL_COLUMNS)


def first_reaching(evaluations: pd.DataFrame, threshold: float, *, column: str = "mean") -> float:
    """Environment steps of the first evaluation with ``column >= threshold`` (NaN if never)."""
    hit = evaluations.loc[evaluations[column] >= threshold, "timesteps"]
    return float(hit.iloc[0]) if len(hit) else float(np.nan)
