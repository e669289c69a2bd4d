"""The sentences of notebooks 14-15 follow their tables (hand-made tables, no training)."""

import numpy as np
import pandas as pd
import pytest

from musicrec.errors import ParameterError
from musicrec.experiments import sessions
from musicrec.prose import sessions as sessions_prose

SEQ = {"lstm": "LSTM seq2seq", "transformer": "Transformer", "gru4rec": "GRU4Rec", "ddpg": "DDPG (decaying mask noise)"}


def _summaries(values):
    return pd.DataFrame([{"model": m, "seed": s, "train_maa": v + 0.1, "val_maa": v, "test_maa": v + 0.01 * s}
                         for m, v in values.items() for s in range(3)])


def _table(neural, heuristics):
    rows = [{"model": k, "test_maa": v} for k, v in heuristics.items()]
    rows += [{"model": SEQ[k], "test_maa": v} for k, v in neural.items()]
    return pd.DataFrame(rows)


def test_maa_stats_are_mean_and_std_over_seeds():
    stats = sessions_prose.maa_stats(_summaries({"lstm": 0.2, "gru4rec": 0.4}), SEQ)
    assert stats.loc["GRU4Rec", "test_maa"] == pytest.approx(0.41)
    assert stats.loc["GRU4Rec", "test_maa_std"] == pytest.approx(np.std([0.4, 0.41, 0.42], ddof=1))
    with pytest.raises(ParameterError, match="test_maa"):
        sessions_prose.maa_stats(pd.DataFrame({"model": ["lstm"]}), SEQ)


@pytest.mark.parametrize("neural_best, verdict", [(0.5, "at or above"), (0.25, "below")])
def test_the_heuristic_sentence_follows_the_numbers(neural_best, verdict):
    neural = {"lstm": 0.1, "gru4rec": neural_best, "ddpg": 0.01}
    stats = sessions_prose.maa_stats(_summaries(neural), SEQ)
    heuristics = {"Session-kNN": 0.3, sessions.CEILING_LABEL: 0.8}
    table = _table({k: stats.test_maa[SEQ[k]] for k in neural}, heuristics)
    by_kind = pd.DataFrame([{"model": m, "session_kind": kind, "test_maa": v}
                            for m, values in {"GRU4Rec": (0.9, 0.1, 0.05), "Session-kNN": (0.5, 0.2, 0.1),
                                              sessions.CEILING_LABEL: (0.95, 0.6, 0.4)}.items()
                            for kind, v in zip(("playlist", "shuffle", "personal"), values)])
    text = sessions_prose.sequence_sentences(stats, table, labels=SEQ, heuristic_labels=["Session-kNN"],
                                             ceiling_label=sessions.CEILING_LABEL, paper=sessions.PAPER_SEQUENCE,
                                             source="simulated", size="tiny", by_kind=by_kind)
    assert f"GRU4Rec {100 * stats.test_maa['GRU4Rec']:.1f}% is {verdict} Session-kNN" in text
    assert "beyond its std over seeds (1.00)" in text  # seeds 0.01 apart; gaps of 20 and 5 points
    close = _table({k: stats.test_maa[SEQ[k]] for k in neural}, {"Session-kNN": stats.test_maa["GRU4Rec"] - 0.005})
    close_text = sessions_prose.sequence_sentences(stats, close, labels=SEQ, heuristic_labels=["Session-kNN"],
                                                   ceiling_label=sessions.CEILING_LABEL,
                                                   paper=sessions.PAPER_SEQUENCE, source="simulated", size="tiny")
    assert "by 0.50 points, within GRU4Rec's std over seeds (1.00): its seeds do not separate the two" in close_text
    losses = text.split("Where GRU4Rec loses to Session-kNN**: on ")[1].split("\n")[0]
    assert "shuffle sessions (" in losses and "personal sessions (" in losses  # 0.1 < 0.2 and 0.05 < 0.1
    assert "playlist sessions (" not in losses
    assert "DDPG (decaying mask noise)" in text and "ceiling 95.0%" in text


def test_exploration_sentences_name_the_smoothest_and_the_highest():
    steps = np.arange(0, 31) * 100
    smooth = [pd.DataFrame({"timesteps": steps, "val_maa": np.linspace(0, 0.2, 31)}) for _ in range(3)]
    noisy = [pd.DataFrame({"timesteps": steps, "val_maa": 0.1 + 0.1 * (-1.0) ** np.arange(31)}) for _ in range(3)]
    text = sessions_prose.exploration_sentences({"ddpg": smooth, "ddpg_no_noise": noisy},
                                                {"ddpg": "decayed", "ddpg_no_noise": "none"}, {"Random tracks": 0.0})
    assert "smoothest curve: decayed" in text and "3 seeds, 31 evaluations)" in text
    longer = [pd.DataFrame({"timesteps": np.arange(0, 61) * 100, "val_maa": np.linspace(0, 0.3, 61)})]
    both = sessions_prose.exploration_sentences({"ddpg": smooth, "ddpg_wide": longer},
                                                {"ddpg": "decayed", "ddpg_wide": "wide"}, {"Random tracks": 0.0})
    assert "31 evaluations over 3,000 env steps" in both and "61 evaluations over 6,000 env steps" in both
    assert "ends above Random tracks" in text
    low = sessions_prose.exploration_sentences({"ddpg": noisy}, {"ddpg": "none"}, {"Most popular": 0.5})
    assert "Every variant ends below Most popular" in low


