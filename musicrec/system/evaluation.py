"""Every song as a target (thesis section 6, table 1): the agent searches, the system plays, two users rate.

For each target song the trained grid agent starts at the centre and names one position per step for
``episode_length`` steps (21). The **ideal user** is the grid environment's own user for the target
song's cell: its rating (0-4) of each visited position and its ``closer`` are what the agent was
trained on and what it sees. Each visited position plays a song (:mod:`musicrec.system.playback`),
which the **perceptual listener** (:mod:`musicrec.users.perceptual`) rates against the target song;
its feedback is recorded, never fed to the agent (as in the thesis).

Everything is batched: the agent runs once over all target cells (:func:`run_agent`, one batched
grid core, one ``predict`` call per step for all of them), and each playback rule replays those
trajectories for all target songs at once (:func:`play_episodes`).

Per target (:func:`target_metrics`), with steps counted 1..21 after the start song:

* ``mad``: mean over the steps of |ideal rating - listener rating| (the thesis's table 1 measure);
* ``rating``, ``ideal_rating``: mean ratings; ``rating4_steps``: steps rated 4 by the ideal user (the
  agent's Bullseye return divided by 10);
* ``closer_agreement``: share of steps where both users agree on ``closer``;
* ``steps_to_cell``: first step on the target song's cell (NaN if never), ``steps_to_top``: first
  rating 4 from the ideal user (what the agent is rewarded for; under WiderTopTarget the top 5%
  of the distances to the target rate 4, so it can come before the target cell), ``steps_to_genre``: first step playing a
  song of the target's genre, ``steps_to_song``: first step playing the target song itself;
* ``genre_fraction``: share of the played songs in the target's genre;
* ``repeat_rate``: share of steps 2..21 that play the song of the step before; ``distinct_songs``.

A corpus's features table on the grid (:func:`evaluate`): :func:`build_system` places its songs
(:class:`~musicrec.system.song_grid.SongGrid` of the PCA columns) and makes its listeners, every agent
searches for every song, every playback rule replays the search; :func:`save_traces` and
:func:`load_traces` keep what was played.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from musicrec.envs.grid_core import BatchedFeatureGrid, as_predict, check_settings
from musicrec.errors import ParameterError, check_choice
from musicrec.system.playback import PLAYBACKS, BatchedPlayer, Playback
from musicrec.system.song_grid import SongGrid
from musicrec.users.grid import grid_geometry
from musicrec.users.perceptual import PerceptualListener

#: The thesis's table 1: mean absolute difference between the real and the ideal user's ratings.
THESIS_TABLE1 = {"blues": 1.14, "classical": 2.12, "country": 1.49, "disco": 1.10, "hiphop": 0.80, "jazz": 1.60,
                 "metal": 1.40, "pop": 1.43, "reggae": 1.24, "rock": 1.35}
#: The environment settings a grid policy takes (a subset of an agent's environment settings).
POLICY_KEYS = ("dims", "levels", "target", "reward", "obs", "action", "episode_length")
#: The searcher that names the target cell at every step (:func:`oracle_trajectories`): as the predict value
#: of an agent in :func:`evaluate`, and as its name in the tables (the grid's ceiling: only the features
#: decide what plays).
ORACLE = "oracle (target cell)"


def check_compatible(grid: SongGrid, env: Mapping[str, Any]) -> dict[str, Any]:
    """The agent's environment settings, validated against the song grid (same ``dims`` and ``levels``)."""
    settings = check_settings(**{k: env[k] for k in POLICY_KEYS if k in env})
    if (settings["dims"], settings["levels"]) != (grid.dims, grid.levels):
        raise ParameterError(
            f"the agent was trained for dims={settings['dims']}, levels={settings['levels']}, but the songs are "
            f"on a grid with dims={grid.dims}, levels={grid.levels}")
    return settings


