"""Listening sessions in the schema of the Music Streaming Sessions Dataset (MSSD).

The MSSD (Brost, Mehrotra and Jehan, The Web Conference 2019; the WSDM Cup 2019 Spotify Sequential Skip
Prediction Challenge) ships two kinds of CSV files, read here unchanged:

* **session logs** (``training_set/log_*.csv`` and the public ``log_mini.csv``): one row per track play,
  the columns :data:`LOG_COLUMNS`, rows of a session contiguous and ordered by ``session_position``;
* **track features** (``track_features/tf_*.csv`` and ``tf_mini.csv``): one row per track, the columns
  :data:`TRACK_FEATURE_COLUMNS` (``mode`` is the string ``major``/``minor``).

Large logs are read in chunks of rows that never split a session (:func:`iter_log_chunks`); a missing
column, a session with inconsistent length or positions, or a track absent from the features file
raises :class:`~musicrec.errors.ParameterError` naming the column, session or track.

For the models, sessions become right-padded integer arrays (:class:`SessionArrays`): the first half
(positions with ``2 * position <= length``) and the second half that is predicted. Track ids map to
tokens through a :class:`TrackVocabulary` whose first tokens are special (``PAD``, ``SKIP``, ``MASK``,
``UNK``, ``BOS``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from musicrec.errors import ParameterError, check_number

#: Columns of an MSSD session log, in the files' order.
LOG_COLUMNS = (
    "session_id", "session_position", "session_length", "track_id_clean", "skip_1", "skip_2",
    "skip_3", "not_skipped", "context_switch", "no_pause_before_play", "short_pause_before_play",
    "long_pause_before_play", "hist_user_behavior_n_seekfwd", "hist_user_behavior_n_seekback",
    "hist_user_behavior_is_shuffle", "hour_of_day", "date", "premium", "context_type",
    "hist_user_behavior_reason_start", "hist_user_behavior_reason_end",
)
#: Columns of an MSSD track-features file, in the files' order.
TRACK_FEATURE_COLUMNS = (
    "track_id", "duration", "release_year", "us_popularity_estimate", "acousticness",
    "beat_strength", "bounciness", "danceability", "dyn_range_mean", "energy", "flatness",
    "instrumentalness", "key", "liveness", "loudness", "mechanism", "mode", "organism",
    "speechiness", "tempo", "time_signature", "valence",
    *(f"acoustic_vector_{i}" for i in range(8)),
)
#: The numeric track features (``mode`` encoded major = 1, minor = 0).
NUMERIC_TRACK_FEATURES = TRACK_FEATURE_COLUMNS[1:]
#: Boolean columns of the log (``True``/``False`` in the files).
BOOLEAN_LOG_COLUMNS = ("skip_1", "skip_2", "skip_3", "not_skipped", "hist_user_behavior_is_shuffle",
                       "premium")
CONTEXT_TYPES = ("editorial_playlist", "user_collection", "personalized_playlist", "catalog", "radio",
                 "charts")
#: Session-level covariates read from a session's first row (known for the whole session in the challenge):
#: ``premium``, ``hist_user_behavior_is_shuffle`` and a one-hot ``context_type`` (:data:`CONTEXT_TYPES`).
SESSION_COVARIATES = ("premium", "is_shuffle", *(f"context_{c}" for c in CONTEXT_TYPES))

# Special tokens of the vocabulary; tracks start at N_SPECIAL.
PAD, SKIP, MASK, UNK, BOS = range(5)
SPECIAL_TOKENS = ("<PAD>", "<SKIP>", "<MASK>", "<UNK>", "<BOS>")
N_SPECIAL = len(SPECIAL_TOKENS)
#: Longest half of an MSSD session (sessions hold 10-20 tracks, a half at most 10).
MAX_HALF = 10


def _require_columns(columns: Iterable[str], needed: Sequence[str], what: str) -> None:
    columns = set(columns)
    missing = [column for column in needed if column not in columns]
    if missing:
        raise ParameterError(f"{what} lacks the column(s) {missing}")


def _check_file(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if path.is_dir():
        raise ParameterError(f"{what} {path} is a folder, not a file")
    if not path.is_file():
        raise ParameterError(f"{what} {path} does not exist")
    return path


# -- session logs --------------------------------------------------------------------------------
def iter_log_chunks(path: str | os.PathLike, *, chunksize: int = 200_000,
                    columns: Sequence[str] = LOG_COLUMNS) -> Iterator[pd.DataFrame]:
    """Read a session log in chunks of whole sessions.

    Parameters
    ----------
    path : path
        An MSSD log CSV (``log_mini.csv``, ``training_set/log_0_20180715_000000000000.csv``, ...).
    chunksize : int
        Rows read at a time; the last session of a chunk is carried over to the next one, so a
        yielded frame never splits a session (rows of a session are contiguous in MSSD files).
    columns : sequence of str
        Columns the file must hold (named in the error if missing); all columns are kept.

    Yields
    ------
    pd.DataFrame
        Consecutive whole sessions, with the file's columns.
    """
    path = _check_file(path, "session log")
    check_number("chunksize", chunksize, low=1, integer=True)
    carry = None
    try:
        reader = pd.read_csv(path, chunksize=int(chunksize), dtype={"session_id": str, "track_id_clean": str,
                                                                    "date": str})
        for index, chunk in enumerate(reader):
            if index == 0:
                _require_columns(chunk.columns, columns, f"session log {path.name}")
            if carry is not None:
                chunk = pd.concat([carry, chunk], ignore_index=True)
            if chunk.empty:  # a header without rows
                continue
            last = chunk.session_id.iloc[-1]
            tail = (chunk.session_id == last).to_numpy()
            # the rows of the last session (contiguous at the end) may continue in the next chunk
            start = len(chunk) - int(np.argmin(tail[::-1])) if not tail.all() else 0
            carry = chunk.iloc[start:]
            if start:
                yield chunk.iloc[:start].reset_index(drop=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ParameterError(f"session log {path.name} is not a readable CSV: {error}") from None
    except pd.errors.EmptyDataError:
        raise ParameterError(f"session log {path.name} is empty") from None
    if carry is not None and len(carry):
        yield carry.reset_index(drop=True)


def read_log(path: str | os.PathLike, *, max_sessions: int | None = None, chunksize: int = 200_000,
             validate: bool = True) -> pd.DataFrame:
    """Read a session log (whole file, or its first ``max_sessions`` sessions) and check it.

    Returns the file's columns with booleans as ``bool``; see :func:`validate_log` for the checks.
    """
    if max_sessions is not None:
        check_number("max_sessions", max_sessions, low=1, integer=True)
    frames, n = [], 0
    for chunk in iter_log_chunks(path, chunksize=chunksize):
        if max_sessions is not None:
            ids = pd.unique(chunk.session_id)
            if n + len(ids) >= max_sessions:
                keep = set(ids[: max_sessions - n])
                frames.append(chunk[chunk.session_id.isin(keep)])
                n = max_sessions
                break
            n += len(ids)
        frames.append(chunk)
    if not frames or not sum(len(frame) for frame in frames):
        raise ParameterError(f"session log {Path(path).name} holds no sessions (only a header)")
    log = pd.concat(frames, ignore_index=True)
    for column in BOOLEAN_LOG_COLUMNS:
        log[column] = _as_bool(log[column], column, Path(path).name)
    if validate:
        validate_log(log, what=f"session log {Path(path).name}")
    return log


def _as_bool(values: pd.Series, column: str, what: str) -> pd.Series:
    if values.dtype == bool:
        return values
    text = values.astype(str).str.strip().str.lower()
    mapped = text.map({"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False})
    if mapped.isna().any():
        i = int(np.argmax(mapped.isna().to_numpy()))
        raise ParameterError(f"{what} row {i + 1} has {column}={values.iloc[i]!r}; expected True/False")
    return mapped.astype(bool)


def validate_log(log: pd.DataFrame, *, what: str = "session log", complete: bool = True) -> None:
    """Check that every session is consistent; the error names the first bad session.

    Checks: the :data:`LOG_COLUMNS` are present; a session's rows are contiguous and share one
    ``session_length``; positions are integers in ``1..session_length`` without repeats and, with
    ``complete=True``, every position is present and rows are in position order.
    """
    _require_columns(log.columns, LOG_COLUMNS, what)
    if not len(log):
        raise ParameterError(f"{what} holds no sessions")
    sid = log.session_id.astype(str).to_numpy()
    position = pd.to_numeric(log.session_position, errors="coerce").to_numpy(dtype=float)
    length = pd.to_numeric(log.session_length, errors="coerce").to_numpy(dtype=float)
    for name, values in (("session_position", position), ("session_length", length)):
        bad = ~np.isfinite(values) | (values != np.round(values)) | (values < 1)
        if bad.any():
            i = int(np.argmax(bad))
            raise ParameterError(f"{what}: session {sid[i]} has {name}={log[name].iloc[i]!r} (row {i + 1}); "
                                 "it must be a positive integer")
    starts = np.r_[0, np.flatnonzero(sid[1:] != sid[:-1]) + 1]
    run_ids = sid[starts]
    if len(np.unique(run_ids)) != len(run_ids):
        values, counts = np.unique(run_ids, return_counts=True)
        raise ParameterError(f"{what}: the rows of session {values[counts > 1][0]} are not contiguous")
    counts = np.diff(np.r_[starts, len(sid)])
    run = np.repeat(np.arange(len(starts)), counts)
    first_length = length[starts]
    mixed = length != first_length[run]
    if mixed.any():
        i = int(np.argmax(mixed))
        raise ParameterError(f"{what}: session {sid[i]} has inconsistent session_length "
                             f"({int(first_length[run[i]])} and {int(length[i])})")
    outside = position > length
    if outside.any():
        i = int(np.argmax(outside))
        raise ParameterError(f"{what}: session {sid[i]} has session_position {int(position[i])} outside "
                             f"1..{int(length[i])}")
    if complete:
        expected = np.arange(len(sid)) - np.repeat(starts, counts) + 1
        wrong = position != expected
        if wrong.any() or (counts != first_length).any():
            k = run[int(np.argmax(wrong))] if wrong.any() else int(np.argmax(counts != first_length))
            rows = slice(starts[k], starts[k] + counts[k])
            raise ParameterError(
                f"{what}: session {run_ids[k]} (session_length {int(first_length[k])}) has positions "
                f"{position[rows].astype(int).tolist()}; expected 1..{int(first_length[k])} in order")
    else:
        order = pd.DataFrame({"s": sid, "p": position})
        repeated = order.duplicated()
        if repeated.any():
            i = int(np.argmax(repeated.to_numpy()))
            raise ParameterError(f"{what}: session {sid[i]} lists session_position {int(position[i])} twice")


# -- track features ------------------------------------------------------------------------------
def read_track_features(paths: str | os.PathLike | Sequence[str | os.PathLike], *,
                        track_ids: Iterable[str] | None = None, chunksize: int = 500_000) -> pd.DataFrame:
    """Read MSSD track-feature file(s), optionally keeping only ``track_ids`` (read in chunks).

    Returns the :data:`TRACK_FEATURE_COLUMNS` (``mode`` kept as in the file), one row per track.
    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not paths:
        raise ParameterError("no track-features file was given (an MSSD tf_*.csv file or a list of them)")
    wanted = None if track_ids is None else set(map(str, track_ids))
    frames = []
    for path in paths:
        path = _check_file(path, "track-features file")
        try:
            reader = pd.read_csv(path, chunksize=int(chunksize), dtype={"track_id": str, "mode": str})
            for index, chunk in enumerate(reader):
                if index == 0:
                    _require_columns(chunk.columns, TRACK_FEATURE_COLUMNS, f"track-features file {path.name}")
                frames.append(chunk if wanted is None else chunk[chunk.track_id.isin(wanted)])
        except (pd.errors.ParserError, UnicodeDecodeError) as error:
            raise ParameterError(f"track-features file {path.name} is not a readable CSV: {error}") from None
        except pd.errors.EmptyDataError:
            raise ParameterError(f"track-features file {path.name} is empty") from None
    features = pd.concat(frames, ignore_index=True)
    if features.empty and wanted is None:
        names = ", ".join(Path(p).name for p in paths)
        raise ParameterError(f"track-features file(s) {names} hold no tracks (only a header)")
    return features.drop_duplicates("track_id").reset_index(drop=True)