def test_exploration_sentences_compare_the_fixed_action_apart_from_the_heuristics():
    steps = np.arange(0, 31) * 100
    curve = [pd.DataFrame({"timesteps": steps, "val_maa": np.full(31, 0.01)}) for _ in range(3)]
    references = {"Most popular": 0.005, "Last track": 0.04}
    text = sessions_prose.exploration_sentences({"ddpg": curve}, {"ddpg": "decayed"}, references,
                                                fixed_action="Last track")
    assert "decayed ends above Most popular" in text            # not compared with the fixed action
    assert "Last track scores 4.00%, 4 times the best variant's final level" in text
    above = sessions_prose.exploration_sentences({"ddpg": curve}, {"ddpg": "decayed"}, {"Last track": 0.005},
                                                 fixed_action="Last track")
    assert "decayed ends at or above Last track (0.50%)" in above


def test_coinciding_means_are_found_with_their_seeds():
    summaries = pd.DataFrame({"model": ["lstm_no_skip"] * 2 + ["ddpg"] * 2 + ["lstm"] * 2,
                              "train_maa": [0.4, 0.6, 0.3, 0.7, 0.2, 0.3]})
    found = sessions.coinciding_scores(summaries, sessions.SKIP_MODELS)
    assert len(found) == 1 and found.per_seed_first.iloc[0] == [0.4, 0.6]
    assert found.difference.iloc[0] == pytest.approx(0.0)


def test_exploration_claims_test_the_papers_two_sentences_on_the_curves():
    steps = np.arange(0, 31) * 100
    rising = [pd.DataFrame({"timesteps": steps, "val_maa": np.linspace(0.3, 0.6, 31) + 0.01 * s}) for s in range(3)]
    jagged = [pd.DataFrame({"timesteps": steps, "val_maa": 0.45 + 0.1 * (-1.0) ** np.arange(31)}) for _ in range(3)]
    labels = {"ddpg": "decaying", "ddpg_constant_noise": "constant", "ddpg_no_noise": "none"}
    variants = {"decaying": "ddpg", "constant": "ddpg_constant_noise", "none": "ddpg_no_noise"}
    text = sessions_prose.exploration_sentences(
        {"ddpg": rising, "ddpg_constant_noise": jagged, "ddpg_no_noise": jagged}, labels, {"all skipped": 0.4},
        variants=variants)
    assert "noise alone is very unstable" in text and "it holds here." in text
    assert "final level 59.00% vs 47.00% (decaying vs none): smoother holds; higher holds" in text
    reversed_ = sessions_prose.exploration_sentences(
        {"ddpg": jagged, "ddpg_constant_noise": rising, "ddpg_no_noise": rising}, labels, {"all skipped": 0.4},
        variants=variants)
    assert "it does not hold here." in reversed_ and "smoother does not hold; higher does not hold" in reversed_
    close = sessions_prose.exploration_sentences({"ddpg": rising, "ddpg_no_noise": rising}, labels, {},
                                                 variants=variants)
    assert "higher cannot be told from seed noise" in close and "smoother cannot be told from seed noise" in close
    # step-to-step changes 0.10 vs 0.12 on average, but seeds that range over 0.02-0.20: no verdict either way
    uneven = [pd.DataFrame({"timesteps": steps, "val_maa": 0.45 + a * (-1.0) ** np.arange(31)}) for a in (0.01, 0.05, 0.09)]
    jumpy = [pd.DataFrame({"timesteps": steps, "val_maa": 0.45 + a * (-1.0) ** np.arange(31)}) for a in (0.02, 0.06, 0.10)]
    mixed = sessions_prose.exploration_sentences({"ddpg": uneven, "ddpg_constant_noise": jumpy}, labels, {},
                                                 variants=variants)
    assert "(largest std over seeds 8.00): the seeds cannot tell." in mixed
    bounded = sessions_prose.exploration_sentences({"ddpg": rising}, labels, {"all skipped": 0.4, "oracle": 0.7},
                                                   ceiling="oracle")
    assert "decaying ends above all skipped" in bounded and "oracle bounds every policy" in bounded
    assert "11.00 points below it" in bounded
    with pytest.raises(ParameterError, match="variants takes"):
        sessions_prose.exploration_sentences({"ddpg": rising}, labels, {}, variants={"mask": "ddpg"})
    # two sets of variants (the paper's sizes and a wider DDPG): the claims are tested on each
    labels = {**labels, "wide": "wide decaying", "wide_constant": "wide constant"}
    both = sessions_prose.exploration_sentences(
        {"ddpg": rising, "ddpg_constant_noise": jagged, "wide": jagged, "wide_constant": rising}, labels, {},
        variants=[variants, {"decaying": "wide", "constant": "wide_constant"}])
    assert both.count("noise alone is very unstable") == 2
    assert "curve (constant) changes by" in both and "it holds here." in both
    assert "curve (wide constant) changes by" in both and "it does not hold here." in both


def test_exploration_sentences_follow_the_variant_that_starts_at_the_fixed_action():
    steps = np.arange(0, 31) * 100
    falling = [pd.DataFrame({"timesteps": steps, "val_maa": np.r_[0.03, np.full(30, 0.001)]}) for _ in range(3)]
    text = sessions_prose.exploration_sentences({"ddpg_residual": falling}, {"ddpg_residual": "residual"},
                                                {"Last track": 0.03}, fixed_action="Last track",
                                                from_fixed_action=["ddpg_residual"])
    assert ("residual starts at 3.00% (the fixed action), falls below half of that by 100 steps and ends at "
            "0.10%") in text
    assert "move the actor away from the better policy" in text
