"""An SB3 ``VecEnv`` over the batched feature-grid core, and the finite-horizon pipeline of the SB3 grid agents.

It behaves like ``DummyVecEnv`` of monitored ``FeatureGridEnv`` copies: a finished env is reset at once
with a fresh uniform target, its last observation goes to ``info["terminal_observation"]`` and a
Monitor-style ``info["episode"] = {"r": return, "l": length, "t": 0.0}`` reports the episode, so SB3's
algorithms and ``musicrec.agents.sb3.train``'s episode log work unchanged::

    train(config, env_config, seed, run_dir,
          vec_env_factory=lambda env_config, n_envs, seed: GridVecEnv(n_envs, seed=seed,
                                                                      **env_config["kwargs"]))

Targets come from one generator for all envs, seeded by ``seed`` (or by SB3's ``env.seed(s)`` before
the next ``reset()``), so the target sequence differs from a ``DummyVecEnv`` with seeds ``s, s+1, ...``
while following the same distribution.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from musicrec.envs.grid_core import BatchedFeatureGrid
from musicrec.errors import ParameterError


class GridVecEnv(VecEnv):
    """``n_envs`` feature-grid environments as one SB3 ``VecEnv`` (see the module docstring).

    Parameters
    ----------
    n_envs : int
        Number of environments.
    seed : int, optional
        Seeds the target generator.
    **env_kwargs
        ``dims``, ``levels``, ``target``, ``reward``, ``obs``, ``action``, ``episode_length`` as for
        :class:`~musicrec.envs.grid.FeatureGridEnv` (``render_mode=None`` is accepted and ignored).
    """

    def __init__(self, n_envs: int, *, seed: int | None = None, **env_kwargs):
        render_mode = env_kwargs.pop("render_mode", None)
        if render_mode is not None:
            raise ParameterError(f"render_mode={render_mode!r}: GridVecEnv does not render")
        self.core = BatchedFeatureGrid(n_envs, seed=seed, **env_kwargs)
        self.render_mode = None
        super().__init__(self.core.n_envs, self.core.observation_space, self.core.action_space)
        self.env_kwargs = dict(self.core.settings)
        self._actions = None
        self._obs = None
        self._returns = np.zeros(self.num_envs)
        self._lengths = np.zeros(self.num_envs, dtype=np.int64)

    def _options_targets(self) -> np.ndarray | None:
        targets = [options.get("target") for options in self._options]
        if all(target is None for target in targets):
            return None
        if any(target is None for target in targets):
            raise ParameterError("set a target for every env or for none")
        return np.array([self.core.geometry.flat_index(t, name="target") for t in targets])

    def reset(self) -> np.ndarray:
        if self._seeds[0] is not None:
            self.core.seed(self._seeds[0])
        self._obs = self.core.reset(self._options_targets())
        self._returns[:] = 0.0
        self._lengths[:] = 0
        self._reset_seeds()
        self._reset_options()
        return self._obs.copy()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        obs, rewards, dones, _ = self.core.step(self._actions)
        self._returns += rewards
        self._lengths += 1
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if dones.any():
            finished = np.flatnonzero(dones)
            for i in finished:
                infos[i] = {
                    "TimeLimit.truncated": True,
                    "terminal_observation": obs[i].copy(),
                    "episode": {"r": float(self._returns[i]), "l": int(self._lengths[i]), "t": 0.0},
                }
            obs[finished] = self.core.reset(envs=finished)
            self._returns[finished] = 0.0
            self._lengths[finished] = 0
        self._obs = obs
        return obs, rewards.astype(np.float32), dones.copy(), infos

    def close(self) -> None:
        pass

    def _indices(self, indices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, (int, np.integer)):
            return [int(indices)]
        return list(indices)

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        """Settings are shared by all envs: ``render_mode``, ``settings``, ``geometry``, ..."""
        if attr_name == "render_mode":
            value = None
        elif hasattr(self.core, attr_name):
            value = getattr(self.core, attr_name)
        else:
            raise AttributeError(f"GridVecEnv has no attribute {attr_name!r}")
        return [value for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        raise ParameterError(f"GridVecEnv envs share their settings; cannot set {attr_name!r} per env")

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        raise ParameterError(f"GridVecEnv has no per-env methods (asked for {method_name!r})")

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False for _ in self._indices(indices)]


class FiniteHorizon:
    """The 21-step episode is the whole task: its end is terminal, as in the thesis's code.

    A ``VecEnvWrapper`` (built lazily, see :func:`finite_horizon`) that drops SB3's
    ``TimeLimit.truncated`` flag, so SB3 does not bootstrap the return at the time limit.
    """


def finite_horizon(venv):
    """Wrap an SB3 VecEnv in :class:`FiniteHorizon`."""
    from stable_baselines3.common.vec_env import VecEnvWrapper

    class _FiniteHorizon(VecEnvWrapper, FiniteHorizon):
        def reset(self):
            return self.venv.reset()

        def step_wait(self):
            obs, rewards, dones, infos = self.venv.step_wait()
            for i in np.flatnonzero(dones):
                infos[i].pop("TimeLimit.truncated", None)
            return obs, rewards, dones, infos

    _FiniteHorizon.__name__ = _FiniteHorizon.__qualname__ = "FiniteHorizon"
    return _FiniteHorizon(venv)


def make_grid_vec_env(env_kwargs, n_envs: int, seed: int, *, normalize: bool = True, gamma: float = 0.99):
    """``GridVecEnv`` -> :func:`finite_horizon` -> ``VecNormalize`` of observations and returns (the
    thesis's code's pipeline for SB3 agents)."""
    from stable_baselines3.common.vec_env import VecNormalize

    venv = finite_horizon(GridVecEnv(n_envs, seed=seed, **dict(env_kwargs)))
    if normalize:
        venv = VecNormalize(venv, norm_obs=True, norm_reward=True, gamma=gamma)
    return venv
