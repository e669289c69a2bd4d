"""Stable-baselines3 / sb3-contrib agents behind one ``train(config, env_config, seed, run_dir)``.

An *agent preset* names an algorithm class and the fixed settings that define it:

================  =========================================================================
preset            algorithm
================  =========================================================================
``a2c``           SB3 ``A2C`` (no recurrence)
``ppo``           SB3 ``PPO``
``recurrent_ppo`` sb3-contrib ``RecurrentPPO`` (LSTM policy)
``trpo``          sb3-contrib ``TRPO``, the natural-gradient trust-region method standing in for
                  ACKTR, which SB3 dropped (label it "TRPO (in ACKTR's place)")
``ddpg``          SB3 ``DDPG`` (continuous actions)
``recurrent_a2c`` ``RecurrentPPO`` configured as n-step A2C with a GRU policy
                  (:mod:`musicrec.agents.recurrent_a2c`)
``ddpg_mask``     DDPG with dimension-mask exploration noise (:mod:`musicrec.agents.session_ddpg`)
================  =========================================================================

Every preset is listed in :data:`PRESETS` (one table, one label each); an algorithm class is imported
only when a run uses it.

Hyperparameters come from ``musicrec/configs/hyperparams/<preset>.yml`` (a ``default:`` block and one
block per env id), updated by ``config["hyperparams"]``. Everything is validated before any training
starts: an unknown preset, an env id that is not registered, or a hyperparameter the algorithm does
not take raises :class:`~musicrec.errors.ParameterError`.

Config keys: ``preset`` (required), ``total_timesteps`` (required), ``n_envs`` (default 1),
``policy`` (default from the preset), ``hyperparams`` (overrides). Env config keys: ``id`` and
``kwargs``.
"""

from __future__ import annotations

import copy
import inspect
import json
import os
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musicrec.errors import ParameterError, check_choice, check_number
from musicrec.hyperparams import HYPERPARAM_DIR, load_hyperparams
from musicrec.runs import write_metrics
from musicrec.utils import set_seed, setup_torch


@dataclass(frozen=True)
class AgentPreset:
    """An algorithm class (``module:Class``), its default policy and settings it always uses."""

    algorithm: str
    policy: str
    recurrent: bool = False
    fixed: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""

    def algorithm_class(self):
        module, name = self.algorithm.split(":")
        return getattr(__import__(module, fromlist=[name]), name)


#: The settings that turn ``RecurrentPPO`` into n-step A2C (a run may not override them).
RECURRENT_A2C_FIXED: dict[str, Any] = {
    "n_epochs": 1,
    "batch_size": None,          # one minibatch: the whole rollout of n_steps x n_envs transitions
    "gae_lambda": 1.0,           # plain n-step returns
    "normalize_advantage": False,
    "clip_range_vf": None,
    "target_kl": None,
}

PRESETS: dict[str, AgentPreset] = {
    "a2c": AgentPreset("stable_baselines3:A2C", "MlpPolicy", label="A2C"),
    "ppo": AgentPreset("stable_baselines3:PPO", "MlpPolicy", label="PPO"),
    "recurrent_ppo": AgentPreset("sb3_contrib:RecurrentPPO", "MlpLstmPolicy", recurrent=True,
                                 label="RecurrentPPO (LSTM)"),
    "trpo": AgentPreset("sb3_contrib:TRPO", "MlpPolicy", label="TRPO (in ACKTR's place)"),
    "ddpg": AgentPreset("stable_baselines3:DDPG", "MlpPolicy", label="DDPG"),
    "recurrent_a2c": AgentPreset("musicrec.agents.recurrent_a2c:RecurrentA2C",
                                 "musicrec.agents.recurrent_a2c:GruActorCriticPolicy", recurrent=True,
                                 fixed=RECURRENT_A2C_FIXED, label="Recurrent A2C (GRU)"),
    "ddpg_mask": AgentPreset("musicrec.agents.session_ddpg:MaskedDDPG", "MlpPolicy",
                             label="DDPG (dimension-mask noise)"),
}

#: File names inside a run folder.
MODEL_FILE = "model.zip"
VEC_NORMALIZE_FILE = "vecnormalize.npz"

# Hyperparameters that train() sets itself.
_RESERVED = {"policy", "env", "seed", "device", "verbose", "tensorboard_log", "_init_setup_model"}


