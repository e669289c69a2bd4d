"""Tempo from audio with librosa's beat tracker, and how well it recovers a known tempo.

The known-answer check of the synthetic corpus: its ``metadata.csv`` stores the tempo each clip was
rendered at (mma's ``Tempo``, or the chorale's metronome mark), and an estimator that never saw it
(:func:`librosa.beat.beat_track`: onset strength, tempo from its autocorrelation, dynamic-programming
beat tracking) should find it. Scored as in MIREX's tempo task: *Accuracy 1*, the estimate is within
``tolerance`` (4 %) of the stored tempo; *Accuracy 2*, also counting the octave and triple errors (the
estimate within 4 % of 1/3, 1/2, 2 or 3 times the stored tempo), which a beat tracker makes when it
locks onto half or double the written beat.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from musicrec.errors import check_number

#: MIREX's tolerance for tempo estimates (relative).
TOLERANCE = 0.04
#: Tempo ratios Accuracy 2 forgives.
OCTAVE_RATIOS = (1 / 3, 1 / 2, 1.0, 2.0, 3.0)


def estimate_tempo(audio: np.ndarray, sr: int, *, start_bpm: float = 120.0) -> float:
    """Tempo (BPM) of a mono clip by :func:`librosa.beat.beat_track` (default settings, ``start_bpm`` prior)."""
    import librosa

    tempo, _ = librosa.beat.beat_track(y=np.asarray(audio, dtype=np.float32), sr=sr, start_bpm=start_bpm)
    return float(np.atleast_1d(tempo)[0])


def compile_tempo_kernels(sr: int = 22050) -> None:
    """Compile (or load from numba's cache) librosa's kernels of :func:`estimate_tempo` in this process.

    Called before worker processes start: numba caches a compiled gufunc as two files, and two processes
    compiling the same one at once can leave a pair written by different processes, which crashes every
    later process that loads it (a segfault; numba issue #10128, librosa issue #1998). Compiled here
    first, the cache is complete before any worker reads it.
    """
    noise = np.random.default_rng(0).standard_normal(2 * sr).astype(np.float32) * 0.1
    estimate_tempo(noise, sr)


def _tempo_share(args) -> list[float]:
    """Tempo of each file of one worker's share (``paths``, ``seconds``)."""
    paths, seconds, sr = args
    from musicrec.data.audio import fix_length, load_audio

    out = []
    for path in paths:
        audio, rate = load_audio(path, sr=sr)
        out.append(estimate_tempo(fix_length(audio, rate, seconds), rate))
    return out


def estimate_tempos(paths: Sequence[str | os.PathLike], *, seconds: float, jobs: int = 1,
                    sr: int = 22050) -> np.ndarray:
    """:func:`estimate_tempo` of every audio file, cropped or zero-padded to ``seconds``.

    Parameters
    ----------
    paths : sequence of path
        The audio files (any format :func:`musicrec.data.audio.load_audio` reads).
    seconds : float
        Length every clip is cut or padded to first.
    jobs : int
        Worker processes; every ``jobs``-th file goes to the same worker (``1``: in this process).

    Returns
    -------
    np.ndarray [shape=(len(paths),)]
        Tempo estimates in BPM, in the order of ``paths``.
    """
    from concurrent.futures import ProcessPoolExecutor

    paths = [str(p) for p in paths]
    jobs = max(1, min(int(jobs), len(paths)))
    shares = [(paths[j::jobs], float(seconds), int(sr)) for j in range(jobs)]
    if jobs == 1:
        results = [_tempo_share(shares[0])]
    else:
        compile_tempo_kernels(int(sr))
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(_tempo_share, shares))
    estimates = np.empty(len(paths))
    for j, values in enumerate(results):
        estimates[j::jobs] = values
    return estimates


def tempo_scores(true_bpm, estimated_bpm, *, tolerance: float = TOLERANCE) -> pd.DataFrame:
    """Per clip: ``ratio`` (estimate / truth), ``accuracy1`` and ``accuracy2`` (booleans, see the module)."""
    check_number("tolerance", tolerance, low=0.0, high=1.0, low_inclusive=False)
    true_bpm = np.asarray(true_bpm, dtype=np.float64)
    estimated_bpm = np.asarray(estimated_bpm, dtype=np.float64)
    ratio = estimated_bpm / true_bpm
    within = np.abs(ratio[:, None] / np.asarray(OCTAVE_RATIOS)[None, :] - 1.0) <= tolerance
    return pd.DataFrame({"true_bpm": true_bpm, "estimated_bpm": estimated_bpm, "ratio": ratio,
                         "accuracy1": within[:, OCTAVE_RATIOS.index(1.0)], "accuracy2": within.any(axis=1)})
