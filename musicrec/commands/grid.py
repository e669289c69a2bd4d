"""``musicrec grid optimum`` and ``musicrec grid rule``: the references of the feature grid (notebook 02).

Each prints a short summary and, on its last line, the mean return over all targets alone (for a
stopped optimum search, the proven upper bound; the summary line says so).
"""

from __future__ import annotations


def _grid_arguments(parser) -> None:
    parser.add_argument("--dims", type=int, default=2, help="number of features d (default 2)")
    parser.add_argument("--levels", type=int, default=5, help="levels per feature L (default 5)")
    parser.add_argument("--target", default="wider", help="top or wider (default wider)")
    parser.add_argument("--reward", default="bullseye", help="bullseye or rating (default bullseye)")
    parser.add_argument("--episode-length", type=int, default=21, help="steps per episode (default 21)")


def register(subparsers) -> None:
    parser = subparsers.add_parser("grid", help="feature-grid environment references (notebook 02)")
    sub = parser.add_subparsers(dest="grid_command", metavar="ACTION", required=True)

    optimum = sub.add_parser("optimum", help="Bayes-optimal mean return over all targets (exact search)")
    _grid_arguments(optimum)
    optimum.add_argument("--feedback", default="rating+closer",
                         help="rating+closer (GridObs) or rating (BoardObs) (default rating+closer)")
    optimum.add_argument("--node-limit", type=int, default=None,
                         help="stop the exact search after this many beliefs and report bounds")
    optimum.add_argument("--time-limit", type=float, default=None,
                         help="stop the exact search after this many seconds and report bounds")
    optimum.add_argument("--bound-depth", type=int, default=None,
                         help="deepest relaxation for the upper bound if stopped (default 1)")
    optimum.set_defaults(func=_optimum)

    rule = sub.add_parser("rule", help="mean return of the rule baseline over all targets")
    _grid_arguments(rule)
    rule.add_argument("--obs", default="grid", help="grid or board (default grid)")
    rule.add_argument("--action", default="flat", help="flat or factored (default flat)")
    rule.set_defaults(func=_rule)


def _optimum(args) -> int:
    from musicrec.agents.grid_optimum import grid_optimum

    result = grid_optimum(dims=args.dims, levels=args.levels, target=args.target, reward=args.reward,
                          episode_length=args.episode_length, feedback=args.feedback,
                          node_limit=args.node_limit, time_limit=args.time_limit,
                          bound_depth=args.bound_depth)
    setting = (f"{args.dims}D, {args.levels} levels, {args.target}, {args.reward}, "
               f"{args.episode_length} steps, feedback {args.feedback}")
    if result.exact:
        print(f"optimum (exact): {setting}; {result.nodes} beliefs searched in {result.seconds:.1f} s")
        print(f"{result.mean:.6g}")
    else:
        print(f"optimum NOT exact (search stopped): {setting}; proven bounds "
              f"[{result.lower:.6g}, {result.upper:.6g}] (upper bound: relaxation after "
              f"{result.depth} decisions; lower: the rule baseline); {result.seconds:.1f} s")
        print(f"{result.upper:.6g}")
    return 0


def _rule(args) -> int:
    import time

    from musicrec.agents.grid_rule import GridRulePolicy
    from musicrec.envs.grid import evaluate_all_targets

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
