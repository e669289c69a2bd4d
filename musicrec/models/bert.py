"""A BERT-style session encoder (Bert4Rec-like), pretrained by masked-track prediction.

A session is laid out as 20 slots: the first half in slots 0-9 and the second half in slots 10-19
(each half right-padded), with learned position and segment (half) embeddings. Pretraining replaces
``mask_prob`` of the real tracks by ``MASK`` and predicts them (cross-entropy); fine-tuning heads live
in :mod:`musicrec.models.skip` and :mod:`musicrec.models.sequence`.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch
from torch import nn

from musicrec.data.sessions import MASK, MAX_HALF, N_SPECIAL, PAD, SessionArrays
from musicrec.errors import check_number
from musicrec.models.common import TrackInput, forbid_special, length_mask, to_batch, transformer_encoder


class BertEncoder(nn.Module):
    """Transformer encoder over the 20 slots of a session, with a masked-track head."""

    def __init__(self, n_tokens: int, *, d_model: int = 64, heads: int = 2, layers: int = 2, ff: int = 128,
                 dropout: float = 0.2, features: np.ndarray | None = None):
        super().__init__()
        self.input = TrackInput(n_tokens, d_model, features=features)
        self.project = nn.Linear(self.input.out_dim, d_model)
        self.position = nn.Embedding(2 * MAX_HALF, d_model)
        self.segment = nn.Embedding(2, d_model)
        self.norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.encoder = transformer_encoder(d_model, heads, layers, ff, dropout)
        self.mlm_head = nn.Linear(d_model, n_tokens)
        self.d_model = d_model
        self.register_buffer("segments", torch.repeat_interleave(torch.arange(2), MAX_HALF))

    def forward(self, tokens: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        """Hidden states ``(batch, 20, d_model)``; ``padding`` is True at empty slots."""
        x = self.project(self.input(tokens))
        x = x + self.position.weight[None] + self.segment(self.segments)[None]
        return self.encoder(self.dropout(self.norm(x)), src_key_padding_mask=padding)

    def mlm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Track logits at every slot; special tokens are never predicted."""
        return forbid_special(self.mlm_head(hidden))


def session_slots(first: torch.Tensor, second: torch.Tensor, first_len: torch.Tensor,
                  second_len: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The 20-slot token layout and its padding mask (True where empty)."""
    tokens = torch.cat([first, second], dim=1)
    padding = ~torch.cat([length_mask(first_len), length_mask(second_len)], dim=1)
    return tokens.masked_fill(padding, PAD), padding


def pretrain_bert(encoder: BertEncoder, arrays: SessionArrays, *, epochs: int, batch_size: int = 256,
                  lr: float = 1e-3, mask_prob: float = 0.2, seed: int = 0, progress: bool = False
                  ) -> pd.DataFrame:
    """Masked-track pretraining on whole sessions (tracks only, no skip information).

    Returns one row per epoch: ``epoch, loss`` (mean cross-entropy over masked tracks), ``time_s``.
    """
    from tqdm import tqdm

    check_number("epochs", epochs, low=1, integer=True)
    check_number("mask_prob", mask_prob, low=0, high=1, low_inclusive=False)
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(encoder.parameters(), lr=lr)
    data = to_batch(arrays)
    n = len(arrays)
    rows, start = [], time.perf_counter()
    for epoch in tqdm(range(1, epochs + 1), desc="BERT pretraining", disable=not progress, mininterval=5):
        encoder.train()
        order = torch.randperm(n, generator=generator)
        total, count = 0.0, 0
        for begin in range(0, n, batch_size):
            index = order[begin:begin + batch_size]
            tokens, padding = session_slots(data["first_tracks"][index], data["second_tracks"][index],
                                            data["first_len"][index], data["second_len"][index])
            chosen = (torch.rand(tokens.shape, generator=generator) < mask_prob) & (tokens >= N_SPECIAL)
            if not chosen.any():
                continue
            hidden = encoder(tokens.masked_fill(chosen, MASK), padding)
            loss = nn.functional.cross_entropy(encoder.mlm_logits(hidden[chosen]), tokens[chosen])
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(encoder.parameters(), 1.0)
            optimiser.step()
            total += loss.item() * int(chosen.sum())
            count += int(chosen.sum())
        rows.append({"epoch": epoch, "loss": total / max(count, 1),
                     "time_s": round(time.perf_counter() - start, 3)})
    return pd.DataFrame(rows)
