"""Notebooks 08-09: the offline genre corpus, musicnn tagger embeddings, and their feature spaces.

Everything expensive is a cached :class:`musicrec.runs.Run`:

``corpus`` (smoke profile only)
    a tiny synthetic corpus built inside ``runs_dir``; the default and full profiles use
    ``data/corpus/synth-<clips per genre>``, built by ``make data`` (or on first use).
``real_corpus`` (smoke profile only)
    a tiny real-corpus stand-in (synthetic audio at the manifest's paths, cut by the real builder) inside
    ``runs_dir``; the default and full profiles use ``data/corpus/real``, cut by ``make data`` from the
    installed packages (:mod:`musicrec.data.real_corpus`).
``tagger_embeddings``
    every clip tagged by the pretrained tagger: per-layer clip vectors (``embeddings.npz``), the
    track table, and the files that could not be read (``skipped.csv``).
``feature_space``
    one layer's features z-scored and reduced by PCA (``pca.npz``) with the coordinates of every
    clip (``features.csv``): what :func:`corpus_features` returns to the system evaluation.

The budget is a :class:`FeaturesBudget` (``musicrec/configs/profiles/features.yml``). Where the corpora
live and the genres' order are in :mod:`musicrec.data.corpus`, which clips belong together (tracks,
artists, grooves) in :mod:`musicrec.data.gtzan`, the PCA and the genre-centroid distances in
:mod:`musicrec.features.space`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import yaml

from musicrec.data.corpus import build_corpus, corpus_config, default_corpus_dir, genre_order, load_metadata
from musicrec.data.gtzan import DATASETS, dataset_table
from musicrec.errors import ParameterError, check_choice
from musicrec.features.space import knn_accuracy_table, pca_coordinates
from musicrec.profiles import Budget
from musicrec.runs import (
    DIGEST_CACHE_FILE,
    Run,
    code_fingerprint,
    files_digest,
    library_versions,
    write_csv_atomic,
    write_metrics,
)
from musicrec.utils import project_path

STUDY = "features"
EMBEDDINGS_VERSION = 1
FEATURE_SPACE_VERSION = 1
#: The modules whose code computes a run's result (tagging, the PCA of a layer, the tempo check): their
#: fingerprint and the library versions are part of the run's cache key, so a change of that code recomputes.
TAGGING_MODULES = ("musicrec.features.tagger", "musicrec.features.tf_checkpoint", "musicrec.features.batch_tagging",
                   "musicrec.data.audio")
SPACE_MODULES = ("musicrec.features.space",)
TEMPO_MODULES = ("musicrec.features.rhythm", "musicrec.data.audio")
CORPORA = ("data", "runs")


@dataclass(frozen=True, kw_only=True)
class FeaturesBudget(Budget):
    """What a profile of ``configs/profiles/features.yml`` spends on notebooks 08-09 (and hands on to the
    system and real-catalog studies)."""

    study: ClassVar[str] = STUDY

    clips_per_genre: int
    """Clips per genre of the synthetic corpus (``data/corpus/synth-<clips_per_genre>``)."""
    seconds: float
    """Length of every clip (s), as cut and as tagged."""
    corpus: str = "data"
    """``data``: the shared corpora under ``data/corpus/`` (built by ``make data``, or here if missing);
    ``runs``: throw-away corpora built inside ``runs_dir`` (the real one a stand-in of synthetic audio at the
    manifest's paths), so a smoke run never touches ``data/``."""
    real_tracks_per_label: int = 2
    """Tracks per label of the real corpus's stand-in (``corpus: runs`` only)."""
    model: str = "msd_vgg"
    """The tagger whose layers are studied (MSD_vgg)."""
    second_model: str = "mtt_musicnn"
    """The tagger trained on other data (MagnaTagATune): the second tag agreement and notebook 10's
    independent listener."""
    layers: dict[str, str] = field(default_factory=lambda: {"layer 2": "pool2", "layer 3": "pool3",
                                                             "last layer": "taggram"})
    """The studied layers: display name -> the tagger's tensor."""
    chosen_layer: str = "pool3"
    """The layer whose PCA is handed to the system evaluation (thesis section 5.3)."""
    pca_dims: tuple[int | str, ...] = (2, 3, 4, 8, 16, "all")
    """PCA dimensions of the kNN table (``all``: no PCA)."""
    knn_k: tuple[int, ...] = (1, 5)
    """Neighbours of the kNN genre classifier."""
    seed: int = 0
    """Seed of the synthetic corpus (and its stand-ins) and of UMAP."""
    tag_jobs: int = 1
    """Worker processes that tag clips (and run the beat tracker) at the same time."""
    umap: bool = False
    """Draw the UMAP projection (numba compiles UMAP for ~20 s: too slow for a smoke run)."""

    def validate(self, source: str) -> None:
        from musicrec.features.tagger import MODELS

        if self.corpus not in CORPORA:
            raise ParameterError(f"{source}: corpus={self.corpus!r} is not one of {CORPORA}")
        for name in ("model", "second_model"):
            if getattr(self, name) not in MODELS:
                raise ParameterError(f"{source}: {name}={getattr(self, name)!r} is not one of {sorted(MODELS)}")
        if self.clips_per_genre < 1 or self.real_tracks_per_label < 1 or self.tag_jobs < 1 or self.seconds <= 0:
            raise ParameterError(f"{source}: clips_per_genre, real_tracks_per_label and tag_jobs must be >= 1 and "
                                 f"seconds > 0 (got {self.clips_per_genre}, {self.real_tracks_per_label}, "
                                 f"{self.tag_jobs}, {self.seconds})")
        bad = [d for d in self.pca_dims if d != "all" and (isinstance(d, bool) or not isinstance(d, int) or d < 1)]
        if bad or not self.knn_k or min(self.knn_k) < 1:
            raise ParameterError(f"{source}: pca_dims must be positive integers or 'all' (got {bad}) and knn_k "
                                 f"positive integers (got {list(self.knn_k)})")


def load_budget(profile_or_budget: str | Mapping) -> FeaturesBudget:
    """The validated budget of notebooks 08-09: a profile name (``smoke``/``default``/``full``) or a budget
    mapping."""
    return FeaturesBudget.of(profile_or_budget)


def budget_with_overrides(spec: Mapping[str, Any]) -> FeaturesBudget:
    """The budget of the profile ``spec["profile"]`` with the other keys of ``spec`` overriding it (how the
    system and real-catalog studies name the features they read)."""
    spec = dict(spec)
    if "profile" not in spec:
        raise ParameterError(f"the features block {spec} names no profile")
    return load_budget(spec.pop("profile")).replace(**spec)


def corpus_root(budget: Mapping, runs_dir: str | os.PathLike = "runs", *, progress: bool = True) -> Path:
    """Folder of the synthetic corpus of ``budget``, building it if needed.

    ``budget["corpus"] == "data"``: the shared corpus under ``data/corpus/``; ``"runs"``: a corpus built
    inside ``runs_dir`` as a cached run (the smoke profile, so tests never write into ``data/``).
    """
    n, seconds, seed = int(budget["clips_per_genre"]), float(budget["seconds"]), int(budget["seed"])
    where = check_choice("corpus", budget.get("corpus", "data"), CORPORA)
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


def real_corpus_root(budget: Mapping, runs_dir: str | os.PathLike = "runs", *, progress: bool = True) -> Path:
    """Folder of the real-audio corpus of ``budget``, cutting it if needed.

    ``budget["corpus"] == "data"``: ``data/corpus/real`` from the installed packages and the committed
    manifest; ``"runs"``: a stand-in (short synthetic files at the manifest's paths, ``real_tracks_per_label``
    tracks per label, cut by the same builder) inside ``runs_dir``, so tests need none of the packages.
    """
    from musicrec.data import real_corpus as rc

    where = check_choice("corpus", budget.get("corpus", "data"), CORPORA)
    seconds = float(budget["seconds"])
    if where == "data":
        root = project_path(rc.DEFAULT_ROOT)
        rc.build_real_corpus(root, seconds=seconds, progress=progress)
        return root
    per_label = int(budget.get("real_tracks_per_label", 2))
    config = {"stand_in": True, "tracks_per_label": per_label, "seconds": seconds, "version": rc.CORPUS_VERSION}

    def work(folder: Path) -> None:
        manifest = rc.stand_in_manifest(rc.load_manifest(), tracks_per_label=per_label, seconds=seconds)
        rc.write_stand_in_sources(manifest, folder / "sources", folder / "sdists", seed=int(budget["seed"]))
        table = rc.build_real_corpus(folder / "corpus", manifest=manifest, source_root=folder / "sources",
                                     sdist_dir=folder / "sdists", seconds=seconds, jobs=1, progress=progress)
        write_csv_atomic(table.assign(path=[Path(p).name for p in table.path]), folder / "metrics.csv")

    run = Run(runs_dir, "real_corpus", config, name=f"stand-in-{per_label}x{seconds:g}s").execute(work)
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
    if dataset == "real":
        corpus = Path(root) if root is not None else real_corpus_root(budget, runs_dir)
        table = dataset_table("real", corpus)
        return table, {"dataset": "real", "corpus": yaml.safe_load((corpus / "corpus.yml").read_text())}
    if dataset == "synthetic":
        corpus = Path(root) if root is not None else corpus_root(budget, runs_dir)
        table = load_metadata(corpus)
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
                   root: str | os.PathLike | None = None, device: str = "cpu", progress: bool = True,
                   model: str | None = None) -> Run:
    """Tag every clip with ``model`` (default ``budget["model"]``; cached); see :func:`load_embeddings`.

    ``budget["tag_jobs"]`` worker processes tag the clips (default 1). The real corpus's clips are tagged at
    their recording's level (the builder's loudness gain undone, see :mod:`musicrec.features.batch_tagging`):
    the level of a master is part of the recording the taggers learnt from. The synthetic corpus is tagged
    as stored (-23 dBFS RMS): fluidsynth's output level is arbitrary, so it has no level of its own."""
    from musicrec.features.batch_tagging import tag_table

    table, identity = collection(budget, runs_dir, dataset=dataset, root=root)
    seconds = float(budget["seconds"])
    model = model or budget["model"]
    config = {"version": EMBEDDINGS_VERSION, "model": model, "collection": identity,
              "seconds": seconds, "overlap": None, "code": code_fingerprint(*TAGGING_MODULES),
              "versions": library_versions("numpy", "torch", "librosa", "soundfile")}
    at_source_level = identity["dataset"] == "real"
    if at_source_level:
        config["level"] = "source"

    def work(folder: Path) -> None:
        tracks, vectors, skipped = tag_table(table, model=model, seconds=seconds,
                                             jobs=int(budget.get("tag_jobs", 1)), device=device, progress=progress,
                                             gain_db=table.gain_db.to_numpy() if at_source_level else None)
        for path, reason in skipped.itertuples(index=False):
            warnings.warn(f"skipping unreadable audio file {path}: {reason}", stacklevel=3)
        np.savez(folder / "embeddings.npz", **vectors)
        write_csv_atomic(skipped.astype(str), folder / "skipped.csv")
        write_metrics(tracks, folder, timings=["seconds_to_tag"], keys=["track_id"])

    kind_name = f"{identity['dataset']}-{model}"
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


