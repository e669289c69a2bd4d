"""The headline results of the report's index page, read from the CSV tables in ``figures/``.

Which number comes from where is declared in ``musicrec/report/headlines.yml``, not computed here:
each headline names a CSV (or, for a source's published numbers that no CSV holds, a DataFrame of the
package such as ``musicrec.experiments.sessions:PAPER_SKIP``), the row (every column of ``row`` equals
its value) and the column of each number. The numbers are read when the site is built, so the page
follows the results. A missing CSV, column or row never stops the build: the number is shown as
unavailable and :attr:`Headline.problems` says which file, column or row is missing.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from musicrec.errors import ParameterError

HEADLINES_FILE = Path(__file__).resolve().parent / "headlines.yml"

REFERENCE_KEYS = {"csv", "table", "row", "column", "scale", "aggregate", "label"}
HEADLINE_KEYS = {"label", "notebook", "unit", "format", "better", "csv", "table", "row", "data",
                 "source", "source_note", "mean", "std", "seeds", "bound"}
SOURCE_KEYS = {"key", "title", "headlines"}
NOTEBOOK_KEYS = {"key_figure", "data"}


@dataclass(frozen=True)
class Reference:
    """Where one number lives: a CSV of the figures folder (or a package DataFrame), a row and a column.

    ``row`` maps column names to values; exactly one row must match unless ``aggregate="mean"``,
    which averages the matching rows (empty cells skipped). ``scale`` multiplies the value (e.g. 100
    for a fraction shown in percent).
    """

    column: str
    csv: str | None = None
    table: str | None = None
    row: Mapping[str, Any] = field(default_factory=dict)
    scale: float = 1.0
    aggregate: str | None = None
    label: str | None = None

    def where(self) -> str:
        return f"figures/{self.csv}" if self.csv else f"{self.table}"


@dataclass
class Number:
    """A resolved number: ``value`` is ``None`` when it could not be read, and ``problem`` says why."""

    value: float | None = None
    problem: str | None = None

    @property
    def available(self) -> bool:
        return self.value is not None


@dataclass
class Headline:
    """One row of the index's headline table, resolved against a figures folder."""

    label: str
    notebook: str
    unit: str
    number_format: str
    better: str
    data: str | None
    source: Number | None
    source_note: str | None
    mean: Number
    std: Number | None
    seeds: Number | None
    bound: Number | None
    bound_label: str | None
    problems: list[str] = field(default_factory=list)

    def text(self, number: Number | None) -> str:
        """``number`` formatted with the headline's format (``""`` when absent)."""
        if number is None or number.value is None:
            return ""
        return format(number.value, self.number_format)

    @property
    def bound_exceeded(self) -> bool:
        """True when ours passes the optimum or ceiling, which is then no bound (said on the page)."""
        if self.bound is None or not self.bound.available or not self.mean.available:
            return False
        tolerance = 1e-9 * max(1.0, abs(self.bound.value))
        if self.better == "lower":
            return self.mean.value < self.bound.value - tolerance
        return self.mean.value > self.bound.value + tolerance


@dataclass
class SourceHeadlines:
    key: str
    title: str
    headlines: list[Headline]


@dataclass
class HeadlineTable:
    """Everything the index page needs from ``headlines.yml``: sources with their headlines, and the
    per-notebook key figure and data description."""

    sources: list[SourceHeadlines]
    key_figures: dict[str, str]
    data: dict[str, str]

    @property
    def problems(self) -> list[str]:
        return [problem for source in self.sources for headline in source.headlines
                for problem in headline.problems]


