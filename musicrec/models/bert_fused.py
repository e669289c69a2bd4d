"""The paper's BERT-augmented Transformer (its §2.2.3), after Zhu et al. 2020, "Incorporating BERT into
neural machine translation" (the BERT-fused model).

A BERT-style session encoder pretrained by masked-track prediction (:mod:`musicrec.models.bert`, the
paper's §2.2.2) is kept **fixed** and read by every layer of a Transformer encoder-decoder through an
extra attention:

* encoder layer: ``h~ = drop_net(SelfAttention(h, h, h), BertAttention(h, B, B))``, then the residual,
  layer norm and the feed-forward block;
* decoder layer: causal self-attention, then
  ``s~ = drop_net(EncoderAttention(s, H, H), BertAttention(s, B, B))``, then the feed-forward block;

where ``B`` is BERT's output over the session's first half (for skips: the whole session as the skip models
see it, the first half with ``SKIP`` tokens and the second half's tracks). **Drop-net** (the paper: "we
randomly with some fixed probability either only use Bert Encoded attention output, or the original self
attention output or a weighted combination of both"): in training, with probability ``drop_net / 2`` a
layer uses only the first attention, with ``drop_net / 2`` only the BERT attention, otherwise their mean;
at evaluation always the mean (Zhu et al.'s rule, drawn per session and layer).

The paper's text puts BERT's embeddings in the *query* and the previous layer in the key and value. In the
decoder that would let a prediction attend to the decoder's later positions; Zhu et al.'s layer (used here,
in both stacks) queries with the layer's own states and reads BERT as key and value.

:class:`BertFusedSeq2Seq` predicts track sequences (greedy or beam decoding, as
:class:`~musicrec.models.sequence.TransformerSeq2Seq`); :class:`BertFusedSkipModel` predicts skips (as
:class:`~musicrec.models.skip.TransformerSkipModel`). Sizes of the paper: 2 layers, 2 heads, width 256,
dropout 0.2.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from musicrec.data.sessions import MASK, MAX_HALF
from musicrec.errors import check_number
from musicrec.models.bert import BertEncoder, session_slots
from musicrec.models.common import (
    SkipHead,
    TrackInput,
    causal_mask,
    encoder_tokens,
    forbid_special,
    length_mask,
)
from musicrec.models.sequence import teacher_inputs, beam_decode, greedy_decode


def drop_net(first: torch.Tensor, second: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    """Zhu et al.'s drop-net: in training only ``first`` (prob. ``rate / 2``), only ``second`` (``rate / 2``)
    or their mean, drawn per sequence; the mean at evaluation."""
    if not training or rate == 0:
        return 0.5 * (first + second)
    draw = torch.rand(first.shape[0], 1, 1, device=first.device)
    weight = torch.where(draw < rate / 2, 1.0, torch.where(draw > 1 - rate / 2, 0.0, 0.5))
    return weight * first + (1 - weight) * second


class FusedEncoderLayer(nn.Module):
    """Self-attention and BERT-attention (drop-net), then a feed-forward block (post-norm, as PyTorch's)."""

    def __init__(self, d_model: int, heads: int, ff: int, dropout: float, bert_dim: int, rate: float):
        super().__init__()
        self.self_attention = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.bert_attention = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True,
                                                    kdim=bert_dim, vdim=bert_dim)
        self.feed_forward = nn.Sequential(nn.Linear(d_model, ff), nn.ReLU(), nn.Dropout(dropout),
                                          nn.Linear(ff, d_model))
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.dropout1, self.dropout2 = nn.Dropout(dropout), nn.Dropout(dropout)
        self.rate = rate

    def forward(self, x, padding, bert, bert_padding):
        own = self.self_attention(x, x, x, key_padding_mask=padding, need_weights=False)[0]
        fused = self.bert_attention(x, bert, bert, key_padding_mask=bert_padding, need_weights=False)[0]
        x = self.norm1(x + self.dropout1(drop_net(own, fused, self.rate, self.training)))
        return self.norm2(x + self.dropout2(self.feed_forward(x)))


class FusedDecoderLayer(nn.Module):
    """Causal self-attention; encoder-attention and BERT-attention (drop-net); a feed-forward block."""

    def __init__(self, d_model: int, heads: int, ff: int, dropout: float, bert_dim: int, rate: float):
        super().__init__()
        self.self_attention = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.encoder_attention = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.bert_attention = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True,
                                                    kdim=bert_dim, vdim=bert_dim)
        self.feed_forward = nn.Sequential(nn.Linear(d_model, ff), nn.ReLU(), nn.Dropout(dropout),
                                          nn.Linear(ff, d_model))
        self.norms = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(3))
        self.dropouts = nn.ModuleList(nn.Dropout(dropout) for _ in range(3))
        self.rate = rate

    def forward(self, y, causal, target_padding, memory, memory_padding, bert, bert_padding):
        own = self.self_attention(y, y, y, attn_mask=causal, key_padding_mask=target_padding,
                                  need_weights=False)[0]
        y = self.norms[0](y + self.dropouts[0](own))
        encoded = self.encoder_attention(y, memory, memory, key_padding_mask=memory_padding, need_weights=False)[0]
        fused = self.bert_attention(y, bert, bert, key_padding_mask=bert_padding, need_weights=False)[0]
        y = self.norms[1](y + self.dropouts[1](drop_net(encoded, fused, self.rate, self.training)))
        return self.norms[2](y + self.dropouts[2](self.feed_forward(y)))


