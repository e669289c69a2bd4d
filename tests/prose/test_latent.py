"""The sentences of notebooks 11-13 follow their tables (hand-made tables in, the numbers out)."""

import numpy as np
import pandas as pd
import pytest

from musicrec.errors import ParameterError
from musicrec.prose import latent as latent_prose


def agent_table(**changes):
    base = dict(std_expected=0.0, pct_of_ceiling_std=1.0, above_ceiling=0.0, listened=0.5, like_rate=0.2,
                expected_before=np.nan, expected_before_std=np.nan, expected_after=np.nan, expected_after_std=np.nan)
    rows = [
        ("PPO", "ppo", "fixed", "knn", 10.0, 60.0, 60.0),
        ("PPO (flat MLP, candidates observed)", "ppo_mlp", "fixed", "knn", 10.0, 30.0, 30.0),
        ("PPO, the documents' design", "ppo_documents", "fixed", "knn", 10.0, 20.0, 20.0),
        ("PPO trained on liked-or-completed (README)", "ppo_liked_or_completed", "fixed", "knn", 10.0, 59.5, 59.5),
        ("PPO trained with an immediate-skip penalty (blog)", "ppo_skip_penalty", "fixed", "knn", 10.0, 40.0, 40.0),
        ("random neighbour", "random", "fixed", "knn", 10.0, 18.0, 18.0),
        ("myopic oracle (baseline)", "oracle", "fixed", "knn", 10.0, 64.0, 64.0),
        ("planner (ceiling)", "planner", "fixed", "knn", 10.0, 100.0, 100.0),
        ("PPO", "ppo", "fixed", "knn", 100.0, 61.0, 610.0),
        ("PPO", "ppo", "fixed", "continuous", 10.0, 45.0, 75.0),
        ("DDPG", "ddpg", "fixed", "continuous", 10.0, 55.0, 90.0),
        ("planner (ceiling)", "planner", "fixed", "continuous", 10.0, 100.0, 165.0),
        ("myopic oracle (baseline)", "oracle", "fixed", "continuous", 10.0, 100.0, 165.0),
    ]
    frame = pd.DataFrame([dict(agent=a, agent_id=i, listener=li, action_space=ac, **{"lambda": lam},
                               pct_of_ceiling=pct, mean_expected=value, **base) for a, i, li, ac, lam, pct, value in rows])
    mood = pd.DataFrame([
        dict(agent="PPO [mood change]", agent_id="ppo", expected_before=3.0, expected_before_std=0.1,
             expected_after=1.0, expected_after_std=0.1, pct_of_ceiling=50.0, mean_expected=30.0),
        dict(agent="RecurrentPPO [mood change]", agent_id="recurrent_ppo", expected_before=3.0,
             expected_before_std=0.1, expected_after=1.8, expected_after_std=0.1, pct_of_ceiling=60.0,
             mean_expected=36.0),
        dict(agent="PPO with the last 4 tracks and feedback stacked [mood change]", agent_id="ppo_history",
             expected_before=3.0, expected_before_std=0.1, expected_after=1.1, expected_after_std=0.1,
             pct_of_ceiling=51.0, mean_expected=31.0),
        dict(agent="PPO told the hidden mood (privileged) [mood change]", agent_id="ppo_told_mood",
             expected_before=3.0, expected_before_std=0.1, expected_after=2.5, expected_after_std=0.2,
             pct_of_ceiling=70.0, mean_expected=40.0),
        dict(agent="planner (ceiling) [mood change]", agent_id="planner", expected_before=3.0, expected_before_std=0.0,
             expected_after=3.6, expected_after_std=0.0, pct_of_ceiling=100.0, mean_expected=66.0),
        dict(agent="myopic oracle (baseline) [mood change]", agent_id="oracle", expected_before=2.8,
             expected_before_std=0.0, expected_after=0.7, expected_after_std=0.0, pct_of_ceiling=45.0,
             mean_expected=29.0),
    ]).assign(listener="mood_change", action_space="knn", **{"lambda": 10.0}, std_expected=0.0, pct_of_ceiling_std=2.0,
              above_ceiling=0.0, listened=0.4, like_rate=0.2)
    frame = pd.concat([frame, mood], ignore_index=True)
    for column, value in changes.items():
        frame[column] = value
    return frame


