"""Notebook 02's cached references: the optimum and rule runs, their tables, and their determinism."""

import pandas as pd

from musicrec.experiments import grid_references as refs

TINY = {"levels": 5, "episode_length": 21, "dims": [2], "targets": ["top", "wider"], "rewards": ["bullseye"],
        "rating_only_dims": [2], "node_limit": 20000, "bound_depth": None}


def test_two_identical_runs_write_byte_identical_metrics(tmp_path):
    settings = refs.configurations(TINY)[0]
    runs = {}
    for name in ("first", "second"):
        runs[name] = (refs.optimum_run(settings, TINY, tmp_path / name),
                      refs.rule_run(settings, tmp_path / name))
    for first, second in zip(runs["first"], runs["second"]):
        assert (first.path / "metrics.csv").read_bytes() == (second.path / "metrics.csv").read_bytes()
        assert {"seconds", "load_1min"} <= set(first.timings().columns)
        assert not {"seconds", "load_1min"} & set(first.metrics().columns)


def test_reference_and_effort_tables(tmp_path):
    table = refs.reference_table(TINY, tmp_path, progress=False)
    assert len(table) == 2 and table.optimum_exact.all()
    assert not [c for c in table.columns if c.endswith(("_seconds", "_load_1min"))]
    top = table[table.target == "top"].iloc[0]
    assert top.optimum_lower == 194.0 and top.rule_mean == 194.0 and top.thesis_mean == 168.0
    effort = refs.effort_table(TINY, tmp_path)
    assert list(effort.columns) == ["dims", "target", "reward", "optimum_nodes", "optimum_seconds",
                                    "optimum_load_1min", "rule_seconds", "rule_load_1min"]
    assert (effort.optimum_seconds >= 0).all() and (effort.optimum_nodes > 0).all()
    again = refs.reference_table(TINY, tmp_path, progress=False)
    pd.testing.assert_frame_equal(table, again)
