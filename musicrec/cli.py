"""The ``musicrec`` command line.

Sub-commands live in ``musicrec/commands/``: each module there defines ``register(subparsers)``,
which adds its parser and sets ``func`` to the function that runs it.

A user's mistake (a bad value, a missing or wrong file, too little memory for what was asked) ends in
one line on stderr naming the problem and exit code 2; ``musicrec --debug ...`` shows the traceback
instead.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from musicrec import __version__, commands
from musicrec.errors import ParameterError


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with parse errors on one line (the usage is one ``--help`` away)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="musicrec",
        description="Music recommendation with reinforcement learning: a research compendium.",
    )
    parser.add_argument("--version", action="version", version=f"musicrec {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error instead of a one-line message")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        module.register(subparsers)
    return parser


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # --help, --version, or a bad argument (already reported in one line)
        return int(exit.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        result = args.func(args)
    except KeyboardInterrupt:
        print("musicrec: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001  (each kind is reported below; --debug re-raises)
        if args.debug:
            raise
        if isinstance(error, (ParameterError, FileNotFoundError, IsADirectoryError, NotADirectoryError,
                              PermissionError, FileExistsError)):
            print(f"musicrec: error: {_one_line(error)}", file=sys.stderr)
            return 2
        if isinstance(error, MemoryError):
            print("musicrec: error: not enough memory for what was asked (try smaller values)", file=sys.stderr)
            return 2
        print(f"musicrec: internal error: {type(error).__name__}: {_one_line(error)} "
              "(run `musicrec --debug ...` for the traceback)", file=sys.stderr)
        return 1
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
