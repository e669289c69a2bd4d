"""Throughput of the session models of notebooks 14-15: seconds per training epoch and per evaluation.

Run from the project root on a quiet machine:

    .venv/bin/python benchmarks/sessions_models.py [--profile default] [--models skip:lstm ...]

Prints wall and CPU seconds per epoch (one torch thread, as the notebooks use) and the machine load, so
numbers taken on a busy machine can be told apart. Data come from the profile's simulator (cached runs
under a temporary folder).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

DEFAULT_MODELS = ["skip:lstm", "skip:bigru", "skip:transformer", "skip:bert_fused", "sequence:lstm",
                  "sequence:transformer", "sequence:bert", "sequence:bert_fused", "sequence:gru4rec",
                  "sequence:sasrec"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS, help="task:model pairs")
    parser.add_argument("--batches", type=int, default=20, help="training batches timed per model")
    args = parser.parse_args()

    import torch

    from musicrec.experiments import sessions
    from musicrec.models.common import to_batch
    from musicrec.models.training import evaluate, task_loss
    from musicrec.profiles import load_profile
    from musicrec.utils import set_seed, setup_torch

    setup_torch("cpu")
    budget = load_profile("sessions", args.profile)
    with tempfile.TemporaryDirectory() as runs_dir:
        data = sessions.load_data(budget, runs_dir)
        batch_size = int(budget["training"]["batch_size"])
        batches_per_epoch = int(np.ceil(len(data.train) / batch_size))
        print(f"profile={args.profile}: {len(data.train)} training sessions, "
              f"{batches_per_epoch} batches/epoch, load average {os.getloadavg()[0]:.1f}")
        for spec in args.models:
            task, model = spec.split(":")
            set_seed(0)
            net = sessions.build_model(task, model, data, budget, 0, runs_dir)
            optimiser = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-3)
            own_loss = getattr(net, "training_loss", None)  # next-track models train on every position
            net.train()
            wall, cpu = time.perf_counter(), time.process_time()
            for i in range(args.batches):
                batch = to_batch(data.train, slice(i * batch_size, (i + 1) * batch_size))
                loss = own_loss(batch) if own_loss is not None else task_loss(task, net(batch), batch)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
            wall = (time.perf_counter() - wall) / args.batches * batches_per_epoch
            cpu = (time.process_time() - cpu) / args.batches * batches_per_epoch
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            evaluate(net, task, data.test)
            eval_wall = time.perf_counter() - start_wall
            eval_cpu = time.process_time() - start_cpu
            print(f"{spec:24s} epoch: {wall:6.1f} s wall {cpu:6.1f} s cpu | test evaluation: "
                  f"{eval_wall:5.1f} s wall {eval_cpu:5.1f} s cpu | load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
