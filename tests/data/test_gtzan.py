"""GTZAN-layout loader on tiny fixture folders made here (.au and .wav, 44.1 kHz stereo, a corrupt file)."""

import warnings

import numpy as np
import pytest
import soundfile as sf

from musicrec.data.gtzan import GenreCollection, dataset_table, find_genre_root
from musicrec.errors import ParameterError


def make_gtzan(root, *, layout="genres", suffix=".au", genres=("blues", "jazz"), per_genre=2, seconds=2.0,
               sr=44100, corrupt=None):
    """Write a GTZAN-like folder: sines, stereo; ``corrupt`` names a file to fill with garbage."""
    base = root / layout if layout != "." else root
    t = np.arange(int(seconds * sr)) / sr
    for g, genre in enumerate(genres):
        (base / genre).mkdir(parents=True)
        for i in range(per_genre):
            tone = 0.3 * np.sin(2 * np.pi * (220 * (g + 1) + 10 * i) * t)
            fmt = "AU" if suffix == ".au" else "WAV"
            sf.write(base / genre / f"{genre}.{i:05d}{suffix}", np.stack([tone, tone], axis=1), sr, format=fmt)
    if corrupt:
        (base / corrupt.split(".")[0] / corrupt).write_bytes(b"RIFF\x00\x00not really a wave file" * 10)
    return base


@pytest.mark.parametrize("layout", ["genres", "genres_original", "Data/genres_original", "."])
def test_finds_the_genre_folders_in_every_layout(tmp_path, layout):
    base = make_gtzan(tmp_path, layout=layout, suffix=".wav")
    assert find_genre_root(tmp_path) == base.resolve()


def test_labels_from_folders_and_audio_normalised(tmp_path):
    make_gtzan(tmp_path, suffix=".au")
    gtzan = GenreCollection.open(tmp_path)
    table = gtzan.table()
    assert list(table.genre) == ["blues", "blues", "jazz", "jazz"]
    assert list(table.track_id) == ["blues.00000", "blues.00001", "jazz.00000", "jazz.00001"]
    audio = gtzan.load(table.path[0])
    assert audio.dtype == np.float32 and audio.shape == (22050 * 30,)  # mono, 22.05 kHz, padded to 30 s
    assert np.abs(audio[: 22050]).max() > 0.2 and np.all(audio[22050 * 3:] == 0)


def test_unreadable_file_is_skipped_with_a_warning_and_listed(tmp_path):
    make_gtzan(tmp_path, suffix=".wav", corrupt="jazz.00054.wav")
    gtzan = GenreCollection.open(tmp_path, duration=3.0)
    with pytest.warns(UserWarning, match="jazz.00054.wav"):
        loaded = [row.track_id for row, _ in gtzan.iter_audio()]
    assert "jazz.00054" not in loaded and len(loaded) == 4
    assert [path.name for path, _ in gtzan.skipped] == ["jazz.00054.wav"]


def test_wrong_layout_names_expected_and_found(tmp_path):
    (tmp_path / "music").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ParameterError, match=r"expected genre folders.*genres_original.*found \['music/', 'notes.txt'\]"):
        find_genre_root(tmp_path)
    with pytest.raises(ParameterError, match="does not exist"):
        find_genre_root(tmp_path / "missing")


def test_dataset_table_switch(tmp_path):
    make_gtzan(tmp_path, layout="genres_original", suffix=".wav")
    assert len(dataset_table("gtzan", tmp_path)) == 4
    with pytest.raises(ParameterError, match="dataset='fma'"):
        dataset_table("fma", tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ParameterError, match="metadata.csv"):
            dataset_table("synthetic", tmp_path)


def test_non_finite_and_silent_clips_are_skipped_and_the_rest_still_loaded(tmp_path):
    base = make_gtzan(tmp_path, suffix=".wav", per_genre=3, seconds=1.0, sr=8000)
    bad = 0.1 * np.ones((8000, 2))
    bad[3, 0] = np.nan
    sf.write(base / "blues" / "blues.00000.wav", bad, 8000, subtype="FLOAT")
    sf.write(base / "jazz" / "jazz.00001.wav", np.zeros((8000, 2)), 8000)
    gtzan = GenreCollection.open(tmp_path, duration=1.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = [row.track_id for row, _ in gtzan.iter_audio()]
    assert loaded == ["blues.00001", "blues.00002", "jazz.00000", "jazz.00002"]
    assert [(p.name, "NaN" in r or "silence" in r) for p, r in gtzan.skipped] == [
        ("blues.00000.wav", True), ("jazz.00001.wav", True)]
    assert len(caught) == 2


def test_genre_folders_that_differ_only_by_case_are_refused(tmp_path):
    make_gtzan(tmp_path, suffix=".wav", genres=("blues", "Blues", "jazz"), per_genre=1, seconds=0.5, sr=8000)
    with pytest.raises(ParameterError, match=r"genre folders 'Blues' and 'blues' differ only by case"):
        GenreCollection.open(tmp_path).table()


def test_parse_datasets_checks_and_deduplicates():
    from musicrec.data.gtzan import parse_datasets

    assert parse_datasets("synthetic, real") == ["synthetic", "real"]
    assert parse_datasets(["real", "real", "gtzan"]) == ["real", "gtzan"]
    with pytest.raises(ParameterError, match="dataset='spotify'"):
        parse_datasets("real,spotify")
    with pytest.raises(ParameterError, match="names no corpus"):
        parse_datasets(" , ")


def test_clip_groups_and_their_counts():
    import pandas as pd

    from musicrec.data.gtzan import clip_groups, group_counts

    table = pd.DataFrame({"track_id": ["m.0", "m.1", "m.2", "r.0"], "genre": ["metal", "metal", "metal", "rock"],
                          "track": ["a", "a", "b", "c"], "artist": ["x", "x", "x", "y"]})
    tracks = table[["track_id", "genre"]].iloc[[3, 0, 1, 2]].reset_index(drop=True)
    groups = clip_groups("real", table, tracks)
    assert list(groups.columns) == ["clip", "track", "artist"]
    assert groups.track.tolist() == ["c", "a", "a", "b"]
    counts = group_counts(tracks, groups)
    assert counts.genre.tolist() == ["metal", "rock"]
    assert counts.set_index("genre").loc["metal"].tolist() == [3, 2, 1]  # clips, distinct tracks, artists
    with pytest.raises(ParameterError, match=r"lacks the grouping column\(s\) \['groove'\]"):
        clip_groups("synthetic", table, tracks)