def check_tracks(log: pd.DataFrame, features: pd.DataFrame) -> None:
    """Raise if a track of the log is missing from the features; names the track and its session."""
    known = set(features.track_id.astype(str))
    missing = ~log.track_id_clean.astype(str).isin(known).to_numpy()
    if missing.any():
        i = int(np.argmax(missing))
        n_tracks = log.track_id_clean[missing].nunique()
        raise ParameterError(
            f"track {log.track_id_clean.iloc[i]} (session {log.session_id.iloc[i]}, position "
            f"{log.session_position.iloc[i]}) is missing from the track features "
            f"({n_tracks} track(s) in {int(missing.sum())} row(s) are missing)")


def feature_matrix(features: pd.DataFrame) -> np.ndarray:
    """Numeric track features, standardised per column (zero mean, unit std; constant columns 0).

    Returns
    -------
    np.ndarray [shape=(n_tracks, 29), dtype=float32]
        Columns :data:`NUMERIC_TRACK_FEATURES` in the row order of ``features``.
    """
    _require_columns(features.columns, TRACK_FEATURE_COLUMNS, "track features")
    frame = features[list(NUMERIC_TRACK_FEATURES)].copy()
    mode = frame["mode"]
    if not pd.api.types.is_numeric_dtype(mode):
        frame["mode"] = mode.astype(str).str.lower().map({"major": 1.0, "minor": 0.0, "1": 1.0, "0": 0.0})
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if np.isnan(values).any():
        row, col = np.argwhere(np.isnan(values))[0]
        raise ParameterError(f"track {features.track_id.iloc[row]} has a missing or non-numeric "
                             f"{NUMERIC_TRACK_FEATURES[col]}")
    std = values.std(axis=0)
    values = (values - values.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return values.astype(np.float32)


# -- tokens and arrays ---------------------------------------------------------------------------
class TrackVocabulary:
    """Track ids <-> integer tokens; tokens ``0..N_SPECIAL-1`` are :data:`SPECIAL_TOKENS`.

    Parameters
    ----------
    track_ids : sequence of str
        The tracks, in token order (token ``N_SPECIAL + i`` is ``track_ids[i]``).
    """

    def __init__(self, track_ids: Sequence[str]):
        self.track_ids = np.asarray([str(t) for t in track_ids], dtype=object)
        if len(set(self.track_ids)) != len(self.track_ids):
            raise ParameterError("track vocabulary holds duplicate track ids")
        self._index = pd.Index(self.track_ids)

    def __len__(self) -> int:
        """Number of tokens (special tokens and tracks)."""
        return N_SPECIAL + len(self.track_ids)

    @property
    def n_tracks(self) -> int:
        return len(self.track_ids)

    @classmethod
    def from_log(cls, log: pd.DataFrame, *, max_tracks: int | None = None) -> "TrackVocabulary":
        """The tracks of ``log``, most played first (ties by id), at most ``max_tracks``."""
        counts = log.track_id_clean.astype(str).value_counts()
        counts = counts.reset_index().sort_values(["count", "track_id_clean"], ascending=[False, True])
        ids = counts.track_id_clean.to_numpy()
        return cls(ids if max_tracks is None else ids[: int(max_tracks)])

    def encode(self, track_ids: Iterable[str]) -> np.ndarray:
        """Tokens of ``track_ids``; tracks outside the vocabulary become ``UNK``."""
        index = self._index.get_indexer(pd.Index([str(t) for t in track_ids]))
        return np.where(index >= 0, index + N_SPECIAL, UNK).astype(np.int64)

    def decode(self, tokens: Iterable[int]) -> np.ndarray:
        """Track ids of tokens (special tokens become their names)."""
        tokens = np.asarray(list(tokens), dtype=np.int64)
        names = np.asarray(SPECIAL_TOKENS, dtype=object)
        out = np.empty(len(tokens), dtype=object)
        special = tokens < N_SPECIAL
        out[special] = names[tokens[special]]
        out[~special] = self.track_ids[tokens[~special] - N_SPECIAL]
        return out


@dataclass
class SessionArrays:
    """Sessions as right-padded arrays: the first half (input) and the second half (predicted).

    ``n`` sessions; halves hold at most :data:`MAX_HALF` tracks; padding is ``PAD`` (0) / False.

    Attributes
    ----------
    session_id : np.ndarray [shape=(n,), dtype=object]
    length : np.ndarray [shape=(n,)]
        ``session_length``.
    first_tracks, second_tracks : np.ndarray [shape=(n, 10), dtype=int64]
        Tokens of the first half (``2 * position <= length``) and of the second half.
    first_skips, second_skips : np.ndarray [shape=(n, 10), dtype=bool]
        ``skip_2`` of each track.
    skip_probability : np.ndarray [shape=(n, 10)] or None
        The simulator's true skip probability of each second-half track (NaN where unknown).
    marginal_probability : np.ndarray [shape=(n, 10)] or None
        The simulator's skip probability given the hidden state and the first half only.
    covariates : np.ndarray [shape=(n, len(SESSION_COVARIATES)), dtype=float32] or None
        Session-level covariates (:data:`SESSION_COVARIATES`), from each session's first row.
    """

    session_id: np.ndarray
    length: np.ndarray
    first_tracks: np.ndarray
    first_skips: np.ndarray
    second_tracks: np.ndarray
    second_skips: np.ndarray
    skip_probability: np.ndarray | None = None
    marginal_probability: np.ndarray | None = None
    covariates: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.session_id)

    @property
    def n_first(self) -> np.ndarray:
        return self.length // 2

    @property
    def n_second(self) -> np.ndarray:
        return self.length - self.length // 2

    @property
    def first_mask(self) -> np.ndarray:
        return np.arange(MAX_HALF)[None, :] < self.n_first[:, None]

    @property
    def second_mask(self) -> np.ndarray:
        return np.arange(MAX_HALF)[None, :] < self.n_second[:, None]

    def subset(self, index) -> "SessionArrays":
        """The sessions at ``index`` (an integer array, a slice or a boolean mask)."""
        values = {}
        for field in fields(self):
            value = getattr(self, field.name)
            values[field.name] = None if value is None else value[index]
        return SessionArrays(**values)


