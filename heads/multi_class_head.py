"""Head for single-label multi-class classification (softmax cross-entropy)."""

from __future__ import annotations

import numbers
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
    PredictionKeys.PROBABILITIES,
    PredictionKeys.CLASS_IDS,
    PredictionKeys.CLASSES,
    PredictionKeys.ALL_CLASS_IDS,
    PredictionKeys.ALL_CLASSES,
)


class MultiClassHead(SingleHead):
    """Head for multi-class classification: exactly one of `n_classes > 2` classes.

    Loss: sparse softmax cross-entropy `logsumexp(logits) - logits[label]` per example,
    `[D0, ..., DN, 1]`, then weighted and reduced with `loss_reduction`.

    Logits: float `[D0, ..., DN, n_classes]`. Labels: dense `[D0, ..., DN, 1]` (or
    `[D0, ..., DN]`) integer class ids in `[0, n_classes)`, or, with a
    `label_vocabulary`, strings from it. Weights: `[D0, ..., DN]` or `[D0, ..., DN, 1]`.

    Predictions: `logits` float32 `[D..., n]`; `probabilities` (softmax) float32
    `[D..., n]`; `class_ids` (argmax, first wins) int64 `[D..., 1]`; `classes` string
    `[D..., 1]`; `all_class_ids` int32 `[D0, n]`; `all_classes` string `[D0, n]`.

    Metrics: `average_loss`, [`regularization_loss`], `accuracy`.

    Example (loss = (10 + 0) / 2 = 5: the first example puts logit 10 on class 0 while
    its label is 1, the second is right with a margin of 10):

    >>> import numpy as np
    >>> head = MultiClassHead(n_classes=3)
    >>> logits = np.array([[10.0, 0.0, 0.0], [0.0, 10.0, 0.0]], dtype=np.float32)
    >>> labels = np.array([[1], [1]], dtype=np.int64)
    >>> print(f"{float(head.loss(labels, logits)):.2f}")
    5.00
    >>> metrics = head.update_metrics(head.metrics(), {}, logits, labels)
    >>> for key in sorted(metrics):
    ...     print(f"{key} : {float(metrics[key].result()):.2f}")
    accuracy : 0.50
    average_loss : 5.00
    >>> head.predictions(logits)["classes"].numpy().tolist()
    [[b'0'], [b'1']]

    Args:
        n_classes: number of classes, an int > 2 (use `BinaryClassHead` for 2), or a
            scalar integer tensor whose value is known (eager, or a constant), as the
            original took; the head then works as with that int.
        weight_column: feature name or `tf.feature_column.numeric_column` of the example
            weights; None for weight 1.
        label_vocabulary: list or tuple of `n_classes` strings; labels are then strings.
        loss_reduction: "sum_over_batch_size" (default), "sum" or "auto".
        loss_fn: optional `loss_fn(labels, logits[, features])` returning the unreduced
            loss `[D..., 1]`; it receives integer class ids `[D..., 1]`.
        name: optional head name, suffixed to every metric key.

    Raises:
        ValueError: invalid n_classes, vocabulary, loss_reduction or loss_fn.
        TypeError: n_classes is not an integer (or a tensor whose value is not known).
        tf.errors.InvalidArgumentError: n_classes is a tensor holding a value <= 2.
    """

    prediction_keys: tuple[str, ...] = _VALID_PREDICTION_KEYS
    """Every key `predictions` can return, in order."""

    def __init__(
        self,
        n_classes: int,
        weight_column: str | Any | None = None,
        label_vocabulary: Sequence[str] | None = None,
        loss_reduction: _losses.LossReduction = "sum_over_batch_size",
        loss_fn: Callable | None = None,
        name: str | None = None,
    ):
        if n_classes is None:
            raise ValueError("n_classes cannot be None")
        n_classes_value = _validation.concrete_scalar(n_classes, "n_classes")
        _validation.validate_label_vocabulary_type(label_vocabulary)
        if label_vocabulary is not None and len(label_vocabulary) != n_classes_value:
            raise ValueError(
                '"label_vocabulary" does not have "n_classes" items. '
                f"len(label_vocabulary)={len(label_vocabulary)}, n_classes={n_classes_value}, "
                f"label_vocabulary={label_vocabulary}"
            )
        _losses.validate_loss_reduction(loss_reduction)
        if loss_fn:
            _losses.validate_loss_fn_args(loss_fn)
        self._n_classes = _validate_n_classes(n_classes_value, tensor=tf.is_tensor(n_classes))
        self._weight_column = weight_column
        self._label_vocabulary = None if label_vocabulary is None else tuple(label_vocabulary)
        self._loss_reduction = loss_reduction
        self._loss_fn = loss_fn
        self._name = name

    @property
    def logits_dimension(self) -> int:
        return self._n_classes

    def _describe(self) -> HeadDescription:
        return self._description(
            kind="multi_class",
            n_classes=self._n_classes,
            label_vocabulary=self._label_vocabulary,
            loss="custom" if self._loss_fn else "softmax_cross_entropy",
            link="softmax",
        )

    @property
    def n_classes(self) -> int:
        """The number of classes."""
        return self._n_classes

    @property
    def label_vocabulary(self) -> tuple[str, ...] | None:
        """The label vocabulary, or None."""
        return self._label_vocabulary

    @property
    def loss_fn(self) -> Callable | None:
        """The custom loss function, or None for softmax cross-entropy."""
        return self._loss_fn

    def _processed_labels(self, logits: tf.Tensor, labels: Any) -> tf.Tensor:
        """Checks labels and maps vocabulary strings to ids: integer `[D..., 1]`."""
        labels = _validation.check_dense_labels_match_logits_and_reshape(labels, logits, 1)
        if self._label_vocabulary is None:
            if not labels.dtype.is_integer:
                raise ValueError(f"Labels dtype should be integer. Instead got {labels.dtype}.")
            label_ids = labels
        else:
            if labels.dtype != tf.string:
                raise ValueError(
                    "Labels dtype should be string if there is a vocabulary. "
                    f"Instead got {labels.dtype}"
                )
            label_ids = _classes.class_ids_from_strings(labels, self._label_vocabulary)
        return _validation.check_label_range(label_ids, self._n_classes)

    def _loss_parts(self, labels, logits, features):
        """Returns checked logits, processed label ids, unweighted loss and weights."""
        features = {} if features is None else features
        logits = _validation.check_logits_final_dim(logits, self._n_classes)
        label_ids = self._processed_labels(logits, labels)
        if self._loss_fn:
            unweighted_loss = _losses.call_loss_fn(self._loss_fn, label_ids, logits, features, 1)
        else:
            sparse_ids = tf.cast(tf.squeeze(label_ids, axis=-1), tf.int64)
            unweighted_loss = tf.expand_dims(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=sparse_ids, logits=logits),
                axis=-1,
            )
        weights = _weights.get_weights_and_check_match_logits(features, self._weight_column, logits)
        return logits, label_ids, unweighted_loss, weights

    def predictions(self, logits: Any, keys: Sequence[str] | None = None) -> dict:
        keys = _validation.select_prediction_keys(keys, _VALID_PREDICTION_KEYS)
        logits = _validation.check_logits_final_dim(logits, self._n_classes)
        predictions = {}
        if PredictionKeys.LOGITS in keys:
            predictions[PredictionKeys.LOGITS] = logits
        if PredictionKeys.PROBABILITIES in keys:
            predictions[PredictionKeys.PROBABILITIES] = _softmax.softmax(logits)
        if PredictionKeys.CLASS_IDS in keys or PredictionKeys.CLASSES in keys:
            class_ids = tf.expand_dims(tf.argmax(logits, axis=-1), -1)
            if PredictionKeys.CLASS_IDS in keys:
                predictions[PredictionKeys.CLASS_IDS] = class_ids
            if PredictionKeys.CLASSES in keys:
                predictions[PredictionKeys.CLASSES] = _classes.class_strings_from_ids(
                    class_ids, self._n_classes, self._label_vocabulary or None
                )
        if PredictionKeys.ALL_CLASS_IDS in keys:
            predictions[PredictionKeys.ALL_CLASS_IDS] = _classes.all_class_ids(
                logits, self._n_classes
            )
        if PredictionKeys.ALL_CLASSES in keys:
            predictions[PredictionKeys.ALL_CLASSES] = _classes.all_classes(
                logits, self._n_classes, self._label_vocabulary
            )
        return predictions

    def metrics(
        self, regularization_losses: Sequence[Any] | None = None
    ) -> dict[str, keras.metrics.Metric]:
        eval_metrics = {
            self._key(MetricKeys.LOSS_MEAN): keras.metrics.Mean(name=MetricKeys.LOSS_MEAN)
        }
        _metrics.add_regularization_metric(eval_metrics, regularization_losses, self._name)
        eval_metrics[self._key(MetricKeys.ACCURACY)] = keras.metrics.Accuracy(
            name=MetricKeys.ACCURACY
        )
        return eval_metrics

    def update_metrics(
        self,
        eval_metrics: dict[str, keras.metrics.Metric],
        features: Mapping[str, Any] | None,
        logits: Any,
        labels: Any,
        regularization_losses: Sequence[Any] | None = None,
    ) -> dict[str, keras.metrics.Metric]:
        logits, label_ids, unweighted_loss, weights = self._loss_parts(labels, logits, features)
        class_ids = self.predictions(logits, [PredictionKeys.CLASS_IDS])[PredictionKeys.CLASS_IDS]
        _metrics.update_mean(
            eval_metrics[self._key(MetricKeys.LOSS_MEAN)], unweighted_loss, weights
        )
        _metrics.update_with_labels(
            eval_metrics[self._key(MetricKeys.ACCURACY)], label_ids, class_ids, weights
        )
        _metrics.update_regularization_metric(eval_metrics, regularization_losses, self._name)
        return eval_metrics

    def _prepare_labels(self, labels: Any, check_ranges: bool) -> Any:
        """Vocabulary strings become class ids; class ids are checked to be in
        `[0, n_classes)` when `check_ranges`."""
        dense = _host.dense_labels(labels)
        if dense is None:
            return labels
        vocabulary = self._label_vocabulary
        if vocabulary is not None:
            return (
                _host.vocabulary_ids(self, dense, vocabulary) if dense.dtype == tf.string else dense
            )
        if check_ranges and dense.dtype.is_integer:
            return _host.checked_range(self, dense, upper=self._n_classes, inclusive=False)
        return dense

    def _device_predictions(self, logits: Any) -> dict:
        return _host.numeric_predictions(self, logits)

    def _string_predictions(self, predictions: Mapping[Any, tf.Tensor]) -> dict:
        return _host.class_strings(predictions, self.n_classes, self._label_vocabulary)

    def get_config(self) -> dict:
        return _config.drop_defaults(
            type(self),
            {
                "n_classes": self._n_classes,
                "weight_column": _config.weight_column_to_config(self._weight_column),
                "label_vocabulary": (
                    None if self._label_vocabulary is None else list(self._label_vocabulary)
                ),
                "loss_reduction": self._loss_reduction,
                "loss_fn": _config.callable_to_config(self._loss_fn, "loss_fn"),
                "name": self._name,
            },
        )

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**_config.resolve_callables(config, ("loss_fn",), custom_objects))


def _validate_n_classes(n_classes: Any, tensor: bool) -> int:
    """Returns `n_classes` as an int > 2, checked as the original's `validate_n_classes`.

    A Python int <= 2 is a `ValueError`; a tensor's value is checked the way the original
    checked it, with an assertion: `tf.errors.InvalidArgumentError`.
    """
    if not isinstance(n_classes, numbers.Integral) or isinstance(n_classes, bool):
        raise TypeError(f"Invalid `n_classes`: expected an int > 2; received {n_classes!r}.")
    if n_classes <= 2:
        if tensor:
            raise tf.errors.InvalidArgumentError(
                None,
                None,
                f"n_classes must be greater than 2: received a tensor holding {n_classes}.",
            )
        raise ValueError(f"n_classes must be > 2: {n_classes}.")
    return int(n_classes)
