"""Notebooks 14-15: skip prediction and track-sequence recommendation on listening sessions.

Configs in, cached runs out. The data are simulated sessions in the MSSD schema (written as CSV files
and read back through the MSSD loaders) or, when a user has them, the real MSSD files. Each model and
seed is one cached run (:class:`musicrec.runs.Run`) under ``runs/sessions_*``; a run writes

* ``metrics.csv``: one row per epoch (neural models), or SB3's episode log (DDPG, with ``eval.csv``
  holding the MAA curve), or one row (baselines);
* ``summary.csv``: one row, ``train_maa, val_maa, test_maa, train_first_acc, val_first_acc,
  test_first_acc, train_loss, val_loss, test_loss`` (train scores on the first ``eval_train`` training
  sessions, losses NaN where a model has none);
* ``test_correct.csv``: the 0/1 correctness of every test prediction (sessions x 10 slots) for the
  per-position tables; skip runs also write ``test_predictions.csv`` in the challenge format
  (``session_id, session_position, skip_pred``).

Sessions are split into training, validation (``validation_fraction`` of the training part) and test
sessions (:func:`musicrec.data.sessions.prepare_sessions`). Every choice is made on the validation sessions
(learning rates: :func:`select_learning_rates`); per-epoch curves are validation curves; the test sessions
are scored once per finished run.

The mechanics live one floor down: the models in :mod:`musicrec.models.factory`, their scores in
:mod:`musicrec.models.scoring`, DDPG in :mod:`musicrec.agents.session_ddpg`. This module holds the
catalogue of models, the run configs and builders, and the tables the notebooks show. The paper's tables
are in ``data/sources/khan_cui_sessions_*.csv``.

Budgets: ``musicrec/configs/profiles/sessions.yml`` (:class:`SessionsBudget`), with the models at the paper's
scale in ``configs/hyperparams/session_models.yml``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musicrec.data.sessions import SessionArrays, SessionData, prepare_sessions, read_mssd
from musicrec.errors import ParameterError, check_choice
from musicrec.metrics import (
    accuracy_at_positions,
    correct_count_distribution,
    mean_average_accuracy,
)
from musicrec.models.factory import BERT_MODELS, architecture, model_family, n_covariates
from musicrec.models.scoring import (
    SUMMARY_COLUMNS,
    ceiling_scores,
    heuristic_validation_maa,
    probability_scores,
    rule_scores,
    rule_validation_maa,
    selection_score,
    sequence_baseline_scores,
    write_run_outputs,
)
from musicrec.models.selection import widening_search
from musicrec.profiles import Budget
from musicrec.runs import Run, code_fingerprint, library_versions, run_all, write_csv_atomic
from musicrec.sources import published


VERSION = 3
#: The modules whose code computes the simulated sessions (DATA_MODULES), and a model's, a baseline's or a
#: reference's scores on them (MODEL_MODULES): their fingerprint and the library versions are part of every
#: run's cache key (as in the grid and latent studies), so a change of that code retrains what it computes.
DATA_MODULES = ("musicrec.data.session_simulator", "musicrec.users.session_user", "musicrec.data.catalog")
MODEL_MODULES = ("musicrec.data.sessions", "musicrec.metrics", "musicrec.envs.sessions", "musicrec.agents.session_ddpg",
                 "musicrec.agents.sb3", "musicrec.models.baselines", "musicrec.models.bert",
                 "musicrec.models.bert_fused", "musicrec.models.common", "musicrec.models.factory",
                 "musicrec.models.next_track", "musicrec.models.scoring", "musicrec.models.selection",
                 "musicrec.models.sequence", "musicrec.models.skip", "musicrec.models.training",
                 "musicrec.models.word2vec", *DATA_MODULES)
#: The libraries whose versions can change a run's numbers.
DATA_LIBRARIES = ("numpy", "pandas")
MODEL_LIBRARIES = ("numpy", "pandas", "torch", "gensim", "gymnasium", "stable-baselines3")


def _code(modules: tuple[str, ...], libraries: tuple[str, ...]) -> dict:
    """The ``code`` and ``versions`` entries of a run's config."""
    return {"code": code_fingerprint(*modules), "versions": library_versions(*libraries)}

SKIP_MODELS = {
    "lstm_no_skip": "Standard LSTM (no SKIP token)",
    "lstm": "Standard LSTM (SKIP token)",
    "lstm_word2vec": "LSTM + word2vec",
    "lstm_covariates": "LSTM + session covariates (ours)",
    "bigru": "Bidirectional GRU",
    "transformer": "Transformer",
    "bert": "BERT encoder (pretrained, fine-tuned)",
    "bert_fused": "BERT-augmented Transformer",
    "ddpg": "DDPG without noise",
    "ddpg_noise": "DDPG with mask noise",
    "ddpg_constant_noise": "DDPG with constant mask noise",
}
SKIP_RULES = {
    "all_skipped": "Baseline (predict all skipped)",
    "first_half_majority": "First-half majority",
    "oracle": "Oracle (true p > 0.5)",
    "oracle_first_half": "Oracle without the second half's skips",
}
#: The row of :func:`population_bayes_run` in the skip table.
BAYES_LABEL = "Bayes without the listener's identity"
SEQUENCE_MODELS = {
    "lstm": "LSTM seq2seq",
    "transformer": "Transformer",
    "bert": "BERT encoder (fine-tuned)",
    "bert_fused": "BERT-augmented Transformer",
    "gru4rec": "GRU4Rec",
    "sasrec": "SASRec",
    "ddpg": "DDPG (decaying mask noise)",
    "ddpg_constant_noise": "DDPG (constant mask noise)",
    "ddpg_no_noise": "DDPG (no noise)",
    "ddpg_residual": "DDPG from the last track's embedding (residual actor)",
    "ddpg_residual_delayed": "DDPG from the last track's embedding, actor updated every 20th critic update",
    "ddpg_wide": "DDPG with [64, 64] networks and no discount (ours, decaying mask noise)",
    "ddpg_wide_constant_noise": "DDPG with [64, 64] networks and no discount (ours, constant mask noise)",
    "ddpg_wide_no_noise": "DDPG with [64, 64] networks and no discount (ours, no noise)",
}
SEQUENCE_BASELINE_LABELS = {
    "random": "Random tracks",
    "most_popular": "Most popular",
    "cooccurrence": "Item co-occurrence",
    "session_knn": "Session-kNN",
    "common_continuation": "Continue the most common playlist",
    "last_track_neighbours": "Last track's nearest neighbour (a fixed DDPG action)",
    "ceiling": "Ceiling (knows kind, playlist, offset, library)",
}
CEILING_LABEL = SEQUENCE_BASELINE_LABELS["ceiling"]
#: Rough training cost per run relative to an LSTM (the slowest are started first in parallel runs).
MODEL_COST = {"ddpg": 4.0, "ddpg_noise": 4.0, "ddpg_constant_noise": 4.0, "ddpg_no_noise": 4.0, "ddpg_residual": 4.0,
              "ddpg_residual_delayed": 4.0, "ddpg_wide": 20.0,
              "ddpg_wide_constant_noise": 20.0, "ddpg_wide_no_noise": 20.0, "bert_fused": 3.0, "transformer": 2.5, "sasrec": 2.0,
              "bert": 2.0}
