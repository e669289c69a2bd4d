# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 09 · Feature spaces from the tagger's layers, on synthetic and real audio
#
# Reproduces the thesis's §5 ([rynegardh2019], figures 26-31): features from **layer 2**, **layer 3** and the
# **last layer** of a pretrained music tagger, reduced with PCA to 4 dimensions, judged by 2-D/3-D scatter plots
# by genre and by heatmaps of the distances between genre centroids. Beyond the thesis: UMAP beside PCA, and the
# measurement the thesis only proposed in its future work, **kNN genre accuracy** for each layer and 2, 3, 4, 8,
# 16 or all dimensions, measured so that it cannot come from recognising the same recording: each clip is
# classified by its nearest clips **of other tracks, and of other artists** (leave-one-group-out; on the synthetic
# corpus every clip is its own track, and the nearest thing to an artist is the accompaniment groove clips share).
# Both corpora of notebook 08 are shown side by side. The chosen features and their PCA model are saved for the
# system evaluation (notebook 10).
#
# Layers of musicnn's `MSD_vgg` (notebook 08): layer 2 = `pool2`, layer 3 = `pool3` (conv blocks of 128 filters,
# averaged over time and frequency), last layer = the 50 tag probabilities. Before PCA each dimension is z-scored
# over the clips; PCA is fitted on all clips of a corpus (it uses no labels).
#
# Code: `musicrec/features/space.py`, `musicrec/data/gtzan.py` (which clips share a track or an artist),
# `musicrec/experiments/features.py`; sentences from
# `musicrec/prose/features.py`; budgets in `musicrec/configs/profiles/features.yml`.

# %% tags=["parameters"]
profile = "default"           # smoke | default | full: budgets in musicrec/configs/profiles/features.yml
device = "cpu"                # torch device of the tagger (cpu, cuda or auto)
figures_dir = "figures"       # figures and CSV tables are written here (root-relative or absolute)
runs_dir = "runs"             # cached runs (tagger embeddings, feature spaces, the smoke corpora) live here
dataset = "synthetic,real"    # corpora shown side by side, comma-separated: synthetic, real, gtzan
gtzan_root = None             # folder of a GTZAN copy (genres/, genres_original/ or the genre folders)

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

from musicrec.data.corpus import genre_order
from musicrec.data.gtzan import clip_groups, group_counts, parse_datasets
from musicrec.experiments import features as fx
from musicrec.features.space import PCAModel, genre_distances, pca_coordinates
from musicrec.plotting import setup_style
from musicrec.prose import features as prose
from musicrec.reporting import FigureWriter
from musicrec.utils import setup_torch

warnings.filterwarnings("ignore", category=TqdmWarning)  # a library imports tqdm.auto; no ipywidgets here
setup_style()
setup_torch(device)
budget = fx.load_budget(profile)
datasets = parse_datasets(dataset)
roots = {"gtzan": gtzan_root}
out = FigureWriter(figures_dir, "09")
corpora = {}
for name in datasets:
    run = fx.embeddings_run(budget, runs_dir, dataset=name, root=roots.get(name), device=device, progress=False)
    tracks, embeddings = fx.load_embeddings(run)
    table, _ = fx.collection(budget, runs_dir, dataset=name, root=roots.get(name))
    labels = tracks.genre.to_numpy()
    corpora[name] = {"tracks": tracks, "layers": fx.studied_layers(budget, embeddings), "labels": labels,
                     "genres": genre_order(labels), "groups": clip_groups(name, table, tracks)}
    print(f"{name}: {len(tracks)} clips, {len(corpora[name]['genres'])} labels; layers:",
          {k: v.shape[1] for k, v in corpora[name]["layers"].items()})
all_genres = list(dict.fromkeys(g for c in corpora.values() for g in c["genres"]))
palette = dict(zip(all_genres, sns.color_palette("tab10" if len(all_genres) <= 10 else "tab20", len(all_genres))))

# %% [markdown]
# ## Clips, tracks and artists per label
# How many independent recordings stand behind each label: the grouped accuracies below leave out a clip's whole
# group.

# %%
counts = []
for name, c in corpora.items():
    table = group_counts(c["tracks"], c["groups"]).assign(corpus=name)
    counts.append(table)
    display(Markdown(prose.group_count_sentences(table, name)))