def test_agent_sentences_carry_the_table_numbers():
    text = latent_prose.agent_sentences(agent_table(), lambdas=[10.0, 100.0])
    assert "**PPO on the kNN candidates, λ = 10**: 60.0 ± 1.0% of the planner ceiling, below the myopic oracle (64.0%)" \
        in text
    assert "random neighbour 18.0 ± 1.0%" in text
    assert "The documents' design" in text and "20.0 ± 1.0%" in text and "flat MLP reaches 30.0 ± 1.0%" in text
    assert "PPO 45.0 ± 1.0%, DDPG 55.0 ± 1.0%" in text


def test_ceiling_sentences_say_when_the_planner_is_beaten():
    text = latent_prose.ceiling_sentences(agent_table(), width=32, wider={"width": 64, "gain_pct": 0.5})
    assert "100.0, 1.56 times the myopic oracle's (64.0)" in text
    assert "No policy's expected reward exceeded the planner's (beam width 32)" in text
    assert "width 64 finds 0.50% more" in text
    beaten = agent_table()
    beaten.loc[beaten.agent_id == "ddpg", "above_ceiling"] = 0.02
    assert "DDPG beat it on 2.0% of its sessions" in latent_prose.ceiling_sentences(beaten, width=32)


def test_reward_and_lambda_sentences():
    text = latent_prose.reward_sentences(agent_table(), lam=10.0)
    assert "liked or completed, 0 skipped (README): 59.5 ± 1.0% of the ceiling, within the seeds' spread of" in text
    assert "immediate skip (blog): 40.0 ± 1.0% of the ceiling, below PPO" in text
    text = latent_prose.lambda_sentence(agent_table(), lambdas=[10.0, 100.0])
    assert "λ = 10: like rate 0.200, 60.0 ± 1.0%" in text and "λ = 100: like rate 0.200, 61.0 ± 1.0%" in text


def test_mood_sentences_decide_on_memory_against_the_seed_spread():
    text = latent_prose.mood_sentences(agent_table(), lam=10.0)
    assert "the planner earns 3.60 expected reward per recommendation after the mood change (3.00 before)" in text
    assert "**RecurrentPPO**: 3.00 ± 0.10 per recommendation before the change, 1.80 ± 0.10 after (50.0%" in text
    assert "**PPO told the mood**: 3.00 ± 0.10 per recommendation before the change, 2.50 ± 0.20 after" in text
    assert "RecurrentPPO is 0.80 per recommendation ahead of PPO after the change, beyond the seeds' spread" in text
    assert "PPO with the last 4 tracks stacked is 0.10 per recommendation ahead of PPO after the change, within" in text
    assert "told the hidden mood, PPO earns +1.50 per recommendation after the change" in text
    assert "about that much to win" in text
    close = agent_table()
    close.loc[close.agent_id == "recurrent_ppo", "expected_after"] = 0.95
    close.loc[close.agent_id == "ppo_told_mood", "expected_after"] = 1.1
    text = latent_prose.mood_sentences(close, lam=10.0)
    assert "RecurrentPPO is 0.05 per recommendation behind PPO after the change, within" in text
    assert "does not help this learner recover" in text
    assert "a memory that only inferred the mood would not help it either" in text
    assert "+0.10 per recommendation after the change against PPO without it, within the seeds' spread" in text
    worse = agent_table()
    worse.loc[worse.agent_id == "ppo_told_mood", "expected_after"] = 0.5
    text = latent_prose.mood_sentences(worse, lam=10.0)
    assert "-0.50 per recommendation after the change against PPO without it, below it by more than" in text
    assert "does not help this learner recover" in text
    without_probes = agent_table()
    without_probes = without_probes[~without_probes.agent_id.isin(["ppo_history", "ppo_told_mood"])]
    text = latent_prose.mood_sentences(without_probes, lam=10.0)
    assert "What the mood is worth" not in text and "stacked" not in text


