"""``musicrec genre train``: Q-learning (and baselines) on the genre recommender."""

from __future__ import annotations

from musicrec.commands import folder_path, integer

#: Rough bytes of the per-episode log of one training run (one row of counts per episode).
BYTES_PER_EPISODE = 2_000


def register(subparsers) -> None:
    parser = subparsers.add_parser("genre", help="Q-learning genre recommender (notebook 01)")
    sub = parser.add_subparsers(dest="genre_command", metavar="ACTION", required=True)
    train = sub.add_parser(
        "train", help="train Q-learning and the per-state bandit; print reward per step per policy")
    train.add_argument("--user", default="pop_lover", help="profile name in genre_users.yml")
    train.add_argument("--episodes", type=integer(1), default=1500)
    train.add_argument("--episode-length", type=integer(1, 10_000), default=10)
    train.add_argument("--seed", type=integer(0), default=0)
    train.add_argument("--runs-dir", type=folder_path, default=None,
                       help="cached runs (relative to the current directory; default: the checkout's runs/)")
    train.set_defaults(func=_train)


def _train(args) -> int:
    from musicrec.experiments.genre import policy_rewards, run_study, summarise_policy_rewards
    from musicrec.profiles import load_profile
    from musicrec.utils import check_memory, project_path

    check_memory(f"{args.episodes} training episodes", 2 * args.episodes * BYTES_PER_EPISODE)
    budget = load_profile("genre", "default")
    budget.update(episodes=args.episodes, episode_length=args.episode_length, seeds=[args.seed],
                  users=[args.user])
    runs_dir = args.runs_dir if args.runs_dir is not None else project_path("runs")
    study = run_study(budget, runs_dir)
    table = summarise_policy_rewards(policy_rewards(study, budget))
    print(table[["user", "policy", "mean", "pct_of_oracle"]].to_string(index=False))
    return 0
