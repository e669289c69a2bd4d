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


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable``), or ``None`` if unknown."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(what: str, n_bytes: float, *, share: float = 0.8) -> None:
    """Raise a :class:`ParameterError` up front if ``what`` needs more than ``share`` of the free memory.

    The message says how much was needed and how much there is, so the user can ask for less before
    anything is allocated (an allocation that does not fit ends in swapping or the OOM killer).
    """
    available = available_memory()
    if available is not None and n_bytes > share * available:
        raise ParameterError(f"{what} needs about {format_bytes(n_bytes)}, more than this machine has "
                             f"free ({format_bytes(available)})")


def format_bytes(n_bytes: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    value = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"


def end_with_parent(parent: int | None = None, *, signum: int | None = None) -> bool:
    """Make the calling process end when its parent does (Linux ``prctl(PR_SET_PDEATHSIG)``).

    Use it as a pool's ``initializer`` or a subprocess's ``preexec_fn``, so that workers and the
    tools they run do not outlive a parent that was killed (``SIGKILL`` runs no clean-up code).
    ``parent`` is the pid the caller expects as parent: if it has already gone, the process ends now.
    Returns False where the platform offers no such call (nothing is changed then).
    """
    import ctypes
    import signal

    signum = signal.SIGTERM if signum is None else signum
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        applied = libc.prctl(1, int(signum), 0, 0, 0) == 0  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False
    if parent is not None and os.getppid() != parent:  # the parent ended before the call took effect
        os.kill(os.getpid(), signum)
    return applied

