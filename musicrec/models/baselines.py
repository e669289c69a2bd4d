"""Baselines without training by gradient: skip rules and track-sequence heuristics.

Skip rules (predictions ``(n, 10)`` of bool):

* :func:`all_skipped`: every second-half track is skipped (the paper's baseline).
* :func:`first_half_majority`: every second-half track gets the first half's majority (skip when more
  than half of the first half was skipped).
* :func:`oracle_skips`: skip when the simulator's true probability exceeds 0.5 (the ceiling).
* :func:`first_half_oracle_skips`: skip when the probability given the hidden state and the first half
  alone (averaged over the second half's unseen skips) exceeds 0.5.

Track-sequence heuristics, fitted on training sessions (``fit(train)`` then ``predict(arrays)``,
tokens ``(n, 10)``):

* :class:`RandomTracks`: ten distinct random tracks not in the first half (chance).
* :class:`MostPopular`: the ten most played tracks not in the first half, most played first.
* :class:`CoOccurrence`: tracks ranked by how often they share a training session with the first
  half's tracks.
* :class:`SessionKNN`: the ``k`` training sessions most similar to the first half (cosine over track
  sets); each neighbour that holds the first half's last track votes, weighted by its similarity, for
  the tracks that follow it there, position by position; positions without votes take the
  co-occurrence ranking.
* :class:`CommonContinuation` ("continue the most common playlist"): among the training continuations
  after the first half's last track, take the most common next track, keep the continuations that agree
  with it, and repeat; when none is left, fall back to the most popular remaining tracks.
* :class:`LastTrackNeighbours`: the unplayed track nearest (by dot product) to the last track in the
  word2vec embedding the DDPG actor acts in, chained; it is the DDPG actor that always returns the last
  track's embedding, scored as DDPG is (:func:`musicrec.envs.sessions.track_rollout`), so it is one fixed
  policy of DDPG's own action space.

The track-sequence ceiling (:func:`ceiling_predictions`, simulated sessions only) is not fitted: it is
told what the simulator knows of each session (:class:`~musicrec.data.sessions.SessionKnowledge`).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from scipy import sparse

from musicrec.data.sessions import MAX_HALF, N_SPECIAL, SessionArrays, SessionKnowledge
from musicrec.errors import ParameterError, check_number


def all_skipped(arrays: SessionArrays) -> np.ndarray:
    return np.ones_like(arrays.second_skips, dtype=bool)


def first_half_majority(arrays: SessionArrays) -> np.ndarray:
    rate = (arrays.first_skips & arrays.first_mask).sum(axis=1) / arrays.n_first
    return np.repeat((rate > 0.5)[:, None], MAX_HALF, axis=1)


def oracle_skips(arrays: SessionArrays) -> np.ndarray:
    if arrays.skip_probability is None:
        raise ParameterError("the oracle needs the simulator's skip probabilities (real logs have none)")
    return np.nan_to_num(arrays.skip_probability, nan=0.0) > 0.5


def first_half_oracle_skips(arrays: SessionArrays) -> np.ndarray:
    if arrays.marginal_probability is None:
        raise ParameterError("this oracle needs the simulator's first-half skip probabilities")
    return np.nan_to_num(arrays.marginal_probability, nan=0.0) > 0.5


def full_sessions(arrays: SessionArrays) -> np.ndarray:
    """Each session's tokens in play order, ``(n, 20)``, padded with -1."""
    out = np.full((len(arrays), 2 * MAX_HALF), -1, dtype=np.int64)
    for i in range(len(arrays)):
        tracks = np.r_[arrays.first_tracks[i, : arrays.n_first[i]],
                       arrays.second_tracks[i, : arrays.n_second[i]]]
        out[i, : len(tracks)] = tracks
    return out


def _incidence(tokens: np.ndarray, n_tokens: int) -> sparse.csr_matrix:
    rows, cols = np.nonzero(tokens >= N_SPECIAL)
    matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, tokens[rows, cols])),
                               shape=(len(tokens), n_tokens))
    matrix.data[:] = 1.0  # a track twice in a session counts once
    return matrix


def _first_half_tokens(arrays: SessionArrays) -> np.ndarray:
    return np.where(arrays.first_mask, arrays.first_tracks, -1)


def _top_excluding(scores: np.ndarray, exclude: np.ndarray, k: int = MAX_HALF) -> np.ndarray:
    """Top-``k`` columns of each row of ``scores`` after removing special tokens and ``exclude``."""
    scores = np.array(scores, dtype=float)
    scores[:, :N_SPECIAL] = -np.inf
    rows, cols = np.nonzero(exclude >= 0)
    scores[rows, exclude[rows, cols]] = -np.inf
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1)


