"""Tagging a whole collection of clips with a musicnn model, in parallel worker processes.

Each worker loads the model once (one torch thread) and tags every ``jobs``-th clip; the results come
back in the collection's order, with the clips that could not be read listed (never dropped silently).

A corpus that loudness-normalised its clips can hand the gain it applied (``gain_db``) back: the tagger
then hears each clip at its source's level. musicnn's log-mel (``log10(10000 x + 1)``) is not level
invariant and its models learnt from commercial masters at their own level (as GTZAN, which the thesis
tagged, keeps its recordings), so a loud master attenuated by 12 dB to a common RMS level sounds different
to it: a death-metal recording loses much of its ``metal`` probability.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from musicrec.errors import ParameterError


def _tag_share(args) -> tuple[list[int], list[dict], dict[str, list[np.ndarray]], list[tuple[str, str]]]:
    """Tag the rows ``indices`` of the table (one worker's share)."""
    model, records, indices, seconds, device = args
    from musicrec.data.gtzan import GenreCollection
    from musicrec.features.tagger import SR, load_tagger
    from musicrec.utils import setup_torch

    setup_torch(device)
    tagger = load_tagger(model, device=device)
    clips = GenreCollection(".", sr=SR, duration=seconds)
    share = pd.DataFrame([{**records[index], "position": index} for index in indices],
                         columns=["track_id", "genre", "path", "gain_db", "position"])
    rows, vectors, done = [], {}, []
    # iter_audio skips (and lists) unreadable, non-finite and digitally silent files
    for record, audio in clips.iter_audio(share):
        if record.gain_db:
            audio = audio * np.float32(10 ** (-float(record.gain_db) / 20))
        start = time.perf_counter()
        out = tagger.tag(audio, SR)
        for layer in tagger.layers:
            vectors.setdefault(layer, []).append(out.clip_embedding(layer))
        top = out.top_tags(3)
        rows.append({"track_id": record.track_id, "genre": record.genre, "path": record.path,
                     "patches": len(out.taggram), "seconds_to_tag": time.perf_counter() - start,
                     **{f"top{i + 1}": f"{tag} {p:.2f}" for i, (tag, p) in enumerate(top)}})
        done.append(int(record.position))
    return done, rows, vectors, [(str(p), r) for p, r in clips.skipped]


def tag_table(table: pd.DataFrame, *, model: str, seconds: float, jobs: int = 1, device: str = "cpu",
              progress: bool = True, gain_db=None) -> tuple[pd.DataFrame, dict[str, np.ndarray], pd.DataFrame]:
    """Tag every clip of ``table`` (``track_id``, ``genre``, ``path``) with ``model``.

    Parameters
    ----------
    table : pd.DataFrame
        One row per clip.
    model : str
        A musicnn model of :data:`musicrec.features.tagger.MODELS`.
    seconds : float
        Every clip is cropped or zero-padded to this length first.
    jobs : int
        Worker processes (the default profile uses both cores; ``1`` tags in this process).
    gain_db : sequence of float [shape=(clips,)], optional
        The gain (dB) the corpus applied to each clip; it is undone before tagging, so the tagger hears the
        source's level (``None``: every clip as stored).

    Returns
    -------
    tracks : pd.DataFrame
        One row per tagged clip, in the table's order: ``track_id``, ``genre``, ``path``, ``patches``,
        ``seconds_to_tag``, ``top1..top3``.
    embeddings : dict of str -> np.ndarray [shape=(clips, dim)]
        The clip vector of every layer (``taggram``: the mean tag probabilities).
    skipped : pd.DataFrame
        ``path``, ``reason`` of the files that could not be read.
    """
    from tqdm import tqdm

    records = table[["track_id", "genre", "path"]].to_dict("records")
    gains = np.zeros(len(records)) if gain_db is None else np.asarray(gain_db, dtype=np.float64).reshape(-1)
    if gains.shape != (len(records),) or not np.isfinite(gains).all():
        raise ParameterError(f"gain_db must be one finite number per clip ({len(records)}), got shape {gains.shape}")
    for record, gain in zip(records, gains):
        record["gain_db"] = float(gain)
    jobs = max(1, min(int(jobs), len(records)))
    shares = [list(range(j, len(records), jobs)) for j in range(jobs)]
    tasks = [(model, records, share, float(seconds), device) for share in shares]
    results = []
    with tqdm(total=len(records), desc=f"tagging with {model}", disable=not progress, mininterval=15) as bar:
        if jobs == 1:
            results.append(_tag_share(tasks[0]))
            bar.update(len(records))
        else:
            import multiprocessing

            from musicrec.utils import end_with_parent

            # spawned, not forked: a fresh interpreter per worker, ended by the kernel if this process dies
            with ProcessPoolExecutor(max_workers=jobs, initializer=end_with_parent, initargs=(os.getpid(),),
                                     mp_context=multiprocessing.get_context("spawn")) as pool:
                for result in pool.map(_tag_share, tasks):
                    results.append(result)
                    bar.update(len(result[0]))
    order, rows, layers, skipped = [], [], {}, []
    for done, share_rows, vectors, share_skipped in results:
        order += done
        rows += share_rows
        for layer, values in vectors.items():
            layers.setdefault(layer, []).extend(values)
        skipped += share_skipped
    if not rows:
        raise ParameterError(f"no clip could be read; {len(skipped)} unreadable file(s), e.g. "
                             + "; ".join(f"{p}: {r}" for p, r in skipped[:3]))
    sort = np.argsort(order, kind="stable")
    tracks = pd.DataFrame([rows[i] for i in sort])
    embeddings = {layer: np.stack(values)[sort] for layer, values in layers.items()}
    return tracks, embeddings, pd.DataFrame(skipped, columns=["path", "reason"])
