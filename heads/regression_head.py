"""Head for regression with the squared error loss (and the base of the GLM heads)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import tensorflow as tf

from heads import _config, _losses, _metrics, _validation, _weights
from heads.base_head import SingleHead
from heads.description import HeadDescription
from heads.keys import MetricKeys, PredictionKeys


class RegressionHead(SingleHead):
    """Head for regression of `label_dimension` real values per example.

    Loss: squared error `(label - logit)^2` per element, `[D0, ..., DN, label_dimension]`
    (not averaged over the label dimension), then weighted and reduced with
    `loss_reduction`: "sum_over_batch_size" divides by `batch * label_dimension`. The loss
    is computed on the logits, not on `inverse_link_fn(logits)`.

    Logits: float `[D0, ..., DN, label_dimension]`. Labels: numeric, same shape (or
    `[D0, ..., DN]` when `label_dimension` is 1). Weights: `[D0, ..., DN]`,
    `[D0, ..., DN, 1]` or per output `[D0, ..., DN, label_dimension]`.

    Predictions (`predictions()` takes no `keys`): `predictions` float32
    `[D..., label_dimension]`, equal to the logits, or `inverse_link_fn(logits)` when
    set, in which case `logits` is returned too.

    Metrics: `average_loss`, `prediction/mean`, `label/mean`, [`regularization_loss`].

    Example (loss = ((43 - 45)^2 + (44 - 41)^2) / 2 = 6.5):

    >>> import numpy as np
    >>> head = RegressionHead()
    >>> logits = np.array([[45.0], [41.0]], dtype=np.float32)
    >>> labels = np.array([[43], [44]], dtype=np.int32)
    >>> print(f"{float(head.loss(labels, logits)):.2f}")
    6.50
    >>> metrics = head.update_metrics(head.metrics(), {}, logits, labels)
    >>> for key in sorted(metrics):
    ...     print(f"{key} : {float(metrics[key].result()):.2f}")
    average_loss : 6.50
    label/mean : 43.50
    prediction/mean : 43.00

    Args:
        label_dimension: number of values per example, an int >= 1 (or a scalar integer
            tensor whose value is known, as in the original).
        weight_column: feature name or `tf.feature_column.numeric_column` of the example
            weights; None for weight 1.
        loss_reduction: "sum_over_batch_size" (default), "sum" or "auto".
        loss_fn: optional `loss_fn(labels, logits[, features])` returning the unreduced
            loss `[D..., label_dimension]`; it receives float32 labels of that shape.
        inverse_link_fn: optional function from logits to predicted values (the "mean
            function" of a generalized linear model), for example `tf.math.exp`.
        name: optional head name, suffixed to every metric key.

    Raises:
        ValueError: invalid label_dimension, loss_reduction or loss_fn.
        TypeError: label_dimension is a tensor that is not a scalar or whose value is not
            known, or inverse_link_fn is not callable.
    """

    def __init__(
        self,
        label_dimension: int = 1,
        weight_column: str | Any | None = None,
        loss_reduction: _losses.LossReduction = "sum_over_batch_size",
        loss_fn: Callable | None = None,
        inverse_link_fn: Callable | None = None,
        name: str | None = None,
    ):
        label_dimension = _validation.concrete_scalar(label_dimension, "label_dimension")
        if label_dimension < 1:
            raise ValueError(f"Invalid label_dimension {label_dimension}.")
        _losses.validate_loss_reduction(loss_reduction)
        if loss_fn:
            _losses.validate_loss_fn_args(loss_fn)
        if inverse_link_fn is not None and not callable(inverse_link_fn):
            raise TypeError(
                f"Invalid `inverse_link_fn`: expected a callable; received {inverse_link_fn!r}."
            )
        self._logits_dimension = int(label_dimension)
        self._weight_column = weight_column
        self._loss_reduction = loss_reduction
        self._loss_fn = loss_fn
        self._inverse_link_fn = inverse_link_fn
        self._name = name

    @property
    def logits_dimension(self) -> int:
        return self._logits_dimension

    @property
    def label_dimension(self) -> int:
        """The number of regression values per example."""
        return self._logits_dimension

    @property
    def loss_fn(self) -> Callable | None:
        """The loss function used, or None for the squared error."""
        return self._loss_fn

    @property
    def inverse_link_fn(self) -> Callable | None:
        """The function from logits to predictions, or None for the identity."""
        return self._inverse_link_fn

    def _built_in_loss(self, labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        """The element-wise loss without a `loss_fn`: squared error (the GLM heads override
        it), float32 `[D..., label_dimension]`."""
        return tf.math.squared_difference(logits, labels)

    def _describe(self) -> HeadDescription:
        return self._description(
            kind="regression",
            label_dimension=self._logits_dimension,
            loss="custom" if self._loss_fn else "squared_error",
            link="custom" if self._inverse_link_fn else "identity",
        )

    def _processed_labels(self, logits: tf.Tensor, labels: Any) -> tf.Tensor:
        """Checks labels against logits; float32 `[D..., label_dimension]`."""
        labels = _validation.check_dense_labels_match_logits_and_reshape(
            labels, logits, self._logits_dimension
        )
        if labels.dtype == tf.string:
            raise ValueError(
                "Invalid `labels`: expected a numeric Tensor for regression; received strings."
            )
        return tf.cast(labels, tf.float32)

    def _loss_parts(self, labels, logits, features):
        """Returns checked logits, float labels, unweighted loss and weights."""
        features = {} if features is None else features
        logits = _validation.check_logits_final_dim(logits, self._logits_dimension)
        labels = self._processed_labels(logits, labels)
        if self._loss_fn:
            unweighted_loss = _losses.call_loss_fn(
                self._loss_fn, labels, logits, features, self._logits_dimension
            )
        else:
            unweighted_loss = self._built_in_loss(labels, logits)
        weights = _weights.get_weights_and_check_match_logits(
            features, self._weight_column, logits, allow_per_logit_weights=True
        )
        return logits, labels, unweighted_loss, weights

    def predictions(self, logits: Any) -> dict[str, tf.Tensor]:
        """Returns `{"predictions": ...}` (plus `"logits"` with an inverse link).

        Args:
            logits: float `[D..., label_dimension]`.

        Returns:
            dict of float32 `Tensor`s `[D..., label_dimension]`.
        """
        logits = _validation.check_logits_final_dim(logits, self._logits_dimension)
        if self._inverse_link_fn:
            return {
                PredictionKeys.PREDICTIONS: self._inverse_link_fn(logits),
                PredictionKeys.LOGITS: logits,
            }
        return {PredictionKeys.PREDICTIONS: logits}

    def metrics(
        self, regularization_losses: Sequence[Any] | None = None
    ) -> dict[str, keras.metrics.Metric]:
        keys = MetricKeys
        eval_metrics = {
            self._key(keys.LOSS_MEAN): keras.metrics.Mean(name=keys.LOSS_MEAN),
            self._key(keys.PREDICTION_MEAN): keras.metrics.Mean(name=keys.PREDICTION_MEAN),
            self._key(keys.LABEL_MEAN): keras.metrics.Mean(name=keys.LABEL_MEAN),
        }
        _metrics.add_regularization_metric(eval_metrics, regularization_losses, self._name)
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
        predicted_value = self.predictions(logits)[PredictionKeys.PREDICTIONS]
        _metrics.update_mean(eval_metrics[self._key(keys.LOSS_MEAN)], unweighted_loss, weights)
        _metrics.update_mean(eval_metrics[self._key(keys.LABEL_MEAN)], labels, weights)
        _metrics.update_mean(
            eval_metrics[self._key(keys.PREDICTION_MEAN)], predicted_value, weights
        )
        _metrics.update_regularization_metric(eval_metrics, regularization_losses, self._name)
        return eval_metrics

    def get_config(self) -> dict:
        return _config.drop_defaults(
            type(self),
            {
                "label_dimension": self._logits_dimension,
                "weight_column": _config.weight_column_to_config(self._weight_column),
                "loss_reduction": self._loss_reduction,
                "loss_fn": _config.callable_to_config(self._loss_fn, "loss_fn"),
                "inverse_link_fn": _config.callable_to_config(
                    self._inverse_link_fn, "inverse_link_fn"
                ),
                "name": self._name,
            },
        )

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(
            **_config.resolve_callables(config, ("loss_fn", "inverse_link_fn"), custom_objects)
        )
