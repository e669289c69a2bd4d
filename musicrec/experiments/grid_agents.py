"""Notebooks 03-07: deep-RL agents on the feature grid, one cached run per (experiment, seed).

Every grid experiment of the thesis [rynegardh2019] (§4.4.1-4.4.2, figures 11-25, the metric tables of
figures 22-23), the ones it could not run (factored actions in 3D-8D) and users it did not simulate
(noisy ratings and unreliable ``closer`` answers) is an entry of :data:`EXPERIMENTS`: an environment
setting, an agent preset and its overrides. Budgets (environment steps per experiment, seeds,
evaluation points) come from ``musicrec/configs/profiles/grid_agents.yml`` as a :class:`GridAgentsBudget`,
so a run shared by several notebooks is trained once and reused (:class:`musicrec.runs.Run`).

Agents: ``a2c`` and ``ppo`` are the batched recurrent actor-critic (:mod:`musicrec.agents.batched_ac`,
hyperparameters in ``configs/hyperparams/batched_a2c.yml`` / ``batched_ppo.yml``), which steps the numpy
grid directly; ``trpo`` is sb3-contrib's TRPO (a natural-gradient trust-region method standing in for the
thesis's ACKTR, which SB3 does not ship), trained through SB3's pipeline (``GridVecEnv`` -> finite horizon
-> ``VecNormalize``).

Each run folder holds ``metrics.csv`` (one row per training episode: the thesis's curves are the rolling
mean of the last 10), ``eval.csv`` (the deterministic policy from every target at fixed intervals),
``checkpoints.csv`` (every target's return at the checkpoints the thesis's metric tables pool),
``final_returns.csv``, the model and its normalisation statistics as plain arrays, and ``timings.csv``
(kept apart from the metrics, so that two runs with the same seed write identical metrics).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from musicrec.agents.grid_training import (constant_position, evaluate_bayes_filter, evaluate_rule_on_targets,
                                           train_in_folder)
from musicrec.agents.sb3 import PRESETS as SB3_PRESETS
from musicrec.errors import ParameterError, check_choice
from musicrec.profiles import Budget
from musicrec.runs import Run, code_fingerprint, library_versions, run_all
from musicrec.seeds import confidence_interval, rerun_interval_from_summary, seed_summary

ENV_ID = "musicrec/FeatureGrid-v0"
#: Bump when the pipeline changes a result in a way the code fingerprint cannot see.
VERSION = 2
#: Modules whose code decides a run's result (their fingerprint is part of every run's cache key).
RESULT_MODULES = ("musicrec.agents.batched_ac", "musicrec.envs.grid_core", "musicrec.envs.grid", "musicrec.users.grid")
SB3_MODULES = ("musicrec.agents.sb3", "musicrec.envs.grid_vec")
#: Grids larger than this are evaluated at the end on a fixed random sample of ``final_targets`` targets.
FULL_EVAL_LIMIT = 20_000
#: Seed of the target samples of large grids (the same sample for every agent and the rule baseline).
SAMPLE_SEED = 12345
#: The thesis's batch: 16 environments (its machine's cores); an "iteration" is one update of 16 x n steps.
THESIS_ENVS = 16
#: Display names of the algorithms, from the SB3 presets' registry (one source for the labels): the batched
#: learner's ``a2c`` and ``ppo`` are the algorithms of SB3's presets of those names.
PRESET_LABELS = {name: SB3_PRESETS[name].label for name in ("a2c", "ppo", "trpo")}
BATCHED_PRESETS = {"a2c": "batched_a2c", "ppo": "batched_ppo"}


def grid_env(dims: int = 2, *, target: str = "wider", reward: str = "bullseye", obs: str = "grid",
             action: str = "flat", levels: int = 5, episode_length: int = 21, noise: float = 0.0) -> dict[str, Any]:
    """FeatureGrid keyword arguments (the thesis's defaults: 5 levels, 21 steps); ``noise`` sets both
    the rating and the ``closer`` noise of the user."""
    env = {"dims": dims, "levels": levels, "target": target, "reward": reward, "obs": obs, "action": action,
           "episode_length": episode_length}
    if noise:
        env.update(rating_noise=float(noise), closer_noise=float(noise))
    return env


@dataclass(frozen=True)
class Experiment:
    """One grid experiment: an environment setting and an agent.

    Attributes
    ----------
    name : str
        Key in :data:`EXPERIMENTS` and in the budget's ``timesteps``.
    label : str
        Legend text.
    env : dict
        FeatureGrid keyword arguments.
    preset : {"a2c", "ppo", "trpo"}
        The agent (see the module docstring).
    hyperparams : dict
        Overrides of the preset's YAML hyperparameters (e.g. ``n_steps``, ``learning_rate``,
        ``recurrent``).
    figure : str
        The thesis figure it reproduces ("" if new).
    """

    name: str
    label: str
    env: Mapping[str, Any]
    preset: str = "a2c"
    hyperparams: Mapping[str, Any] = field(default_factory=dict)
    figure: str = ""

    @property
    def batched(self) -> bool:
        return self.preset in BATCHED_PRESETS

    @property
    def recurrent(self) -> bool:
        return bool(self.hyperparams.get("recurrent", True)) if self.batched else False

    @property
    def algorithm(self) -> str:
        return PRESET_LABELS[self.preset]

    @property
    def n_steps(self) -> int:
        """n of the n-step returns (rollout length per environment)."""
        return int(self.hyperparams.get("n_steps", 20))

    @property
    def n_positions(self) -> int:
        return int(self.env["levels"]) ** int(self.env["dims"])

    @property
    def noise(self) -> float:
        return float(self.env.get("rating_noise", 0.0))


def _catalogue(*items: Experiment) -> dict[str, Experiment]:
    return {item.name: item for item in items}


EXPERIMENTS: dict[str, Experiment] = _catalogue(
    # 2D, Bullseye (figures 11-17, the table of figure 22)
    Experiment("top_grid_n5", "TopTarget, GridObs, n = 5", grid_env(target="top"), hyperparams={"n_steps": 5},
               figure="11"),
    Experiment("wider_grid_n5", "WiderTopTarget, GridObs, n = 5", grid_env(), hyperparams={"n_steps": 5},
               figure="12"),
    Experiment("wider_grid_n10", "WiderTopTarget, GridObs, n = 10", grid_env(), hyperparams={"n_steps": 10},
               figure="13"),
    Experiment("wider_grid_n20", "WiderTopTarget, GridObs, n = 20", grid_env(), figure="14"),
    Experiment("wider_grid_n10_lr7e-4", "n = 10, lr 7e-4 (the thesis's default)", grid_env(),
               hyperparams={"n_steps": 10, "learning_rate": 7e-4}, figure="15"),
    Experiment("wider_grid_n10_lr7e-5", "n = 10, lr 7e-5 (thesis fig. 15)", grid_env(),
               hyperparams={"n_steps": 10, "learning_rate": 7e-5}, figure="15"),
    Experiment("wider_board_n20", "BoardObs, recurrent A2C", grid_env(obs="board"), figure="16"),
    Experiment("wider_board_n20_trpo", "BoardObs, TRPO (in ACKTR's place), no recurrence", grid_env(obs="board"),
               preset="trpo", figure="17"),
    Experiment("wider_grid_n20_mlp", "GridObs, A2C without recurrence", grid_env(),
               hyperparams={"recurrent": False}),
    # 2D, Rating reward (figures 18-21, the table of figure 23)
    Experiment("rating_grid_n20", "Rating, GridObs, recurrent A2C", grid_env(reward="rating"), figure="18"),
    Experiment("rating_board_n20", "Rating, BoardObs, recurrent A2C", grid_env(reward="rating", obs="board"),
               figure="19"),
    Experiment("rating_board_n20_trpo", "Rating, BoardObs, TRPO (in ACKTR's place), no recurrence",
               grid_env(reward="rating", obs="board"), preset="trpo", figure="20"),
    Experiment("rating_board_n20_mlp", "Rating, BoardObs, A2C without recurrence",
               grid_env(reward="rating", obs="board"), hyperparams={"recurrent": False}, figure="21"),
    # PPO on the same machinery (not in the thesis)
    Experiment("wider_grid_ppo", "GridObs, recurrent PPO", grid_env(), preset="ppo"),
    # Higher dimensions: the thesis's flat actions (figures 24-25) ...
    Experiment("3d_wider_grid_n20", "3D, flat actions, recurrent A2C", grid_env(3), figure="24"),
    Experiment("4d_wider_grid_n20", "4D, flat actions, recurrent A2C", grid_env(4), figure="25"),
    # ... the same flat actions with recurrent PPO on the same machinery (not the thesis's algorithm; 128
    # environments as the A2C: pilots on 3D, seeds 0 and 1, reached 92% and 95% of the optimum after 1 M and
    # 2 M env steps where the A2C, with its entropy bonus of 0.01 then, had reached 75% after 3 M, and 1024
    # environments learned less per CPU second)
    Experiment("3d_flat_ppo_n20", "3D, flat actions, recurrent PPO", grid_env(3), preset="ppo"),
    Experiment("4d_flat_ppo_n20", "4D, flat actions, recurrent PPO", grid_env(4), preset="ppo"),
    # ... and factored actions, one level per feature (the thesis's future work), trained with PPO: on the
    # 2D task PPO reached 99% of the optimum in a third of the env steps A2C needed for 90% (notebook 06),
    # which is what makes 4D-8D affordable. 128 environments as every batched run: pilots with 128 (seed 0,
    # final policy) reached 94% of the 4D optimum after 2 M env steps and 88% of the 6D rule after 1.5 M,
    # where 1024 environments had reached 81% and 63% (3 seeds) after the same env steps; 1024 environments
    # step 2.2 times as fast per CPU second (benchmarks/grid_agents.py), so per CPU second the two are
    # closer; 64 environments (6D, 8D) learned no more per env step than 128 at 0.6 times the speed.
    *(Experiment(f"{d}d_factored_n20", f"{d}D, factored actions, recurrent PPO", grid_env(d, action="factored"),
                 preset="ppo") for d in (3, 4, 5, 6, 8)),
    # Noisy users: ratings off by one and 'closer' flipped, each with probability p (2D: the thesis's A2C;
    # 4D: factored PPO as above)
    *(Experiment(f"noisy_2d_p{round(100 * p)}", f"2D, noisy user p = {p}", grid_env(2, noise=p))
      for p in (0.1, 0.2, 0.3)),
    *(Experiment(f"noisy_4d_p{round(100 * p)}", f"4D factored PPO, noisy user p = {p}",
                 grid_env(4, action="factored", noise=p), preset="ppo") for p in (0.1, 0.2, 0.3)),
)


def experiment(name: str) -> Experiment:
    """The experiment called ``name`` (ParameterError naming the known ones otherwise)."""
    check_choice("experiment", name, list(EXPERIMENTS))
    return EXPERIMENTS[name]


def noise_experiment(dims: int, noise: float) -> str:
    """The experiment of the noisy-user study for ``dims`` (2 or 4) and noise ``p`` (0 = the thesis's user)."""
    if noise == 0:
        return "wider_grid_n20" if dims == 2 else "4d_factored_n20"
    return experiment(f"noisy_{dims}d_p{round(100 * noise)}").name


# -- budgets ------------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class GridAgentsBudget(Budget):
    """What a profile of ``configs/profiles/grid_agents.yml`` spends on notebooks 03-07."""

    study = "grid_agents"

    seeds: tuple[int, ...]
    """Seeds of every experiment (one run each)."""
    timesteps: Mapping[str, int]
    """Environment steps (summed over the parallel environments) per experiment."""
    workers: int = 2
    """Runs trained at the same time (one process and one torch thread each)."""
    n_envs: int = 128
    """Environments per update of the batched learner."""
    sb3_n_envs: int = 16
    """Environments of the SB3 (TRPO) runs: the thesis's 16."""
    eval_points: int = 30
    """Evaluations of the deterministic policy over every target per run."""
    eval_targets: int = 4096
    """Grids with more positions are evaluated periodically on a fixed sample of this many targets."""
    final_targets: int = 2000
    """Grids with more than 20,000 positions are evaluated at the end on a fixed sample of this many."""
    checkpoints: int = 3
    """Checkpoints pooled by the thesis's metric definition (figures 22-23)."""
    checkpoint_iterations: int = 5000
    """Spacing of those checkpoints in the thesis's iterations (one update of 16 envs x n steps)."""
    noise_repeats: Mapping[int, int] = field(default_factory=lambda: {2: 20, 4: 2})
    """Episodes per target when evaluating noisy users, per dims (their answers vary between episodes)."""
    noise_levels: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3)
    """Noise probabilities of the noisy-user study."""
    factored_dims: tuple[int, ...] = (3, 4, 5, 6, 8)
    """Dimensions of the factored-action experiments of notebook 07."""
    optimum_dims: tuple[int, ...] = (2, 3, 4)
    """Dimensions whose exact optimum (notebook 02's search) is the reference."""
    smoothing: int = 200
    """Episodes in the rolling mean of the training curves (the thesis: 10; more for readable plots)."""
    backend: str | None = None
    """Where runs execute: ``local`` processes or a ``ray`` cluster; None: the ``BACKEND`` environment
    variable (``make reproduce BACKEND=ray``), else local."""

    def validate(self, source: str) -> None:
        counts = {name: getattr(self, name) for name in (
            "workers", "n_envs", "sb3_n_envs", "eval_points", "eval_targets", "final_targets",
            "checkpoints", "checkpoint_iterations", "smoothing")}
        small = sorted(name for name, value in counts.items() if value < 1)
        if small or not self.seeds:
            raise ParameterError(f"{source}: {small or 'seeds'} must be >= 1 (seeds: not empty)")
        unknown_names = sorted(set(self.timesteps) - set(EXPERIMENTS))
        if unknown_names:
            raise ParameterError(f"{source}: timesteps for unknown experiment(s) {unknown_names}")
        if self.backend is not None:
            check_choice("backend", self.backend, ("local", "ray"))

    def steps(self, name: str) -> int:
        if name not in self.timesteps:
            raise ParameterError(f"the {self.profile!r} budget has no timesteps for experiment {name!r}")
        return int(self.timesteps[name])

    def with_backend(self, backend: str | None) -> "GridAgentsBudget":
        from dataclasses import replace

        return self if backend is None else replace(self, backend=check_choice("backend", backend, ("local", "ray")))


