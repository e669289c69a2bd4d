"""Notebook 10: the whole recommender (thesis section 6, figure 32, table 1) evaluated with every song as target.

It joins two cached studies and adds one of its own:

* the corpus's tagger features and their PCA (notebooks 08-09, :mod:`musicrec.experiments.features`):
  the full layer (``pool3``, 128-D) for the perceptual listener, its ``d``-D PCA for the grid;
* the trained grid agent(s) of notebooks 03-07 (:mod:`musicrec.experiments.grid_agents`), one per seed;
* the evaluation run (kind ``system_eval``): songs placed on the grid, each song the target of one
  episode per agent seed, replayed with each playback rule, rated by the ideal user and by the
  perceptual listener (plain and genre-aware). ``metrics.csv`` holds one row per (agent, seed,
  playback, target song) (:func:`musicrec.system.evaluation.target_metrics`) and ``traces.npz`` the
  positions and songs of every episode.

Listeners: the *perceptual* listener hears the full layer the grid's PCA was computed from (so it judges
in the space the system searches: the evaluation is partly circular), the *genre-aware* one adds a point
for the target's genre, and the *independent* listener judges in a representation the system never
searches: the 50 tag probabilities of a second tagger trained on other data (``MTT_musicnn``,
MagnaTagATune).

The budget (``musicrec/configs/profiles/system.yml``) names the agent experiment and seeds, the corpus,
the listeners and the playback rules. A corpus must have at least as many songs as the grid has cells
(:func:`check_grid_supports`): the default profile puts the 200 songs of the 20-per-genre synthetic corpus
and the 265 clips of the real corpus on the 3-D grid (``5**3 = 125`` cells); the full profile keeps the
thesis's 4-D grid (625 cells) for the synthetic corpus at GTZAN's size (1,000 songs).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musicrec.errors import ParameterError, check_choice
from musicrec.profiles import load_profile, profile_or_mapping
from musicrec.runs import Run, write_csv_atomic
from musicrec.system.evaluation import (
    SystemTrace,
    check_compatible,
    oracle_trajectories,
    per_genre,
    play_episodes,
    run_agent,
    target_metrics,
)
from musicrec.system.playback import PLAYBACKS, Playback
from musicrec.system.song_grid import SongGrid
from musicrec.users.perceptual import PerceptualListener

STUDY = "system"
#: Bump when the evaluation changes a result (3: agent labels name the algorithm once).
VERSION = 3
#: Names of the reference agents in the tables: the rule baseline of notebook 02, and an oracle that names
#: the target cell at every step (the grid's ceiling: only the features decide what plays).
RULE = "rule baseline"
ORACLE = "oracle (target cell)"
LISTENERS = ("perceptual", "genre_aware", "independent")


def load_budget(profile_or_budget: str | Mapping) -> dict[str, Any]:
    """The budget of notebook 10: a profile name or a budget dict."""
    return profile_or_mapping(STUDY, profile_or_budget)


# -- inputs: corpus features and agents --------------------------------------------------------------
def features_budget(budget: Mapping[str, Any]) -> dict[str, Any]:
    """The features study's budget for this corpus (its profile, with ``clips_per_genre`` overridden)."""
    from musicrec.experiments import features

    return features.budget_with_overrides(budget["features"])


def feature_columns(frame: pd.DataFrame, layer: str) -> tuple[list[str], list[str]]:
    """The full-layer columns (``<layer>_000`` ...) and the PCA columns (``pc1`` ...) of a features table."""
    full = [c for c in frame.columns if c.startswith(f"{layer}_")]
    pcs = [c for c in frame.columns if c.startswith("pc") and c[2:].isdigit()]
    if not full:
        raise ParameterError(f"the features table has no columns of layer {layer!r}")
    return full, sorted(pcs, key=lambda c: int(c[2:]))


