"""Sub-commands of the ``musicrec`` CLI, one module each (see ``musicrec.cli``).

Keep imports of heavy libraries (torch, SB3, librosa) inside the command functions so that
``musicrec --help`` stays fast.

The argument types below validate every value when the command line is parsed, so a user's mistake
ends in one line naming the argument and the problem (exit code 2), never in a traceback. Paths given
on the command line are relative to the current directory, as with every command-line tool; only a
command's *defaults* name folders of the checkout (``runs/``, ``data/musicnn``), and say so in ``--help``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path


def cli_path(text: str) -> Path:
    """A path given on the command line: ``~`` expanded, relative paths against the current directory."""
    if not str(text).strip():
        raise argparse.ArgumentTypeError("an empty path")
    return Path(text).expanduser().absolute()


def existing_file(text: str) -> Path:
    """A path that must name an existing file (not a folder)."""
    path = cli_path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file")
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text} does not exist")
    return path


def existing_folder(text: str) -> Path:
    """A path that must name an existing folder."""
    path = cli_path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text} does not exist")
    return path


def folder_path(text: str) -> Path:
    """A folder to write into: it may not exist yet, but it must not be a file."""
    path = cli_path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    return path


def output_file(text: str) -> Path:
    """A file the command writes and replaces (a generated table): not a folder, in a folder."""
    path = cli_path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name")
    if path.parent.exists() and not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{path.parent} is a file, not a folder")
    return path


def new_file(text: str) -> Path:
    """A file to create: not a folder, not an existing file (nothing of a user's is overwritten)."""
    path = output_file(text)
    if path.exists():
        raise argparse.ArgumentTypeError(f"{text} already exists; remove it or choose another name")
    return path


def integer(low: int | None = None, high: int | None = None):
    """An ``int`` argument type with inclusive bounds (``1e3`` and ``10.0`` are accepted as integers)."""

    def parse(text: str) -> int:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not math.isfinite(value) or not value.is_integer():
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer")
        value = int(value)
        _check_bounds(text, value, low, high)
        return value

    parse.__name__ = "integer"
    return parse


def number(low: float | None = None, high: float | None = None, *, low_inclusive: bool = True):
    """A finite ``float`` argument type with bounds (``low`` exclusive if ``low_inclusive`` is False)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if low is not None and not low_inclusive and value <= low:
            raise argparse.ArgumentTypeError(f"{text} must be > {low:g}")
        _check_bounds(text, value, low if low_inclusive else None, high)
        return value

    parse.__name__ = "number"
    return parse


def _check_bounds(text: str, value: float, low: float | None, high: float | None) -> None:
    if low is not None and value < low:
        raise argparse.ArgumentTypeError(f"{text} must be >= {low:g}")
    if high is not None and value > high:
        raise argparse.ArgumentTypeError(f"{text} must be <= {high:g}")
