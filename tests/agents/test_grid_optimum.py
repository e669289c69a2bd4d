import functools

import numpy as np
import pytest

from musicrec.agents.grid_optimum import GridOptimum, grid_optimum, miss_bound_table, symmetry_permutations
from musicrec.agents.grid_rule import GridRulePolicy
from musicrec.envs.grid import FeatureGridEnv
from musicrec.envs.grid_core import REWARD_TABLES, evaluate_all_targets
from musicrec.errors import ParameterError
from musicrec.users.grid import grid_geometry


def definition_value(dims, levels, target, reward, steps, closer=True):
    """Bayes-optimal mean return by plain expectimax over consistent-target sets, from the definition:
    no loss form, no stay-once-found shortcut, no bounds, no symmetry."""
    geometry = grid_geometry(dims, levels, target)
    n = geometry.n_positions
    table = geometry.rating_table()  # [target, position]
    dist = geometry.distance(np.arange(n)[:, None], np.arange(n)[None, :])
    rewards = REWARD_TABLES[reward]

    @functools.lru_cache(maxsize=None)
    def value(targets, previous, k):
        if k == 0:
            return 0.0
        best = -np.inf
        for a in range(n):
            parts = {}
            for t in targets:
                key = (table[t, a], bool(dist[a, t] < dist[previous, t]) if closer else None)
                parts.setdefault(key, []).append(t)
            total = sum(rewards[table[t, a]] for t in targets)
            total += sum(value(tuple(part), a, k - 1) for part in parts.values())
            best = max(best, total)
        return best

    start = geometry.start
    groups = {}
    for t in range(n):
        groups.setdefault(table[t, start], []).append(t)
    return sum(value(tuple(g), start, steps) for g in groups.values()) / n


def env_search_value(dims, levels, target, reward, steps, obs="grid"):
    """Best mean return over all policies, found with the gymnasium env itself: a policy may pick any
    action after each distinct observation history, so the best one maximises branch by branch over
    the histories the env produces (each target replayed from reset)."""
    kwargs = dict(dims=dims, levels=levels, target=target, reward=reward, obs=obs, episode_length=steps)
    env = FeatureGridEnv(**kwargs)
    n = env.geometry.n_positions

    def replay(t, actions):
        obs_t, _ = env.reset(options={"target": t})
        total = 0.0
        history = [obs_t.tobytes()]
        for a in actions:
            obs_t, reward_t, *_ = env.step(a)
            total += reward_t
            history.append(obs_t.tobytes())
        return tuple(history), total

    def best(targets, actions):
        if len(actions) == steps:
            return sum(replay(t, actions)[1] for t in targets)
        top = -np.inf
        for a in range(n):
            branches = {}
            for t in targets:
                branches.setdefault(replay(t, actions + [a])[0], []).append(t)
            top = max(top, sum(best(group, actions + [a]) for group in branches.values()))
        return top

    starts = {}
    for t in range(n):
        starts.setdefault(replay(t, [])[0], []).append(t)
    return sum(best(group, []) for group in starts.values()) / n


def test_tiny_case_by_hand():
    # d = 1, L = 3, TopTarget: the centre rates 4 for target 1 (found at once: 21 * 10) and 1 for
    # targets 0 and 2. Naming 0 finds target 0 at once (210) and proves target 2 (200).
    assert grid_optimum(dims=1, levels=3, target="top").mean == pytest.approx((210 + 210 + 200) / 3)
    # Rating reward: rating 4 pays 16; the miss at position 0 for target 2 pays 0.
    assert grid_optimum(dims=1, levels=3, target="top", reward="rating").mean == pytest.approx(
        (336 + 336 + 320) / 3)