def load_corpus(budget: Mapping[str, Any], runs_dir: str | os.PathLike, *, dims: int, device: str = "cpu",
                dataset: str = "synthetic", root: str | os.PathLike | None = None) -> tuple[pd.DataFrame, Run]:
    """The corpus features (one row per song) for a ``dims``-D grid, and the feature-space run.

    ``dataset="real"`` reads the real-audio corpus, ``dataset="gtzan"`` with ``root`` a GTZAN copy (as
    notebooks 08-09 do)."""
    from musicrec.experiments.features import feature_space_run

    fbudget = features_budget(budget)
    run = feature_space_run(fbudget, runs_dir, layer=fbudget["chosen_layer"], dims=dims, dataset=dataset,
                            root=root, device=device)
    return pd.read_csv(run.file("features.csv")), run


def independent_features(budget: Mapping[str, Any], runs_dir: str | os.PathLike, frame: pd.DataFrame, *,
                         device: str = "cpu", dataset: str = "synthetic", root: str | os.PathLike | None = None
                         ) -> tuple[np.ndarray, Run]:
    """What the independent listener hears: the second tagger's layer (``budget["independent_listener"]``,
    the MTT tag probabilities by default) of every song of ``frame``, in its order, and the embeddings run."""
    from musicrec.experiments.features import embeddings_run, load_embeddings

    spec = dict(budget.get("independent_listener") or {})
    fbudget = features_budget(budget)
    run = embeddings_run(fbudget, runs_dir, dataset=dataset, root=root, device=device, progress=False,
                         model=spec.get("model", fbudget["second_model"]))
    tracks, layers = load_embeddings(run)
    layer = check_choice("independent_listener.layer", spec.get("layer", "taggram"), layers)
    index = pd.Series(np.arange(len(tracks)), index=tracks.track_id.to_numpy())
    missing = sorted(set(frame.track_id) - set(index.index))
    if missing:
        raise ParameterError(f"the second tagger did not tag {len(missing)} song(s) of the corpus, e.g. {missing[:3]}")
    return layers[layer][index.loc[frame.track_id].to_numpy()], run


def check_grid_supports(n_songs: int, *, dims: int, levels: int) -> None:
    """Raise unless the corpus has at least one song per grid cell (else most cells play a neighbour's song)."""
    cells = int(levels) ** int(dims)
    if n_songs < cells:
        raise ParameterError(
            f"{n_songs} songs cannot fill a {levels}^{dims} = {cells}-cell grid: use an agent of fewer dimensions "
            f"(a {levels}^{dims - 1} = {levels ** (dims - 1)}-cell grid) or a larger corpus")


def dataset_agents(budget: Mapping[str, Any], dataset: str) -> dict[str, Any]:
    """The ``agents`` block of the budget for ``dataset`` (``dataset_agents`` may name other experiments)."""
    spec = dict(budget["agents"])
    override = (budget.get("dataset_agents") or {}).get(dataset)
    if override:
        spec["experiments"] = list(override)
    return spec


def agent_runs(budget: Mapping[str, Any], runs_dir: str | os.PathLike, *, device: str = "cpu",
               progress: bool = True, dataset: str | None = None) -> dict[str, dict[int, Run]]:
    """The trained grid agents, ``{experiment: {seed: run}}`` (cached runs of notebooks 03-07; trained if
    missing). The first experiment of ``budget["agents"]["experiments"]`` is the main agent."""
    from musicrec.experiments import grid_agents

    spec = budget["agents"] if dataset is None else dataset_agents(budget, dataset)
    grid_budget = load_profile("grid_agents", spec["profile"])
    names = list(spec["experiments"])
    if not names:
        raise ParameterError("the budget names no agent experiment (agents.experiments is empty)")
    for name in names:
        grid_agents.experiment(name)  # validates every name before any training
    return {name: {int(seed): grid_agents.train_run(name, int(seed), grid_budget, runs_dir, device=device,
                                                    progress=progress) for seed in spec["seeds"]}
            for name in names}


