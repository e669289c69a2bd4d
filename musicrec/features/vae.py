"""A variational autoencoder (torch) that compresses the 11 normalised audio features to a d-D latent.

As in the Spotify RL project (README: 4-D; blog post: 5-D), each track's 11 features in [0, 1]
(:func:`musicrec.data.catalog.normalise_features`) are encoded to a Gaussian posterior
``q(z | x) = N(mu(x), diag(exp(logvar(x))))``; the track's latent is the posterior mean ``mu``,
rescaled per dimension to [0, 1] with the min and max over the catalog the VAE was fitted on (the
documents normalise their latents to 0-1). The decoder ends in a sigmoid and the likelihood is a
Gaussian with a learned variance per feature (the "sigma-VAE" of Rybkin et al., 2021): the
reconstruction term is its negative log-likelihood summed over the 11 features and the loss is
``reconstruction + beta * KL(q(z | x) || N(0, I))`` (beta = 1 is the plain VAE). A Bernoulli
likelihood (binary cross-entropy) collapsed the posterior to one active dimension on the synthetic
catalog; with a learned variance, features the latent explains get a small variance and so a
large weight, while pure noise (the uniformly drawn ``key``) keeps a large one.

Training holds out a validation split, keeps the weights of the epoch with the lowest validation
loss and stops after ``patience`` epochs without improvement. The history has one row per epoch:
training and validation reconstruction (Gaussian NLL), mean squared error and KL.

>>> import numpy as np
>>> x = np.random.default_rng(0).random((200, 11)).astype("float32")
>>> fit = train_vae(x, latent_dim=2, epochs=2, seed=0)
>>> latent_space(fit.model, x).shape
(200, 2)
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from musicrec.errors import ParameterError, check_number
from musicrec.runs import write_csv_atomic
from musicrec.utils import set_seed, setup_torch


def _torch():
    import torch

    return torch


def _build_vae_class():
    torch = _torch()
    nn = torch.nn

    class VAE(nn.Module):
        """Encoder ``n_features -> hidden -> (mu, logvar)``, decoder ``latent -> hidden[::-1] -> sigmoid``."""

        def __init__(self, n_features: int = 11, latent_dim: int = 4, hidden: tuple[int, ...] = (64, 32)):
            super().__init__()
            self.n_features, self.latent_dim, self.hidden = int(n_features), int(latent_dim), tuple(hidden)
            layers, width = [], self.n_features
            for size in self.hidden:
                layers += [nn.Linear(width, size), nn.ReLU()]
                width = size
            self.encoder = nn.Sequential(*layers)
            self.mu = nn.Linear(width, self.latent_dim)
            self.logvar = nn.Linear(width, self.latent_dim)
            layers, width = [], self.latent_dim
            for size in reversed(self.hidden):
                layers += [nn.Linear(width, size), nn.ReLU()]
                width = size
            self.decoder = nn.Sequential(*layers, nn.Linear(width, self.n_features), nn.Sigmoid())
            # Learned log-variance of the Gaussian likelihood, one per feature.
            self.log_noise = nn.Parameter(torch.full((self.n_features,), -2.0))
            # Per-dimension min and max of mu over the fitted catalog: the [0, 1] rescaling.
            self.register_buffer("latent_low", torch.zeros(self.latent_dim))
            self.register_buffer("latent_high", torch.ones(self.latent_dim))

        def encode(self, x):
            h = self.encoder(x)
            return self.mu(h), self.logvar(h).clamp(-12.0, 8.0)

        def decode(self, z):
            return self.decoder(z)

        def forward(self, x, *, sample: bool = True):
            mu, logvar = self.encode(x)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if sample else mu
            return self.decode(z), mu, logvar

        def spec(self) -> dict:
            return {"n_features": self.n_features, "latent_dim": self.latent_dim, "hidden": list(self.hidden)}

    return VAE


_VAE_CLASS = None


def VAE(n_features: int = 11, latent_dim: int = 4, hidden: tuple[int, ...] = (64, 32)):
    """Build a VAE module (torch is imported on first use)."""
    global _VAE_CLASS
    if _VAE_CLASS is None:
        _VAE_CLASS = _build_vae_class()
    check_number("latent_dim", latent_dim, low=1, integer=True)
    check_number("n_features", n_features, low=1, integer=True)
    _check_hidden(hidden)
    return _VAE_CLASS(n_features, latent_dim, tuple(int(h) for h in hidden))


def _check_hidden(hidden) -> None:
    if (isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__len__") or not hidden
            or any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1 for h in hidden)):
        raise ParameterError(f"hidden={list(hidden) if hasattr(hidden, '__iter__') else hidden!r} must be "
                             "a non-empty list of positive layer sizes")


def vae_losses(model, x, beta: float, *, sample: bool = True):
    """Per-batch means: loss, Gaussian negative log-likelihood (summed over features), MSE, KL."""
    recon, mu, logvar = model(x, sample=sample)
    log_noise = model.log_noise.clamp(-9.0, 2.0)
    nll = 0.5 * ((recon - x) ** 2 / log_noise.exp() + log_noise + np.log(2 * np.pi))
    nll = nll.sum(dim=1).mean()
    mse = ((recon - x) ** 2).mean()
    kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(dim=1).mean()
    return nll + beta * kl, nll, mse, kl


@dataclass
class VAEFit:
    """What :func:`train_vae` returns."""

    model: object
    history: pd.DataFrame
    best_epoch: int
    validation_index: np.ndarray


def _check_features(features) -> np.ndarray:
    x = np.asarray(features, dtype=np.float32)
    if x.ndim != 2 or len(x) < 2:
        raise ParameterError(f"features must be a 2-D array with at least two rows, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ParameterError(f"features hold {int((~np.isfinite(x)).sum())} NaN or infinite value(s)")
    if x.min() < 0 or x.max() > 1:
        raise ParameterError(f"features must lie in [0, 1] (normalise_features), "
                             f"got [{x.min():g}, {x.max():g}]")
    return x


def train_vae(features, *, latent_dim: int = 4, beta: float = 1.0, hidden=(64, 32), epochs: int = 200,
              batch_size: int = 256, learning_rate: float = 1e-3, patience: int = 15,
              validation_fraction: float = 0.1, seed: int = 0, device: str = "cpu",
              progress: bool = False) -> VAEFit:
    """Fit a VAE with early stopping on a validation split.

    Parameters
    ----------
    features : np.ndarray [shape=(n_tracks, n_features)]
        Values in [0, 1] (e.g. :func:`musicrec.data.catalog.normalise_features`).
    latent_dim : int
        Size ``d`` of the latent (>= 1).
    beta : float
        Weight of the KL term (>= 0; 1 is the plain VAE).
    hidden : sequence of int
        Encoder layer sizes (the decoder mirrors them).
    epochs, batch_size, learning_rate, patience : int, int, float, int
        Adam on minibatches; stop after ``patience`` epochs without a lower validation loss and keep
        the best epoch's weights.
    validation_fraction : float
        Share of tracks held out (seeded), in (0, 0.5].
    seed : int
        Seeds the split, the initialisation, the minibatch order and the reparameterisation noise.

    Returns
    -------
    VAEFit
        ``model`` (evaluation mode, latent rescaling fitted on all ``features``), ``history``
        (columns ``epoch, train_loss, train_reconstruction, train_mse, train_kl, val_loss,
        val_reconstruction, val_mse, val_kl``), ``best_epoch`` and ``validation_index``.
    """
    x = _check_features(features)
    check_number("latent_dim", latent_dim, low=1, integer=True)
    check_number("beta", beta, low=0)
    check_number("epochs", epochs, low=1, integer=True)
    check_number("batch_size", batch_size, low=1, integer=True)
    check_number("learning_rate", learning_rate, low=0, low_inclusive=False)
    check_number("patience", patience, low=1, integer=True)
    check_number("validation_fraction", validation_fraction, low=0, high=0.5, low_inclusive=False)
    _check_hidden(hidden)
    torch = _torch()
    rng = set_seed(seed)
    torch_device = setup_torch(device)
    order = rng.permutation(len(x))
    n_val = max(1, int(round(validation_fraction * len(x))))
    val_index, train_index = np.sort(order[:n_val]), order[n_val:]
    train_x = torch.as_tensor(x[train_index], device=torch_device)
    val_x = torch.as_tensor(x[val_index], device=torch_device)

    model = VAE(x.shape[1], latent_dim, tuple(hidden)).to(torch_device)
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    rows, best, best_state, best_epoch, waited = [], np.inf, None, 0, 0
    epochs_iter = range(1, int(epochs) + 1)
    if progress:
        from tqdm import tqdm

        epochs_iter = tqdm(epochs_iter, desc=f"VAE d={latent_dim}", mininterval=5.0)
    for epoch in epochs_iter:
        model.train()
        sums = np.zeros(4)
        permutation = torch.as_tensor(rng.permutation(len(train_x)), device=torch_device)
        for start in range(0, len(train_x), batch_size):
            batch = train_x[permutation[start:start + batch_size]]
            loss, bce, mse, kl = vae_losses(model, batch, beta)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            sums += np.array([loss.item(), bce.item(), mse.item(), kl.item()]) * len(batch)
        train = sums / len(train_x)
        model.eval()
        with torch.no_grad():
            val = [v.item() for v in vae_losses(model, val_x, beta, sample=False)]
        rows.append({"epoch": epoch, "train_loss": train[0], "train_reconstruction": train[1],
                     "train_mse": train[2], "train_kl": train[3], "val_loss": val[0],
                     "val_reconstruction": val[1], "val_mse": val[2], "val_kl": val[3]})
        if val[0] < best - 1e-6:
            best, best_epoch, waited = val[0], epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited >= patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    fit_rescaling(model, x)
    return VAEFit(model=model, history=pd.DataFrame(rows), best_epoch=best_epoch,
                  validation_index=val_index)


def encode(model, features, *, batch_size: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and log-variances, each [shape=(n_tracks, latent_dim)]."""
    torch = _torch()
    x = _check_features(features)
    device = next(model.parameters()).device
    mus, logvars = [], []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            mu, logvar = model.encode(torch.as_tensor(x[start:start + batch_size], device=device))
            mus.append(mu.cpu().numpy())
            logvars.append(logvar.cpu().numpy())
    return np.concatenate(mus), np.concatenate(logvars)


