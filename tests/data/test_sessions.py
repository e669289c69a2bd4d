"""MSSD schema and loaders: files load unchanged, chunks never split a session, bad logs are named."""

import numpy as np
import pandas as pd
import pytest

from musicrec.data.session_simulator import SimulatorConfig, simulate_sessions
from musicrec.data.sessions import (
    CONTEXT_TYPES,
    SESSION_COVARIATES,
    LOG_COLUMNS,
    MAX_HALF,
    N_SPECIAL,
    PAD,
    TRACK_FEATURE_COLUMNS,
    UNK,
    TrackVocabulary,
    check_tracks,
    encode_sessions,
    session_covariates,
    feature_matrix,
    iter_log_chunks,
    read_log,
    read_track_features,
    split_sessions,
    validate_log,
)
from musicrec.errors import ParameterError


@pytest.fixture(scope="module")
def sim():
    return simulate_sessions(SimulatorConfig(n_sessions=60, n_users=20, n_tracks=100, n_playlists=5), seed=3)


@pytest.fixture(scope="module")
def files(sim, tmp_path_factory):
    return sim.write(tmp_path_factory.mktemp("mssd"))


def _mini_log():
    """Two sessions written like the public log_mini.csv (booleans as True/False, mode strings)."""
    rows = []
    for sid, length in (("0_a", 3), ("0_b", 2)):
        for position in range(1, length + 1):
            rows.append({"session_id": sid, "session_position": position, "session_length": length,
                         "track_id_clean": f"t_{sid}{position}", "skip_1": False, "skip_2": position == 2,
                         "skip_3": position == 2, "not_skipped": position != 2, "context_switch": 0,
                         "no_pause_before_play": 1, "short_pause_before_play": 0, "long_pause_before_play": 0,
                         "hist_user_behavior_n_seekfwd": 0, "hist_user_behavior_n_seekback": 0,
                         "hist_user_behavior_is_shuffle": False, "hour_of_day": 16, "date": "2018-07-15",
                         "premium": True, "context_type": "editorial_playlist",
                         "hist_user_behavior_reason_start": "trackdone",
                         "hist_user_behavior_reason_end": "trackdone"})
    return pd.DataFrame(rows)[list(LOG_COLUMNS)]


def test_schema_has_the_mssd_columns():
    assert len(LOG_COLUMNS) == 21 and LOG_COLUMNS[3] == "track_id_clean"
    assert len(TRACK_FEATURE_COLUMNS) == 30 and TRACK_FEATURE_COLUMNS[-1] == "acoustic_vector_7"


def test_simulated_files_load_unchanged(sim, files):
    log = read_log(files / "log_simulated.csv")
    assert list(log.columns) == list(LOG_COLUMNS)
    pd.testing.assert_frame_equal(log, sim.log, check_dtype=False)
    features = read_track_features(files / "tf_simulated.csv")
    assert list(features.columns) == list(TRACK_FEATURE_COLUMNS)
    assert set(features["mode"]) <= {"major", "minor"}
    check_tracks(log, features)


def test_mini_format_with_true_false_strings(tmp_path):
    path = tmp_path / "log_mini.csv"
    _mini_log().to_csv(path, index=False)
    assert "True" in path.read_text()
    log = read_log(path)
    assert log.skip_2.dtype == bool and log.skip_2.tolist() == [False, True, False, False, True]


@pytest.mark.parametrize("chunksize", [1, 4, 13, 1000])
def test_chunks_never_split_a_session(sim, tmp_path, chunksize):
    small = sim.log[sim.log.session_id.isin(pd.unique(sim.log.session_id)[:6])]
    small.to_csv(tmp_path / "log.csv", index=False)
    chunks = list(iter_log_chunks(tmp_path / "log.csv", chunksize=chunksize))
    seen = [set(chunk.session_id) for chunk in chunks]
    for a in range(len(seen)):
        for b in range(a + 1, len(seen)):
            assert not seen[a] & seen[b]
    assert sum(len(chunk) for chunk in chunks) == len(small)
    assert read_log(tmp_path / "log.csv", chunksize=chunksize).shape == small.shape


