"""Exact weighted confusion counts at fixed thresholds: accuracy, precision, recall.

Semantics follow the Keras metrics the heads use: an example is predicted positive at
threshold `t` when `score > t` (NaN scores never are); for precision and recall a label
counts as positive when it is non-zero (Keras casts `y_true` to bool, so a soft label 0.3
is a positive); for accuracy the prediction (0 or 1) must *equal* the label, so a soft
label is never correct (`BinaryAccuracy`, `Accuracy`).

The state is float64 `[P + 1, 3]` for `P` predicates (usually `score > t` for `P`
thresholds). Row 0 sums over all examples, row `j + 1` over the examples predicted
positive by predicate `j`; the columns hold `sum w`, `sum w * [y != 0]` and
`sum w * [y == 1]`. Every example adds to each row whose predicate holds, so the
counts are exact sets (summed in float64); states merge by elementwise sum. With 2-D scores
`[M, C]` and weights `[M]` every cell counts, weighted by its example's weight (the pooled
multi-label metrics).

>>> m = binary_threshold_metrics(np.array([0.2, 0.6, 0.9]), np.array([0.0, 0.0, 1.0]),
...                              thresholds=(0.5,))
>>> m.precision, m.recall, m.accuracy
(array([0.5]), array([1.]), array([0.66666667]))
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from heads.stats.inputs import BinaryLabels, binary_labels, validate_thresholds

__all__ = [
    "ThresholdMetrics",
    "binary_threshold_metrics",
    "cell_dtype",
    "label_classes",
    "level_counts",
    "threshold_levels",
    "weighted_cell_counts",
    "threshold_counts_validate_args",
    "threshold_predicates",
]


class ThresholdMetrics(NamedTuple):
    """Confusion counts and metrics per threshold: float64 `[T]` arrays."""

    true_positives: np.ndarray
    false_positives: np.ndarray
    true_negatives: np.ndarray
    false_negatives: np.ndarray
    accuracy: np.ndarray
    precision: np.ndarray
    recall: np.ndarray


def threshold_counts_validate_args(thresholds: object) -> tuple[float, ...]:
    """Checks thresholds: a sequence of floats strictly inside `(0, 1)`."""
    return validate_thresholds(thresholds)


def threshold_predicates(scores: np.ndarray, thresholds: np.ndarray) -> list[np.ndarray]:
    """Returns one bool array `scores > t` per threshold (False for NaN scores).

    Args:
        scores: float `[M]` or `[M, C]`.
        thresholds: float `[T]`; the comparison runs in the dtype of `scores` (float32
            probabilities against float32 thresholds, as in Keras).
    """
    thresholds = np.asarray(thresholds, dtype=scores.dtype)
    with np.errstate(invalid="ignore"):
        return [scores > threshold for threshold in thresholds]


def label_classes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Classes of labels in `[0, 1]` for one-pass counting.

    Args:
        values: float `[M]` labels.

    Returns:
        `(classes, positive, soft)`: uint8 `[M]` with 0 for a zero label, 1 for a soft
        (or NaN) label and 2 for a label of exactly 1; bool `[M]` `values != 0`; whether any
        label is soft.
    """
    positive = np.not_equal(values, 0)
    one = np.equal(values, 1)
    soft = np.count_nonzero(positive) != np.count_nonzero(one)
    classes = np.add(positive.view(np.uint8), one.view(np.uint8))
    return classes, positive, soft


def threshold_levels(
    scores: np.ndarray, sorted_thresholds: np.ndarray, dtype: type[np.integer] = np.uint8
) -> np.ndarray:
    """Number of thresholds each score exceeds: `score > t_j` exactly when its level `> j`.

    The comparisons are those of `threshold_predicates` (in the scores' dtype, False for
    NaN); with ascending thresholds they are nested, so one small integer per score holds
    all of them.

    Args:
        scores: float `[M]`.
        sorted_thresholds: ascending float `[T]`, cast to the scores' dtype.
        dtype: integer dtype of the result, wide enough for `T`.

    Returns:
        `dtype` `[M]`, values in `[0, T]`.
    """
    levels = np.zeros(scores.shape, dtype=dtype)
    with np.errstate(invalid="ignore"):
        return _add_threshold_levels(levels, scores, sorted_thresholds)


