"""Reading TensorFlow (v2-format) checkpoints with the standard library and numpy, without TensorFlow.

A checkpoint ``PREFIX`` is two files:

``PREFIX.index``
    An immutable sorted string table in LevelDB's format (blocks of prefix-compressed key/value
    entries, an index block pointing at the data blocks, a 48-byte footer ending in a magic number).
    The key ``""`` holds a ``BundleHeaderProto``; every other key is a variable name whose value is a
    ``BundleEntryProto``: dtype, shape, shard, byte offset and size of the tensor in the data file.
``PREFIX.data-00000-of-00001``
    The raw tensor bytes, little-endian, row-major (kernels of 2-D convolutions are ``HWIO``).

Only what TensorFlow writes by default is supported: uncompressed blocks, one or more shards, numeric
dtypes. Protocol buffers are decoded by a ~20-line wire-format reader (varints, fixed32/64 and
length-delimited fields), enough for these two messages.

>>> tensors = read_checkpoint("path/to/MSD_vgg/")          # doctest: +SKIP
>>> tensors["model/1CNN/kernel"].shape                    # doctest: +SKIP
(3, 3, 1, 128)
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicrec.errors import ParameterError

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER_SIZE = 5  # one byte compression type + four bytes masked crc32c

#: TensorFlow ``DataType`` enum values -> numpy little-endian dtypes.
TF_DTYPES = {
    1: np.dtype("<f4"),   # DT_FLOAT
    2: np.dtype("<f8"),   # DT_DOUBLE
    3: np.dtype("<i4"),   # DT_INT32
    4: np.dtype("u1"),    # DT_UINT8
    5: np.dtype("<i2"),   # DT_INT16
    6: np.dtype("i1"),    # DT_INT8
    9: np.dtype("<i8"),   # DT_INT64
    10: np.dtype("?"),    # DT_BOOL
    17: np.dtype("<u2"),  # DT_UINT16
    19: np.dtype("<f2"),  # DT_HALF
    22: np.dtype("<u4"),  # DT_UINT32
    23: np.dtype("<u8"),  # DT_UINT64
}


@dataclass(frozen=True)
class TensorEntry:
    """Where one variable lives in the data file(s) (a decoded ``BundleEntryProto``)."""

    name: str
    dtype: int
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int


# -- protocol buffer wire format ---------------------------------------------------------------
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ParameterError("truncated varint in checkpoint index")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes):
    """Yield ``(field_number, wire_type, value)``; length-delimited values are ``bytes``."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        else:
            raise ParameterError(f"unsupported protobuf wire type {wire} in checkpoint index")
        yield number, wire, value


def _shape(buf: bytes) -> tuple[int, ...]:
    dims = []
    for number, _, value in _fields(buf):
        if number == 2:  # repeated Dim dim
            size = next((v for n, _, v in _fields(value) if n == 1), 0)
            dims.append(size - (1 << 64) if size >= 1 << 63 else size)
    return tuple(dims)


def _entry(name: str, buf: bytes) -> TensorEntry:
    fields = {"dtype": 0, "shape": (), "shard_id": 0, "offset": 0, "size": 0}
    for number, _, value in _fields(buf):
        if number == 1:
            fields["dtype"] = value
        elif number == 2:
            fields["shape"] = _shape(value)
        elif number in (3, 4, 5):
            fields[("shard_id", "offset", "size")[number - 3]] = value
        elif number == 7:
            raise ParameterError(f"variable {name!r} is stored in slices, which this reader does not support")
    return TensorEntry(name=name, **fields)


# -- LevelDB-style table -----------------------------------------------------------------------
def _block_handle(buf: bytes, pos: int = 0) -> tuple[int, int, int]:
    offset, pos = _varint(buf, pos)
    size, pos = _varint(buf, pos)
    return offset, size, pos


def _read_block(data: bytes, offset: int, size: int) -> bytes:
    if offset + size + BLOCK_TRAILER_SIZE > len(data):
        raise ParameterError("checkpoint index block points past the end of the file")
    compression = data[offset + size]
    if compression != 0:
        raise ParameterError(f"checkpoint index block is compressed (type {compression}); only "
                             "uncompressed tables are supported")
    return data[offset:offset + size]