def test_curve_flattening():
    rising = pd.DataFrame({"return": np.arange(40.0)})
    flat = pd.DataFrame({"return": np.r_[np.arange(20.0), np.full(20, 20.0)]})
    assert latent_prose.curve_flattened([rising])["change_pct"] > 5
    result = latent_prose.curve_flattened([flat, flat])
    assert result["change_pct"] == pytest.approx(0.0)
    assert "its curve has flattened" in latent_prose.flattening_sentence("DDPG", result, steps=12000)
    assert "still rising" in latent_prose.flattening_sentence("DDPG", latent_prose.curve_flattened([rising]),
                                                                steps=100)
    with pytest.raises(ParameterError, match="no learning curves"):
        latent_prose.curve_flattened([])


def test_missing_columns_are_named():
    with pytest.raises(ParameterError, match=r"lacks the column\(s\) \['pct_of_ceiling'"):
        latent_prose.agent_sentences(agent_table().drop(columns=["pct_of_ceiling"]), lambdas=[10.0])


def test_vae_sentences():
    summary = pd.DataFrame([
        {"space": "VAE d=2, beta=0.25", "latent_dim": 2, "beta": 0.25, "active_dims": 2, "genre_purity": 0.3,
         "taste_distance": 0.5},
        {"space": "VAE d=4, beta=0.25", "latent_dim": 4, "beta": 0.25, "active_dims": 4, "genre_purity": 0.35,
         "taste_distance": 0.45},
        {"space": "VAE d=4, beta=1", "latent_dim": 4, "beta": 1.0, "active_dims": 2, "genre_purity": 0.2,
         "taste_distance": 0.6},
        {"space": "11 normalised features", "latent_dim": 11, "beta": np.nan, "active_dims": np.nan,
         "genre_purity": 0.5, "taste_distance": 0.4},
        {"space": "taste features (reference)", "latent_dim": 8, "beta": np.nan, "active_dims": np.nan,
         "genre_purity": 0.45, "taste_distance": 0.2},
    ])
    ratios = {"d=4": {"key": 0.01, "mode": 0.02, "tempo": 0.9, "liveness": 0.95, "energy": 0.3, "valence": 0.2}}
    text = latent_prose.vae_sentences(summary, ratios, beta=0.25)
    assert "**β = 0.25** keeps 2 of d = 2, 4 of d = 4 active dimensions" in text
    assert "**β = 1** keeps 2 of d = 4" in text
    assert "best encoded (validation error / variance) key 0.01, mode 0.02, valence 0.20, energy 0.30" in text
    assert "least encoded energy 0.30, tempo 0.90, liveness 0.95" in text
    assert "0.300 (d = 2), 0.350 (d = 4), below the 0.500 of the 11 normalised features" in text
    assert "against 0.200 for neighbours found in the taste features" in text