# -- loading the declaration -------------------------------------------------------------------------
def _check_keys(where: str, mapping: Any, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(mapping, Mapping):
        raise ParameterError(f"{where} must be a mapping, not {type(mapping).__name__}")
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise ParameterError(f"{where} has unknown keys {unknown}; allowed: {sorted(allowed)}")
    return mapping


def _reference(where: str, spec: Any, headline: Mapping[str, Any]) -> Reference | None:
    """A reference from its YAML form: a column name, or a mapping that may override csv/table/row."""
    if spec is None:
        return None
    if isinstance(spec, str):
        spec = {"column": spec}
    spec = _check_keys(where, spec, REFERENCE_KEYS)
    if "column" not in spec:
        raise ParameterError(f"{where} names no column")
    csv = spec.get("csv", headline.get("csv") if "table" not in spec else None)
    table = spec.get("table", headline.get("table") if "csv" not in spec else None)
    if bool(csv) == bool(table):
        raise ParameterError(f"{where} needs exactly one of csv (a file in figures/) or table (module:NAME)")
    aggregate = spec.get("aggregate")
    if aggregate not in (None, "mean"):
        raise ParameterError(f"{where}: aggregate={aggregate!r} is not one of [None, 'mean']")
    row = spec.get("row", headline.get("row", {}))
    if not isinstance(row, Mapping):
        raise ParameterError(f"{where}: row must map column names to values, not {row!r}")
    return Reference(column=str(spec["column"]), csv=csv, table=table, row=dict(row),
                     scale=float(spec.get("scale", 1.0)), aggregate=aggregate, label=spec.get("label"))


def load_declaration(path: str | os.PathLike = HEADLINES_FILE) -> dict[str, Any]:
    """Read and check ``headlines.yml``; a malformed file raises one clear :class:`ParameterError`."""
    path = Path(path)
    if not path.exists():
        raise ParameterError(f"headline table {path} does not exist")
    try:
        spec = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ParameterError(f"headline table {path} is not valid YAML: {error}") from None
    _check_keys(path.name, spec, {"sources", "notebooks"})
    notebooks = {}
    for number, entry in (spec.get("notebooks") or {}).items():
        notebooks[str(number).zfill(2)] = dict(_check_keys(f"{path.name} notebooks.{number}", entry or {},
                                                           NOTEBOOK_KEYS))
    sources = []
    for index, source in enumerate(spec.get("sources") or []):
        where = f"{path.name} sources[{index}]"
        source = _check_keys(where, source, SOURCE_KEYS)
        headlines = []
        for position, headline in enumerate(source.get("headlines") or []):
            here = f"{where}.headlines[{position}]"
            headline = _check_keys(here, headline, HEADLINE_KEYS)
            for required in ("label", "notebook", "mean"):
                if required not in headline:
                    raise ParameterError(f"{here} has no {required!r}")
            if headline.get("better", "higher") not in ("higher", "lower"):
                raise ParameterError(f"{here}: better={headline['better']!r} is not 'higher' or 'lower'")
            refs = {name: _reference(f"{here}.{name}", headline.get(name), headline)
                    for name in ("source", "mean", "std", "seeds", "bound")}
            headlines.append({**headline, "notebook": str(headline["notebook"]).zfill(2), "refs": refs})
        sources.append({"key": source.get("key", ""), "title": source.get("title", source.get("key", "")),
                        "headlines": headlines})
    return {"sources": sources, "notebooks": notebooks}


# -- resolving against the figures folder --------------------------------------------------------------
class FrameCache:
    """The CSVs and package tables read so far (each file is read once per build)."""

    def __init__(self, figures_dir: Path):
        self.figures_dir = figures_dir
        self.cache: dict[str, pd.DataFrame | str] = {}

    def get(self, reference: Reference) -> pd.DataFrame | str:
        """The frame, or a sentence saying why it cannot be had."""
        key = reference.where()
        if key not in self.cache:
            self.cache[key] = self._load(reference)
        return self.cache[key]

    def _load(self, reference: Reference) -> pd.DataFrame | str:
        if reference.csv:
            path = self.figures_dir / reference.csv
            if not path.exists():
                return f"figures/{reference.csv} is missing"
            try:
                return pd.read_csv(path)
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
                return f"figures/{reference.csv} cannot be read ({type(error).__name__})"
        module_name, _, name = reference.table.partition(":")
        try:
            frame = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError):
            return f"{reference.table} does not exist"
        if not isinstance(frame, pd.DataFrame):
            return f"{reference.table} is not a table"
        return frame


