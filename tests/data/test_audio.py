"""Audio reading (resampling, downmixing, crop/pad) and the plain audio-folder loader."""

import warnings

import numpy as np
import pytest
import soundfile as sf

from musicrec.data.audio import AudioFolder, fix_length, load_audio
from musicrec.errors import ParameterError


def test_load_resamples_and_downmixes(tmp_path):
    sr = 48000
    t = np.arange(sr) / sr
    left, right = np.sin(2 * np.pi * 440 * t), np.zeros_like(t)
    sf.write(tmp_path / "a.flac", np.stack([left, right], axis=1), sr)
    audio, out_sr = load_audio(tmp_path / "a.flac", sr=16000)
    assert out_sr == 16000 and audio.shape == (16000,) and audio.dtype == np.float32
    assert abs(np.abs(audio[1000:-1000]).max() - 0.5) < 0.01  # mean of a full-scale and a silent channel
    stereo, native = load_audio(tmp_path / "a.flac", sr=None, mono=False, duration=0.5)
    assert native == sr and stereo.shape == (2, sr // 2)


def test_fix_length():
    x = np.ones(10, dtype=np.float32)
    assert fix_length(x, 10, 0.5).shape == (5,)
    padded = fix_length(x, 10, 1.5)
    assert padded.shape == (15,) and padded[10:].sum() == 0


def test_missing_or_unreadable_file(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        load_audio(tmp_path / "nope.wav")
    (tmp_path / "bad.wav").write_bytes(b"garbage" * 20)
    with pytest.raises(ParameterError, match="cannot read audio file"):
        load_audio(tmp_path / "bad.wav")


def test_audio_folder_skips_and_lists_unreadable_files(tmp_path):
    (tmp_path / "album").mkdir()
    sf.write(tmp_path / "album" / "one.wav", 0.1 * np.sin(np.arange(8000) / 3), 8000)
    sf.write(tmp_path / "two.ogg", 0.1 * np.ones(4000), 8000, format="OGG")
    (tmp_path / "broken.mp3").write_bytes(b"not audio")
    (tmp_path / "cover.jpg").write_bytes(b"x")
    folder = AudioFolder(tmp_path, sr=8000, duration=2.0)
    assert list(folder.table().track_id) == ["album/one", "broken", "two"]
    with pytest.warns(UserWarning, match="broken.mp3"):
        clips = dict(folder.iter_audio())
    assert sorted(clips) == ["album/one", "two"] and clips["two"].shape == (16000,)
    assert [p.name for p, _ in folder.skipped] == ["broken.mp3"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParameterError, match="holds no audio files"):
        AudioFolder(tmp_path / "empty")


def test_non_finite_and_silent_files_are_skipped_and_listed_and_iteration_goes_on(tmp_path):
    tone = 0.1 * np.sin(np.arange(8000) / 3)
    with_nan = tone.copy()
    with_nan[10] = np.nan
    sf.write(tmp_path / "a_nan.wav", with_nan, 8000, subtype="FLOAT")
    with_inf = tone.copy()
    with_inf[-1] = np.inf
    sf.write(tmp_path / "b_inf.wav", with_inf, 8000, subtype="FLOAT")
    sf.write(tmp_path / "c_silent.wav", np.zeros(8000), 8000)
    sf.write(tmp_path / "d_fine.wav", tone, 8000)
    with pytest.raises(ParameterError, match="a_nan.wav holds 1 NaN or infinite sample"):
        load_audio(tmp_path / "a_nan.wav")
    folder = AudioFolder(tmp_path, sr=8000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clips = dict(folder.iter_audio())
    assert list(clips) == ["d_fine"] and len(caught) == 3 and "digital silence" in str(caught[-1].message)
    reasons = {path.name: reason for path, reason in folder.skipped}
    assert sorted(reasons) == ["a_nan.wav", "b_inf.wav", "c_silent.wav"]
    assert "NaN or infinite" in reasons["b_inf.wav"] and "digital silence" in reasons["c_silent.wav"]
    with pytest.raises(ParameterError, match="is a folder"):
        load_audio(tmp_path)