def _add_threshold_levels(
    levels: np.ndarray, scores: np.ndarray, sorted_thresholds: np.ndarray
) -> np.ndarray:
    """Adds `threshold_levels(scores, sorted_thresholds)` to `levels` in place."""
    above = np.empty(scores.shape, dtype=bool)
    above_count = above.view(np.uint8)
    for threshold in np.asarray(sorted_thresholds, dtype=scores.dtype):
        np.greater(scores, threshold, out=above)
        levels += above_count
    return levels


_LANES = 4
"""Interleaved copies of the table in `weighted_cell_counts`."""

_LANE_BLOCK = 2**16
"""Elements of the cached lane offsets (larger inputs are counted without lanes)."""


def cell_dtype(n_cells: int) -> type[np.integer]:
    """The smallest unsigned dtype for cell ids below `n_cells` plus the lane offsets."""
    if _LANES * n_cells <= 2**8:
        return np.uint8
    if _LANES * n_cells <= 2**16:
        return np.uint16
    return np.intp


@functools.lru_cache(maxsize=8)
def _lane_offsets(n_cells: int, dtype: type[np.integer]) -> np.ndarray:
    offsets = (np.arange(_LANE_BLOCK) % _LANES * n_cells).astype(dtype)
    offsets.flags.writeable = False
    return offsets


def weighted_cell_counts(cells: np.ndarray, weights: np.ndarray | None, n_cells: int) -> np.ndarray:
    """`np.bincount(cells, weights, minlength=n_cells)`, about 1.5 times faster for few cells.

    With few cells, consecutive examples often add to the same cell, and each addition
    waits for the previous one to be stored. Example `i` goes to copy `i % 4` of the table
    instead, so consecutive additions are independent; the copies are summed at the end.

    Args:
        cells: unsigned int `[M]` of `cell_dtype(n_cells)`, values below `n_cells`;
            overwritten.
        weights: float64 `[M]`, or None for weight 1.
        n_cells: the table size.

    Returns:
        float64 `[n_cells]`: the weight (or the number of examples) in each cell.
    """
    if cells.size > _LANE_BLOCK:
        return np.bincount(cells, weights, minlength=n_cells).astype(np.float64)
    cells += _lane_offsets(n_cells, cells.dtype)[: cells.size]
    table = np.bincount(cells, weights, minlength=_LANES * n_cells)
    return table.reshape(_LANES, n_cells).sum(axis=0, dtype=np.float64)


_LABEL_COLUMNS = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
"""Label classes (zero, soft, one) to count columns (weight, positive, label equal to 1)."""


def level_counts(table: np.ndarray, ranks: Sequence[Sequence[int]]) -> np.ndarray:
    """Confusion counts from the weights of examples by predicate level and label class.

    Each of `F` families of nested predicates (for example `score > t` for ascending
    thresholds, counted by `threshold_levels`) gives every example a level; predicate `j`
    of a family holds where the level exceeds `ranks[f][j]`.

    Args:
        table: float64 `[L_1, ..., L_F, 3]`: the weight of the examples with each
            combination of levels and each label class of `label_classes`.
        ranks: per family, the rank of each of its predicates (values below `L_f - 1`).

    Returns:
        float64 `[1 + P, 3]` counts as `_threshold_counts_update` lays them out: the row
        of all examples, then one row per predicate, family by family.
    """
    columns = table @ _LABEL_COLUMNS
    families = table.ndim - 1
    rows = [columns.reshape(-1, 3).sum(axis=0, keepdims=True)]
    for family, family_ranks in enumerate(ranks):
        if not len(family_ranks):
            continue
        others = tuple(axis for axis in range(families) if axis != family)
        at_least = columns.sum(axis=others)[::-1].cumsum(axis=0)[::-1]
        rows.append(at_least[np.asarray(family_ranks, dtype=np.intp) + 1])
    return np.concatenate(rows)


