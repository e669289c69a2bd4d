"""Throughput of the latent-space recommender (issue 7): env steps/s and PPO training steps/s.

Measures, on a random catalog of ``--tracks`` points in [0, 1]^4 with the default listener:

* env steps per second of ``LatentRecommenderEnv`` with the kNN action space (precomputed neighbour
  lists) and with the continuous action space (nearest unplayed track by a numpy scan);
* the one-off cost of the neighbour lists (one scikit-learn query for the whole catalog);
* PPO training steps per second (8 envs, the candidate-scoring policy and the flat MLP policy),
  RecurrentPPO (8 envs) and DDPG (4 envs), with the hyperparameters of ``musicrec/configs/hyperparams``.

    .venv/bin/python benchmarks/latent_env.py            # about two minutes on a quiet machine
    .venv/bin/python benchmarks/latent_env.py --tracks 100000 --train-steps 2000

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


def env_rate(env, steps: int, action) -> float:
    env.reset(seed=0)
    started = time.perf_counter()
    for i in range(steps):
        _, _, _, truncated, _ = env.step(action(i))
        if truncated:
            env.reset()
    return steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tracks", type=int, default=10_000)
    parser.add_argument("--env-steps", type=int, default=20_000)
    parser.add_argument("--train-steps", type=int, default=4_000)
    args = parser.parse_args()

    from musicrec.agents.sb3 import train
    from musicrec.envs.latent import LatentRecommenderEnv, nearest_neighbours, neighbours_needed
    from musicrec.agents.latent_training import LatentSpace, policy_class
    from musicrec.utils import setup_torch

    setup_torch("cpu")
    rng = np.random.default_rng(0)
    latents = rng.random((args.tracks, 4)).astype(np.float32)
    taste = rng.random((args.tracks, 8))
    rows = []
    started = time.perf_counter()
    neighbours = nearest_neighbours(latents, neighbours_needed(4, 20))
    rows.append({"what": f"neighbour lists, {args.tracks} tracks", "rate": np.nan,
                 "seconds": time.perf_counter() - started})
    knn = LatentRecommenderEnv(latents, listener_space=taste, neighbours=neighbours)
    rows.append({"what": "env steps/s, kNN actions", "rate": env_rate(knn, args.env_steps, lambda i: i % 4)})
    continuous = LatentRecommenderEnv(latents, listener_space=taste, actions="continuous")
    points = rng.random((997, 4)).astype(np.float32)
    rows.append({"what": "env steps/s, continuous actions",
                 "rate": env_rate(continuous, args.env_steps // 4, lambda i: points[i % 997])})

    space = LatentSpace(latents, taste, neighbours, np.zeros(args.tracks))
    kwargs = {"actions": "knn", "k": 4, "session_length": 20, "lam": 10.0, "history": 0, "listener": {}}
    policy_kwargs = {"k": 4, "latent_dim": 4, "history": 0}
    cases = [("PPO, candidate scoring", "ppo", "candidate_scoring", "knn", policy_kwargs),
             ("PPO, flat MLP", "ppo", "MlpPolicy", "knn", None),
             ("RecurrentPPO, candidate scoring", "recurrent_ppo", "recurrent_candidate_scoring", "knn",
              policy_kwargs),
             ("PPO, continuous", "ppo", "MlpPolicy", "continuous", None),
             ("DDPG, continuous (4 envs)", "ddpg", "MlpPolicy", "continuous", None)]
    for label, preset, policy, actions, extra in cases:
        from musicrec.hyperparams import load_hyperparams

        hyper = load_hyperparams(preset, "musicrec/LatentRecommender-v0")
        if extra:
            hyper["policy_kwargs"] = {**hyper.get("policy_kwargs", {}), **extra}
        config = {"preset": preset, "total_timesteps": args.train_steps, "n_envs": 4 if preset == "ddpg" else 8,
                  "policy": policy_class(policy), "hyperparams": hyper}
        env_config = {"id": "musicrec/LatentRecommender-v0", "kwargs": {**kwargs, "actions": actions}}
        started = time.perf_counter()
        train(config, env_config, 0, None, progress_bar=False,
              vec_env_factory=space.vec_env_factory(normalize_reward=True, gamma=hyper.get("gamma", 0.99)))
        rows.append({"what": f"training steps/s, {label}",
                     "rate": args.train_steps / (time.perf_counter() - started)})
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:,.1f}"))
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
