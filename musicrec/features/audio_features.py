"""Spotify-style audio features of a clip: seven from vibenet's ONNX model, tempo, key, mode and loudness from librosa.

* ``danceability``, ``energy``, ``speechiness``, ``acousticness``, ``instrumentalness``, ``liveness``,
  ``valence``: the PyPI package ``vibenet==0.1.0`` (a distilled EfficientNet trained on the Free Music
  Archive; its ONNX model ships in the wheel), run through ``onnxruntime`` on one thread with vibenet's own
  mel front-end (:func:`vibenet.core.extract_mel`, 16 kHz) and output mapping
  (:meth:`vibenet.core.InferenceResult.from_logits`: sigmoid for the three likelihoods, clipped to [0, 1]
  for the others). vibenet's mel is in absolute dB, so the clip is fed at its original level.
* ``tempo``: :func:`musicrec.features.rhythm.estimate_tempo` (librosa's beat tracker).
* ``key`` and ``mode``: the mean chroma (``librosa.feature.chroma_stft``) correlated with the 24 rotations of
  the Krumhansl-Kessler major and minor key profiles; the best one gives the pitch class (0 = C) and the mode
  (1 major, 0 minor), as Spotify encodes them.
* ``loudness``: the RMS level of the excerpt in dBFS before any normalisation. Spotify's loudness is an
  integrated loudness of the whole track (LUFS-like); an RMS level of an excerpt is its simplest stand-in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from musicrec.data.catalog import CATALOG_COLUMNS, stable_track_id
from musicrec.errors import ParameterError

VIBENET_FEATURES = ("acousticness", "danceability", "energy", "instrumentalness", "liveness", "speechiness",
                    "valence")
#: Krumhansl & Kessler (1982) key profiles, starting at the tonic.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


@lru_cache(maxsize=1)
def vibenet_session():
    """An onnxruntime session of vibenet's model (one thread), loaded once per process."""
    import importlib.resources as resources

    import onnxruntime as ort

    try:
        model = resources.files("vibenet.artifacts") / "efficientnet_model.onnx"
    except ModuleNotFoundError:
        raise ParameterError("vibenet is not installed: `pip install vibenet==0.1.0` (make setup does it)") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    with resources.as_file(model) as path:
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def vibenet_features(audio: np.ndarray, sr: int) -> dict[str, float]:
    """vibenet's seven features of a mono clip at its original level (any sample rate)."""
    import soxr
    from vibenet.core import SAMPLE_RATE, InferenceResult, extract_mel

    audio = np.asarray(audio, dtype=np.float32)
    if sr != SAMPLE_RATE:
        audio = soxr.resample(audio, sr, SAMPLE_RATE).astype(np.float32)
    mel = extract_mel(audio, SAMPLE_RATE)
    logits = vibenet_session().run(None, {"x": mel[np.newaxis, :]})[0][0]
    return InferenceResult.from_logits([float(v) for v in logits]).to_dict()


def mean_chroma(audio: np.ndarray, sr: int) -> np.ndarray:
    """The clip's mean chroma vector (12 pitch classes, C first)."""
    import librosa

    return librosa.feature.chroma_stft(y=np.asarray(audio, dtype=np.float32), sr=sr).mean(axis=1)


def key_and_mode(chroma: np.ndarray) -> tuple[int, int, float]:
    """(pitch class 0-11, mode 1 major / 0 minor, correlation) of the best Krumhansl-Kessler key profile.

    >>> c_major = np.roll(MAJOR_PROFILE, 0)
    >>> key_and_mode(c_major)[:2]
    (0, 1)
    >>> key_and_mode(np.roll(MINOR_PROFILE, 9))[:2]   # A minor
    (9, 0)
    """
    chroma = np.asarray(chroma, dtype=np.float64)
    if chroma.shape != (12,) or not np.isfinite(chroma).all():
        raise ParameterError(f"chroma must be 12 finite numbers, got shape {chroma.shape}")
    best = (0, 1, -np.inf)
    for mode, profile in ((1, MAJOR_PROFILE), (0, MINOR_PROFILE)):
        for key in range(12):
            r = float(np.corrcoef(chroma, np.roll(profile, key))[0, 1]) if chroma.std() > 0 else 0.0
            if r > best[2]:
                best = (key, mode, r)
    return best


def clip_features(audio: np.ndarray, sr: int, *, level_dbfs: float) -> dict[str, float]:
    """Every feature of one clip (vibenet's seven, tempo, the chroma, loudness = ``level_dbfs``)."""
    from musicrec.features.rhythm import estimate_tempo

    features = vibenet_features(audio, sr)
    features["tempo"] = estimate_tempo(audio, sr)
    features["loudness"] = float(level_dbfs)
    chroma = mean_chroma(audio, sr)
    features.update({f"chroma_{i:02d}": float(v) for i, v in enumerate(chroma)})
    return features


