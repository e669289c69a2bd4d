"""Reading audio files, and a loader for a plain folder of audio files (no labels).

Every loader returns float32 mono audio at a fixed sample rate: files are read with ``soundfile``
(WAV, FLAC, OGG, AIFF, AU, ...) or, for what soundfile cannot read (e.g. MP3), with ``librosa``'s
fallback; multi-channel audio is averaged to mono and resampled with soxr (``librosa.resample``).
A file that cannot be decoded, or holds NaN or infinite samples, is skipped with a warning by the
folder loaders and listed in their ``skipped`` attribute, never dropped silently; so is a file of
digital silence (no sample above one 16-bit step), which a tagger would describe with confident
nonsense.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from musicrec.errors import ParameterError

AUDIO_SUFFIXES = (".wav", ".au", ".flac", ".ogg", ".mp3", ".aif", ".aiff", ".m4a")
#: Peak amplitude at or below which audio is digital silence: not one sample reaches a 16-bit step.
SILENCE_PEAK = 2.0**-15


def check_finite(audio: np.ndarray, what: str) -> np.ndarray:
    """Return ``audio`` if every sample is finite, else raise a :class:`ParameterError` naming ``what``."""
    finite = np.isfinite(audio)
    if not finite.all():
        bad = int(finite.size - finite.sum())
        raise ParameterError(f"{what} holds {bad} NaN or infinite sample(s) of {finite.size}")
    return audio


def is_digital_silence(audio: np.ndarray) -> bool:
    """True if no sample of ``audio`` exceeds :data:`SILENCE_PEAK` in magnitude (empty audio included)."""
    audio = np.asarray(audio)
    return audio.size == 0 or float(np.abs(audio).max()) <= SILENCE_PEAK


def silence_reason(audio: np.ndarray) -> str | None:
    """Why a clip cannot be tagged meaningfully (digital silence), or ``None`` if it can."""
    if is_digital_silence(audio):
        return (f"digital silence (no sample above {SILENCE_PEAK:.1e}, one 16-bit step): "
                "a tagger's output would describe nothing")
    return None


def load_audio(path: str | os.PathLike, *, sr: int | None = 22050, mono: bool = True,
               duration: float | None = None) -> tuple[np.ndarray, int]:
    """Read ``path`` as float32; resample to ``sr`` (``None`` keeps the file's rate) and downmix.

    Parameters
    ----------
    path : path
        An audio file.
    sr : int or None
        Target sample rate.
    mono : bool
        Average the channels.
    duration : float, optional
        Read at most this many seconds from the start.

    Returns
    -------
    audio : np.ndarray [shape=(n,) if mono else (channels, n)]
    sr : int
    """
    import librosa
    import soundfile as sf

    path = Path(path)
    if path.is_dir():
        raise ParameterError(f"audio file {path} is a folder")
    if not path.is_file():
        raise ParameterError(f"audio file {path} does not exist")
    try:
        info = sf.info(str(path))
        frames = -1 if duration is None else int(duration * info.samplerate)
        audio, native = sf.read(str(path), frames=frames, dtype="float32", always_2d=True)
        audio = audio.T  # (channels, samples)
    except Exception as sf_error:  # soundfile cannot decode it: try librosa's audioread fallback
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                audio, native = librosa.load(str(path), sr=None, mono=False, duration=duration)
        except Exception as error:
            raise ParameterError(f"cannot read audio file {path}: {sf_error}; {error}") from None
        audio = np.atleast_2d(audio).astype(np.float32)
    if audio.shape[-1] == 0:
        raise ParameterError(f"audio file {path} holds no samples")
    check_finite(audio, f"audio file {path}")
    if mono:
        audio = audio.mean(axis=0)
    if sr is not None and sr != native:
        audio = librosa.resample(audio, orig_sr=native, target_sr=sr).astype(np.float32)
        native = sr
    return np.ascontiguousarray(audio, dtype=np.float32), int(native)


def fix_length(audio: np.ndarray, sr: int, seconds: float) -> np.ndarray:
    """Crop or zero-pad ``audio`` (last axis) to exactly ``seconds``."""
    n = int(round(seconds * sr))
    if audio.shape[-1] >= n:
        return audio[..., :n]
    pad = [(0, 0)] * (audio.ndim - 1) + [(0, n - audio.shape[-1])]
    return np.pad(audio, pad)


def find_audio_files(root: str | os.PathLike, *, suffixes=AUDIO_SUFFIXES, recursive: bool = True) -> list[Path]:
    """Audio files under ``root`` (sorted), by suffix, case-insensitive; hidden files ignored."""
    root = Path(root)
    if not root.is_dir():
        raise ParameterError(f"audio folder {root} does not exist or is not a folder")
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in root.glob(pattern)
                  if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith("."))


@dataclass
class AudioFolder:
    """A plain folder of audio files, without labels, for qualitative use.

    >>> folder = AudioFolder("my_music")                        # doctest: +SKIP
    >>> for track_id, audio in folder.iter_audio(): ...         # doctest: +SKIP

    Attributes
    ----------
    root : Path
    sr : int
        Sample rate audio is returned at.
    duration : float or None
        Crop/pad every clip to this many seconds (``None`` keeps the full file).
    skipped : list of (Path, str)
        Files that could not be read, with the reason (filled while iterating).
    """

    root: str | os.PathLike
    sr: int = 22050
    duration: float | None = None
    recursive: bool = True
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def __post_init__(self):
        self.root = Path(self.root)
        self.files = find_audio_files(self.root, recursive=self.recursive)
        if not self.files:
            raise ParameterError(f"audio folder {self.root} holds no audio files "
                                 f"(looked for {', '.join(AUDIO_SUFFIXES)})")

    def table(self) -> pd.DataFrame:
        """One row per file: ``track_id`` (path relative to the root, without suffix) and ``path``."""
        return pd.DataFrame({
            "track_id": [str(p.relative_to(self.root).with_suffix("")) for p in self.files],
            "path": [str(p) for p in self.files],
        })

    def iter_audio(self):
        """Yield ``(track_id, audio)``; unreadable, non-finite and silent files are skipped with a warning
        and recorded in :attr:`skipped`."""
        self.skipped = []
        for row in self.table().itertuples():
            try:
                audio, _ = load_audio(row.path, sr=self.sr)
            except ParameterError as error:
                skip(self.skipped, row.path, str(error))
                continue
            reason = silence_reason(audio)
            if reason is not None:
                skip(self.skipped, row.path, reason)
                continue
            if self.duration is not None:
                audio = fix_length(audio, self.sr, self.duration)
            yield row.track_id, audio


def skip(skipped: list[tuple[Path, str]], path: str | os.PathLike, reason: str) -> None:
    """Warn that ``path`` is skipped and record it with the reason (what the folder loaders do)."""
    warnings.warn(f"skipping audio file {path}: {reason}", stacklevel=3)
    skipped.append((Path(path), reason))