out.table(pd.concat(counts, ignore_index=True), "groups_per_label")

# %% [markdown]
# ## PCA per layer
# Share of variance explained by the first principal components of each (z-scored) layer.

# %%
projections = {name: {layer: pca_coordinates(values, 4) for layer, values in c["layers"].items()}
               for name, c in corpora.items()}
variance = pd.concat([pd.DataFrame({layer: np.r_[m.explained_variance_ratio, m.explained_variance_ratio.sum()]
                                    for layer, (_, m) in proj.items()},
                                   index=[f"PC{i + 1}" for i in range(4)] + ["PC1-4"]).T.assign(corpus=name)
                      for name, proj in projections.items()])
out.table(variance.reset_index(names="layer"), "pca_explained_variance")
display(variance.round(3))

# %% [markdown]
# ## The first two principal components (thesis figures 26-28)
# One row of panels per corpus.

# %%
n_layers = len(budget["layers"])
fig, axes = plt.subplots(len(corpora), n_layers, figsize=(5.8 * n_layers, 5.0 * len(corpora)), squeeze=False)
for r, (name, c) in enumerate(corpora.items()):
    for ax, (layer, (coords, model)) in zip(axes[r], projections[name].items()):
        for genre in c["genres"]:
            mask = c["labels"] == genre
            ax.scatter(coords[mask, 0], coords[mask, 1], s=20, color=palette[genre], label=genre, alpha=0.8)
        ev = model.explained_variance_ratio
        ax.set(title=f"{name}: {layer} ({budget['layers'][layer]})", xlabel=f"PC1 ({ev[0]:.0%} of variance)",
               ylabel=f"PC2 ({ev[1]:.0%} of variance)")
    axes[r, -1].legend(title="label", bbox_to_anchor=(1.02, 1), loc="upper left", fontsize=8)
fig.suptitle("First two principal components of the tagger's layers, by label")
fig.tight_layout()
out.figure(fig, "pca_2d")
plt.show()

# %% [markdown]
# ## The first three principal components
# Three ticks per axis, axis labels with their share of variance, the legend to the right of each row.

# %%
fig = plt.figure(figsize=(6.2 * n_layers + 2.5, 5.6 * len(corpora)))
for r, (name, c) in enumerate(corpora.items()):
    for i, (layer, (coords, model)) in enumerate(projections[name].items()):
        ax = fig.add_subplot(len(corpora), n_layers, r * n_layers + i + 1, projection="3d")
        for genre in c["genres"]:
            mask = c["labels"] == genre
            ax.scatter(coords[mask, 0], coords[mask, 1], coords[mask, 2], s=10, color=palette[genre], label=genre)
        ev = model.explained_variance_ratio
        for axis, k in ((ax.xaxis, 0), (ax.yaxis, 1), (ax.zaxis, 2)):
            axis.set_major_locator(plt.MaxNLocator(3))
        ax.set_xlabel(f"PC1 ({ev[0]:.0%})", labelpad=2)
        ax.set_ylabel(f"PC2 ({ev[1]:.0%})", labelpad=2)
        ax.set_zlabel(f"PC3 ({ev[2]:.0%})", labelpad=2)
        ax.tick_params(labelsize=7, pad=0)
        ax.set_title(f"{name}: {layer}")
        ax.view_init(elev=22, azim=-55)
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, title=f"{name} labels", loc="center left", fontsize=8,
               bbox_to_anchor=(0.995, 1 - (r + 0.5) / len(corpora)))
fig.suptitle("First three principal components, by label")
fig.subplots_adjust(left=0.02, right=0.93, wspace=0.15)
out.figure(fig, "pca_3d")
plt.show()

# %% [markdown]
# ## Distances between genre centroids in 4-D (thesis figures 29-31)
# Mean 4-D PCA point of each label, and the Euclidean distance between every pair of them. The thesis compares
# layers by colour, so the three heatmaps of a corpus share one colour scale (with its colour bar).

# %%
distances = {name: {layer: genre_distances(coords, corpora[name]["labels"]) for layer, (coords, _) in proj.items()}
             for name, proj in projections.items()}
long = pd.concat([d.rename_axis(index="genre", columns="other").stack().rename("distance").reset_index()
                  .assign(layer=layer, corpus=name) for name, per in distances.items() for layer, d in per.items()])