def load_budget(profile: str) -> GridAgentsBudget:
    """The budget of notebooks 03-07 under ``profile`` (validated: unknown keys and bad types are named)."""
    return GridAgentsBudget.load(profile)


def as_budget(budget: GridAgentsBudget | Mapping[str, Any]) -> GridAgentsBudget:
    """A budget given as a mapping (tests, the system study) becomes a :class:`GridAgentsBudget`."""
    return GridAgentsBudget.of(budget)


# -- run configs ----------------------------------------------------------------------------------------

def target_sample(n_positions: int, size: int) -> list[int]:
    """A fixed random sample of ``size`` flat targets (sorted), the same for every agent and reference."""
    rng = np.random.default_rng(SAMPLE_SEED)
    return sorted(int(t) for t in rng.choice(n_positions, size=size, replace=False))


def evaluation_targets(exp: Experiment, budget: GridAgentsBudget, *, final: bool = False) -> list[int] | None:
    """Targets of the periodic (or final) evaluation: all of them (``None``), or a fixed sample."""
    budget = as_budget(budget)
    n = exp.n_positions
    if final:
        return None if n <= FULL_EVAL_LIMIT else target_sample(n, budget.final_targets)
    return None if n <= budget.eval_targets else target_sample(n, budget.eval_targets)


