"""Logged listening sessions as environments for the paper's DDPG actor-critic (after Zhao et al. 2017).

Modelling assumptions
---------------------
An episode replays the second half of one logged session (drawn uniformly from the given sessions
with ``self.np_random``); the first half is the history. Tracks are represented by a **fixed**
embedding (word2vec over the training sessions, rows scaled to unit length), shared by the state and
the action scoring; the agent's action is a vector in ``[-1, 1]^d`` that is scored against track
embeddings by dot product, as in the paper's actor.

* :class:`SessionSkipEnv` (skip prediction). State at second-half step ``t``: the mean embedding of
  the first half's listened tracks and of its skipped tracks, the first half's skip rate, the embedding
  ``e`` of track ``t``, the two products (mean * ``e``) and ``t / 10``. The agent *plays* the track
  when ``action . e > 0`` and withholds it otherwise (a predicted skip). Reward, the paper's: +1 when a
  played track is listened to, -1 when it is skipped, 0 when withheld ("not viewed"). So playing is
  right exactly when the skip probability is below 1/2. The next state does not depend on the action
  (no second-half skip is revealed to the agent), so this is a contextual bandit in episode form.
* :class:`SessionTrackEnv` (track sequences). State: the mean embedding of the tracks so far (the first
  half, then the agent's own picks), the last track's embedding and their product. The action picks
  the best-scoring track among ``n_candidates`` candidates: the played track plus ``n_candidates - 1``
  tracks drawn uniformly (the paper's 1:99 negative sampling), **in a random order**, so that a tie (an
  all-zero action scores every candidate 0) is broken at random and not in favour of the played track;
  a track already in the session is never picked (sessions do not repeat tracks). Reward 1 when it picks
  the played track, else 0; the picked track joins the history. At test time (:func:`track_rollout`) the
  candidates are all tracks not yet in the session.

Both envs reject an action that is not a finite vector of the embedding's size with a
:class:`~musicrec.errors.ParameterError` (a NaN would otherwise pick a candidate by its position).

The observation functions are vectorised (:func:`skip_observations`, :func:`track_rollout`) so that
evaluating a policy on thousands of sessions takes one batch per step.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from musicrec.data.sessions import N_SPECIAL, SessionArrays
from musicrec.errors import ParameterError, check_number


def unit_rows(embedding: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    embedding = np.asarray(embedding, dtype=np.float32)
    norms = np.linalg.norm(embedding, axis=1, keepdims=True)
    return embedding / np.where(norms > 0, norms, 1.0)


def skip_observations(arrays: SessionArrays, embedding: np.ndarray) -> np.ndarray:
    """States of every second-half step, shape ``(n_sessions, 10, 5 d + 2)``."""
    first = embedding[arrays.first_tracks]                     # (n, 10, d)
    listened = (arrays.first_mask & ~arrays.first_skips)[..., None]
    skipped = (arrays.first_mask & arrays.first_skips)[..., None]
    mean_listened = (first * listened).sum(axis=1) / np.maximum(listened.sum(axis=1), 1)
    mean_skipped = (first * skipped).sum(axis=1) / np.maximum(skipped.sum(axis=1), 1)
    rate = skipped.sum(axis=1) / arrays.n_first[:, None]
    track = embedding[arrays.second_tracks]                    # (n, 10, d)
    n, steps = arrays.second_tracks.shape
    position = np.broadcast_to(np.arange(steps, dtype=np.float32)[None, :, None] / steps, (n, steps, 1))
    parts = [np.broadcast_to(mean_listened[:, None], track.shape),
             np.broadcast_to(mean_skipped[:, None], track.shape),
             np.broadcast_to(rate[:, None], (n, steps, 1)), track, mean_listened[:, None] * track,
             mean_skipped[:, None] * track, position]
    return np.concatenate(parts, axis=-1).astype(np.float32)


def plays(actions: np.ndarray, track_embeddings: np.ndarray) -> np.ndarray:
    """The skip agent's decision: play (True) when ``action . e > 0``."""
    return (np.asarray(actions) * np.asarray(track_embeddings)).sum(axis=-1) > 0