POSITIONS = (1, 3, 5, 7, 9)

#: The paper's table 1 (skip prediction, MAA in %, loss as printed), on the real MSSD.
PAPER_SKIP = published("khan_cui_sessions_skip").drop(columns="cite")
#: The paper's table 2 (track sequences).
PAPER_SEQUENCE = published("khan_cui_sessions_sequence").drop(columns="cite")
#: The paper's table 3 (test accuracy % at position T).
PAPER_POSITIONS = published("khan_cui_sessions_positions").drop(columns="cite")
#: The paper's table 4 (% of test sessions with k correctly predicted tracks).
PAPER_COUNTS = published("khan_cui_sessions_counts").drop(columns="cite")


# -- budget -------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class SessionsBudget(Budget):
    """What a profile of ``configs/profiles/sessions.yml`` spends on notebooks 14-15."""

    study = "sessions"

    data_seed: int
    """Seed of the simulated sessions."""
    split_seed: int
    """Seed of the training/validation/test split."""
    test_fraction: float
    """Share of the sessions held out as test sessions."""
    validation_fraction: float
    """Share of the training sessions held out for every choice (learning rates, epochs)."""
    max_tracks: int | None = None
    """Vocabulary cap (real data); tracks beyond it become UNK. None: every track of the training sessions."""
    mssd_max_sessions: int | None = None
    """Sessions read from a real MSSD log (None: all)."""
    skip_models: tuple[str, ...]
    """Skip models trained (keys of :data:`SKIP_MODELS`)."""
    sequence_models: tuple[str, ...]
    """Track-sequence models trained (keys of :data:`SEQUENCE_MODELS`)."""
    sequence_baselines: tuple[str, ...]
    """Track-sequence heuristics scored (keys of :data:`musicrec.models.baselines.SEQUENCE_BASELINES`)."""
    knn_k: int
    """Neighbours of the session-kNN heuristic."""
    beam: int
    """Beam width of the Transformer's beam-search decoding (track sequences)."""
    n_jobs: int = 1
    """Runs trained at the same time (processes, one torch thread each)."""
    seeds: tuple[int, ...]
    """Seeds per model: one run each (the learning rates are chosen with the first)."""
    eval_train: int
    """Training sessions scored after every epoch (train MAA and loss) and at the end."""
    eval_valid: int
    """Validation sessions scored after every epoch (the learning curves; DDPG's MAA curve)."""
    simulator: dict[str, Any]
    """Settings of :class:`musicrec.data.session_simulator.SimulatorConfig` (``n_sessions``, ``n_users``, ...)."""
    architecture: dict[str, Any]
    """Model sizes: ``emb_dim, hidden`` (RNNs; GRU4Rec reads ``gru4rec_emb_dim, gru4rec_hidden`` where given),
    ``d_model, heads, layers, ff, dropout, drop_net_rate`` (Transformers, BERT-fused), ``bert_d_model,
    bert_heads, bert_layers, bert_ff`` (BERT encoder), ``word2vec_epochs``, ``ddpg_dim, ddpg_window`` (DDPG's
    word2vec embedding)."""
    training: dict[str, Any]
    """Training: ``batch_size``, ``{skip,sequence}_{epochs,patience,lr}`` (epochs: a number or a mapping model
    -> number with ``default`` for the rest, :func:`epoch_budget`; rates: a rate, a list or a mapping model ->
    rate or list, :func:`learning_rates`), ``lr_widen: {factor, steps}``, ``bert_pretrain_{epochs,lr}``,
    ``mask_prob``, ``ddpg_{skip,sequence}_{steps,eval_every}`` (steps: a number or a mapping model -> number,
    :func:`ddpg_steps`)."""

    def validate(self, source: str) -> None:
        unknown = [m for m in self.skip_models if m not in SKIP_MODELS]
        unknown += [m for m in self.sequence_models if m not in SEQUENCE_MODELS]
        if unknown:
            raise ParameterError(f"{source}: unknown model(s) {unknown}")
        if not self.seeds or self.eval_train < 1 or self.eval_valid < 1 or self.n_jobs < 1:
            raise ParameterError(f"{source}: seeds must not be empty; eval_train, eval_valid and n_jobs >= 1 "
                                 f"(seeds={self.seeds}, eval_train={self.eval_train}, eval_valid={self.eval_valid}, "
                                 f"n_jobs={self.n_jobs})")


def as_budget(budget: str | Mapping) -> SessionsBudget:
    """A budget given as a profile name (read from the file) or a mapping (a notebook that changed a key),
    validated as a :class:`SessionsBudget`."""
    return SessionsBudget.of(budget)


# -- data -------------------------------------------------------------------------------------------
#: Where :func:`musicrec.runs.file_digest` keeps the digests of the real MSSD files it has read (in ``runs_dir``).
DIGEST_CACHE = "sessions_file_digests.json"


