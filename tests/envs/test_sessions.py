"""Session environments for the DDPG actor-critic: gymnasium contract, rewards, vectorised rollouts."""

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import musicrec.envs  # noqa: F401
from musicrec.data.session_simulator import SimulatorConfig, simulate_sessions
from musicrec.data.sessions import N_SPECIAL, TrackVocabulary, encode_sessions
from musicrec.envs.sessions import (
    SessionSkipEnv,
    SessionTrackEnv,
    plays,
    skip_observations,
    track_rollout,
    unit_rows,
)
from musicrec.errors import ParameterError


@pytest.fixture(scope="module")
def data():
    sim = simulate_sessions(SimulatorConfig(n_sessions=40, n_users=10, n_tracks=80, n_playlists=4), seed=2)
    vocab = TrackVocabulary.from_log(sim.log)
    arrays = encode_sessions(sim.log, vocab)
    embedding = np.random.default_rng(0).normal(size=(len(vocab), 6))
    return arrays, embedding


@pytest.mark.parametrize("env_id", ["musicrec/SessionSkip-v0", "musicrec/SessionTrack-v0"])
def test_registered_envs_pass_the_checker(env_id):
    env = gymnasium.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)


def test_skip_rewards_follow_the_paper(data):
    arrays, embedding = data
    env = SessionSkipEnv(arrays, embedding)
    obs, info = env.reset(seed=0)
    i = info["session"]
    e = unit_rows(embedding)[arrays.second_tracks[i, 0]]
    skipped = arrays.second_skips[i, 0]
    _, reward, _, _, step_info = env.step(e)           # a . e > 0: play
    assert reward == (-1.0 if skipped else 1.0) and step_info["predicted_skip"] is False
    env.reset(seed=0)
    _, reward, _, _, step_info = env.step(-e)          # withhold: "not viewed"
    assert reward == 0.0 and step_info["predicted_skip"] is True


def test_skip_episode_covers_the_second_half(data):
    arrays, embedding = data
    env = SessionSkipEnv(arrays, embedding)
    obs, info = env.reset(seed=1)
    np.testing.assert_allclose(obs, skip_observations(arrays, unit_rows(embedding))[info["session"], 0])
    steps, done = 0, False
    while not done:
        _, _, done, truncated, _ = env.step(env.action_space.sample())
        steps += 1
        assert not truncated
    assert steps == arrays.n_second[info["session"]]


def test_track_env_rewards_the_played_track(data):
    arrays, embedding = data
    env = SessionTrackEnv(arrays, embedding, n_candidates=100)
    _, info = env.reset(seed=3)
    target = arrays.second_tracks[info["session"], 0]
    _, reward, _, _, step = env.step(unit_rows(embedding)[target])
    assert step["target"] == target
    assert reward == float(step["choice"] == target)
    assert reward == 1.0  # the played track scores 1 with itself, at least as high as any candidate


def test_same_seed_same_episodes(data):
    arrays, embedding = data
    a, b = SessionTrackEnv(arrays, embedding), SessionTrackEnv(arrays, embedding)
    for env in (a, b):
        env.reset(seed=7)
    action = np.ones(6, dtype=np.float32) * 0.3
    assert a.step(action)[4] == b.step(action)[4]


def test_track_rollout_matches_the_env_on_all_tracks(data):
    arrays, embedding = data
    env = SessionTrackEnv(arrays, embedding, n_candidates=len(embedding) + 500)
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(18, 6))

    def act(obs):
        return np.tanh(obs @ weights)

    predictions = track_rollout(act, arrays, embedding)
    assert predictions.shape == (len(arrays), 10) and (predictions >= N_SPECIAL).all()
    # one-step check: the rollout's first pick is the best track for the first state
    obs, info = env.reset(seed=0)
    i = info["session"]
    scores = unit_rows(embedding)[N_SPECIAL:] @ np.clip(act(obs), -1, 1)
    assert predictions[i, 0] == np.argmax(scores) + N_SPECIAL


def test_plays_is_the_sign_of_the_dot_product():
    assert plays(np.array([[1.0, 0.0]]), np.array([[0.5, 2.0]])).tolist() == [True]
    assert plays(np.array([[-1.0, 0.0]]), np.array([[0.5, 2.0]])).tolist() == [False]


def test_bad_input_is_named(data):
    arrays, embedding = data
    with pytest.raises(ParameterError, match="give both episodes and embedding"):
        SessionSkipEnv(arrays, None)
    with pytest.raises(ParameterError, match="does not cover"):
        SessionSkipEnv(arrays, embedding[:5])
    with pytest.raises(ParameterError, match="n_candidates"):
        SessionTrackEnv(arrays, embedding, n_candidates=1)


def test_a_constant_action_scores_like_chance(data):
    """Before the candidates were shuffled, a zero action always picked candidate 0, the played track."""
    arrays, embedding = data
    rewards = {}
    for name, action in (("zero", np.zeros(6, dtype=np.float32)), ("constant", np.full(6, 0.5, np.float32))):
        env = SessionTrackEnv(arrays, embedding, n_candidates=20)
        env.reset(seed=0)
        hits, steps = 0.0, 0
        while steps < 400:
            _, reward, done, _, _ = env.step(action)
            hits, steps = hits + reward, steps + 1
            if done:
                env.reset()
        rewards[name] = hits / steps
    # chance is 1 in 20 candidates; a constant action picks by the embedding, not by the target's slot
    assert rewards["zero"] < 0.15 and rewards["constant"] < 0.3


def test_actions_of_the_wrong_size_or_not_finite_are_refused(data):
    arrays, embedding = data
    for env in (SessionTrackEnv(arrays, embedding), SessionSkipEnv(arrays, embedding)):
        env.reset(seed=0)
        with pytest.raises(ParameterError, match="vector of 6 numbers"):
            env.step(np.zeros(5, dtype=np.float32))
        with pytest.raises(ParameterError, match="non-finite"):
            env.step(np.array([np.nan, 0, 0, 0, 0, 0], dtype=np.float32))
    with pytest.raises(ParameterError, match="non-finite"):
        track_rollout(lambda obs: np.full((len(obs), 6), np.inf), arrays, embedding)


def test_a_session_never_repeats_a_track(data):
    arrays, embedding = data
    predictions = track_rollout(lambda obs: np.ones((len(obs), 6)), arrays, embedding)
    for i in range(len(arrays)):
        first = set(arrays.first_tracks[i, :arrays.n_first[i]].tolist())
        picks = predictions[i].tolist()
        assert len(set(picks)) == len(picks) and not first & set(picks)
