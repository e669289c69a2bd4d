"""The genre recommender of the Q-learning slides as a gymnasium environment.

Modelling assumptions
---------------------
State: the genre now playing (``Discrete(n_genres)``). Action: the genre recommended
(``Discrete(n_genres)``). The listener (``musicrec.users.genre``) likes the recommendation or not;
the reward is ``like_reward`` or ``dislike_reward``; the recommended genre becomes the next state.
An episode starts from a genre drawn uniformly (or ``options={"start": genre}``) and is truncated
after ``episode_length`` recommendations; it never terminates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from musicrec.errors import ParameterError, check_number
from musicrec.users.genre import GenreListener, make_listener


class GenreEnv(gymnasium.Env):
    """Recommend one genre after another to a simulated listener.

    Parameters
    ----------
    user : str or mapping
        A profile name of ``genre_users.yml`` (``generic``, ``pop_lover``, ``transition``...) or an
        inline profile mapping (see :mod:`musicrec.users.genre`).
    genres : sequence of str, optional
        Genre names; default the profile file's list (Pop, Rock, Jazz, Classical, HipHop).
    like_reward, dislike_reward : float
        Reward for a liked and for a disliked recommendation.
    episode_length : int
        Recommendations per episode.
    profiles_path : path, optional
        Another profiles file.
    render_mode : None
        Gymnasium's argument; nothing is rendered.
    """

    metadata = {"render_modes": []}

    def __init__(self, user: str | Mapping = "generic", *, genres: Sequence[str] | None = None,
                 like_reward: float = 10.0, dislike_reward: float = -5.0, episode_length: int = 10,
                 profiles_path: str | Path | None = None, render_mode: str | None = None):
        if render_mode is not None:
            raise ParameterError(f"render_mode={render_mode!r}: GenreEnv does not render")
        self.render_mode = render_mode
        check_number("like_reward", like_reward)
        check_number("dislike_reward", dislike_reward)
        check_number("episode_length", episode_length, low=1, integer=True)
        self.listener: GenreListener = make_listener(user, genres=genres, profiles_path=profiles_path)
        self.genres = self.listener.genres
        self.like_reward = float(like_reward)
        self.dislike_reward = float(dislike_reward)
        self.episode_length = int(episode_length)
        self.observation_space = spaces.Discrete(len(self.genres))
        self.action_space = spaces.Discrete(len(self.genres))
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        start = (options or {}).get("start")
        if start is None:
            start = int(self.np_random.integers(len(self.genres)))
        elif isinstance(start, str):
            if start not in self.genres:
                raise ParameterError(f"start={start!r} is not one of the genres {list(self.genres)}")
            start = self.genres.index(start)
        elif not self.observation_space.contains(start):
            raise ParameterError(f"start={start!r} is not a genre index in [0, {len(self.genres)})")
        self.listener.start(int(start), rng=self.np_random)
        self._steps = 0
        return int(start), {"genre": self.genres[int(start)]}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ParameterError(f"action={action!r} is not a genre index in [0, {len(self.genres)})")
        action = int(action)
        feedback = self.listener.respond(action)
        self.listener.update(action, feedback)
        reward = self.like_reward if feedback.liked else self.dislike_reward
        self._steps += 1
        truncated = self._steps >= self.episode_length
        info = {"genre": self.genres[action], "liked": feedback.liked}
        return action, reward, False, truncated, info

    def expected_reward(self) -> np.ndarray:
        """Expected reward of every (state, action) pair, shape (n_genres, n_genres)."""
        return self.listener.expected_reward(self.like_reward, self.dislike_reward)
