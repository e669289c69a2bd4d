import logging
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicrec.data import catalog as catalog_module
from musicrec.data.catalog import (
    AUDIO_FEATURES,
    CATALOG_COLUMNS,
    COPULA_CORRELATION,
    GENRE_PROFILES,
    GENRES,
    VALID_RANGES,
    invalid_rows,
    load_catalog,
    normalise_features,
    synthetic_catalog,
)
from musicrec.errors import ParameterError


@pytest.fixture(scope="module")
def big():
    return synthetic_catalog(20_000, seed=3)


def test_schema_and_raw_units(big):
    assert tuple(big.columns) == CATALOG_COLUMNS
    assert len(big) == 20_000 and big.track_id.is_unique
    assert big.track_id.str.len().eq(22).all()
    assert not invalid_rows(big)
    assert set(big.key.unique()) == set(range(12)) and set(big["mode"].unique()) == {0, 1}
    assert big.loudness.between(-60, 0).all() and big.tempo.between(50, 220).all()
    counts = big.track_genre.value_counts()
    assert set(counts.index) == set(GENRES) and counts.max() - counts.min() <= 1


def test_same_seed_same_catalog():
    pd.testing.assert_frame_equal(synthetic_catalog(300, seed=5), synthetic_catalog(300, seed=5))
    assert not synthetic_catalog(300, seed=5).equals(synthetic_catalog(300, seed=6))


def test_genre_means_follow_the_profiles(big):
    means = big.groupby("track_genre")[["danceability", "energy", "acousticness", "valence"]].mean()
    for feature in means.columns:
        # Beta(m c, (1 - m) c) has mean m; 2,000 tracks per genre give a standard error < 0.01
        assert np.allclose(means[feature], GENRE_PROFILES.loc[means.index, feature], atol=0.03), feature
    assert means.loc["classical", "acousticness"] > 0.8 > 0.1 > means.loc["metal", "acousticness"]
    loud = big.groupby("track_genre").loudness.mean()
    assert loud["metal"] > loud["pop"] > loud["classical"]


def test_copula_correlations_appear_within_a_genre(big):
    assert np.linalg.eigvalsh(COPULA_CORRELATION).min() > 0
    rock = big[big.track_genre == "rock"]
    assert rock.energy.corr(rock.loudness) > 0.5
    assert rock.energy.corr(rock.acousticness) < -0.4
    assert abs(rock.key.corr(rock.energy)) < 0.1


def test_docstring_table_is_the_profile_table():
    rows = {}
    for line in catalog_module.__doc__.splitlines():
        parts = line.split()
        if parts and parts[0] in GENRES and len(parts) == 13:
            rows[parts[0]] = parts
    assert set(rows) == set(GENRES)
    for genre, parts in rows.items():
        profile = GENRE_PROFILES.loc[genre]
        numbers = [float(x) for x in parts[1:8]]
        assert numbers == list(profile.iloc[:7]), genre
        loud_mean, loud_sd = map(float, parts[8].split("/"))
        tempo_mean, tempo_sd = map(float, parts[9].split("/"))
        assert (loud_mean, loud_sd, tempo_mean, tempo_sd) == (
            profile.loudness_mean, profile.loudness_sd, profile.tempo_mean, profile.tempo_sd)
        assert [float(x) for x in parts[10:]] == [profile.p_major, profile.popularity_mean,
                                                  profile.duration_median_min]


def test_genre_subset():
    frame = synthetic_catalog(30, seed=0, genres=["pop", "jazz", "metal"])
    assert sorted(frame.track_genre.value_counts().tolist()) == [10, 10, 10]


