"""The sentences of notebooks 03-07 follow their tables (hand-made tables in, checked sentences out)."""

import math

import pandas as pd

from musicrec.prose import grid as grid_prose


def metrics_row(name, **values):
    row = {"experiment": name, "figure": "", "target": "wider", "reward": "bullseye", "obs": "grid", "n_steps": 20,
           "recurrent": True, "algorithm": "A2C", "seeds": 3, "timesteps": 2_000_000, "final_mean": 190.0,
           "final_sd_seeds": 2.0, "final_ci_low": 185.0, "final_ci_high": 195.0, "pooled_mean": 180.0,
           "pooled_std": 20.0, "pooled_checkpoints": 3, "thesis_mean": 188.0, "thesis_std": 8.0, "optimum": 200.0,
           "pct_final": 95.0, "collapsed_to": None}
    row.update(values)
    return row


def test_agent_result_states_mean_spread_interval_and_share_of_the_optimum():
    text = grid_prose.agent_result(metrics_row("x"))
    assert text == "190.0 ± 2.0 over 3 seeds, 95% interval 185.0-195.0, 95.0% of the exact optimum 200.0"
    collapsed = grid_prose.agent_result(metrics_row("x", final_mean=42.0, collapsed_to=12))
    assert "names position 12 whatever the user answers" in collapsed and "%" not in collapsed


def test_versus_thesis_says_above_or_below():
    assert "below the thesis's 188" in grid_prose.versus_thesis(metrics_row("x"))
    assert "above the thesis's 188" in grid_prose.versus_thesis(metrics_row("x", pooled_mean=190.0))
    assert "reports no number" in grid_prose.versus_thesis(metrics_row("x", thesis_mean=math.nan))


def test_reward_functions_names_the_better_rule():
    table = pd.DataFrame([metrics_row("top_grid_n5", target="top", pct_final=40.0),
                          metrics_row("wider_grid_n5", pct_final=90.0)])
    text = grid_prose.reward_functions(table)
    assert "WiderTopTarget is learned better" in text and "more than the seeds' spread of 1.0" in text
    table.loc[0, "pct_final"] = 99.0
    text = grid_prose.reward_functions(table)
    assert "TopTarget is learned better" in text and "not borne out" in text
    # a gap inside the seeds' spread (TopTarget's std over seeds: 14 of its optimum 200, i.e. 7 points)
    table.loc[0, ["pct_final", "final_sd_seeds"]] = [91.6, 14.0]
    table.loc[1, "pct_final"] = 98.1
    text = grid_prose.reward_functions(table)
    assert "6.5 points apart, within the seeds' spread of 7.0" in text and "neither borne out nor contradicted" in text


def test_nstep_returns_reports_both_comparisons_and_checks_the_thesis_order():
    table = pd.DataFrame([metrics_row(f"wider_grid_n{n}", n_steps=n) for n in (5, 10, 20)])
    at = pd.DataFrame({"experiment": ["a", "b", "c"], "n_steps": [5, 10, 20], "mean": [150.0, 170.0, 180.0],
                       "sd_seeds": [1.0, 1.0, 1.0], "at": [400, 400, 400]})
    text = grid_prose.nstep_returns(table, at, at.assign(at=1_500_000))
    assert "At equal updates** (400)" in text and "At equal environment steps** (1.50 M)" in text
    assert "n = 20 is highest" in text and "holds at equal environment steps" in text
    assert "20 is highest, 10.0 ahead of n = 10, more than the seeds' spread (1.0)" in text
    reversed_ = at.assign(mean=[180.0, 170.0, 150.0], at=1_500_000)
    assert "does not hold in full" in grid_prose.nstep_returns(table, at, reversed_)
    # means closer than their seeds' spread rank nothing: no "highest", no order claimed either way
    close = at.assign(mean=[198.9, 189.7, 198.1], sd_seeds=[1.2, 7.1, 0.2], at=1_500_000)
    text = grid_prose.nstep_returns(table, close, close)
    assert "n = 5 and n = 20 are the highest, 0.8 apart, within the seeds' spread (1.2)" in text
    assert "n = 10 is 9.2 below n = 5, more than the seeds' spread (7.1)" in text
    tied = close.assign(mean=[190.0, 191.0, 199.0])
    assert "do not separate n = 5 and 10" in grid_prose.nstep_returns(table, tied, tied)


