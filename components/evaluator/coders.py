"""The wire form of the statistics accumulators: pickle, with sparse NumPy arrays.

A slice's accumulator is mostly fine logit histograms (`heads.stats.histogram`: 2**16
buckets per curve, 12.6 MB for the taxi sample's four heads), and a bundle's examples fill
few of their buckets: 1-3% of them for 125,000 taxi examples. Every accumulator a worker
emits crosses the shuffle (Dataflow) or the gRPC data channel between DirectRunner
processes, once per bundle and slice, so `AccumulatorCoder` writes each numeric array whose
non-zero entries take less room than the array as those entries and their flat positions.
Bits are kept exactly (a non-zero bit pattern is an entry, so -0.0 and NaN survive);
everything else is plain pickle.

>>> coder = AccumulatorCoder()
>>> histogram = np.zeros((2, 65536)); histogram[1, 7] = 3.0
>>> encoded = coder.encode({"histogram": histogram, "count": 3.0})
>>> len(encoded) < histogram.nbytes / 1000
True
>>> np.array_equal(coder.decode(encoded)["histogram"], histogram)
True
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import apache_beam as beam
import numpy as np

from tfx_heads.components.evaluator.rows import row_bytes

MIN_SPARSE_SIZE = 256
"""Arrays with fewer entries are pickled as they are."""


def _from_entries(
    shape: tuple[int, ...], dtype: str, positions: np.ndarray, values: np.ndarray
) -> np.ndarray:
    """The dense array of `shape` holding `values` at flat `positions` and zeros elsewhere."""
    array = np.zeros(int(np.prod(shape)), dtype=np.dtype(dtype))
    array[positions] = values
    return array.reshape(shape)


class _SparsePickler(pickle.Pickler):
    """A pickler that writes sparse numeric arrays as `_from_entries(...)` calls."""

    def reducer_override(self, obj: Any) -> Any:
        if (
            type(obj) is not np.ndarray
            or obj.size < MIN_SPARSE_SIZE
            or obj.dtype.kind not in "biuf"
        ):
            return NotImplemented
        flat = np.ascontiguousarray(obj).reshape(-1)
        positions = np.flatnonzero(flat.view(f"u{flat.dtype.itemsize}"))
        index_type = np.uint32 if flat.size <= np.iinfo(np.uint32).max else np.int64
        entry_size = flat.dtype.itemsize + np.dtype(index_type).itemsize
        if positions.size * entry_size >= flat.nbytes:
            return NotImplemented
        return _from_entries, (
            obj.shape,
            obj.dtype.str,
            positions.astype(index_type),
            flat[positions],
        )


class BatchCoder(beam.coders.Coder):
    """Encodes the evaluator's batches and results (pickle), with a size estimate that does
    not encode them.

    Beam estimates the size of the first ten elements of every PCollection, and of about
    seven more each time their count doubles, by encoding them: for batches of wide logits
    (100,000 classes) that pickled hundreds of megabytes per batch only to count them.
    `estimate_size` adds up the bytes of the element's arrays instead (`rows.row_bytes`).
    """

    def encode(self, value: Any) -> bytes:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def decode(self, encoded: bytes) -> Any:
        return pickle.loads(encoded)

    def estimate_size(self, value: Any) -> int:
        return row_bytes(value)

    def is_deterministic(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))


class AccumulatorCoder(BatchCoder):
    """Encodes accumulators (any picklable value) with their sparse arrays compacted."""

    def encode(self, value: Any) -> bytes:
        buffer = io.BytesIO()
        _SparsePickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
        return buffer.getvalue()
