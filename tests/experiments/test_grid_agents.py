import numpy as np
import pandas as pd
import pytest

from musicrec.envs.grid import evaluate_all_targets
from musicrec.errors import ParameterError
from musicrec.experiments import grid_agents
from musicrec.profiles import PROFILES, load_profile

# A tiny budget: 4 envs; wider_grid_n5 runs 10 rollouts of 5 steps per env (8 episodes of 21 steps).
TINY = {"profile": "test", "seeds": [0], "n_envs": 4, "workers": 1, "eval_points": 2, "eval_targets": 64,
        "normalize": {"obs": True, "reward": True},
        "timesteps": {"wider_grid_n5": 200, "rating_board_n20_a2c": 160, "8d_factored_n20": 80}}


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_budgets_every_experiment_its_notebooks_train(profile):
    budget = load_profile("grid_agents", profile)
    for notebook in grid_agents.STUDIES:
        for name in grid_agents.study_experiments(notebook, budget):
            config = grid_agents.run_config(name, 0, budget)  # validates preset, env and hyperparameters
            assert config["agent"]["total_timesteps"] == budget["timesteps"][name]
    assert len(budget["seeds"]) >= (3 if profile != "smoke" else 1)


def test_thesis_settings_of_the_experiments():
    exp = grid_agents.experiment("wider_grid_n20")
    config = grid_agents.run_config("wider_grid_n20", 0, load_profile("grid_agents", "default"))
    hyper = config["agent"]["hyperparams"]
    assert config["agent"]["n_envs"] == 16 and hyper["n_steps"] == 20 and hyper["learning_rate"] == 7e-4
    assert exp.recurrent and exp.algorithm == "A2C"
    assert grid_agents.experiment("wider_board_n20_trpo").algorithm == "TRPO (in ACKTR's place)"
    assert not grid_agents.experiment("rating_board_n20_a2c").recurrent
    lr = grid_agents.run_config("wider_grid_n10_lr7e-5", 0, load_profile("grid_agents", "default"))
    assert lr["agent"]["hyperparams"]["learning_rate"] == 7e-5