@pytest.mark.parametrize("dims, levels, steps", [(1, 5, 4), (2, 3, 4), (3, 2, 4), (1, 7, 3)])
@pytest.mark.parametrize("target", ["top", "wider"])
@pytest.mark.parametrize("reward", ["bullseye", "rating"])
@pytest.mark.parametrize("feedback", ["rating+closer", "rating"])
def test_solver_matches_the_definition(dims, levels, steps, target, reward, feedback):
    solver = GridOptimum(dims=dims, levels=levels, target=target, reward=reward, episode_length=steps,
                         feedback=feedback)
    expected = definition_value(dims, levels, target, reward, steps, closer=feedback == "rating+closer")
    assert solver.solve().mean == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("dims, levels, steps", [(1, 3, 3), (1, 4, 3), (2, 2, 3), (2, 3, 2)])
@pytest.mark.parametrize("target, reward", [("top", "rating"), ("wider", "bullseye")])
@pytest.mark.parametrize("obs, feedback", [("grid", "rating+closer"), ("board", "rating")])
def test_solver_matches_every_policy_run_in_the_gymnasium_env(dims, levels, steps, target, reward, obs,
                                                              feedback):
    expected = env_search_value(dims, levels, target, reward, steps, obs=obs)
    value = grid_optimum(dims=dims, levels=levels, target=target, reward=reward, episode_length=steps,
                         feedback=feedback).mean
    assert value == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("target, reward", [("top", "bullseye"), ("top", "rating"), ("wider", "rating")])
def test_symmetry_changes_nothing(target, reward):
    kwargs = dict(dims=2, target=target, reward=reward)
    with_symmetry = GridOptimum(**kwargs).solve()
    without = GridOptimum(**kwargs, symmetry=False).solve()
    assert with_symmetry.mean == without.mean
    assert with_symmetry.nodes < without.nodes


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("target", ["top", "wider"])
def test_optimum_bounds_the_rule_and_the_maximum(dims, target):
    kwargs = dict(dims=dims, target=target, reward="bullseye")
    rule = evaluate_all_targets(GridRulePolicy(**kwargs), **kwargs)
    optimum = GridOptimum(**kwargs).solve(policy_returns=rule.returns)
    assert optimum.exact and rule.mean <= optimum.mean + 1e-9 and optimum.mean <= 10 * 21


def test_rating_only_feedback_is_worth_less():
    full = grid_optimum(dims=2, target="top").mean
    ratings_only = grid_optimum(dims=2, target="top", feedback="rating").mean
    assert ratings_only <= full


def test_relaxations_bound_the_exact_loss():
    solver = GridOptimum(dims=2, target="top", reward="rating")
    exact = solver.solve().mean
    start = solver.geometry.start
    targets = np.flatnonzero(solver.ratings[start] == 2)
    exact_loss, _ = solver.loss(targets, start, 21)
    previous = -np.inf
    for depth in (0, 1, 2):
        solver._memo = {}
        relaxed, is_exact = solver.loss(targets, start, 21, depth=depth)
        assert is_exact and previous <= relaxed <= exact_loss  # deeper relaxations are tighter
        previous = relaxed
    bounded = GridOptimum(dims=2, target="top", reward="rating").solve(node_limit=1, bound_depth=1)
    assert not bounded.exact and np.isnan(bounded.mean) and bounded.depth == 1
    assert bounded.lower <= exact <= bounded.upper


def test_miss_bound_is_a_greedy_fill():
    table = miss_bound_table(20, 3, hits=1, branches=3)
    # 1 found with 0 misses, 3 with 1, 9 with 2, the rest (7) miss all 3 steps
    assert table[20, 3] == 0 + 3 * 1 + 9 * 2 + 7 * 3
    assert table[1, 3] == 0 and table[4, 1] == 3


def test_symmetries_of_the_square():
    perms = symmetry_permutations(grid_geometry(2, 5, "top"))
    assert perms.shape == (8, 25) and (perms[:, 12] == 12).all()
    assert {tuple(sorted(p)) for p in perms} == {tuple(range(25))}


