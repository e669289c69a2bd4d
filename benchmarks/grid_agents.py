"""Training throughput of the grid learners on one core, side by side in one run, with the ratios printed.

``throughput``: environment steps per CPU second of training (rollouts and updates, no evaluation) for the
batched recurrent actor-critic (``musicrec.agents.batched_ac``: A2C and PPO, GRU policy, 2D flat and 4D
factored actions, several batch sizes) and for the SB3 path it replaces (preset ``recurrent_a2c``:
sb3-contrib's ``RecurrentPPO`` made into A2C with the same GRU policy, on ``GridVecEnv`` -> finite horizon
-> ``VecNormalize``; and sb3-contrib's TRPO). Every case runs in this process, pinned to one CPU, after a
short warm-up; CPU time is what other jobs on the machine do not inflate (the load average is printed).
The last column divides each case by the SB3 recurrent A2C with the thesis's 16 environments on the same
task.

    .venv/bin/python benchmarks/grid_agents.py throughput                 # about two minutes
    .venv/bin/python benchmarks/grid_agents.py throughput --steps 400000 --only batched

``breakdown``: where a batched A2C rollout's CPU time goes (2D flat and 4D factored, 1024 environments):
the grid core alone, the GRU's forward and backward passes alone (autograd through ``torch.gru_cell``, as
the learner runs it), the learner's ``collect`` (acting and stepping the grid) and its ``update`` (the
backward pass and the optimiser); each as CPU milliseconds per rollout of 20 steps and as the env steps per
CPU second that part alone would allow. The GRU alone bounds the learner's throughput. Two ways of making
it cheaper were measured (one core of a 2-core AVX-512 machine, 20 steps x 1024 environments, 4 observed
features, each against autograd through ``torch.gru_cell`` in the same run) and not kept: a backward pass
written out by hand (a ``torch.autograd.Function``: per step the gates' arithmetic and one product with
``W_hh``, the weight gradients one product over the whole rollout) took 1.3-1.5 times as long;
``torch.nn.GRU`` about 0.95 times, ``torch.compile`` about 0.9 times after 52 s of compiling. At 1024
environments the cost is the gates' elementwise arithmetic, not the matrix products. Absolute figures on a
shared virtual machine drift between runs (up to 1.5x within an hour here); compare ratios within one run.

    .venv/bin/python benchmarks/grid_agents.py breakdown                  # about a minute

``sample-efficiency``: the CPU seconds of training until the default profile's runs of experiment
``wider_grid_n20`` (and ``wider_grid_ppo``) first reached 95% of the exact optimum, and their final means,
read from the cached runs of notebooks 03-07 (trained if missing).

    .venv/bin/python benchmarks/grid_agents.py sample-efficiency
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import time  # noqa: E402

import pandas as pd  # noqa: E402

from musicrec.utils import pin_to_one_cpu  # noqa: E402

ENV_2D = {"dims": 2}
ENV_4D = {"dims": 4, "action": "factored"}
PPO = {"algorithm": "ppo", "optimizer": "adam"}
#: name -> (kind, env kwargs, n_envs, learner overrides); kind "batched" or an SB3 preset
CASES = {
    "SB3 recurrent_a2c, 2D, 16 envs (the thesis's batch)": ("recurrent_a2c", ENV_2D, 16, {}),
    "SB3 recurrent_a2c, 2D, 256 envs": ("recurrent_a2c", ENV_2D, 256, {}),
    "SB3 recurrent_a2c, 4D factored, 256 envs": ("recurrent_a2c", ENV_4D, 256, {}),
    "SB3 TRPO, 2D BoardObs, 16 envs": ("trpo", {"dims": 2, "obs": "board"}, 16, {}),
    "batched A2C, 2D, 16 envs": ("batched", ENV_2D, 16, {}),
    "batched A2C, 2D, 128 envs (the default profile's batch)": ("batched", ENV_2D, 128, {}),
    "batched A2C, 2D, 256 envs": ("batched", ENV_2D, 256, {}),
    "batched A2C, 2D, 1024 envs": ("batched", ENV_2D, 1024, {}),
    "batched A2C, 2D, 4096 envs": ("batched", ENV_2D, 4096, {}),
    "batched A2C, 4D factored, 256 envs": ("batched", ENV_4D, 256, {}),
    "batched A2C, 4D factored, 1024 envs": ("batched", ENV_4D, 1024, {}),
    "batched A2C, 4D factored, 4096 envs": ("batched", ENV_4D, 4096, {}),
    "batched A2C, 4D flat, 1024 envs": ("batched", {"dims": 4}, 1024, {}),
    "batched PPO, 2D, 128 envs (the default profile's batch)": ("batched", ENV_2D, 128, PPO),
    "batched PPO, 2D, 256 envs": ("batched", ENV_2D, 256, PPO),
    "batched PPO, 4D factored, 128 envs (the default profile's batch)": ("batched", ENV_4D, 128, PPO),
    "batched PPO, 4D factored, 1024 envs": ("batched", ENV_4D, 1024, PPO),
}
BASELINE = "SB3 recurrent_a2c, 2D, 16 envs (the thesis's batch)"


def _sb3_case(preset: str, env_kwargs: dict, n_envs: int, steps: int) -> tuple[int, float]:
    from musicrec.agents.sb3 import train
    from musicrec.envs.grid_vec import make_grid_vec_env
    from musicrec.experiments.grid_agents import ENV_ID, grid_env

    env = {"id": ENV_ID, "kwargs": grid_env(**env_kwargs)}
    config = {"preset": preset, "n_envs": n_envs, "hyperparams": {"n_steps": 20}}

    def factory(env_config, n, seed):
        return make_grid_vec_env(env_config["kwargs"], n, seed)

    train({**config, "total_timesteps": n_envs * 40}, env, 0, None, progress_bar=False, vec_env_factory=factory)
    cpu = time.process_time()
    result = train({**config, "total_timesteps": steps}, env, 0, None, progress_bar=False, vec_env_factory=factory)
    return int(result.model.num_timesteps), time.process_time() - cpu


def _batched_case(env_kwargs: dict, n_envs: int, overrides: dict, steps: int) -> tuple[int, float]:
    from musicrec.agents.batched_ac import BatchedActorCritic, LearnerSettings
    from musicrec.experiments.grid_agents import grid_env

    learner = BatchedActorCritic(grid_env(**env_kwargs), n_envs, LearnerSettings(n_steps=20, learning_rate=5e-3,
                                                                                  **overrides), seed=0)
    learner.learn(n_envs * 40, progress=False)  # warm-up
    start, cpu = learner.num_timesteps, time.process_time()
    learner.learn(max(steps, n_envs * 20 * 3), progress=False)
    return learner.num_timesteps - start, time.process_time() - cpu


def throughput(steps: int, only: list[str] | None) -> pd.DataFrame:
    from musicrec.utils import setup_torch

    setup_torch("cpu")
    rows = []
    for name, (kind, env_kwargs, n_envs, overrides) in CASES.items():
        if only and name != BASELINE and not any(key in name for key in only):
            continue
        load = os.getloadavg()[0]
        if kind == "batched":
            done, cpu = _batched_case(env_kwargs, n_envs, overrides, steps)
        else:
            done, cpu = _sb3_case(kind, env_kwargs, n_envs, min(steps, 200_000))
        rows.append({"case": name, "n_envs": n_envs, "steps": done, "cpu_s": round(cpu, 2),
                     "steps_per_cpu_s": round(done / cpu), "load_1min": round(max(load, os.getloadavg()[0]), 1)})
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    base = table.loc[table.case == BASELINE, "steps_per_cpu_s"].iloc[0]
    table["ratio_to_sb3_16_envs"] = (table.steps_per_cpu_s / base).round(2)
    return table


def _cpu_ms(work, repeats: int) -> float:
    work()  # warm-up
    cpu = time.process_time()
    for _ in range(repeats):
        work()
    return 1000 * (time.process_time() - cpu) / repeats


def breakdown(repeats: int = 20, n_envs: int = 1024) -> pd.DataFrame:
    import numpy as np
    import torch

    from musicrec.agents.batched_ac import BatchedActorCritic, LearnerSettings
    from musicrec.envs.grid_core import BatchedFeatureGrid
    from musicrec.experiments.grid_agents import grid_env
    from musicrec.utils import setup_torch

    setup_torch("cpu")
    rows = []
    for name, env_kwargs in (("2D flat", ENV_2D), ("4D factored", ENV_4D)):
        kwargs = grid_env(**env_kwargs)
        learner = BatchedActorCritic(kwargs, n_envs, LearnerSettings(n_steps=20, learning_rate=5e-3), seed=0)
        T = learner.settings.n_steps
        core = BatchedFeatureGrid(n_envs, seed=0, **kwargs)
        core.reset()
        rng = np.random.default_rng(0)
        high = core.n_positions if core.action_mode == "flat" else core.levels
        shape = (n_envs,) if core.action_mode == "flat" else (n_envs, core.dims)

        def grid_only():
            for _ in range(T):
                _, _, dones, _ = core.step(rng.integers(0, high, size=shape))
                if dones.any():
                    core.reset(envs=np.flatnonzero(dones))

        obs, starts = torch.randn(T, n_envs, core.obs_dim), torch.zeros(T, n_envs)

        def gru_only():
            # the policy's own GRU pass over a rollout (ActorCritic.sequence), without the heads
            learner.policy.sequence(obs, learner.policy.initial_state(n_envs), starts).sum().backward()

        def update_ms() -> float:
            # A2C updates from the graph of the rollout just collected, so each update follows its own collect
            cpu = 0.0
            for index in range(repeats + 1):
                rollout = learner.collect()
                begin = time.process_time()
                learner.update(rollout)
                if index:  # the first is a warm-up
                    cpu += time.process_time() - begin
            return 1000 * cpu / repeats

        parts = {"grid core alone (random actions)": lambda: _cpu_ms(grid_only, repeats),
                 "GRU forward + backward alone": lambda: _cpu_ms(gru_only, repeats),
                 "learner: collect (act, step the grid)": lambda: _cpu_ms(learner.collect, repeats),
                 "learner: update (backward, optimiser)": update_ms}
        for part, measure in parts.items():
            ms = measure()
            rows.append({"task": name, "part": part, "cpu_ms_per_rollout": round(ms, 1),
                         "env_steps_per_cpu_s_alone": round(T * n_envs / (ms / 1000))})
        total = rows[-1]["cpu_ms_per_rollout"] + rows[-2]["cpu_ms_per_rollout"]
        rows.append({"task": name, "part": "learner: collect + update", "cpu_ms_per_rollout": round(total, 1),
                     "env_steps_per_cpu_s_alone": round(T * n_envs / (total / 1000))})
    return pd.DataFrame(rows)


def sample_efficiency(runs_dir: str, profile: str) -> pd.DataFrame:
    from musicrec.experiments import grid_agents
    from musicrec.profiles import load_profile

    budget = grid_agents.load_budget(profile)
    names = ["wider_grid_n20", "wider_grid_ppo"]
    study = grid_agents.run_study(names, budget, runs_dir)
    reference = grid_agents.references(grid_agents.experiment("wider_grid_n20").env,
                                       load_profile("grid_environment", profile), runs_dir)["optimum"]
    rows = []
    for row in study.itertuples():
        final = grid_agents.final_returns(row.run)["return"].mean()
        rows.append({"experiment": row.experiment, "seed": row.seed,
                     "cpu_s_to_95pct": grid_agents.time_to_fraction(row.run, reference, 0.95),
                     "final_mean": final, "final_pct_of_optimum": 100 * final / reference})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("throughput", help="env steps per CPU second of each learner, side by side")
    p.add_argument("--steps", type=int, default=300_000, help="env steps per batched case (SB3: at most 200k)")
    p.add_argument("--only", nargs="*", help="substrings of the case names to run (the SB3 baseline always runs)")
    sub.add_parser("breakdown", help="CPU time of a rollout's parts: grid, GRU alone, collect, update")
    s = sub.add_parser("sample-efficiency", help="CPU seconds to 95%% of the optimum, from the notebooks' runs")
    s.add_argument("--runs-dir", default="runs")
    s.add_argument("--budget", default="default", help="profile of grid_agents.yml whose runs are read")
    args = parser.parse_args()
    one_cpu = args.command in ("throughput", "breakdown")
    print(pin_to_one_cpu() if one_cpu else "runs in parallel workers (profile's `workers`)")
    print(f"load average before: {os.getloadavg()}")
    if args.command == "throughput":
        table = throughput(args.steps, args.only)
    elif args.command == "breakdown":
        table = breakdown()
    else:
        table = sample_efficiency(args.runs_dir, args.budget)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False))
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