@pytest.mark.parametrize("call, message", [
    (lambda: grid_agents.experiment("wider_grid_n7"), "experiment='wider_grid_n7' is not one of"),
    (lambda: grid_agents.run_config("top_grid_n5", 0, TINY), "has no timesteps for experiment 'top_grid_n5'"),
    (lambda: grid_agents.curves(pd.DataFrame({"experiment": [], "run": []}), "top_grid_n5", kind="last5"),
     "kind='last5' is not one of"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ParameterError, match=message):
        call()


def test_finite_horizon_drops_the_time_limit_flag():
    venv = grid_agents.make_vec_env({"kwargs": {"dims": 2, "episode_length": 2}}, 3, seed=0,
                                    normalize={"obs": False, "reward": False})
    venv.reset()
    venv.step(np.zeros(3, dtype=int))
    _, _, dones, infos = venv.step(np.zeros(3, dtype=int))
    assert dones.all() and all("TimeLimit.truncated" not in info for info in infos)
    assert all("episode" in info and "terminal_observation" in info for info in infos)


def test_target_samples_are_fixed_and_only_for_large_grids():
    big = grid_agents.experiment("8d_factored_n20")
    assert grid_agents.evaluation_targets(grid_agents.experiment("wider_grid_n20"), TINY) is None
    first = grid_agents.evaluation_targets(big, TINY)
    assert first == grid_agents.evaluation_targets(big, TINY) and len(first) == 64
    assert len(grid_agents.evaluation_targets(big, {"final_targets": 100}, final=True)) == 100
    assert grid_agents.evaluation_targets(grid_agents.experiment("6d_factored_n20"), TINY, final=True) is None


def test_a_run_writes_its_files_and_the_saved_agent_reproduces_its_evaluation(tmp_path):
    run = grid_agents.train_run("wider_grid_n5", 0, TINY, tmp_path, progress=False)
    for name in ("metrics.csv", "eval.csv", "final_returns.csv", "model.zip", "vecnormalize.pkl", "config.yml"):
        assert (run.path / name).exists(), name
    evals = pd.read_csv(run.file("eval.csv"))
    assert evals.timesteps.tolist() == [0, 100, 200]
    final = grid_agents.final_returns(run)
    assert len(final) == 25 and evals["mean"].iloc[-1] == pytest.approx(final["return"].mean())
    _, predict = grid_agents.load_agent(run)
    again = evaluate_all_targets(predict, **grid_agents.experiment("wider_grid_n5").env)
    np.testing.assert_array_equal(again.returns, final["return"].to_numpy())
    # a finished run is reused, not retrained
    modified = (run.path / "model.zip").stat().st_mtime
    assert grid_agents.train_run("wider_grid_n5", 0, TINY, tmp_path).path == run.path
    assert (run.path / "model.zip").stat().st_mtime == modified


def test_an_interrupted_run_leaves_nothing_that_looks_finished(tmp_path, monkeypatch):
    import musicrec.agents.sb3

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(musicrec.agents.sb3, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        grid_agents.train_run("wider_grid_n5", 0, TINY, tmp_path, progress=False)
    assert not grid_agents.make_run("wider_grid_n5", 0, TINY, tmp_path).finished
    assert not list((tmp_path / "grid_agents").iterdir())


def test_parallel_workers_give_the_same_runs_as_one_process(tmp_path):
    budget = {**TINY, "seeds": [0, 1]}
    parallel = grid_agents.run_study(["wider_grid_n5"], budget, tmp_path / "a", workers=2, progress=False)
    inline = grid_agents.run_study(["wider_grid_n5"], budget, tmp_path / "b", workers=1, progress=False)
    for first, second in zip(parallel.run, inline.run):
        pd.testing.assert_frame_equal(first.metrics().drop(columns="time_s"), second.metrics().drop(columns="time_s"))
        assert grid_agents.final_returns(first).equals(grid_agents.final_returns(second))
    seed0, seed1 = (run.metrics()["return"].to_numpy() for run in parallel.run)
    assert not np.array_equal(seed0, seed1)  # two seeds, two different runs


def test_large_grids_use_the_fixed_sample_and_factored_actions(tmp_path):
    budget = {**TINY, "eval_targets": 16, "final_targets": 32}
    run = grid_agents.train_run("8d_factored_n20", 0, budget, tmp_path, progress=False)
    final = grid_agents.final_returns(run)
    assert final.target.tolist() == run.config["final_targets"] and len(final) == 32
    assert run.config["agent"]["hyperparams"]["n_steps"] == 20


def test_metrics_table_has_the_issue_columns_and_the_thesis_numbers(tmp_path):
    study = grid_agents.run_study(["rating_board_n20_a2c"], TINY, tmp_path, progress=False)
    reference_budget = load_profile("grid_environment", "smoke")
    table = grid_agents.metrics_table(study, TINY, reference_budget, tmp_path)
    assert list(table.columns) == ["dims", "target", "reward", "obs", "n_steps", "recurrent", "algorithm",
                                   "profile", "seeds", "mean", "std", "thesis_mean", "thesis_std", "optimum",
                                   "pct_of_optimum"]
    agent = table.iloc[0]
    assert (agent.thesis_mean, agent.thesis_std) == (253, 70) and agent.recurrent == False  # noqa: E712
    assert agent.algorithm == "A2C" and agent.obs == "board" and agent.reward == "rating"
    optimum = table[table.algorithm.str.startswith("exact optimum")].iloc[0]
    assert optimum["mean"] == pytest.approx(optimum.optimum) and optimum.pct_of_optimum == pytest.approx(100)
    rule = table[table.algorithm == "rule baseline"].iloc[0]
    assert 0 < rule["mean"] <= optimum["mean"] + 1e-9
    assert agent.pct_of_optimum == pytest.approx(100 * agent["mean"] / optimum["mean"])
