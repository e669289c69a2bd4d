"""Logged sessions and the Spotify RL project's reward propagation with K-Means clusters.

The documents' rule (README and blog post, "Reward propagation with clustering"):

1. cluster the tracks with K-Means on their 2-D latents;
2. in each cluster, record real feedback (listened fraction, liked) for about 4 tracks;
3. give every other track of the cluster the observed reward scaled by a decay of its Euclidean
   distance to the centroid, the distances normalised so the farthest track of the cluster is at 1.

Where the documents leave a choice open, this module decides:

* *Observed* tracks are tracks that occur in logged sessions of a behaviour policy
  (:func:`log_sessions`); per cluster up to ``per_cluster`` of them are picked at random (seeded) and
  each keeps the mean of its logged feedback.
* The listened fraction and the like are propagated separately (the README records both, e.g.
  0.64 and 0.9) and recombined as ``listened + lambda * liked``; a cluster's value is the mean over its
  observed tracks.
* The decay is ``exp(-rate * d)`` of the normalised distance ``d`` (``rate = 0``: the cluster mean
  everywhere). Observed tracks keep their own values. A cluster without any logged track gets the
  mean over all observed tracks.

:func:`knn_estimate` (the mean of the nearest observed tracks in any space, no clusters) is a
reference the documents do not have.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from musicrec.errors import ParameterError, check_number


def log_sessions(env, n_sessions: int, *, seed: int,
                 policy: Callable[[object, np.random.Generator], object] | None = None) -> pd.DataFrame:
    """Play ``n_sessions`` sessions of ``policy`` (default: a uniformly random candidate) and log them.

    Parameters
    ----------
    env : LatentRecommenderEnv
        The environment with the true listener; session ``i`` is reset with seed ``seed + i``.
    policy : callable, optional
        ``policy(env, rng) -> action``.

    Returns
    -------
    pd.DataFrame
        One row per recommendation: ``session, step, start_track, track, listened, liked, reward``.
    """
    check_number("n_sessions", n_sessions, low=1, integer=True)
    rng = np.random.default_rng(seed)
    if policy is None:
        def policy(env, rng):
            return env.action_space.sample() if env.actions != "knn" else int(rng.integers(env.k))
    rows = []
    for session in range(int(n_sessions)):
        _, info = env.reset(seed=int(seed) + session)
        start, truncated, step = info["track"], False, 0
        while not truncated:
            _, reward, _, truncated, info = env.step(policy(env, rng))
            step += 1
            rows.append((session, step, start, info["track"], info["listened"], info["liked"], reward))
    columns = ["session", "step", "start_track", "track", "listened", "liked", "reward"]
    return pd.DataFrame(rows, columns=columns)


def log_summary(logs: pd.DataFrame) -> pd.DataFrame:
    """One row per logged session of :func:`log_sessions`: ``session, reward`` (sum), ``listened`` (mean)
    and ``like_rate`` (mean of ``liked``)."""
    return logs.groupby("session").agg(reward=("reward", "sum"), listened=("listened", "mean"),
                                       like_rate=("liked", "mean")).reset_index()


def kmeans(points: np.ndarray, n_clusters: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """K-Means (scikit-learn, 3 restarts): ``(labels [n_tracks], centroids [n_clusters, dims])``.

    Runs on one OpenMP thread: on a shared 2-core machine the default thread pool spent seconds
    spinning on a 600-point fit that takes milliseconds alone.
    """
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    points = np.asarray(points, dtype=np.float64)
    check_number("n_clusters", n_clusters, low=1, integer=True)
    if n_clusters > len(points):
        raise ParameterError(f"n_clusters={n_clusters} is larger than the {len(points)} tracks")
    with threadpool_limits(limits=1, user_api="openmp"):
        model = KMeans(n_clusters=int(n_clusters), n_init=3, random_state=int(seed)).fit(points)
    return model.labels_.astype(np.int64), model.cluster_centers_


def observed_tracks(logs: pd.DataFrame, labels: np.ndarray, *, per_cluster: int, seed: int) -> pd.DataFrame:
    """Up to ``per_cluster`` logged tracks per cluster (seeded), with their mean logged feedback.

    Returns one row per observed track: ``track, cluster, listened, liked, plays``.
    """
    check_number("per_cluster", per_cluster, low=1, integer=True)
    played = logs.groupby("track").agg(listened=("listened", "mean"), liked=("liked", "mean"),
                                       plays=("listened", "size")).reset_index()
    played["cluster"] = labels[played.track.to_numpy()]
    rng = np.random.default_rng(seed)
    picks = []
    for _, group in played.groupby("cluster", sort=True):
        take = min(int(per_cluster), len(group))
        picks.append(group.iloc[np.sort(rng.choice(len(group), size=take, replace=False))])
    if not picks:
        raise ParameterError("the logs hold no track")
    return pd.concat(picks, ignore_index=True)[["track", "cluster", "listened", "liked", "plays"]]


@dataclass
class Propagation:
    """Per-track estimates of one propagation."""

    listened: np.ndarray
    liked: np.ndarray
    observed: np.ndarray
    """True for the observed tracks (their own logged values)."""
    normalised_distance: np.ndarray
    """Distance to the cluster centroid, 1 for the farthest track of each cluster."""

    def reward(self, lam: float) -> np.ndarray:
        """Estimated ``listened + lam * liked`` of every track."""
        return self.listened + lam * self.liked


def normalised_distances(points: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Distance of each track to its centroid divided by the largest such distance in its cluster."""
    distance = np.linalg.norm(points - centroids[labels], axis=1)
    largest = np.zeros(len(centroids))
    np.maximum.at(largest, labels, distance)
    return np.divide(distance, largest[labels], out=np.zeros_like(distance), where=largest[labels] > 0)