def policy_class(policy: str):
    """A policy given as ``"module:Class"`` is imported; an SB3 alias (``"MlpPolicy"``) is kept."""
    if not isinstance(policy, str) or ":" not in policy:
        return policy
    import importlib

    module, name = policy.split(":", 1)
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise ParameterError(f"policy={policy!r} cannot be imported: {error}") from None


def _torch_class(name: str, module: str):
    import torch

    target = getattr(torch.optim, name, None) if module == "optim" else getattr(torch.nn, name, None)
    if target is None:
        raise ParameterError(f"{module} class {name!r} does not exist in torch")
    return target


def _build_policy_kwargs(policy_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Turn YAML strings into classes: ``optimizer_class: RMSprop``, ``activation_fn: Tanh``."""
    kwargs = dict(policy_kwargs or {})
    if isinstance(kwargs.get("optimizer_class"), str):
        kwargs["optimizer_class"] = _torch_class(kwargs["optimizer_class"], "optim")
    if isinstance(kwargs.get("activation_fn"), str):
        kwargs["activation_fn"] = _torch_class(kwargs["activation_fn"], "nn")
    return kwargs


def _build_action_noise(spec: Mapping[str, Any] | None, action_dim: int):
    if spec is None:
        return None
    from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

    kinds = {"normal": NormalActionNoise, "ornstein_uhlenbeck": OrnsteinUhlenbeckActionNoise}
    kind = check_choice("action_noise.kind", spec.get("kind", "normal"), kinds)
    sigma = check_number("action_noise.sigma", spec.get("sigma", 0.1), low=0)
    return kinds[kind](mean=np.zeros(action_dim), sigma=sigma * np.ones(action_dim))


def resolve_config(config: Mapping[str, Any], env_config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``config`` and ``env_config`` and return the full, plain config of the run.

    The result holds the preset, the policy, the merged hyperparameters (YAML file, then
    ``config["hyperparams"]``), the budget and the env; it is what a run folder's ``config.yml``
    records and what :func:`train` uses. Raises :class:`ParameterError` before anything trains.
    """
    import gymnasium

    import musicrec.envs  # noqa: F401  (registers the ids)

    if not isinstance(config, Mapping) or not isinstance(env_config, Mapping):
        raise ParameterError("config and env_config must be mappings")
    preset_name = check_choice("preset", config.get("preset"), sorted(PRESETS))
    preset = PRESETS[preset_name]
    env_id = env_config.get("id")
    if env_id not in gymnasium.registry:
        known = sorted(k for k in gymnasium.registry if k.startswith("musicrec/"))
        raise ParameterError(f"env id {env_id!r} is not registered; musicrec ids: {known}")
    unknown_keys = set(config) - {"preset", "total_timesteps", "n_envs", "policy", "hyperparams"}
    if unknown_keys:
        raise ParameterError(f"unknown agent config key(s) {sorted(unknown_keys)}")
    total = check_number("total_timesteps", config.get("total_timesteps"), low=1, integer=True)
    n_envs = check_number("n_envs", config.get("n_envs", 1), low=1, integer=True)

    yaml_file = HYPERPARAM_DIR / f"{preset_name}.yml"
    hyperparams = load_hyperparams(preset_name, env_id) if yaml_file.exists() else {}
    hyperparams.update(copy.deepcopy(dict(config.get("hyperparams") or {})))
    clash = {k: v for k, v in preset.fixed.items() if k in hyperparams and hyperparams[k] != v}
    if clash:
        raise ParameterError(f"preset {preset_name!r} fixes {sorted(clash)}; do not override them")
    hyperparams.update(preset.fixed)

    accepted = set(inspect.signature(preset.algorithm_class().__init__).parameters) - _RESERVED - {"self"}
    unknown = sorted(set(hyperparams) - accepted)
    if unknown:
        raise ParameterError(
            f"hyperparameter(s) {unknown} are not taken by {preset.algorithm.split(':')[1]} "
            f"(preset {preset_name!r}); it takes {sorted(accepted)}")
    _build_policy_kwargs(hyperparams.get("policy_kwargs"))  # fail early on unknown torch classes
    policy_class(config.get("policy", preset.policy))  # fail early on a policy that does not import
    return {
        "preset": preset_name,
        "algorithm": preset.algorithm,
        "policy": config.get("policy", preset.policy),
        "total_timesteps": int(total),
        "n_envs": int(n_envs),
        "hyperparams": hyperparams,
        "env": {"id": env_id, "kwargs": dict(env_config.get("kwargs") or {})},
    }


class EpisodeLogger:
    """Collects finished episodes (return, length) from the ``Monitor`` infos during training."""

    def __init__(self):
        self.rows: list[dict[str, Any]] = []
        self.start = time.perf_counter()

    def callback(self):
        from stable_baselines3.common.callbacks import BaseCallback

        logger = self

        class _Callback(BaseCallback):
            def _on_step(self) -> bool:
                for info in self.locals.get("infos", []):
                    episode = info.get("episode")
                    if episode is not None:
                        logger.rows.append({
                            "timesteps": int(self.num_timesteps),
                            "episode": len(logger.rows),
                            "return": float(episode["r"]),
                            "length": int(episode["l"]),
                            "time_s": round(time.perf_counter() - logger.start, 3),
                        })
                return True

        return _Callback()

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["timesteps", "episode", "return", "length", "time_s"])


