import pandas as pd
import pytest

from musicrec.agents.sb3 import PRESETS, load_model, resolve_config, train
from musicrec.errors import ParameterError
from musicrec.runs import Run

GENRE = {"id": "musicrec/Genre-v0", "kwargs": {"user": "pop_lover"}}


@pytest.mark.parametrize("preset", ["a2c", "ppo", "recurrent_ppo", "trpo"])
def test_every_discrete_preset_trains_a_few_steps(preset, tmp_path):
    hyper = {"n_steps": 8}
    if preset in ("ppo", "recurrent_ppo", "trpo"):
        hyper["batch_size"] = 16
    result = train({"preset": preset, "total_timesteps": 64, "n_envs": 2, "hyperparams": hyper},
                   GENRE, seed=0, run_dir=tmp_path, progress_bar=False)
    assert (tmp_path / "model.zip").exists()
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert len(metrics) >= 4 and set(metrics.length) == {10}
    assert load_model(preset, tmp_path / "model.zip") is not None
    assert result.config["hyperparams"]["n_steps"] == 8


def test_same_seed_same_training():
    config = {"preset": "a2c", "total_timesteps": 200, "n_envs": 2}
    first = train(config, GENRE, seed=3, run_dir=None, progress_bar=False).episodes
    second = train(config, GENRE, seed=3, run_dir=None, progress_bar=False).episodes
    pd.testing.assert_frame_equal(first.drop(columns="time_s"), second.drop(columns="time_s"))


def test_train_inside_a_cached_run(tmp_path):
    config = {"preset": "a2c", "total_timesteps": 100}
    run = Run(tmp_path, "toy_a2c", {"agent": config, "env": GENRE, "seed": 0})
    run.execute(lambda folder: train(config, GENRE, 0, folder, progress_bar=False))
    assert run.finished and run.file("model.zip").exists()


@pytest.mark.parametrize("config, env, message", [
    ({"preset": "acktr", "total_timesteps": 10}, GENRE, "preset='acktr' is not one of"),
    ({"preset": "a2c", "total_timesteps": 10, "hyperparams": {"clip_range": 0.2}}, GENRE,
     r"hyperparameter\(s\) \['clip_range'\] are not taken by A2C"),
    ({"preset": "a2c", "total_timesteps": 10}, {"id": "musicrec/Nothing-v0"},
     "env id 'musicrec/Nothing-v0' is not registered"),
    ({"preset": "a2c", "total_timesteps": 0}, GENRE, "total_timesteps=0"),
    ({"preset": "a2c", "total_timesteps": 10, "epochs": 3}, GENRE, r"unknown agent config key\(s\) \['epochs'\]"),
    ({"preset": "a2c", "total_timesteps": 10,
      "hyperparams": {"policy_kwargs": {"optimizer_class": "Adamish"}}}, GENRE, "'Adamish' does not exist"),
])
def test_bad_config_is_named_before_training(config, env, message):
    with pytest.raises(ParameterError, match=message):
        resolve_config(config, env)


def test_trpo_is_labelled_as_acktr_stand_in():
    assert "ACKTR" in PRESETS["trpo"].label
