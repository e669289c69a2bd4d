import numpy as np
import pandas as pd
import pytest

from musicrec.errors import ParameterError
from musicrec.experiments import latent
from musicrec.profiles import load_profile


@pytest.fixture(scope="module")
def budget():
    return {**load_profile("latent", "smoke"), "n_tracks": 300, "eval_sessions": 6, "seeds": [0]}


def test_agent_table_known_answer():
    rows = []

    def row(listener, agent, seed, expected, **extra):
        rows.append({"listener": listener, "actions": "knn", "lam": 10.0, "agent": agent, "seed": seed,
                     "reward": expected + 1.0, "expected": expected, "expected_before": expected / 20,
                     "expected_after": np.nan, "listened": 0.5, "like_rate": 0.1, "above_ceiling": 0.0, **extra})

    for seed, (ppo, planner, oracle, rnd) in enumerate([(8.0, 10.0, 5.0, 2.0), (10.0, 20.0, 10.0, 4.0)]):
        for agent, expected in (("ppo", ppo), ("planner", planner), ("oracle", oracle), ("random", rnd)):
            row("fixed", agent, seed, expected)
    row("mood_change", "planner", 0, 20.0, expected_after=2.0)
    row("mood_change", "recurrent_ppo", 0, 5.0, expected_after=0.5, above_ceiling=0.25)
    table = latent.agent_table(pd.DataFrame(rows))
    assert list(table.columns) == list(latent.TABLE_COLUMNS)
    ppo = table[table.agent == "PPO"].iloc[0]
    assert ppo.mean_expected == 9.0 and ppo.std_expected == pytest.approx(np.sqrt(2)) and ppo.seeds == 2
    assert ppo.mean_reward == 10.0
    # % of the ceiling is per seed (80% and 50%), then averaged
    assert ppo.pct_of_ceiling == pytest.approx(65.0)
    assert ppo.pct_of_ceiling_std == pytest.approx(np.std([80.0, 50.0], ddof=1))
    assert table[table.agent == "myopic oracle (baseline)"].pct_of_ceiling.iloc[0] == pytest.approx(50.0)
    assert table[table.agent == "planner (ceiling)"].pct_of_ceiling.iloc[0] == pytest.approx(100.0)
    mood = table[table.agent == "RecurrentPPO [mood change]"].iloc[0]
    assert mood.pct_of_ceiling == pytest.approx(25.0) and mood.std_expected == 0.0
    assert mood.expected_after == 0.5 and mood.above_ceiling == 0.25
    assert table.agent.tolist()[:4] == ["PPO", "random neighbour", "myopic oracle (baseline)", "planner (ceiling)"]


def test_evaluation_results_count_sessions_above_the_ceiling(tmp_path):
    from musicrec.runs import Run

    frames = {"planner": [10.0, 10.0, 10.0], "ppo": [9.0, 11.0, 10.0]}
    rows = []
    for agent, expected in frames.items():
        run = Run(tmp_path, "latent_baseline", {"agent": agent}, name=agent)
        session = pd.DataFrame({"session_seed": [1, 2, 3], "reward": expected, "expected": expected,
                                "listened": 0.5, "like_rate": 0.1, "switch_at": np.nan,
                                "expected_before": 0.5, "expected_after": np.nan})
        run.execute(lambda folder, s=session: [s.to_csv(folder / name, index=False)
                                               for name in ("eval.csv", "metrics.csv")])
        rows.append({"listener": "fixed", "actions": "knn", "lam": 10.0, "agent": agent, "seed": 0, "run": run})
    results = latent.evaluation_results(pd.DataFrame(rows)).set_index("agent")
    assert results.loc["ppo", "above_ceiling"] == pytest.approx(1 / 3)
    assert results.loc["planner", "above_ceiling"] == 0.0


def test_runs_are_cached_and_reused(budget, tmp_path):
    vae = latent.vae_run(budget, 2, tmp_path, progress=False)
    assert vae.finished and latent.vae_latents(vae).shape == (300, 2)
    assert set(pd.read_csv(vae.file("reconstruction.csv")).feature) >= {"tempo", "key"}
    run = latent.agent_run({**budget, "env_latent_dim": 2}, "ppo", tmp_path, actions="knn", lam=10.0,
                           listener="fixed", seed=0, timesteps=64, progress=False)
    evaluation = pd.read_csv(run.file("eval.csv"))
    assert len(evaluation) == 6 and run.file("model.zip").exists()
    stamp = run.file("eval.csv").stat().st_mtime_ns
    again = latent.agent_run({**budget, "env_latent_dim": 2}, "ppo", tmp_path, actions="knn", lam=10.0,
                             listener="fixed", seed=0, timesteps=64, progress=False)
    assert again.path == run.path and again.file("eval.csv").stat().st_mtime_ns == stamp
    assert run.config["sb3"]["policy"] == "candidate_scoring"
    # the cache key holds the code that computes the result: another fingerprint is another run
    from musicrec.runs import Run, code_fingerprint

    assert run.config["code"] == code_fingerprint(*latent.POLICY_MODULES)
    assert vae.config["code"] == code_fingerprint(*latent.VAE_MODULES) and run.config["space"] == vae.config
    edited = Run(tmp_path, "latent_agent", {**run.config, "code": "0" * 12}, name=run.path.name.rsplit("-", 1)[0])
    assert edited.path != run.path and not edited.finished