def _matching_rows(frame: pd.DataFrame, row: Mapping[str, Any]) -> pd.Series | str:
    mask = pd.Series(True, index=frame.index)
    for column, wanted in row.items():
        if column not in frame.columns:
            return f"has no column {column!r} to select the row"
        values = frame[column]
        if isinstance(wanted, bool):
            mask &= values.astype(str).str.lower() == str(wanted).lower()
        elif isinstance(wanted, (int, float)):
            mask &= pd.to_numeric(values, errors="coerce") == wanted
        else:
            mask &= values.astype(str) == str(wanted)
    return mask


def resolve(reference: Reference, frames: FrameCache) -> Number:
    """Read the number ``reference`` points to, or say which file, column or row is missing."""
    frame = frames.get(reference)
    where = reference.where()
    if isinstance(frame, str):
        return Number(problem=frame)
    if reference.column not in frame.columns:
        return Number(problem=f"{where} has no column {reference.column!r}")
    mask = _matching_rows(frame, reference.row)
    if isinstance(mask, str):
        return Number(problem=f"{where} {mask}")
    matched = frame.loc[mask, reference.column]
    selector = ", ".join(f"{key}={value!r}" for key, value in reference.row.items()) or "(no selector)"
    if matched.empty:
        return Number(problem=f"{where} has no row with {selector}")
    if len(matched) > 1 and reference.aggregate is None:
        return Number(problem=f"{where} has {len(matched)} rows with {selector}; select one")
    values = pd.to_numeric(matched, errors="coerce")
    if values.isna().all():
        return Number(problem=f"{where} has no number in column {reference.column!r} at {selector}")
    value = float(values.mean())  # one value, or the declared mean over the matching rows
    if not math.isfinite(value):
        return Number(problem=f"{where} has no finite number in column {reference.column!r} at {selector}")
    return Number(value=value * reference.scale)


def resolve_headlines(
    figures_dir: str | os.PathLike,
    *,
    declaration: str | os.PathLike = HEADLINES_FILE,
) -> HeadlineTable:
    """Resolve every headline of ``declaration`` against the CSVs of ``figures_dir``.

    Parameters
    ----------
    figures_dir : path
        Folder with the notebooks' CSV tables (``figures/``).
    declaration : path
        The YAML headline table (default: ``musicrec/report/headlines.yml``).

    Returns
    -------
    HeadlineTable
        Sources with resolved headlines; unreadable numbers are ``None`` with a problem sentence.
    """
    spec = load_declaration(declaration)
    frames = FrameCache(Path(figures_dir))
    sources = []
    for source in spec["sources"]:
        resolved = []
        for headline in source["headlines"]:
            refs = headline["refs"]
            numbers = {name: (resolve(ref, frames) if ref is not None else None) for name, ref in refs.items()}
            problems = [f"headline {headline['label']!r} ({name}): {number.problem}; shown as unavailable"
                        for name, number in numbers.items() if number is not None and number.problem]
            notebook = headline["notebook"]
            data = headline.get("data", spec["notebooks"].get(notebook, {}).get("data"))
            resolved.append(Headline(
                label=headline["label"], notebook=notebook, unit=headline.get("unit", ""),
                number_format=headline.get("format", ".3g"), better=headline.get("better", "higher"),
                data=data, source=numbers["source"], source_note=headline.get("source_note"),
                mean=numbers["mean"], std=numbers["std"], seeds=numbers["seeds"], bound=numbers["bound"],
                bound_label=refs["bound"].label if refs["bound"] is not None else None, problems=problems))
        sources.append(SourceHeadlines(key=source["key"], title=source["title"], headlines=resolved))
    return HeadlineTable(
        sources=sources,
        key_figures={number: entry["key_figure"] for number, entry in spec["notebooks"].items()
                     if entry.get("key_figure")},
        data={number: entry["data"] for number, entry in spec["notebooks"].items() if entry.get("data")},
    )
