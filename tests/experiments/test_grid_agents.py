"""The grid study (notebooks 03-07): its catalogue and budgets, run folders, tables and their definitions."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import yaml

from musicrec.agents.grid_training import load_agent
from musicrec.envs.grid_core import evaluate_all_targets
from musicrec.errors import ParameterError
from musicrec.experiments import grid_agents
from musicrec.profiles import PROFILE_DIR, PROFILES, load_profile

# A tiny budget: 8 envs x 5 steps per rollout for n = 5, two evaluations per run.
TINY = {"profile": "test", "seeds": [0], "n_envs": 8, "sb3_n_envs": 4, "workers": 1, "eval_points": 2,
        "eval_targets": 64, "final_targets": 32, "checkpoints": 2, "checkpoint_iterations": 1,
        "timesteps": {"wider_grid_n5": 400, "rating_board_n20_mlp": 320, "8d_factored_n20": 160,
                      "wider_board_n20_trpo": 640, "noisy_2d_p20": 320, "wider_grid_n20": 320,
                      "wider_grid_n10_lr7e-5": 160}}


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_budgets_every_experiment_its_notebooks_train(profile):
    budget = grid_agents.load_budget(profile)
    for notebook in grid_agents.STUDIES:
        for name in grid_agents.study_experiments(notebook, budget):
            config = grid_agents.run_config(name, 0, budget)  # validates preset, env and hyperparameters
            assert config["agent"]["total_timesteps"] >= budget.timesteps[name]
    assert len(budget.seeds) >= (3 if profile != "smoke" else 1)


def test_budgets_name_unknown_keys_and_wrong_types():
    with pytest.raises(ParameterError, match=r"unknown budget key\(s\) \['n_env'\]"):
        grid_agents.as_budget({**TINY, "n_env": 3})
    with pytest.raises(ParameterError, match="workers='two' is not an integer"):
        grid_agents.as_budget({**TINY, "workers": "two"})
    with pytest.raises(ParameterError, match=r"\['n_envs'\] must be >= 1"):
        grid_agents.as_budget({**TINY, "n_envs": 0})
    with pytest.raises(ParameterError, match=r"unknown experiment\(s\) \['wider_grid_n7'\]"):
        grid_agents.as_budget({**TINY, "timesteps": {"wider_grid_n7": 10}})


def test_thesis_settings_and_the_iteration_assumption():
    budget = grid_agents.load_budget("default")
    config = grid_agents.run_config("wider_grid_n20", 0, budget)
    hyper = config["agent"]["hyperparams"]
    assert hyper["n_steps"] == 20 and hyper["optimizer"] == "rmsprop" and hyper["recurrent"]
    assert hyper["hidden_size"] == 64 and hyper["head_sizes"] == [64, 64]
    assert grid_agents.experiment("wider_board_n20_trpo").algorithm == "TRPO (in ACKTR's place)"
    assert not grid_agents.experiment("rating_board_n20_mlp").recurrent
    lr = grid_agents.run_config("wider_grid_n10_lr7e-5", 0, budget)
    assert lr["agent"]["hyperparams"]["learning_rate"] == 7e-5
    # one thesis iteration = one update of 16 envs x n steps; checkpoints 5k of them apart
    assert grid_agents.thesis_iteration_steps(20) == 320
    assert grid_agents.checkpoint_steps(4_000_000, 20, budget) == [800_000, 2_400_000, 4_000_000]
    assert grid_agents.checkpoint_steps(1_000_000, 20, budget) == [1_000_000]


@pytest.mark.parametrize("call, message", [
    (lambda: grid_agents.experiment("wider_grid_n7"), "experiment='wider_grid_n7' is not one of"),
    (lambda: grid_agents.run_config("top_grid_n5", 0, TINY), "has no timesteps for experiment 'top_grid_n5'"),
    (lambda: grid_agents.curves(pd.DataFrame({"experiment": [], "run": []}), "top_grid_n5", kind="last5"),
     "kind='last5' is not one of"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ParameterError, match=message):
        call()


def test_target_samples_are_fixed_and_only_for_large_grids():
    big = grid_agents.experiment("8d_factored_n20")
    budget = grid_agents.as_budget(TINY)
    assert grid_agents.evaluation_targets(grid_agents.experiment("wider_grid_n20"), budget) is None
    first = grid_agents.evaluation_targets(big, budget)
    assert first == grid_agents.evaluation_targets(big, budget) and len(first) == 64
    assert len(grid_agents.evaluation_targets(big, budget, final=True)) == 32
    assert grid_agents.evaluation_targets(grid_agents.experiment("6d_factored_n20"), budget, final=True) is None


def test_a_run_writes_its_files_and_the_saved_agent_reproduces_its_evaluation(tmp_path):
    run = grid_agents.train_run("wider_grid_n5", 0, TINY, tmp_path, progress=False)
    for name in ("metrics.csv", "eval.csv", "checkpoints.csv", "final_returns.csv", "model.pt",
                 "normalization.npz", "timings.csv", "config.yml"):
        assert (run.path / name).exists(), name
    assert not list(run.path.glob("*.pkl"))  # nothing that unpickles code
    evals = pd.read_csv(run.file("eval.csv"))
    # every 200 steps (eval_points 2), and at the checkpoints (320, 400)
    assert evals.timesteps.tolist() == [0, 200, 320, 400] and evals.updates.tolist() == [0, 5, 8, 10]
    checkpoints = grid_agents.checkpoint_returns(run)
    assert sorted(checkpoints.timesteps.unique()) == run.config["checkpoints"] == [320, 400]
    final = grid_agents.final_returns(run)
    assert len(final) == 25 and evals["mean"].iloc[-1] == pytest.approx(final["return"].mean())
    _, predict = load_agent(run)
    again = evaluate_all_targets(predict, **grid_agents.experiment("wider_grid_n5").env)
    np.testing.assert_array_equal(again.returns, final["return"].to_numpy())
    modified = (run.path / "model.pt").stat().st_mtime
    assert grid_agents.train_run("wider_grid_n5", 0, TINY, tmp_path).path == run.path  # reused, not retrained
    assert (run.path / "model.pt").stat().st_mtime == modified


def test_same_seed_same_metrics_byte_for_byte(tmp_path):
    first = grid_agents.train_run("noisy_2d_p20", 0, TINY, tmp_path / "a", progress=False)
    second = grid_agents.train_run("noisy_2d_p20", 0, TINY, tmp_path / "b", progress=False)
    for name in ("metrics.csv", "eval.csv", "checkpoints.csv", "final_returns.csv"):
        assert (first.path / name).read_bytes() == (second.path / name).read_bytes(), name
    other = grid_agents.train_run("noisy_2d_p20", 1, TINY, tmp_path / "a", progress=False)
    assert (first.path / "metrics.csv").read_bytes() != (other.path / "metrics.csv").read_bytes()


def test_the_cache_key_covers_the_code_that_computes_the_result():
    config = grid_agents.run_config("wider_grid_n5", 0, TINY)
    assert config["code"] == grid_agents.code_fingerprint(*grid_agents.RESULT_MODULES)
    trpo = grid_agents.run_config("wider_board_n20_trpo", 0, TINY)
    assert trpo["code"] != config["code"]  # SB3's pipeline is part of TRPO's key
    import torch

    assert config["versions"]["torch"] == torch.__version__ and "stable-baselines3" in trpo["versions"]


def test_an_interrupted_run_leaves_nothing_that_looks_finished(tmp_path, monkeypatch):
    import musicrec.agents.batched_ac

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(musicrec.agents.batched_ac, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        grid_agents.train_run("wider_grid_n5", 0, TINY, tmp_path, progress=False)
    assert not grid_agents.make_run("wider_grid_n5", 0, TINY, tmp_path).finished
    assert not list((tmp_path / "grid_agents").iterdir())


def test_parallel_workers_give_the_same_runs_as_one_process(tmp_path):
    budget = {**TINY, "seeds": [0, 1]}
    parallel = grid_agents.run_study(["wider_grid_n5"], budget, tmp_path / "a", workers=2, progress=False)
    inline = grid_agents.run_study(["wider_grid_n5"], budget, tmp_path / "b", workers=1, progress=False)
    for first, second in zip(parallel.run, inline.run):
        assert (first.path / "metrics.csv").read_bytes() == (second.path / "metrics.csv").read_bytes()
        assert grid_agents.final_returns(first).equals(grid_agents.final_returns(second))
    seed0, seed1 = (run.metrics()["return"].to_numpy() for run in parallel.run)
    assert not np.array_equal(seed0, seed1)  # two seeds, two different runs


def test_large_grids_use_the_fixed_sample_and_factored_actions(tmp_path):
    run = grid_agents.train_run("8d_factored_n20", 0, TINY, tmp_path, progress=False)
    final = grid_agents.final_returns(run)
    assert final.target.tolist() == run.config["final_targets"] and len(final) == 32


def test_trpo_runs_through_sb3_and_stores_its_statistics_as_arrays(tmp_path):
    run = grid_agents.train_run("wider_board_n20_trpo", 0, TINY, tmp_path, progress=False)
    assert (run.path / "model.zip").exists() and (run.path / "obs_normalization.npz").exists()
    _, predict = load_agent(run)
    again = evaluate_all_targets(predict, **grid_agents.experiment("wider_board_n20_trpo").env)
    np.testing.assert_array_equal(again.returns, grid_agents.final_returns(run)["return"].to_numpy())
    # the checkpoints of the thesis's metric tables, as a batched run records them
    checkpoints = grid_agents.checkpoint_returns(run)
    assert sorted(checkpoints.timesteps.unique()) == run.config["checkpoints"] == [320, 640]
    last = checkpoints[checkpoints.timesteps == 640]["return"].mean()
    assert last == pytest.approx(pd.read_csv(run.file("eval.csv"))["mean"].iloc[-1])


def test_metrics_table_compares_both_definitions_with_the_thesis(tmp_path):
    study = grid_agents.run_study(["rating_board_n20_mlp", "wider_grid_n10_lr7e-5"], TINY, tmp_path, progress=False)
    reference_budget = load_profile("grid_environment", "smoke")
    table = grid_agents.metrics_table(study, TINY, reference_budget, tmp_path).set_index("experiment")
    mlp = table.loc["rating_board_n20_mlp"]
    assert (mlp.thesis_mean, mlp.thesis_std) == (253, 70) and not mlp.recurrent and mlp.algorithm == "A2C"
    run = study[study.experiment == "rating_board_n20_mlp"].run.iloc[0]
    pooled = grid_agents.checkpoint_returns(run)["return"]
    assert mlp.pooled_mean == pytest.approx(pooled.mean()) and mlp.pooled_checkpoints == len(run.config["checkpoints"])
    assert mlp.final_mean == pytest.approx(grid_agents.final_returns(run)["return"].mean())
    assert mlp.optimum > mlp.rule * 0.99 and mlp.pct_final == pytest.approx(100 * mlp.final_mean / mlp.optimum)


def test_noise_table_compares_the_agent_with_the_bayes_filter(tmp_path):
    budget = {**TINY, "noise_levels": [0.0, 0.2], "noise_repeats": {2: 2}}
    study = grid_agents.run_study(["wider_grid_n20", "noisy_2d_p20"], budget, tmp_path, progress=False)
    table = grid_agents.noise_table(study, budget, load_profile("grid_environment", "smoke"), tmp_path)
    assert table.noise.tolist() == [0.0, 0.2]
    assert (table.bayes_mean <= table.optimum_deterministic + 1e-9).all()
    assert table.bayes_mean.iloc[0] > 190  # the Bayes filter is near-optimal for the deterministic user
    one_seed = len(budget["seeds"]) == 1  # no interval: the verdict only says which mean is higher
    assert set(table.verdict) <= ({"agent higher (one seed)", "Bayes filter higher (one seed)"} if one_seed else
                                  {"agent beats Bayes filter", "Bayes filter beats agent",
                                   "undecided (the agent's 95% interval covers the Bayes mean)"})


def test_profile_file_has_no_keys_the_budget_does_not_know():
    raw = yaml.safe_load((PROFILE_DIR / "grid_agents.yml").read_text())
    known = {f.name for f in dataclasses.fields(grid_agents.GridAgentsBudget)}
    for block in raw.values():
        assert set(block) <= known, set(block) - known
