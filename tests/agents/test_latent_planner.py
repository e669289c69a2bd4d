"""The latent recommender's ceiling: exact where the search is exhaustive, never below the myopic oracle,
and playable in the env it plans for."""

import itertools

import numpy as np
import pytest

from musicrec.agents.latent_planner import PlannerPolicy, plan_any_track, plan_knn
from musicrec.agents.latent_policies import BaselinePolicy, evaluate_sessions
from musicrec.envs.latent import LatentRecommenderEnv, nearest_neighbours
from musicrec.errors import ParameterError


def small_problem(n_tracks=40, steps=5, k=2, n=6, seed=0):
    rng = np.random.default_rng(seed)
    latents = rng.random((n_tracks, 2))
    neighbours = nearest_neighbours(latents, k + steps + 1)
    table = rng.random((2, n_tracks)) ** 3 * 10
    schedule = np.zeros((n, steps), dtype=np.int64)
    schedule[:, steps // 2:] = 1  # a mood change half-way
    starts = rng.integers(n_tracks, size=n)
    return neighbours, table, schedule, starts


def brute_force_knn(neighbours, table, moods, start, k):
    """Best expected reward over every walk of the kNN action space (k ** steps of them)."""
    best = -np.inf
    for choices in itertools.product(range(k), repeat=len(moods)):
        played, current, total = [start], start, 0.0
        for t, slot in enumerate(choices):
            candidates = [int(x) for x in neighbours[current] if x not in played][:k]
            current = candidates[slot]
            played.append(current)
            total += table[moods[t], current]
        best = max(best, total)
    return best


def test_a_beam_that_holds_every_walk_finds_the_optimum():
    neighbours, table, schedule, starts = small_problem()
    plan = plan_knn(neighbours, table, schedule, starts, k=2, width=2 ** 5)
    exact = [brute_force_knn(neighbours, table, moods, start, 2) for moods, start in zip(schedule, starts)]
    np.testing.assert_allclose(plan.value, exact)


def test_a_narrow_beam_is_never_below_the_myopic_rule():
    neighbours, table, schedule, starts = small_problem(n=20, steps=6, k=3, seed=1)
    narrow = plan_knn(neighbours, table, schedule, starts, k=3, width=1)
    wide = plan_knn(neighbours, table, schedule, starts, k=3, width=16)
    myopic = []
    for moods, start in zip(schedule, starts):
        played, current, total = [start], start, 0.0
        for mood in moods:
            candidates = [int(x) for x in neighbours[current] if x not in played][:3]
            current = max(candidates, key=lambda c: table[mood, c])
            played.append(current)
            total += table[mood, current]
        myopic.append(total)
    assert (narrow.value >= np.array(myopic) - 1e-9).all()
    assert (wide.value >= narrow.value - 1e-9).all()
    # plans never repeat a track nor play the start again
    for start, tracks in zip(starts, wide.tracks):
        assert len(set(tracks.tolist()) | {int(start)}) == len(tracks) + 1


def test_any_track_plans_are_the_best_assignment():
    rng = np.random.default_rng(2)
    table = rng.random((2, 7))
    schedule = np.array([[0, 0, 1], [1, 0, 1]])
    starts = np.array([3, 0])
    plan = plan_any_track(table, schedule, starts)
    for moods, start, value in zip(schedule, starts, plan.value):
        others = [t for t in range(7) if t != start]
        best = max(sum(table[m, t] for m, t in zip(moods, order)) for order in itertools.permutations(others, 3))
        assert value == pytest.approx(best)


def test_bad_plans_are_refused():
    neighbours, table, schedule, starts = small_problem()
    with pytest.raises(ParameterError, match="are needed"):
        plan_knn(neighbours[:, :4], table, schedule, starts, k=2)
    with pytest.raises(ParameterError, match="start tracks for 6 sessions"):
        plan_knn(neighbours, table, schedule, starts[:2], k=2)


class Space:
    """The minimal ``make_env`` holder :func:`evaluate_sessions` needs."""

    def __init__(self, n_tracks=300, seed=0):
        rng = np.random.default_rng(seed)
        self.latents = rng.random((n_tracks, 3)).astype(np.float32)
        self.listener_space = rng.random((n_tracks, 3))
        self.neighbours = nearest_neighbours(self.latents, 4 + 12 + 1)

    def make_env(self, **kwargs):
        knn = kwargs.get("actions", "knn") == "knn"
        return LatentRecommenderEnv(self.latents, listener_space=self.listener_space,
                                    neighbours=self.neighbours if knn else None, **kwargs)


@pytest.mark.parametrize("kwargs", [
    {"actions": "knn", "session_length": 12, "listener": {"tolerance": 0.3}},
    {"actions": "knn", "session_length": 12,
     "listener": {"tolerance": 0.3, "moods": 2, "switch": [3, 6], "min_mood_distance": 0.5}},
    {"actions": "continuous", "session_length": 12,
     "listener": {"tolerance": 0.3, "moods": 2, "switch": [3, 6], "min_mood_distance": 0.5}},
])
def test_the_planner_plays_its_plan_and_bounds_the_baselines(kwargs):
    space, seeds = Space(), list(range(12))
    planner = PlannerPolicy(width=8)
    planned, _ = evaluate_sessions(space, kwargs, planner, seeds)
    # the expected reward met in the env is the plan's own value: the plan is playable as planned
    np.testing.assert_allclose(planned.expected, planner.plan.value)
    for name in ("random", "greedy", "oracle"):
        other, _ = evaluate_sessions(space, kwargs, BaselinePolicy(name, seed=1), seeds)
        assert (other.expected <= planned.expected + 1e-9).all(), name
    if "switch" in kwargs["listener"]:
        assert planned.switch_at.between(3, 6).all() and (planned.expected_after > 0).all()
