"""Loader for GTZAN-layout genre collections: the real GTZAN and the synthetic corpus alike.

The public GTZAN copies come in a few layouts; a *root* may hold ``genres/`` (the original ``.au``
release), ``genres_original/`` (the Kaggle ``.wav`` copy, also under ``Data/``), or the genre folders
directly. Labels are the folder names; files are ``<genre>.000NN.au|wav``. Audio is resampled and
downmixed to mono (22,050 Hz by default) and cropped or zero-padded to 30 s.

An unreadable file (the Kaggle copy has a corrupt ``jazz.00054.wav``), one with NaN or infinite samples,
or one of digital silence is skipped with a warning and listed in :attr:`GenreCollection.skipped`,
never dropped silently. Genre folders whose names differ only by case are refused.

>>> gtzan = GenreCollection.open("~/datasets/gtzan")          # doctest: +SKIP
>>> gtzan.table().genre.value_counts()                        # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from musicrec.data.audio import fix_length, load_audio, silence_reason, skip
from musicrec.errors import ParameterError, check_choice

GTZAN_SUFFIXES = (".au", ".wav")
LAYOUTS = ("genres", "genres_original", "Data/genres_original", ".")
DATASETS = ("synthetic", "real", "gtzan")


def _genre_folders(folder: Path) -> list[Path]:
    """Sub-folders of ``folder`` that hold at least one ``.au``/``.wav`` file.

    Labels are folder names, so two folders whose names differ only by case (``Blues/`` and
    ``blues/``) would become two labels of one genre: they are refused, naming both.
    """
    if not folder.is_dir():
        return []
    found = sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")
                   and any(f.suffix.lower() in GTZAN_SUFFIXES for f in d.iterdir() if f.is_file()))
    by_label: dict[str, str] = {}
    for genre in found:
        clash = by_label.setdefault(genre.name.casefold(), genre.name)
        if clash != genre.name:
            raise ParameterError(f"genre folders {clash!r} and {genre.name!r} differ only by case in {folder}; "
                                 "their clips would get two labels for one genre: merge or rename them")
    return found


def find_genre_root(root: str | os.PathLike) -> Path:
    """The folder whose sub-folders are the genres: ``root/genres``, ``root/genres_original``,
    ``root/Data/genres_original`` or ``root`` itself (first match)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ParameterError(f"GTZAN root {root} does not exist or is not a folder")
    for layout in LAYOUTS:
        candidate = root / layout
        if _genre_folders(candidate):
            return candidate.resolve()
    found = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())[:12]
    raise ParameterError(
        f"{root} is not in GTZAN's layout: expected genre folders (blues/, classical/, ...) holding "
        f"<genre>.000NN.au or .wav files, directly or under genres/, genres_original/ or "
        f"Data/genres_original/; found {found or 'an empty folder'}")


@dataclass
class GenreCollection:
    """Audio clips labelled by their folder (GTZAN layout).

    Attributes
    ----------
    root : Path
        The folder holding the genre folders.
    sr : int
        Sample rate audio is returned at.
    duration : float
        Every clip is cropped or zero-padded to this many seconds.
    skipped : list of (Path, str)
        Unreadable files met so far, with the reason.
    """

    root: Path
    sr: int = 22050
    duration: float = 30.0
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @classmethod
    def open(cls, root: str | os.PathLike, *, sr: int = 22050, duration: float = 30.0) -> "GenreCollection":
        """Find the genre folders under ``root`` (see :func:`find_genre_root`)."""
        return cls(find_genre_root(root), sr=sr, duration=duration)

    def table(self) -> pd.DataFrame:
        """One row per audio file: ``track_id`` (file stem), ``genre`` (folder name), ``path``."""
        rows = []
        for folder in _genre_folders(self.root):
            for path in sorted(folder.iterdir()):
                if path.is_file() and path.suffix.lower() in GTZAN_SUFFIXES and not path.name.startswith("."):
                    rows.append({"track_id": path.stem, "genre": folder.name, "path": str(path)})
        return pd.DataFrame(rows, columns=["track_id", "genre", "path"])

    def load(self, path: str | os.PathLike) -> np.ndarray:
        """One clip as float32 mono at :attr:`sr`, exactly :attr:`duration` seconds."""
        audio, _ = load_audio(path, sr=self.sr)
        return fix_length(audio, self.sr, self.duration)

    def iter_audio(self, table: pd.DataFrame | None = None):
        """Yield ``(row, audio)`` for every readable file; unreadable, non-finite and digitally silent
        files are warned about, recorded in :attr:`skipped`, and the iteration goes on."""
        self.skipped = []
        for row in (self.table() if table is None else table).itertuples(index=False):
            try:
                audio = self.load(row.path)
            except ParameterError as error:
                skip(self.skipped, row.path, str(error))
                continue
            reason = silence_reason(audio)
            if reason is not None:
                skip(self.skipped, row.path, reason)
                continue
            yield row, audio