def test_propagation_sentences():
    errors = pd.DataFrame([
        {"method": "clusters", "n_clusters": 10, "decay_rate": 0.0, "rmse": 1.0, "spearman": 0.4, "top_overlap": 0.1},
        {"method": "clusters", "n_clusters": 10, "decay_rate": 1.0, "rmse": 0.9, "spearman": 0.3, "top_overlap": 0.05},
        {"method": "clusters", "n_clusters": 50, "decay_rate": 0.0, "rmse": 0.8, "spearman": -0.1, "top_overlap": 0.5},
        {"method": "clusters", "n_clusters": 50, "decay_rate": 1.0, "rmse": 0.7, "spearman": -0.2, "top_overlap": 0.4},
        {"method": "knn_latent", "n_clusters": 10, "decay_rate": np.nan, "rmse": 0.85, "spearman": 0.5,
         "top_overlap": 0.15},
        {"method": "knn_latent", "n_clusters": 50, "decay_rate": np.nan, "rmse": 0.75, "spearman": 0.55,
         "top_overlap": 0.4},
        {"method": "global_mean", "n_clusters": 10, "decay_rate": np.nan, "rmse": 0.78, "spearman": np.nan,
         "top_overlap": 0.05},
        {"method": "global_mean", "n_clusters": 50, "decay_rate": np.nan, "rmse": 0.77, "spearman": np.nan,
         "top_overlap": 0.05},
    ])
    gap = pd.DataFrame([
        {"policy": "PPO trained online (true listener)", "mean_reward": 65.0, "std_reward": 2.0,
         "simulator_predicted": np.nan, "pct_of_ceiling": 63.0},
        {"policy": "PPO trained on the propagated simulator", "mean_reward": 44.0, "std_reward": 1.0,
         "simulator_predicted": 23.0, "pct_of_ceiling": 43.0},
    ])
    text = latent_prose.propagation_sentences(errors, gap)
    assert "best with 50 clusters and decay rate 1 (0.700); with the same observed tracks the kNN reference scores " \
           "0.750 and one global mean 0.770" in text
    assert "below the kNN reference (0.500-0.550) at 2 of 2 cluster counts, negative for some decay rate at 50" in text
    assert "matches or beats the kNN reference at 1 of 2 cluster counts (50)" in text
    assert "lowers the RMSE in 2 of 2" in text and "raises the Spearman coefficient in 0" in text
    assert "earns 44.0 ± 1.0 per session (43.0% of the planner ceiling) against 65.0 ± 2.0 (63.0%)" in text
    assert "predicts 23.0, less than it earns" in text


def memory_table(**after):
    """The memory test's rows (mood change, continuous): expected reward per recommendation after the change."""
    values = {"planner": (8.4, 7.8, 100.0), "switch_on_dislike": (7.4, 5.9, 80.0), "mood_filter": (7.9, 7.3, 94.0),
              "ppo_likes": (2.8, 1.8, 27.0), "recurrent_ppo_likes": (3.0, 2.4, 32.0),
              "ppo_told_mood_likes": (3.2, 3.0, 37.0)}
    values.update({agent: (values[agent][0], value, values[agent][2]) for agent, value in after.items()})
    return pd.DataFrame([dict(agent=f"{agent} [mood change]", agent_id=agent, listener="mood_change",
                              action_space="continuous", **{"lambda": 10.0}, expected_before=before,
                              expected_before_std=0.1, expected_after=late, expected_after_std=0.1,
                              pct_of_ceiling=pct, pct_of_ceiling_std=1.0)
                         for agent, (before, late, pct) in values.items()])


def test_memory_sentences_weigh_the_lstm_against_what_the_mood_is_worth():
    text = latent_prose.memory_sentences(memory_table(), lam=10.0)
    assert "the planner earns 7.80 expected reward per recommendation after the mood change" in text
    assert "(no memory) 80.0 ± 1.0% of the ceiling, 5.90" in text and "94.0 ± 1.0%, 7.30 after the change (+1.40, beyond" in text
    assert "told the hidden mood, PPO earns +1.20 per recommendation after the change against PPO without it, beyond" in text
    assert "RecurrentPPO is 0.60 ahead of PPO after the change, beyond" in text and "recovers about 50%" in text
    assert "the best of them, PPO told the mood at 37.0 ± 1.0% of the ceiling, stays below even the rule without " \
        "memory (80.0 ± 1.0%)" in text
    # an LSTM no better than PPO: knowing the mood would help, the LSTM does not get it
    text = latent_prose.memory_sentences(memory_table(recurrent_ppo_likes=1.85), lam=10.0)
    assert "RecurrentPPO is 0.05 ahead of PPO after the change, within" in text
    assert "its LSTM does not recover that at this budget" in text and "recovers about" not in text
    assert latent_prose.memory_sentences(memory_table().iloc[:2], lam=10.0) == ""