def test_learning_rates_states_each_rows_budget_and_says_when_they_differ():
    table = pd.DataFrame([metrics_row("wider_grid_n10", n_steps=10, timesteps=3_200_000),
                          metrics_row("wider_grid_n10_lr7e-4", n_steps=10, timesteps=19_200_000)])
    text = grid_prose.learning_rates(table, default_rate=5e-3, n_envs=128, thesis_steps=19_200_000)
    assert "lr 0.005, n = 10, after 3.2 M env steps" in text and "lr 0.0007, n = 10, after 19.2 M" in text
    assert "different budgets" in text and "8 times as many environments (128)" in text
    same = grid_prose.learning_rates(table.assign(timesteps=3_200_000), default_rate=5e-3, n_envs=128,
                                     thesis_steps=19_200_000)
    assert "different budgets" not in same


def test_metrics_tables_counts_the_rows_at_or_above_the_thesis():
    table = pd.DataFrame([metrics_row("a", pooled_mean=190.0, pooled_checkpoints=1),
                          metrics_row("b", pooled_mean=150.0), metrics_row("c", thesis_mean=math.nan)])
    text = grid_prose.metrics_tables(table)
    assert "1 of 2 rows are at or above" in text and "b 150.0 vs 188" in text
    # a: one checkpoint, so final and pooled are one policy; b: final 190 above pooled 150, a run still improving
    assert "lower for 1 (runs still improving" in text and "the same for 1 (only the last checkpoint" in text
    assert "higher for" not in text and "within" not in text
    # three checkpoints whose pooled mean is within a point of the final one, not a one-checkpoint run
    settled = pd.DataFrame([metrics_row("a", pooled_mean=189.6), metrics_row("b", pooled_mean=191.5)])
    text = grid_prose.metrics_tables(settled)
    assert "within 1 point of it for 1 (the checkpoints average what the last one scores" in text
    assert "higher for 1 (the last policy fell back" in text and "only the last checkpoint" not in text


def test_versus_thesis_says_when_one_checkpoint_is_all_the_budget_holds():
    assert "the last checkpoint only" in grid_prose.versus_thesis(metrics_row("x", pooled_checkpoints=1))
    assert "the last 3 checkpoints of a run, 5k thesis iterations apart" in grid_prose.versus_thesis(metrics_row("x"))


def test_noisy_users_says_where_the_agent_wins_ties_or_loses():
    rows = [{"dims": 2, "noise": p, "agent_mean": a, "agent_sd_seeds": 1.0, "bayes_mean": b, "verdict": v,
             "optimum_deterministic": 201.6, "seeds": 3}
            for p, a, b, v in ((0.0, 195.0, 201.0, "Bayes filter beats agent"),
                               (0.3, 190.0, 198.0, "undecided (the agent's 95% interval covers the Bayes mean)"))]
    text = grid_prose.noisy_users(pd.DataFrame(rows))
    assert "At 2D p = 0.3 the agent's 95% interval over 3 seeds still covers" in text
    assert "mean is 8.0 lower" in text and "beats the filter nowhere" in text
    rows[1]["verdict"] = "agent beats Bayes filter"
    assert "beats the Bayes filter at 2D p = 0.3" in grid_prose.noisy_users(pd.DataFrame(rows))
    rows[1]["verdict"] = "Bayes filter beats agent"
    assert "beats the learned agent at every noise level" in grid_prose.noisy_users(pd.DataFrame(rows))


