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
(:func:`musicrec.system.evaluation.check_grid_supports`): the default profile puts the 200 songs of the 20-per-genre synthetic corpus
and the 265 clips of the real corpus on the 3-D grid (``5**3 = 125`` cells); the full profile keeps the
thesis's 4-D grid (625 cells) for the synthetic corpus at GTZAN's size (1,000 songs).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from musicrec.data.corpus import genre_order
from musicrec.errors import ParameterError, check_choice
from musicrec.experiments import features
from musicrec.profiles import PROFILES, Budget, load_profile
from musicrec.runs import Run, code_fingerprint, library_versions, write_csv_atomic
from musicrec.system.evaluation import (
    ORACLE,
    build_system,
    check_grid_supports,
    evaluate,
    load_traces,
    per_genre,
    playbacks,
    policy_settings,
    rows_of_songs,
    save_traces,
)
from musicrec.system.playback import PLAYBACKS
from musicrec.system.song_grid import SongGrid
from musicrec.users.perceptual import METRICS

STUDY = "system"
#: Bump when the evaluation changes a result (3: agent labels name the algorithm once).
VERSION = 3
#: Name of the rule baseline of notebook 02 in the tables; the other reference is the oracle that names the
#: target cell at every step (:data:`musicrec.system.evaluation.ORACLE`, the grid's ceiling: only the
#: features decide what plays).
RULE = "rule baseline"
LISTENERS = ("perceptual", "genre_aware", "independent")


