import numpy as np
import pandas as pd
import pytest

from musicrec.agents.grid_rule import GridRulePolicy
from musicrec.errors import ParameterError
from musicrec.experiments import system
from musicrec.system.playback import PLAYBACKS

ENV = {"dims": 2, "levels": 5, "target": "wider", "reward": "bullseye", "obs": "grid", "action": "flat",
       "episode_length": 21}
GENRES = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"]


def features_frame(n_per_genre=4, width=6, pcs=2, seed=0):
    """A features table shaped like ``corpus_features``: genre, pool3_*, pc*."""
    rng = np.random.default_rng(seed)
    genres = np.repeat(GENRES, n_per_genre)
    full = rng.normal(size=(len(GENRES), width))[np.repeat(np.arange(len(GENRES)), n_per_genre)]
    full = full + 0.5 * rng.normal(size=full.shape)
    frame = pd.DataFrame(full, columns=[f"pool3_{i:03d}" for i in range(width)])
    frame.insert(0, "genre", genres)
    frame.insert(0, "track_id", [f"{g}.{i:05d}" for i, g in enumerate(genres)])
    for j in range(pcs):
        frame[f"pc{j + 1}"] = full[:, j] + 0.1 * full[:, -1]
    return frame


def budget(**overrides):
    return {"levels": 5, "listener": {"metric": "euclidean", "genre_bonus": 1}, "playbacks": list(PLAYBACKS),
            "rerank_k": 5, "anchor_rating": 4, **overrides}


def test_profiles_name_an_agent_and_a_corpus():
    for profile in ("smoke", "default", "full"):
        b = system.load_budget(profile)
        assert b["agents"]["experiments"] and b["agents"]["seeds"]
        assert system.features_budget(b)["chosen_layer"] == "pool3"
    smoke = system.features_budget(system.load_budget("smoke"))
    assert smoke["clips_per_genre"] * 10 >= 25 and smoke["corpus"] == "runs"  # 2-D grid: 25 cells
    from musicrec.experiments.grid_agents import experiment

    for profile in ("default", "full"):
        b = system.load_budget(profile)
        dims = experiment(b["agents"]["experiments"][0]).env["dims"]
        assert system.features_budget(b)["clips_per_genre"] * 10 >= 5**dims  # the synthetic corpus fills the grid
        real = system.dataset_agents(b, "real")["experiments"][0]
        assert experiment(real).env["dims"] == 3  # 265 real clips fill 5**3 = 125 cells, not 625


def test_evaluate_every_song_for_every_agent_and_playback():
    frame = features_frame()
    factored = {**ENV, "action": "factored"}
    agents = {("rule", 0): GridRulePolicy(**ENV), ("rule factored", 1): (GridRulePolicy(**factored), factored)}
    metrics, traces, grid = system.evaluate(frame, agents, ENV, budget(), layer="pool3", n_features=6)
    assert len(metrics) == 2 * len(PLAYBACKS) * len(frame)
    assert set(traces) == {(a, s, p) for a, s in agents for p in PLAYBACKS}
    assert {"mad", "mad_genre_aware", "steps_to_cell", "repeat_rate", "genre_fraction"} <= set(metrics.columns)
    table = system.genre_table(metrics.assign(agent="trained"))
    assert table.genre.tolist()[:11] == GENRES + ["all"]
    assert table.thesis_mad.iloc[0] == 1.14
    summary = system.agents_summary(metrics)
    assert len(summary) == 2 * len(PLAYBACKS)
    assert summary.agent.tolist() == ["rule"] * len(PLAYBACKS) + ["rule factored"] * len(PLAYBACKS)


