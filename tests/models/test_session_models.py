"""Skip and track-sequence models: shapes, masking, causality, determinism, the baselines' answers."""

import numpy as np
import pytest
import torch

from musicrec.data.session_simulator import SimulatorConfig, simulate_sessions
from musicrec.data.sessions import BOS, MAX_HALF, N_SPECIAL, SessionArrays, TrackVocabulary, encode_sessions
from musicrec.models import baselines
from musicrec.models.bert import BertEncoder, pretrain_bert
from musicrec.models.common import to_batch
from musicrec.models.sequence import (
    BertSequenceModel,
    RNNSeq2Seq,
    TransformerSeq2Seq,
    beam_decode,
    greedy_decode,
)
from musicrec.models.skip import BertSkipModel, RNNSkipModel, TransformerSkipModel
from musicrec.models.training import evaluate, fit
from musicrec.models.word2vec import train_word2vec
from musicrec.errors import ParameterError
from musicrec.metrics import mean_average_accuracy
from musicrec.utils import set_seed, setup_torch

SMALL = dict(d_model=16, heads=2, layers=1, ff=32)


@pytest.fixture(scope="module")
def data():
    setup_torch("cpu")  # one thread, as the notebooks use
    sim = simulate_sessions(SimulatorConfig(n_sessions=80, n_users=20, n_tracks=80, n_playlists=5), seed=0)
    vocab = TrackVocabulary.from_log(sim.log)
    arrays = encode_sessions(sim.log, vocab, skip_probability=sim.skip_probability)
    features = np.random.default_rng(0).normal(size=(len(vocab), 5)).astype(np.float32)
    return arrays, len(vocab), features


def _skip_models(n, features):
    return {
        "lstm": RNNSkipModel(n, emb_dim=8, hidden=8, features=features),
        "lstm_no_skip": RNNSkipModel(n, emb_dim=8, hidden=8, skip_token=False),
        "bigru": RNNSkipModel(n, emb_dim=8, hidden=8, cell="gru", bidirectional=True),
        "transformer": TransformerSkipModel(n, features=features, **SMALL),
        "bert": BertSkipModel(BertEncoder(n, **SMALL)),
    }


@pytest.mark.parametrize("name", ["lstm", "lstm_no_skip", "bigru", "transformer", "bert"])
def test_skip_models_give_one_logit_per_slot(data, name):
    arrays, n, features = data
    set_seed(0)
    model = _skip_models(n, features)[name].eval()
    logits = model(to_batch(arrays, slice(0, 7)))
    assert logits.shape == (7, MAX_HALF) and torch.isfinite(logits).all()


def test_skip_token_is_the_only_way_skips_enter(data):
    arrays, n, _ = data
    set_seed(0)
    with_token = RNNSkipModel(n, emb_dim=8, hidden=8).eval()
    without = RNNSkipModel(n, emb_dim=8, hidden=8, skip_token=False).eval()
    batch = to_batch(arrays, slice(0, 10))
    flipped = dict(batch, first_skips=~batch["first_skips"])
    with torch.no_grad():
        assert torch.equal(without(batch), without(flipped))
        assert not torch.allclose(with_token(batch), with_token(flipped))


def test_padding_beyond_the_first_half_is_ignored(data):
    arrays, n, features = data
    set_seed(0)
    for model in _skip_models(n, features).values():
        model.eval()
        batch = to_batch(arrays, slice(0, 5))
        noisy = dict(batch)
        noisy["first_tracks"] = batch["first_tracks"].clone()
        pad = torch.arange(MAX_HALF)[None, :] >= batch["first_len"][:, None]
        noisy["first_tracks"][pad] = N_SPECIAL + 1
        with torch.no_grad():
            torch.testing.assert_close(model(batch), model(noisy), atol=1e-5, rtol=1e-5)


def test_transformer_skip_decoder_is_causal(data):
    arrays, n, _ = data
    set_seed(0)
    model = TransformerSkipModel(n, **SMALL).eval()
    batch = to_batch(arrays, slice(0, 4))
    changed = dict(batch, second_tracks=batch["second_tracks"].clone())
    changed["second_tracks"][:, 4] = N_SPECIAL + 2
    with torch.no_grad():
        a, b = model(batch), model(changed)
    torch.testing.assert_close(a[:, :4], b[:, :4])
    assert not torch.allclose(a[:, 4], b[:, 4])


