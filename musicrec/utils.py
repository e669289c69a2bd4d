"""Seeding, project paths and torch set-up shared by every experiment."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

from musicrec.errors import ParameterError, check_choice

#: The checkout that holds ``musicrec/``, ``notebooks/``, ``data/`` and ``figures/``.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_DIR = PACKAGE_DIR / "configs"

DEVICES = ("cpu", "cuda", "auto")


def project_path(path: str | os.PathLike) -> Path:
    """Resolve ``path`` against the project root unless it is already absolute.

    Notebooks and configs only ever hold root-relative paths (``"figures"``, ``"data/corpus"``),
    so the compendium works from any checkout location.
    """
    path = Path(path).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def set_seed(seed: int) -> np.random.Generator:
    """Seed python's ``random``, numpy's global state and torch; return a fresh numpy Generator.

    Code that samples should take the returned (or an explicitly passed) ``np.random.Generator``;
    the global seeds are for libraries that draw from global state (torch initialisers, SB3).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed={seed!r} must be a non-negative integer")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:  # the tabular parts of the compendium run without torch
        pass
    else:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)


def setup_torch(device: str = "cpu", *, threads: int | None = 1) -> "torch.device":
    """Pick the torch device (``cpu``, ``cuda`` or ``auto``) and the CPU thread count.

    On the CPU the small policy networks of this compendium run fastest on one thread: measured on a
    2-core machine, SB3 A2C was ~30x faster with ``torch.set_num_threads(1)`` than with the default.
    Pass ``threads=None`` to keep torch's default.
    """
    import torch

    check_choice("device", device, DEVICES)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device='cuda' was asked for but torch sees no CUDA device")
    if device == "cpu" and threads is not None:
        torch.set_num_threads(threads)
    return torch.device(device)


def pin_to_one_cpu() -> str:
    """Restrict this process to one CPU, so a benchmark measures one core; says what it did."""
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):  # not every platform can set the affinity
        return "not pinned (no sched_setaffinity)"
