"""The offline genre corpus: the plan (unique, balanced, seeded), the mma song, loudness, and a tiny build."""

import shutil
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from musicrec.data import corpus
from musicrec.data.corpus import (
    GENRES, RECIPES, build_corpus, check_tools, crop_and_normalise, is_built, load_metadata, mma_source, plan_corpus,
)
from musicrec.errors import ParameterError


def test_plan_is_seeded_unique_and_balanced():
    plan = plan_corpus(20, seed=0)
    assert plan == plan_corpus(20, seed=0)
    assert plan != plan_corpus(20, seed=1)
    frame = pd.DataFrame([s.__dict__ for s in plan])
    assert list(frame.genre.value_counts().sort_index()) == [20] * 10
    assert frame.track_id.is_unique and frame.seed.is_unique
    for genre, group in frame.groupby("genre"):
        combos = list(zip(*(group[c] for c in ("groove", "tempo", "transpose", "progression", "instrument"))))
        assert len(set(combos)) == len(combos), genre
        if genre != "classical":
            for column in ("groove", "progression", "instrument"):
                counts = Counter(group[column])
                assert max(counts.values()) - min(counts.values()) <= 1, (genre, column, counts)
                assert set(counts) <= set(getattr(RECIPES[genre], column + "s"))
            low, high = RECIPES[genre].tempo
            assert group.tempo.between(low, high).all()
    assert frame[frame.genre == "classical"].progression.nunique() == 20  # distinct chorales


def test_plan_bad_input():
    with pytest.raises(ParameterError, match="clips_per_genre=0"):
        plan_corpus(0)
    with pytest.raises(ParameterError, match="techno"):
        plan_corpus(2, genres=("techno",))


def test_mma_song_is_seeded_and_long_enough():
    spec = next(s for s in plan_corpus(3, genres=("jazz",)))
    song = mma_source(spec, seconds=34)
    assert f"RndSeed {spec.seed}" in song and f"Groove {spec.groove}" in song
    assert f"Voice {spec.instrument}" in song and f"Tempo {spec.tempo}" in song
    assert f"Transpose {spec.transpose}" in song
    bars = [line for line in song.splitlines() if line.split(" ")[0].isdigit()]
    assert len(bars) * 4 * 60 / spec.tempo >= 34
    assert song == mma_source(spec, seconds=34)


def test_crop_and_normalise_levels():
    sr = 1000
    rng = np.random.default_rng(0)
    quiet = 0.01 * rng.standard_normal(5 * sr)
    clip, gain = crop_and_normalise(quiet, seconds=8, sr=sr)
    assert clip.shape == (8 * sr,) and gain > 0  # looped to 8 s, made louder
    assert abs(20 * np.log10(np.sqrt(np.mean(clip.astype(float) ** 2))) - corpus.TARGET_RMS_DBFS) < 0.01
    spiky = np.zeros(3 * sr)
    spiky[::500] = 1.0
    clip, _ = crop_and_normalise(spiky, seconds=3, sr=sr)
    assert np.abs(clip).max() <= 10 ** (corpus.PEAK_LIMIT_DBFS / 20) + 1e-6
    with pytest.raises(ParameterError, match="silent"):
        crop_and_normalise(np.zeros(100), seconds=1, sr=sr)


def test_missing_tools_say_what_to_install(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ParameterError, match="mma, fluidsynth not found.*apt-get install mma fluidsynth fluid-soundfont-gm"):
        check_tools()


def test_tiny_build_has_gtzan_layout_metadata_and_is_reused(tmp_path):
    check_tools()  # fails with the install hint where mma/fluidsynth are missing (make setup installs them)
    root = tmp_path / "corpus"
    table = build_corpus(root, 1, seconds=3.5, genres=("classical", "metal"), jobs=2, progress=False)
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.wav")) == [
        "classical/classical.00000.wav", "metal/metal.00000.wav"]
    assert {"track_id", "genre", "source", "groove", "tempo", "key", "progression", "instrument", "seed",
            "duration_s", "gain_db"} <= set(table.columns)
    for path in table.path:
        audio, sr = sf.read(path)
        assert sr == 22050 and audio.ndim == 1 and len(audio) == int(3.5 * 22050)
        rms_db = 20 * np.log10(np.sqrt(np.mean(audio**2)))
        assert rms_db == pytest.approx(corpus.TARGET_RMS_DBFS, abs=1.0) or np.abs(audio).max() > 0.85
    assert is_built(root) and not (root / ".rows").exists()
    mtime = (root / "metal" / "metal.00000.wav").stat().st_mtime
    again = build_corpus(root, 1, seconds=3.5, genres=("classical", "metal"), progress=False)
    assert (root / "metal" / "metal.00000.wav").stat().st_mtime == mtime
    pd.testing.assert_frame_equal(again, load_metadata(root))
    assert set(GENRES) >= set(again.genre)


def test_cli_data_build_arguments(tmp_path, monkeypatch, capsys):
    from musicrec.cli import build_parser, main

    args = build_parser().parse_args(["data", "build", "--clips-per-genre", "100", "--seed", "3"])
    assert (args.clips_per_genre, args.seed, args.seconds, args.root) == (100, 3, 30.0, None)
    calls = {}

    def fake_build(root, clips, **kwargs):
        calls.update(root=root, clips=clips, **kwargs)
        return pd.DataFrame({"genre": ["blues"], "track_id": ["blues.00000"]})

    monkeypatch.setattr(corpus, "build_corpus", fake_build)
    assert main(["data", "build", "--root", str(tmp_path / "c"), "--clips-per-genre", "2"]) == 0
    assert calls["root"] == tmp_path / "c" and calls["clips"] == 2 and calls["seed"] == 0
    assert "1 clips (1 genres)" in capsys.readouterr().out
