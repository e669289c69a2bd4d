"""The exact Bayes-optimal expected return of the feature grid, by search over belief states.

The problem
-----------
The target is uniform over the ``N = L**d`` positions and the user is deterministic, so after any history
the agent's belief is uniform over the set ``S`` of targets consistent with everything observed. The
state of the search is ``(S, previous position, steps left)``: the previous position matters because the
next ``closer`` bit compares with it. The reset observation already carries the start position's rating,
so the search starts from the ``S`` of each start rating. Naming position ``a`` splits ``S`` by the
feedback ``(rating(a; t), closer)``; each part is the next belief, reached with probability
``|part| / |S|``. The Bayes-optimal expected return is

    V = (1 / N) * sum over start ratings r of  W(S_r, start, K),
    W(S, p, k) = max_a  sum_{t in S} reward(rating(a; t)) + sum over parts S' of  W(S', a, k - 1),

(``W`` is ``|S|`` times the value of the belief), with ``W(., ., 0) = 0``. ``feedback="rating"`` drops
the ``closer`` bit: the information a BoardObs agent receives.

How it is made fast (all steps sound)
-------------------------------------
* **Stay once found.** Rating 4 earns the largest reward of either reward function, and naming the
  same position again repeats it, so a part whose targets all rated ``a`` 4 is worth
  ``max_reward * (k - 1)`` per target without search; more generally a belief whose targets all rate
  one position 4 is worth ``max_reward * k`` per target.
* **Loss form.** The search minimises the loss ``|S| * k * max_reward - W``, a sum of per-step losses
  ``max_reward - reward(rating)``, which is at least ``c_min = max_reward - reward(3)`` on every step
  before a target's first rating 4.
* **Branch and bound with an admissible bound.** In any search tree a node finds at most ``h`` targets
  (the most targets one position rates 4 for) and splits the rest into at most ``B`` feedback parts
  (8 with ``closer``, 4 without), so at most ``h * B**j`` targets can be first found after ``j`` misses.
  Filling those capacities from ``j = 0`` gives a lower bound ``F(m, k)`` on the total number of misses
  of ``m`` targets; the loss of an action is at least its exact immediate loss plus
  ``c_min * sum over its parts of F(|part|, k - 1)``. Actions are tried in order of this bound, each
  part is searched with the budget left by the best action so far (alpha-beta style: a search that
  cannot beat its budget stops early and reports a lower bound), and finished beliefs are memoised
  (exact values, or lower bounds with the budget they failed).
* **Small beliefs in closed form.** On the last step only the immediate loss counts; a belief of two
  targets is settled by the cheapest action that finds or separates them (see ``_pair_loss``).
* **Symmetry.** The ``2**d * d!`` reflections and feature permutations of the hypercube fix the centre
  and preserve distances, hence ratings and ``closer``. Beliefs are memoised under a canonical image
  (the lexicographically smallest sorted target array among the images that map the previous position
  to its orbit's representative), and only one action per orbit of the belief's stabiliser is searched.
* **Bounds when exact search is too slow.** With a node or time limit the exact search may stop; the
  result then carries a *proven upper bound*: the same search where, after ``depth`` decisions, a
  belief's remaining loss is replaced by its admissible bound (a relaxation: every policy loses at least
  that much), for increasing ``depth`` within the bound budget; and a *lower bound*: the exact return
  of the rule baseline (a real policy). Such results say ``exact=False``.
* **A real policy to beat from the start.** The rule baseline's loss on each start group is the
  first budget, so from the first action on, only policies better than the rule are searched.

Limits (what ``musicrec grid optimum --time-limit`` relies on)
---------------------------------------------------------------
* **Memory is checked up front.** The (position x target) tables, the symmetry tables and the miss
  bounds are sized before anything is allocated; a grid whose tables would not fit in the free memory
  is refused with the sizes. The symmetry group is the full one (``2**d * d!``) only while its table
  stays small (:data:`MAX_SYMMETRY_ENTRIES`), else the ``2**d`` reflections, else none: symmetry only
  speeds the search up. The memo is emptied whenever it outgrows its share of memory (it is a cache).
* **A time limit is a wall-clock limit** for everything :meth:`GridOptimum.solve` does: the rule
  baseline (run in a child process and stopped at its share of the limit; then the lower bound is a
  policy evaluated in milliseconds), the exact search, and the relaxations for the
  upper bound, deepest first as time allows; at worst the bound at the root (one expansion per start
  rating). The result reports the real time taken and the proven bounds reached.

The tests check the solver against a plain expectimax over sets written from the definition and
against enumerating every policy with the gymnasium environment, on tiny grids.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import asdict, dataclass, replace

import numpy as np

from musicrec.envs.grid_core import REWARD_TABLES, check_settings
from musicrec.errors import ParameterError, check_choice, check_number
from musicrec.users.grid import GridGeometry, grid_geometry

FEEDBACKS = ("rating+closer", "rating")
#: Largest grid the solver builds its (position x target) tables for.
MAX_SOLVER_POSITIONS = 4096
#: Largest symmetry table (group size x positions) the solver builds; beyond it a subgroup is used.
MAX_SYMMETRY_ENTRIES = 1 << 22
#: Shares of a time limit: the rule baseline may use up to the first, the exact search runs until the
#: second; the relaxations for the upper bound get the rest.
RULE_SHARE, EXACT_SHARE = 0.4, 0.8
#: Rough bytes of one memo entry beyond its key's target array (dict slot, tuple, key object).
MEMO_ENTRY_BYTES = 200


class _TimeUp(Exception):
    """Raised inside the search when the time limit has passed."""


def symmetry_permutations(geometry: GridGeometry, *, permute_axes: bool = True) -> np.ndarray:
    """Images of every flat index under the hypercube's symmetries, shape ``(2**d * d!, L**d)``.

    Row ``g`` maps position ``p`` to ``perms[g, p]``; the identity is among the rows. Without
    ``permute_axes`` only the ``2**d`` reflections (a subgroup) are returned.
    """
    levels, dims = geometry.levels, geometry.dims
    coords = geometry.coords.astype(np.int64)
    flips = np.array(list(itertools.product((False, True), repeat=dims)))  # (2**d, d)
    rows = []
    for axes in itertools.permutations(range(dims)) if permute_axes else [tuple(range(dims))]:
        image = coords[:, axes]
        images = np.where(flips[:, None, :], levels - 1 - image[None], image[None])  # (2**d, N, d)
        rows.append(np.ravel_multi_index(tuple(np.moveaxis(images, -1, 0)), geometry.shape))
    return np.unique(np.concatenate(rows).astype(np.int16 if geometry.n_positions <= 32767 else np.int32), axis=0)


def symmetry_group(geometry: GridGeometry, *, max_entries: int | None = None) -> tuple[np.ndarray, str]:
    """The largest symmetry group whose table fits ``max_entries`` (default :data:`MAX_SYMMETRY_ENTRIES`):
    ``(perms, name)``.

    ``name`` is ``"full"`` (reflections and feature permutations), ``"reflections"`` or ``"none"``
    (the identity only); any of them leaves the optimum unchanged.
    """
    n, dims = geometry.n_positions, geometry.dims
    max_entries = MAX_SYMMETRY_ENTRIES if max_entries is None else max_entries
    if math.factorial(dims) * 2**dims * n <= max_entries:
        return symmetry_permutations(geometry), "full"
    if 2**dims * n <= max_entries:
        return symmetry_permutations(geometry, permute_axes=False), "reflections"
    return np.arange(n, dtype=np.int16)[None, :], "none"


def distance_table(geometry: GridGeometry) -> np.ndarray:
    """Manhattan distances between all positions, ``(L**d, L**d)`` int16, summed one feature at a time
    (a table of ``d`` differences at once would take ``d`` times the memory)."""
    coords = geometry.coords
    dist = np.zeros((geometry.n_positions, geometry.n_positions), dtype=np.int16)
    for axis in range(geometry.dims):
        column = coords[:, axis]
        dist += np.abs(column[:, None] - column[None, :])
    return dist


def setup_bytes(dims: int, levels: int, episode_length: int) -> int:
    """Bytes the solver needs for a grid: its tables and the working arrays of a search (what
    :class:`GridOptimum` checks before building anything)."""
    n = levels**dims
    group = math.factorial(dims) * 2**dims
    group = group if group * n <= MAX_SYMMETRY_ENTRIES else (2**dims if 2**dims * n <= MAX_SYMMETRY_ENTRIES else 1)
    # distances and feedback codes (int16), ratings and their transpose (int8), the index temporary
    # of the rating lookup (8 bytes), and about three levels of a search's (action x target) arrays
    tables = n * n * (2 + 2 + 1 + 1 + 8) + 3 * n * n * 14
    symmetry = group * n * (2 + 8 + 8)  # the table, and representative/stabiliser index lists
    bounds = (n + 1) * (min(episode_length, n) + 2) * 8
    return int(tables + symmetry + bounds)


def miss_bound_table(n_targets: int, steps: int, hits: int, branches: int) -> np.ndarray:
    """``F[m, k]``: a lower bound on the total misses of ``m`` targets within ``k`` steps.

    A node of any search tree finds at most ``hits`` targets and passes the others on in at most
    ``branches`` parts, so at most ``hits * branches**j`` targets are found after ``j`` misses; targets
    not found within ``k`` steps miss ``k`` times.
    """
    table = np.zeros((n_targets + 1, steps + 1))
    for k in range(steps + 1):
        level_sizes = []
        capacity, total = hits, 0
        for _ in range(k):
            level_sizes.append(capacity)
            total += capacity
            if total >= n_targets:
                break
            capacity *= branches
        for m in range(1, n_targets + 1):
            left, misses = m, 0
            for j, size in enumerate(level_sizes):
                take = min(left, size)
                misses += take * j
                left -= take
                if not left:
                    break
            table[m, k] = misses + left * k
    return table


def _steps_to_fill(n_targets: int, hits: int, branches: int) -> int:
    """Steps after which :func:`miss_bound_table`'s capacities hold every target (its columns are equal
    from there on)."""
    capacity, total, steps = max(hits, 1), 0, 0
    while total < n_targets:
        total += capacity
        capacity *= branches
        steps += 1
    return steps


@dataclass
class OptimumResult:
    """The optimum of one grid configuration (mean return over a uniform target).

    ``exact`` results have ``lower == upper == mean``; otherwise ``upper`` is a proven upper bound
    (relaxation after ``depth`` decisions; 0: the bound at the root) and ``lower`` the exact return of
    a real policy, ``lower_policy``: ``"rule"`` (the rule baseline) or ``"quick"`` (the better of
    naming the start and a greedy cover, :meth:`GridOptimum.quick_policy_returns`, when the rule did
    not finish within the time limit). ``stopped_by`` is
    ``"node limit"``, ``"time limit"`` or ``None``; ``seconds`` the wall time from set-up to answer;
    ``symmetries`` the group used (``"full"``, ``"reflections"``, ``"none"``).
    """

    dims: int
    levels: int
    target: str
    reward: str
    episode_length: int
    feedback: str
    exact: bool
    lower: float
    upper: float
    depth: int | None
    nodes: int
    seconds: float
    stopped_by: str | None = None
    lower_policy: str = "rule"
    symmetries: str = "full"

    @property
    def mean(self) -> float:
        """The optimum if exact, else NaN (use ``lower``/``upper``)."""
        return self.lower if self.exact else float("nan")

    def as_row(self) -> dict:
        row = asdict(self)
        row["mean"] = self.mean
        return row


class GridOptimum:
    """Exact search for the Bayes-optimal return of one grid configuration (see the module docstring).

    Parameters
    ----------
    dims, levels, target, reward, episode_length
        As for ``FeatureGridEnv`` (observation and action types do not change the optimum).
    feedback : {"rating+closer", "rating"}
        What the agent learns per step: GridObs's rating and closer, or BoardObs's ratings only.
    symmetry : bool
        Use the hypercube symmetries (on by default; off only to test that they change nothing).
    memo_bytes : int, optional
        Memory the memo may take before it is emptied (default: half the memory free after set-up).
    """

    def __init__(self, *, dims: int = 2, levels: int = 5, target: str = "wider", reward: str = "bullseye",
                 episode_length: int = 21, feedback: str = "rating+closer", symmetry: bool = True,
                 memo_bytes: int | None = None):
        from musicrec.utils import available_memory, check_memory

        self.created = time.perf_counter()
        settings = check_settings(dims, levels, target, reward, episode_length=episode_length)
        self.feedback = check_choice("feedback", feedback, FEEDBACKS)
        self.settings = {key: settings[key]
                         for key in ("dims", "levels", "target", "reward", "episode_length")}
        n = settings["levels"] ** settings["dims"]
        if n > MAX_SOLVER_POSITIONS:
            raise ParameterError(
                f"dims={settings['dims']}, levels={settings['levels']} has {n} positions; the exact solver "
                f"builds {n}x{n} tables and stops at {MAX_SOLVER_POSITIONS}")
        check_memory(f"the exact solver's tables for dims={settings['dims']}, levels={settings['levels']}, "
                     f"episode_length={settings['episode_length']}",
                     setup_bytes(settings["dims"], settings["levels"], settings["episode_length"]))
        self.geometry = geometry = grid_geometry(settings["dims"], settings["levels"], target)
        self.n_positions = n
        self.episode_length = settings["episode_length"]
        positions = np.arange(n)
        self.dist = distance_table(geometry)
        # ratings[a, t]: the rating of position a for target t (symmetric in a, t only by accident)
        self.ratings = np.ascontiguousarray(geometry.rating_by_distance[positions[:, None], self.dist].T)
        rewards = REWARD_TABLES[reward]
        self.max_reward = float(rewards[4])
        self.min_miss_loss = self.max_reward - float(rewards[3])
        assert 3 * self.min_miss_loss >= self.max_reward, "the pair shortcut needs 3 c_min >= max reward"
        self.uses_closer = self.feedback == "rating+closer"
        # feedback code: rating * 2 + closer (or the rating alone); its loss depends on the rating
        per_rating = 2 if self.uses_closer else 1
        self.n_codes = 5 * per_rating
        self.top_codes = 4 * per_rating  # codes >= this are rating 4
        self._code_table = (self.ratings.astype(np.int16) * per_rating)
        self._code_loss = (self.max_reward - rewards)[np.arange(self.n_codes) // per_rating]
        self._positions = positions
        self._row_offsets = positions[:, None] * self.n_codes
        hits = int((self.ratings == 4).sum(axis=1).max())
        branches = 8 if self.uses_closer else 4
        # F[:, k] stops changing once k steps can find every target: keep the columns up to there.
        self._bound_steps = min(self.episode_length, _steps_to_fill(n, hits, branches))
        self.miss_bound = miss_bound_table(n, self._bound_steps, hits, branches) * self.min_miss_loss
        if symmetry:
            perms, self.symmetries = symmetry_group(geometry)
        else:
            perms, self.symmetries = positions[None, :], "none"
        self.perms = perms = perms.astype(np.int16)
        self.representative = perms.min(axis=0)
        self._to_representative = [np.flatnonzero(perms[:, p] == self.representative[p]) for p in positions]
        self._stabiliser = [np.flatnonzero(perms[:, p] == p) for p in positions]
        self.nodes = 0
        self._deadline = self._node_limit = math.inf
        self._memo: dict = {}
        self._memo_size = 0
        self.memo_resets = 0
        free = available_memory()
        self.memo_bytes = int(memo_bytes) if memo_bytes is not None else (
            free // 2 if free is not None else 1 << 33)
        self._solved_exactly = False
        self.setup_seconds = time.perf_counter() - self.created

    def _bound_column(self, steps: int) -> np.ndarray:
        """``F[:, steps] * c_min``: the loss bound of every belief size with ``steps`` left."""
        return self.miss_bound[:, min(steps, self._bound_steps)]

    def _remember(self, key, value: tuple[float, bool]) -> None:
        """Memoise a belief's value; empty the memo first if it would outgrow :attr:`memo_bytes`."""
        if key not in self._memo:
            self._memo_size += len(key[0]) + MEMO_ENTRY_BYTES
            if self._memo_size > self.memo_bytes:
                self._memo = {}
                self._memo_size = len(key[0]) + MEMO_ENTRY_BYTES
                self.memo_resets += 1
        self._memo[key] = value

    # -- beliefs ----------------------------------------------------------------------------------
    def canonical(self, targets: np.ndarray, previous: int) -> tuple[np.ndarray, int]:
        """The canonical image of the belief ``(targets, previous)`` under the symmetries.

        Among the symmetries that map ``previous`` to its orbit's representative, the one giving the
        lexicographically smallest sorted target array.
        """
        group = self._to_representative[previous]
        rep = int(self.representative[previous])
        if len(group) == 1:
            return np.sort(self.perms[group[0], targets]), rep
        images = np.sort(self.perms[group][:, targets], axis=1)
        return images[np.lexsort(images.T[::-1])[0]], rep

    def _actions(self, targets: np.ndarray, previous: int) -> np.ndarray | None:
        """One action per orbit of the stabiliser of ``(targets, previous)``; None means all."""
        stabiliser = self._stabiliser[previous]
        if len(stabiliser) > 1:
            member = np.zeros(self.n_positions, dtype=bool)
            member[targets] = True
            keep = stabiliser[member[self.perms[stabiliser][:, targets]].all(axis=1)]
            if len(keep) > 1:
                return np.flatnonzero(self.perms[keep].min(axis=0) == self._positions)
        return None

    def _codes(self, actions: np.ndarray | None, targets: np.ndarray, previous: int) -> np.ndarray:
        """Feedback codes ``[action, target]``: ``rating * 2 + closer``, or the rating alone."""
        codes = self._code_table[:, targets] if actions is None else self._code_table[actions][:, targets]
        if not self.uses_closer:
            return codes
        dist = self.dist[:, targets] if actions is None else self.dist[actions][:, targets]
        return codes + (dist < self.dist[previous, targets][None, :])

    # -- the search -------------------------------------------------------------------------------
    def loss(self, targets, previous: int, steps: int, budget: float = math.inf,
             depth: int | None = None) -> tuple[float, bool]:
        """Least expected loss (times ``|targets|``) from a belief, and whether it is exact.

        Returns ``(value, True)`` with the least loss if it is below ``budget``, else ``(value, False)``
        with ``value >= budget`` a lower bound. ``depth`` (relaxation): after that many decisions the
        remaining loss is replaced by its admissible bound, which makes the result a lower bound of
        the true least loss.
        """
        return self._loss(np.asarray(targets), int(previous), int(steps), budget, depth)

    def _pair_loss(self, targets, previous, steps) -> float:
        """Least loss of a belief of two targets, without search.

        Naming either target finds it and identifies the other (loss at most ``max_reward``); an
        action that neither finds one nor tells them apart loses at least ``2 * c_min`` now and
        ``c_min`` later, and ``3 * c_min >= max_reward`` for both reward functions. So with steps to
        spare the best action is the cheapest one that finds or separates (then nothing more is lost).
        """
        codes = self._codes(None, targets, previous)
        losses = self._code_loss[codes].sum(axis=1)
        if steps == 1:
            return float(losses.min())
        useful = (codes >= self.top_codes).any(axis=1) | (codes[:, 0] != codes[:, 1])
        return float(losses[useful].min())

    def _loss(self, targets, previous, steps, budget, depth) -> tuple[float, bool]:
        m = len(targets)
        if steps == 0 or m <= 1:
            return 0.0, True
        if m == 2:  # exact, so also a valid (and tighter) value inside a relaxation
            return self._pair_loss(targets, previous, steps), True
        targets, previous = self.canonical(targets, previous)
        key = (targets.tobytes(), previous, steps, depth)
        known = self._memo.get(key)
        if known is not None and (known[1] or known[0] >= budget):
            return known
        self.nodes += 1
        if self.nodes > self._node_limit or time.perf_counter() > self._deadline:
            raise _TimeUp
        actions = self._actions(targets, previous)
        codes = self._codes(actions, targets, previous)
        if actions is None:
            actions = self._positions
        n_actions = len(actions)
        counts = np.bincount((self._row_offsets[:n_actions] + codes).ravel(),
                             minlength=n_actions * self.n_codes).reshape(n_actions, self.n_codes)
        if counts[:, self.top_codes:].sum(axis=1).max() == m:  # one position rates 4 for all
            self._remember(key, (0.0, True))
            return 0.0, True
        parts = counts[:, : self.top_codes]
        immediate = counts @ self._code_loss
        if steps == 1:  # the last step: only its own loss counts
            result = (float(immediate.min()), True)
            self._remember(key, result)
            return result
        part_bound = self._bound_column(steps - 1)
        bound = immediate + part_bound[parts].sum(axis=1)
        if depth == 0:
            result = (float(bound.min()), True)
            self._remember(key, result)
            return result
        child_depth = None if depth is None else depth - 1
        best, exact = budget, False
        for i in np.argsort(bound, kind="stable"):
            if bound[i] >= best:
                break
            groups = np.flatnonzero(parts[i])
            sizes = parts[i][groups]
            order = np.argsort(-sizes, kind="stable")
            groups, sizes = groups[order], sizes[order]
            bounds = part_bound[sizes]
            total, pending = float(immediate[i]), float(bounds.sum())
            action, row = int(actions[i]), codes[i]
            for group, part_lb in zip(groups, bounds):
                pending -= part_lb
                value, value_exact = self._loss(targets[row == group], action, steps - 1,
                                                best - total - pending, child_depth)
                total += value
                if not value_exact or total + pending >= best:
                    break  # this action cannot beat the best one
            else:
                if total < best:
                    best, exact = total, True
        self._remember(key, (best, exact))
        return best, exact

    # -- an optimal policy ------------------------------------------------------------------------
    def optimal_returns(self) -> np.ndarray:
        """Return of one optimal policy from every target, shape ``(L**d,)``; call after an exact
        :meth:`solve`.

        Follows the solved search: in each belief it takes the first action (in the search's order)
        whose exact loss equals the belief's optimum, and books each target's losses on the way.
        Where several actions are optimal, other optimal policies may spread the same mean differently.
        """
        if not self._solved_exactly:
            raise ParameterError("optimal_returns() needs an exact solve() first")
        losses = np.zeros(self.n_positions)
        start = self.geometry.start
        start_ratings = self.ratings[start]
        for rating in np.unique(start_ratings):
            self._follow(np.flatnonzero(start_ratings == rating), start, self.episode_length, losses)
        return self.max_reward * self.episode_length - losses

    def _follow(self, targets: np.ndarray, previous: int, steps: int, losses: np.ndarray) -> None:
        if steps == 0 or len(targets) <= 1:
            return
        value, exact = self._loss(targets, previous, steps, math.inf, None)
        assert exact
        codes = self._codes(None, targets, previous)
        counts = np.bincount((self._row_offsets + codes).ravel(),
                             minlength=self.n_positions * self.n_codes).reshape(self.n_positions, -1)
        if value == 0 and counts[:, self.top_codes:].sum(axis=1).max() == len(targets):
            return  # one position rates 4 for every target left: stay there
        parts = counts[:, : self.top_codes]
        immediate = counts @ self._code_loss
        bound = immediate + self._bound_column(steps - 1)[parts].sum(axis=1)
        for action in np.argsort(bound, kind="stable"):
            if bound[action] > value:
                break
            row = codes[action]
            total, children = float(immediate[action]), []
            for group in np.flatnonzero(parts[action]):
                child = targets[row == group]
                child_value, child_exact = self._loss(child, int(action), steps - 1,
                                                      value - total + 0.5, None)
                total += child_value
                if not child_exact or total > value:
                    break
                children.append(child)
            else:
                if total == value:
                    losses[targets] += self._code_loss[row]
                    for child in children:
                        self._follow(child, int(action), steps - 1, losses)
                    return
        raise AssertionError("no action reaches the solved optimum")

    def _total_loss(self, depth: int | None, incumbent: np.ndarray) -> float:
        start = self.geometry.start
        start_ratings = self.ratings[start]
        # A real policy's loss on each start group bounds the search from the start (losses are
        # integers, so a budget half a unit above it never cuts off the optimum).
        policy_loss = self.max_reward * self.episode_length - incumbent
        total = 0.0
        for rating in np.unique(start_ratings):
            targets = np.flatnonzero(start_ratings == rating)
            budget = policy_loss[targets].sum() + 0.5
            value, exact = self.loss(targets, start, self.episode_length, budget=budget, depth=depth)
            if not exact:
                raise ParameterError("policy_returns are better than any policy with this information: "
                                     "they are not the returns of a real policy")
            total += value
        return total

    def _value(self, loss: float) -> float:
        return self.max_reward * self.episode_length - loss / self.n_positions

    def solve(self, *, node_limit: int | None = None, time_limit: float | None = None,
              bound_depth: int | None = None, bound_time: float | None = None,
              policy_returns: np.ndarray | None = None) -> OptimumResult:
        """The optimum, or proven bounds if the exact search is stopped.

        Parameters
        ----------
        node_limit : int, optional
            Stop the exact search after expanding this many beliefs (the same answer on every machine).
        time_limit : float, optional
            Wall-clock seconds for the whole call: the rule baseline (if ``policy_returns`` is not
            given) gets up to 40% of it in a child process, the exact search runs until 80%, and the
            relaxations for the upper bound get the rest, deepest first as time allows (at worst the
            bound at the root, ``depth == 0``, which takes one expansion per start rating).
        bound_depth : int, optional
            Deepest relaxation tried for the upper bound when the search stopped (default: as deep
            as the time allows with a time limit, else depth 1 only).
        bound_time : float, optional
            Without ``time_limit``: seconds for relaxations deeper than 1 after a node-limit stop
            (depth 1 always finishes then).
        policy_returns : np.ndarray [shape=(L**d,)], optional
            Returns of a real policy with the same information from every target (default: the rule
            baseline's, computed here). The search starts with its loss as the budget to beat, and
            its mean is the lower bound if the search is stopped.
        """
        for name, value in (("node_limit", node_limit), ("bound_depth", bound_depth)):
            if value is not None:
                check_number(name, value, low=1, integer=True)
        for name, value in (("time_limit", time_limit), ("bound_time", bound_time)):
            if value is not None:
                check_number(name, value, low=0, low_inclusive=False)
        started = time.perf_counter()
        end = math.inf if time_limit is None else started + time_limit
        root_bound = None
        if time_limit is not None:  # the bound at the root first, so that some upper bound is always ready
            self._memo, self._memo_size, self._deadline = {}, 0, math.inf
            root_bound = self._value(self._total_loss(0, self.quick_policy_returns()))
        lower_policy = "rule"
        if policy_returns is None:
            obs = "grid" if self.uses_closer else "board"
            if time_limit is None:
                policy_returns = rule_returns(**self.settings, obs=obs)
            else:
                share = started + RULE_SHARE * time_limit - time.perf_counter()
                policy_returns = rule_returns_within(share, **self.settings, obs=obs) if share > 0 else None
                if policy_returns is None:  # the rule did not finish in its share: policies that surely do
                    policy_returns, lower_policy = self.quick_policy_returns(), "quick"
        policy_returns = np.asarray(policy_returns, dtype=float)
        if policy_returns.shape != (self.n_positions,):
            raise ParameterError(f"policy_returns has shape {policy_returns.shape}, "
                                 f"expected ({self.n_positions},)")
        self._deadline = math.inf if time_limit is None else started + EXACT_SHARE * time_limit
        self._node_limit = math.inf if node_limit is None else int(node_limit)
        self._memo, self._memo_size = {}, 0
        self.nodes = 0
        common = dict(self.settings, feedback=self.feedback, lower_policy=lower_policy,
                      symmetries=self.symmetries)
        self._solved_exactly = False
        try:
            value = self._value(self._total_loss(None, policy_returns))
            self._solved_exactly = True
            return OptimumResult(**common, exact=True, lower=value, upper=value, depth=None,
                                 nodes=self.nodes, seconds=time.perf_counter() - started)
        except _TimeUp:
            stopped_by = "node limit" if self.nodes > self._node_limit else "time limit"
        self._node_limit = math.inf
        if time_limit is not None:
            first_deadline = bound_deadline = end
            max_depth = bound_depth or self.episode_length
        else:
            first_deadline = math.inf  # after a node-limit stop depth 1 always finishes
            bound_deadline = math.inf if bound_time is None else time.perf_counter() + bound_time
            max_depth = bound_depth or (self.episode_length if bound_time is not None else 1)
        upper, depth_done = None, None
        for depth in range(1, min(max_depth, self.episode_length) + 1):
            self._memo, self._memo_size = {}, 0
            self._deadline = first_deadline if depth == 1 else bound_deadline
            try:
                upper, depth_done = self._value(self._total_loss(depth, policy_returns)), depth
            except _TimeUp:
                break
        if upper is None:  # not even one decision searched in time: the bound at the root
            if root_bound is None:
                self._memo, self._memo_size, self._deadline = {}, 0, math.inf
                root_bound = self._value(self._total_loss(0, policy_returns))
            upper, depth_done = root_bound, 0
        self._memo, self._memo_size = {}, 0
        if depth_done == self.episode_length:  # no decision was left to the bound: exact after all
            return OptimumResult(**common, exact=True, lower=upper, upper=upper, depth=None,
                                 nodes=self.nodes, seconds=time.perf_counter() - started)
        return OptimumResult(**common, exact=False, lower=float(policy_returns.mean()), upper=upper,
                             depth=depth_done, nodes=self.nodes, seconds=time.perf_counter() - started,
                             stopped_by=stopped_by)

    def quick_policy_returns(self) -> np.ndarray:
        """Returns, from every target, of the better of two real policies that take milliseconds to
        evaluate exactly: naming the start position on every step, and a *greedy cover* that names, in
        a fixed order, the position rating 4 for most targets not yet found, and stays wherever a
        rating 4 was heard (the start included). Either is a lower bound on the optimum."""
        rewards = np.asarray(REWARD_TABLES[self.settings["reward"]], dtype=float)
        steps, start = self.episode_length, self.geometry.start
        stay = steps * rewards[self.ratings[start]]
        top = self.ratings == 4
        weights = top.astype(np.float32)  # a matrix-vector product counts the targets each position finds
        cover = np.zeros(self.n_positions)
        unfound = ~top[start]
        cover[~unfound] = steps * self.max_reward
        for step in range(steps):
            if not unfound.any():
                break
            action = int(np.argmax(weights @ unfound.astype(np.float32)))
            cover[unfound] += rewards[self.ratings[action, unfound]]
            found = unfound & top[action]
            cover[found] += self.max_reward * (steps - step - 1)
            unfound &= ~top[action]
        return cover if cover.mean() >= stay.mean() else stay


