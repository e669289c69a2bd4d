"""``musicrec genre train``: Q-learning (and baselines) on the genre recommender."""

from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser("genre", help="Q-learning genre recommender (notebook 01)")
    sub = parser.add_subparsers(dest="genre_command", metavar="ACTION", required=True)
    train = sub.add_parser(
        "train", help="train Q-learning and the per-state bandit; print reward per step per policy")
    train.add_argument("--user", default="pop_lover", help="profile name in genre_users.yml")
    train.add_argument("--episodes", type=int, default=1500)
    train.add_argument("--episode-length", type=int, default=10)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--runs-dir", default="runs")
    train.set_defaults(func=_train)


def _train(args) -> int:
    from musicrec.experiments.genre import policy_rewards, run_study, summarise_policy_rewards
    from musicrec.profiles import load_profile

    budget = load_profile("genre", "default")
    budget.update(episodes=args.episodes, episode_length=args.episode_length, seeds=[args.seed],
                  users=[args.user])
    study = run_study(budget, args.runs_dir)
    table = summarise_policy_rewards(policy_rewards(study, budget))
    print(table[["user", "policy", "mean", "pct_of_oracle"]].to_string(index=False))
    return 0
