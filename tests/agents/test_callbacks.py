import numpy as np
import pandas as pd
import pytest

import musicrec.envs  # noqa: F401  (registers the ids)
from musicrec.agents.callbacks import PeriodicEvaluation, all_targets_evaluator, first_reaching
from musicrec.agents.sb3 import train
from musicrec.envs.grid import evaluate_all_targets
from musicrec.errors import ParameterError

TINY = {"id": "musicrec/FeatureGrid-v0", "kwargs": {"dims": 2, "levels": 3, "episode_length": 4}}


def test_evaluates_at_start_every_interval_and_end(tmp_path):
    seen = []

    def evaluate(model):
        seen.append(model.num_timesteps)
        return {"mean": float(len(seen)), "std": 0.0}

    callback = PeriodicEvaluation(evaluate, every=40, folder=tmp_path)
    # A2C with 4 envs and n_steps 5: 20 env steps per rollout, 100 steps in all.
    train({"preset": "a2c", "total_timesteps": 100, "n_envs": 4, "hyperparams": {"n_steps": 5}}, TINY,
          seed=0, run_dir=None, callbacks=[callback], progress_bar=False)
    frame = pd.read_csv(tmp_path / "eval.csv")
    assert frame.timesteps.tolist() == [0, 40, 80, 100]
    assert seen == [0, 40, 80, 100]
    assert frame["mean"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert list(frame.columns) == ["timesteps", "mean", "std", "eval_s", "time_s", "cpu_s"]
    assert (frame.time_s.diff().dropna() >= 0).all() and (frame.eval_s >= 0).all()


def test_all_targets_evaluator_is_the_environment_evaluation():
    result = train({"preset": "a2c", "total_timesteps": 40, "n_envs": 2}, TINY, seed=1, run_dir=None,
                   progress_bar=False)
    values = all_targets_evaluator(TINY["kwargs"])(result.model)
    direct = evaluate_all_targets(result.model, **TINY["kwargs"])
    assert values == {"mean": direct.mean, "std": direct.std, "found": direct.found_fraction}
    subset = all_targets_evaluator(TINY["kwargs"], targets=[0, 8])(result.model)
    assert subset["mean"] == pytest.approx(direct.returns[[0, 8]].mean())


def test_without_folder_rows_stay_in_memory():
    callback = PeriodicEvaluation(lambda model: {"mean": 1.0}, every=1000)
    train({"preset": "a2c", "total_timesteps": 20, "n_envs": 2, "hyperparams": {"n_steps": 5}}, TINY, seed=0,
          run_dir=None, callbacks=[callback], progress_bar=False)
    assert callback.frame().timesteps.tolist() == [0, 20]


@pytest.mark.parametrize("kwargs, message", [
    ({"evaluate": "mean", "every": 10}, "evaluate='mean' must be callable"),
    ({"evaluate": lambda m: {}, "every": 0}, "every=0 must be >= 1"),
    ({"evaluate": lambda m: {}, "every": 2.5}, "every=2.5 must be an integer"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        PeriodicEvaluation(**kwargs)


def test_first_reaching_known_answer():
    frame = pd.DataFrame({"timesteps": [0, 100, 200, 300], "mean": [10.0, 150.0, 190.0, 185.0]})
    assert first_reaching(frame, 188) == 200
    assert first_reaching(frame, 150) == 100
    assert np.isnan(first_reaching(frame, 195))
