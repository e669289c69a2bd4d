"""The session simulator: the MSSD schema, consistent columns, shared playlists, determinism."""

import numpy as np
import pandas as pd
import pytest

from musicrec.data.catalog import synthetic_catalog
from musicrec.data.session_simulator import (
    SimulatorConfig,
    load_simulated,
    mssd_track_features,
    population_posterior,
    simulate_sessions,
    simulated_listeners,
)
from musicrec.users.session_user import SkipParameters
from musicrec.data.sessions import LOG_COLUMNS, TRACK_FEATURE_COLUMNS, validate_log
from musicrec.errors import ParameterError

CONFIG = SimulatorConfig(n_sessions=300, n_users=50, n_tracks=200, n_playlists=8)


@pytest.fixture(scope="module")
def sim():
    return simulate_sessions(CONFIG, seed=1)


def test_schema_and_valid_sessions(sim):
    assert list(sim.log.columns) == list(LOG_COLUMNS)
    assert list(sim.track_features.columns) == list(TRACK_FEATURE_COLUMNS)
    validate_log(sim.log)
    lengths = sim.log.groupby("session_id").session_length.first()
    assert lengths.between(10, 20).all() and (lengths == 20).mean() > 0.3
    assert set(sim.log.track_id_clean) <= set(sim.track_features.track_id)


def test_skip_columns_nest_and_complement(sim):
    log = sim.log
    assert not (log.skip_1 & ~log.skip_2).any()
    assert not (log.skip_2 & ~log.skip_3).any()
    assert (log.not_skipped == ~log.skip_3).all()
    assert ((log.hist_user_behavior_reason_end == "trackdone") == log.not_skipped).all()
    pauses = log[["no_pause_before_play", "short_pause_before_play", "long_pause_before_play"]].sum(axis=1)
    assert (pauses == 1).all()
    first = log[log.session_position == 1]
    assert (first.long_pause_before_play == 1).all()
    later = log[log.session_position > 1]
    previous = log.hist_user_behavior_reason_end.shift(1)[later.index].replace("endplay", "playbtn")
    assert (later.hist_user_behavior_reason_start == previous).all()


def test_session_level_columns_are_constant(sim):
    per_session = sim.log.groupby("session_id")[["premium", "context_type", "date", "hour_of_day",
                                                 "hist_user_behavior_is_shuffle"]].nunique()
    assert (per_session == 1).all().all()


def test_probabilities_match_skips_and_rate_is_plausible(sim):
    p = sim.skip_probability
    assert p.shape == (len(sim.log),) and ((p > 0) & (p < 1)).all()
    skips = sim.log.skip_2.to_numpy()
    assert abs(skips.mean() - p.mean()) < 0.05  # calibrated draws
    assert skips[p > 0.8].mean() > 0.7 and skips[p < 0.2].mean() < 0.3
    assert 0.3 < skips.mean() < 0.7


def test_shared_playlists_make_common_sequences(sim):
    kinds = sim.session_kind.value_counts()
    assert {"playlist", "personal", "shuffle"} <= set(kinds.index)
    # consecutive pairs from playlists repeat across sessions far more than in personal sessions
    log = sim.log.assign(kind=sim.log.session_id.map(sim.session_kind))
    nxt = log.groupby("session_id").track_id_clean.shift(-1)
    pairs = pd.DataFrame({"kind": log.kind, "pair": log.track_id_clean + ">" + nxt}).dropna()
    repeats = pairs.groupby("kind").pair.apply(lambda p: p.duplicated().mean())
    assert repeats["playlist"] > 0.3 > repeats["personal"]


def test_same_seed_same_sessions_other_seed_differs():
    a = simulate_sessions(CONFIG, seed=5)
    b = simulate_sessions(CONFIG, seed=5)
    pd.testing.assert_frame_equal(a.log, b.log)
    np.testing.assert_array_equal(a.skip_probability, b.skip_probability)
    c = simulate_sessions(CONFIG, seed=6)
    assert not a.log.track_id_clean.equals(c.log.track_id_clean)


def test_write_and_load_round_trip(sim, tmp_path):
    sim.write(tmp_path)
    log, features, truth = load_simulated(tmp_path)
    pd.testing.assert_frame_equal(log, sim.log, check_dtype=False)
    np.testing.assert_allclose(truth.skip_probability, sim.skip_probability, atol=1e-6)
    assert len(features) == len(sim.track_features)


def test_track_feature_mapping_from_catalog():
    catalog = synthetic_catalog(50, seed=2)
    tf = mssd_track_features(catalog)
    np.testing.assert_allclose(tf.duration, catalog.duration_ms / 1000)
    np.testing.assert_allclose(tf.beat_strength, (catalog.danceability + catalog.energy) / 2, atol=1e-6)
    assert (tf["mode"] == np.where(catalog["mode"] == 1, "major", "minor")).all()
    vectors = tf[[f"acoustic_vector_{i}" for i in range(8)]].to_numpy()
    assert (np.abs(vectors) <= 1).all() and vectors.std(axis=0).min() > 0.05
    assert tf.us_popularity_estimate.between(90, 100).all()


