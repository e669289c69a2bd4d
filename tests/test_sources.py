"""The sources' published numbers: one home, every row cited, read as the source prints them."""

import pytest

from musicrec import sources
from musicrec.errors import ParameterError


def test_every_published_table_cites_its_source_in_references_bib():
    bib = (sources.PROJECT_ROOT / "references.bib").read_text()
    assert sources.names()
    for name in sources.names():
        table = sources.published(name)
        keys = {cite.split(",")[0] for cite in table["cite"]}
        assert all(f"{{{key}," in bib for key in keys), (name, keys)


def test_the_thesis_metric_tables_as_printed():
    table = sources.published("rynegardh2019_metrics")
    row = table[(table.obs == "grid") & (table.n_steps == 20) & (table.reward == "bullseye")].iloc[0]
    assert (row["mean"], row["std"]) == (188, 8)
    with pytest.raises(ParameterError, match="no published table 'nope'"):
        sources.published("nope")


def test_the_sessions_paper_tables_as_printed():
    skip = sources.published("khan_cui_sessions_skip").set_index("model")
    assert skip.loc["Standard LSTM (SKIP token)", "paper_test_maa"] == 61.1
    assert skip["cite"].str.endswith("table 1").all()
    counts = sources.published("khan_cui_sessions_counts")
    assert list(counts.columns) == ["cite", "model", "0", "2", "4", "6", "8", "10"]
    assert sources.published("khan_cui_sessions_sequence").paper_test_maa.min() == 9e-11