@dataclass(frozen=True, kw_only=True)
class SystemBudget(Budget):
    """What a profile of ``configs/profiles/system.yml`` spends on notebook 10."""

    study: ClassVar[str] = STUDY

    agents: dict[str, Any]
    """The grid agents: ``experiments`` (grid-agents experiments, the first is the main agent), ``seeds`` and
    ``profile`` (the grid_agents profile whose budget trained them; its cached runs are reused)."""
    features: dict[str, Any]
    """The features study's ``profile`` (notebooks 08-09) and overrides of its keys (e.g. ``clips_per_genre``)."""
    dataset_agents: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Other experiments for one corpus (``{dataset: [experiment, ...]}``), e.g. a 3-D agent for the real
    corpus whose clips cannot fill the 4-D grid."""
    levels: int = 5
    """Levels per feature of the song grid (the agents' grid must have as many)."""
    listener: dict[str, Any] = field(default_factory=dict)
    """The perceptual listener: ``metric`` (euclidean or cosine) and the genre-aware variant's ``genre_bonus``
    (0: no genre-aware listener)."""
    independent_listener: dict[str, Any] = field(default_factory=dict)
    """The tagger (``model``, default the features study's ``second_model``) and ``layer`` (default
    ``taggram``) the independent listener hears (not searched by the system)."""
    playbacks: tuple[str, ...] = PLAYBACKS
    """Playback rules: thesis (the cell's song), distinct (a), rerank (b), distinct_rerank (a + b)."""
    rerank_k: int = 10
    """Songs nearest in the grid's space that the re-ranking rules re-rank."""
    anchor_rating: int = 4
    """The listener rating from which a played song anchors the re-ranking."""
    references: bool = True
    """Also evaluate the rule baseline and the target-cell oracle."""

    def validate(self, source: str) -> None:
        unknown = sorted(set(self.playbacks) - set(PLAYBACKS))
        if unknown:
            raise ParameterError(f"{source}: unknown playback(s) {unknown}; known: {list(PLAYBACKS)}")
        if self.levels < 2 or self.rerank_k < 1 or not 0 <= self.anchor_rating <= 4:
            raise ParameterError(f"{source}: levels must be >= 2, rerank_k >= 1 and anchor_rating in 0..4 "
                                 f"(levels={self.levels}, rerank_k={self.rerank_k}, "
                                 f"anchor_rating={self.anchor_rating})")
        _check_keys(source, "agents", self.agents, required=("experiments", "seeds", "profile"))
        if not self.agents["experiments"] or not self.agents["seeds"]:
            raise ParameterError(f"{source}: agents.experiments and agents.seeds must not be empty")
        if self.agents["profile"] not in PROFILES:
            raise ParameterError(f"{source}: agents.profile={self.agents['profile']!r} is not one of {PROFILES}")
        _check_keys(source, "listener", self.listener, allowed=("metric", "genre_bonus"))
        if self.listener.get("metric", "euclidean") not in METRICS:
            raise ParameterError(f"{source}: listener.metric={self.listener['metric']!r} is not one of {METRICS}")
        _check_keys(source, "independent_listener", self.independent_listener, allowed=("model", "layer"))
        _check_keys(source, "features", self.features, required=("profile",))
        try:
            features.budget_with_overrides(self.features)
        except ParameterError as error:
            raise ParameterError(f"{source}: features: {error}") from None


def _check_keys(source: str, name: str, value: Mapping, *, required: Sequence[str] = (),
                allowed: Sequence[str] | None = None) -> None:
    """Raise naming the missing (or, given ``allowed``, unknown) keys of the block ``name`` of a budget."""
    missing = sorted(set(required) - set(value))
    unknown = sorted(set(value) - set(allowed)) if allowed is not None else []
    if missing or unknown:
        raise ParameterError(f"{source}: {name} " + (f"lacks {missing}" if missing else f"has unknown key(s) {unknown}"))


def load_budget(profile_or_budget: str | Mapping) -> SystemBudget:
    """The validated budget of notebook 10: a profile name or a budget mapping."""
    return SystemBudget.of(profile_or_budget)


# -- inputs: corpus features and agents --------------------------------------------------------------
def features_budget(budget: Mapping[str, Any]) -> features.FeaturesBudget:
    """The features study's budget for this corpus (its profile, with ``clips_per_genre`` overridden)."""
    return features.budget_with_overrides(budget["features"])


def load_corpus(budget: Mapping[str, Any], runs_dir: str | os.PathLike, *, dims: int, device: str = "cpu",
                dataset: str = "synthetic", root: str | os.PathLike | None = None) -> tuple[pd.DataFrame, Run]:
    """The corpus features (one row per song) for a ``dims``-D grid, and the feature-space run.

    ``dataset="real"`` reads the real-audio corpus, ``dataset="gtzan"`` with ``root`` a GTZAN copy (as
    notebooks 08-09 do)."""
    fbudget = features_budget(budget)
    run = features.feature_space_run(fbudget, runs_dir, layer=fbudget["chosen_layer"], dims=dims, dataset=dataset,
                                     root=root, device=device)
    return pd.read_csv(run.file("features.csv")), run


def independent_features(budget: Mapping[str, Any], runs_dir: str | os.PathLike, frame: pd.DataFrame, *,
                         device: str = "cpu", dataset: str = "synthetic", root: str | os.PathLike | None = None
                         ) -> tuple[np.ndarray, Run]:
    """What the independent listener hears: the second tagger's layer (``budget["independent_listener"]``,
    the MTT tag probabilities by default) of every song of ``frame``, in its order, and the embeddings run."""
    spec = dict(budget.get("independent_listener") or {})
    fbudget = features_budget(budget)
    run = features.embeddings_run(fbudget, runs_dir, dataset=dataset, root=root, device=device, progress=False,
                                  model=spec.get("model", fbudget["second_model"]))
    tracks, layers = features.load_embeddings(run)
    layer = check_choice("independent_listener.layer", spec.get("layer", "taggram"), layers)
    return rows_of_songs(tracks.track_id.to_numpy(), layers[layer], frame), run


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


# -- the evaluation run --------------------------------------------------------------------------------
#: The modules whose code computes the evaluation from its feature and agent runs (which key their own code):
#: their fingerprint and the library versions are part of the run's cache key, so a change of that code re-evaluates.
EVALUATION_MODULES = ("musicrec.system.evaluation", "musicrec.system.playback", "musicrec.system.song_grid",
                      "musicrec.users.perceptual", "musicrec.users.grid", "musicrec.envs.grid_core",
                      "musicrec.envs.grid_vec", "musicrec.agents.batched_ac", "musicrec.agents.grid_rule",
                      "musicrec.agents.grid_optimum", "musicrec.agents.grid_bayes", "musicrec.agents.sb3",
                      "musicrec.features.space")


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
        "code": code_fingerprint(*EVALUATION_MODULES),
        "versions": library_versions("numpy", "torch", "stable-baselines3"),
    }


def system_run(profile_or_budget: str | Mapping, runs_dir: str | os.PathLike = "runs", *, device: str = "cpu",
               progress: bool = True, dataset: str = "synthetic", root: str | os.PathLike | None = None) -> Run:
    """The cached evaluation run of notebook 10 (its inputs are cached runs too, made if missing)."""
    return _system_run(load_budget(profile_or_budget), runs_dir, device=device, progress=progress, dataset=dataset,
                       root=root)[0]


def _system_run(budget: SystemBudget, runs_dir, *, device: str, progress: bool, dataset: str, root):
    from musicrec.agents.grid_rule import GridRulePolicy
    from musicrec.agents.grid_training import load_agent
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


@dataclass
class SystemStudy:
    """Everything notebook 10 shows: the evaluation run and what it was made from."""

    budget: SystemBudget
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
        return load_traces(self.run.file("traces.npz"))


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


# -- tables for the notebook ----------------------------------------------------------------------------
def genre_table(metrics: pd.DataFrame, *, agent: str | None = None, genres: Sequence[str] | None = None
                ) -> pd.DataFrame:
    """The per-genre table of one agent (default: the trained one) over its seeds, per playback rule."""
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
