"""The feature-grid search of the thesis (section 4.2) as a gymnasium environment and a batched numpy core.

Modelling assumptions
---------------------
A user (``musicrec.users.grid``) prefers one *target* among the ``L**d`` positions of a grid of ``d``
features with ``L`` levels each; it is drawn uniformly at reset (from the env's seeded generator) unless
``options={"target": ...}`` fixes it (flat index or coordinates). Every episode starts at the centre
``(L//2, ..., L//2)``; the agent then names one position per step (``flat``: ``Discrete(L**d)``, the flat
index in C order as in the thesis; ``factored``: ``MultiDiscrete([L] * d)``, one level per feature) and
the user answers with the new position's rating (0-4, a percentile bin of the Manhattan distance, see the
user module) and ``closer`` (1 if strictly closer to the target than the previous position). Users are
deterministic. Rewards: **Bullseye** = 10 for rating 4, else 0; **Rating** = rating squared. Episodes
are truncated after ``episode_length`` steps (21 in the thesis) and never terminate: finding the target
does not end the episode, so the best policy stays on a rating-4 position once it has one.
With ``rating_noise``/``closer_noise`` above 0 the user is noisy (``musicrec.users.grid``): the observation
and the reward follow the *reported* rating and ``closer`` (all a recommender sees), while
``info["true_rating"]`` and :func:`evaluate_all_targets` score the true rating (what the user feels).

Observations
------------
``obs="grid"`` (**GridObs**, ``d + 2`` values in [0, 1]): the position's coordinates divided by ``L - 1``,
then ``closer`` (0 or 1), then ``rating / 4``. ``obs="board"`` (**BoardObs**, ``L**d`` values): -1 for a
position not visited in this episode, its rating (0-4, unscaled) once visited. Reset returns the
observation of the start position with its rating and ``closer = 0``; the start counts as visited.

The numpy core (``musicrec.envs.grid_core``) steps ``n_envs`` copies at once with the same semantics step
for step (tested) and evaluates a policy from every target, as in the thesis's metric tables (figures
22-23); ``musicrec.envs.grid_vec`` adapts it to SB3.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium
import numpy as np

from musicrec.envs.grid_core import REWARD_TABLES, check_settings, make_spaces
from musicrec.errors import ParameterError
from musicrec.users.grid import GridUser, grid_geometry

class FeatureGridEnv(gymnasium.Env):
    """Find the user's preferred combination of feature levels (id ``musicrec/FeatureGrid-v0``).

    Parameters
    ----------
    dims : int
        Number of features ``d >= 1``.
    levels : int
        Levels per feature ``L >= 2``.
    target : {"top", "wider"}
        TopTarget (one rating-4 position) or WiderTopTarget (about 5% of positions rate 4).
    reward : {"bullseye", "rating"}
        10 for rating 4, or rating squared.
    obs : {"grid", "board"}
        GridObs or BoardObs (see the module docstring for the scaling).
    action : {"flat", "factored"}
        ``Discrete(L**d)`` or ``MultiDiscrete([L] * d)``.
    episode_length : int
        Steps per episode (truncation).
    rating_noise, closer_noise : float
        Probabilities that the user's rating is off by one and that ``closer`` is flipped (0: the
        thesis's deterministic user).
    render_mode : None
        Gymnasium's argument; nothing is rendered.

    >>> env = FeatureGridEnv(dims=2, target="top")
    >>> obs, info = env.reset(seed=0, options={"target": (0, 0)})
    >>> env.step(0)[1]
    10.0
    """

    metadata = {"render_modes": []}

    def __init__(self, dims: int = 2, levels: int = 5, target: str = "wider", reward: str = "bullseye",
                 obs: str = "grid", action: str = "flat", episode_length: int = 21,
                 rating_noise: float = 0.0, closer_noise: float = 0.0, render_mode: str | None = None):
        if render_mode is not None:
            raise ParameterError(f"render_mode={render_mode!r}: FeatureGridEnv does not render")
        self.render_mode = render_mode
        self.settings = check_settings(dims, levels, target, reward, obs, action, episode_length,
                                       rating_noise=rating_noise, closer_noise=closer_noise)
        self.geometry = grid_geometry(self.settings["dims"], self.settings["levels"], target)
        self.dims, self.levels = self.geometry.dims, self.geometry.levels
        self.reward_mode, self.obs_mode, self.action_mode = reward, obs, action
        self.episode_length = self.settings["episode_length"]
        self.observation_space, self.action_space = make_spaces(self.geometry, obs, action)
        self.user = GridUser(self.geometry, rating_noise=rating_noise, closer_noise=closer_noise)
        self._rewards = REWARD_TABLES[reward]
        self._grid_coords = (self.geometry.coords / np.float32(self.levels - 1)).astype(np.float32)
        self._board = np.full(self.geometry.n_positions, -1.0, dtype=np.float32)
        self._steps = 0

    def _observation(self, position: int, rating: int, closer: bool) -> np.ndarray:
        if self.obs_mode == "board":
            self._board[position] = rating
            return self._board.copy()
        obs = np.empty(self.dims + 2, dtype=np.float32)
        obs[: self.dims] = self._grid_coords[position]
        obs[self.dims] = closer
        obs[self.dims + 1] = rating * 0.25
        return obs

    def position_of(self, action) -> int:
        """Flat index of ``action`` (flat or factored); raises ParameterError outside the action space."""
        if isinstance(action, (int, np.integer)) and not isinstance(action, (bool, np.bool_)) and (
                self.action_mode == "flat" and 0 <= action < self.geometry.n_positions):
            return int(action)  # the common case, without the space's checks
        if isinstance(action, np.ndarray) and action.shape == () and self.action_mode == "flat":
            action = action.item()
        if not self.action_space.contains(action if self.action_mode == "flat" else np.asarray(action)):
            raise ParameterError(f"action={action!r} is not in the action space {self.action_space}")
        if self.action_mode == "flat":
            return int(action)
        return int(np.ravel_multi_index(tuple(np.asarray(action)), self.geometry.shape))

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None):
        super().reset(seed=seed)
        feedback = self.user.start((options or {}).get("target"), rng=self.np_random)
        self._steps = 0
        self._board.fill(-1.0)
        obs = self._observation(self.geometry.start, feedback.rating, False)
        return obs, {"rating": feedback.rating, "closer": False, "position": self.geometry.start,
                     "true_rating": self.user.true_rating(self.geometry.start)}

    def step(self, action):
        position = self.position_of(action)
        feedback = self.user.respond(position)
        self.user.update(position, feedback)
        reward = float(self._rewards[feedback.rating])
        self._steps += 1
        truncated = self._steps >= self.episode_length
        obs = self._observation(position, feedback.rating, feedback.closer)
        info = {"rating": feedback.rating, "closer": feedback.closer, "position": position,
                "true_rating": self.user.true_rating(position)}
        return obs, reward, False, truncated, info
