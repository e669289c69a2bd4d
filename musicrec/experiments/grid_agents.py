"""Notebooks 03-07: deep-RL agents on the feature grid, one cached run per (experiment, seed).

Every grid experiment of the thesis (sections 4.4.1-4.4.2, figures 11-25, tables of figures 22-23) and
the ones it could not run (factored actions in 4D-8D, PPO and RecurrentPPO baselines) is an entry of
:data:`EXPERIMENTS`: an environment setting, an agent preset of :mod:`musicrec.agents.sb3` and the
n of the n-step returns. The budget (environment steps per experiment, seeds, evaluation interval)
comes from ``musicrec/configs/profiles/grid_agents.yml``, so a run is the same in every notebook that
asks for it and is trained once: notebooks 03-07 call :func:`run_study` with the experiments they show,
and finished runs are reused (:class:`musicrec.runs.Run`).

The training pipeline is that of the thesis's code (ikostrikov's ``a2c_ppo_acktr``):

* ``GridVecEnv`` (the batched numpy core) with 16 environments (64 for the factored grids of 4D and
  more, beyond the thesis, see :data:`EXPERIMENTS`);
* the end of the 21-step episode is terminal for the returns (the thesis's code does not bootstrap at
  time limits, and the objective is the return of exactly 21 steps), so ``TimeLimit.truncated`` is
  dropped (:class:`FiniteHorizon`);
* ``VecNormalize`` of observations and rewards (running mean/std, clip 10), as the thesis's code wraps
  every environment with 1-D observations. The statistics are saved with the model
  (``vecnormalize.pkl``) and used, frozen, in every evaluation.

Each run folder holds ``metrics.csv`` (one row per training episode: the thesis's "average total
reward of the last 10 trajectories" is its rolling mean), ``eval.csv`` (the deterministic policy from
every target at fixed intervals, :class:`musicrec.agents.callbacks.PeriodicEvaluation`),
``final_returns.csv`` (the final policy's return from each evaluated target), ``model.zip`` and
``vecnormalize.pkl``.
"""

from __future__ import annotations

import math
import os
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musicrec.errors import ParameterError, check_choice
from musicrec.runs import Run, write_csv_atomic
from musicrec.utils import project_path

ENV_ID = "musicrec/FeatureGrid-v0"
#: Bump when the training pipeline changes a result.
VERSION = 1
#: Grids larger than this are evaluated at the end on a fixed random sample of ``final_targets`` targets.
FULL_EVAL_LIMIT = 20_000
#: Seed of the target samples of large grids (the same sample for every agent and the rule baseline).
SAMPLE_SEED = 12345
ALGORITHM_LABELS = {
    "recurrent_a2c": "A2C",
    "a2c": "A2C",
    "trpo": "TRPO (in ACKTR's place)",
    "ppo": "PPO",
    "recurrent_ppo": "RecurrentPPO",
}


def grid_env(dims: int = 2, *, target: str = "wider", reward: str = "bullseye", obs: str = "grid",
             action: str = "flat", levels: int = 5, episode_length: int = 21) -> dict[str, Any]:
    """FeatureGrid keyword arguments (the thesis's defaults: 5 levels, 21 steps)."""
    return {"dims": dims, "levels": levels, "target": target, "reward": reward, "obs": obs,
            "action": action, "episode_length": episode_length}


@dataclass(frozen=True)
class Experiment:
    """One grid experiment: an environment setting and an agent.

    Attributes
    ----------
    name : str
        Key in :data:`EXPERIMENTS` and in the profile's ``timesteps``.
    label : str
        Legend text.
    env : dict
        FeatureGrid keyword arguments.
    preset : str
        Agent preset of :mod:`musicrec.agents.sb3` (``recurrent_a2c``, ``a2c``, ``trpo``, ...).
    n_steps : int or None
        n of the n-step returns (rollout length per env); ``None`` keeps the preset's YAML value.
    hyperparams : dict
        Further overrides (e.g. the learning rate of figure 15).
    n_envs : int or None
        Parallel environments; ``None`` takes the budget's ``n_envs`` (16, the thesis's).
    figure : str
        The thesis figure it reproduces ("" if new).
    """

    name: str
    label: str
    env: Mapping[str, Any]
    preset: str = "recurrent_a2c"
    n_steps: int | None = 20
    hyperparams: Mapping[str, Any] = field(default_factory=dict)
    n_envs: int | None = None
    figure: str = ""

    @property
    def recurrent(self) -> bool:
        from musicrec.agents.sb3 import PRESETS, _load_presets

        _load_presets()
        return PRESETS[self.preset].recurrent

    @property
    def algorithm(self) -> str:
        return ALGORITHM_LABELS.get(self.preset, self.preset)

    @property
    def n_positions(self) -> int:
        return int(self.env["levels"]) ** int(self.env["dims"])