def _default_data(seed: int, n_sessions: int = 200):
    """A small simulated data set and a random embedding, for ``gymnasium.make`` without data."""
    from musicrec.data.session_simulator import SimulatorConfig, simulate_sessions
    from musicrec.data.sessions import TrackVocabulary, encode_sessions

    sim = simulate_sessions(SimulatorConfig(n_sessions=n_sessions, n_users=50, n_tracks=100, n_playlists=10),
                            seed=seed)
    vocab = TrackVocabulary.from_log(sim.log)
    arrays = encode_sessions(sim.log, vocab, skip_probability=sim.skip_probability)
    embedding = np.random.default_rng(seed).normal(size=(len(vocab), 16))
    embedding[:N_SPECIAL] = 0
    return arrays, embedding


class _SessionEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(self, episodes: SessionArrays | None, embedding: np.ndarray | None, render_mode=None):
        if (episodes is None) != (embedding is None):
            raise ParameterError("give both episodes and embedding, or neither (a small simulated default)")
        if episodes is None:
            episodes, embedding = _default_data(0)
        if len(episodes) == 0:
            raise ParameterError("episodes holds no session")
        embedding = unit_rows(embedding)
        top = int(max(episodes.first_tracks.max(), episodes.second_tracks.max()))
        if embedding.ndim != 2 or len(embedding) <= top:
            raise ParameterError(f"embedding of shape {embedding.shape} does not cover the session tokens")
        self.episodes, self.embedding = episodes, embedding
        self.dim = embedding.shape[1]
        self.render_mode = render_mode
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(self.dim,), dtype=np.float32)
        self.session, self.step_index = 0, 0

    def check_action(self, action) -> np.ndarray:
        """The action as a float32 vector clipped to [-1, 1]; a wrong size or a non-finite value is refused."""
        vector = np.asarray(action, dtype=np.float32)
        if vector.shape != (self.dim,):
            raise ParameterError(f"action must be a vector of {self.dim} numbers (the embedding size), "
                                 f"got shape {vector.shape}")
        if not np.isfinite(vector).all():
            raise ParameterError(f"action holds a non-finite value: {vector.tolist()}")
        return np.clip(vector, -1.0, 1.0)


class SessionSkipEnv(_SessionEnv):
    """Skip prediction as play / withhold decisions (see the module docstring)."""

    def __init__(self, episodes: SessionArrays | None = None, embedding: np.ndarray | None = None, *,
                 render_mode=None):
        super().__init__(episodes, embedding, render_mode)
        self.observations = skip_observations(self.episodes, self.embedding)
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(self.observations.shape[-1],),
                                                dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.session = int(self.np_random.integers(len(self.episodes)))
        self.step_index = 0
        return self.observations[self.session, 0].copy(), {"session": self.session}

    def step(self, action):
        i, t = self.session, self.step_index
        track = self.embedding[self.episodes.second_tracks[i, t]]
        play = bool(plays(self.check_action(action), track))
        skipped = bool(self.episodes.second_skips[i, t])
        reward = (-1.0 if skipped else 1.0) if play else 0.0
        self.step_index += 1
        terminated = self.step_index >= self.episodes.n_second[i]
        next_t = min(self.step_index, self.observations.shape[1] - 1)
        info = {"predicted_skip": not play, "skip": skipped}
        return self.observations[i, next_t].copy(), reward, terminated, False, info


def track_observation(history_sum: np.ndarray, history_count: np.ndarray, last: np.ndarray) -> np.ndarray:
    """State of the track agent: mean embedding so far, last track, their product (``3 d``)."""
    mean = history_sum / np.maximum(history_count, 1)[..., None]
    return np.concatenate([mean, last, mean * last], axis=-1).astype(np.float32)


def last_track_block(dim: int) -> slice:
    """Where the last track's embedding sits in a state of :func:`track_observation` (``dim``: embedding size)."""
    return slice(int(dim), 2 * int(dim))


