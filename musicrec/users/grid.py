"""The simulated user of the feature grid (thesis section 4.2): a preferred combination of feature levels.

Modelling assumptions
---------------------
* Positions are all points of ``{0, ..., L-1}^d`` (``L`` levels per feature, ``d`` features); a position's
  flat index is ``numpy.ravel_multi_index`` in C order. The start position is the centre
  ``(L//2, ..., L//2)``.
* The user prefers one position, the *target*, drawn uniformly unless fixed. Distances are Manhattan.
* The rating of a position for a target bins its distance by percentiles of the distances ``D`` from the
  target to *all* positions: ``e = numpy.percentile(D, P)`` (numpy's default linear interpolation) with
  ``P = [0, 0.01, 15, 30, 50, 100]`` for **TopTarget** (``"top"``) and ``P = [0, 5, 15, 30, 50, 100]`` for
  **WiderTopTarget** (``"wider"``). Rating 4 if ``dist <= e[1]``, else 3 if ``dist <= e[2]``, else 2 if
  ``dist <= e[3]``, else 1 if ``dist <= e[4]``, else 0. The edges depend on where the target lies (a corner
  target sees a wider spread of distances than a central one), so the rating is a function of the pair
  (target, distance), tabulated once per grid in :attr:`GridGeometry.rating_by_distance`.
* Feedback after each step: the rating of the new position, and ``closer`` = the new position's distance
  to the target is strictly smaller than the previous position's. The user is deterministic: the same
  positions always get the same feedback; the only randomness is the target draw.
* Under TopTarget exactly one position (the target) has rating 4 as long as ``L**d <= 10000``: the 0.01th
  percentile sits below the nearest neighbour's distance 1 only while ``0.0001 * (L**d - 1) < 1``.
* **Noisy users** (beyond the thesis, whose conclusion asks for users that "rate differently, or include
  random feedback", §7.1): with ``rating_noise = p`` the reported rating is off by one with probability
  ``p`` (up or down with equal probability; from 0 or 4 towards the only neighbour), and with
  ``closer_noise = q`` the reported ``closer`` is flipped with probability ``q``, independently at every
  step (:func:`noisy_feedback`). The true rating is what the user feels; the reported one is all a
  recommender sees. With ``p = q = 0`` the user is the thesis's deterministic one.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from musicrec.errors import ParameterError, check_choice, check_number

#: Percentiles of the distance distribution that bound the ratings 4, 3, 2, 1 (and 0 beyond).
PERCENTILES = {
    "top": (0.0, 0.01, 15.0, 30.0, 50.0, 100.0),
    "wider": (0.0, 5.0, 15.0, 30.0, 50.0, 100.0),
}
TARGET_MODES = tuple(PERCENTILES)
#: Largest grid the tables are built for (positions); 5 levels in 9 features is 1,953,125.
MAX_POSITIONS = 2_000_000


@dataclass(frozen=True)
class GridFeedback:
    """What the user says about one position."""

    rating: int
    closer: bool


def check_noise(name: str, value) -> float:
    """A probability of noisy feedback in ``[0, 1)`` (1 would make the feedback meaningless)."""
    value = check_number(name, value, low=0.0)
    if value >= 1.0:
        raise ParameterError(f"{name}={value!r} must be below 1 (a probability of noisy feedback)")
    return float(value)


def noisy_feedback(ratings: np.ndarray, closer: np.ndarray, *, rng: np.random.Generator,
                   rating_noise: float = 0.0, closer_noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """What a noisy user reports, given the true ``ratings`` and ``closer`` (see the module docstring).

    Parameters
    ----------
    ratings : np.ndarray [shape=(n,), integer 0-4]
        True ratings.
    closer : np.ndarray [shape=(n,), bool]
        True ``closer`` answers.
    rng : np.random.Generator
        Draws the noise (two uniform draws per answer when both noises are on).
    rating_noise, closer_noise : float
        Probabilities ``p`` (rating off by one) and ``q`` (``closer`` flipped).

    Returns
    -------
    reported_ratings : np.ndarray [shape=(n,), same dtype as ``ratings``]
    reported_closer : np.ndarray [shape=(n,), bool]
    """
    ratings = np.asarray(ratings)
    closer = np.asarray(closer, dtype=bool)
    if rating_noise > 0:
        u = rng.random(ratings.shape)
        off = u < rating_noise
        # u / p is uniform on [0, 1) given off: its halves choose down or up.
        step = np.where(u < rating_noise / 2, -1, 1)
        step = np.where(ratings == 0, 1, np.where(ratings == 4, -1, step))
        ratings = np.where(off, ratings + step, ratings).astype(ratings.dtype, copy=False)
    if closer_noise > 0:
        closer = closer ^ (rng.random(closer.shape) < closer_noise)
    return ratings, closer


def report_likelihood(*, rating_noise: float) -> np.ndarray:
    """``table[true, reported]``: probability that a user with ``rating_noise`` reports each rating.

    Shape ``(5, 5)``; rows sum to 1. Used by Bayes filters that know the noise model.
    """
    table = np.eye(5) * (1.0 - rating_noise)
    for true in range(5):
        neighbours = [r for r in (true - 1, true + 1) if 0 <= r <= 4]
        for r in neighbours:
            table[true, r] += rating_noise / len(neighbours)
    return table


def check_grid(dims, levels) -> tuple[int, int]:
    """Validate the grid size: ``dims >= 1`` features with ``levels >= 2`` levels each."""
    check_number("dims", dims, low=1, integer=True)
    check_number("levels", levels, low=2, integer=True)
    dims, levels = int(dims), int(levels)
    if dims * np.log(levels) > np.log(MAX_POSITIONS) + 1e-9 and levels**dims > MAX_POSITIONS:
        raise ParameterError(
            f"dims={dims}, levels={levels} gives more than {MAX_POSITIONS} positions (levels**dims)")
    return dims, levels


class GridGeometry:
    """Everything about a grid that does not depend on the target draw, computed once.

    Parameters
    ----------
    dims : int
        Number of features ``d >= 1``.
    levels : int
        Levels per feature ``L >= 2``.
    target : {"top", "wider"}
        The rating rule (TopTarget or WiderTopTarget).

    Attributes
    ----------
    n_positions : int
        ``L**d``.
    coords : np.ndarray [shape=(n_positions, dims), dtype=int16]
        Coordinates of every flat index.
    start : int
        Flat index of the centre.
    max_distance : int
        ``d * (L - 1)``.
    edges : np.ndarray [shape=(n_positions, 6)]
        Percentile edges ``e`` of every target.
    rating_by_distance : np.ndarray [shape=(n_positions, max_distance + 1), dtype=int8]
        ``rating_by_distance[target, dist]``.
    """

    def __init__(self, dims: int = 2, levels: int = 5, target: str = "wider"):
        self.dims, self.levels = check_grid(dims, levels)
        self.target_mode = check_choice("target", target, TARGET_MODES)
        self.shape = (self.levels,) * self.dims
        self.n_positions = self.levels**self.dims
        grids = np.indices(self.shape, dtype=np.int16).reshape(self.dims, -1)
        self.coords = np.ascontiguousarray(grids.T)
        self.start = int(np.ravel_multi_index((self.levels // 2,) * self.dims, self.shape))
        self.max_distance = self.dims * (self.levels - 1)
        self.edges, self.rating_by_distance = self._rating_tables()
        self.rating_by_distance.flags.writeable = False
        self.coords.flags.writeable = False

    def __repr__(self) -> str:
        return f"GridGeometry(dims={self.dims}, levels={self.levels}, target={self.target_mode!r})"

    def _rating_tables(self) -> tuple[np.ndarray, np.ndarray]:
        # The distance multiset from a target depends only on the sorted folded coordinates
        # min(c, L-1-c): reflections and permutations of features map the grid onto itself. So
        # np.percentile runs once per class of targets, on that class's true distance array.
        folded = np.minimum(self.coords, self.levels - 1 - self.coords)
        classes, inverse = np.unique(np.sort(folded, axis=1), axis=0, return_inverse=True)
        percentiles = np.asarray(PERCENTILES[self.target_mode])
        distances = np.arange(self.max_distance + 1)
        class_edges = np.empty((len(classes), len(percentiles)))
        class_ratings = np.empty((len(classes), len(distances)), dtype=np.int8)
        for i, representative in enumerate(classes):
            dist = np.abs(self.coords - representative).sum(axis=1)
            edges = np.percentile(dist, percentiles)
            class_edges[i] = edges
            # The edges are non-decreasing, so the rating is the number of edges e[1..4] at or above dist.
            class_ratings[i] = (distances[:, None] <= edges[None, 1:5]).sum(axis=1)
        inverse = inverse.reshape(-1)
        return class_edges[inverse], class_ratings[inverse]

    # -- positions ----------------------------------------------------------------------------
    def flat_index(self, position, *, name: str = "position") -> int:
        """Flat index of ``position`` given as a flat index or as ``dims`` coordinates; validated."""
        if isinstance(position, (bool, np.bool_)):
            raise ParameterError(f"{name}={position!r} is not a position")
        if isinstance(position, (int, np.integer)):
            if not 0 <= position < self.n_positions:
                raise ParameterError(
                    f"{name}={position!r} is outside the grid (flat indices 0..{self.n_positions - 1})")
            return int(position)
        try:
            coords = np.asarray(position)
        except Exception:  # noqa: BLE001  (anything that is not array-like)
            raise ParameterError(f"{name}={position!r} is not a position") from None
        if coords.shape != (self.dims,) or not np.issubdtype(coords.dtype, np.integer):
            raise ParameterError(
                f"{name}={position!r} must be a flat index or {self.dims} integer coordinates")
        if coords.min() < 0 or coords.max() >= self.levels:
            raise ParameterError(
                f"{name}={position!r} is outside the grid (levels 0..{self.levels - 1})")
        return int(np.ravel_multi_index(tuple(coords), self.shape))

    def distance(self, a, b) -> np.ndarray:
        """Manhattan distance between flat indices ``a`` and ``b`` (broadcast)."""
        return np.abs(self.coords[a].astype(np.int32) - self.coords[b]).sum(axis=-1)

    def ratings(self, target: int, positions=None) -> np.ndarray:
        """Ratings of ``positions`` (default all, shape ``(n_positions,)``) for ``target``."""
        positions = np.arange(self.n_positions) if positions is None else np.asarray(positions)
        return self.rating_by_distance[target, self.distance(positions, target)]

    def rating_table(self) -> np.ndarray:
        """``table[target, position]`` of ratings, shape ``(n_positions, n_positions)``, int8."""
        all_positions = np.arange(self.n_positions)
        dist = np.abs(self.coords[:, None, :].astype(np.int16) - self.coords[None, :, :]).sum(axis=-1)
        return self.rating_by_distance[all_positions[:, None], dist]

    def top_positions(self, target: int) -> np.ndarray:
        """Flat indices with rating 4 for ``target``."""
        return np.flatnonzero(self.ratings(target) == 4)


@functools.lru_cache(maxsize=32)
def grid_geometry(dims: int = 2, levels: int = 5, target: str = "wider") -> GridGeometry:
    """A shared, read-only :class:`GridGeometry` (tables are built once per grid and target mode)."""
    return GridGeometry(dims, levels, target)


class GridUser:
    """A deterministic user who prefers one position of the grid.

    Parameters
    ----------
    geometry : GridGeometry
        The grid and the rating rule.
    rng : np.random.Generator, optional
        Draws the target at :meth:`start`; environments pass their own ``np_random``.

    >>> user = GridUser(grid_geometry(2, 5, "top"), rng=np.random.default_rng(0))
    >>> user.start(target=(0, 0)).rating, user.respond(0).rating
    (1, 4)
    """

    def __init__(self, geometry: GridGeometry, *, rng: np.random.Generator | None = None,
                 rating_noise: float = 0.0, closer_noise: float = 0.0):
        self.geometry = geometry
        self.rating_noise = check_noise("rating_noise", rating_noise)
        self.closer_noise = check_noise("closer_noise", closer_noise)
        self.rng = rng if rng is not None else np.random.default_rng()
        self.target = 0
        self.position = geometry.start
        self._distance = 0
        self._ratings = geometry.rating_by_distance[0]
        self._distances: list[int] = []
        self._position_ratings: list[int] = []

    def start(self, target: int | Sequence[int] | None = None, *,
              rng: np.random.Generator | None = None) -> GridFeedback:
        """Begin an episode at the start position; return its feedback (``closer`` is False).

        ``target`` is a flat index or coordinates; ``None`` draws it uniformly from the user's sampler.
        """
        if rng is not None:
            self.rng = rng
        if target is None:
            self.target = int(self.rng.integers(self.geometry.n_positions))
        else:
            self.target = self.geometry.flat_index(target, name="target")
        self._ratings = self.geometry.rating_by_distance[self.target]
        # distances and ratings of every position for this target, as plain lists (fast lookups)
        distances = self.geometry.distance(np.arange(self.geometry.n_positions), self.target)
        self._distances = distances.tolist()
        self._position_ratings = self._ratings[distances].tolist()
        self.position = self.geometry.start
        self._distance = self._distances[self.position]
        return self._report(self._position_ratings[self.position], False, noisy_closer=False)

    def respond(self, position: int) -> GridFeedback:
        """Rating of ``position`` and whether it is strictly closer to the target than the last one.

        A noisy user reports them through :func:`noisy_feedback`; :meth:`true_rating` is what it feels.
        """
        return self._report(self._position_ratings[position], self._distances[position] < self._distance)

    def true_rating(self, position: int) -> int:
        """The rating the user would give without noise."""
        return self._position_ratings[position]

    def _report(self, rating: int, closer: bool, *, noisy_closer: bool = True) -> GridFeedback:
        if self.rating_noise == 0 and (self.closer_noise == 0 or not noisy_closer):
            return GridFeedback(rating=rating, closer=closer)
        ratings, closers = noisy_feedback(np.array([rating]), np.array([closer]), rng=self.rng,
                                          rating_noise=self.rating_noise,
                                          closer_noise=self.closer_noise if noisy_closer else 0.0)
        return GridFeedback(rating=int(ratings[0]), closer=bool(closers[0]))

    def update(self, position: int, feedback: GridFeedback) -> None:
        """``position`` becomes the previous position for the next ``closer``."""
        self.position = int(position)
        self._distance = self._distances[self.position]


def top_share(dims: int = 2, levels: int = 5, target: str = "wider") -> tuple[float, float, float]:
    """Share of the positions a user rates 4, over all targets: ``(min, mean, max)``.

    WiderTopTarget's 5th percentile of the distances ties with many positions on small grids, so the
    share is well above 5% (e.g. 12-20% on the 5 x 5 grid); TopTarget's is one position.
    """
    geometry = grid_geometry(dims, levels, target)
    shares = (geometry.rating_table() == 4).mean(axis=1)
    return float(shares.min()), float(shares.mean()), float(shares.max())