def _experiments(*items: Experiment) -> dict[str, Experiment]:
    return {item.name: item for item in items}


EXPERIMENTS: dict[str, Experiment] = _experiments(
    # 2D, Bullseye (figures 11-17, table of figure 22)
    Experiment("top_grid_n5", "TopTarget, GridObs, n=5", grid_env(target="top"), n_steps=5, figure="11"),
    Experiment("wider_grid_n5", "WiderTopTarget, GridObs, n=5", grid_env(), n_steps=5, figure="12"),
    Experiment("wider_grid_n10", "WiderTopTarget, GridObs, n=10", grid_env(), n_steps=10, figure="13"),
    Experiment("wider_grid_n20", "WiderTopTarget, GridObs, n=20", grid_env(), n_steps=20, figure="14"),
    Experiment("wider_grid_n10_lr7e-5", "WiderTopTarget, GridObs, n=10, lr 7e-5", grid_env(), n_steps=10,
               hyperparams={"learning_rate": 7e-5}, figure="15"),
    Experiment("wider_board_n20", "BoardObs, recurrent A2C", grid_env(obs="board"), figure="16"),
    Experiment("wider_board_n20_trpo", "BoardObs, TRPO (in ACKTR's place), no recurrence",
               grid_env(obs="board"), preset="trpo", figure="17"),
    # 2D, Rating reward (figures 18-21, table of figure 23)
    Experiment("rating_grid_n20", "Rating, GridObs, recurrent A2C", grid_env(reward="rating"), figure="18"),
    Experiment("rating_board_n20", "Rating, BoardObs, recurrent A2C", grid_env(reward="rating", obs="board"),
               figure="19"),
    Experiment("rating_board_n20_trpo", "Rating, BoardObs, TRPO (in ACKTR's place), no recurrence",
               grid_env(reward="rating", obs="board"), preset="trpo", figure="20"),
    Experiment("rating_board_n20_a2c", "Rating, BoardObs, A2C, no recurrence",
               grid_env(reward="rating", obs="board"), preset="a2c", figure="21"),
    # Modern baselines with their usual settings (not in the thesis)
    Experiment("wider_board_ppo", "BoardObs, PPO", grid_env(obs="board"), preset="ppo", n_steps=None),
    Experiment("wider_grid_recurrent_ppo", "GridObs, RecurrentPPO (LSTM)", grid_env(), preset="recurrent_ppo",
               n_steps=None),
    # Higher dimensions: the thesis's configuration with flat actions (figures 24-25) ...
    Experiment("3d_wider_grid_n20", "3D, flat actions", grid_env(3), figure="24"),
    Experiment("4d_wider_grid_n20", "4D, flat actions", grid_env(4), figure="25"),
    # ... and factored actions, one level per feature (the thesis's future work), with lr 2e-3 (a pilot
    # in 4D learned faster than with the thesis's lr 7e-4). 4D-8D use 64 envs: 2.2x the env steps per
    # second of 16 envs. 3D uses the thesis's 16 envs: with the value head of the thesis's code, 16 envs
    # reached 147.1 after 1 M steps (3 seeds) against 118.3 with 64 envs, at 2.3x the CPU time per env
    # step (4x the updates). In 4D, 16 envs gave 144.8 against 136.8 after 2.5 M steps (3 seeds), for
    # ~250 more CPU seconds than the 30-minute budget of `make reproduce` leaves.
    *(Experiment(f"{d}d_factored_n20", f"{d}D, factored actions", grid_env(d, action="factored"),
                 hyperparams={"learning_rate": 2e-3}, n_envs=16 if d == 3 else 64) for d in (3, 4, 5, 6, 8)),
)