def thesis_iteration_steps(n_steps: int) -> int:
    """Environment steps of one thesis iteration: one update of 16 environments x n steps (an assumption:
    the thesis counts "iterations" without defining them; its code logs one per update)."""
    return THESIS_ENVS * int(n_steps)


def checkpoint_steps(total: int, n_steps: int, budget: GridAgentsBudget) -> list[int]:
    """The env steps of the checkpoints the thesis's metric tables pool: the last ``budget.checkpoints``
    ones, ``checkpoint_iterations`` thesis iterations apart, counted back from the end of the run (as
    many as fit in it)."""
    spacing = budget.checkpoint_iterations * thesis_iteration_steps(n_steps)
    steps = [total - k * spacing for k in range(budget.checkpoints)]
    return sorted(s for s in steps if s > 0)


def _rounded_total(total: int, rollout: int) -> int:
    return max(1, math.ceil(total / rollout)) * rollout


def run_config(name: str, seed: int, budget: GridAgentsBudget | Mapping[str, Any]) -> dict[str, Any]:
    """The full config of one run: everything that changes its result (validated before training)."""
    budget = as_budget(budget)
    exp = experiment(name)
    total = budget.steps(name)
    env_config = {"id": ENV_ID, "kwargs": dict(exp.env)}
    if exp.batched:
        from musicrec.agents.batched_ac import resolve

        n_envs = budget.n_envs
        agent = resolve({"preset": BATCHED_PRESETS[exp.preset], "total_timesteps": total, "n_envs": n_envs,
                         "hyperparams": dict(exp.hyperparams)}, env_config,
                        hyperparams_file=BATCHED_PRESETS[exp.preset])
        n_steps = int(agent["hyperparams"]["n_steps"])
        code = code_fingerprint(*RESULT_MODULES)
        versions = library_versions("numpy", "torch")
    else:
        from musicrec.agents.sb3 import resolve_config

        n_envs = budget.sb3_n_envs
        hyper = {"n_steps": exp.n_steps, **{k: v for k, v in exp.hyperparams.items() if k != "n_steps"}}
        agent = resolve_config({"preset": exp.preset, "total_timesteps": total, "n_envs": n_envs,
                                "hyperparams": hyper}, env_config)
        n_steps = int(agent["hyperparams"].get("n_steps", 1))
        code = code_fingerprint(*RESULT_MODULES, *SB3_MODULES)
        versions = library_versions("numpy", "torch", "gymnasium", "stable-baselines3", "sb3-contrib")
    rollout = n_envs * n_steps
    total = _rounded_total(total, rollout)
    agent["total_timesteps"] = total
    points = budget.eval_points
    every = max(rollout, int(math.ceil(total / points / rollout)) * rollout)
    repeats = budget.noise_repeats.get(int(exp.env["dims"]), 1) if exp.noise else 1
    return {
        "version": VERSION,
        "code": code,
        "versions": versions,
        "agent": agent,
        "eval_every": every,
        "eval_targets": evaluation_targets(exp, budget),
        "eval_repeats": int(repeats),
        "final_targets": evaluation_targets(exp, budget, final=True),
        "checkpoints": checkpoint_steps(total, n_steps, budget),
        "seed": int(seed),
    }