def test_fit_is_deterministic_and_scores_every_epoch(data):
    arrays, n, features = data
    train, test = arrays.subset(slice(0, 60)), arrays.subset(slice(60, None))
    runs = []
    for _ in range(2):
        set_seed(3)
        model = RNNSkipModel(n, emb_dim=8, hidden=8, features=features)
        runs.append(fit(model, "skip", train, test, epochs=2, batch_size=16, seed=3, eval_train=30))
    assert runs[0].drop(columns="time_s").equals(runs[1].drop(columns="time_s"))
    assert runs[0].kept.tolist() == [False, True]  # without patience: the last epoch
    assert list(runs[0].epoch) == [1, 2] and runs[0].val_maa.between(0, 1).all()


def test_evaluate_scores_a_constant_model_like_the_all_skipped_rule(data):
    arrays, _, _ = data

    class AlwaysSkip(torch.nn.Module):
        def forward(self, batch):
            return torch.ones(batch["second_tracks"].shape)

    result = evaluate(AlwaysSkip(), "skip", arrays)
    correct = (baselines.all_skipped(arrays) == arrays.second_skips).astype(float)
    assert result.maa == pytest.approx(mean_average_accuracy(correct, arrays.second_mask))
    truth = torch.tensor(arrays.second_skips[arrays.second_mask], dtype=torch.float)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(torch.ones(len(truth)), truth)
    assert result.loss == pytest.approx(float(expected))


@pytest.mark.parametrize("cls", [RNNSeq2Seq, TransformerSeq2Seq])
def test_sequence_models_decode_tracks_only(data, cls):
    arrays, n, features = data
    set_seed(0)
    kwargs = dict(emb_dim=8, hidden=8) if cls is RNNSeq2Seq else SMALL
    model = cls(n, features=features, **kwargs).eval()
    batch = to_batch(arrays, slice(0, 6))
    with torch.no_grad():
        logits = model(batch)
        greedy = greedy_decode(model, batch)
        assert logits.shape == (6, MAX_HALF, n)
        assert (greedy >= N_SPECIAL).all() and greedy.shape == (6, MAX_HALF)
        assert torch.equal(beam_decode(model, batch, beam=1), greedy)
        beams = beam_decode(model, batch, beam=3)
        assert beams.shape == (6, MAX_HALF) and (beams >= N_SPECIAL).all()


def test_teacher_forcing_is_causal(data):
    arrays, n, _ = data
    set_seed(0)
    model = TransformerSeq2Seq(n, **SMALL).eval()
    batch = to_batch(arrays, slice(0, 3))
    changed = dict(batch, second_tracks=batch["second_tracks"].clone())
    changed["second_tracks"][:, 3] = N_SPECIAL  # feeds the decoder at step 4 only
    with torch.no_grad():
        a, b = model(batch), model(changed)
    torch.testing.assert_close(a[:, :4], b[:, :4])
    assert not torch.allclose(a[:, 4], b[:, 4])


def test_beam_search_finds_the_best_joint_sequence():
    # a toy model with two steps where greedy is fooled: A (0.6) then 0.5/0.5, vs B (0.4) then 1.0
    class Toy(torch.nn.Module):
        def start(self, batch):
            return torch.zeros(len(batch["first_len"]), dtype=torch.long)

        def step(self, state, tokens):
            logits = torch.full((len(tokens), N_SPECIAL + 4), -1e9)
            first = tokens == BOS
            logits[first, N_SPECIAL] = np.log(0.6)
            logits[first, N_SPECIAL + 1] = np.log(0.4)
            after_a = tokens == N_SPECIAL
            logits[after_a, N_SPECIAL + 2] = np.log(0.5)
            logits[after_a, N_SPECIAL + 3] = np.log(0.5)
            after_b = tokens == N_SPECIAL + 1
            logits[after_b, N_SPECIAL + 2] = 0.0
            other = ~(first | after_a | after_b)
            logits[other, N_SPECIAL + 2] = 0.0
            return logits, state

        def select(self, state, index):
            return state[index]

    batch = {"first_len": torch.tensor([1])}
    assert greedy_decode(Toy(), batch, steps=2).tolist() == [[N_SPECIAL, N_SPECIAL + 2]]
    assert beam_decode(Toy(), batch, beam=2, steps=2).tolist() == [[N_SPECIAL + 1, N_SPECIAL + 2]]


