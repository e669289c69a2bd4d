"""PCA with z-scoring, leave-one-out kNN accuracy and genre-centroid distances: known answers."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicrec.errors import ParameterError
from musicrec.features.space import (
    PCAModel, centroid_distances, fit_pca, knn_accuracy_table, knn_loo_accuracy, knn_loo_predictions, zscore,
)


def test_knn_known_answers():
    points = np.array([[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]])
    labels = np.array(["a", "a", "a", "b", "b", "b"])
    assert knn_loo_accuracy(points, labels, 1) == 1.0
    # with k = 5 each point sees 2 of its own and 3 of the other label: all wrong
    assert knn_loo_accuracy(points, labels, 5) == 0.0
    # a tie (k = 2: one of each) goes to the nearer neighbour's label
    tie = np.array([[0.0], [1.0], [3.0]])
    assert list(knn_loo_predictions(tie, np.array(["x", "y", "z"]), 2)) == ["y", "x", "y"]
    with pytest.raises(ParameterError, match="k=6"):
        knn_loo_accuracy(points, labels, 6)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=5, max_value=30), st.integers(min_value=1, max_value=4), st.integers(0, 10_000))
def test_knn_matches_brute_force(n, k, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    y = rng.integers(0, 3, n)
    k = min(k, n - 1)
    predictions = knn_loo_predictions(x, y, k)
    for i in range(n):
        d = np.linalg.norm(x - x[i], axis=1)
        d[i] = np.inf
        nearest = np.argsort(d, kind="stable")[:k]
        votes = np.bincount(y[nearest], minlength=3)
        tied = np.flatnonzero(votes == votes.max())
        expected = next(y[j] for j in nearest if y[j] in tied)
        assert predictions[i] == expected


def test_pca_matches_sklearn_on_zscored_data_and_round_trips(tmp_path):
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 6)) * np.array([1, 10, 100, 1, 1, 0.1]) + 5
    x[:, 5] = 3.0  # a constant column is left at zero
    model = fit_pca(x, 3)
    reference = PCA(3).fit(zscore(x))
    np.testing.assert_allclose(model.explained_variance_ratio, reference.explained_variance_ratio_, rtol=1e-10)
    np.testing.assert_allclose(np.abs(model.transform(x)), np.abs(reference.transform(zscore(x))), atol=1e-9)
    assert np.all(np.abs(model.components).argmax(axis=1) == np.abs(model.components).argmax(axis=1))
    assert (model.components[np.arange(3), np.abs(model.components).argmax(axis=1)] > 0).all()
    loaded = PCAModel.load(model.save(tmp_path / "pca.npz"))
    np.testing.assert_array_equal(loaded.transform(x), model.transform(x))
    with pytest.raises(ParameterError, match="n_components=7"):
        fit_pca(x, 7)
    with pytest.raises(ParameterError, match=r"shape \(n, 6\)"):
        model.transform(x[:, :2])


def test_centroid_distances_known_answer():
    points = np.array([[0, 0], [0, 2], [3, 1], [3, 1]], dtype=float)
    table = centroid_distances(points, ["a", "a", "b", "b"], order=["b", "a"])
    assert list(table.index) == ["b", "a"]
    assert table.loc["a", "b"] == pytest.approx(3.0) and table.loc["a", "a"] == 0


def test_accuracy_table_skips_too_many_dimensions():
    rng = np.random.default_rng(1)
    features = {"narrow": rng.standard_normal((12, 3)), "wide": rng.standard_normal((12, 20))}
    labels = np.repeat(["a", "b", "c"], 4)
    table = knn_accuracy_table(features, labels, dims=(2, 4, 16, "all"), ks=(1, 3))
    assert set(table[table.layer == "narrow"].dims) == {"2", "all"}
    assert set(table[table.layer == "wide"].dims) == {"2", "4", "all"}  # 16 > 12 clips
    assert table.accuracy.between(0, 1).all() and isinstance(table, pd.DataFrame)


def test_grouped_knn_is_leave_one_group_out():
    from sklearn.model_selection import LeaveOneGroupOut
    from sklearn.neighbors import KNeighborsClassifier

    from musicrec.features.space import (balanced_accuracy, grouped_knn_table, knn_group_predictions,
                                         knn_loo_predictions)

    rng = np.random.default_rng(1)
    x, y, groups = rng.normal(size=(80, 5)), rng.integers(0, 4, 80), rng.integers(0, 15, 80)
    expected = np.empty(80, dtype=int)
    for train, test in LeaveOneGroupOut().split(x, y, groups):
        expected[test] = KNeighborsClassifier(1).fit(x[train], y[train]).predict(x[test])
    np.testing.assert_array_equal(knn_group_predictions(x, y, groups, 1), expected)
    np.testing.assert_array_equal(knn_group_predictions(x, y, np.arange(80), 3), knn_loo_predictions(x, y, 3))
    # three clips per track that are near copies: plain leave-one-out recognises the track, grouping does not
    tracks = np.repeat(np.arange(20), 3)
    labels = rng.integers(0, 2, 20)[tracks]
    copies = rng.normal(size=(20, 4))[tracks] + 0.01 * rng.normal(size=(60, 4))
    assert np.mean(knn_loo_predictions(copies, labels, 1) == labels) == 1.0
    assert np.mean(knn_group_predictions(copies, labels, tracks, 1) == labels) < 0.9
    assert balanced_accuracy(["a", "a", "a", "b"], ["a", "a", "a", "a"]) == 0.5
    table = grouped_knn_table({"l": x}, y, {"clip": np.arange(80), "g": groups}, dims=(2, "all"), ks=(1,))
    assert len(table) == 4 and set(table.grouping) == {"clip", "g"}
    with pytest.raises(ParameterError, match="groups has 3 entries"):
        knn_group_predictions(x, y, [1, 2, 3], 1)


def test_pca_coordinates_and_genre_distances_in_gtzan_order():
    from musicrec.features.space import genre_distances, pca_coordinates

    rng = np.random.default_rng(4)
    values = rng.standard_normal((12, 6))
    coords, model = pca_coordinates(values, 4)
    assert coords.shape == (12, 4) and model.n_components == 4
    np.testing.assert_allclose(coords, model.transform(values))
    narrow, _ = pca_coordinates(values[:3], 4)  # no more components than clips
    assert narrow.shape == (3, 3)
    labels = ["rock", "zydeco", "blues"] * 4
    table = genre_distances(coords, labels)
    assert list(table.index) == ["blues", "rock", "zydeco"]  # GTZAN's order, unknown labels last
    np.testing.assert_allclose(table.to_numpy(), centroid_distances(coords, labels, table.index).to_numpy())
