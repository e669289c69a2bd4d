"""Simulated listeners of the session simulator: a hidden taste, a skip propensity and a skip rule.

Modelling assumptions
---------------------
* A listener has a **taste point** in the space of nine normalised audio features (danceability,
  energy, loudness, speechiness, acousticness, instrumentalness, liveness, valence, tempo): the
  centroid of a favourite genre plus Gaussian noise. The *affinity* of a track is minus its distance
  to the taste point, standardised over the catalog for each listener (mean 0, std 1).
* A listener has a **skip propensity** (a logit offset, Gaussian over listeners) and a **premium**
  flag. Free listeners skip less (the free tier limits skips).
* The probability that a track is skipped (``skip_2``) is ``sigmoid`` of::

      propensity + mood + context_effect[context] + premium_effect * premium
      - taste_weight * affinity - popularity_weight * (popularity - 0.5)
      + recent_weight * (share of the last ``recent_window`` tracks skipped - 0.5)
      + position_weight * (position - 10.5)

  ``mood`` is a per-session Gaussian offset; the recent-skips term is 0 for a session's first track;
  popularity is in [0, 1]. Liked and popular tracks are skipped less.
* Given a skip (``skip_2``), the track was also skipped within its first seconds (``skip_1``) with
  probability ``p_skip_1``; a track that is not ``skip_2`` is still left before its end (``skip_3``)
  with probability ``p_late_skip``; ``not_skipped`` is the complement of ``skip_3``. So
  ``skip_1 => skip_2 => skip_3``.
* Listeners are simulated in batches, one listener per concurrent session: ``start`` a batch, then for
  each position ``respond(tracks)`` draws the feedback and ``update(feedback)`` records the skips. All
  draws come from the batch's ``numpy.random.Generator``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from musicrec.errors import ParameterError, check_number, check_probability

#: Catalog audio features that define taste (key and mode are left out).
TASTE_FEATURES = ("danceability", "energy", "loudness", "speechiness", "acousticness", "instrumentalness",
                  "liveness", "valence", "tempo")

DEFAULT_CONTEXT_EFFECTS = {
    "user_collection": -0.6,        # the listener's own saved tracks
    "personalized_playlist": -0.2,
    "editorial_playlist": 0.0,
    "charts": 0.2,
    "catalog": 0.3,                 # browsing
    "radio": 0.4,
}


@dataclass(frozen=True)
class SkipParameters:
    """Coefficients of the skip rule (see the module docstring); defaults are the simulator's."""

    propensity_mean: float = 0.2
    propensity_sd: float = 2.0
    mood_sd: float = 0.5
    taste_weight: float = 0.9
    popularity_weight: float = 1.0
    recent_weight: float = 1.0
    recent_window: int = 3
    position_weight: float = 0.02
    premium_effect: float = 0.4
    taste_noise: float = 0.08
    context_effects: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_CONTEXT_EFFECTS))
    p_skip_1: float = 0.6
    p_late_skip: float = 0.12

    def __post_init__(self):
        for name in ("propensity_sd", "mood_sd", "taste_noise"):
            check_number(name, getattr(self, name), low=0)
        check_number("recent_window", self.recent_window, low=1, integer=True)
        check_probability("p_skip_1", self.p_skip_1)
        check_probability("p_late_skip", self.p_late_skip)


@dataclass(frozen=True)
class SessionFeedback:
    """Feedback of a batch of listeners on one track each (arrays of shape ``(batch,)``)."""

    skip_probability: np.ndarray
    skip_1: np.ndarray
    skip_2: np.ndarray
    skip_3: np.ndarray
    not_skipped: np.ndarray


