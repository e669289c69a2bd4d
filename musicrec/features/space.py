"""Feature spaces of clips: z-scored PCA, genre-centroid distances and leave-one-out kNN genre accuracy.

Conventions: features are rows (one clip per row); before PCA each dimension is z-scored over the
clips (a dimension with no variance is left at 0), because the tagger's layers have channels on very
different scales. PCA is fitted on all clips of the collection (it uses no labels); the kNN accuracy
is leave-one-out over the same clips, with Euclidean distance.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from musicrec.errors import ParameterError, check_number


@dataclass
class PCAModel:
    """z-scoring followed by a PCA projection, stored as plain arrays (``save``/``load`` as ``.npz``).

    Attributes
    ----------
    mean, scale : np.ndarray [shape=(d,)]
        z-scoring of the input features.
    components : np.ndarray [shape=(k, d)]
        Principal axes (rows), in order of explained variance.
    explained_variance_ratio : np.ndarray [shape=(k,)]
    """

    mean: np.ndarray
    scale: np.ndarray
    components: np.ndarray
    explained_variance_ratio: np.ndarray

    @property
    def n_components(self) -> int:
        return len(self.components)

    def transform(self, features: np.ndarray) -> np.ndarray:
        """Project ``features`` ``(n, d)`` to ``(n, k)``."""
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or features.shape[1] != len(self.mean):
            raise ParameterError(f"features must have shape (n, {len(self.mean)}), got {features.shape}")
        return ((features - self.mean) / self.scale) @ self.components.T

    def save(self, path: str | os.PathLike) -> Path:
        np.savez(path, mean=self.mean, scale=self.scale, components=self.components,
                 explained_variance_ratio=self.explained_variance_ratio)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PCAModel":
        with np.load(path) as data:
            return cls(**{name: data[name] for name in ("mean", "scale", "components", "explained_variance_ratio")})


def fit_pca(features: np.ndarray, n_components: int | None = None) -> PCAModel:
    """z-score ``features`` ``(n, d)`` and fit a PCA with ``n_components`` (``None``: min(n, d))."""
    from sklearn.decomposition import PCA

    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ParameterError(f"features must be a 2-D array with at least 2 rows, got shape {features.shape}")
    limit = min(features.shape)
    if n_components is None:
        n_components = limit
    check_number("n_components", n_components, low=1, high=limit, integer=True)
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    pca = PCA(n_components=int(n_components), svd_solver="full").fit((features - mean) / scale)
    components = pca.components_.copy()
    # fix the sign of each axis (largest loading positive) so reruns and layers read the same way
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    components *= signs[:, None]
    return PCAModel(mean=mean, scale=scale, components=components,
                    explained_variance_ratio=pca.explained_variance_ratio_.copy())


def zscore(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    return (features - features.mean(axis=0)) / scale


def knn_loo_predictions(features: np.ndarray, labels, k: int) -> np.ndarray:
    """Leave-one-out k-nearest-neighbour predictions (Euclidean).

    Each clip is labelled by the majority of its ``k`` nearest other clips; a tie goes to the tied
    label whose nearest member is closest.
    """
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    n = len(features)
    check_number("k", k, low=1, high=n - 1, integer=True)
    squared = (features**2).sum(axis=1)
    dist = squared[:, None] + squared[None, :] - 2 * features @ features.T
    np.fill_diagonal(dist, np.inf)
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    classes, codes = np.unique(labels, return_inverse=True)
    neighbour_codes = codes[order]                                 # (n, k), nearest first
    votes = np.zeros((n, len(classes)), dtype=int)
    np.add.at(votes, (np.repeat(np.arange(n), k), neighbour_codes.ravel()), 1)
    best = votes.max(axis=1, keepdims=True)
    tied = votes == best
    # among tied labels, the one that appears first in the nearest-first neighbour list wins
    first_rank = np.full((n, len(classes)), k)
    for rank in range(k - 1, -1, -1):
        first_rank[np.arange(n), neighbour_codes[:, rank]] = rank
    first_rank[~tied] = k + 1
    return classes[first_rank.argmin(axis=1)]


def knn_loo_accuracy(features: np.ndarray, labels, k: int) -> float:
    """Share of clips whose leave-one-out kNN prediction is their own label."""
    labels = np.asarray(labels)
    return float(np.mean(knn_loo_predictions(features, labels, k) == labels))


def reduced_spaces(features: dict[str, np.ndarray], dims):
    """Yield ``(layer, dim, space)``: each layer's clips in ``dim`` PCA dimensions, or z-scored whole for
    ``"all"``; a ``dim`` larger than a layer's width (or the number of clips) is skipped."""
    for layer, values in features.items():
        for dim in dims:
            if dim == "all":
                yield layer, dim, zscore(values)
            elif dim <= min(values.shape):
                yield layer, dim, fit_pca(values, dim).transform(values)


