"""The sources' published numbers, in one home: ``data/sources/<name>.csv``, each row citing its table.

>>> int(published("rynegardh2019_metrics").loc[3, "mean"])  # figure 22, WiderTopTarget, GridObs, n = 20
188
"""

from __future__ import annotations

import functools

import pandas as pd

from musicrec.errors import ParameterError
from musicrec.utils import PROJECT_ROOT

SOURCES_DIR = PROJECT_ROOT / "data" / "sources"


def names() -> list[str]:
    """The tables there are (file stems)."""
    return sorted(path.stem for path in SOURCES_DIR.glob("*.csv"))


@functools.lru_cache(maxsize=None)
def _read(name: str) -> pd.DataFrame:
    path = SOURCES_DIR / f"{name}.csv"
    if not path.exists():
        raise ParameterError(f"no published table {name!r} in data/sources/; known: {names()}")
    frame = pd.read_csv(path)
    if "cite" not in frame.columns or frame["cite"].isna().any():
        raise ParameterError(f"data/sources/{name}.csv: every row must cite its source (column 'cite')")
    return frame


def published(name: str) -> pd.DataFrame:
    """A copy of the published table ``name`` (e.g. ``"rynegardh2019_metrics"``)."""
    return _read(name).copy()
