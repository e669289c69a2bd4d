"""Sentences of notebooks 08-09: the tagger against musicnn's own outputs, tags per genre, the tempo check,
grouped kNN accuracy, and the thesis's reading of its genre-distance heatmaps (§5.2-5.3)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from musicrec.errors import ParameterError

CORPUS_NAMES = {"synthetic": "synthetic corpus", "real": "real-audio corpus", "gtzan": "GTZAN copy"}


def need_columns(table: pd.DataFrame, columns, name: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ParameterError(f"the {name} table lacks the column(s) {missing}")


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def join_names(items) -> str:
    items = list(items)
    if not items:
        return "none"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def golden_sentences(golden: pd.DataFrame) -> str:
    """How far our torch taggers are from musicnn's own TensorFlow outputs, per model and log-mel arithmetic.

    ``golden``: ``model``, ``log-mel`` (``"float32 (ours)"`` / ``"float16 (as musicnn)"``), ``max_abs_diff``.
    """
    need_columns(golden, ["model", "log-mel", "max_abs_diff"], "golden")
    lines = []
    for model, rows in golden.groupby("model", sort=False):
        by = dict(zip(rows["log-mel"], rows["max_abs_diff"]))
        f32 = next((v for k, v in by.items() if k.startswith("float32")), np.nan)
        f16 = next((v for k, v in by.items() if k.startswith("float16")), np.nan)
        lines.append(f"* `{model}`: with our float32 log-mel the taggram differs from musicnn's TensorFlow output by "
                     f"at most {f32:.2e}; with musicnn's float16 log-mel step reproduced, by {f16:.2e}"
                     f"{' (float32 differs by more than 1e-4 because musicnn rounds its input to float16, not because the weights differ)' if f32 > 1e-4 and f16 < 1e-5 else ''}.")
    return "\n".join(lines)


def agreement_sentences(agreement: pd.DataFrame) -> str:
    """Tag agreement per corpus and tagger (the share of clips whose most probable genre tag is their own).

    ``agreement``: ``corpus``, ``tagger``, ``genre``, ``clips``, ``agreement``, ``competing``.
    """
    need_columns(agreement, ["corpus", "tagger", "genre", "clips", "agreement", "competing"], "agreement")
    lines = []
    for (corpus, tagger), rows in agreement.groupby(["corpus", "tagger"], sort=False):
        overall = float((rows.agreement * rows.clips).sum() / rows.clips.sum())
        most = rows[rows.agreement >= 0.5].genre.tolist()
        none = rows[rows.agreement == 0].genre.tolist()
        lines.append(f"* {CORPUS_NAMES.get(corpus, corpus)}, `{tagger}` ({int(rows.competing.iloc[0])} genre tags "
                     f"compete, chance {_pct(1 / rows.competing.iloc[0])}): {_pct(overall)} of {int(rows.clips.sum())} "
                     f"clips agree; recognised in most clips: {join_names(most)}; in none: {join_names(none)}.")
    shared = agreement.groupby(["tagger", "genre"]).corpus.nunique()
    shared = shared[shared > 1]
    if len(shared):
        pairs = []
        for tagger, genre in shared.index:
            rows = agreement[(agreement.tagger == tagger) & (agreement.genre == genre)].set_index("corpus").agreement
            pairs.append(f"{genre} with `{tagger}` " + " vs ".join(f"{_pct(v)} ({c})" for c, v in rows.items()))
        lines.append("* The same genre on both corpora: " + "; ".join(pairs) + ".")
    return "\n".join(lines)


def top_tag_sentences(top: pd.DataFrame) -> str:
    """Which tag comes first per genre. ``top``: ``corpus``, ``tagger``, ``genre``, ``tag`` (the most probable)."""
    need_columns(top, ["corpus", "tagger", "genre", "tag"], "top-tag")
    lines = []
    for (corpus, tagger), rows in top.groupby(["corpus", "tagger"], sort=False):
        counts = rows.tag.value_counts()
        lead, n = counts.index[0], int(counts.iloc[0])
        lines.append(f"* {CORPUS_NAMES.get(corpus, corpus)}, `{tagger}`: '{lead}' is the most probable tag of "
                     f"{n} of its {len(rows)} genres ({join_names(rows[rows.tag == lead].genre)}).")
    return "\n".join(lines)


def tempo_sentences(summary: pd.DataFrame, *, tolerance: float = 0.04) -> str:
    """The known-answer tempo check. ``summary``: ``genre`` (with an ``all`` row), ``clips``, ``accuracy1``, ``accuracy2``."""
    need_columns(summary, ["genre", "clips", "accuracy1", "accuracy2"], "tempo")
    rows = summary.set_index("genre")
    if "all" not in rows.index:
        raise ParameterError("the tempo table needs an 'all' row")
    total = rows.loc["all"]
    per = rows.drop("all")
    worst = per.accuracy1.idxmin()
    octave = per[(per.accuracy2 - per.accuracy1) >= 0.25].index.tolist()
    return (f"librosa's beat tracker recovers the stored tempo within {_pct(tolerance)} for "
            f"{_pct(total.accuracy1)} of the {int(total.clips)} clips (MIREX Accuracy 1), and for "
            f"{_pct(total.accuracy2)} when half, double, a third or triple the tempo also count (Accuracy 2). "
            f"The lowest Accuracy 1 is {worst}'s ({_pct(per.accuracy1.min())})"
            + (f"; octave errors (Accuracy 2 at least 25 points above Accuracy 1) are common in {join_names(octave)}"
               if octave else "") + ".")


def group_count_sentences(counts: pd.DataFrame, corpus: str) -> str:
    """Clips and distinct tracks/artists per label. ``counts``: ``genre``, ``clips``, ``distinct_*s``."""
    need_columns(counts, ["genre", "clips"], "group-count")
    groups = [c for c in counts.columns if c.startswith("distinct_")]
    parts = []
    for row in counts.itertuples(index=False):
        row = row._asdict()
        extra = ", ".join(f"{row[c]} {c[len('distinct_'):]}" for c in groups)
        parts.append(f"{row['genre']} {row['clips']} clips ({extra})" if extra else f"{row['genre']} {row['clips']} clips")
    return f"{CORPUS_NAMES.get(corpus, corpus).capitalize()}: " + "; ".join(parts) + "."


def grouped_knn_sentences(knn: pd.DataFrame, *, dims: str = "4", k: int = 1) -> str:
    """What grouping does to kNN genre accuracy. ``knn``: ``corpus``, ``layer``, ``dims``, ``k``, ``grouping``,
    ``accuracy``, ``balanced_accuracy``, ``labels`` (number of labels, for chance)."""
    need_columns(knn, ["corpus", "layer", "dims", "k", "grouping", "accuracy", "balanced_accuracy", "labels"], "knn")
    lines = []
    for corpus, rows in knn.groupby("corpus", sort=False):
        part = rows[(rows.dims == dims) & (rows.k == k)]
        if part.empty:
            continue
        chance = 1 / int(part.labels.iloc[0])
        groupings = list(dict.fromkeys(part.grouping))
        widest = groupings[-1]
        best = part[part.grouping == widest].sort_values("balanced_accuracy", ascending=False).iloc[0]
        cells = []
        for layer, lrows in part.groupby("layer", sort=False):
            values = lrows.set_index("grouping").balanced_accuracy
            cells.append(f"{layer} " + " → ".join(f"{values[g]:.2f}" for g in groupings))
        lines.append(f"* {CORPUS_NAMES.get(corpus, corpus)} ({dims} PCA dims, k = {k}, balanced accuracy, leaving out "
                     f"{' → '.join('the ' + g for g in groupings)}; chance {chance:.2f}): " + "; ".join(cells)
                     + f". Best with whole {widest}s left out: {best.layer} ({best.balanced_accuracy:.2f}).")
        full = rows[(rows.dims == "all") & (rows.k == k) & (rows.grouping == widest)]
        if len(full):
            top = full.sort_values("balanced_accuracy", ascending=False).iloc[0]
            lines[-1] += f" With every dimension (no PCA): {top.layer} {top.balanced_accuracy:.2f}."
    return "\n".join(lines)


#: The thesis's reading of its heatmaps (figs. 29-31, §5.3) that can be checked on a distance table.
THESIS_READING = {
    "classical_last": "last layer: classical has a relatively *low* distance to many genres (fig. 29)",
    "classical_inner": "layers 3 and 2: classical far from the other genres, \"in the second layer even larger\" (figs. 30-31)",
    "metal": "metal is far from most genres except rock (last layer)",
    "jazz": "jazz is nearest to blues and country (last layer)",
}


def distance_comparison(reading: pd.DataFrame) -> str:
    """A Markdown table: the thesis's reading beside this run's, judged agree / partly / disagree.

    ``reading``: one row per layer (index ``layer 2``, ``layer 3``, ``last layer``) with ``classical / other
    pairs`` (ratio of classical's mean centroid distance to the other pairs'), ``nearest to metal`` and
    ``nearest to jazz`` (the two nearest genres, comma-separated).
    """
    need_columns(reading, ["classical / other pairs", "nearest to metal", "nearest to jazz"], "distance-reading")
    need = {"layer 2", "layer 3", "last layer"}
    if not need <= set(reading.index):
        raise ParameterError(f"the distance-reading table needs the rows {sorted(need)}")
    ratio = reading["classical / other pairs"].astype(float)
    near = {g: {layer: [x.strip() for x in str(reading.loc[layer, f"nearest to {g}"]).split(",")]
                for layer in reading.index} for g in ("metal", "jazz")}
    rows = []
    low = ratio["last layer"] == ratio.min()
    rows.append((THESIS_READING["classical_last"],
                 f"{'agrees' if low else 'disagrees'}: classical's ratio is {ratio['last layer']:.2f} in the last layer, "
                 f"{'its smallest' if low else 'not its smallest'} of the three layers"))
    both = ratio["layer 2"] > 1 and ratio["layer 3"] > 1
    larger2 = ratio["layer 2"] > ratio["layer 3"]
    verdict = "agrees" if both and larger2 else ("partly" if both else "disagrees")
    rows.append((THESIS_READING["classical_inner"],
                 f"{verdict}: ratio {ratio['layer 2']:.2f} in layer 2 and {ratio['layer 3']:.2f} in layer 3 "
                 f"({'larger in layer 2' if larger2 else 'larger in layer 3'})"))
    metal = near["metal"]
    rock_first = metal["last layer"][0] == "rock"
    where = [layer for layer, genres in metal.items() if genres[0] == "rock"]
    rows.append((THESIS_READING["metal"],
                 f"{'agrees' if rock_first else 'disagrees'}: nearest to metal in the last layer: "
                 f"{', '.join(metal['last layer'])}; rock comes first in {join_names(where)}"))
    jazz = near["jazz"]
    hits = len({"blues", "country"} & set(jazz["last layer"]))
    per_layer = "; ".join(f"{layer}: {', '.join(genres)}" for layer, genres in jazz.items())
    rows.append((THESIS_READING["jazz"],
                 f"{'agrees' if hits == 2 else 'partly' if hits == 1 else 'disagrees'}: the two nearest to jazz are "
                 + per_layer))
    lines = ["| the thesis says | this run |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines)


def pca_cost_sentence(knn: pd.DataFrame, *, layer: str = "layer 3", k: int = 1, grouping: str = "clip") -> str:
    """How much genre accuracy the 4-D reduction costs one layer. ``knn``: ``layer``, ``dims``, ``k``,
    ``grouping``, ``balanced_accuracy``."""
    need_columns(knn, ["layer", "dims", "k", "grouping", "balanced_accuracy"], "knn")
    part = knn[(knn.layer == layer) & (knn.k == k) & (knn.grouping == grouping)].set_index("dims").balanced_accuracy
    if not {"4", "all"} <= set(part.index):
        raise ParameterError("the knn table needs dims '4' and 'all'")
    recovered = [d for d in part.index if d not in ("all",) and part[d] >= 0.9 * part["all"]]
    first = min((int(d) for d in recovered), default=None)
    return (f"Going from all dimensions to 4 PCs moves {layer}'s balanced accuracy (k = {k}, each {grouping} left out) "
            f"from {part['all']:.2f} to {part['4']:.2f}"
            + (f"; {first} PCs already reach 90% of it." if first is not None else "; no PCA size up to 16 reaches 90% of it."))


def mapping_rows(values: Mapping[str, float]) -> str:
    """``a 0.12, b 0.34`` for a small mapping (used for per-layer numbers in a sentence)."""
    return ", ".join(f"{k} {v:.2f}" for k, v in values.items())
