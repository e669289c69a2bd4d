"""The sentences of notebook 10 from hand-made tables."""

import numpy as np
import pandas as pd

from musicrec.prose import system as prose
from musicrec.system.evaluation import THESIS_TABLE1

COLUMNS = ["mad", "mad_genre_aware", "mad_independent", "rating", "rating_independent", "genre_fraction",
           "steps_to_genre", "steps_to_top", "reached_cell", "repeat_rate", "distinct_songs", "reached_genre",
           "reached_song"]


def per_genre(genres, seed=0):
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(rng.uniform(0.2, 1.5, size=(len(genres) + 1, len(COLUMNS))), columns=COLUMNS,
                         index=list(genres) + ["all"])
    return table


def test_table1_sentences_correlate_only_shared_genres():
    genres = list(THESIS_TABLE1)
    table = per_genre(genres)
    table["mad"] = [THESIS_TABLE1[g] for g in genres] + [1.0]  # identical to the thesis: correlation 1
    text = prose.table1_sentences(table, corpus="synthetic")
    assert "correlation with the thesis's table 1 over the 10 shared genres: 1.00" in text
    real = per_genre(["classical", "metal", "rock", "ambient", "electronic"])
    text = prose.table1_sentences(real, corpus="real")
    assert "shared with table 1: classical" in text and "(thesis 2.12)" in text and "correlation" not in text
    # the thesis's own range is over all its ten genres, not the three it shares with the real corpus
    assert "The thesis's person: 0.80-2.12 over its 10 genres" in text and "smallest for hiphop (0.80)" in text


def test_system_comparison_and_listeners():
    genres = ["classical", "metal", "rock"]
    table = per_genre(genres)
    agent, rule, oracle = "A2C", "rule baseline", "oracle"
    index = pd.MultiIndex.from_product([[agent, rule, oracle], ["thesis", "distinct", "rerank", "distinct_rerank"]])
    summary = pd.DataFrame(1.0, index=index, columns=COLUMNS)
    summary.loc[(agent, "rerank"), "rating"] = 1.5
    summary.loc[(agent, "rerank"), "rating_independent"] = 1.1
    reach = pd.DataFrame({"share": [0.8, 1.0, 1.0], "mean": [3.9, 2.5, 1.0], "median": [3, 2, 1]},
                         index=[agent, rule, oracle])
    text = prose.system_comparison(table, summary, reach, agent=agent, corpus="real", songs=265, seeds=3, dims=3,
                                   levels=5, rating4_share=0.109, rerank_k=10, rule=rule, oracle=oracle)
    assert "265 songs of the real-audio corpus on the 5^3 = 125-cell grid (2.1 songs per cell)" in text
    assert "rates 4 on 10.9% of the 125 positions" in text and "80.0% of the targets, after 3.9 steps" in text
    assert "rerank: perceptual +0.50, independent +0.10" in text
    overview = pd.DataFrame({"songs": [200, 265], "cells": [125, 125], "labels": [10, 5], "mad": [1.0, 1.1],
                             "mad_independent": [1.2, 1.3], "genre_fraction": [0.2, 0.5], "reached_song": [0.1, 0.2]},
                            index=["synthetic", "real"])
    assert "higher on the real-audio corpus" in prose.corpora_sentences(overview)


def test_catalog_sentences():
    from musicrec.prose import catalog

    comparison = pd.DataFrame({"feature": ["energy", "energy", "tempo"], "genre": ["metal", "ambient", "metal"],
                               "synthetic_mean": [0.92, 0.2, 135.0], "real_mean": [0.95, 0.5, 150.0],
                               "real_sd": [0.05, 0.1, 20.0], "tracks": [8, 8, 8], "difference": [0.03, 0.3, 15.0],
                               "within_sd": [True, False, True]})
    text = catalog.comparison_sentences(comparison)
    assert "2 of the 3 (feature, genre) means" in text and "**energy**: off for ambient" in text
    assert "synthetic 0.20, real 0.50 ± 0.10 over 8 tracks" in text and "**tempo**" not in text
    recon = pd.DataFrame({"feature": ["a", "b"], "real": [0.01, 0.2], "synthetic": [0.02, 0.1]})
    assert "reconstructs a better" in catalog.vae_sentences(recon)
