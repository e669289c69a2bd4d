import numpy as np
import pandas as pd

import musicrec.envs  # noqa: F401  (registers the ids)
from musicrec.agents.batched_ac import Evaluations
from musicrec.agents.callbacks import GridEvaluationCallback, first_reaching
from musicrec.agents.sb3 import train
from musicrec.envs.grid_core import evaluate_all_targets

TINY = {"id": "musicrec/FeatureGrid-v0", "kwargs": {"dims": 2, "levels": 3, "episode_length": 4}}


def test_sb3_models_are_evaluated_at_start_every_interval_and_end(tmp_path):
    evaluations = Evaluations(TINY["kwargs"], every=40, folder=tmp_path)
    seen = []

    def predict_of(model):
        seen.append(model.num_timesteps)
        return lambda obs, state, start: model.predict(obs, state, start, deterministic=True)

    # A2C with 4 envs and n_steps 5: 20 env steps per rollout, 100 steps in all.
    result = train({"preset": "a2c", "total_timesteps": 100, "n_envs": 4, "hyperparams": {"n_steps": 5}}, TINY,
                   seed=0, run_dir=None, callbacks=[GridEvaluationCallback(evaluations, predict_of)],
                   progress_bar=False)
    frame = pd.read_csv(tmp_path / "eval.csv")
    assert frame.timesteps.tolist() == [0, 40, 80, 100]
    assert list(frame.columns) == ["timesteps", "updates", "mean", "std", "found"]
    final = evaluate_all_targets(result.model, **TINY["kwargs"])
    assert frame["mean"].iloc[-1] == final.mean


def test_first_reaching_known_answer():
    frame = pd.DataFrame({"timesteps": [0, 100, 200], "mean": [10.0, 150.0, 190.0]})
    assert first_reaching(frame, 188) == 200
    assert first_reaching(frame, 150) == 100
    assert np.isnan(first_reaching(frame, 195))
