import os

import numpy as np
import pytest

from musicrec.errors import ParameterError
from musicrec.features.rhythm import estimate_tempo, tempo_scores


def click_track(bpm, seconds=12.0, sr=22050):
    audio = np.zeros(int(seconds * sr), dtype=np.float32)
    click = np.exp(-np.arange(400) / 60.0) * np.sin(2 * np.pi * 1500 * np.arange(400) / sr)
    for start in np.arange(0, seconds, 60.0 / bpm):
        i = int(start * sr)
        audio[i:i + 400] += click[: len(audio[i:i + 400])]
    return audio, sr


@pytest.mark.parametrize("bpm", [90, 128])
def test_beat_tracker_finds_a_click_tracks_tempo(bpm):
    audio, sr = click_track(bpm)
    assert tempo_scores([bpm], [estimate_tempo(audio, sr)]).accuracy1.iloc[0]


def test_scores_forgive_octave_errors_only_in_accuracy2():
    scores = tempo_scores([100, 100, 100, 100], [103.9, 200.0, 50.0, 130.0])
    assert scores.accuracy1.tolist() == [True, False, False, False]
    assert scores.accuracy2.tolist() == [True, True, True, False]
    with pytest.raises(ParameterError, match="tolerance"):
        tempo_scores([1], [1], tolerance=0)


def test_the_tempo_kernels_are_compiled_into_the_cache_before_workers_start(tmp_path):
    # a fresh interpreter with its own numba cache: after the warm-up the cache holds librosa's
    # peak-picking gufunc and its wrapper, both written by this one process
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", "from musicrec.features.rhythm import compile_tempo_kernels; "
                    "compile_tempo_kernels(22050)"], env=env, check=True, timeout=300)
    cached = {path.name for path in tmp_path.rglob("*.nbi")}
    assert any("_localmax" in name and name.startswith("guf-") for name in cached), sorted(cached)
    assert any("_localmax" in name and not name.startswith("guf-") for name in cached), sorted(cached)
