"""Metric statistics of `MultiLabelHead`.

>>> stats_obj = MultilabelStats(n_classes=2, classes_for_class_based_metrics=(1,),
...                             num_buckets=1024)
>>> stats = stats_obj.update(None, {
...     "logits": np.array([[1.0, -2.0], [-2.0, 2.0]]),
...     "labels": np.array([[1, 0], [0, 1]])})
>>> metrics = stats_obj.compute(stats)
>>> metrics["auc"], metrics["auc/class1"], metrics["probability_mean/class1"]
(1.0, 1.0, 0.5)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from heads.stats.base_stats import CurveHistogram, SingleHeadStats, Stats
from heads.stats.binary_stats import curve_entries, threshold_entries
from heads.stats.curve import curve_metrics
from heads.stats.histogram import (
    DEFAULT_LOGIT_RANGE,
    DEFAULT_NUM_BUCKETS,
    _class_histograms_update,
    _histogram_add_logits,
    bucketize,
    logit_histogram_validate_args,
)
from heads.stats.inputs import (
    BinaryLabels,
    flatten_binary_labels,
    flatten_logits,
    flatten_per_example,
    flatten_weights,
    validate_batch_keys,
    validate_class_ids,
    validate_n_classes,
    validate_thresholds,
    validate_vocabulary,
)
from heads.stats.losses import _sigmoid, _sigmoid_and_cross_entropy
from heads.stats.metric_keys import StatsMetricKeys
from heads.stats.moments import _weighted_mean_update, safe_divide
from heads.stats.per_class import (
    MAX_DEFAULT_CLASS_CURVES,
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
from heads.stats.threshold_counts import (
    _threshold_counts_compute,
    _threshold_counts_update,
    threshold_predicates,
)

__all__ = ["MAX_DEFAULT_CLASS_CURVES", "MultilabelStats"]

_BATCH_KEYS = ("logits", "labels")
_OPTIONAL_BATCH_KEYS = ("weights", "unreduced_loss")


def _every_class(class_index: np.ndarray, n_classes: int) -> bool:
    """Whether valid class ids (intp `[K]`) are `0, 1, ..., n_classes - 1`, in order."""
    return class_index.size == n_classes and bool(np.all(class_index == np.arange(n_classes)))


class MultilabelStats(SingleHeadStats):
    """Statistics of `MultiLabelHead` metrics, pooled and per class, in one pass.

    Batch keys:
        logits: float32/float64 `[D0, ..., DN, n_classes]`.
        labels: float or int multi-hot `[D0, ..., DN, n_classes]`, values in `[0, 1]`.
        weights: optional float `[D0, ..., DN]` or `[D0, ..., DN, 1]`; default 1.
        unreduced_loss: optional float `[D0, ..., DN]` or `[..., 1]`: the head's per-example
            loss; default: sigmoid cross-entropy averaged over the classes.

    Semantics (Keras, as `head.metrics()`): `auc`, `auc_precision_recall` and the threshold
    keys pool all (example, class) cells, each weighted by its example's weight; the
    threshold accuracy is the weighted fraction of matching cells. Per selected class `c`:
    `probability_mean/class<c>`, `auc/class<c>`, `auc_precision_recall/class<c>` (with a
    label vocabulary the class is named by its string), plus their average precision and
    error bounds. Every curve is exact while it has at most `max_exact_scores` distinct
    scores (`heads.stats.score_counts`), else it comes from its histogram with bounds.

    Memory per accumulator: the per-class histograms are one `SparseHistogram` `[C, 2, N]`
    (16 bytes per cell in use until a quarter of the cells are, so a small slice holds only
    what its examples reached), at most `16 * class_num_buckets` bytes per selected class,
    within 16 MiB for all of them at the default resolution (`default_class_num_buckets`:
    2**16 up to 16 classes, 2**10 for 1,000), plus the pooled histogram, which is not
    stored when every class is selected at the pooled resolution (it is then the sum of
    the class histograms). A batch costs O(batch x classes), never O(histogram size): all
    per-class histograms are updated with one `np.add.at`. Bool (or integer) 0/1 labels
    are used as they are, never copied to float. Measured on one core: about 8 ns per
    (example, class) cell for the pooled metrics and every class's probability mean
    (float32 logits, bool labels, 80 x 100,000 batches; 16 ns before the labels stayed
    bool and the pooled histogram took its index in one pass); per-class histograms add a
    scatter over the accumulator, which is memory-latency bound when it is large (about
    20-40 ns per cell at 1 GiB); a per-batch `bincount` of the histogram's size would cost
    about 1.6 ms per example instead. `compute` finalizes 1,000 classes at 2**16 buckets
    in about a second.

    Args:
        n_classes: number of classes (>= 2).
        thresholds: floats in `(0, 1)` for the pooled threshold keys.
        classes_for_class_based_metrics: class ids in `[0, n_classes)` with per-class keys.
        label_vocabulary: `n_classes` class names for per-class keys, or None.
        name: head name suffixing every key, or None.
        num_buckets: resolution of the pooled AUC histogram.
        logit_range: histogram range `[-logit_range, logit_range]` (clamped outside).
        class_num_buckets: resolution of the per-class histograms; default
            `default_class_num_buckets(len(classes_for_class_based_metrics), num_buckets)`.
        max_exact_scores: the most distinct scores a curve is exact for (0: histograms
            only).
        curve_classes: the classes among `classes_for_class_based_metrics` with per-class
            curves (`auc/class<c>`, ...); None: all of them. The others get their
            `probability_mean/class<c>` only (see `MAX_DEFAULT_CLASS_CURVES`).
    """

    def __init__(
        self,
        n_classes: int,
        thresholds: Sequence[float] | None = (),
        classes_for_class_based_metrics: Sequence[int] | None = (),
        label_vocabulary: Sequence[str] | None = None,
        name: str | None = None,
        num_buckets: int = DEFAULT_NUM_BUCKETS,
        logit_range: float = DEFAULT_LOGIT_RANGE,
        class_num_buckets: int | None = None,
        max_exact_scores: int = DEFAULT_MAX_EXACT_SCORES,
        curve_classes: Sequence[int] | None = None,
    ) -> None:
        super().__init__(name)
        self._max_exact_scores = validate_max_exact_scores(max_exact_scores)
        self._n_classes = validate_n_classes(n_classes, minimum=2)
        self._thresholds = validate_thresholds(thresholds)
        self._classes = validate_class_ids(classes_for_class_based_metrics, self._n_classes)
        self._curve_classes = validate_curve_classes(curve_classes, self._classes, n_classes)
        self._vocabulary = validate_vocabulary(label_vocabulary, self._n_classes)
        self._num_buckets, self._logit_range = logit_histogram_validate_args(
            num_buckets, logit_range
        )
        self._class_num_buckets = class_num_buckets_or_default(
            class_num_buckets, len(self._curve_classes), self._num_buckets
        )
        self._class_index, self._curve_index = class_indices(self._classes, self._curve_classes)
        self._all_classes = _every_class(self._class_index, self._n_classes)
        self._all_curves = (
            self._all_classes
            if self._curve_index is self._class_index
            else _every_class(self._curve_index, self._n_classes)
        )
        self._pooled_from_classes = (
            self._all_curves and self._class_num_buckets == self._num_buckets
        )

    @property
    def classes(self) -> tuple[int, ...]:
        """The class ids with per-class statistics, in key order."""
        return self._classes

    @property
    def curve_classes(self) -> tuple[int, ...]:
        """The class ids with per-class curves (a subset of `classes`), in key order."""
        return self._curve_classes

    def create(self) -> Stats:
        """Empty stats: example count, `[weight, loss]` sums, pooled confusion counts, the
        pooled histogram (unless derived from the class ones), per-class probability sums
        per-class histograms, and the exact score counts (pooled and per class)."""
        stats: Stats = {
            "example_count": np.zeros((), dtype=np.int64),
            "moments": np.zeros(2),
            "confusion_counts": np.zeros((len(self._thresholds) + 1, 3)),
            "class_probability_sums": np.zeros(len(self._classes)),
            "class_histograms": SparseHistogram(self._class_num_buckets, len(self._curve_classes)),
            "scores": ScoreCounts(1, self._max_exact_scores),
            "class_scores": ScoreCounts(len(self._curve_classes), self._max_exact_scores),
        }
        if not self._pooled_from_classes:
            stats["histogram"] = SparseHistogram(self._num_buckets)
        return stats

    def _prepare(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray | None]:
        batch = validate_batch_keys(batch, _BATCH_KEYS, _OPTIONAL_BATCH_KEYS)
        logits, leading = flatten_logits(batch["logits"], self._n_classes)
        labels = flatten_binary_labels(batch["labels"], leading, self._n_classes)
        weights = flatten_weights(batch.get("weights"), leading)
        loss = batch.get("unreduced_loss")
        return {
            "logits": logits,
            "positive": labels.positive,
            # 0/1 labels are their positive mask; soft ones keep their values and the mask
            # of the labels equal to 1.
            "soft_labels": None if labels.hard else labels.values,
            "one": None if labels.hard else labels.one,
            "weights": None if weights is None else weights.astype(np.float64),
            "unreduced_loss": None
            if loss is None
            else flatten_per_example(loss, leading, "unreduced_loss"),
        }

    def _add_rows(self, stats: Stats, rows: Mapping[str, np.ndarray | None]) -> None:
        """Adds a chunk: the sigmoid and the cross-entropy share one `exp` (as in
        `BinaryStats`), the pooled counts and histogram take every (example, class) cell."""
        logits, weights, positive = rows["logits"], rows["weights"], rows["positive"]
        labels = (
            BinaryLabels(positive, positive, positive, True)
            if rows["soft_labels"] is None
            else BinaryLabels(rows["soft_labels"], positive, rows["one"], False)
        )
        loss = rows["unreduced_loss"]
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            if loss is None:
                probabilities, cross_entropy = _sigmoid_and_cross_entropy(labels.values, logits)
                loss = cross_entropy.mean(axis=1)
            else:
                probabilities = _sigmoid(logits)
        stats["example_count"] += logits.shape[0]
        _weighted_mean_update(stats["moments"], [loss], weights)
        predicates = threshold_predicates(probabilities, np.asarray(self._thresholds))
        _threshold_counts_update(stats["confusion_counts"], predicates, labels, weights)
        # The pooled curve's cells: every (example, class), with its example's weight.
        cell_weights = None if weights is None else np.repeat(weights, self._n_classes)
        stats["scores"].add(logits.reshape(-1, 1), positive.reshape(-1, 1), cell_weights)
        if not self._pooled_from_classes:
            _histogram_add_logits(
                stats["histogram"],
                logits.reshape(-1),
                positive.reshape(-1),
                cell_weights,
                self._logit_range,
            )
        if self._classes:
            self._add_classes(stats, logits, labels, weights, probabilities)

    def _add_classes(
        self,
        stats: Stats,
        logits: np.ndarray,
        labels: BinaryLabels,
        weights: np.ndarray | None,
        probabilities: np.ndarray,
    ) -> None:
        if not self._all_classes:
            probabilities = probabilities[:, self._class_index]
        sums = stats["class_probability_sums"]
        if probabilities.shape[0] == 1:  # a chunk of one wide row: no float64 copy of it
            row = probabilities[0]
            np.add(
                sums,
                row if weights is None else np.multiply(row, weights[0], dtype=sums.dtype),
                out=sums,
            )
        elif weights is None:
            sums += probabilities.sum(axis=0, dtype=np.float64)
        else:
            sums += weights @ probabilities.astype(np.float64)
        if not self._curve_classes:
            return
        if not self._all_curves:
            select = self._curve_index
            labels = BinaryLabels(*(part[:, select] for part in labels[:3]), labels.hard)
            logits = logits[:, select]
        buckets = bucketize(logits, self._class_num_buckets, self._logit_range)
        _class_histograms_update(stats["class_histograms"], buckets, labels, weights)
        stats["class_scores"].add(logits, labels.positive, weights)

    @functools.cached_property
    def _class_mean_keys(self) -> tuple[str, ...]:
        return class_mean_keys(self._key, self._classes, self._vocabulary)

    def _pooled_histogram(self, stats: Stats) -> np.ndarray:
        if self._pooled_from_classes:
            return stats["class_histograms"].pooled()
        return stats["histogram"]

    def curve_histograms(self, stats: Stats) -> list[CurveHistogram]:
        pooled = CurveHistogram("", None, self._pooled_histogram(stats))
        return [pooled, *per_class_curves(self._curve_classes, stats["class_histograms"])]

    def compute(self, stats: Stats) -> dict[str, float]:
        weight, loss_sum = (float(value) for value in stats["moments"])
        key = self._key
        pooled = curve_metrics(self._pooled_histogram(stats), stats["scores"])
        own, added = curve_entries(key, pooled)
        metrics = {key(StatsMetricKeys.LOSS_MEAN): float(safe_divide(loss_sum, weight)), **own}
        confusion = _threshold_counts_compute(stats["confusion_counts"])
        metrics.update(threshold_entries(key, self._thresholds, confusion))
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
        metrics.update(added)
        metrics.update(class_added)
        metrics.update(self._count_metrics(stats, weight))
        return metrics