def fit_rescaling(model, features) -> None:
    """Store the per-dimension min and max of the posterior means of ``features`` in the model."""
    torch = _torch()
    mu, _ = encode(model, features)
    low, high = mu.min(axis=0), mu.max(axis=0)
    high = np.where(high - low < 1e-8, low + 1.0, high)  # a collapsed dimension maps to 0
    model.latent_low.copy_(torch.as_tensor(low))
    model.latent_high.copy_(torch.as_tensor(high))


def latent_space(model, features) -> np.ndarray:
    """The tracks' latents: posterior means rescaled to [0, 1] per dimension (float32).

    Tracks outside the fitted catalog can fall slightly outside [0, 1]; they are clipped.
    """
    mu, _ = encode(model, features)
    low = model.latent_low.cpu().numpy()
    high = model.latent_high.cpu().numpy()
    return np.clip((mu - low) / (high - low), 0.0, 1.0).astype(np.float32)


def reconstruct(model, features) -> np.ndarray:
    """Decoder output at the posterior mean, [shape=(n_tracks, n_features)]."""
    torch = _torch()
    x = _check_features(features)
    device = next(model.parameters()).device
    with torch.no_grad():
        mu, _ = model.encode(torch.as_tensor(x, device=device))
        return model.decode(mu).cpu().numpy()


