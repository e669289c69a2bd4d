"""Track embeddings from word2vec (gensim): sessions are documents, tracks are words."""

from __future__ import annotations

import numpy as np

from musicrec.data.sessions import SessionArrays
from musicrec.errors import check_number


def session_documents(arrays: SessionArrays) -> list[list[str]]:
    """Each session's tracks (both halves, in play order) as a list of token strings."""
    first, second = arrays.first_mask, arrays.second_mask
    return [[str(t) for t in arrays.first_tracks[i, first[i]]]
            + [str(t) for t in arrays.second_tracks[i, second[i]]] for i in range(len(arrays))]


def train_word2vec(arrays: SessionArrays, n_tokens: int, *, dim: int = 32, window: int = 10, epochs: int = 10,
                   seed: int = 0, min_count: int = 1) -> np.ndarray:
    """Skip-gram word2vec over the sessions; returns an embedding ``(n_tokens, dim)``.

    One worker thread and a fixed seed make it deterministic. Tokens never seen (special tokens,
    tracks absent from the sessions) get small random vectors from the same seed.
    """
    from gensim.models import Word2Vec

    check_number("dim", dim, low=1, integer=True)
    model = Word2Vec(sentences=session_documents(arrays), vector_size=int(dim), window=int(window),
                     min_count=int(min_count), sg=1, negative=5, workers=1, seed=int(seed),
                     epochs=int(epochs))
    rng = np.random.default_rng(seed)
    embedding = rng.normal(0, 0.1, size=(int(n_tokens), int(dim))).astype(np.float32)
    for word, index in model.wv.key_to_index.items():
        embedding[int(word)] = model.wv.vectors[index]
    return embedding