def make_run(name: str, seed: int, budget: GridAgentsBudget | Mapping[str, Any], runs_dir: str | os.PathLike) -> Run:
    """The (maybe unfinished) run of experiment ``name`` with ``seed`` under ``budget``."""
    return Run(runs_dir, "grid_agents", run_config(name, seed, budget), name=f"{name}-seed{seed}")


# -- training (the work of one run) ------------------------------------------------------------------------

def train_run(name: str, seed: int, budget: GridAgentsBudget | Mapping[str, Any], runs_dir: str | os.PathLike, *,
              device: str = "cpu", progress: bool = True) -> Run:
    """Train (or reuse) the run of experiment ``name`` with ``seed``."""
    run = make_run(name, seed, budget, runs_dir)
    return run.execute(functools.partial(train_in_folder, run.config, device=device, progress=progress))


def run_study(names: Sequence[str], budget: GridAgentsBudget | Mapping[str, Any], runs_dir: str | os.PathLike, *,
              device: str = "cpu", workers: int | None = None, backend: str | None = None,
              progress: bool = True) -> pd.DataFrame:
    """Train (or reuse) every (experiment, seed) of ``names`` x ``budget.seeds``; one row per run
    (``experiment, seed, run``). Unfinished runs are trained ``workers`` at a time, longest first."""
    budget = as_budget(budget)
    names = list(dict.fromkeys(names))
    tasks = [(name, seed) for name in names for seed in budget.seeds]
    runs = {task: make_run(*task, budget, runs_dir) for task in tasks}  # validates every config first
    order = sorted(tasks, key=lambda t: -runs[t].config["agent"]["total_timesteps"] * (
        1 + experiment(t[0]).n_positions / 2000) * (1 if experiment(t[0]).batched else 8))
    work = [(runs[t], functools.partial(train_in_folder, runs[t].config, device=device, progress=progress and (
        (workers or budget.workers) <= 1))) for t in order]
    run_all(work, workers=int(workers or budget.workers), backend=backend or budget.backend, progress=progress,
            description=f"grid runs ({sum(runs[t].finished for t in tasks)} of {len(tasks)} reused)")
    return pd.DataFrame([{"experiment": name, "seed": seed, "run": runs[(name, seed)]} for name, seed in tasks])


# -- results of finished runs ------------------------------------------------------------------------------

def evaluations(study: pd.DataFrame) -> pd.DataFrame:
    """All ``eval.csv`` rows of a study, with ``experiment`` and ``seed``."""
    frames = [pd.read_csv(row.run.file("eval.csv")).assign(experiment=row.experiment, seed=row.seed)
              for row in study.itertuples()]
    return pd.concat(frames, ignore_index=True)


def final_returns(run: Run) -> pd.DataFrame:
    """The final policy's return from every evaluated target (``target, return, first_top``)."""
    return pd.read_csv(run.file("final_returns.csv"))


def checkpoint_returns(run: Run) -> pd.DataFrame:
    """Every target's return at each checkpoint of the thesis's metric definition (``timesteps, target, return``)."""
    path = run.path / "checkpoints.csv"
    if not path.exists():  # a run that recorded no checkpoints: the final policy is the only one
        frame = final_returns(run)
        return frame[["target", "return"]].assign(timesteps=int(run.config["agent"]["total_timesteps"]))
    return pd.read_csv(path)


def timings(run: Run) -> pd.DataFrame:
    return pd.read_csv(run.file("timings.csv"))


def final_summary(study: pd.DataFrame) -> pd.DataFrame:
    """Per run: mean and std over targets of the final policy's return, share of targets found, and
    the training's CPU time and throughput (env steps per CPU second of training, evaluations excluded)."""
    rows = []
    for row in study.itertuples():
        returns = final_returns(row.run)
        times = timings(row.run)
        rows.append({"experiment": row.experiment, "seed": row.seed,
                     "mean": float(returns["return"].mean()), "std": float(returns["return"].std(ddof=0)),
                     "found": float((returns.first_top > 0).mean()), "targets": returns.target.nunique(),
                     "timesteps": int(row.run.config["agent"]["total_timesteps"]),
                     "train_cpu_s": float(times.train_cpu_s.iloc[0]),
                     "steps_per_cpu_s": float(times.env_steps_per_cpu_s.iloc[0])})
    return pd.DataFrame(rows)


# -- references: exact optimum, rule baseline, Bayes filter ----------------------------------------------

def sampled_rule_run(env: Mapping[str, Any], targets: Sequence[int], runs_dir: str | os.PathLike) -> Run:
    """The rule baseline evaluated from a sample of targets (grids too large to sweep), as a cached run."""
    from musicrec.experiments.grid_references import RULE_VERSION

    settings = {k: env[k] for k in ("dims", "levels", "target", "reward", "obs", "action", "episode_length")}
    config = {**settings, "targets": [int(t) for t in targets], "version": RULE_VERSION}
    name = f"{settings['dims']}d-L{settings['levels']}-{settings['target']}-{settings['reward']}-{len(targets)}targets"
    run = Run(runs_dir, "grid_rule_sampled", config, name=name)
    return run.execute(functools.partial(evaluate_rule_on_targets, config))


