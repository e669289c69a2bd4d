"""The offline genre corpus: the plan (unique, balanced, seeded), the mma song, loudness, and a tiny build."""

import shutil
from collections import Counter
from pathlib import Path

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


# -- the builder writes only into folders it owns --------------------------------------------------------
def _fake_render(spec, root, *, seconds):
    """Stands in for mma + fluidsynth in the ownership tests: a short tone, the real metadata row."""
    target = Path(root) / spec.genre / f"{spec.track_id}.wav"
    target.parent.mkdir(parents=True, exist_ok=True)
    sf.write(target, 0.1 * np.sin(np.arange(int(seconds * 8000)) / 5.0), 8000)
    row = dict(spec.__dict__)
    row.update(path=str(target.relative_to(root)), duration_s=seconds, gain_db=0.0)
    return row


@pytest.fixture()
def fake_tools(monkeypatch):
    monkeypatch.setattr(corpus, "render_clip", _fake_render)
    monkeypatch.setattr(corpus, "check_tools", lambda **kwargs: None)


def test_a_folder_the_builder_did_not_create_is_refused_untouched(tmp_path, fake_tools):
    gtzan = tmp_path / "gtzan"
    (gtzan / "blues").mkdir(parents=True)
    sf.write(gtzan / "blues" / "blues.00000.wav", np.zeros(800), 8000)
    before = (gtzan / "blues" / "blues.00000.wav").read_bytes()
    with pytest.raises(ParameterError, match=r"already holds files the corpus builder did not write \(blues/\)"):
        build_corpus(gtzan, 1, seconds=3.5, genres=("blues",), jobs=1, progress=False)
    assert (gtzan / "blues" / "blues.00000.wav").read_bytes() == before
    assert sorted(p.name for p in gtzan.rglob("*")) == ["blues", "blues.00000.wav"]
    with pytest.raises(ParameterError, match="is a file"):
        build_corpus(gtzan / "blues" / "blues.00000.wav", 1, seconds=3.5, genres=("blues",), progress=False)


def test_a_changed_config_deletes_only_what_the_builder_wrote(tmp_path, fake_tools):
    root = tmp_path / "corpus"
    build_corpus(root, 1, seconds=3.5, genres=("blues", "metal"), jobs=1, progress=False)
    (root / "blues" / "my_notes.txt").write_text("mine")  # a user's file inside the corpus
    (root / "mine").mkdir()
    build_corpus(root, 1, seconds=4.0, genres=("metal",), jobs=1, progress=False)
    assert (root / "blues" / "my_notes.txt").read_text() == "mine" and (root / "mine").is_dir()
    assert not (root / "blues" / "blues.00000.wav").exists()
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.wav")) == ["metal/metal.00000.wav"]


def test_an_older_corpus_is_recognised_and_a_foreign_clip_is_not_overwritten(tmp_path, fake_tools):
    root = tmp_path / "corpus"
    build_corpus(root, 1, seconds=3.5, genres=("metal",), jobs=1, progress=False)
    (root / corpus.OWNER_FILE).unlink()  # as built before the claim file existed
    mtime = (root / "metal" / "metal.00000.wav").stat().st_mtime_ns
    build_corpus(root, 1, seconds=3.5, genres=("metal",), jobs=1, progress=False)  # same config: reused
    assert (root / "metal" / "metal.00000.wav").stat().st_mtime_ns == mtime
    (root / "pop").mkdir()
    sf.write(root / "pop" / "pop.00000.wav", np.zeros(800), 8000)  # a user's clip where ours would go
    with pytest.raises(ParameterError, match="pop/pop.00000.wav, which the corpus builder did not write"):
        build_corpus(root, 1, seconds=3.5, genres=("metal", "pop"), jobs=1, progress=False)
    assert len(sf.read(root / "pop" / "pop.00000.wav")[0]) == 800


RENDER_FOREVER = """
import os, subprocess, sys, time
from functools import partial
from musicrec.data import corpus
from musicrec.utils import end_with_parent

def render(spec, root, *, seconds):
    tool = subprocess.Popen(["sleep", "120"], preexec_fn=partial(end_with_parent, os.getpid()))
    with open(os.path.join(sys.argv[1], f"{os.getpid()}-{tool.pid}.pids"), "w"):
        pass
    time.sleep(120)

corpus.render_clip = render
corpus.check_tools = lambda **kwargs: None
corpus.build_corpus(sys.argv[2], 1, seconds=3.5, genres=("metal", "pop"), jobs=2, progress=False)
"""


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_renderers_and_their_tools_end_when_the_build_is_killed(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    pids = tmp_path / "pids"
    pids.mkdir()
    build = subprocess.Popen([sys.executable, "-c", RENDER_FOREVER, str(pids), str(tmp_path / "corpus")])
    try:
        deadline = time.time() + 60
        while len(list(pids.iterdir())) < 2 and time.time() < deadline:
            time.sleep(0.1)
        children = [int(pid) for path in pids.iterdir() for pid in path.stem.split("-")]
        assert len(children) == 4, "the renderers did not start"
        assert all(_alive(pid) for pid in children)
    finally:
        build.send_signal(signal.SIGKILL)
        build.wait()
    deadline = time.time() + 10
    while any(_alive(pid) for pid in children) and time.time() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if _alive(pid)], "workers outlived the killed build"


def test_genre_order_and_the_default_corpus_folder():
    from musicrec.data.corpus import default_corpus_dir, genre_order
    from musicrec.utils import project_path

    assert genre_order(["rock", "edm", "blues", "ambient", "rock"]) == ["blues", "rock", "ambient", "edm"]
    assert default_corpus_dir(20) == project_path("data/corpus") / "synth-20"
    assert default_corpus_dir(2, 3.5).name == "synth-2-3.5s"