def reconstruction_errors(model, features, validation_index, *, names) -> pd.DataFrame:
    """Mean squared reconstruction error per feature on the validation rows and on the training rows.

    ``validation_index`` are the rows :func:`train_vae` held out (``fit.validation_index``); ``names`` name
    the feature columns. Columns: ``feature``, ``mse_validation``, ``mse_train``, ``variance``.
    """
    x = np.asarray(features)
    error = (reconstruct(model, x) - x) ** 2
    validation = np.zeros(len(x), dtype=bool)
    validation[validation_index] = True
    return pd.DataFrame({"feature": list(names), "mse_validation": error[validation].mean(axis=0),
                         "mse_train": error[~validation].mean(axis=0), "variance": x.var(axis=0)})


def kl_per_dimension(model, features) -> np.ndarray:
    """Mean KL to the prior of each latent dimension (near 0: the dimension is unused)."""
    mu, logvar = encode(model, features)
    return (-0.5 * (1 + logvar - mu ** 2 - np.exp(logvar))).mean(axis=0)


def save_vae(model, path: str | os.PathLike) -> Path:
    """Save the weights, the rescaling and the architecture to one ``.pt`` file."""
    torch = _torch()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"spec": json.dumps(model.spec()), "state_dict": model.state_dict()}, path)
    return path