@dataclass
class AgentTrajectories:
    """The agent's search for each target cell, with the ideal user's feedback.

    Attributes
    ----------
    target_cells : np.ndarray [shape=(n,)]
    positions : np.ndarray [shape=(n, T)]
        Flat index of the position named at steps 1..T.
    ideal_rating : np.ndarray [shape=(n, T)]
    ideal_closer : np.ndarray [shape=(n, T)]
    start : int
        The start position (the centre).
    """

    target_cells: np.ndarray
    positions: np.ndarray
    ideal_rating: np.ndarray
    ideal_closer: np.ndarray
    start: int

    def subset(self, index) -> "AgentTrajectories":
        return AgentTrajectories(self.target_cells[index], self.positions[index], self.ideal_rating[index],
                                 self.ideal_closer[index], self.start)


def run_agent(predict, target_cells, **env) -> AgentTrajectories:
    """Run a deterministic grid policy once from the centre for every target cell, as one batch.

    Parameters
    ----------
    predict : callable or model
        ``predict(obs, state, episode_start) -> (actions, state)`` (as for
        :func:`musicrec.envs.grid.evaluate_all_targets`).
    target_cells : array of int
        Flat target cells; each distinct cell is searched once (the user is deterministic).
    **env
        The agent's environment settings (``dims``, ``levels``, ``target``, ``reward``, ``obs``,
        ``action``, ``episode_length``).
    """
    predict = as_predict(predict)
    settings = check_settings(**env)
    target_cells = np.asarray(target_cells, dtype=np.int64).reshape(-1)
    cells, inverse = np.unique(target_cells, return_inverse=True)
    core = BatchedFeatureGrid(len(cells), **settings)
    obs = core.reset(cells)
    steps = settings["episode_length"]
    positions = np.empty((len(cells), steps), dtype=np.int64)
    ratings = np.empty((len(cells), steps), dtype=np.int8)
    closer = np.empty((len(cells), steps), dtype=bool)
    state, episode_start = None, np.ones(len(cells), dtype=bool)
    for t in range(steps):
        actions, state = predict(obs, state, episode_start)
        obs, _, _, info = core.step(actions)
        positions[:, t], ratings[:, t], closer[:, t] = info["position"], info["rating"], info["closer"]
        episode_start = np.zeros(len(cells), dtype=bool)
    inverse = inverse.reshape(-1)
    return AgentTrajectories(target_cells, positions[inverse], ratings[inverse], closer[inverse],
                             core.geometry.start)


def oracle_trajectories(target_cells, **env) -> AgentTrajectories:
    """A searcher that names the target cell at every step: what the grid can do at best, with the features
    alone deciding which songs play (the ceiling of any agent under a playback rule)."""
    settings = check_settings(**env)
    target_cells = np.asarray(target_cells, dtype=np.int64).reshape(-1)
    core = BatchedFeatureGrid(len(target_cells), **settings)
    core.reset(target_cells)
    actions = core.geometry.coords[target_cells] if settings["action"] == "factored" else target_cells
    steps = settings["episode_length"]
    positions = np.empty((len(target_cells), steps), dtype=np.int64)
    ratings = np.empty((len(target_cells), steps), dtype=np.int8)
    closer = np.empty((len(target_cells), steps), dtype=bool)
    for t in range(steps):
        _, _, _, info = core.step(actions)
        positions[:, t], ratings[:, t], closer[:, t] = info["position"], info["rating"], info["closer"]
    return AgentTrajectories(target_cells, positions, ratings, closer, core.geometry.start)


@dataclass
class SystemTrace:
    """What was played and said in every episode of one playback rule.

    Attributes
    ----------
    playback : str
    target_songs, target_cells, start_songs : np.ndarray [shape=(n,)]
    positions, songs : np.ndarray [shape=(n, T)]
        Position named and song played at steps 1..T.
    ideal_rating, ideal_closer : np.ndarray [shape=(n, T)]
        The grid user's feedback on the positions.
    ratings, closer : dict of np.ndarray [shape=(n, T)]
        Each listener's feedback on the songs, keyed by listener name (``"perceptual"`` first).
    """

    playback: str
    target_songs: np.ndarray
    target_cells: np.ndarray
    start_songs: np.ndarray
    positions: np.ndarray
    songs: np.ndarray
    ideal_rating: np.ndarray
    ideal_closer: np.ndarray
    ratings: dict[str, np.ndarray] = field(default_factory=dict)
    closer: dict[str, np.ndarray] = field(default_factory=dict)


