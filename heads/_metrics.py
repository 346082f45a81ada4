"""Metric helpers shared by the heads: key suffixes, weighted updates, accuracy baseline.

Every update flattens its inputs (after broadcasting the example weights to them) so that
a Keras 3 metric accumulates plain weighted sums over all elements, exactly like the
Keras 2 metrics the original heads used, whatever the rank of the logits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from heads import _losses, _weights
from heads.keys import MetricKeys
from heads.stats.metric_keys import suffixed, threshold_key


def threshold_keys(thresholds: Sequence[float], head_name: str | None) -> list[tuple]:
    """Returns `(threshold, accuracy_key, precision_key, recall_key)` per threshold."""
    return [
        (
            threshold,
            suffixed(threshold_key(MetricKeys.ACCURACY_AT_THRESHOLD, threshold), head_name),
            suffixed(threshold_key(MetricKeys.PRECISION_AT_THRESHOLD, threshold), head_name),
            suffixed(threshold_key(MetricKeys.RECALL_AT_THRESHOLD, threshold), head_name),
        )
        for threshold in thresholds
    ]


def add_threshold_metrics(eval_metrics: dict, keys: list[tuple]) -> None:
    """Adds BinaryAccuracy, Precision and Recall per threshold, named by their full key."""
    for threshold, accuracy_key, precision_key, recall_key in keys:
        eval_metrics[accuracy_key] = keras.metrics.BinaryAccuracy(
            name=accuracy_key, threshold=threshold
        )
        eval_metrics[precision_key] = keras.metrics.Precision(
            name=precision_key, thresholds=threshold
        )
        eval_metrics[recall_key] = keras.metrics.Recall(name=recall_key, thresholds=threshold)


def update_threshold_metrics(
    eval_metrics: dict, keys: list[tuple], labels: tf.Tensor, scores: tf.Tensor, weights
) -> None:
    """Updates the metrics of `add_threshold_metrics` with labels and probabilities."""
    for _, accuracy_key, precision_key, recall_key in keys:
        for key in (accuracy_key, precision_key, recall_key):
            update_with_labels(eval_metrics[key], labels, scores, weights)


def add_regularization_metric(
    eval_metrics: dict, regularization_losses: Sequence[Any] | None, head_name: str | None
) -> None:
    """Adds the `regularization_loss` Mean when regularization losses are given."""
    if _losses.has_regularization(regularization_losses):
        key = suffixed(MetricKeys.LOSS_REGULARIZATION, head_name)
        eval_metrics[key] = keras.metrics.Mean(name=MetricKeys.LOSS_REGULARIZATION)


def update_regularization_metric(
    eval_metrics: dict, regularization_losses: Sequence[Any] | None, head_name: str | None
) -> None:
    """Updates `regularization_loss` with the (unweighted) sum of the losses.

    Raises:
        KeyError: losses are given but `eval_metrics` has no regularization metric.
    """
    total = _losses.regularization_loss(regularization_losses)
    if total is None:
        return
    key = suffixed(MetricKeys.LOSS_REGULARIZATION, head_name)
    if key not in eval_metrics:
        raise KeyError(
            f"{key}: update_metrics() got regularization_losses but the metrics dict has "
            "no regularization metric; create it with metrics(regularization_losses=...)."
        )
    eval_metrics[key].update_state(total)


def _flat(tensor: tf.Tensor) -> tf.Tensor:
    return tf.reshape(tensor, [-1])


def update_mean(metric: keras.metrics.Metric, values: tf.Tensor, weights: tf.Tensor) -> None:
    """Adds weighted values to a mean-like metric.

    Args:
        metric: `keras.metrics.Mean` (or `AccuracyBaseline`).
        values: numeric `Tensor`, cast to float32.
        weights: float `Tensor` broadcastable to `values`.
    """
    values = tf.cast(values, tf.float32)
    weights = _weights.broadcast_weights(weights, values)
    metric.update_state(_flat(values), sample_weight=_flat(weights))


def update_with_labels(
    metric: keras.metrics.Metric, labels: tf.Tensor, predictions: tf.Tensor, weights: tf.Tensor
) -> None:
    """Updates a `(y_true, y_pred)` metric (accuracy, precision, recall, AUC).

    Args:
        metric: Keras metric taking `update_state(y_true, y_pred, sample_weight)`.
        labels: numeric `Tensor` shaped like `predictions`, cast to float32.
        predictions: numeric `Tensor` (probabilities or class ids), cast to float32.
        weights: float `Tensor` broadcastable to `predictions`.
    """
    predictions = tf.cast(predictions, tf.float32)
    labels = tf.cast(labels, tf.float32)
    weights = _weights.broadcast_weights(weights, predictions)
    metric.update_state(_flat(labels), _flat(predictions), sample_weight=_flat(weights))


@keras.saving.register_keras_serializable(package="heads")
class AccuracyBaseline(keras.metrics.Metric):
    """Accuracy of always predicting the majority class: `max(p, 1 - p)`.

    `p` is the weighted mean of the (binary) labels, accumulated from the same inputs as
    the `label/mean` metric. The value equals the original heads' `accuracy_baseline`
    (`max(total, count - total) / count`, 0 when the weights sum to 0), and since the
    state is two sums it aggregates across replicas like any Keras mean.

    Example:

    >>> m = AccuracyBaseline()
    >>> m.update_state([1.0, 0.0, 1.0, 1.0])
    >>> print(f"{float(m.result()):.2f}")
    0.75
    """

    def __init__(self, name: str = MetricKeys.ACCURACY_BASELINE, dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, values, sample_weight=None):
        """Adds labels in `[0, 1]` with optional weights (broadcast to `values`)."""
        values = tf.reshape(tf.cast(values, self.dtype), [-1])
        if sample_weight is None:
            sample_weight = tf.ones_like(values)
        sample_weight = tf.reshape(
            tf.broadcast_to(tf.cast(sample_weight, self.dtype), tf.shape(values)), [-1]
        )
        self.total.assign_add(tf.reduce_sum(values * sample_weight))
        self.count.assign_add(tf.reduce_sum(sample_weight))

    def result(self):
        total = tf.convert_to_tensor(self.total)
        count = tf.convert_to_tensor(self.count)
        return tf.math.divide_no_nan(tf.maximum(total, count - total), count)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}
