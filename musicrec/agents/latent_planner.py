"""A planner over the true latent-recommender simulator that knows the listener's hidden state: the ceiling.

In :class:`~musicrec.envs.latent.LatentRecommenderEnv` a session is a deterministic problem once the
listener's hidden state is known: the expected reward of a track at step ``t`` is
``E[listened] + lam * P(like)`` under the listener's mood at that step, and the next candidates follow from
the recommended track and the tracks already played. A :class:`~musicrec.users.listener.TasteListener`'s
hidden state is its taste centres, its starting mood and the step at which the mood changes
(:meth:`~musicrec.users.listener.TasteListener.mood_schedule`). The planner knows all of them, so it
maximises the **expected session reward** (the sum of the chosen tracks' expected rewards) exactly where it
can and by search where it cannot:

* ``actions="continuous"`` (any unplayed track): the best distinct track for every step is an assignment
  problem (tracks x steps), solved exactly with :func:`scipy.optimize.linear_sum_assignment` over each
  mood's ``session_length`` best tracks (no other track can be in an optimal plan).
* ``actions="knn"`` (one of the ``k`` nearest unplayed neighbours of the current track): a beam search over
  the ``k ** session_length`` walks. Every partial walk is scored by its reward so far plus the reward of
  finishing it greedily (the myopic rule: the candidate with the best expected reward now); the ``width``
  best partial walks are expanded, and the best complete walk met on the way (the greedy completions
  included) is the plan. It is therefore never worse than the myopic oracle, nor than one step of
  look-ahead over it; it is not proven optimal (a wider beam finds a little more: the notebook shows how
  much), so the study checks on every session that no agent's expected reward exceeds it.

No learning agent sees the hidden state (it must infer the taste and the mood change from feedback), so
the planner's expected reward bounds what they can reach; the notebooks check it on every session.
The work is vectorised over sessions x beam x candidates (tracks played so far are kept as lists, not
catalog-wide masks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from musicrec.errors import ParameterError, check_number


@dataclass
class Plan:
    """Planned sessions: tracks ``(n, session_length)`` and their expected rewards (same shape)."""

    tracks: np.ndarray
    expected: np.ndarray

    @property
    def value(self) -> np.ndarray:
        """Expected session reward of each plan, ``(n,)``."""
        return self.expected.sum(axis=1)


def _first_unplayed(neighbours: np.ndarray, current: np.ndarray, played: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` neighbours of ``current`` (rows) not in ``played`` (rows, -1 padded): ``(rows, k)``."""
    row = neighbours[current]                                       # (R, K)
    taken = (row[:, :, None] == played[:, None, :]).any(axis=2)     # (R, K)
    order = np.argsort(taken, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(row, order, axis=1)


def _greedy_finish(neighbours: np.ndarray, reward_table: np.ndarray, schedule: np.ndarray, walk: np.ndarray,
                   step: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Finish each walk (rows: ``walk[:, 0]`` the start, ``walk[:, 1..step]`` the tracks so far) greedily by
    the moods of ``schedule`` (rows); returns the reward of the finishing steps and the finished walks."""
    walk = walk.copy()
    rows = np.arange(len(walk))
    total = np.zeros(len(walk))
    for t in range(step, schedule.shape[1]):
        candidates = _first_unplayed(neighbours, walk[:, t], walk, k)
        values = reward_table[schedule[:, t][:, None], candidates]
        pick = values.argmax(axis=1)
        walk[:, t + 1] = candidates[rows, pick]
        total += values[rows, pick]
    return total, walk


def plan_knn(neighbours: np.ndarray, reward_table: np.ndarray, schedule: np.ndarray, starts: np.ndarray, *,
             k: int, width: int = 32) -> Plan:
    """Beam-search plans for sessions in the kNN action space (see the module docstring).

    Parameters
    ----------
    neighbours : np.ndarray [shape=(n_tracks, K)]
        :func:`~musicrec.envs.latent.nearest_neighbours` of the latents, nearest first (itself first);
        ``K >= k + session_length + 1``.
    reward_table : np.ndarray [shape=(n_moods, n_tracks)]
        Expected reward of every track in every mood.
    schedule : np.ndarray [shape=(n_sessions, session_length), dtype=int]
        The listener's mood at each step of each session.
    starts : np.ndarray [shape=(n_sessions,)]
        Each session's first (already played) track.
    k : int
        Candidates per step.
    width : int
        Partial walks kept per session.

    Returns
    -------
    Plan
    """
    check_number("k", k, low=1, integer=True)
    check_number("width", width, low=1, integer=True)
    schedule, starts = np.asarray(schedule, dtype=np.int64), np.asarray(starts, dtype=np.int64)
    n, steps = schedule.shape
    if neighbours.shape[1] < k + steps + 1:
        raise ParameterError(f"neighbour lists of {neighbours.shape[1]} tracks cannot always hold {k} unplayed "
                             f"ones over {steps} steps: {k + steps + 1} are needed")
    if len(starts) != n:
        raise ParameterError(f"{len(starts)} start tracks for {n} sessions")

    # the rows of the search: (session, beam entry); a walk holds the start, then the tracks so far
    session = np.arange(n)
    current = starts.copy()
    walk = np.full((n, steps + 1), -1, dtype=np.int64)
    walk[:, 0] = starts
    so_far = np.zeros(n)
    best_value = np.full(n, -np.inf)
    best_walk = np.zeros((n, steps + 1), dtype=np.int64)

    for t in range(steps):
        candidates = _first_unplayed(neighbours, current, walk, k)                  # (R, k)
        child_session = np.repeat(session, k)
        child_current = candidates.reshape(-1)
        child_walk = np.repeat(walk, k, axis=0)
        child_walk[:, t + 1] = child_current
        child_so_far = np.repeat(so_far, k) + reward_table[schedule[child_session, t], child_current]
        finish, finished = _greedy_finish(neighbours, reward_table, schedule[child_session], child_walk, t + 1, k)
        estimate = child_so_far + finish
        # sort each session's children by their estimate, best first
        order = np.lexsort((-estimate, child_session))
        sorted_session = child_session[order]
        group_start = np.r_[0, np.flatnonzero(sorted_session[1:] != sorted_session[:-1]) + 1]
        rank = np.arange(len(order)) - np.repeat(group_start, np.diff(np.r_[group_start, len(order)]))
        # the best complete walk met so far per session (a greedy completion)
        top = order[group_start]
        better = estimate[top] > best_value[child_session[top]]
        winners = top[better]
        best_value[child_session[winners]] = estimate[winners]
        best_walk[child_session[winners]] = finished[winners]
        # keep the `width` best partial walks of each session
        keep = np.sort(order[rank < width])
        session, current, walk, so_far = (child_session[keep], child_current[keep], child_walk[keep],
                                          child_so_far[keep])

    tracks = best_walk[:, 1:]
    return Plan(tracks=tracks, expected=reward_table[schedule, tracks])


def plan_any_track(reward_table: np.ndarray, schedule: np.ndarray, starts: np.ndarray) -> Plan:
    """Exact plans when any unplayed track can be recommended (the continuous action space): the best
    assignment of distinct tracks (never the start track) to the steps, by their moods' rewards."""
    from scipy.optimize import linear_sum_assignment

    schedule, starts = np.asarray(schedule, dtype=np.int64), np.asarray(starts, dtype=np.int64)
    n, steps = schedule.shape
    tracks = np.zeros((n, steps), dtype=np.int64)
    for i in range(n):
        table = reward_table.copy()
        table[:, starts[i]] = -np.inf
        moods = np.unique(schedule[i])
        pool = np.unique(np.concatenate([np.argsort(-table[m])[:steps] for m in moods]))
        gain = table[schedule[i]][:, pool]                                          # (steps, pool)
        rows, cols = linear_sum_assignment(gain, maximize=True)
        tracks[i, rows] = pool[cols]
    return Plan(tracks=tracks, expected=reward_table[schedule, tracks])


class PlannerPolicy:
    """Plays planned sessions in :class:`~musicrec.envs.latent.LatentRecommenderEnv` (through
    :func:`musicrec.agents.latent_policies.evaluate_sessions`): at reset it reads each env's hidden state (start
    track and mood schedule) and plans the batch; then it recommends the planned track at each step.

    Parameters
    ----------
    width : int
        Beam width of the kNN planner.
    """

    def __init__(self, *, width: int = 32):
        self.width = int(check_number("width", width, low=1, integer=True))
        self.plan: Plan | None = None
        self.step = 0

    def reset(self, n: int) -> None:
        self.plan, self.step = None, 0

    def make_plan(self, envs: Sequence) -> Plan:
        env = envs[0]
        listener = env.listener
        if not hasattr(listener, "mood_schedule"):
            raise ParameterError("the planner needs a listener whose hidden state it can read (a TasteListener)")
        table = np.stack([listener.expected_reward(env.lam, mood=m) for m in range(listener.n_moods)])
        schedule = np.stack([e.listener.mood_schedule(e.session_length) for e in envs])
        starts = np.array([e.current for e in envs])
        if env.actions == "knn":
            return plan_knn(env.neighbours, table, schedule, starts, k=env.k, width=self.width)
        return plan_any_track(table, schedule, starts)

    def __call__(self, envs: Sequence, obs: np.ndarray) -> list:
        if self.plan is None:
            self.plan = self.make_plan(envs)
        tracks = self.plan.tracks[:, self.step]
        self.step += 1
        actions = []
        for env, track in zip(envs, tracks):
            if env.actions == "knn":
                slot = np.flatnonzero(env.candidates == track)
                if not len(slot):
                    raise RuntimeError(f"planned track {track} is not among the candidates {env.candidates}")
                actions.append(int(slot[0]))
            else:
                actions.append(env.latents[int(track)].copy())
        return actions
