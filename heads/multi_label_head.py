"""Head for multi-label classification: each example has zero or more of n classes."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import tensorflow as tf

from heads import _classes, _config, _host, _losses, _metrics, _validation, _weights
from heads.base_head import SingleHead
from heads.description import HeadDescription
from heads.keys import MetricKeys, PredictionKeys
from heads.stats.metric_keys import class_key, suffixed

_VALID_PREDICTION_KEYS = (
    PredictionKeys.LOGITS,
    PredictionKeys.PROBABILITIES,
    PredictionKeys.CLASSES,
)


class MultiLabelHead(SingleHead):
    """Head for multi-label classification.

    Loss: sigmoid cross-entropy per (example, class) cell, averaged over the classes:
    `[D0, ..., DN, 1]`, then weighted and reduced with `loss_reduction`.

    Logits: float `[D0, ..., DN, n_classes]`. Labels are one of:

    * a dense multi-hot `Tensor` `[D0, ..., DN, n_classes]` with values in `[0, 1]`
      (fractional values are soft targets; used as is even with a vocabulary);
    * an integer `SparseTensor` of class ids in `[0, n_classes)` with dense shape
      `[D0, ..., DN, ?]`;
    * with a `label_vocabulary`, a string `SparseTensor` of class names.

    Weights: `[D0, ..., DN]` or `[D0, ..., DN, 1]` (no per-class weights).

    Predictions: `logits` float32 `[D..., n]`; `probabilities` (sigmoid) float32
    `[D..., n]`; `classes` string `[D0, n]`: every class name (not the predicted ones).

    Metrics: `average_loss`, `auc`, `auc_precision_recall` (pooled over all cells),
    [`regularization_loss`], per threshold `accuracy/positive_threshold_%g`,
    `precision/positive_threshold_%g`, `recall/positive_threshold_%g`, and per class of
    `classes_for_class_based_metrics` `probability_mean/<c>`, `auc/<c>`,
    `auc_precision_recall/<c>` where `<c>` is `class<id>` or the vocabulary name.

    Example (loss = mean(1.31326169, 0.9514133) = 1.13, the mean over classes of the
    sigmoid cross-entropy, averaged over the two examples):

    >>> import numpy as np
    >>> head = MultiLabelHead(n_classes=2)
    >>> logits = np.array([[-1.0, 1.0], [-1.5, 1.5]], dtype=np.float32)
    >>> labels = np.array([[1, 0], [1, 1]], dtype=np.int64)
    >>> print(f"{float(head.loss(labels, logits)):.2f}")
    1.13
    >>> metrics = head.update_metrics(head.metrics(), {}, logits, labels)
    >>> for key in sorted(metrics):
    ...     print(f"{key} : {float(metrics[key].result()):.2f}")
    auc : 0.33
    auc_precision_recall : 0.77
    average_loss : 1.13

    Args:
        n_classes: number of classes, an int >= 2. Here and in `thresholds` and
            `classes_for_class_based_metrics`, a scalar tensor whose value is known (eager,
            or a constant) stands for its value, as in the original.
        weight_column: feature name or `tf.feature_column.numeric_column` of the example
            weights; None for weight 1.
        thresholds: floats in (0, 1); each adds accuracy/precision/recall metrics that
            count `probability > threshold` as positive.
        label_vocabulary: list or tuple of `n_classes` strings, for string sparse labels
            and class names.
        loss_reduction: "sum_over_batch_size" (default), "sum" or "auto".
        loss_fn: optional `loss_fn(labels, logits[, features])` returning the unreduced
            loss `[D..., 1]`; it receives the multi-hot labels `[D..., n_classes]` (int64
            for sparse input, the input dtype for dense input).
        classes_for_class_based_metrics: class ids in `[0, n_classes)` or names from
            `label_vocabulary` (decided by the first element) that get per-class metrics.
        name: optional head name, suffixed to every metric key.

    Raises:
        ValueError: invalid n_classes, threshold, vocabulary, loss_fn, loss_reduction or
            class-based-metrics class.
        TypeError: n_classes is not an integer, or a tensor argument is not a scalar or its
            value is not known.
    """

    prediction_keys: tuple[str, ...] = _VALID_PREDICTION_KEYS
    """Every key `predictions` can return, in order."""

    def __init__(
        self,
        n_classes: int,
        weight_column: str | Any | None = None,
        thresholds: Sequence[float] | None = None,
        label_vocabulary: Sequence[str] | None = None,
        loss_reduction: _losses.LossReduction = "sum_over_batch_size",
        loss_fn: Callable | None = None,
        classes_for_class_based_metrics: Sequence[int | str] | None = None,
        name: str | None = None,
    ):
        n_classes = _validation.concrete_scalar(n_classes, "n_classes")
        if n_classes is None or n_classes < 2:
            raise ValueError(
                f"n_classes must be > 1 for multi-label classification. Given: {n_classes}"
            )
        if not isinstance(n_classes, numbers.Integral) or isinstance(n_classes, bool):
            raise TypeError(f"Invalid `n_classes`: expected an int >= 2; received {n_classes!r}.")
        thresholds = _checked_thresholds(thresholds)
        if label_vocabulary is not None:
            _validation.validate_label_vocabulary_type(label_vocabulary, verb="must be")
            if len(label_vocabulary) != n_classes:
                raise ValueError(
                    f"Length of label_vocabulary must be n_classes ({n_classes}). "
                    f"Given: {len(label_vocabulary)}"
                )
        if loss_fn:
            _losses.validate_loss_fn_args(loss_fn)
        _losses.validate_loss_reduction(loss_reduction)
        if classes_for_class_based_metrics:
            classes_for_class_based_metrics = [
                _validation.concrete_scalar(value, "classes_for_class_based_metrics")
                for value in classes_for_class_based_metrics
            ]
        class_ids = _validation.class_ids_for_metrics(
            classes_for_class_based_metrics, n_classes, label_vocabulary
        )
        self._n_classes = int(n_classes)
        self._weight_column = weight_column
        self._thresholds = thresholds
        self._label_vocabulary = None if label_vocabulary is None else tuple(label_vocabulary)
        self._loss_reduction = loss_reduction
        self._loss_fn = loss_fn
        self._classes_arg = (
            list(classes_for_class_based_metrics) if classes_for_class_based_metrics else None
        )
        self._class_ids = class_ids
        self._name = name
        self._threshold_keys = _metrics.threshold_keys(thresholds, name)
        self._class_keys = _class_metric_keys(class_ids, self._label_vocabulary, name)

    @property
    def logits_dimension(self) -> int:
        return self._n_classes

    def _describe(self) -> HeadDescription:
        return self._description(
            kind="multi_label",
            label_dimension=None,
            n_classes=self._n_classes,
            label_vocabulary=self._label_vocabulary,
            thresholds=tuple(self._thresholds),
            classes_for_class_based_metrics=tuple(self._class_ids),
            loss="custom" if self._loss_fn else "sigmoid_cross_entropy",
            link="sigmoid",
        )

    @property
    def n_classes(self) -> int:
        """The number of classes."""
        return self._n_classes

    @property
    def thresholds(self) -> tuple[float, ...]:
        """The metric thresholds (empty when none)."""
        return self._thresholds

    @property
    def label_vocabulary(self) -> tuple[str, ...] | None:
        """The label vocabulary, or None."""
        return self._label_vocabulary

    @property
    def classes_for_class_based_metrics(self) -> tuple[int, ...]:
        """Class ids with per-class metrics (vocabulary names converted to ids)."""
        return self._class_ids

    @property
    def loss_fn(self) -> Callable | None:
        """The custom loss function, or None for sigmoid cross-entropy."""
        return self._loss_fn

    def _processed_labels(self, logits: tf.Tensor, labels: Any) -> tf.Tensor:
        """Returns multi-hot labels `[D..., n_classes]` (int64 from sparse input)."""
        if labels is None:
            raise ValueError(_validation.LABEL_NONE_ERR_MSG)
        if _validation.is_sparse(labels):
            processed = _classes.sparse_to_multi_hot(
                labels, self._n_classes, self._label_vocabulary
            )
        else:
            labels = tf.convert_to_tensor(labels)
            if labels.dtype == tf.string:
                raise TypeError(
                    "Invalid `labels`: expected a numeric multi-hot Tensor with values in "
                    "[0, 1] (string labels must be a SparseTensor); received dtype string."
                )
            processed = _validation.check_label_range(
                labels,
                2,
                message="labels must be an integer indicator Tensor with values in [0, 1]",
            )
        return _validation.check_dense_labels_match_logits_and_reshape(
            processed, logits, self._n_classes
        )

    def _loss_parts(self, labels, logits, features):
        """Returns checked logits, multi-hot labels, unweighted loss and weights."""
        features = {} if features is None else features
        logits = _validation.check_logits_final_dim(logits, self._n_classes)
        labels = self._processed_labels(logits, labels)
        if self._loss_fn:
            unweighted_loss = _losses.call_loss_fn(self._loss_fn, labels, logits, features, 1)
        else:
            cells = tf.nn.sigmoid_cross_entropy_with_logits(
                labels=tf.cast(labels, tf.float32), logits=logits
            )
            unweighted_loss = tf.reduce_mean(cells, axis=-1, keepdims=True)
        weights = _weights.get_weights_and_check_match_logits(features, self._weight_column, logits)
        return logits, labels, unweighted_loss, weights

    def predictions(self, logits: Any, keys: Sequence[str] | None = None) -> dict:
        keys = _validation.select_prediction_keys(keys, _VALID_PREDICTION_KEYS)
        logits = _validation.check_logits_final_dim(logits, self._n_classes)
        predictions = {}
        if PredictionKeys.LOGITS in keys:
            predictions[PredictionKeys.LOGITS] = logits
        if PredictionKeys.PROBABILITIES in keys:
            predictions[PredictionKeys.PROBABILITIES] = tf.math.sigmoid(logits)
        if PredictionKeys.CLASSES in keys:
            predictions[PredictionKeys.CLASSES] = _classes.all_classes(
                logits, self._n_classes, self._label_vocabulary
            )
        return predictions

    def metrics(
        self, regularization_losses: Sequence[Any] | None = None
    ) -> dict[str, keras.metrics.Metric]:
        keys = MetricKeys
        eval_metrics = {
            self._key(keys.LOSS_MEAN): keras.metrics.Mean(name=keys.LOSS_MEAN),
            self._key(keys.AUC): keras.metrics.AUC(name=keys.AUC),
            self._key(keys.AUC_PR): keras.metrics.AUC(curve="PR", name=keys.AUC_PR),
        }
        _metrics.add_regularization_metric(eval_metrics, regularization_losses, self._name)
        _metrics.add_threshold_metrics(eval_metrics, self._threshold_keys)
        for _, prob_key, auc_key, auc_pr_key in self._class_keys:
            eval_metrics[prob_key] = keras.metrics.Mean(name=prob_key)
            eval_metrics[auc_key] = keras.metrics.AUC(name=auc_key)
            eval_metrics[auc_pr_key] = keras.metrics.AUC(curve="PR", name=auc_pr_key)
        return eval_metrics

    def update_metrics(
        self,
        eval_metrics: dict[str, keras.metrics.Metric],
        features: Mapping[str, Any] | None,
        logits: Any,
        labels: Any,
        regularization_losses: Sequence[Any] | None = None,
    ) -> dict[str, keras.metrics.Metric]:
        keys = MetricKeys
        logits, labels, unweighted_loss, weights = self._loss_parts(labels, logits, features)
        probabilities = tf.math.sigmoid(logits)
        _metrics.update_mean(eval_metrics[self._key(keys.LOSS_MEAN)], unweighted_loss, weights)
        for key in (keys.AUC, keys.AUC_PR):
            _metrics.update_with_labels(
                eval_metrics[self._key(key)], labels, probabilities, weights
            )
        _metrics.update_regularization_metric(eval_metrics, regularization_losses, self._name)
        _metrics.update_threshold_metrics(
            eval_metrics, self._threshold_keys, labels, probabilities, weights
        )
        for class_id, prob_key, auc_key, auc_pr_key in self._class_keys:
            class_probabilities = probabilities[..., class_id : class_id + 1]
            class_labels = labels[..., class_id : class_id + 1]
            _metrics.update_mean(eval_metrics[prob_key], class_probabilities, weights)
            for key in (auc_key, auc_pr_key):
                _metrics.update_with_labels(
                    eval_metrics[key], class_labels, class_probabilities, weights
                )
        return eval_metrics

    def _needs_label_preparation(self, compiled: bool) -> bool:
        return True  # Sparse labels become multi-hot ones.

    def _prepare_labels(self, labels: Any, check_ranges: bool) -> Any:
        """Multi-hot labels from sparse ids or names (each checked); dense labels checked
        to be in [0, 1] when `check_ranges`."""
        if labels is None:
            return labels
        if not _validation.is_sparse(labels):
            labels = tf.convert_to_tensor(labels)
            if labels.dtype == tf.string or not check_ranges:
                return labels
            return _host.checked_range(self, labels, upper=1, inclusive=True)
        values = labels.values
        if values.dtype == tf.string:
            if self._label_vocabulary is None:
                return labels
            ids = _host.vocabulary_ids(self, values, self._label_vocabulary)
        elif values.dtype.is_integer:
            ids = _host.checked_range(self, values, upper=self._n_classes, inclusive=False)
        else:
            return labels
        ids = tf.SparseTensor(labels.indices, tf.cast(ids, tf.int64), labels.dense_shape)
        return tf.cast(tf.sparse.to_indicator(ids, self._n_classes), tf.int64)

    def _device_predictions(self, logits: Any) -> dict:
        return _host.numeric_predictions(self, logits)

    def _string_predictions(self, predictions: Mapping[Any, tf.Tensor]) -> dict:
        probabilities = predictions[PredictionKeys.PROBABILITIES]
        vocabulary = self._label_vocabulary
        return {
            PredictionKeys.CLASSES: _classes.all_classes(probabilities, self._n_classes, vocabulary)
        }

    def get_config(self) -> dict:
        return _config.drop_defaults(
            type(self),
            {
                "n_classes": self._n_classes,
                "weight_column": _config.weight_column_to_config(self._weight_column),
                "thresholds": list(self._thresholds) or None,
                "label_vocabulary": (
                    None if self._label_vocabulary is None else list(self._label_vocabulary)
                ),
                "loss_reduction": self._loss_reduction,
                "loss_fn": _config.callable_to_config(self._loss_fn, "loss_fn"),
                "classes_for_class_based_metrics": self._classes_arg,
                "name": self._name,
            },
        )

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**_config.resolve_callables(config, ("loss_fn",), custom_objects))


def _checked_thresholds(thresholds: Sequence[float] | None) -> tuple[float, ...]:
    """The thresholds as concrete floats, each checked to be in (0, 1)."""
    thresholds = tuple(
        _validation.concrete_scalar(threshold, "thresholds") for threshold in thresholds or ()
    )
    for threshold in thresholds:
        if threshold <= 0.0 or threshold >= 1.0:
            raise ValueError(f"thresholds must be in (0, 1) range. Given: {threshold}")
    return thresholds


def _class_metric_keys(
    class_ids: Sequence[int], vocabulary: tuple[str, ...] | None, name: str | None
) -> list[tuple[int, str, str, str]]:
    """Per class id: the id and its probability-mean, AUC and AUC-PR metric keys."""
    templates = (
        MetricKeys.PROBABILITY_MEAN_AT_CLASS,
        MetricKeys.AUC_AT_CLASS,
        MetricKeys.AUC_PR_AT_CLASS,
    )
    return [
        (
            class_id,
            *(suffixed(class_key(template, class_id, vocabulary), name) for template in templates),
        )
        for class_id in class_ids
    ]
