"""Pretrained music taggers in torch: musicnn's ``MSD_vgg``, ``MSD_musicnn``, ``MTT_vgg`` and ``MTT_musicnn``
(Pons & Serra, 2019).

The weights come from the ISC-licensed PyPI wheel ``musicnn==0.1.0``, which ships TensorFlow-1
checkpoints of taggers trained on the Million Song Dataset's 50 most frequent tags (``MSD_*``) and on
MagnaTagATune's 50 most frequent tags (``MTT_*``: classical, techno, metal, ambient, ...); the MTT
models have the same two graphs as the MSD ones. Its own code needs
TensorFlow and numpy < 1.17, so this module re-implements the two graphs in torch and reads the
checkpoints with :mod:`musicrec.features.tf_checkpoint` (no TensorFlow). ``make setup`` downloads the
wheel (``pip download --no-deps musicnn==0.1.0``) and converts the weights once to torch state dicts
under ``data/musicnn/``; :func:`load_tagger` converts them on first use if only the wheel is there.

Pre-processing follows musicnn: audio at 16 kHz mono; power mel spectrogram with librosa (n_fft 512,
hop 256, 96 bands, centred frames); ``log10(10000 x + 1)``; patches of 187 frames (3 s),
non-overlapping by default. The log-mel is computed in float32 (musicnn casts the mel to float16, which
overflows to inf on loud audio; on quiet audio the two differ by ~5e-5 in the taggram).

Outputs per patch: the 50 tag probabilities (the *taggram*) and, per layer, the activations pooled to
one vector (mean over time and frequency for the conv blocks of ``MSD_vgg``; mean over time for the
front-end and mid-end of ``MSD_musicnn``). A clip's tags and embeddings are the means over its patches.

>>> tagger = load_tagger("msd_vgg")                          # doctest: +SKIP
>>> out = tagger.tag(audio, sr=22050)                        # doctest: +SKIP
>>> out.top_tags(3)                                          # doctest: +SKIP
[('rock', 0.41), ('classic rock', 0.18), ('guitar', 0.15)]
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from musicrec.errors import ParameterError, check_choice
from musicrec.utils import project_path

SR = 16_000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # librosa.time_to_frames(3 s) + 1, as musicnn computes it
PATCH_SECONDS = 3.0
BN_EPS = 1e-3  # TensorFlow's batch-normalisation epsilon

MUSICNN_VERSION = "0.1.0"
WHEEL_NAME = f"musicnn-{MUSICNN_VERSION}-py3-none-any.whl"
#: Where ``make setup`` puts the wheel and the converted state dicts (root-relative).
WEIGHTS_DIR = "data/musicnn"
#: Our model names -> the checkpoint folder inside the wheel.
MODELS = {"msd_vgg": "MSD_vgg", "msd_musicnn": "MSD_musicnn", "mtt_vgg": "MTT_vgg", "mtt_musicnn": "MTT_musicnn"}

MSD_TAGS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock",
    "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk",
    "oldies", "blues", "hard rock", "ambient", "acoustic", "experimental", "female vocalist", "guitar",
    "Hip-Hop", "70s", "party", "country", "easy listening", "sexy", "catchy", "funk", "electro",
    "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad", "House", "happy",
)

MTT_TAGS = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano", "ambient",
    "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing", "vocals", "no vocals",
    "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop", "soft", "sitar", "solo",
    "man", "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello",
    "no voice", "weird", "country", "metal", "female voice", "choral",
)
#: The tag names of each model, in the order of its outputs.
TAGS = {"msd_vgg": MSD_TAGS, "msd_musicnn": MSD_TAGS, "mtt_vgg": MTT_TAGS, "mtt_musicnn": MTT_TAGS}
#: Checkpoint variables that are training state, not weights (Adam's moments and step counters).
TRAINING_STATE = re.compile(r"(/Adam(_1)?$|^beta[12]_power(_\d+)?$|^global_step$)")

HOW_TO_GET = (f"run `make setup`, or `pip download --no-deps musicnn=={MUSICNN_VERSION} -d {WEIGHTS_DIR}` "
              "in the project root and then `python -m musicrec tag --convert`")


class SilenceWarning(UserWarning):
    """The audio given to the tagger is digital silence: its tag probabilities describe nothing."""


# -- pre-processing ----------------------------------------------------------------------------
def logmel(audio: np.ndarray, sr: int = SR, *, float16: bool = False) -> np.ndarray:
    """musicnn's input representation, in float32.

    Parameters
    ----------
    audio : np.ndarray [shape=(n,) or (channels, n)]
        Audio samples; multi-channel audio is averaged to mono.
    sr : int
        Sample rate of ``audio``; resampled to 16 kHz (soxr, as ``librosa.load`` does) if different.
    float16 : bool
        Reproduce musicnn's arithmetic exactly (mel cast to float16, log in float16), for comparisons
        with its outputs only: it overflows to inf when a mel bin exceeds ~6.5 (loud audio).

    Returns
    -------
    np.ndarray [shape=(frames, 96), dtype float32]
        ``log10(10000 * mel_power + 1)``, frames every 256 samples (16 ms).
    """
    import librosa

    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 2:
        audio = librosa.to_mono(audio)
    if audio.ndim != 1:
        raise ParameterError(f"audio must be 1-D (mono) or 2-D (channels, samples), got shape {audio.shape}")
    if sr != SR:
        audio = librosa.resample(audio, orig_sr=sr, target_sr=SR).astype(np.float32)
    mel = librosa.feature.melspectrogram(y=audio, sr=SR, hop_length=HOP, n_fft=N_FFT, n_mels=N_MELS).T
    if float16:
        half = mel.astype(np.float16)
        with np.errstate(over="ignore"):
            return np.log10(np.float16(10000) * half + np.float16(1)).astype(np.float32)
    return np.log10(10000.0 * mel.astype(np.float32) + 1.0).astype(np.float32)


def patch_starts(n_frames: int, *, hop_frames: int = PATCH_FRAMES) -> np.ndarray:
    """First frame of each 187-frame patch, as musicnn slices (a trailing partial patch is dropped)."""
    if n_frames < PATCH_FRAMES:
        seconds = n_frames * HOP / SR
        raise ParameterError(
            f"audio of ~{seconds:.2f} s ({n_frames} frames) is shorter than one {PATCH_SECONDS:.0f}-s patch "
            f"({PATCH_FRAMES} frames); the tagger needs at least {PATCH_SECONDS:.0f} s of audio")
    return np.arange(0, n_frames - PATCH_FRAMES + 1, hop_frames)


def make_patches(mel: np.ndarray, *, overlap: float | None = None) -> np.ndarray:
    """Cut a log-mel ``(frames, 96)`` into patches ``(n, 187, 96)``.

    ``overlap=None`` gives non-overlapping patches (musicnn's default); otherwise ``overlap`` is the hop
    between patch starts in seconds (musicnn's ``input_overlap``, e.g. 1.0).
    """
    if overlap is None:
        hop = PATCH_FRAMES
    else:
        import librosa

        if not (isinstance(overlap, (int, float)) and overlap > 0):
            raise ParameterError(f"overlap={overlap!r} must be a positive number of seconds or None")
        hop = int(librosa.time_to_frames(overlap, sr=SR, n_fft=N_FFT, hop_length=HOP))
        if hop < 1:
            raise ParameterError(f"overlap={overlap!r} s is shorter than one frame hop")
    starts = patch_starts(len(mel), hop_frames=hop)
    return np.stack([mel[s:s + PATCH_FRAMES] for s in starts])


# -- models ------------------------------------------------------------------------------------
def _bn2d(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS)


class MSDVGG(nn.Module):
    """musicnn's ``vgg`` graph: input batch-norm, five blocks of conv 3x3 -> ReLU -> batch-norm -> max-pool,
    a dense layer to 50 logits on the flattened last pool (2 time rows x 128 channels).

    Layout: input ``(batch, 187 frames, 96 mel)``, treated as an image with time as height.
    """

    POOLS = ((4, 1, 2, 2), (2, 2, 2, 2), (2, 2, 2, 2), (2, 2, 2, 2), (4, 4, 4, 4))  # kernel h, w, stride h, w
    LAYERS = ("pool1", "pool2", "pool3", "pool4", "pool5", "taggram")

    def __init__(self, filters: int = 128, n_tags: int = 50):
        super().__init__()
        self.bn_input = _bn2d(1)
        self.convs = nn.ModuleList(nn.Conv2d(1 if i == 0 else filters, filters, 3, padding=1) for i in range(5))
        self.bns = nn.ModuleList(_bn2d(filters) for _ in range(5))
        self.dense = nn.Linear(2 * filters, n_tags)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return ``logits`` and the five pooled feature maps ``pool1..pool5`` ``(batch, C, T, F)``."""
        h = self.bn_input(x.unsqueeze(1))
        out = {}
        for i, (conv, bn, (kh, kw, sh, sw)) in enumerate(zip(self.convs, self.bns, self.POOLS), start=1):
            h = F.max_pool2d(bn(F.relu(conv(h))), (kh, kw), (sh, sw))
            out[f"pool{i}"] = h
        flat = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)  # TF flattens NHWC: (time, freq, channel)
        out["logits"] = self.dense(flat)
        return out

    @staticmethod
    def pooled(out: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One vector per patch and layer: conv blocks averaged over time and frequency; tag probabilities."""
        pooled = {name: out[name].mean(dim=(2, 3)) for name in MSDVGG.LAYERS[:-1]}
        pooled["taggram"] = torch.sigmoid(out["logits"])
        return pooled

    @staticmethod
    def state_dict_from_tf(tf: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        """Map musicnn's checkpoint variables to this module's state dict."""
        state = {}
        _bn_from_tf(state, "bn_input", tf, "batch_normalization")
        for i in range(5):
            state[f"convs.{i}.weight"] = _conv_kernel(tf[f"{i + 1}CNN/kernel"])
            state[f"convs.{i}.bias"] = torch.from_numpy(tf[f"{i + 1}CNN/bias"].copy())
            _bn_from_tf(state, f"bns.{i}", tf, f"batch_normalization_{i + 1}")
        state["dense.weight"] = torch.from_numpy(tf["dense/kernel"].T.copy())
        state["dense.bias"] = torch.from_numpy(tf["dense/bias"].copy())
        return state


def _same_pad(kernel: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding for stride 1: the odd extra row goes after."""
    total = kernel - 1
    return total // 2, total - total // 2


class MSDMusicnn(nn.Module):
    """musicnn's ``build_musicnn`` graph (front-end 7774timbraltemporal, 64-filter dense mid-end,
    200-unit back-end) in torch.

    Front-end: timbral convs of 7 frames x 38 and 67 mel bands (204 filters each) and temporal convs of
    128, 64 and 32 frames x 1 band (51 filters each), each ReLU -> batch-norm -> max over frequency.
    Mid-end: three 7-frame 1-D convs (64 filters) with residual connections. Back-end: max and mean
    over time of the concatenated 753 channels -> batch-norm -> dense 200 (ReLU) -> batch-norm -> dense 50.
    """

    LAYERS = ("timbral", "temporal", "cnn1", "cnn2", "cnn3", "mean_pool", "max_pool", "penultimate", "taggram")

    def __init__(self, n_mels: int = N_MELS, n_tags: int = 50, midend: int = 64, backend: int = 200):
        super().__init__()
        timbral, temporal = int(1.6 * 128), int(1.6 * 32)
        self.bn_input = _bn2d(1)
        self.timbral_widths = (int(0.4 * n_mels), int(0.7 * n_mels))
        self.timbral = nn.ModuleList(nn.Conv2d(1, timbral, (7, w)) for w in self.timbral_widths)
        self.timbral_bn = nn.ModuleList(_bn2d(timbral) for _ in range(2))
        self.temporal_lengths = (128, 64, 32)
        self.temporal = nn.ModuleList(nn.Conv2d(1, temporal, (k, 1)) for k in self.temporal_lengths)
        self.temporal_bn = nn.ModuleList(_bn2d(temporal) for _ in range(3))
        front = 2 * timbral + 3 * temporal
        self.mid = nn.ModuleList(nn.Conv1d(front if i == 0 else midend, midend, 7) for i in range(3))
        self.mid_bn = nn.ModuleList(nn.BatchNorm1d(midend, eps=BN_EPS) for _ in range(3))
        pooled = front + 3 * midend
        self.back_bn = nn.BatchNorm1d(2 * pooled, eps=BN_EPS)
        self.dense = nn.Linear(2 * pooled, backend)
        self.dense_bn = nn.BatchNorm1d(backend, eps=BN_EPS)
        self.out = nn.Linear(backend, n_tags)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.bn_input(x.unsqueeze(1))                         # (B, 1, T, F)
        padded = F.pad(h, (0, 0, 3, 3))
        timbral = [bn(F.relu(conv(padded))).amax(dim=3) for conv, bn in zip(self.timbral, self.timbral_bn)]
        temporal = [bn(F.relu(conv(F.pad(h, (0, 0, *_same_pad(conv.kernel_size[0])))))).amax(dim=3)
                    for conv, bn in zip(self.temporal, self.temporal_bn)]
        front = torch.cat(timbral + temporal, dim=1)             # (B, 561, T)
        c1 = self.mid_bn[0](F.relu(self.mid[0](F.pad(front, (3, 3)))))
        c2 = self.mid_bn[1](F.relu(self.mid[1](F.pad(c1, (3, 3))))) + c1
        c3 = self.mid_bn[2](F.relu(self.mid[2](F.pad(c2, (3, 3))))) + c2
        features = torch.cat([front, c1, c2, c3], dim=1)         # (B, 753, T)
        max_pool, mean_pool = features.amax(dim=2), features.mean(dim=2)
        flat = torch.stack([max_pool, mean_pool], dim=2).reshape(x.shape[0], -1)  # TF order: (channel, stat)
        penultimate = self.dense_bn(F.relu(self.dense(self.back_bn(flat))))
        return {"timbral": torch.cat(timbral, 1), "temporal": torch.cat(temporal, 1), "cnn1": c1, "cnn2": c2,
                "cnn3": c3, "mean_pool": mean_pool, "max_pool": max_pool, "penultimate": penultimate,
                "logits": self.out(penultimate)}

    @staticmethod
    def pooled(out: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One vector per patch and layer: time-varying maps averaged over time; tag probabilities."""
        pooled = {name: out[name].mean(dim=2) for name in ("timbral", "temporal", "cnn1", "cnn2", "cnn3")}
        pooled.update(mean_pool=out["mean_pool"], max_pool=out["max_pool"], penultimate=out["penultimate"],
                      taggram=torch.sigmoid(out["logits"]))
        return pooled

    @staticmethod
    def state_dict_from_tf(tf: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        state = {}
        _bn_from_tf(state, "bn_input", tf, "batch_normalization")
        convs = [f"timbral.{i}" for i in range(2)] + [f"temporal.{i}" for i in range(3)]
        bns = [f"timbral_bn.{i}" for i in range(2)] + [f"temporal_bn.{i}" for i in range(3)]
        for i, (conv, bn) in enumerate(zip(convs, bns)):
            tf_name = "conv2d" if i == 0 else f"conv2d_{i}"
            state[f"{conv}.weight"] = _conv_kernel(tf[f"{tf_name}/kernel"])
            state[f"{conv}.bias"] = torch.from_numpy(tf[f"{tf_name}/bias"].copy())
            _bn_from_tf(state, bn, tf, f"batch_normalization_{i + 1}")
        for i in range(3):
            kernel = tf[f"conv2d_{i + 5}/kernel"]                 # (7, C_in, 1, 64): width spans all channels
            state[f"mid.{i}.weight"] = torch.from_numpy(kernel[:, :, 0, :].transpose(2, 1, 0).copy())
            state[f"mid.{i}.bias"] = torch.from_numpy(tf[f"conv2d_{i + 5}/bias"].copy())
            _bn_from_tf(state, f"mid_bn.{i}", tf, f"batch_normalization_{i + 6}")
        _bn_from_tf(state, "back_bn", tf, "batch_normalization_9")
        state["dense.weight"] = torch.from_numpy(tf["dense/kernel"].T.copy())
        state["dense.bias"] = torch.from_numpy(tf["dense/bias"].copy())
        _bn_from_tf(state, "dense_bn", tf, "batch_normalization_10")
        state["out.weight"] = torch.from_numpy(tf["dense_1/kernel"].T.copy())
        state["out.bias"] = torch.from_numpy(tf["dense_1/bias"].copy())
        return state


def _conv_kernel(kernel: np.ndarray) -> torch.Tensor:
    """TensorFlow HWIO kernel -> torch OIHW."""
    return torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))


def _bn_from_tf(state: dict, prefix: str, tf: dict[str, np.ndarray], tf_name: str) -> None:
    state[f"{prefix}.weight"] = torch.from_numpy(tf[f"{tf_name}/gamma"].copy())
    state[f"{prefix}.bias"] = torch.from_numpy(tf[f"{tf_name}/beta"].copy())
    state[f"{prefix}.running_mean"] = torch.from_numpy(tf[f"{tf_name}/moving_mean"].copy())
    state[f"{prefix}.running_var"] = torch.from_numpy(tf[f"{tf_name}/moving_variance"].copy())
    state[f"{prefix}.num_batches_tracked"] = torch.tensor(0)


ARCHITECTURES = {"msd_vgg": MSDVGG, "msd_musicnn": MSDMusicnn, "mtt_vgg": MSDVGG, "mtt_musicnn": MSDMusicnn}


class _ReadLog(dict):
    """A dict that remembers which keys were read (to prove a conversion used every weight)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


def unused_weights(tf: dict[str, np.ndarray], model: str) -> list[str]:
    """Checkpoint variables (training state aside) that :meth:`state_dict_from_tf` of ``model`` does not read.

    An empty list, together with the strict ``load_state_dict``, means every trained weight found a place
    of the right shape.
    """
    log = _ReadLog(tf)
    ARCHITECTURES[model].state_dict_from_tf(log)
    return sorted(name for name in tf if name not in log.read and not TRAINING_STATE.search(name))


# -- weights -----------------------------------------------------------------------------------
def weights_path(model: str, weights_dir: str | os.PathLike = WEIGHTS_DIR) -> Path:
    """Where the converted state dict of ``model`` is cached."""
    check_choice("model", model, MODELS)
    return project_path(weights_dir) / f"{model}.pt"


def convert_wheel(wheel: str | os.PathLike | None = None, *, weights_dir: str | os.PathLike = WEIGHTS_DIR,
                  models=tuple(MODELS)) -> list[Path]:
    """Read the TensorFlow checkpoints inside the musicnn wheel and save torch state dicts.

    Parameters
    ----------
    wheel : path, optional
        ``musicnn-0.1.0-py3-none-any.whl``; by default looked up in ``weights_dir``.
    weights_dir : path
        Where the state dicts (``msd_vgg.pt``, ``msd_musicnn.pt``, ``mtt_vgg.pt``, ``mtt_musicnn.pt``) are written.
    """
    from musicrec.features.tf_checkpoint import read_checkpoint

    out_dir = project_path(weights_dir)
    wheel = Path(wheel) if wheel is not None else out_dir / WHEEL_NAME
    if not wheel.exists():
        raise ParameterError(f"the musicnn wheel {wheel} does not exist; {HOW_TO_GET}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if wheel.is_dir():
        raise ParameterError(f"the musicnn wheel {wheel} is a folder; {HOW_TO_GET}")
    if not zipfile.is_zipfile(wheel):
        raise ParameterError(f"{wheel} is not a zip archive (a damaged download?); delete it and {HOW_TO_GET}")
    with zipfile.ZipFile(wheel) as archive, tempfile.TemporaryDirectory() as tmp:
        names = set(archive.namelist())
        for model in models:
            folder = f"musicnn/{MODELS[model]}/"
            files = [folder + ".index", folder + ".data-00000-of-00001"]
            missing = [name for name in files if name not in names]
            if missing:
                raise ParameterError(f"{wheel.name} lacks {missing}; is it musicnn=={MUSICNN_VERSION}?")
            for name in files:
                archive.extract(name, tmp)
            tf = read_checkpoint(os.path.join(tmp, folder))  # prefix ends in "/"
            unused = unused_weights(tf, model)
            if unused:
                raise ParameterError(f"{MODELS[model]}: checkpoint variables {unused[:5]} have no place in the graph")
            state = ARCHITECTURES[model].state_dict_from_tf(tf)
            ARCHITECTURES[model]().load_state_dict(state)  # shapes and names must match exactly
            target = weights_path(model, out_dir)
            partial = target.with_suffix(".pt.partial")
            torch.save({"state_dict": state, "tags": list(TAGS[model]), "source": f"{WHEEL_NAME}:{folder}"}, partial)
            os.replace(partial, target)
            written.append(target)
    return written


# -- the tagger --------------------------------------------------------------------------------
@dataclass
class TagOutput:
    """What the tagger says about one clip.

    Attributes
    ----------
    taggram : np.ndarray [shape=(patches, 50)]
        Tag probabilities per 3-s patch.
    embeddings : dict of str -> np.ndarray [shape=(patches, dim)]
        Pooled activations per layer and patch (``taggram`` included).
    tags : tuple of str
        Tag names in column order.
    """

    taggram: np.ndarray
    embeddings: dict[str, np.ndarray]
    tags: tuple[str, ...] = MSD_TAGS
    logmel: np.ndarray | None = field(default=None, repr=False)

    @property
    def mean_tags(self) -> np.ndarray:
        """The clip's tag probabilities: the mean over patches, shape ``(50,)``."""
        return self.taggram.mean(axis=0)

    def clip_embedding(self, layer: str) -> np.ndarray:
        """The clip's vector for ``layer``: the mean over patches."""
        check_choice("layer", layer, self.embeddings)
        return self.embeddings[layer].mean(axis=0)

    def top_tags(self, k: int = 5) -> list[tuple[str, float]]:
        order = np.argsort(-self.mean_tags)[:k]
        return [(self.tags[i], float(self.mean_tags[i])) for i in order]

    def as_dict(self) -> dict[str, float]:
        """``{tag: mean probability}`` in the model's tag order."""
        return {tag: float(p) for tag, p in zip(self.tags, self.mean_tags)}


class Tagger:
    """A loaded musicnn model; see :func:`load_tagger`."""

    def __init__(self, model: str, network: nn.Module, *, device: str | torch.device = "cpu",
                 batch_size: int = 1):
        self.model = check_choice("model", model, MODELS)
        self.network = network.to(device).eval()
        self.device = torch.device(device)
        self.batch_size = int(batch_size)
        self.layers = ARCHITECTURES[model].LAYERS
        self.tags = TAGS[model]

    @torch.inference_mode()
    def forward_patches(self, patches: np.ndarray, *, raw: bool = False) -> dict[str, np.ndarray]:
        """Run the network on patches ``(n, 187, 96)``; pooled layers (or raw outputs if ``raw``)."""
        patches = np.asarray(patches, dtype=np.float32)
        if patches.ndim != 3 or patches.shape[1:] != (PATCH_FRAMES, N_MELS):
            raise ParameterError(f"patches must have shape (n, {PATCH_FRAMES}, {N_MELS}), got {patches.shape}")
        chunks: dict[str, list[np.ndarray]] = {}
        pool = ARCHITECTURES[self.model].pooled
        for start in range(0, len(patches), self.batch_size):
            batch = torch.from_numpy(patches[start:start + self.batch_size]).to(self.device)
            out = self.network(batch)
            out = out if raw else pool(out)
            for name, value in out.items():
                chunks.setdefault(name, []).append(value.cpu().numpy())
        return {name: np.concatenate(values) for name, values in chunks.items()}

    def tag(self, audio: np.ndarray, sr: int = SR, *, overlap: float | None = None,
            keep_logmel: bool = False, float16: bool = False) -> TagOutput:
        """Tag one clip (any sample rate, mono or ``(channels, samples)``); at least 3 s long.

        ``overlap`` is the hop between patches in seconds (``None``: non-overlapping); ``float16``
        reproduces musicnn's float16 log-mel (see :func:`logmel`). Audio with NaN or infinite samples
        raises :class:`ParameterError`; digital silence gives a :class:`SilenceWarning` (its tags say
        nothing about the clip).
        """
        from musicrec.data.audio import check_finite, silence_reason

        audio = check_finite(np.asarray(audio, dtype=np.float32), "the audio to tag")
        reason = silence_reason(audio)
        if reason is not None:
            warnings.warn(f"the audio to tag is {reason}", SilenceWarning, stacklevel=2)
        mel = logmel(audio, sr, float16=float16)
        out = self.forward_patches(make_patches(mel, overlap=overlap))
        return TagOutput(taggram=out["taggram"], embeddings=out, tags=self.tags, logmel=mel if keep_logmel else None)

    def tag_file(self, path: str | os.PathLike, **kwargs) -> TagOutput:
        """Tag an audio file (read with :func:`musicrec.data.audio.load_audio` at 16 kHz)."""
        from musicrec.data.audio import load_audio

        audio, sr = load_audio(path, sr=SR)
        return self.tag(audio, sr, **kwargs)


def load_tagger(model: str = "msd_vgg", *, weights_dir: str | os.PathLike = WEIGHTS_DIR,
                device: str | torch.device = "cpu", batch_size: int = 1) -> Tagger:
    """Load a converted musicnn model (``msd_vgg``, ``msd_musicnn``, ``mtt_vgg`` or ``mtt_musicnn``) in eval mode.

    If the state dict is missing but the wheel is in ``weights_dir``, it is converted first; if both are
    missing, the error says how to get them.
    """
    check_choice("model", model, MODELS)
    path = weights_path(model, weights_dir)
    if not path.exists():
        wheel = project_path(weights_dir) / WHEEL_NAME
        if not wheel.exists():
            raise ParameterError(f"no converted weights {path} and no musicnn wheel {wheel}; {HOW_TO_GET}")
        convert_wheel(wheel, weights_dir=weights_dir, models=(model,))
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        network = ARCHITECTURES[model]()
        network.load_state_dict(saved["state_dict"])
    except (RuntimeError, EOFError, KeyError, TypeError, ValueError, OSError, pickle.UnpicklingError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ParameterError(f"{path} is not a converted {model} state dict ({first}); delete it and "
                             f"convert again: {HOW_TO_GET}") from None
    return Tagger(model, network, device=device, batch_size=batch_size)