def test_bad_settings_are_named():
    with pytest.raises(ParameterError, match="unknown simulator setting"):
        SimulatorConfig.from_dict({"n_session": 10})
    with pytest.raises(ParameterError, match="unknown skip parameter"):
        SimulatorConfig.from_dict({"skip": {"propensity": 1}})
    with pytest.raises(ParameterError, match="playlist_share"):
        SimulatorConfig(playlist_share=1.5)


def test_first_half_marginal_probability(sim):
    log = sim.log
    second = (2 * log.session_position > log.session_length).to_numpy()
    marginal = sim.marginal_probability
    assert np.isnan(marginal[~second]).all() and ((marginal[second] > 0) & (marginal[second] < 1)).all()
    # the first second-half track follows the realised first half: nothing is averaged out
    first_of_second = (log.session_position == log.session_length // 2 + 1).to_numpy()
    np.testing.assert_allclose(marginal[first_of_second], sim.skip_probability[first_of_second])
    later = second & ~first_of_second
    assert not np.allclose(marginal[later], sim.skip_probability[later])


def _session_arrays(sim):
    """Per session: catalog indices, skips, lengths, premium and context (positions in columns)."""
    index = pd.Series(np.arange(len(sim.track_features)), index=sim.track_features.track_id)
    groups = list(sim.log.groupby("session_id", sort=False))
    tracks = np.zeros((len(groups), 20), dtype=np.int64)
    skips = np.zeros((len(groups), 20), dtype=bool)
    for i, (_, g) in enumerate(groups):
        tracks[i, :len(g)] = index.loc[g.track_id_clean].to_numpy()
        skips[i, :len(g)] = g.skip_2.to_numpy()
    first = pd.DataFrame([g.iloc[0] for _, g in groups])
    return tracks, skips, first.session_length.to_numpy(), first.premium.to_numpy(), first.context_type.to_numpy()


def test_simulated_listeners_rebuild_the_population(sim):
    listeners = simulated_listeners(CONFIG, seed=1)
    tracks, skips, lengths, premium, contexts = _session_arrays(sim)
    truth = sim.skip_probability[:lengths[0]]
    logit = np.log(truth / (1 - truth))
    users = np.arange(CONFIG.n_users)
    rule = np.stack([listeners.skip_probability(users, np.zeros(len(users)), np.full(len(users), tracks[0, t]),
                                                np.repeat(skips[None, 0, :t], len(users), axis=0), t)
                     for t in range(lengths[0])], axis=1)
    # one listener explains the first session exactly up to the session's constant offset
    spread = (logit[None, :] - np.log(rule / (1 - rule))).std(axis=1)
    assert spread.min() < 1e-6
    assert listeners.premium[np.argmin(spread)] == premium[0]
    other = simulated_listeners(CONFIG, seed=2)
    assert not np.allclose(other.propensity, listeners.propensity)


def test_population_posterior_with_one_listener_is_the_first_half_oracle():
    # one listener and no mood: the only hidden thing left is the second half's own skips
    config = SimulatorConfig(n_sessions=20, n_users=1, n_tracks=100, n_playlists=3, marginal_replicas=4000,
                             skip=SkipParameters(mood_sd=0.0))
    sim = simulate_sessions(config, seed=3)
    tracks, skips, lengths, premium, contexts = _session_arrays(sim)
    posterior = population_posterior(simulated_listeners(config, seed=3), tracks, lengths, skips, premium,
                                     contexts, rng=np.random.default_rng(0), mood_points=1, samples=4000)
    marginal = np.full((len(lengths), 20), np.nan)
    for i, (_, g) in enumerate(sim.log.groupby("session_id", sort=False)):
        marginal[i, :len(g)] = sim.marginal_probability[g.index.to_numpy()]
    second = ~np.isnan(marginal)
    assert np.array_equal(second, ~np.isnan(posterior))
    np.testing.assert_allclose(posterior[second], marginal[second], atol=0.03)


def test_population_posterior_learns_from_the_first_half():
    sim = simulate_sessions(CONFIG, seed=1)
    tracks, skips, lengths, premium, contexts = _session_arrays(sim)
    posterior = population_posterior(simulated_listeners(CONFIG, seed=1), tracks[:40], lengths[:40],
                                     skips[:40], premium[:40], contexts[:40], rng=np.random.default_rng(0),
                                     samples=500)
    # sessions whose first half was mostly skipped get higher skip probabilities in the second half
    first_rate = np.array([skips[i, :lengths[i] // 2].mean() for i in range(40)])
    second_mean = np.nanmean(posterior, axis=1)
    assert np.corrcoef(first_rate, second_mean)[0, 1] > 0.8
    assert ((posterior[~np.isnan(posterior)] > 0) & (posterior[~np.isnan(posterior)] < 1)).all()
