import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicrec.errors import ParameterError
from musicrec.users.grid import PERCENTILES, GridGeometry, GridUser, grid_geometry

GRIDS = st.tuples(st.integers(1, 4), st.integers(2, 6), st.sampled_from(["top", "wider"])).filter(
    lambda g: g[1] ** g[0] <= 1296)


def _direct_ratings(geometry, target):
    """The rule of the spec written out for one target, without the per-class tables."""
    positions = np.arange(geometry.n_positions)
    coords = np.array(np.unravel_index(positions, geometry.shape)).T
    dist = np.abs(coords - coords[target]).sum(axis=1)
    e = np.percentile(dist, PERCENTILES[geometry.target_mode])
    return np.select([dist <= e[1], dist <= e[2], dist <= e[3], dist <= e[4]], [4, 3, 2, 1], 0)


@settings(max_examples=40, deadline=None)
@given(GRIDS, st.data())
def test_ratings_follow_the_percentile_rule(grid, data):
    geometry = grid_geometry(*grid)
    target = data.draw(st.integers(0, geometry.n_positions - 1))
    ratings = geometry.ratings(target)
    np.testing.assert_array_equal(ratings, _direct_ratings(geometry, target))
    assert ratings[target] == 4
    # ratings never increase with distance
    dist = geometry.distance(np.arange(geometry.n_positions), target)
    order = np.argsort(dist, kind="stable")
    assert np.all(np.diff(ratings[order]) <= 0)


@pytest.mark.parametrize("dims, levels", [(1, 5), (2, 5), (3, 5), (4, 5), (2, 7), (3, 4)])
def test_top_target_has_exactly_one_rating_four(dims, levels):
    table = grid_geometry(dims, levels, "top").rating_table()
    np.testing.assert_array_equal((table == 4).sum(axis=1), 1)
    np.testing.assert_array_equal(np.flatnonzero(np.diag(table) == 4), np.arange(levels**dims))


def test_wider_target_in_2d_by_hand():
    geometry = grid_geometry(2, 5, "wider")
    # centre target: distances 0 (1), 1 (4), 2 (8), 3 (8), 4 (4); e = [0, 1, 1, 2, 2, 4]
    np.testing.assert_allclose(geometry.edges[12], [0, 1, 1, 2, 2, 4])
    np.testing.assert_array_equal(geometry.rating_by_distance[12], [4, 4, 2, 0, 0, 0, 0, 0, 0])
    # corner target: e = [0, 1, 2, 3, 4, 8]
    np.testing.assert_allclose(geometry.edges[0], [0, 1, 2, 3, 4, 8])
    np.testing.assert_array_equal(geometry.rating_by_distance[0], [4, 4, 3, 2, 1, 0, 0, 0, 0])
    assert len(geometry.top_positions(12)) == 5 and len(geometry.top_positions(0)) == 3


def test_closer_is_strict_and_relative_to_the_previous_position():
    user = GridUser(grid_geometry(2, 5, "top"))
    start = user.start(target=(0, 0))
    assert start.closer is False and start.rating == user.geometry.ratings(0)[12]
    for position, closer in [(12, False), (7, True), (11, False), (5, True), (5, False), (24, False)]:
        feedback = user.respond(position)
        assert feedback.closer is closer
        user.update(position, feedback)


def test_same_seed_same_targets():
    def targets(seed):
        user = GridUser(grid_geometry(3, 5, "wider"), rng=np.random.default_rng(seed))
        return [(user.start(), user.target)[1] for _ in range(20)]

    assert targets(1) == targets(1)
    assert targets(1) != targets(2)


@pytest.mark.parametrize("kwargs, message", [
    ({"dims": 0}, "dims=0 must be >= 1"),
    ({"levels": 1}, "levels=1 must be >= 2"),
    ({"target": "widest"}, "target='widest' is not one of"),
    ({"dims": 12, "levels": 5}, "dims=12, levels=5 gives more than"),
])
def test_bad_grid_is_named(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        GridGeometry(**kwargs)


def test_target_outside_the_grid_is_named():
    user = GridUser(grid_geometry(2, 5, "top"))
    with pytest.raises(ParameterError, match="target=25 is outside the grid"):
        user.start(target=25)
    with pytest.raises(ParameterError, match=r"target=\(0, 5\) is outside the grid"):
        user.start(target=(0, 5))
    with pytest.raises(ParameterError, match=r"target=\(1, 2, 3\) must be a flat index or 2"):
        user.start(target=(1, 2, 3))
