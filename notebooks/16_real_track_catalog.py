# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 16 · A catalog of real tracks beside the synthetic one
#
# Notebooks 11-13 follow the Spotify RL project ([ranaware2025-readme], [ranaware2025-blog]): a VAE compresses the
# 11 audio features of Spotify's API (danceability, energy, key, loudness, mode, speechiness, acousticness,
# instrumentalness, liveness, valence, tempo) into a latent space the recommender acts in. Without Spotify's data
# they run on a **synthetic catalog** whose genre means are set by hand (`musicrec/data/catalog.py`). This notebook
# measures those features on **real recordings**, the tracks of the real-audio corpus of notebook 08, puts them in
# the same Spotify tracks schema, trains the same VAE on them, and checks the synthetic catalog's hand-set genre
# means against them.
#
# * Seven features come from the PyPI package `vibenet==0.1.0` (an EfficientNet distilled on the Free Music
#   Archive; its ONNX model ships in the wheel, run with onnxruntime); tempo from librosa's beat tracker; key and mode
#   from the mean chroma against the Krumhansl-Kessler key profiles; loudness is the excerpt's RMS level in dBFS
#   before normalisation (Spotify's loudness is an integrated loudness of the whole track). These are estimates
#   by other models, not Spotify's own numbers.
# * A track's features are the means over its (at most three) 30-s clips; `popularity` is unknown and left empty.
# * The real catalog has about a hundred tracks in five labels; the synthetic one 10,000 in ten genres. Only the
#   five shared genres are compared (electronic is set beside the synthetic `edm`).
#
# Code: `musicrec/features/audio_features.py`, `musicrec/experiments/real_catalog.py`; sentences from
# `musicrec/prose/catalog.py`; budgets in `musicrec/configs/profiles/real_catalog.yml` (the VAE's in `latent.yml`).

# %% tags=["parameters"]
profile = "default"       # smoke | default | full: budgets in musicrec/configs/profiles/real_catalog.yml
device = "cpu"            # torch device of the VAE (cpu, cuda or auto)
figures_dir = "figures"   # figures and CSV tables are written here (root-relative or absolute)
runs_dir = "runs"         # cached runs (the catalog, the VAEs, the smoke corpus) live here

# %% tags=["injected-parameters"]
# Parameters
profile = "default"
device = "cpu"


# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display
from tqdm import TqdmWarning

from musicrec.data.catalog import AUDIO_FEATURES
from musicrec.data.corpus import genre_order
from musicrec.experiments import latent
from musicrec.experiments import real_catalog as rcat
from musicrec.plotting import setup_style
from musicrec.profiles import load_profile
from musicrec.prose import catalog as prose
from musicrec.reporting import FigureWriter
from musicrec.utils import setup_torch

warnings.filterwarnings("ignore", category=TqdmWarning)
setup_style()
setup_torch(device)
budget = rcat.load_budget(profile)
out = FigureWriter(figures_dir, "16")
run = rcat.catalog_run(budget, runs_dir, progress=False)
catalog = rcat.real_catalog(run)
print(f"{len(catalog)} tracks ({catalog.clips.sum()} clips) in {catalog.track_genre.nunique()} labels; run "
      f"{run.kind}/{run.path.name} made in {run.info()['wall_time_s']:.0f} s")
out.table(catalog, "real_catalog")
display(catalog.groupby("track_genre")[list(AUDIO_FEATURES)].mean().round(2))

# %% [markdown]
# ## The synthetic catalog's genre means against the real tracks
# For each feature and shared genre: the synthetic catalog's hand-set mean (`GENRE_PROFILES`; for `mode` its share
# of major keys) and the real tracks' mean ± standard deviation.

