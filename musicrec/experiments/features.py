"""Notebooks 08-09: the offline genre corpus, musicnn tagger embeddings, and their feature spaces.

Everything expensive is a cached :class:`musicrec.runs.Run`:

``corpus`` (smoke profile only)
    a tiny synthetic corpus built inside ``runs_dir``; the default and full profiles use
    ``data/corpus/synth-<clips per genre>``, built by ``make data`` (or on first use).
``tagger_embeddings``
    every clip tagged by the pretrained tagger: per-layer clip vectors (``embeddings.npz``), the
    track table, and the files that could not be read (``skipped.csv``).
``feature_space``
    one layer's features z-scored and reduced by PCA (``pca.npz``) with the coordinates of every
    clip (``features.csv``): what :func:`corpus_features` returns to the system evaluation (issue 6).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from musicrec.data.corpus import GENRES, build_corpus, corpus_config, load_metadata
from musicrec.data.gtzan import DATASETS, GenreCollection, dataset_table
from musicrec.errors import ParameterError, check_choice
from musicrec.features.space import PCAModel, centroid_distances, fit_pca, knn_accuracy_table
from musicrec.profiles import load_profile
from musicrec.runs import DIGEST_CACHE_FILE, Run, files_digest, write_csv_atomic, write_metrics
from musicrec.utils import project_path

STUDY = "features"
EMBEDDINGS_VERSION = 1
FEATURE_SPACE_VERSION = 1
CORPUS_DIR = "data/corpus"


def load_budget(profile_or_budget: str | Mapping) -> dict:
    """The budget of notebooks 08-09: a profile name (``smoke``/``default``/``full``) or a budget dict."""
    if isinstance(profile_or_budget, str):
        return load_profile(STUDY, profile_or_budget)
    if not isinstance(profile_or_budget, Mapping):
        raise ParameterError(f"profile_or_budget={profile_or_budget!r} must be a profile name or a mapping")
    return dict(profile_or_budget)


def default_corpus_dir(clips_per_genre: int, seconds: float = 30.0) -> Path:
    """``data/corpus/synth-<clips>`` (``-<seconds>s`` appended for clips shorter than 30 s)."""
    suffix = "" if float(seconds) == 30.0 else f"-{seconds:g}s"
    return project_path(CORPUS_DIR) / f"synth-{int(clips_per_genre)}{suffix}"


def corpus_root(budget: Mapping, runs_dir: str | os.PathLike = "runs", *, progress: bool = True) -> Path:
    """Folder of the synthetic corpus of ``budget``, building it if needed.

    ``budget["corpus"] == "data"``: the shared corpus under ``data/corpus/``; ``"runs"``: a corpus built
    inside ``runs_dir`` as a cached run (the smoke profile, so tests never write into ``data/``).
    """
    n, seconds, seed = int(budget["clips_per_genre"]), float(budget["seconds"]), int(budget["seed"])
    where = check_choice("corpus", budget.get("corpus", "data"), ("data", "runs"))
    if where == "data":
        root = default_corpus_dir(n, seconds)
        build_corpus(root, n, seed=seed, seconds=seconds, progress=progress)
        return root
    config = corpus_config(n, seed=seed, seconds=seconds)

    def work(folder: Path) -> None:
        table = build_corpus(folder / "corpus", n, seed=seed, seconds=seconds, progress=progress)
        write_csv_atomic(table.assign(path=[Path(p).name for p in table.path]), folder / "metrics.csv")

    run = Run(runs_dir, "corpus", config, name=f"synth-{n}x{seconds:g}s").execute(work)
    return run.path / "corpus"


def collection(budget: Mapping, runs_dir: str | os.PathLike = "runs", *, dataset: str = "synthetic",
               root: str | os.PathLike | None = None) -> tuple[pd.DataFrame, dict]:
    """The clips to study and a config that identifies them.

    Returns the track table (``track_id``, ``genre``, ``path``, ...) and a mapping for run configs:
    the corpus build config for the synthetic corpus, or the root and a SHA-256 over every file's name
    and content for a real GTZAN copy (hashed once, then remembered by size and mtime in
    ``<runs_dir>/file-digests.json``).
    """
    check_choice("dataset", dataset, DATASETS)
    if dataset == "synthetic":
        corpus = Path(root) if root is not None else corpus_root(budget, runs_dir)
        table = load_metadata(corpus)
        import yaml

        return table, {"dataset": "synthetic", "corpus": yaml.safe_load((corpus / "corpus.yml").read_text())}
    if root is None:
        raise ParameterError("dataset='gtzan' needs root=PATH of a GTZAN copy")
    table = dataset_table("gtzan", root)
    # Keyed by content, not by names and sizes: a copy with one file changed is another collection.
    fingerprint = files_digest(table.path, root=Path(root).expanduser().resolve(),
                               cache=project_path(runs_dir) / DIGEST_CACHE_FILE)
    return table, {"dataset": "gtzan", "root": str(Path(root).expanduser().resolve()), "files": len(table),
                   "content_sha256": fingerprint}


# -- tagger embeddings -------------------------------------------------------------------------
def embeddings_run(budget: Mapping, runs_dir: str | os.PathLike = "runs", *, dataset: str = "synthetic",
                   root: str | os.PathLike | None = None, device: str = "cpu", progress: bool = True) -> Run:
    """Tag every clip with ``budget["model"]`` (cached); see :func:`load_embeddings`."""
    table, identity = collection(budget, runs_dir, dataset=dataset, root=root)
    seconds = float(budget["seconds"])
    config = {"version": EMBEDDINGS_VERSION, "model": budget["model"], "collection": identity,
              "seconds": seconds, "overlap": None}

    def work(folder: Path) -> None:
        from tqdm import tqdm

        from musicrec.features.tagger import SR, load_tagger
        from musicrec.utils import setup_torch

        setup_torch(device)
        tagger = load_tagger(budget["model"], device=device)
        clips = GenreCollection(Path("."), sr=SR, duration=seconds)
        vectors: dict[str, list[np.ndarray]] = {}
        rows = []
        for row, audio in tqdm(clips.iter_audio(table[["track_id", "genre", "path"]]), total=len(table),
                               desc=f"tagging with {budget['model']}", disable=not progress,
                               mininterval=15):
            start = time.perf_counter()
            out = tagger.tag(audio, SR)
            for layer in tagger.layers:
                vectors.setdefault(layer, []).append(out.clip_embedding(layer))
            top = out.top_tags(3)
            rows.append({"track_id": row.track_id, "genre": row.genre, "path": row.path,
                         "patches": len(out.taggram), "seconds_to_tag": time.perf_counter() - start,
                         **{f"top{i + 1}": f"{tag} {p:.2f}" for i, (tag, p) in enumerate(top)}})
        if not rows:
            raise ParameterError("no clip could be read; see the warnings")
        np.savez(folder / "embeddings.npz", **{layer: np.stack(v) for layer, v in vectors.items()})
        write_csv_atomic(pd.DataFrame(clips.skipped, columns=["path", "reason"]).astype(str), folder / "skipped.csv")
        write_metrics(pd.DataFrame(rows), folder, timings=["seconds_to_tag"], keys=["track_id"])

    kind_name = f"{identity['dataset']}-{budget['model']}"
    return Run(runs_dir, "tagger_embeddings", config, name=kind_name).execute(work)


def load_embeddings(run: Run) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The track table (one row per tagged clip) and ``{layer: array (clips, dim)}`` of a finished run."""
    tracks = run.metrics()
    with np.load(run.file("embeddings.npz")) as data:
        layers = {name: data[name] for name in data.files}
    return tracks, layers