def simulator_settings(budget: str | Mapping) -> dict:
    """The simulator's settings of a profile, as a plain mapping (for the data run's config)."""
    from musicrec.data.session_simulator import SimulatorConfig

    budget = as_budget(budget)
    return SimulatorConfig.from_dict(budget.get("simulator") or {}).to_dict()


def simulated_data_run(budget: str | Mapping, runs_dir: str | os.PathLike) -> Run:
    """Simulate (or reuse) the sessions of the profile, written as MSSD CSV files in a run folder."""
    from musicrec.data.session_simulator import SimulatorConfig, simulate_sessions

    budget = as_budget(budget)
    settings = simulator_settings(budget)
    config = {"version": VERSION, "simulator": settings, "seed": int(budget["data_seed"]),
              **_code(DATA_MODULES, DATA_LIBRARIES)}

    def work(folder: Path) -> None:
        sim = simulate_sessions(SimulatorConfig.from_dict(settings), seed=config["seed"])
        sim.write(folder)
        log = sim.log
        write_csv_atomic(pd.DataFrame([{
            "sessions": log.session_id.nunique(), "rows": len(log), "tracks": log.track_id_clean.nunique(),
            "skip_2_rate": log.skip_2.mean(), "mean_skip_probability": sim.skip_probability.mean(),
        }]), folder / "metrics.csv")

    return Run(runs_dir, "sessions_data", config, name=f"simulated-{settings['n_sessions']}").execute(work)



def load_data(budget: str | Mapping, runs_dir: str | os.PathLike, *, mssd_log: str | os.PathLike | None = None,
              mssd_tracks: str | os.PathLike | Sequence | None = None) -> SessionData:
    """The sessions of a study: simulated by default, the real MSSD files when ``mssd_log`` is given.

    Parameters
    ----------
    budget : str or mapping
        A ``sessions`` profile (its name or its values, :class:`SessionsBudget`).
    runs_dir : path
        Where the simulated data run lives.
    mssd_log : path, optional
        An MSSD session log (e.g. ``log_mini.csv`` or ``training_set/log_0_...csv``); its first
        ``mssd_max_sessions`` sessions are used (read in chunks).
    mssd_tracks : path or list of paths, optional
        The MSSD track-feature file(s) (``tf_mini.csv`` or ``track_features/tf_*.csv``); needed with
        ``mssd_log``. Every track of the log must be in them.
    """
    budget = as_budget(budget)
    split = {"split_seed": budget["split_seed"], "test_fraction": budget["test_fraction"],
             "validation_fraction": budget["validation_fraction"], "max_tracks": budget.get("max_tracks")}
    if mssd_log is None:
        if mssd_tracks is not None:
            raise ParameterError("mssd_tracks was given without mssd_log")
        run = simulated_data_run(budget, runs_dir)
        from musicrec.data.session_simulator import load_session_truth, load_simulated

        log, track_features, truth = load_simulated(run.path)
        return prepare_sessions(log, track_features, source="simulated",
                                key={"source": "simulated", "data_run": run.path.name}, **split,
                                skip_probability=truth.skip_probability.to_numpy(),
                                marginal_probability=truth.marginal_probability.to_numpy(),
                                kinds=truth.session_kind, truth=load_session_truth(run.path))
    if mssd_tracks is None:
        raise ParameterError("mssd_log needs mssd_tracks (the track-features file or files)")
    log, track_features, key = read_mssd(mssd_log, mssd_tracks, max_sessions=budget.get("mssd_max_sessions"),
                                         digest_cache=Path(runs_dir) / DIGEST_CACHE)
    return prepare_sessions(log, track_features, source="mssd", key=key, **split)


# -- models -------------------------------------------------------------------------------------------
def bert_pretrain_run(data: SessionData, budget: str | Mapping, seed: int, runs_dir, *, progress: bool = False
                      ) -> Run:
    """Pretrain (or reuse) the BERT-style encoder by masked-track prediction on the training sessions."""
    from musicrec.models.factory import pretrain_encoder

    budget = as_budget(budget)
    training = budget["training"]
    config = {"version": VERSION, "data": data.key, "architecture": architecture(budget["architecture"], "bert"),
              "epochs": int(training["bert_pretrain_epochs"]), "lr": float(training["bert_pretrain_lr"]),
              "batch_size": int(training["batch_size"]), "mask_prob": float(training["mask_prob"]),
              "seed": int(seed), **_code(MODEL_MODULES, MODEL_LIBRARIES)}
    work = functools.partial(pretrain_encoder, data, arch=budget["architecture"], epochs=config["epochs"],
                             lr=config["lr"], batch_size=config["batch_size"], mask_prob=config["mask_prob"],
                             seed=int(seed), progress=progress)
    return Run(runs_dir, "sessions_bert_pretrain", config, name=f"bert-seed{seed}").execute(work)


def build_model(task: str, model: str, data: SessionData, budget: str | Mapping, seed: int, runs_dir, *,
                progress: bool = False):
    """A fresh torch model for ``task`` (``skip`` or ``sequence``): :func:`musicrec.models.factory.build_model`
    with the profile's architecture; BERT starts from its pretrained run (:func:`bert_pretrain_run`)."""
    from musicrec.models.factory import build_model as build

    budget = as_budget(budget)
    encoder = (bert_pretrain_run(data, budget, seed, runs_dir, progress=progress).file("encoder.pt")
               if model in BERT_MODELS else None)
    return build(task, model, data, arch=budget["architecture"], seed=seed, encoder=encoder)


def learning_rates(task: str, model: str, budget: str | Mapping) -> list[float]:
    """The candidate learning rates of a neural model: ``skip_lr`` / ``sequence_lr`` of the profile, a
    number or a list, or a mapping model -> number or list. With several, the one with the best
    validation MAA is chosen (:func:`select_learning_rates`)."""
    key = f"{task}_lr"
    values = as_budget(budget)["training"][key]
    if isinstance(values, dict):
        if model not in values:
            raise ParameterError(f"{key} of the profile gives no learning rate for {model!r}: {values}")
        values = values[model]
    values = [float(v) for v in (values if isinstance(values, (list, tuple)) else [values])]
    if not values:
        raise ParameterError(f"{key} of the profile gives an empty list for {model!r}")
    return values



