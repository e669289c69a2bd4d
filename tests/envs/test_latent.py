import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

import musicrec.envs  # noqa: F401  (registers the ids)
from musicrec.envs.latent import (LatentRecommenderEnv, nearest_neighbours, neighbour_genre_purity,
                                  neighbour_taste_distance)
from musicrec.errors import ParameterError
from musicrec.users.listener import TableListener

MOODS = {"moods": 2, "switch": [2, 4]}


@pytest.mark.parametrize("kwargs", [
    {"actions": "knn"},
    {"actions": "continuous"},
    {"actions": "knn", "history": 2, "listener": MOODS},
    {"actions": "knn", "observe_mood": True, "listener": MOODS},
    {"actions": "knn", "observe_candidates": False, "start": "uniform"},
    {"actions": "continuous", "observe_listened": False, "history": 2, "listener": MOODS},
])
def test_check_env_passes(kwargs):
    env = gymnasium.make("musicrec/LatentRecommender-v0", n_tracks=300, **kwargs)
    check_env(env.unwrapped, skip_render_check=True)


def test_candidates_are_the_k_nearest_unplayed_tracks():
    env = LatentRecommenderEnv(n_tracks=200, latent_dim=2, k=4, session_length=10)
    obs, info = env.reset(seed=3)
    played = {info["track"]}
    for step in range(10):
        distance = np.linalg.norm(env.latents - env.latents[env.current], axis=1)
        distance[list(played)] = np.inf
        expected = np.argsort(distance, kind="stable")[:4]
        assert set(env.candidates) == set(expected)
        np.testing.assert_allclose(obs[4:4 + 8], env.latents[env.candidates].reshape(-1))
        obs, _, _, _, info = env.step(step % 4)
        played.add(info["track"])


def test_continuous_action_recommends_the_nearest_unplayed_track():
    env = LatentRecommenderEnv(n_tracks=200, latent_dim=3, actions="continuous")
    env.reset(seed=0)
    point = np.array([0.5, 0.5, 0.5], dtype=np.float32)
    first = env.step(point)[4]["track"]
    assert first == int(np.argmin(np.linalg.norm(env.latents - point, axis=1)))
    distance = np.where(env.played, np.inf, np.linalg.norm(env.latents - point, axis=1))
    second = env.step(point)[4]["track"]
    assert second == int(np.argmin(distance)) and second != first


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), actions=st.lists(st.integers(0, 3), min_size=15, max_size=15),
       continuous=st.booleans())
def test_no_track_is_recommended_twice(seed, actions, continuous):
    env = LatentRecommenderEnv(n_tracks=60, latent_dim=2, k=4, session_length=15,
                               actions="continuous" if continuous else "knn")
    _, info = env.reset(seed=seed)
    tracks = [info["track"]]
    rng = np.random.default_rng(seed)
    for action in actions:
        step_action = rng.random(2).astype(np.float32) if continuous else action
        _, reward, terminated, truncated, info = env.step(step_action)
        tracks.append(info["track"])
        assert not terminated
        assert reward == pytest.approx(info["listened"] + 10.0 * info["liked"])
    assert truncated and len(set(tracks)) == len(tracks) == 16


def test_same_seed_same_session():
    def session(seed):
        env = LatentRecommenderEnv(n_tracks=300, listener=MOODS)
        env.reset(seed=seed)
        return [env.step(i % 4)[1:2] + (env.listener.mood,) for i in range(20)]

    assert session(5) == session(5)
    assert session(5) != session(6)


def test_sessions_start_where_the_listener_likes():
    env = LatentRecommenderEnv(n_tracks=500, listener={"tolerance": 0.15})
    starts = [env.reset(seed=s)[1]["track"] for s in range(200)]
    like = env.listener.expected_feedback()[1]
    assert like[starts].mean() > 5 * like.mean()
    uniform = LatentRecommenderEnv(n_tracks=500, listener={"tolerance": 0.15}, start="uniform")
    starts = [uniform.reset(seed=s)[1]["track"] for s in range(200)]
    assert like[starts].mean() < 3 * like.mean()


def test_history_stacks_previous_tracks():
    env = LatentRecommenderEnv(n_tracks=100, latent_dim=2, k=2, history=2, observe_candidates=False)
    obs, info = env.reset(seed=0)
    assert obs.shape == (2 + 2 + 2 * 4,) and not obs[4:].any()
    first = info["track"]
    obs, _, _, _, info = env.step(0)
    np.testing.assert_allclose(obs[4:6], env.latents[first])
    assert not obs[8:].any()


def test_observe_listened_false_shows_the_like_alone_also_in_the_history():
    env = LatentRecommenderEnv(n_tracks=100, latent_dim=2, actions="continuous", history=1, observe_listened=False)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (2 + 1 + 1 * 3,)
    for _ in range(3):
        previous_feedback = obs[2:3].copy()
        obs, reward, _, _, info = env.step(np.array([0.5, 0.5], dtype=np.float32))
        assert obs[2] == info["liked"] and obs[5] == previous_feedback[0]
        assert reward == pytest.approx(info["listened"] + 10.0 * info["liked"])  # the reward still counts it


