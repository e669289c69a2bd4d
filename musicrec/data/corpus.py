"""A genre-labelled audio corpus built offline, in GTZAN's layout, as a stand-in for GTZAN.

Modelling assumptions (read before trusting a result on this corpus):

* Nine genres are rendered from MIDI accompaniments made by Debian's ``mma`` (Musical MIDI
  Accompaniment) from a *groove* of its library (Blues, CountrySwing, DiscoSoul, HipHop, HeavyMetal,
  Pop, Ska, 60sRock, ...), a chord *progression* typical of the genre (one chord per bar, looped), a
  *tempo*, a *key* (the progression transposed) and a *lead instrument* that plays an ``Aria`` line
  mma generates from the chords. ``classical`` is a Bach chorale from ``music21``'s bundled corpus played
  by one of five ensembles. Audio is rendered by ``fluidsynth`` with the General MIDI soundfont
  ``FluidR3_GM`` (package ``fluid-soundfont-gm``).
* Each clip is one unique (groove, tempo, key, progression, instrument) combination, drawn greedily so
  that grooves, progressions and instruments are used equally often (pure random draws gave
  near-duplicates), and seeded (mma's ``RndSeed``; the seed is in the metadata).
* No vocals, no mixing or mastering, one soundfont: reggae (ska/calypso grooves), hip-hop (a drum groove
  with electric piano, no rap) and metal (GM distortion guitar) are weak stand-ins for the real genres.
* Clips are cropped to ``duration`` seconds (looped if the rendering is shorter), mixed to mono,
  22,050 Hz, and normalised to the same RMS level (-23 dBFS, peak at most -1 dBFS), so loudness does
  not give the genre away.

Layout: ``<root>/<genre>/<genre>.000NN.wav`` plus ``<root>/metadata.csv`` (one row per clip: genre,
how it was made, tempo, key, progression, instrument, seed) and ``<root>/corpus.yml`` (the build
config). A build is resumable: clips already rendered with the same spec are kept.

The builder writes only into a folder it created (a new or empty one, claimed with a
``.musicrec-corpus`` file that lists every file it may write there) or one it built before; it refuses
any other folder, e.g. a GTZAN copy, naming what is there. When the config changes it deletes only the
files that list names, never a file it did not write. Its renderer processes, and the ``mma`` and
``fluidsynth`` they start, end with the build (see :func:`musicrec.utils.end_with_parent`).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import os
import shutil
import subprocess
import tempfile
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from musicrec.errors import ParameterError, check_number
from musicrec.utils import end_with_parent, project_path

GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
SR = 22050
DURATION = 30.0
TARGET_RMS_DBFS = -23.0
PEAK_LIMIT_DBFS = -1.0
CORPUS_VERSION = 2
SOUNDFONT_CANDIDATES = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/soundfonts/FluidR3_GM.sf2")
NOTE_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
TRANSPOSITIONS = tuple(range(-5, 7))  # semitones from C: every key once, keeping registers sane
#: Claims a folder for the builder and lists (root-relative) every file it may write there.
OWNER_FILE = ".musicrec-corpus"
#: Files of the builder's own bookkeeping (besides the clips).
BOOKKEEPING = ("metadata.csv", "corpus.yml")
INSTALL_HINT = ("install the Debian packages mma, fluidsynth and fluid-soundfont-gm "
                "(`make setup` does it where apt-get is available, e.g. "
                "`sudo apt-get install mma fluidsynth fluid-soundfont-gm`)")


@dataclass(frozen=True)
class Recipe:
    """How one genre is made: the choices a clip's combination is drawn from."""

    grooves: tuple[str, ...]
    progressions: dict[str, str]     # name -> chords in C, one per bar ("C7 F7 C7 C7")
    instruments: tuple[str, ...]     # GM voice names (mma spelling) of the lead line
    tempo: tuple[int, int]           # bpm range, inclusive, in steps of 2
    mode: str = "major"              # the progressions' tonic mode, for the key label