def play_episodes(trajectories: AgentTrajectories, grid: SongGrid, target_songs,
                  listeners: Mapping[str, PerceptualListener], playback: Playback, *,
                  full_distance: Callable | None = None) -> SystemTrace:
    """Replay the agent's trajectories with a playback rule; every listener rates every played song.

    Parameters
    ----------
    trajectories : AgentTrajectories
        From :func:`run_agent` with ``target_cells = grid.song_cells[target_songs]``.
    grid : SongGrid
    target_songs : array of int
        The target song of each episode.
    listeners : mapping of name to PerceptualListener
        The first one drives the re-ranking rules' anchor.
    playback : Playback
    full_distance : callable, optional
        Full-space distance for re-ranking (default: the first listener's).
    """
    target_songs = np.asarray(target_songs, dtype=np.int64).reshape(-1)
    if not listeners:
        raise ParameterError("play_episodes needs at least one listener")
    for name, listener in listeners.items():
        if listener.n_songs != grid.n_songs:
            raise ParameterError(f"listener {name!r} knows {listener.n_songs} songs, the grid holds {grid.n_songs}")
    if target_songs.shape != trajectories.target_cells.shape or not np.array_equal(
            grid.song_cells[target_songs], trajectories.target_cells):
        raise ParameterError("the trajectories were not run for the cells of these target songs")
    names = list(listeners)
    main = listeners[names[0]]
    n, steps = trajectories.positions.shape
    start_songs = np.full(n, grid.representatives[trajectories.start], dtype=np.int64)
    player = BatchedPlayer(playback, grid, start_songs, main.rate(target_songs, start_songs),
                           full_distance=full_distance or main.distance)
    songs = np.empty((n, steps), dtype=np.int64)
    ratings = {name: np.empty((n, steps), dtype=np.int8) for name in names}
    closer = {name: np.empty((n, steps), dtype=bool) for name in names}
    previous = start_songs
    for t in range(steps):
        played = player.choose(trajectories.positions[:, t])
        songs[:, t] = played
        for name, listener in listeners.items():
            ratings[name][:, t] = listener.rate(target_songs, played)
            closer[name][:, t] = listener.closer(target_songs, played, previous)
        player.observe(played, ratings[names[0]][:, t])
        previous = played
    return SystemTrace(playback.name, target_songs, trajectories.target_cells, start_songs,
                       trajectories.positions, songs, trajectories.ideal_rating, trajectories.ideal_closer,
                       ratings, closer)


def _first_step(hit: np.ndarray) -> np.ndarray:
    """1-based first step where ``hit`` (n, T) is True, NaN if never."""
    found = hit.any(axis=1)
    return np.where(found, hit.argmax(axis=1) + 1.0, np.nan)


