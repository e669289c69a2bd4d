"""Shared fixtures: a seeded generator and the tiny budgets the study tests train with."""

import os

import numpy as np
import pytest

# Headless plotting in tests and notebook kernels.
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh generator with a fixed seed: a test that draws from it draws the same numbers every run."""
    return np.random.default_rng(20191)


@pytest.fixture
def tiny_grid_budget() -> dict:
    """A grid-agents budget of a few hundred env steps per run (8 envs, two evaluations per run)."""
    return {"profile": "test", "seeds": [0], "n_envs": 8, "large_n_envs": 16, "sb3_n_envs": 4, "workers": 1,
            "eval_points": 2, "eval_targets": 64, "final_targets": 32, "checkpoints": 2, "checkpoint_iterations": 1,
            "timesteps": {"wider_grid_n5": 400, "rating_board_n20_mlp": 320, "8d_factored_n20": 160,
                          "wider_board_n20_trpo": 160, "noisy_2d_p20": 320, "wider_grid_n20": 320,
                          "wider_grid_n10_lr7e-5": 160, "3d_factored_n20": 320}}
