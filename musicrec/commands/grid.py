"""``musicrec grid optimum`` and ``musicrec grid rule``: the references of the feature grid (notebook 02).

Each prints a short summary and, on its last line, the mean return over all targets alone (for a
stopped optimum search, the proven upper bound; the summary line says so).
"""

from __future__ import annotations

from musicrec.commands import integer, number

#: Longest episode the commands accept (the thesis uses 21 steps).
MAX_EPISODE_LENGTH = 10_000


def _grid_arguments(parser) -> None:
    parser.add_argument("--dims", type=integer(1, 64), default=2, help="number of features d (default 2)")
    parser.add_argument("--levels", type=integer(2, 4096), default=5, help="levels per feature L (default 5)")
    parser.add_argument("--target", default="wider", choices=("top", "wider"), help="top or wider (default wider)")
    parser.add_argument("--reward", default="bullseye", choices=("bullseye", "rating"),
                        help="bullseye or rating (default bullseye)")
    parser.add_argument("--episode-length", type=integer(1, MAX_EPISODE_LENGTH), default=21,
                        help=f"steps per episode (default 21, at most {MAX_EPISODE_LENGTH})")


def register(subparsers) -> None:
    parser = subparsers.add_parser("grid", help="feature-grid environment references (notebook 02)")
    sub = parser.add_subparsers(dest="grid_command", metavar="ACTION", required=True)

    optimum = sub.add_parser("optimum", help="Bayes-optimal mean return over all targets (exact search)")
    _grid_arguments(optimum)
    optimum.add_argument("--feedback", default="rating+closer", choices=("rating+closer", "rating"),
                         help="rating+closer (GridObs) or rating (BoardObs) (default rating+closer)")
    optimum.add_argument("--node-limit", type=integer(1), default=None,
                         help="stop the exact search after this many beliefs and report bounds")
    optimum.add_argument("--time-limit", type=number(0, low_inclusive=False), default=None,
                         help="wall-clock seconds for everything (set-up, rule baseline, search, bounds); "
                              "the proven bounds reached by then are reported")
    optimum.add_argument("--bound-depth", type=integer(1), default=None,
                         help="deepest relaxation for the upper bound if stopped (default 1, or as deep as "
                              "the time limit allows)")
    optimum.set_defaults(func=_optimum)

    rule = sub.add_parser("rule", help="mean return of the rule baseline over all targets")
    _grid_arguments(rule)
    rule.add_argument("--obs", default="grid", choices=("grid", "board"), help="grid or board (default grid)")
    rule.add_argument("--action", default="flat", choices=("flat", "factored"), help="flat or factored (default flat)")
    rule.set_defaults(func=_rule)


def _optimum(args) -> int:
    from musicrec.agents.grid_optimum import grid_optimum

    result = grid_optimum(dims=args.dims, levels=args.levels, target=args.target, reward=args.reward,
                          episode_length=args.episode_length, feedback=args.feedback,
                          node_limit=args.node_limit, time_limit=args.time_limit,
                          bound_depth=args.bound_depth)
    setting = (f"{args.dims}D, {args.levels} levels, {args.target}, {args.reward}, "
               f"{args.episode_length} steps, feedback {args.feedback}")
    effort = f"{result.nodes} beliefs searched, {result.seconds:.1f} s in all (symmetries: {result.symmetries})"
    if result.exact:
        print(f"optimum (exact): {setting}; {effort}")
        print(f"{result.mean:.6g}")
    else:
        upper = ("the bound at the root, no decision searched" if result.depth == 0
                 else f"a relaxation after {result.depth} decision(s)")
        lower = ("the rule baseline" if result.lower_policy == "rule"
                 else "the better of staying at the start and a greedy cover (the rule baseline did not "
                      "finish in its share of the time)")
        print(f"optimum NOT exact (the {result.stopped_by} stopped the search): {setting}; proven bounds "
              f"[{result.lower:.6g}, {result.upper:.6g}] (upper: {upper}; lower: {lower}); {effort}")
        print(f"{result.upper:.6g}")
    return 0


def _rule(args) -> int:
    import time

    from musicrec.agents.grid_rule import GridRulePolicy
    from musicrec.envs.grid_core import evaluate_all_targets
    from musicrec.users.grid import check_grid

    check_grid(args.dims, args.levels)
    settings = dict(dims=args.dims, levels=args.levels, target=args.target, reward=args.reward,
                    obs=args.obs, action=args.action, episode_length=args.episode_length)
    started = time.perf_counter()
    policy = GridRulePolicy(**settings)
    evaluation = evaluate_all_targets(policy, **settings)
    summary = evaluation.summary()
    print(f"rule baseline: {', '.join(f'{k}={v}' for k, v in settings.items())}; "
          f"std {summary['std']:.3g}, found {100 * summary['found']:.1f}% of targets, "
          f"{summary['mean_steps_to_top']:.3g} steps to rating 4 on average; "
          f"{time.perf_counter() - started:.1f} s")
    print(f"{evaluation.mean:.6g}")
    return 0
