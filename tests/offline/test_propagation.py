import numpy as np
import pandas as pd
import pytest

from musicrec.envs.latent import LatentRecommenderEnv
from musicrec.errors import ParameterError
from musicrec.offline.propagation import (estimate_errors, kmeans, knn_estimate, log_sessions, log_summary,
                                          normalised_distances, observed_tracks, propagate, propagated_simulator,
                                          start_weights)

# Two clusters on a line: tracks 0-3 around 0, tracks 4-7 around 10.
POINTS = np.array([[0.0, 0], [1, 0], [2, 0], [3, 0], [10, 0], [11, 0], [12, 0], [14, 0]])
LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1])
CENTROIDS = np.array([[1.5, 0.0], [11.75, 0.0]])


def test_normalised_distances_known_answer():
    d = normalised_distances(POINTS, LABELS, CENTROIDS)
    np.testing.assert_allclose(d[:4], [1, 1 / 3, 1 / 3, 1])
    np.testing.assert_allclose(d[4:], np.array([1.75, 0.75, 0.25, 2.25]) / 2.25)


def test_propagation_known_answer():
    observed = pd.DataFrame({"track": [1, 2], "cluster": [0, 0], "listened": [0.4, 0.8], "liked": [0.0, 1.0],
                             "plays": [1, 1]})
    flat = propagate(POINTS, LABELS, CENTROIDS, observed, rate=0.0)
    np.testing.assert_allclose(flat.listened[:4], [0.6, 0.4, 0.8, 0.6])  # observed keep their values
    np.testing.assert_allclose(flat.liked[[0, 3]], 0.5)
    # cluster 1 has no observed track: the mean over all observed, no decay
    np.testing.assert_allclose(flat.listened[4:], 0.6)
    decayed = propagate(POINTS, LABELS, CENTROIDS, observed, rate=2.0)
    np.testing.assert_allclose(decayed.listened[[0, 3]], 0.6 * np.exp(-2.0))
    np.testing.assert_allclose(decayed.listened[4:], 0.6)
    np.testing.assert_allclose(decayed.reward(10.0)[0], 0.6 * np.exp(-2) + 10 * 0.5 * np.exp(-2))
    assert decayed.observed.tolist() == [False, True, True, False, False, False, False, False]


def test_knn_reference_and_errors():
    observed = pd.DataFrame({"track": [0, 7], "cluster": [0, 1], "listened": [0.2, 1.0], "liked": [0.0, 1.0],
                             "plays": [1, 1]})
    estimate = knn_estimate(POINTS, observed, k=1)
    np.testing.assert_allclose(estimate.listened, [0.2] * 4 + [1.0] * 4)
    assert estimate_errors(np.array([0.0, 0.0]), np.array([1.0, 1.0]))["rmse"] == 1.0
    perfect = estimate_errors(np.arange(5.0), np.arange(5.0) ** 2)
    assert perfect["spearman"] == pytest.approx(1.0) and perfect["tracks"] == 5
    top = estimate_errors(np.arange(100.0), np.r_[np.zeros(95), np.arange(1.0, 6.0)], top=0.05)
    assert top["top_overlap"] == 1.0
    flipped = estimate_errors(np.arange(100.0), -np.arange(100.0), top=0.1)
    assert flipped["top_overlap"] == 0.0 and flipped["spearman"] == pytest.approx(-1.0)
    masked = estimate_errors(np.arange(4.0), np.array([0.0, 1.0, 2.0, 10.0]), np.array([1, 1, 1, 0], bool))
    assert masked["rmse"] == 0.0
    with pytest.raises(ParameterError, match="differ in shape"):
        estimate_errors(np.zeros(3), np.zeros(4))


def test_kmeans_and_observed_tracks():
    labels, centroids = kmeans(POINTS, 2, seed=0)
    assert len(set(labels[:4])) == 1 and len(set(labels[4:])) == 1 and labels[0] != labels[4]
    with pytest.raises(ParameterError, match="n_clusters=9 is larger than the 8 tracks"):
        kmeans(POINTS, 9, seed=0)
    logs = pd.DataFrame({"track": [0, 0, 1, 2, 3, 5], "listened": [0.2, 0.4, 1, 1, 1, 0.5],
                         "liked": [0, 1, 1, 1, 1, 0]})
    observed = observed_tracks(logs, LABELS, per_cluster=2, seed=0)
    assert observed.groupby("cluster").size().tolist() == [2, 1]
    assert set(observed.track) <= set(logs.track)
    if 0 in set(observed.track):
        row = observed.set_index("track").loc[0]
        assert row.listened == pytest.approx(0.3) and row.liked == 0.5 and row.plays == 2


def test_log_sessions_and_start_weights():
    env = LatentRecommenderEnv(n_tracks=100, session_length=5, lam=10.0)
    logs = log_sessions(env, 4, seed=3)
    assert len(logs) == 20 and logs.groupby("session").size().tolist() == [5] * 4
    np.testing.assert_allclose(logs.reward, logs.listened + 10.0 * logs.liked)
    assert logs.groupby("session").track.nunique().tolist() == [5] * 4
    pd.testing.assert_frame_equal(logs, log_sessions(env, 4, seed=3))
    weights = start_weights(logs, 100)
    assert weights.sum() == pytest.approx(1.0) and (weights[logs.start_track.unique()] > 0).all()


def test_error_grid(small_error_grid):
    grid = small_error_grid
    assert len(grid) == 2 * 2 * (2 + 2)
    assert set(grid.method) == {"clusters", "knn_latent", "global_mean"}
    assert (grid.observed <= 4 * grid.n_clusters).all() and (grid.rmse > 0).all()
    assert grid[grid.method != "clusters"].decay_rate.isna().all()


def test_propagated_simulator_is_the_propagation_as_a_listener():
    rng = np.random.default_rng(1)
    points = rng.random((120, 2))
    logs = pd.DataFrame({"session": np.repeat(np.arange(10), 5), "start_track": np.repeat(rng.choice(120, 10), 5),
                         "track": rng.choice(120, 50), "listened": rng.random(50),
                         "liked": rng.integers(0, 2, 50).astype(float)})
    listener, starts, estimate = propagated_simulator(points, logs, n_clusters=6, per_cluster=3, rate=1.0, seed=0)
    labels, centroids = kmeans(points, 6, seed=0)
    expected = propagate(points, labels, centroids, observed_tracks(logs, labels, per_cluster=3, seed=0), rate=1.0)
    np.testing.assert_array_equal(estimate.listened, expected.listened)
    np.testing.assert_array_equal(listener.expected_reward(10.0), expected.reward(10.0))
    np.testing.assert_array_equal(starts, start_weights(logs, 120))


def test_log_summary_is_one_row_per_session():
    logs = pd.DataFrame({"session": [0, 0, 1], "reward": [1.0, 2.0, 5.0], "listened": [0.5, 1.0, 0.0],
                         "liked": [0.0, 1.0, 1.0]})
    summary = log_summary(logs)
    assert summary.to_dict("list") == {"session": [0, 1], "reward": [3.0, 5.0], "listened": [0.75, 0.0],
                                       "like_rate": [0.5, 1.0]}