def rule_returns(**settings) -> np.ndarray:
    """Returns of the rule baseline from every target (a real policy: its mean bounds the optimum)."""
    from musicrec.agents.grid_rule import GridRulePolicy
    from musicrec.envs.grid_core import evaluate_all_targets

    return evaluate_all_targets(GridRulePolicy(**settings), **settings).returns


def _rule_child(writer, parent: int, settings: dict) -> None:
    from musicrec.utils import end_with_parent

    end_with_parent(parent)
    try:
        writer.send(("returns", rule_returns(**settings)))
    except Exception as error:  # noqa: BLE001  (reported to the parent, which raises it)
        writer.send(("error", f"{type(error).__name__}: {error}"))


def rule_returns_within(seconds: float, **settings) -> np.ndarray | None:
    """:func:`rule_returns` in a child process stopped after ``seconds``; ``None`` if it did not finish.

    The child is forked (it shares the grid's tables) and ends with this process.
    """
    import multiprocessing
    import os

    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(target=_rule_child, args=(writer, os.getpid(), settings), daemon=True)
    child.start()
    writer.close()
    try:
        if not reader.poll(max(float(seconds), 0.0)):
            return None
        try:
            kind, value = reader.recv()
        except EOFError:
            raise RuntimeError("the rule baseline's process ended without an answer") from None
        if kind == "error":
            raise ParameterError(f"the rule baseline failed: {value}")
        return value
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        reader.close()


def grid_optimum(*, dims: int = 2, levels: int = 5, target: str = "wider", reward: str = "bullseye",
                 episode_length: int = 21, feedback: str = "rating+closer", **limits) -> OptimumResult:
    """Bayes-optimal mean return over a uniform target (see :class:`GridOptimum`).

    ``limits`` are those of :meth:`GridOptimum.solve` (``node_limit``, ``time_limit``, ``bound_depth``,
    ``bound_time``); here ``time_limit`` includes the solver's set-up, and ``seconds`` of the result is
    the wall time of the whole call.

    >>> grid_optimum(dims=1, levels=3, target="top").mean  # doctest: +ELLIPSIS
    206.66...
    """
    started = time.perf_counter()
    time_limit = limits.get("time_limit")
    if time_limit is not None:
        check_number("time_limit", time_limit, low=0, low_inclusive=False)
    solver = GridOptimum(dims=dims, levels=levels, target=target, reward=reward,
                         episode_length=episode_length, feedback=feedback)
    if time_limit is not None:
        limits = {**limits, "time_limit": max(time_limit - (time.perf_counter() - started), 1e-3)}
    result = solver.solve(**limits)
    return replace(result, seconds=time.perf_counter() - started)
