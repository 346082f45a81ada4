"""`BinaryStats` metrics of many groups of examples (slices) at once, from their rows.

A slice of a hundred examples costs `BinaryStats` (create, update, compute) and its plot a
few hundred microseconds of small NumPy calls, whatever its size: with 10,000 slices that
fixed cost is most of an evaluation. `binary_group_metrics` computes the same metrics for
every group of a set of rows with whole-array work: one weighted `bincount` of (group, cell)
gives every group's confusion counts and sums, and one sort by (group, logit) gives every
group's distinct scores (its exact curve, as `heads.stats.score_counts` keeps them) and its
occupied histogram buckets (its plot, as `heads.stats.sparse_histogram` keeps them).

The values are those of `BinaryStats.compute` on each group's rows, up to the order of
float64 additions (about 1e-16 relative; identical for unit weights, whose sums are exact).
A group whose curve `BinaryStats` would take from its histogram (a NaN logit, or more
distinct scores than `max_exact_scores`) is flagged rather than computed (`exact` False):
the caller computes it with `BinaryStats`.

>>> stats_obj = BinaryStats(thresholds=(0.5,))
>>> groups = binary_group_metrics(stats_obj, {
...     "logits": np.array([[-1.0], [2.0], [0.5], [-3.0], [1.0]]),
...     "labels": np.array([[0.0], [1.0], [0.0], [1.0], [1.0]])}, np.array([0, 0, 0, 0, 1]), 2)
>>> metrics = dict(zip(groups.keys, groups.metrics[0].tolist()))
>>> metrics["accuracy"], metrics["auc"], metrics["example_count"]
(0.5, 0.5, 4.0)
>>> float(groups.metrics[1, groups.keys.index("recall")])
1.0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from heads.stats.binary_stats import BinaryStats
from heads.stats.curve import exact_curves
from heads.stats.histogram import _flat_bucket_index
from heads.stats.moments import safe_divide
from heads.stats.score_counts import sixteen_bit_halves, sortable_bits, stable_radix_order
from heads.stats.threshold_counts import _LABEL_COLUMNS

__all__ = ["GroupMetrics", "binary_group_metrics"]


class GroupMetrics(NamedTuple):
    """The metrics of `G` groups, and the occupied histogram buckets behind their plots."""

    keys: tuple[str, ...]
    """The metric keys, in `BinaryStats.compute` order."""
    metrics: np.ndarray
    """float64 `[G, len(keys)]`."""
    exact: np.ndarray
    """bool `[G]`: False where `BinaryStats` would take the curve from the histogram (its
    row of `metrics` is then not computed)."""
    counts: np.ndarray
    """float64 `[G, 2]`: each group's example count and weighted example count."""
    bucket_starts: np.ndarray
    """int64 `[G + 1]`: group `g`'s occupied buckets are `buckets[starts[g]:starts[g+1]]`."""
    buckets: np.ndarray
    """intp `[K]`: ascending bucket ids within each group (weight not 0 in either row)."""
    negatives: np.ndarray
    """float64 `[K]`: the negative weight of each occupied bucket."""
    positives: np.ndarray
    """float64 `[K]`: the positive weight of each occupied bucket."""


