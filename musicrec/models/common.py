"""Pieces shared by the session models: track inputs, batches of session arrays, masks.

A *batch* is a dict of tensors built from :class:`~musicrec.data.sessions.SessionArrays`:
``first_tracks``, ``first_skips``, ``first_len``, ``second_tracks``, ``second_skips``, ``second_len``
(halves right-padded to ``MAX_HALF``), and ``covariates`` (session-level, see
:data:`~musicrec.data.sessions.SESSION_COVARIATES`) when the sessions have them.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from musicrec.data.sessions import MAX_HALF, N_SPECIAL, PAD, SKIP, SessionArrays
from musicrec.errors import ParameterError


def to_batch(arrays: SessionArrays, index=None, device: torch.device | str = "cpu"
             ) -> dict[str, torch.Tensor]:
    """Tensors of the sessions at ``index`` (all sessions if None)."""
    part = arrays if index is None else arrays.subset(index)
    batch = {
        "first_tracks": torch.as_tensor(part.first_tracks, device=device),
        "first_skips": torch.as_tensor(part.first_skips, device=device),
        "first_len": torch.as_tensor(part.n_first, device=device),
        "second_tracks": torch.as_tensor(part.second_tracks, device=device),
        "second_skips": torch.as_tensor(part.second_skips, device=device),
        "second_len": torch.as_tensor(part.n_second, device=device),
    }
    if part.covariates is not None:
        batch["covariates"] = torch.as_tensor(part.covariates, device=device)
    return batch


class SkipHead(nn.Module):
    """Skip logit from a slot's hidden state, plus a linear term in the session covariates (when
    ``n_covariates > 0``): premium, context type and shuffle shift a session's skip logit."""

    def __init__(self, hidden: int, n_covariates: int = 0):
        super().__init__()
        self.n_covariates = int(n_covariates)
        self.linear = nn.Linear(hidden, 1)
        self.covariates = nn.Linear(self.n_covariates, 1, bias=False) if self.n_covariates else None

    def forward(self, hidden: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = self.linear(hidden).squeeze(-1)
        if self.covariates is not None:
            if "covariates" not in batch:
                raise ParameterError("the model uses session covariates but the sessions have none")
            logits = logits + self.covariates(batch["covariates"])
        return logits


def length_mask(lengths: torch.Tensor, width: int = MAX_HALF) -> torch.Tensor:
    """``(batch, width)`` bool, True at the first ``lengths[i]`` slots."""
    return torch.arange(width, device=lengths.device)[None, :] < lengths[:, None]


def encoder_tokens(batch: dict[str, torch.Tensor], skip_token: bool) -> torch.Tensor:
    """First-half tokens, skipped tracks replaced by ``SKIP`` when ``skip_token`` (the paper's masking)."""
    tokens = batch["first_tracks"]
    if skip_token:
        tokens = torch.where(batch["first_skips"] & (tokens != PAD), torch.full_like(tokens, SKIP), tokens)
    return tokens


class TrackInput(nn.Module):
    """A learned track embedding, optionally concatenated with fixed track features.

    Parameters
    ----------
    n_tokens : int
        Vocabulary size (special tokens included).
    emb_dim : int
        Size of the learned embedding.
    features : np.ndarray [shape=(n_tokens, n_features)], optional
        Fixed (standardised) features per token; special tokens hold zeros.
    pretrained : np.ndarray [shape=(n_tokens, emb_dim)], optional
        Initial embedding (e.g. word2vec); it stays trainable.
    """

    def __init__(self, n_tokens: int, emb_dim: int, *, features: np.ndarray | None = None,
                 pretrained: np.ndarray | None = None):
        super().__init__()
        self.embedding = nn.Embedding(n_tokens, emb_dim, padding_idx=PAD)
        if pretrained is not None:
            pretrained = np.asarray(pretrained, dtype=np.float32)
            if pretrained.shape != (n_tokens, emb_dim):
                raise ParameterError(f"pretrained embedding has shape {pretrained.shape}, "
                                     f"expected {(n_tokens, emb_dim)}")
            with torch.no_grad():
                self.embedding.weight.copy_(torch.from_numpy(pretrained))
                self.embedding.weight[PAD].zero_()
        if features is not None:
            features = torch.as_tensor(np.asarray(features, dtype=np.float32))
            if features.shape[0] != n_tokens:
                raise ParameterError(f"features have {features.shape[0]} rows for {n_tokens} tokens")
            features = features.clone()
            features[:N_SPECIAL] = 0.0
            self.register_buffer("features", features)
        else:
            self.features = None
        self.out_dim = emb_dim + (0 if features is None else features.shape[1])

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embedding(tokens)
        if self.features is not None:
            x = torch.cat([x, self.features[tokens]], dim=-1)
        return x


def causal_mask(size: int, device=None) -> torch.Tensor:
    """Boolean mask, True where position ``i`` may not attend (the positions after it)."""
    return torch.triu(torch.ones((size, size), dtype=torch.bool, device=device), diagonal=1)


def transformer_encoder(d_model: int, heads: int, layers: int, ff: int, dropout: float
                        ) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(d_model, heads, ff, dropout, batch_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


def transformer_decoder(d_model: int, heads: int, layers: int, ff: int, dropout: float
                        ) -> nn.TransformerDecoder:
    layer = nn.TransformerDecoderLayer(d_model, heads, ff, dropout, batch_first=True)
    return nn.TransformerDecoder(layer, layers)


def forbid_special(logits: torch.Tensor) -> torch.Tensor:
    """Track logits with the special tokens (``PAD`` ... ``BOS``) set to -inf: they are never predicted."""
    special = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
    special[:N_SPECIAL] = True
    return logits.masked_fill(special, float("-inf"))