def experiment(name: str) -> Experiment:
    """The experiment called ``name`` (ParameterError naming the known ones otherwise)."""
    check_choice("experiment", name, list(EXPERIMENTS))
    return EXPERIMENTS[name]


# -- the environment pipeline -------------------------------------------------------------------

def finite_horizon(venv):
    """Wrap an SB3 VecEnv so that the end of an episode is terminal (no ``TimeLimit.truncated``)."""
    from stable_baselines3.common.vec_env import VecEnvWrapper

    class FiniteHorizon(VecEnvWrapper):
        """The 21-step episode is the whole task: its end is terminal, as in the thesis's code."""

        def reset(self):
            return self.venv.reset()

        def step_wait(self):
            obs, rewards, dones, infos = self.venv.step_wait()
            for i in np.flatnonzero(dones):
                infos[i].pop("TimeLimit.truncated", None)
            return obs, rewards, dones, infos

    return FiniteHorizon(venv)


def make_vec_env(env_config: Mapping[str, Any], n_envs: int, seed: int, *,
                 normalize: Mapping[str, Any] | None = None, gamma: float = 0.99):
    """``GridVecEnv`` -> :func:`finite_horizon` -> ``VecNormalize`` (when ``normalize`` asks for it)."""
    from stable_baselines3.common.vec_env import VecNormalize

    from musicrec.envs.grid_vec import GridVecEnv

    venv = finite_horizon(GridVecEnv(n_envs, seed=seed, **dict(env_config["kwargs"])))
    normalize = dict(normalize or {})
    if normalize.get("obs") or normalize.get("reward"):
        venv = VecNormalize(venv, norm_obs=bool(normalize.get("obs")), norm_reward=bool(normalize.get("reward")),
                            gamma=gamma)
    return venv


def normalized_predict(model, vec_normalize=None):
    """``predict(obs, state, episode_start)`` of the deterministic policy, with frozen obs statistics."""
    vec_normalize = vec_normalize if vec_normalize is not None else model.get_vec_normalize_env()

    def predict(obs, state, episode_start):
        if vec_normalize is not None:
            obs = vec_normalize.normalize_obs(obs)
        return model.predict(obs, state, episode_start, deterministic=True)

    return predict


def target_sample(n_positions: int, size: int) -> list[int]:
    """A fixed random sample of ``size`` flat targets (sorted), the same for every agent and reference."""
    rng = np.random.default_rng(SAMPLE_SEED)
    return sorted(int(t) for t in rng.choice(n_positions, size=size, replace=False))


def evaluation_targets(exp: Experiment, budget: Mapping[str, Any], *, final: bool = False) -> list[int] | None:
    """Targets of the periodic (or final) evaluation: all of them (``None``), or a fixed sample.

    Periodic evaluations use every target up to ``eval_targets`` positions, else a sample of that
    size; the final evaluation uses every target up to :data:`FULL_EVAL_LIMIT` positions, else a
    sample of ``final_targets``.
    """
    n = exp.n_positions
    if final:
        return None if n <= FULL_EVAL_LIMIT else target_sample(n, int(budget.get("final_targets", 2000)))
    limit = int(budget.get("eval_targets", 4096))
    return None if n <= limit else target_sample(n, limit)


# -- runs -----------------------------------------------------------------------------------------

def eval_every(timesteps: int, budget: Mapping[str, Any], rollout: int) -> int:
    """Evaluation interval: about ``eval_points`` evaluations per run, a multiple of the rollout size."""
    points = int(budget.get("eval_points", 20))
    return max(rollout, int(math.ceil(timesteps / points / rollout)) * rollout)


def run_config(name: str, seed: int, budget: Mapping[str, Any]) -> dict[str, Any]:
    """The full config of one run: everything that changes its result (validated before training)."""
    from musicrec.agents.sb3 import resolve_config

    exp = experiment(name)
    timesteps = budget.get("timesteps", {})
    if name not in timesteps:
        raise ParameterError(f"the {budget.get('profile')!r} budget has no timesteps for experiment {name!r}")
    hyper = dict(exp.hyperparams)
    if exp.n_steps is not None:
        hyper["n_steps"] = int(exp.n_steps)
    n_envs = int(exp.n_envs or budget.get("n_envs", 16))
    agent = resolve_config({"preset": exp.preset, "total_timesteps": int(timesteps[name]), "n_envs": n_envs,
                            "hyperparams": hyper}, {"id": ENV_ID, "kwargs": dict(exp.env)})
    rollout = n_envs * int(agent["hyperparams"].get("n_steps", 1))
    return {
        "version": VERSION,
        "agent": agent,
        "normalize": dict(budget.get("normalize", {"obs": True, "reward": True})),
        "eval_every": eval_every(int(timesteps[name]), budget, rollout),
        "eval_targets": evaluation_targets(exp, budget),
        "final_targets": evaluation_targets(exp, budget, final=True),
        "seed": int(seed),
    }


