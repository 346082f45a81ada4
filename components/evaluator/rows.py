"""Rows of the evaluator's batches: ragged feature columns, and selecting and joining rows.

A batch is a set of row-aligned arrays (nested dicts of them, or `RaggedColumn`s for parsed
features); `take_rows` cuts rows out of one (rejected examples, a slice's rows),
`concatenate_rows` joins parts back (a slice's rows of several batches), and `row_bytes`
sizes one, for the stages that hold rows by their bytes and for Beam's size estimates
(`coders.BatchCoder`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf


class RaggedColumn(NamedTuple):
    """One parsed feature of a batch: every example's values, concatenated."""

    values: np.ndarray
    """`[V]` values of all examples (int64, float32 or object bytes)."""
    row_splits: np.ndarray
    """int64 `[B + 1]`: example `i` holds `values[row_splits[i]:row_splits[i + 1]]`."""

    @property
    def lengths(self) -> np.ndarray:
        """int64 `[B]`: the number of values of each example."""
        return np.diff(self.row_splits)


def take_rows(values: Any, rows: np.ndarray) -> Any:
    """Selects rows (an int index or bool mask) of an array, tensor, or nested dict of them."""
    if isinstance(values, Mapping):
        return {key: take_rows(value, rows) for key, value in values.items()}
    if isinstance(values, tf.Tensor):
        if rows.dtype == bool:
            return tf.boolean_mask(values, rows)
        return tf.gather(values, rows)
    return values[rows]


def concatenate_rows(parts: Sequence[Any]) -> Any:
    """Joins row-aligned parts (arrays, nested dicts of them, or None) along their rows:
    the inverse of cutting a batch with `take_rows`."""
    if isinstance(parts[0], Mapping):
        return {key: concatenate_rows([part[key] for part in parts]) for key in parts[0]}
    if parts[0] is None:
        return None
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def concatenate_ragged(columns: Sequence[RaggedColumn]) -> RaggedColumn:
    """Joins ragged columns along their rows (each column's row splits shifted by the
    values before it)."""
    if len(columns) == 1:
        return columns[0]
    offsets = np.cumsum([0] + [len(column.values) for column in columns[:-1]])
    splits = [
        column.row_splits[:-1] + offset for column, offset in zip(columns, offsets, strict=True)
    ]
    splits.append(np.array([offsets[-1] + len(columns[-1].values)], np.int64))
    return RaggedColumn(
        np.concatenate([column.values for column in columns]), np.concatenate(splits)
    )


def row_bytes(value: Any) -> int:
    """About the bytes a batch (or any element) holds: its arrays' (object arrays count
    their pointers only; a tensor its elements, at 8 bytes each where they have no fixed
    size, such as strings), texts' and numbers', through mappings, ragged columns, lists,
    tuples and objects' attributes."""
    if value is None:
        return 0
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (bytes, str)):
        return len(value)
    if isinstance(value, Mapping):
        return _items_bytes(value.values(), len(value))
    if isinstance(value, (list, tuple)):  # a RaggedColumn too
        return _items_bytes(value, len(value))
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype"):  # a tensor
        return int(np.prod(shape)) * (getattr(value.dtype, "size", 0) or 8)
    if hasattr(value, "__dict__"):
        return row_bytes(vars(value))
    return 8


_COUNTED_ITEMS = 256
"""A longer list or mapping is estimated from its first items (the metrics of a slice of a
100,000-class head: Beam estimates elements' sizes as they pass)."""


def _items_bytes(items: Iterable[Any], count: int) -> int:
    """`row_bytes` of a collection's items: their sum, scaled from the first
    `_COUNTED_ITEMS` for a longer collection."""
    counted = sum(row_bytes(item) for item in itertools.islice(items, _COUNTED_ITEMS))
    return counted if count <= _COUNTED_ITEMS else counted * count // _COUNTED_ITEMS


def ragged_take_rows(column: RaggedColumn, rows: np.ndarray) -> RaggedColumn:
    """Selects rows (int index `[R]`) of a ragged column, vectorised."""
    starts = column.row_splits[:-1][rows]
    lengths = column.lengths[rows]
    row_splits = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(lengths, out=row_splits[1:])
    offsets = np.arange(row_splits[-1], dtype=np.int64) - np.repeat(row_splits[:-1], lengths)
    return RaggedColumn(column.values[np.repeat(starts, lengths) + offsets], row_splits)
