"""Notebook 16: a catalog of the real-audio corpus's tracks in the Spotify tracks schema, and the VAE on it.

Run kinds (folders under ``runs/``):

``real_catalog``
    the audio features of every clip of the real corpus (:mod:`musicrec.features.audio_features`:
    vibenet's seven, tempo, key, mode, loudness; ``clips.csv``) and one row per track in the Spotify
    tracks schema (``metrics.csv``): the mean of its clips (tempo: the median; key and mode from the mean
    chroma of its clips; ``duration_ms`` the whole track's; ``popularity`` is unknown and left empty).
``real_catalog_vae``
    the VAE of notebook 11 (same hyper-parameters, ``musicrec/configs/hyperparams/latent_vae.yml``) trained on the
    real catalog; the synthetic catalog's VAE is notebook 11's own cached run
    (:func:`musicrec.experiments.latent.vae_run`).

The synthetic catalog's genre means are hand-set (:data:`musicrec.data.catalog.GENRE_PROFILES`);
:func:`genre_comparison` sets them beside the real tracks' features for the genres both have
(:data:`REAL_TO_SYNTHETIC`).

The budget is a :class:`RealCatalogBudget` (``musicrec/configs/profiles/real_catalog.yml``); the tracks are
made from their clips by :func:`musicrec.features.audio_features.tracks_from_clips`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from musicrec.data.catalog import AUDIO_FEATURES, GENRE_PROFILES, normalise_features
from musicrec.errors import ParameterError
from musicrec.experiments import features
from musicrec.profiles import PROFILES, Budget, load_profile
from musicrec.runs import Run, code_fingerprint, library_versions, write_csv_atomic

STUDY = "real_catalog"
VERSION = 1
#: The modules whose code computes the catalog's audio features and its VAE: their fingerprint and the library
#: versions are part of the runs' cache keys (as in the other studies), so a change of that code recomputes.
CATALOG_MODULES = ("musicrec.features.audio_features", "musicrec.data.audio")
VAE_MODULES = ("musicrec.features.vae", "musicrec.data.catalog")
#: Real-corpus labels -> the synthetic catalog's genre of the same kind.
REAL_TO_SYNTHETIC = {"ambient": "ambient", "classical": "classical", "electronic": "edm", "metal": "metal",
                     "rock": "rock"}


@dataclass(frozen=True, kw_only=True)
class RealCatalogBudget(Budget):
    """What a profile of ``configs/profiles/real_catalog.yml`` spends on notebook 16."""

    study: ClassVar[str] = STUDY

    features: dict[str, Any]
    """The features study's ``profile`` that builds (or finds) the real corpus, and overrides of its keys."""
    latent_profile: str
    """The profile of ``configs/profiles/latent.yml`` whose VAE hyper-parameters (and cached synthetic VAE)
    are used."""
    jobs: int = 1
    """Worker processes computing the clips' audio features."""

    def validate(self, source: str) -> None:
        if self.latent_profile not in PROFILES:
            raise ParameterError(f"{source}: latent_profile={self.latent_profile!r} is not one of {PROFILES}")
        if self.jobs < 1:
            raise ParameterError(f"{source}: jobs={self.jobs} must be >= 1")
        try:
            features.budget_with_overrides(self.features)
        except ParameterError as error:
            raise ParameterError(f"{source}: features: {error}") from None


def load_budget(profile_or_budget: str | Mapping) -> RealCatalogBudget:
    """The validated budget of notebook 16: a profile name or a budget mapping."""
    return RealCatalogBudget.of(profile_or_budget)


def features_budget(budget: Mapping[str, Any]) -> features.FeaturesBudget:
    """The features study's budget of the real corpus (its profile with overrides)."""
    return features.budget_with_overrides(budget["features"])


def catalog_run(budget: Mapping[str, Any], runs_dir: str | os.PathLike = "runs", *, progress: bool = True) -> Run:
    """The cached run of the real catalog (``clips.csv`` and the per-track catalog as ``metrics.csv``)."""
    from musicrec.data.real_corpus import track_durations
    from musicrec.features.audio_features import clip_feature_table, tracks_from_clips

    fbudget = features_budget(budget)
    table, identity = features.collection(fbudget, runs_dir, dataset="real")
    seconds = float(fbudget["seconds"])
    jobs = max(1, min(int(budget.get("jobs", 1)), len(table)))
    config = {"version": VERSION, "collection": identity, "seconds": seconds, "vibenet": "0.1.0",
              "code": code_fingerprint(*CATALOG_MODULES), "versions": library_versions("numpy", "librosa", "onnxruntime")}

    def work(folder: Path) -> None:
        clips = clip_feature_table(table, seconds=seconds, jobs=jobs)
        # a stand-in corpus (smoke profile) has no real track lengths: twice a clip's
        durations = track_durations(table, identity["corpus"], fallback=2 * seconds)
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
                                        "vae_learning_rate", "vae_validation_fraction", "vae_seed")},
              "code": code_fingerprint(*VAE_MODULES), "versions": library_versions("numpy", "torch")}

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