def binary_group_metrics(
    stats_obj: BinaryStats, batch: Mapping[str, Any], groups: np.ndarray, n_groups: int
) -> GroupMetrics:
    """`stats_obj.compute` of each group of the rows of `batch`, computed together.

    Args:
        stats_obj: the head's statistics (its thresholds, histogram and exact-curve budget).
        batch: a `BinaryStats.update` batch (validated as there).
        groups: int `[M]`, the group of each row, in `[0, n_groups)`.
        n_groups: `G`; a group without rows gets `compute` of empty stats.

    Returns:
        `GroupMetrics`.
    """
    rows = stats_obj._prepare(batch)
    logits, weights = rows["logits"], rows["weights"]
    groups = np.asarray(groups, dtype=np.intp).reshape(-1)
    if groups.shape != logits.shape:
        raise ValueError(
            f"Invalid `groups`: expected one group per row, shape {logits.shape}; received "
            f"shape {groups.shape}."
        )
    probabilities, loss, cells = stats_obj._per_example(rows)
    confusion = _confusion_counts(stats_obj, groups, cells, weights, n_groups)
    weight = confusion[:, 0, 0]
    soft = rows["soft_labels"]
    label_sum = confusion[:, 0, 2] if soft is None else _sums(groups, soft, weights, n_groups)
    sums = (
        _sums(groups, loss, weights, n_groups),
        _sums(groups, probabilities, weights, n_groups),
        label_sum,
    )
    sorted_rows = _sorted_rows(groups, rows, n_groups)
    curves, exact = _exact_curves(stats_obj, sorted_rows)
    example_count = np.bincount(groups, minlength=n_groups).astype(np.float64)
    metrics = _metric_rows(confusion, sums, curves, example_count)
    buckets = _occupied_buckets(stats_obj, sorted_rows)
    return GroupMetrics(
        stats_obj._compute_keys,
        metrics,
        exact,
        np.stack([example_count, weight], axis=1),
        *buckets,
    )


def _sums(
    groups: np.ndarray, values: np.ndarray, weights: np.ndarray | None, n_groups: int
) -> np.ndarray:
    """float64 `[G]`: each group's (weighted) sum of `values`."""
    values = values.astype(np.float64)
    if weights is not None:
        values = values * weights
    return np.bincount(groups, values, minlength=n_groups)


def _confusion_counts(
    stats_obj: BinaryStats,
    groups: np.ndarray,
    cells: np.ndarray,
    weights: np.ndarray | None,
    n_groups: int,
) -> np.ndarray:
    """float64 `[G, T + 2, 3]`: each group's `confusion_counts` (see `binary_stats._CountMap`:
    the weight per (level of `logit > 0`, threshold level, label class), summed into the
    all-examples row and one row per predicate)."""
    count_map = stats_obj._count_map
    n_cells = count_map.n_cells
    table = np.bincount(groups * n_cells + cells, weights, minlength=n_groups * n_cells)
    columns = table.reshape((n_groups, *count_map._shape)) @ _LABEL_COLUMNS  # [G, 2, T+1, 3]
    total = columns.sum(axis=(1, 2))
    class_ids = columns[:, 1].sum(axis=1)
    at_least = columns.sum(axis=1)[:, ::-1].cumsum(axis=1)[:, ::-1]
    thresholds = at_least[:, count_map._ranks[1] + 1]
    return np.concatenate((total[:, None], class_ids[:, None], thresholds), axis=1)


def _threshold_metrics(confusion: np.ndarray) -> np.ndarray:
    """float64 `[G, T + 1, 3]`: accuracy, precision and recall of each predicate row of
    `confusion` (`threshold_counts._threshold_counts_compute`, per group)."""
    total, total_positive = confusion[:, :1, 0], confusion[:, :1, 1]
    predicted, true_positives, true_ones = np.moveaxis(confusion[:, 1:], -1, 0)
    false_positives = predicted - true_positives
    true_negatives = (total - total_positive) - false_positives
    accuracy = safe_divide(true_ones + true_negatives, total)
    precision = safe_divide(true_positives, predicted)
    recall = safe_divide(true_positives, total_positive)
    return np.stack([accuracy, precision, recall], axis=-1)


def _metric_rows(
    confusion: np.ndarray, sums: tuple[np.ndarray, ...], curves: np.ndarray, count: np.ndarray
) -> np.ndarray:
    """float64 `[G, K]`: the values of `BinaryStats.compute`, in its key order."""
    loss_sum, prediction_sum, label_sum = sums
    weight = confusion[:, 0, 0]
    at = _threshold_metrics(confusion)
    columns = [
        safe_divide(loss_sum, weight),
        *at[:, 0].T,
        safe_divide(prediction_sum, weight),
        safe_divide(label_sum, weight),
        safe_divide(np.maximum(label_sum, weight - label_sum), weight),
        curves[:, 0],
        curves[:, 2],
        *at[:, 1:].reshape(len(weight), -1).T,
        curves[:, 1],
        curves[:, 3],
        curves[:, 4],
        curves[:, 5],
        count,
        weight,
    ]
    return np.stack(columns, axis=1)


