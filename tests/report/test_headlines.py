"""The declarative headline table: numbers read from hand-made CSVs, and missing ones named, not fatal."""

import textwrap

import pandas as pd
import pytest

from musicrec.errors import ParameterError
from musicrec.report.headlines import HEADLINES_FILE, load_declaration, resolve_headlines
from musicrec.utils import PROJECT_ROOT

DECLARATION = """
notebooks:
  "03": {key_figure: 03_curve.png, data: simulated user}
sources:
  - key: thesis2019
    title: A thesis
    headlines:
      - label: agent A
        notebook: "03"
        format: ".1f"
        csv: 03_final.csv
        row: {experiment: a, dims: 2}
        source: thesis_mean
        mean: mean
        std: sd
        seeds: seeds
        bound: {column: optimum, label: exact optimum}
      - label: agent B beats its ceiling
        notebook: 3
        csv: 03_final.csv
        row: {experiment: b, dims: 2}
        source_note: the thesis reports none
        mean: mean
        std: {csv: 03_std.csv, column: sd, scale: 100}
        bound: {column: optimum, label: oracle}
      - label: mean over genres
        notebook: "03"
        better: lower
        csv: 03_final.csv
        source: {column: thesis_mean, row: {experiment: a}, aggregate: mean}
        mean: {column: mean, row: {experiment: a, dims: 2}}
        bound: {column: sd, row: {experiment: a, dims: 2}}
      - label: broken references
        notebook: "04"
        csv: 04_missing.csv
        source: {column: nope, csv: 03_final.csv, row: {experiment: a, dims: 2}}
        mean: mean
        std: {column: sd, csv: 03_final.csv, row: {experiment: zzz}}
        seeds: {column: seeds, csv: 03_final.csv, row: {experiment: a}}
        bound: {column: optimum, csv: 03_final.csv, row: {colour: red}}
"""


@pytest.fixture
def figures(tmp_path):
    folder = tmp_path / "figures"
    folder.mkdir()
    pd.DataFrame({
        "experiment": ["a", "b", "a"], "dims": [2, 2, 3], "seeds": [3, 3, 3],
        "mean": [197.87, 210.0, 150.0], "sd": [1.67, 2.0, 3.0], "thesis_mean": [188.0, None, 100.0],
        "optimum": [201.6, 201.6, 198.3],
    }).to_csv(folder / "03_final.csv", index=False)
    pd.DataFrame({"experiment": ["b"], "dims": [2], "sd": [0.02]}).to_csv(folder / "03_std.csv", index=False)
    declaration = tmp_path / "headlines.yml"
    declaration.write_text(DECLARATION)
    return folder, declaration


def _by_label(table):
    return {headline.label: headline for source in table.sources for headline in source.headlines}


def test_numbers_come_from_the_declared_csv_rows_and_columns(figures):
    folder, declaration = figures
    table = resolve_headlines(folder, declaration=declaration)
    headline = _by_label(table)["agent A"]
    assert (headline.source.value, headline.mean.value, headline.std.value) == (188.0, 197.87, 1.67)
    assert headline.seeds.value == 3 and headline.bound.value == 201.6 and headline.bound_label == "exact optimum"
    assert headline.text(headline.mean) == "197.9" and headline.data == "simulated user"
    assert not headline.bound_exceeded
    assert table.key_figures == {"03": "03_curve.png"}


def test_a_mean_that_passes_its_bound_is_flagged_and_scale_applies(figures):
    folder, declaration = figures
    headline = _by_label(resolve_headlines(folder, declaration=declaration))["agent B beats its ceiling"]
    assert headline.bound_exceeded and headline.notebook == "03"
    assert headline.std.value == pytest.approx(2.0)  # 0.02 from the second CSV, times 100
    assert headline.source is None and headline.source_note == "the thesis reports none"


def test_aggregate_mean_skips_empty_cells_and_lower_is_better(figures):
    folder, declaration = figures
    headline = _by_label(resolve_headlines(folder, declaration=declaration))["mean over genres"]
    assert headline.source.value == pytest.approx(144.0)  # mean of 188 and 100 over the rows of experiment a
    assert headline.better == "lower" and not headline.bound_exceeded  # 197.87 is above the floor 1.67


def test_missing_csv_column_and_rows_are_named_not_fatal(figures):
    folder, declaration = figures
    table = resolve_headlines(folder, declaration=declaration)
    headline = _by_label(table)["broken references"]
    assert not any(number.available for number in
                   (headline.source, headline.mean, headline.std, headline.seeds, headline.bound))
    problems = "\n".join(table.problems)
    assert "figures/04_missing.csv is missing" in problems
    assert "figures/03_final.csv has no column 'nope'" in problems
    assert "has no row with experiment='zzz'" in problems
    assert "has 2 rows with experiment='a'; select one" in problems
    assert "has no column 'colour' to select the row" in problems
    assert len(headline.problems) == 5 and len(table.problems) == 5


def test_a_malformed_declaration_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(textwrap.dedent("""
        sources:
          - key: x
            headlines:
              - {label: y, notebook: "01", mean: {colum: mean}, csv: a.csv}
        """))
    with pytest.raises(ParameterError, match=r"unknown keys \['colum'\]"):
        load_declaration(bad)
    bad.write_text("sources:\n  - {key: x, headlines: [{label: y, notebook: '01', mean: m}]}\n")
    with pytest.raises(ParameterError, match="needs exactly one of csv"):
        load_declaration(bad)
    with pytest.raises(ParameterError, match="does not exist"):
        load_declaration(tmp_path / "none.yml")


def test_package_tables_hold_published_numbers(tmp_path):
    declaration = tmp_path / "h.yml"
    declaration.write_text(textwrap.dedent("""
        sources:
          - key: k
            headlines:
              - label: paper
                notebook: "14"
                source: {table: "musicrec.experiments.sessions:PAPER_SKIP", column: paper_test_maa,
                         row: {model: Standard LSTM (SKIP token)}}
                mean: {table: "musicrec.experiments.sessions:NO_SUCH_TABLE", column: x}
        """))
    headline = _by_label(resolve_headlines(tmp_path, declaration=declaration))["paper"]
    assert headline.source.value == 61.1
    assert headline.mean.problem == "musicrec.experiments.sessions:NO_SUCH_TABLE does not exist"


def test_every_committed_headline_resolves_against_the_committed_figures():
    # When a notebook's CSV changes, update musicrec/report/headlines.yml (this names what broke).
    table = resolve_headlines(PROJECT_ROOT / "figures", declaration=HEADLINES_FILE)
    assert table.sources and not table.problems, table.problems
    missing = [name for name in table.key_figures.values() if not (PROJECT_ROOT / "figures" / name).exists()]
    assert not missing, missing