def _weighted_counts(features: list[np.ndarray], weights: np.ndarray | None) -> np.ndarray:
    """Weighted counts of bool features `[M]` or `[M, C]`; returns float64 `[K]`.

    2-D features count their true cells per row first (exact integers), so each cell
    weighs its row's weight.
    """
    if not features:
        return np.zeros(0)
    if weights is None:
        return np.array([np.count_nonzero(feature) for feature in features], dtype=np.float64)
    rows = np.empty((len(features), features[0].shape[0]))
    for row, feature in zip(rows, features, strict=True):
        row[...] = feature if feature.ndim == 1 else np.count_nonzero(feature, axis=1)
    return rows.sum(axis=1) if weights is None else rows @ weights


def _threshold_counts_update(
    counts: np.ndarray | None,
    predicates: list[np.ndarray],
    labels: BinaryLabels,
    weights: np.ndarray | None,
) -> np.ndarray:
    """Adds a batch to threshold counts (in place) and returns them.

    Args:
        counts: float64 `[P + 1, 3]`, or None to start new counts.
        predicates: `P` bool arrays `[M]` or `[M, C]`: the predicted positives at each
            threshold (see `threshold_predicates`).
        labels: `BinaryLabels` of the predicates' shape.
        weights: float64 `[M]` example weights, or None for weight 1.

    Returns:
        float64 `[P + 1, 3]`.
    """
    if counts is None:
        counts = np.zeros((len(predicates) + 1, 3))
    cells = labels.positive.size
    cells_per_example = cells // labels.positive.shape[0] if cells else 0
    total = cells if weights is None else cells_per_example * weights.sum()
    features = [labels.positive] if labels.hard else [labels.positive, labels.one]
    for predicted in predicates:
        features.append(predicted)
        features.append(predicted & labels.positive)
        if not labels.hard:
            features.append(predicted & labels.one)
    sums = _weighted_counts(features, weights)
    if labels.hard:
        # Hard labels: `one` equals `positive`, so its columns repeat the positive ones.
        rows = sums[1:].reshape(-1, 2)
        counts[0] += (total, sums[0], sums[0])
        counts[1:] += rows[:, [0, 1, 1]]
    else:
        counts[0] += (total, sums[0], sums[1])
        counts[1:] += sums[2:].reshape(-1, 3)
    return counts


def _threshold_counts_compute(counts: np.ndarray) -> ThresholdMetrics:
    """Turns `[T + 1, 3]` counts into confusion counts and metrics per threshold.

    Ratios with a zero denominator are 0, as in Keras.
    """
    total, total_positive, _ = counts[0].tolist()
    predicted, true_positives, true_ones = counts[1:].T
    false_positives = predicted - true_positives
    false_negatives = total_positive - true_positives
    true_negatives = (total - total_positive) - false_positives
    # `safe_divide` without its conversions: the numerators are float64 `[T]` arrays.
    ratios = np.zeros((3, predicted.size))
    np.divide(true_ones + true_negatives, total, out=ratios[0], where=total != 0)
    np.divide(true_positives, predicted, out=ratios[1], where=predicted != 0)
    np.divide(true_positives, total_positive, out=ratios[2], where=total_positive != 0)
    return ThresholdMetrics(
        true_positives=true_positives,
        false_positives=false_positives,
        true_negatives=true_negatives,
        false_negatives=false_negatives,
        accuracy=ratios[0],
        precision=ratios[1],
        recall=ratios[2],
    )


def binary_threshold_metrics(
    scores: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray | None = None,
    thresholds: tuple[float, ...] = (0.5,),
) -> ThresholdMetrics:
    """Accuracy, precision and recall of `score > t` for each threshold `t`.

    Args:
        scores: float `[M]` probabilities (any shape is flattened).
        labels: float `[M]`, values in `[0, 1]`.
        weights: float `[M]` example weights, or None for weight 1.
        thresholds: floats in `(0, 1)`.

    Returns:
        `ThresholdMetrics` with `[T]` arrays in the order of `thresholds`.
    """
    thresholds = threshold_counts_validate_args(thresholds)
    scores = np.asarray(scores).reshape(-1)
    if scores.dtype not in (np.float32, np.float64):
        scores = scores.astype(np.float64)
    labels = binary_labels(np.asarray(labels).reshape(-1))
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    predicates = threshold_predicates(scores, np.asarray(thresholds))
    return _threshold_counts_compute(_threshold_counts_update(None, predicates, labels, weights))