def test_oracle_reference_plays_the_target_cell():
    frame = features_frame()
    metrics, traces, grid = system.evaluate(frame, {(system.ORACLE, 0): system.ORACLE}, ENV,
                                            budget(playbacks=["thesis"]), layer="pool3")
    trace = traces[(system.ORACLE, 0, "thesis")]
    np.testing.assert_array_equal(trace.songs, np.repeat(grid.representatives[grid.song_cells][:, None], 21, axis=1))
    assert (metrics.steps_to_cell == 1).all() and (metrics.ideal_rating == 4).all()


def test_traces_round_trip(tmp_path):
    frame = features_frame()
    metrics, traces, _ = system.evaluate(frame, {("rule baseline", 0): GridRulePolicy(**ENV)}, ENV,
                                         budget(playbacks=["thesis"]), layer="pool3")
    system.save_traces(traces, tmp_path / "traces.npz")

    class FakeRun:
        def file(self, name):
            return tmp_path / name

    loaded = system.load_traces(FakeRun())
    trace = traces[("rule baseline", 0, "thesis")]
    np.testing.assert_array_equal(loaded[("rule baseline", 0, "thesis")]["songs"], trace.songs)


def test_bad_corpus_and_agents_are_refused():
    agents = {("rule", 0): GridRulePolicy(**ENV)}
    with pytest.raises(ParameterError, match=r"20 songs for a grid of levels\*\*dims = 5\*\*2 = 25 cells"):
        system.evaluate(features_frame(n_per_genre=2), agents, ENV, budget(), layer="pool3")
    with pytest.raises(ParameterError, match="features have 6 dimensions per song, expected n_features=128"):
        system.evaluate(features_frame(), agents, ENV, budget(), layer="pool3", n_features=128)
    with pytest.raises(ParameterError, match="has 2 PCA columns, the grid needs dims=4"):
        system.evaluate(features_frame(), agents, {**ENV, "dims": 4}, budget(), layer="pool3")
    with pytest.raises(ParameterError, match="trained for dims=2, levels=5, but the songs are on a grid with "
                                             "dims=2, levels=4"):
        system.evaluate(features_frame(), agents, ENV, budget(levels=4), layer="pool3")
    with pytest.raises(ParameterError, match="trained for dims=3, levels=5, but the songs are on a grid with dims=2"):
        env3 = {**ENV, "dims": 3}
        system.evaluate(features_frame(), {("rule", 0): (GridRulePolicy(**env3), env3)}, ENV, budget(),
                        layer="pool3")
    with pytest.raises(ParameterError, match="no columns of layer 'pool2'"):
        system.evaluate(features_frame(), agents, ENV, budget(), layer="pool2")
    with pytest.raises(ParameterError, match="playback='shuffle' is not one of"):
        system.evaluate(features_frame(), agents, ENV, budget(playbacks=["shuffle"]), layer="pool3")


def test_load_corpus_passes_the_dataset_on(tmp_path):
    with pytest.raises(ParameterError, match="dataset='gtzan' needs root=PATH"):
        system.load_corpus(system.load_budget("smoke"), tmp_path, dims=2, dataset="gtzan")


def test_independent_listener_and_the_grid_check():
    frame = features_frame()
    rng = np.random.default_rng(3)
    independent = rng.normal(size=(len(frame), 4))
    metrics, traces, _ = system.evaluate(frame, {("rule", 0): GridRulePolicy(**ENV)}, ENV, budget(playbacks=["thesis"]),
                                         layer="pool3", independent=independent)
    assert {"mad_independent", "rating_independent", "closer_agreement_independent"} <= set(metrics.columns)
    assert not np.allclose(metrics.mad, metrics.mad_independent)
    table = system.genre_table(metrics.assign(agent="trained"))
    assert "mad_independent" in table.columns
    with pytest.raises(ParameterError, match=r"100 songs cannot fill a 5\^3 = 125-cell grid"):
        system.check_grid_supports(100, dims=3, levels=5)
    system.check_grid_supports(125, dims=3, levels=5)
    assert 0.10 < system.rating4_share({"dims": 3, "levels": 5, "target": "wider"}) < 0.12
