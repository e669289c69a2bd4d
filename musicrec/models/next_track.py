"""Next-track models, the sequential recommenders the field uses as baselines, for the track-sequence task.

Both read a session as one sequence of tracks (first half, then second half) and are trained on
**every position**: from the tracks so far, a softmax over the catalog predicts the next one
(cross-entropy). The second half is then predicted by greedy decoding from the first half: each step's
most likely track is fed back as the next input, and a track already in the session (its first half or
an earlier prediction) is never predicted again (``exclude_seen``; sessions in the simulated data and in
the MSSD rarely repeat a track).

* :class:`GRU4Rec` (Hidasi et al. 2016, "Session-based recommendations with recurrent neural networks"):
  an embedding, one GRU layer and a linear output over the catalog. The original trains with ranking
  losses on session-parallel mini-batches; with a catalog of a few thousand tracks the full softmax is
  affordable and is what its later versions found best (Hidasi and Karatzoglou 2018).
* :class:`SASRec` (Kang and McAuley 2018, "Self-attentive sequential recommendation"): learned positions,
  blocks of causal self-attention with a point-wise feed-forward layer, and scores as the dot product of
  the last hidden state with the track embeddings (weights shared with the input). The original samples
  one negative per position (binary cross-entropy); here the full softmax, as for GRU4Rec.

Both follow the interface of :mod:`musicrec.models.sequence`: ``forward(batch)`` returns the teacher-forced
logits of the second-half slots ``(batch, 10, n_tokens)`` (for the validation loss, comparable with the
encoder-decoders'), ``predict(batch)`` the decoded tokens ``(batch, 10)``, and ``training_loss(batch)`` the
every-position loss that :func:`musicrec.models.training.fit` minimises.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from musicrec.data.sessions import MAX_HALF, N_SPECIAL, PAD, UNK
from musicrec.models.common import TrackInput, causal_mask, forbid_special, length_mask

SESSION_SLOTS = 2 * MAX_HALF


def joined_tracks(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """A session's tracks as one right-padded sequence ``(batch, 20)`` and its length ``(batch,)``."""
    first, second = batch["first_tracks"], batch["second_tracks"]
    n_first, n_second = batch["first_len"], batch["second_len"]
    rows = torch.arange(len(first), device=first.device)[:, None]
    joined = torch.full((len(first), SESSION_SLOTS + MAX_HALF), PAD, dtype=first.dtype, device=first.device)
    joined[:, :MAX_HALF] = first.masked_fill(~length_mask(n_first), PAD)
    columns = n_first[:, None] + torch.arange(MAX_HALF, device=first.device)[None, :]
    joined[rows, columns] = second.masked_fill(~length_mask(n_second), PAD)
    return joined[:, :SESSION_SLOTS], n_first + n_second


def _second_half_hidden(hidden: torch.Tensor, n_first: torch.Tensor) -> torch.Tensor:
    """The hidden states that predict the second-half slots: positions ``n_first - 1 + j``."""
    index = (n_first[:, None] - 1 + torch.arange(MAX_HALF, device=hidden.device)[None, :]).clamp(
        max=hidden.shape[1] - 1)
    return hidden.gather(1, index[..., None].expand(-1, -1, hidden.shape[-1]))