def target_metrics(trace: SystemTrace, genres: Sequence[str]) -> pd.DataFrame:
    """One row per target song (see the module docstring for the columns)."""
    genres = np.asarray(genres)
    target_genre = genres[trace.target_songs]
    same_genre = genres[trace.songs] == target_genre[:, None]
    names = list(trace.ratings)
    frame = pd.DataFrame({"playback": trace.playback, "song": trace.target_songs, "genre": target_genre,
                          "target_cell": trace.target_cells})
    ideal = trace.ideal_rating.astype(np.int64)
    for i, name in enumerate(names):
        suffix = "" if i == 0 else f"_{name}"
        frame[f"mad{suffix}"] = np.abs(ideal - trace.ratings[name]).mean(axis=1)
        frame[f"closer_agreement{suffix}"] = (trace.closer[name] == trace.ideal_closer).mean(axis=1)
        frame[f"rating{suffix}"] = trace.ratings[name].mean(axis=1)
    frame["ideal_rating"] = ideal.mean(axis=1)
    frame["rating4_steps"] = (ideal == 4).sum(axis=1)
    frame["steps_to_cell"] = _first_step(trace.positions == trace.target_cells[:, None])
    frame["steps_to_top"] = _first_step(trace.ideal_rating == 4)
    frame["steps_to_genre"] = _first_step(same_genre)
    frame["steps_to_song"] = _first_step(trace.songs == trace.target_songs[:, None])
    frame["genre_fraction"] = same_genre.mean(axis=1)
    frame["repeat_rate"] = (trace.songs[:, 1:] == trace.songs[:, :-1]).mean(axis=1)
    sorted_songs = np.sort(trace.songs, axis=1)
    frame["distinct_songs"] = 1 + (sorted_songs[:, 1:] != sorted_songs[:, :-1]).sum(axis=1)
    return frame


#: Columns of the per-genre table, in order (``reached_*``: share of targets where it happened).
GENRE_COLUMNS = ["mad", "mad_genre_aware", "mad_independent", "closer_agreement", "closer_agreement_independent",
                 "rating", "rating_genre_aware", "rating_independent", "ideal_rating",
                 "rating4_steps", "reached_cell", "steps_to_cell", "steps_to_top", "steps_to_genre", "reached_genre",
                 "genre_fraction", "reached_song", "repeat_rate", "distinct_songs"]


def per_genre(metrics: pd.DataFrame, *, by: Sequence[str] = ("playback",), genres: Sequence[str] | None = None,
              all_label: str = "all") -> pd.DataFrame:
    """The per-genre table (thesis table 1 and more), one row per (``by``..., genre) plus an ``all`` row.

    Means over target songs (and over whatever else the rows hold, e.g. agent seeds); ``steps_to_*``
    are means over the targets where it happened, ``reached_*`` the share where it did.
    """
    frame = metrics.copy()
    frame["reached_cell"] = frame["steps_to_cell"].notna()
    frame["reached_genre"] = frame["steps_to_genre"].notna()
    frame["reached_song"] = frame["steps_to_song"].notna()
    columns = [c for c in GENRE_COLUMNS if c in frame.columns]
    by = list(by)
    grouped = frame.groupby(by + ["genre"], sort=False)[columns].mean()
    overall = frame.groupby(by, sort=False)[columns].mean() if by else frame[columns].mean().to_frame().T
    counts = frame.groupby(by + ["genre"], sort=False).song.nunique().rename("songs")
    table = grouped.join(counts).reset_index()
    overall = overall.reset_index() if by else overall
    overall["genre"] = all_label
    overall["songs"] = frame.groupby(by, sort=False).song.nunique().to_numpy() if by else frame.song.nunique()
    table = pd.concat([table, overall], ignore_index=True)
    order = list(genres) if genres is not None else sorted(set(frame.genre))
    table["_g"] = table.genre.map({g: i for i, g in enumerate(order + [all_label])})
    sort = ([table[c].map({v: i for i, v in enumerate(pd.unique(frame[c]))}) for c in by])
    table = table.assign(**{f"_{c}": s for c, s in zip(by, sort)})
    table = table.sort_values([f"_{c}" for c in by] + ["_g"]).drop(columns=["_g"] + [f"_{c}" for c in by])
    table.insert(len(by) + 1, "thesis_mad", table.genre.map(THESIS_TABLE1))
    table.insert(len(by) + 1, "songs", table.pop("songs"))
    return table.reset_index(drop=True)


