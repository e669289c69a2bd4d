"""Simulated listeners with a hidden taste over a catalog's tracks (the Spotify RL project's user).

Modelling assumptions
---------------------
* A listener lives in a *track space*: one vector per track (the experiments use the normalised
  audio features that describe taste, see :data:`TASTE_FEATURES`; any array works, e.g. a VAE
  latent). Its taste is a *mood*, a point ``c`` of that space, and a tolerance ``sigma``; the affinity
  of track ``x`` is ``a(x) = exp(-||x - c||^2 / (2 sigma^2))`` in (0, 1]. The recommender never
  observes ``c``: it sees only tracks and feedback, so the problem is a POMDP.
* Per recommended track the listener returns the fraction listened and whether they liked it:
  ``listened ~ Beta(m kappa, (1 - m) kappa)`` with mean ``m = 0.02 + 0.96 a`` (tracks far from the
  taste are skipped early, near ones mostly played to the end; ``kappa`` sets the spread), and
  ``liked ~ Bernoulli(a ** like_power)`` (``like_power`` = 2: likes are rarer and more concentrated
  than listens), drawn independently given ``a``. The expected reward of a track for
  ``reward = listened + lambda * liked`` is therefore ``m(a) + lambda * a ** like_power``.
* One mood: the taste is the same in every session (hidden, but a policy can learn it).
  Several moods and a ``switch`` window ``(low, high)``: each session starts in a mood drawn
  uniformly and changes once, after a number of recommendations drawn uniformly from ``[low,
  high]``, to another mood (a mood change within a session; only the history of feedback reveals it).
* A session starts from a track the listener chose: drawn with probability proportional to their
  like probability in the starting mood (:meth:`TasteListener.start_weights`).
* Feedback does not depend on what was played before (no fatigue, no repeats: the environment never
  recommends a track twice in a session).
* Every draw comes from the listener's ``numpy.random.Generator``; environments pass their own
  ``np_random`` at the start of each session.

:class:`TableListener` is the simulator built from logged data: it returns fixed per-track values
(e.g. listened fraction and like rate propagated from a few observed tracks, :mod:`musicrec.offline`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from musicrec.errors import ParameterError, check_number

#: The audio features a taste is defined over (key, mode and liveness are left out: a listener's
#: taste is about how a track sounds, not its pitch class or whether it was recorded live).
TASTE_FEATURES = ("danceability", "energy", "loudness", "speechiness", "acousticness",
                  "instrumentalness", "valence", "tempo")


@dataclass(frozen=True)
class ListenFeedback:
    """What a listener reports about one track."""

    listened: float
    """Fraction of the track played, in [0, 1]."""
    liked: float
    """1.0 liked, 0.0 not (a :class:`TableListener` returns an estimated like probability)."""


def _space(space) -> np.ndarray:
    space = np.asarray(space, dtype=np.float64)
    if space.ndim != 2 or len(space) < 1:
        raise ParameterError(f"track space must be a 2-D array (tracks, dims), got shape {space.shape}")
    if not np.isfinite(space).all():
        raise ParameterError("track space holds NaN or infinite values")
    return space


class TasteListener:
    """A listener whose hidden taste is one or more moods in a track space.

    Parameters
    ----------
    space : np.ndarray [shape=(n_tracks, dims)]
        The listener's view of every track.
    moods : np.ndarray [shape=(n_moods, dims)]
        Taste centres.
    tolerance : float
        ``sigma`` of the affinity (> 0), in the units of ``space``.
    like_power : float
        Like probability is ``a ** like_power`` (>= 0).
    concentration : float
        ``kappa`` of the listened-fraction Beta distribution (> 0).
    switch : (int, int), optional
        Window of the mood change (needs at least two moods); ``None``: no change.
    rng : np.random.Generator, optional
        Sampler; environments pass their own at :meth:`start`.
    """

    def __init__(self, space, moods, *, tolerance: float = 0.2, like_power: float = 2.0,
                 concentration: float = 4.0, switch: Sequence[int] | None = None,
                 rng: np.random.Generator | None = None):
        space = _space(space)
        moods = np.atleast_2d(np.asarray(moods, dtype=np.float64))
        if moods.shape[1] != space.shape[1]:
            raise ParameterError(f"moods have {moods.shape[1]} dims but the track space has {space.shape[1]}")
        check_number("tolerance", tolerance, low=0, low_inclusive=False)
        check_number("like_power", like_power, low=0)
        check_number("concentration", concentration, low=0, low_inclusive=False)
        if switch is not None:
            if len(moods) < 2:
                raise ParameterError(f"switch={list(switch)} needs at least two moods, got {len(moods)}")
            if (len(switch) != 2 or any(isinstance(s, bool) or not float(s).is_integer() for s in switch)
                    or not 1 <= switch[0] <= switch[1]):
                raise ParameterError(f"switch={list(switch)} must be two integers 1 <= low <= high")
            switch = (int(switch[0]), int(switch[1]))
        self.n_tracks = len(space)
        self.moods = moods
        self.tolerance = float(tolerance)
        self.like_power = float(like_power)
        self.concentration = float(concentration)
        self.switch = switch
        self.rng = rng if rng is not None else np.random.default_rng()
        squared = ((space[None, :, :] - moods[:, None, :]) ** 2).sum(axis=2)
        #: Affinity of every track under every mood, shape (n_moods, n_tracks).
        self.affinity_table = np.exp(-squared / (2 * self.tolerance ** 2))
        self.mood = 0
        self.steps = 0
        self.switch_at: int | None = None

    @property
    def n_moods(self) -> int:
        return len(self.moods)

    def start(self, *, rng: np.random.Generator | None = None) -> None:
        """Begin a session: draw the starting mood and the step of the mood change."""
        if rng is not None:
            self.rng = rng
        self.steps = 0
        self.mood = int(self.rng.integers(self.n_moods)) if self.n_moods > 1 else 0
        self.switch_at = (int(self.rng.integers(self.switch[0], self.switch[1] + 1))
                          if self.switch is not None else None)

    def start_weights(self) -> np.ndarray:
        """Probabilities of the track a session starts from: the listener picks it, in proportion
        to their like probability in the starting mood (call after :meth:`start`)."""
        weights = self.affinity_table[self.mood] ** self.like_power
        return weights / weights.sum()

    def expected_feedback(self, tracks=None, *, mood: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Expected listened fraction and like probability of ``tracks`` (default all) in a mood."""
        affinity = self.affinity_table[self.mood if mood is None else mood]
        if tracks is not None:
            affinity = affinity[tracks]
        return 0.02 + 0.96 * affinity, affinity ** self.like_power

    def expected_reward(self, lam: float, tracks=None, *, mood: int | None = None) -> np.ndarray:
        """Expected ``listened + lam * liked`` of ``tracks`` (default all) in the current mood."""
        listened, liked = self.expected_feedback(tracks, mood=mood)
        return listened + lam * liked

    def mood_schedule(self, steps: int) -> np.ndarray:
        """The mood of each of the next ``steps`` responses of this session (call after :meth:`start`).

        This is the hidden state a planner may be told (:mod:`musicrec.agents.latent_planner`). With more
        than two moods the mood after the change is drawn at the change, so the schedule is not known
        beforehand: that raises.
        """
        check_number("steps", steps, low=0, integer=True)
        schedule = np.full(int(steps), self.mood, dtype=np.int64)
        if self.switch_at is not None and self.steps < self.switch_at:
            if self.n_moods > 2:
                raise ParameterError(f"with {self.n_moods} moods the mood after the change is drawn at the change")
            changed = np.arange(self.steps, self.steps + int(steps)) >= self.switch_at
            schedule[changed] = 1 - self.mood
        return schedule

    def respond(self, track: int) -> ListenFeedback:
        """Draw the listened fraction and the like for ``track``."""
        listened, like = self.expected_feedback(int(track))
        kappa = self.concentration
        fraction = float(self.rng.beta(listened * kappa, (1 - listened) * kappa))
        return ListenFeedback(listened=fraction, liked=float(self.rng.random() < like))

    def update(self, track: int, feedback: ListenFeedback) -> None:
        """Count the recommendation; change mood when the session reaches the switch step."""
        self.steps += 1
        if self.switch_at is not None and self.steps == self.switch_at:
            others = [m for m in range(self.n_moods) if m != self.mood]
            self.mood = int(others[int(self.rng.integers(len(others)))])