def _features_share(args) -> list[dict]:
    """:func:`clip_features` of one worker's share of the clips."""
    records, seconds = args
    import warnings

    from musicrec.data.audio import fix_length, load_audio

    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydub, imported by vibenet, warns that ffmpeg is absent (not used here)
        for record in records:
            audio, sr = load_audio(record["path"], sr=22050)
            # the corpus stores loudness-normalised clips: undo the gain, since vibenet's mel is in absolute dB
            audio = fix_length(audio, sr, seconds) * np.float32(10 ** (-float(record["gain_db"]) / 20))
            out.append({"clip": record["track_id"],
                        **clip_features(audio, sr, level_dbfs=float(record["source_rms_dbfs"]))})
    return out


def clip_feature_table(clips: Sequence[Mapping] | pd.DataFrame, *, seconds: float, jobs: int = 1) -> pd.DataFrame:
    """:func:`clip_features` of every clip of a corpus, in its order.

    Parameters
    ----------
    clips : DataFrame or sequence of mappings
        One row per clip: ``track_id``, ``path``, ``gain_db`` (the gain the corpus builder applied, undone
        here) and ``source_rms_dbfs`` (the excerpt's level before it, reported as ``loudness``).
    seconds : float
        Every clip is cut or zero-padded to this length.
    jobs : int
        Worker processes (``1``: in this process).

    Returns
    -------
    pd.DataFrame [shape=(clips, 23)]
        ``clip`` (the ``track_id``), the seven vibenet features, ``tempo``, ``loudness``, ``chroma_00..11``.
    """
    from concurrent.futures import ProcessPoolExecutor

    if isinstance(clips, pd.DataFrame):
        missing = [c for c in ("track_id", "path", "gain_db", "source_rms_dbfs") if c not in clips.columns]
        if missing:
            raise ParameterError(f"the clip table lacks the column(s) {missing}")
        clips = clips[["track_id", "path", "gain_db", "source_rms_dbfs"]].to_dict("records")
    records = list(clips)
    if not records:
        raise ParameterError("no clips to compute features of")
    jobs = max(1, min(int(jobs), len(records)))
    shares = [(records[j::jobs], float(seconds)) for j in range(jobs)]
    if jobs == 1:
        results = [_features_share(shares[0])]
    else:
        # librosa's numba kernels compiled here first: workers compiling them at once can corrupt the
        # cache (see musicrec.features.rhythm.compile_tempo_kernels)
        from musicrec.features.rhythm import compile_tempo_kernels

        compile_tempo_kernels(22050)
        mean_chroma(np.random.default_rng(0).standard_normal(22050).astype(np.float32) * 0.1, 22050)
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(_features_share, shares))
    table = pd.DataFrame([row for share in results for row in share])
    return table.set_index("clip").loc[[r["track_id"] for r in records]].reset_index()


def tracks_from_clips(clips: pd.DataFrame, metadata: pd.DataFrame, durations: Mapping[str, float]) -> pd.DataFrame:
    """One row per track in the Spotify tracks schema from per-clip features.

    Parameters
    ----------
    clips : pd.DataFrame
        :func:`clip_feature_table` (``clip``, the vibenet features, ``tempo``, ``loudness``, ``chroma_*``).
    metadata : pd.DataFrame
        The corpus's track table (``track_id`` = the clip, ``genre``, ``track``, ``artist``, ``title``).
    durations : mapping
        The whole track's length in seconds, by ``track``.

    Returns
    -------
    pd.DataFrame
        :data:`musicrec.data.catalog.CATALOG_COLUMNS` (the mean of a track's clips; ``tempo`` their median;
        ``key`` and ``mode`` from their mean chroma; ``track_id`` :func:`musicrec.data.catalog.stable_track_id`
        of the track; ``popularity`` unknown, NaN), then ``source_track``, ``artist``, ``title``, ``clips``.
    """
    frame = clips.merge(metadata[["track_id", "genre", "track", "artist", "title"]], left_on="clip",
                        right_on="track_id")
    chroma = [c for c in clips.columns if c.startswith("chroma_")]
    rows = []
    for track, group in frame.groupby("track", sort=False):
        key, mode, _ = key_and_mode(group[chroma].mean().to_numpy())
        row = {"track_id": stable_track_id(track), "track_genre": group.genre.iloc[0], "popularity": np.nan,
               "duration_ms": int(round(1000 * durations[track])), "key": key, "mode": mode,
               "tempo": float(group.tempo.median()), "loudness": float(group.loudness.mean())}
        row.update({name: float(group[name].mean()) for name in VIBENET_FEATURES})
        row.update(source_track=track, artist=group.artist.iloc[0], title=group.title.iloc[0], clips=len(group))
        rows.append(row)
    return pd.DataFrame(rows)[list(CATALOG_COLUMNS) + ["source_track", "artist", "title", "clips"]]