def _per_model(key: str, model: str, budget: str | Mapping, what: str, unit: str) -> int:
    """A whole number >= 1 of the profile's ``training[key]``: a number, or a mapping model -> number whose
    ``default`` covers the models it does not name."""
    values = as_budget(budget)["training"][key]
    if isinstance(values, dict):
        if model not in values and "default" not in values:
            raise ParameterError(f"{key} of the profile gives no {what} for {model!r} and no default: {values}")
        values = values.get(model, values.get("default"))
    try:
        number = int(values)
    except (TypeError, ValueError):
        raise ParameterError(f"{key} of the profile must be a whole number of {unit} for {model!r}, "
                             f"not {values!r}") from None
    if number < 1:
        raise ParameterError(f"{key} of the profile must be at least 1 for {model!r}, not {number}")
    return number


def epoch_budget(task: str, model: str, budget: str | Mapping) -> int:
    """The most epochs a neural model trains for (early stopping usually ends it sooner): ``skip_epochs`` /
    ``sequence_epochs`` of the profile, a number or a mapping model -> number whose ``default`` covers the
    models it does not name."""
    return _per_model(f"{task}_epochs", model, budget, "epoch budget", "epochs")


def ddpg_steps(task: str, model: str, budget: str | Mapping) -> int:
    """The env steps a DDPG model trains for: ``ddpg_skip_steps`` / ``ddpg_sequence_steps`` of the profile, a
    number or a mapping model -> number whose ``default`` covers the models it does not name."""
    return _per_model(f"ddpg_{task}_steps", model, budget, "step budget", "env steps")


def epoch_budgets(task: str, budget: str | Mapping) -> dict[str, int]:
    """:func:`epoch_budget` of every neural model of the profile's ``skip_models`` / ``sequence_models``."""
    budget = as_budget(budget)
    return {model: epoch_budget(task, model, budget) for model in budget[f"{task}_models"]
            if model_family(model) != "ddpg"}


def _model_config(task: str, model: str, data: SessionData, budget: SessionsBudget, seed: int,
                  lr: float | None = None) -> dict:
    training = budget["training"]
    family = model_family(model)
    config = {"version": VERSION, "task": task, "model": model, "data": data.key, "seed": int(seed),
              "eval_train": int(budget["eval_train"]), "eval_valid": int(budget["eval_valid"]),
              **_code(MODEL_MODULES, MODEL_LIBRARIES)}
    if family == "ddpg":
        from musicrec.agents.sb3 import resolve_config

        agent, env = ddpg_specs(task, model, budget)
        config.update(agent=resolve_config(agent, env), ddpg_dim=int(budget["architecture"]["ddpg_dim"]),
                      ddpg_window=int(budget["architecture"]["ddpg_window"]),
                      word2vec_epochs=int(budget["architecture"]["word2vec_epochs"]),
                      eval_every=int(training[f"ddpg_{task}_eval_every"]))
        return config
    config["architecture"] = architecture(budget["architecture"], family)
    if task == "skip" and model == "lstm_covariates":
        config["architecture"]["covariates"] = n_covariates(model, data.train)
    if model == "lstm_word2vec":
        config["architecture"]["word2vec_epochs"] = int(budget["architecture"]["word2vec_epochs"])
    if model in ("bert", "bert_fused"):
        config["pretrain"] = {"epochs": int(training["bert_pretrain_epochs"]),
                              "lr": float(training["bert_pretrain_lr"]),
                              "mask_prob": float(training["mask_prob"])}
    if lr is None:
        candidates = learning_rates(task, model, budget)
        if len(candidates) > 1:
            raise ParameterError(f"{task}_lr of the profile lists {candidates} for {model!r}: choose one with "
                                 "select_learning_rates (or pass lr)")
        lr = candidates[0]
    patience = training.get(f"{task}_patience")
    config["training"] = {"epochs": epoch_budget(task, model, budget), "lr": float(lr),
                          "batch_size": int(training["batch_size"]),
                          "patience": None if patience is None else int(patience)}
    if task == "sequence" and model == "transformer":
        config["beam"] = int(budget["beam"])
    return config



# -- DDPG ---------------------------------------------------------------------------------------------
#: Critic updates per actor update of ``ddpg_residual_delayed`` (TD3's delayed policy updates; DDPG's is 1).
RESIDUAL_POLICY_DELAY = 20
#: Hyperparameters of a DDPG model over ``ddpg_mask.yml``'s. ``ddpg_wide`` (ours): actor and critic of two
#: layers of 64 units where the paper has one of 8, and no discount, since the logged session goes on whatever
#: the agent picks, so a pick's value is its own reward and bootstrapping only adds noise to the critic.
#: Pilots (seed 0, test MAA after 60k env steps, decaying mask): the paper's sizes 0.32%, [64, 64] 0.61%, no
#: discount with 8 units 0.19%, both 1.32%; both with 1,000 candidates per step instead of 100 0.74%.
#: Its constant-mask and noiseless twins ask the paper's figure 4 question of a DDPG that learns.
DDPG_HYPERPARAMS = {model: {"policy_kwargs": {"net_arch": [64, 64]}, "gamma": 0.0}
                    for model in ("ddpg_wide", "ddpg_wide_constant_noise", "ddpg_wide_no_noise")}


def ddpg_mask_noise(task: str, model: str) -> dict | None:
    """The dimension-mask settings of a DDPG model over ``ddpg_mask.yml``'s: ``{}`` keeps the preset's
    decaying mask, ``{"decay": 1.0}`` a constant one, None no exploration noise (the paper's figure 4)."""
    if (task, model) == ("skip", "ddpg") or model.endswith("_no_noise"):
        return None
    if model.endswith("_constant_noise"):
        return {"decay": 1.0}
    return {}



