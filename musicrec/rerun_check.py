"""Does a rerun land where the committed numbers say it should? The figures' tables of two executions, side by side.

The numbers of the grid and the other agents are bit-reproducible on one machine only (another CPU sums
floats in another order, and training amplifies the last bits), so the report states each mean over seeds
with its 95% interval. After ``make reproduce`` on a new machine, :func:`compare_tables` reads each table of
``figures/`` beside the committed one (a git revision or a folder) and says, for every row and every mean
that has an interval, whether the rerun's mean is identical, inside the committed interval of the mean, and
inside the 95% interval of a rerun's mean.

The two intervals answer different questions. The interval of the mean bounds the true mean; a rerun on
another CPU is a fresh draw of every seed, whose own mean strays from the first by the spread of two means,
so it lands inside the first's interval of the mean only about 91% of the time with 3 seeds (84% with many;
:func:`musicrec.seeds.share_inside_interval_of_the_mean`). The interval of a rerun
(:func:`musicrec.seeds.rerun_interval_from_summary`) is where a fresh draw's mean lands 95% of the time: a mean
outside it is what says that a rerun differs by more than its seeds.

Intervals are read from the tables: ``<p>ci_low``/``<p>ci_high`` beside ``<p>mean`` (``final_``, ``agent_``,
none; the interval of a rerun is the interval of the mean widened by ``sqrt(1 + n/m)`` for ``n`` reference and
``m`` rerun seeds), or computed (Student-t, 95%) from a mean, its standard deviation over seeds and the
``seeds`` column (``<p>mean``/``<p>sd_seeds``, ``X``/``X_std``, ``mean_X``/``std_X``).
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from musicrec.errors import ParameterError
from musicrec.seeds import interval_from_summary, rerun_interval_from_summary, share_inside_interval_of_the_mean

#: The columns of :func:`compare_tables`' result.
COLUMNS = ["table", "row", "quantity", "seeds", "reference", "reference_low", "reference_high", "rerun",
           "rerun_interval_low", "rerun_interval_high", "identical", "inside", "inside_rerun_interval"]


def interval_columns(frame: pd.DataFrame) -> list[tuple[str, str | None, str | None, str | None]]:
    """The means of a table that carry an interval: ``(mean, low, high, sd)`` column names, ``low``/``high``
    None where the interval is computed from ``sd`` and ``seeds``, ``sd`` None where it is given."""
    columns = list(frame.columns)
    found, used = [], set()
    for low in columns:
        if not low.endswith("ci_low"):
            continue
        prefix = low[: -len("ci_low")]
        high, mean = f"{prefix}ci_high", f"{prefix}mean"
        if high in columns and mean in columns:
            found.append((mean, low, high, None))
            used.add(mean)
    if "seeds" not in columns:
        return found
    for column in columns:
        if column in used or not pd.api.types.is_numeric_dtype(frame[column]):
            continue
        for sd in (f"{column[:-len('mean')]}sd_seeds" if column.endswith("mean") else None, f"{column}_std",
                   f"std_{column[len('mean_'):]}" if column.startswith("mean_") else None):
            if sd and sd in columns and pd.api.types.is_numeric_dtype(frame[sd]):
                found.append((column, None, None, sd))
                used.add(column)
                break
    return found


def row_keys(frame: pd.DataFrame, measured: set[str] = frozenset()) -> list[str] | None:
    """The leading columns (settings and names, not the ``measured`` ones) that tell the rows apart; None if
    they never do."""
    keys: list[str] = []
    for column in frame.columns:
        if column in measured:
            continue
        keys.append(column)
        if not frame.duplicated(subset=keys).any():
            return keys
    return None


def _label(row: pd.Series, keys: list[str]) -> str:
    return ", ".join(str(row[k]) for k in keys)


def compare_table(name: str, reference: pd.DataFrame, rerun: pd.DataFrame) -> pd.DataFrame:
    """Every mean with an interval of ``reference`` beside the same row's value in ``rerun``."""
    quantities = interval_columns(reference)
    if not quantities:
        return pd.DataFrame(columns=COLUMNS)
    measured = {c for q in quantities for c in q if c} | {"seeds"}
    measured |= {c for c in reference.columns if c.endswith(("_std", "sd_seeds", "ci_low", "ci_high"))}
    keys = row_keys(reference, measured)
    if keys is None:
        raise ParameterError(f"table {name}: no leading columns tell its rows apart")
    missing = [k for k in keys if k not in rerun.columns]
    if missing:
        raise ParameterError(f"table {name}: the rerun lacks the column(s) {missing} that name its rows")
    merged = reference.merge(rerun, on=keys, how="inner", suffixes=("", "__rerun"))
    rows = []
    for _, row in merged.iterrows():
        for mean, low, high, sd in quantities:
            rerun_column = f"{mean}__rerun"
            if rerun_column not in merged.columns:
                continue
            seeds = float(row["seeds"]) if "seeds" in merged.columns else float("nan")
            rerun_seeds = float(row["seeds__rerun"]) if "seeds__rerun" in merged.columns else seeds
            value, original = float(row[rerun_column]), float(row[mean])
            if sd is None:
                interval = float(row[low]), float(row[high])
                widen = np.sqrt(1 + seeds / rerun_seeds) if rerun_seeds > 0 else float("nan")
                half = (interval[1] - interval[0]) / 2 * widen
                rerun_interval = original - half, original + half
            else:
                interval = interval_from_summary(original, float(row[sd]), seeds)
                rerun_interval = rerun_interval_from_summary(original, float(row[sd]), seeds,
                                                             rerun_seeds=rerun_seeds)

            def within(bounds):
                return bool(bounds[0] <= value <= bounds[1]) if np.isfinite(bounds).all() else None

            rows.append({"table": name, "row": _label(row, keys), "quantity": mean, "seeds": seeds,
                         "reference": original, "reference_low": interval[0], "reference_high": interval[1],
                         "rerun": value, "rerun_interval_low": rerun_interval[0],
                         "rerun_interval_high": rerun_interval[1],
                         "identical": bool(value == original or (np.isnan(value) and np.isnan(original))),
                         "inside": within(interval), "inside_rerun_interval": within(rerun_interval)})
    return pd.DataFrame(rows, columns=COLUMNS)