def test_bert_pretraining_and_fine_tuning_heads(data):
    arrays, n, features = data
    set_seed(0)
    encoder = BertEncoder(n, features=features, **SMALL)
    history = pretrain_bert(encoder, arrays, epochs=2, batch_size=32, seed=0)
    assert list(history.epoch) == [1, 2] and np.isfinite(history.loss).all()
    batch = to_batch(arrays, slice(0, 4))
    with torch.no_grad():
        assert BertSkipModel(encoder).eval()(batch).shape == (4, MAX_HALF)
        predicted = BertSequenceModel(encoder).eval().predict(batch)
    assert predicted.shape == (4, MAX_HALF) and (predicted >= N_SPECIAL).all()


def test_word2vec_is_deterministic_and_covers_the_tokens(data):
    arrays, n, _ = data
    a = train_word2vec(arrays, n, dim=8, epochs=2, seed=1)
    b = train_word2vec(arrays, n, dim=8, epochs=2, seed=1)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (n, 8)


# -- baselines on hand-made sessions -------------------------------------------------------------------
def _arrays(sessions, skips=None):
    """Sessions as token lists (first half = floor(L/2) tracks)."""
    n = len(sessions)
    arrays = SessionArrays(session_id=np.array([str(i) for i in range(n)], dtype=object),
                           length=np.array([len(s) for s in sessions]),
                           first_tracks=np.zeros((n, MAX_HALF), dtype=np.int64),
                           first_skips=np.zeros((n, MAX_HALF), dtype=bool),
                           second_tracks=np.zeros((n, MAX_HALF), dtype=np.int64),
                           second_skips=np.zeros((n, MAX_HALF), dtype=bool))
    for i, s in enumerate(sessions):
        half = len(s) // 2
        arrays.first_tracks[i, :half] = s[:half]
        arrays.second_tracks[i, : len(s) - half] = s[half:]
        if skips is not None:
            arrays.first_skips[i, :half] = skips[i][:half]
            arrays.second_skips[i, : len(s) - half] = skips[i][half:]
    return arrays


T = [N_SPECIAL + i for i in range(30)]


def test_skip_rules():
    arrays = _arrays([T[:4], T[4:8]], skips=[[1, 1, 0, 1], [0, 1, 1, 1]])
    assert baselines.all_skipped(arrays)[:, :2].all()
    majority = baselines.first_half_majority(arrays)
    assert majority[0, 0] and not majority[1, 0]   # 2/2 skipped vs 1/2 (not more than half)


def test_common_continuation_follows_the_most_common_playlist():
    playlist = T[:8]
    train = _arrays([playlist] * 3 + [[T[0], T[1], T[2], T[20], T[21], T[22]]])
    test = _arrays([[T[9], T[2], T[3], T[4]]])      # last input track T[2] (first half = T[9], T[2])
    model = baselines.CommonContinuation().fit(train, N_SPECIAL + 30)
    assert model.predict(test)[0, :5].tolist() == [T[3], T[4], T[5], T[6], T[7]]


def test_session_knn_votes_for_what_follows_the_last_track():
    train = _arrays([T[:8], T[:8], [T[10], T[2], T[15], T[16]]])
    test = _arrays([[T[1], T[2], T[3], T[4]]])
    prediction = baselines.SessionKNN(k=2).fit(train, N_SPECIAL + 30).predict(test)
    assert prediction[0, :3].tolist() == [T[3], T[4], T[5]]


def test_most_popular_and_cooccurrence_skip_the_input_tracks():
    train = _arrays([[T[0], T[1], T[2], T[3]], [T[0], T[1], T[4], T[5]], [T[0], T[6], T[7], T[8]]])
    test = _arrays([[T[0], T[9], T[10], T[11]]] * 1)
    popular = baselines.MostPopular().fit(train, N_SPECIAL + 30).predict(test)
    assert popular[0, 0] == T[1] and T[0] not in popular[0]
    cooc = baselines.CoOccurrence().fit(train, N_SPECIAL + 30).predict(test)
    assert cooc[0, 0] == T[1] and T[0] not in cooc[0]


def test_last_track_neighbours_chain_the_nearest_unplayed_track():
    # twelve tracks on an arc, 10 degrees apart: each track's nearest neighbours are the adjacent ones
    model = baselines.LastTrackNeighbours(dim=2)
    angles = np.radians(10 * np.arange(30))
    model.embedding = np.zeros((N_SPECIAL + 30, 2), dtype=np.float32)
    model.embedding[N_SPECIAL:] = np.c_[np.cos(angles), np.sin(angles)]
    model.embedding[N_SPECIAL + 12:] = 0  # the other tracks score 0 against every action
    test = _arrays([[T[5], T[6], T[0], T[0]]])  # last input track T[6]; T[5] is already played
    assert model.predict(test)[0, :5].tolist() == [T[7], T[8], T[9], T[10], T[11]]


