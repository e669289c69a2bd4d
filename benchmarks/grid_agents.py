"""Training throughput of every grid agent preset on one core, and the side-by-side with the peer anchor.

``throughput``: env steps per second of training (rollouts and updates, no evaluation) for each agent
preset on the 2D feature grid, through the same pipeline as notebooks 03-07 (``GridVecEnv`` ->
finite horizon -> ``VecNormalize``), measured both as wall time and as CPU time of the process (CPU
time is what other jobs on the machine do not inflate). The ratio column divides by the peer anchor's
~15,000 env steps/s (the thesis's own code, ikostrikov/pytorch-a2c-ppo-acktr-gail, A2C + GRU, 16 envs,
n = 20, one core, measured by the project on this kind of machine; that code is not run here).
``--profile`` adds a cProfile breakdown of the recurrent A2C.

``anchor``: sample efficiency of our recurrent A2C on the anchor's task (2D, WiderTopTarget, Bullseye,
GridObs, n = 20, 16 envs): for each seed, the first env step (and training time) at which the mean return
over all targets reaches 188, and the mean after 3 M steps, beside the anchor's figures (first >= 188
after 1.6-2.15 M steps / 103-140 s; 196.8 over 4 seeds after 3 M steps / ~197 s). It trains (or reuses)
the runs of experiment ``wider_grid_n20`` of the default profile, so the notebooks' runs are shared.

    .venv/bin/python benchmarks/grid_agents.py throughput              # a few minutes
    .venv/bin/python benchmarks/grid_agents.py throughput --steps 50000 --only recurrent_a2c
    .venv/bin/python benchmarks/grid_agents.py anchor --seeds 0 1 2 3  # reuses runs/grid_agents

``ablation``: the differences from the thesis's code that were checked on the anchor's task (3 M steps
per seed): the value head initialised with SB3's gain 1 instead of the thesis's code's sqrt(2) (what the
presets use), and a linear learning-rate decay to 0 (the thesis's code's ``--use-linear-lr-decay``) with
gain 1. Runs are cached in ``<runs-dir>/grid_ablation``; the ``sqrt(2)`` rows are the notebooks' runs.

    .venv/bin/python benchmarks/grid_agents.py ablation --seeds 0 1 2 3   # ~25 CPU minutes

Other jobs on the machine slow the wall-time numbers down: the 1-minute load average is printed.
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

ANCHOR_STEPS_PER_S = 15_000
ANCHOR_FIRST_188 = "1.6-2.15 M steps (103-140 s)"
ANCHOR_FINAL = "196.8 (4 seeds) after 3 M steps (~197 s)"

RMSPROP = {"optimizer_class": "RMSprop", "optimizer_kwargs": {"alpha": 0.99, "eps": 1e-5, "weight_decay": 0}}
#: name -> (preset, policy or None, env obs, n_envs, hyperparameter overrides)
CASES = {
    "recurrent_a2c (GRU, ours)": ("recurrent_a2c", None, "grid", 16, {"n_steps": 20}),
    "recurrent_a2c, 32 envs": ("recurrent_a2c", None, "grid", 32, {"n_steps": 20}),
    "recurrent_a2c, 64 envs": ("recurrent_a2c", None, "grid", 64, {"n_steps": 20}),
    "recurrent_a2c with sb3-contrib LSTM (64, shared)": (
        "recurrent_a2c", "MlpLstmPolicy", "grid", 16,
        {"n_steps": 20, "policy_kwargs": {**RMSPROP, "lstm_hidden_size": 64, "shared_lstm": True,
                                          "enable_critic_lstm": False, "net_arch": {"pi": [64, 64], "vf": [64, 64]}}}),
    "recurrent_a2c with sb3-contrib LSTM defaults (256, two LSTMs)": (
        "recurrent_a2c", "MlpLstmPolicy", "grid", 16, {"n_steps": 20, "policy_kwargs": RMSPROP}),
    "a2c (no recurrence, BoardObs)": ("a2c", None, "board", 16, {"n_steps": 20}),
    "trpo (in ACKTR's place, BoardObs)": ("trpo", None, "board", 16, {"n_steps": 20}),
    "ppo (BoardObs, usual settings)": ("ppo", None, "board", 16, {}),
    "recurrent_ppo (GridObs, usual settings)": ("recurrent_ppo", None, "grid", 16, {}),
}


def throughput(steps: int, only: list[str] | None, profile: bool) -> pd.DataFrame:
    from musicrec.agents.sb3 import train
    from musicrec.experiments.grid_agents import ENV_ID, grid_env, make_vec_env

    rows = []
    for name, (preset, policy, obs, n_envs, hyper) in CASES.items():
        if only and not any(key in name for key in only):
            continue
        env = {"id": ENV_ID, "kwargs": grid_env(obs=obs)}
        config = {"preset": preset, "total_timesteps": steps, "n_envs": n_envs, "hyperparams": hyper}
        if policy:
            config["policy"] = policy

        def factory(env_config, n, seed):
            return make_vec_env(env_config, n, seed, normalize={"obs": True, "reward": True})

        # warm-up (imports, first allocations) with a tiny budget
        train({**config, "total_timesteps": n_envs * 40}, env, 0, None, progress_bar=False,
              vec_env_factory=factory)
        load = os.getloadavg()[0]
        cpu = time.process_time()
        wall = time.perf_counter()
        if profile and name.startswith("recurrent_a2c (GRU"):
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
        result = train(config, env, 0, None, progress_bar=False, vec_env_factory=factory)
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        if profile and name.startswith("recurrent_a2c (GRU"):
            profiler.disable()
            print(f"\ncProfile of {name} ({steps} steps):")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
        done = result.model.num_timesteps
        rows.append({"case": name, "n_envs": n_envs, "steps": done, "wall_s": round(wall, 1),
                     "cpu_s": round(cpu, 1), "steps_per_s_wall": round(done / wall),
                     "steps_per_cpu_s": round(done / cpu),
                     "ratio_to_anchor_cpu": round(done / cpu / ANCHOR_STEPS_PER_S, 2),
                     "load_1min": round(max(load, os.getloadavg()[0]), 1)})
        print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def anchor(seeds: list[int], runs_dir: str, profile: str) -> pd.DataFrame:
    from musicrec.agents.callbacks import first_reaching
    from musicrec.experiments import grid_agents
    from musicrec.profiles import load_profile

    budget = load_profile("grid_agents", profile)
    budget["seeds"] = seeds
    study = grid_agents.run_study(["wider_grid_n20"], budget, runs_dir)
    rows = []
    for row in study.itertuples():
        evaluations = pd.read_csv(row.run.file("eval.csv"))
        first = first_reaching(evaluations, 188.0)
        at_first = evaluations[evaluations.timesteps == first]
        last = evaluations.iloc[-1]
        rows.append({
            "seed": row.seed, "first_188_steps": first,
            "first_188_time_s": float(at_first.time_s.iloc[0]) if len(at_first) else float("nan"),
            "first_188_cpu_s": float(at_first.cpu_s.iloc[0]) if len(at_first) else float("nan"),
            "final_steps": int(last.timesteps), "final_mean": float(last["mean"]), "final_std": float(last["std"]),
            "time_s": float(last.time_s), "cpu_s": float(last.cpu_s),
            "steps_per_s_wall": round(last.timesteps / last.time_s),
            "steps_per_cpu_s": round(last.timesteps / last.cpu_s),
            "run_load_1min": None,
        })
    table = pd.DataFrame(rows)
    print(f"\nanchor (ikostrikov A2C + GRU, measured by the project, not run here): first >= 188 after "
          f"{ANCHOR_FIRST_188}; {ANCHOR_FINAL}; ~{ANCHOR_STEPS_PER_S} steps/s")
    print(f"ours: first >= 188 after {table.first_188_steps.min() / 1e6:.2f}-{table.first_188_steps.max() / 1e6:.2f} M"
          f" steps (NaN = never); mean after {table.final_steps.iloc[0] / 1e6:.1f} M steps "
          f"{table.final_mean.mean():.1f} over {len(table)} seeds; "
          f"{table.steps_per_cpu_s.mean():.0f} steps per CPU second "
          f"(ratio {table.steps_per_cpu_s.mean() / ANCHOR_STEPS_PER_S:.2f} of the anchor)")
    return table.drop(columns="run_load_1min")


#: variant -> changes to the recurrent A2C hyperparameters of experiment ``wider_grid_n20``
ABLATIONS = {
    "value gain sqrt(2) (the presets)": {},
    "value gain 1 (SB3's default)": {"value_gain": 1.0},
    "value gain 1, linear lr decay": {"value_gain": 1.0, "learning_rate": "lin_7e-4"},
}


def ablation(seeds: list[int], runs_dir: str, profile: str) -> pd.DataFrame:
    import copy

    from musicrec.experiments import grid_agents
    from musicrec.profiles import load_profile
    from musicrec.runs import Run

    budget = load_profile("grid_agents", profile)
    rows = []
    for variant, changes in ABLATIONS.items():
        for seed in seeds:
            config = copy.deepcopy(grid_agents.run_config("wider_grid_n20", seed, budget))
            hyper = config["agent"]["hyperparams"]
            for key, value in changes.items():
                if key == "value_gain":
                    hyper["policy_kwargs"]["value_gain"] = value
                else:
                    hyper[key] = value
            if changes:
                run = Run(runs_dir, "grid_ablation", config, name=f"wider_grid_n20-seed{seed}")
            else:
                run = grid_agents.make_run("wider_grid_n20", seed, budget, runs_dir)
            run.execute(lambda folder, run=run: grid_agents._work(run.config, folder, progress=False))
            returns = pd.read_csv(run.file("final_returns.csv"))["return"]
            evaluations = pd.read_csv(run.file("eval.csv"))
            hit = evaluations.loc[evaluations["mean"] >= 188.0, "timesteps"]
            rows.append({"variant": variant, "seed": seed, "final_mean": float(returns.mean()),
                         "std_over_targets": float(returns.std(ddof=0)),
                         "first_188_steps": float(hit.iloc[0]) if len(hit) else float("nan")})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(table.groupby("variant", sort=False)[["final_mean", "std_over_targets"]].agg(["mean", "std"]).round(1))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("throughput", help="env steps/s of each preset (wall and CPU time)")
    p.add_argument("--steps", type=int, default=100_000, help="env steps per preset")
    p.add_argument("--only", nargs="*", help="substrings of the case names to run")
    p.add_argument("--profile", action="store_true", help="cProfile the recurrent A2C")
    a = sub.add_parser("anchor", help="sample efficiency vs the peer anchor (2D, n = 20)")
    a.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    a.add_argument("--runs-dir", default="runs")
    a.add_argument("--budget", default="default", help="profile of grid_agents.yml whose budget is used")
    b = sub.add_parser("ablation", help="value-head gain and linear lr decay on the anchor's task (2D, n = 20)")
    b.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    b.add_argument("--runs-dir", default="runs")
    b.add_argument("--budget", default="default", help="profile of grid_agents.yml whose budget is used")
    args = parser.parse_args()
    print(pin_to_one_cpu() if args.command == "throughput" else "runs in parallel workers (profile's `workers`)")
    print(f"load average before: {os.getloadavg()}")
    if args.command == "throughput":
        table = throughput(args.steps, args.only, args.profile)
    elif args.command == "anchor":
        table = anchor(args.seeds, args.runs_dir, args.budget)
    else:
        table = ablation(args.seeds, args.runs_dir, args.budget)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False))
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
