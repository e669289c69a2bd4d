import numpy as np
import pandas as pd
import pytest

from musicrec.envs.latent import nearest_neighbours
from musicrec.errors import ParameterError
from musicrec.experiments import latent
from musicrec.profiles import load_profile


@pytest.fixture(scope="module")
def budget():
    return {**load_profile("latent", "smoke"), "n_tracks": 300, "eval_sessions": 6, "seeds": [0]}


@pytest.fixture(scope="module")
def space():
    rng = np.random.default_rng(0)
    latents = rng.random((200, 3)).astype(np.float32)
    return latent.LatentSpace(latents, rng.random((200, 4)), nearest_neighbours(latents, 25), np.zeros(200))


def test_agent_table_known_answer():
    rows = []
    for seed, (ppo, oracle, rnd) in enumerate([(8.0, 10.0, 2.0), (10.0, 10.0, 4.0)]):
        for agent, reward in (("ppo", ppo), ("oracle", oracle), ("random", rnd)):
            rows.append({"listener": "fixed", "actions": "knn", "lam": 10.0, "agent": agent, "seed": seed,
                         "reward": reward, "listened": 0.5, "like_rate": 0.1})
    rows.append({"listener": "mood_change", "actions": "knn", "lam": 10.0, "agent": "oracle", "seed": 0,
                 "reward": 20.0, "listened": 0.5, "like_rate": 0.1})
    rows.append({"listener": "mood_change", "actions": "knn", "lam": 10.0, "agent": "recurrent_ppo", "seed": 0,
                 "reward": 5.0, "listened": 0.5, "like_rate": 0.1})
    table = latent.agent_table(pd.DataFrame(rows))
    assert list(table.columns) == ["agent", "action_space", "lambda", "seeds", "mean_reward", "std_reward",
                                   "listened", "like_rate", "pct_of_oracle"]
    ppo = table[table.agent == "PPO"].iloc[0]
    assert ppo.mean_reward == 9.0 and ppo.std_reward == pytest.approx(np.sqrt(2)) and ppo.seeds == 2
    assert ppo.pct_of_oracle == pytest.approx(90.0)
    assert table[table.agent == "random neighbour"].pct_of_oracle.iloc[0] == pytest.approx(30.0)
    mood = table[table.agent == "RecurrentPPO [mood change]"].iloc[0]
    assert mood.pct_of_oracle == pytest.approx(25.0) and mood.std_reward == 0.0
    assert table.agent.tolist()[:3] == ["PPO", "random neighbour", "oracle"]


def test_baselines_pick_what_they_promise(space):
    env = space.make_env(actions="knn", listener={"tolerance": 0.3})
    env.reset(seed=0)
    oracle = latent.BaselinePolicy("oracle").act(env)
    assert oracle == int(np.argmax(env.expected_rewards(env.candidates)))
    greedy = latent.BaselinePolicy("greedy").act(env)  # nothing liked yet: nearest to the current track
    distance = np.linalg.norm(env.latents[env.candidates] - env.latents[env.current], axis=1)
    assert greedy == int(np.argmin(distance))
    continuous = space.make_env(actions="continuous", listener={"tolerance": 0.3})
    continuous.reset(seed=0)
    point = latent.BaselinePolicy("oracle").act(continuous)
    expected = np.where(continuous.played, -np.inf, continuous.expected_rewards())
    assert continuous.track_for_action(point) == int(np.argmax(expected))
    with pytest.raises(ParameterError, match="baseline='best'"):
        latent.BaselinePolicy("best")


def test_evaluation_is_reproducible_and_the_oracle_wins(space):
    kwargs = {"actions": "knn", "session_length": 10, "listener": {"tolerance": 0.3}}
    seeds = list(range(30))
    oracle, steps = latent.evaluate_sessions(space, kwargs, latent.BaselinePolicy("oracle"), seeds, batch=7)
    again, _ = latent.evaluate_sessions(space, kwargs, latent.BaselinePolicy("oracle"), seeds, batch=30)
    pd.testing.assert_frame_equal(oracle, again)
    rnd, _ = latent.evaluate_sessions(space, kwargs, latent.BaselinePolicy("random", seed=1), seeds)
    assert len(oracle) == 30 and list(steps.step) == list(range(1, 11))
    assert oracle.reward.mean() > rnd.reward.mean()
    assert steps.reward.sum() == pytest.approx(oracle.reward.mean())


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


def test_study_plan_and_bad_agents(budget):
    plan = latent.study_plan(budget)
    assert set(plan.agent) == {"ppo", "ppo_mlp", "ddpg", "recurrent_ppo"}
    assert set(plan[plan.listener == "mood_change"].agent) == {"ppo", "recurrent_ppo"}
    with pytest.raises(ParameterError, match="agent 'ddpg' does not act in the 'knn' action space"):
        latent.agent_policy("ddpg", "knn")
    with pytest.raises(ParameterError, match="listener='sometimes'"):
        latent.listener_spec(budget, "sometimes")


def test_neighbour_quality_measures():
    points = np.array([[0.0], [0.1], [5.0], [5.1]])
    genres = np.array(["a", "a", "b", "b"])
    assert latent.neighbour_genre_purity(points, genres, k=1) == 1.0
    assert latent.neighbour_taste_distance(points, points, k=1) == pytest.approx(0.1)


def test_two_identical_agent_runs_write_byte_identical_metrics(budget, tmp_path):
    paths = []
    for name in ("first", "second"):
        run = latent.agent_run({**budget, "env_latent_dim": 2}, "ppo", tmp_path / name, actions="knn", lam=10.0,
                               listener="fixed", seed=0, timesteps=64, progress=False)
        paths.append(run.path / "metrics.csv")
        assert "time_s" in run.timings().columns and "time_s" not in run.metrics().columns
    assert paths[0].read_bytes() == paths[1].read_bytes()
