"""Notebooks 08-09's pipeline on tiny data: corpus in runs_dir, tagger embeddings, the 4-D features."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from musicrec.data.corpus import GENRES
from musicrec.data.gtzan import clip_groups, group_counts
from musicrec.errors import ParameterError
from musicrec.experiments import features as fx
from musicrec.features.space import PCAModel, genre_distances, pca_coordinates
from musicrec.profiles import load_profile

TINY = {"model": "msd_vgg", "layers": {"layer 2": "pool2", "layer 3": "pool3", "last layer": "taggram"},
        "chosen_layer": "pool3", "pca_dims": [2, 4, "all"], "knn_k": [1, 3], "seed": 0, "corpus": "runs",
        "clips_per_genre": 1, "seconds": 3.5, "umap": False}


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


def test_corpus_features_from_cached_runs(runs_dir):
    frame = fx.corpus_features(TINY, runs_dir)
    assert len(frame) == 10 and sorted(frame.genre) == sorted(GENRES)
    assert list(frame.columns[:3]) == ["track_id", "genre", "path"]
    assert [c for c in frame.columns if c.startswith("pc")] == ["pc1", "pc2", "pc3", "pc4"]
    layer_columns = [c for c in frame.columns if c.startswith("pool3_")]
    assert len(layer_columns) == 128
    run = fx.feature_space_run(TINY, runs_dir)
    pca = PCAModel.load(run.file("pca.npz"))
    np.testing.assert_allclose(pca.transform(frame[layer_columns].to_numpy()), frame[["pc1", "pc2", "pc3", "pc4"]],
                               atol=1e-6)
    # nothing is written into the committed data/ folder, and a second call reuses the runs
    assert str(runs_dir) in frame.path[0]
    stamp = run.file("features.csv").stat().st_mtime
    again = fx.corpus_features(TINY, runs_dir)
    assert run.file("features.csv").stat().st_mtime == stamp
    assert again.equals(frame)
    taggram = fx.corpus_features(TINY, runs_dir, layer="taggram", dims=2)
    assert [c for c in taggram.columns if c.startswith("pc")] == ["pc1", "pc2"]
    # the cache keys hold the code that computes them (tagging, then the PCA of a layer)
    from musicrec.runs import code_fingerprint

    assert run.config["code"] == code_fingerprint(*fx.SPACE_MODULES)
    embeddings = fx.embeddings_run(TINY, runs_dir)
    assert embeddings.config["code"] == code_fingerprint(*fx.TAGGING_MODULES) and "torch" in embeddings.config["versions"]
    assert run.config["embeddings"] == f"{embeddings.kind}/{embeddings.path.name}"


def test_study_tables(runs_dir):
    tracks, embeddings = fx.load_embeddings(fx.embeddings_run(TINY, runs_dir))
    knn = fx.knn_study(TINY, tracks, embeddings)
    assert set(knn.layer) == set(TINY["layers"]) and set(knn.k) == {1, 3}
    assert knn.accuracy.between(0, 1).all()
    tags = fx.genre_tag_table(tracks, embeddings, top=5, genre_tags=False)
    assert tags.shape == (10, 5) and list(tags.index) == list(GENRES)
    synthetic_tags = {g: t for g, t in fx.GENRE_TAGS.items() if g in GENRES}
    columns = set(fx.genre_tag_table(tracks, embeddings, top=5).columns)
    assert set(synthetic_tags.values()) <= columns and "ambient" not in columns - set(tags.columns)
    agreement = fx.genre_tag_agreement(tracks, embeddings)
    assert set(agreement.genre) == set(synthetic_tags) and (agreement.competing == 7).all()
    coords, _ = pca_coordinates(embeddings["pool2"], 4)
    reading = fx.distance_summary(genre_distances(coords, tracks.genre))
    assert reading["classical / other pairs"] > 0 and "nearest to metal" in reading


def _gtzan(root, genres=("blues", "rock"), per_genre=3):
    sr = 22050
    t = np.arange(int(4 * sr)) / sr
    for g, genre in enumerate(genres):
        (root / "genres" / genre).mkdir(parents=True)
        for i in range(per_genre):
            tone = 0.2 * np.sin(2 * np.pi * 110 * (g + 1) * (i + 1) * t) * (1 + np.sin(2 * np.pi * (g + 1) * t))
            sf.write(root / "genres" / genre / f"{genre}.{i:05d}.au", tone, sr, format="AU")
    (root / "genres" / "rock" / "rock.00099.au").write_bytes(b".snd garbage")


def test_gtzan_switch_skips_and_lists_unreadable_files(tmp_path, runs_dir):
    _gtzan(tmp_path)
    budget = dict(TINY, seconds=4.0)
    with pytest.warns(UserWarning, match="rock.00099.au"):
        run = fx.embeddings_run(budget, runs_dir, dataset="gtzan", root=tmp_path, progress=False)
    assert list(fx.skipped_files(run).path.map(lambda p: p.split("/")[-1])) == ["rock.00099.au"]
    frame = fx.corpus_features(budget, runs_dir, dataset="gtzan", root=tmp_path, layer="taggram", dims=2)
    assert sorted(frame.genre.unique()) == ["blues", "rock"] and len(frame) == 6
    with pytest.raises(ParameterError, match="root=PATH"):
        fx.embeddings_run(budget, runs_dir, dataset="gtzan")


def test_gtzan_runs_are_keyed_by_content_and_write_identical_metrics(tmp_path, runs_dir):
    _gtzan(tmp_path)
    (tmp_path / "genres" / "rock" / "rock.00099.au").unlink()
    budget = dict(TINY, seconds=4.0)
    _, identity = fx.collection(budget, runs_dir, dataset="gtzan", root=tmp_path)
    clip = tmp_path / "genres" / "blues" / "blues.00001.au"
    audio, sr = sf.read(clip)
    sf.write(clip, -audio, sr, format="AU")  # same name and size, other samples
    _, changed = fx.collection(budget, runs_dir, dataset="gtzan", root=tmp_path)
    assert changed["files"] == identity["files"] and changed != identity
    paths = [fx.embeddings_run(budget, tmp_path / name, dataset="gtzan", root=tmp_path, progress=False).path
             for name in ("first", "second")]
    first, second = ((path / "metrics.csv").read_bytes() for path in paths)
    assert first == second and b"seconds_to_tag" not in first
    assert "seconds_to_tag" in pd.read_csv(paths[0] / "timings.csv").columns


def test_budget_errors():
    with pytest.raises(ParameterError, match="profile='huge'"):
        fx.load_budget("huge")
    with pytest.raises(ParameterError, match="budget=3 must be a profile name or a mapping"):
        fx.load_budget(3)
    with pytest.raises(ParameterError, match="corpus='cloud'"):
        fx.corpus_root(dict(TINY, corpus="cloud"))
    with pytest.raises(ParameterError, match="corpus='cloud' is not one of"):
        fx.load_budget(dict(TINY, corpus="cloud"))
    with pytest.raises(ParameterError, match=r"features budget: unknown budget key\(s\) \['clip_per_genre'\]"):
        fx.load_budget(dict(TINY, clip_per_genre=2))
    with pytest.raises(ParameterError, match="pca_dims must be positive integers or 'all'"):
        fx.load_budget(dict(TINY, pca_dims=[2, "most"]))
    with pytest.raises(ParameterError, match="second_model='msd_tiny'"):
        fx.budget_with_overrides({"profile": "smoke", "second_model": "msd_tiny"})


def test_the_typed_budget_reads_like_the_profile():
    for profile in ("smoke", "default", "full"):
        budget = fx.load_budget(profile)
        plain = load_profile("features", profile)
        assert {key: budget[key] for key in plain} == {
            key: tuple(v) if isinstance(v, list) else v for key, v in plain.items()}
        assert fx.load_budget(plain) == budget
    overridden = fx.budget_with_overrides({"profile": "smoke", "clips_per_genre": 3})
    assert overridden.clips_per_genre == 3 and overridden.profile == "smoke"
    assert {**overridden} == {**fx.load_budget("smoke"), "clips_per_genre": 3}


REAL = dict(TINY, real_tracks_per_label=2, second_model="mtt_musicnn", pca_dims=[2, "all"], knn_k=[1])


def test_real_stand_in_grouped_accuracy_and_second_tagger(runs_dir):
    table, identity = fx.collection(REAL, runs_dir, dataset="real")
    assert identity["dataset"] == "real" and set(table.genre) == {"ambient", "classical", "electronic", "metal", "rock"}
    run = fx.embeddings_run(REAL, runs_dir, dataset="real", progress=False)
    tracks, embeddings = fx.load_embeddings(run)
    groups = clip_groups("real", table, tracks)
    assert list(groups.columns) == ["clip", "track", "artist"] and len(groups) == len(tracks)
    counts = group_counts(tracks, groups)
    assert {"distinct_tracks", "distinct_artists"} <= set(counts.columns)
    knn = fx.grouped_knn_study(REAL, tracks, embeddings, groups)
    assert set(knn.grouping) == {"clip", "track", "artist"} and knn.balanced_accuracy.between(0, 1).all()
    second = fx.embeddings_run(REAL, runs_dir, dataset="real", progress=False, model="mtt_musicnn")
    mtt_tracks, mtt = fx.load_embeddings(second)
    assert mtt["taggram"].shape[1] == 50
    agreement = fx.genre_tag_agreement(mtt_tracks, mtt, model="mtt_musicnn")
    assert set(agreement.genre) == set(table.genre) and (agreement.competing == 5).all()  # classical has an MTT tag
    correlation = fx.shared_tag_correlation(tracks, embeddings, "msd_vgg", mtt_tracks, mtt, "mtt_musicnn")
    assert {"rock", "metal", "electronic", "ambient"} <= set(correlation.tag)


def test_tempo_check_on_the_tiny_corpus(runs_dir):
    scores = fx.tempo_check_run(TINY, runs_dir).metrics()
    from musicrec.runs import code_fingerprint

    assert fx.tempo_check_run(TINY, runs_dir).config["code"] == code_fingerprint(*fx.TEMPO_MODULES)
    assert len(scores) == 10 and {"accuracy1", "accuracy2", "estimated_bpm"} <= set(scores.columns)
    summary = fx.tempo_summary(scores)
    assert summary.genre.iloc[-1] == "all" and (summary.accuracy2 >= summary.accuracy1).all()
