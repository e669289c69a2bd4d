"""``musicrec notebook run|list|report``: the papermill pipeline behind the Makefile."""

from __future__ import annotations

import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser("notebook", help="execute or render the numbered notebooks")
    sub = parser.add_subparsers(dest="notebook_command", metavar="ACTION", required=True)

    run = sub.add_parser("run", help="execute notebooks with papermill (in place by default)")
    run.add_argument("notebooks", nargs="+", help="notebook files")
    run.add_argument("--profile", default="default", help="smoke, default or full")
    run.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    run.add_argument("--output-dir", default=None,
                     help="write executed copies here instead of in place")
    run.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                     help="extra notebook parameter (string value); repeatable")
    run.set_defaults(func=_run)

    listing = sub.add_parser("list", help="list the numbered notebooks")
    listing.set_defaults(func=_list)

    report = sub.add_parser("report", help="render executed notebooks to static HTML")
    report.add_argument("--output-dir", default="report")
    report.set_defaults(func=_report)


def _run(args) -> int:
    from pathlib import Path

    from musicrec.errors import ParameterError
    from musicrec.notebooks import NotebookFailed, execute_notebook

    extra = {}
    for item in args.parameter:
        if "=" not in item:
            raise ParameterError(f"--parameter {item!r} must look like NAME=VALUE")
        key, value = item.split("=", 1)
        extra[key] = value
    for notebook in args.notebooks:
        output = None if args.output_dir is None else Path(args.output_dir) / Path(notebook).name
        print(f"executing {notebook} (profile={args.profile}, device={args.device})", flush=True)
        try:
            execute_notebook(notebook, profile=args.profile, device=args.device, output=output,
                             parameters=extra)
        except NotebookFailed as error:
            print(f"musicrec: notebook failed: {error}", file=sys.stderr)
            return 1
    return 0


def _list(args) -> int:
    from musicrec.notebooks import list_notebooks, notebook_title

    for notebook in list_notebooks():
        print(f"{notebook.name}\t{notebook_title(notebook)}")
    return 0


def _report(args) -> int:
    from musicrec.notebooks import render_report

    print(render_report(args.output_dir))
    return 0