def _run_starts(sorted_groups: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """Where each run of equal (group, value) starts in rows sorted by both."""
    changed = np.empty(sorted_groups.size, dtype=bool)
    changed[:1] = True
    np.not_equal(sorted_groups[1:], sorted_groups[:-1], out=changed[1:])
    changed[1:] |= sorted_values[1:] != sorted_values[:-1]
    return np.flatnonzero(changed)


class _SortedRows(NamedTuple):
    """The rows sorted by group, then logit, with their label-split weights (as
    `ScoreCounts` splits them)."""

    groups: np.ndarray
    logits: np.ndarray
    negatives: np.ndarray
    positives: np.ndarray
    n_groups: int


def _sorted_rows(groups: np.ndarray, rows: Mapping[str, Any], n_groups: int) -> _SortedRows:
    logits, weights = rows["logits"], rows["weights"]
    if logits.dtype == np.float32 and n_groups <= 2**16:  # three 16-bit radix passes
        # A NaN sorts within its group, which BinaryStats takes.
        halves = sixteen_bit_halves(sortable_bits(logits))
        order = stable_radix_order(*halves, groups.astype(np.uint16))
    else:
        order = np.lexsort((logits, groups))
    positive = np.asarray(rows["positive"], dtype=bool)[order]
    if weights is None:
        positives = positive.astype(np.float64)
        negatives = 1.0 - positives
    else:
        weights = weights[order]
        positives = np.where(positive, weights, 0.0)
        negatives = weights - positives
    return _SortedRows(groups[order], logits[order], negatives, positives, n_groups)


def _run_sums(rows: _SortedRows, values: np.ndarray) -> tuple[np.ndarray, ...]:
    """Where each run of equal (group, value) starts in the sorted rows (`values` sorted
    within each group), and its negative and positive weights."""
    starts = _run_starts(rows.groups, values)
    if not starts.size:
        return starts, rows.negatives, rows.positives
    return starts, np.add.reduceat(rows.negatives, starts), np.add.reduceat(rows.positives, starts)


def _exact_curves(stats_obj: BinaryStats, rows: _SortedRows) -> tuple[np.ndarray, np.ndarray]:
    """float64 `[G, 6]` `CurveMetrics` of each group's exact counts, and bool `[G]` whether
    the group has them (no NaN logit, at most `max_exact_scores` distinct scores)."""
    starts, negatives, positives = _run_sums(rows, rows.logits)
    run_groups = rows.groups[starts]
    distinct = np.bincount(run_groups, minlength=rows.n_groups)
    nan = np.bincount(rows.groups, np.isnan(rows.logits), minlength=rows.n_groups) > 0
    exact = (distinct <= stats_obj._max_exact_scores) & ~nan
    if stats_obj._max_exact_scores == 0:
        exact[:] = False
    group_starts = np.searchsorted(run_groups, np.arange(rows.n_groups + 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        curves = np.stack(exact_curves(group_starts, negatives, positives), axis=1)
    return curves, exact


def _occupied_buckets(stats_obj: BinaryStats, rows: _SortedRows) -> tuple[np.ndarray, ...]:
    """`(starts, buckets, negatives, positives)` of each group's occupied histogram buckets
    (`SparseHistogram.occupied`): the logits sorted within each group lie in ascending
    buckets, so each run of one (group, bucket) is one bucket."""
    buckets = _flat_bucket_index(rows.logits, False, stats_obj._num_buckets, stats_obj._logit_range)
    starts, negatives, positives = _run_sums(rows, buckets)
    occupied = (negatives != 0) | (positives != 0)
    starts = starts[occupied]
    group_starts = np.searchsorted(rows.groups[starts], np.arange(rows.n_groups + 1))
    return group_starts, buckets[starts], negatives[occupied], positives[occupied]
