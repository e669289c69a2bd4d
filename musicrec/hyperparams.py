"""Hyperparameters in YAML per algorithm, keyed by env id with a ``default:`` block (rl-zoo style).

``musicrec/configs/hyperparams/<algorithm>.yml``::

    default:
      learning_rate: 7.0e-4
    musicrec/FeatureGrid-v0:
      n_steps: 20

:func:`load_hyperparams` returns the ``default`` block updated by the env id's block, so an env only
lists what it changes.
"""

from __future__ import annotations

from typing import Any

import yaml

from musicrec.errors import ParameterError
from musicrec.utils import CONFIG_DIR

HYPERPARAM_DIR = CONFIG_DIR / "hyperparams"


def load_hyperparams(algorithm: str, env_id: str | None = None) -> dict[str, Any]:
    """Hyperparameters of ``algorithm`` (file stem, e.g. ``"qtable"``) for ``env_id``."""
    path = HYPERPARAM_DIR / f"{algorithm.lower()}.yml"
    if not path.exists():
        known = sorted(p.stem for p in HYPERPARAM_DIR.glob("*.yml"))
        raise ParameterError(f"algorithm={algorithm!r} has no hyperparameter file; known: {known}")
    with path.open() as handle:
        table = yaml.safe_load(handle) or {}
    params = dict(table.get("default") or {})
    if env_id is not None:
        params.update(table.get(env_id) or {})
    return params