def ddpg_specs(task: str, model: str, budget: str | Mapping) -> tuple[dict, dict]:
    """The agent and environment specs of a DDPG model of the catalogue: its step budget, mask noise, actor and
    the hyperparameters of :data:`DDPG_HYPERPARAMS` over the ``ddpg_mask`` preset's."""
    from musicrec.agents.session_ddpg import session_agent_spec

    budget = as_budget(budget)
    return session_agent_spec(task, total_timesteps=ddpg_steps(task, model, budget),
                              mask_noise=ddpg_mask_noise(task, model), residual=model.startswith("ddpg_residual"),
                              policy_delay=RESIDUAL_POLICY_DELAY if model == "ddpg_residual_delayed" else 1,
                              hyperparams=DDPG_HYPERPARAMS.get(model))


# -- runs ---------------------------------------------------------------------------------------------
def _train_model(task: str, model: str, data: SessionData, budget: SessionsBudget, seed: int, runs_dir,
                 config: dict, progress: bool, folder: Path) -> None:
    """The work of a model run (module level, so that parallel runs can pickle it)."""
    if model_family(model) == "ddpg":
        from musicrec.agents.session_ddpg import train_session_ddpg

        agent, env = ddpg_specs(task, model, budget)
        train_session_ddpg(task, data, folder, agent=agent, env=env, seed=seed, dim=config["ddpg_dim"],
                           window=config["ddpg_window"], word2vec_epochs=config["word2vec_epochs"],
                           eval_train=config["eval_train"], eval_valid=config["eval_valid"],
                           eval_every=config["eval_every"], progress=progress)
        return
    from musicrec.models.factory import train_and_score
    from musicrec.utils import set_seed, setup_torch

    set_seed(seed)
    setup_torch("cpu")
    net = build_model(task, model, data, budget, seed, runs_dir, progress=progress)
    training = config["training"]
    train_and_score(net, task, data, folder, epochs=training["epochs"], patience=training["patience"],
                    batch_size=training["batch_size"], lr=training["lr"], seed=seed,
                    eval_train=config["eval_train"], eval_valid=config["eval_valid"], beam=config.get("beam"),
                    progress=progress, description=f"{task} {model} seed {seed}")


def model_task(task: str, model: str, data: SessionData, budget: str | Mapping, seed: int, runs_dir, *,
               lr: float | None = None, progress: bool = False) -> tuple[Run, Any]:
    """The run of one model with one seed and its work, for :func:`musicrec.runs.run_all` (``lr``: the
    learning rate, else the profile's only one)."""
    check_choice("task", task, ("skip", "sequence"))
    check_choice(f"{task} model", model, SKIP_MODELS if task == "skip" else SEQUENCE_MODELS)
    budget = as_budget(budget)
    config = _model_config(task, model, data, budget, seed, lr=lr)
    run = Run(runs_dir, f"sessions_{task}", config, name=f"{model}-seed{seed}")
    return run, functools.partial(_train_model, task, model, data, budget, int(seed), runs_dir, config, progress)


def model_run(task: str, model: str, data: SessionData, budget: str | Mapping, seed: int, runs_dir, *,
              lr: float | None = None, progress: bool = False) -> Run:
    """Train (or reuse) one model with one seed (``lr``: the learning rate, else the profile's only one)."""
    run, work = model_task(task, model, data, budget, seed, runs_dir, lr=lr, progress=progress)
    return run.execute(work)


def _pretrain_berts(task: str, models: Sequence[str], data: SessionData, budget: SessionsBudget, seeds,
                    runs_dir) -> None:
    """The BERT pretraining runs the models need, trained once before parallel jobs share them."""
    if any(m in BERT_MODELS for m in models):
        for seed in seeds:
            bert_pretrain_run(data, budget, int(seed), runs_dir)


def _by_cost(tasks: list[tuple[Run, Any]], models: list[str]) -> list[tuple[Run, Any]]:
    """``tasks`` (of ``models``) with the slowest first, so that no process idles at the end."""
    order = sorted(range(len(tasks)), key=lambda i: -MODEL_COST.get(models[i], 1.0))
    return [tasks[i] for i in order]


def select_learning_rates(task: str, data: SessionData, budget: str | Mapping, runs_dir, *,
                          models: Sequence[str] | None = None, progress: bool = True) -> pd.DataFrame:
    """Choose each neural model's learning rate on the **validation** sessions.

    Every candidate of :func:`learning_rates` is trained with the profile's first seed; the one with the
    highest validation MAA (of the epoch kept by early stopping) is chosen. When it is the smallest or the
    largest candidate, the grid is widened by the profile's ``lr_widen: {factor, steps}`` (the next value
    ``lr / factor`` or ``lr * factor``) and the new value trained, until the choice lies inside the grid or
    ``steps`` values were added on that side. The test sessions play no part. The candidates of every model
    are trained together, ``n_jobs`` at a time (:func:`musicrec.runs.run_all`), one widening round after
    the other. One row per trained candidate: ``model, lr, val_maa, val_loss, epochs, best_epoch, chosen,
    at_edge`` (``at_edge``: the chosen value is still the grid's smallest or largest). DDPG models have none:
    they are not listed.
    """
    budget = as_budget(budget)
    models = [m for m in (models or budget[f"{task}_models"]) if model_family(m) != "ddpg"]
    _pretrain_berts(task, models, data, budget, budget["seeds"][:1], runs_dir)
    seed = int(budget["seeds"][0])
    widen = budget["training"].get("lr_widen") or {}

    def score(pending: list[tuple[str, float]]) -> list[dict]:
        tasks = [model_task(task, m, data, budget, seed, runs_dir, lr=lr) for m, lr in pending]
        run_all(_by_cost(tasks, [m for m, _ in pending]), workers=budget["n_jobs"], progress=progress,
                description=f"{task} learning rates")
        return [selection_score(run) for run, _ in tasks]

    found = widening_search({m: learning_rates(task, m, budget) for m in models}, score,
                            factor=float(widen.get("factor", 3.0)), steps=int(widen.get("steps", 0)))
    rows = [{"model": m, "lr": lr, **found[m].scores[lr], "chosen": lr == found[m].best,
             "at_edge": lr == found[m].best and found[m].at_edge} for m in models for lr in found[m].grid]
    return pd.DataFrame(rows, columns=["model", "lr", "val_maa", "val_loss", "epochs", "best_epoch", "chosen",
                                       "at_edge"])