def test_last_track_neighbours_are_ddpgs_rollout_of_the_last_track_action(data):
    from musicrec.envs.sessions import track_observation, track_rollout

    arrays, n, _ = data
    model = baselines.LastTrackNeighbours(dim=8, epochs=1).fit(arrays, n)
    predictions = model.predict(arrays)
    observations = track_observation(np.ones((2, 8)), np.ones(2), np.full((2, 8), 2.0))
    assert (model.last_track_action(observations) == 2.0).all()  # the last-track block of DDPG's state
    np.testing.assert_array_equal(predictions, track_rollout(lambda o: o[:, 8:16], arrays, model.embedding))
    for row, first in zip(predictions, arrays.first_tracks):
        assert len(set(row.tolist())) == MAX_HALF and not set(row.tolist()) & set(first.tolist())


def test_session_covariates_shift_the_skip_logits(data):
    arrays, n, features = data
    set_seed(0)
    model = RNNSkipModel(n, emb_dim=8, hidden=8, features=features, n_covariates=arrays.covariates.shape[1]).eval()
    batch = to_batch(arrays, slice(0, 6))
    with torch.no_grad():
        model.head.covariates.weight.zero_()
        base = model(batch)
        model.head.covariates.weight[0, 0] = 1.5  # premium
        shifted = model(batch)
    premium = batch["covariates"][:, 0]
    torch.testing.assert_close(shifted - base, 1.5 * premium[:, None].expand_as(base))
    batch.pop("covariates")
    with pytest.raises(ParameterError, match="session covariates"):
        model(batch)


# -- the next-track models, the BERT-augmented Transformer, early stopping, the ceiling ----------------
def _next_track_models(n, features):
    from musicrec.models.next_track import GRU4Rec, SASRec

    return {"gru4rec": GRU4Rec(n, emb_dim=8, hidden=8, features=features),
            "sasrec": SASRec(n, features=features, **SMALL)}


@pytest.mark.parametrize("name", ["gru4rec", "sasrec"])
def test_next_track_models_decode_unseen_tracks(data, name):
    arrays, n, features = data
    set_seed(0)
    model = _next_track_models(n, features)[name].eval()
    batch = to_batch(arrays, slice(0, 6))
    with torch.no_grad():
        assert model(batch).shape == (6, MAX_HALF, n)
        predicted = model.predict(batch)
    assert predicted.shape == (6, MAX_HALF) and (predicted >= N_SPECIAL).all()
    for i in range(6):
        first = set(batch["first_tracks"][i, :int(batch["first_len"][i])].tolist())
        picks = predicted[i].tolist()
        assert len(set(picks)) == MAX_HALF and not first & set(picks)
    assert torch.isfinite(model.training_loss(batch))


def test_sasrec_is_causal_and_gru4rec_decoding_matches_its_hidden_states(data):
    from musicrec.models.next_track import joined_tracks

    arrays, n, features = data
    set_seed(0)
    models = _next_track_models(n, features)
    batch = to_batch(arrays, slice(0, 4))
    tokens, _ = joined_tracks(batch)
    changed = tokens.clone()
    changed[:, 6] = N_SPECIAL
    sasrec = models["sasrec"].eval()
    with torch.no_grad():
        a, b = sasrec.hidden_states(tokens), sasrec.hidden_states(changed)
    torch.testing.assert_close(a[:, :6], b[:, :6])
    # GRU4Rec's step-by-step decoding is the GRU over the session with its own picks fed back
    gru = models["gru4rec"].eval()
    gru.exclude_seen = False
    with torch.no_grad():
        predicted = gru.predict(batch)
        first = batch["first_tracks"]
        for i in range(4):
            length = int(batch["first_len"][i])
            sequence = torch.cat([first[i, :length], predicted[i, :-1]])[None]
            logits = gru.scores(gru.hidden_states(sequence))[0, length - 1:]
            logits[:, :N_SPECIAL] = -torch.inf
            assert torch.equal(logits.argmax(dim=-1), predicted[i])


