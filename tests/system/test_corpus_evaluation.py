"""A features table on the grid: every song as the target of every agent, under every playback rule."""

import numpy as np
import pytest

from musicrec.agents.grid_rule import GridRulePolicy
from musicrec.errors import ParameterError
from musicrec.system.evaluation import (
    ORACLE,
    check_grid_supports,
    evaluate,
    feature_columns,
    load_traces,
    policy_settings,
    rating4_share,
    rows_of_songs,
    save_traces,
)
from musicrec.system.playback import PLAYBACKS
from musicrec.system.song_grid import grid_occupancy


def settings(**overrides):
    return {"levels": 5, "listener": {"metric": "euclidean", "genre_bonus": 1}, "playbacks": list(PLAYBACKS),
            "rerank_k": 5, "anchor_rating": 4, **overrides}


def test_evaluate_every_song_for_every_agent_and_playback(song_features, thesis_grid):
    frame = song_features()
    factored = {**thesis_grid, "action": "factored"}
    agents = {("rule", 0): GridRulePolicy(**thesis_grid), ("rule factored", 1): (GridRulePolicy(**factored), factored)}
    metrics, traces, grid = evaluate(frame, agents, thesis_grid, settings(), layer="pool3", n_features=6)
    assert len(metrics) == 2 * len(PLAYBACKS) * len(frame)
    assert list(metrics.columns[:2]) == ["agent", "seed"]
    assert set(traces) == {(a, s, p) for a, s in agents for p in PLAYBACKS}
    assert {"mad", "mad_genre_aware", "steps_to_cell", "repeat_rate", "genre_fraction"} <= set(metrics.columns)
    occupancy = grid_occupancy(grid).set_index("quantity").value
    assert occupancy["songs"] == len(frame) and occupancy["cells"] == 25


def test_oracle_reference_plays_the_target_cell(song_features, thesis_grid):
    frame = song_features()
    metrics, traces, grid = evaluate(frame, {(ORACLE, 0): ORACLE}, thesis_grid, settings(playbacks=["thesis"]),
                                     layer="pool3")
    trace = traces[(ORACLE, 0, "thesis")]
    np.testing.assert_array_equal(trace.songs, np.repeat(grid.representatives[grid.song_cells][:, None], 21, axis=1))
    assert (metrics.steps_to_cell == 1).all() and (metrics.ideal_rating == 4).all()


def test_traces_round_trip(tmp_path, song_features, thesis_grid):
    frame = song_features()
    metrics, traces, _ = evaluate(frame, {("rule baseline", 0): GridRulePolicy(**policy_settings(thesis_grid))}, thesis_grid,
                                  settings(playbacks=["thesis"]), layer="pool3")
    save_traces(traces, tmp_path / "traces.npz")
    loaded = load_traces(tmp_path / "traces.npz")
    trace = traces[("rule baseline", 0, "thesis")]
    np.testing.assert_array_equal(loaded[("rule baseline", 0, "thesis")]["songs"], trace.songs)
    assert set(loaded[("rule baseline", 0, "thesis")]) == {"positions", "songs", "start_songs", "target_songs"}


def test_bad_corpus_and_agents_are_refused(song_features, thesis_grid):
    agents = {("rule", 0): GridRulePolicy(**thesis_grid)}
    with pytest.raises(ParameterError, match=r"20 songs for a grid of levels\*\*dims = 5\*\*2 = 25 cells"):
        evaluate(song_features(n_per_genre=2), agents, thesis_grid, settings(), layer="pool3")
    with pytest.raises(ParameterError, match="features have 6 dimensions per song, expected n_features=128"):
        evaluate(song_features(), agents, thesis_grid, settings(), layer="pool3", n_features=128)
    with pytest.raises(ParameterError, match="has 2 PCA columns, the grid needs dims=4"):
        evaluate(song_features(), agents, {**thesis_grid, "dims": 4}, settings(), layer="pool3")
    with pytest.raises(ParameterError, match="trained for dims=2, levels=5, but the songs are on a grid with "
                                             "dims=2, levels=4"):
        evaluate(song_features(), agents, thesis_grid, settings(levels=4), layer="pool3")
    with pytest.raises(ParameterError, match="trained for dims=3, levels=5, but the songs are on a grid with dims=2"):
        env3 = {**thesis_grid, "dims": 3}
        evaluate(song_features(), {("rule", 0): (GridRulePolicy(**env3), env3)}, thesis_grid, settings(), layer="pool3")
    with pytest.raises(ParameterError, match="no columns of layer 'pool2'"):
        evaluate(song_features(), agents, thesis_grid, settings(), layer="pool2")
    with pytest.raises(ParameterError, match="playback='shuffle' is not one of"):
        evaluate(song_features(), agents, thesis_grid, settings(playbacks=["shuffle"]), layer="pool3")


def test_independent_listener_and_the_grid_check(song_features, thesis_grid):
    frame = song_features()
    rng = np.random.default_rng(3)
    independent = rng.normal(size=(len(frame), 4))
    metrics, traces, _ = evaluate(frame, {("rule", 0): GridRulePolicy(**thesis_grid)}, thesis_grid, settings(playbacks=["thesis"]),
                                  layer="pool3", independent=independent)
    assert {"mad_independent", "rating_independent", "closer_agreement_independent"} <= set(metrics.columns)
    assert not np.allclose(metrics.mad, metrics.mad_independent)
    with pytest.raises(ParameterError, match=r"100 songs cannot fill a 5\^3 = 125-cell grid"):
        check_grid_supports(100, dims=3, levels=5)
    check_grid_supports(125, dims=3, levels=5)
    assert 0.10 < rating4_share({"dims": 3, "levels": 5, "target": "wider"}) < 0.12


def test_columns_and_rows_of_the_songs(song_features):
    frame = song_features(pcs=3)
    full, pcs = feature_columns(frame, "pool3")
    assert full == [f"pool3_{i:03d}" for i in range(6)] and pcs == ["pc1", "pc2", "pc3"]
    tagged = list(reversed(frame.track_id))
    values = np.arange(len(tagged) * 2).reshape(-1, 2)
    rows = rows_of_songs(tagged, values, frame)
    np.testing.assert_array_equal(rows, values[::-1])
    with pytest.raises(ParameterError, match=r"did not tag 1 song\(s\) of the corpus, e.g. \['blues.00000'\]"):
        rows_of_songs(tagged[:-1], values[:-1], frame)
