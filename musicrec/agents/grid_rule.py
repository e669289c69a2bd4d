"""A rule-based policy for the feature grid: keep the consistent targets, name the best-looking position.

The rule (the baseline the thesis suggests could beat deep RL on such simple users):

1. Keep the set ``S`` of targets consistent with every feedback so far (the user is deterministic, so
   a target either explains all feedback or is ruled out). With GridObs the feedback is the rating and
   ``closer``; with BoardObs only ratings are observed, so only ratings filter ``S``.
2. Name the position ``a`` that maximises, in this order: the probability of rating 4 now
   (``|{t in S: rating(a; t) = 4}| / |S|``), the expected information of the answer (entropy of the
   partition of ``S`` by the feedback ``a`` would give), the expected reward; ties go to the smallest
   flat index. Once a rating 4 is seen, every remaining target rates that position 4, so the rule
   stays there.

Because users are deterministic, every episode with the same history reaches the same ``S``: the policy
is a decision tree, grown lazily and shared by all environments (and all calls), so evaluating it from
every target costs one decision per tree node, not per episode. On grids of up to ``max_candidates``
positions (default 4096) every position is a candidate and all of ``S`` is scored. On larger grids the
candidates are the consistent targets themselves (TopTarget's best choices), at most
``sample_candidates`` of them (default 256), scored on at most ``max_scored`` targets of ``S`` (default
2048), both sampled with a generator seeded from the node, so the policy stays deterministic; this
keeps a decision in 8D (390,625 positions) well under a second.

The policy has SB3's ``predict(observation, state, episode_start, deterministic)`` signature, with the
tree node of each environment as its ``state``, so it is evaluated exactly like a trained agent
(``musicrec.envs.grid.evaluate_all_targets``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from musicrec.envs.grid_core import REWARD_TABLES, TABLE_LIMIT, check_settings
from musicrec.errors import ParameterError, check_number
from musicrec.users.grid import grid_geometry


@dataclass
class _Node:
    """A history class: the consistent targets ``S``, the position the last feedback refers to."""

    targets: np.ndarray
    position: int
    action: int = -1
    children: dict[int, int] = field(default_factory=dict)


class GridRulePolicy:
    """The rule baseline as a policy over a batch of grid environments (see the module docstring).

    Parameters
    ----------
    dims, levels, target, reward, obs, action, episode_length
        The environment settings (as for ``FeatureGridEnv``); the rule needs the rating rule and the
        observation and action types.
    max_candidates : int
        Grids up to this many positions consider every position; larger ones sample candidates.
    sample_candidates : int
        On larger grids, at most this many candidates (consistent targets) per decision.
    max_scored : int
        On larger grids, score candidates on at most this many consistent targets.
    """

    def __init__(self, *, dims: int = 2, levels: int = 5, target: str = "wider", reward: str = "bullseye",
                 obs: str = "grid", action: str = "flat", episode_length: int = 21,
                 max_candidates: int = TABLE_LIMIT, sample_candidates: int = 256, max_scored: int = 2048):
        self.settings = check_settings(dims, levels, target, reward, obs, action, episode_length)
        check_number("max_candidates", max_candidates, low=1, integer=True)
        check_number("sample_candidates", sample_candidates, low=1, integer=True)
        check_number("max_scored", max_scored, low=1, integer=True)
        self.sample_candidates = int(sample_candidates)
        self.geometry = geometry = grid_geometry(self.settings["dims"], self.settings["levels"], target)
        self.dims, self.n_positions = geometry.dims, geometry.n_positions
        self.obs_mode, self.action_mode = obs, action
        self.uses_closer = obs == "grid"
        self.max_candidates, self.max_scored = int(max_candidates), int(max_scored)
        self.rewards = REWARD_TABLES[reward]
        self.full = self.n_positions <= self.max_candidates
        # Root: before the reset observation; its "action" is the start position, whose rating
        # arrives with the reset observation.
        self.nodes = [_Node(np.arange(self.n_positions), geometry.start, geometry.start)]
        self.decisions = 0

    # -- feedback of one position for a set of targets ---------------------------------------
    def _distances(self, positions: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """``dist[i, j]`` between ``positions[i]`` and ``targets[j]``, int16, chunked over positions."""
        coords = self.geometry.coords
        out = np.empty((len(positions), len(targets)), dtype=np.int16)
        chunk = max(1, 2_000_000 // max(1, len(targets) * self.dims))
        for lo in range(0, len(positions), chunk):
            block = positions[lo: lo + chunk]
            out[lo: lo + chunk] = np.abs(coords[block][:, None, :] - coords[targets][None, :, :]).sum(-1)
        return out

    def _codes(self, positions: np.ndarray, previous: int, targets: np.ndarray) -> np.ndarray:
        """Feedback codes ``rating * 2 + closer`` (or ``rating``) of each position for each target."""
        dist = self._distances(positions, targets)
        ratings = self.geometry.rating_by_distance[targets[None, :], dist]
        if not self.uses_closer:
            return ratings.astype(np.int16)
        before = self._distances(np.array([previous]), targets)[0]
        return ratings.astype(np.int16) * 2 + (dist < before[None, :])

    # -- the rule ---------------------------------------------------------------------------------
    def _decide(self, node: _Node) -> int:
        self.decisions += 1
        targets = node.targets
        if self.full:
            candidates = np.arange(self.n_positions)
            scored = targets
        else:
            rng = np.random.default_rng([len(targets), int(targets[0]), int(targets[-1]), node.position])
            candidates = targets if len(targets) <= self.sample_candidates else np.sort(
                rng.choice(targets, self.sample_candidates, replace=False))
            scored = targets if len(targets) <= self.max_scored else np.sort(
                rng.choice(targets, self.max_scored, replace=False))
        codes = self._codes(candidates, node.position, scored)
        n_codes = 10 if self.uses_closer else 5
        rows = np.arange(len(candidates))[:, None]
        counts = np.bincount((rows * n_codes + codes).ravel(), minlength=len(candidates) * n_codes)
        counts = counts.reshape(len(candidates), n_codes).astype(float)
        ratings = np.arange(n_codes) // (2 if self.uses_closer else 1)
        top = counts[:, ratings == 4].sum(axis=1)
        share = counts / len(scored)
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -np.where(share > 0, share * np.log(share), 0.0).sum(axis=1)
        reward = share @ self.rewards[ratings]
        # lexicographic: most rating-4 hits, then information, then reward, then smallest index
        order = np.lexsort((candidates, -np.round(reward, 9), -np.round(entropy, 9), -top))
        return int(candidates[order[0]])

    def _child(self, node_id: int, code: int) -> int:
        node = self.nodes[node_id]
        if not node.children:
            codes = self._codes(np.array([node.action]), node.position, node.targets)[0]
            for value in np.unique(codes):
                node.children[int(value)] = len(self.nodes)
                self.nodes.append(_Node(node.targets[codes == value], node.action))
        if code not in node.children:
            raise ParameterError(
                f"feedback code {code} after position {node.action} contradicts every target left: "
                "the observations do not come from this rule's environment settings")
        return node.children[code]

    def _observed_codes(self, observation: np.ndarray, actions: np.ndarray) -> np.ndarray:
        if self.obs_mode == "board":
            return observation[np.arange(len(observation)), actions].round().astype(np.int64)
        ratings = np.rint(observation[:, self.dims + 1] * 4).astype(np.int64)
        closer = observation[:, self.dims] > 0.5
        positions = np.rint(observation[:, : self.dims] * (self.geometry.levels - 1)).astype(np.int64)
        flat = np.ravel_multi_index(tuple(positions.T), self.geometry.shape)
        if not np.array_equal(flat, actions):
            raise ParameterError("the observed positions are not the ones this rule chose: "
                                 "pass the state predict returned")
        return ratings * 2 + closer

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = True):
        """Next positions for a batch of observations.

        Parameters
        ----------
        observation : np.ndarray [shape=(n_envs, obs_dim)]
        state : np.ndarray [shape=(n_envs,)] or None
            Tree nodes returned by the previous call (``None`` at the first call).
        episode_start : np.ndarray [shape=(n_envs,)] of bool, optional
            True where the observation is a reset observation.
        deterministic : bool
            Accepted for SB3 compatibility; the rule is always deterministic.

        Returns
        -------
        actions : np.ndarray [shape=(n_envs,) flat or (n_envs, dims) factored]
        state : np.ndarray [shape=(n_envs,)]
        """
        observation = np.asarray(observation, dtype=np.float32)
        if observation.ndim == 1:
            observation = observation[None, :]
        n = len(observation)
        if state is None:
            state = np.zeros(n, dtype=np.int64)
            episode_start = np.ones(n, dtype=bool)
        state = np.array(state, dtype=np.int64).reshape(n)
        if episode_start is not None:
            state[np.asarray(episode_start, dtype=bool).reshape(n)] = 0
        last = np.array([self.nodes[s].action for s in state])
        codes = self._observed_codes(observation, last)
        new_state = np.empty(n, dtype=np.int64)
        actions = np.empty(n, dtype=np.int64)
        for i in range(n):
            child = self._child(int(state[i]), int(codes[i]))
            node = self.nodes[child]
            if node.action < 0:
                node.action = self._decide(node)
            new_state[i], actions[i] = child, node.action
        if self.action_mode == "factored":
            return np.stack(np.unravel_index(actions, self.geometry.shape), axis=1), new_state
        return actions, new_state
