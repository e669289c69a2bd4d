"""``musicrec sessions maa|simulate``: score skip predictions by Mean Average Accuracy; simulate sessions."""

from __future__ import annotations

from musicrec.commands import existing_file, folder_path, integer

#: Rough bytes per simulated session while it is drawn and written (about 20 rows of 30 columns).
BYTES_PER_SESSION = 40_000


def register(subparsers) -> None:
    parser = subparsers.add_parser("sessions",
                                   help="listening sessions: MAA scoring, session simulator (14-15)")
    sub = parser.add_subparsers(dest="sessions_command", metavar="ACTION", required=True)

    maa = sub.add_parser(
        "maa", help="Mean Average Accuracy of skip predictions; the MAA alone on the last line",
        description="Scores skip predictions as the Spotify Sequential Skip Prediction Challenge: the second "
                    "half of each session (2 * session_position > session_length) against skip_2. Prints the "
                    "number of sessions, the first-prediction accuracy and the MAA, then the MAA alone.")
    maa.add_argument("--truth", type=existing_file, required=True,
                     help="CSV with session_id, session_position, session_length, skip_2 (an MSSD log works)")
    maa.add_argument("--pred", type=existing_file, required=True,
                     help="CSV with session_id, session_position, skip_pred (0/1)")
    maa.set_defaults(func=_maa)

    simulate = sub.add_parser("simulate", help="write simulated sessions in the MSSD schema")
    simulate.add_argument("--out", type=folder_path, required=True,
                          help="a new or empty folder for log_simulated.csv, tf_simulated.csv, "
                               "skip_probability.csv (relative to the current directory)")
    simulate.add_argument("--sessions", type=integer(1), default=1000)
    simulate.add_argument("--users", type=integer(1, 10_000_000), default=2000)
    simulate.add_argument("--tracks", type=integer(60, 10_000_000), default=2000,
                          help="size of the synthetic catalog (>= 60)")
    simulate.add_argument("--seed", type=integer(0), default=0)
    simulate.set_defaults(func=_simulate)


def _read_csv(path, what: str):
    import pandas as pd

    from musicrec.errors import ParameterError

    try:
        return pd.read_csv(path, dtype={"session_id": str})
    except pd.errors.EmptyDataError:
        raise ParameterError(f"{what} file {path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ParameterError(f"{what} file {path} is not a readable CSV: {error}") from None


def _maa(args) -> int:
    from musicrec.metrics import skip_scores

    scores = skip_scores(_read_csv(args.truth, "truth"), _read_csv(args.pred, "predictions"))
    print(f"sessions: {scores['sessions']}")
    print(f"first-prediction accuracy: {scores['first_prediction_accuracy']:.6f}")
    print(f"mean average accuracy: {scores['maa']:.6f}")
    print(f"{scores['maa']:.6f}")
    return 0


def _simulate(args) -> int:
    from musicrec.data.session_simulator import LOG_FILE, PROBABILITY_FILE, TRACK_FILE, SimulatorConfig, \
        simulate_sessions
    from musicrec.errors import ParameterError
    from musicrec.utils import check_memory

    there = [name for name in (LOG_FILE, TRACK_FILE, PROBABILITY_FILE) if (args.out / name).exists()]
    if there:
        raise ParameterError(f"--out {args.out} already holds {', '.join(there)}; choose a new or empty folder")
    check_memory(f"{args.sessions} simulated sessions", args.sessions * BYTES_PER_SESSION)
    config = SimulatorConfig(n_sessions=args.sessions, n_users=args.users, n_tracks=args.tracks,
                             n_playlists=min(150, max(1, args.tracks // 20)))
    sim = simulate_sessions(config, seed=args.seed)
    folder = sim.write(args.out)
    print(f"{sim.log.session_id.nunique()} sessions, {len(sim.log)} rows written to {folder}")
    return 0
