"""Track catalogs in the public Spotify tracks schema: a seeded synthetic default and a CSV loader.

Schema (one row per track): ``track_id``, ``track_genre``, ``popularity`` (0-100), ``duration_ms``
and the 11 audio features of Spotify's API in their raw units: ``key`` (pitch class, integer 0-11),
``loudness`` (dB, typically -60..0), ``mode`` (1 major, 0 minor), ``tempo`` (BPM) and
``danceability``, ``energy``, ``speechiness``, ``acousticness``, ``instrumentalness``, ``liveness``,
``valence`` in [0, 1].

The synthetic catalog (:func:`synthetic_catalog`)
--------------------------------------------------
**It is synthetic**: no real track or listener data went into it; its numbers are chosen by hand to
look like the public Spotify tracks data (genres differ the way one expects: classical is acoustic,
instrumental and quiet, metal loud and energetic, hip-hop speechy and danceable). Results on it show
what the methods do on data with this structure, not what they do on Spotify's catalog.

* Tracks are split as evenly as possible over the genres, then shuffled.
* The seven [0, 1] features, loudness and tempo are drawn jointly through a Gaussian copula: one
  standard-normal vector per track with the correlation matrix :data:`COPULA_CORRELATION` (the same
  for every genre: energy-loudness +0.7, energy-acousticness -0.6, acousticness-loudness -0.45,
  danceability-valence +0.45, energy-valence +0.3, energy-tempo +0.2, danceability-tempo -0.15),
  each coordinate then mapped to its marginal:

  - a [0, 1] feature with genre mean ``m`` and the feature's concentration ``c`` is
    ``Beta(m c, (1 - m) c)``; concentrations: danceability 12, energy 10, speechiness 15,
    acousticness 4, instrumentalness 2 (so it is bimodal near 0 and 1, as in the real data),
    liveness 8, valence 8;
  - loudness ``~ Normal(mean, sd)`` clipped to [-60, 0] dB; tempo ``~ Normal(mean, sd)`` clipped to
    [50, 220] BPM.

* ``key`` is uniform over the 12 pitch classes; ``mode`` is major with the genre's probability.
* ``popularity = round(clip(Normal(mean, 18), 0, 100))``; ``duration_ms`` is log-normal with the
  genre's median and log-sd 0.3.

Genre parameters (means of the Beta features; loudness and tempo as mean/sd; duration as median)::

    genre      dance energy speech acoust instr  live valence  loudness dB  tempo BPM  major  pop  min
    acoustic   0.55  0.40   0.05   0.70   0.05   0.15  0.45    -10.0/3.0    115/25     0.75   40   3.6
    ambient    0.35  0.20   0.05   0.80   0.75   0.12  0.20    -20.0/5.0    100/25     0.60   35   4.5
    classical  0.30  0.15   0.05   0.92   0.85   0.15  0.25    -22.0/5.0    105/30     0.65   30   5.5
    edm        0.68  0.85   0.08   0.05   0.55   0.20  0.40     -5.0/2.0    127/8      0.50   45   4.2
    hip-hop    0.78  0.65   0.25   0.15   0.02   0.20  0.50     -6.5/2.0    105/25     0.50   55   3.5
    jazz       0.55  0.35   0.06   0.70   0.40   0.15  0.55    -12.0/4.0    110/30     0.55   35   5.0
    latin      0.72  0.75   0.08   0.25   0.02   0.20  0.75     -6.0/2.0    118/25     0.55   50   3.5
    metal      0.42  0.92   0.09   0.02   0.25   0.22  0.30     -4.5/1.5    135/30     0.45   40   4.5
    pop        0.65  0.68   0.07   0.20   0.02   0.17  0.55     -6.0/2.0    120/25     0.65   60   3.5
    rock       0.50  0.75   0.05   0.15   0.08   0.20  0.50     -7.0/2.5    125/28     0.70   45   4.0

The table is :data:`GENRE_PROFILES` (a test checks the two agree).

Loading a real file (:func:`load_catalog`)
------------------------------------------
Reads the common public CSVs unchanged (the Hugging Face / Kaggle "Spotify tracks dataset" with
``track_genre``, or the older ``SpotifyFeatures.csv`` with ``genre``, key names such as ``C#`` and
mode ``Major``/``Minor``, which are converted). Missing columns, NaNs and values outside
:data:`VALID_RANGES` raise :class:`~musicrec.errors.ParameterError` naming each column and its row
count, unless ``on_invalid="drop"``, which drops those rows and logs the same counts. Duplicate
``track_id`` rows (the same track listed under several genres) keep their first row, logged.

:func:`normalise_features` maps the 11 features to [0, 1] with the fixed ranges of
:data:`NORMALISATION_RANGES` (not the min/max of the data, so two catalogs share one scale).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from musicrec.errors import ParameterError, check_choice, check_number

logger = logging.getLogger(__name__)

AUDIO_FEATURES = ("danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
                  "instrumentalness", "liveness", "valence", "tempo")
#: Columns every catalog has (``genre`` is accepted for ``track_genre`` when loading).
CATALOG_COLUMNS = ("track_id", "track_genre", "popularity", "duration_ms", *AUDIO_FEATURES)

#: Values :func:`load_catalog` accepts (inclusive). Loudness goes a little above 0 dB in the public
#: data (mastering peaks), so up to +5 dB is accepted and clipped to 0 when normalising.
VALID_RANGES: dict[str, tuple[float, float]] = {
    "danceability": (0.0, 1.0), "energy": (0.0, 1.0), "key": (0, 11), "loudness": (-60.0, 5.0),
    "mode": (0, 1), "speechiness": (0.0, 1.0), "acousticness": (0.0, 1.0),
    "instrumentalness": (0.0, 1.0), "liveness": (0.0, 1.0), "valence": (0.0, 1.0),
    "tempo": (0.0, 300.0), "popularity": (0, 100), "duration_ms": (1, np.inf),
}
INTEGER_COLUMNS = ("key", "mode", "popularity", "duration_ms")

#: ``normalise_features`` clips each feature to this range and maps it linearly onto [0, 1].
NORMALISATION_RANGES: dict[str, tuple[float, float]] = {
    "danceability": (0.0, 1.0), "energy": (0.0, 1.0), "key": (0.0, 11.0), "loudness": (-60.0, 0.0),
    "mode": (0.0, 1.0), "speechiness": (0.0, 1.0), "acousticness": (0.0, 1.0),
    "instrumentalness": (0.0, 1.0), "liveness": (0.0, 1.0), "valence": (0.0, 1.0),
    "tempo": (0.0, 250.0),
}

BETA_FEATURES = ("danceability", "energy", "speechiness", "acousticness", "instrumentalness",
                 "liveness", "valence")
BETA_CONCENTRATION = {"danceability": 12.0, "energy": 10.0, "speechiness": 15.0, "acousticness": 4.0,
                      "instrumentalness": 2.0, "liveness": 8.0, "valence": 8.0}
#: Order of the Gaussian-copula coordinates.
COPULA_FEATURES = (*BETA_FEATURES, "loudness", "tempo")
_PAIR_CORRELATIONS = {
    ("energy", "loudness"): 0.7, ("energy", "acousticness"): -0.6,
    ("acousticness", "loudness"): -0.45, ("danceability", "valence"): 0.45,
    ("energy", "valence"): 0.3, ("energy", "tempo"): 0.2, ("danceability", "tempo"): -0.15,
}


def _correlation_matrix() -> np.ndarray:
    index = {name: i for i, name in enumerate(COPULA_FEATURES)}
    matrix = np.eye(len(COPULA_FEATURES))
    for (a, b), value in _PAIR_CORRELATIONS.items():
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = value
    return matrix


COPULA_CORRELATION = _correlation_matrix()

_PROFILE_COLUMNS = ("danceability", "energy", "speechiness", "acousticness", "instrumentalness",
                    "liveness", "valence", "loudness_mean", "loudness_sd", "tempo_mean", "tempo_sd",
                    "p_major", "popularity_mean", "duration_median_min")
_PROFILE_ROWS = {
    "acoustic": (0.55, 0.40, 0.05, 0.70, 0.05, 0.15, 0.45, -10.0, 3.0, 115, 25, 0.75, 40, 3.6),
    "ambient": (0.35, 0.20, 0.05, 0.80, 0.75, 0.12, 0.20, -20.0, 5.0, 100, 25, 0.60, 35, 4.5),
    "classical": (0.30, 0.15, 0.05, 0.92, 0.85, 0.15, 0.25, -22.0, 5.0, 105, 30, 0.65, 30, 5.5),
    "edm": (0.68, 0.85, 0.08, 0.05, 0.55, 0.20, 0.40, -5.0, 2.0, 127, 8, 0.50, 45, 4.2),
    "hip-hop": (0.78, 0.65, 0.25, 0.15, 0.02, 0.20, 0.50, -6.5, 2.0, 105, 25, 0.50, 55, 3.5),
    "jazz": (0.55, 0.35, 0.06, 0.70, 0.40, 0.15, 0.55, -12.0, 4.0, 110, 30, 0.55, 35, 5.0),
    "latin": (0.72, 0.75, 0.08, 0.25, 0.02, 0.20, 0.75, -6.0, 2.0, 118, 25, 0.55, 50, 3.5),
    "metal": (0.42, 0.92, 0.09, 0.02, 0.25, 0.22, 0.30, -4.5, 1.5, 135, 30, 0.45, 40, 4.5),
    "pop": (0.65, 0.68, 0.07, 0.20, 0.02, 0.17, 0.55, -6.0, 2.0, 120, 25, 0.65, 60, 3.5),
    "rock": (0.50, 0.75, 0.05, 0.15, 0.08, 0.20, 0.50, -7.0, 2.5, 125, 28, 0.70, 45, 4.0),
}
#: The synthetic catalog's genre parameters (one row per genre; see the module docstring).
GENRE_PROFILES = pd.DataFrame.from_dict(_PROFILE_ROWS, orient="index", columns=list(_PROFILE_COLUMNS))
GENRE_PROFILES.index.name = "genre"
GENRES = tuple(GENRE_PROFILES.index)

_ID_ALPHABET = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
_KEY_NAMES = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6,
              "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11}
_MODE_NAMES = {"Major": 1, "Minor": 0, "major": 1, "minor": 0}


def _check_genres(genres) -> list[str]:
    if genres is None:
        return list(GENRES)
    if isinstance(genres, str) or not isinstance(genres, Sequence) or len(genres) < 1:
        raise ParameterError(f"genres={genres!r} must be a non-empty list of names from {list(GENRES)}")
    unknown = [g for g in genres if g not in GENRES]
    if unknown:
        raise ParameterError(f"genres {unknown} have no synthetic profile; known genres: {list(GENRES)}")
    if len(set(genres)) != len(genres):
        raise ParameterError(f"genres={list(genres)!r} holds duplicates")
    return list(genres)


def _track_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct 22-character base62 ids, like Spotify's."""
    while True:
        chars = _ID_ALPHABET[rng.integers(0, len(_ID_ALPHABET), size=(n, 22))]
        ids = np.ascontiguousarray(chars).view("<U22").ravel()
        if len(np.unique(ids)) == n:  # a collision has probability ~n^2 / 62^22
            return ids


