"""The Spotify RL project's recommender: pick the next track in a VAE latent space.

Modelling assumptions
---------------------
Every track of a catalog has a latent vector in [0, 1]^d (a VAE's rescaled posterior mean,
:mod:`musicrec.features.vae`; without one, a seeded uniform point cloud). A session starts from a
track the listener chose (``start="listener"``: drawn from the listener's ``start_weights()``, e.g. in
proportion to their like probability; ``start="uniform"``: any track); the agent then recommends
``session_length`` tracks, never one already played in the session. Two action spaces:

* ``actions="knn"`` (the documents' design): ``Discrete(k)`` over the ``k`` nearest unplayed
  neighbours of the current track in the latent space (Euclidean), nearest first;
* ``actions="continuous"``: a point of ``[0, 1]^d``, mapped to the nearest unplayed track.

A simulated listener (:mod:`musicrec.users.listener`) with a hidden taste responds with the fraction
listened and a like. The reward (``reward=``) is one of

* ``"listened_liked"`` (the README's formula and the default): ``listened + lam * liked``;
* ``"liked_or_completed"`` (the README's other definition): 1 when the listener liked the track or played
  it to the end (``listened >= completed_at``), else 0;
* ``"skip_penalty"`` (the blog post's negative reward for a skip "especially if they skip it
  immediately"): ``listened + lam * liked - skip_penalty`` when ``listened < immediate_skip_at``.

Whatever the reward, ``info["expected_reward"]`` is the expected ``listened + lam * liked`` of the
recommended track under the listener's current mood (what the study compares every policy by). The
recommended track becomes the current one whatever the feedback (the listener keeps listening to the
recommendations). The observation is the current track's latent and the last feedback ``(listened,
liked)`` (zeros before the first recommendation; ``observe_feedback=False`` leaves it out,
``observe_listened=False`` keeps only the like, a noisier signal of the hidden taste); with
``actions="knn"`` it also holds the ``k`` candidates' latents, in slot order (the documents' policy sees
only the current latent, which leaves the slot numbers without meaning; ``observe_candidates=False``
gives that variant); ``history=h`` appends the latents and feedback of the ``h`` previous tracks (a frame
stack, zeros before the session had them); ``observe_mood=True`` appends the listener's current mood, one-hot
(privileged information no recommender has: it measures what knowing the hidden mood is worth). Episodes
never terminate; they are truncated after ``session_length`` recommendations.

>>> import gymnasium, musicrec.envs
>>> env = gymnasium.make("musicrec/LatentRecommender-v0", actions="knn", k=4)
>>> env.observation_space.shape
(22,)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from musicrec.errors import ParameterError, check_choice, check_number
from musicrec.users.listener import ListenFeedback, make_listener

ACTION_SPACES = ("knn", "continuous")
REWARDS = ("listened_liked", "liked_or_completed", "skip_penalty")


def _load_latents(latents, n_tracks: int, latent_dim: int, space_seed: int) -> np.ndarray:
    if latents is None:
        check_number("n_tracks", n_tracks, low=2, integer=True)
        check_number("latent_dim", latent_dim, low=1, integer=True)
        return np.random.default_rng(space_seed).random((int(n_tracks), int(latent_dim))).astype(np.float32)
    if isinstance(latents, (str, os.PathLike)):
        if not os.path.isfile(latents):
            raise ParameterError(f"latents file {latents} does not exist")
        latents = np.load(latents)
    latents = np.asarray(latents, dtype=np.float32)
    if latents.ndim != 2 or latents.shape[1] < 1:
        raise ParameterError(f"latents must have shape (n_tracks, latent_dim >= 1), got {latents.shape}")
    if not np.isfinite(latents).all() or latents.min() < 0 or latents.max() > 1:
        raise ParameterError("latents must be finite and lie in [0, 1] (rescaled VAE means)")
    return latents


def nearest_neighbours(latents: np.ndarray, n_neighbours: int) -> np.ndarray:
    """Indices of the ``n_neighbours`` nearest tracks of every track (itself included), nearest first.

    Returns np.ndarray [shape=(n_tracks, n_neighbours), dtype=int64]; one scikit-learn query for all.
    """
    from sklearn.neighbors import NearestNeighbors

    n_neighbours = min(int(n_neighbours), len(latents))
    index = NearestNeighbors(n_neighbors=n_neighbours).fit(latents)
    return index.kneighbors(latents, return_distance=False).astype(np.int64)


def neighbour_genre_purity(points: np.ndarray, genres: np.ndarray, *, k: int = 4) -> float:
    """Share of each track's ``k`` nearest neighbours in ``points`` [shape=(n_tracks, d)] that have its genre
    (``genres`` [shape=(n_tracks,)]): how well a space's neighbour lists keep to a genre."""
    neighbours = nearest_neighbours(np.asarray(points, dtype=np.float32), k + 1)[:, 1:]
    return float((genres[neighbours] == genres[:, None]).mean())


