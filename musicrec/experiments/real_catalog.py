"""Notebook 16: a catalog of the real-audio corpus's tracks in the Spotify tracks schema, and the VAE on it.

Run kinds (folders under ``runs/``):

``real_catalog``
    the audio features of every clip of the real corpus (:mod:`musicrec.features.audio_features`:
    vibenet's seven, tempo, key, mode, loudness; ``clips.csv``) and one row per track in the Spotify
    tracks schema (``metrics.csv``): the mean of its clips (tempo: the median; key and mode from the mean
    chroma of its clips; ``duration_ms`` the whole track's; ``popularity`` is unknown and left empty).
``real_catalog_vae``
    the VAE of notebook 11 (same hyper-parameters, ``musicrec/configs/profiles/latent.yml``) trained on the
    real catalog; the synthetic catalog's VAE is notebook 11's own cached run
    (:func:`musicrec.experiments.latent.vae_run`).

The synthetic catalog's genre means are hand-set (:data:`musicrec.data.catalog.GENRE_PROFILES`);
:func:`genre_comparison` sets them beside the real tracks' features for the genres both have
(:data:`REAL_TO_SYNTHETIC`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musicrec.data.catalog import AUDIO_FEATURES, CATALOG_COLUMNS, GENRE_PROFILES, normalise_features
from musicrec.profiles import load_profile, profile_or_mapping
from musicrec.runs import Run, write_csv_atomic

STUDY = "real_catalog"
VERSION = 1
#: Real-corpus labels -> the synthetic catalog's genre of the same kind.
REAL_TO_SYNTHETIC = {"ambient": "ambient", "classical": "classical", "electronic": "edm", "metal": "metal",
                     "rock": "rock"}
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def load_budget(profile_or_budget: str | Mapping) -> dict[str, Any]:
    """The budget of notebook 16: a profile name or a budget dict."""
    return profile_or_mapping(STUDY, profile_or_budget)


def features_budget(budget: Mapping[str, Any]) -> dict[str, Any]:
    """The features study's budget of the real corpus (its profile with overrides)."""
    from musicrec.experiments import features

    return features.budget_with_overrides(budget["features"])


def track_id(track: str) -> str:
    """A stable 22-character base62 id of a track key (Spotify's id format)."""
    number = int(hashlib.sha1(track.encode()).hexdigest(), 16)
    chars = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def tracks_from_clips(clips: pd.DataFrame, metadata: pd.DataFrame, durations: Mapping[str, float]) -> pd.DataFrame:
    """One row per track in the Spotify tracks schema from per-clip features (see the module docstring)."""
    from musicrec.features.audio_features import VIBENET_FEATURES, key_and_mode

    frame = clips.merge(metadata[["track_id", "genre", "track", "artist", "title"]], left_on="clip",
                        right_on="track_id")
    chroma = [c for c in clips.columns if c.startswith("chroma_")]
    rows = []
    for track, group in frame.groupby("track", sort=False):
        key, mode, _ = key_and_mode(group[chroma].mean().to_numpy())
        row = {"track_id": track_id(track), "track_genre": group.genre.iloc[0], "popularity": np.nan,
               "duration_ms": int(round(1000 * durations[track])), "key": key, "mode": mode,
               "tempo": float(group.tempo.median()), "loudness": float(group.loudness.mean())}
        row.update({name: float(group[name].mean()) for name in VIBENET_FEATURES})
        row.update(source_track=track, artist=group.artist.iloc[0], title=group.title.iloc[0], clips=len(group))
        rows.append(row)
    return pd.DataFrame(rows)[list(CATALOG_COLUMNS) + ["source_track", "artist", "title", "clips"]]


def catalog_run(budget: Mapping[str, Any], runs_dir: str | os.PathLike = "runs", *, progress: bool = True) -> Run:
    """The cached run of the real catalog (``clips.csv`` and the per-track catalog as ``metrics.csv``)."""
    from musicrec.data.real_corpus import load_manifest, manifest_digest
    from musicrec.experiments.features import collection
    from musicrec.features.audio_features import clip_feature_table

    fbudget = features_budget(budget)
    table, identity = collection(fbudget, runs_dir, dataset="real")
    seconds = float(fbudget["seconds"])
    jobs = max(1, min(int(budget.get("jobs", 1)), len(table)))
    config = {"version": VERSION, "collection": identity, "seconds": seconds, "vibenet": "0.1.0"}

    def work(folder: Path) -> None:
        clips = clip_feature_table(table, seconds=seconds, jobs=jobs)
        manifest = load_manifest()
        durations = {}
        if identity["corpus"].get("manifest_sha1") == manifest_digest(manifest):
            durations = manifest.drop_duplicates("track").set_index("track").track_duration_s.to_dict()
        for track in table.track.unique():  # a stand-in corpus (smoke profile) has no real track lengths
            durations.setdefault(track, 2 * seconds)
        write_csv_atomic(clips, folder / "clips.csv")
        write_csv_atomic(tracks_from_clips(clips, table, durations), folder / "metrics.csv")

    return Run(runs_dir, "real_catalog", config, name=f"real-{len(table)}clips").execute(work)