class ProgressBar:
    """A tqdm bar over environment steps, updated at most every few seconds (notebook-friendly)."""

    def __init__(self, total: int, description: str, *, enabled: bool = True, mininterval: float = 5.0):
        self.total, self.description = total, description
        self.enabled, self.mininterval = enabled, mininterval

    def callback(self):
        from stable_baselines3.common.callbacks import BaseCallback
        from tqdm import tqdm

        bar_spec = self

        class _Callback(BaseCallback):
            def _on_training_start(self) -> None:
                self.bar = tqdm(total=bar_spec.total, desc=bar_spec.description, unit="step",
                                disable=not bar_spec.enabled, mininterval=bar_spec.mininterval)

            def _on_step(self) -> bool:
                self.bar.update(self.num_timesteps - self.bar.n)
                return True

            def _on_training_end(self) -> None:
                self.bar.update(self.num_timesteps - self.bar.n)
                self.bar.close()

        return _Callback()


def make_env(env_config: Mapping[str, Any], n_envs: int, seed: int):
    """A ``DummyVecEnv`` of ``n_envs`` monitored copies of the env, seeded ``seed, seed+1, ...``."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv

    import musicrec.envs  # noqa: F401

    # render_mode=None: SB3 would otherwise ask for "rgb_array", which our envs do not render.
    kwargs = {"render_mode": None, **dict(env_config.get("kwargs") or {})}
    return make_vec_env(env_config["id"], n_envs=n_envs, seed=seed, env_kwargs=kwargs,
                        vec_env_cls=DummyVecEnv)


def _build_model(resolved: Mapping[str, Any], env, *, seed: int | None, device, policy=None,
                 hyperparams: Mapping[str, Any] | None = None):
    """A fresh model of a resolved config on ``env`` (what :func:`train` and :func:`load_weights` build)."""
    preset = PRESETS[resolved["preset"]]
    hyperparams = copy.deepcopy(dict(resolved["hyperparams"] if hyperparams is None else hyperparams))
    if "policy_kwargs" in hyperparams:
        hyperparams["policy_kwargs"] = _build_policy_kwargs(hyperparams["policy_kwargs"])
    if "action_noise" in hyperparams:
        hyperparams["action_noise"] = _build_action_noise(
            hyperparams["action_noise"], int(np.prod(env.action_space.shape)))
    return preset.algorithm_class()(policy if policy is not None else policy_class(resolved["policy"]), env,
                                    seed=seed, device=device, verbose=0, **hyperparams)


@dataclass
class TrainResult:
    """What :func:`train` returns: the model, the episode log and the resolved config."""

    model: Any
    episodes: pd.DataFrame
    config: dict[str, Any]
    wall_time_s: float


def train(config: Mapping[str, Any], env_config: Mapping[str, Any], seed: int,
          run_dir: str | os.PathLike | None, *, device: str = "cpu",
          callbacks: Sequence[Any] = (), progress_bar: bool = True,
          vec_env_factory: Callable[[Mapping[str, Any], int, int], Any] | None = None,
          separate_timings: bool = False) -> TrainResult:
    """Train an agent preset on an environment and, if ``run_dir`` is given, save it there.

    Parameters
    ----------
    config : mapping
        ``preset``, ``total_timesteps``, optional ``n_envs``, ``policy`` and ``hyperparams``.
    env_config : mapping
        ``id`` (a registered gymnasium id) and ``kwargs``.
    seed : int
        Seeds python, numpy, torch, the algorithm and the environments (``seed + i`` for env ``i``).
    run_dir : path or None
        Folder for ``model.zip`` and ``metrics.csv`` (one row per finished training episode:
        ``timesteps, episode, return, length, time_s``); usually the temporary folder handed out by
        :meth:`musicrec.runs.Run.execute`.
    device : str
        ``cpu`` (one torch thread), ``cuda`` or ``auto``.
    callbacks : sequence of SB3 callbacks
        Extra callbacks (e.g. a periodic evaluation that writes its own CSV into ``run_dir``).
    vec_env_factory : callable, optional
        ``factory(env_config, n_envs, seed) -> VecEnv`` in place of :func:`make_env`.
    separate_timings : bool
        Write ``time_s`` to ``timings.csv`` (columns ``episode, time_s``) instead of ``metrics.csv``, so
        two runs with the same seed write byte-identical metrics (see :func:`musicrec.runs.write_metrics`).
        ``TrainResult.episodes`` keeps ``time_s`` either way.
    """
    resolved = resolve_config(config, env_config)
    set_seed(seed)
    torch_device = setup_torch(device)
    factory = vec_env_factory or make_env
    env = factory(resolved["env"], resolved["n_envs"], seed)

    model = _build_model(resolved, env, seed=seed, device=torch_device)
    episodes = EpisodeLogger()
    bar = ProgressBar(resolved["total_timesteps"], f"{resolved['preset']} seed {seed}",
                      enabled=progress_bar)
    started = time.perf_counter()
    model.learn(resolved["total_timesteps"],
                callback=[episodes.callback(), bar.callback(), *callbacks])
    wall = time.perf_counter() - started
    frame = episodes.frame()
    if run_dir is not None:
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        model.save(run_dir / MODEL_FILE)
        write_metrics(frame, run_dir, timings=["time_s"] if separate_timings else [], keys=["episode"])
    env.close()
    return TrainResult(model=model, episodes=frame, config=resolved, wall_time_s=wall)


def load_model(preset: str, path: str | os.PathLike, *, device: str = "cpu"):
    """Load a saved model of ``preset`` with SB3's own ``load``, which **unpickles** parts of the zip.

    Only for files you made yourself: a ``model.zip`` from elsewhere can run code when loaded this
    way. The studies read models with :func:`load_weights`, which reads tensors only.
    """
    check_choice("preset", preset, sorted(PRESETS))
    path = _model_file(path)
    try:
        return PRESETS[preset].algorithm_class().load(str(path), device=device)
    except (zipfile.BadZipFile, KeyError, EOFError, ValueError, RuntimeError) as error:
        raise ParameterError(f"{path} is not a readable {preset} model.zip: {error}") from None


def _model_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.is_dir():
        raise ParameterError(f"{path} is a folder, not a model.zip")
    if not path.is_file():
        raise ParameterError(f"model file {path} does not exist")
    return path


def load_weights(config: Mapping[str, Any], path: str | os.PathLike, *, env=None,
                 vec_env_factory: Callable[[Mapping[str, Any], int, int], Any] | None = None,
                 policy=None, device: str = "cpu"):
    """Rebuild the model of a run's config and read only its weights from ``model.zip``.

    SB3's ``load`` deserialises (unpickles) the zip's ``data`` entry, so a ``model.zip`` from someone
    else's ``runs/`` could run code. This builds the model from ``config`` instead and reads the zip's
    tensors with ``set_parameters`` (``torch.load(weights_only=True)``, the ``data`` entry untouched):
    SB3's weights-only path.

    Parameters
    ----------
    config : mapping
        The resolved agent config a run records (:func:`resolve_config`'s result: ``preset``,
        ``policy``, ``hyperparams``, ``n_envs``, ``env``...).
    path : path
        The ``model.zip`` the run saved.
    env : VecEnv, optional
        An env with the spaces of training (default: ``vec_env_factory`` or :func:`make_env` on the
        config's env, seed 0).
    policy : class, optional
        The policy class, where ``config["policy"]`` names one that is not importable as
        ``"module:Class"`` (e.g. a study's alias).
    device : str
        ``cpu``, ``cuda`` or ``auto``.

    Returns
    -------
    The SB3 model, in evaluation mode, with the saved policy (and optimiser) parameters.
    """
    if not isinstance(config, Mapping) or "env" not in config:
        raise ParameterError("load_weights needs the run's resolved agent config (with its 'env')")
    keys = ("preset", "total_timesteps", "n_envs", "hyperparams") + (("policy",) if policy is None else ())
    resolved = resolve_config({key: config[key] for key in keys if key in config}, config["env"])
    path = _model_file(path)
    torch_device = setup_torch(device)
    if env is None:
        env = (vec_env_factory or make_env)(resolved["env"], resolved["n_envs"], 0)
    hyperparams = dict(resolved["hyperparams"])
    if "buffer_size" in hyperparams:  # an off-policy replay buffer holds no weights: keep it tiny
        hyperparams["buffer_size"] = 1
    model = _build_model(resolved, env, seed=None, device=torch_device, policy=policy, hyperparams=hyperparams)
    try:
        model.set_parameters(str(path), exact_match=True, device=torch_device)
    except (zipfile.BadZipFile, KeyError, EOFError, ValueError, RuntimeError) as error:
        raise ParameterError(f"{path} does not hold the weights of this {resolved['preset']} config: "
                             f"{str(error).splitlines()[0] if str(error) else type(error).__name__}") from None
    model.policy.set_training_mode(False)
    return model


# -- VecNormalize statistics as plain arrays ------------------------------------------------------------
def save_vec_normalize(vec_normalize, path: str | os.PathLike) -> Path:
    """Save a ``VecNormalize``'s running statistics and settings as plain arrays (``.npz``, no pickle).

    SB3's own ``VecNormalize.save`` pickles the whole wrapper, which :func:`load_vec_normalize` avoids.
    The file holds ``obs.mean``, ``obs.var``, ``obs.count`` (or ``obs.<key>.*`` per normalised key of a
    Dict observation), ``ret.mean``, ``ret.var``, ``ret.count`` and ``settings`` (a JSON string:
    ``norm_obs``, ``norm_reward``, ``clip_obs``, ``clip_reward``, ``gamma``, ``epsilon``,
    ``norm_obs_keys``), written atomically.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise ParameterError(f"{path} must end in .npz")
    arrays: dict[str, np.ndarray] = {}
    obs_rms = getattr(vec_normalize, "obs_rms", None)
    keys = None
    if isinstance(obs_rms, Mapping):
        keys = sorted(obs_rms)
        for key in keys:
            arrays.update(_rms_arrays(f"obs.{key}", obs_rms[key]))
    elif obs_rms is not None:
        arrays.update(_rms_arrays("obs", obs_rms))
    arrays.update(_rms_arrays("ret", vec_normalize.ret_rms))
    settings = {"norm_obs": bool(vec_normalize.norm_obs), "norm_reward": bool(vec_normalize.norm_reward),
                "clip_obs": float(vec_normalize.clip_obs), "clip_reward": float(vec_normalize.clip_reward),
                "gamma": float(vec_normalize.gamma), "epsilon": float(vec_normalize.epsilon),
                "norm_obs_keys": keys, "format": 1}
    arrays["settings"] = np.array(json.dumps(settings, sort_keys=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _rms_arrays(prefix: str, rms) -> dict[str, np.ndarray]:
    return {f"{prefix}.mean": np.asarray(rms.mean, dtype=np.float64),
            f"{prefix}.var": np.asarray(rms.var, dtype=np.float64),
            f"{prefix}.count": np.asarray(rms.count, dtype=np.float64)}


def _set_rms(rms, data, prefix: str, path: Path) -> None:
    mean, var = data[f"{prefix}.mean"], data[f"{prefix}.var"]
    if mean.shape != np.shape(rms.mean) or var.shape != mean.shape:
        raise ParameterError(f"{path}: {prefix} statistics have shape {mean.shape}, the env's "
                             f"observations {np.shape(rms.mean)}")
    if not (np.isfinite(mean).all() and np.isfinite(var).all() and (var >= 0).all()):
        raise ParameterError(f"{path}: {prefix} statistics are not finite non-negative variances")
    rms.mean, rms.var, rms.count = mean.copy(), var.copy(), float(data[f"{prefix}.count"])


def load_vec_normalize(path: str | os.PathLike, venv, *, training: bool = False):
    """A ``VecNormalize`` around ``venv`` with the statistics saved by :func:`save_vec_normalize`.

    Reads plain arrays only (``numpy.load(allow_pickle=False)``), so a file from elsewhere cannot run
    code. ``training=False`` (the default) freezes the statistics, as for evaluation.
    """
    from stable_baselines3.common.vec_env import VecNormalize

    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"normalisation file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as archive:
            data = {name: archive[name] for name in archive.files}
        settings = json.loads(str(data["settings"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise ParameterError(f"{path} is not a normalisation file written by save_vec_normalize: {error}") from None
    vec = VecNormalize(venv, training=training, norm_obs=settings["norm_obs"],
                       norm_reward=settings["norm_reward"], clip_obs=settings["clip_obs"],
                       clip_reward=settings["clip_reward"], gamma=settings["gamma"],
                       epsilon=settings["epsilon"], norm_obs_keys=settings["norm_obs_keys"])
    if settings["norm_obs_keys"] is not None:
        for key in settings["norm_obs_keys"]:
            _set_rms(vec.obs_rms[key], data, f"obs.{key}", path)
    elif "obs.mean" in data and getattr(vec, "obs_rms", None) is not None:
        _set_rms(vec.obs_rms, data, "obs", path)
    _set_rms(vec.ret_rms, data, "ret", path)
    return vec



# -- the feature grid's SB3 pipeline (TRPO in ACKTR's place) ----------------------------------------------

OBS_NORMALIZATION_FILE = "obs_normalization.npz"


def save_obs_normalization(vec_normalize, path: str | os.PathLike) -> None:
    """The observation statistics of a ``VecNormalize`` as plain arrays (no pickle: a run folder from
    someone else cannot execute code when it is read)."""
    rms = vec_normalize.obs_rms
    np.savez(path, mean=rms.mean, var=rms.var, count=np.array(rms.count), clip_obs=np.array(vec_normalize.clip_obs),
             epsilon=np.array(vec_normalize.epsilon))


def _frozen_predict(model, mean: np.ndarray, var: np.ndarray, clip: float, eps: float):
    def predict(obs, state, episode_start):
        obs = np.clip((obs - mean) / np.sqrt(var + eps), -clip, clip).astype(np.float32)
        return model.predict(obs, state, episode_start, deterministic=True)

    return predict


def normalized_grid_predict(model, folder: str | os.PathLike):
    """Deterministic ``predict(obs, state, episode_start)`` of an SB3 grid model with the observation
    statistics saved in ``folder`` (frozen), or of the model alone if it trained without them."""
    path = Path(folder) / OBS_NORMALIZATION_FILE
    if not path.exists():
        return lambda obs, state, start: model.predict(obs, state, start, deterministic=True)
    with np.load(path, allow_pickle=False) as stats:
        return _frozen_predict(model, stats["mean"], stats["var"], float(stats["clip_obs"]), float(stats["epsilon"]))


def train_sb3_grid(config: Mapping[str, Any], folder: str | os.PathLike, *, device: str = "cpu",
                   progress: bool = True):
    """Train an SB3 preset on the feature grid as the thesis's code does (``GridVecEnv`` -> finite
    horizon -> ``VecNormalize``), with the grid's periodic evaluations and the checkpoints of the thesis's
    metric tables (``checkpoints.csv``, as a batched run writes them); save the model, its episodes
    (``metrics.csv``) and its observation statistics in ``folder``. Returns ``(TrainResult, Evaluations)``."""
    from musicrec.agents.batched_ac import Evaluations
    from musicrec.agents.callbacks import GridEvaluationCallback
    from musicrec.envs.grid_vec import make_grid_vec_env

    folder = Path(folder)
    agent, env = config["agent"], config["agent"]["env"]
    gamma = float(agent["hyperparams"].get("gamma", 0.99))
    evaluations = Evaluations(env["kwargs"], every=config["eval_every"], targets=config["eval_targets"],
                              checkpoints=config.get("checkpoints", ()), repeats=config["eval_repeats"],
                              folder=folder)

    def predict_of(model):
        vec = model.get_vec_normalize_env()
        if vec is None:
            return lambda obs, state, start: model.predict(obs, state, start, deterministic=True)
        return _frozen_predict(model, vec.obs_rms.mean.copy(), vec.obs_rms.var.copy(), vec.clip_obs, vec.epsilon)

    result = train({k: agent[k] for k in ("preset", "total_timesteps", "n_envs", "policy", "hyperparams")}, env,
                   config["seed"], folder, device=device, progress_bar=progress, separate_timings=True,
                   callbacks=[GridEvaluationCallback(evaluations, predict_of)],
                   vec_env_factory=lambda env_config, n_envs, seed: make_grid_vec_env(
                       env_config["kwargs"], n_envs, seed, gamma=gamma))
    vec_normalize = result.model.get_vec_normalize_env()
    if vec_normalize is not None:
        save_obs_normalization(vec_normalize, folder / OBS_NORMALIZATION_FILE)
    return result, evaluations