def skipped_files(run: Run) -> pd.DataFrame:
    """Files the embeddings run could not read (path, reason)."""
    path = run.file("skipped.csv")
    return pd.read_csv(path) if path.stat().st_size > 1 else pd.DataFrame(columns=["path", "reason"])


def genre_order(labels) -> list[str]:
    """GTZAN's genre order for the labels present (unknown labels appended alphabetically)."""
    present = set(labels)
    return [g for g in GENRES if g in present] + sorted(present - set(GENRES))


def studied_layers(budget: Mapping, embeddings: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``{display name: clip features}`` for the layers of the budget (layer 2, layer 3, last layer)."""
    return {name: embeddings[layer] for name, layer in budget["layers"].items()}


def genre_tag_table(tracks: pd.DataFrame, embeddings: Mapping[str, np.ndarray], *, top: int = 12,
                    genre_tags: bool = True) -> pd.DataFrame:
    """Mean tag probability per genre (rows) for the ``top`` tags with the highest mean over all clips,
    followed by the genre tags of :data:`GENRE_TAGS` not among them (``genre_tags=True``)."""
    from musicrec.features.tagger import MSD_TAGS

    tags = pd.DataFrame(embeddings["taggram"], columns=MSD_TAGS)
    means = tags.groupby(tracks["genre"].to_numpy()).mean()
    means = means.loc[genre_order(means.index)]
    columns = list(tags.mean().sort_values(ascending=False).index[:top])
    if genre_tags:
        columns += [tag for tag in GENRE_TAGS.values() if tag not in columns]
    return means[columns]


def knn_study(budget: Mapping, tracks: pd.DataFrame, embeddings: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Leave-one-out kNN genre accuracy per studied layer x PCA dims x k (``dims="all"``: no PCA)."""
    dims = [d if d == "all" else int(d) for d in budget["pca_dims"]]
    table = knn_accuracy_table(studied_layers(budget, embeddings), tracks["genre"].to_numpy(), dims=dims,
                               ks=budget["knn_k"])
    names = {name: layer for name, layer in budget["layers"].items()}
    table.insert(1, "tensor", table["layer"].map(names))
    return table


def pca_coordinates(values: np.ndarray, dims: int = 4) -> tuple[np.ndarray, PCAModel]:
    """z-scored PCA of one layer: coordinates ``(clips, dims)`` and the model."""
    model = fit_pca(values, min(dims, min(values.shape)))
    return model.transform(values), model


def genre_distances(points: np.ndarray, labels) -> pd.DataFrame:
    """Distances between genre centroids in ``points`` (e.g. the 4-D PCA coordinates)."""
    return centroid_distances(points, labels, genre_order(labels))


# -- the 4-D features handed on ----------------------------------------------------------------
def feature_space_run(profile_or_budget: str | Mapping, runs_dir: str | os.PathLike = "runs", *,
                      layer: str | None = None, dims: int = 4, dataset: str = "synthetic",
                      root: str | os.PathLike | None = None, device: str = "cpu") -> Run:
    """Cached run holding ``features.csv`` and ``pca.npz`` (a :class:`PCAModel`) of one layer."""
    budget = load_budget(profile_or_budget)
    source = embeddings_run(budget, runs_dir, dataset=dataset, root=root, device=device)
    layer = layer or budget["chosen_layer"]
    tracks, embeddings = load_embeddings(source)
    check_choice("layer", layer, embeddings)
    config = {"version": FEATURE_SPACE_VERSION, "embeddings": f"{source.kind}/{source.path.name}",
              "layer": layer, "dims": int(dims)}

    def work(folder: Path) -> None:
        values = embeddings[layer]
        coords, model = pca_coordinates(values, dims)
        model.save(folder / "pca.npz")
        frame = tracks[["track_id", "genre", "path"]].copy()
        features = pd.DataFrame(values, columns=[f"{layer}_{i:03d}" for i in range(values.shape[1])])
        pcs = pd.DataFrame(coords, columns=[f"pc{i + 1}" for i in range(coords.shape[1])])
        frame = pd.concat([frame, features, pcs], axis=1)
        write_csv_atomic(frame, folder / "features.csv")
        write_csv_atomic(pd.DataFrame({"component": np.arange(1, model.n_components + 1),
                                       "explained_variance_ratio": model.explained_variance_ratio}),
                         folder / "metrics.csv")

    return Run(runs_dir, "feature_space", config, name=f"{layer}-pca{dims}").execute(work)


def corpus_features(profile_or_budget: str | Mapping = "default", runs_dir: str | os.PathLike = "runs", *,
                    layer: str | None = None, dims: int = 4, dataset: str = "synthetic",
                    root: str | os.PathLike | None = None, device: str = "cpu") -> pd.DataFrame:
    """The corpus's tagger features and their PCA coordinates, from a cached run (for notebook 10).

    Parameters
    ----------
    profile_or_budget : str or mapping
        ``"smoke"``, ``"default"`` or ``"full"`` (the corpus size of notebooks 08-09), or a budget dict.
    runs_dir : path
        Where the cached runs live; a smoke run builds its own tiny corpus there.
    layer : str, optional
        A tagger layer: ``pool1``..``pool5`` (conv blocks, 128-D) or ``taggram`` (50 tag
        probabilities); default ``budget["chosen_layer"]`` (``pool3``, "layer 3").
    dims : int
        PCA dimensions (4 for the 4-D feature grid of the thesis).
    dataset, root :
        ``"synthetic"`` (default) or ``"gtzan"`` with ``root`` the GTZAN folder.

    Returns
    -------
    pd.DataFrame
        One row per clip: ``track_id``, ``genre``, ``path`` (absolute), the full layer features
        ``<layer>_000`` ... and the PCA coordinates ``pc1`` ... ``pc<dims>``. The PCA model is
        ``PCAModel.load(feature_space_run(...).file("pca.npz"))``.

    >>> frame = corpus_features("smoke", "/tmp/runs")                      # doctest: +SKIP
    >>> frame[["pc1", "pc2", "pc3", "pc4"]].shape                           # doctest: +SKIP
    (20, 4)
    """
    run = feature_space_run(profile_or_budget, runs_dir, layer=layer, dims=dims, dataset=dataset, root=root,
                            device=device)
    return pd.read_csv(run.file("features.csv"))


def corpus_summary(tracks: pd.DataFrame) -> pd.DataFrame:
    """Clips per genre with their total and mean duration (read from the files' headers)."""
    import soundfile as sf

    durations = [sf.info(p).duration for p in tracks.path]
    frame = tracks.assign(duration_s=durations)
    summary = frame.groupby("genre").agg(clips=("track_id", "count"), mean_duration_s=("duration_s", "mean"),
                                         total_minutes=("duration_s", lambda s: s.sum() / 60))
    return summary.loc[genre_order(summary.index)].reset_index()


#: Genres of the corpus that have a tag of their own among the MSD top-50 tags.
GENRE_TAGS = {"blues": "blues", "country": "country", "hiphop": "Hip-Hop", "jazz": "jazz", "metal": "metal",
              "pop": "pop", "rock": "rock"}


def genre_tag_agreement(tracks: pd.DataFrame, embeddings: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Per genre that has an MSD tag: the share of clips whose most probable genre tag is their own.

    Only the seven genre tags of :data:`GENRE_TAGS` compete (chance 1/7); classical, disco and reggae
    have no tag of their own among the 50 and are left out.
    """
    from musicrec.features.tagger import MSD_TAGS

    columns = [MSD_TAGS.index(tag) for tag in GENRE_TAGS.values()]
    names = np.array(list(GENRE_TAGS))
    predicted = names[embeddings["taggram"][:, columns].argmax(axis=1)]
    frame = pd.DataFrame({"genre": tracks["genre"].to_numpy(), "predicted": predicted})
    frame = frame[frame.genre.isin(GENRE_TAGS)]
    table = frame.assign(hit=frame.genre == frame.predicted).groupby("genre").agg(
        clips=("hit", "size"), agreement=("hit", "mean"),
        most_common_tag=("predicted", lambda s: GENRE_TAGS[s.value_counts().index[0]]))
    table.insert(0, "tag", [GENRE_TAGS[g] for g in table.index])
    return table.loc[genre_order(table.index)].reset_index()


def distance_summary(distances: pd.DataFrame) -> dict:
    """How far classical sits from the rest, and the nearest genres to metal and jazz, in one table."""
    d = distances.to_numpy()
    names = list(distances.index)
    off = ~np.eye(len(d), dtype=bool)
    summary = {}
    if "classical" in names:
        c = names.index("classical")
        others = [i for i in range(len(d)) if i != c]
        pairs = d[np.ix_(others, others)][~np.eye(len(others), dtype=bool)]
        summary["classical / other pairs"] = float(d[c, others].mean() / pairs.mean())
    for genre in ("metal", "jazz"):
        if genre in names:
            row = distances.loc[genre].drop(genre)
            summary[f"nearest to {genre}"] = ", ".join(row.nsmallest(2).index)
    summary["mean distance"] = float(d[off].mean())
    return summary