def _work(config: dict[str, Any], folder: Path, *, device: str = "cpu", progress: bool = True) -> None:
    from musicrec.agents.callbacks import PeriodicEvaluation, all_targets_evaluator
    from musicrec.agents.sb3 import train
    from musicrec.envs.grid import evaluate_all_targets

    agent, env = config["agent"], config["agent"]["env"]
    gamma = float(agent["hyperparams"].get("gamma", 0.99))

    def factory(env_config, n_envs, seed):
        return make_vec_env(env_config, n_envs, seed, normalize=config["normalize"], gamma=gamma)

    evaluate = all_targets_evaluator(env["kwargs"], targets=config["eval_targets"], policy=normalized_predict)
    callback = PeriodicEvaluation(evaluate, config["eval_every"], folder)
    result = train({k: agent[k] for k in ("preset", "total_timesteps", "n_envs", "policy", "hyperparams")},
                   env, config["seed"], folder, device=device, callbacks=[callback], progress_bar=progress,
                   vec_env_factory=factory)
    vec_normalize = result.model.get_vec_normalize_env()
    if vec_normalize is not None:
        vec_normalize.save(str(folder / "vecnormalize.pkl"))
    final = evaluate_all_targets(normalized_predict(result.model), targets=config["final_targets"],
                                 **env["kwargs"])
    write_csv_atomic(pd.DataFrame({"target": final.targets, "return": final.returns,
                                   "first_top": final.first_top}), folder / "final_returns.csv")


def make_run(name: str, seed: int, budget: Mapping[str, Any], runs_dir: str | os.PathLike) -> Run:
    """The (maybe unfinished) run of experiment ``name`` with ``seed`` under ``budget``."""
    return Run(runs_dir, "grid_agents", run_config(name, seed, budget), name=f"{name}-seed{seed}")


def train_run(name: str, seed: int, budget: Mapping[str, Any], runs_dir: str | os.PathLike, *,
              device: str = "cpu", progress: bool = True) -> Run:
    """Train (or reuse) the run of experiment ``name`` with ``seed``."""
    run = make_run(name, seed, budget, runs_dir)
    return run.execute(lambda folder: _work(run.config, folder, device=device, progress=progress))


def _execute_in_worker(name: str, seed: int, budget: dict, runs_dir: str, device: str) -> str:
    return str(train_run(name, seed, budget, runs_dir, device=device, progress=False).path)


def run_study(names: Sequence[str], budget: Mapping[str, Any], runs_dir: str | os.PathLike, *,
              device: str = "cpu", workers: int | None = None, progress: bool = True) -> pd.DataFrame:
    """Train (or reuse) every (experiment, seed) of ``names`` x ``budget["seeds"]``.

    Unfinished runs are trained ``workers`` at a time in separate processes (default
    ``budget["workers"]``; one torch thread each), longest first. Returns one row per run:
    ``experiment, seed, run``.
    """
    from tqdm import tqdm

    names = list(dict.fromkeys(names))
    tasks = [(name, int(seed)) for name in names for seed in budget["seeds"]]
    runs = {task: make_run(*task, budget, runs_dir) for task in tasks}  # validates every config first
    pending = [task for task in tasks if not runs[task].finished]
    pending.sort(key=lambda task: -runs[task].config["agent"]["total_timesteps"] * (
        1 + experiment(task[0]).n_positions / 1000))
    workers = int(workers if workers is not None else budget.get("workers", 1))
    if pending:
        bar = tqdm(total=len(pending), desc=f"grid runs ({len(tasks) - len(pending)} reused)", unit="run",
                   disable=not progress, mininterval=1)
        if workers <= 1 or len(pending) == 1:
            for name, seed in pending:
                train_run(name, seed, budget, runs_dir, device=device, progress=progress)
                bar.update()
        else:
            _run_parallel(pending, budget, runs_dir, device, workers, bar)
        bar.close()
    rows = [{"experiment": name, "seed": seed, "run": runs[(name, seed)]} for name, seed in tasks]
    for row in rows:
        if not row["run"].finished:
            raise RuntimeError(f"run {row['run'].path} did not finish")
    return pd.DataFrame(rows)


