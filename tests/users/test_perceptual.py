import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicrec.errors import ParameterError
from musicrec.users.grid import GridGeometry
from musicrec.users.perceptual import PerceptualListener


def test_known_ratings_on_a_line():
    # distances 0..19 from song 0; percentiles 5/15/30/50 of them: 0.95, 2.85, 5.7, 9.5
    listener = PerceptualListener(np.arange(20.0)[:, None])
    assert listener.rate(0, np.arange(20)).tolist() == [4, 3, 3, 2, 2, 2, 1, 1, 1, 1] + [0] * 10


@pytest.mark.parametrize("levels", [5, 7, 20, 50])
@pytest.mark.parametrize("target", ["wider", "top"])
def test_same_rule_as_the_grid_user_on_a_one_feature_grid(levels, target):
    # evenly spaced songs on one feature are a 1-D grid: the listener must rate like the grid user
    listener = PerceptualListener(3.7 * np.arange(levels, dtype=float)[:, None] + 1.0, target=target)
    songs = np.arange(levels)
    np.testing.assert_array_equal(listener.rate(songs[:, None], songs[None, :]),
                                  GridGeometry(1, levels, target).rating_table())


@settings(max_examples=25, deadline=None)
@given(n=st.integers(20, 80), dims=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_rating_shares_follow_the_percentiles(n, dims, seed):
    features = np.random.default_rng(seed).normal(size=(n, dims))
    listener = PerceptualListener(features)
    songs = np.arange(n)
    ratings = listener.rate(songs[:, None], songs[None, :])
    assert (np.diag(ratings) == 4).all()
    # at least half of the corpus is within the median distance: rating >= 1
    assert ((ratings >= 1).mean(axis=1) >= 0.5).all()
    # ratings fall as the distance grows
    dist = listener.distance(songs[:, None], songs[None, :])
    order = np.argsort(dist, axis=1, kind="stable")
    assert (np.diff(np.take_along_axis(ratings, order, axis=1).astype(int), axis=1) <= 0).all()


def test_closer_and_the_one_listener_interface_agree_with_the_batch():
    features = np.random.default_rng(4).normal(size=(30, 5))
    listener = PerceptualListener(features)
    first = listener.start(target=3, first_song=7)
    assert first.closer is False and first.rating == listener.rate(3, 7)
    previous = 7
    for song in [11, 2, 3, 3, 20]:
        feedback = listener.respond(song)
        assert feedback.rating == listener.rate(3, song)
        assert feedback.closer == bool(listener.distance(3, song) < listener.distance(3, previous))
        assert feedback.closer == bool(listener.closer(3, song, previous))
        listener.update(song, feedback)
        previous = song
    listener.update(3, listener.respond(3))
    assert listener.respond(3).rating == 4 and listener.respond(3).closer is False  # same song is not closer


def test_same_seed_same_target():
    features = np.random.default_rng(0).normal(size=(50, 3))
    a = PerceptualListener(features, rng=np.random.default_rng(9))
    b = PerceptualListener(features, rng=np.random.default_rng(9))
    assert [a.start().rating for _ in range(5)] == [b.start().rating for _ in range(5)]
    assert a.target == b.target


def test_genre_aware_bonus_and_closer():
    features = np.arange(20.0)[:, None]
    genres = np.array(["a"] * 10 + ["b"] * 10)
    plain = PerceptualListener(features, genres=genres)
    aware = PerceptualListener(features, genres=genres, genre_bonus=1)
    songs = np.arange(20)
    expected = np.minimum(4, plain.rate(0, songs) + (genres == "a"))
    np.testing.assert_array_equal(aware.rate(0, songs), expected)
    # target 9 (genre a): song 10 is nearer but of genre b, song 5 farther but of genre a
    assert plain.closer(9, 10, 5) and not plain.closer(9, 5, 10)
    assert aware.closer(9, 5, 10) and not aware.closer(9, 10, 5)
    assert aware.closer(9, 8, 5) and not aware.closer(9, 5, 8)  # same genre: the distance decides


def test_cosine_metric_ratings():
    features = np.random.default_rng(5).normal(size=(40, 8))
    listener = PerceptualListener(features, metric="cosine")
    songs = np.arange(40)
    dist = listener.distance(songs[:, None], songs[None, :])
    np.testing.assert_allclose(dist, dist.T, atol=1e-12)
    assert dist.min() >= 0 and dist.max() <= 2 and np.allclose(np.diag(dist), 0)
    assert (np.diag(listener.rate(songs[:, None], songs[None, :])) == 4).all()


def test_bad_input_messages():
    features = np.random.default_rng(0).normal(size=(10, 4))
    with pytest.raises(ParameterError, match="features have 4 dimensions per song, expected n_features=128"):
        PerceptualListener(features, n_features=128)
    with pytest.raises(ParameterError, match="genre_bonus=1 needs the songs' genres"):
        PerceptualListener(features, genre_bonus=1)
    with pytest.raises(ParameterError, match="genres has 3 entries for 10 songs"):
        PerceptualListener(features, genres=["a", "b", "c"])
    with pytest.raises(ParameterError, match="metric='manhattan' is not one of"):
        PerceptualListener(features, metric="manhattan")
    with pytest.raises(ParameterError, match="songs must be song indices in 0..9"):
        PerceptualListener(features).rate(0, 10)
    with pytest.raises(ParameterError, match="at least 2 songs"):
        PerceptualListener(features[:1])
