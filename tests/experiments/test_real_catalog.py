"""Notebook 16's tables: tracks from clips, the genre comparison, and the VAE run on a hand-made catalog."""

import numpy as np
import pandas as pd
import pytest

from musicrec.data.catalog import CATALOG_COLUMNS, GENRE_PROFILES
from musicrec.experiments import real_catalog as rcat
from musicrec.features.audio_features import MAJOR_PROFILE, MINOR_PROFILE, VIBENET_FEATURES


def clips_of(tracks):
    """Per-clip features of ``tracks`` = [(track, genre, [tempo per clip], chroma profile)]."""
    clips, metadata = [], []
    for t, (track, genre, tempos, chroma) in enumerate(tracks):
        for c, tempo in enumerate(tempos):
            clip = f"{genre}.{t}{c}"
            row = {"clip": clip, **{name: 0.1 * (t + 1) + 0.01 * c for name in VIBENET_FEATURES},
                   "tempo": tempo, "loudness": -20.0 - c}
            row.update({f"chroma_{i:02d}": v for i, v in enumerate(chroma)})
            clips.append(row)
            metadata.append({"track_id": clip, "genre": genre, "track": track, "artist": f"artist {t}",
                             "title": f"title {t}"})
    return pd.DataFrame(clips), pd.DataFrame(metadata)


def test_tracks_from_clips_in_the_spotify_schema():
    clips, metadata = clips_of([("pkg:a.ogg", "metal", [100.0, 102.0, 180.0], np.roll(MINOR_PROFILE, 4)),
                                ("pkg:b.ogg", "classical", [70.0], np.roll(MAJOR_PROFILE, 7))])
    tracks = rcat.tracks_from_clips(clips, metadata, {"pkg:a.ogg": 200.5, "pkg:b.ogg": 61.0})
    assert list(tracks.columns[: len(CATALOG_COLUMNS)]) == list(CATALOG_COLUMNS)
    a, b = tracks.iloc[0], tracks.iloc[1]
    assert (a.track_genre, a.clips, a.tempo, a.key, a["mode"], a.duration_ms) == ("metal", 3, 102.0, 4, 0, 200500)
    assert a.loudness == pytest.approx(-21.0) and a.energy == pytest.approx(0.11)
    assert (b.key, b["mode"], b.tempo) == (7, 1, 70.0) and np.isnan(b.popularity)
    assert len(a.track_id) == 22 and rcat.track_id("pkg:a.ogg") == a.track_id != b.track_id


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
