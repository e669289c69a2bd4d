"""The sentences of notebooks 08-09 from hand-made tables."""

import pandas as pd
import pytest

from musicrec.errors import ParameterError
from musicrec.prose import features as prose


def test_golden_sentences_name_both_arithmetics():
    golden = pd.DataFrame({"model": ["msd_musicnn", "msd_musicnn"], "log-mel": ["float32 (ours)", "float16 (as musicnn)"],
                           "max_abs_diff": [1.06e-4, 3.0e-7]})
    text = prose.golden_sentences(golden)
    assert "1.06e-04" in text and "3.00e-07" in text and "rounds its input to float16" in text
    with pytest.raises(ParameterError, match="max_abs_diff"):
        prose.golden_sentences(golden.drop(columns="max_abs_diff"))


def test_agreement_sentences_compare_the_corpora():
    table = pd.DataFrame({"corpus": ["synthetic", "synthetic", "real", "real"], "tagger": ["msd_vgg"] * 4,
                          "genre": ["metal", "rock", "metal", "rock"], "clips": [20, 20, 24, 19],
                          "agreement": [0.0, 0.7, 0.8, 0.1], "competing": [7, 7, 4, 4]})
    text = prose.agreement_sentences(table)
    assert "synthetic corpus, `msd_vgg` (7 genre tags compete, chance 14%): 35% of 40 clips agree" in text
    assert "recognised in most clips: rock; in none: metal" in text
    assert "metal with `msd_vgg` 0% (synthetic) vs 80% (real)" in text


def test_tempo_sentences_report_both_accuracies_and_octave_errors():
    summary = pd.DataFrame({"genre": ["jazz", "rock", "all"], "clips": [10, 10, 20], "accuracy1": [0.5, 0.9, 0.7],
                            "accuracy2": [1.0, 0.9, 0.95]})
    text = prose.tempo_sentences(summary)
    assert "for 70% of the 20 clips" in text and "95%" in text and "lowest Accuracy 1 is jazz's (50%)" in text
    assert "octave errors" in text and "common in jazz" in text
    with pytest.raises(ParameterError, match="'all' row"):
        prose.tempo_sentences(summary.iloc[:2])


def test_distance_comparison_reads_every_layer():
    # in layer 2 country, not blues, is nearest to jazz: the sentence must say so, not "blues in every layer"
    reading = pd.DataFrame({"classical / other pairs": [1.34, 1.52, 1.06],
                            "nearest to metal": ["disco, rock", "rock, disco", "rock, reggae"],
                            "nearest to jazz": ["country, blues", "blues, country", "blues, reggae"]},
                           index=["layer 2", "layer 3", "last layer"])
    text = prose.distance_comparison(reading)
    assert "layer 2: country, blues; layer 3: blues, country; last layer: blues, reggae" in text
    assert "| jazz is nearest to blues and country (last layer) | partly" in text
    assert "partly: ratio 1.34 in layer 2 and 1.52 in layer 3 (larger in layer 3)" in text
    assert "agrees: classical's ratio is 1.06 in the last layer, its smallest" in text
    assert "rock comes first in layer 3 and last layer" in text


def test_knn_sentences_follow_the_groupings():
    rows = []
    for layer, base in (("layer 2", 0.6), ("layer 3", 0.7)):
        for grouping, drop in (("clip", 0.0), ("track", 0.1), ("artist", 0.3)):
            for dims, extra in (("4", 0.0), ("all", 0.1)):
                rows.append({"corpus": "real", "layer": layer, "dims": dims, "k": 1, "grouping": grouping,
                             "accuracy": base - drop + extra, "balanced_accuracy": base - drop + extra, "labels": 5})
    knn = pd.DataFrame(rows)
    text = prose.grouped_knn_sentences(knn)
    assert "layer 3 0.70 → 0.60 → 0.40" in text and "chance 0.20" in text
    assert "Best with whole artists left out: layer 3 (0.40)" in text and "no PCA): layer 3 0.50" in text
    cost = prose.pca_cost_sentence(knn, layer="layer 3", grouping="artist")
    assert "from 0.50 to 0.40" in cost


def test_counts_and_top_tags():
    counts = pd.DataFrame({"genre": ["metal"], "clips": [24], "distinct_tracks": [8], "distinct_artists": [3]})
    assert prose.group_count_sentences(counts, "real") == "Real-audio corpus: metal 24 clips (8 tracks, 3 artists)."
    top = pd.DataFrame({"corpus": ["synthetic"] * 3, "tagger": ["msd_vgg"] * 3, "genre": ["blues", "jazz", "rock"],
                        "tag": ["electronic", "electronic", "rock"]})
    assert "'electronic' is the most probable tag of 2 of its 3 genres (blues and jazz)" in prose.top_tag_sentences(top)