class RandomTracks:
    """Ten distinct random tracks not in the first half (seeded): the chance level."""

    def __init__(self, seed: int = 0):
        self.seed = int(seed)

    def fit(self, train: SessionArrays, n_tokens: int) -> "RandomTracks":
        self.n_tokens = int(n_tokens)
        return self

    def predict(self, arrays: SessionArrays) -> np.ndarray:
        scores = np.random.default_rng(self.seed).random((len(arrays), self.n_tokens))
        return _top_excluding(scores, _first_half_tokens(arrays))


class MostPopular:
    def fit(self, train: SessionArrays, n_tokens: int) -> "MostPopular":
        tokens = full_sessions(train)
        self.counts = np.bincount(tokens[tokens >= N_SPECIAL], minlength=n_tokens).astype(float)
        return self

    def predict(self, arrays: SessionArrays) -> np.ndarray:
        scores = np.broadcast_to(self.counts, (len(arrays), len(self.counts)))
        return _top_excluding(scores, _first_half_tokens(arrays))


class CoOccurrence:
    def fit(self, train: SessionArrays, n_tokens: int) -> "CoOccurrence":
        incidence = _incidence(full_sessions(train), n_tokens)
        self.cooccurrence = (incidence.T @ incidence).tocsr()
        self.cooccurrence.setdiag(0)
        self.popularity = np.asarray(incidence.sum(axis=0)).ravel()
        return self

    def scores(self, arrays: SessionArrays) -> np.ndarray:
        query = _incidence(_first_half_tokens(arrays), self.cooccurrence.shape[0])
        # ties broken by popularity
        ties = 1e-6 * self.popularity / self.popularity.max()
        return np.asarray((query @ self.cooccurrence).todense()) + ties

    def predict(self, arrays: SessionArrays) -> np.ndarray:
        return _top_excluding(self.scores(arrays), _first_half_tokens(arrays))


class SessionKNN:
    def __init__(self, k: int = 50):
        self.k = int(check_number("k", k, low=1, integer=True))

    def fit(self, train: SessionArrays, n_tokens: int) -> "SessionKNN":
        self.sessions = full_sessions(train)
        incidence = _incidence(self.sessions, n_tokens)
        norms = np.sqrt(np.asarray(incidence.sum(axis=1)).ravel())
        self.incidence = sparse.diags(1.0 / np.maximum(norms, 1e-9)) @ incidence
        self.fallback = CoOccurrence().fit(train, n_tokens)
        return self

    def predict(self, arrays: SessionArrays, *, chunk: int = 500) -> np.ndarray:
        first = _first_half_tokens(arrays)
        fallback = self.fallback.predict(arrays)
        out = np.empty((len(arrays), MAX_HALF), dtype=np.int64)
        last = arrays.first_tracks[np.arange(len(arrays)), arrays.n_first - 1]
        for begin in range(0, len(arrays), chunk):
            part = slice(begin, begin + chunk)
            query = _incidence(first[part], self.incidence.shape[1])
            similarity = np.asarray((query @ self.incidence.T).todense())
            k = min(self.k, similarity.shape[1])
            neighbours = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
            for row, i in enumerate(range(begin, min(begin + chunk, len(arrays)))):
                out[i] = self._vote(neighbours[row], similarity[row], last[i], first[i], fallback[i])
        return out

    def _vote(self, neighbours, similarity, last, first, fallback) -> np.ndarray:
        sessions = self.sessions[neighbours]
        weight = similarity[neighbours]
        hits = sessions == last
        has = hits.any(axis=1) & (weight > 0)
        prediction = fallback.copy()
        if not has.any():
            return prediction
        start = hits[has].argmax(axis=1) + 1
        sessions, weight = sessions[has], weight[has]
        for position in range(MAX_HALF):
            column = start + position
            valid = column < sessions.shape[1]
            if not valid.any():
                break
            tracks = sessions[valid, column[valid]]
            keep = tracks >= N_SPECIAL
            if not keep.any():
                break
            votes = defaultdict(float)
            for track, w in zip(tracks[keep].tolist(), weight[valid][keep].tolist()):
                votes[track] += w
            prediction[position] = max(votes, key=lambda t: (votes[t], -t))
        return prediction


