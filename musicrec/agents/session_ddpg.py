"""The paper's DDPG actor-critic for sessions, on SB3's DDPG, with decaying dimension-mask exploration.

The paper (after Zhao et al. 2017) explores by *dropping a random fraction of the dimensions* of the
actor's action embedding in the dot product that scores tracks, and lets that fraction decay, instead
of adding Gaussian noise. SB3's ``ActionNoise`` is additive and never sees the action
(``action + noise()``), so it cannot express a multiplicative mask by itself. :class:`DimensionMaskNoise`
is an ``ActionNoise`` (its additive part is zero) with a ``perturb(action)`` method, and
:class:`MaskedDDPG` is SB3's ``DDPG`` with ``_sample_action`` extended to apply ``perturb`` to the
exploration action, which is also what the replay buffer stores. Everything else (actor, critic,
target networks, replay buffer, updates) is SB3's DDPG unchanged.

The preset ``ddpg_mask`` (registered on import) trains it through
:func:`musicrec.agents.sb3.train`; hyperparameters live in
``musicrec/configs/hyperparams/ddpg_mask.yml``. With ``mask_noise: null`` it is plain DDPG without
exploration noise (the paper's "DDPG without noise").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from stable_baselines3 import DDPG
from stable_baselines3.common.noise import ActionNoise

from musicrec.agents.sb3 import AgentPreset, register_preset
from musicrec.errors import ParameterError, check_number


class DimensionMaskNoise(ActionNoise):
    """Drop each action dimension with probability ``fraction``; the fraction decays per step.

    Parameters
    ----------
    dim : int
        Action size.
    fraction : float
        Initial probability of dropping a dimension.
    decay : float
        Multiplied into the fraction after every perturbed step.
    min_fraction : float
        Floor of the fraction.
    seed : int
        Seed of the mask draws.
    """

    def __init__(self, dim: int, *, fraction: float = 0.5, decay: float = 0.9995, min_fraction: float = 0.0,
                 seed: int = 0):
        super().__init__()
        self.dim = int(check_number("dim", dim, low=1, integer=True))
        self.fraction = float(check_number("fraction", fraction, low=0, high=1))
        self.decay = float(check_number("decay", decay, low=0, high=1))
        self.min_fraction = float(check_number("min_fraction", min_fraction, low=0, high=1))
        self.rng = np.random.default_rng(seed)

    def __call__(self) -> np.ndarray:
        return np.zeros(self.dim, dtype=np.float32)

    def perturb(self, action: np.ndarray) -> np.ndarray:
        """``action`` with a random subset of dimensions set to 0 (one mask per row)."""
        action = np.asarray(action)
        keep = self.rng.random(action.shape) >= self.fraction
        self.fraction = max(self.min_fraction, self.fraction * self.decay)
        return action * keep

    def __repr__(self) -> str:
        return f"DimensionMaskNoise(dim={self.dim}, fraction={self.fraction:.4f}, decay={self.decay})"


class MaskedDDPG(DDPG):
    """SB3 DDPG whose exploration action is masked by :class:`DimensionMaskNoise`.

    ``mask_noise`` is a mapping of the noise's keyword arguments (``fraction``, ``decay``,
    ``min_fraction``), or None for no exploration noise at all.
    """

    def __init__(self, policy, env, learning_rate=1e-3, buffer_size: int = 1_000_000,
                 learning_starts: int = 100, batch_size: int = 256, tau: float = 0.005, gamma: float = 0.99,
                 train_freq=1, gradient_steps: int = 1, action_noise: ActionNoise | None = None,
                 replay_buffer_class=None, replay_buffer_kwargs: dict | None = None,
                 optimize_memory_usage: bool = False, n_steps: int = 1,
                 tensorboard_log: str | None = None, policy_kwargs: dict | None = None, verbose: int = 0,
                 seed: int | None = None, device="auto", _init_setup_model: bool = True,
                 mask_noise: Mapping[str, Any] | None = None):
        # the keywords are spelled out so that musicrec.agents.sb3.resolve_config can validate them
        super().__init__(policy, env, learning_rate=learning_rate, buffer_size=buffer_size,
                         learning_starts=learning_starts, batch_size=batch_size, tau=tau, gamma=gamma,
                         train_freq=train_freq, gradient_steps=gradient_steps, action_noise=action_noise,
                         replay_buffer_class=replay_buffer_class, replay_buffer_kwargs=replay_buffer_kwargs,
                         optimize_memory_usage=optimize_memory_usage, n_steps=n_steps,
                         tensorboard_log=tensorboard_log, policy_kwargs=policy_kwargs, verbose=verbose,
                         seed=seed, device=device, _init_setup_model=_init_setup_model)
        self.mask_noise_spec = dict(mask_noise) if mask_noise else None
        self.mask_noise = None
        if mask_noise:
            unknown = sorted(set(mask_noise) - {"fraction", "decay", "min_fraction"})
            if unknown:
                raise ParameterError(f"mask_noise takes fraction, decay and min_fraction, not {unknown}")
            seed = 0 if self.seed is None else int(self.seed)
            self.mask_noise = DimensionMaskNoise(int(np.prod(self.action_space.shape)), seed=seed,
                                                 **dict(mask_noise))

    def _sample_action(self, learning_starts: int, action_noise: ActionNoise | None = None,
                       n_envs: int = 1) -> tuple[np.ndarray, np.ndarray]:
        action, buffer_action = super()._sample_action(learning_starts, action_noise, n_envs)
        if self.mask_noise is not None and self.num_timesteps >= learning_starts:
            buffer_action = self.mask_noise.perturb(buffer_action)
            action = self.policy.unscale_action(buffer_action)
        return action, buffer_action


register_preset("ddpg_mask", AgentPreset("musicrec.agents.session_ddpg:MaskedDDPG", "MlpPolicy",
                                         label="DDPG (dimension-mask noise)"))
