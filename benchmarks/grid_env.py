"""Throughput of the feature-grid environment: batched numpy core vs a gymnasium single-env loop.

Env steps per second on one core (the process is pinned to one CPU where the OS allows it), for 2D and
4D (5 levels, WiderTopTarget, Bullseye, GridObs, flat actions, random actions drawn beforehand, a reset
every 21 steps), plus the SB3 adapters: ``GridVecEnv`` vs ``DummyVecEnv`` of gymnasium envs with 16 envs.
The goal of issue 3 is >= 1,000,000 steps/s for the batched core in 2D.

    .venv/bin/python benchmarks/grid_env.py            # about a minute
    .venv/bin/python benchmarks/grid_env.py --seconds 5 --dims 2 4 6

Other jobs on the machine slow every number down: the 1-minute load average is printed with the table.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from musicrec.utils import pin_to_one_cpu  # noqa: E402


def _timed(step, steps_per_call: int, seconds: float) -> float:
    """Call ``step()`` repeatedly for about ``seconds``; return env steps per second."""
    step()  # warm-up
    calls, started = 0, time.perf_counter()
    while True:
        step()
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return calls * steps_per_call / elapsed


def batched_core(dims: int, n_envs: int, seconds: float, obs: str = "grid") -> float:
    from musicrec.envs.grid_core import BatchedFeatureGrid

    core = BatchedFeatureGrid(n_envs, dims=dims, obs=obs, seed=0)
    core.reset()
    actions = np.random.default_rng(0).integers(core.n_positions, size=(64, n_envs))
    counter = [0]

    def step():
        _, _, truncated, _ = core.step(actions[counter[0] % 64])
        counter[0] += 1
        if truncated[0]:
            core.reset()

    return _timed(step, n_envs, seconds)


def gymnasium_loop(dims: int, seconds: float) -> float:
    from musicrec.envs.grid import FeatureGridEnv

    env = FeatureGridEnv(dims=dims)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(env.geometry.n_positions, size=4096).tolist()
    counter = [0]

    def step():
        _, _, _, truncated, _ = env.step(actions[counter[0] % 4096])
        counter[0] += 1
        if truncated:
            env.reset()

    return _timed(step, 1, seconds)


def vec_envs(dims: int, seconds: float, n_envs: int = 16) -> dict[str, float]:
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv

    import musicrec.envs  # noqa: F401
    from musicrec.envs.grid_vec import GridVecEnv

    rng = np.random.default_rng(0)
    result = {}
    for name, env in (
            ("GridVecEnv", GridVecEnv(n_envs, seed=0, dims=dims)),
            ("DummyVecEnv + Monitor", make_vec_env("musicrec/FeatureGrid-v0", n_envs=n_envs, seed=0,
                                                   env_kwargs={"dims": dims, "render_mode": None},
                                                   vec_env_cls=DummyVecEnv))):
        env.reset()
        actions = rng.integers(5**dims, size=(64, n_envs))
        counter = [0]

        def step(env=env, actions=actions, counter=counter):
            env.step(actions[counter[0] % 64])
            counter[0] += 1

        result[name] = _timed(step, n_envs, seconds)
    return result


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="duration of each measurement")
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--n-envs", type=int, nargs="+", default=[256, 4096, 16384])
    args = parser.parse_args(argv)
    pinned = pin_to_one_cpu()
    load_before = os.getloadavg()[0]
    rows = []
    for dims in args.dims:
        for n_envs in args.n_envs:
            rows.append({"dims": dims, "implementation": "BatchedFeatureGrid", "n_envs": n_envs,
                         "steps_per_s": batched_core(dims, n_envs, args.seconds)})
        rows.append({"dims": dims, "implementation": "BatchedFeatureGrid, BoardObs", "n_envs": 4096,
                     "steps_per_s": batched_core(dims, 4096, args.seconds, obs="board")})
        rows.append({"dims": dims, "implementation": "FeatureGridEnv loop (gymnasium)", "n_envs": 1,
                     "steps_per_s": gymnasium_loop(dims, args.seconds)})
        for name, rate in vec_envs(dims, args.seconds).items():
            rows.append({"dims": dims, "implementation": name, "n_envs": 16, "steps_per_s": rate})
    table = pd.DataFrame(rows)
    loop = table[table.implementation.str.startswith("FeatureGridEnv")].set_index("dims").steps_per_s
    table["speedup_vs_loop"] = table.steps_per_s / table.dims.map(loop)
    pd.set_option("display.width", 120)
    print(table.to_string(index=False, formatters={"steps_per_s": "{:,.0f}".format,
                                                   "speedup_vs_loop": "{:.1f}x".format}))
    print(f"{pinned}; 1-minute load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after "
          f"(on {os.cpu_count()} CPUs)")
    return table


if __name__ == "__main__":
    main()
