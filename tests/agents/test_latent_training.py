import numpy as np
import pandas as pd
import pytest

from musicrec.agents.latent_policies import BaselinePolicy, evaluate_sessions
from musicrec.agents.latent_training import (LatentSpace, agent_action_scale, evaluate_baseline, evaluation_kwargs,
                                             evaluation_seeds, policy_class)
from musicrec.envs.latent import nearest_neighbours
from musicrec.errors import ParameterError


@pytest.fixture(scope="module")
def space():
    rng = np.random.default_rng(0)
    latents = rng.random((200, 3)).astype(np.float32)
    return LatentSpace(latents, rng.random((200, 4)), nearest_neighbours(latents, 25), np.zeros(200))


def test_baselines_pick_what_they_promise(space):
    env = space.make_env(actions="knn", listener={"tolerance": 0.3})
    env.reset(seed=0)
    oracle = BaselinePolicy("oracle").act(env)
    assert oracle == int(np.argmax(env.expected_rewards(env.candidates)))
    greedy = BaselinePolicy("greedy").act(env)  # nothing liked yet: nearest to the current track
    distance = np.linalg.norm(env.latents[env.candidates] - env.latents[env.current], axis=1)
    assert greedy == int(np.argmin(distance))
    continuous = space.make_env(actions="continuous", listener={"tolerance": 0.3})
    continuous.reset(seed=0)
    point = BaselinePolicy("oracle").act(continuous)
    expected = np.where(continuous.played, -np.inf, continuous.expected_rewards())
    assert continuous.track_for_action(point) == int(np.argmax(expected))
    with pytest.raises(ParameterError, match="baseline='best'"):
        BaselinePolicy("best")


def test_evaluation_is_reproducible_and_the_oracle_wins(space):
    kwargs = {"actions": "knn", "session_length": 10, "listener": {"tolerance": 0.3}}
    seeds = list(range(30))
    oracle, steps = evaluate_sessions(space, kwargs, BaselinePolicy("oracle"), seeds, batch=7)
    again, _ = evaluate_sessions(space, kwargs, BaselinePolicy("oracle"), seeds, batch=30)
    pd.testing.assert_frame_equal(oracle, again)
    rnd, _ = evaluate_sessions(space, kwargs, BaselinePolicy("random", seed=1), seeds)
    assert len(oracle) == 30 and list(steps.step) == list(range(1, 11))
    assert oracle.reward.mean() > rnd.reward.mean()
    assert steps.reward.sum() == pytest.approx(oracle.reward.mean())


def test_evaluation_uses_the_yardstick_reward_and_the_config_seeds():
    assert evaluation_kwargs({"reward": "skip_penalty", "lam": 10.0}) == {"reward": "listened_liked", "lam": 10.0}
    assert evaluation_seeds({"eval": {"first_seed": 7, "sessions": 3}}) == [7, 8, 9]


def test_policy_class_resolves_the_scoring_policies():
    from musicrec.agents.candidate_policy import CandidateScoringPolicy, RecurrentCandidateScoringPolicy

    assert policy_class("candidate_scoring") is CandidateScoringPolicy
    assert policy_class("recurrent_candidate_scoring") is RecurrentCandidateScoringPolicy
    assert policy_class("MlpPolicy") == "MlpPolicy"


def test_the_agent_acts_in_the_unit_cube_around_zero(space):
    env = agent_action_scale(lambda: space.make_env(actions="continuous", listener={"tolerance": 0.3}))
    assert env.action_space.low.tolist() == [-1.0] * 3 and env.action_space.high.tolist() == [1.0] * 3


def test_evaluate_baseline_writes_the_run_files(space, tmp_path):
    config = {"baseline": "oracle", "seed": 0, "env": {"actions": "knn", "session_length": 6,
                                                        "listener": {"tolerance": 0.3}},
              "eval": {"first_seed": 5, "sessions": 4}}
    evaluate_baseline(config, space, tmp_path)
    sessions = pd.read_csv(tmp_path / "eval.csv")
    assert sessions.session_seed.tolist() == [5, 6, 7, 8]
    assert (tmp_path / "metrics.csv").read_bytes() == (tmp_path / "eval.csv").read_bytes()
    assert len(pd.read_csv(tmp_path / "eval_steps.csv")) == 6
    assert len(pd.read_csv(tmp_path / "eval_session_steps.csv")) == 4 * 6


def test_session_means_count_sessions_above_the_ceiling():
    from musicrec.agents.latent_training import session_means

    def frame(expected):
        return pd.DataFrame({"session_seed": [1, 2, 3], "reward": expected, "expected": expected, "listened": 0.5,
                             "like_rate": 0.1, "expected_before": 0.5, "expected_after": np.nan})

    means = session_means(frame([9.0, 11.0, 10.0]), frame([10.0, 10.0, 10.0]))
    assert means["above_ceiling"] == pytest.approx(1 / 3) and means["expected"] == pytest.approx(10.0)
    assert np.isnan(session_means(frame([1.0, 2.0, 3.0]))["above_ceiling"])


def test_the_mood_rules_infer_the_change_from_dislikes_with_and_without_memory():
    from musicrec.agents.latent_policies import MoodRulePolicy
    from musicrec.envs.latent import LatentRecommenderEnv

    env = LatentRecommenderEnv(n_tracks=400, latent_dim=2, actions="continuous", observe_listened=False,
                               listener={"moods": 2, "switch": [3, 3], "min_mood_distance": 0.6, "tolerance": 0.15})
    affinity = env.listener.affinity_table
    rules = {name: MoodRulePolicy(name) for name in ("switch_on_dislike", "mood_filter")}
    for rule in rules.values():
        rule.reset(1)
    obs, info = env.reset(seed=1)
    start_mood = info["mood"]
    # before any feedback both read the start track's mood
    for rule in rules.values():
        rule.act(0, env)
        assert round(rule.mood_probability(0, env)) == start_mood
    # a dislike of a track of the start mood (liked half the time in it, rarely in the other) before the
    # window: noise for the filter, a change for the rule
    like = affinity ** env.listener.like_power
    track = int(np.argmin(np.abs(like[start_mood] - 0.5) + (like[1 - start_mood] > 0.05)))
    env.current, env.last_feedback, env.steps = track, (0.0, 0.0), 1
    for rule in rules.values():
        rule.act(0, env)
    assert round(rules["switch_on_dislike"].mood_probability(0, env)) == 1 - start_mood
    assert round(rules["mood_filter"].mood_probability(0, env)) == start_mood
    # from the window on, dislikes of the start mood's tracks move the filter to the other mood
    for step in (2, 3, 4):
        env.steps = step
        rules["mood_filter"].act(0, env)
    assert round(rules["mood_filter"].mood_probability(0, env)) == 1 - start_mood
    with pytest.raises(ParameterError, match="two moods and a mood change"):
        MoodRulePolicy("mood_filter").mood_probability(0, LatentRecommenderEnv(n_tracks=50))