def encode_sessions(log: pd.DataFrame, vocab: TrackVocabulary, *, skip_probability: np.ndarray | None = None,
                    marginal_probability: np.ndarray | None = None) -> SessionArrays:
    """Turn a validated, complete session log into :class:`SessionArrays`.

    Parameters
    ----------
    log : pd.DataFrame
        Whole sessions in position order (see :func:`validate_log`).
    vocab : TrackVocabulary
        Tokens of the tracks; unknown tracks become ``UNK``.
    skip_probability, marginal_probability : np.ndarray [shape=(len(log),)], optional
        Skip probabilities per log row (the simulator's truth), kept for the second half.
    """
    sid = log.session_id.astype(str).to_numpy()
    starts = np.r_[0, np.flatnonzero(sid[1:] != sid[:-1]) + 1]
    counts = np.diff(np.r_[starts, len(sid)])
    length = log.session_length.to_numpy(dtype=np.int64)[starts]
    if (length > 2 * MAX_HALF).any():
        k = int(np.argmax(length > 2 * MAX_HALF))
        raise ParameterError(f"session {sid[starts[k]]} has session_length {length[k]} > {2 * MAX_HALF}")
    if (counts != length).any():
        k = int(np.argmax(counts != length))
        raise ParameterError(f"session {sid[starts[k]]} has {counts[k]} rows but session_length {length[k]}")
    run = np.repeat(np.arange(len(starts)), counts)
    position = log.session_position.to_numpy(dtype=np.int64)
    n_first = (length // 2)[run]
    second = 2 * position > length[run]
    column = np.where(second, position - n_first - 1, position - 1)
    tokens = vocab.encode(log.track_id_clean)
    skips = log.skip_2.to_numpy(dtype=bool)
    n = len(starts)
    arrays = {name: np.zeros((n, MAX_HALF), dtype=dtype) for name, dtype in
              (("first_tracks", np.int64), ("second_tracks", np.int64), ("first_skips", bool),
               ("second_skips", bool))}
    arrays["first_tracks"][run[~second], column[~second]] = tokens[~second]
    arrays["first_skips"][run[~second], column[~second]] = skips[~second]
    arrays["second_tracks"][run[second], column[second]] = tokens[second]
    arrays["second_skips"][run[second], column[second]] = skips[second]
    for name, values in (("skip_probability", skip_probability),
                         ("marginal_probability", marginal_probability)):
        arrays[name] = None
        if values is not None:
            values = np.asarray(values, dtype=float)
            if values.shape != (len(log),):
                raise ParameterError(f"{name} has shape {values.shape}, expected ({len(log)},)")
            arrays[name] = np.full((n, MAX_HALF), np.nan)
            arrays[name][run[second], column[second]] = values[second]
    return SessionArrays(session_id=sid[starts].astype(object), length=length,
                         covariates=session_covariates(log.iloc[starts]), **arrays)


def session_covariates(rows: pd.DataFrame) -> np.ndarray | None:
    """:data:`SESSION_COVARIATES` of the given log rows (one per session), or None when the log lacks
    ``premium``, ``hist_user_behavior_is_shuffle`` or ``context_type``; unknown context types are all 0."""
    if not {"premium", "hist_user_behavior_is_shuffle", "context_type"} <= set(rows.columns):
        return None
    premium = _as_bool(rows.premium, "premium", "session log").to_numpy(dtype=np.float32)
    shuffle = _as_bool(rows.hist_user_behavior_is_shuffle, "hist_user_behavior_is_shuffle",
                       "session log").to_numpy(dtype=np.float32)
    context = rows.context_type.astype(str).to_numpy()
    onehot = [(context == c).astype(np.float32) for c in CONTEXT_TYPES]
    return np.stack([premium, shuffle, *onehot], axis=1)


def split_sessions(n_sessions: int, test_fraction: float, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Random train/test split of session indices (sorted), at least one session in each part."""
    check_number("test_fraction", test_fraction, low=0, high=1, low_inclusive=False, high_inclusive=False)
    if n_sessions < 2:
        raise ParameterError(f"n_sessions={n_sessions} is too few to split")
    n_test = min(n_sessions - 1, max(1, int(round(test_fraction * n_sessions))))
    order = rng.permutation(n_sessions)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


# -- a study's sessions: split, encoded, with what the simulator knows -----------------------------------
@dataclass
class SessionKnowledge:
    """What the simulator knows of each session, in tokens (``-1`` pads).

    Attributes
    ----------
    kind : np.ndarray [shape=(n,), dtype=object]
        ``playlist`` (a playlist in order), ``shuffle`` (a shuffled playlist) or ``personal``.
    playlist : np.ndarray [shape=(n, playlist_length)]
        The tokens of the playlist the session plays, in order (all -1 for personal sessions).
    offset : np.ndarray [shape=(n,)]
        The playlist position an in-order session starts from (-1 otherwise).
    library : np.ndarray [shape=(n, library_size)]
        The tokens of the listener's library (personal picks and a playlist's replaced tracks come from it).
    """

    kind: np.ndarray
    playlist: np.ndarray
    offset: np.ndarray
    library: np.ndarray

    def subset(self, index) -> "SessionKnowledge":
        return SessionKnowledge(self.kind[index], self.playlist[index], self.offset[index], self.library[index])


@dataclass
class SessionData:
    """Encoded training, validation and test sessions and what identifies them in run configs.

    Attributes
    ----------
    source : str
        ``simulated`` or ``mssd``.
    vocab : TrackVocabulary
        The tracks of the training and validation sessions (test tracks outside it are UNK).
    features : np.ndarray [shape=(n_tokens, 29), dtype=float32]
        Track features per token (:func:`vocabulary_features`; zeros for special and unknown tokens).
    train, valid, test : SessionArrays
        The three parts of the sessions.
    key : dict
        What identifies the data in a run's config (source, files or data run, split settings).
    summary : dict
        Counts shown by the notebooks (sessions per part, tracks, vocabulary, skip rate).
    test_kind : np.ndarray [shape=(n_test,)] or None
        The simulated kind of every test session (``playlist``, ``shuffle``, ``personal``); None on real data.
    test_knowledge : SessionKnowledge or None
        What the simulator knows of every test session; None on real data.
    """

    source: str
    vocab: TrackVocabulary
    features: np.ndarray
    train: SessionArrays
    valid: SessionArrays
    test: SessionArrays
    key: dict
    summary: dict
    test_kind: np.ndarray | None = None
    test_knowledge: SessionKnowledge | None = None

    @property
    def n_tokens(self) -> int:
        return len(self.vocab)


def vocabulary_features(vocab: TrackVocabulary, track_features: pd.DataFrame) -> np.ndarray:
    """The :func:`feature_matrix` row of every token of ``vocab``, shape ``(len(vocab), 29)``, float32.

    Special tokens and tracks missing from ``track_features`` keep zero rows.
    """
    table = track_features.drop_duplicates("track_id").set_index("track_id")
    matrix = np.zeros((len(vocab), 29), dtype=np.float32)
    known = np.isin(vocab.track_ids, table.index)
    rows = table.loc[vocab.track_ids[known]].reset_index()
    matrix[N_SPECIAL + np.flatnonzero(known)] = feature_matrix(rows)
    return matrix


def session_knowledge(truth, vocab: TrackVocabulary, session_ids: np.ndarray) -> SessionKnowledge:
    """:class:`SessionKnowledge` of the sessions ``session_ids`` from the simulator's
    :class:`~musicrec.data.session_simulator.SessionTruth`, in the tokens of ``vocab``."""
    rows = truth.sessions.loc[session_ids]
    width = max(len(p) for p in truth.playlists)
    playlist = np.full((len(rows), width), -1, dtype=np.int64)
    library_width = max(len(t) for t in truth.libraries.values())
    library = np.full((len(rows), library_width), -1, dtype=np.int64)
    encoded = [vocab.encode(p) for p in truth.playlists]
    for i, (k, user) in enumerate(zip(rows.playlist.to_numpy(), rows.user.to_numpy())):
        if k >= 0:
            playlist[i, : len(encoded[k])] = encoded[k]
        own = vocab.encode(truth.libraries[int(user)])
        library[i, : len(own)] = own
    return SessionKnowledge(kind=rows.session_kind.to_numpy().astype(object), playlist=playlist,
                            offset=rows.playlist_offset.to_numpy(dtype=np.int64), library=library)


def prepare_sessions(log: pd.DataFrame, track_features: pd.DataFrame, *, source: str, key: dict,
                     split_seed: int, test_fraction: float, validation_fraction: float,
                     max_tracks: int | None = None, skip_probability: np.ndarray | None = None,
                     marginal_probability: np.ndarray | None = None, kinds: pd.Series | None = None,
                     truth=None) -> SessionData:
    """Split a session log into training, validation and test sessions and encode them.

    The test sessions are drawn first (``test_fraction`` of all sessions, seed ``split_seed``); the
    validation sessions (``validation_fraction`` of the rest, seed ``[split_seed, 1]``), used for every
    choice (learning rates, epochs, inputs), come out of the training part. The vocabulary is that of the
    training and validation sessions (at most ``max_tracks`` tracks); the test tracks stay unseen.

    Parameters
    ----------
    log : pd.DataFrame
        A session log (:data:`LOG_COLUMNS`).
    track_features : pd.DataFrame
        The track features of its tracks (:data:`TRACK_FEATURE_COLUMNS`).
    source : str
        ``simulated`` or ``mssd`` (kept in the summary).
    key : dict
        What identifies the log in run configs; the split settings are added to it.
    split_seed, test_fraction, validation_fraction, max_tracks
        The split and the vocabulary cap.
    skip_probability, marginal_probability : np.ndarray [shape=(len(log),)], optional
        The simulator's skip probability of every row and its second-half marginal (simulated data).
    kinds : pd.Series [shape=(len(log),)], optional
        The simulated kind of the session of every row.
    truth : SessionTruth, optional
        The simulator's truth, for the test sessions' :class:`SessionKnowledge`.
    """
    sessions = pd.unique(log.session_id)
    train_index, test_index = split_sessions(len(sessions), float(test_fraction),
                                             np.random.default_rng(int(split_seed)))
    train_ids = set(sessions[train_index])
    fit_index, valid_index = split_sessions(len(train_index), float(validation_fraction),
                                            np.random.default_rng([int(split_seed), 1]))
    valid_index, train_index = train_index[valid_index], train_index[fit_index]
    vocab = TrackVocabulary.from_log(log[log.session_id.isin(train_ids)], max_tracks=max_tracks)
    arrays = encode_sessions(log, vocab, skip_probability=skip_probability,
                             marginal_probability=marginal_probability)
    features = vocabulary_features(vocab, track_features)
    summary = {"source": source, "sessions": len(sessions), "train_sessions": len(train_index),
               "validation_sessions": len(valid_index), "test_sessions": len(test_index),
               "tracks": int(log.track_id_clean.nunique()), "vocabulary": vocab.n_tracks,
               "skip_2_rate": float(log.skip_2.mean())}
    test_kind = None
    if kinds is not None:
        per_session = pd.Series(kinds.to_numpy(), index=log.session_id.to_numpy()).groupby(level=0).first()
        test_kind = per_session.loc[arrays.session_id[test_index]].to_numpy()
    knowledge = None if truth is None else session_knowledge(truth, vocab, arrays.session_id[test_index])
    return SessionData(source=source, vocab=vocab, features=features, train=arrays.subset(train_index),
                       valid=arrays.subset(valid_index), test=arrays.subset(test_index), test_kind=test_kind,
                       test_knowledge=knowledge,
                       key={**key, "split_seed": int(split_seed), "test_fraction": float(test_fraction),
                            "validation_fraction": float(validation_fraction), "max_tracks": max_tracks},
                       summary=summary)


def read_mssd(log_path: str | os.PathLike, track_paths: str | os.PathLike | Sequence[str | os.PathLike], *,
              max_sessions: int | None = None, digest_cache: str | os.PathLike | None = None
              ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The real MSSD files of a study: its log (first ``max_sessions`` sessions, read in chunks), the features
    of its tracks (every track must be there), and the key that identifies them in run configs (file names
    and SHA-256 digests, kept in ``digest_cache`` by :func:`musicrec.runs.file_digest`).

    Paths are root-relative or absolute.
    """
    from musicrec.runs import file_digest
    from musicrec.utils import project_path

    log_path = project_path(log_path)
    track_paths = ([project_path(track_paths)] if isinstance(track_paths, (str, os.PathLike))
                   else [project_path(p) for p in track_paths])
    log = read_log(log_path, max_sessions=max_sessions)
    track_features = read_track_features(track_paths, track_ids=pd.unique(log.track_id_clean))
    check_tracks(log, track_features)
    key = {"source": "mssd", "log": log_path.name, "log_sha256": file_digest(log_path, cache=digest_cache),
           "tracks": [p.name for p in track_paths],
           "tracks_sha256": [file_digest(p, cache=digest_cache) for p in track_paths],
           "max_sessions": max_sessions}
    return log, track_features, key
