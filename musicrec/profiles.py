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

A study may hold a ``common:`` block merged under every profile, and a ``hyperparams:`` list of
hyperparameter files (``configs/hyperparams/<name>.yml``, their ``default:`` block) merged under that:
model and listener settings live with the other hyperparameters, the profile holds what it spends (a
profile may still override one of them).

A study declares its budget as a subclass of :class:`Budget`: one typed, documented field per key (a
docstring under each, as CleanRL's ``Args``). ``Budget.load(profile)`` reads the study's file and names an
unknown key, a missing one or a value of the wrong type with the file and profile it came from. A budget
is also a read-only mapping, so ``budget["episodes"]`` and ``{**budget}`` work as with the plain dict of
:func:`load_profile`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar

import yaml

from musicrec.errors import ParameterError, check_choice
from musicrec.hyperparams import load_hyperparams
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
    budget: dict[str, Any] = {}
    for name in table.get("hyperparams") or ():
        budget.update(load_hyperparams(name))
    budget.update(table.get("common") or {})
    budget.update(table[profile] or {})
    budget["profile"] = profile
    return budget


def _coerce(value: Any, kind: Any, name: str) -> Any:
    """``value`` converted to the annotated type ``kind``; TypeError/ValueError naming ``name`` if it is not one."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        return _coerce(value, options[0], name) if len(options) == 1 else value
    if kind is Any:
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise TypeError(f"{name}={value!r} is not true/false")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise TypeError(f"{name}={value!r} is not an integer")
        return int(value)
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name}={value!r} is not a number")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise TypeError(f"{name}={value!r} is not a string")
        return value
    if origin in (tuple, list):
        if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
            raise TypeError(f"{name}={value!r} is not a list")
        item = args[0] if args else Any
        return tuple(_coerce(v, item, f"{name}[{i}]") for i, v in enumerate(value))
    if origin in (dict, Mapping, typing.Mapping) or kind in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise TypeError(f"{name}={value!r} is not a mapping")
        key_kind, value_kind = args if args else (Any, Any)
        return {_coerce(k, key_kind, f"{name} key"): _coerce(v, value_kind, f"{name}[{k!r}]")
                for k, v in value.items()}
    return value


@dataclasses.dataclass(frozen=True, kw_only=True)
class Budget(Mapping):
    """Base of the studies' typed budgets (see the module docstring); subclasses add the fields."""

    #: The study's profile file (``configs/profiles/<study>.yml``).
    study: ClassVar[str] = ""

    profile: str = "custom"
    """The profile's name (smoke, default or full; ``custom`` for a budget made in code)."""

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, source: str = "budget") -> "Budget":
        """A validated budget from plain values; every problem is named with ``source``."""
        if isinstance(values, cls):
            return values
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ParameterError(f"{source}: unknown budget key(s) {unknown}; known: {sorted(known)}")
        required = [name for name, f in known.items()
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        missing = sorted(set(required) - set(values))
        if missing:
            raise ParameterError(f"{source}: the budget needs {missing}")
        hints = typing.get_type_hints(cls)
        try:
            data = {name: _coerce(value, hints[name], name) for name, value in values.items()}
        except (TypeError, ValueError) as error:
            raise ParameterError(f"{source}: {error}") from None
        budget = cls(**data)
        budget.validate(source)
        return budget

    @classmethod
    def load(cls, profile: str) -> "Budget":
        """The budget of :attr:`study` under ``profile``, read from its file and validated."""
        values = load_profile(cls.study, profile)
        return cls.from_mapping(values, source=f"profiles/{cls.study}.yml:{profile}")

    @classmethod
    def of(cls, budget: "str | Mapping[str, Any]") -> "Budget":
        """A study's budget however it is given: a profile name (read from the file), a mapping (e.g. a
        notebook that changed a key) or a budget already; validated."""
        if isinstance(budget, cls):
            return budget
        if isinstance(budget, str):
            return cls.load(budget)
        if not isinstance(budget, Mapping):
            raise ParameterError(f"budget={budget!r} must be a profile name or a mapping")
        return cls.from_mapping(budget, source=f"{cls.study} budget")

    def validate(self, source: str) -> None:
        """Checks beyond the types (a subclass raises ParameterError naming ``source``)."""

    def replace(self, **changes: Any) -> "Budget":
        """A copy with ``changes``, validated like a loaded budget."""
        return type(self).from_mapping({**dict(self), **changes}, source=f"{self.study} budget")

    # read-only mapping, so code written for the plain dict keeps working
    def __getitem__(self, key: str) -> Any:
        if key in self._names():
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self):
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))