def knn_accuracy_table(features: dict[str, np.ndarray], labels, *, dims=(2, 3, 4, 8, 16, "all"),
                       ks=(1, 5)) -> pd.DataFrame:
    """Leave-one-out kNN genre accuracy for each layer x PCA dimensions x k.

    ``dims`` entries larger than a layer's width (or the number of clips) are skipped; ``"all"`` uses
    every z-scored dimension without PCA.
    """
    rows = []
    for layer, dim, space in reduced_spaces(features, dims):
        for k in ks:
            rows.append({"layer": layer, "dims": str(dim), "k": int(k),
                         "accuracy": knn_loo_accuracy(space, labels, k)})
    return pd.DataFrame(rows)


def centroid_distances(points: np.ndarray, labels, order=None) -> pd.DataFrame:
    """Euclidean distances between the genre centroids (mean point of each label) as a square table."""
    points = np.asarray(points, dtype=np.float64)
    labels = np.asarray(labels)
    order = list(order) if order is not None else sorted(set(labels))
    centroids = np.stack([points[labels == label].mean(axis=0) for label in order])
    dist = np.sqrt(((centroids[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=-1))
    return pd.DataFrame(dist, index=order, columns=order)


def knn_group_predictions(features: np.ndarray, labels, groups, k: int) -> np.ndarray:
    """kNN predictions that leave each clip's whole group out (leave-one-group-out, Euclidean).

    A clip is labelled by the majority of its ``k`` nearest clips *of other groups* (other tracks, or
    other artists), so the accuracy cannot come from recognising the same recording; ties go to the
    tied label whose nearest member is closest. With every clip its own group this is
    :func:`knn_loo_predictions`.
    """
    features = np.asarray(features, dtype=np.float64)
    labels, groups = np.asarray(labels), np.asarray(groups)
    n = len(features)
    if groups.shape != (n,):
        raise ParameterError(f"groups has {groups.size} entries for {n} clips")
    codes = np.unique(groups, return_inverse=True)[1].reshape(-1)
    largest = np.bincount(codes).max()
    check_number("k", k, low=1, high=n - largest, integer=True)
    squared = (features**2).sum(axis=1)
    dist = squared[:, None] + squared[None, :] - 2 * features @ features.T
    dist[codes[:, None] == codes[None, :]] = np.inf
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    classes, label_codes = np.unique(labels, return_inverse=True)
    neighbour_codes = label_codes[order]
    votes = np.zeros((n, len(classes)), dtype=int)
    np.add.at(votes, (np.repeat(np.arange(n), k), neighbour_codes.ravel()), 1)
    tied = votes == votes.max(axis=1, keepdims=True)
    first_rank = np.full((n, len(classes)), k)
    for rank in range(k - 1, -1, -1):
        first_rank[np.arange(n), neighbour_codes[:, rank]] = rank
    first_rank[~tied] = k + 1
    return classes[first_rank.argmin(axis=1)]


def balanced_accuracy(labels, predicted) -> float:
    """Mean over labels of the share of that label's clips predicted right (chance: 1 / labels)."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    return float(np.mean([np.mean(predicted[labels == label] == label) for label in np.unique(labels)]))


def grouped_knn_table(features: dict[str, np.ndarray], labels, groupings: dict[str, np.ndarray], *,
                      dims=(2, 3, 4, 8, 16, "all"), ks=(1, 5)) -> pd.DataFrame:
    """Grouped kNN genre accuracy for each layer x PCA dims x k x grouping (see :func:`knn_group_predictions`).

    ``groupings`` maps a name (``"clip"``, ``"track"``, ``"artist"``) to one group id per clip. The PCA is
    fitted on all clips (it uses no labels). Columns: ``layer``, ``dims``, ``k``, ``grouping``,
    ``accuracy``, ``balanced_accuracy``.
    """
    labels = np.asarray(labels)
    rows = []
    for layer, dim, space in reduced_spaces(features, dims):
        for k in ks:
            for grouping, groups in groupings.items():
                predicted = knn_group_predictions(space, labels, groups, k)
                rows.append({"layer": layer, "dims": str(dim), "k": int(k), "grouping": grouping,
                             "accuracy": float(np.mean(predicted == labels)),
                             "balanced_accuracy": balanced_accuracy(labels, predicted)})
    return pd.DataFrame(rows)


def pca_coordinates(values: np.ndarray, dims: int = 4) -> tuple[np.ndarray, PCAModel]:
    """z-scored PCA of one layer ``(clips, features)``: coordinates ``(clips, min(dims, *values.shape))`` and
    the model."""
    model = fit_pca(values, min(dims, min(values.shape)))
    return model.transform(values), model


def genre_distances(points: np.ndarray, labels) -> pd.DataFrame:
    """Distances between genre centroids in ``points`` (e.g. the 4-D PCA coordinates), in GTZAN's genre order
    (:func:`musicrec.data.corpus.genre_order`)."""
    from musicrec.data.corpus import genre_order

    return centroid_distances(points, labels, genre_order(labels))