class CommonContinuation:
    def fit(self, train: SessionArrays, n_tokens: int) -> "CommonContinuation":
        self.sessions = full_sessions(train)
        self.where: dict[int, list[tuple[int, int]]] = defaultdict(list)
        rows, cols = np.nonzero(self.sessions >= N_SPECIAL)
        for row, col in zip(rows.tolist(), cols.tolist()):
            self.where[int(self.sessions[row, col])].append((row, col))
        self.popular = MostPopular().fit(train, n_tokens)
        return self

    def predict(self, arrays: SessionArrays) -> np.ndarray:
        fallback = self.popular.predict(arrays)
        last = arrays.first_tracks[np.arange(len(arrays)), arrays.n_first - 1]
        out = fallback.copy()
        for i, track in enumerate(last.tolist()):
            occurrences = self.where.get(int(track), [])
            continuations = [self.sessions[row, col + 1: col + 1 + MAX_HALF] for row, col in occurrences]
            continuations = [c[c >= N_SPECIAL] for c in continuations]
            continuations = [c for c in continuations if len(c)]
            fill = iter(fallback[i])
            for position in range(MAX_HALF):
                if continuations:
                    heads = np.array([c[0] for c in continuations])
                    values, counts = np.unique(heads, return_counts=True)
                    choice = int(values[np.argmax(counts)])
                    continuations = [c[1:] for c in continuations if c[0] == choice and len(c) > 1]
                else:
                    choice = int(next(fill))
                out[i, position] = choice
        return out


class LastTrackNeighbours:
    """The next track is the unplayed track nearest to the one before it in a word2vec embedding.

    Parameters
    ----------
    dim, window, epochs, seed : int
        The word2vec embedding (as :func:`musicrec.models.word2vec.train_word2vec`); DDPG's are
        ``ddpg_dim``, ``ddpg_window`` and ``word2vec_epochs`` of the profile.
    """

    def __init__(self, dim: int = 16, window: int = 10, epochs: int = 10, seed: int = 0):
        self.dim, self.window, self.epochs, self.seed = int(dim), int(window), int(epochs), int(seed)

    def fit(self, train: SessionArrays, n_tokens: int) -> "LastTrackNeighbours":
        from musicrec.envs.sessions import unit_rows
        from musicrec.models.word2vec import train_word2vec

        self.embedding = unit_rows(train_word2vec(train, n_tokens, dim=self.dim, window=self.window,
                                                  epochs=self.epochs, seed=self.seed))
        return self

    def last_track_action(self, observations: np.ndarray) -> np.ndarray:
        """The DDPG state's last-track block (state = mean, last track, their product; see the env)."""
        from musicrec.envs.sessions import last_track_block

        return observations[:, last_track_block(self.dim)]

    def predict(self, arrays: SessionArrays) -> np.ndarray:
        from musicrec.envs.sessions import track_rollout

        return track_rollout(self.last_track_action, arrays, self.embedding)


SEQUENCE_BASELINES = {
    "random": RandomTracks,
    "most_popular": MostPopular,
    "cooccurrence": CoOccurrence,
    "session_knn": SessionKNN,
    "common_continuation": CommonContinuation,
    "last_track_neighbours": LastTrackNeighbours,
}


# -- the track-sequence ceiling -------------------------------------------------------------------------
SESSION_KINDS = ("playlist", "shuffle", "personal")


def ceiling_predictions(arrays: SessionArrays, knowledge: SessionKnowledge) -> np.ndarray:
    """The second halves predicted by a predictor that knows each session's kind, playlist, offset and
    its listener's library; tokens ``(n, 10)``.

    The simulator plays an in-order playlist from its offset, replacing each track by one of the
    listener's library with a fixed small probability; a shuffled playlist as a random order of its
    tracks (same replacements); personal picks as a random order of the library. So the most likely
    track at a second-half position is: the playlist's track at ``offset + n_first + position`` (in
    order); any playlist track the first half did not play (shuffled: each is equally likely, so their
    order does not matter); any library track the first half did not play (personal, and where a
    playlist has run out). Predicting at every position a most likely track, and never one twice, maximises
    the expected MAA given this knowledge: it bounds every model, which knows less.
    """
    n = len(arrays)
    out = np.zeros((n, MAX_HALF), dtype=np.int64)
    for i in range(n):
        n_first, n_second = int(arrays.n_first[i]), int(arrays.n_second[i])
        used = set(arrays.first_tracks[i, :n_first].tolist())
        playlist = knowledge.playlist[i][knowledge.playlist[i] >= 0]
        library = [int(t) for t in knowledge.library[i] if t >= 0]
        kind = knowledge.kind[i]
        if kind == "playlist":
            start = int(knowledge.offset[i]) + n_first
            ordered = [int(t) for t in playlist[start:start + n_second]]
        elif kind == "shuffle":
            ordered = [int(t) for t in playlist if t not in used]
        elif kind == "personal":
            ordered = []
        else:
            raise ParameterError(f"session kind {kind!r} is not one of {SESSION_KINDS}")
        picks: list[int] = []
        for track in ordered:
            if len(picks) == n_second:
                break
            if kind == "playlist" or track not in used:
                picks.append(track)
                used.add(track)
        spare = iter(t for t in library if t not in used)
        while len(picks) < n_second:
            picks.append(next(spare, N_SPECIAL))
        out[i, :n_second] = picks
        out[i, n_second:] = N_SPECIAL
    return out