def references(env: Mapping[str, Any], reference_budget: Mapping[str, Any], runs_dir: str | os.PathLike, *,
               optimum: bool = True, targets: Sequence[int] | None = None) -> dict[str, Any]:
    """Exact optimum (or its bounds) and rule baseline for a deterministic user's env setting, as the
    cached runs of notebook 02 (``reference_budget`` is its profile, ``grid_environment``).

    The optimum uses the information the observation gives: rating and ``closer`` for GridObs, ratings
    only for BoardObs. For a noisy user the deterministic user's optimum is returned: an upper bound,
    since noise only removes information (a policy facing noisy answers can be run on exact ones by
    adding the noise itself). With ``targets`` the rule is evaluated on that sample only.
    """
    from musicrec.experiments.grid_references import optimum_run, optimum_summary, rule_run, rule_summary

    settings = {k: env[k] for k in ("dims", "levels", "target", "reward", "episode_length")}
    if targets is None:
        rule = rule_summary(rule_run({**settings, "obs": env["obs"]}, runs_dir))
    else:
        frame = sampled_rule_run({**env, "action": "flat"}, targets, runs_dir).metrics()
        rule = {"mean": float(frame["return"].mean()), "std": float(frame["return"].std(ddof=0))}
    out = {"rule_mean": rule["mean"], "rule_std": rule["std"], "optimum": float("nan"),
           "optimum_exact": False, "optimum_lower": float("nan"), "optimum_upper": float("nan")}
    if optimum:
        feedback = "rating+closer" if env["obs"] == "grid" else "rating"
        result = optimum_summary(optimum_run(settings, reference_budget, runs_dir, feedback=feedback))
        out.update(optimum_exact=bool(result["exact"]), optimum_lower=float(result["lower"]),
                   optimum_upper=float(result["upper"]),
                   optimum=float(result["lower"]) if result["exact"] else float("nan"))
    return out


BAYES_VERSION = 1


def bayes_run(env: Mapping[str, Any], repeats: int, runs_dir: str | os.PathLike, *, seed: int = 0) -> Run:
    """The Bayes-filter greedy baseline (:mod:`musicrec.agents.grid_bayes`) from every target, ``repeats``
    episodes each (noisy users answer differently each time), as a cached run."""
    config = {"env": dict(env), "repeats": int(repeats), "seed": int(seed), "version": BAYES_VERSION,
              "code": code_fingerprint("musicrec.agents.grid_bayes", "musicrec.envs.grid_core", "musicrec.users.grid")}
    noise = env.get("rating_noise", 0.0)
    run = Run(runs_dir, "grid_bayes", config, name=f"{env['dims']}d-{env['action']}-{env['reward']}-p{noise}")
    return run.execute(functools.partial(evaluate_bayes_filter, config))


# -- tables -------------------------------------------------------------------------------------------------

#: Row of ``grid_references.THESIS_METRICS`` (figures 22-23) that each experiment is compared with.
THESIS_ROWS = {"top_grid_n5": 0, "wider_grid_n5": 1, "wider_grid_n10": 2, "wider_grid_n20": 3,
               "wider_board_n20": 4, "wider_board_n20_trpo": 5, "rating_grid_n20": 6, "rating_board_n20": 7,
               "rating_board_n20_mlp": 8, "rating_board_n20_trpo": 9}


def pooled_checkpoints(run: Run) -> dict[str, float]:
    """The thesis's metric of one training: mean and std of the return over all (checkpoint, target) pairs."""
    frame = checkpoint_returns(run)
    return {"pooled_mean": float(frame["return"].mean()), "pooled_std": float(frame["return"].std(ddof=0)),
            "checkpoints": int(frame.timesteps.nunique()), "first_checkpoint": int(frame.timesteps.min())}


def metrics_table(study: pd.DataFrame, budget: GridAgentsBudget | Mapping[str, Any],
                  reference_budget: Mapping[str, Any], runs_dir: str | os.PathLike) -> pd.DataFrame:
    """The thesis's metric tables (figures 22-23) under both definitions, with the optimum and the rule.

    For each experiment: ``final_*`` is the final policy's mean return over all targets, summarised over
    seeds (mean, std over seeds, 95% interval), with ``final_std_targets`` its std over targets (mean over
    seeds); ``pooled_*`` is the thesis's definition — several models of one training, 5k thesis iterations
    apart, mean and std over those checkpoints and all targets — averaged over seeds. ``pct_*`` divide by
    the exact optimum with the observation's information. ``collapsed_to`` names the position a policy
    names whatever the user answers (every seed), if it learned nothing else.
    """
    from musicrec.experiments.grid_references import THESIS_METRICS

    budget = as_budget(budget)
    summary = final_summary(study)
    rows, seen = [], {}
    for name, group in summary.groupby("experiment", sort=False):
        exp = experiment(name)
        env = dict(exp.env)
        key = tuple(env[k] for k in ("dims", "target", "reward", "obs"))
        if key not in seen:
            seen[key] = references(env, reference_budget, runs_dir)
        runs = study[study.experiment == name].run.tolist()
        pooled = pd.DataFrame([pooled_checkpoints(run) for run in runs])
        final = seed_summary(group["mean"])
        thesis = THESIS_METRICS.iloc[THESIS_ROWS[name]] if name in THESIS_ROWS else None
        positions = {constant_position(final_returns(run), env) for run in runs}
        rows.append({
            "experiment": name, "figure": exp.figure, **{k: env[k] for k in ("dims", "target", "reward", "obs")},
            "n_steps": exp.n_steps, "recurrent": exp.recurrent, "algorithm": exp.algorithm,
            "seeds": len(group), "timesteps": int(group.timesteps.iloc[0]),
            "final_mean": final["mean"], "final_sd_seeds": final["sd_seeds"], "final_ci_low": final["ci_low"],
            "final_ci_high": final["ci_high"], "final_std_targets": float(group["std"].mean()),
            "pooled_mean": float(pooled.pooled_mean.mean()), "pooled_std": float(pooled.pooled_std.mean()),
            "pooled_checkpoints": int(pooled.checkpoints.min()),
            "thesis_mean": float(thesis["mean"]) if thesis is not None else float("nan"),
            "thesis_std": float(thesis["std"]) if thesis is not None else float("nan"),
            "thesis_recurrent": bool(thesis["recurrent"]) if thesis is not None else None,
            "optimum": seen[key]["optimum"], "rule": seen[key]["rule_mean"],
            "collapsed_to": positions.pop() if len(positions) == 1 else None,
        })
    table = pd.DataFrame(rows)
    table["pct_final"] = 100 * table.final_mean / table.optimum
    table["pct_pooled"] = 100 * table.pooled_mean / table.optimum
    table.loc[table.collapsed_to.notna(), ["pct_final", "pct_pooled"]] = np.nan
    table["collapsed_to"] = table.collapsed_to.astype("Int64")
    return table


