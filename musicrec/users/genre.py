"""Simulated listeners for the genre recommender of the Q-learning slides.

Modelling assumptions
---------------------
* The listener's state is the genre now playing. A recommendation is liked with a probability
  ``like[now_playing, recommended]`` and, liked or not, the recommended genre starts playing.
* *generic*: one like probability for every pair; feedback carries no information about the genre
  (the slides' "generic user"). *profiled*: the probability depends on the recommended genre only (the
  slides' user profiles). *transition*: it depends on the (now playing, recommended) pair, so the state
  matters; the slides do not have this user.
* Each Bernoulli draw comes from the listener's own ``numpy.random.Generator``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from musicrec.errors import ParameterError, check_choice, check_probability
from musicrec.utils import CONFIG_DIR

GENRE_USERS_FILE = CONFIG_DIR / "genre_users.yml"
USER_KINDS = ("generic", "profiled", "transition")


@dataclass(frozen=True)
class GenreFeedback:
    """What the listener says about one recommendation."""

    liked: bool


class GenreListener:
    """A listener defined by its like-probability matrix.

    Parameters
    ----------
    genres : sequence of str
        Genre names; indices into it are the states and actions.
    like : np.ndarray [shape=(n_genres, n_genres)]
        ``like[now_playing, recommended]``, probabilities in [0, 1].
    name : str
        Label used in tables and plots.
    rng : np.random.Generator, optional
        Sampler of the like draws; environments pass their own ``np_random``.
    """

    def __init__(self, genres: Sequence[str], like: np.ndarray, *, name: str = "listener",
                 rng: np.random.Generator | None = None):
        like = np.asarray(like, dtype=float)
        n = len(genres)
        if like.shape != (n, n):
            raise ParameterError(f"like matrix of {name!r} has shape {like.shape}, expected {(n, n)}")
        bad = np.argwhere(~((like >= 0) & (like <= 1)))
        if len(bad):
            i, j = bad[0]
            raise ParameterError(
                f"like probability of {name!r} for {genres[i]}->{genres[j]} is {float(like[i, j])}, "
                "outside [0, 1]")
        self.genres = tuple(genres)
        self.like = like
        self.name = name
        self.rng = rng if rng is not None else np.random.default_rng()
        self.now_playing = 0

    def start(self, now_playing: int, *, rng: np.random.Generator | None = None) -> None:
        """Begin a session with ``now_playing`` (and optionally a new sampler)."""
        self.now_playing = int(now_playing)
        if rng is not None:
            self.rng = rng

    def respond(self, recommended: int) -> GenreFeedback:
        """Like or not, drawn with ``like[now_playing, recommended]``."""
        return GenreFeedback(liked=bool(self.rng.random() < self.like[self.now_playing, recommended]))

    def update(self, recommended: int, feedback: GenreFeedback) -> None:
        """The recommended genre starts playing, whatever the feedback."""
        self.now_playing = int(recommended)

    def expected_reward(self, like_reward: float, dislike_reward: float) -> np.ndarray:
        """Expected reward of every (now playing, recommended) pair, shape (n, n)."""
        return self.like * like_reward + (1.0 - self.like) * dislike_reward

    # -- construction from profiles -------------------------------------------------------------
    @classmethod
    def from_spec(cls, name: str, spec: Mapping, genres: Sequence[str], *,
                  rng: np.random.Generator | None = None) -> "GenreListener":
        """Build a listener from one entry of ``genre_users.yml`` (see the module docstring)."""
        if not isinstance(spec, Mapping):
            raise ParameterError(f"user profile {name!r} must be a mapping, got {spec!r}")
        kind = check_choice(f"kind of user profile {name!r}", spec.get("kind"), USER_KINDS)
        n = len(genres)
        if kind == "generic":
            p = check_probability(f"like_probability of {name!r}", spec.get("like_probability"))
            like = np.full((n, n), p)
        elif kind == "profiled":
            row = _probability_row(name, spec.get("like"), genres)
            like = np.tile(row, (n, 1))
        else:
            table = spec.get("like")
            if not isinstance(table, Mapping):
                raise ParameterError(f"user profile {name!r} needs like: {{now_playing: {{genre: p}}}}")
            _check_genre_keys(name, table, genres)
            like = np.stack([_probability_row(f"{name}[{g}]", table[g], genres) for g in genres])
        return cls(genres, like, name=name, rng=rng)


def _check_genre_keys(name: str, table: Mapping, genres: Sequence[str]) -> None:
    unknown = [key for key in table if key not in genres]
    if unknown:
        raise ParameterError(f"user profile {name!r} names unknown genre(s) {unknown}; genres are {list(genres)}")
    missing = [g for g in genres if g not in table]
    if missing:
        raise ParameterError(f"user profile {name!r} gives no probability for {missing}")


def _probability_row(name: str, row, genres: Sequence[str]) -> np.ndarray:
    if not isinstance(row, Mapping):
        raise ParameterError(f"user profile {name!r} needs like: {{genre: probability}}, got {row!r}")
    _check_genre_keys(name, row, genres)
    return np.array([check_probability(f"like probability of {name!r} for {g}", row[g]) for g in genres])


def load_user_profiles(path: str | Path | None = None) -> dict:
    """Read a genre-users YAML file (default: the compendium's ``genre_users.yml``)."""
    path = Path(path) if path is not None else GENRE_USERS_FILE
    if not path.exists():
        raise ParameterError(f"genre user profile file {path} does not exist")
    try:
        with path.open() as handle:
            table = yaml.safe_load(handle)
    except yaml.YAMLError as error:
        raise ParameterError(f"genre user profile file {path} is not valid YAML: {error}") from None
    if not isinstance(table, Mapping) or not isinstance(table.get("users"), Mapping):
        raise ParameterError(f"genre user profile file {path} needs a 'users:' mapping")
    return table


def make_listener(user: str | Mapping, *, genres: Sequence[str] | None = None,
                  profiles_path: str | Path | None = None,
                  rng: np.random.Generator | None = None) -> GenreListener:
    """A listener from a profile name in the profiles file, or from an inline spec mapping."""
    table = load_user_profiles(profiles_path)
    genres = list(genres) if genres is not None else list(table.get("genres") or [])
    check_genres(genres)
    if isinstance(user, Mapping):
        return GenreListener.from_spec(str(user.get("name", "custom")), user, genres, rng=rng)
    check_choice("user", user, list(table["users"]))
    return GenreListener.from_spec(user, table["users"][user], genres, rng=rng)


def check_genres(genres: Sequence[str]) -> list[str]:
    """A list of at least two distinct genre names."""
    if isinstance(genres, str) or len(genres) < 2:
        raise ParameterError(f"genres={genres!r} must list at least two genres")
    if len(set(genres)) != len(genres):
        raise ParameterError(f"genres={list(genres)!r} holds duplicates")
    return list(genres)