RECIPES: dict[str, Recipe] = {
    "blues": Recipe(
        grooves=("Blues", "Blues1", "FastBlues", "SlowBlues", "BluesTriple"),
        progressions={"12-bar": "C7 C7 C7 C7 F7 F7 C7 C7 G7 F7 C7 G7",
                      "quick-change": "C7 F7 C7 C7 F7 F7 C7 C7 G7 F7 C7 G7",
                      "minor 12-bar": "Cm7 Cm7 Cm7 Cm7 Fm7 Fm7 Cm7 Cm7 Ab7 G7 Cm7 G7",
                      "8-bar": "C7 G7 F7 F7 C7 G7 C7 G7"},
        instruments=("Harmonica", "CleanGuitar", "TenorSax", "Piano1"), tempo=(66, 130)),
    "country": Recipe(
        grooves=("CountrySwing", "CountrySwing1", "SlowCountry", "BlueGrass", "HillCountry"),
        progressions={"I-IV-V": "C C F F G G C C", "I-V": "C C G7 G7 G7 G7 C C",
                      "I-IV-I-V": "C F C G7", "I-IV-V-IV": "C F G F"},
        instruments=("Fiddle", "Banjo", "SteelGuitar", "Harmonica"), tempo=(80, 150)),
    "disco": Recipe(
        grooves=("DiscoSoul", "Dance1", "Dance2", "DancePop1", "DancePop2"),
        progressions={"i-iv": "Cm7 Cm7 Fm7 Fm7", "ii-V": "Dm7 G7 Dm7 G7",
                      "I-vi-ii-V": "Cmaj7 Am7 Dm7 G7", "i-bVII-bVI-V": "Cm Bb Ab G7"},
        instruments=("Strings", "SynthStrings1", "BrassSection", "EPiano"), tempo=(110, 130)),
    "hiphop": Recipe(
        grooves=("HipHop", "Funk1", "Funk2", "BVFunk", "FUNK01"),
        progressions={"i-bVI": "Cm7 Cm7 Abmaj7 Abmaj7", "i-iv-v": "Cm7 Fm7 Gm7 Cm7",
                      "ii-V-I-vi": "Dm7 G7 Cmaj7 Am7", "i-bVII": "Cm Cm Bb Bb"},
        instruments=("EPiano", "Vibraphone", "SquareWave", "SynthStrings1"), tempo=(80, 100), mode="minor"),
    "jazz": Recipe(
        grooves=("Swing", "JazzCombo", "ModernJazz", "MellowJazz", "SlowJazz", "BossaNova"),
        progressions={"ii-V-I": "Dm7 G7 Cmaj7 Cmaj7", "rhythm": "Cmaj7 Am7 Dm7 G7 Em7 A7 Dm7 G7",
                      "minor ii-V-i": "Dm7b5 G7 Cm7 Cm7", "tritone turnaround": "Cmaj7 A7 Dm7 G7 Em7 Eb7 Dm7 Db7"},
        instruments=("TenorSax", "Trumpet", "Vibraphone", "AltoSax", "JazzGuitar"), tempo=(70, 180)),
    "metal": Recipe(
        grooves=("HeavyMetal", "metal1A", "metal1B", "metal2A", "metal2B"),
        progressions={"i-bVI-bVII": "C5 C5 Ab5 Bb5", "phrygian i-bII": "C5 Db5 C5 Db5",
                      "i-iv-i-v": "C5 F5 C5 G5", "i-bVII-bVI-bVII": "C5 Bb5 Ab5 Bb5"},
        instruments=("DistortionGuitar", "OverDriveGuitar"), tempo=(100, 180), mode="minor"),
    "pop": Recipe(
        grooves=("Pop", "80sPop", "PopBallad", "8BeatPop1", "ElectricPop"),
        progressions={"I-V-vi-IV": "C G Am F", "vi-IV-I-V": "Am F C G", "I-vi-IV-V": "C Am F G",
                      "I-IV-vi-V": "C F Am G"},
        instruments=("Piano1", "SawWave", "Flute", "Marimba"), tempo=(90, 130)),
    "reggae": Recipe(
        grooves=("Ska", "Ska1", "SkaClap", "Calypso", "SKA01"),
        progressions={"I-IV": "C C F F", "I-V": "C C G7 G7", "i-iv": "Cm Cm Fm Fm", "I-IV-V-IV": "C F G F"},
        instruments=("Organ1", "Trumpet", "SteelDrums", "MutedGuitar"), tempo=(70, 110)),
    "rock": Recipe(
        grooves=("60sRock", "50sRock", "BasicRock", "Rock1", "ShuffleRock"),
        progressions={"I-IV-V": "C F G G", "I-bVII-IV": "C Bb F C", "I-IV": "C F C F", "I-V-IV": "C G F C"},
        instruments=("OverDriveGuitar", "CleanGuitar", "Organ3", "Piano2"), tempo=(100, 160)),
}