def real_catalog(run: Run) -> pd.DataFrame:
    """The per-track catalog of a finished :func:`catalog_run`."""
    return run.metrics()


def vae_run(budget: Mapping[str, Any], catalog_run_: Run, runs_dir: str | os.PathLike = "runs", *,
            latent_dim: int | None = None, device: str = "cpu", progress: bool = False) -> Run:
    """Notebook 11's VAE (hyper-parameters of the latent study's profile) trained on the real catalog."""
    from musicrec.features.vae import latent_space, reconstruction_errors, save_vae, train_vae

    latent = load_profile("latent", budget["latent_profile"])
    latent_dim = int(latent_dim or latent["env_latent_dim"])
    config = {"version": VERSION, "catalog": f"{catalog_run_.kind}/{catalog_run_.path.name}", "latent_dim": latent_dim,
              **{k: latent[k] for k in ("vae_beta", "vae_hidden", "vae_epochs", "vae_patience", "vae_batch_size",
                                        "vae_learning_rate", "vae_validation_fraction", "vae_seed")}}

    def work(folder: Path) -> None:
        x = normalise_features(real_catalog(catalog_run_))
        fit = train_vae(x, latent_dim=latent_dim, beta=float(config["vae_beta"]), hidden=config["vae_hidden"],
                        epochs=int(config["vae_epochs"]), batch_size=int(config["vae_batch_size"]),
                        learning_rate=float(config["vae_learning_rate"]), patience=int(config["vae_patience"]),
                        validation_fraction=float(config["vae_validation_fraction"]), seed=int(config["vae_seed"]),
                        device=device, progress=progress)
        save_vae(fit.model, folder / "vae.pt")
        np.save(folder / "latents.npy", latent_space(fit.model, x))
        write_csv_atomic(reconstruction_errors(fit.model, x, fit.validation_index, names=AUDIO_FEATURES),
                         folder / "reconstruction.csv")
        write_csv_atomic(fit.history, folder / "metrics.csv")

    return Run(runs_dir, "real_catalog_vae", config, name=f"real-latent{latent_dim}").execute(work)


def genre_comparison(catalog: pd.DataFrame) -> pd.DataFrame:
    """Feature x genre: the synthetic catalog's hand-set mean beside the real tracks' mean, sd and count.

    Rows: one per (feature, genre) for the genres of :data:`REAL_TO_SYNTHETIC` present in ``catalog``;
    columns ``feature``, ``genre`` (the real label), ``synthetic_genre``, ``synthetic_mean``, ``real_mean``,
    ``real_sd``, ``tracks``, ``difference`` (real - synthetic) and ``within_sd`` (|difference| <= real_sd).
    ``mode`` is compared as the share of major-mode tracks (the synthetic ``p_major``).
    """
    columns = {"danceability": "danceability", "energy": "energy", "speechiness": "speechiness",
               "acousticness": "acousticness", "instrumentalness": "instrumentalness", "liveness": "liveness",
               "valence": "valence", "loudness": "loudness_mean", "tempo": "tempo_mean", "mode": "p_major"}
    rows = []
    for label, synthetic in REAL_TO_SYNTHETIC.items():
        part = catalog[catalog.track_genre == label]
        if part.empty:
            continue
        for feature, profile_column in columns.items():
            real_mean, real_sd = float(part[feature].mean()), float(part[feature].std(ddof=1)) if len(part) > 1 else np.nan
            synthetic_mean = float(GENRE_PROFILES.loc[synthetic, profile_column])
            rows.append({"feature": feature, "genre": label, "synthetic_genre": synthetic,
                         "synthetic_mean": synthetic_mean, "real_mean": real_mean, "real_sd": real_sd,
                         "tracks": len(part), "difference": real_mean - synthetic_mean,
                         "within_sd": bool(abs(real_mean - synthetic_mean) <= real_sd)})
    return pd.DataFrame(rows)
