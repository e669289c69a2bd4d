"""Training callbacks: the feature grid's periodic evaluation over every target, for SB3 models.

The thesis plots "the average total reward of the last 10 sampled trajectories" during training (the
episode log of :func:`musicrec.agents.sb3.train` gives that), and scores trained models by running the
deterministic policy once from every possible target (figures 22-23). The batched learner evaluates
itself (:class:`musicrec.agents.batched_ac.Evaluations`); :class:`GridEvaluationCallback` runs the same
evaluations on an SB3 model, so each learning curve has both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from stable_baselines3.common.callbacks import BaseCallback


class GridEvaluationCallback(BaseCallback):
    """Run a :class:`musicrec.agents.batched_ac.Evaluations` on an SB3 model at each rollout's start.

    At a rollout's start the policy has been updated with every step collected so far, so the
    evaluations of an SB3 run sit at the same points (multiples of ``every`` env steps, rounded up to
    whole rollouts) as those of a batched run. ``predict_of(model)`` turns the model into the
    deterministic ``predict`` to evaluate (e.g. with its frozen observation statistics).
    """

    def __init__(self, evaluations, predict_of: Callable[[Any], Callable]):
        super().__init__()
        self.evaluations = evaluations
        self.predict_of = predict_of

    class _View:
        def __init__(self, callback):
            self.num_timesteps = int(callback.num_timesteps)
            self.updates = int(getattr(callback.model, "_n_updates", 0))
            self.predict = callback.predict_of(callback.model)

    def _on_training_start(self) -> None:
        self.evaluations(self._View(self))

    def _on_rollout_start(self) -> None:
        self.evaluations(self._View(self))

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        self.evaluations(self._View(self), final=True)


def first_reaching(evaluations: pd.DataFrame, threshold: float, *, column: str = "mean") -> float:
    """Environment steps of the first evaluation with ``column >= threshold`` (NaN if never)."""
    hit = evaluations.loc[evaluations[column] >= threshold, "timesteps"]
    return float(hit.iloc[0]) if len(hit) else float(np.nan)