def stable_track_id(key: str) -> str:
    """A stable 22-character base62 id (Spotify's id format) of a track key, e.g. a real track's
    ``package:path``: the SHA-1 of the key in base 62, least significant digit first."""
    number = int(hashlib.sha1(key.encode()).hexdigest(), 16)
    chars = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        chars.append(str(_ID_ALPHABET[digit]))
    return "".join(chars)


def synthetic_catalog(n_tracks: int = 10_000, *, seed: int = 0,
                      genres: Sequence[str] | None = None) -> pd.DataFrame:
    """A seeded synthetic track catalog in the public Spotify tracks schema.

    Parameters
    ----------
    n_tracks : int
        Number of tracks (at least one per genre).
    seed : int
        Seed of the ``numpy.random.Generator`` that draws everything; same seed, same catalog.
    genres : sequence of str, optional
        Subset of :data:`GENRES` (default: all ten).

    Returns
    -------
    pd.DataFrame [shape=(n_tracks, 15)]
        Columns :data:`CATALOG_COLUMNS`; features in Spotify's raw units (module docstring).

    >>> synthetic_catalog(20, seed=1).shape
    (20, 15)
    """
    genres = _check_genres(genres)
    check_number("n_tracks", n_tracks, low=len(genres), integer=True)
    check_number("seed", seed, low=0, integer=True)
    n = int(n_tracks)
    rng = np.random.default_rng(int(seed))
    genre_index = rng.permutation(np.arange(n) % len(genres))
    profile = GENRE_PROFILES.loc[genres].iloc[genre_index]

    from scipy import stats

    normals = rng.standard_normal((n, len(COPULA_FEATURES))) @ np.linalg.cholesky(COPULA_CORRELATION).T
    uniform = np.clip(stats.norm.cdf(normals), 1e-9, 1 - 1e-9)
    means = profile[list(BETA_FEATURES)].to_numpy()
    concentration = np.array([BETA_CONCENTRATION[f] for f in BETA_FEATURES])
    beta = stats.beta.ppf(uniform[:, :len(BETA_FEATURES)], means * concentration,
                          (1 - means) * concentration)
    loud = profile.loudness_mean.to_numpy() + profile.loudness_sd.to_numpy() * normals[:, -2]
    tempo = profile.tempo_mean.to_numpy() + profile.tempo_sd.to_numpy() * normals[:, -1]

    frame = pd.DataFrame({
        "track_id": _track_ids(rng, n),
        "track_genre": np.asarray(genres, dtype=object)[genre_index],
        "popularity": np.rint(np.clip(rng.normal(profile.popularity_mean.to_numpy(), 18.0), 0, 100))
        .astype(int),
        "duration_ms": np.rint(60_000 * profile.duration_median_min.to_numpy()
                               * np.exp(0.3 * rng.standard_normal(n))).astype(int),
    })
    for j, name in enumerate(BETA_FEATURES):
        frame[name] = np.round(beta[:, j], 4)
    frame["key"] = rng.integers(0, 12, size=n)
    frame["loudness"] = np.round(np.clip(loud, -60.0, 0.0), 3)
    frame["mode"] = (rng.random(n) < profile.p_major.to_numpy()).astype(int)
    frame["tempo"] = np.round(np.clip(tempo, 50.0, 220.0), 3)
    return frame[list(CATALOG_COLUMNS)]