def neighbour_taste_distance(points: np.ndarray, taste: np.ndarray, *, k: int = 4) -> float:
    """Mean distance in ``taste`` [shape=(n_tracks, m)] (the listeners' space) from each track to its ``k``
    nearest neighbours in ``points`` [shape=(n_tracks, d)]."""
    neighbours = nearest_neighbours(np.asarray(points, dtype=np.float32), k + 1)[:, 1:]
    return float(np.linalg.norm(taste[neighbours] - taste[:, None, :], axis=2).mean())


def neighbours_needed(k: int, session_length: int) -> int:
    """Neighbour-list length that always holds ``k`` unplayed tracks: the track, the session's
    ``session_length`` other tracks at most, and ``k`` more."""
    return int(k) + int(session_length) + 1


class LatentRecommenderEnv(gymnasium.Env):
    """Recommend one track after another in a latent space to a listener with a hidden taste.

    Parameters
    ----------
    latents : np.ndarray [shape=(n_tracks, d)] or path to ``.npy``, optional
        Track latents in [0, 1]; default a uniform cloud of ``n_tracks`` points in ``[0, 1]^latent_dim``
        drawn with ``space_seed``.
    listener : mapping or listener object, optional
        A :func:`musicrec.users.listener.make_listener` spec (built on ``listener_space``), or an
        object with ``start``, ``respond``, ``update`` and ``expected_reward`` (e.g. a
        :class:`~musicrec.users.listener.TableListener`).
    listener_space : np.ndarray [shape=(n_tracks, m)], optional
        The listener's view of the tracks (default: the latents).
    actions : {"knn", "continuous"}
        The action space (module docstring).
    k : int
        Candidates per step with ``actions="knn"`` (>= 1; at most ``n_tracks - session_length - 1``).
    session_length : int
        Recommendations per episode.
    lam : float
        Weight of a like in the reward (>= 0).
    history : int
        Previous tracks (latent and feedback) stacked into the observation.
    start : {"listener", "uniform"} or np.ndarray [shape=(n_tracks,)]
        How the first track is drawn: the listener's ``start_weights()`` (uniform if it has none),
        uniformly, or with the given weights.
    observe_candidates : bool
        Put the candidates' latents into the observation (``actions="knn"`` only).
    observe_feedback : bool
        Put the last feedback ``(listened, liked)`` into the observation.
    observe_listened : bool
        With ``observe_feedback``, observe the listened fraction too (False: the like alone, also in the
        stacked ``history``; the reward still counts what was listened).
    observe_mood : bool
        Append the listener's current mood, one-hot over its ``n_moods`` (privileged information).
    reward : {"listened_liked", "liked_or_completed", "skip_penalty"}
        The reward (module docstring).
    completed_at, immediate_skip_at, skip_penalty : float
        A track counts as completed from this listened fraction on; a skip as immediate below this one;
        the penalty of an immediate skip.
    neighbours : np.ndarray, optional
        Precomputed :func:`nearest_neighbours` of the latents (shared by copies of the env).
    n_tracks, latent_dim, space_seed : int
        The default point cloud.
    render_mode : None
        Gymnasium's argument; nothing is rendered.
    """

    metadata = {"render_modes": []}

    def __init__(self, latents=None, *, listener: Mapping | Any | None = None, listener_space=None,
                 actions: str = "knn", k: int = 4, session_length: int = 20, lam: float = 10.0,
                 history: int = 0, start="listener", observe_candidates: bool = True,
                 observe_feedback: bool = True, observe_listened: bool = True, observe_mood: bool = False,
                 reward: str = "listened_liked",
                 completed_at: float = 0.9,
                 immediate_skip_at: float = 0.1, skip_penalty: float = 1.0, neighbours=None,
                 n_tracks: int = 2000, latent_dim: int = 4, space_seed: int = 0,
                 render_mode: str | None = None):
        if render_mode is not None:
            raise ParameterError(f"render_mode={render_mode!r}: LatentRecommenderEnv does not render")
        self.render_mode = render_mode
        self.actions = check_choice("actions", actions, ACTION_SPACES)
        check_number("session_length", session_length, low=1, integer=True)
        check_number("lam", lam, low=0)
        check_number("k", k, low=1, integer=True)
        check_number("history", history, low=0, integer=True)
        self.latents = _load_latents(latents, n_tracks, latent_dim, space_seed)
        self.n_tracks, self.latent_dim = self.latents.shape
        if self.n_tracks < session_length + 1:
            raise ParameterError(f"session_length={session_length} needs at least {session_length + 1} "
                                 f"tracks; the catalog has {self.n_tracks}")
        if actions == "knn" and k > self.n_tracks - session_length - 1:
            raise ParameterError(f"k={k} is larger than the catalog allows: at most "
                                 f"{self.n_tracks - session_length - 1} unplayed neighbours are always "
                                 f"available with {self.n_tracks} tracks and session_length={session_length}")
        self.k, self.session_length, self.lam = int(k), int(session_length), float(lam)
        self.history = int(history)
        self.observe_candidates = bool(observe_candidates) and actions == "knn"
        self.observe_feedback = bool(observe_feedback)
        self.observe_listened = bool(observe_listened)
        #: observed feedback values per track: (listened, liked), or (liked,) when the listened fraction is hidden
        self.feedback_size = 2 if self.observe_listened else 1
        self.observe_mood = bool(observe_mood)
        self.reward = check_choice("reward", reward, REWARDS)
        self.completed_at = float(check_number("completed_at", completed_at, low=0, high=1))
        self.immediate_skip_at = float(check_number("immediate_skip_at", immediate_skip_at, low=0, high=1))
        self.skip_penalty = float(check_number("skip_penalty", skip_penalty, low=0))
        if isinstance(start, str):
            self.start = check_choice("start", start, ("listener", "uniform"))
        else:
            weights = np.asarray(start, dtype=np.float64)
            if weights.shape != (self.n_tracks,) or not np.isfinite(weights).all() or weights.min() < 0 \
                    or weights.sum() <= 0:
                raise ParameterError(f"start weights must be {self.n_tracks} non-negative numbers with a "
                                     "positive sum")
            self.start = weights / weights.sum()

        if listener is None or isinstance(listener, Mapping):
            space = self.latents if listener_space is None else listener_space
            if len(space) != self.n_tracks:
                raise ParameterError(f"listener_space has {len(space)} tracks, latents {self.n_tracks}")
            self.listener = make_listener(space, listener)
        else:
            missing = [m for m in ("start", "respond", "update", "expected_reward") if not hasattr(listener, m)]
            if missing:
                raise ParameterError(f"listener {listener!r} lacks {missing}")
            if getattr(listener, "n_tracks", self.n_tracks) != self.n_tracks:
                raise ParameterError(f"listener has {listener.n_tracks} tracks, latents {self.n_tracks}")
            self.listener = listener
        self.n_moods = int(getattr(self.listener, "n_moods", 1))
        if self.observe_mood and not hasattr(self.listener, "mood"):
            raise ParameterError(f"observe_mood=True needs a listener with a mood; {self.listener!r} has none")

        if actions == "knn":
            needed = min(neighbours_needed(self.k, self.session_length), self.n_tracks)
            if neighbours is None:
                neighbours = nearest_neighbours(self.latents, needed)
            neighbours = np.asarray(neighbours)
            if neighbours.shape[0] != self.n_tracks or neighbours.shape[1] < needed:
                raise ParameterError(f"neighbours must have shape ({self.n_tracks}, >= {needed}), "
                                     f"got {neighbours.shape}")
            self.neighbours = neighbours
            self.action_space = spaces.Discrete(self.k)
        else:
            self.neighbours = None
            self.action_space = spaces.Box(0.0, 1.0, shape=(self.latent_dim,), dtype=np.float32)
        d = self.latent_dim
        f = self.feedback_size
        size = d + (f if self.observe_feedback else 0) + (self.k * d if self.observe_candidates else 0) \
            + self.history * (d + f) + (self.n_moods if self.observe_mood else 0)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(size,), dtype=np.float32)

        self.played = np.zeros(self.n_tracks, dtype=bool)
        self.current = 0
        self.steps = 0
        self.last_feedback = (0.0, 0.0)
        self.last_liked_track: int | None = None
        self.candidates = np.zeros(self.k, dtype=np.int64)
        self._past: list[np.ndarray] = []

    # -- gymnasium API ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.listener.start(rng=self.np_random)
        start = (options or {}).get("start")
        if start is None:
            start = self._draw_start()
        elif (isinstance(start, bool) or not isinstance(start, (int, np.integer))
              or not 0 <= start < self.n_tracks):
            raise ParameterError(f"start={start!r} is not a track index in [0, {self.n_tracks})")
        self.played[:] = False
        self.played[start] = True
        self.current = int(start)
        self.steps = 0
        self.last_feedback = (0.0, 0.0)
        self.last_liked_track = None
        self._past = [np.zeros(self.latent_dim + self.feedback_size, dtype=np.float32)] * self.history
        self._update_candidates()
        return self._observation(), {"track": self.current, "mood": self.listener.mood}

    def step(self, action):
        track = self.track_for_action(action)
        expected = float(self.listener.expected_reward(self.lam, track))
        feedback: ListenFeedback = self.listener.respond(track)
        self.listener.update(track, feedback)
        reward = self.reward_of(feedback)
        if self.history:
            self._past = [np.concatenate([self.latents[self.current], self._observed_feedback()]).astype(np.float32),
                          *self._past[:-1]]
        self.played[track] = True
        self.current = track
        self.last_feedback = (feedback.listened, feedback.liked)
        if feedback.liked >= 0.5:
            self.last_liked_track = track
        self.steps += 1
        truncated = self.steps >= self.session_length
        self._update_candidates()
        info = {"track": track, "listened": feedback.listened, "liked": feedback.liked,
                "mood": self.listener.mood, "expected_reward": expected}
        return self._observation(), float(reward), False, truncated, info

    # -- what policies and baselines use ---------------------------------------------------------
    def reward_of(self, feedback: ListenFeedback) -> float:
        """The reward of one feedback under the env's ``reward`` (module docstring)."""
        if self.reward == "liked_or_completed":
            return float(feedback.liked >= 0.5 or feedback.listened >= self.completed_at)
        value = feedback.listened + self.lam * feedback.liked
        if self.reward == "skip_penalty" and feedback.listened < self.immediate_skip_at:
            value -= self.skip_penalty
        return float(value)

    def track_for_action(self, action) -> int:
        """The track an action recommends (checks the action)."""
        if self.actions == "knn":
            if not self.action_space.contains(action) and not (
                    isinstance(action, (int, np.integer)) and 0 <= action < self.k):
                raise ParameterError(f"action={action!r} is not a candidate slot in [0, {self.k})")
            return int(self.candidates[int(action)])
        point = np.asarray(action, dtype=np.float32).reshape(-1)
        if point.shape != (self.latent_dim,) or not np.isfinite(point).all():
            raise ParameterError(f"action={action!r} must be a finite point of [0, 1]^{self.latent_dim}")
        return self.nearest_unplayed(np.clip(point, 0.0, 1.0))

    def nearest_unplayed(self, point: np.ndarray) -> int:
        """The unplayed track whose latent is nearest to ``point`` (Euclidean)."""
        distance = ((self.latents - point) ** 2).sum(axis=1)
        distance[self.played] = np.inf
        return int(np.argmin(distance))

    def expected_rewards(self, tracks=None) -> np.ndarray:
        """The listener's true expected reward of ``tracks`` (default all) now: what an oracle knows."""
        return self.listener.expected_reward(self.lam, tracks)

    def _draw_start(self) -> int:
        if isinstance(self.start, np.ndarray):
            weights = self.start
        elif self.start == "listener" and hasattr(self.listener, "start_weights"):
            weights = self.listener.start_weights()
        else:
            return int(self.np_random.integers(self.n_tracks))
        return int(min(np.searchsorted(np.cumsum(weights), self.np_random.random() * weights.sum(),
                                       side="right"), self.n_tracks - 1))

    def _update_candidates(self) -> None:
        if self.actions != "knn":
            return
        row = self.neighbours[self.current]
        self.candidates = row[~self.played[row]][: self.k]

    def _observed_feedback(self) -> np.ndarray:
        listened, liked = self.last_feedback
        return np.asarray((listened, liked) if self.observe_listened else (liked,), dtype=np.float32)

    def _observation(self) -> np.ndarray:
        parts = [self.latents[self.current]]
        if self.observe_feedback:
            parts.append(self._observed_feedback())
        if self.observe_candidates:
            parts.append(self.latents[self.candidates].reshape(-1))
        parts.extend(self._past)
        if self.observe_mood:
            parts.append(np.eye(self.n_moods, dtype=np.float32)[self.listener.mood])
        return np.concatenate(parts).astype(np.float32)
