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


# -- models and normalisation statistics read without unpickling ------------------------------------------
GRID = {"id": "musicrec/FeatureGrid-v0", "kwargs": {"dims": 2, "levels": 5, "episode_length": 21}}


def _poisoned_copy(model_zip, poisoned, marker):
    """``model_zip`` with a pickled object in its ``data`` entry that creates ``marker`` when unpickled."""
    import base64
    import json
    import os
    import pickle
    import zipfile

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    with zipfile.ZipFile(model_zip) as source, zipfile.ZipFile(poisoned, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "data":
                data = json.loads(content)
                data["payload"] = {":type:": "<class 'object'>",
                                   ":serialized:": base64.b64encode(pickle.dumps(Payload())).decode()}
                content = json.dumps(data).encode()
            target.writestr(item, content)


def test_load_weights_reads_tensors_only_and_gives_the_same_policy(tmp_path):
    from musicrec.agents.sb3 import load_weights

    config = {"preset": "a2c", "total_timesteps": 64, "n_envs": 2, "hyperparams": {"n_steps": 8}}
    result = train(config, GRID, seed=0, run_dir=tmp_path, progress_bar=False)
    poisoned, marker = tmp_path / "poisoned.zip", tmp_path / "code-ran"
    _poisoned_copy(tmp_path / "model.zip", poisoned, marker)
    model = load_weights(result.config, poisoned)
    assert not marker.exists(), "load_weights unpickled the zip's data"
    obs = result.model.get_env().reset()
    assert (model.predict(obs, deterministic=True)[0] == result.model.predict(obs, deterministic=True)[0]).all()
    for name, tensor in result.model.policy.state_dict().items():
        assert (model.policy.state_dict()[name] == tensor).all(), name
    load_model("a2c", poisoned)  # SB3's own load unpickles: what the studies no longer use
    assert marker.exists()


def test_load_weights_refuses_another_architecture_and_a_corrupt_file(tmp_path):
    from musicrec.agents.sb3 import load_weights

    config = {"preset": "a2c", "total_timesteps": 16, "n_envs": 1, "hyperparams": {"n_steps": 8}}
    result = train(config, GRID, seed=0, run_dir=tmp_path, progress_bar=False)
    other = {**result.config, "env": {**GRID, "kwargs": {**GRID["kwargs"], "dims": 3}}}
    with pytest.raises(ParameterError, match="does not hold the weights"):
        load_weights(other, tmp_path / "model.zip")
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(ParameterError, match="broken.zip"):
        load_weights(result.config, tmp_path / "broken.zip")
    with pytest.raises(ParameterError, match="is a folder"):
        load_weights(result.config, tmp_path)


def test_vec_normalize_statistics_round_trip_as_plain_arrays(tmp_path):
    import numpy as np
    from stable_baselines3.common.vec_env import VecNormalize

    from musicrec.agents.sb3 import load_vec_normalize, make_env, save_vec_normalize

    venv = VecNormalize(make_env(GRID, 2, 0), gamma=0.9, clip_obs=5.0)
    rng = np.random.default_rng(0)
    venv.reset()
    for _ in range(30):
        venv.step(rng.integers(25, size=2))
    path = save_vec_normalize(venv, tmp_path / "vecnormalize.npz")
    with np.load(path, allow_pickle=False) as data:  # plain arrays: loads without pickle
        assert all(data[name].dtype != object for name in data.files)
    loaded = load_vec_normalize(path, make_env(GRID, 1, 5))
    assert not loaded.training and loaded.gamma == 0.9 and loaded.clip_obs == 5.0
    for mine, theirs in ((loaded.obs_rms, venv.obs_rms), (loaded.ret_rms, venv.ret_rms)):
        np.testing.assert_array_equal(mine.mean, theirs.mean)
        np.testing.assert_array_equal(mine.var, theirs.var)
        assert mine.count == theirs.count
    obs = rng.random((3, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.normalize_obs(obs), venv.normalize_obs(obs))
    with pytest.raises(ParameterError, match="shape"):
        load_vec_normalize(path, make_env({**GRID, "kwargs": {**GRID["kwargs"], "dims": 3}}, 1, 0))
    (tmp_path / "bad.npz").write_bytes(b"junk")
    with pytest.raises(ParameterError, match="bad.npz"):
        load_vec_normalize(tmp_path / "bad.npz", make_env(GRID, 1, 0))


def test_separate_timings_give_byte_identical_metrics(tmp_path):
    config = {"preset": "a2c", "total_timesteps": 96, "n_envs": 2, "hyperparams": {"n_steps": 8}}
    for name in ("first", "second"):
        train(config, GENRE, seed=1, run_dir=tmp_path / name, progress_bar=False, separate_timings=True)
    first, second = ((tmp_path / name / "metrics.csv").read_bytes() for name in ("first", "second"))
    assert first == second and b"time_s" not in first
    timings = pd.read_csv(tmp_path / "first" / "timings.csv")
    assert list(timings.columns) == ["episode", "time_s"] and len(timings) == first.count(b"\n") - 1
