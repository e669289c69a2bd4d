"""Songs on the feature grid (thesis section 6, figure 32): quantile levels, cells and the empty-cell rule.

Rules
-----
* **Levels**: each of the ``d`` features (the PCA coordinates of the songs) is cut into ``L`` levels at
  its empirical quantiles ``e_k = quantile(x, k / L)``, ``k = 1 .. L-1`` (numpy's default linear
  interpolation), so each level holds about ``n / L`` songs per feature. A value ``x`` gets level
  ``#{k : e_k <= x}`` (a value on an edge goes to the upper level). New points are quantised with the
  same edges (:meth:`SongGrid.levels_of`).
* **Cells**: a song's cell is the grid position of its ``d`` levels, as a flat index in C order (the
  environment's ``numpy.ravel_multi_index``), so a target song defines the target position of the
  grid environment. Several songs may share a cell, and many cells hold no song.
* **Cell centre**: the point whose feature ``j`` is the middle quantile of its level,
  ``quantile(x_j, (level_j + 0.5) / L)``.
* **The song a position plays** (the thesis: "if the position ... does not map to any songs, a song from
  the closest distance is sampled"): the songs are ranked for each cell by (1) the Manhattan distance
  between their levels and the cell's levels (the grid's own distance), then (2) the Euclidean
  distance of their features to the cell centre, then (3) their index. The first song is the cell's
  *representative*: for an occupied cell, its song nearest to the centre; for an empty cell, the
  song of the nearest occupied cells (in grid steps) nearest to the centre. The ranking is
  deterministic (the thesis sampled at random; a deterministic rule makes the evaluation exactly
  repeatable), and :mod:`musicrec.system.playback` reads further down it.
* A corpus with fewer songs than cells (``n < L**d``) is refused: most of the grid would map to songs
  of other cells, and the grid would not index the corpus. The thesis had 1,000 songs for 625 cells.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from musicrec.errors import ParameterError, check_number
from musicrec.users.grid import check_grid

#: Cells ranked per chunk when the ranking is built (bounds the memory of the distance tables).
RANK_CHUNK = 256


def quantile_edges(values: np.ndarray, levels: int) -> np.ndarray:
    """Interior quantile edges of each feature.

    Parameters
    ----------
    values : np.ndarray [shape=(n, d)]
        One row per song.
    levels : int
        ``L >= 2`` levels per feature.

    Returns
    -------
    np.ndarray [shape=(d, L - 1)]
        ``edges[j, k - 1] = quantile(values[:, j], k / L)``.

    >>> quantile_edges(np.arange(10.0)[:, None], 5)
    array([[1.8, 3.6, 5.4, 7.2]])
    """
    values = np.asarray(values, dtype=np.float64)
    check_number("levels", levels, low=2, integer=True)
    probabilities = np.arange(1, int(levels)) / int(levels)
    return np.quantile(values, probabilities, axis=0).T


def _features(values, name: str) -> np.ndarray:
    try:
        values = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a numeric array (songs, features)") from None
    if values.ndim != 2 or values.shape[0] < 1 or values.shape[1] < 1:
        raise ParameterError(f"{name} must be a 2-D array (songs, features), got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ParameterError(f"{name} holds NaN or infinite values")
    return values


class SongGrid:
    """The corpus placed on an ``L**d`` grid (see the module docstring for the rules).

    Parameters
    ----------
    coords : np.ndarray [shape=(n_songs, d)]
        The songs' low-dimensional features (the 4-D PCA coordinates in the thesis).
    levels : int
        ``L`` levels per feature (5 in the thesis).
    dims : int, optional
        The number of features expected (the agent's ``d``); ``coords`` of another width raise.

    Attributes
    ----------
    dims, levels, n_songs, n_cells : int
    edges : np.ndarray [shape=(d, L - 1)]
        Quantile edges of each feature.
    centres : np.ndarray [shape=(d, L)]
        Middle quantile of each level of each feature.
    song_levels : np.ndarray [shape=(n_songs, d), dtype=int64]
    song_cells : np.ndarray [shape=(n_songs,), dtype=int64]
        Flat cell index of each song (C order, as the grid environment).
    cell_counts : np.ndarray [shape=(n_cells,), dtype=int64]
        Songs per cell.

    >>> grid = SongGrid(np.random.default_rng(0).normal(size=(40, 2)), levels=5)
    >>> int(grid.cell_counts.sum()), grid.n_cells
    (40, 25)
    """

    def __init__(self, coords, *, levels: int = 5, dims: int | None = None):
        coords = _features(coords, "coords")
        n, d = coords.shape
        if dims is not None:
            check_number("dims", dims, low=1, integer=True)
            if d != int(dims):
                raise ParameterError(f"coords have {d} features per song, but the grid has dims={int(dims)}")
        self.dims, self.levels = check_grid(d, levels)
        self.n_songs = n
        self.n_cells = self.levels**self.dims
        if n < self.n_cells:
            raise ParameterError(
                f"{n} songs for a grid of levels**dims = {self.levels}**{self.dims} = {self.n_cells} cells: "
                f"a corpus needs at least as many songs as cells")
        self.coords = coords
        self.shape = (self.levels,) * self.dims
        self.edges = quantile_edges(coords, self.levels)
        self.centres = np.quantile(coords, (np.arange(self.levels) + 0.5) / self.levels, axis=0).T
        self.song_levels = self.levels_of(coords)
        self.song_cells = np.ravel_multi_index(tuple(self.song_levels.T), self.shape).astype(np.int64)
        self.cell_counts = np.bincount(self.song_cells, minlength=self.n_cells).astype(np.int64)
        self.cell_levels = np.indices(self.shape).reshape(self.dims, -1).T.astype(np.int64)
        self.cell_centres = self.centres[np.arange(self.dims), self.cell_levels]  # (n_cells, d)
        self._ranking = np.empty((self.n_cells, 0), dtype=np.int64)

    def __repr__(self) -> str:
        return f"SongGrid(n_songs={self.n_songs}, dims={self.dims}, levels={self.levels})"

    # -- mapping ------------------------------------------------------------------------------------
    def levels_of(self, values) -> np.ndarray:
        """Levels ``(n, d)`` of points ``(n, d)`` under this grid's quantile edges."""
        values = _features(values, "values")
        if values.shape[1] != self.dims:
            raise ParameterError(f"values have {values.shape[1]} features, the grid has dims={self.dims}")
        return np.stack([np.searchsorted(self.edges[j], values[:, j], side="right")
                         for j in range(self.dims)], axis=1).astype(np.int64)

    def cells_of(self, values) -> np.ndarray:
        """Flat cell indices ``(n,)`` of points ``(n, d)``."""
        return np.ravel_multi_index(tuple(self.levels_of(values).T), self.shape).astype(np.int64)

    def songs_in(self, cell: int) -> np.ndarray:
        """Indices of the songs whose cell is ``cell`` (may be empty)."""
        check_number("cell", cell, low=0, high=self.n_cells - 1, integer=True)
        return np.flatnonzero(self.song_cells == int(cell))

    def nearest_songs(self, k: int) -> np.ndarray:
        """The first ``k`` songs of every cell's ranking (the rule of the module docstring).

        Returns
        -------
        np.ndarray [shape=(n_cells, k), dtype=int64]
            ``nearest_songs(k)[cell, 0]`` is the cell's representative.
        """
        check_number("k", k, low=1, high=self.n_songs, integer=True)
        k = int(k)
        if self._ranking.shape[1] < k:
            # Build at least the first 32 ranks (what a 21-step episode reads) in one pass.
            self._ranking = self._rank(min(self.n_songs, max(k, 32)))
        return self._ranking[:, :k]

    @property
    def representatives(self) -> np.ndarray:
        """The song each cell plays under the thesis's rule, shape ``(n_cells,)``."""
        return self.nearest_songs(1)[:, 0]

    def _rank(self, k: int) -> np.ndarray:
        out = np.empty((self.n_cells, k), dtype=np.int64)
        song_index = np.arange(self.n_songs)
        for start in range(0, self.n_cells, RANK_CHUNK):
            cells = slice(start, min(start + RANK_CHUNK, self.n_cells))
            manhattan = np.abs(self.cell_levels[cells, None, :] - self.song_levels[None, :, :]).sum(axis=2)
            euclid = np.sqrt(((self.cell_centres[cells, None, :] - self.coords[None, :, :]) ** 2).sum(axis=2))
            # lexicographic: grid distance, then distance to the centre, then song index
            order = np.lexsort((np.broadcast_to(song_index, manhattan.shape), euclid, manhattan), axis=-1)
            out[cells] = order[:, :k]
        return out

    # -- reporting ----------------------------------------------------------------------------------
    def occupancy(self) -> dict[str, float]:
        """How the songs fill the grid: empty cells, cells shared by several songs, and so on."""
        counts = self.cell_counts
        occupied = counts[counts > 0]
        return {
            "songs": self.n_songs, "cells": self.n_cells, "occupied_cells": int((counts > 0).sum()),
            "empty_cells": int((counts == 0).sum()), "empty_share": float((counts == 0).mean()),
            "shared_cells": int((counts >= 2).sum()), "songs_in_shared_cells": int(counts[counts >= 2].sum()),
            "songs_alone_in_cell": int((counts == 1).sum()), "max_songs_per_cell": int(counts.max()),
            "mean_songs_per_occupied_cell": float(occupied.mean()),
            "songs_never_played_as_representative": int(self.n_songs - np.unique(self.representatives).size),
        }

    def cell_table(self) -> pd.DataFrame:
        """One row per cell: its levels, number of songs and representative song."""
        frame = pd.DataFrame(self.cell_levels, columns=[f"level{j + 1}" for j in range(self.dims)])
        frame.insert(0, "cell", np.arange(self.n_cells))
        frame["songs"] = self.cell_counts
        frame["representative"] = self.representatives
        return frame


def song_grid_from_frame(frame: pd.DataFrame, columns: Sequence[str], *, levels: int = 5,
                         dims: int | None = None) -> SongGrid:
    """A :class:`SongGrid` of the ``columns`` of a features table (e.g. ``pc1 .. pc4``)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParameterError(f"the features table lacks the column(s) {missing}")
    return SongGrid(frame[list(columns)].to_numpy(), levels=levels, dims=dims)


def grid_occupancy(grid: SongGrid) -> pd.DataFrame:
    """:meth:`SongGrid.occupancy` as a two-column table (``quantity``, ``value``)."""
    return pd.DataFrame(list(grid.occupancy().items()), columns=["quantity", "value"])