#: classical: Bach chorales (music21 corpus) played by one of these ensembles (GM programs per voice).
ENSEMBLES = {
    "string quartet": (40, 40, 41, 42),
    "church organ": (19, 19, 19, 19),
    "piano": (0, 0, 0, 0),
    "woodwinds": (73, 68, 71, 70),
    "choir": (52, 52, 52, 52),
}
CLASSICAL_TEMPO = (56, 96)

#: Rhythms of the generated lead line (mma Aria patterns: beat, length, velocity), one drawn per clip.
ARIA_PATTERNS = (
    "{1 4 90; 2 4 80; 3 4. 90; 4.5 8 80}",
    "{1 8 90; 1.5 8 80; 2 4 85; 3 2 90}",
    "{1 2 90; 3 8 80; 3.5 8 80; 4 4 85}",
    "{1 4. 90; 2.5 8 80; 3 4 85; 4 8 80; 4.5 8 80}",
)


@dataclass(frozen=True)
class ClipSpec:
    """Everything that determines one clip."""

    track_id: str
    genre: str
    source: str
    groove: str
    tempo: int
    transpose: int
    key: str
    progression: str
    instrument: str
    seed: int

    @property
    def combination(self) -> tuple:
        return (self.groove, self.tempo, self.transpose, self.progression, self.instrument)


# -- planning ----------------------------------------------------------------------------------
def _clip_seed(seed: int, genre: str, index: int) -> int:
    state = np.random.SeedSequence([seed, GENRES.index(genre), index]).generate_state(1)[0]
    return int(state % (2**31 - 1))


def _balanced_triples(choices: list[tuple], n: int, rng: np.random.Generator) -> list[tuple]:
    """Pick ``n`` triples from the product of three choice lists, each marginal used equally often.

    Greedy: every pick takes a value among the least-used ones in each of the three lists (so the
    counts of any two values differ by at most one), preferring triples used least so far, ties broken
    at random.
    """
    triples = list(itertools.product(*choices))
    used_triple = dict.fromkeys(triples, 0)
    used = [dict.fromkeys(c, 0) for c in choices]
    picks = []
    for _ in range(n):
        floors = [min(u.values()) for u in used]
        keys = [(sum(used[d][t[d]] > floors[d] for d in range(3)), used_triple[t]) for t in triples]
        best_key = min(keys)
        best = [t for t, key in zip(triples, keys) if key == best_key]
        pick = best[int(rng.integers(len(best)))]
        picks.append(pick)
        used_triple[pick] += 1
        for d in range(3):
            used[d][pick[d]] += 1
    return picks


def _key_label(transpose: int, mode: str) -> str:
    return f"{NOTE_NAMES[transpose % 12]} {mode}"


def plan_corpus(clips_per_genre: int, *, seed: int = 0, genres=GENRES) -> list[ClipSpec]:
    """The specs of every clip: unique (groove, tempo, key, progression, instrument) per genre.

    The same ``seed`` gives the same plan; a larger ``clips_per_genre`` is a different draw.
    """
    check_number("clips_per_genre", clips_per_genre, low=1, integer=True)
    unknown = [g for g in genres if g not in GENRES]
    if unknown:
        raise ParameterError(f"genres {unknown} are not among {list(GENRES)}")
    specs = []
    for genre in genres:
        rng = np.random.default_rng([seed, GENRES.index(genre)])
        if genre == "classical":
            chorales = classical_pieces()
            if clips_per_genre > len(chorales):
                raise ParameterError(f"clips_per_genre={clips_per_genre} exceeds the {len(chorales)} chorales")
            pieces = [chorales[i] for i in rng.permutation(len(chorales))[:clips_per_genre]]
            ensembles = [list(ENSEMBLES)[i % len(ENSEMBLES)] for i in rng.permutation(clips_per_genre)]
            triples = [("chorale", piece, ens) for piece, ens in zip(pieces, ensembles)]
            tempos = np.arange(CLASSICAL_TEMPO[0], CLASSICAL_TEMPO[1] + 1, 2)
            mode, source = "major", "music21+fluidsynth"
        else:
            recipe = RECIPES[genre]
            triples = _balanced_triples([list(recipe.grooves), list(recipe.progressions),
                                         list(recipe.instruments)], clips_per_genre, rng)
            tempos = np.arange(recipe.tempo[0], recipe.tempo[1] + 1, 2)
            mode, source = recipe.mode, "mma+fluidsynth"
        seen = set()
        for index, (groove, progression, instrument) in enumerate(triples):
            while True:  # unique full combination
                tempo, transpose = int(rng.choice(tempos)), int(rng.choice(TRANSPOSITIONS))
                if (groove, tempo, transpose, progression, instrument) not in seen:
                    break
            seen.add((groove, tempo, transpose, progression, instrument))
            key = "as written" if genre == "classical" and transpose == 0 else (
                f"{transpose:+d} semitones" if genre == "classical" else _key_label(transpose, mode))
            specs.append(ClipSpec(track_id=f"{genre}.{index:05d}", genre=genre, source=source, groove=groove,
                                  tempo=tempo, transpose=transpose, key=key, progression=progression,
                                  instrument=instrument, seed=_clip_seed(seed, genre, index)))
    return specs