class SessionListeners:
    """A population of listeners over a catalog, simulated a batch of sessions at a time.

    Parameters
    ----------
    taste_features : np.ndarray [shape=(n_tracks, 9)]
        The catalog's :data:`TASTE_FEATURES` in [0, 1].
    genres : np.ndarray [shape=(n_tracks,)]
        Each track's genre (taste points start at a genre centroid).
    popularity : np.ndarray [shape=(n_tracks,)]
        Track popularity in [0, 1].
    n_users : int
    rng : np.random.Generator
        Draws the population now and every session's feedback later.
    params : SkipParameters, optional
    premium_share : float
        Share of premium listeners.
    """

    def __init__(self, taste_features: np.ndarray, genres: np.ndarray, popularity: np.ndarray, n_users: int,
                 rng: np.random.Generator, *, params: SkipParameters | None = None,
                 premium_share: float = 0.75):
        self.features = np.asarray(taste_features, dtype=float)
        self.popularity = np.asarray(popularity, dtype=float)
        genres = np.asarray(genres)
        if (self.features.ndim != 2 or len(self.features) != len(genres)
                or len(genres) != len(self.popularity)):
            raise ParameterError("taste_features, genres and popularity must describe the same tracks")
        check_number("n_users", n_users, low=1, integer=True)
        check_probability("premium_share", premium_share)
        self.params = params or SkipParameters()
        self.rng = rng
        self.n_users = int(n_users)
        self.genre_names, genre_index = np.unique(genres, return_inverse=True)
        centroids = np.stack([self.features[genre_index == g].mean(axis=0)
                              for g in range(len(self.genre_names))])
        self.favourite_genre = rng.integers(0, len(self.genre_names), size=self.n_users)
        self.taste = centroids[self.favourite_genre] + rng.normal(0, self.params.taste_noise,
                                                                 size=(self.n_users, self.features.shape[1]))
        self.propensity = rng.normal(self.params.propensity_mean, self.params.propensity_sd,
                                     size=self.n_users)
        self.premium = rng.random(self.n_users) < premium_share
        # per-listener mean and std of the raw affinity over the catalog, for standardising
        self._mean = np.empty(self.n_users)
        self._std = np.empty(self.n_users)
        for start in range(0, self.n_users, 512):
            raw = self._raw_affinity(np.arange(start, min(start + 512, self.n_users))[:, None],
                                     np.arange(len(self.features))[None, :])
            self._mean[start:start + 512] = raw.mean(axis=1)
            self._std[start:start + 512] = raw.std(axis=1) + 1e-9
        self._batch: dict | None = None

    def _raw_affinity(self, users: np.ndarray, tracks: np.ndarray) -> np.ndarray:
        return -np.linalg.norm(self.features[tracks] - self.taste[users], axis=-1)

    def affinity(self, users, tracks) -> np.ndarray:
        """Standardised affinity of ``users`` for ``tracks`` (broadcast together)."""
        users, tracks = np.asarray(users), np.asarray(tracks)
        return (self._raw_affinity(users, tracks) - self._mean[users]) / self._std[users]

    def library(self, user: int, size: int, *, sharpness: float = 1.5) -> np.ndarray:
        """``size`` distinct tracks the listener likes: drawn without replacement with weights
        ``exp(sharpness * affinity) * (0.2 + popularity)`` (Gumbel top-k)."""
        scores = sharpness * self.affinity(np.full(len(self.features), user), np.arange(len(self.features)))
        scores += np.log(0.2 + self.popularity) + self.rng.gumbel(size=len(self.features))
        return np.argsort(-scores)[: int(size)]

    # -- a batch of sessions ---------------------------------------------------------------------
    def start(self, users: np.ndarray, contexts: np.ndarray) -> None:
        """Begin one session per entry of ``users`` with its context type; draws each session's mood."""
        users = np.asarray(users, dtype=np.int64)
        unknown = sorted(set(map(str, np.unique(contexts))) - set(self.params.context_effects))
        if unknown:
            raise ParameterError(f"context types {unknown} have no skip effect; known: "
                                 f"{sorted(self.params.context_effects)}")
        offset = (self.propensity[users] + self.rng.normal(0, self.params.mood_sd, size=len(users))
                  + np.array([self.params.context_effects[c] for c in contexts])
                  + self.params.premium_effect * self.premium[users])
        self._batch = {"users": users, "offset": offset, "position": 0,
                       "recent": np.zeros((len(users), 0), dtype=bool)}

    @property
    def session_offsets(self) -> np.ndarray:
        """The batch's per-session logit offsets (propensity, mood, context, premium)."""
        if self._batch is None:
            raise ParameterError("call start(users, contexts) first")
        return self._batch["offset"].copy()

    def skip_probability(self, users: np.ndarray, offsets: np.ndarray, tracks: np.ndarray,
                         history: np.ndarray, position: int) -> np.ndarray:
        """The skip rule: P(skip_2) of ``tracks`` at 0-based ``position`` after the skips ``history``
        (``(batch, k)`` bool, most recent last) for sessions with ``users`` and logit ``offsets``."""
        p = self.params
        recent = np.asarray(history, dtype=float)[:, -p.recent_window:] if np.shape(history)[1] else None
        recent_term = (recent.mean(axis=1) - 0.5) if recent is not None else np.zeros(len(tracks))
        logit = (offsets - p.taste_weight * self.affinity(users, tracks)
                 - p.popularity_weight * (self.popularity[tracks] - 0.5)
                 + p.recent_weight * recent_term
                 + p.position_weight * (position + 1 - 10.5))
        return 1.0 / (1.0 + np.exp(-logit))

    def respond(self, tracks: np.ndarray, active: np.ndarray | None = None) -> SessionFeedback:
        """Feedback of every session of the batch on its next track (``tracks[i]`` for session ``i``).

        Sessions where ``active`` is False (already over) get feedback too; callers ignore it.
        """
        if self._batch is None:
            raise ParameterError("call start(users, contexts) before respond(tracks)")
        p = self.params
        batch = self._batch
        tracks = np.asarray(tracks, dtype=np.int64)
        probability = self.skip_probability(batch["users"], batch["offset"], tracks, batch["recent"],
                                            batch["position"])
        draws = self.rng.random((3, len(tracks)))
        skip_2 = draws[0] < probability
        skip_1 = skip_2 & (draws[1] < p.p_skip_1)
        skip_3 = skip_2 | (draws[2] < p.p_late_skip)
        return SessionFeedback(skip_probability=probability, skip_1=skip_1, skip_2=skip_2, skip_3=skip_3,
                               not_skipped=~skip_3)

    def update(self, feedback: SessionFeedback) -> None:
        """Record the skips (``skip_2``) of the last tracks and move to the next position."""
        batch = self._batch
        batch["recent"] = np.concatenate([batch["recent"], feedback.skip_2[:, None]], axis=1)
        batch["position"] += 1
