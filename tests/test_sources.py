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
