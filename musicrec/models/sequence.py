"""Track-sequence models (the paper's tables 2-4): from the first half's tracks, predict the tracks
of the second half.

* :class:`RNNSeq2Seq` (LSTM) and :class:`TransformerSeq2Seq`: encoder-decoders trained with teacher
  forcing (the decoder reads ``BOS`` then the true previous tracks) and decoded greedily, or by beam
  search (:func:`beam_decode`, the paper's future work).
* :class:`BertSequenceModel`: a (pretrained) BERT-style encoder; the second-half slots hold ``MASK``
  and all of them are predicted at once.

``forward(batch)`` returns track logits ``(batch, 10, n_tokens)`` (teacher forcing for the
encoder-decoders), ``predict(batch, beam=1)`` the predicted tokens ``(batch, 10)``. Special tokens
are never predicted.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from musicrec.data.sessions import BOS, MASK, MAX_HALF
from musicrec.errors import check_choice, check_number
from musicrec.models.bert import BertEncoder, session_slots
from musicrec.models.common import (
    TrackInput,
    causal_mask,
    forbid_special,
    length_mask,
    transformer_decoder,
    transformer_encoder,
)


def teacher_inputs(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Decoder inputs under teacher forcing: ``BOS`` then the true second half shifted right."""
    second = batch["second_tracks"]
    return torch.cat([torch.full_like(second[:, :1], BOS), second[:, :-1]], dim=1)


class _Autoregressive(nn.Module):
    """Decoding for models with ``start(batch)``, ``step(state, tokens)`` and ``select(state, index)``."""

    def predict(self, batch: dict[str, torch.Tensor], beam: int = 1) -> torch.Tensor:
        return greedy_decode(self, batch) if beam == 1 else beam_decode(self, batch, beam=beam)


def greedy_decode(model, batch: dict[str, torch.Tensor], steps: int = MAX_HALF) -> torch.Tensor:
    """Feed each step's most likely track to the next step; returns tokens ``(batch, steps)``."""
    state = model.start(batch)
    tokens = torch.full((len(batch["first_len"]),), BOS, dtype=torch.long, device=batch["first_len"].device)
    out = []
    for _ in range(steps):
        logits, state = model.step(state, tokens)
        tokens = forbid_special(logits).argmax(dim=-1)
        out.append(tokens)
    return torch.stack(out, dim=1)


