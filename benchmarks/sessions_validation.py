"""Validation-split checks behind notebook 14's skip-model settings (no test sessions are touched).

Run from the project root:

    .venv/bin/python benchmarks/sessions_validation.py [--profile default] [--seeds 0 1 2]

Trains the SKIP-token LSTM of notebook 14 on the training sessions of the profile (validation sessions held
out as in the notebook) under a few variants and prints the validation MAA after the last epoch (mean and
std over seeds): the profile's setting, smaller and larger embeddings and hidden state, more and smaller
steps, dropout, the session covariates; then, for the profile's setting, MAA at decision thresholds other
than 1/2 and with the predictions pulled towards each session's mean probability (MAA rewards consistent
runs of right answers); and the references on the same sessions: the oracle, the first-half majority,
Bayes without the listener's identity, and a logistic regression on the first half's skip rates.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

VARIANTS = {
    "profile setting": {},
    "embedding 4": {"emb_dim": 4},
    "hidden 128": {"hidden": 128},
    "dropout 0.3": {"dropout": 0.3},
    "batch 64, lr 1e-3, 5 epochs": {"batch_size": 64, "lr": 1e-3, "epochs": 5},
    "lr 1e-3, 6 epochs": {"lr": 1e-3, "epochs": 6},
    "session covariates": {"covariates": True},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--lr", type=float, default=2e-3, help="learning rate of the profile setting")
    parser.add_argument("--runs-dir", default=None, help="cached runs to reuse (data, Bayes reference); "
                        "default: a temporary folder")
    args = parser.parse_args()

    import torch

    from musicrec.experiments import sessions
    from musicrec.metrics import mean_average_accuracy
    from musicrec.models.common import to_batch
    from musicrec.models.scoring import probability_scores, rule_scores
    from musicrec.models.skip import RNNSkipModel
    from musicrec.models.training import fit
    from musicrec.profiles import load_profile
    from musicrec.utils import set_seed, setup_torch

    setup_torch("cpu")
    budget = load_profile("sessions", args.profile)
    arch, training = budget["architecture"], budget["training"]
    with tempfile.TemporaryDirectory() as scratch:
        runs_dir = args.runs_dir or scratch
        data = sessions.load_data(budget, runs_dir)
        valid = data.valid
        mask = valid.second_mask

        def maa(predictions):
            return mean_average_accuracy((predictions == valid.second_skips).astype(float), mask)

        print(f"profile={args.profile}: {len(data.train)} training, {len(valid)} validation sessions; "
              f"load average {os.getloadavg()[0]:.1f}")
        probabilities = []
        lstm_epochs = sessions.epoch_budget("skip", "lstm", budget)
        for name, change in VARIANTS.items():
            scores, start = [], time.perf_counter()
            for seed in args.seeds:
                set_seed(seed)
                n_covariates = valid.covariates.shape[1] if change.get("covariates") else 0
                net = RNNSkipModel(data.n_tokens, emb_dim=change.get("emb_dim", arch["emb_dim"]),
                                   hidden=change.get("hidden", arch["hidden"]), features=data.features,
                                   dropout=change.get("dropout", 0.0), n_covariates=n_covariates)
                fit(net, "skip", data.train, valid, epochs=change.get("epochs", lstm_epochs),
                    batch_size=change.get("batch_size", int(training["batch_size"])), lr=change.get("lr", args.lr),
                    seed=seed, eval_train=10)
                net.eval()
                with torch.no_grad():
                    p = torch.sigmoid(net(to_batch(valid))).numpy()
                scores.append(maa(p > 0.5))
                if not change:
                    probabilities.append(p)
            print(f"{name:30s} validation MAA {np.mean(scores):.4f} +- {np.std(scores):.4f} "
                  f"({time.perf_counter() - start:.0f} s, load {os.getloadavg()[0]:.1f})")

        print("profile setting, other decisions (mean over seeds):")
        for threshold in (0.4, 0.45, 0.5, 0.55, 0.6):
            print(f"  skip when p > {threshold:.2f}: {np.mean([maa(p > threshold) for p in probabilities]):.4f}")
        for weight in (0.75, 0.5, 0.0):
            values = []
            for p in probabilities:
                session_mean = np.where(mask, p, 0).sum(axis=1) / mask.sum(axis=1)
                values.append(maa(weight * p + (1 - weight) * session_mean[:, None] > 0.5))
            print(f"  {weight:.2f} x p + {1 - weight:.2f} x session mean > 0.5: {np.mean(values):.4f}")

        from sklearn.linear_model import LogisticRegression

        def rates(arrays):
            skips = arrays.first_skips & arrays.first_mask
            recent = arrays.first_mask & (np.arange(10)[None, :] >= (arrays.n_first - 3)[:, None])
            columns = [skips.sum(1) / arrays.n_first, (skips & recent).sum(1) / recent.sum(1)]
            x = np.stack(columns, 1)[:, None, :].repeat(10, axis=1)
            return np.concatenate([x, np.broadcast_to(np.arange(10)[None, :, None] / 10, (len(arrays), 10, 1))], 2)

        train_mask = data.train.second_mask
        regression = LogisticRegression(max_iter=2000).fit(rates(data.train)[train_mask],
                                                           data.train.second_skips[train_mask])
        p = regression.predict_proba(rates(valid).reshape(-1, 3))[:, 1].reshape(len(valid), 10)
        print("references on the validation sessions:")
        print(f"  logistic regression on first-half skip rates and position: {maa(p > 0.5):.4f}")
        for rule, label in sessions.SKIP_RULES.items():
            print(f"  {label}: {rule_scores(rule, data)['val_maa']:.4f}")
        bayes = sessions.population_bayes_run(data, budget, runs_dir)
        if bayes is not None:
            print(f"  {sessions.BAYES_LABEL}: {probability_scores(data, bayes.path)['val_maa']:.4f}")


if __name__ == "__main__":
    main()