def test_study_plan_and_bad_agents(budget):
    plan = latent.study_plan(budget)
    assert set(plan.agent) == {"ppo", "ppo_mlp", "ppo_documents", "ppo_liked_or_completed", "ppo_skip_penalty",
                               "ddpg", "recurrent_ppo", "ppo_history", "ppo_told_mood", "ppo_likes",
                               "recurrent_ppo_likes", "ppo_told_mood_likes"}
    documents = latent.agent_config(budget, "ppo_documents", actions="knn", lam=10.0, listener="fixed", seed=0,
                                    timesteps=64)
    kwargs = documents["sb3"]["env"]["kwargs"]
    assert kwargs["observe_candidates"] is False and kwargs["observe_feedback"] is False
    assert documents["sb3"]["policy"] == "MlpPolicy"
    # trained on another reward, every agent is evaluated on listened + lambda * liked
    other = latent.agent_config(budget, "ppo_skip_penalty", actions="knn", lam=10.0, listener="fixed", seed=0,
                                timesteps=64)
    assert other["sb3"]["env"]["kwargs"]["reward"] == "skip_penalty"
    mood = plan[plan.listener == "mood_change"]
    assert set(mood[mood.actions == "knn"].agent) == {"ppo", "recurrent_ppo", "ppo_history", "ppo_told_mood"}
    # the memory test: any track, likes only, for every agent of the setting
    memory = mood[mood.actions == "continuous"]
    assert set(memory.agent) == set(latent.MEMORY_AGENTS) and (memory.timesteps == budget["timesteps_memory"]).all()
    for agent in latent.MEMORY_AGENTS:
        config = latent.agent_config(budget, agent, actions="continuous", lam=10.0, listener="mood_change", seed=0,
                                     timesteps=64)
        assert config["sb3"]["env"]["kwargs"]["observe_listened"] is False
    assert latent.agent_config(budget, "ppo_told_mood_likes", actions="continuous", lam=10.0, listener="mood_change",
                               seed=0, timesteps=64)["sb3"]["env"]["kwargs"]["observe_mood"] is True
    # the probes' observations and the scoring policy agree on the observation's layout
    stacked = latent.agent_config(budget, "ppo_history", actions="knn", lam=10.0, listener="mood_change", seed=0,
                                  timesteps=64)
    assert stacked["sb3"]["env"]["kwargs"]["history"] == 4
    assert stacked["sb3"]["hyperparams"]["policy_kwargs"]["history"] == 4
    told = latent.agent_config(budget, "ppo_told_mood", actions="knn", lam=10.0, listener="mood_change", seed=0,
                               timesteps=64)
    assert told["sb3"]["env"]["kwargs"]["observe_mood"] is True
    assert told["sb3"]["hyperparams"]["policy_kwargs"]["extra_dim"] == 2
    plain = latent.agent_config(budget, "ppo", actions="knn", lam=10.0, listener="mood_change", seed=0, timesteps=64)
    assert "extra_dim" not in plain["sb3"]["hyperparams"]["policy_kwargs"]  # earlier runs keep their cache key
    with pytest.raises(ParameterError, match="agent 'ddpg' does not act in the 'knn' action space"):
        latent.agent_policy("ddpg", "knn")
    with pytest.raises(ParameterError, match="listener='sometimes'"):
        latent.listener_spec(budget, "sometimes")


def test_two_identical_agent_runs_write_byte_identical_metrics(budget, tmp_path):
    paths = []
    for name in ("first", "second"):
        run = latent.agent_run({**budget, "env_latent_dim": 2}, "ppo", tmp_path / name, actions="knn", lam=10.0,
                               listener="fixed", seed=0, timesteps=64, progress=False)
        paths.append(run.path / "metrics.csv")
        assert "time_s" in run.timings().columns and "time_s" not in run.metrics().columns
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_the_budget_is_typed_and_validated(budget):
    typed = latent.as_budget(budget)
    assert isinstance(typed, latent.LatentBudget) and typed["seeds"] == (0,) and typed.n_jobs == 1
    assert latent.as_budget("smoke") == latent.load_budget("smoke") and latent.as_budget(typed) is typed
    for profile in ("smoke", "default", "full"):
        assert latent.load_budget(profile).catalog_csv is None
    with pytest.raises(ParameterError, match="log_sessions=0 must be >= 1"):
        latent.as_budget({**budget, "log_sessions": 0})
    with pytest.raises(ParameterError, match=r"unknown budget key\(s\) \['episodes'\]"):
        latent.as_budget({**budget, "episodes": 3})
    with pytest.raises(ParameterError, match="vae_seed"):
        latent.as_budget({key: value for key, value in budget.items() if key != "vae_seed"})


def test_configs_from_a_mapping_and_from_the_budget_are_the_same(budget):
    typed = latent.as_budget(budget)
    for build in (lambda b: latent.vae_config(b, 2), lambda b: latent.listener_spec(b, "mood_change"),
                  lambda b: latent.agent_config(b, "ddpg", actions="continuous", lam=10.0, listener="fixed",
                                                seed=0, timesteps=64),
                  lambda b: latent.baseline_config(b, "planner", actions="knn", lam=10.0, listener="fixed", seed=0)):
        assert build(budget) == build(typed)
