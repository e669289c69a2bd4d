"""Wall time of notebook 10's evaluation: every song as a target, all at once.

On a synthetic corpus shaped like the default one (1,000 songs, 128-D features, 4-D PCA, 10 genres) it
times the pieces of :func:`musicrec.system.evaluation.evaluate`: placing the songs on the 5^4 grid, the
listeners' percentile edges, the agent's search over every target cell (the rule baseline of notebook 02,
or a trained agent's run folder with ``--agent-run``), and each playback rule replayed for every target
song. One core (the process is pinned where the OS allows it).

    .venv/bin/python benchmarks/system_evaluation.py
    .venv/bin/python benchmarks/system_evaluation.py --songs 5000 \
        --agent-run runs/grid_agents/4d_wider_grid_n20-seed0-<hash>

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

ENV = {"dims": 4, "levels": 5, "target": "wider", "reward": "bullseye", "obs": "grid", "action": "flat",
       "episode_length": 21}


def corpus(songs: int, width: int, seed: int = 0):
    from musicrec.features.space import fit_pca

    rng = np.random.default_rng(seed)
    labels = np.arange(songs) % 10
    full = rng.normal(size=(10, width))[labels] + 1.5 * rng.normal(size=(songs, width))
    return full, fit_pca(full, 4).transform(full), np.array([f"g{i}" for i in labels])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--songs", type=int, default=1000)
    parser.add_argument("--width", type=int, default=128, help="full feature dimensions")
    parser.add_argument("--agent-run", default=None,
                        help="a finished 4-D grid_agents run folder (default: the rule baseline)")
    args = parser.parse_args()
    pinned = pin_to_one_cpu()
    from musicrec.system.evaluation import play_episodes, run_agent
    from musicrec.system.playback import PLAYBACKS, Playback
    from musicrec.system.song_grid import SongGrid
    from musicrec.users.perceptual import PerceptualListener
    from musicrec.utils import setup_torch

    setup_torch("cpu")
    full, coords, genres = corpus(args.songs, args.width)
    rows = []

    def timed(name, fn):
        start = time.perf_counter()
        out = fn()
        rows.append({"step": name, "seconds": time.perf_counter() - start})
        return out

    grid = timed("song grid (quantiles, cells)", lambda: SongGrid(coords, levels=5, dims=4))
    timed("song ranking per cell (first 32)", lambda: grid.nearest_songs(32))
    listeners = timed("listeners' percentile edges (plain + genre-aware)", lambda: {
        "perceptual": PerceptualListener(full, genres=genres),
        "genre_aware": PerceptualListener(full, genres=genres, genre_bonus=1)})
    if args.agent_run:
        from pathlib import Path

        import yaml

        from musicrec.agents.grid_training import load_agent

        class FinishedRun:  # what load_agent reads of a run: its config and files
            path = Path(args.agent_run).resolve()
            config = yaml.safe_load((path / "config.yml").read_text())

            def file(self, name):
                return self.path / name

        policy = timed("load the trained agent", lambda: load_agent(FinishedRun())[1])
        label, env = FinishedRun.path.name, dict(FinishedRun.config["agent"]["env"]["kwargs"])
    else:
        from musicrec.agents.grid_rule import GridRulePolicy

        policy, label, env = GridRulePolicy(**ENV), "rule baseline", ENV
    songs = np.arange(grid.n_songs)
    trajectories = timed(f"agent search, {np.unique(grid.song_cells).size} target cells x 21 steps",
                         lambda: run_agent(policy, grid.song_cells, **env))
    for name in PLAYBACKS:
        timed(f"playback {name}, {args.songs} songs x 21 steps",
              lambda: play_episodes(trajectories, grid, songs, listeners, Playback(name)))
    table = pd.DataFrame(rows)
    print(f"{args.songs} songs, {args.width}-D features, agent: {label}; {pinned}; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"total {table.seconds.sum():.2f} s")


if __name__ == "__main__":
    main()
