"""A Bayes-filter greedy baseline for the feature grid: it knows the user model and its noise, not the target.

The policy keeps, in every environment, the posterior over the user's target given everything the user
reported so far in the episode: uniform at the start, then multiplied after each step by the likelihood
of the reported rating (``musicrec.users.grid.report_likelihood``) and of the reported ``closer`` (correct
with probability ``1 - closer_noise``), given each candidate target's true rating and distance. It then
names the position with the highest expected *true* reward under the posterior (greedy, one step ahead).
For the thesis's deterministic users (no noise) the posterior is the set of targets consistent with the
answers, which is what the rule baseline (``musicrec.agents.grid_rule``) exploits too; with noise no
target is ever ruled out, and a fixed rule has no way to weigh contradicting answers, which is where a
learned recurrent policy can compete. It observes GridObs (the position, ``closer`` and the rating) and is
evaluated like any agent (:func:`musicrec.envs.grid.evaluate_all_targets`).
"""

from __future__ import annotations

import numpy as np

from musicrec.envs.grid_core import REWARD_TABLES, TABLE_LIMIT, check_settings
from musicrec.errors import ParameterError
from musicrec.users.grid import grid_geometry, report_likelihood


class GridBayesPolicy:
    """Bayes-filter greedy policy (see the module docstring); ``predict`` has SB3's signature.

    Parameters
    ----------
    dims, levels, target, reward, obs, action, episode_length, rating_noise, closer_noise
        The environment's settings (``obs`` must be ``"grid"``); the noise it assumes is the users'.
    """

    def __init__(self, **env_kwargs):
        self.settings = check_settings(**env_kwargs)
        if self.settings["obs"] != "grid":
            raise ParameterError("the Bayes-filter baseline reads GridObs (obs='grid'): position, closer, rating")
        geometry = grid_geometry(self.settings["dims"], self.settings["levels"], self.settings["target"])
        if geometry.n_positions > TABLE_LIMIT:
            raise ParameterError(f"the Bayes filter keeps a posterior over all {geometry.n_positions} targets; "
                                 f"grids above {TABLE_LIMIT} positions are too large")
        self.geometry = geometry
        self.ratings = geometry.rating_table()                      # [target, position]
        positions = np.arange(geometry.n_positions)
        self.distances = geometry.distance(positions[:, None], positions[None, :])  # [target, position]
        rating_noise = self.settings.get("rating_noise", 0.0)
        closer_noise = self.settings.get("closer_noise", 0.0)
        with np.errstate(divide="ignore"):
            self.log_rating = np.log(report_likelihood(rating_noise=rating_noise))       # [true, reported]
            self.log_closer = np.log(np.array([[1 - closer_noise, closer_noise],
                                               [closer_noise, 1 - closer_noise]]))       # [true, reported]
        # expected true reward of naming each position, per target: rewards[target, position]
        self.rewards = REWARD_TABLES[self.settings["reward"]][self.ratings]
        self._strides = np.array([geometry.levels ** (geometry.dims - 1 - i) for i in range(geometry.dims)])

    def _positions(self, obs: np.ndarray) -> np.ndarray:
        coords = np.rint(obs[:, : self.geometry.dims] * (self.geometry.levels - 1)).astype(np.int64)
        return coords @ self._strides

    def predict(self, obs, state=None, episode_start=None, deterministic: bool = True):
        """Next positions for GridObs ``obs`` ``(n, dims + 2)``; ``state`` is the filter's posterior."""
        obs = np.asarray(obs, dtype=np.float64)
        n = obs.shape[0]
        positions = self._positions(obs)
        reported_rating = np.rint(obs[:, self.geometry.dims + 1] * 4).astype(np.int64)
        reported_closer = (obs[:, self.geometry.dims] > 0.5).astype(np.int64)
        starts = np.ones(n, dtype=bool) if state is None or episode_start is None else np.asarray(episode_start, bool)
        if state is None:
            log_post = np.zeros((n, self.geometry.n_positions))
            previous = positions.copy()
        else:
            log_post, previous = state
            log_post = log_post.copy()
        log_post[starts] = 0.0
        true_ratings = self.ratings[:, positions].T                    # [env, target]
        log_post += self.log_rating[true_ratings, reported_rating[:, None]]
        moved = ~starts
        if moved.any():
            true_closer = (self.distances[:, positions[moved]] < self.distances[:, previous[moved]]).T
            log_post[moved] += self.log_closer[true_closer.astype(np.int64), reported_closer[moved, None]]
        log_post -= log_post.max(axis=1, keepdims=True)
        posterior = np.exp(log_post)
        expected = posterior @ self.rewards                             # [env, position]
        choice = expected.argmax(axis=1)
        actions = choice if self.settings["action"] == "flat" else np.stack(
            np.unravel_index(choice, self.geometry.shape), axis=1)
        return actions, (log_post, positions)