class _NextTrackModel(nn.Module):
    """Every-position training and greedy decoding for models with ``hidden_states(tokens)``."""

    exclude_seen: bool = True

    def hidden_states(self, tokens: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def scores(self, hidden: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def training_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean cross-entropy of the next track at every position of the sessions."""
        tokens, length = joined_tracks(batch)
        logits = self.scores(self.hidden_states(tokens[:, :-1]))
        targets = tokens[:, 1:]
        real = length_mask(length - 1, SESSION_SLOTS - 1) & (targets != UNK)
        return nn.functional.cross_entropy(forbid_special(logits[real]), targets[real])

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        tokens, _ = joined_tracks(batch)
        hidden = _second_half_hidden(self.hidden_states(tokens[:, :-1]), batch["first_len"])
        return forbid_special(self.scores(hidden))

    @torch.no_grad()
    def predict(self, batch: dict[str, torch.Tensor], beam: int = 1) -> torch.Tensor:
        if beam != 1:
            raise NotImplementedError("next-track models decode greedily")
        first, n_first = batch["first_tracks"], batch["first_len"]
        n = len(first)
        rows = torch.arange(n, device=first.device)
        tokens = torch.full((n, SESSION_SLOTS), PAD, dtype=first.dtype, device=first.device)
        tokens[:, :MAX_HALF] = first.masked_fill(~length_mask(n_first), PAD)
        seen = torch.zeros((n, self.n_tokens), dtype=torch.bool, device=first.device)
        seen[rows[:, None], tokens[:, :MAX_HALF]] = True
        out = []
        for step in range(MAX_HALF):
            position = n_first - 1 + step
            hidden = self.hidden_states(tokens)[rows, position]
            logits = forbid_special(self.scores(hidden))
            if self.exclude_seen:
                logits = logits.masked_fill(seen, float("-inf"))
            choice = logits.argmax(dim=-1)
            out.append(choice)
            if step + 1 < MAX_HALF:
                tokens[rows, position + 1] = choice
            seen[rows, choice] = True
        return torch.stack(out, dim=1)


class GRU4Rec(_NextTrackModel):
    """A GRU over the session's tracks with a softmax over the catalog after every track.

    Parameters
    ----------
    n_tokens : int
        Vocabulary size (special tokens included).
    emb_dim, hidden : int
        Sizes of the track embedding and of the GRU state.
    features : np.ndarray [shape=(n_tokens, n_features)], optional
        Fixed track features concatenated to the embedding.
    dropout : float
        Dropout on the embedding and on the GRU output.
    exclude_seen : bool
        Never predict a track already in the session.
    """

    def __init__(self, n_tokens: int, *, emb_dim: int = 32, hidden: int = 64, features: np.ndarray | None = None,
                 dropout: float = 0.2, exclude_seen: bool = True):
        super().__init__()
        self.n_tokens, self.exclude_seen = int(n_tokens), bool(exclude_seen)
        self.input = TrackInput(n_tokens, emb_dim, features=features)
        self.dropout = nn.Dropout(dropout)
        self.gru = nn.GRU(self.input.out_dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_tokens)

    def hidden_states(self, tokens: torch.Tensor) -> torch.Tensor:
        # right padding: a state after the session's last track is never read
        return self.dropout(self.gru(self.dropout(self.input(tokens)))[0])

    def scores(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.head(hidden)

    @torch.no_grad()
    def predict(self, batch: dict[str, torch.Tensor], beam: int = 1) -> torch.Tensor:
        """Greedy decoding, one GRU step per predicted track (the state after the first half carries on)."""
        if beam != 1:
            raise NotImplementedError("next-track models decode greedily")
        first, n_first = batch["first_tracks"], batch["first_len"]
        rows = torch.arange(len(first), device=first.device)
        outputs = self.gru(self.input(first.masked_fill(~length_mask(n_first), PAD)))[0]
        state = outputs[rows, n_first - 1][None].contiguous()
        seen = torch.zeros((len(first), self.n_tokens), dtype=torch.bool, device=first.device)
        seen[rows[:, None], first] = True
        out = []
        for _ in range(MAX_HALF):
            logits = forbid_special(self.head(state[0]))
            if self.exclude_seen:
                logits = logits.masked_fill(seen, float("-inf"))
            choice = logits.argmax(dim=-1)
            out.append(choice)
            seen[rows, choice] = True
            state = self.gru(self.input(choice[:, None]), state)[1]
        return torch.stack(out, dim=1)


class SASRec(_NextTrackModel):
    """Causal self-attention over the session's tracks; scores by the track embeddings (shared weights).

    Parameters
    ----------
    n_tokens : int
    d_model, heads, layers, ff : int
        Width, attention heads, blocks and feed-forward width.
    dropout : float
    features : np.ndarray, optional
        Fixed track features, projected and added to the embedding.
    exclude_seen : bool
        Never predict a track already in the session.
    """

    def __init__(self, n_tokens: int, *, d_model: int = 64, heads: int = 2, layers: int = 2, ff: int = 128,
                 dropout: float = 0.2, features: np.ndarray | None = None, exclude_seen: bool = True):
        super().__init__()
        self.n_tokens, self.exclude_seen = int(n_tokens), bool(exclude_seen)
        self.embedding = nn.Embedding(n_tokens, d_model, padding_idx=PAD)
        nn.init.normal_(self.embedding.weight, std=d_model ** -0.5)
        with torch.no_grad():
            self.embedding.weight[PAD].zero_()
        if features is not None:
            features = torch.as_tensor(np.asarray(features, dtype=np.float32)).clone()
            features[:N_SPECIAL] = 0.0
            self.feature_projection = nn.Linear(features.shape[1], d_model, bias=False)
        self.register_buffer("features", features)
        self.position = nn.Embedding(SESSION_SLOTS, d_model)
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(d_model, heads, ff, dropout, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.bias = nn.Parameter(torch.zeros(n_tokens))
        self.register_buffer("mask", causal_mask(SESSION_SLOTS))

    def _track_vectors(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embedding(tokens)
        if self.features is not None:
            x = x + self.feature_projection(self.features[tokens])
        return x

    def hidden_states(self, tokens: torch.Tensor) -> torch.Tensor:
        width = tokens.shape[1]
        x = self.dropout(self._track_vectors(tokens) * self.embedding.embedding_dim ** 0.5
                         + self.position.weight[:width])
        # causal attention: a position sees itself and the tracks before it, never the padding after it
        return self.norm(self.blocks(x, mask=self.mask[:width, :width], is_causal=True))

    def scores(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden @ self.embedding.weight.T + self.bias