@pytest.mark.parametrize("kwargs, message", [
    ({"feedback": "closer"}, "feedback='closer' is not one of"),
    ({"dims": 6}, "dims=6, levels=5 has 15625 positions"),
    ({"reward": "stars"}, "reward='stars' is not one of"),
])
def test_bad_input_is_named(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        GridOptimum(**kwargs)


@pytest.mark.parametrize("dims, target, reward", [(2, "top", "rating"), (3, "wider", "bullseye")])
def test_optimal_policy_returns_average_to_the_optimum(dims, target, reward):
    solver = GridOptimum(dims=dims, target=target, reward=reward)
    optimum = solver.solve().mean
    returns = solver.optimal_returns()
    assert returns.shape == (5**dims,) and returns.mean() == pytest.approx(optimum)
    assert returns.max() <= (10 if reward == "bullseye" else 16) * 21
    assert returns[solver.geometry.start] == returns.max()  # the centre target is found at reset


def test_optimal_returns_need_an_exact_solve():
    solver = GridOptimum(dims=2)
    with pytest.raises(ParameterError, match="needs an exact solve"):
        solver.optimal_returns()
    solver.solve(node_limit=1, bound_depth=1)
    with pytest.raises(ParameterError, match="needs an exact solve"):
        solver.optimal_returns()


def test_impossible_policy_returns_are_refused():
    with pytest.raises(ParameterError, match="not the returns of a real policy"):
        GridOptimum(dims=2, target="top").solve(policy_returns=np.full(25, 210.0))


# -- limits: wall-clock time, memory known up front, the real time reported ----------------------------
def test_time_limit_is_wall_clock_and_returns_the_bounds_reached():
    import time

    started = time.perf_counter()
    result = grid_optimum(dims=4, target="top", time_limit=1.5)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.5 + 1.0, f"a 1.5 s limit took {elapsed:.1f} s"
    assert result.seconds == pytest.approx(elapsed, abs=0.2)  # the real time, set-up included
    assert not result.exact and result.stopped_by == "time limit" and result.depth is not None
    # the optimum of 4D TopTarget/Bullseye lies in [170.464, 175.264] (notebook 02, a longer search)
    assert result.lower <= 175.264 and result.upper >= 170.464 and result.lower <= result.upper


def test_a_grid_whose_tables_cannot_fit_is_refused_up_front(monkeypatch):
    monkeypatch.setattr("musicrec.utils.available_memory", lambda: 50 * 2**20)
    message = r"tables for dims=2, levels=64, episode_length=21 needs about .*, more than this machine has free"
    with pytest.raises(ParameterError, match=message + r" \(50.0 MiB\)"):
        GridOptimum(dims=2, levels=64)


def test_large_symmetry_groups_fall_back_to_a_subgroup_with_the_same_optimum(monkeypatch):
    eight = GridOptimum(dims=8, levels=2)  # 8! * 2**8 symmetries would be a 2.6e9-entry table
    assert eight.symmetries == "reflections" and eight.perms.shape == (256, 256)
    full = GridOptimum(dims=3, target="top").solve()
    monkeypatch.setattr("musicrec.agents.grid_optimum.MAX_SYMMETRY_ENTRIES", 1000)
    reflections = GridOptimum(dims=3, target="top")
    assert reflections.symmetries == "reflections"
    assert reflections.solve().mean == full.mean and full.symmetries == "full"


def test_the_memo_is_bounded_without_changing_the_answer():
    free = GridOptimum(dims=3, target="top", reward="rating")
    bounded = GridOptimum(dims=3, target="top", reward="rating", memo_bytes=50_000)
    assert bounded.solve().mean == free.solve().mean
    assert bounded.memo_resets > 0 and free.memo_resets == 0


def test_long_episodes_need_no_long_tables():
    solver = GridOptimum(dims=2, episode_length=10**9)  # once a (26 x 1e9) table: 194 GiB
    assert solver.miss_bound.shape[1] <= 5
    quick = solver.quick_policy_returns()
    assert quick.shape == (25,) and quick.max() == 10 * 10**9  # the centre target is found at reset


def test_quick_policies_are_real_policies():
    solver = GridOptimum(dims=2, target="top")
    quick = solver.quick_policy_returns()
    assert quick.mean() <= solver.solve().mean
    kwargs = dict(dims=2, target="top", reward="bullseye")
    rule = evaluate_all_targets(GridRulePolicy(**kwargs), **kwargs)
    assert quick.mean() <= rule.mean