def _run_parallel(pending, budget, runs_dir, device, workers, bar) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    runs_dir = str(project_path(runs_dir))
    executor = ProcessPoolExecutor(max_workers=min(workers, len(pending)),
                                   mp_context=multiprocessing.get_context("spawn"))
    futures = {executor.submit(_execute_in_worker, name, seed, dict(budget), runs_dir, device): (name, seed)
               for name, seed in pending}
    try:
        remaining = set(futures)
        while remaining:
            done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
            for future in done:
                future.result()  # re-raises a worker's error
                bar.update()
    except BaseException:
        # Interrupted or failed: stop the workers; their temporary folders never look finished and are
        # removed by the next attempt (musicrec.runs.Run).
        for process in list(getattr(executor, "_processes", {}).values()):
            process.terminate()
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown()


# -- results --------------------------------------------------------------------------------------

def evaluations(study: pd.DataFrame) -> pd.DataFrame:
    """All ``eval.csv`` rows of a study, with ``experiment`` and ``seed``."""
    frames = [pd.read_csv(row.run.file("eval.csv")).assign(experiment=row.experiment, seed=row.seed)
              for row in study.itertuples()]
    return pd.concat(frames, ignore_index=True)


def episodes(study: pd.DataFrame, *, window: int = 10) -> pd.DataFrame:
    """Training episodes of a study with the thesis's curve: mean return of the last ``window`` episodes."""
    frames = []
    for row in study.itertuples():
        frame = row.run.metrics()
        frame["last10"] = frame["return"].rolling(window, min_periods=1).mean()
        frames.append(frame.assign(experiment=row.experiment, seed=row.seed))
    return pd.concat(frames, ignore_index=True)


def final_returns(run: Run) -> pd.DataFrame:
    """The final policy's return from every evaluated target (``target, return, first_top``)."""
    return pd.read_csv(run.file("final_returns.csv"))


def load_agent(run: Run):
    """The trained model of a finished run and a deterministic ``predict`` with its obs statistics."""
    from musicrec.agents.sb3 import load_model

    model = load_model(run.config["agent"]["preset"], run.file("model.zip"))
    vec_normalize = None
    if (run.path / "vecnormalize.pkl").exists():
        with open(run.path / "vecnormalize.pkl", "rb") as handle:
            vec_normalize = pickle.load(handle)
    return model, normalized_predict(model, vec_normalize)


def final_summary(study: pd.DataFrame) -> pd.DataFrame:
    """Per run: mean and std over targets of the final policy's return, share of targets found, and the
    training time (``train_s`` wall seconds to the last episode, ``cpu_s`` CPU seconds of the training
    process including evaluations, ``wall_s`` of the whole run)."""
    rows = []
    for row in study.itertuples():
        returns = final_returns(row.run)
        metrics = row.run.metrics()
        info = row.run.info()
        steps = row.run.config["agent"]["total_timesteps"]
        evals = pd.read_csv(row.run.file("eval.csv"))
        rows.append({"experiment": row.experiment, "seed": row.seed,
                     "mean": float(returns["return"].mean()), "std": float(returns["return"].std(ddof=0)),
                     "found": float((returns.first_top > 0).mean()),
                     "targets": len(returns), "timesteps": steps,
                     "train_s": float(metrics.time_s.iloc[-1]) if len(metrics) else float("nan"),
                     "cpu_s": float(evals.cpu_s.iloc[-1]), "wall_s": float(info["wall_time_s"])})
    return pd.DataFrame(rows)


# -- the notebooks' studies -----------------------------------------------------------------------