def beam_decode(model, batch: dict[str, torch.Tensor], *, beam: int = 5, steps: int = MAX_HALF
                ) -> torch.Tensor:
    """Beam search over ``steps`` tracks (highest joint log-probability); returns ``(batch, steps)``."""
    check_number("beam", beam, low=1, integer=True)
    n = len(batch["first_len"])
    device = batch["first_len"].device
    state = model.select(model.start(batch), torch.arange(n, device=device).repeat_interleave(beam))
    scores = torch.zeros(n, beam, device=device)
    scores[:, 1:] = float("-inf")  # all beams start identical: expand only the first
    tokens = torch.full((n * beam,), BOS, dtype=torch.long, device=device)
    history = torch.zeros((n * beam, 0), dtype=torch.long, device=device)
    for _ in range(steps):
        logits, state = model.step(state, tokens)
        log_p = torch.log_softmax(forbid_special(logits), dim=-1)
        vocab = log_p.shape[-1]
        total = (scores.reshape(-1, 1) + log_p).reshape(n, beam * vocab)
        scores, flat = total.topk(beam, dim=1)
        parent = (torch.arange(n, device=device)[:, None] * beam + flat // vocab).reshape(-1)
        tokens = (flat % vocab).reshape(-1)
        state = model.select(state, parent)
        history = torch.cat([history[parent], tokens[:, None]], dim=1)
    return history.reshape(n, beam, steps)[:, 0]


class RNNSeq2Seq(_Autoregressive):
    """LSTM (or GRU) encoder-decoder over track tokens with a softmax over the catalog."""

    def __init__(self, n_tokens: int, *, emb_dim: int = 32, hidden: int = 64, cell: str = "lstm",
                 features: np.ndarray | None = None, pretrained: np.ndarray | None = None,
                 dropout: float = 0.0):
        super().__init__()
        check_choice("cell", cell, ("lstm", "gru"))
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.input = TrackInput(n_tokens, emb_dim, features=features, pretrained=pretrained)
        self.encoder = rnn(self.input.out_dim, hidden, batch_first=True)
        self.decoder = rnn(self.input.out_dim, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, n_tokens)

    def start(self, batch):
        packed = pack_padded_sequence(self.input(batch["first_tracks"]), batch["first_len"].cpu(),
                                      batch_first=True, enforce_sorted=False)
        return self.encoder(packed)[1]

    def forward(self, batch):
        output, _ = self.decoder(self.input(teacher_inputs(batch)), self.start(batch))
        return forbid_special(self.head(self.dropout(output)))

    def step(self, state, tokens):
        output, state = self.decoder(self.input(tokens[:, None]), state)
        return self.head(output[:, 0]), state

    def select(self, state, index):
        return tuple(s[:, index] for s in state) if isinstance(state, tuple) else state[:, index]


class TransformerSeq2Seq(_Autoregressive):
    """Transformer encoder-decoder over track tokens (causal decoder, learned positions)."""

    def __init__(self, n_tokens: int, *, d_model: int = 64, heads: int = 2, layers: int = 2, ff: int = 128,
                 dropout: float = 0.2, features: np.ndarray | None = None):
        super().__init__()
        self.input = TrackInput(n_tokens, d_model, features=features)
        self.project = nn.Linear(self.input.out_dim, d_model)
        self.source_position = nn.Embedding(MAX_HALF, d_model)
        self.target_position = nn.Embedding(MAX_HALF, d_model)
        self.encoder = transformer_encoder(d_model, heads, layers, ff, dropout)
        self.decoder = transformer_decoder(d_model, heads, layers, ff, dropout)
        self.head = nn.Linear(d_model, n_tokens)
        self.register_buffer("mask", causal_mask(MAX_HALF))

    def _decode(self, memory, source_padding, inputs):
        width = inputs.shape[1]
        target = self.project(self.input(inputs)) + self.target_position.weight[:width]
        output = self.decoder(target, memory, tgt_mask=self.mask[:width, :width],
                              memory_key_padding_mask=source_padding, tgt_is_causal=True)
        return self.head(output)

    def start(self, batch):
        source_padding = ~length_mask(batch["first_len"])
        source = self.project(self.input(batch["first_tracks"])) + self.source_position.weight
        memory = self.encoder(source, src_key_padding_mask=source_padding)
        empty = torch.zeros((len(memory), 0), dtype=torch.long, device=memory.device)
        return memory, source_padding, empty

    def forward(self, batch):
        memory, source_padding, _ = self.start(batch)
        return forbid_special(self._decode(memory, source_padding, teacher_inputs(batch)))

    def step(self, state, tokens):
        memory, source_padding, prefix = state
        prefix = torch.cat([prefix, tokens[:, None]], dim=1)
        logits = self._decode(memory, source_padding, prefix)[:, -1]
        return logits, (memory, source_padding, prefix)

    def select(self, state, index):
        return tuple(s[index] for s in state)


class BertSequenceModel(nn.Module):
    """A (pretrained) BERT-style encoder that fills the masked second half in one pass."""

    def __init__(self, encoder: BertEncoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, batch):
        masked = torch.full_like(batch["second_tracks"], MASK)
        tokens, padding = session_slots(batch["first_tracks"], masked, batch["first_len"],
                                        batch["second_len"])
        return self.encoder.mlm_logits(self.encoder(tokens, padding)[:, MAX_HALF:])

    def predict(self, batch, beam: int = 1):
        return self.forward(batch).argmax(dim=-1)