def classical_pieces() -> list[str]:
    """Four-voice Bach chorales of music21's bundled corpus (file stems, e.g. ``bwv66.6``), sorted."""
    from music21 import corpus

    stems = sorted({p.stem for p in corpus.getComposer("bach") if p.stem.startswith("bwv")
                    and p.suffix in (".mxl", ".xml") and "." in p.stem[3:]})
    return stems


# -- rendering ---------------------------------------------------------------------------------
def find_soundfont() -> Path:
    for candidate in SOUNDFONT_CANDIDATES:
        if Path(candidate).exists():
            return Path(candidate)
    raise ParameterError(f"the soundfont FluidR3_GM.sf2 was not found in {list(SOUNDFONT_CANDIDATES)}; "
                         + INSTALL_HINT)


def check_tools(*, need_mma: bool = True) -> None:
    """Raise a :class:`ParameterError` saying what to install if mma, fluidsynth or the soundfont is missing."""
    missing = [tool for tool in (("mma",) if need_mma else ()) + ("fluidsynth",) if shutil.which(tool) is None]
    if missing:
        raise ParameterError(f"{', '.join(missing)} not found on PATH; " + INSTALL_HINT)
    find_soundfont()


def mma_source(spec: ClipSpec, *, seconds: float, rng: np.random.Generator | None = None) -> str:
    """The mma song file of a clip: enough bars of the looped progression to last ``seconds``."""
    recipe = RECIPES[spec.genre]
    chords = recipe.progressions[spec.progression].split()
    bars = math.ceil(seconds * spec.tempo / 60 / 4) + 2
    rng = rng or np.random.default_rng(spec.seed)
    pattern = ARIA_PATTERNS[int(rng.integers(len(ARIA_PATTERNS)))]
    lines = [
        f"// {spec.track_id}: musicrec synthetic corpus v{CORPUS_VERSION}",
        f"RndSeed {spec.seed}",
        f"Tempo {spec.tempo}",
        f"Groove {spec.groove}",
        "Begin Aria",
        f"  Voice {spec.instrument}",
        f"  Sequence {pattern}",
        "  Direction r",
        "  ScaleType Scale",
        "  Octave 5",
        "  Volume mf",
        "  Articulate 90",
        "End",
        f"Transpose {spec.transpose}",
    ]
    lines += [f"{bar} {chords[(bar - 1) % len(chords)]}" for bar in range(1, bars + 1)]
    return "\n".join(lines) + "\n"


def _write_mma_midi(spec: ClipSpec, midi: Path, seconds: float) -> None:
    song = midi.with_suffix(".mma")
    song.write_text(mma_source(spec, seconds=seconds))
    result = subprocess.run(["mma", "-w", "-f", str(midi), str(song)], capture_output=True, text=True,
                            preexec_fn=functools.partial(end_with_parent, os.getpid()))
    if result.returncode != 0 or not midi.exists():
        raise RuntimeError(f"mma failed for {spec.track_id}: {result.stdout[-500:]} {result.stderr[-500:]}")


