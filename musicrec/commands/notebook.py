"""``musicrec notebook run|list|report``: the papermill pipeline behind the Makefile."""

from __future__ import annotations

import sys

from musicrec.commands import existing_file, folder_path

PROFILE_CHOICES = ("smoke", "default", "full")
DEVICE_CHOICES = ("cpu", "cuda", "auto")


def register(subparsers) -> None:
    parser = subparsers.add_parser("notebook", help="execute or render the numbered notebooks")
    sub = parser.add_subparsers(dest="notebook_command", metavar="ACTION", required=True)

    run = sub.add_parser("run", help="execute notebooks with papermill (in place by default)",
                         description="Execute notebooks; the kernel imports the checkout each notebook belongs "
                                     "to. A smoke run needs --output-dir (it never replaces the committed "
                                     "report); with --output-dir, figures (and smoke runs) go there too.")
    run.add_argument("notebooks", nargs="+", type=existing_file,
                     help="notebook files (relative to the current directory)")
    run.add_argument("--profile", default="default", choices=PROFILE_CHOICES, help="smoke, default or full")
    run.add_argument("--device", default="cpu", choices=DEVICE_CHOICES, help="cpu, cuda or auto")
    run.add_argument("--output-dir", type=folder_path, default=None,
                     help="write executed copies (and their figures) here instead of in place")
    run.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                     help="extra notebook parameter (string value); repeatable")
    run.set_defaults(func=_run)

    listing = sub.add_parser("list", help="list the numbered notebooks")
    listing.set_defaults(func=_list)

    report = sub.add_parser("report", help="render executed notebooks to static HTML")
    report.add_argument("--output-dir", type=folder_path, default=None,
                        help="folder of the HTML pages (default: the checkout's report/)")
    report.set_defaults(func=_report)


def _run(args) -> int:
    from musicrec.errors import ParameterError
    from musicrec.notebooks import NotebookFailed, execute_notebook

    extra = {}
    for item in args.parameter:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise ParameterError(f"--parameter {item!r} must look like NAME=VALUE (NAME a Python identifier)")
        extra[key] = value
    not_notebooks = [str(path) for path in args.notebooks if path.suffix != ".ipynb"]
    if not_notebooks:
        raise ParameterError(f"{', '.join(not_notebooks)} is not a .ipynb notebook")
    for notebook in args.notebooks:
        output = None if args.output_dir is None else args.output_dir / notebook.name
        print(f"executing {notebook.name} (profile={args.profile}, device={args.device})", flush=True)
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

    print(render_report(args.output_dir if args.output_dir is not None else "report"))
    return 0