def reference_rows(study: pd.DataFrame, reference_budget: Mapping[str, Any], runs_dir: str | os.PathLike) -> pd.DataFrame:
    """The exact optimum and the rule baseline of every env setting of ``study`` (one row each)."""
    rows, seen = [], set()
    for name in dict.fromkeys(study.experiment):
        env = dict(experiment(name).env)
        key = tuple(env[k] for k in ("dims", "target", "reward", "obs"))
        if key in seen:
            continue
        seen.add(key)
        ref = references(env, reference_budget, runs_dir)
        feedback = "rating + closer" if env["obs"] == "grid" else "ratings only"
        common = dict(zip(("dims", "target", "reward", "obs"), key))
        rows.append({**common, "agent": f"exact optimum ({feedback})", "mean": ref["optimum"]})
        rows.append({**common, "agent": "rule baseline", "mean": ref["rule_mean"], "std": ref["rule_std"]})
    return pd.DataFrame(rows)


def steps_to_fraction(evals: pd.DataFrame, reference: float, fractions: Sequence[float] = (0.9, 0.95)) -> dict[str, float]:
    """Env steps until the all-targets mean first reaches each fraction of ``reference`` (one run)."""
    from musicrec.agents.callbacks import first_reaching

    return {f"steps_to_{round(100 * f)}pct": first_reaching(evals, f * reference) for f in fractions}


def cpu_seconds_at_evaluations(run: Run) -> pd.DataFrame:
    """CPU seconds of training (evaluations excluded) when each evaluation of ``eval.csv`` ran."""
    times = timings(run)
    cpu = times.cpu_s - times.cpu_s.iloc[0] - times.eval_s.cumsum().shift(fill_value=0.0) + times.eval_s.iloc[0]
    return pd.DataFrame({"timesteps": times.timesteps, "train_cpu_s": cpu.clip(lower=0.0)})


def time_to_fraction(run: Run, reference: float, fraction: float) -> float:
    """CPU seconds of training until the run's all-targets mean first reached ``fraction * reference``."""
    evals = pd.read_csv(run.file("eval.csv")).merge(cpu_seconds_at_evaluations(run), on="timesteps", how="left")
    hit = evals[evals["mean"] >= fraction * reference]
    return float(hit.train_cpu_s.iloc[0]) if len(hit) else float("nan")


def dimension_table(study: pd.DataFrame, budget: GridAgentsBudget | Mapping[str, Any],
                    reference_budget: Mapping[str, Any], runs_dir: str | os.PathLike) -> pd.DataFrame:
    """Higher dimensions: final mean over seeds (std, 95% interval), the best reference (exact optimum if
    the search finished, else the rule baseline on the same targets), % of it, and env steps to 90% / 95%
    of it (median over the seeds that got there, with their count)."""
    budget = as_budget(budget)
    summary = final_summary(study)
    evals = evaluations(study)
    rows = []
    for name, group in summary.groupby("experiment", sort=False):
        exp = experiment(name)
        env = dict(exp.env)
        targets = study[study.experiment == name].run.iloc[0].config["final_targets"]
        ref = references(env, reference_budget, runs_dir, optimum=int(env["dims"]) in budget.optimum_dims,
                         targets=targets)
        exact = bool(ref["optimum_exact"])
        reference = ref["optimum"] if exact else ref["rule_mean"]
        final = seed_summary(group["mean"])
        row = {"experiment": name, "dims": env["dims"], "action": env["action"], "label": exp.label,
               "figure": exp.figure, "seeds": len(group), "timesteps": int(group.timesteps.iloc[0]),
               "thesis_iterations": int(group.timesteps.iloc[0]) // thesis_iteration_steps(exp.n_steps),
               "mean": final["mean"], "sd_seeds": final["sd_seeds"], "ci_low": final["ci_low"],
               "ci_high": final["ci_high"], "std_over_targets": float(group["std"].mean()),
               "targets": int(group.targets.iloc[0]), "rule": ref["rule_mean"], "optimum": ref["optimum"],
               "optimum_upper": ref["optimum_upper"], "reference": "exact optimum" if exact else "rule baseline",
               "reference_value": reference, "train_cpu_s": float(group.train_cpu_s.mean()),
               "steps_per_cpu_s": float(group.steps_per_cpu_s.mean())}
        row["pct_of_reference"] = 100 * row["mean"] / reference
        for fraction in (0.9, 0.95):
            key = f"steps_to_{round(100 * fraction)}pct"
            values = np.array([steps_to_fraction(evals[(evals.experiment == name) & (evals.seed == seed)],
                                                 reference, (fraction,))[key] for seed in group.seed])
            reached = values[~np.isnan(values)]
            row[key] = float(np.median(reached)) if len(reached) else float("nan")
            row[f"seeds_{round(100 * fraction)}pct"] = int(len(reached))
        rows.append(row)
    return pd.DataFrame(rows)


