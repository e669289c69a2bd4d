"""One exception type for bad parameters, and the small checks that raise it.

Every message names the offending parameter and value, so a reader can fix the call without
reading the traceback.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


class ParameterError(ValueError):
    """A parameter, config value, file or dataset is not what musicrec expects."""


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise :class:`ParameterError`.

    >>> check_choice("profile", "smoke", ["smoke", "default", "full"])
    'smoke'
    """
    choices = list(choices)
    if value not in choices:
        raise ParameterError(f"{name}={value!r} is not one of {choices}")
    return value


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    integer: bool = False,
) -> Any:
    """Return ``value`` if it is a finite number inside the given bounds, else raise.

    >>> check_number("alpha", 0.1, low=0, high=1, low_inclusive=False)
    0.1
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
        integer and not float(value).is_integer()
    ):
        kind = "an integer" if integer else "a number"
        raise ParameterError(f"{name}={value!r} must be {kind}")
    if not math.isfinite(value):
        raise ParameterError(f"{name}={value!r} must be finite")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        bound = ">=" if low_inclusive else ">"
        raise ParameterError(f"{name}={value!r} must be {bound} {low}")
    if high is not None and (value > high or (value == high and not high_inclusive)):
        bound = "<=" if high_inclusive else "<"
        raise ParameterError(f"{name}={value!r} must be {bound} {high}")
    return value


def check_probability(name: str, value: Any) -> float:
    """Return ``value`` if it is a probability in [0, 1], else raise :class:`ParameterError`."""
    return float(check_number(name, value, low=0.0, high=1.0))
