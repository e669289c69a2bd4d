"""Sentences that state results, built from small tables of those results (one function per comparison).

A notebook computes its tables, then calls one function here to say what they show; the functions take
a table and return Markdown, so the text follows the runs and is unit-tested on hand-made tables.
"""

from __future__ import annotations

from collections.abc import Sequence

from musicrec.errors import ParameterError


def require_columns(frame, columns: Sequence[str], what: str) -> None:
    """Raise a one-line error naming the columns ``frame`` (the table ``what``) lacks."""
    missing = sorted(set(columns) - set(frame.columns))
    if missing:
        raise ParameterError(f"{what} lacks the column(s) {missing}")


def bullets(lines: Sequence[str]) -> str:
    """Markdown bullet lines; empty lines are left out."""
    return "\n".join(f"* {line}" for line in lines if line)