#: Experiments each notebook shows (notebook 07 adds the factored dims of the budget).
STUDIES: dict[str, list[str]] = {
    "03": ["top_grid_n5", "wider_grid_n5"],
    "04": ["wider_grid_n5", "wider_grid_n10", "wider_grid_n20", "wider_grid_n10_lr7e-5"],
    "05": ["wider_grid_n20", "wider_board_n20", "wider_board_n20_trpo", "rating_grid_n20", "rating_board_n20",
           "rating_board_n20_trpo", "rating_board_n20_a2c"],
    "06": ["top_grid_n5", "wider_grid_n5", "wider_grid_n10", "wider_grid_n20", "wider_board_n20",
           "wider_board_n20_trpo", "rating_grid_n20", "rating_board_n20", "rating_board_n20_a2c",
           "rating_board_n20_trpo", "wider_board_ppo", "wider_grid_recurrent_ppo"],
    "07": ["3d_wider_grid_n20", "4d_wider_grid_n20"],
}


def study_experiments(notebook: str, budget: Mapping[str, Any]) -> list[str]:
    """The experiments notebook ``notebook`` ("03".."07") trains under ``budget``."""
    check_choice("notebook", notebook, list(STUDIES))
    names = list(STUDIES[notebook])
    if notebook == "07":
        names += [f"{int(d)}d_factored_n20" for d in budget.get("factored_dims", [])]
    return names


#: Row of ``grid_references.THESIS_METRICS`` (figures 22-23) that each experiment reproduces.
THESIS_ROWS = {"top_grid_n5": 0, "wider_grid_n5": 1, "wider_grid_n10": 2, "wider_grid_n20": 3,
               "wider_board_n20": 4, "wider_board_n20_trpo": 5, "rating_grid_n20": 6, "rating_board_n20": 7,
               "rating_board_n20_a2c": 8, "rating_board_n20_trpo": 9}
TABLE_COLUMNS = ["dims", "target", "reward", "obs", "n_steps", "recurrent", "algorithm", "profile", "seeds",
                 "mean", "std", "thesis_mean", "thesis_std", "optimum", "pct_of_optimum"]


def sampled_rule_run(env: Mapping[str, Any], targets: Sequence[int], runs_dir: str | os.PathLike) -> Run:
    """The rule baseline evaluated from a sample of targets (grids too large to sweep), as a cached run."""
    from musicrec.experiments.grid_references import RULE_VERSION

    settings = {k: env[k] for k in ("dims", "levels", "target", "reward", "obs", "action", "episode_length")}
    config = {**settings, "targets": [int(t) for t in targets], "version": RULE_VERSION}
    name = f"{settings['dims']}d-L{settings['levels']}-{settings['target']}-{settings['reward']}-{len(targets)}targets"
    run = Run(runs_dir, "grid_rule_sampled", config, name=name)

    def work(folder):
        from musicrec.agents.grid_rule import GridRulePolicy
        from musicrec.envs.grid import evaluate_all_targets

        result = evaluate_all_targets(GridRulePolicy(**settings), targets=config["targets"], **settings)
        write_csv_atomic(pd.DataFrame({"target": result.targets, "return": result.returns,
                                       "first_top": result.first_top}), folder / "metrics.csv")

    return run.execute(work)


def references(env: Mapping[str, Any], reference_budget: Mapping[str, Any], runs_dir: str | os.PathLike, *,
               optimum: bool = True, targets: Sequence[int] | None = None) -> dict[str, Any]:
    """Exact optimum (or its bounds) and rule baseline for an env setting, as cached runs of notebook 02.

    The optimum uses the information the observation gives: rating and ``closer`` for GridObs, ratings
    only for BoardObs. ``reference_budget`` is notebook 02's profile (``grid_environment``), so the runs
    are the ones notebook 02 made. Without ``optimum`` (or for grids too large to search) only the
    rule is computed; with ``targets`` the rule is evaluated on that sample of targets only.
    """
    from musicrec.experiments.grid_references import optimum_run, optimum_summary, rule_run, rule_summary

    settings = {k: env[k] for k in ("dims", "levels", "target", "reward", "episode_length")}
    if targets is None:
        rule = rule_summary(rule_run({**settings, "obs": env["obs"]}, runs_dir))
    else:
        frame = sampled_rule_run(env, targets, runs_dir).metrics()
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


