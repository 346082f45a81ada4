"""Weighted histograms of logits (log-odds) split by label: the state of every AUC.

A histogram has `num_buckets` equal buckets on `[-logit_range, logit_range]` for the
negatives (row 0) and the positives (row 1): float64 `[2, num_buckets]`. Bucket `b` holds
the logits in `[-L + b * w, -L + (b + 1) * w)` with `w = 2 L / num_buckets`; logits below
`-L`, `-inf` and NaN fall into bucket 0, logits from `L` up and `+inf` into the last
bucket (edges up to float rounding). Bucketing is a monotone (non-decreasing) function of
the logit, which is all the error bounds of `heads.stats.curve` need.

An example with weight `w` adds `w` to the positive row of its bucket when its label is
non-zero and to the negative row otherwise: like the original heads, whose Keras `AUC`
counted a soft label such as 0.5 as a positive with its full weight (recorded from
TensorFlow 2.15 in the reference vectors, case `multi_label/float_labels`). Histograms merge
by elementwise sum. Per-batch updates cost O(batch), not O(num_buckets): they add into an
existing histogram with `np.add.at` (a float64 scatter-add, about 2 ns an element) instead of
allocating a fresh `bincount` of the histogram's size.

Memory: `2 * num_buckets * 8` bytes per histogram, 1 MiB at the default 2**16 buckets.

>>> h = logit_histogram(np.array([-1.0, 0.5, 3.0]), np.array([0.0, 1.0, 0.5]), num_buckets=4,
...                     logit_range=2.0)
>>> h
array([[0., 1., 0., 0.],
       [0., 0., 1., 1.]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from heads.stats.inputs import (
    BinaryLabels,
    binary_labels,
    validate_logit_range,
    validate_num_buckets,
)
from heads.stats.losses import constant_like
from heads.stats.sparse_histogram import SparseHistogram

__all__ = [
    "DEFAULT_LOGIT_RANGE",
    "DEFAULT_NUM_BUCKETS",
    "bucket_edges",
    "bucketize",
    "logit_histogram",
    "logit_histogram_validate_args",
]

DEFAULT_NUM_BUCKETS = 2**16
DEFAULT_LOGIT_RANGE = 16.0


def logit_histogram_validate_args(num_buckets: int, logit_range: float) -> tuple[int, float]:
    """Checks the histogram resolution and range; returns them as `(int, float)`."""
    return validate_num_buckets(num_buckets), validate_logit_range(logit_range)


def bucket_edges(num_buckets: int, logit_range: float) -> np.ndarray:
    """Returns float64 `[num_buckets + 1]`: the bucket edges on `[-logit_range, logit_range]`."""
    return np.linspace(-logit_range, logit_range, num_buckets + 1)


def bucketize(logits: np.ndarray, num_buckets: int, logit_range: float) -> np.ndarray:
    """Maps logits to bucket ids, clamping outside `[-logit_range, logit_range]`.

    The arithmetic runs in the logits' dtype (float32 stays float32); rounding is monotone,
    so a larger logit never gets a smaller bucket id.

    Args:
        logits: float32 or float64 array of any shape.
        num_buckets: number of buckets `N`.
        logit_range: half-width `L` of the bucketed interval.

    Returns:
        intp array of the shape of `logits`, values in `[0, N)`; NaN maps to 0.
    """
    return _clamped_positions(logits, num_buckets, logit_range).astype(np.intp)


def _clamped_positions(logits: np.ndarray, num_buckets: int, logit_range: float) -> np.ndarray:
    """`logits * N / (2 L) + N / 2` clamped to `[0, N - 1]` (NaN to 0), in the logits' dtype.

    Truncating these positions gives the bucket ids of `bucketize`.
    """
    dtype = logits.dtype.type if logits.dtype in (np.float32, np.float64) else np.float64
    scale = num_buckets / (2.0 * logit_range)
    position = np.multiply(logits, dtype(scale), dtype=dtype)
    position += dtype(num_buckets / 2.0)
    # fmax/fmin return the non-NaN operand, so NaN lands in bucket 0 like -inf.
    np.fmax(position, constant_like(0, position), out=position)
    np.fmin(position, constant_like(num_buckets - 1, position), out=position)
    return position


def _flat_bucket_index(
    logits: np.ndarray, positive: np.ndarray, num_buckets: int, logit_range: float
) -> np.ndarray:
    """`bucketize(logits) + num_buckets * positive`: flat indices into a `[2, N]` histogram.

    The label offset is added to the floored float positions before the one conversion to
    integers (cheaper than adding in intp), where that is exact: always in float64, and in
    float32 while `2 N <= 2**24`.

    Args:
        logits: float `[M]`.
        positive: bool or 0/1 float `[M]`, 1 for the examples of the positive row (0/1
            labels can be passed as they are: a float multiply is cheaper than a bool cast).
        num_buckets: `N`.
        logit_range: `L`.

    Returns:
        intp `[M]`.
    """
    position = _clamped_positions(logits, num_buckets, logit_range)
    if position.dtype == np.float32 and 2 * num_buckets > 2**24:
        index = position.astype(np.intp)
        index += np.asarray(positive, dtype=bool) * num_buckets
        return index
    np.floor(position, out=position)
    offset = np.multiply(positive, position.dtype.type(num_buckets), dtype=position.dtype)
    position += offset
    return position.astype(np.intp)


def _histogram_add(
    flat_histogram: np.ndarray,
    base_index: np.ndarray,
    labels: BinaryLabels,
    weights: np.ndarray | None,
    num_buckets: int,
) -> None:
    """Adds examples into a flattened `[..., 2, N]` histogram in place.

    Args:
        flat_histogram: float64 `[size]`, the raveled histogram, or a `SparseHistogram`
            (updated in place).
        base_index: intp `[M]`, flat index of each example's negative-row bucket; the
            positive-row bucket is `base_index + num_buckets`. Overwritten.
        labels: `BinaryLabels` of shape `[M]`; non-zero labels are positives.
        weights: float64 `[M]`, or None for weight 1.
        num_buckets: `N`, the distance between the two rows.
    """
    offset = labels.positive.astype(np.intp)
    offset *= num_buckets
    base_index += offset
    _scatter_add(flat_histogram, base_index, 1.0 if weights is None else weights)


def _scatter_add(target: Any, index: np.ndarray, weights: np.ndarray | float) -> None:
    """`np.add.at` into a flat dense histogram, or `SparseHistogram.add` (the same sums)."""
    if isinstance(target, SparseHistogram):
        target.add(index, weights)
    else:
        np.add.at(target, index, weights)


def _logit_histogram_update(
    histogram: np.ndarray | None,
    logits: np.ndarray,
    labels: BinaryLabels,
    weights: np.ndarray | None,
    num_buckets: int,
    logit_range: float,
) -> np.ndarray:
    """Adds a batch to a `[2, N]` histogram (in place) and returns it.

    Args:
        histogram: float64 `[2, num_buckets]` to add into, or None for a new one.
        logits: float `[M]`.
        labels: `BinaryLabels` `[M]`.
        weights: float64 `[M]`, or None for weight 1.
        num_buckets: `N`.
        logit_range: `L`.

    Returns:
        float64 `[2, num_buckets]`, the updated histogram.
    """
    if histogram is None:
        histogram = np.zeros((2, num_buckets))
    _histogram_add_logits(histogram, logits, labels.positive, weights, logit_range)
    return histogram


def _histogram_add_logits(
    histogram: np.ndarray,
    logits: np.ndarray,
    positive: np.ndarray,
    weights: np.ndarray | None,
    logit_range: float,
) -> None:
    """Adds a batch to a `[2, N]` histogram in place (as `_logit_histogram_update`).

    Args:
        histogram: float64 `[2, N]`, C-contiguous, or a `SparseHistogram`.
        logits: float `[M]`.
        positive: bool or 0/1 float `[M]`: 1 for the examples of the positive row.
        weights: float64 `[M]`, or None for weight 1.
        logit_range: `L`.
    """
    num_buckets = histogram.shape[-1]
    index = _flat_bucket_index(logits, positive, num_buckets, logit_range)
    target = histogram if isinstance(histogram, SparseHistogram) else histogram.reshape(-1)
    _scatter_add(target, index, 1.0 if weights is None else weights)


def _class_histograms_update(
    histograms: np.ndarray,
    buckets: np.ndarray,
    labels: BinaryLabels,
    weights: np.ndarray | None,
) -> np.ndarray:
    """Adds a batch to per-class histograms `[C, 2, N]` in place (one pass, all classes).

    Args:
        histograms: float64 `[C, 2, N]` or a `SparseHistogram` of that shape, updated in
            place.
        buckets: intp `[M, C]`, the bucket of each example's score for each class.
        labels: `BinaryLabels` `[M, C]` (one-vs-rest labels).
        weights: float64 `[M]` example weights, or None for weight 1.

    Returns:
        `histograms`.
    """
    n_classes, _, num_buckets = histograms.shape
    class_offsets = np.arange(n_classes, dtype=np.intp) * (2 * num_buckets)
    base_index = (buckets + class_offsets).reshape(-1)
    cell_weights = None if weights is None else np.repeat(weights, n_classes)
    flat_labels = BinaryLabels(*(part.reshape(-1) for part in labels[:3]), labels.hard)
    target = histograms if isinstance(histograms, SparseHistogram) else histograms.reshape(-1)
    _histogram_add(target, base_index, flat_labels, cell_weights, num_buckets)
    return histograms


def logit_histogram(
    logits: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray | None = None,
    num_buckets: int = DEFAULT_NUM_BUCKETS,
    logit_range: float = DEFAULT_LOGIT_RANGE,
) -> np.ndarray:
    """Builds the label-split histogram of a set of logits.

    Args:
        logits: float `[M]` (any shape is flattened).
        labels: float `[M]`, values in `[0, 1]`; non-zero labels are positives.
        weights: float `[M]` example weights, or None for weight 1.
        num_buckets: number of buckets `N`.
        logit_range: half-width `L` of the bucketed interval `[-L, L]`.

    Returns:
        float64 `[2, N]`: row 0 the negative weight, row 1 the positive weight per bucket.
    """
    num_buckets, logit_range = logit_histogram_validate_args(num_buckets, logit_range)
    logits = np.asarray(logits).reshape(-1)
    labels = binary_labels(np.asarray(labels).reshape(-1))
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    return _logit_histogram_update(None, logits, labels, weights, num_buckets, logit_range)