# -- the corpus on the grid: every song as a target ---------------------------------------------------------
def policy_settings(env: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments a grid policy takes from an agent's environment settings (:data:`POLICY_KEYS`)."""
    return {k: env[k] for k in POLICY_KEYS}


def feature_columns(frame: pd.DataFrame, layer: str) -> tuple[list[str], list[str]]:
    """The full-layer columns (``<layer>_000`` ...) and the PCA columns (``pc1`` ...) of a features table."""
    full = [c for c in frame.columns if c.startswith(f"{layer}_")]
    pcs = [c for c in frame.columns if c.startswith("pc") and c[2:].isdigit()]
    if not full:
        raise ParameterError(f"the features table has no columns of layer {layer!r}")
    return full, sorted(pcs, key=lambda c: int(c[2:]))


def check_grid_supports(n_songs: int, *, dims: int, levels: int) -> None:
    """Raise unless the corpus has at least one song per grid cell (else most cells play a neighbour's song)."""
    cells = int(levels) ** int(dims)
    if n_songs < cells:
        raise ParameterError(
            f"{n_songs} songs cannot fill a {levels}^{dims} = {cells}-cell grid: use an agent of fewer dimensions "
            f"(a {levels}^{dims - 1} = {levels ** (dims - 1)}-cell grid) or a larger corpus")


def rows_of_songs(track_ids: Sequence[str], values: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
    """The rows of ``values`` (one per id of ``track_ids``, e.g. a second tagger's layer) for every song of
    ``frame``, in its order (``frame.track_id``); raises naming the songs that have none."""
    index = pd.Series(np.arange(len(track_ids)), index=np.asarray(track_ids))
    missing = sorted(set(frame.track_id) - set(index.index))
    if missing:
        raise ParameterError(f"the second tagger did not tag {len(missing)} song(s) of the corpus, e.g. {missing[:3]}")
    return values[index.loc[frame.track_id].to_numpy()]


def build_system(frame: pd.DataFrame, *, layer: str, levels: int, dims: int, listener: Mapping[str, Any],
                 target: str = "wider", n_features: int | None = None, independent: np.ndarray | None = None
                 ) -> tuple[SongGrid, dict[str, PerceptualListener]]:
    """The song grid and the listeners (plain, genre-aware and, given its features, independent) of a
    features table.

    ``listener``: ``metric`` (default ``euclidean``) and ``genre_bonus`` (0: no genre-aware listener).
    ``n_features``: the width the full features must have (the PCA model's input), checked.
    ``independent``: ``(songs, d)`` features the system does not search (the second tagger's tags).
    """
    full, pcs = feature_columns(frame, layer)
    if len(pcs) < dims:
        raise ParameterError(f"the features table has {len(pcs)} PCA columns, the grid needs dims={dims}")
    genres = frame["genre"].to_numpy()
    grid = SongGrid(frame[pcs[:dims]].to_numpy(), levels=levels, dims=dims)
    values = frame[full].to_numpy()
    metric = listener.get("metric", "euclidean")
    listeners = {"perceptual": PerceptualListener(values, genres=genres, target=target, metric=metric,
                                                  n_features=n_features)}
    bonus = int(listener.get("genre_bonus", 0))
    if bonus:
        listeners["genre_aware"] = PerceptualListener(values, genres=genres, target=target, metric=metric,
                                                      genre_bonus=bonus, n_features=n_features)
    if independent is not None:
        listeners["independent"] = PerceptualListener(independent, genres=genres, target=target, metric=metric)
    return grid, listeners


def playbacks(settings: Mapping[str, Any]) -> list[Playback]:
    """The playback rules of ``settings`` (``playbacks``, default all of :data:`PLAYBACKS`; ``rerank_k``,
    default 10; ``anchor_rating``, default 4)."""
    names = list(settings.get("playbacks", PLAYBACKS))
    for name in names:
        check_choice("playback", name, PLAYBACKS)
    return [Playback(name, rerank_k=int(settings.get("rerank_k", 10)),
                     anchor_rating=int(settings.get("anchor_rating", 4))) for name in names]


def evaluate(frame: pd.DataFrame, agents: Mapping[tuple[str, int], Any], env: Mapping[str, Any],
             settings: Mapping[str, Any], *, layer: str, n_features: int | None = None,
             independent: np.ndarray | None = None
             ) -> tuple[pd.DataFrame, dict[tuple[str, int, str], SystemTrace], SongGrid]:
    """Every song of ``frame`` as a target, for each agent and playback rule.

    Parameters
    ----------
    frame : pd.DataFrame
        Corpus features (``genre``, ``<layer>_*``, ``pc*``), one row per song.
    agents : mapping of (agent name, seed) to predict or (predict, agent env)
        Deterministic ``predict(obs, state, episode_start)`` functions (or models), with the environment
        settings each was trained on (default ``env``); the predict value :data:`ORACLE` runs
        :func:`oracle_trajectories`.
    env : mapping
        The grid's environment settings (``dims``, ``levels``, ``target``); every agent's ``dims`` and
        ``levels`` must match it.
    settings : mapping
        ``levels``, ``listener`` (see :func:`build_system`), ``playbacks``, ``rerank_k``, ``anchor_rating``
        (see :func:`playbacks`): e.g. the system study's budget.
    independent : np.ndarray, optional
        The independent listener's features of every song (see :func:`rows_of_songs`).

    Returns
    -------
    metrics : pd.DataFrame
        One row per (agent, seed, playback, target song).
    traces : dict
        ``{(agent, seed, playback): SystemTrace}``.
    grid : SongGrid
    """
    grid, listeners = build_system(frame, layer=layer, levels=int(settings["levels"]), dims=int(env["dims"]),
                                   listener=settings.get("listener", {}), target=env.get("target", "wider"),
                                   n_features=n_features, independent=independent)
    check_compatible(grid, env)
    songs = np.arange(grid.n_songs)
    genres = frame["genre"].to_numpy()
    rows, traces = [], {}
    for (agent, seed), value in agents.items():
        predict, agent_settings = value if isinstance(value, tuple) else (value, env)
        agent_env = check_compatible(grid, agent_settings)
        if isinstance(predict, str) and predict == ORACLE:
            trajectories = oracle_trajectories(grid.song_cells[songs], **agent_env)
        else:
            trajectories = run_agent(predict, grid.song_cells[songs], **agent_env)
        for playback in playbacks(settings):
            trace = play_episodes(trajectories, grid, songs, listeners, playback)
            traces[(agent, seed, playback.name)] = trace
            rows.append(target_metrics(trace, genres).assign(agent=agent, seed=seed))
    metrics = pd.concat(rows, ignore_index=True)
    metrics.insert(0, "agent", metrics.pop("agent"))
    metrics.insert(1, "seed", metrics.pop("seed"))
    return metrics, traces, grid


def rating4_share(env: Mapping[str, Any]) -> float:
    """The share of grid positions the ideal user rates 4, over every target (the grid of ``env``)."""
    table = grid_geometry(int(env["dims"]), int(env["levels"]), env.get("target", "wider")).rating_table()
    return float((np.asarray(table) == 4).mean())


# -- traces -------------------------------------------------------------------------------------------
def save_traces(traces: Mapping[tuple[str, int, str], SystemTrace], path: str | os.PathLike) -> None:
    """Positions and songs of every episode, keyed ``<agent>|<seed>|<playback>``, in one ``.npz`` file."""
    arrays = {}
    for (agent, seed, playback), trace in traces.items():
        key = f"{agent}|{seed}|{playback}"
        arrays[f"{key}|positions"] = trace.positions
        arrays[f"{key}|songs"] = trace.songs
        arrays[f"{key}|start_songs"] = trace.start_songs
        arrays[f"{key}|target_songs"] = trace.target_songs
    np.savez_compressed(path, **arrays)


def load_traces(path: str | os.PathLike) -> dict[tuple[str, int, str], dict[str, np.ndarray]]:
    """``{(agent, seed, playback): {"positions", "songs", "start_songs", "target_songs"}}`` of a file written
    by :func:`save_traces`."""
    out: dict[tuple[str, int, str], dict[str, np.ndarray]] = {}
    with np.load(path) as data:
        for name in data.files:
            agent, seed, playback, what = name.split("|")
            out.setdefault((agent, int(seed), playback), {})[what] = data[name]
    return out
