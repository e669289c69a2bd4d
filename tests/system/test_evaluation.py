import numpy as np
import pandas as pd
import pytest

from musicrec.agents.grid_rule import GridRulePolicy
from musicrec.envs.grid_core import REWARD_TABLES, evaluate_all_targets
from musicrec.errors import ParameterError
from musicrec.system.evaluation import (
    THESIS_TABLE1,
    SystemTrace,
    check_compatible,
    per_genre,
    play_episodes,
    run_agent,
    target_metrics,
)
from musicrec.system.playback import Playback
from musicrec.system.song_grid import SongGrid
from musicrec.users.perceptual import PerceptualListener

ENV = {"dims": 2, "levels": 5, "target": "wider", "reward": "bullseye", "obs": "grid", "action": "flat",
       "episode_length": 21}


@pytest.fixture(scope="module")
def corpus():
    rng = np.random.default_rng(0)
    genres = np.repeat(["blues", "classical", "jazz"], 20)
    full = rng.normal(size=(3, 8))[np.repeat(np.arange(3), 20)] + rng.normal(size=(60, 8))
    grid = SongGrid(full[:, :2], levels=5)
    listeners = {"perceptual": PerceptualListener(full, genres=genres),
                 "genre_aware": PerceptualListener(full, genres=genres, genre_bonus=1)}
    return grid, listeners, genres


def test_agent_feedback_is_the_environment_feedback():
    policy = GridRulePolicy(**ENV)
    cells = np.array([0, 7, 7, 24, 12, 3])
    trajectories = run_agent(policy, cells, **ENV)
    returns = REWARD_TABLES["bullseye"][trajectories.ideal_rating].sum(axis=1)
    reference = evaluate_all_targets(GridRulePolicy(**ENV), targets=cells, **ENV)
    np.testing.assert_array_equal(returns, reference.returns)
    np.testing.assert_array_equal(trajectories.positions[1], trajectories.positions[2])  # same cell, same search


def test_constant_policy_known_steps(corpus):
    grid, listeners, genres = corpus

    def stay(obs, state, start):
        return np.full(len(obs), 6), state

    songs = np.arange(grid.n_songs)
    trajectories = run_agent(stay, grid.song_cells, **ENV)
    assert (trajectories.positions == 6).all()
    trace = play_episodes(trajectories, grid, songs, listeners, Playback("thesis"))
    metrics = target_metrics(trace, genres)
    on_cell = grid.song_cells == 6
    assert (metrics.steps_to_cell[on_cell] == 1).all() and metrics.steps_to_cell[~on_cell].isna().all()
    assert (metrics.repeat_rate == 1).all() and (metrics.distinct_songs == 1).all()
    rep = grid.representatives[6]
    assert (metrics.steps_to_song[songs == rep] == 1).all()
    np.testing.assert_allclose(metrics.genre_fraction, (genres == genres[rep]).astype(float))
    # the played song's rating is the listener's, the ideal rating the grid user's of cell 6
    np.testing.assert_array_equal(trace.ratings["perceptual"][:, 0], listeners["perceptual"].rate(songs, rep))
    expected_mad = np.abs(trace.ideal_rating[:, 0] - trace.ratings["perceptual"][:, 0])
    np.testing.assert_allclose(metrics.mad, expected_mad)


def test_hand_made_trace_metrics():
    trace = SystemTrace(
        playback="thesis", target_songs=np.array([0]), target_cells=np.array([4]), start_songs=np.array([2]),
        positions=np.array([[1, 4, 4, 3]]), songs=np.array([[2, 0, 0, 1]]),
        ideal_rating=np.array([[2, 4, 4, 3]]), ideal_closer=np.array([[True, True, False, False]]),
        ratings={"perceptual": np.array([[1, 4, 4, 0]])},
        closer={"perceptual": np.array([[False, True, False, False]])})
    row = target_metrics(trace, np.array(["a", "b", "a"])).iloc[0]
    assert row.mad == pytest.approx((1 + 0 + 0 + 3) / 4)
    assert row.closer_agreement == pytest.approx(3 / 4)
    assert row.steps_to_cell == 2 and row.steps_to_top == 2 and row.steps_to_song == 2
    assert row.steps_to_genre == 1 and row.genre_fraction == pytest.approx(3 / 4)
    assert row.repeat_rate == pytest.approx(1 / 3) and row.distinct_songs == 3


def test_per_genre_means_and_thesis_column(corpus):
    grid, listeners, genres = corpus
    songs = np.arange(grid.n_songs)
    trajectories = run_agent(GridRulePolicy(**ENV), grid.song_cells, **ENV)
    metrics = pd.concat([target_metrics(play_episodes(trajectories, grid, songs, listeners, Playback(name)), genres)
                         for name in ("thesis", "distinct")])
    table = per_genre(metrics, genres=["blues", "classical", "jazz"])
    assert table.genre.tolist() == ["blues", "classical", "jazz", "all"] * 2
    assert table.playback.tolist() == ["thesis"] * 4 + ["distinct"] * 4
    thesis = metrics[metrics.playback == "thesis"]
    blues = table[(table.playback == "thesis") & (table.genre == "blues")].iloc[0]
    assert blues.mad == pytest.approx(thesis[thesis.genre == "blues"].mad.mean())
    assert blues.thesis_mad == THESIS_TABLE1["blues"] and blues.songs == 20
    everything = table[(table.playback == "thesis") & (table.genre == "all")].iloc[0]
    assert everything.mad == pytest.approx(thesis.mad.mean()) and everything.songs == 60
    assert table[table.playback == "distinct"].repeat_rate.eq(0).all()


def test_evaluation_is_deterministic(corpus):
    grid, listeners, genres = corpus
    songs = np.arange(grid.n_songs)
    runs = [target_metrics(play_episodes(run_agent(GridRulePolicy(**ENV), grid.song_cells, **ENV), grid, songs,
                                         listeners, Playback("distinct_rerank", anchor_rating=3)), genres)
            for _ in range(2)]
    pd.testing.assert_frame_equal(*runs)


def test_agent_of_another_grid_is_refused(corpus):
    grid = corpus[0]
    with pytest.raises(ParameterError, match="trained for dims=4, levels=5, but .* dims=2, levels=5"):
        check_compatible(grid, {**ENV, "dims": 4})
    with pytest.raises(ParameterError, match="trained for dims=2, levels=4"):
        check_compatible(grid, {**ENV, "levels": 4})


def test_trajectories_must_match_the_targets(corpus):
    grid, listeners, _ = corpus
    trajectories = run_agent(GridRulePolicy(**ENV), grid.song_cells[:5], **ENV)
    with pytest.raises(ParameterError, match="not run for the cells of these target songs"):
        play_episodes(trajectories, grid, np.arange(1, 6) + 30, listeners, Playback())


@pytest.mark.parametrize("action", ["flat", "factored"])
def test_oracle_names_the_target_cell_every_step(action):
    from musicrec.system.evaluation import oracle_trajectories

    env = {**ENV, "action": action}
    cells = np.arange(25)
    trajectories = oracle_trajectories(cells, **env)
    assert (trajectories.positions == cells[:, None]).all() and (trajectories.ideal_rating == 4).all()
    np.testing.assert_array_equal(trajectories.ideal_closer[:, 0], cells != trajectories.start)
    assert not trajectories.ideal_closer[:, 1:].any()
