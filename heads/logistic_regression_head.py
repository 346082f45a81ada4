"""Head for logistic regression: sigmoid cross-entropy, `sigmoid` inverse link."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from heads import _config, _host, _losses, _validation
from heads.description import HeadDescription
from heads.regression_head import RegressionHead


class LogisticRegressionHead(RegressionHead):
    """Head for logistic regression of a probability, a generalized linear model.

    Same loss as `BinaryClassHead` (sigmoid cross-entropy on the logits) but regression
    behaviour otherwise: labels are floats in `[0, 1]` (no vocabulary; out of range is
    "Labels must be in range [0, 1]"), predictions are `predictions = sigmoid(logits)`
    and `logits`, and the metrics are those of `RegressionHead` (`average_loss`,
    `prediction/mean`, `label/mean`, [`regularization_loss`]) with no AUC or accuracy.
    Logits and labels: `[D0, ..., DN, 1]` (labels may be `[D0, ..., DN]`).

    Example (loss = (log(1 + e^-0) + log(1 + e^-0)) / 2 = log 2 = 0.69 for logits 0):

    >>> import numpy as np
    >>> head = LogisticRegressionHead()
    >>> logits = np.array([[0.0], [0.0]], dtype=np.float32)
    >>> labels = np.array([[0.25], [1.0]], dtype=np.float32)
    >>> print(f"{float(head.loss(labels, logits)):.2f}")
    0.69
    >>> head.predictions(logits)["predictions"].numpy().tolist()
    [[0.5], [0.5]]

    Args:
        weight_column: feature name or `tf.feature_column.numeric_column` of the example
            weights; None for weight 1.
        loss_reduction: "sum_over_batch_size" (default), "sum" or "auto".
        name: optional head name, suffixed to every metric key.

    Raises:
        ValueError: invalid loss_reduction.
    """

    def __init__(
        self,
        weight_column: str | Any | None = None,
        loss_reduction: _losses.LossReduction = "sum_over_batch_size",
        name: str | None = None,
    ):
        super().__init__(
            label_dimension=1,
            weight_column=weight_column,
            loss_reduction=loss_reduction,
            inverse_link_fn=tf.math.sigmoid,
            name=name,
        )

    def _describe(self) -> HeadDescription:
        return self._description(
            kind="regression", label_dimension=1, loss="sigmoid_cross_entropy", link="sigmoid"
        )

    def _built_in_loss(self, labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        """Sigmoid cross-entropy after checking labels are in [0, 1]; `[D..., 1]`."""
        labels = _validation.check_label_range(
            labels, n_classes=2, message="Labels must be in range [0, 1]"
        )
        return tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)

    def _prepare_labels(self, labels: Any, check_ranges: bool) -> Any:
        """Labels checked to be in [0, 1] when `check_ranges`."""
        dense = _host.dense_labels(labels)
        if dense is None:
            return labels
        return _host.checked_probability_labels(self, dense, check_ranges)

    def get_config(self) -> dict:
        return _config.drop_defaults(
            type(self),
            {
                "weight_column": _config.weight_column_to_config(self.weight_column),
                "loss_reduction": self.loss_reduction,
                "name": self.name,
            },
        )

    @classmethod
    def from_config(cls, config, custom_objects=None):
        del custom_objects  # No callables in the config.
        return cls(**config)