def run_study(task: str, data: SessionData, budget: str | Mapping, runs_dir, *,
              models: Sequence[str] | None = None, progress: bool = True,
              selection: pd.DataFrame | None = None) -> pd.DataFrame:
    """Train every model of the profile for every seed (``n_jobs`` at a time, :func:`musicrec.runs.run_all`);
    one row per run (``model, seed, run, lr``).

    Learning rates come from ``selection`` (:func:`select_learning_rates`, computed here when None).
    """
    budget = as_budget(budget)
    models = list(models or budget[f"{task}_models"])
    if selection is None:
        selection = select_learning_rates(task, data, budget, runs_dir, models=models, progress=progress)
    chosen = selection[selection.chosen].set_index("model").lr.to_dict()
    _pretrain_berts(task, models, data, budget, budget["seeds"], runs_dir)
    jobs = [(m, int(s), chosen.get(m)) for m in models for s in budget["seeds"]]
    tasks = [model_task(task, m, data, budget, s, runs_dir, lr=lr) for m, s, lr in jobs]
    run_all(_by_cost(tasks, [m for m, _, _ in jobs]), workers=budget["n_jobs"], progress=progress,
            description=f"{task} runs")
    return pd.DataFrame([{"model": m, "seed": s, "run": run, "lr": lr} for (m, s, lr), (run, _) in zip(jobs, tasks)])


def run_summaries(study: pd.DataFrame) -> pd.DataFrame:
    """``summary.csv`` of every run, with its model and seed."""
    frames = [pd.read_csv(row.run.file("summary.csv")).assign(model=row.model, seed=row.seed)
              for row in study.itertuples()]
    return pd.concat(frames, ignore_index=True)


def test_correct(run: Run, name: str = "test_correct.csv") -> np.ndarray:
    return np.atleast_2d(np.loadtxt(run.file(name), delimiter=",", dtype=float))



# -- skip references and tables -----------------------------------------------------------------------
def population_bayes_run(data: SessionData, budget: str | Mapping, runs_dir, *, samples: int = 2000,
                         mood_points: int = 11) -> Run | None:
    """Skip probabilities of the simulator-aware predictor that does not know the listener (simulated data
    only; None on real data): :func:`musicrec.data.session_simulator.population_posterior` on the
    validation and test sessions, written as ``val_probability.csv`` and ``test_probability.csv``
    (sessions x 10 second-half slots, NaN in padding). It bounds what a model that reads the session log
    can reach, where the oracle also knows the listener's propensity, taste and mood."""
    if data.source != "simulated":
        return None
    from musicrec.data.session_simulator import (
        SimulatorConfig,
        load_simulated,
        second_half_posterior,
        simulated_listeners,
    )

    budget = as_budget(budget)
    data_run = simulated_data_run(budget, runs_dir)
    settings = simulator_settings(budget)
    config = {"version": VERSION, "data": data.key, "simulator": settings, "data_seed": int(budget["data_seed"]),
              "samples": int(samples), "mood_points": int(mood_points), **_code(MODEL_MODULES, MODEL_LIBRARIES)}

    def work(folder: Path) -> None:
        simulator = SimulatorConfig.from_dict(settings)
        listeners = simulated_listeners(simulator, seed=config["data_seed"])
        log, track_features, _ = load_simulated(data_run.path)
        for part, arrays in (("val", data.valid), ("test", data.test)):
            second = second_half_posterior(listeners, log, track_features, arrays, samples=config["samples"],
                                           mood_points=config["mood_points"],
                                           rng=np.random.default_rng([config["data_seed"], 2]))
            np.savetxt(folder / f"{part}_probability.csv", second, delimiter=",", fmt="%.6f")
        write_csv_atomic(pd.DataFrame([probability_scores(data, folder)]), folder / "metrics.csv")

    return Run(runs_dir, "sessions_bayes", config, name="population-bayes").execute(work)



def reference_skip_scores(data: SessionData, bayes: Run | None = None) -> dict[str, dict]:
    """Scores of the skip rules (:data:`SKIP_RULES`) and, with ``bayes``, of the Bayes reference
    (``population_bayes``), keyed by their ids."""
    scores = {rule: rule_scores(rule, data) for rule in SKIP_RULES}
    if bayes is not None:
        scores["population_bayes"] = probability_scores(data, bayes.path)
    return scores


def skip_table(study: pd.DataFrame, data: SessionData, bayes: Run | None = None) -> pd.DataFrame:
    """Table 1: mean over seeds per model, with the rules (baseline, first-half majority, oracles) and,
    when ``bayes`` (:func:`population_bayes_run`) is given, the predictor without the listener's identity.

    Columns ``model, seeds, train_maa, test_maa, test_first_acc, train_loss, test_loss`` (MAA and
    accuracy as fractions); the std over seeds is in :func:`table_std`; validation scores are in
    :func:`run_summaries`.
    """
    rows = []
    for rule, scores in reference_skip_scores(data, bayes).items():
        rows.append({"model": SKIP_RULES.get(rule, BAYES_LABEL), "seeds": 1, **scores})
    summaries = run_summaries(study) if len(study) else pd.DataFrame(columns=["model", *SUMMARY_COLUMNS])
    for model, group in summaries.groupby("model", sort=False):
        rows.append({"model": SKIP_MODELS[model], "seeds": len(group),
                     **group[list(SUMMARY_COLUMNS)].mean().to_dict()})
    table = pd.DataFrame(rows)
    return table[["model", "seeds", "train_maa", "test_maa", "test_first_acc", "train_loss", "test_loss"]]


