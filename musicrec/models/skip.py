"""Skip-prediction models (the paper's table 1): encode the first half, output a skip logit per
second-half track.

Every model reads a batch (:func:`musicrec.models.common.to_batch`) and returns logits of shape
``(batch, 10)`` for the second-half slots (padding slots are ignored by the loss and the metric).
The second-half track ids are given, as in the paper ("we assume we are given the true sequence of
next track ids"), and with them their track features (the challenge's test files give both): the
decoders read each second-half track's embedding concatenated with its features
(:class:`~musicrec.models.common.TrackInput`), never the second half's skips, so the predictions of a
session are made at once, from its first half. With ``n_covariates``, the session's premium, shuffle
and context type add a linear term to every logit (:class:`~musicrec.models.common.SkipHead`).

* :class:`RNNSkipModel`: LSTM or GRU encoder-decoder; the encoder may be bidirectional; skipped
  input tracks may be replaced by the ``SKIP`` token (the paper's "skip padding"); the track
  embedding may start from word2vec.
* :class:`TransformerSkipModel`: Transformer encoder-decoder with learned positions and a causal
  decoder mask (a prediction does not attend to later tracks).
* :class:`BertSkipModel`: a pretrained :class:`~musicrec.models.bert.BertEncoder` over the 20 slots
  (first half with ``SKIP`` tokens, second half's tracks) with a skip head on the second half.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from musicrec.data.sessions import MAX_HALF
from musicrec.errors import check_choice
from musicrec.models.bert import BertEncoder, session_slots
from musicrec.models.common import (
    SkipHead,
    TrackInput,
    causal_mask,
    encoder_tokens,
    length_mask,
    transformer_decoder,
    transformer_encoder,
)


class RNNSkipModel(nn.Module):
    """RNN encoder-decoder for skips.

    Parameters
    ----------
    n_tokens : int
    emb_dim, hidden : int
        Track-embedding and hidden sizes (the paper: 512 hidden).
    cell : {"lstm", "gru"}
    bidirectional : bool
        Bidirectional encoder (the decoder is always unidirectional).
    skip_token : bool
        Replace skipped first-half tracks by ``SKIP``.
    features : np.ndarray, optional
        Fixed track features concatenated to the embedding.
    pretrained : np.ndarray, optional
        Initial track embedding (word2vec), shape ``(n_tokens, emb_dim)``.
    n_covariates : int
        Number of session covariates added linearly to the logits (0: none).
    """

    def __init__(self, n_tokens: int, *, emb_dim: int = 32, hidden: int = 64, cell: str = "lstm",
                 bidirectional: bool = False, skip_token: bool = True, features: np.ndarray | None = None,
                 pretrained: np.ndarray | None = None, dropout: float = 0.0, n_covariates: int = 0):
        super().__init__()
        check_choice("cell", cell, ("lstm", "gru"))
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.cell, self.skip_token, self.bidirectional = cell, skip_token, bidirectional
        self.input = TrackInput(n_tokens, emb_dim, features=features, pretrained=pretrained)
        self.encoder = rnn(self.input.out_dim, hidden, batch_first=True, bidirectional=bidirectional)
        self.decoder = rnn(self.input.out_dim, hidden, batch_first=True)
        self.bridge = nn.Linear(2 * hidden, hidden) if bidirectional else None
        self.dropout = nn.Dropout(dropout)
        self.head = SkipHead(hidden, n_covariates)

    def _initial_state(self, state: torch.Tensor) -> torch.Tensor:
        # state: (directions, batch, hidden) -> (1, batch, hidden)
        if self.bridge is None:
            return state
        return torch.tanh(self.bridge(torch.cat([state[0], state[1]], dim=-1)))[None]

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        tokens = encoder_tokens(batch, self.skip_token)
        packed = pack_padded_sequence(self.input(tokens), batch["first_len"].cpu(), batch_first=True,
                                      enforce_sorted=False)
        _, state = self.encoder(packed)
        if self.cell == "lstm":
            state = (self._initial_state(state[0]), self._initial_state(state[1]))
        else:
            state = self._initial_state(state)
        output, _ = self.decoder(self.input(batch["second_tracks"]), state)
        return self.head(self.dropout(output), batch)


class TransformerSkipModel(nn.Module):
    """Transformer encoder-decoder for skips (the paper: 2 layers, 2 heads, 256 wide, dropout 0.2)."""

    def __init__(self, n_tokens: int, *, d_model: int = 64, heads: int = 2, layers: int = 2, ff: int = 128,
                 dropout: float = 0.2, skip_token: bool = True, features: np.ndarray | None = None,
                 n_covariates: int = 0):
        super().__init__()
        self.skip_token = skip_token
        self.input = TrackInput(n_tokens, d_model, features=features)
        self.project = nn.Linear(self.input.out_dim, d_model)
        self.source_position = nn.Embedding(MAX_HALF, d_model)
        self.target_position = nn.Embedding(MAX_HALF, d_model)
        self.encoder = transformer_encoder(d_model, heads, layers, ff, dropout)
        self.decoder = transformer_decoder(d_model, heads, layers, ff, dropout)
        self.head = SkipHead(d_model, n_covariates)
        self.register_buffer("mask", causal_mask(MAX_HALF))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        source_padding = ~length_mask(batch["first_len"])
        target_padding = ~length_mask(batch["second_len"])
        source = self.project(self.input(encoder_tokens(batch, self.skip_token)))
        source = source + self.source_position.weight
        memory = self.encoder(source, src_key_padding_mask=source_padding)
        target = self.project(self.input(batch["second_tracks"])) + self.target_position.weight
        output = self.decoder(target, memory, tgt_mask=self.mask, tgt_key_padding_mask=target_padding,
                              memory_key_padding_mask=source_padding, tgt_is_causal=True)
        return self.head(output, batch)


class BertSkipModel(nn.Module):
    """A (pretrained) BERT-style session encoder with a skip head on the second-half slots."""

    def __init__(self, encoder: BertEncoder, *, skip_token: bool = True, n_covariates: int = 0):
        super().__init__()
        self.encoder, self.skip_token = encoder, skip_token
        self.head = SkipHead(encoder.d_model, n_covariates)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        tokens, padding = session_slots(encoder_tokens(batch, self.skip_token), batch["second_tracks"],
                                        batch["first_len"], batch["second_len"])
        hidden = self.encoder(tokens, padding)
        return self.head(hidden[:, MAX_HALF:], batch)
