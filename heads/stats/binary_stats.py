"""Metric statistics of `BinaryClassHead`.

>>> stats_obj = BinaryStats(thresholds=(0.5,), num_buckets=1024)
>>> stats = stats_obj.update(None, {
...     "logits": np.array([[-1.0], [2.0], [0.5], [-3.0]]),
...     "labels": np.array([[0.0], [1.0], [0.0], [1.0]])})
>>> metrics = stats_obj.compute(stats)
>>> metrics["accuracy"], metrics["precision"], metrics["recall"], metrics["auc"]
(0.5, 0.5, 0.5, 0.5)
>>> metrics["accuracy_baseline"], metrics["example_count"]
(0.5, 4.0)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from heads.stats.base_stats import CurveHistogram, SingleHeadStats, Stats
from heads.stats.curve import CurveMetrics, curve_metrics
from heads.stats.histogram import (
    DEFAULT_LOGIT_RANGE,
    DEFAULT_NUM_BUCKETS,
    _histogram_add_logits,
    logit_histogram_validate_args,
)
from heads.stats.inputs import (
    flatten_logits,
    flatten_per_example,
    flatten_weights,
    validate_batch_keys,
    validate_thresholds,
    validate_unit_interval,
)
from heads.stats.losses import _sigmoid, _sigmoid_and_cross_entropy
from heads.stats.metric_keys import StatsMetricKeys, error_bound_key, threshold_key
from heads.stats.moments import ratio, weighted_sums
from heads.stats.score_counts import (
    DEFAULT_MAX_EXACT_SCORES,
    ScoreCounts,
    validate_max_exact_scores,
)
from heads.stats.sparse_histogram import SparseHistogram
from heads.stats.threshold_counts import (
    ThresholdMetrics,
    _add_threshold_levels,
    _threshold_counts_compute,
    cell_dtype,
    label_classes,
    level_counts,
    weighted_cell_counts,
)

__all__ = ["BinaryStats", "curve_entries", "threshold_entries"]

_BATCH_KEYS = ("logits", "labels")
_OPTIONAL_BATCH_KEYS = ("weights", "unreduced_loss")


def curve_entries(
    key: Any,
    curve: CurveMetrics,
    index: int | tuple = (),
    auc_key: str = StatsMetricKeys.AUC,
    auc_pr_key: str = StatsMetricKeys.AUC_PR,
    ap_key: str = StatsMetricKeys.AVERAGE_PRECISION,
) -> tuple[dict[str, float], dict[str, float]]:
    """Splits curve metrics into the head's own keys and the added keys.

    Args:
        key: callable mapping a base key to the full (suffixed) key.
        curve: `CurveMetrics` of scalars or arrays.
        index: position in the arrays of `curve` (for per-class curves).
        auc_key: base key of the ROC AUC (`auc`, `auc/class0`, ...).
        auc_pr_key: base key of the PR AUC.
        ap_key: base key of the average precision.

    Returns:
        `(own, added)`: `{auc, auc_precision_recall}` and `{their error bounds, average
        precision and its bound}`, as Python floats.
    """

    def value(name: str) -> float:
        return float(np.asarray(getattr(curve, name))[index])

    own = {key(auc_key): value("auc"), key(auc_pr_key): value("auc_precision_recall")}
    added = {
        key(error_bound_key(auc_key)): value("auc_error_bound"),
        key(error_bound_key(auc_pr_key)): value("auc_precision_recall_error_bound"),
        key(ap_key): value("average_precision"),
        key(error_bound_key(ap_key)): value("average_precision_error_bound"),
    }
    return own, added


def threshold_entries(
    key: Any, thresholds: Sequence[float], metrics: ThresholdMetrics
) -> dict[str, float]:
    """Returns the accuracy/precision/recall keys of each threshold, in the given order."""
    entries: dict[str, float] = {}
    for position, threshold in enumerate(thresholds):
        entries[key(threshold_key(StatsMetricKeys.ACCURACY_AT_THRESHOLD, threshold))] = float(
            metrics.accuracy[position]
        )
        entries[key(threshold_key(StatsMetricKeys.PRECISION_AT_THRESHOLD, threshold))] = float(
            metrics.precision[position]
        )
        entries[key(threshold_key(StatsMetricKeys.RECALL_AT_THRESHOLD, threshold))] = float(
            metrics.recall[position]
        )
    return entries


_LABEL_CLASSES = 3
"""Label classes of `label_classes`: zero, soft, one."""


class _CountMap:
    """Maps the weights per cell of a chunk to its confusion counts.

    A cell is `label_class + 3 * (level + (T + 1) * class_id)`: `class_id` is `logit > 0`
    and `level` the number of (sorted) thresholds the probability exceeds; the map is
    `level_counts`.
    """

    def __init__(self, ranks: np.ndarray) -> None:
        self._ranks = (np.zeros(1, dtype=np.intp), ranks.astype(np.intp))
        self._shape = (2, len(ranks) + 1, _LABEL_CLASSES)
        self.n_cells = int(np.prod(self._shape))

    def __call__(self, table: np.ndarray) -> np.ndarray:
        """float64 `[T + 2, 3]` counts of a table of `n_cells` weights."""
        return level_counts(table.reshape(self._shape), self._ranks)


class BinaryStats(SingleHeadStats):
    """Statistics of `BinaryClassHead` metrics.

    Batch keys:
        logits: float32/float64 `[D0, ..., DN, 1]` (or `[M]`).
        labels: float `[D0, ..., DN]` or `[D0, ..., DN, 1]`, values in `[0, 1]` (after the
            head's vocabulary lookup).
        weights: optional float, same shapes as labels; default 1.
        unreduced_loss: optional float, same shapes as labels: the head's per-example loss
            (pass it when the head has a custom `loss_fn`); default: sigmoid cross-entropy.

    Semantics (Keras, as `head.metrics()`): `accuracy`, `precision` and `recall` compare the
    labels with `class_ids` (`logit > 0`); the threshold keys compare `sigmoid(logit) > t`
    in the logits' precision (float32 for float32 logits); `accuracy_baseline` is
    `max(p, 1 - p)` of the weighted label mean `p`; AUCs rank the probabilities through
    their logits: exactly while the data have at most `max_exact_scores` distinct scores,
    else from the histogram with error bounds (see `heads.stats.curve`). A soft label (0 < y < 1)
    counts as a positive for precision, recall and the AUCs, never matches for accuracy,
    and enters `label/mean` with its value, as in the original head.

    Speed (one core, benchmarks/metrics_core.py, NumPy 1.26 on AVX2): about 7.5e7
    examples/s with the loss supplied, 5.5e7 with the loss computed and three thresholds
    (18 ns an example: 6.5 for the sigmoid and the loss, 4.5 for the histogram, 3 for
    the confusion counts, 1.5 for the weighted sums, 1.5 for the checks and label classes).

    Memory per accumulator: 16 bytes per histogram cell in use, up to `4 * num_buckets`
    bytes, then `16 * num_buckets` (1 MiB at 2**16; `heads.stats.sparse_histogram`), plus
    the exact counts, 20 bytes a distinct score up to `max_exact_scores`
    (`heads.stats.score_counts`): a slice's statistics grow with its examples.

    Args:
        thresholds: floats in `(0, 1)` for the `.../positive_threshold_%g` keys.
        name: head name suffixing every key, or None.
        num_buckets: AUC histogram resolution.
        logit_range: AUC histogram range `[-logit_range, logit_range]` (clamped outside).
        max_exact_scores: the most distinct scores with exact curves (0: histogram only).
    """

    _LOSS_INDEX = 3

    def __init__(
        self,
        thresholds: Sequence[float] | None = (),
        name: str | None = None,
        num_buckets: int = DEFAULT_NUM_BUCKETS,
        logit_range: float = DEFAULT_LOGIT_RANGE,
        max_exact_scores: int = DEFAULT_MAX_EXACT_SCORES,
    ) -> None:
        super().__init__(name)
        self._thresholds = validate_thresholds(thresholds)
        self._max_exact_scores = validate_max_exact_scores(max_exact_scores)
        self._num_buckets, self._logit_range = logit_histogram_validate_args(
            num_buckets, logit_range
        )
        order = np.argsort(self._thresholds, kind="stable")
        # Compared in the probabilities' dtype (float32 for float32 logits, as in Keras).
        self._sorted_thresholds = {
            dtype: np.asarray(self._thresholds, dtype=dtype)[order]
            for dtype in (np.dtype(np.float32), np.dtype(np.float64))
        }
        self._count_map = _CountMap(np.argsort(order))
        self._cell_dtype = cell_dtype(self._count_map.n_cells)

    @property
    def thresholds(self) -> tuple[float, ...]:
        return self._thresholds

    def create(self) -> Stats:
        """Empty stats: example count, `[weight, label, prediction, loss]` sums, confusion
        counts of `class_ids` and of each threshold, the logit histogram and the exact
        score counts."""
        return {
            "example_count": np.zeros((), dtype=np.int64),
            "moments": np.zeros(4),
            "confusion_counts": np.zeros((len(self._thresholds) + 2, 3)),
            "histogram": SparseHistogram(self._num_buckets),
            "scores": ScoreCounts(1, self._max_exact_scores),
        }

    def _prepare(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray | None]:
        batch = validate_batch_keys(batch, _BATCH_KEYS, _OPTIONAL_BATCH_KEYS)
        logits, leading = flatten_logits(batch["logits"], 1)
        labels = flatten_per_example(batch["labels"], leading, "labels")
        classes, positive, soft = label_classes(labels)
        if soft:  # 0/1 labels need no range check
            validate_unit_interval(labels, "labels")
        weights = flatten_weights(batch.get("weights"), leading)
        loss = batch.get("unreduced_loss")
        return {
            "logits": logits.reshape(-1),
            "labels": labels,
            "label_classes": classes,
            # The histogram row of each example: 0/1 labels are their own mask.
            "positive": positive if soft else labels,
            "soft_labels": labels if soft else None,
            "weights": None if weights is None else weights.astype(np.float64),
            "unreduced_loss": None
            if loss is None
            else flatten_per_example(loss, leading, "unreduced_loss"),
        }

    def _add_rows(self, stats: Stats, rows: Mapping[str, np.ndarray | None]) -> None:
        """Adds a chunk in one pass per quantity (see `_CountMap` for the counts).

        The sigmoid and the loss share one `exp`; every confusion count comes from one
        weighted `bincount` of a small cell id per example; the label sum of 0/1 labels is
        one of those counts.
        """
        logits, weights = rows["logits"], rows["weights"]
        probabilities, loss, cells = self._per_example(rows)
        counts = self._count_map(weighted_cell_counts(cells, weights, self._count_map.n_cells))
        stats["confusion_counts"] += counts
        # counts[0] holds the weight total and the weight of the labels equal to 1, which is
        # the label sum unless some labels are soft.
        soft_labels = rows["soft_labels"]
        values = [probabilities, loss] + ([] if soft_labels is None else [soft_labels])
        sums = weighted_sums(values, weights)
        label_sum = counts[0, 2] if soft_labels is None else sums[2]
        moments = stats["moments"]
        moments[0] += counts[0, 0]
        moments[1] += label_sum
        moments[2:] += sums[:2]
        stats["example_count"] += logits.shape[0]
        _histogram_add_logits(
            stats["histogram"], logits, rows["positive"], weights, self._logit_range
        )
        stats["scores"].add(logits[:, None], rows["positive"][:, None], weights)

    def _per_example(self, rows: Mapping[str, np.ndarray | None]) -> tuple[np.ndarray, ...]:
        """`(probabilities, loss, cells)` of prepared rows: the sigmoid and the loss (the
        supplied `unreduced_loss`, else the cross-entropy) and each example's cell."""
        logits = rows["logits"]
        # One errstate for the whole chunk (entering one costs about 8 us): overflow to inf
        # and NaN propagate as in TensorFlow.
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            loss = rows["unreduced_loss"]
            if loss is None:
                probabilities, loss = _sigmoid_and_cross_entropy(rows["labels"], logits)
            else:
                probabilities = _sigmoid(logits)
            cells = self._cells(logits, probabilities, rows["label_classes"])
        return probabilities, loss, cells

    def _cells(
        self, logits: np.ndarray, probabilities: np.ndarray, classes: np.ndarray
    ) -> np.ndarray:
        """Cell of each example in the count table (see `_CountMap`)."""
        cells = np.greater(logits, 0).view(np.uint8).astype(self._cell_dtype, copy=False)
        if self._thresholds:
            cells *= len(self._thresholds) + 1
            thresholds = self._sorted_thresholds[probabilities.dtype]
            _add_threshold_levels(cells, probabilities, thresholds)
        cells *= _LABEL_CLASSES
        cells += classes
        return cells

    def curve_histograms(self, stats: Stats) -> list[CurveHistogram]:
        return [CurveHistogram("", None, stats["histogram"])]

    @functools.cached_property
    def _compute_keys(self) -> tuple[str, ...]:
        """The keys of `compute`, in order: formatted once, not per slice."""
        keys = StatsMetricKeys
        at_thresholds = [
            threshold_key(template, threshold)
            for threshold in self._thresholds
            for template in (
                keys.ACCURACY_AT_THRESHOLD,
                keys.PRECISION_AT_THRESHOLD,
                keys.RECALL_AT_THRESHOLD,
            )
        ]
        ordered = [
            *(keys.LOSS_MEAN, keys.ACCURACY, keys.PRECISION, keys.RECALL),
            *(keys.PREDICTION_MEAN, keys.LABEL_MEAN, keys.ACCURACY_BASELINE),
            *(keys.AUC, keys.AUC_PR),
            *at_thresholds,
            *(error_bound_key(keys.AUC), error_bound_key(keys.AUC_PR)),
            *(keys.AVERAGE_PRECISION, error_bound_key(keys.AVERAGE_PRECISION)),
            *(keys.EXAMPLE_COUNT, keys.WEIGHTED_EXAMPLE_COUNT),
        ]
        return tuple(self._key(key) for key in ordered)

    def compute(self, stats: Stats) -> dict[str, float]:
        weight, label_sum, prediction_sum, loss_sum = stats["moments"].tolist()
        confusion = _threshold_counts_compute(stats["confusion_counts"])
        accuracy, precision, recall = (
            confusion.accuracy.tolist(),
            confusion.precision.tolist(),
            confusion.recall.tolist(),
        )
        curve = curve_metrics(stats["histogram"], stats["scores"])
        values = [
            ratio(loss_sum, weight),
            accuracy[0],
            precision[0],
            recall[0],
            ratio(prediction_sum, weight),
            ratio(label_sum, weight),
            ratio(max(label_sum, weight - label_sum), weight),
            float(curve.auc),
            float(curve.auc_precision_recall),
        ]
        for position in range(1, len(accuracy)):
            values += (accuracy[position], precision[position], recall[position])
        values += (
            float(curve.auc_error_bound),
            float(curve.auc_precision_recall_error_bound),
            float(curve.average_precision),
            float(curve.average_precision_error_bound),
            float(stats["example_count"]),
            float(weight),
        )
        return dict(zip(self._compute_keys, values, strict=True))
