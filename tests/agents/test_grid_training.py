"""The work of one grid run: telling a policy that ignores the user from one that listens."""

import numpy as np
import pandas as pd
import pytest

from musicrec.agents.grid_rule import GridRulePolicy
from musicrec.agents.grid_training import constant_position
from musicrec.envs.grid_core import evaluate_all_targets


def test_a_policy_that_always_names_the_start_is_detected_as_collapsed():
    env = {"dims": 2, "levels": 5, "target": "wider", "reward": "bullseye", "obs": "grid", "action": "flat",
           "episode_length": 21}

    start = 12

    def stay(obs, state, episode_start):
        return np.full(len(obs), start), state

    frame = lambda result: pd.DataFrame({"target": result.targets, "return": result.returns})  # noqa: E731
    stayed = evaluate_all_targets(stay, **env)
    assert stayed.mean == pytest.approx(42.0)  # 5 of 25 targets rate the centre 4: 210 / 5
    assert constant_position(frame(stayed), env) == start
    rule = evaluate_all_targets(GridRulePolicy(**env), **env)
    assert constant_position(frame(rule), env) is None