def _convert_names(frame: pd.DataFrame, source: str) -> None:
    """Key names (``C#``) and mode names (``Major``) of older exports become Spotify's integers."""
    for column, names in (("key", _KEY_NAMES), ("mode", _MODE_NAMES)):
        values = frame[column]
        if not pd.api.types.is_numeric_dtype(values) and values.isin(list(names)).any():
            frame[column] = values.map(lambda v, names=names: names.get(v, v)).astype(object)
            logger.info("%s: converted %s names to Spotify's integers", source, column)


def invalid_rows(catalog: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """Boolean masks of the rows that break :data:`VALID_RANGES`, per column and problem.

    Returns ``{column: {problem: mask}}`` (problems such as ``"NaN or not numeric"`` and
    ``"outside [0, 1]"``), holding only the problems that occur.
    """
    problems: dict[str, dict[str, np.ndarray]] = {}
    for column, (low, high) in VALID_RANGES.items():
        values = pd.to_numeric(catalog[column], errors="coerce").to_numpy(dtype=float)
        missing = np.isnan(values)
        with np.errstate(invalid="ignore"):
            outside = ~missing & ((values < low) | (values > high))
            if column in INTEGER_COLUMNS:
                outside |= ~missing & np.isfinite(values) & (values != np.round(values))
        found = {}
        if missing.any():
            found["NaN or not numeric"] = missing
        if outside.any():
            kind = "not an integer in" if column in INTEGER_COLUMNS else "outside"
            found[f"{kind} [{low:g}, {high:g}]"] = outside
        if found:
            problems[column] = found
    for column in ("track_id", "track_genre"):
        missing = catalog[column].isna().to_numpy()
        if missing.any():
            problems[column] = {"NaN": missing}
    return problems


def load_catalog(path: str | os.PathLike, *, on_invalid: str = "raise",
                 drop_duplicates: bool = True) -> pd.DataFrame:
    """Read a Spotify tracks CSV into the catalog schema.

    Parameters
    ----------
    path : path
        A CSV with ``track_id``, ``track_genre`` (or ``genre``), the 11 audio features,
        ``popularity`` and ``duration_ms``; other columns are kept.
    on_invalid : {"raise", "drop"}
        What to do with rows holding NaNs or values outside :data:`VALID_RANGES`: raise a
        :class:`ParameterError` naming every column and its row count, or drop them (logged).
    drop_duplicates : bool
        Keep only the first row of each ``track_id`` (logged).

    Returns
    -------
    pd.DataFrame
        Columns :data:`CATALOG_COLUMNS` first, then any others; a fresh 0..n-1 index.
    """
    check_choice("on_invalid", on_invalid, ("raise", "drop"))
    path = Path(path)
    if path.is_dir():
        raise ParameterError(f"catalog file {path} is a folder, not a file")
    if not path.is_file():
        raise ParameterError(f"catalog file {path} does not exist")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise ParameterError(f"catalog file {path.name} is not a readable CSV: {error}") from None
    frame = frame.drop(columns=[c for c in frame.columns if str(c).startswith("Unnamed: ")])
    if "track_genre" not in frame.columns and "genre" in frame.columns:
        frame = frame.rename(columns={"genre": "track_genre"})
    missing = [column for column in CATALOG_COLUMNS if column not in frame.columns]
    if missing:
        raise ParameterError(
            f"catalog file {path.name} lacks the column(s) {missing} "
            f"(needs {list(CATALOG_COLUMNS)}; 'genre' is accepted for 'track_genre')")
    if frame.empty:
        raise ParameterError(f"catalog file {path.name} holds no tracks (only a header)")
    _convert_names(frame, path.name)

    problems = invalid_rows(frame)
    if problems:
        lines = [f"{column}: {int(mask.sum())} row(s) {kind}"
                 for column, found in problems.items() for kind, mask in found.items()]
        if on_invalid == "raise":
            raise ParameterError(f"catalog file {path.name} ({len(frame)} rows) has invalid values: "
                                 + "; ".join(lines) + ". Fix the file or pass on_invalid='drop'.")
        bad = np.zeros(len(frame), dtype=bool)
        for found in problems.values():
            for mask in found.values():
                bad |= mask
        logger.warning("%s: dropped %d of %d rows with invalid values (%s)", path.name, int(bad.sum()),
                       len(frame), "; ".join(lines))
        frame = frame.loc[~bad]
        if frame.empty:
            raise ParameterError(f"catalog file {path.name}: every one of its rows is invalid ({'; '.join(lines)})")
    if drop_duplicates:
        duplicated = frame.track_id.duplicated().to_numpy()
        if duplicated.any():
            logger.info("%s: dropped %d duplicate track_id row(s), kept the first of each", path.name,
                        int(duplicated.sum()))
            frame = frame.loc[~duplicated]
    frame = frame.reset_index(drop=True)
    for column in CATALOG_COLUMNS[2:]:
        frame[column] = pd.to_numeric(frame[column])
    for column in INTEGER_COLUMNS:
        frame[column] = frame[column].astype(int)
    frame["track_id"] = frame.track_id.astype(str)
    frame["track_genre"] = frame.track_genre.astype(str)
    others = [c for c in frame.columns if c not in CATALOG_COLUMNS]
    return frame[[*CATALOG_COLUMNS, *others]]


def normalise_features(catalog: pd.DataFrame) -> np.ndarray:
    """The 11 audio features mapped to [0, 1] with the fixed :data:`NORMALISATION_RANGES`.

    Parameters
    ----------
    catalog : pd.DataFrame
        Holds the :data:`AUDIO_FEATURES` columns in Spotify's raw units.

    Returns
    -------
    np.ndarray [shape=(n_tracks, 11), dtype=float32]
        Columns in the order of :data:`AUDIO_FEATURES`; each value clipped to its range, then
        ``(value - low) / (high - low)`` (key / 11, (loudness + 60) / 60, tempo / 250, ...).
    """
    if not isinstance(catalog, pd.DataFrame):
        raise ParameterError(f"catalog must be a pandas DataFrame, got {type(catalog).__name__}")
    missing = [f for f in AUDIO_FEATURES if f not in catalog.columns]
    if missing:
        raise ParameterError(f"catalog lacks the feature column(s) {missing}")
    values = catalog[list(AUDIO_FEATURES)].to_numpy(dtype=float)
    nan_columns = {f: int(n) for f, n in zip(AUDIO_FEATURES, np.isnan(values).sum(axis=0)) if n}
    if nan_columns:
        raise ParameterError(f"catalog has NaN features (column: rows) {nan_columns}")
    low = np.array([NORMALISATION_RANGES[f][0] for f in AUDIO_FEATURES])
    high = np.array([NORMALISATION_RANGES[f][1] for f in AUDIO_FEATURES])
    return ((np.clip(values, low, high) - low) / (high - low)).astype(np.float32)