def agent_label(name: str) -> str:
    """Table label of a grid-agents experiment, e.g. ``"recurrent A2C, 4D, factored actions"``."""
    from musicrec.experiments.grid_agents import experiment

    exp = experiment(name)
    algorithm = f"recurrent {exp.algorithm}" if exp.recurrent else exp.algorithm
    # some labels already name their algorithm ("3D, factored actions, recurrent PPO")
    label = exp.label.removesuffix(f", {algorithm}")
    return f"{algorithm}, {label}"


def agent_env(run: Run) -> dict[str, Any]:
    """The environment settings an agent run was trained on."""
    return dict(run.config["agent"]["env"]["kwargs"])


# -- the evaluation -----------------------------------------------------------------------------------
def build_system(frame: pd.DataFrame, *, layer: str, levels: int, dims: int, listener: Mapping[str, Any],
                 target: str = "wider", n_features: int | None = None, independent: np.ndarray | None = None
                 ) -> tuple[SongGrid, dict[str, PerceptualListener]]:
    """The song grid and the listeners (plain, genre-aware and, given its features, independent) of a
    features table.

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


def playbacks(budget: Mapping[str, Any]) -> list[Playback]:
    """The playback rules of the budget."""
    names = list(budget.get("playbacks", PLAYBACKS))
    for name in names:
        check_choice("playback", name, PLAYBACKS)
    return [Playback(name, rerank_k=int(budget.get("rerank_k", 10)), anchor_rating=int(budget.get("anchor_rating", 4)))
            for name in names]


def evaluate(frame: pd.DataFrame, agents: Mapping[tuple[str, int], Any], env: Mapping[str, Any],
             budget: Mapping[str, Any], *, layer: str, n_features: int | None = None,
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
        :func:`~musicrec.system.evaluation.oracle_trajectories`.
    env : mapping
        The grid's environment settings (``dims``, ``levels``, ``target``); every agent's ``dims`` and
        ``levels`` must match it.
    budget : mapping
        ``levels``, ``listener``, ``playbacks``, ``rerank_k``, ``anchor_rating``.
    independent : np.ndarray, optional
        The independent listener's features of every song (see :func:`independent_features`).

    Returns
    -------
    metrics : pd.DataFrame
        One row per (agent, seed, playback, target song).
    traces : dict
        ``{(agent, seed, playback): SystemTrace}``.
    grid : SongGrid
    """
    grid, listeners = build_system(frame, layer=layer, levels=int(budget["levels"]), dims=int(env["dims"]),
                                   listener=budget.get("listener", {}), target=env.get("target", "wider"),
                                   n_features=n_features, independent=independent)
    check_compatible(grid, env)
    songs = np.arange(grid.n_songs)
    genres = frame["genre"].to_numpy()
    rows, traces = [], {}
    for (agent, seed), value in agents.items():
        predict, agent_settings = value if isinstance(value, tuple) else (value, env)
        settings = check_compatible(grid, agent_settings)
        if isinstance(predict, str) and predict == ORACLE:
            trajectories = oracle_trajectories(grid.song_cells[songs], **settings)
        else:
            trajectories = run_agent(predict, grid.song_cells[songs], **settings)
        for playback in playbacks(budget):
            trace = play_episodes(trajectories, grid, songs, listeners, playback)
            traces[(agent, seed, playback.name)] = trace
            rows.append(target_metrics(trace, genres).assign(agent=agent, seed=seed))
    metrics = pd.concat(rows, ignore_index=True)
    metrics.insert(0, "agent", metrics.pop("agent"))
    metrics.insert(1, "seed", metrics.pop("seed"))
    return metrics, traces, grid


