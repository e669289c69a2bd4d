# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 11 · A VAE latent space of audio features
#
# Reproduces the state representation of *"Adaptive Spotify Music Recommendation using Reinforcement
# Learning"* (project README and blog post, [ranaware2025-readme], [ranaware2025-blog]): each track's 11 Spotify
# audio features, normalised to [0, 1], are compressed by a variational autoencoder into a small latent
# (README: 4-D, blog: 5-D), whose means, rescaled to [0, 1], are the states and actions of the recommender
# of notebook 12. We train VAEs with d = 2, 4 and 5 and two KL weights β, and measure what the documents
# only describe: training curves, how well each feature is reconstructed, how genres arrange in the latent,
# and whether the 4 nearest neighbours in the latent (the recommender's candidates) are tracks that sound
# alike.
#
# **Data**: the synthetic catalog of `musicrec/data/catalog.py` (10,000 tracks, 10 genres, hand-set
# genre-dependent distributions in Spotify's units; *no real tracks*). A real Spotify tracks CSV can be
# used by setting `catalog_csv` in `musicrec/configs/profiles/latent.yml` (see `data/README.md`).
#
# Code: `musicrec/features/vae.py`, `musicrec/experiments/latent.py`; budgets in
# `musicrec/configs/profiles/latent.yml`.

# %% tags=["parameters"]
profile = "default"      # smoke | default | full: budgets in musicrec/configs/profiles/latent.yml
device = "cpu"           # cpu | cuda | auto
figures_dir = "figures"  # figures and CSV tables are written here (root-relative or absolute)
runs_dir = "runs"        # cached VAE runs live here (root-relative or absolute)

# %% tags=["injected-parameters"]
# Parameters
profile = "default"
device = "cpu"


# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display

from musicrec.data.catalog import AUDIO_FEATURES, GENRE_PROFILES, normalise_features
from musicrec.experiments import latent
from musicrec.prose import latent as latent_prose
from musicrec.plotting import setup_style
from musicrec.profiles import load_profile
from musicrec.reporting import FigureWriter

started = time.perf_counter()
setup_style()
budget = load_profile("latent", profile)
out = FigureWriter(figures_dir, "11")
catalog = latent.study_catalog(budget)
features = normalise_features(catalog)
print("budget:", {k: budget[k] for k in ("n_tracks", "latent_dims", "betas", "vae_epochs", "vae_patience",
                                         "vae_learning_rate", "vae_hidden")})
print(f"catalog: {len(catalog)} tracks, {catalog.track_genre.nunique()} genres")

# %% [markdown]
# ## The catalog
# Distribution of six of the normalised features per genre (the synthetic catalog's genre profiles are
# in `musicrec/data/catalog.py`). `key` and `mode` are drawn independently of the genre.

# %%
shown = ["danceability", "energy", "acousticness", "instrumentalness", "valence", "loudness"]
long = pd.DataFrame(features, columns=AUDIO_FEATURES).assign(genre=catalog.track_genre.to_numpy())
long = long.melt(id_vars="genre", value_vars=shown, var_name="feature", value_name="value")
grid = sns.catplot(data=long, x="value", y="genre", col="feature", col_wrap=3, kind="box", fliersize=0,
                   height=3.2, aspect=1.2, sharex=True)
grid.set_axis_labels("normalised value (0-1)", "genre")
grid.figure.suptitle("Synthetic catalog: features per genre", y=1.02)
out.figure(grid.figure, "catalog_features")
plt.show()
genre_means = out.table(catalog.groupby("track_genre")[list(AUDIO_FEATURES)].mean().round(3).reset_index(),
                        "catalog_genre_means")

# %% [markdown]
# ## Training
# One cached run per (d, β) under `runs/latent_vae/`: Adam, early stopping on a 10% validation split
# (the weights of the best validation epoch are kept). The loss is the Gaussian negative log-likelihood
# with a learned variance per feature plus β · KL (see the module docstring of `musicrec/features/vae.py`
# for why not binary cross-entropy: it collapsed the posterior to one active dimension).

# %%
vaes = latent.run_vaes(budget, runs_dir, device=device)
display(vaes.assign(run=[run.path.name for run in vaes.run]))

# %% [markdown]
# ## Training curves
# Validation reconstruction error (mean squared error in normalised units) and KL per epoch; the dot
# marks the epoch that was kept.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for item in vaes.itertuples():
    history = item.run.metrics()
    label = f"d={item.latent_dim}, β={item.beta:g}"
    style = "-" if item.beta == budget["vae_beta"] else "--"
    line, = axes[0].plot(history.epoch, history.val_mse, style, label=label)
    best = history.iloc[int(history.best_epoch.iloc[0]) - 1]
    axes[0].plot(best.epoch, best.val_mse, "o", color=line.get_color())
    axes[1].plot(history.epoch, history.val_kl, style, color=line.get_color(), label=label)
    axes[1].plot(best.epoch, best.val_kl, "o", color=line.get_color())
axes[0].set(title="Validation reconstruction", xlabel="epoch", ylabel="MSE per feature (normalised units)",
            yscale="log")
axes[1].set(title="Validation KL to the prior", xlabel="epoch", ylabel="KL (nats per track)")
axes[1].legend(fontsize=8, ncol=2)
fig.tight_layout()
out.figure(fig, "training_curves")
plt.show()

# %% [markdown]
# ## Reconstruction per feature
# Validation MSE of each feature; the grey bars are each feature's variance (the error of always
# predicting its mean), so a bar close to the grey one is a feature the latent does not encode.

