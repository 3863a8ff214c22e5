"""Tables, commands and environment names shared by the benchmark's servers and its client."""

from __future__ import annotations

import os
from typing import Any

import pyarrow
import pyarrow.flight

SMALL_CMD = b"small"
TASK_CMD = b"small-task"
BIG_CMD = b"big"
PUT_CMD = b"drain"

LIBRARY_ENV = "BENCH_FLIGHT_LIBRARY"
BIG_BYTES_ENV = "BENCH_BIG_TABLE_BYTES"

MIB = 1 << 20
GIB = 1 << 30
BATCH_BYTES = 64 * MIB
_COLUMNS = 8
_PATTERN = bytes(range(256))


def small_table() -> pyarrow.Table:
    """The 10-row table every small call returns."""
    ids = list(range(10))
    return pyarrow.table(
        {
            "id": pyarrow.array(ids, pyarrow.int64()),
            "name": pyarrow.array([f"row-{i}" for i in ids], pyarrow.string()),
            "value": pyarrow.array([i * 0.5 for i in ids], pyarrow.float64()),
        }
    )


def _int64_column(pattern: bytes) -> pyarrow.Array[Any]:
    """One int64 column backed by its own copy of pattern (no numpy needed)."""
    data = bytearray(pattern)
    return pyarrow.Array.from_buffers(pyarrow.int64(), len(data) // 8, [None, pyarrow.py_buffer(data)])


def wide_table(total_bytes: int, batch_bytes: int = BATCH_BYTES) -> pyarrow.Table:
    """A table of int64 columns, about total_bytes large, made of batches of batch_bytes."""
    batch_bytes = min(batch_bytes, total_bytes)
    rows = max(32, batch_bytes // (8 * _COLUMNS) // 32 * 32)
    pattern = _PATTERN * (rows * 8 // len(_PATTERN))
    names = [f"c{i}" for i in range(_COLUMNS)]
    batches = [
        pyarrow.record_batch([_int64_column(pattern) for _ in names], names=names)
        for _ in range(max(1, total_bytes // batch_bytes))
    ]
    return pyarrow.Table.from_batches(batches)


def big_table_from_env() -> pyarrow.Table | None:
    """The big DoGet table sized by BENCH_BIG_TABLE_BYTES, or None when that is unset or 0."""
    total = int(os.environ.get(BIG_BYTES_ENV, "0") or "0")
    return wide_table(total) if total > 0 else None


def drain(reader: pyarrow.flight.MetadataRecordBatchReader) -> int:
    """Reads a DoPut stream to its end, discarding the data; returns the bytes seen."""
    seen = 0
    while True:
        try:
            chunk = reader.read_chunk()
        except StopIteration:
            return seen
        if chunk.data is not None:
            seen += chunk.data.nbytes