class SessionTrackEnv(_SessionEnv):
    """Next-track choice among the played track and sampled negatives (see the module docstring)."""

    def __init__(self, episodes: SessionArrays | None = None, embedding: np.ndarray | None = None, *,
                 n_candidates: int = 100, render_mode=None):
        super().__init__(episodes, embedding, render_mode)
        check_number("n_candidates", n_candidates, low=2, integer=True)
        self.n_candidates = int(n_candidates)
        self.n_tokens = len(self.embedding)
        if self.n_tokens - N_SPECIAL < 2:
            raise ParameterError("the embedding holds fewer than two tracks")
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(3 * self.dim,), dtype=np.float32)

    def _observation(self):
        return track_observation(self.history_sum, np.asarray(self.history_count), self.last)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        i = self.session = int(self.np_random.integers(len(self.episodes)))
        self.step_index = 0
        first = self.episodes.first_tracks[i, : self.episodes.n_first[i]]
        self.history_sum = self.embedding[first].sum(axis=0)
        self.history_count = len(first)
        self.last = self.embedding[first[-1]]
        self.played = set(first.tolist())
        return self._observation(), {"session": i}

    def step(self, action):
        vector = self.check_action(action)
        i, t = self.session, self.step_index
        target = int(self.episodes.second_tracks[i, t])
        negatives = self.np_random.integers(N_SPECIAL, self.n_tokens, size=self.n_candidates - 1)
        candidates = self.np_random.permutation(np.r_[target, negatives])
        scores = self.embedding[candidates] @ vector
        scores[np.isin(candidates, list(self.played))] = -np.inf
        choice = int(candidates[int(np.argmax(scores))])
        reward = float(choice == target)
        self.history_sum = self.history_sum + self.embedding[choice]
        self.history_count += 1
        self.last = self.embedding[choice]
        self.played.add(choice)
        self.step_index += 1
        terminated = self.step_index >= self.episodes.n_second[i]
        return self._observation(), reward, terminated, False, {"choice": choice, "target": target}


def track_rollout(act, arrays: SessionArrays, embedding: np.ndarray) -> np.ndarray:
    """Greedy track predictions ``(n, 10)`` of a policy over all tracks, all sessions at once.

    ``act(observations) -> actions`` maps a batch of states to actions; the state follows the
    agent's own picks, as in :class:`SessionTrackEnv`, and a track already in the session is never picked.
    """
    embedding = unit_rows(embedding)
    n = len(arrays)
    rows = np.arange(n)
    first = embedding[arrays.first_tracks] * arrays.first_mask[..., None]
    history_sum = first.sum(axis=1)
    history_count = arrays.n_first.astype(float)
    last = embedding[arrays.first_tracks[rows, arrays.n_first - 1]]
    tracks = embedding[N_SPECIAL:]
    played = np.zeros((n, len(tracks)), dtype=bool)
    inside = arrays.first_mask & (arrays.first_tracks >= N_SPECIAL)
    played[np.nonzero(inside)[0], arrays.first_tracks[inside] - N_SPECIAL] = True
    out = np.zeros((n, arrays.second_tracks.shape[1]), dtype=np.int64)
    for t in range(out.shape[1]):
        observations = track_observation(history_sum, history_count, last)
        actions = np.asarray(act(observations), dtype=np.float32)
        if actions.shape != (n, embedding.shape[1]) or not np.isfinite(actions).all():
            raise ParameterError(f"the policy returned actions of shape {actions.shape} (expected "
                                 f"{(n, embedding.shape[1])}) or non-finite values")
        scores = np.clip(actions, -1, 1) @ tracks.T
        scores[played] = -np.inf
        choice = np.argmax(scores, axis=1)
        played[rows, choice] = True
        choice = choice + N_SPECIAL
        out[:, t] = choice
        history_sum = history_sum + embedding[choice]
        history_count = history_count + 1
        last = embedding[choice]
    return out
