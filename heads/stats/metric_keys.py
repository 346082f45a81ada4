"""Metric key strings and the rules that build full keys from them.

The strings are defined here once, for both layers: `EstimatorMetricKeys` holds those of
`tf.estimator` 2.15 `MetricKeys` (the keys `Head.metrics` returns; `heads.MetricKeys` is
this class), and `StatsMetricKeys` adds the keys the statistics add beside them:
`average_precision*`, `example_count`, `weighted_example_count` and the `error_bound`
suffix. This module imports nothing, so the statistics layer depends on NumPy only.

Rules, applied in this order:

1. A per-threshold key formats its threshold with `%g` (`0.5` -> `0.5`, `1/3` ->
   `0.333333`); a per-class key uses `class%d` without a label vocabulary and the vocabulary
   string with one.
2. An error-bound key is the key it bounds plus `/error_bound`
   (`auc` -> `auc/error_bound`, `auc/class2` -> `auc/class2/error_bound`).
3. Last, every key of a named head gets `/<name>`, so the head name always ends the key:
   `auc/error_bound/my_head`, `auc/class2/error_bound/my_head`,
   `accuracy/positive_threshold_0.5/my_head`.

>>> suffixed(error_bound_key(class_key(StatsMetricKeys.AUC_AT_CLASS, 2)), "ml")
'auc/class2/error_bound/ml'
>>> suffixed(threshold_key(StatsMetricKeys.PRECISION_AT_THRESHOLD, 1 / 3), None)
'precision/positive_threshold_0.333333'
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ERROR_BOUND_SUFFIX",
    "EstimatorMetricKeys",
    "StatsMetricKeys",
    "class_key",
    "error_bound_key",
    "suffixed",
    "threshold_key",
]

ERROR_BOUND_SUFFIX = "error_bound"
"""Appended (after a `/`) to a curve metric's key to name its guaranteed error bound."""


class EstimatorMetricKeys:
    """The keys of `tf.estimator` 2.15 `MetricKeys`, before the `/<head name>` suffix.

    Keys ending in `%g` are formatted with a threshold (`0.5` -> `0.5`, `1/3` ->
    `0.333333`); keys ending in `%d` with a class id; keys ending in `%s` with a class name
    from the label vocabulary.
    """

    LOSS = "loss"
    LOSS_MEAN = "average_loss"
    LOSS_REGULARIZATION = "regularization_loss"

    ACCURACY = "accuracy"
    PRECISION = "precision"
    RECALL = "recall"
    ACCURACY_BASELINE = "accuracy_baseline"
    AUC = "auc"
    AUC_PR = "auc_precision_recall"
    LABEL_MEAN = "label/mean"
    PREDICTION_MEAN = "prediction/mean"

    ACCURACY_AT_THRESHOLD = "accuracy/positive_threshold_%g"
    PRECISION_AT_THRESHOLD = "precision/positive_threshold_%g"
    RECALL_AT_THRESHOLD = "recall/positive_threshold_%g"
    PRECISION_AT_RECALL = "precision_at_recall_%g"
    RECALL_AT_PRECISION = "recall_at_precision_%g"
    SENSITIVITY_AT_SPECIFICITY = "sensitivity_at_specificity_%g"
    SPECIFICITY_AT_SENSITIVITY = "specificity_at_sensitivity_%g"

    PROBABILITY_MEAN_AT_CLASS = "probability_mean/class%d"
    AUC_AT_CLASS = "auc/class%d"
    AUC_PR_AT_CLASS = "auc_precision_recall/class%d"

    PROBABILITY_MEAN_AT_NAME = "probability_mean/%s"
    AUC_AT_NAME = "auc/%s"
    AUC_PR_AT_NAME = "auc_precision_recall/%s"


class StatsMetricKeys(EstimatorMetricKeys):
    """Base metric keys of the statistics: the estimator's plus the keys added beside them."""

    AVERAGE_PRECISION = "average_precision"
    EXAMPLE_COUNT = "example_count"
    WEIGHTED_EXAMPLE_COUNT = "weighted_example_count"

    AVERAGE_PRECISION_AT_CLASS = "average_precision/class%d"
    AVERAGE_PRECISION_AT_NAME = "average_precision/%s"


_CLASS_TO_NAME_TEMPLATE = {
    StatsMetricKeys.PROBABILITY_MEAN_AT_CLASS: StatsMetricKeys.PROBABILITY_MEAN_AT_NAME,
    StatsMetricKeys.AUC_AT_CLASS: StatsMetricKeys.AUC_AT_NAME,
    StatsMetricKeys.AUC_PR_AT_CLASS: StatsMetricKeys.AUC_PR_AT_NAME,
    StatsMetricKeys.AVERAGE_PRECISION_AT_CLASS: StatsMetricKeys.AVERAGE_PRECISION_AT_NAME,
}


def suffixed(key: str, name: str | None) -> str:
    """`key + "/" + name` when `name` is truthy, else `key` (docs/heads-behaviour.md §3.1)."""
    return f"{key}/{name}" if name else key


def error_bound_key(key: str) -> str:
    """Returns the key of the guaranteed error bound of the metric `key` (unsuffixed)."""
    return f"{key}/{ERROR_BOUND_SUFFIX}"


def threshold_key(template: str, threshold: float) -> str:
    """Formats a `..._AT_THRESHOLD` template with `%g` (docs/heads-behaviour.md §3.2)."""
    return template % threshold


def class_key(template: str, class_id: int, vocabulary: Sequence[str] | None = None) -> str:
    """Formats a `..._AT_CLASS` template for one class.

    Args:
        template: one of the `StatsMetricKeys.*_AT_CLASS` strings.
        class_id: the class id, in `[0, n_classes)`.
        vocabulary: the label vocabulary, or None. With a vocabulary the key names the
            class by its string (`auc/red`), without one by its id (`auc/class0`).

    Returns:
        The per-class key, before the head-name suffix.
    """
    if vocabulary is None:
        return template % class_id
    return _CLASS_TO_NAME_TEMPLATE[template] % vocabulary[class_id]