out.table(long[["corpus", "layer", "genre", "other", "distance"]], "genre_distances")
fig, axes = plt.subplots(len(corpora), n_layers, figsize=(5.6 * n_layers + 1, 5.0 * len(corpora)), squeeze=False)
for r, (name, per) in enumerate(distances.items()):
    vmax = max(float(d.to_numpy().max()) for d in per.values())
    for c_, (ax, (layer, d)) in enumerate(zip(axes[r], per.items())):
        sns.heatmap(d, annot=True, fmt=".1f", cmap="rocket_r", vmin=0, vmax=vmax, square=True, ax=ax,
                    annot_kws={"size": 7}, cbar=c_ == n_layers - 1,
                    cbar_kws={"label": "centroid distance (4-D PCA units)", "shrink": 0.8})
        ax.set(title=f"{name}: {layer}\n(darker = farther)", xlabel="label", ylabel="label")
fig.tight_layout()
out.figure(fig, "genre_distances")
plt.show()

# %%
readings = {}
for name, per in distances.items():
    readings[name] = pd.DataFrame({layer: fx.distance_summary(d) for layer, d in per.items()}).T
out.table(pd.concat([r.assign(corpus=n) for n, r in readings.items()]).reset_index(names="layer"), "distance_reading")
for name, reading in readings.items():
    print(name)
    display(reading)

# %% [markdown]
# ## UMAP beside PCA
# UMAP (15 neighbours, seeded) of each z-scored layer in 2-D, next to its first two principal components, for
# each corpus. The smoke profile skips UMAP (numba compiles it for ~20 s).

# %%
fig, axes = plt.subplots(2 * len(corpora), n_layers, figsize=(5.4 * n_layers, 4.6 * 2 * len(corpora)), squeeze=False)
for r, (name, c) in enumerate(corpora.items()):
    for col, (layer, values) in enumerate(c["layers"].items()):
        coords = projections[name][layer][0]
        if budget["umap"]:
            import umap

            from musicrec.features.space import zscore

            embedded = umap.UMAP(n_neighbors=min(15, len(values) - 1), random_state=budget["seed"], n_jobs=1
                                 ).fit_transform(zscore(values))
        else:
            embedded = None
        for k, (points, kind) in enumerate(((coords[:, :2], "PCA"), (embedded, "UMAP"))):
            ax = axes[2 * r + k, col]
            if points is None:
                ax.text(0.5, 0.5, "UMAP off in this profile", ha="center", va="center", transform=ax.transAxes)
                ax.set(title=f"{name}: {layer}, {kind}")
                continue
            for genre in c["genres"]:
                mask = c["labels"] == genre
                ax.scatter(points[mask, 0], points[mask, 1], s=14, color=palette[genre], label=genre, alpha=0.8)
            ax.set(title=f"{name}: {layer}, {kind}", xlabel=f"{kind} 1", ylabel=f"{kind} 2")
    axes[2 * r, -1].legend(title=f"{name} labels", bbox_to_anchor=(1.02, 1), loc="upper left", fontsize=8)
fig.tight_layout()
out.figure(fig, "umap_vs_pca")
plt.show()

# %% [markdown]
# ## kNN genre accuracy with the same track and the same artist left out
# Each clip is classified by the majority label of its k nearest clips (Euclidean distance in the first d
# principal components, or in all z-scored dimensions) **among the clips of other groups**: `clip` is the
# thesis's plain leave-one-out, `track` leaves out every clip of the same recording, `artist` every clip of the
# same artist (synthetic: `groove`, the accompaniment pattern). The balanced accuracy (the mean over labels of the
# share of a label's clips classified right) is shown because the real corpus's labels differ in size; chance is
# one over the number of labels.

# %%
knn = []
for name, c in corpora.items():
    tensors = {budget["layers"][layer]: values for layer, values in c["layers"].items()}
    table = fx.grouped_knn_study(budget, c["tracks"], tensors, c["groups"])
    knn.append(table.assign(corpus=name, labels=len(c["genres"])))