def load_vae(path: str | os.PathLike, *, device: str = "cpu"):
    """Load a VAE written by :func:`save_vae` (evaluation mode)."""
    torch = _torch()
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"VAE file {path} does not exist")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    spec = json.loads(saved["spec"])
    model = VAE(spec["n_features"], spec["latent_dim"], tuple(spec["hidden"]))
    model.load_state_dict(saved["state_dict"])
    return model.to(setup_torch(device)).eval()


#: The keys of a VAE run config that :func:`train_vae_run` passes to :func:`train_vae`.
VAE_RUN_KEYS = ("latent_dim", "beta", "hidden", "epochs", "batch_size", "learning_rate", "patience",
                "validation_fraction", "seed")


def train_vae_run(features, config, folder: str | os.PathLike, *, names, device: str = "cpu",
                  progress: bool = True) -> VAEFit:
    """Train the VAE of a run config on ``features`` and write the run's files into ``folder``.

    Parameters
    ----------
    features : np.ndarray [shape=(n_tracks, n_features)]
        Values in [0, 1], as for :func:`train_vae`.
    config : mapping
        Holds every key of :data:`VAE_RUN_KEYS` (the keyword arguments of :func:`train_vae`); other keys
        (the catalog, a version) are ignored.
    folder : path
        The run's (temporary) folder: ``vae.pt`` (:func:`save_vae`), ``latents.npy`` (the rescaled means,
        [shape=(n_tracks, latent_dim)]), ``reconstruction.csv`` (:func:`reconstruction_errors`), ``kl.csv``
        (``dimension, kl``: :func:`kl_per_dimension`) and ``metrics.csv`` (the history, with ``best_epoch``).
    names : sequence of str
        The feature columns' names (``reconstruction.csv``'s ``feature``).

    Returns
    -------
    VAEFit
    """
    folder = Path(folder)
    x = np.asarray(features)
    fit = train_vae(x, **{key: config[key] for key in VAE_RUN_KEYS}, device=device, progress=progress)
    save_vae(fit.model, folder / "vae.pt")
    np.save(folder / "latents.npy", latent_space(fit.model, x))
    write_csv_atomic(reconstruction_errors(fit.model, x, fit.validation_index, names=names),
                     folder / "reconstruction.csv")
    kl = kl_per_dimension(fit.model, x)
    write_csv_atomic(pd.DataFrame({"dimension": np.arange(len(kl)), "kl": kl}), folder / "kl.csv")
    write_csv_atomic(fit.history.assign(best_epoch=fit.best_epoch), folder / "metrics.csv")
    return fit
