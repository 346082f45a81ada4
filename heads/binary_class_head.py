"""Head for single-label binary classification (sigmoid cross-entropy)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import tensorflow as tf

from heads import _classes, _config, _host, _losses, _metrics, _softmax, _validation, _weights
from heads.base_head import SingleHead
from heads.description import HeadDescription
from heads.keys import MetricKeys, PredictionKeys

_VALID_PREDICTION_KEYS = (
    PredictionKeys.LOGITS,
    PredictionKeys.LOGISTIC,
    PredictionKeys.PROBABILITIES,
    PredictionKeys.CLASS_IDS,
    PredictionKeys.CLASSES,
    PredictionKeys.ALL_CLASS_IDS,
    PredictionKeys.ALL_CLASSES,
)


class BinaryClassHead(SingleHead):
    """Head for single-label binary classification.

    Loss: `sigmoid_cross_entropy_with_logits` per example, `[D0, ..., DN, 1]`, then
    weighted and reduced with `loss_reduction`.

    Logits: float `[D0, ..., DN, 1]`. Labels: dense `[D0, ..., DN, 1]` (or
    `[D0, ..., DN]`); numbers in `[0, 1]` (fractional values are soft targets), or, with a
    `label_vocabulary`, strings from it (mapped to their index; only indices 0 and 1 are
    valid). Weights (`weight_column`): `[D0, ..., DN]` or `[D0, ..., DN, 1]`.

    Predictions: `logits` float32 `[D..., 1]`; `logistic` = sigmoid, float32 `[D..., 1]`;
    `probabilities` = `[1 - p, p]`, float32 `[D..., 2]`; `class_ids` int64 `[D..., 1]`
    (1 iff logit > 0); `classes` string `[D..., 1]`; `all_class_ids` int32 `[D0, 2]`;
    `all_classes` string `[D0, len(vocabulary) or 2]`.

    Metrics: `average_loss`, `accuracy`, `precision`, `recall`, `prediction/mean`,
    `label/mean`, `accuracy_baseline`, `auc`, `auc_precision_recall`,
    [`regularization_loss`], and per threshold `accuracy/positive_threshold_%g`,
    `precision/positive_threshold_%g`, `recall/positive_threshold_%g`.

    Example (loss = (0 + 41) / 2 = 20.5: the first example is right with a huge margin,
    the second wrong by a logit of 41):

    >>> import numpy as np
    >>> head = BinaryClassHead()
    >>> logits = np.array([[45.0], [-41.0]], dtype=np.float32)
    >>> labels = np.array([[1], [1]], dtype=np.int32)
    >>> print(f"{float(head.loss(labels, logits)):.2f}")
    20.50
    >>> metrics = head.update_metrics(head.metrics(), {}, logits, labels)
    >>> for key in sorted(metrics):
    ...     print(f"{key} : {float(metrics[key].result()):.2f}")
    accuracy : 0.50
    accuracy_baseline : 1.00
    auc : 0.00
    auc_precision_recall : 1.00
    average_loss : 20.50
    label/mean : 1.00
    precision : 1.00
    prediction/mean : 0.50
    recall : 0.50
    >>> head.predictions(logits)["class_ids"].numpy().tolist()
    [[1], [0]]

    Args:
        weight_column: feature name (`str`) or `tf.feature_column.numeric_column` of the
            example weights; None for weight 1.
        thresholds: floats in (0, 1) (or scalar tensors whose value is known, as in the
            original); each adds accuracy/precision/recall metrics that count
            `sigmoid(logits) > threshold` as positive.
        label_vocabulary: list or tuple of strings; labels are then strings.
        loss_reduction: "sum_over_batch_size" (default), "sum" or "auto".
        loss_fn: optional `loss_fn(labels, logits[, features])` returning the unreduced
            loss `[D..., 1]`; it receives float32 labels `[D..., 1]`.
        name: optional head name, suffixed to every metric key.

    Raises:
        ValueError: invalid vocabulary type, threshold, loss_reduction or loss_fn.
        TypeError: a threshold is a tensor that is not a scalar or whose value is not known.
    """

    prediction_keys: tuple[str, ...] = _VALID_PREDICTION_KEYS
    """Every key `predictions` can return, in order."""

    def __init__(
        self,
        weight_column: str | Any | None = None,
        thresholds: Sequence[float] | None = None,
        label_vocabulary: Sequence[str] | None = None,
        loss_reduction: _losses.LossReduction = "sum_over_batch_size",
        loss_fn: Callable | None = None,
        name: str | None = None,
    ):
        _validation.validate_label_vocabulary_type(label_vocabulary)
        thresholds = tuple(
            _validation.concrete_scalar(threshold, "thresholds") for threshold in thresholds or ()
        )
        for threshold in thresholds:
            if threshold <= 0.0 or threshold >= 1.0:
                raise ValueError(f"thresholds not in (0, 1): {(thresholds,)}.")
        _losses.validate_loss_reduction(loss_reduction)
        if loss_fn:
            _losses.validate_loss_fn_args(loss_fn)
        self._weight_column = weight_column
        self._thresholds = thresholds
        self._label_vocabulary = None if label_vocabulary is None else tuple(label_vocabulary)
        self._loss_reduction = loss_reduction
        self._loss_fn = loss_fn
        self._name = name
        self._threshold_keys = _metrics.threshold_keys(thresholds, name)

    @property
    def logits_dimension(self) -> int:
        return 1

    def _describe(self) -> HeadDescription:
        return self._description(
            kind="binary",
            n_classes=2,
            label_vocabulary=self._label_vocabulary,
            thresholds=tuple(self._thresholds),
            loss="custom" if self._loss_fn else "sigmoid_cross_entropy",
            link="sigmoid",
        )

    @property
    def thresholds(self) -> tuple[float, ...]:
        """The metric thresholds (empty when none)."""
        return self._thresholds

    @property
    def label_vocabulary(self) -> tuple[str, ...] | None:
        """The label vocabulary, or None."""
        return self._label_vocabulary

    @property
    def n_classes(self) -> int:
        """Always 2."""
        return 2

    @property
    def loss_fn(self) -> Callable | None:
        """The custom loss function, or None for sigmoid cross-entropy."""
        return self._loss_fn

    def _processed_labels(self, logits: tf.Tensor, labels: Any) -> tf.Tensor:
        """Checks labels, maps vocabulary strings to ids; float32 `[D..., 1]` in [0, 1]."""
        labels = _validation.check_dense_labels_match_logits_and_reshape(labels, logits, 1)
        if self._label_vocabulary is not None:
            labels = _classes.class_ids_from_strings(labels, self._label_vocabulary)
        elif labels.dtype == tf.string:
            raise ValueError(
                "Invalid `labels`: expected numbers in [0, 1] (no label_vocabulary is set); "
                "received strings. Pass label_vocabulary to use string labels."
            )
        labels = tf.cast(labels, tf.float32)
        return _validation.check_label_range(labels, n_classes=2)

    def _loss_parts(self, labels, logits, features):
        """Returns checked logits, processed labels, unweighted loss and weights."""
        features = {} if features is None else features
        logits = _validation.check_logits_final_dim(logits, 1)
        labels = self._processed_labels(logits, labels)
        if self._loss_fn:
            unweighted_loss = _losses.call_loss_fn(self._loss_fn, labels, logits, features, 1)
        else:
            unweighted_loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
        weights = _weights.get_weights_and_check_match_logits(features, self._weight_column, logits)
        return logits, labels, unweighted_loss, weights

    def predictions(self, logits: Any, keys: Sequence[str] | None = None) -> dict:
        keys = _validation.select_prediction_keys(keys, _VALID_PREDICTION_KEYS)
        logits = _validation.check_logits_final_dim(logits, 1)
        predictions = {}
        if PredictionKeys.LOGITS in keys:
            predictions[PredictionKeys.LOGITS] = logits
        if PredictionKeys.LOGISTIC in keys:
            predictions[PredictionKeys.LOGISTIC] = tf.math.sigmoid(logits)
        two_class_logits = tf.concat([tf.zeros_like(logits), logits], axis=-1)
        if PredictionKeys.PROBABILITIES in keys:
            predictions[PredictionKeys.PROBABILITIES] = _softmax.softmax(two_class_logits)
        if PredictionKeys.CLASS_IDS in keys or PredictionKeys.CLASSES in keys:
            class_ids = tf.expand_dims(tf.argmax(two_class_logits, axis=-1), -1)
            if PredictionKeys.CLASS_IDS in keys:
                predictions[PredictionKeys.CLASS_IDS] = class_ids
            if PredictionKeys.CLASSES in keys:
                predictions[PredictionKeys.CLASSES] = _classes.class_strings_from_ids(
                    class_ids, 2, self._label_vocabulary
                )
        if PredictionKeys.ALL_CLASS_IDS in keys:
            predictions[PredictionKeys.ALL_CLASS_IDS] = _classes.all_class_ids(logits, 2)
        if PredictionKeys.ALL_CLASSES in keys:
            predictions[PredictionKeys.ALL_CLASSES] = _classes.all_classes(
                logits, 2, self._label_vocabulary
            )
        return predictions

    def metrics(
        self, regularization_losses: Sequence[Any] | None = None
    ) -> dict[str, keras.metrics.Metric]:
        keys = MetricKeys
        eval_metrics = {
            self._key(keys.LOSS_MEAN): keras.metrics.Mean(name=keys.LOSS_MEAN),
            self._key(keys.ACCURACY): keras.metrics.Accuracy(name=keys.ACCURACY),
            self._key(keys.PRECISION): keras.metrics.Precision(name=keys.PRECISION),
            self._key(keys.RECALL): keras.metrics.Recall(name=keys.RECALL),
            self._key(keys.PREDICTION_MEAN): keras.metrics.Mean(name=keys.PREDICTION_MEAN),
            self._key(keys.LABEL_MEAN): keras.metrics.Mean(name=keys.LABEL_MEAN),
            self._key(keys.ACCURACY_BASELINE): _metrics.AccuracyBaseline(
                name=keys.ACCURACY_BASELINE
            ),
            self._key(keys.AUC): keras.metrics.AUC(name=keys.AUC),
            self._key(keys.AUC_PR): keras.metrics.AUC(curve="PR", name=keys.AUC_PR),
        }
        _metrics.add_regularization_metric(eval_metrics, regularization_losses, self._name)
        _metrics.add_threshold_metrics(eval_metrics, self._threshold_keys)
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
        predictions = self.predictions(logits, [PredictionKeys.LOGISTIC, PredictionKeys.CLASS_IDS])
        logistic = predictions[PredictionKeys.LOGISTIC]
        class_ids = predictions[PredictionKeys.CLASS_IDS]
        _metrics.update_mean(eval_metrics[self._key(keys.LOSS_MEAN)], unweighted_loss, weights)
        for key in (keys.ACCURACY, keys.PRECISION, keys.RECALL):
            _metrics.update_with_labels(eval_metrics[self._key(key)], labels, class_ids, weights)
        _metrics.update_mean(eval_metrics[self._key(keys.PREDICTION_MEAN)], logistic, weights)
        _metrics.update_mean(eval_metrics[self._key(keys.LABEL_MEAN)], labels, weights)
        _metrics.update_mean(eval_metrics[self._key(keys.ACCURACY_BASELINE)], labels, weights)
        for key in (keys.AUC, keys.AUC_PR):
            _metrics.update_with_labels(eval_metrics[self._key(key)], labels, logistic, weights)
        _metrics.update_regularization_metric(eval_metrics, regularization_losses, self._name)
        _metrics.update_threshold_metrics(
            eval_metrics, self._threshold_keys, labels, logistic, weights
        )
        return eval_metrics

    def _prepare_labels(self, labels: Any, check_ranges: bool) -> Any:
        """Vocabulary strings become float class ids; numeric labels are checked to be in
        [0, 1] when `check_ranges`."""
        dense = _host.dense_labels(labels)
        if dense is None:
            return labels
        if self._label_vocabulary is None:
            return _host.checked_probability_labels(self, dense, check_ranges)
        if dense.dtype != tf.string:
            return dense
        return tf.cast(_host.vocabulary_ids(self, dense, self._label_vocabulary), tf.float32)

    def _device_predictions(self, logits: Any) -> dict:
        return _host.numeric_predictions(self, logits)

    def _string_predictions(self, predictions: Mapping[Any, tf.Tensor]) -> dict:
        return _host.class_strings(predictions, self.n_classes, self._label_vocabulary)

    def get_config(self) -> dict:
        return _config.drop_defaults(
            type(self),
            {
                "weight_column": _config.weight_column_to_config(self._weight_column),
                "thresholds": list(self._thresholds) or None,
                "label_vocabulary": self._config_vocabulary(),
                "loss_reduction": self._loss_reduction,
                "loss_fn": _config.callable_to_config(self._loss_fn, "loss_fn"),
                "name": self._name,
            },
        )

    def _config_vocabulary(self) -> list | None:
        return None if self._label_vocabulary is None else list(self._label_vocabulary)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**_config.resolve_callables(config, ("loss_fn",), custom_objects))
