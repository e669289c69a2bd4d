"""Which song a visited grid position plays: the thesis's rule and the two improvements it proposes.

* ``thesis``: the position's representative song (:class:`musicrec.system.song_grid.SongGrid`: a song
  of the cell nearest to its centre, or of the nearest occupied cells if it is empty). An agent that
  stays on a position plays the same song again and again: the thesis's complaint (section 6.2).
* ``distinct`` (improvement (a), section 6.2: "sample songs from an area close"): the first song of
  the position's ranking that has not been played in this episode, so a position the agent stays on
  plays its next-nearest songs in turn.
* ``rerank`` (improvement (b), section 7.3: "approximate matching in 4D ... then an exact matching in
  the original dimensions"): the ``k`` songs nearest to the position in the 4-D grid space are the
  candidates, and the one nearest in the **full feature space** to an *anchor* is played. The anchor
  is the song the listener has rated highest so far in the episode (the most recent one among ties),
  used only once that rating reaches ``anchor_rating`` ("once a target song is found"); before that
  the nearest candidate in 4-D is played, as in ``thesis``. The system thus reads the listener's
  ratings to choose songs, as a deployed recommender would; the agent still sees only the grid
  feedback it was trained on.
* ``distinct_rerank``: both, the candidates being the ``k`` nearest songs not yet played.

The start position plays its representative first (the thesis: "a song sampled from the starting
position is ... played"); it counts as played for ``distinct``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from musicrec.errors import ParameterError, check_choice, check_number
from musicrec.system.song_grid import SongGrid

PLAYBACKS = ("thesis", "distinct", "rerank", "distinct_rerank")
LABELS = {
    "thesis": "thesis: the cell's song",
    "distinct": "(a) distinct songs near the position",
    "rerank": "(b) 4-D match, full-space re-rank",
    "distinct_rerank": "(a) + (b)",
}


@dataclass(frozen=True)
class Playback:
    """A rule that turns the visited position into a played song (see the module docstring).

    Attributes
    ----------
    name : {"thesis", "distinct", "rerank", "distinct_rerank"}
    rerank_k : int
        Candidates re-ranked in the full space (``rerank`` rules only).
    anchor_rating : int
        Listener rating the anchor song needs before re-ranking starts (``rerank`` rules only).
    """

    name: str = "thesis"
    rerank_k: int = 10
    anchor_rating: int = 4

    def __post_init__(self):
        check_choice("playback", self.name, PLAYBACKS)
        check_number("rerank_k", self.rerank_k, low=1, integer=True)
        check_number("anchor_rating", self.anchor_rating, low=0, high=4, integer=True)

    @property
    def distinct(self) -> bool:
        return self.name in ("distinct", "distinct_rerank")

    @property
    def rerank(self) -> bool:
        return self.name in ("rerank", "distinct_rerank")

    @property
    def label(self) -> str:
        return LABELS[self.name] + (f", k = {self.rerank_k}" if self.rerank else "")


class BatchedPlayer:
    """Plays songs for ``n`` episodes at once, one :meth:`choose` per step.

    Parameters
    ----------
    playback : Playback
    grid : SongGrid
    start_songs : np.ndarray [shape=(n,)]
        The song each episode played first.
    start_ratings : np.ndarray [shape=(n,)]
        The listener's rating of that song (the first anchor candidate).
    full_distance : callable, optional
        ``full_distance(a, b) -> distances`` between song indices in the full feature space
        (the re-ranking rules need it).
    """

    def __init__(self, playback: Playback, grid: SongGrid, start_songs, start_ratings, *,
                 full_distance: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None):
        if playback.rerank and full_distance is None:
            raise ParameterError(f"playback={playback.name!r} needs full_distance for the re-ranking")
        self.playback, self.grid = playback, grid
        self.full_distance = full_distance
        start_songs = np.asarray(start_songs, dtype=np.int64).reshape(-1)
        self.n = len(start_songs)
        self.rows = np.arange(self.n)
        self.played = np.zeros((self.n, grid.n_songs), dtype=bool)
        self.played[self.rows, start_songs] = True
        self.n_played = 1
        self.anchor = start_songs.copy()
        self.anchor_rating = np.asarray(start_ratings, dtype=np.int64).reshape(-1).copy()
        if self.anchor_rating.shape != (self.n,):
            raise ParameterError(f"start_ratings has {self.anchor_rating.size} entries for {self.n} episodes")

    def choose(self, positions) -> np.ndarray:
        """The songs played at ``positions`` (flat cell indices, shape ``(n,)``)."""
        positions = np.asarray(positions, dtype=np.int64).reshape(-1)
        if positions.shape != (self.n,):
            raise ParameterError(f"positions has {positions.size} entries for {self.n} episodes")
        k = min(self.playback.rerank_k, self.grid.n_songs) if self.playback.rerank else 1
        if self.playback.distinct:
            depth = min(self.grid.n_songs, k + self.n_played)
            ranked = self.grid.nearest_songs(depth)[positions]               # (n, depth)
            fresh = ~self.played[self.rows[:, None], ranked]
            mask = fresh & (np.cumsum(fresh, axis=1) <= k)
            # every song played already (tiny corpora): fall back to the nearest ones
            mask[~mask.any(axis=1), :k] = True
        else:
            ranked = self.grid.nearest_songs(k)[positions]
            mask = np.ones(ranked.shape, dtype=bool)
        first = mask.argmax(axis=1)                                          # nearest in 4-D
        choice = first
        if self.playback.rerank:
            anchored = self.anchor_rating >= self.playback.anchor_rating
            if anchored.any():
                dist = self.full_distance(self.anchor[anchored, None], ranked[anchored])
                dist = np.where(mask[anchored], dist, np.inf)
                choice = first.copy()
                choice[anchored] = dist.argmin(axis=1)
        return ranked[self.rows, choice]

    def observe(self, songs, ratings) -> None:
        """Record the songs just played and the listener's ratings of them (for the anchor)."""
        songs = np.asarray(songs, dtype=np.int64).reshape(-1)
        ratings = np.asarray(ratings, dtype=np.int64).reshape(-1)
        self.played[self.rows, songs] = True
        self.n_played += 1
        better = ratings >= self.anchor_rating  # ties: the most recent song becomes the anchor
        self.anchor[better] = songs[better]
        self.anchor_rating[better] = ratings[better]
