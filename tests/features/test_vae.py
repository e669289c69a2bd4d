import numpy as np
import pytest
import torch

from musicrec.data.catalog import normalise_features, synthetic_catalog
from musicrec.errors import ParameterError
from musicrec.features.vae import (vae_losses, kl_per_dimension, latent_space, load_vae, reconstruct,
                                   save_vae, train_vae, train_vae_run)


@pytest.fixture(scope="module")
def features():
    return normalise_features(synthetic_catalog(400, seed=2))


@pytest.fixture(scope="module")
def fit(features):
    return train_vae(features, latent_dim=3, epochs=6, batch_size=64, learning_rate=3e-3, seed=1)


def test_history_and_latents(fit, features):
    history = fit.history
    assert list(history.columns) == ["epoch", "train_loss", "train_reconstruction", "train_mse", "train_kl",
                                     "val_loss", "val_reconstruction", "val_mse", "val_kl"]
    assert history.epoch.tolist() == list(range(1, len(history) + 1))
    assert (history.train_kl >= 0).all() and (history.val_mse >= 0).all()
    z = latent_space(fit.model, features)
    assert z.shape == (400, 3) and z.dtype == np.float32
    # rescaled per dimension with the catalog's min and max: each dimension spans exactly [0, 1]
    np.testing.assert_allclose(z.min(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(z.max(axis=0), 1, atol=1e-6)
    assert reconstruct(fit.model, features).shape == features.shape
    assert kl_per_dimension(fit.model, features).shape == (3,)


def test_the_best_epoch_is_the_one_kept(fit, features):
    validation = torch.as_tensor(features[fit.validation_index])
    with torch.no_grad():
        loss = vae_losses(fit.model, validation, 1.0, sample=False)[0].item()
    assert loss == pytest.approx(fit.history.val_loss.min(), rel=1e-5)
    assert fit.history.val_loss.iloc[fit.best_epoch - 1] == fit.history.val_loss.min()
    assert len(fit.validation_index) == 40


def test_training_lowers_the_validation_loss(features):
    fit = train_vae(features, latent_dim=2, epochs=15, batch_size=64, learning_rate=3e-3, seed=0)
    assert fit.history.val_loss.min() < fit.history.val_loss.iloc[0]


def test_early_stopping_stops(features):
    fit = train_vae(features, latent_dim=2, epochs=500, batch_size=400, learning_rate=0.5, patience=2, seed=0)
    assert len(fit.history) < 500 and len(fit.history) - fit.best_epoch == 2


def test_same_seed_same_vae(features):
    a = train_vae(features, latent_dim=2, epochs=3, seed=4)
    b = train_vae(features, latent_dim=2, epochs=3, seed=4)
    np.testing.assert_array_equal(a.history.to_numpy(), b.history.to_numpy())
    np.testing.assert_array_equal(latent_space(a.model, features), latent_space(b.model, features))


def test_save_and_load(fit, features, tmp_path):
    path = save_vae(fit.model, tmp_path / "vae.pt")
    loaded = load_vae(path)
    np.testing.assert_array_equal(latent_space(loaded, features), latent_space(fit.model, features))
    with pytest.raises(ParameterError, match="does not exist"):
        load_vae(tmp_path / "missing.pt")


@pytest.mark.parametrize("kwargs, message", [
    ({"latent_dim": 0}, "latent_dim=0 must be >= 1"),
    ({"beta": -1.0}, "beta=-1.0 must be >= 0"),
    ({"validation_fraction": 0.0}, "validation_fraction=0.0 must be > 0"),
    ({"hidden": []}, r"hidden=\[\] must be a non-empty list"),
])
def test_bad_arguments(features, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        train_vae(features, epochs=1, **kwargs)


def test_bad_features():
    with pytest.raises(ParameterError, match=r"must lie in \[0, 1\]"):
        train_vae(np.full((10, 11), 2.0), epochs=1)
    bad = np.zeros((10, 11))
    bad[3, 4] = np.nan
    with pytest.raises(ParameterError, match="1 NaN or infinite"):
        train_vae(bad, epochs=1)


def test_train_vae_run_writes_the_run_files(features, tmp_path):
    import pandas as pd

    config = {"latent_dim": 2, "beta": 0.5, "hidden": [16], "epochs": 3, "batch_size": 64, "learning_rate": 1e-3,
              "patience": 2, "validation_fraction": 0.1, "seed": 0, "catalog": "ignored"}
    names = [f"f{i}" for i in range(features.shape[1])]
    fit = train_vae_run(features, config, tmp_path, names=names)
    np.testing.assert_array_equal(np.load(tmp_path / "latents.npy"), latent_space(fit.model, features))
    assert pd.read_csv(tmp_path / "reconstruction.csv").feature.tolist() == names
    assert len(pd.read_csv(tmp_path / "kl.csv")) == 2
    history = pd.read_csv(tmp_path / "metrics.csv")
    assert len(history) == len(fit.history) and (history.best_epoch == fit.best_epoch).all()
    np.testing.assert_allclose(latent_space(load_vae(tmp_path / "vae.pt"), features), latent_space(fit.model, features),
                               atol=1e-6)