def noise_table(study: pd.DataFrame, budget: GridAgentsBudget | Mapping[str, Any],
                reference_budget: Mapping[str, Any], runs_dir: str | os.PathLike) -> pd.DataFrame:
    """Noisy users: the learned agent (final policy, true ratings, mean over seeds with its 95% interval)
    beside the Bayes-filter greedy baseline that knows the noise model, and the deterministic user's
    exact optimum (an upper bound for every noise level), per dims and noise ``p``."""
    budget = as_budget(budget)
    summary = final_summary(study).set_index(["experiment", "seed"])
    rows = []
    for dims in (2, 4):
        for p in budget.noise_levels:
            name = noise_experiment(dims, p)
            if name not in set(study.experiment):
                continue
            exp = experiment(name)
            env = dict(exp.env)
            group = summary.loc[name]
            final = seed_summary(group["mean"])
            repeats = budget.noise_repeats.get(dims, 1) if p else 1
            bayes = bayes_run(env, repeats, runs_dir).metrics()["return"]
            optimum = references({k: v for k, v in env.items() if "noise" not in k}, reference_budget, runs_dir)
            rows.append({"dims": dims, "action": env["action"], "noise": p, "experiment": name,
                         "seeds": len(group), "timesteps": int(group.timesteps.iloc[0]),
                         "agent_mean": final["mean"], "agent_sd_seeds": final["sd_seeds"],
                         "agent_ci_low": final["ci_low"], "agent_ci_high": final["ci_high"],
                         "bayes_mean": float(bayes.mean()),
                         "bayes_se": float(bayes.std(ddof=1) / np.sqrt(len(bayes))),
                         "optimum_deterministic": optimum["optimum"], "episodes_per_target": repeats})
    table = pd.DataFrame(rows)
    if len(table):
        table["agent_minus_bayes"] = table.agent_mean - table.bayes_mean
        verdict = np.where(table.agent_ci_low > table.bayes_mean, "agent beats Bayes filter",
                           np.where(table.agent_ci_high < table.bayes_mean, "Bayes filter beats agent",
                                    "undecided (the agent's 95% interval covers the Bayes mean)"))
        one_seed = table.agent_ci_low.isna()
        table["verdict"] = np.where(one_seed, np.where(table.agent_mean > table.bayes_mean, "agent higher (one seed)",
                                                       "Bayes filter higher (one seed)"), verdict)
    return table


def throughput_table(study: pd.DataFrame) -> pd.DataFrame:
    """Training throughput per experiment: env steps per CPU second of training (evaluations excluded)."""
    summary = final_summary(study)
    return summary.groupby("experiment", sort=False).agg(
        runs=("seed", "count"), timesteps=("timesteps", "first"), train_cpu_s=("train_cpu_s", "mean"),
        steps_per_cpu_s=("steps_per_cpu_s", "mean")).reset_index()


# -- curves for the notebooks --------------------------------------------------------------------------

def curves(study: pd.DataFrame, name: str, *, kind: str = "eval", x: str = "timesteps",
           points: int = 400, window: int = 10) -> list[pd.DataFrame]:
    """One frame per seed of experiment ``name`` with columns ``x`` and ``value``.

    ``kind="eval"``: the deterministic policy's mean return over all targets (``eval.csv``), against env
    steps (``x="timesteps"``) or updates (``x="updates"``). ``kind="eval_std"``: its std over targets.
    ``kind="last10"``: the thesis's training curve, the mean return of the last ``window`` training
    episodes, read at ``points`` evenly spaced env steps (the same for every seed).
    """
    check_choice("kind", kind, ["eval", "last10", "eval_std"])
    check_choice("x", x, ["timesteps", "updates"])
    runs = study[study.experiment == name].run
    if not len(runs):
        raise ParameterError(f"experiment {name!r} is not in this study")
    frames = []
    if kind.startswith("eval"):
        column = "mean" if kind == "eval" else "std"
        for run in runs:
            evals = pd.read_csv(run.file("eval.csv"))
            frames.append(pd.DataFrame({x: evals[x], "value": evals[column]}))
        return frames
    total = int(runs.iloc[0].config["agent"]["total_timesteps"])
    grid = np.linspace(0, total, points)
    for run in runs:
        metrics = run.metrics()
        rolling = metrics["return"].rolling(window, min_periods=1).mean().to_numpy()
        steps = metrics.timesteps.to_numpy(dtype=float)
        inside = grid[(grid >= steps[0]) & (grid <= steps[-1])] if len(steps) else grid[:0]
        frames.append(pd.DataFrame({"timesteps": inside, "value": np.interp(inside, steps, rolling)}))
    common = min(len(frame) for frame in frames)
    return [frame.iloc[-common:].reset_index(drop=True) for frame in frames]


def plot_curves(ax, study: pd.DataFrame, names: Sequence[str], *, kind: str = "eval", x: str = "timesteps",
                smoothing: int = 1, window: int = 10, labels: Mapping[str, str] | None = None,
                colors: Mapping[str, Any] | None = None):
    """Mean +- std over seeds of :func:`curves` for each experiment; x in millions of env steps or in
    thousands of updates."""
    from musicrec.plotting import plot_mean_band

    scale, xlabel = (1e6, "environment steps (millions)") if x == "timesteps" else (1e3, "updates (thousands)")
    for name in names:
        frames = [frame.assign(scaled=frame[x] / scale)
                  for frame in curves(study, name, kind=kind, x=x, window=window)]
        plot_mean_band(ax, frames, "scaled", "value", label=(labels or {}).get(name, experiment(name).label),
                       smoothing=smoothing, color=(colors or {}).get(name))
    ax.set_xlabel(xlabel)
    return ax


#: Experiments each notebook shows (notebook 07 adds the factored dims of the budget and the noisy users).
STUDIES: dict[str, list[str]] = {
    "03": ["top_grid_n5", "wider_grid_n5"],
    "04": ["wider_grid_n5", "wider_grid_n10", "wider_grid_n20", "wider_grid_n10_lr7e-4", "wider_grid_n10_lr7e-5"],
    "05": ["wider_grid_n20", "wider_board_n20", "wider_board_n20_trpo", "wider_grid_n20_mlp", "rating_grid_n20",
           "rating_board_n20", "rating_board_n20_trpo", "rating_board_n20_mlp"],
    "06": ["top_grid_n5", "wider_grid_n5", "wider_grid_n10", "wider_grid_n20", "wider_board_n20",
           "wider_board_n20_trpo", "rating_grid_n20", "rating_board_n20", "rating_board_n20_mlp",
           "rating_board_n20_trpo", "wider_grid_n20_mlp", "wider_grid_ppo"],
    "07": ["3d_wider_grid_n20", "4d_wider_grid_n20", "3d_flat_ppo_n20", "4d_flat_ppo_n20"],
}


