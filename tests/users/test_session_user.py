"""Simulated session listeners: the skip rule's directions, nesting and seeding."""

import numpy as np
import pytest

from musicrec.errors import ParameterError
from musicrec.users.session_user import SessionListeners, SkipParameters


def _listeners(seed=0, **params):
    rng = np.random.default_rng(seed)
    features = rng.random((40, 9))
    genres = np.repeat(["a", "b", "c", "d"], 10)
    popularity = np.linspace(0, 1, 40)
    return SessionListeners(features, genres, popularity, 30, rng, params=SkipParameters(**params))


def _skip_probability(listeners, users, tracks, context="editorial_playlist"):
    listeners.start(users, np.array([context] * len(users)))
    return listeners.respond(tracks).skip_probability


def test_affinity_is_standardised_per_listener():
    listeners = _listeners()
    values = listeners.affinity(np.arange(30)[:, None], np.arange(40)[None, :])
    np.testing.assert_allclose(values.mean(axis=1), 0, atol=1e-9)
    np.testing.assert_allclose(values.std(axis=1), 1, atol=1e-6)


def test_liked_popular_tracks_are_skipped_less():
    listeners = _listeners(mood_sd=0.0)
    users = np.zeros(40, dtype=int)
    p = _skip_probability(listeners, users, np.arange(40))
    affinity = listeners.affinity(users, np.arange(40))
    assert np.corrcoef(affinity, p)[0, 1] < -0.3


def test_context_and_recent_skips_shift_the_probability():
    listeners = _listeners(mood_sd=0.0)
    users, tracks = np.zeros(2, dtype=int), np.array([5, 5])
    listeners.start(users, np.array(["user_collection", "radio"]))
    p = listeners.respond(tracks).skip_probability
    assert p[0] < p[1]
    listeners.start(users, np.array(["radio", "radio"]))
    for _ in range(3):
        feedback = listeners.respond(tracks)
        forced = type(feedback)(feedback.skip_probability, feedback.skip_1, np.array([True, False]),
                                feedback.skip_3, feedback.not_skipped)
        listeners.update(forced)
    p = listeners.respond(tracks).skip_probability
    assert p[0] > p[1]  # the session that skipped its last three tracks skips more


def test_feedback_nests_and_same_seed_same_draws():
    a, b = _listeners(seed=4), _listeners(seed=4)
    users, tracks = np.arange(30), np.arange(30)
    for listeners in (a, b):
        listeners.start(users, np.array(["catalog"] * 30))
    fa, fb = a.respond(tracks), b.respond(tracks)
    np.testing.assert_array_equal(fa.skip_2, fb.skip_2)
    assert not (fa.skip_1 & ~fa.skip_2).any() and not (fa.skip_2 & ~fa.skip_3).any()
    np.testing.assert_array_equal(fa.not_skipped, ~fa.skip_3)


def test_bad_input_is_named():
    listeners = _listeners()
    with pytest.raises(ParameterError, match="call start"):
        listeners.respond(np.array([1]))
    with pytest.raises(ParameterError, match=r"context types \['moon'\]"):
        listeners.start(np.array([0]), np.array(["moon"]))
    with pytest.raises(ParameterError, match="p_skip_1"):
        SkipParameters(p_skip_1=2.0)
