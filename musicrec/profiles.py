"""Compute budgets per profile, kept in one place: ``musicrec/configs/profiles/<study>.yml``.

Every notebook takes a ``profile`` parameter:

``smoke``
    seconds; what ``make test`` runs to prove the notebook executes end to end.
``default``
    what ``make reproduce`` runs on a 2-core CPU; the committed notebooks show this profile.
``full``
    paper scale, for a GPU or a cluster.

Each study file maps a profile name to a flat mapping of budget values, e.g.::

    smoke:   {episodes: 150, seeds: [0, 1, 2]}
    default: {episodes: 2000, seeds: [0, 1, 2, 3, 4]}
    full:    {episodes: 20000, seeds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}

A study may hold a ``common:`` block merged under every profile.
"""

from __future__ import annotations

from typing import Any

import yaml

from musicrec.errors import ParameterError, check_choice
from musicrec.utils import CONFIG_DIR

PROFILES = ("smoke", "default", "full")
PROFILE_DIR = CONFIG_DIR / "profiles"


def studies() -> list[str]:
    """Names of the studies that have a profile file."""
    return sorted(path.stem for path in PROFILE_DIR.glob("*.yml"))


def load_profile(study: str, profile: str) -> dict[str, Any]:
    """Return the budget of ``study`` under ``profile`` (``smoke``, ``default`` or ``full``).

    >>> load_profile("genre", "smoke")["episodes"] > 0
    True
    """
    check_choice("profile", profile, PROFILES)
    path = PROFILE_DIR / f"{study}.yml"
    if not path.exists():
        raise ParameterError(f"study={study!r} has no profile file; known studies: {studies()}")
    with path.open() as handle:
        table = yaml.safe_load(handle) or {}
    missing = [name for name in PROFILES if name not in table]
    if missing:
        raise ParameterError(f"{path.name} lacks the profile(s) {missing}")
    budget = dict(table.get("common") or {})
    budget.update(table[profile] or {})
    budget["profile"] = profile
    return budget
