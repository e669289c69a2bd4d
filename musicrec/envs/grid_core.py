"""The numpy core of the feature grid: settings, spaces, ``n_envs`` grids stepped at once, and the
evaluation of a policy from every target (the thesis's metric tables, figures 22-23).

The modelling assumptions are those of :mod:`musicrec.envs.grid` (the gymnasium environment, which
steps one grid); :class:`BatchedFeatureGrid` has the same semantics step for step (tested), and is what
the batched learner (``musicrec.agents.batched_ac``), the SB3 adapter (``musicrec.envs.grid_vec``), the
baselines and the whole-system evaluation step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from musicrec.errors import ParameterError, check_choice, check_number
from musicrec.users.grid import TARGET_MODES, GridGeometry, grid_geometry, noisy_feedback

REWARDS = ("bullseye", "rating")
OBSERVATIONS = ("grid", "board")
ACTIONS = ("flat", "factored")
#: Reward of each rating 0-4 under each reward function.
REWARD_TABLES = {
    "bullseye": np.array([0.0, 0.0, 0.0, 0.0, 10.0]),
    "rating": np.array([0.0, 1.0, 4.0, 9.0, 16.0]),
}
#: Grids up to this many positions keep full (target, position) tables of distances and ratings.
TABLE_LIMIT = 4096


def check_settings(dims=2, levels=5, target="wider", reward="bullseye", obs="grid", action="flat",
                   episode_length=21, *, rating_noise=0.0, closer_noise=0.0) -> dict[str, Any]:
    """Validate the environment settings; return them as a plain dict (the env's ``kwargs``).

    The noise settings appear in the dict only when non-zero, so a deterministic user's settings are
    the thesis's seven keys.
    """
    from musicrec.users.grid import check_grid, check_noise

    dims, levels = check_grid(dims, levels)
    noise = {name: check_noise(name, value) for name, value in
             (("rating_noise", rating_noise), ("closer_noise", closer_noise)) if value}
    check_choice("target", target, TARGET_MODES)
    check_choice("reward", reward, REWARDS)
    check_choice("obs", obs, OBSERVATIONS)
    check_choice("action", action, ACTIONS)
    check_number("episode_length", episode_length, low=1, integer=True)
    return {"dims": dims, "levels": levels, "target": target, "reward": reward, "obs": obs,
            "action": action, "episode_length": int(episode_length), **noise}


def make_spaces(geometry: GridGeometry, obs: str, action: str) -> tuple[spaces.Space, spaces.Space]:
    """Observation and action spaces of a grid env (see the module docstring)."""
    if obs == "grid":
        observation_space = spaces.Box(0.0, 1.0, shape=(geometry.dims + 2,), dtype=np.float32)
    else:
        observation_space = spaces.Box(-1.0, 4.0, shape=(geometry.n_positions,), dtype=np.float32)
    if action == "flat":
        action_space = spaces.Discrete(geometry.n_positions)
    else:
        action_space = spaces.MultiDiscrete([geometry.levels] * geometry.dims)
    return observation_space, action_space


class BatchedFeatureGrid:
    """``n_envs`` feature-grid environments stepped at once in numpy, same semantics as FeatureGridEnv.

    Parameters
    ----------
    n_envs : int
        Number of environments.
    dims, levels, target, reward, obs, action, episode_length
        As for :class:`FeatureGridEnv`.
    rating_noise, closer_noise : float
        Noisy users (as for :class:`FeatureGridEnv`).
    seed : int, optional
        Seeds the generator that draws targets at :meth:`reset` (and the users' noise).

    The core does not reset by itself: after ``episode_length`` steps every env reports
    ``truncated`` and the caller resets (all of them, or some with ``envs=``).
    """

    def __init__(self, n_envs: int, *, dims: int = 2, levels: int = 5, target: str = "wider",
                 reward: str = "bullseye", obs: str = "grid", action: str = "flat",
                 episode_length: int = 21, rating_noise: float = 0.0, closer_noise: float = 0.0,
                 seed: int | None = None):
        check_number("n_envs", n_envs, low=1, integer=True)
        self.n_envs = int(n_envs)
        self.settings = check_settings(dims, levels, target, reward, obs, action, episode_length,
                                       rating_noise=rating_noise, closer_noise=closer_noise)
        self.rating_noise = self.settings.get("rating_noise", 0.0)
        self.closer_noise = self.settings.get("closer_noise", 0.0)
        self.geometry = geometry = grid_geometry(self.settings["dims"], self.settings["levels"], target)
        self.dims, self.levels, self.n_positions = geometry.dims, geometry.levels, geometry.n_positions
        self.obs_mode, self.action_mode, self.reward_mode = obs, action, reward
        self.episode_length = self.settings["episode_length"]
        self.observation_space, self.action_space = make_spaces(geometry, obs, action)
        self.obs_dim = int(self.observation_space.shape[0])
        self.rng = np.random.default_rng(seed)
        self._rewards = REWARD_TABLES[reward].astype(np.float32)
        self._grid_obs_coords = (geometry.coords / np.float32(self.levels - 1)).astype(np.float32)
        self._strides = np.array([self.levels ** (self.dims - 1 - i) for i in range(self.dims)])
        if self.n_positions <= TABLE_LIMIT:
            positions = np.arange(self.n_positions)
            self._dist = geometry.distance(positions[:, None], positions[None, :]).astype(np.int16)
            self._rating = geometry.rating_by_distance[positions[:, None], self._dist]
        else:
            self._dist = self._rating = None
        n = self.n_envs
        self.targets = np.zeros(n, dtype=np.int64)
        self.positions = np.full(n, geometry.start, dtype=np.int64)
        self.distances = np.zeros(n, dtype=np.int64)
        self.steps = np.zeros(n, dtype=np.int64)
        self.board = np.full((n, self.n_positions), -1.0, dtype=np.float32) if obs == "board" else None
        self._rows = np.arange(n)

    def seed(self, seed: int | None) -> None:
        """Re-seed the target (and noise) generator."""
        self.rng = np.random.default_rng(seed)

    @property
    def noisy(self) -> bool:
        """True when the users' feedback is noisy."""
        return bool(self.rating_noise or self.closer_noise)

    def _report(self, ratings: np.ndarray, closer: np.ndarray, *, at_reset: bool = False):
        if not self.noisy:
            return ratings, closer
        return noisy_feedback(ratings, closer, rng=self.rng, rating_noise=self.rating_noise,
                              closer_noise=0.0 if at_reset else self.closer_noise)

    # -- feedback -----------------------------------------------------------------------------
    def _feedback(self, targets: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._dist is not None:
            return self._dist[targets, positions], self._rating[targets, positions]
        coords = self.geometry.coords
        dist = np.abs(coords[targets].astype(np.int32) - coords[positions]).sum(axis=1)
        return dist, self.geometry.rating_by_distance[targets, dist]

    def _observe(self, envs, positions, closer, ratings) -> np.ndarray:
        if self.obs_mode == "board":
            self.board[envs, positions] = ratings
            return self.board.copy() if envs is self._rows else self.board[envs].copy()
        obs = np.empty((len(positions), self.obs_dim), dtype=np.float32)
        obs[:, : self.dims] = self._grid_obs_coords[positions]
        obs[:, self.dims] = closer
        obs[:, self.dims + 1] = ratings * np.float32(0.25)
        return obs

    # -- the gym-like interface -----------------------------------------------------------------
    def reset(self, targets=None, *, envs=None) -> np.ndarray:
        """Start new episodes; return the observations of the reset envs.

        Parameters
        ----------
        targets : array of int, optional
            Flat target indices, one per reset env; default uniform draws from the core's generator.
        envs : array of int or bool mask, optional
            Which envs to reset (default all).

        Returns
        -------
        obs : np.ndarray [shape=(n_reset, obs_dim), dtype=float32]
        """
        if envs is None:
            envs = self._rows
        else:
            envs = np.asarray(envs)
            envs = np.flatnonzero(envs) if envs.dtype == bool else envs.astype(np.int64).reshape(-1)
        n = len(envs)
        if targets is None:
            targets = self.rng.integers(self.n_positions, size=n)
        else:
            targets = np.asarray(targets, dtype=np.int64).reshape(-1)
            if targets.shape != (n,):
                raise ParameterError(f"targets has {targets.size} entries for {n} envs")
            bad = targets[(targets < 0) | (targets >= self.n_positions)]
            if bad.size:
                raise ParameterError(
                    f"target={int(bad[0])} is outside the grid (flat indices 0..{self.n_positions - 1})")
        start = np.full(n, self.geometry.start, dtype=np.int64)
        self.targets[envs] = targets
        self.positions[envs] = start
        dist, ratings = self._feedback(targets, start)
        self.distances[envs] = dist
        self.steps[envs] = 0
        if self.board is not None:
            self.board[envs] = -1.0
        ratings, _ = self._report(ratings, np.zeros(n, dtype=bool), at_reset=True)
        return self._observe(envs, start, np.zeros(n, dtype=np.float32), ratings)

    def flat_actions(self, actions) -> np.ndarray:
        """Flat position indices of ``actions`` (``(n_envs,)`` flat or ``(n_envs, dims)`` factored)."""
        actions = np.asarray(actions)
        if self.action_mode == "factored":
            if actions.size != self.n_envs * self.dims:
                raise ParameterError(
                    f"actions has shape {actions.shape}, expected ({self.n_envs}, {self.dims})")
            actions = actions.reshape(self.n_envs, self.dims).astype(np.int64)
            if actions.min() < 0 or actions.max() >= self.levels:
                bad = actions[((actions < 0) | (actions >= self.levels)).any(axis=1)][0]
                raise ParameterError(f"action={bad.tolist()} is outside the levels 0..{self.levels - 1}")
            return actions @ self._strides
        actions = actions.reshape(-1).astype(np.int64)
        if actions.shape != (self.n_envs,):
            raise ParameterError(f"actions has {actions.size} entries for {self.n_envs} envs")
        if actions.min() < 0 or actions.max() >= self.n_positions:
            bad = actions[(actions < 0) | (actions >= self.n_positions)][0]
            raise ParameterError(f"action={int(bad)} is outside the grid (0..{self.n_positions - 1})")
        return actions

    def step(self, actions) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Step every env once.

        Parameters
        ----------
        actions : np.ndarray [shape=(n_envs,) or (n_envs, dims)]
            Flat position indices, or one level per feature.

        Returns
        -------
        obs : np.ndarray [shape=(n_envs, obs_dim), dtype=float32]
        rewards : np.ndarray [shape=(n_envs,), dtype=float32]
        truncated : np.ndarray [shape=(n_envs,), dtype=bool]
        info : dict of arrays ``rating``, ``closer`` (as reported), ``true_rating``, ``position``
            (each shape ``(n_envs,)``)
        """
        positions = self.flat_actions(actions)
        dist, true_ratings = self._feedback(self.targets, positions)
        ratings, closer = self._report(true_ratings, dist < self.distances)
        self.distances = dist.astype(np.int64, copy=False)
        self.positions = positions
        self.steps += 1
        obs = self._observe(self._rows, positions, closer, ratings)
        rewards = self._rewards[ratings]
        truncated = self.steps >= self.episode_length
        return obs, rewards, truncated, {"rating": ratings, "closer": closer, "position": positions,
                                         "true_rating": true_ratings}


@dataclass
class GridEvaluation:
    """A policy run deterministically once from each target (thesis figures 22-23).

    Attributes
    ----------
    targets : np.ndarray [shape=(n_targets,)]
        Flat target indices (all ``L**d`` by default).
    returns : np.ndarray [shape=(n_targets,)]
        Undiscounted episode return from each target.
    first_top : np.ndarray [shape=(n_targets,)]
        Step (1-based) of the first rating 4, or 0 if never reached.
    """

    targets: np.ndarray
    returns: np.ndarray
    first_top: np.ndarray

    @property
    def mean(self) -> float:
        return float(self.returns.mean())

    @property
    def std(self) -> float:
        return float(self.returns.std())

    @property
    def found_fraction(self) -> float:
        """Share of targets where a rating-4 position was reached."""
        return float((self.first_top > 0).mean())

    def summary(self) -> dict[str, float]:
        found = self.first_top[self.first_top > 0]
        return {"mean": self.mean, "std": self.std, "found": self.found_fraction,
                "mean_steps_to_top": float(found.mean()) if found.size else float("nan")}


def as_predict(policy) -> Callable:
    """A ``predict(obs, state, episode_start)`` function from a function, an SB3 model or an agent."""
    if hasattr(policy, "predict"):  # SB3 model or an agent with SB3's predict signature
        return lambda obs, state, start: policy.predict(obs, state, start, deterministic=True)
    if not callable(policy):
        raise ParameterError(f"policy {policy!r} is neither a predict function nor has .predict")
    return policy


def evaluate_all_targets(predict, *, targets=None, repeats: int = 1, seed: int = 0,
                         **env_kwargs) -> GridEvaluation:
    """Run a policy once from every target, all targets as one batch.

    Parameters
    ----------
    predict : callable or model
        ``predict(obs[N, obs_dim], state, episode_start[N]) -> (actions, state)``: SB3's
        ``model.predict`` with ``deterministic=True`` (an SB3 model itself is accepted and wrapped
        so), which handles recurrent policies through ``state``; or any agent with that signature,
        e.g. :class:`musicrec.agents.grid_rule.GridRulePolicy`.
    targets : array of int, optional
        Flat target indices to evaluate (default all ``L**d``, the thesis's metric); a subset is
        useful for very large grids.
    repeats : int
        Episodes per target (each target listed ``repeats`` times in the result): a noisy user's
        answers differ between episodes; a deterministic user's do not, so 1 is exact there.
    seed : int
        Seeds the users' noise (the same seed gives every policy the same noise draws only if
        they ask the same questions; the mean over many episodes is what compares).
    **env_kwargs
        ``dims``, ``levels``, ``target``, ``reward``, ``obs``, ``action``, ``episode_length`` and the
        noise settings. Returns score the true rating.

    Returns
    -------
    GridEvaluation
    """
    predict = as_predict(predict)
    settings = check_settings(**env_kwargs)
    n_positions = settings["levels"] ** settings["dims"]
    targets = np.arange(n_positions) if targets is None else np.asarray(targets, dtype=np.int64)
    check_number("repeats", repeats, low=1, integer=True)
    targets = np.tile(targets, int(repeats))
    core = BatchedFeatureGrid(len(targets), seed=seed, **settings)
    obs = core.reset(targets)
    returns = np.zeros(len(targets))
    first_top = np.zeros(len(targets), dtype=np.int64)
    state = None
    episode_start = np.ones(len(targets), dtype=bool)
    true_rewards = REWARD_TABLES[settings["reward"]]
    for step in range(1, settings["episode_length"] + 1):
        actions, state = predict(obs, state, episode_start)
        obs, _, _, info = core.step(actions)
        returns += true_rewards[info["true_rating"]]  # the rating the user feels, noisy or not
        first_top[(first_top == 0) & (info["true_rating"] == 4)] = step
        episode_start = np.zeros(len(targets), dtype=bool)
    return GridEvaluation(targets=targets, returns=returns, first_top=first_top)
