"""Head for Poisson regression: log-input Poisson loss, `exp` inverse link."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from heads import _config, _losses, _validation
from heads.description import HeadDescription
from heads.regression_head import RegressionHead


class PoissonRegressionHead(RegressionHead):
    """Head for Poisson regression of counts, a generalized linear model.

    The logits are the log of the predicted rate. Loss per element (labels z, logits x):
    `exp(x) - z * x`, plus, when `compute_full_loss`, the Stirling approximation of
    `log(z!)`, `z * log(z) - z + 0.5 * log(2 * pi * z)`, for z > 1 (see
    `tf.nn.log_poisson_loss`). Predictions: `predictions = exp(logits)` and `logits`.
    Shapes, weights and metrics as in `RegressionHead`.

    Example (loss = ((exp(0) - 1 * 0) + (exp(1) - 0 * 1)) / 2 = (1 + e) / 2 = 1.86; the
    labels are 0 and 1, so there is no Stirling term):

    >>> import numpy as np
    >>> head = PoissonRegressionHead()
    >>> logits = np.array([[0.0], [1.0]], dtype=np.float32)
    >>> labels = np.array([[1.0], [0.0]], dtype=np.float32)
    >>> print(f"{float(head.loss(labels, logits)):.2f}")
    1.86
    >>> head.predictions(logits)["predictions"].numpy().round(2).tolist()
    [[1.0], [2.72]]

    Args:
        label_dimension: number of values per example, an int >= 1 (or a scalar integer
            tensor whose value is known, as in the original).
        weight_column: feature name or `tf.feature_column.numeric_column` of the example
            weights; None for weight 1.
        loss_reduction: "sum_over_batch_size" (default), "sum" or "auto".
        compute_full_loss: whether to add the constant Stirling term (a bool, or a scalar
            bool tensor whose value is known).
        name: optional head name, suffixed to every metric key.

    Raises:
        ValueError: invalid label_dimension or loss_reduction.
        TypeError: a tensor argument is not a scalar or its value is not known.
    """

    def __init__(
        self,
        label_dimension: int = 1,
        weight_column: str | Any | None = None,
        loss_reduction: _losses.LossReduction = "sum_over_batch_size",
        compute_full_loss: bool = True,
        name: str | None = None,
    ):
        self._compute_full_loss = bool(
            _validation.concrete_scalar(compute_full_loss, "compute_full_loss")
        )
        super().__init__(
            label_dimension=label_dimension,
            weight_column=weight_column,
            loss_reduction=loss_reduction,
            inverse_link_fn=tf.math.exp,
            name=name,
        )

    @property
    def compute_full_loss(self) -> bool:
        """Whether the Stirling term of `log(z!)` is part of the loss."""
        return self._compute_full_loss

    def _built_in_loss(self, labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        """Element-wise log-input Poisson loss, float32 `[D..., label_dimension]`."""
        return tf.nn.log_poisson_loss(
            targets=labels, log_input=logits, compute_full_loss=self._compute_full_loss
        )

    def _describe(self) -> HeadDescription:
        return self._description(
            kind="regression",
            label_dimension=self.label_dimension,
            loss="log_poisson_full" if self._compute_full_loss else "log_poisson",
            link="exp",
        )

    def get_config(self) -> dict:
        return _config.drop_defaults(
            type(self),
            {
                "label_dimension": self.label_dimension,
                "weight_column": _config.weight_column_to_config(self.weight_column),
                "loss_reduction": self.loss_reduction,
                "compute_full_loss": self._compute_full_loss,
                "name": self.name,
            },
        )

    @classmethod
    def from_config(cls, config, custom_objects=None):
        del custom_objects  # No callables in the config.
        return cls(**config)