def _block_entries(block: bytes):
    """Yield ``(key, value)`` of a block, undoing the prefix compression of the keys."""
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    end = len(block) - 4 * (restarts + 1)
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        length, pos = _varint(block, pos)
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        yield key, block[pos:pos + length]
        pos += length


def _table_entries(data: bytes):
    if len(data) < FOOTER_SIZE:
        raise ParameterError("checkpoint index is shorter than a table footer")
    footer = data[-FOOTER_SIZE:]
    (magic,) = struct.unpack_from("<Q", footer, FOOTER_SIZE - 8)
    if magic != TABLE_MAGIC:
        raise ParameterError(f"not a TensorFlow checkpoint index (magic {magic:#x}, expected {TABLE_MAGIC:#x})")
    _, _, pos = _block_handle(footer)  # metaindex handle (unused)
    index_offset, index_size, _ = _block_handle(footer, pos)
    for _, handle in _block_entries(_read_block(data, index_offset, index_size)):
        offset, size, _ = _block_handle(handle)
        yield from _block_entries(_read_block(data, offset, size))


# -- public API --------------------------------------------------------------------------------
def _index_path(prefix: str | os.PathLike) -> Path:
    prefix = str(prefix)
    path = Path(prefix + ".index")
    if not path.exists():
        raise ParameterError(f"checkpoint index {path} does not exist (prefix {prefix!r}); "
                             "a checkpoint prefix is the path without '.index'")
    return path


def list_entries(prefix: str | os.PathLike) -> dict[str, TensorEntry]:
    """Name -> :class:`TensorEntry` for every tensor in the checkpoint at ``prefix``."""
    data = _index_path(prefix).read_bytes()
    entries, header = {}, None
    for key, value in _table_entries(data):
        if key == b"":
            header = dict((n, v) for n, _, v in _fields(value))
            continue
        name = key.decode()
        entries[name] = _entry(name, value)
    if header is not None and header.get(2, 0) != 0:
        raise ParameterError("checkpoint is big-endian; only little-endian checkpoints are supported")
    return entries


def read_checkpoint(prefix: str | os.PathLike, names=None) -> dict[str, np.ndarray]:
    """Read the tensors of the checkpoint at ``prefix`` (all, or the given ``names``).

    Parameters
    ----------
    prefix : path
        The checkpoint prefix: ``PREFIX.index`` and ``PREFIX.data-0000S-of-0000N`` must exist. For
        musicnn's folders, whose files are named ``.index`` and ``.data-...``, the prefix is the folder
        path with a trailing separator.
    names : iterable of str, optional
        Variables to read; by default every numeric tensor.

    Returns
    -------
    dict of str -> np.ndarray
        Arrays in native byte order with the stored shapes.
    """
    entries = list_entries(prefix)
    if names is None:
        names = [name for name, entry in entries.items() if entry.dtype in TF_DTYPES]
    missing = [name for name in names if name not in entries]
    if missing:
        raise ParameterError(f"checkpoint {prefix} has no variable(s) {missing}; it has {sorted(entries)}")
    shards = 1 + max((entry.shard_id for entry in entries.values()), default=0)
    blobs: dict[int, bytes] = {}
    out = {}
    for name in names:
        entry = entries[name]
        dtype = TF_DTYPES.get(entry.dtype)
        if dtype is None:
            raise ParameterError(f"variable {name!r} has TensorFlow dtype {entry.dtype}, which this reader "
                                 "does not support")
        if entry.shard_id not in blobs:
            path = Path(f"{prefix}.data-{entry.shard_id:05d}-of-{shards:05d}")
            if not path.exists():
                raise ParameterError(f"checkpoint data file {path} does not exist")
            blobs[entry.shard_id] = path.read_bytes()
        blob = blobs[entry.shard_id]
        count = int(np.prod(entry.shape, dtype=np.int64)) if entry.shape else 1
        if count * dtype.itemsize != entry.size or entry.offset + entry.size > len(blob):
            raise ParameterError(f"variable {name!r}: {entry.size} bytes at offset {entry.offset} do not hold "
                                 f"shape {entry.shape} of {dtype}")
        array = np.frombuffer(blob, dtype=dtype, count=count, offset=entry.offset)
        out[name] = array.reshape(entry.shape).astype(dtype.newbyteorder("="))
    return out