def table_std(study: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """Std over seeds (ddof 1) of the summary scores per model."""
    summaries = run_summaries(study)
    table = summaries.groupby("model", sort=False)[list(SUMMARY_COLUMNS)].std(ddof=1).reset_index()
    table["model"] = table.model.map(labels)
    return table


def learning_curves(study: pd.DataFrame) -> dict[str, list[pd.DataFrame]]:
    """Per model, the per-epoch metrics (or DDPG MAA curve) of every seed."""
    curves: dict[str, list[pd.DataFrame]] = {}
    for row in study.itertuples():
        name = "eval.csv" if row.model.startswith("ddpg") else "metrics.csv"
        curves.setdefault(row.model, []).append(pd.read_csv(row.run.file(name)))
    return curves


# -- sequence baselines and tables -----------------------------------------------------------------------
def sequence_baseline_params(name: str, budget: str | Mapping) -> dict:
    """The settings a heuristic takes from the profile: session-kNN's ``k``; the last-track neighbours act in
    the word2vec embedding of the DDPG runs (its size, window and epochs; seed 0)."""
    budget = as_budget(budget)
    if name == "session_knn":
        return {"k": int(budget["knn_k"])}
    if name == "last_track_neighbours":
        architecture = budget["architecture"]
        return {"dim": int(architecture["ddpg_dim"]), "window": int(architecture["ddpg_window"]),
                "epochs": int(architecture["word2vec_epochs"]), "seed": 0}
    return {}


def sequence_baseline_run(name: str, data: SessionData, budget: str | Mapping, runs_dir) -> Run:
    """Fit (or reuse) a track-sequence heuristic and score it on the training probe and the test set."""
    from musicrec.models import baselines

    budget = as_budget(budget)
    check_choice("baseline", name, baselines.SEQUENCE_BASELINES)
    params = sequence_baseline_params(name, budget)
    config = {"version": VERSION, "baseline": name, "params": params, "data": data.key,
              "eval_train": int(budget["eval_train"]), **_code(MODEL_MODULES, MODEL_LIBRARIES)}

    def work(folder: Path) -> None:
        model = baselines.SEQUENCE_BASELINES[name](**params).fit(data.train, data.n_tokens)
        scores, correct = sequence_baseline_scores(model, data, eval_train=config["eval_train"])
        write_csv_atomic(pd.DataFrame([scores]), folder / "metrics.csv")
        write_run_outputs(folder, "sequence", data, scores, correct)

    return Run(runs_dir, "sessions_sequence_baseline", config, name=name).execute(work)


def sequence_ceiling_run(data: SessionData, runs_dir) -> Run | None:
    """Score (or reuse) the track-sequence ceiling on the test sessions (simulated data only; None on real
    data): :func:`musicrec.models.baselines.ceiling_predictions` with what the simulator knows of each
    session. Its train and validation scores are NaN (only the test sessions' knowledge is kept)."""
    if data.test_knowledge is None:
        return None
    config = {"version": VERSION, "baseline": "ceiling", "data": data.key, **_code(MODEL_MODULES, MODEL_LIBRARIES)}

    def work(folder: Path) -> None:
        scores, correct = ceiling_scores(data)
        write_csv_atomic(pd.DataFrame([scores]), folder / "metrics.csv")
        write_run_outputs(folder, "sequence", data, scores, correct)

    return Run(runs_dir, "sessions_sequence_baseline", config, name="ceiling").execute(work)


def sequence_baseline_study(data: SessionData, budget: str | Mapping, runs_dir) -> pd.DataFrame:
    """Every heuristic of the profile, then the ceiling (simulated data); one row per run."""
    budget = as_budget(budget)
    rows = [{"model": name, "seed": 0, "run": sequence_baseline_run(name, data, budget, runs_dir)}
            for name in budget["sequence_baselines"]]
    ceiling = sequence_ceiling_run(data, runs_dir)
    if ceiling is not None:
        rows.append({"model": "ceiling", "seed": 0, "run": ceiling})
    return pd.DataFrame(rows)


def _beam_rows(study: pd.DataFrame) -> list[dict]:
    rows = []
    for row in study.itertuples():
        path = row.run.path / "beam.csv"
        if path.exists():
            beam = pd.read_csv(path).iloc[0]
            rows.append({"model": row.model, "seed": row.seed, "beam": int(beam.beam),
                         "test_maa": beam.test_maa, "test_first_acc": beam.test_first_acc, "run": row.run})
    return rows


def sequence_table(study: pd.DataFrame, baselines_study: pd.DataFrame) -> pd.DataFrame:
    """Table 2: MAA, first accuracy and loss per model (mean over seeds), heuristics first."""
    labels = {**SEQUENCE_BASELINE_LABELS, **SEQUENCE_MODELS}
    rows = []
    for frame in (baselines_study, study):
        if not len(frame):
            continue
        summaries = run_summaries(frame)
        for model, group in summaries.groupby("model", sort=False):
            rows.append({"model": labels[model], "seeds": len(group),
                         **group[list(SUMMARY_COLUMNS)].mean().to_dict()})
    beams = pd.DataFrame(_beam_rows(study))
    if len(beams):
        for (model, beam), group in beams.groupby(["model", "beam"], sort=False):
            rows.append({"model": f"{SEQUENCE_MODELS[model]} + beam search (k={beam})", "seeds": len(group),
                         "test_maa": group.test_maa.mean(), "test_first_acc": group.test_first_acc.mean()})
    table = pd.DataFrame(rows)
    return table[["model", "seeds", "train_maa", "test_maa", "test_first_acc", "train_loss", "test_loss"]]


def _correct_sets(study: pd.DataFrame, baselines_study: pd.DataFrame):
    """``(label, [test correctness matrix per seed])`` of every heuristic, model and beam search."""
    labels = {**SEQUENCE_BASELINE_LABELS, **SEQUENCE_MODELS}
    for frame in (baselines_study, study):
        for model, group in frame.groupby("model", sort=False):
            yield labels[model], [test_correct(run) for run in group.run]
    beams = pd.DataFrame(_beam_rows(study))
    if len(beams):
        for (model, beam), group in beams.groupby(["model", "beam"], sort=False):
            yield (f"{SEQUENCE_MODELS[model]} + beam search (k={beam})",
                   [test_correct(run, "beam_correct.csv") for run in group.run])


def position_table(study: pd.DataFrame, baselines_study: pd.DataFrame, data: SessionData) -> pd.DataFrame:
    """Table 3: test accuracy at positions 1, 3, 5, 7, 9 of the predicted sequence (mean over seeds)."""
    mask = data.test.second_mask
    rows = []
    for label, matrices in _correct_sets(study, baselines_study):
        values = np.mean([list(accuracy_at_positions(m, mask, POSITIONS).values()) for m in matrices], axis=0)
        rows.append({"model": label, **{f"T={p}": v for p, v in zip(POSITIONS, values)}})
    return pd.DataFrame(rows)


def count_table(study: pd.DataFrame, baselines_study: pd.DataFrame, data: SessionData) -> pd.DataFrame:
    """Table 4: share of test sessions with 0..10 correctly predicted tracks (mean over seeds)."""
    mask = data.test.second_mask
    rows = []
    for label, matrices in _correct_sets(study, baselines_study):
        shares = np.mean([correct_count_distribution(m, mask, max_count=10) for m in matrices], axis=0)
        rows.append({"model": label, **{str(k): v for k, v in enumerate(shares)}})
    return pd.DataFrame(rows)


def oracle_maa(data: SessionData) -> float:
    """The simulator's oracle MAA on the test sessions (NaN on real data)."""
    return rule_scores("oracle", data)["test_maa"]


def first_half_oracle_maa(data: SessionData) -> float:
    """MAA of the oracle that knows the hidden state but not the second half's skips (NaN on real data)."""
    return rule_scores("oracle_first_half", data)["test_maa"]


def maa_by_session_kind(study: pd.DataFrame, baselines_study: pd.DataFrame, data: SessionData
                        ) -> pd.DataFrame:
    """Test MAA of every sequence model per simulated session kind (playlist, shuffle, personal)."""
    if data.test_kind is None:
        raise ParameterError("session kinds are known for simulated sessions only")
    mask = data.test.second_mask
    rows = []
    for label, matrices in _correct_sets(study, baselines_study):
        for kind in ("playlist", "shuffle", "personal"):
            chosen = data.test_kind == kind
            if chosen.any():
                value = np.mean([mean_average_accuracy(m[chosen], mask[chosen]) for m in matrices])
                rows.append({"model": label, "session_kind": kind, "sessions": int(chosen.sum()),
                             "test_maa": value})
    return pd.DataFrame(rows)


def skip_truth_frame(arrays: SessionArrays) -> pd.DataFrame:
    """The second half of ``arrays`` as a challenge ground-truth table (``session_id, session_position,
    session_length, skip_2``), the input of ``musicrec sessions maa --truth``."""
    rows, cols = np.nonzero(arrays.second_mask)
    return pd.DataFrame({"session_id": arrays.session_id[rows],
                         "session_position": arrays.n_first[rows] + cols + 1,
                         "session_length": arrays.length[rows], "skip_2": arrays.second_skips[rows, cols]})


def coinciding_scores(summaries: pd.DataFrame, labels: dict, *, column: str = "train_maa",
                      decimals: int = 6) -> pd.DataFrame:
    """Pairs of models whose mean ``column`` over seeds agrees to ``decimals`` decimals, with what tells a
    coincidence of means from one model copying another: their per-seed values and the difference of means.

    Columns ``first, second, mean_first, mean_second, difference, per_seed_first, per_seed_second``.
    """
    means = summaries.groupby("model", sort=False)[column].mean()
    per_seed = summaries.groupby("model", sort=False)[column].apply(lambda v: [round(float(x), decimals) for x in v])
    rows = []
    keys = list(means.index)
    for i, first in enumerate(keys):
        for second in keys[i + 1:]:
            if round(float(means[first]), decimals) == round(float(means[second]), decimals):
                rows.append({"first": labels[first], "second": labels[second], "mean_first": float(means[first]),
                             "mean_second": float(means[second]),
                             "difference": abs(float(means[first]) - float(means[second])),
                             "per_seed_first": per_seed[first], "per_seed_second": per_seed[second]})
    return pd.DataFrame(rows, columns=["first", "second", "mean_first", "mean_second", "difference",
                                       "per_seed_first", "per_seed_second"])


def sequence_reference_curve_maa(data: SessionData, budget: str | Mapping,
                                 names: Sequence[str] = ("random", "most_popular", "last_track_neighbours")
                                 ) -> dict[str, float]:
    """Validation MAA of reference heuristics on the sessions DDPG's curves are measured on (the first
    ``eval_valid`` validation sessions): label -> MAA."""
    eval_valid = int(as_budget(budget)["eval_valid"])
    return {SEQUENCE_BASELINE_LABELS[name]: heuristic_validation_maa(name, data, eval_valid=eval_valid,
                                                                     params=sequence_baseline_params(name, budget))
            for name in names}


def skip_reference_curve_maa(data: SessionData, budget: str | Mapping,
                             rules: Sequence[str] = ("all_skipped", "first_half_majority", "oracle")
                             ) -> dict[str, float]:
    """Validation MAA of skip rules on the sessions DDPG's skip curves are measured on (the first ``eval_valid``
    validation sessions): label -> MAA."""
    eval_valid = int(as_budget(budget)["eval_valid"])
    return {SKIP_RULES[rule]: rule_validation_maa(rule, data, eval_valid=eval_valid) for rule in rules}


def stopped_by_the_budget(study: pd.DataFrame, task: str, budget: str | Mapping) -> list[str]:
    """Neural models (keys) of which some seed kept its last epoch after its whole epoch budget
    (:func:`epoch_budget`): early stopping did not end it, the budget did."""
    models = []
    for row in study.itertuples():
        if model_family(row.model) == "ddpg" or row.model in models:
            continue
        metrics = row.run.metrics()
        if ("kept" in metrics and len(metrics) >= epoch_budget(task, row.model, budget)
                and bool(metrics.kept.iloc[-1])):
            models.append(row.model)
    return models