knn = pd.concat(knn, ignore_index=True)
out.table(knn, "knn_accuracy")
k_show = budget["knn_k"][0]
display(knn[knn.k == k_show].pivot_table(index=["corpus", "grouping", "layer"], columns="dims",
                                          values="balanced_accuracy", sort=False)
        [[d for d in map(str, budget["pca_dims"]) if d in set(knn.dims)]].round(3))

# %%
order = [d for d in map(str, budget["pca_dims"]) if d in set(knn.dims)]
styles = {"clip": "-", "track": "--", "groove": "--", "artist": ":"}
fig, axes = plt.subplots(1, len(corpora), figsize=(7 * len(corpora), 4.8), sharey=True, squeeze=False)
for ax, (name, c) in zip(axes[0], corpora.items()):
    part = knn[(knn.corpus == name) & (knn.k == k_show)]
    for li, layer in enumerate(budget["layers"]):
        for grouping in dict.fromkeys(part.grouping):
            rows = part[(part.layer == layer) & (part.grouping == grouping)].set_index("dims").reindex(order)
            ax.plot(range(len(order)), rows.balanced_accuracy, styles.get(grouping, "-"), marker="o", ms=4,
                    color=f"C{li}", label=f"{layer}, {grouping} left out")
    ax.axhline(1 / len(c["genres"]), ls="-.", c="grey", lw=1, label="chance")
    ax.set(title=f"{name} corpus (k = {k_show})", xlabel="PCA dimensions ('all': no PCA)",
           ylabel="balanced kNN genre accuracy", ylim=(0, 1), xticks=range(len(order)), xticklabels=order)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
fig.suptitle("kNN genre accuracy by layer and dimensions, with the same clip, track or artist left out")
fig.tight_layout()
out.figure(fig, "knn_accuracy")
plt.show()
display(Markdown(prose.grouped_knn_sentences(knn, dims="4", k=k_show)))

# %% [markdown]
# ## The chosen 4-D features, saved for the system evaluation
# `musicrec.experiments.features.corpus_features(profile, runs_dir, layer=..., dataset=...)` returns them from a
# cached run (with the full layer features); the PCA model is `pca.npz` in that run's folder. Notebook 10 makes
# its own run of the same kind with as many PCA dimensions as its grid has features.

# %%
for name in corpora:
    space = fx.feature_space_run(budget, runs_dir, dataset=name, root=roots.get(name), device=device)
    chosen = fx.corpus_features(budget, runs_dir, dataset=name, root=roots.get(name), device=device)
    pca = PCAModel.load(space.file("pca.npz"))
    pcs = [f"pc{i + 1}" for i in range(pca.n_components)]
    out.table(chosen[["track_id", "genre", *pcs]], f"features_4d_{name}")
    print(f"{name}: layer {budget['chosen_layer']} -> {pca.n_components}-D, run {space.kind}/{space.path.name}; "
          f"variance explained by the {pca.n_components} PCs: {pca.explained_variance_ratio.sum():.0%}")

# %% [markdown]
# ## Comparison with the thesis
# The thesis's figures are images without numbers in the extracted text, so the comparison is with its reading of
# them (§5.2-5.3), judged on the synthetic corpus (the one with the thesis's ten genres); the table and sentences
# are written by `musicrec.prose.features` from the tables above.

# %%
parts = []
thesis_like = [n for n in corpora if {"classical", "metal", "jazz"} <= set(corpora[n]["genres"])]
for name in thesis_like:
    parts += [f"**{name} corpus**", "", prose.distance_comparison(readings[name]), ""]
parts.append("* **What the 4-D reduction costs.** " + " ".join(
    prose.pca_cost_sentence(knn[knn.corpus == name], layer="layer 3", k=k_show, grouping=knn[knn.corpus == name].grouping.iloc[-1])
    .replace("Going", f"{name}: going", 1) for name in corpora))
parts.append(prose.grouped_knn_sentences(knn, dims="4", k=k_show))
parts.append("* **Why numbers differ.** Our tagger is musicnn's `MSD_vgg` (5 conv blocks of 128 filters, averaged over "
             "time and frequency) rather than Choi et al.'s compact CNN; the synthetic corpus's clips of one genre share "
             "grooves and instruments, and the real corpus has few artists per label, which the grouped accuracies "
             "account for and the thesis's plain nearest neighbours would not.")
display(Markdown("\n".join(parts)))
