"""A session simulator that writes the exact schema of the Music Streaming Sessions Dataset (MSSD).

The real MSSD cannot be downloaded here, so notebooks 14-15 default to simulated sessions; the same
loaders read the real files (:mod:`musicrec.data.sessions`).

Modelling assumptions
---------------------
**It is synthetic.** Tracks come from the compendium's synthetic catalog
(:func:`musicrec.data.catalog.synthetic_catalog`); listeners and their skips are simulated by
:class:`musicrec.users.session_user.SessionListeners` (taste, skip propensity, the skip rule).

* **Playlists**: ``n_playlists`` shared, ordered playlists of ``playlist_length`` tracks, each of one
  theme genre (tracks of that genre drawn without replacement, weight ``0.2 + popularity``, in the
  order drawn). Playlist ``k`` is chosen with weight ``1 / (k + 1) ** playlist_zipf``, so a few
  playlists are very common (the paper's "track playlists" that its Transformer learnt).
* **Sessions** hold 10-20 tracks (20 with probability 1/2, else uniform on 10-19, as MSSD logs cap
  sessions at 20). A session plays a playlist with probability ``playlist_share``; in order from the
  start (half of them) or from a random offset, or shuffled with probability ``shuffle_share``. Each
  playlist track is replaced by a personal pick with probability ``deviation``. Other sessions play
  personal picks: a random order over the listener's library of ``library_size`` tracks drawn from
  its affinity (context ``user_collection``, ``catalog`` or ``radio``).
* **Skips** follow the listener model (taste vs features, popularity, position, recent skips, context
  type, premium, session mood); the true ``skip_2`` probability of every row is kept
  (:attr:`SimulatedSessions.skip_probability`), which gives the oracle MAA. Because that probability
  depends on the last skips, and the second half's skips are what a predictor has to guess, the
  simulator also records each second-half track's probability given the hidden state and the first half
  alone (:func:`second_half_marginal`, ``marginal_replicas`` Monte Carlo draws of the second half).
* **Other columns** are consistent with the skips: ``not_skipped`` is the complement of ``skip_3``;
  ``hist_user_behavior_reason_end`` is ``trackdone`` for a track played to its end, else ``fwdbtn``
  (85%), ``backbtn``, ``clickrow`` or ``endplay`` (5% each); the next track's ``reason_start`` is the
  previous ``reason_end`` (``endplay`` -> ``playbtn``), the first track's is ``appload``, ``clickrow``
  or ``playbtn``; the first track follows a long pause, later ones no pause (90%), a short (7%) or a
  long one (3%), exactly one of the three pause flags being 1; ``context_switch`` is 0 (one context per
  session); seek counts are Poisson (forward 0.4 for tracks left late, else 0.05; backward 0.1);
  ``hour_of_day`` follows a daily profile peaking in the evening, ``date`` is uniform over
  2018-07-15..2018-09-18 (the MSSD's period), shuffle flags follow the session type and ``premium``
  the listener.

Track features in the MSSD schema (:func:`mssd_track_features`), from the catalog's columns
(``norm(x)`` is the catalog's fixed [0, 1] normalisation, :func:`~musicrec.data.catalog.normalise_features`):

==========================  ================================================================
MSSD column                 from the catalog
==========================  ================================================================
track_id                    ``"t_" + track_id``
duration                    ``duration_ms / 1000`` (seconds)
release_year                ``2018 - Geometric(0.12) + 1``, clipped at 1950 (drawn, seeded)
us_popularity_estimate      ``90 + popularity / 10`` (the MSSD values lie in about 90-100)
acousticness, danceability, energy, instrumentalness, liveness, speechiness, valence,
key, loudness, tempo        copied
mode                        ``"major"`` if mode == 1 else ``"minor"`` (as in ``tf_mini.csv``)
time_signature              4 (90%), 3 (8%) or 5 (2%) (drawn, seeded)
beat_strength               ``(danceability + energy) / 2``
bounciness                  ``0.6 danceability + 0.4 norm(tempo)``
dyn_range_mean              ``4 - 0.4 loudness`` (dB; quieter tracks have more dynamic range)
flatness                    ``0.8 + 0.25 (1 - acousticness)``
mechanism                   ``(1 - acousticness + instrumentalness) / 2``
organism                    ``(acousticness + 1 - energy) / 2``
acoustic_vector_0..7        ``tanh`` of a fixed random (seed 8) 11 x 8 projection of the
                            centred normalised features, scaled by 2
==========================  ================================================================
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from musicrec.data.catalog import AUDIO_FEATURES, normalise_features, synthetic_catalog
from musicrec.data.sessions import (
    LOG_COLUMNS,
    MAX_HALF,
    TRACK_FEATURE_COLUMNS,
    SessionArrays,
    read_log,
    read_track_features,
)
from musicrec.errors import ParameterError, check_number, check_probability
from musicrec.runs import write_csv_atomic
from musicrec.users.session_user import TASTE_FEATURES, SessionListeners, SkipParameters

LOG_FILE = "log_simulated.csv"
TRACK_FILE = "tf_simulated.csv"
PROBABILITY_FILE = "skip_probability.csv"
PLAYLIST_FILE = "playlists.csv"
LIBRARY_FILE = "libraries.csv"
PLAYLIST_CONTEXTS = ("editorial_playlist", "personalized_playlist", "charts")
PERSONAL_CONTEXTS = ("user_collection", "catalog", "radio")
_HOUR_WEIGHTS = np.array([2, 1.5, 1, 0.7, 0.5, 0.5, 1, 2, 3, 3, 3, 3, 3.5, 3.5, 3.5, 3.5, 4, 4.5, 5, 5.5,
                          5.5, 5, 4, 3], dtype=float)


@dataclass(frozen=True)
class SimulatorConfig:
    """Sizes and knobs of the session simulator (see the module docstring)."""

    n_sessions: int = 15_000
    n_users: int = 2_000
    n_tracks: int = 2_000
    n_playlists: int = 150
    playlist_length: int = 30
    playlist_zipf: float = 1.0
    playlist_share: float = 0.6
    shuffle_share: float = 0.2
    deviation: float = 0.1
    library_size: int = 60
    catalog_seed: int = 0
    marginal_replicas: int = 32
    skip: SkipParameters = field(default_factory=SkipParameters)

    def __post_init__(self):
        for name in ("n_sessions", "n_users", "n_playlists", "library_size", "marginal_replicas"):
            check_number(name, getattr(self, name), low=1, integer=True)
        check_number("n_tracks", self.n_tracks, low=60, integer=True)
        check_number("playlist_length", self.playlist_length, low=20, integer=True)
        check_number("playlist_zipf", self.playlist_zipf, low=0)
        if self.library_size < 20:
            raise ParameterError(f"library_size={self.library_size} must be >= 20 (the longest session)")
        for name in ("playlist_share", "shuffle_share", "deviation"):
            check_probability(name, getattr(self, name))

    @classmethod
    def from_dict(cls, values: Mapping) -> "SimulatorConfig":
        """Build from a plain mapping (a profile's ``simulator:`` block); ``skip`` may be a mapping."""
        values = dict(values or {})
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ParameterError(f"unknown simulator setting(s) {unknown}; known: {sorted(known)}")
        skip = values.pop("skip", None)
        config = cls(**values)
        if skip is not None:
            skip_known = set(SkipParameters.__dataclass_fields__)
            bad = sorted(set(skip) - skip_known)
            if bad:
                raise ParameterError(f"unknown skip parameter(s) {bad}; known: {sorted(skip_known)}")
            config = replace(config, skip=SkipParameters(**skip))
        return config

    def to_dict(self) -> dict:
        """Plain mapping (for run configs)."""
        values = asdict(self)
        values["skip"]["context_effects"] = dict(values["skip"]["context_effects"])
        return values


@dataclass
class SimulatedSessions:
    """What :func:`simulate_sessions` returns.

    Attributes
    ----------
    log : pd.DataFrame
        The session log, columns :data:`~musicrec.data.sessions.LOG_COLUMNS`.
    track_features : pd.DataFrame
        Columns :data:`~musicrec.data.sessions.TRACK_FEATURE_COLUMNS`.
    skip_probability : np.ndarray [shape=(len(log),)]
        The true probability of ``skip_2`` of every log row.
    marginal_probability : np.ndarray [shape=(len(log),)]
        For second-half rows, the probability of ``skip_2`` given the session's hidden state and its
        first half only, averaged over the second half's own (unseen) skips (:func:`second_half_marginal`);
        NaN for first-half rows.
    session_kind : pd.Series
        ``playlist``, ``shuffle`` or ``personal`` per session id.
    playlists : list of np.ndarray
        The MSSD track ids of each shared playlist, in order.
    session_playlist, session_offset, session_user : pd.Series
        Per session id: the index of the playlist it plays (-1 for personal picks), the playlist position
        an in-order session starts from (-1 for shuffled and personal sessions) and the listener.
    libraries : dict
        Listener -> the MSSD track ids of their library (the personal picks are drawn from it).
    """

    log: pd.DataFrame
    track_features: pd.DataFrame
    skip_probability: np.ndarray
    session_kind: pd.Series
    playlists: list
    marginal_probability: np.ndarray | None = None
    session_playlist: pd.Series | None = None
    session_offset: pd.Series | None = None
    session_user: pd.Series | None = None
    libraries: dict | None = None

    def write(self, folder: str | os.PathLike) -> Path:
        """Write ``log_simulated.csv``, ``tf_simulated.csv``, ``skip_probability.csv`` (the per-row truth:
        probabilities, session kind, playlist, offset and listener), ``playlists.csv`` and ``libraries.csv``
        into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        write_csv_atomic(self.log, folder / LOG_FILE)
        write_csv_atomic(self.track_features, folder / TRACK_FILE)
        sessions = self.log.session_id
        truth = self.log[["session_id", "session_position"]].assign(
            skip_probability=np.round(self.skip_probability, 6),
            marginal_probability=np.round(self.marginal_probability, 6),
            session_kind=sessions.map(self.session_kind).to_numpy())
        if self.session_playlist is not None:
            truth = truth.assign(playlist=sessions.map(self.session_playlist).to_numpy(),
                                 playlist_offset=sessions.map(self.session_offset).to_numpy(),
                                 user=sessions.map(self.session_user).to_numpy())
        write_csv_atomic(truth, folder / PROBABILITY_FILE)
        write_csv_atomic(pd.DataFrame([{"playlist": k, "position": i, "track_id": t}
                                       for k, tracks in enumerate(self.playlists) for i, t in enumerate(tracks)]),
                         folder / PLAYLIST_FILE)
        if self.libraries is not None:
            write_csv_atomic(pd.DataFrame([{"user": u, "track_id": t} for u, tracks in sorted(self.libraries.items())
                                           for t in tracks]), folder / LIBRARY_FILE)
        return folder


def load_simulated(folder: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Read a folder written by :meth:`SimulatedSessions.write` with the MSSD loaders.

    Returns ``(log, track_features, truth)``; ``truth`` holds ``skip_probability`` and ``session_kind``
    aligned with the log's rows.
    """
    folder = Path(folder)
    log = read_log(folder / LOG_FILE)
    features = read_track_features(folder / TRACK_FILE)
    truth = pd.read_csv(folder / PROBABILITY_FILE, dtype={"session_id": str})
    if len(truth) != len(log) or not (truth.session_id.to_numpy() == log.session_id.to_numpy()).all():
        raise ParameterError(f"{PROBABILITY_FILE} in {folder} does not match {LOG_FILE} row by row")
    return log, features, truth


@dataclass
class SessionTruth:
    """What the simulator knows of every session beyond its log (read by :func:`load_session_truth`).

    Attributes
    ----------
    sessions : pd.DataFrame
        One row per session id (the index): ``session_kind``, ``playlist`` (-1: personal picks),
        ``playlist_offset`` (-1: not an in-order playlist) and ``user``.
    playlists : list of np.ndarray
        The MSSD track ids of each playlist, in order.
    libraries : dict
        Listener -> the MSSD track ids of their library.
    """

    sessions: pd.DataFrame
    playlists: list
    libraries: dict


def load_session_truth(folder: str | os.PathLike) -> SessionTruth:
    """The per-session truth of a folder written by :meth:`SimulatedSessions.write`."""
    folder = Path(folder)
    for name in (PROBABILITY_FILE, PLAYLIST_FILE, LIBRARY_FILE):
        if not (folder / name).is_file():
            raise ParameterError(f"{folder} lacks {name}: simulate the sessions again")
    truth = pd.read_csv(folder / PROBABILITY_FILE, dtype={"session_id": str})
    if not {"playlist", "playlist_offset", "user"} <= set(truth.columns):
        raise ParameterError(f"{PROBABILITY_FILE} in {folder} has no playlist, offset and user columns")
    sessions = truth.groupby("session_id", sort=False)[["session_kind", "playlist", "playlist_offset",
                                                         "user"]].first()
    playlists = pd.read_csv(folder / PLAYLIST_FILE, dtype={"track_id": str}).sort_values(["playlist", "position"])
    libraries = pd.read_csv(folder / LIBRARY_FILE, dtype={"track_id": str})
    return SessionTruth(sessions=sessions,
                        playlists=[group.track_id.to_numpy() for _, group in playlists.groupby("playlist")],
                        libraries={int(u): group.track_id.to_numpy() for u, group in libraries.groupby("user")})


def mssd_track_features(catalog: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """The catalog's tracks in the MSSD track-features schema (mapping in the module docstring)."""
    rng = np.random.default_rng(seed)
    n = len(catalog)
    norm = normalise_features(catalog)
    col = {name: i for i, name in enumerate(AUDIO_FEATURES)}
    frame = pd.DataFrame({"track_id": "t_" + catalog.track_id.astype(str).to_numpy()})
    frame["duration"] = catalog.duration_ms.to_numpy() / 1000.0
    frame["release_year"] = np.maximum(1950, 2019 - rng.geometric(0.12, size=n))
    frame["us_popularity_estimate"] = 90.0 + catalog.popularity.to_numpy() / 10.0
    for name in ("acousticness", "danceability", "energy", "instrumentalness", "liveness", "speechiness",
                 "valence", "key", "loudness", "tempo"):
        frame[name] = catalog[name].to_numpy()
    acoustic, dance, energy = (catalog[c].to_numpy() for c in ("acousticness", "danceability", "energy"))
    frame["beat_strength"] = (dance + energy) / 2
    frame["bounciness"] = 0.6 * dance + 0.4 * norm[:, col["tempo"]]
    frame["dyn_range_mean"] = 4.0 - 0.4 * catalog.loudness.to_numpy()
    frame["flatness"] = 0.8 + 0.25 * (1 - acoustic)
    frame["mechanism"] = (1 - acoustic + catalog.instrumentalness.to_numpy()) / 2
    frame["organism"] = (acoustic + 1 - energy) / 2
    frame["mode"] = np.where(catalog["mode"].to_numpy() == 1, "major", "minor")
    frame["time_signature"] = rng.choice([4, 3, 5], p=[0.9, 0.08, 0.02], size=n)
    projection = np.random.default_rng(8).normal(size=(len(AUDIO_FEATURES), 8))
    vectors = np.tanh(2 * (norm - norm.mean(axis=0)) @ projection / np.sqrt(len(AUDIO_FEATURES)))
    for i in range(8):
        frame[f"acoustic_vector_{i}"] = vectors[:, i]
    for name in frame.columns[1:]:
        if frame[name].dtype.kind == "f":
            frame[name] = frame[name].round(6)
    return frame[list(TRACK_FEATURE_COLUMNS)]


def second_half_marginal(listeners: SessionListeners, users: np.ndarray, offsets: np.ndarray,
                         tracks: np.ndarray, lengths: np.ndarray, skips: np.ndarray, *, replicas: int,
                         rng: np.random.Generator, chunk: int = 1000) -> np.ndarray:
    """P(skip_2) of each second-half track given the hidden state and the first half's skips only.

    The skip rule depends on the last skips, which inside the second half are not seen by a predictor
    that reads the first half. Here the second half is re-drawn ``replicas`` times from the same hidden
    state (offset, taste) and the realised first half, and the probability at each position is averaged
    over those draws. Returns ``(n_sessions, 20)``, NaN outside second halves.
    """
    n = len(users)
    out = np.full((n, 20), np.nan)
    for begin in range(0, n, chunk):
        part = slice(begin, begin + chunk)
        u = np.repeat(users[part], replicas)
        o = np.repeat(offsets[part], replicas)
        t = np.repeat(tracks[part], replicas, axis=0)
        history = np.repeat(skips[part], replicas, axis=0).copy()
        length = np.repeat(lengths[part], replicas)
        half = length // 2
        total = np.zeros((len(u), 20))
        for position in range(20):
            second = (position >= half) & (position < length)
            if not second.any():
                continue
            p = listeners.skip_probability(u, o, t[:, position], history[:, :position], position)
            total[:, position] = p
            history[:, position] = np.where(second, rng.random(len(u)) < p, history[:, position])
        mean = total.reshape(-1, replicas, 20).mean(axis=1)
        rows = np.arange(begin, min(begin + chunk, n))
        columns = np.arange(20)[None, :]
        inside = (columns >= (lengths[rows] // 2)[:, None]) & (columns < lengths[rows][:, None])
        out[rows] = np.where(inside, mean, np.nan)
    return out


def _listeners(catalog: pd.DataFrame, config: SimulatorConfig, rng: np.random.Generator) -> SessionListeners:
    norm = normalise_features(catalog)
    taste = norm[:, [AUDIO_FEATURES.index(f) for f in TASTE_FEATURES]]
    popularity = catalog.popularity.to_numpy(dtype=float) / 100.0
    return SessionListeners(taste, catalog.track_genre.to_numpy(), popularity, config.n_users, rng,
                            params=config.skip)


def simulated_listeners(config: SimulatorConfig | None = None, *, seed: int = 0,
                        catalog: pd.DataFrame | None = None) -> SessionListeners:
    """The listener population of :func:`simulate_sessions` with the same arguments (it is the first thing
    drawn from the seeded generator, so it is rebuilt exactly)."""
    config = config or SimulatorConfig()
    if catalog is None:
        catalog = synthetic_catalog(config.n_tracks, seed=config.catalog_seed)
    return _listeners(catalog.reset_index(drop=True), config, np.random.default_rng(seed))


def population_posterior(listeners: SessionListeners, tracks: np.ndarray, lengths: np.ndarray,
                         skips: np.ndarray, premium: np.ndarray, contexts: np.ndarray, *,
                         rng: np.random.Generator, mood_points: int = 11, samples: int = 2000
                         ) -> np.ndarray:
    """P(skip_2) of each second-half track for a predictor that knows the simulator but not the listener.

    It knows the skip rule, its coefficients and the whole listener population, and sees what a session
    log shows: the tracks, the first half's skips, ``premium`` and ``context_type``; it does not know which
    listener played the session nor the session's mood. Its prior is uniform over the listeners with the
    session's premium flag, times a Gaussian mood on ``mood_points`` quadrature points; the first half's
    skips weight these hypotheses (Bayes' rule), then ``samples`` hypotheses drawn from the posterior play
    the second half forward (its own skips feed the recent-skips term) and the probabilities are averaged.
    Skipping when the result exceeds 1/2 is the best per-track decision without the listener's identity.

    Parameters
    ----------
    tracks, skips : np.ndarray [shape=(n, 20)]
        Catalog indices and ``skip_2`` of each session, position by position (padding ignored).
    lengths, premium, contexts : np.ndarray [shape=(n,)]

    Returns
    -------
    np.ndarray [shape=(n, 20)]: NaN outside second halves.
    """
    p = listeners.params
    check_number("mood_points", mood_points, low=1, integer=True)
    check_number("samples", samples, low=1, integer=True)
    z = np.linspace(-3.0, 3.0, mood_points) if mood_points > 1 else np.zeros(1)
    moods, mood_weight = z * p.mood_sd, np.exp(-0.5 * z ** 2)
    mood_weight /= mood_weight.sum()
    out = np.full((len(tracks), 20), np.nan)
    for i in range(len(tracks)):
        length, half = int(lengths[i]), int(lengths[i]) // 2
        users = np.flatnonzero(listeners.premium == bool(premium[i]))
        u = np.repeat(users, len(moods))
        offset = (listeners.propensity[u] + np.tile(moods, len(users)) + p.context_effects[str(contexts[i])]
                  + p.premium_effect * bool(premium[i]))
        log_weight = np.log(np.tile(mood_weight, len(users)))
        history = np.repeat(skips[i, None, :half].astype(bool), len(u), axis=0)
        for position in range(half):
            prob = listeners.skip_probability(u, offset, np.full(len(u), tracks[i, position]),
                                              history[:, :position], position)
            log_weight += np.log(np.where(skips[i, position], prob, 1.0 - prob) + 1e-300)
        weight = np.exp(log_weight - log_weight.max())
        chosen = rng.choice(len(u), size=samples, p=weight / weight.sum())
        u, offset, history = u[chosen], offset[chosen], history[chosen]
        for position in range(half, length):
            prob = listeners.skip_probability(u, offset, np.full(samples, tracks[i, position]), history, position)
            out[i, position] = prob.mean()
            history = np.concatenate([history, (rng.random(samples) < prob)[:, None]], axis=1)
    return out


def second_half_posterior(listeners: SessionListeners, log: pd.DataFrame, track_features: pd.DataFrame,
                          arrays: SessionArrays, *, rng: np.random.Generator, mood_points: int = 11,
                          samples: int = 2000) -> np.ndarray:
    """:func:`population_posterior` of the sessions of ``arrays``, read from the simulated ``log`` (and its
    ``track_features``, the catalog order), as the second halves of ``arrays``.

    Returns
    -------
    np.ndarray [shape=(len(arrays), MAX_HALF)]: P(skip_2) of every second-half track, NaN in padding.
    """
    catalog_index = pd.Series(np.arange(len(track_features)), index=track_features.track_id)
    starts = pd.Series(np.flatnonzero(log.session_position.to_numpy() == 1),
                       index=log.session_id.to_numpy()[log.session_position.to_numpy() == 1])
    tokens = catalog_index.loc[log.track_id_clean].to_numpy()
    first_row = starts.loc[arrays.session_id].to_numpy()
    rows = np.minimum(first_row[:, None] + np.arange(20)[None, :], len(log) - 1)
    inside = np.arange(20)[None, :] < arrays.length[:, None]
    tracks = np.where(inside, tokens[rows], 0)
    skips = np.where(inside, log.skip_2.to_numpy(dtype=bool)[rows], False)
    session_rows = log.iloc[first_row]
    probability = population_posterior(
        listeners, tracks, arrays.length, skips, session_rows.premium.to_numpy(dtype=bool),
        session_rows.context_type.to_numpy(), samples=samples, mood_points=mood_points, rng=rng)
    second = np.full((len(arrays), MAX_HALF), np.nan)
    columns = arrays.n_first[:, None] + np.arange(MAX_HALF)[None, :]
    valid = arrays.second_mask
    second[valid] = probability[np.nonzero(valid)[0], columns[valid]]
    return second


def _make_playlists(genres: np.ndarray, popularity: np.ndarray, config: SimulatorConfig,
                    rng: np.random.Generator) -> list[np.ndarray]:
    names = np.unique(genres)
    playlists = []
    for _ in range(config.n_playlists):
        members = np.flatnonzero(genres == names[rng.integers(len(names))])
        size = min(config.playlist_length, len(members))
        weights = 0.2 + popularity[members]
        playlists.append(rng.choice(members, size=size, replace=False, p=weights / weights.sum()))
    return playlists


def simulate_sessions(config: SimulatorConfig | None = None, *, seed: int = 0,
                      catalog: pd.DataFrame | None = None) -> SimulatedSessions:
    """Simulate listening sessions in the MSSD schema.

    Parameters
    ----------
    config : SimulatorConfig, optional
        Sizes and knobs (defaults: 15,000 sessions of 2,000 listeners over 2,000 tracks).
    seed : int
        Seed of everything except the catalog (``config.catalog_seed``); same seed, same sessions.
    catalog : pd.DataFrame, optional
        A catalog in the schema of :mod:`musicrec.data.catalog` (default: the synthetic one with
        ``config.n_tracks`` tracks).

    Returns
    -------
    SimulatedSessions
    """
    config = config or SimulatorConfig()
    check_number("seed", seed, low=0, integer=True)
    if catalog is None:
        catalog = synthetic_catalog(config.n_tracks, seed=config.catalog_seed)
    catalog = catalog.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    features = mssd_track_features(catalog, seed=config.catalog_seed)
    listeners = _listeners(catalog, config, rng)
    popularity, genres = listeners.popularity, catalog.track_genre.to_numpy()
    playlists = _make_playlists(genres, popularity, config, rng)
    playlist_weights = 1.0 / np.arange(1, len(playlists) + 1) ** config.playlist_zipf
    playlist_weights /= playlist_weights.sum()
    playlist_context = rng.choice(PLAYLIST_CONTEXTS, p=[0.6, 0.25, 0.15], size=len(playlists))

    n = config.n_sessions
    users = rng.integers(0, config.n_users, size=n)
    lengths = np.where(rng.random(n) < 0.5, 20, rng.integers(10, 20, size=n))
    kind = np.where(rng.random(n) < config.playlist_share, "playlist", "personal").astype(object)
    kind[(kind == "playlist") & (rng.random(n) < config.shuffle_share)] = "shuffle"
    contexts = np.empty(n, dtype=object)
    tracks = np.zeros((n, 20), dtype=np.int64)
    session_playlist = np.full(n, -1, dtype=np.int64)
    session_offset = np.full(n, -1, dtype=np.int64)
    libraries: dict[int, np.ndarray] = {}

    def library(user: int) -> np.ndarray:
        if user not in libraries:
            libraries[user] = listeners.library(user, config.library_size)
        return libraries[user]

    for s in range(n):
        length, user = int(lengths[s]), int(users[s])
        own = library(user)
        if kind[s] == "personal":
            contexts[s] = rng.choice(PERSONAL_CONTEXTS, p=[0.5, 0.25, 0.25])
            tracks[s, :length] = rng.permutation(own)[:length]
            continue
        k = rng.choice(len(playlists), p=playlist_weights)
        playlist = playlists[k]
        contexts[s] = playlist_context[k]
        session_playlist[s] = k
        if kind[s] == "shuffle":
            chosen = rng.permutation(playlist)[:length]
        else:
            last_start = max(0, len(playlist) - length)
            offset = 0 if rng.random() < 0.5 else int(rng.integers(0, last_start + 1))
            session_offset[s] = offset
            chosen = playlist[offset:offset + length].copy()
        swap = np.flatnonzero(rng.random(len(chosen)) < config.deviation)
        missing = length - len(chosen)  # a playlist shorter than the session continues with personal picks
        if len(swap) or missing:
            taken = set(chosen.tolist())
            picks = np.array([t for t in rng.permutation(own) if t not in taken][: len(swap) + missing],
                             dtype=np.int64)
            chosen[swap[: len(picks)]] = picks[: len(swap)]
            chosen = np.r_[chosen, picks[len(swap):]]
        tracks[s, :length] = chosen

    # skips, position by position, all sessions at once
    listeners.start(users, contexts)
    offsets = listeners.session_offsets
    columns = {name: np.zeros((n, 20), dtype=bool) for name in ("skip_1", "skip_2", "skip_3", "not_skipped")}
    probability = np.zeros((n, 20))
    for t in range(20):
        feedback = listeners.respond(tracks[:, t])
        listeners.update(feedback)
        probability[:, t] = feedback.skip_probability
        for name in columns:
            columns[name][:, t] = getattr(feedback, name)

    marginal = second_half_marginal(listeners, users, offsets, tracks, lengths, columns["skip_2"],
                                    replicas=config.marginal_replicas, rng=np.random.default_rng([seed, 1]))
    active = np.arange(20)[None, :] < lengths[:, None]
    rows, cols = np.nonzero(active)  # row-major: sessions in order, positions ascending
    n_rows = len(rows)
    skip_3 = columns["skip_3"][rows, cols]
    reason_end = np.where(skip_3, rng.choice(["fwdbtn", "backbtn", "clickrow", "endplay"],
                                             p=[0.85, 0.05, 0.05, 0.05], size=n_rows), "trackdone")
    first = cols == 0
    previous_end = np.concatenate([["trackdone"], reason_end[:-1]])
    reason_start = np.where(first, rng.choice(["appload", "clickrow", "playbtn"], size=n_rows),
                            np.where(previous_end == "endplay", "playbtn", previous_end))
    pause = np.where(first, 2, rng.choice([0, 1, 2], p=[0.9, 0.07, 0.03], size=n_rows))
    late = skip_3 & ~columns["skip_1"][rows, cols]
    hours = rng.choice(24, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum(), size=n)
    dates = (np.datetime64("2018-07-15") + rng.integers(0, 66, size=n)).astype(str)
    session_ids = np.array([f"0_{uuid.UUID(bytes=rng.bytes(16), version=4)}" for _ in range(n)], dtype=object)
    track_ids = features.track_id.to_numpy()
    is_shuffle = (kind == "shuffle") | ((kind == "personal") & (contexts == "user_collection"))

    log = pd.DataFrame({
        "session_id": session_ids[rows],
        "session_position": cols + 1,
        "session_length": lengths[rows],
        "track_id_clean": track_ids[tracks[rows, cols]],
        "skip_1": columns["skip_1"][rows, cols],
        "skip_2": columns["skip_2"][rows, cols],
        "skip_3": skip_3,
        "not_skipped": columns["not_skipped"][rows, cols],
        "context_switch": np.zeros(n_rows, dtype=int),
        "no_pause_before_play": (pause == 0).astype(int),
        "short_pause_before_play": (pause == 1).astype(int),
        "long_pause_before_play": (pause == 2).astype(int),
        "hist_user_behavior_n_seekfwd": rng.poisson(np.where(late, 0.4, 0.05)),
        "hist_user_behavior_n_seekback": rng.poisson(0.1, size=n_rows),
        "hist_user_behavior_is_shuffle": is_shuffle[rows],
        "hour_of_day": hours[rows],
        "date": dates[rows],
        "premium": listeners.premium[users][rows],
        "context_type": contexts[rows].astype(str),
        "hist_user_behavior_reason_start": reason_start,
        "hist_user_behavior_reason_end": reason_end,
    })[list(LOG_COLUMNS)]
    return SimulatedSessions(
        log=log, track_features=features, skip_probability=probability[rows, cols],
        marginal_probability=marginal[rows, cols],
        session_kind=pd.Series(kind.astype(str), index=session_ids, name="session_kind"),
        playlists=[track_ids[p] for p in playlists],
        session_playlist=pd.Series(session_playlist, index=session_ids, name="playlist"),
        session_offset=pd.Series(session_offset, index=session_ids, name="playlist_offset"),
        session_user=pd.Series(users, index=session_ids, name="user"),
        libraries={int(u): track_ids[own] for u, own in libraries.items()})