@pytest.mark.parametrize("task", ["skip", "sequence"])
def test_bert_augmented_transformer_reads_a_fixed_bert(data, task):
    from musicrec.models.bert_fused import BertFusedSeq2Seq, BertFusedSkipModel, drop_net

    arrays, n, features = data
    set_seed(0)
    encoder = BertEncoder(n, features=features, **SMALL)
    frozen = {k: v.clone() for k, v in encoder.state_dict().items()}
    cls = BertFusedSkipModel if task == "skip" else BertFusedSeq2Seq
    model = cls(encoder, n, features=features, **SMALL)
    train = arrays.subset(slice(0, 40))
    history = fit(model, task, train, arrays.subset(slice(40, 60)), epochs=2, batch_size=16, seed=0, eval_train=20)
    assert np.isfinite(history.val_loss).all()
    for key, value in encoder.state_dict().items():  # BERT is not fine-tuned: Zhu et al.'s BERT-fused model
        torch.testing.assert_close(value, frozen[key])
    batch = to_batch(arrays, slice(0, 5))
    model.eval()
    with torch.no_grad():
        out = model(batch)
        assert out.shape == ((5, MAX_HALF) if task == "skip" else (5, MAX_HALF, n))
        if task == "sequence":
            assert (model.predict(batch) >= N_SPECIAL).all()
    # drop-net: the mean at evaluation; in training one of the two or their mean
    first, second = torch.zeros(200, 1, 1), torch.ones(200, 1, 1)
    assert torch.equal(drop_net(first, second, 0.5, False), torch.full((200, 1, 1), 0.5))
    mixed = drop_net(first, second, 1.0, True)
    assert set(mixed.flatten().tolist()) == {0.0, 1.0}


def test_early_stopping_keeps_the_best_validation_epoch(data):
    arrays, n, features = data
    train, valid = arrays.subset(slice(0, 60)), arrays.subset(slice(60, None))
    set_seed(1)
    model = RNNSkipModel(n, emb_dim=8, hidden=8, features=features)
    history = fit(model, "skip", train, valid, epochs=30, patience=2, lr=3e-2, batch_size=16, seed=1, eval_train=20)
    kept = history[history.kept]
    assert len(kept) == 1 and kept.val_maa.iloc[0] == history.val_maa.max()
    assert len(history) == kept.epoch.iloc[0] + 2 or len(history) == 30
    # the model holds the kept epoch's weights
    assert evaluate(model, "skip", valid).maa == pytest.approx(kept.val_maa.iloc[0])


def test_the_ceiling_predicts_what_the_simulator_plays():
    playlist = np.array(T[:12])
    library = np.array([T[20], T[21], T[22], T[23], T[24], T[25]])
    ordered = list(playlist[2:10])                     # an in-order playlist from offset 2
    shuffled = [T[5], T[1], T[9], T[0], T[7], T[3]]    # a shuffled playlist
    personal = [T[24], T[20], T[22], T[25]]            # personal picks
    arrays = _arrays([ordered, shuffled, personal])
    knowledge = baselines.SessionKnowledge(
        kind=np.array(["playlist", "shuffle", "personal"], dtype=object),
        playlist=np.stack([playlist, playlist, np.full(12, -1)]), offset=np.array([2, -1, -1]),
        library=np.stack([library] * 3))
    predicted = baselines.ceiling_predictions(arrays, knowledge)
    assert predicted[0, :4].tolist() == ordered[4:]    # the playlist's next tracks, in order
    first = set(shuffled[:3])
    assert set(predicted[1, :3].tolist()) <= set(playlist.tolist()) - first
    assert set(predicted[2, :2].tolist()) <= set(library.tolist()) - set(personal[:2])
    with pytest.raises(ParameterError, match="session kind 'radio'"):
        baselines.ceiling_predictions(arrays.subset(slice(0, 1)), knowledge.subset(slice(0, 1)).__class__(
            np.array(["radio"], dtype=object), knowledge.playlist[:1], knowledge.offset[:1], knowledge.library[:1]))


def test_gru4rec_reads_its_own_sizes_where_the_profile_gives_them():
    from musicrec.models.factory import architecture

    arch = {"emb_dim": 32, "hidden": 64, "dropout": 0.2}
    assert architecture(arch, "gru4rec") == {"emb_dim": 32, "hidden": 64, "dropout": 0.2}
    own = architecture({**arch, "gru4rec_emb_dim": 64, "gru4rec_hidden": 128}, "gru4rec")
    assert own == {"emb_dim": 64, "hidden": 128, "dropout": 0.2}
    assert architecture({**arch, "gru4rec_hidden": 128}, "rnn") == {"emb_dim": 32, "hidden": 64}
