import numpy as np
import pytest

from musicrec.errors import ParameterError
from musicrec.system.playback import BatchedPlayer, Playback
from musicrec.system.song_grid import SongGrid
from musicrec.users.perceptual import PerceptualListener


@pytest.fixture(scope="module")
def corpus():
    rng = np.random.default_rng(0)
    full = rng.normal(size=(80, 6))
    grid = SongGrid(full[:, :2] + 0.1 * rng.normal(size=(80, 2)), levels=4)
    return grid, PerceptualListener(full)


def _player(corpus, name, n=5, **kwargs):
    grid, listener = corpus
    start = np.full(n, grid.representatives[0])
    return BatchedPlayer(Playback(name, **kwargs), grid, start, np.zeros(n), full_distance=listener.distance)


def test_thesis_plays_the_representative_and_repeats(corpus):
    grid, _ = corpus
    player = _player(corpus, "thesis", n=grid.n_cells)
    positions = np.arange(grid.n_cells)
    for _ in range(3):
        songs = player.choose(positions)
        np.testing.assert_array_equal(songs, grid.representatives)
        player.observe(songs, np.zeros(grid.n_cells))


def test_distinct_walks_down_the_ranking_and_never_repeats(corpus):
    grid, _ = corpus
    player = _player(corpus, "distinct", n=3)
    cells = np.array([5, 5, 9])
    played = []
    for _ in range(21):
        songs = player.choose(cells)
        player.observe(songs, np.zeros(3))
        played.append(songs)
    played = np.array(played).T
    start = grid.representatives[0]
    for row, cell in zip(played, cells):
        assert len(set(row)) == 21 and start not in row
        expected = [s for s in grid.nearest_songs(25)[cell] if s != start][:21]
        assert row.tolist() == expected


def test_rerank_waits_for_an_anchor_then_plays_the_candidate_nearest_to_it(corpus):
    grid, listener = corpus
    k = 6
    player = _player(corpus, "rerank", n=2, rerank_k=k, anchor_rating=4)
    cells = np.array([3, 12])
    before = player.choose(cells)
    np.testing.assert_array_equal(before, grid.representatives[cells])
    anchor = np.array([17, 40])
    player.observe(anchor, [4, 3])  # only the first episode has an anchor rated 4
    after = player.choose(cells)
    candidates = grid.nearest_songs(k)[cells[0]]
    assert after[0] == candidates[np.argmin(listener.distance(anchor[0], candidates))]
    assert after[1] == grid.representatives[cells[1]]


def test_distinct_rerank_excludes_played_songs(corpus):
    grid, listener = corpus
    player = _player(corpus, "distinct_rerank", n=1, rerank_k=4, anchor_rating=0)
    seen = [grid.representatives[0]]
    for _ in range(15):
        song = player.choose([7])[0]
        fresh = [s for s in grid.nearest_songs(40)[7] if s not in seen][:4]
        anchor = player.anchor[0]
        assert song == fresh[int(np.argmin(listener.distance(anchor, np.array(fresh))))]
        player.observe([song], [listener.rate(0, song)])
        seen.append(song)
    assert len(set(seen)) == len(seen)


def test_bad_playbacks():
    with pytest.raises(ParameterError, match="playback='shuffle' is not one of"):
        Playback("shuffle")
    with pytest.raises(ParameterError, match="rerank_k=0 must be >= 1"):
        Playback("rerank", rerank_k=0)
    grid = SongGrid(np.random.default_rng(0).normal(size=(30, 2)), levels=5)
    with pytest.raises(ParameterError, match="needs full_distance"):
        BatchedPlayer(Playback("rerank"), grid, [0], [0])