def metrics_table(study: pd.DataFrame, budget: Mapping[str, Any], reference_budget: Mapping[str, Any],
                  runs_dir: str | os.PathLike) -> pd.DataFrame:
    """The thesis's metric tables (figures 22-23) with our agents, the optimum and the rule baseline.

    One row per experiment of ``study``: ``mean`` is the final policy's mean return over all targets,
    averaged over seeds; ``std`` the standard deviation of the return over targets (the thesis's "Std"),
    averaged over seeds; ``pct_of_optimum`` = 100 * mean / optimum (the Bayes-optimal return with the
    observation's information). Then one ``exact optimum`` and one ``rule baseline`` row per env setting.
    """
    from musicrec.experiments.grid_references import THESIS_METRICS

    summary = final_summary(study)
    rows, settings_seen = [], {}
    for name, group in summary.groupby("experiment", sort=False):
        exp = experiment(name)
        env = dict(exp.env)
        key = tuple(env[k] for k in ("dims", "target", "reward", "obs"))
        if key not in settings_seen:
            settings_seen[key] = references(env, reference_budget, runs_dir)
        ref = settings_seen[key]
        thesis = THESIS_METRICS.iloc[THESIS_ROWS[name]] if name in THESIS_ROWS else None
        run = study[study.experiment == name].run.iloc[0]
        rows.append({**{k: env[k] for k in ("dims", "target", "reward", "obs")},
                     "n_steps": int(run.config["agent"]["hyperparams"]["n_steps"]),
                     "recurrent": exp.recurrent, "algorithm": exp.algorithm, "profile": budget["profile"],
                     "seeds": len(group), "mean": group["mean"].mean(), "std": group["std"].mean(),
                     "thesis_mean": float(thesis["mean"]) if thesis is not None else float("nan"),
                     "thesis_std": float(thesis["std"]) if thesis is not None else float("nan"),
                     "optimum": ref["optimum"]})
    for (dims, target, reward, obs), ref in settings_seen.items():
        common = {"dims": dims, "target": target, "reward": reward, "obs": obs, "n_steps": float("nan"),
                  "recurrent": float("nan"), "profile": budget["profile"], "seeds": float("nan"),
                  "thesis_mean": float("nan"), "thesis_std": float("nan"), "optimum": ref["optimum"]}
        feedback = "rating + closer" if obs == "grid" else "ratings only"
        rows.append({**common, "algorithm": f"exact optimum ({feedback})", "mean": ref["optimum"],
                     "std": float("nan")})
        rows.append({**common, "algorithm": "rule baseline", "mean": ref["rule_mean"], "std": ref["rule_std"]})
    table = pd.DataFrame(rows)
    table["pct_of_optimum"] = 100 * table["mean"] / table["optimum"]
    table = table.astype({"n_steps": "Int64", "seeds": "Int64", "recurrent": "boolean"})
    return table[TABLE_COLUMNS]


def seed_spread(study: pd.DataFrame) -> pd.DataFrame:
    """Per experiment: mean +- std over seeds of the final all-targets mean (and of the std over targets)."""
    summary = final_summary(study)
    table = summary.groupby("experiment", sort=False).agg(
        seeds=("seed", "count"), mean=("mean", "mean"), mean_sd_over_seeds=("mean", "std"),
        std_over_targets=("std", "mean"), found=("found", "mean"), timesteps=("timesteps", "first"),
        train_s=("train_s", "mean"), cpu_s=("cpu_s", "mean")).reset_index()
    table["steps_per_cpu_s"] = table.timesteps / table.cpu_s
    table["label"] = [experiment(name).label for name in table.experiment]
    return table


def steps_to_fraction(evals: pd.DataFrame, reference: float, fractions: Sequence[float] = (0.9, 0.95)
                      ) -> dict[str, float]:
    """Env steps until the all-targets mean first reaches each fraction of ``reference`` (one run)."""
    from musicrec.agents.callbacks import first_reaching

    return {f"steps_to_{round(100 * f)}pct": first_reaching(evals, f * reference) for f in fractions}


