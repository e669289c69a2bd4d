"""Shared fixtures: a seeded generator and the tiny budgets the study tests train with."""

import os

import numpy as np
import pandas as pd
import pytest

from musicrec.data.corpus import GENRES

# Headless plotting in tests and notebook kernels.
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh generator with a fixed seed: a test that draws from it draws the same numbers every run."""
    return np.random.default_rng(20191)


@pytest.fixture
def tiny_grid_budget() -> dict:
    """A grid-agents budget of a few hundred env steps per run (8 envs, two evaluations per run)."""
    return {"profile": "test", "seeds": [0], "n_envs": 8, "sb3_n_envs": 4, "workers": 1,
            "eval_points": 2, "eval_targets": 64, "final_targets": 32, "checkpoints": 2, "checkpoint_iterations": 1,
            "timesteps": {"wider_grid_n5": 400, "rating_board_n20_mlp": 320, "8d_factored_n20": 160,
                          "wider_board_n20_trpo": 160, "noisy_2d_p20": 320, "wider_grid_n20": 320,
                          "wider_grid_n10_lr7e-5": 160, "3d_factored_n20": 320}}


def features_table(n_per_genre: int = 4, width: int = 6, pcs: int = 2, seed: int = 0) -> pd.DataFrame:
    """A features table shaped like the corpus's (``track_id, genre, pool3_*, pc*``): genres apart, songs
    of one genre close together."""
    rng = np.random.default_rng(seed)
    genres = np.repeat(GENRES, n_per_genre)
    full = rng.normal(size=(len(GENRES), width))[np.repeat(np.arange(len(GENRES)), n_per_genre)]
    full = full + 0.5 * rng.normal(size=full.shape)
    frame = pd.DataFrame(full, columns=[f"pool3_{i:03d}" for i in range(width)])
    frame.insert(0, "genre", genres)
    frame.insert(0, "track_id", [f"{g}.{i:05d}" for i, g in enumerate(genres)])
    for j in range(pcs):
        frame[f"pc{j + 1}"] = full[:, j] + 0.1 * full[:, -1]
    return frame


@pytest.fixture
def song_features():
    """:func:`features_table`, to call with the size a test needs."""
    return features_table


@pytest.fixture
def thesis_grid() -> dict:
    """The thesis's 2D grid: 5 levels, WiderTopTarget, Bullseye, GridObs, flat actions, 21 steps."""
    return {"dims": 2, "levels": 5, "target": "wider", "reward": "bullseye", "obs": "grid", "action": "flat",
            "episode_length": 21}


@pytest.fixture
def small_error_grid():
    """Reward propagation's error grid on 300 points in 2-D with a Gaussian bump of true reward and 200
    logged plays: 2 cluster counts x 2 decay rates x 2 seeds."""
    from musicrec.offline.propagation import error_grid

    rng = np.random.default_rng(0)
    points = rng.random((300, 2))
    truth = np.exp(-((points - 0.5) ** 2).sum(axis=1) / 0.05) * 11
    logs = pd.DataFrame({"track": rng.choice(300, 200), "listened": rng.random(200),
                         "liked": rng.integers(0, 2, 200).astype(float)})
    return error_grid(points, points, logs, truth, cluster_counts=[5, 10], decay_rates=[0.0, 1.0],
                      per_cluster=4, seeds=[0, 1], lam=10.0)
