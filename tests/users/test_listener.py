import numpy as np
import pytest

from musicrec.errors import ParameterError
from musicrec.users.listener import ListenFeedback, TableListener, TasteListener, make_listener, pick_moods


def line(n=5):
    return np.arange(n, dtype=float)[:, None]  # tracks at 0, 1, 2, ... on a line


def test_known_affinity_and_expected_reward():
    listener = TasteListener(line(), [[0.0]], tolerance=1.0, like_power=2.0)
    listened, liked = listener.expected_feedback()
    a = np.exp(-np.arange(5) ** 2 / 2)
    np.testing.assert_allclose(listened, 0.02 + 0.96 * a)
    np.testing.assert_allclose(liked, a ** 2)
    np.testing.assert_allclose(listener.expected_reward(10.0, [1]), 0.02 + 0.96 * a[1] + 10 * a[1] ** 2)


def test_draws_match_the_expectations():
    listener = TasteListener(line(), [[0.0]], tolerance=1.0, rng=np.random.default_rng(0))
    listener.start()
    draws = [listener.respond(1) for _ in range(6000)]
    listened, liked = listener.expected_feedback([1])
    assert abs(np.mean([d.listened for d in draws]) - listened[0]) < 0.01
    assert abs(np.mean([d.liked for d in draws]) - liked[0]) < 0.02
    assert all(0 <= d.listened <= 1 and d.liked in (0.0, 1.0) for d in draws)


def test_far_tracks_are_skipped_early():
    listener = TasteListener(line(), [[0.0]], tolerance=0.5, rng=np.random.default_rng(1))
    near = np.mean([listener.respond(0).listened for _ in range(500)])
    far = np.mean([listener.respond(4).listened for _ in range(500)])
    assert near > 0.9 and far < 0.1


def test_mood_changes_once_at_the_drawn_step():
    listener = TasteListener(line(), [[0.0], [4.0]], switch=(3, 3), rng=np.random.default_rng(2))
    listener.start()
    first = listener.mood
    moods = []
    for _ in range(6):
        listener.update(0, listener.respond(0))
        moods.append(listener.mood)
    assert moods == [first, first, 1 - first, 1 - first, 1 - first, 1 - first]


def test_start_weights_follow_the_like_probability():
    listener = TasteListener(line(), [[1.0]], tolerance=1.0)
    listener.start(rng=np.random.default_rng(0))
    weights = listener.start_weights()
    assert weights.sum() == pytest.approx(1.0) and weights.argmax() == 1
    like = listener.expected_feedback()[1]
    np.testing.assert_allclose(weights / weights[1], like / like[1])


def test_same_generator_same_feedback():
    def draws():
        listener = make_listener(np.random.default_rng(0).random((50, 3)), {"moods": 2, "switch": [2, 4]})
        listener.start(rng=np.random.default_rng(9))
        out = []
        for track in range(20):
            feedback = listener.respond(track)
            listener.update(track, feedback)
            out.append((feedback.listened, feedback.liked, listener.mood))
        return out

    assert draws() == draws()


def test_pick_moods_respects_the_distance():
    space = np.random.default_rng(0).random((300, 2))
    tracks = pick_moods(space, 3, seed=1, min_distance=0.5)
    assert len(set(tracks)) == 3
    pairs = [np.linalg.norm(space[a] - space[b]) for i, a in enumerate(tracks) for b in tracks[i + 1:]]
    assert min(pairs) >= 0.5
    with pytest.raises(ParameterError, match="min_distance=5"):
        pick_moods(space, 2, seed=0, min_distance=5)
    near = pick_moods(space, 2, seed=1, min_distance=0.3, max_distance=0.4)
    assert 0.3 <= np.linalg.norm(space[near[0]] - space[near[1]]) <= 0.4
    with pytest.raises(ParameterError, match="at most max_distance=0.01"):
        pick_moods(space, 2, seed=0, min_distance=0.005, max_distance=0.01)


def test_mood_schedule_is_the_moods_the_listener_will_have():
    listener = make_listener(np.random.default_rng(0).random((50, 3)), {"moods": 2, "switch": [2, 4]})
    listener.start(rng=np.random.default_rng(3))
    schedule = listener.mood_schedule(8)
    moods = []
    for track in range(8):
        moods.append(listener.mood)
        listener.update(track, listener.respond(track))
    assert schedule.tolist() == moods and len(set(moods)) == 2
    three = make_listener(np.random.default_rng(0).random((50, 3)), {"moods": 3, "switch": [2, 4]})
    three.start(rng=np.random.default_rng(0))
    with pytest.raises(ParameterError, match="drawn at the change"):
        three.mood_schedule(5)


def test_table_listener_is_deterministic():
    table = TableListener([0.2, 0.9], [0.0, 0.5])
    assert table.respond(1) == ListenFeedback(listened=0.9, liked=0.5)
    np.testing.assert_allclose(table.expected_reward(10.0), [0.2, 5.9])
    with pytest.raises(ParameterError, match=r"liked values must lie in \[0, 1\]"):
        TableListener([0.2, 0.9], [0.0, 1.5])


@pytest.mark.parametrize("kwargs, message", [
    ({"tolerance": 0.0}, "tolerance=0.0 must be > 0"),
    ({"concentration": -1.0}, "concentration=-1.0 must be > 0"),
    ({"switch": [2, 3]}, r"switch=\[2, 3\] needs at least two moods"),
])
def test_bad_listener_arguments(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        TasteListener(line(), [[0.0]], **kwargs)


def test_bad_specs():
    with pytest.raises(ParameterError, match=r"unknown listener key\(s\) \['mood'\]"):
        make_listener(line(), {"mood": 2})
    with pytest.raises(ParameterError, match=r"switch=\[4, 2\] must be two integers"):
        TasteListener(line(), [[0.0], [1.0]], switch=[4, 2])
    with pytest.raises(ParameterError, match="moods have 2 dims but the track space has 1"):
        TasteListener(line(), [[0.0, 1.0]])