def study_experiments(notebook: str, budget: GridAgentsBudget | Mapping[str, Any]) -> list[str]:
    """The experiments notebook ``notebook`` ("03".."07") trains under ``budget``."""
    budget = as_budget(budget)
    check_choice("notebook", notebook, list(STUDIES))
    names = list(STUDIES[notebook])
    if notebook == "07":
        names += [f"{int(d)}d_factored_n20" for d in budget.factored_dims]
        names += [noise_experiment(d, p) for d in (2, 4) for p in budget.noise_levels]
    return [name for name in dict.fromkeys(names) if name in budget.timesteps]


def evaluation_at(study: pd.DataFrame, names: Sequence[str], *, x: str, at: float | None = None) -> pd.DataFrame:
    """The all-targets mean of each experiment at the same number of updates (``x="updates"``) or env
    steps (``x="timesteps"``): each seed's last evaluation at or before ``at`` (default: the largest value
    every experiment reached), then mean and std over seeds."""
    check_choice("x", x, ["timesteps", "updates"])
    evals = evaluations(study[study.experiment.isin(names)])
    if at is None:
        at = float(evals.groupby(["experiment", "seed"])[x].max().min())
    rows = []
    for name in names:
        values = []
        for _, curve in evals[(evals.experiment == name) & (evals[x] <= at)].groupby("seed"):
            values.append(float(curve.sort_values(x)["mean"].iloc[-1]))
        rows.append({"experiment": name, "n_steps": experiment(name).n_steps, "at": at,
                     "mean": float(np.mean(values)), "sd_seeds": float(np.std(values, ddof=1)) if len(values) > 1
                     else float("nan"), "seeds": len(values)})
    return pd.DataFrame(rows)


def rerun_with_cpu_kernels(name: str, seed: int, budget: GridAgentsBudget | Mapping[str, Any],
                           runs_dir: str | os.PathLike, *, capability: str = "avx2") -> Run:
    """The run of ``name`` and ``seed`` trained again in a process whose torch kernels use only the
    instruction set ``capability`` (``ATEN_CPU_CAPABILITY``), as a CPU without AVX-512 would.

    Same code, same seed, same config: any difference from the original run is floating-point rounding
    (other vector widths sum in another order), amplified by training. Cached under the kind
    ``grid_agents_<capability>``.
    """
    import subprocess
    import sys

    check_choice("capability", capability, ["default", "avx2", "avx512"])
    config = run_config(name, seed, budget)
    run = Run(runs_dir, f"grid_agents_{capability}", config, name=f"{name}-seed{seed}")
    if run.finished:
        return run
    script = ("import sys, yaml, functools; from musicrec.runs import Run; "
              "from musicrec.agents.grid_training import train_in_folder; "
              "config = yaml.safe_load(sys.stdin.read()); "
              f"run = Run({str(run.path.parent.parent)!r}, {run.kind!r}, config, name={run.name!r}); "
              "run.execute(functools.partial(train_in_folder, run.config, progress=False))")
    import yaml

    env = {**os.environ, "ATEN_CPU_CAPABILITY": capability}
    subprocess.run([sys.executable, "-c", script], input=yaml.safe_dump(config), text=True, env=env, check=True,
                   cwd=os.getcwd())
    return run


def reproducibility_table(study: pd.DataFrame, reruns: Mapping[tuple[str, int], Run]) -> pd.DataFrame:
    """Original runs beside their reruns with other CPU kernels: identical metrics files, final means, whether
    the rerun's final mean lies inside the original experiment's 95% interval of the mean over seeds, and
    inside the 95% interval of one fresh seed (:func:`musicrec.seeds.rerun_interval_from_summary`), which is
    where a retrained seed lands if the other kernels only redraw its training; per experiment, the number of
    retrained seeds (``reruns``), their mean and whether it lies inside the 95% interval of a rerun's mean over
    as many seeds."""
    summary = final_summary(study)
    retrained = pd.Series([name for name, _ in reruns]).value_counts()
    # per experiment: its seeds' mean and spread, the interval of the mean, of one fresh seed, of a rerun's mean
    spreads = {}
    for name, count in retrained.items():
        means = summary[summary.experiment == name]["mean"]
        mean, sd, n = float(means.mean()), float(means.std(ddof=1)) if len(means) > 1 else float("nan"), len(means)
        spreads[name] = {"seeds_mean": mean, "ci": confidence_interval(means),
                         "seed": rerun_interval_from_summary(mean, sd, n, rerun_seeds=1),
                         "reruns": rerun_interval_from_summary(mean, sd, n, rerun_seeds=int(count))}

    def inside(value: float, bounds: tuple[float, float]) -> bool | None:
        return bool(bounds[0] <= value <= bounds[1]) if not math.isnan(bounds[0]) else None

    rows = []
    for (name, seed), rerun in reruns.items():
        original = study[(study.experiment == name) & (study.seed == seed)].run.iloc[0]
        spread = spreads[name]
        rerun_mean = float(final_returns(rerun)["return"].mean())
        rows.append({"experiment": name, "seed": seed,
                     "metrics_identical": (original.path / "metrics.csv").read_bytes()
                     == (rerun.path / "metrics.csv").read_bytes(),
                     "original_mean": float(summary[(summary.experiment == name)
                                                    & (summary.seed == seed)]["mean"].iloc[0]),
                     "rerun_mean": rerun_mean, "ci_low": spread["ci"][0], "ci_high": spread["ci"][1],
                     "rerun_inside_ci": inside(rerun_mean, spread["ci"]),
                     "seed_interval_low": spread["seed"][0], "seed_interval_high": spread["seed"][1],
                     "rerun_inside_seed_interval": inside(rerun_mean, spread["seed"])})
    table = pd.DataFrame(rows)
    # the retrained seeds of one experiment together: their mean against where a rerun's mean over as many lands
    for name, part in table.groupby("experiment", sort=False):
        spread, mean = spreads[name], float(part.rerun_mean.mean())
        table.loc[part.index, ["reruns", "reruns_mean", "original_seeds_mean", "rerun_mean_interval_low",
                               "rerun_mean_interval_high"]] = [len(part), mean, spread["seeds_mean"], *spread["reruns"]]
        table.loc[part.index, "reruns_inside_rerun_interval"] = inside(mean, spread["reruns"])
    return table.astype({"reruns": int})