def run_config(budget: Mapping[str, Any], feature_run: Run, agents: Mapping[str, Mapping[int, Run]],
               independent_run: Run | None = None) -> dict[str, Any]:
    """Everything that changes the evaluation's result."""
    return {
        "version": VERSION,
        "features": f"{feature_run.kind}/{feature_run.path.name}",
        "independent": f"{independent_run.kind}/{independent_run.path.name}" if independent_run else None,
        "independent_listener": dict(budget.get("independent_listener") or {}),
        "agents": {name: {int(seed): f"{run.kind}/{run.path.name}" for seed, run in seeds.items()}
                   for name, seeds in agents.items()},
        "references": bool(budget.get("references", True)),
        "levels": int(budget["levels"]),
        "listener": dict(budget.get("listener", {})),
        "playbacks": [p.name for p in playbacks(budget)],
        "rerank_k": int(budget.get("rerank_k", 10)),
        "anchor_rating": int(budget.get("anchor_rating", 4)),
    }


def system_run(profile_or_budget: str | Mapping, runs_dir: str | os.PathLike = "runs", *, device: str = "cpu",
               progress: bool = True, dataset: str = "synthetic", root: str | os.PathLike | None = None) -> Run:
    """The cached evaluation run of notebook 10 (its inputs are cached runs too, made if missing)."""
    return _system_run(load_budget(profile_or_budget), runs_dir, device=device, progress=progress, dataset=dataset,
                       root=root)[0]


def _system_run(budget: Mapping[str, Any], runs_dir, *, device: str, progress: bool, dataset: str, root):
    from musicrec.agents.grid_rule import GridRulePolicy
    from musicrec.experiments.grid_agents import load_agent
    from musicrec.features.space import PCAModel
    from musicrec.utils import setup_torch

    setup_torch(device)
    runs = agent_runs(budget, runs_dir, device=device, progress=progress, dataset=dataset)
    grids = {(name, seed): agent_env(run) for name, seeds in runs.items() for seed, run in seeds.items()}
    dims_levels = {(env["dims"], env["levels"]) for env in grids.values()}
    if len(dims_levels) > 1:
        raise ParameterError(f"the agents were trained on grids of different dims and levels: {grids}")
    env = next(iter(grids.values()))
    frame, feature_run = load_corpus(budget, runs_dir, dims=int(env["dims"]), device=device, dataset=dataset,
                                     root=root)
    check_grid_supports(len(frame), dims=int(env["dims"]), levels=int(budget["levels"]))
    independent, independent_run = independent_features(budget, runs_dir, frame, device=device, dataset=dataset,
                                                        root=root)
    config = run_config(budget, feature_run, runs, independent_run)

    def work(folder: Path) -> None:
        pca = PCAModel.load(feature_run.file("pca.npz"))
        agents = {(agent_label(name), seed): (load_agent(run)[1], agent_env(run))
                  for name, seeds in runs.items() for seed, run in seeds.items()}
        if config["references"]:
            agents[(RULE, 0)] = (GridRulePolicy(**policy_settings(env)), env)
            agents[(ORACLE, 0)] = (ORACLE, env)
        metrics, traces, _ = evaluate(frame, agents, env, budget, layer=feature_run.config["layer"],
                                      n_features=len(pca.mean), independent=independent)
        save_traces(traces, folder / "traces.npz")
        write_csv_atomic(metrics, folder / "metrics.csv")

    run = Run(runs_dir, "system_eval", config, name=f"{dataset}-{next(iter(runs))}-{len(frame)}songs")
    return run.execute(work), feature_run, runs, env, frame