class TableListener:
    """A deterministic listener that returns fixed per-track values (a simulator built from logs).

    Parameters
    ----------
    listened, liked : np.ndarray [shape=(n_tracks,)]
        Listened fraction in [0, 1] and like value (or estimated like probability) in [0, 1].
    """

    n_moods = 1
    mood = 0

    def __init__(self, listened, liked):
        listened = np.asarray(listened, dtype=np.float64)
        liked = np.asarray(liked, dtype=np.float64)
        if listened.ndim != 1 or listened.shape != liked.shape:
            raise ParameterError(f"listened {listened.shape} and liked {liked.shape} must be vectors "
                                 "of one length")
        for name, values in (("listened", listened), ("liked", liked)):
            if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
                raise ParameterError(f"{name} values must lie in [0, 1]")
        self.listened, self.liked = listened, liked
        self.n_tracks = len(listened)

    def start(self, *, rng: np.random.Generator | None = None) -> None:
        """Nothing to draw: the table is the same in every session."""

    def expected_feedback(self, tracks=None, *, mood: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        if tracks is None:
            return self.listened, self.liked
        return self.listened[tracks], self.liked[tracks]

    def expected_reward(self, lam: float, tracks=None, *, mood: int | None = None) -> np.ndarray:
        listened, liked = self.expected_feedback(tracks)
        return listened + lam * liked

    def mood_schedule(self, steps: int) -> np.ndarray:
        """One mood, always: zeros ``(steps,)``."""
        return np.zeros(int(check_number("steps", steps, low=0, integer=True)), dtype=np.int64)

    def respond(self, track: int) -> ListenFeedback:
        return ListenFeedback(listened=float(self.listened[track]), liked=float(self.liked[track]))

    def update(self, track: int, feedback: ListenFeedback) -> None:
        """The table does not change."""


def pick_moods(space, n_moods: int, *, seed: int, min_distance: float = 0.0,
               max_distance: float | None = None) -> np.ndarray:
    """Indices of ``n_moods`` tracks whose vectors serve as mood centres (seeded).

    Centres are tracks, so each mood sits where the catalog has music. Each next centre is drawn
    among the tracks at least ``min_distance`` from the centres so far and, with ``max_distance``, at most
    that far from the nearest of them (so that a listener's moods are different but close enough for a
    session to move from one to the other).
    """
    space = _space(space)
    check_number("n_moods", n_moods, low=1, integer=True)
    check_number("min_distance", min_distance, low=0)
    if max_distance is not None:
        check_number("max_distance", max_distance, low=min_distance)
    rng = np.random.default_rng(seed)
    chosen = [int(rng.integers(len(space)))]
    while len(chosen) < n_moods:
        distance = np.linalg.norm(space[:, None, :] - space[chosen][None, :, :], axis=2).min(axis=1)
        allowed = distance >= min_distance
        if max_distance is not None:
            allowed &= distance <= max_distance
        allowed = np.flatnonzero(allowed)
        if len(allowed) == 0:
            limit = "" if max_distance is None else f" and at most max_distance={max_distance}"
            raise ParameterError(f"no track is at least min_distance={min_distance}{limit} from the moods so far")
        chosen.append(int(rng.choice(allowed)))
    return np.array(chosen)


def make_listener(space, spec: Mapping | None = None) -> TasteListener:
    """A :class:`TasteListener` from a plain mapping (what configs and env kwargs hold).

    Keys (all optional): ``moods`` (number of moods, default 1), ``taste_seed`` (picks the mood
    tracks, default 0), ``min_mood_distance`` (default 0), ``max_mood_distance`` (default none; see
    :func:`pick_moods`), ``tolerance``, ``like_power``, ``concentration`` and ``switch`` (see
    :class:`TasteListener`).
    """
    spec = dict(spec or {})
    known = {"moods", "taste_seed", "min_mood_distance", "max_mood_distance", "tolerance", "like_power",
             "concentration", "switch"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ParameterError(f"unknown listener key(s) {unknown}; known: {sorted(known)}")
    space = _space(space)
    tracks = pick_moods(space, spec.pop("moods", 1), seed=spec.pop("taste_seed", 0),
                        min_distance=spec.pop("min_mood_distance", 0.0),
                        max_distance=spec.pop("max_mood_distance", None))
    return TasteListener(space, space[tracks], **spec)