def dataset_table(dataset: str, root: str | os.PathLike) -> pd.DataFrame:
    """``track_id``, ``genre``, ``path`` (+ the synthetic corpus's metadata columns) of a collection.

    ``dataset="synthetic"`` reads a corpus built by :func:`musicrec.data.corpus.build_corpus` (its
    ``metadata.csv``); ``dataset="real"`` a corpus cut by :func:`musicrec.data.real_corpus.build_real_corpus`;
    ``dataset="gtzan"`` scans a GTZAN root in any of the layouts above.
    """
    check_choice("dataset", dataset, DATASETS)
    if dataset == "synthetic":
        from musicrec.data.corpus import load_metadata

        return load_metadata(root)
    if dataset == "real":
        from musicrec.data.real_corpus import load_metadata as load_real_metadata

        return load_real_metadata(root)
    return GenreCollection.open(root).table()


def parse_datasets(dataset: str | Sequence[str]) -> list[str]:
    """``"synthetic,real"`` or ``["synthetic", "real"]`` -> the corpora a notebook shows, checked."""
    names = [d.strip() for d in dataset.split(",")] if isinstance(dataset, str) else [str(d) for d in dataset]
    names = [d for d in names if d]
    if not names:
        raise ParameterError(f"dataset={dataset!r} names no corpus; use synthetic, real or gtzan")
    for name in names:
        check_choice("dataset", name, DATASETS)
    return list(dict.fromkeys(names))


# -- which clips belong together (honest genre accuracy on few tracks) -------------------------------------
#: What "the same track" and "the same artist" mean in each corpus (columns of its track table).
GROUPINGS = {"synthetic": {"clip": "track_id", "groove": "groove"},
             "real": {"clip": "track_id", "track": "track", "artist": "artist"},
             "gtzan": {"clip": "track_id"}}


def clip_groups(dataset: str, table: pd.DataFrame, tracks: pd.DataFrame) -> pd.DataFrame:
    """One column per grouping of :data:`GROUPINGS` for the tagged clips ``tracks`` (joined on ``track_id``).

    Synthetic clips are all distinct combinations, so a clip is its own track; the nearest thing to an
    artist is the accompaniment groove it shares with other clips. Real clips share a track (up to three
    clips of one recording) and an artist.
    """
    check_choice("dataset", dataset, DATASETS)
    columns = GROUPINGS[dataset]
    joined = tracks[["track_id"]].merge(table.drop_duplicates("track_id"), on="track_id", how="left")
    missing = [c for c in columns.values() if c not in joined.columns]
    if missing:
        raise ParameterError(f"the {dataset} track table lacks the grouping column(s) {missing}")
    return pd.DataFrame({name: joined[column].astype(str).to_numpy() for name, column in columns.items()})


def group_counts(tracks: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """Per label: clips and the number of distinct groups of each grouping (tracks, artists, grooves)."""
    from musicrec.data.corpus import genre_order

    frame = pd.concat([tracks[["genre"]].reset_index(drop=True), groups.reset_index(drop=True)], axis=1)
    table = frame.groupby("genre").agg(clips=("genre", "size"),
                                       **{f"distinct_{g}s": (g, "nunique") for g in groups.columns if g != "clip"})
    return table.loc[genre_order(table.index)].reset_index()