def studied_layers(budget: Mapping, embeddings: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``{display name: clip features}`` for the layers of the budget (layer 2, layer 3, last layer)."""
    return {name: embeddings[layer] for name, layer in budget["layers"].items()}


def genre_tag_table(tracks: pd.DataFrame, embeddings: Mapping[str, np.ndarray], *, top: int = 12,
                    genre_tags: bool = True, model: str = "msd_vgg") -> pd.DataFrame:
    """Mean tag probability per genre (rows) for the ``top`` tags with the highest mean over all clips,
    followed by the genre tags of the corpus's genres not among them (``genre_tags=True``)."""
    from musicrec.features.tagger import TAGS

    vocabulary = TAGS[model]
    tags = pd.DataFrame(embeddings["taggram"], columns=vocabulary)
    means = tags.groupby(tracks["genre"].to_numpy()).mean()
    means = means.loc[genre_order(means.index)]
    columns = list(tags.mean().sort_values(ascending=False).index[:top])
    if genre_tags:
        present = set(tracks["genre"])
        columns += [tag for genre, tag in genre_tags_of(model).items() if genre in present and tag not in columns]
    return means[columns]


def knn_study(budget: Mapping, tracks: pd.DataFrame, embeddings: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Leave-one-out kNN genre accuracy per studied layer x PCA dims x k (``dims="all"``: no PCA)."""
    dims = [d if d == "all" else int(d) for d in budget["pca_dims"]]
    table = knn_accuracy_table(studied_layers(budget, embeddings), tracks["genre"].to_numpy(), dims=dims,
                               ks=budget["knn_k"])
    names = {name: layer for name, layer in budget["layers"].items()}
    table.insert(1, "tensor", table["layer"].map(names))
    return table


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
              "layer": layer, "dims": int(dims), "code": code_fingerprint(*SPACE_MODULES),
              "versions": library_versions("numpy", "scikit-learn")}

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


#: Genres that have a tag of their own among the MSD top-50 tags (the real corpus adds electronic and ambient).
GENRE_TAGS = {"blues": "blues", "country": "country", "hiphop": "Hip-Hop", "jazz": "jazz", "metal": "metal",
              "pop": "pop", "rock": "rock", "electronic": "electronic", "ambient": "ambient"}
#: The same for the MagnaTagATune tags of the second tagger (classical has a tag there; blues, hip-hop, jazz
#: and reggae have none).
MTT_GENRE_TAGS = {"classical": "classical", "country": "country", "metal": "metal", "pop": "pop", "rock": "rock",
                  "electronic": "electronic", "ambient": "ambient"}


def genre_tags_of(model: str) -> dict[str, str]:
    """The genre -> tag map of a tagger's vocabulary (MSD or MTT)."""
    return MTT_GENRE_TAGS if model.startswith("mtt") else GENRE_TAGS


def genre_tag_agreement(tracks: pd.DataFrame, embeddings: Mapping[str, np.ndarray], *,
                        model: str = "msd_vgg") -> pd.DataFrame:
    """Per genre that has a tag in the model's vocabulary: the share of clips whose most probable genre tag
    is their own.

    Only the genre tags of the genres present in the corpus compete (chance: 1 / their number; the seven of
    the synthetic corpus for the MSD tags); genres without a tag of their own are left out. Columns:
    ``genre``, ``tag``, ``clips``, ``agreement``, ``most_common_tag``, ``competing``.
    """
    from musicrec.features.tagger import TAGS

    tags = TAGS[model]
    mapping = {g: t for g, t in genre_tags_of(model).items() if g in set(tracks["genre"])}
    if not mapping:
        return pd.DataFrame(columns=["genre", "tag", "clips", "agreement", "most_common_tag", "competing"])
    columns = [tags.index(tag) for tag in mapping.values()]
    names = np.array(list(mapping))
    predicted = names[embeddings["taggram"][:, columns].argmax(axis=1)]
    frame = pd.DataFrame({"genre": tracks["genre"].to_numpy(), "predicted": predicted})
    frame = frame[frame.genre.isin(mapping)]
    table = frame.assign(hit=frame.genre == frame.predicted).groupby("genre").agg(
        clips=("hit", "size"), agreement=("hit", "mean"),
        most_common_tag=("predicted", lambda s: mapping[s.value_counts().index[0]]))
    table.insert(0, "tag", [mapping[g] for g in table.index])
    table["competing"] = len(mapping)
    return table.loc[genre_order(table.index)].reset_index()


# -- honest genre accuracy on few tracks ---------------------------------------------------------------
def grouped_knn_study(budget: Mapping, tracks: pd.DataFrame, embeddings: Mapping[str, np.ndarray],
                      groups: pd.DataFrame) -> pd.DataFrame:
    """kNN genre accuracy per studied layer x PCA dims x k x grouping, leaving each clip's whole group out.

    Rows: ``layer``, ``tensor``, ``dims``, ``k``, ``grouping``, ``accuracy`` and ``balanced_accuracy`` (the
    mean over labels of the share of a label's clips classified right; chance 1 / labels).
    """
    from musicrec.features.space import grouped_knn_table

    dims = [d if d == "all" else int(d) for d in budget["pca_dims"]]
    table = grouped_knn_table(studied_layers(budget, embeddings), tracks["genre"].to_numpy(),
                              {name: groups[name].to_numpy() for name in groups.columns}, dims=dims,
                              ks=budget["knn_k"])
    table.insert(1, "tensor", table["layer"].map(dict(budget["layers"])))
    return table


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


# -- the known-answer tempo check of the synthetic corpus ----------------------------------------------
TEMPO_VERSION = 1


def tempo_check_run(budget: Mapping, runs_dir: str | os.PathLike = "runs", *, progress: bool = True) -> Run:
    """librosa's beat tracker on every clip of the synthetic corpus, against the tempo stored in its metadata
    (cached; ``metrics.csv``: ``track_id``, ``genre``, ``true_bpm``, ``estimated_bpm``, ``ratio``,
    ``accuracy1``, ``accuracy2``, see :mod:`musicrec.features.rhythm`)."""
    from musicrec.features.rhythm import TOLERANCE, estimate_tempos, tempo_scores

    table, identity = collection(budget, runs_dir, dataset="synthetic")
    seconds = float(budget["seconds"])
    jobs = max(1, int(budget.get("tag_jobs", 1)))
    config = {"version": TEMPO_VERSION, "collection": identity, "seconds": seconds, "tolerance": TOLERANCE,
              "code": code_fingerprint(*TEMPO_MODULES), "versions": library_versions("numpy", "librosa")}

    def work(folder: Path) -> None:
        estimates = estimate_tempos(list(table.path), seconds=seconds, jobs=jobs)
        scores = tempo_scores(table.tempo.to_numpy(), estimates)
        write_csv_atomic(pd.concat([table[["track_id", "genre"]].reset_index(drop=True), scores], axis=1),
                         folder / "metrics.csv")

    return Run(runs_dir, "tempo_check", config, name=f"synthetic-{len(table)}clips").execute(work)


def tempo_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Per genre and overall: clips, share with Accuracy 1 and with Accuracy 2."""
    per = scores.groupby("genre").agg(clips=("accuracy1", "size"), accuracy1=("accuracy1", "mean"),
                                      accuracy2=("accuracy2", "mean"))
    per = per.loc[genre_order(per.index)]
    overall = pd.DataFrame({"clips": [len(scores)], "accuracy1": [scores.accuracy1.mean()],
                            "accuracy2": [scores.accuracy2.mean()]}, index=["all"])
    return pd.concat([per, overall]).rename_axis("genre").reset_index()


def shared_tag_correlation(tracks_a: pd.DataFrame, embeddings_a: Mapping[str, np.ndarray], model_a: str,
                           tracks_b: pd.DataFrame, embeddings_b: Mapping[str, np.ndarray], model_b: str
                           ) -> pd.DataFrame:
    """Spearman correlation over clips between the two taggers' probabilities of the tags both vocabularies
    have (rock, pop, electronic, metal, ambient, dance, country, guitar): two independently trained models,
    converted by the same code; a broken conversion would decorrelate them."""
    from scipy.stats import spearmanr

    from musicrec.features.tagger import TAGS

    common = [t for t in TAGS[model_a] if t in TAGS[model_b]]
    joined = tracks_a[["track_id"]].reset_index().merge(tracks_b[["track_id"]].reset_index(), on="track_id")
    a = embeddings_a["taggram"][joined.index_x.to_numpy()]
    b = embeddings_b["taggram"][joined.index_y.to_numpy()]
    rows = []
    for tag in common:
        rho = spearmanr(a[:, TAGS[model_a].index(tag)], b[:, TAGS[model_b].index(tag)]).statistic
        rows.append({"tag": tag, "clips": len(joined), "spearman": float(rho)})
    return pd.DataFrame(rows)