class _BertFused(nn.Module):
    """Shared parts: the frozen BERT, the track input with positions, the fused stacks."""

    def __init__(self, bert: BertEncoder, n_tokens: int, *, d_model: int, heads: int, layers: int, ff: int,
                 dropout: float, drop_net_rate: float, features: np.ndarray | None):
        super().__init__()
        check_number("drop_net_rate", drop_net_rate, low=0, high=1)
        self.bert = bert
        for parameter in self.bert.parameters():  # Zhu et al. keep BERT fixed
            parameter.requires_grad_(False)
        self.input = TrackInput(n_tokens, d_model, features=features)
        self.project = nn.Linear(self.input.out_dim, d_model)
        self.source_position = nn.Embedding(MAX_HALF, d_model)
        self.target_position = nn.Embedding(MAX_HALF, d_model)
        self.encoder_layers = nn.ModuleList(
            FusedEncoderLayer(d_model, heads, ff, dropout, bert.d_model, drop_net_rate) for _ in range(layers))
        self.decoder_layers = nn.ModuleList(
            FusedDecoderLayer(d_model, heads, ff, dropout, bert.d_model, drop_net_rate) for _ in range(layers))
        self.register_buffer("mask", causal_mask(MAX_HALF))

    def train(self, mode: bool = True):
        super().train(mode)
        self.bert.eval()  # fixed: no dropout in the features it provides
        return self

    def _bert(self, tokens, padding):
        with torch.no_grad():
            return self.bert(tokens, padding)

    def _encode(self, source_tokens, source_padding, bert, bert_padding):
        x = self.project(self.input(source_tokens)) + self.source_position.weight[: source_tokens.shape[1]]
        for layer in self.encoder_layers:
            x = layer(x, source_padding, bert, bert_padding)
        return x

    def _decode(self, target_tokens, target_padding, memory, memory_padding, bert, bert_padding):
        width = target_tokens.shape[1]
        y = self.project(self.input(target_tokens)) + self.target_position.weight[:width]
        for layer in self.decoder_layers:
            y = layer(y, self.mask[:width, :width], target_padding, memory, memory_padding, bert, bert_padding)
        return y


class BertFusedSeq2Seq(_BertFused):
    """BERT-augmented Transformer encoder-decoder for track sequences (teacher forcing; greedy or beam).

    Parameters
    ----------
    bert : BertEncoder
        The pretrained session encoder (kept fixed).
    n_tokens : int
    d_model, heads, layers, ff, dropout : int, int, int, int, float
        The Transformer's sizes (the paper: 256, 2, 2, 1024, 0.2).
    drop_net_rate : float
        Probability of using only one of the two attentions in a training step (split evenly).
    features : np.ndarray, optional
        Fixed track features concatenated to the embedding.
    """

    def __init__(self, bert: BertEncoder, n_tokens: int, *, d_model: int = 64, heads: int = 2, layers: int = 2,
                 ff: int = 128, dropout: float = 0.2, drop_net_rate: float = 0.5,
                 features: np.ndarray | None = None):
        super().__init__(bert, n_tokens, d_model=d_model, heads=heads, layers=layers, ff=ff, dropout=dropout,
                         drop_net_rate=drop_net_rate, features=features)
        self.head = nn.Linear(d_model, n_tokens)

    def start(self, batch):
        source = batch["first_tracks"]
        source_padding = ~length_mask(batch["first_len"])
        empty = torch.zeros_like(batch["second_len"])
        # BERT reads the first half only (the second half is what is predicted)
        tokens, padding = session_slots(source, torch.full_like(source, MASK), batch["first_len"], empty)
        bert = self._bert(tokens, padding)[:, :MAX_HALF]
        memory = self._encode(source, source_padding, bert, source_padding)
        prefix = torch.zeros((len(source), 0), dtype=torch.long, device=source.device)
        return memory, source_padding, bert, prefix

    def forward(self, batch):
        memory, source_padding, bert, _ = self.start(batch)
        output = self._decode(teacher_inputs(batch), None, memory, source_padding, bert, source_padding)
        return forbid_special(self.head(output))

    def step(self, state, tokens):
        memory, source_padding, bert, prefix = state
        prefix = torch.cat([prefix, tokens[:, None]], dim=1)
        output = self._decode(prefix, None, memory, source_padding, bert, source_padding)
        return self.head(output[:, -1]), (memory, source_padding, bert, prefix)

    def select(self, state, index):
        return tuple(s[index] for s in state)

    def predict(self, batch, beam: int = 1):
        return greedy_decode(self, batch) if beam == 1 else beam_decode(self, batch, beam=beam)


class BertFusedSkipModel(_BertFused):
    """BERT-augmented Transformer encoder-decoder for skips (``SKIP`` tokens in the first half)."""

    def __init__(self, bert: BertEncoder, n_tokens: int, *, d_model: int = 64, heads: int = 2, layers: int = 2,
                 ff: int = 128, dropout: float = 0.2, drop_net_rate: float = 0.5,
                 features: np.ndarray | None = None, n_covariates: int = 0):
        super().__init__(bert, n_tokens, d_model=d_model, heads=heads, layers=layers, ff=ff, dropout=dropout,
                         drop_net_rate=drop_net_rate, features=features)
        self.head = SkipHead(d_model, n_covariates)

    def forward(self, batch):
        source = encoder_tokens(batch, True)
        source_padding = ~length_mask(batch["first_len"])
        target_padding = ~length_mask(batch["second_len"])
        tokens, padding = session_slots(source, batch["second_tracks"], batch["first_len"], batch["second_len"])
        bert = self._bert(tokens, padding)
        memory = self._encode(source, source_padding, bert, padding)
        output = self._decode(batch["second_tracks"], target_padding, memory, source_padding, bert, padding)
        return self.head(output, batch)
