"""``musicrec notebook run|list|sync|report``: the papermill pipeline and the report site behind the Makefile."""

from __future__ import annotations

import sys

from musicrec.commands import existing_file, existing_folder, folder_path, output_file

PROFILE_CHOICES = ("smoke", "default", "full")
DEVICE_CHOICES = ("cpu", "cuda", "auto")


def register(subparsers) -> None:
    parser = subparsers.add_parser("notebook", help="execute, pair or render the numbered notebooks")
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
                     help="write executed copies (and their figures) here instead of in place; the paired .py is then left alone")
    run.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                     help="extra notebook parameter (string value); repeatable")
    run.set_defaults(func=_run)

    listing = sub.add_parser("list", help="list the numbered notebooks")
    listing.set_defaults(func=_list)

    sync = sub.add_parser("sync", help="pair each notebook with its jupytext .py source (newer file wins)")
    sync.add_argument("notebooks", nargs="*", help="notebooks, as .ipynb or their paired .py (default: every numbered notebook)")
    sync.add_argument("--from", dest="source", default="newer", choices=("newer", "ipynb", "py"),
                      help="which side holds the cells: the file changed last (default), or the one named")
    sync.add_argument("--check", action="store_true",
                      help="only report the pairs whose cells differ (exit status 1 if any)")
    sync.set_defaults(func=_sync)

    timings = sub.add_parser("timings", help="wall time of each executed notebook (from papermill's metadata)")
    timings.add_argument("notebooks", nargs="*", help="executed notebooks (default: every numbered notebook)")
    timings.add_argument("--csv", type=output_file, default=None,
                         help="also write the table to this CSV (make reproduce: figures/notebook_timings.csv)")
    timings.set_defaults(func=_timings)

    compare = sub.add_parser(
        "compare", help="the figures' tables beside another execution's: does each mean land where a rerun should?",
        description="After a rerun (make reproduce on another machine), read each table of the figures folder "
                    "beside the committed one and count the means over seeds that are identical, inside the "
                    "committed 95%% interval of the mean, and inside the 95%% interval of a rerun's mean (where "
                    "a fresh draw of the seeds lands 95%% of the time). The reference is a git revision "
                    "(default HEAD) or a folder of CSV tables.")
    compare.add_argument("--against", default=None, metavar="REVISION",
                         help="git revision holding the reference tables (default: HEAD)")
    compare.add_argument("--reference-dir", type=existing_folder, default=None,
                         help="a folder of reference CSV tables instead of a git revision")
    compare.add_argument("--figures-dir", type=existing_folder, default="figures",
                         help="the rerun's tables (default: figures)")
    compare.add_argument("--csv", type=output_file, default=None, help="also write the row-by-row comparison here")
    compare.set_defaults(func=_compare)

    report = sub.add_parser("report", help="build the static report site (index with headlines, one page per notebook)")
    report.add_argument("notebooks", nargs="*", help="executed notebooks (default: every numbered notebook)")
    report.add_argument("--output-dir", type=folder_path, default="report", help="the site's folder (default: report)")
    report.add_argument("--figures-dir", type=folder_path, default="figures", help="where the headline CSVs and key figures are")
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
                             parameters=extra, paired=output is None)
        except NotebookFailed as error:
            print(f"musicrec: notebook failed: {error}", file=sys.stderr)
            return 1
    return 0


def _list(args) -> int:
    from musicrec.notebooks import list_notebooks, notebook_title

    for notebook in list_notebooks():
        print(f"{notebook.name}\t{notebook_title(notebook)}")
    return 0


def _paired_notebook(name: str) -> str:
    """The ``.ipynb`` of a notebook named by itself or by its paired ``.py``."""
    from pathlib import Path

    from musicrec.errors import ParameterError

    path = Path(name)
    if path.suffix == ".py":
        return str(path.with_suffix(".ipynb"))
    if path.suffix != ".ipynb":
        raise ParameterError(f"{name} is neither a .ipynb notebook nor its paired .py")
    return name


def _sync(args) -> int:
    from musicrec.notebooks import list_notebooks, pair_difference, sync_pair

    notebooks = [_paired_notebook(name) for name in args.notebooks] or list_notebooks()
    if args.check:
        differences = [difference for notebook in notebooks if (difference := pair_difference(notebook))]
        for difference in differences:
            print(difference)
        if differences:
            print("run `make sync` (or `musicrec notebook sync`) to pair them", file=sys.stderr)
        return 1 if differences else 0
    for notebook in notebooks:
        print(sync_pair(notebook, source=args.source))
    return 0


def _timings(args) -> int:
    from musicrec.notebooks import notebook_timings
    from musicrec.runs import write_csv_atomic

    table = notebook_timings(args.notebooks or None)
    print(table.to_string(index=False))
    total = table["wall_min"].sum()
    print(f"total: {total:.1f} min")
    if args.csv is not None:
        write_csv_atomic(table, args.csv)
    return 0


def _compare(args) -> int:
    from musicrec.rerun_check import compare_tables, reference_tables, summary
    from musicrec.runs import write_csv_atomic

    if args.against is not None and args.reference_dir is not None:
        from musicrec.errors import ParameterError

        raise ParameterError("give --against or --reference-dir, not both")
    if args.reference_dir is not None:
        reference = reference_tables(folder=args.reference_dir)
    else:
        reference = reference_tables(revision=args.against or "HEAD", figures=args.figures_dir)
    comparison = compare_tables(reference, args.figures_dir)
    outside = comparison[comparison.inside_rerun_interval == False]  # noqa: E712  (True/False/None)
    if len(outside):
        print("means outside the 95% interval of a rerun's mean:")
        print(outside.drop(columns=["identical", "inside", "inside_rerun_interval"]).to_string(index=False))
    print(summary(comparison))
    if args.csv is not None:
        write_csv_atomic(comparison, args.csv)
    return 0


def _report(args) -> int:
    from pathlib import Path

    from musicrec.report import build_site

    build = build_site(args.output_dir, notebooks=args.notebooks or None, figures_dir=args.figures_dir)
    for problem in build.problems:
        print(f"musicrec: report: {problem}", file=sys.stderr)
    index = build.index
    try:
        index = index.relative_to(Path.cwd())
    except ValueError:  # outside the working directory: show it as it is
        pass
    print(f"report: {len(build.pages)} notebook pages and {index}; open it in a browser")
    return 0