def policy_settings(env: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments a grid policy takes from an agent's environment settings."""
    return {k: env[k] for k in ("dims", "levels", "target", "reward", "obs", "action", "episode_length")}


# -- traces -------------------------------------------------------------------------------------------
def save_traces(traces: Mapping[tuple[str, int, str], SystemTrace], path: Path) -> None:
    """Positions and songs of every episode, keyed ``<agent>|<seed>|<playback>``."""
    arrays = {}
    for (agent, seed, playback), trace in traces.items():
        key = f"{agent}|{seed}|{playback}"
        arrays[f"{key}|positions"] = trace.positions
        arrays[f"{key}|songs"] = trace.songs
        arrays[f"{key}|start_songs"] = trace.start_songs
        arrays[f"{key}|target_songs"] = trace.target_songs
    np.savez_compressed(path, **arrays)


def load_traces(run: Run) -> dict[tuple[str, int, str], dict[str, np.ndarray]]:
    """``{(agent, seed, playback): {"positions", "songs", "start_songs", "target_songs"}}`` of a run."""
    out: dict[tuple[str, int, str], dict[str, np.ndarray]] = {}
    with np.load(run.file("traces.npz")) as data:
        for name in data.files:
            agent, seed, playback, what = name.split("|")
            out.setdefault((agent, int(seed), playback), {})[what] = data[name]
    return out


# -- tables for the notebook ----------------------------------------------------------------------------
def genre_table(metrics: pd.DataFrame, *, agent: str | None = None, genres: Sequence[str] | None = None
                ) -> pd.DataFrame:
    """The per-genre table of one agent (default: the trained one) over its seeds, per playback rule."""
    from musicrec.experiments.features import genre_order

    agent = agent if agent is not None else trained_agent(metrics)
    rows = metrics[metrics.agent == agent]
    if rows.empty:
        raise ParameterError(f"agent={agent!r} is not in the metrics; known: {sorted(metrics.agent.unique())}")
    genres = list(genres) if genres is not None else genre_order(rows.genre.unique())
    return per_genre(rows, by=["playback"], genres=genres)


def trained_agent(metrics: pd.DataFrame) -> str:
    """Name of the trained agent in a metrics table (the one that is not a reference)."""
    names = [a for a in metrics.agent.unique() if a not in (RULE, ORACLE)]
    if not names:
        raise ParameterError("the metrics hold no trained agent")
    return names[0]


def seed_spread(metrics: pd.DataFrame, column: str = "mad", *, agent: str | None = None) -> pd.DataFrame:
    """Per (playback, genre): std over agent seeds of the genre mean of ``column``."""
    agent = agent if agent is not None else trained_agent(metrics)
    rows = metrics[metrics.agent == agent]
    per_seed = rows.groupby(["playback", "genre", "seed"], sort=False)[column].mean()
    spread = per_seed.groupby(["playback", "genre"], sort=False).std(ddof=1).rename(f"{column}_sd_seeds")
    overall = rows.groupby(["playback", "seed"], sort=False)[column].mean().groupby("playback", sort=False).std(
        ddof=1).rename(f"{column}_sd_seeds").reset_index().assign(genre="all")
    return pd.concat([spread.reset_index(), overall], ignore_index=True)


def agents_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """The ``all`` row of the per-genre table for every agent and playback rule."""
    tables = [per_genre(group, by=["playback"]).query("genre == 'all'").assign(agent=agent)
              for agent, group in metrics.groupby("agent", sort=False)]
    table = pd.concat(tables, ignore_index=True).drop(columns=["genre", "thesis_mad"])
    table.insert(0, "agent", table.pop("agent"))
    return table


def grid_occupancy(grid: SongGrid) -> pd.DataFrame:
    """:meth:`SongGrid.occupancy` as a two-column table."""
    return pd.DataFrame(list(grid.occupancy().items()), columns=["quantity", "value"])


@dataclass
class SystemStudy:
    """Everything notebook 10 shows: the evaluation run and what it was made from."""

    budget: dict[str, Any]
    run: Run
    feature_run: Run
    agent_runs: dict[str, dict[int, Run]]
    env: dict[str, Any]
    frame: pd.DataFrame
    grid: SongGrid
    metrics: pd.DataFrame
    dataset: str = "synthetic"

    @property
    def layer(self) -> str:
        return self.feature_run.config["layer"]

    @property
    def main_experiment(self) -> str:
        """The grid-agents experiment of the main agent (the first of the budget)."""
        return next(iter(self.agent_runs))

    @property
    def seeds(self) -> list[int]:
        return sorted(self.agent_runs[self.main_experiment])

    def traces(self) -> dict[tuple[str, int, str], dict[str, np.ndarray]]:
        return load_traces(self.run)


def system_study(profile_or_budget: str | Mapping, runs_dir: str | os.PathLike = "runs", *, device: str = "cpu",
                 progress: bool = True, dataset: str = "synthetic", root: str | os.PathLike | None = None
                 ) -> SystemStudy:
    """Run (or reuse) the evaluation of notebook 10 and gather its inputs (``dataset``, ``root``: the corpus,
    as in :func:`load_corpus`)."""
    budget = load_budget(profile_or_budget)
    run, feature_run, runs, env, frame = _system_run(budget, runs_dir, device=device, progress=progress,
                                                     dataset=dataset, root=root)
    grid, _ = build_system(frame, layer=feature_run.config["layer"], levels=int(budget["levels"]),
                           dims=int(env["dims"]), listener={})
    return SystemStudy(budget, run, feature_run, runs, env, frame, grid, run.metrics(), dataset)


def agent_quality(study: SystemStudy) -> pd.DataFrame:
    """Each trained agent and seed on the grid alone (notebook 07's final evaluation over every target):
    mean return (Bullseye: 10 per rating-4 step, at most 210) and the share of targets reaching rating 4."""
    from musicrec.experiments.grid_agents import final_returns

    rows = []
    for name, seeds in study.agent_runs.items():
        for seed, run in seeds.items():
            returns = final_returns(run)
            rows.append({"agent": agent_label(name), "experiment": name, "seed": seed, "targets": len(returns),
                         "mean_return": float(returns["return"].mean()),
                         "std_return": float(returns["return"].std(ddof=0)),
                         "found_rating4": float((returns.first_top > 0).mean()),
                         "timesteps": int(run.config["agent"]["total_timesteps"])})
    return pd.DataFrame(rows)


def example_target(metrics: pd.DataFrame, *, genre: str | None = None, agent: str | None = None,
                   seed: int | None = None) -> int:
    """A typical target song for the trajectory figure: among the targets (of ``genre``, if given) whose cell
    the agent reached under the thesis's playback, the one with the median number of steps (the lowest song
    index among ties); if none was reached, the one with the earliest rating 4."""
    agent = agent if agent is not None else trained_agent(metrics)
    rows = metrics[(metrics.agent == agent) & (metrics.playback == "thesis")]
    rows = rows[rows.seed == (seed if seed is not None else rows.seed.min())]
    if genre is not None and (rows.genre == genre).any():
        rows = rows[rows.genre == genre]
    reached = rows[rows.steps_to_cell.notna()]
    column = "steps_to_cell" if len(reached) else "steps_to_top"
    pool = reached if len(reached) else rows
    median = pool[column].median()
    best = pool.assign(gap=(pool[column] - median).abs()).sort_values(["gap", "song"])
    return int(best.song.iloc[0])


def reach_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per searcher, under the thesis's playback rule: the share of targets with a rating 4 from the ideal
    user within the episode, and the mean and median first step of it."""
    rows = metrics[metrics.playback == "thesis"]
    table = rows.groupby("agent", sort=False).steps_to_top.agg(
        share=lambda s: s.notna().mean(), mean="mean", median="median")
    return table


def rating4_share(env: Mapping[str, Any]) -> float:
    """The share of grid positions the ideal user rates 4, over every target (the grid of ``env``)."""
    from musicrec.users.grid import grid_geometry

    table = grid_geometry(int(env["dims"]), int(env["levels"]), env.get("target", "wider")).rating_table()
    return float((np.asarray(table) == 4).mean())
