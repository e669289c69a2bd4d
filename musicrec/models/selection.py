"""Choosing a hyperparameter on validation scores: a grid search that widens at its edges."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from musicrec.errors import ParameterError


@dataclass
class SearchResult:
    """The search of one model: the values tried (sorted), their scores, the chosen value."""

    grid: list[float]
    scores: dict[float, dict]
    best: float

    @property
    def at_edge(self) -> bool:
        """The chosen value is still the grid's smallest or largest (of several)."""
        return len(self.grid) > 1 and self.best in (self.grid[0], self.grid[-1])


def widening_search(grids: Mapping[str, Sequence[float]],
                    score: Callable[[list[tuple[str, float]]], Sequence[Mapping]], *, factor: float = 3.0,
                    steps: int = 0, value: str = "val_maa") -> dict[str, SearchResult]:
    """Per model, the value of its grid with the highest ``value`` score, widening the grid at its edges.

    When the best value of a model's grid (of two or more values) is its smallest or largest, the next
    value beyond that edge (``best / factor`` or ``best * factor``, to 3 significant digits) is added and
    scored, until the choice lies inside the grid or ``steps`` values were added on that side. Every round
    scores the new values of all models at once.

    Parameters
    ----------
    grids : mapping
        Model -> candidate values.
    score : callable
        ``score([(model, v), ...])`` -> one mapping of scores (holding ``value``) per pair, in order.
    factor : float
        Ratio of an added value to the edge it extends (> 1).
    steps : int
        Values added at most on each side.
    value : str
        The score that is maximised.
    """
    if factor <= 1:
        raise ParameterError(f"lr_widen.factor={factor} must be > 1")
    grids = {key: sorted(grid) for key, grid in grids.items()}
    scores: dict[str, dict[float, dict]] = {key: {} for key in grids}
    added = {key: {"low": 0, "high": 0} for key in grids}
    best: dict[str, float] = {}
    searching = list(grids)
    while searching:
        pending = [(key, v) for key in searching for v in grids[key] if v not in scores[key]]
        for (key, v), result in zip(pending, score(pending)):
            scores[key][v] = dict(result)
        still = []
        for key in searching:
            grid = grids[key]
            best[key] = max(grid, key=lambda v: scores[key][v][value])
            if len(grid) > 1 and best[key] == grid[0] and added[key]["low"] < steps:
                grid.insert(0, float(f"{best[key] / factor:.3g}"))
                added[key]["low"] += 1
                still.append(key)
            elif len(grid) > 1 and best[key] == grid[-1] and added[key]["high"] < steps:
                grid.append(float(f"{best[key] * factor:.3g}"))
                added[key]["high"] += 1
                still.append(key)
        searching = still
    return {key: SearchResult(grid=grids[key], scores=scores[key], best=best[key]) for key in grids}
