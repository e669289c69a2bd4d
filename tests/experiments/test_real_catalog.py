"""Notebook 16's tables: the genre comparison on a hand-made catalog, the budget, and the catalog and VAE runs."""

import numpy as np
import pandas as pd
import pytest

from musicrec.data.catalog import GENRE_PROFILES
from musicrec.errors import ParameterError
from musicrec.experiments import real_catalog as rcat
from musicrec.features.audio_features import VIBENET_FEATURES
from musicrec.profiles import load_profile


def test_genre_comparison_sets_the_hand_set_means_beside_the_real_ones():
    rows = []
    for i, energy in enumerate([0.9, 0.7, 0.8]):
        rows.append({"track_genre": "metal", "energy": energy, "mode": i % 2, **{n: 0.5 for n in VIBENET_FEATURES
                     if n != "energy"}, "loudness": -10.0, "tempo": 120.0})
    catalog = pd.DataFrame(rows)
    table = rcat.genre_comparison(catalog)
    assert set(table.genre) == {"metal"} and len(table) == 10
    energy = table.set_index("feature").loc["energy"]
    assert energy.synthetic_mean == GENRE_PROFILES.loc["metal", "energy"]
    assert energy.real_mean == pytest.approx(0.8) and energy.real_sd == pytest.approx(0.1)
    assert energy.within_sd == (abs(0.8 - energy.synthetic_mean) <= 0.1)
    mode = table.set_index("feature").loc["mode"]
    assert mode.real_mean == pytest.approx(1 / 3) and mode.synthetic_mean == GENRE_PROFILES.loc["metal", "p_major"]


def test_the_typed_budget_reads_like_the_profile_and_names_what_is_wrong():
    for profile in ("smoke", "default", "full"):
        budget = rcat.load_budget(profile)
        plain = load_profile("real_catalog", profile)
        assert {key: budget[key] for key in plain} == plain and rcat.load_budget(plain) == budget
        assert rcat.features_budget(budget).profile == plain["features"]["profile"]
    with pytest.raises(ParameterError, match="latent_profile='huge'"):
        rcat.load_budget({"features": {"profile": "smoke"}, "latent_profile": "huge"})
    with pytest.raises(ParameterError, match=r"needs \['latent_profile'\]"):
        rcat.load_budget({"features": {"profile": "smoke"}})
    with pytest.raises(ParameterError, match="features: the features block .* names no profile"):
        rcat.load_budget({"features": {"clips_per_genre": 2}, "latent_profile": "smoke"})


def test_catalog_and_vae_runs_on_the_stand_in_corpus(tmp_path):
    pytest.importorskip("vibenet")
    budget = {"features": {"profile": "smoke", "real_tracks_per_label": 1}, "latent_profile": "smoke", "jobs": 1}
    run = rcat.catalog_run(budget, tmp_path, progress=False)
    catalog = rcat.real_catalog(run)
    assert set(catalog.track_genre) == set(rcat.REAL_TO_SYNTHETIC) and catalog.source_track.is_unique
    assert catalog[list(VIBENET_FEATURES)].apply(lambda s: s.between(0, 1)).all().all()
    again = rcat.catalog_run(budget, tmp_path, progress=False)
    assert again.path == run.path and rcat.real_catalog(again).equals(catalog)
    vae = rcat.vae_run(budget, run, tmp_path, latent_dim=2)
    assert np.load(vae.file("latents.npy")).shape == (len(catalog), 2)
    assert len(pd.read_csv(vae.file("reconstruction.csv"))) == 11
    from musicrec.runs import code_fingerprint

    assert run.config["code"] == code_fingerprint(*rcat.CATALOG_MODULES)
    assert vae.config["code"] == code_fingerprint(*rcat.VAE_MODULES)