def _write_chorale_midi(spec: ClipSpec, midi: Path) -> None:
    from music21 import corpus, instrument, tempo

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = corpus.parse(f"bach/{spec.progression}")
        if spec.transpose:
            score = score.transpose(spec.transpose)
        for mark in list(score.recurse().getElementsByClass("MetronomeMark")):
            mark.activeSite.remove(mark)
        score.insert(0, tempo.MetronomeMark(number=spec.tempo))
        programs = ENSEMBLES[spec.instrument]
        for i, part in enumerate(score.parts):
            for old in list(part.recurse().getElementsByClass("Instrument")):
                old.activeSite.remove(old)
            voice = instrument.Instrument()
            voice.midiProgram = programs[min(i, len(programs) - 1)]
            voice.midiChannel = i
            part.insert(0, voice)
        score.write("midi", fp=str(midi))


def _render(midi: Path, wav: Path, soundfont: Path) -> np.ndarray:
    import soundfile as sf

    result = subprocess.run(["fluidsynth", "-ni", "-q", "-o", "synth.lock-memory=0", "-o", "synth.dynamic-sample-loading=1", "-g", "0.5", "-r", str(SR), "-F", str(wav),
                             str(soundfont), str(midi)], capture_output=True, text=True,
                            preexec_fn=functools.partial(end_with_parent, os.getpid()))
    if result.returncode != 0 or not wav.exists():
        raise RuntimeError(f"fluidsynth failed on {midi.name}: {result.stderr[-500:]}")
    audio, sr = sf.read(str(wav), dtype="float32", always_2d=True)
    if sr != SR:
        raise RuntimeError(f"fluidsynth wrote {sr} Hz instead of {SR}")
    return audio.mean(axis=1)


def crop_and_normalise(audio: np.ndarray, *, seconds: float = DURATION, sr: int = SR,
                       rms_dbfs: float = TARGET_RMS_DBFS, peak_dbfs: float = PEAK_LIMIT_DBFS
                       ) -> tuple[np.ndarray, float]:
    """Trim trailing silence, loop to at least ``seconds``, crop, and scale to the target RMS.

    The gain is lowered if the peak would exceed ``peak_dbfs``. Returns the clip and the gain in dB.
    """
    audio = np.asarray(audio, dtype=np.float64)
    loud = np.flatnonzero(np.abs(audio) > 1e-4)
    if loud.size == 0:
        raise ParameterError("the rendered audio is silent")
    audio = audio[: loud[-1] + 1]
    n = int(round(seconds * sr))
    if len(audio) < n:
        audio = np.tile(audio, math.ceil(n / len(audio)))
    audio = audio[:n]
    rms = np.sqrt(np.mean(audio**2))
    gain = 10 ** (rms_dbfs / 20) / rms
    peak = np.abs(audio).max() * gain
    if peak > 10 ** (peak_dbfs / 20):
        gain *= 10 ** (peak_dbfs / 20) / peak
    return (audio * gain).astype(np.float32), float(20 * np.log10(gain))


def render_clip(spec: ClipSpec, root: str | os.PathLike, *, seconds: float = DURATION) -> dict:
    """Render one clip into ``root`` (GTZAN layout) and return its metadata row."""
    import soundfile as sf

    root = Path(root)
    target = root / spec.genre / f"{spec.track_id}.wav"
    target.parent.mkdir(parents=True, exist_ok=True)
    soundfont = find_soundfont()
    with tempfile.TemporaryDirectory(prefix="musicrec-clip-") as tmp:
        midi = Path(tmp) / "clip.mid"
        if spec.genre == "classical":
            _write_chorale_midi(spec, midi)
        else:
            _write_mma_midi(spec, midi, seconds + 4)
        audio, gain_db = crop_and_normalise(_render(midi, Path(tmp) / "clip.wav", soundfont), seconds=seconds)
        partial = target.with_name(f".{target.name}.partial")
        sf.write(str(partial), audio, SR, subtype="PCM_16", format="WAV")
        os.replace(partial, target)
    row = asdict(spec)
    row.update(path=str(target.relative_to(root)), duration_s=len(audio) / SR, gain_db=round(gain_db, 2))
    return row


def _render_job(args) -> dict:
    spec, root, seconds = args
    row = render_clip(spec, root, seconds=seconds)
    marker = Path(root) / ".rows" / f"{spec.track_id}.json"
    marker.parent.mkdir(exist_ok=True)
    marker.write_text(json.dumps(row))
    return row