def propagate(points: np.ndarray, labels: np.ndarray, centroids: np.ndarray, observed: pd.DataFrame, *,
              rate: float) -> Propagation:
    """The documents' rule: cluster mean of the observed tracks times ``exp(-rate * d)``.

    Parameters
    ----------
    points : np.ndarray [shape=(n_tracks, 2)]
        The latents the clusters were fitted on.
    labels, centroids : np.ndarray
        From :func:`kmeans`.
    observed : pd.DataFrame
        From :func:`observed_tracks`.
    rate : float
        Decay rate (>= 0).
    """
    check_number("rate", rate, low=0)
    points = np.asarray(points, dtype=np.float64)
    n_clusters = len(centroids)
    d = normalised_distances(points, labels, centroids)
    decay = np.exp(-float(rate) * d)
    estimates = []
    for column in ("listened", "liked"):
        totals = np.bincount(observed.cluster, weights=observed[column], minlength=n_clusters)
        counts = np.bincount(observed.cluster, minlength=n_clusters)
        value = np.where(counts > 0, totals / np.maximum(counts, 1), observed[column].mean())
        has_data = counts[labels] > 0
        estimate = np.where(has_data, value[labels] * decay, value[labels])
        estimate[observed.track.to_numpy()] = observed[column].to_numpy()
        estimates.append(np.clip(estimate, 0.0, 1.0))
    mask = np.zeros(len(points), dtype=bool)
    mask[observed.track.to_numpy()] = True
    return Propagation(listened=estimates[0], liked=estimates[1], observed=mask, normalised_distance=d)


def knn_estimate(points: np.ndarray, observed: pd.DataFrame, *, k: int = 4) -> Propagation:
    """Reference estimate: mean feedback of the ``k`` nearest observed tracks in ``points``."""
    from sklearn.neighbors import NearestNeighbors

    check_number("k", k, low=1, integer=True)
    tracks = observed.track.to_numpy()
    k = min(int(k), len(tracks))
    index = NearestNeighbors(n_neighbors=k).fit(points[tracks])
    neighbours = index.kneighbors(points, return_distance=False)
    estimates = []
    for column in ("listened", "liked"):
        values = observed[column].to_numpy()
        estimate = values[neighbours].mean(axis=1)
        estimate[tracks] = values
        estimates.append(estimate)
    mask = np.zeros(len(points), dtype=bool)
    mask[tracks] = True
    return Propagation(listened=estimates[0], liked=estimates[1], observed=mask,
                       normalised_distance=np.full(len(points), np.nan))


def estimate_errors(true_reward: np.ndarray, estimate: np.ndarray, mask: np.ndarray | None = None, *,
                    top: float = 0.05) -> dict:
    """RMSE, Spearman rank correlation and top-``top`` overlap of ``estimate`` against ``true_reward``.

    ``top_overlap`` is the share of the ``top`` fraction of tracks with the highest true reward that
    are also among the ``top`` fraction with the highest estimate (an uninformative estimate scores
    about ``top``). It measures what a recommender needs from the estimate, finding the best tracks,
    which the Spearman coefficient over all tracks hides when most true rewards are close to zero.
    Computed on the ``mask`` tracks (default all).
    """
    from scipy.stats import spearmanr

    true_reward, estimate = np.asarray(true_reward, float), np.asarray(estimate, float)
    if true_reward.shape != estimate.shape:
        raise ParameterError(f"true {true_reward.shape} and estimated {estimate.shape} rewards differ in shape")
    if mask is not None:
        true_reward, estimate = true_reward[mask], estimate[mask]
    if len(true_reward) < 2:
        raise ParameterError("need at least two tracks to measure the estimate's error")
    rho = spearmanr(true_reward, estimate).statistic if np.ptp(estimate) > 0 else np.nan
    n_top = max(1, int(round(top * len(true_reward))))
    best_true = np.argsort(-true_reward, kind="stable")[:n_top]
    best_estimate = np.argsort(-estimate, kind="stable")[:n_top]
    overlap = len(np.intersect1d(best_true, best_estimate)) / n_top if np.ptp(estimate) > 0 else np.nan
    return {"rmse": float(np.sqrt(np.mean((true_reward - estimate) ** 2))), "spearman": float(rho),
            "top_overlap": float(overlap), "tracks": int(len(true_reward))}


