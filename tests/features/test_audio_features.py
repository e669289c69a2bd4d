"""Spotify-style features of a clip: the key finder on known chroma, vibenet's seven on tiny files."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from musicrec.data.catalog import CATALOG_COLUMNS, stable_track_id
from musicrec.errors import ParameterError
from musicrec.features import audio_features as af

SR = 22050


def tone(freqs, seconds=3.0, sr=SR, level=0.1):
    t = np.arange(int(seconds * sr)) / sr
    return (level * sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs)).astype(np.float32)


@pytest.mark.parametrize("key", range(12))
def test_a_rotated_profile_gives_its_key_and_mode(key):
    assert af.key_and_mode(np.roll(af.MAJOR_PROFILE, key))[:2] == (key, 1)
    assert af.key_and_mode(np.roll(af.MINOR_PROFILE, key))[:2] == (key, 0)


def test_a_c_major_triad_is_heard_in_c_major_and_bad_chroma_is_refused():
    # C5-E5-G5 and A4-C5-E5 (an octave above middle C the STFT separates the pitch classes cleanly)
    key, mode, r = af.key_and_mode(af.mean_chroma(tone([523.25, 659.26, 783.99]), SR))
    assert (key, mode) == (0, 1) and r > 0.5
    assert af.key_and_mode(af.mean_chroma(tone([440.0, 523.25, 659.26]), SR))[:2] == (9, 0)
    with pytest.raises(ParameterError, match="12 finite"):
        af.key_and_mode(np.ones(11))
    with pytest.raises(ParameterError, match="12 finite"):
        af.key_and_mode(np.full(12, np.nan))


def test_clip_feature_table_keeps_the_order_and_undoes_the_gain(tmp_path):
    pytest.importorskip("vibenet")
    pytest.importorskip("onnxruntime")
    rows = []
    for i, freqs in enumerate([[220.0], [110.0, 330.0, 550.0]]):
        path = tmp_path / f"clip{i}.wav"
        sf.write(path, tone(freqs, seconds=3.0), SR)
        rows.append({"track_id": f"clip{i}", "path": str(path), "gain_db": 0.0, "source_rms_dbfs": -20.0 - i})
    table = af.clip_feature_table(pd.DataFrame(rows[::-1]), seconds=3.0)
    assert table["clip"].tolist() == ["clip1", "clip0"]
    assert table.loudness.tolist() == [-21.0, -20.0]
    for name in af.VIBENET_FEATURES:
        assert table[name].between(0, 1).all(), name
    assert [c for c in table.columns if c.startswith("chroma_")] == [f"chroma_{i:02d}" for i in range(12)]
    assert (table.tempo >= 0).all()  # a steady tone has no beat: librosa reports 0 BPM
    # the same clip stored 6 dB louder with gain_db=+6 gives vibenet the same audio (up to 16-bit rounding)
    sf.write(tmp_path / "loud.wav", tone([220.0], seconds=3.0, level=0.2), SR)
    louder = af.clip_feature_table([{"track_id": "loud", "path": str(tmp_path / "loud.wav"),
                                     "gain_db": 20 * np.log10(2.0), "source_rms_dbfs": -20.0}], seconds=3.0)
    for name in af.VIBENET_FEATURES:
        assert louder[name].iloc[0] == pytest.approx(table[name].iloc[1], abs=5e-3), name
    with pytest.raises(ParameterError, match="source_rms_dbfs"):
        af.clip_feature_table(pd.DataFrame(rows).drop(columns="source_rms_dbfs"), seconds=3.0)
    with pytest.raises(ParameterError, match="no clips"):
        af.clip_feature_table([], seconds=3.0)


def clips_of(tracks):
    """Per-clip features of ``tracks`` = [(track, genre, [tempo per clip], chroma profile)]."""
    clips, metadata = [], []
    for t, (track, genre, tempos, chroma) in enumerate(tracks):
        for c, tempo in enumerate(tempos):
            clip = f"{genre}.{t}{c}"
            row = {"clip": clip, **{name: 0.1 * (t + 1) + 0.01 * c for name in af.VIBENET_FEATURES},
                   "tempo": tempo, "loudness": -20.0 - c}
            row.update({f"chroma_{i:02d}": v for i, v in enumerate(chroma)})
            clips.append(row)
            metadata.append({"track_id": clip, "genre": genre, "track": track, "artist": f"artist {t}",
                             "title": f"title {t}"})
    return pd.DataFrame(clips), pd.DataFrame(metadata)


def test_tracks_from_clips_in_the_spotify_schema():
    clips, metadata = clips_of([("pkg:a.ogg", "metal", [100.0, 102.0, 180.0], np.roll(af.MINOR_PROFILE, 4)),
                                ("pkg:b.ogg", "classical", [70.0], np.roll(af.MAJOR_PROFILE, 7))])
    tracks = af.tracks_from_clips(clips, metadata, {"pkg:a.ogg": 200.5, "pkg:b.ogg": 61.0})
    assert list(tracks.columns[: len(CATALOG_COLUMNS)]) == list(CATALOG_COLUMNS)
    a, b = tracks.iloc[0], tracks.iloc[1]
    assert (a.track_genre, a.clips, a.tempo, a.key, a["mode"], a.duration_ms) == ("metal", 3, 102.0, 4, 0, 200500)
    assert a.loudness == pytest.approx(-21.0) and a.energy == pytest.approx(0.11)
    assert (b.key, b["mode"], b.tempo) == (7, 1, 70.0) and np.isnan(b.popularity)
    assert len(a.track_id) == 22 and stable_track_id("pkg:a.ogg") == a.track_id != b.track_id
