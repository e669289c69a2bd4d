"""``musicrec catalog``: write the synthetic track catalog as CSV, or check a real Spotify tracks CSV."""

from __future__ import annotations

from musicrec.commands import existing_file, integer, new_file

#: Rough bytes per track while the catalog is built and written (15 columns, pandas and CSV copies).
BYTES_PER_TRACK = 1_000


def register(subparsers) -> None:
    parser = subparsers.add_parser("catalog", help="synthetic track catalog / check a Spotify tracks CSV")
    sub = parser.add_subparsers(dest="catalog_command", metavar="ACTION", required=True)
    synth = sub.add_parser("synth", help="write the seeded synthetic catalog (Spotify tracks schema) as CSV")
    synth.add_argument("--tracks", type=integer(10), default=10_000, help="number of tracks (>= 10, one per genre)")
    synth.add_argument("--seed", type=integer(0), default=0)
    synth.add_argument("--output", type=new_file, required=True,
                       help="CSV file to write (a new file; relative to the current directory)")
    synth.set_defaults(func=_synth)
    check = sub.add_parser("check", help="load a Spotify tracks CSV and report what it holds")
    check.add_argument("path", type=existing_file, help="the CSV (relative to the current directory)")
    check.add_argument("--drop", action="store_true", help="drop invalid rows (logged) instead of failing")
    check.set_defaults(func=_check)


def _synth(args) -> int:
    from musicrec.data.catalog import synthetic_catalog
    from musicrec.runs import write_csv_atomic
    from musicrec.utils import check_memory

    check_memory(f"a catalog of {args.tracks} tracks", args.tracks * BYTES_PER_TRACK)
    catalog = synthetic_catalog(args.tracks, seed=args.seed)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_csv_atomic(catalog, args.output)
    print(f"wrote {len(catalog)} tracks, {catalog.track_genre.nunique()} genres to {args.output}")
    return 0


def _check(args) -> int:
    import logging

    from musicrec.data.catalog import load_catalog

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    catalog = load_catalog(args.path, on_invalid="drop" if args.drop else "raise")
    counts = catalog.track_genre.value_counts()
    print(f"{len(catalog)} tracks, {catalog.track_genre.nunique()} genres; tracks per genre: "
          f"{counts.min()}-{counts.max()}")
    return 0
