"""``musicrec data build``: render the offline genre corpus (what ``make data`` runs)."""

from __future__ import annotations

from musicrec.commands import folder_path, integer, number


def register(subparsers) -> None:
    parser = subparsers.add_parser("data", help="build the offline genre corpus (notebooks 08-10)")
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="render N clips per genre in GTZAN's layout with mma + fluidsynth")
    build.add_argument("--clips-per-genre", type=integer(1, 10_000), default=20,
                       help="20 by default; 100 gives GTZAN's size")
    build.add_argument("--root", type=folder_path, default=None,
                       help="output folder: a new or empty one, or a corpus this command built (relative to "
                            "the current directory; default: the checkout's data/corpus/synth-N)")
    build.add_argument("--seed", type=integer(0), default=0)
    build.add_argument("--seconds", type=number(3.0, 600.0), default=30.0, help="clip length (3-600 s)")
    build.add_argument("--jobs", type=integer(1, 256), default=None, help="parallel renderers (default 2 x CPUs)")
    build.set_defaults(func=_build)


def _build(args) -> int:
    import time

    from musicrec.data.corpus import build_corpus
    from musicrec.experiments.features import default_corpus_dir

    root = args.root if args.root is not None else default_corpus_dir(args.clips_per_genre, args.seconds)
    start = time.time()
    table = build_corpus(root, args.clips_per_genre, seed=args.seed, seconds=args.seconds, jobs=args.jobs)
    print(f"{len(table)} clips ({table.genre.nunique()} genres) in {root}; took {time.time() - start:.0f} s")
    return 0