def dimension_table(study: pd.DataFrame, budget: Mapping[str, Any], reference_budget: Mapping[str, Any],
                    runs_dir: str | os.PathLike) -> pd.DataFrame:
    """Higher dimensions: final mean +- std over seeds, best reference (exact optimum if the search
    finished, else the rule baseline), % of it, and env steps to 90% / 95% of it (median over seeds;
    NaN when a seed never got there, with the count of seeds that did)."""
    summary = final_summary(study)
    evals = evaluations(study)
    optimum_dims = set(int(d) for d in budget.get("optimum_dims", []))
    rows = []
    for name, group in summary.groupby("experiment", sort=False):
        exp = experiment(name)
        env = dict(exp.env)
        targets = study[study.experiment == name].run.iloc[0].config["final_targets"]
        ref = references(env, reference_budget, runs_dir, optimum=int(env["dims"]) in optimum_dims,
                         targets=targets)
        exact = bool(ref["optimum_exact"])
        reference = ref["optimum"] if exact else ref["rule_mean"]
        reaching = [steps_to_fraction(evals[(evals.experiment == name) & (evals.seed == seed)], reference)
                    for seed in group.seed]
        row = {"experiment": name, "dims": env["dims"], "action": env["action"], "label": exp.label,
               "seeds": len(group), "timesteps": int(group.timesteps.iloc[0]),
               "mean": group["mean"].mean(), "sd_over_seeds": group["mean"].std(ddof=1),
               "std_over_targets": group["std"].mean(), "targets": int(group.targets.iloc[0]),
               "rule": ref["rule_mean"], "optimum": ref["optimum"], "optimum_upper": ref["optimum_upper"],
               "reference": "exact optimum" if exact else "rule baseline", "reference_value": reference}
        row["pct_of_reference"] = 100 * row["mean"] / reference
        for key in reaching[0]:
            values = np.array([r[key] for r in reaching], dtype=float)
            row[key] = float(np.median(values)) if not np.isnan(values).any() else float("nan")
            row[f"seeds_{key.split('_')[-1]}"] = int((~np.isnan(values)).sum())
        rows.append(row)
    return pd.DataFrame(rows)


# -- curves for the notebooks ---------------------------------------------------------------------

def curves(study: pd.DataFrame, name: str, *, kind: str = "eval", points: int = 400) -> list[pd.DataFrame]:
    """One frame per seed of experiment ``name`` with columns ``timesteps`` and ``value``.

    ``kind="eval"``: the deterministic policy's mean return over all targets (``eval.csv``).
    ``kind="last10"``: the thesis's training curve, the mean return of the last 10 training episodes,
    read at ``points`` evenly spaced env steps (the same steps for every seed).
    ``kind="eval_std"``: the std of the return over targets at each evaluation.
    """
    check_choice("kind", kind, ["eval", "last10", "eval_std"])
    runs = study[study.experiment == name].run
    if not len(runs):
        raise ParameterError(f"experiment {name!r} is not in this study")
    frames = []
    if kind.startswith("eval"):
        column = "mean" if kind == "eval" else "std"
        for run in runs:
            evals = pd.read_csv(run.file("eval.csv"))
            frames.append(pd.DataFrame({"timesteps": evals.timesteps, "value": evals[column]}))
        return frames
    total = int(runs.iloc[0].config["agent"]["total_timesteps"])
    grid = np.linspace(0, total, points)
    for run in runs:
        metrics = run.metrics()
        last10 = metrics["return"].rolling(10, min_periods=1).mean().to_numpy()
        steps = metrics.timesteps.to_numpy(dtype=float)
        grid_run = grid[(grid >= steps[0]) & (grid <= steps[-1])] if len(steps) else grid[:0]
        frames.append(pd.DataFrame({"timesteps": grid_run, "value": np.interp(grid_run, steps, last10)}))
    common = min(len(frame) for frame in frames)
    return [frame.iloc[-common:].reset_index(drop=True) for frame in frames]


def plot_curves(ax, study: pd.DataFrame, names: Sequence[str], *, kind: str = "eval", smoothing: int = 1,
                labels: Mapping[str, str] | None = None, colors: Mapping[str, Any] | None = None):
    """Mean +- std over seeds of :func:`curves` for each experiment, x in millions of env steps."""
    from musicrec.plotting import plot_mean_band

    for name in names:
        frames = [frame.assign(msteps=frame.timesteps / 1e6) for frame in curves(study, name, kind=kind)]
        plot_mean_band(ax, frames, "msteps", "value", label=(labels or {}).get(name, experiment(name).label),
                       smoothing=smoothing, color=(colors or {}).get(name))
    ax.set_xlabel("environment steps (millions)")
    return ax