# -- the whole corpus --------------------------------------------------------------------------
def corpus_config(clips_per_genre: int, *, seed: int = 0, seconds: float = DURATION, genres=GENRES) -> dict:
    return {"version": CORPUS_VERSION, "clips_per_genre": int(clips_per_genre), "seed": int(seed),
            "seconds": float(seconds), "genres": list(genres), "sr": SR}


def is_built(root: str | os.PathLike, config: dict | None = None) -> bool:
    """True if ``root`` holds a finished corpus (with the given build config, if one is passed)."""
    root = Path(root)
    if not ((root / "metadata.csv").exists() and (root / "corpus.yml").exists()):
        return False
    if config is None:
        return True
    return yaml.safe_load((root / "corpus.yml").read_text()) == config


def _read_owner(root: Path) -> set[str] | None:
    """The files the builder may write in ``root`` (root-relative), or ``None`` if it does not own it."""
    marker = root / OWNER_FILE
    if marker.is_file():
        try:
            return set(json.loads(marker.read_text())["files"])
        except (ValueError, KeyError, TypeError):
            raise ParameterError(f"{marker} is damaged; delete {root} and build again") from None
    config = root / "corpus.yml"
    if config.is_file() and (root / "metadata.csv").is_file():  # built before the claim file existed
        try:
            built = yaml.safe_load(config.read_text())
            paths = pd.read_csv(root / "metadata.csv").path
        except (yaml.YAMLError, ValueError, KeyError, pd.errors.ParserError, pd.errors.EmptyDataError):
            return None
        if isinstance(built, dict) and {"version", "clips_per_genre", "seed", "sr"} <= set(built):
            return {str(p) for p in paths} | set(BOOKKEEPING)
    return None


def _write_owner(root: Path, files: set[str]) -> None:
    text = json.dumps({"written_by": "musicrec.data.corpus.build_corpus",
                       "note": "the builder writes and deletes only the files listed here",
                       "files": sorted(files)}, indent=1)
    partial = root / f".{OWNER_FILE}.partial"
    partial.write_text(text)
    os.replace(partial, root / OWNER_FILE)


