"""Metric statistics of `MultiClassHead`.

>>> stats_obj = MulticlassStats(n_classes=3, classes_for_class_based_metrics=(0,),
...                             num_buckets=1024)
>>> stats = stats_obj.update(None, {
...     "logits": np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 2.0]]),
...     "labels": np.array([0, 1])})
>>> metrics = stats_obj.compute(stats)
>>> metrics["accuracy"], metrics["auc/class0"]
(0.5, 1.0)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from heads.stats.base_stats import CurveHistogram, SingleHeadStats, Stats
from heads.stats.curve import curve_metrics
from heads.stats.histogram import (
    DEFAULT_LOGIT_RANGE,
    DEFAULT_NUM_BUCKETS,
    _class_histograms_update,
    bucketize,
    logit_histogram_validate_args,
)
from heads.stats.inputs import (
    binary_labels,
    flatten_logits,
    flatten_per_example,
    flatten_weights,
    invalid,
    validate_batch_keys,
    validate_class_ids,
    validate_n_classes,
    validate_vocabulary,
)
from heads.stats.losses import multiclass_softmax
from heads.stats.metric_keys import StatsMetricKeys
from heads.stats.moments import _weighted_mean_update, safe_divide
from heads.stats.per_class import (
    class_indices,
    class_mean_keys,
    class_num_buckets_or_default,
    per_class_curves,
    per_class_entries,
    validate_curve_classes,
)
from heads.stats.score_counts import (
    DEFAULT_MAX_EXACT_SCORES,
    ScoreCounts,
    validate_max_exact_scores,
)
from heads.stats.sparse_histogram import SparseHistogram

__all__ = ["MulticlassStats"]

_BATCH_KEYS = ("logits", "labels")
_OPTIONAL_BATCH_KEYS = ("weights", "unreduced_loss")


class MulticlassStats(SingleHeadStats):
    """Statistics of `MultiClassHead` metrics, plus optional one-vs-rest per-class curves.

    Batch keys:
        logits: float32/float64 `[D0, ..., DN, n_classes]`.
        labels: int class ids `[D0, ..., DN]` or `[D0, ..., DN, 1]` in `[0, n_classes)`
            (after the head's vocabulary lookup).
        weights: optional float, same shapes as labels; default 1.
        unreduced_loss: optional float, same shapes as labels: the head's per-example loss;
            default: sparse softmax cross-entropy `logsumexp(logits) - logits[label]`.

    Keys: the head's `average_loss` and `accuracy` (labels equal to the argmax, first
    maximum on ties), and the counts. For each class in `classes_for_class_based_metrics`
    (none by default, as in `head.metrics()`) it adds one-vs-rest keys named like the
    multi-label ones: `probability_mean/class<c>`, `auc/class<c>`,
    `auc_precision_recall/class<c>`, `average_precision/class<c>` and the error bounds. The
    one-vs-rest score of class `c` is its softmax probability, histogrammed through its
    log-odds `logit_c - logsumexp(other logits)` (computed in float64 without cancellation);
    its curves are exact, ranked by the float64 probability, while a class has at most
    `max_exact_scores` distinct scores (`heads.stats.score_counts`).

    Memory per accumulator: the per-class histograms are one `SparseHistogram` `[C, 2, N]`,
    16 bytes per cell in use until a quarter of the cells are, then `16 * class_num_buckets`
    bytes per selected class, within 16 MiB for all of them at the default resolution (see
    `default_class_num_buckets`): a small slice holds only what its examples reached.

    Args:
        n_classes: number of classes (>= 3 for the head; 2 is accepted here).
        label_vocabulary: `n_classes` class names for per-class keys, or None.
        name: head name suffixing every key, or None.
        classes_for_class_based_metrics: class ids with one-vs-rest keys.
        num_buckets: the finest per-class histogram resolution (see `class_num_buckets`).
        logit_range: histogram range `[-logit_range, logit_range]` (clamped outside).
        class_num_buckets: resolution of the per-class histograms; default
            `default_class_num_buckets(len(classes_for_class_based_metrics), num_buckets)`.
        max_exact_scores: the most distinct scores a class's curves are exact for (0:
            histograms only).
        curve_classes: the classes among `classes_for_class_based_metrics` with curves
            (`auc/class<c>`, ...); None: all of them. The others get their
            `probability_mean/class<c>` only (see `per_class.MAX_DEFAULT_CLASS_CURVES`).
    """

    def __init__(
        self,
        n_classes: int,
        label_vocabulary: Sequence[str] | None = None,
        name: str | None = None,
        classes_for_class_based_metrics: Sequence[int] | None = (),
        num_buckets: int = DEFAULT_NUM_BUCKETS,
        logit_range: float = DEFAULT_LOGIT_RANGE,
        class_num_buckets: int | None = None,
        max_exact_scores: int = DEFAULT_MAX_EXACT_SCORES,
        curve_classes: Sequence[int] | None = None,
    ) -> None:
        super().__init__(name)
        self._max_exact_scores = validate_max_exact_scores(max_exact_scores)
        self._n_classes = validate_n_classes(n_classes, minimum=2)
        self._vocabulary = validate_vocabulary(label_vocabulary, self._n_classes)
        self._classes = validate_class_ids(classes_for_class_based_metrics, self._n_classes)
        self._curve_classes = validate_curve_classes(curve_classes, self._classes, n_classes)
        self._num_buckets, self._logit_range = logit_histogram_validate_args(
            num_buckets, logit_range
        )
        self._class_num_buckets = class_num_buckets_or_default(
            class_num_buckets, len(self._curve_classes), self._num_buckets
        )
        self._class_index, self._curve_index = class_indices(self._classes, self._curve_classes)

    @property
    def classes(self) -> tuple[int, ...]:
        """The class ids with one-vs-rest statistics, in key order."""
        return self._classes

    @property
    def curve_classes(self) -> tuple[int, ...]:
        """The class ids with one-vs-rest curves (a subset of `classes`), in key order."""
        return self._curve_classes

    def curve_histograms(self, stats: Stats) -> list[CurveHistogram]:
        return per_class_curves(self._curve_classes, stats["class_histograms"])

    def create(self) -> Stats:
        """Empty stats: example count, `[weight, loss, correct]` sums, per-class
        probability sums, one-vs-rest histograms and exact score counts."""
        return {
            "example_count": np.zeros((), dtype=np.int64),
            "moments": np.zeros(3),
            "class_probability_sums": np.zeros(len(self._classes)),
            "class_histograms": SparseHistogram(self._class_num_buckets, len(self._curve_classes)),
            "class_scores": ScoreCounts(len(self._curve_classes), self._max_exact_scores),
        }

    def _prepare(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray | None]:
        batch = validate_batch_keys(batch, _BATCH_KEYS, _OPTIONAL_BATCH_KEYS)
        logits, leading = flatten_logits(batch["logits"], self._n_classes)
        labels = flatten_per_example(batch["labels"], leading, "labels", dtype_kind="i")
        if labels.size and (labels.min() < 0 or labels.max() >= self._n_classes):
            raise ValueError(
                invalid(
                    "labels",
                    f"class ids in [0, {self._n_classes})",
                    f"ids from {labels.min()} to {labels.max()}",
                )
            )
        weights = flatten_weights(batch.get("weights"), leading)
        loss = batch.get("unreduced_loss")
        return {
            "logits": logits,
            "labels": labels,
            "weights": None if weights is None else weights.astype(np.float64),
            "unreduced_loss": None
            if loss is None
            else flatten_per_example(loss, leading, "unreduced_loss"),
        }

    def _add_rows(self, stats: Stats, rows: Mapping[str, np.ndarray | None]) -> None:
        logits, labels, weights = rows["logits"], rows["labels"], rows["weights"]
        loss = rows["unreduced_loss"]
        softmax = multiclass_softmax(
            logits, labels if loss is None else None, self._class_index, self._curve_index
        )
        if loss is None:
            loss = softmax.loss
        correct = softmax.class_ids == labels
        stats["example_count"] += logits.shape[0]
        _weighted_mean_update(stats["moments"], [loss, correct], weights)
        if not self._classes:
            return
        if weights is None:
            stats["class_probability_sums"] += softmax.probabilities.sum(axis=0)
        else:
            stats["class_probability_sums"] += weights @ softmax.probabilities
        if self._curve_classes:
            one_vs_rest = binary_labels(labels[:, None] == self._curve_index[None, :])
            buckets = bucketize(softmax.log_odds, self._class_num_buckets, self._logit_range)
            _class_histograms_update(stats["class_histograms"], buckets, one_vs_rest, weights)
            stats["class_scores"].add(softmax.log_odds, one_vs_rest.positive, weights)

    @functools.cached_property
    def _class_mean_keys(self) -> tuple[str, ...]:
        return class_mean_keys(self._key, self._classes, self._vocabulary)

    def compute(self, stats: Stats) -> dict[str, float]:
        weight, loss_sum, correct_sum = (float(value) for value in stats["moments"])
        key = self._key
        metrics = {
            key(StatsMetricKeys.LOSS_MEAN): float(safe_divide(loss_sum, weight)),
            key(StatsMetricKeys.ACCURACY): float(safe_divide(correct_sum, weight)),
        }
        if self._classes:
            class_own, class_added = per_class_entries(
                key,
                self._classes,
                self._vocabulary,
                safe_divide(stats["class_probability_sums"], weight),
                curve_metrics(stats["class_histograms"], stats["class_scores"]),
                self._curve_classes,
                self._class_mean_keys,
            )
            metrics.update(class_own)
            metrics.update(class_added)
        metrics.update(self._count_metrics(stats, weight))
        return metrics