# %%
comparison = out.table(rcat.genre_comparison(catalog), "genre_comparison")
display(comparison.pivot_table(index="feature", columns="genre", values=["synthetic_mean", "real_mean"], sort=False).round(2))
features = list(dict.fromkeys(comparison.feature))
genres = genre_order(comparison.genre)
fig, axes = plt.subplots(2, (len(features) + 1) // 2, figsize=(3.6 * ((len(features) + 1) // 2), 7.2), squeeze=False)
for ax, feature in zip(axes.ravel(), features):
    rows = comparison[comparison.feature == feature].set_index("genre").loc[genres]
    x = np.arange(len(genres))
    ax.errorbar(x, rows.real_mean, yerr=rows.real_sd, fmt="o", color="C0", capsize=3, label="real tracks: mean ± sd")
    ax.scatter(x, rows.synthetic_mean, marker="D", color="C3", zorder=3, label="synthetic catalog's mean")
    ax.set(title=feature, xticks=x)
    ax.set_xticklabels(genres, rotation=40, ha="right", fontsize=8)
    ax.set_ylabel({"loudness": "dBFS / dB", "tempo": "BPM", "mode": "share major"}.get(feature, "0-1"))
for ax in axes.ravel()[len(features):]:
    ax.axis("off")
axes[0, 0].legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.35))
fig.suptitle("Audio features per genre: the synthetic catalog's hand-set means vs real tracks")
fig.tight_layout()
out.figure(fig, "genre_comparison")
plt.show()
display(Markdown(prose.comparison_sentences(comparison)))

# %% [markdown]
# ## The VAE on real tracks beside the synthetic catalog's
# The VAE of notebook 11 (same hyper-parameters; 4-D latent, the recommender's) trained on the real catalog, and
# notebook 11's own run on the synthetic catalog (reused from its cache). Reconstruction error per feature on each
# VAE's validation tracks, in the normalised [0, 1] units both share.

# %%
lbudget = load_profile("latent", budget["latent_profile"])
real_vae = rcat.vae_run(budget, run, runs_dir, device=device)
synthetic_vae = latent.vae_run(lbudget, int(lbudget["env_latent_dim"]), runs_dir, device=device, progress=False)
reconstruction = pd.DataFrame({
    "feature": list(AUDIO_FEATURES),
    "real": pd.read_csv(real_vae.file("reconstruction.csv")).mse_validation.to_numpy(),
    "synthetic": pd.read_csv(synthetic_vae.file("reconstruction.csv")).mse_validation.to_numpy(),
    "real_variance": pd.read_csv(real_vae.file("reconstruction.csv")).variance.to_numpy(),
})
out.table(reconstruction, "vae_reconstruction")
display(reconstruction.set_index("feature").round(4))
fig, (left, right) = plt.subplots(1, 2, figsize=(15, 4.8))
reconstruction.set_index("feature")[["real", "synthetic"]].plot.bar(ax=left, color=["C0", "0.6"])
left.scatter(np.arange(len(reconstruction)), reconstruction.real_variance, marker="_", s=300, color="k", zorder=3,
             label="variance of the real feature (error of predicting its mean)")
left.set(title="VAE reconstruction error per feature (validation)", xlabel="feature", ylabel="mean squared error (normalised units)")
left.legend(fontsize=8)
left.tick_params(axis="x", rotation=40)
latents = np.load(real_vae.file("latents.npy"))
palette = dict(zip(genre_order(catalog.track_genre), sns.color_palette("tab10", catalog.track_genre.nunique())))
for genre in genre_order(catalog.track_genre):
    mask = catalog.track_genre.to_numpy() == genre
    right.scatter(latents[mask, 0], latents[mask, 1], s=28, color=palette[genre], label=genre)
right.set(title="Real tracks in the VAE's latent space (first two of 4 dimensions)", xlabel="latent 1 (rescaled to 0-1)",
          ylabel="latent 2 (rescaled to 0-1)")
right.legend(title="label", loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
fig.tight_layout()
out.figure(fig, "vae_real_vs_synthetic")
plt.show()
display(Markdown(prose.vae_sentences(reconstruction)))
