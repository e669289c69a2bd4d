"""A perceptual listener: the stand-in for the thesis's human who rated the songs the system played (section 6).

Modelling assumptions
---------------------
* The listener knows the *target song* and judges every played song by how similar it sounds to it,
  and "sounds similar" means **near in the full feature space** of the songs, the tagger layer the
  4-D PCA was computed from (128 channels of ``pool3`` in this compendium; the thesis's layer had 50).
  It never sees the 4-D grid. Its ears are therefore only as good as that layer, a model of hearing,
  not hearing itself.
* Distance: Euclidean between z-scored feature vectors (each channel scaled to unit variance over the
  corpus, the same scaling the PCA uses), or ``metric="cosine"`` (1 - cosine similarity of the
  z-scored vectors).
* Rating 0-4 by **the grid user's rule** (``musicrec.users.grid``): the distances ``D`` from the target
  song to every song of the corpus (itself included, at distance 0) are binned at the same percentiles,
  ``e = numpy.percentile(D, P)`` with ``P = [0, 5, 15, 30, 50, 100]`` (WiderTopTarget, the thesis's
  chosen setting) or ``[0, 0.01, 15, 30, 50, 100]`` (TopTarget): rating 4 if ``d <= e[1]``, 3 if
  ``d <= e[2]``, 2 if ``d <= e[3]``, 1 if ``d <= e[4]``, else 0. So about 5% of the corpus rates 4 for
  every target, as about 5% of the grid does for the grid user.
* ``closer`` by the same rule too: the played song is strictly nearer to the target than the song
  played before it. (Comparisons allow a relative 1e-9 for float rounding.) On a one-feature corpus
  of evenly spaced songs this listener gives exactly the grid user's ratings of a 1-D grid (tested).
* **Genre-aware variant** (``genre_bonus > 0``; the thesis's listener clearly judged by genre, e.g.
  rating non-classical songs 0 for a classical target): a song of the target's genre earns
  ``genre_bonus`` rating points (capped at 4), and a song of the target's genre is always "closer" than
  one of another genre (within the same genre match, the distance decides).
* The listener is deterministic: the same songs always get the same feedback (the thesis found rating
  consistently hard: "the comparisons become both biased by the user's preference ... and the last few
  songs played"; none of that is modelled). The only randomness is the target draw at :meth:`start`.

Rating every (target, song) pair of a corpus is vectorised: :meth:`PerceptualListener.rate` and
:meth:`PerceptualListener.closer` take arrays of targets and songs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from musicrec.errors import ParameterError, check_choice, check_number
from musicrec.users.grid import PERCENTILES, TARGET_MODES

METRICS = ("euclidean", "cosine")
#: Targets whose distances to the whole corpus are computed at once (bounds memory).
EDGE_CHUNK = 512
#: Relative tolerance of distance comparisons: float rounding must not move a song across an edge
#: (or make one of two equally distant songs "closer").
RTOL = 1e-9


@dataclass(frozen=True)
class PerceptualFeedback:
    """What the listener says about one played song."""

    rating: int
    closer: bool
    distance: float


def _zscore(features: np.ndarray) -> np.ndarray:
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    return (features - features.mean(axis=0)) / scale


class PerceptualListener:
    """Rates played songs against a target song in the full feature space (see the module docstring).

    Parameters
    ----------
    features : np.ndarray [shape=(n_songs, n_features)]
        The songs' full feature vectors (e.g. the 128 channels of the tagger's ``pool3``).
    genres : sequence of str, optional
        The songs' genres; needed when ``genre_bonus > 0``.
    target : {"wider", "top"}
        Which percentiles bin the distances (the grid user's WiderTopTarget or TopTarget).
    metric : {"euclidean", "cosine"}
        Distance between z-scored feature vectors.
    genre_bonus : int
        Rating points a song of the target's genre earns (0: the plain listener).
    n_features : int, optional
        The width the features must have (e.g. the input width of the PCA model); others raise.
    rng : np.random.Generator, optional
        Draws the target at :meth:`start` when none is given.

    >>> listener = PerceptualListener(np.arange(20.0)[:, None])  # 20 songs on a line
    >>> listener.rate(0, np.arange(12)).tolist()
    [4, 3, 3, 2, 2, 2, 1, 1, 1, 1, 0, 0]
    """

    def __init__(self, features, *, genres: Sequence[str] | None = None, target: str = "wider",
                 metric: str = "euclidean", genre_bonus: int = 0, n_features: int | None = None,
                 rng: np.random.Generator | None = None):
        try:
            features = np.asarray(features, dtype=np.float64)
        except (TypeError, ValueError):
            raise ParameterError("features must be a numeric array (songs, features)") from None
        if features.ndim != 2 or len(features) < 2:
            raise ParameterError(f"features must be a 2-D array with at least 2 songs, got shape {features.shape}")
        if not np.isfinite(features).all():
            raise ParameterError("features hold NaN or infinite values")
        if n_features is not None and features.shape[1] != int(n_features):
            raise ParameterError(
                f"features have {features.shape[1]} dimensions per song, expected n_features={int(n_features)}")
        self.target_mode = check_choice("target", target, TARGET_MODES)
        self.metric = check_choice("metric", metric, METRICS)
        check_number("genre_bonus", genre_bonus, low=0, high=4, integer=True)
        self.genre_bonus = int(genre_bonus)
        self.n_songs = len(features)
        if genres is not None:
            genres = np.asarray(genres)
            if genres.shape != (self.n_songs,):
                raise ParameterError(f"genres has {genres.size} entries for {self.n_songs} songs")
        elif self.genre_bonus:
            raise ParameterError(f"genre_bonus={self.genre_bonus} needs the songs' genres")
        self.genres = genres
        self._codes = np.unique(genres, return_inverse=True)[1].reshape(-1) if genres is not None else None
        points = _zscore(features)
        if metric == "cosine":
            norms = np.linalg.norm(points, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            points = points / norms
        self._points = points
        self._sq = (points**2).sum(axis=1)
        self.percentiles = np.asarray(PERCENTILES[target])
        self.edges = self._edges()  # (n_songs, 6): the percentile edges of every target
        self.rng = rng if rng is not None else np.random.default_rng()
        self.target = 0
        self.previous = 0

    def __repr__(self) -> str:
        return (f"PerceptualListener(n_songs={self.n_songs}, metric={self.metric!r}, "
                f"target={self.target_mode!r}, genre_bonus={self.genre_bonus})")

    # -- distances and edges ------------------------------------------------------------------------
    def _pairwise(self, rows: np.ndarray) -> np.ndarray:
        """Distances from the songs ``rows`` to every song, shape ``(len(rows), n_songs)``."""
        x = self._points[rows]
        if self.metric == "cosine":
            return np.clip(1.0 - x @ self._points.T, 0.0, 2.0)
        squared = self._sq[rows, None] + self._sq[None, :] - 2.0 * x @ self._points.T
        dist = np.sqrt(np.maximum(squared, 0.0))
        dist[np.arange(len(rows)), rows] = 0.0  # exact zero to itself despite rounding
        return dist

    def _edges(self) -> np.ndarray:
        edges = np.empty((self.n_songs, len(self.percentiles)))
        for start in range(0, self.n_songs, EDGE_CHUNK):
            rows = np.arange(start, min(start + EDGE_CHUNK, self.n_songs))
            edges[rows] = np.percentile(self._pairwise(rows), self.percentiles, axis=1).T
        return edges

    def _songs(self, songs, name: str) -> np.ndarray:
        songs = np.asarray(songs)
        if songs.size and (not np.issubdtype(songs.dtype, np.integer) or songs.min() < 0
                           or songs.max() >= self.n_songs):
            raise ParameterError(f"{name} must be song indices in 0..{self.n_songs - 1}")
        return songs.astype(np.int64)

    def distance(self, targets, songs) -> np.ndarray:
        """Full-space distance of each ``songs[i]`` to ``targets[i]`` (broadcast)."""
        targets, songs = np.broadcast_arrays(self._songs(targets, "targets"), self._songs(songs, "songs"))
        a, b = self._points[targets], self._points[songs]
        if self.metric == "cosine":
            dist = np.clip(1.0 - (a * b).sum(axis=-1), 0.0, 2.0)
        else:
            dist = np.sqrt(np.maximum(((a - b) ** 2).sum(axis=-1), 0.0))
        return np.where(targets == songs, 0.0, dist)

    def same_genre(self, targets, songs) -> np.ndarray:
        """Whether each song has its target's genre (requires ``genres``)."""
        if self._codes is None:
            raise ParameterError("same_genre needs the songs' genres")
        return self._codes[self._songs(targets, "targets")] == self._codes[self._songs(songs, "songs")]

    # -- feedback, vectorised -----------------------------------------------------------------------
    def rate(self, targets, songs) -> np.ndarray:
        """Rating 0-4 of each ``songs[i]`` for ``targets[i]`` (broadcast), dtype int8."""
        targets, songs = np.broadcast_arrays(self._songs(targets, "targets"), self._songs(songs, "songs"))
        dist = self.distance(targets, songs)
        edges = self.edges[targets]
        edges = edges[..., 1:5]
        rating = (dist[..., None] <= edges + RTOL * np.maximum(np.abs(edges), 1.0)).sum(axis=-1)
        if self.genre_bonus:
            rating = np.minimum(4, rating + self.genre_bonus * self.same_genre(targets, songs))
        return rating.astype(np.int8)

    def closer(self, targets, songs, previous) -> np.ndarray:
        """Whether each ``songs[i]`` is strictly closer to ``targets[i]`` than ``previous[i]`` (broadcast)."""
        new = self.distance(targets, songs)
        old = self.distance(targets, previous)
        nearer = new < old - RTOL * np.maximum(old, 1.0)
        if not self.genre_bonus:
            return nearer
        same_new, same_old = self.same_genre(targets, songs), self.same_genre(targets, previous)
        return (same_new & ~same_old) | ((same_new == same_old) & nearer)

    # -- the one-listener interface of musicrec.users ------------------------------------------------
    def start(self, target: int | None = None, first_song: int | None = None, *,
              rng: np.random.Generator | None = None) -> PerceptualFeedback:
        """Listen for ``target`` (drawn uniformly if None); ``first_song`` (default the target) was
        played first. Returns the feedback on the first song (``closer`` is False)."""
        if rng is not None:
            self.rng = rng
        self.target = int(self.rng.integers(self.n_songs)) if target is None else int(
            self._songs(np.asarray(target), "target"))
        self.previous = self.target if first_song is None else int(self._songs(np.asarray(first_song), "first_song"))
        return PerceptualFeedback(rating=int(self.rate(self.target, self.previous)), closer=False,
                                  distance=float(self.distance(self.target, self.previous)))

    def respond(self, song: int) -> PerceptualFeedback:
        """Rating of ``song`` and whether it is closer to the target than the song played before."""
        return PerceptualFeedback(rating=int(self.rate(self.target, song)),
                                  closer=bool(self.closer(self.target, song, self.previous)),
                                  distance=float(self.distance(self.target, song)))

    def update(self, song: int, feedback: PerceptualFeedback) -> None:
        """``song`` becomes the song played before, for the next ``closer``."""
        self.previous = int(song)
