"""The stdlib+numpy TensorFlow checkpoint reader, on checkpoints written here in the same format."""

import struct
from pathlib import Path

import numpy as np
import pytest

from musicrec.errors import ParameterError
from musicrec.features.tf_checkpoint import TABLE_MAGIC, list_entries, read_checkpoint


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, wire: int, payload: bytes | int) -> bytes:
    key = _varint(number << 3 | wire)
    if wire == 0:
        return key + _varint(payload)
    return key + _varint(len(payload)) + payload


def _entry_proto(dtype: int, shape, offset: int, size: int) -> bytes:
    dims = b"".join(_field(2, 2, _field(1, 0, d)) for d in shape)
    return (_field(1, 0, dtype) + _field(2, 2, dims) + _field(4, 0, offset) + _field(5, 0, size)
            + struct.pack("<B", 6 << 3 | 5) + b"\0\0\0\0")  # crc32c field (fixed32), not checked


def _block(entries, restart_every=2) -> bytes:
    """A LevelDB block with prefix-compressed keys and a restart array."""
    out, restarts, previous = bytearray(), [], b""
    for i, (key, value) in enumerate(entries):
        shared = 0
        if i % restart_every:
            while shared < min(len(key), len(previous)) and key[shared] == previous[shared]:
                shared += 1
        else:
            restarts.append(len(out))
        out += _varint(shared) + _varint(len(key) - shared) + _varint(len(value)) + key[shared:] + value
        previous = key
    for r in restarts:
        out += struct.pack("<I", r)
    return bytes(out + struct.pack("<I", len(restarts)))


def write_checkpoint(prefix, tensors: dict[str, np.ndarray], *, blocks: int = 2):
    """Write ``tensors`` (float32/int64) as a TF v2 checkpoint: data file + index table."""
    codes = {np.dtype("float32"): 1, np.dtype("int64"): 9}
    data, entries = bytearray(), [(b"", _field(1, 0, 1))]  # header: num_shards = 1
    for name in sorted(tensors):
        array = np.array(tensors[name], order="C")
        raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
        entries.append((name.encode(), _entry_proto(codes[array.dtype], array.shape, len(data), len(raw))))
        data += raw
    Path(f"{prefix}.data-00000-of-00001").write_bytes(bytes(data))
    table, index_entries = bytearray(), []
    chunk = -(-len(entries) // blocks)
    for start in range(0, len(entries), chunk):
        part = entries[start:start + chunk]
        block = _block(part)
        index_entries.append((part[-1][0], _varint(len(table)) + _varint(len(block))))
        table += block + b"\0" + b"\0\0\0\0"  # trailer: no compression, crc
    meta = _block([])
    meta_handle = _varint(len(table)) + _varint(len(meta))
    table += meta + b"\0\0\0\0\0"
    index = _block(index_entries)
    index_handle = _varint(len(table)) + _varint(len(index))
    table += index + b"\0\0\0\0\0"
    handles = meta_handle + index_handle
    table += handles + b"\0" * (40 - len(handles)) + struct.pack("<Q", TABLE_MAGIC)
    Path(f"{prefix}.index").write_bytes(bytes(table))


@pytest.fixture
def tensors():
    rng = np.random.default_rng(0)
    return {
        "1CNN/kernel": rng.standard_normal((3, 3, 1, 4)).astype(np.float32),
        "1CNN/bias": np.arange(4, dtype=np.float32),
        "batch_normalization/moving_mean": np.array([0.5], dtype=np.float32),
        "batch_normalization/moving_variance": np.array([2.0], dtype=np.float32),
        "dense/kernel": rng.standard_normal((6, 5)).astype(np.float32),
        "global_step": np.array(1234, dtype=np.int64),
    }


def test_reads_back_every_tensor_exactly(tmp_path, tensors):
    write_checkpoint(tmp_path / "model", tensors, blocks=3)
    out = read_checkpoint(str(tmp_path / "model"))
    assert sorted(out) == sorted(tensors)
    for name, array in tensors.items():
        assert out[name].dtype == array.dtype and out[name].shape == array.shape
        np.testing.assert_array_equal(out[name], array)


def test_folder_prefix_as_musicnn_stores_it(tmp_path, tensors):
    folder = tmp_path / "MSD_vgg"
    folder.mkdir()
    write_checkpoint(f"{folder}/", tensors)  # files named ".index" and ".data-00000-of-00001"
    assert (folder / ".index").exists()
    entries = list_entries(f"{folder}/")
    assert entries["dense/kernel"].shape == (6, 5)
    np.testing.assert_array_equal(read_checkpoint(f"{folder}/", ["1CNN/bias"])["1CNN/bias"], tensors["1CNN/bias"])


def test_bad_inputs_are_named(tmp_path, tensors):
    with pytest.raises(ParameterError, match="does not exist"):
        read_checkpoint(tmp_path / "nothing")
    (tmp_path / "junk.index").write_bytes(b"\0" * 64)
    with pytest.raises(ParameterError, match="not a TensorFlow checkpoint index"):
        list_entries(tmp_path / "junk")
    write_checkpoint(tmp_path / "model", tensors)
    with pytest.raises(ParameterError, match="no variable"):
        read_checkpoint(tmp_path / "model", ["missing/kernel"])
    (tmp_path / "model.data-00000-of-00001").write_bytes(b"\0" * 8)
    with pytest.raises(ParameterError, match="do not hold shape"):
        read_checkpoint(tmp_path / "model")