def claim_root(root: str | os.PathLike) -> set[str]:
    """Make sure the builder may write into ``root``; return the files it wrote there before.

    A missing or empty folder is created and claimed; a folder the builder built (it holds the claim
    file, or an older build's ``corpus.yml`` and ``metadata.csv``) is reused. Anything else is refused
    with a :class:`ParameterError` naming what is there, so a user's folder is never written into.
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise ParameterError(f"corpus root {root} is a file, not a folder")
    owned = _read_owner(root) if root.is_dir() else None
    if owned is not None:
        if not (root / OWNER_FILE).is_file():
            _write_owner(root, owned)
        return owned
    if root.is_dir() and any(root.iterdir()):
        found = sorted(p.relative_to(root).as_posix() + ("/" if p.is_dir() else "") for p in root.iterdir())
        raise ParameterError(
            f"{root} already holds files the corpus builder did not write ({', '.join(found[:5])}"
            f"{', ...' if len(found) > 5 else ''}); it writes only into a new or empty folder or one it "
            "built: choose another root")
    root.mkdir(parents=True, exist_ok=True)
    _write_owner(root, set(BOOKKEEPING))
    return set(BOOKKEEPING)


def _remove_owned(root: Path, owned: set[str]) -> None:
    """Delete the files the builder wrote (and genre folders left empty); nothing else."""
    for name in sorted(owned):
        path = root / name
        if path.is_file():
            path.unlink()
    shutil.rmtree(root / ".rows", ignore_errors=True)
    for genre in GENRES:
        folder = root / genre
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def build_corpus(root: str | os.PathLike, clips_per_genre: int = 20, *, seed: int = 0,
                 seconds: float = DURATION, genres=GENRES, jobs: int | None = None,
                 progress: bool = True) -> pd.DataFrame:
    """Render the synthetic corpus into ``root`` and return its metadata table.

    Parameters
    ----------
    root : path
        Output folder (GTZAN layout): a new or empty folder, or one this function built (see
        :func:`claim_root`); any other folder is refused. A finished corpus with the same config is
        reused; clips of an interrupted build with the same spec are kept; a corpus with another config
        is replaced, deleting only the files the builder wrote.
    clips_per_genre : int
        20 by default (``make data``); 100 gives GTZAN's size.
    seed : int
        Seeds the plan (which combinations) and every clip (mma's ``RndSeed``).
    seconds : float
        Clip length (30 s like GTZAN; the smoke profile uses shorter clips).
    jobs : int, optional
        Parallel renderers (default: twice the number of CPUs); they end with the calling process.
    """
    from tqdm import tqdm

    check_number("seconds", seconds, low=3.0)
    if jobs is not None:
        check_number("jobs", jobs, low=1, integer=True)
    root = Path(root)
    config = corpus_config(clips_per_genre, seed=seed, seconds=seconds, genres=genres)
    if is_built(root, config) and _read_owner(root) is not None:
        return load_metadata(root)
    specs = plan_corpus(clips_per_genre, seed=seed, genres=genres)
    check_tools(need_mma=any(g != "classical" for g in genres))
    owned = claim_root(root)
    if is_built(root):  # a finished corpus with another config (e.g. an older version): start afresh
        _remove_owned(root, owned - {OWNER_FILE})
        owned = set(BOOKKEEPING)
    planned = {f"{spec.genre}/{spec.track_id}.wav" for spec in specs}
    foreign = sorted(name for name in planned - owned if (root / name).exists())
    if foreign:
        raise ParameterError(f"{root} holds {', '.join(foreign[:3])}, which the corpus builder did not "
                             "write; it will not overwrite them: choose another root")
    _write_owner(root, owned | planned)
    (root / "metadata.csv").unlink(missing_ok=True)
    rows, todo = {}, []
    for spec in specs:
        marker = root / ".rows" / f"{spec.track_id}.json"
        if marker.exists() and (root / spec.genre / f"{spec.track_id}.wav").exists():
            row = json.loads(marker.read_text())
            if {k: row.get(k) for k in asdict(spec)} == asdict(spec) and row.get("duration_s") == seconds:
                rows[spec.track_id] = row
                continue
        todo.append(spec)
    jobs = jobs or 2 * (os.cpu_count() or 1)  # renderers wait on I/O about half the time
    with ProcessPoolExecutor(max_workers=jobs, initializer=end_with_parent, initargs=(os.getpid(),)) as pool:
        results = pool.map(_render_job, [(spec, str(root), seconds) for spec in todo])
        for row in tqdm(results, total=len(todo), desc=f"rendering corpus into {root.name}",
                        disable=not progress or not todo, mininterval=15):
            rows[row["track_id"]] = row
    table = pd.DataFrame([rows[spec.track_id] for spec in specs])
    table.to_csv(root / "metadata.csv", index=False)
    (root / "corpus.yml").write_text(yaml.safe_dump(config, sort_keys=True))
    shutil.rmtree(root / ".rows", ignore_errors=True)
    return load_metadata(root)


def load_metadata(root: str | os.PathLike) -> pd.DataFrame:
    """The metadata table of a built corpus, with ``path`` made absolute."""
    root = Path(root)
    path = root / "metadata.csv"
    if not path.exists():
        raise ParameterError(f"{root} holds no metadata.csv: build it with `make data` "
                             "or musicrec.data.corpus.build_corpus")
    table = pd.read_csv(path)
    table["path"] = [str(root / p) for p in table["path"]]
    return table


# -- where the corpora live, and the genres' order -----------------------------------------------------------
#: The shared corpora's folder (relative to the project root): ``synth-<clips per genre>`` and ``real``.
CORPUS_DIR = "data/corpus"


def default_corpus_dir(clips_per_genre: int, seconds: float = 30.0) -> Path:
    """``data/corpus/synth-<clips>`` (``-<seconds>s`` appended for clips shorter than 30 s)."""
    suffix = "" if float(seconds) == 30.0 else f"-{seconds:g}s"
    return project_path(CORPUS_DIR) / f"synth-{int(clips_per_genre)}{suffix}"


def genre_order(labels) -> list[str]:
    """GTZAN's genre order (:data:`GENRES`) for the labels present (unknown labels appended alphabetically)."""
    present = set(labels)
    return [g for g in GENRES if g in present] + sorted(present - set(GENRES))
