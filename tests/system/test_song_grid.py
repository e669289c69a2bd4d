import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicrec.errors import ParameterError
from musicrec.system.song_grid import SongGrid, quantile_edges, song_grid_from_frame
from musicrec.users.grid import GridGeometry


def test_quantile_edges_known_answer():
    np.testing.assert_allclose(quantile_edges(np.arange(10.0)[:, None], 5), [[1.8, 3.6, 5.4, 7.2]])


@settings(max_examples=30, deadline=None)
@given(per_level=st.integers(1, 8), levels=st.integers(2, 6), seed=st.integers(0, 10_000))
def test_each_level_holds_n_over_l_songs_per_feature(per_level, levels, seed):
    rng = np.random.default_rng(seed)
    n = per_level * levels
    coords = np.stack([rng.permutation(n) + rng.uniform(0, 0.5, n) for _ in range(2)], axis=1)
    if n < levels**2:
        coords = np.vstack([coords] * (levels**2 // n + 1))
        per_level *= levels**2 // n + 1
    grid = SongGrid(coords, levels=levels)
    for j in range(2):
        assert np.bincount(grid.song_levels[:, j], minlength=levels).tolist() == [per_level] * levels


def test_cells_follow_the_environment_order():
    rng = np.random.default_rng(1)
    grid = SongGrid(rng.normal(size=(300, 3)), levels=4)
    geometry = GridGeometry(3, 4)
    np.testing.assert_array_equal(geometry.coords[grid.song_cells], grid.song_levels)
    np.testing.assert_array_equal(grid.cells_of(grid.coords), grid.song_cells)
    assert grid.cell_counts.sum() == 300


def test_known_grid_counts_empty_and_shared_cells():
    # 2 levels, 2 features, edges at the medians (2.5 and 2.5): three songs low-low, three high-high
    coords = np.array([[0, 1], [1, 0], [2, 2], [3, 4], [4, 3], [5, 5]], dtype=float)
    grid = SongGrid(coords, levels=2)
    np.testing.assert_allclose(grid.edges, [[2.5], [2.5]])
    assert grid.song_levels.tolist() == [[0, 0]] * 3 + [[1, 1]] * 3
    assert grid.cell_counts.tolist() == [3, 0, 0, 3]
    occupancy = grid.occupancy()
    assert occupancy["empty_cells"] == 2 and occupancy["shared_cells"] == 2
    assert occupancy["songs_in_shared_cells"] == 6 and occupancy["max_songs_per_cell"] == 3
    assert set(grid.songs_in(0)) == {0, 1, 2} and grid.songs_in(1).size == 0
    # centres: the middle quantiles 1.25 and 3.75 of each feature. Cell 0's centre (1.25, 1.25) is 1.27 from
    # songs 0 and 1 and 1.06 from song 2 (2, 2), so song 2 represents cell 0
    assert grid.representatives[0] == 2
    # empty cell (0, 1), centre (1.25, 3.75): songs of cells 0 and 3 are one grid step away; the nearest
    # of them to the centre is song 3 (3, 4), 1.77 away
    assert grid.representatives[1] == 3


def test_representative_is_the_nearest_song_by_the_stated_rule():
    rng = np.random.default_rng(2)
    grid = SongGrid(rng.normal(size=(60, 2)), levels=5)
    ranking = grid.nearest_songs(grid.n_songs)
    for cell in range(grid.n_cells):
        manhattan = np.abs(grid.song_levels - grid.cell_levels[cell]).sum(axis=1)
        euclid = np.linalg.norm(grid.coords - grid.cell_centres[cell], axis=1)
        expected = np.lexsort((np.arange(grid.n_songs), euclid, manhattan))
        np.testing.assert_array_equal(ranking[cell], expected)
        rep = grid.representatives[cell]
        if grid.cell_counts[cell]:
            assert grid.song_cells[rep] == cell
        assert manhattan[rep] == manhattan.min()


def test_nearest_songs_grows_its_ranking_consistently():
    grid = SongGrid(np.random.default_rng(3).normal(size=(40, 2)), levels=3)
    short = grid.nearest_songs(2).copy()
    long = grid.nearest_songs(40)
    np.testing.assert_array_equal(long[:, :2], short)


def test_fewer_songs_than_cells_is_refused():
    with pytest.raises(ParameterError, match=r"24 songs .* 5\*\*2 = 25 cells"):
        SongGrid(np.random.default_rng(0).normal(size=(24, 2)), levels=5)


def test_wrong_feature_dimension_is_refused():
    coords = np.random.default_rng(0).normal(size=(700, 3))
    with pytest.raises(ParameterError, match="coords have 3 features per song, but the grid has dims=4"):
        SongGrid(coords, levels=5, dims=4)
    grid = SongGrid(coords, levels=5)
    with pytest.raises(ParameterError, match="values have 2 features, the grid has dims=3"):
        grid.cells_of(coords[:, :2])


@pytest.mark.parametrize("bad", [np.full((30, 2), np.nan), np.zeros(30), np.zeros((0, 2))])
def test_malformed_coords_are_refused(bad):
    with pytest.raises(ParameterError):
        SongGrid(bad, levels=2)


def test_frame_helper_names_missing_columns():
    import pandas as pd

    frame = pd.DataFrame({"pc1": np.arange(30.0), "pc2": np.arange(30.0)[::-1]})
    assert song_grid_from_frame(frame, ["pc1", "pc2"], levels=5).n_songs == 30
    with pytest.raises(ParameterError, match=r"\['pc3'\]"):
        song_grid_from_frame(frame, ["pc1", "pc3"], levels=5)