def start_weights(logs: pd.DataFrame, n_tracks: int) -> np.ndarray:
    """Empirical distribution of the logged sessions' start tracks (the offline simulator's starts)."""
    starts = logs.groupby("session").start_track.first().to_numpy()
    return np.bincount(starts, minlength=n_tracks).astype(np.float64) / len(starts)


def error_grid(points: np.ndarray, recommender_latents: np.ndarray, logs: pd.DataFrame, true_reward: np.ndarray,
               *, cluster_counts, decay_rates, per_cluster: int, seeds, lam: float) -> pd.DataFrame:
    """Errors of every (cluster count, decay rate, seed) on the tracks that were not observed.

    Parameters
    ----------
    points : np.ndarray [shape=(n_tracks, 2)]
        The latents K-Means clusters (:func:`kmeans`).
    recommender_latents : np.ndarray [shape=(n_tracks, d)]
        The recommender's latents, the space of the ``knn_latent`` reference.
    logs : pd.DataFrame
        From :func:`log_sessions`.
    true_reward : np.ndarray [shape=(n_tracks,)]
        The listener's true expected ``listened + lam * liked`` of every track.
    cluster_counts, decay_rates, seeds : sequences
        The grid: K-Means and the observed tracks of each cluster count are drawn with each seed.
    per_cluster : int
        Observed tracks per cluster (:func:`observed_tracks`).
    lam : float
        Weight of a like in the reward.

    Returns
    -------
    pd.DataFrame
        One row per (method, cluster count, seed, decay rate): ``method, decay_rate, n_clusters, seed,
        observed`` and the columns of :func:`estimate_errors`. ``method`` is ``clusters`` (the documents'
        rule, one row per decay rate), ``knn_latent`` (mean of the 4 nearest observed tracks in
        ``recommender_latents``, the same observed tracks) or ``global_mean`` (their mean reward; both
        with ``decay_rate`` NaN).
    """
    rows = []
    for n_clusters in cluster_counts:
        for seed in seeds:
            labels, centroids = kmeans(points, int(n_clusters), seed=int(seed))
            observed = observed_tracks(logs, labels, per_cluster=per_cluster, seed=int(seed))
            base = {"n_clusters": int(n_clusters), "seed": int(seed), "observed": len(observed)}
            for rate in decay_rates:
                estimate = propagate(points, labels, centroids, observed, rate=float(rate))
                errors = estimate_errors(true_reward, estimate.reward(lam), ~estimate.observed)
                rows.append({"method": "clusters", "decay_rate": float(rate), **base, **errors})
            reference = knn_estimate(recommender_latents, observed, k=4)
            rows.append({"method": "knn_latent", "decay_rate": np.nan, **base,
                         **estimate_errors(true_reward, reference.reward(lam), ~reference.observed)})
            constant = np.full(len(true_reward), observed.listened.mean() + lam * observed.liked.mean())
            rows.append({"method": "global_mean", "decay_rate": np.nan, **base,
                         **estimate_errors(true_reward, constant, ~reference.observed)})
    return pd.DataFrame(rows)


def propagated_simulator(points: np.ndarray, logs: pd.DataFrame, *, n_clusters: int, per_cluster: int,
                         rate: float, seed: int):
    """The listener of an offline simulator: the documents' propagation of the logged feedback.

    K-Means with ``n_clusters`` on ``points`` and the observed tracks drawn with ``seed``
    (:func:`observed_tracks`, ``per_cluster``), propagated with decay ``rate`` (:func:`propagate`).

    Returns
    -------
    tuple
        ``(listener, starts, estimate)``: a :class:`musicrec.users.listener.TableListener` of the
        propagated listened fraction and like, the logged sessions' start-track distribution
        (:func:`start_weights`, [shape=(n_tracks,)]) and the :class:`Propagation`.
    """
    from musicrec.users.listener import TableListener

    labels, centroids = kmeans(points, int(n_clusters), seed=seed)
    observed = observed_tracks(logs, labels, per_cluster=int(per_cluster), seed=seed)
    estimate = propagate(points, labels, centroids, observed, rate=float(rate))
    return TableListener(estimate.listened, estimate.liked), start_weights(logs, len(points)), estimate