def test_max_sessions_reads_the_first_sessions(files, sim):
    log = read_log(files / "log_simulated.csv", max_sessions=7, chunksize=13)
    assert log.session_id.nunique() == 7
    assert list(pd.unique(log.session_id)) == list(pd.unique(sim.log.session_id)[:7])


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "log.csv"
    _mini_log().drop(columns="skip_2").to_csv(path, index=False)
    with pytest.raises(ParameterError, match=r"lacks the column\(s\) \['skip_2'\]"):
        read_log(path)
    path = tmp_path / "tf.csv"
    pd.DataFrame({"track_id": ["t_1"], "duration": [200.0]}).to_csv(path, index=False)
    with pytest.raises(ParameterError, match="tf.csv lacks the column.*release_year"):
        read_track_features(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        read_log(tmp_path / "nope.csv")


def test_inconsistent_length_is_named():
    log = _mini_log()
    log.loc[1, "session_length"] = 4
    with pytest.raises(ParameterError, match=r"session 0_a has inconsistent session_length \(3 and 4\)"):
        validate_log(log)


def test_bad_positions_are_named():
    log = _mini_log()
    log.loc[2, "session_position"] = 2
    with pytest.raises(ParameterError, match=r"session 0_a \(session_length 3\) has positions \[1, 2, 2\]"):
        validate_log(log)
    log = _mini_log().drop(index=4)
    with pytest.raises(ParameterError, match=r"session 0_b \(session_length 2\) has positions \[1\]"):
        validate_log(log)
    log = _mini_log()
    log.loc[0, "session_position"] = 9
    with pytest.raises(ParameterError, match="session 0_a has session_position 9 outside 1..3"):
        validate_log(log)
    log = _mini_log().iloc[[0, 3, 1, 2, 4]]
    with pytest.raises(ParameterError, match="rows of session 0_a are not contiguous"):
        validate_log(log)


def test_track_missing_from_features_is_named():
    log = _mini_log()
    features = pd.DataFrame({"track_id": log.track_id_clean.drop(index=3)})
    with pytest.raises(ParameterError, match=r"track t_0_b1 \(session 0_b, position 1\) is missing"):
        check_tracks(log, features)


def test_vocabulary_orders_by_plays_and_maps_unknown_tracks():
    log = pd.DataFrame({"track_id_clean": ["b", "a", "b", "c", "a", "b"]})
    vocab = TrackVocabulary.from_log(log)
    assert list(vocab.track_ids) == ["b", "a", "c"] and len(vocab) == N_SPECIAL + 3
    assert vocab.encode(["a", "zzz"]).tolist() == [N_SPECIAL + 1, UNK]
    assert list(vocab.decode([N_SPECIAL, UNK])) == ["b", "<UNK>"]
    assert list(TrackVocabulary.from_log(log, max_tracks=1).track_ids) == ["b"]


def test_encode_sessions_splits_halves():
    log = _mini_log()
    vocab = TrackVocabulary.from_log(log)
    arrays = encode_sessions(log, vocab, skip_probability=np.arange(5) / 10)
    # session a: length 3 -> first half position 1, second half positions 2, 3
    assert arrays.n_first.tolist() == [1, 1] and arrays.n_second.tolist() == [2, 1]
    assert list(vocab.decode(arrays.second_tracks[0, :2])) == ["t_0_a2", "t_0_a3"]
    assert arrays.second_skips[0, :2].tolist() == [True, False]
    assert arrays.second_tracks[0, 2:].tolist() == [PAD] * (MAX_HALF - 2)
    np.testing.assert_allclose(arrays.skip_probability[0, :2], [0.1, 0.2])
    assert arrays.second_mask.sum() == 3 and arrays.first_mask.sum() == 2


def test_feature_matrix_standardises_and_encodes_mode(sim):
    matrix = feature_matrix(sim.track_features)
    assert matrix.shape == (len(sim.track_features), 29)
    np.testing.assert_allclose(matrix.mean(axis=0), 0, atol=1e-5)


def test_split_is_seeded_and_disjoint():
    a = split_sessions(50, 0.2, np.random.default_rng(1))
    b = split_sessions(50, 0.2, np.random.default_rng(1))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert len(a[1]) == 10 and not set(a[0]) & set(a[1])
    with pytest.raises(ParameterError, match="test_fraction"):
        split_sessions(50, 1.5, np.random.default_rng(1))


def test_session_covariates_from_the_first_rows():
    log = _mini_log().astype({"premium": object, "hist_user_behavior_is_shuffle": object})
    log.loc[log.session_id == "0_b", ["premium", "hist_user_behavior_is_shuffle", "context_type"]] = [
        "False", "True", "radio"]  # as the mini files write them
    arrays = encode_sessions(log, TrackVocabulary.from_log(log))
    assert arrays.covariates.shape == (2, len(SESSION_COVARIATES)) == (2, 2 + len(CONTEXT_TYPES))
    expected = np.zeros((2, len(SESSION_COVARIATES)), dtype=np.float32)
    expected[0, SESSION_COVARIATES.index("premium")] = 1
    expected[0, SESSION_COVARIATES.index("context_editorial_playlist")] = 1
    expected[1, SESSION_COVARIATES.index("is_shuffle")] = 1
    expected[1, SESSION_COVARIATES.index("context_radio")] = 1
    np.testing.assert_array_equal(arrays.covariates, expected)
    # subsets keep them aligned; a log without the columns has none
    np.testing.assert_array_equal(arrays.subset([1]).covariates, expected[[1]])
    assert session_covariates(log.drop(columns="context_type")) is None


def test_empty_inputs_get_a_clear_error(tmp_path):
    header_only = tmp_path / "log_header.csv"
    header_only.write_text(",".join(LOG_COLUMNS) + "\n")
    with pytest.raises(ParameterError, match="log_header.csv holds no sessions"):
        read_log(header_only)
    with pytest.raises(ParameterError, match="no track-features file was given"):
        read_track_features([])
    features = tmp_path / "tf_header.csv"
    features.write_text(",".join(TRACK_FEATURE_COLUMNS) + "\n")
    with pytest.raises(ParameterError, match="tf_header.csv hold no tracks"):
        read_track_features(features)
    with pytest.raises(ParameterError, match="is a folder"):
        read_log(tmp_path)


def test_prepare_sessions_holds_validation_and_test_sessions_out(sim):
    from musicrec.data.sessions import prepare_sessions, vocabulary_features

    data = prepare_sessions(sim.log, sim.track_features, source="simulated", key={"source": "simulated"},
                            split_seed=0, test_fraction=0.2, validation_fraction=0.25,
                            skip_probability=sim.skip_probability)
    ids = [set(part.session_id) for part in (data.train, data.valid, data.test)]
    assert not ids[0] & ids[1] and not ids[0] & ids[2] and not ids[1] & ids[2]
    assert sum(map(len, ids)) == 60 and len(data.test) == 12 and len(data.valid) == 12
    assert data.key == {"source": "simulated", "split_seed": 0, "test_fraction": 0.2,
                        "validation_fraction": 0.25, "max_tracks": None}
    assert data.summary["validation_sessions"] == 12 and data.test_kind is None
    # the vocabulary is that of the training and validation sessions; its features are the tracks' rows
    seen = set(sim.log[~sim.log.session_id.isin(ids[2])].track_id_clean)
    assert set(data.vocab.track_ids) == seen
    features = vocabulary_features(data.vocab, sim.track_features)
    assert features.shape == (len(data.vocab), 29) and not features[:N_SPECIAL].any()
    again = prepare_sessions(sim.log, sim.track_features, source="simulated", key={}, split_seed=0,
                             test_fraction=0.2, validation_fraction=0.25)
    assert np.array_equal(again.test.session_id, data.test.session_id)