# %%
recon = pd.concat([pd.read_csv(item.run.file("reconstruction.csv")).assign(
    model=f"d={item.latent_dim}, β={item.beta:g}") for item in vaes.itertuples()], ignore_index=True)
out.table(recon, "reconstruction_per_feature")
fig, ax = plt.subplots(figsize=(12, 4.5))
variance = recon.drop_duplicates("feature").set_index("feature").variance
ax.bar(np.arange(len(AUDIO_FEATURES)), variance[list(AUDIO_FEATURES)], width=0.9, color="lightgrey",
       label="feature variance (predict the mean)")
models = list(dict.fromkeys(recon.model))
width = 0.8 / len(models)
for i, model in enumerate(models):
    part = recon[recon.model == model].set_index("feature").loc[list(AUDIO_FEATURES)]
    ax.bar(np.arange(len(AUDIO_FEATURES)) - 0.4 + (i + 0.5) * width, part.mse_validation, width=width, label=model)
ax.set_xticks(np.arange(len(AUDIO_FEATURES)), AUDIO_FEATURES, rotation=30, ha="right")
ax.set(title="Reconstruction error per feature (validation tracks)", ylabel="MSE (normalised units)",
       xlabel="audio feature")
ax.legend(fontsize=8, ncol=2)
out.figure(fig, "reconstruction_per_feature")
plt.show()

# %% [markdown]
# ## Latent spaces coloured by genre
# Rescaled posterior means of every track (profile β). For d > 2 the two dimensions with the largest KL
# are shown.

# %%
chosen = vaes[vaes.beta == budget["vae_beta"]]
fig, axes = plt.subplots(1, len(chosen), figsize=(5.2 * len(chosen), 4.8), squeeze=False)
palette = dict(zip(sorted(catalog.track_genre.unique()), sns.color_palette("tab10", catalog.track_genre.nunique())))
for ax, item in zip(axes[0], chosen.itertuples()):
    z = latent.vae_latents(item.run)
    kl = pd.read_csv(item.run.file("kl.csv")).kl.to_numpy()
    dims = np.sort(np.argsort(kl)[::-1][:2]) if len(kl) > 2 else np.arange(2)
    sns.scatterplot(x=z[:, dims[0]], y=z[:, dims[1]], hue=catalog.track_genre.to_numpy(), palette=palette, s=4,
                    linewidth=0, alpha=0.6, ax=ax, legend=ax is axes[0][-1])
    ax.set(title=f"d={item.latent_dim} (dims {dims[0]}, {dims[1]})", xlabel=f"z{dims[0]} (rescaled, 0-1)",
           ylabel=f"z{dims[1]} (rescaled, 0-1)")
axes[0][-1].legend(title="genre", fontsize=7, markerscale=3, bbox_to_anchor=(1.02, 1), loc="upper left")
fig.tight_layout()
out.figure(fig, "latent_by_genre")
plt.show()

# %% [markdown]
# ## Comparing the latent spaces
# Per VAE: the kept epoch, validation MSE and KL, active dimensions (KL > 0.05 nats), the share of each
# track's 4 nearest latent neighbours that have its genre, and their mean distance in the listeners' taste
# space (the 8 features a simulated listener's taste is defined on in notebook 12). Two references: the 11
# normalised features themselves, and the taste features (the smallest possible neighbour distance).

# %%
summary = out.table(latent.vae_summary(vaes, catalog), "vae_comparison")
display(summary.round(3))

# %%
for row in summary[summary.beta.notna()].itertuples():
    print(f"{row.space}: validation MSE {row.val_mse:.4f}, {row.active_dims:.0f} active dims, 4-NN genre purity "
          f"{row.genre_purity:.3f}, taste distance {row.taste_distance:.3f}")
for label in ("11 normalised features", "taste features (reference)"):
    row = summary.set_index("space").loc[label]
    print(f"{label}: 4-NN genre purity {row.genre_purity:.3f}, taste distance {row.taste_distance:.3f}")
for d in budget["latent_dims"]:
    part = recon[recon.model == f"d={d}, β={budget['vae_beta']:g}"].set_index("feature")
    ratio = (part.mse_validation / part.variance).loc[list(AUDIO_FEATURES)]
    print(f"d={d}, β={budget['vae_beta']:g}: validation MSE / variance per feature:", ratio.round(3).to_dict())
print(f"notebook wall time: {time.perf_counter() - started:.0f} s")

# %% [markdown]
# ## Comparison with the documents
# The README compresses the features to a 4-D latent, the blog post to 5-D, both "normalised to 0-1"; neither
# reports a reconstruction error, a training curve, β or the architecture, so there is no number of theirs to
# set beside ours. The bullets below are generated from the comparison table and the per-feature errors above
# (`musicrec/prose/latent.py`). `key` and `mode` are discrete and, in normalised units, the two
# features with the largest variance, so a likelihood over all 11 features pays most for them, although in our
# catalog they carry no genre or taste information; the documents feed the same 11 features, so their latent
# has the same incentive.

# %%
ratios = {}
for d in budget["latent_dims"]:
    part = recon[recon.model == f"d={d}, β={budget['vae_beta']:g}"].set_index("feature")
    ratios[f"d={d}"] = (part.mse_validation / part.variance).to_dict()
display(Markdown(latent_prose.vae_sentences(summary, ratios, beta=budget["vae_beta"])))