def test_observe_mood_appends_the_mood_the_next_track_meets():
    env = LatentRecommenderEnv(n_tracks=200, latent_dim=2, k=2, observe_mood=True,
                               listener={"moods": 2, "switch": [2, 2]})
    obs, info = env.reset(seed=0)
    assert obs.shape == (2 + 2 + 2 * 2 + 2,)
    first = info["mood"]
    np.testing.assert_array_equal(obs[-2:], np.eye(2)[first])
    for step in range(3):
        obs, _, _, _, info = env.step(0)
        # after 2 recommendations the listener changes mood; the observation shows the mood from then on
        np.testing.assert_array_equal(obs[-2:], np.eye(2)[first if step == 0 else 1 - first])
        assert obs[-2:].argmax() == info["mood"]
    with pytest.raises(ParameterError, match="observe_mood=True needs a listener with a mood"):
        LatentRecommenderEnv(n_tracks=50, observe_mood=True, listener=_MoodlessListener())


class _MoodlessListener:
    n_tracks = 50

    def start(self, rng=None):
        pass

    def respond(self, track):
        raise NotImplementedError

    def update(self, track, feedback):
        pass

    def expected_reward(self, lam, tracks=None):
        return 0.0


def test_table_listener_and_start_weights():
    latents = np.random.default_rng(0).random((50, 2))
    table = TableListener(np.linspace(0, 1, 50), np.zeros(50))
    weights = np.zeros(50)
    weights[7] = 1.0
    env = LatentRecommenderEnv(latents, listener=table, start=weights, lam=3.0)
    obs, info = env.reset(seed=0)
    assert info["track"] == 7
    _, reward, _, _, info = env.step(0)
    assert reward == pytest.approx(table.listened[info["track"]])


def test_precomputed_neighbours_are_used_and_checked():
    latents = np.random.default_rng(1).random((80, 3)).astype(np.float32)
    neighbours = nearest_neighbours(latents, 25)
    env = LatentRecommenderEnv(latents, neighbours=neighbours)
    assert env.neighbours is neighbours
    with pytest.raises(ParameterError, match=r"neighbours must have shape \(80, >= 25\)"):
        LatentRecommenderEnv(latents, neighbours=neighbours[:, :10])


@pytest.mark.parametrize("kwargs, message", [
    ({"k": 300}, r"k=300 is larger than the catalog allows: at most 279"),
    ({"lam": -1.0}, "lam=-1.0 must be >= 0"),
    ({"latent_dim": 0}, "latent_dim=0 must be >= 1"),
    ({"actions": "slate"}, r"actions='slate' is not one of \['knn', 'continuous'\]"),
    ({"session_length": 0}, "session_length=0 must be >= 1"),
    ({"start": "random"}, "start='random' is not one of"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        LatentRecommenderEnv(**{"n_tracks": 300, **kwargs})


def test_bad_latents_and_actions():
    with pytest.raises(ParameterError, match=r"must be finite and lie in \[0, 1\]"):
        LatentRecommenderEnv(np.full((50, 2), 3.0))
    env = LatentRecommenderEnv(n_tracks=100)
    env.reset(seed=0)
    with pytest.raises(ParameterError, match="action=4 is not a candidate slot"):
        env.step(4)
    with pytest.raises(ParameterError, match="start=100 is not a track index"):
        env.reset(options={"start": 100})
    continuous = LatentRecommenderEnv(n_tracks=100, actions="continuous")
    continuous.reset(seed=0)
    with pytest.raises(ParameterError, match="must be a finite point"):
        continuous.step(np.array([0.1, np.nan, 0.2, 0.3]))


def test_the_rewards_of_the_documents():
    from musicrec.users.listener import ListenFeedback

    env = LatentRecommenderEnv(n_tracks=100, latent_dim=2, lam=10.0, reward="liked_or_completed")
    assert env.reward_of(ListenFeedback(listened=0.95, liked=0.0)) == 1.0
    assert env.reward_of(ListenFeedback(listened=0.3, liked=1.0)) == 1.0
    assert env.reward_of(ListenFeedback(listened=0.3, liked=0.0)) == 0.0
    env = LatentRecommenderEnv(n_tracks=100, latent_dim=2, lam=10.0, reward="skip_penalty", skip_penalty=2.0)
    assert env.reward_of(ListenFeedback(listened=0.05, liked=0.0)) == pytest.approx(0.05 - 2.0)
    assert env.reward_of(ListenFeedback(listened=0.5, liked=1.0)) == pytest.approx(10.5)
    with pytest.raises(ParameterError, match="reward='likes'"):
        LatentRecommenderEnv(n_tracks=100, latent_dim=2, reward="likes")


def test_expected_reward_is_reported_whatever_the_training_reward():
    env = LatentRecommenderEnv(n_tracks=100, latent_dim=2, lam=10.0, reward="liked_or_completed",
                               observe_feedback=False, observe_candidates=False)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (2,)  # the documents' state: the current latent only
    track = int(env.candidates[1])
    expected = float(env.listener.expected_reward(10.0, track))
    _, reward, _, _, info = env.step(1)
    assert info["expected_reward"] == pytest.approx(expected) and reward in (0.0, 1.0)


def test_neighbour_quality_measures():
    points = np.array([[0.0], [0.1], [5.0], [5.1]])
    genres = np.array(["a", "a", "b", "b"])
    assert neighbour_genre_purity(points, genres, k=1) == 1.0
    assert neighbour_taste_distance(points, points, k=1) == pytest.approx(0.1)
