"""Saving a notebook's figures and tables under fixed names in ``figures/``.

Every file carries the notebook's number as a prefix (``01_policy_rewards.png``), and every results
table a notebook shows is also written as CSV, so results are machine-readable.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pandas as pd

from musicrec.errors import ParameterError
from musicrec.runs import write_csv_atomic
from musicrec.utils import project_path


class FigureWriter:
    """Writes ``<figures_dir>/<prefix>_<name>.png`` and ``.csv`` files.

    Parameters
    ----------
    figures_dir : path
        Output folder; root-relative paths resolve against the project root.
    prefix : str
        The notebook's number, e.g. ``"01"``.
    """

    def __init__(self, figures_dir: str | os.PathLike, prefix: str):
        if not prefix or "/" in prefix:
            raise ParameterError(f"prefix={prefix!r} must be a notebook number such as '01'")
        self.dir = project_path(figures_dir)
        self.prefix = prefix
        self.dir.mkdir(parents=True, exist_ok=True)

    def path(self, name: str, suffix: str) -> Path:
        return self.dir / f"{self.prefix}_{name}{suffix}"

    def figure(self, fig, name: str, *, dpi: int = 120) -> Path:
        """Save a matplotlib figure as PNG (atomically) and return its path."""
        path = self.path(name, ".png")
        tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.png")
        try:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def table(self, frame: pd.DataFrame, name: str, *, index: bool = False) -> pd.DataFrame:
        """Write ``frame`` as CSV and return it, so a notebook cell can display it."""
        write_csv_atomic(frame, self.path(name, ".csv"), index=index)
        return frame