@pytest.mark.parametrize("kwargs, message", [
    ({"n_tracks": 5}, "n_tracks=5 must be >= 10"),
    ({"n_tracks": 20, "genres": ["pop", "polka"]}, r"genres \['polka'\] have no synthetic profile"),
    ({"n_tracks": 20, "genres": "pop"}, "genres='pop' must be a non-empty list"),
    ({"n_tracks": 20, "seed": -1}, "seed=-1 must be >= 0"),
])
def test_bad_synthetic_arguments(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        synthetic_catalog(**kwargs)


def test_normalise_known_answer():
    row = {"danceability": 0.25, "energy": 1.0, "key": 11, "loudness": -30.0, "mode": 1,
           "speechiness": 0.0, "acousticness": 0.5, "instrumentalness": 0.1, "liveness": 0.9,
           "valence": 0.3, "tempo": 125.0}
    loud_peak = {**row, "loudness": 3.0, "tempo": 280.0, "key": 0}
    values = normalise_features(pd.DataFrame([row, loud_peak]))
    assert values.shape == (2, 11) and values.dtype == np.float32
    np.testing.assert_allclose(values[0], [0.25, 1, 1, 0.5, 1, 0, 0.5, 0.1, 0.9, 0.3, 0.5], atol=1e-6)
    assert values[1, AUDIO_FEATURES.index("loudness")] == 1.0
    assert values[1, AUDIO_FEATURES.index("tempo")] == 1.0 and values[1, 2] == 0.0


@settings(max_examples=20, deadline=None)
@given(n=st.integers(10, 200), seed=st.integers(0, 2**31))
def test_any_synthetic_catalog_is_valid_and_normalises_into_unit_cube(n, seed):
    frame = synthetic_catalog(n, seed=seed)
    assert not invalid_rows(frame)
    values = normalise_features(frame)
    assert values.shape == (n, 11) and values.min() >= 0 and values.max() <= 1


def test_normalise_bad_input():
    with pytest.raises(ParameterError, match=r"lacks the feature column\(s\) \['tempo'\]"):
        normalise_features(synthetic_catalog(20).drop(columns="tempo"))
    frame = synthetic_catalog(20)
    frame.loc[[1, 4], "energy"] = np.nan
    with pytest.raises(ParameterError, match=r"NaN features \(column: rows\) \{'energy': 2\}"):
        normalise_features(frame)


# -- loading a real file ---------------------------------------------------------------------------
def _write(frame, tmp_path, name="tracks.csv"):
    path = tmp_path / name
    frame.to_csv(path)  # an index column, as the public Kaggle file has ("Unnamed: 0")
    return path


def test_round_trip(tmp_path):
    frame = synthetic_catalog(200, seed=1)
    loaded = load_catalog(_write(frame, tmp_path))
    pd.testing.assert_frame_equal(loaded, frame, check_dtype=False)


def test_genre_column_key_names_and_extra_columns(tmp_path):
    frame = synthetic_catalog(50, seed=2).rename(columns={"track_genre": "genre"})
    names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    frame["key"] = [names[k] for k in frame.key]
    frame["mode"] = frame["mode"].map({1: "Major", 0: "Minor"})
    frame["artist_name"] = "someone"
    loaded = load_catalog(_write(frame, tmp_path))
    assert loaded.key.tolist() == [names.index(k) for k in frame.key]
    assert set(loaded["mode"]) <= {0, 1} and loaded.track_genre.equals(frame.genre)
    assert list(loaded.columns) == [*CATALOG_COLUMNS, "artist_name"]


def test_missing_columns_are_named(tmp_path):
    frame = synthetic_catalog(20).drop(columns=["tempo", "valence", "track_genre"])
    with pytest.raises(ParameterError, match=r"lacks the column\(s\) \['track_genre', 'valence', 'tempo'\]"):
        load_catalog(_write(frame, tmp_path))


def test_invalid_values_are_named_with_row_counts(tmp_path):
    frame = synthetic_catalog(40, seed=4)
    frame.loc[[0, 5, 9], "energy"] = np.nan
    frame.loc[[2, 3], "danceability"] = 1.7
    frame.loc[7, "key"] = 12
    frame.loc[8, "tempo"] = -4.0
    path = _write(frame, tmp_path)
    with pytest.raises(ParameterError) as error:
        load_catalog(path)
    message = str(error.value)
    assert "(40 rows)" in message
    assert "energy: 3 row(s) NaN or not numeric" in message
    assert "danceability: 2 row(s) outside [0, 1]" in message
    assert "key: 1 row(s) not an integer in [0, 11]" in message
    assert "tempo: 1 row(s) outside [0, 300]" in message


def test_drop_invalid_rows_is_logged(tmp_path, caplog):
    frame = synthetic_catalog(40, seed=4)
    frame.loc[[0, 5], "energy"] = np.nan
    frame.loc[9, "loudness"] = -70.0
    with caplog.at_level(logging.WARNING, logger="musicrec.data.catalog"):
        loaded = load_catalog(_write(frame, tmp_path), on_invalid="drop")
    assert len(loaded) == 37
    assert not set(frame.track_id[[0, 5, 9]]) & set(loaded.track_id)
    assert re.search(r"dropped 3 of 40 rows.*energy: 2 row\(s\).*loudness: 1 row\(s\)", caplog.text)


def test_duplicate_track_ids_keep_first(tmp_path, caplog):
    frame = synthetic_catalog(30, seed=0)
    twice = pd.concat([frame, frame.iloc[:4].assign(track_genre="pop")], ignore_index=True)
    with caplog.at_level(logging.INFO, logger="musicrec.data.catalog"):
        loaded = load_catalog(_write(twice, tmp_path))
    assert len(loaded) == 30 and "dropped 4 duplicate track_id" in caplog.text
    assert len(load_catalog(_write(twice, tmp_path), drop_duplicates=False)) == 34


def test_bad_files(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        load_catalog(tmp_path / "missing.csv")
    with pytest.raises(ParameterError, match="on_invalid='ignore'"):
        load_catalog(tmp_path / "missing.csv", on_invalid="ignore")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ParameterError, match="not a readable CSV"):
        load_catalog(empty)


def test_valid_ranges_cover_every_feature():
    assert set(AUDIO_FEATURES) <= set(VALID_RANGES)


def test_command_line_writes_and_checks_a_catalog(tmp_path, capsys):
    from musicrec.cli import main

    path = tmp_path / "tracks.csv"
    assert main(["catalog", "synth", "--tracks", "50", "--seed", "3", "--output", str(path)]) == 0
    pd.testing.assert_frame_equal(load_catalog(path), synthetic_catalog(50, seed=3), check_dtype=False)
    assert main(["catalog", "check", str(path)]) == 0
    assert "50 tracks, 10 genres" in capsys.readouterr().out
    broken = pd.read_csv(path).drop(columns="tempo")
    broken.to_csv(path, index=False)
    assert main(["catalog", "check", str(path)]) == 2
    assert "lacks the column(s) ['tempo']" in capsys.readouterr().err


def test_a_catalog_without_tracks_gets_a_clear_error(tmp_path, capsys):
    from musicrec.cli import main

    path = tmp_path / "tracks.csv"
    path.write_text(",".join(CATALOG_COLUMNS) + "\n")
    with pytest.raises(ParameterError, match="tracks.csv holds no tracks"):
        load_catalog(path)
    assert main(["catalog", "check", str(path)]) == 2
    assert "holds no tracks" in capsys.readouterr().err
    bad = synthetic_catalog(20, seed=0).assign(energy=5.0)  # every row out of range
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ParameterError, match="every one of its rows is invalid"):
        load_catalog(tmp_path / "bad.csv", on_invalid="drop")


def test_stable_track_ids_are_spotify_shaped_and_fixed():
    from musicrec.data.catalog import stable_track_id

    # known answers: the ids of the real catalog's runs depend on them
    assert stable_track_id("pkg:a.ogg") == "nQNOPOBLh9mw29aNW93Dhr"
    assert stable_track_id("freedoom:music/d_e1m1.ogg") == "3tll8qHaVtXXEh3NaOfgWx"
    assert re.fullmatch(r"[0-9A-Za-z]{22}", stable_track_id("")) and type(stable_track_id("x")) is str