def _read_csv(data: bytes, source: str) -> pd.DataFrame:
    try:
        return pd.read_csv(io.StringIO(data.decode("utf-8")))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ParameterError(f"{source} is not a readable CSV table ({' '.join(str(error).split())})") from None


def reference_tables(*, revision: str | None = None, folder: str | os.PathLike | None = None,
                     figures: str | os.PathLike = "figures") -> dict[str, pd.DataFrame]:
    """The committed tables: ``figures/*.csv`` of a git ``revision``, or every CSV of ``folder``."""
    if (revision is None) == (folder is None):
        raise ParameterError("give either a git revision or a folder of reference tables")
    if folder is not None:
        folder = Path(folder)
        if not folder.is_dir():
            raise ParameterError(f"reference folder {folder} does not exist")
        return {p.name: _read_csv(p.read_bytes(), str(p)) for p in sorted(folder.glob("*.csv"))}
    figures = Path(figures)

    def git(*args: str) -> bytes:
        try:
            done = subprocess.run(["git", *args], capture_output=True, cwd=figures.absolute().parent)
        except FileNotFoundError:
            raise ParameterError("git is not installed: give the reference tables as a folder") from None
        if done.returncode != 0:
            message = " ".join(done.stderr.decode("utf-8", "replace").split()) or "failed"
            raise ParameterError(f"git {' '.join(args)}: {message}")
        return done.stdout

    listing = git("ls-tree", "--name-only", f"{revision}:./{figures.name}")
    return {name: _read_csv(git("show", f"{revision}:./{figures.name}/{name}"), f"{revision}:{figures.name}/{name}")
            for name in listing.decode("utf-8", "replace").splitlines() if name.endswith(".csv")}


def compare_tables(reference: dict[str, pd.DataFrame], figures: str | os.PathLike = "figures") -> pd.DataFrame:
    """:func:`compare_table` of every reference table that ``figures`` also holds."""
    figures = Path(figures)
    if not figures.is_dir():
        raise ParameterError(f"figures folder {figures} does not exist")
    parts = []
    for name, table in reference.items():
        path = figures / name
        if path.is_file():
            part = compare_table(name, table, _read_csv(path.read_bytes(), str(path)))
            if len(part):
                parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def summary(comparison: pd.DataFrame) -> str:
    """One line per table and a total: how many means are identical, inside or outside the reference's
    interval of the mean, and outside the interval of a rerun; then how often a fresh draw of seeds would
    land inside the interval of the mean by chance alone."""
    if comparison.empty:
        return "no table with intervals in common"
    lines = []
    for name, part in [*comparison.groupby("table", sort=True), ("all tables", comparison)]:
        judged = part[part.inside.notna()]
        outside = int((judged.inside == False).sum())  # noqa: E712  (a column of True/False/None)
        inside = int((judged.inside == True).sum())  # noqa: E712
        beyond = int((part.inside_rerun_interval == False).sum())  # noqa: E712
        lines.append(f"{name}: {len(part)} means, {int(part.identical.sum())} identical, "
                     f"{inside} inside the reference's 95% interval of the mean, "
                     f"{outside} outside it, {beyond} outside the 95% interval of a rerun's mean, "
                     f"{len(part) - len(judged)} without an interval (one seed)")
    seeds = comparison.seeds[comparison.seeds >= 2]
    if len(seeds):
        n = int(seeds.mode().iloc[0])
        lines.append(f"(a rerun that only redraws the seeds lands inside the interval of the mean about "
                     f"{100 * share_inside_interval_of_the_mean(n):.0f}% of the time with {n} seeds, and inside the "
                     f"interval of a rerun's mean 95% of the time)")
    return "\n".join(lines)