def test_reproducibility_distinguishes_identical_within_a_seeds_spread_and_beyond_it():
    row = {"experiment": "wider_grid_n20", "seed": 0, "metrics_identical": False, "rerun_mean": 190.0,
           "original_mean": 192.0, "ci_low": 185.0, "ci_high": 196.0, "rerun_inside_ci": True,
           "seed_interval_low": 180.0, "seed_interval_high": 201.0, "rerun_inside_seed_interval": True}
    text = grid_prose.reproducibility(pd.DataFrame([row]), kernels="avx2", seeds=3)
    assert "metrics not identical" in text and "inside the 95% interval of the mean" in text
    assert "It lands where a fresh seed would" in text and "about 91% of the time" in text
    assert "no contradiction" not in text
    text = grid_prose.reproducibility(pd.DataFrame([{**row, "metrics_identical": True}]), kernels="avx2", seeds=3)
    assert "byte-identical" in text and "gave the same bits" in text
    # beyond the interval of the mean but where one fresh seed lands: a new draw, not a contradiction
    text = grid_prose.reproducibility(pd.DataFrame([{**row, "rerun_mean": 198.4, "rerun_inside_ci": False}]),
                                      kernels="avx2", seeds=3)
    assert "outside the 95% interval of the mean" in text and "no contradiction" in text
    assert "not reproducible" not in text
    text = grid_prose.reproducibility(pd.DataFrame([{**row, "rerun_mean": 203.0, "rerun_inside_ci": False,
                                                     "rerun_inside_seed_interval": False}]), kernels="avx2", seeds=3)
    assert "outside the 95% interval of one fresh seed" in text and "not reproducible within" in text
    assert "where a fresh seed would" not in text
    # three seeds retrained: their mean is judged against the interval of a rerun's mean over three seeds
    three = pd.DataFrame([{**row, "seed": seed, "rerun_inside_ci": seed != 1, "reruns": 3, "reruns_mean": 193.0,
                           "original_seeds_mean": 191.0, "rerun_mean_interval_low": 186.0,
                           "rerun_mean_interval_high": 196.0, "reruns_inside_rerun_interval": True}
                          for seed in range(3)])
    text = grid_prose.reproducibility(three, kernels="avx2", seeds=3)
    assert "the 3 retrained seeds together**: mean 193.00 against the original seeds' 191.00, inside" in text
    assert "Their mean lands where a fresh draw's mean would. A retrained seed outside" in text
    three.loc[0, "rerun_inside_seed_interval"] = False
    assert "(1 of 3 retrained seeds outside the interval of one fresh seed" in grid_prose.reproducibility(
        three, kernels="avx2", seeds=3)
    three["reruns_inside_rerun_interval"] = False
    text = grid_prose.reproducibility(three, kernels="avx2", seeds=3)
    assert "the retrained seeds' mean lands outside the interval in which a rerun's mean lands" in text


def test_flat_algorithms_compares_ppo_with_the_thesis_a2c_per_dimension():
    base = {"reference": "exact optimum", "timesteps": 2_000_000}
    table = pd.DataFrame([
        {**base, "experiment": "3d_wider_grid_n20", "dims": 3, "pct_of_reference": 75.0, "ci_low": 70.0, "ci_high": 80.0},
        {**base, "experiment": "3d_flat_ppo_n20", "dims": 3, "pct_of_reference": 94.0, "ci_low": 90.0, "ci_high": 96.0},
        {**base, "experiment": "4d_wider_grid_n20", "dims": 4, "pct_of_reference": 50.0, "ci_low": 40.0, "ci_high": 90.0},
        {**base, "experiment": "4d_flat_ppo_n20", "dims": 4, "pct_of_reference": 80.0, "ci_low": 70.0, "ci_high": 85.0},
        {**base, "experiment": "5d_factored_n20", "dims": 5, "pct_of_reference": 60.0, "ci_low": 50.0, "ci_high": 70.0},
    ])
    text = grid_prose.flat_algorithms(table)
    assert "3D, flat actions**: recurrent PPO 94.0%" in text and "+19.0 points; higher" in text
    assert "4D" in text and "not separated" in text and "5D" not in text
    assert grid_prose.flat_algorithms(table[table.dims == 5]) == ""


def test_observations_and_rewards_credits_memory_only_beyond_the_seeds_spread():
    rows = [metrics_row("wider_grid_n20", final_mean=198.0, final_sd_seeds=0.5, figure="14"),
            metrics_row("wider_grid_n20_mlp", recurrent=False, final_mean=156.0, final_sd_seeds=9.0)]
    text = grid_prose.observations_and_rewards(pd.DataFrame(rows))
    assert "**Bullseye, GridObs, recurrent A2C** (thesis fig. 14)" in text and "no recurrence**" in text
    assert "Memory matters with GridObs" in text and "42.0 more than the same A2C without its GRU" in text
    rows[1].update(final_mean=195.0)
    text = grid_prose.observations_and_rewards(pd.DataFrame(rows))
    assert "Memory matters" not in text and "3.0 against the same A2C without its GRU, within the seeds' spread (9.0)" in text
