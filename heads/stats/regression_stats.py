"""Metric statistics of `RegressionHead`, `PoissonRegressionHead` and
`LogisticRegressionHead` (the same keys: `average_loss`, `prediction/mean`, `label/mean`).

>>> stats_obj = RegressionStats(label_dimension=2)
>>> stats = stats_obj.update(None, {
...     "logits": np.array([[1.0, 2.0], [3.0, 4.0]]),
...     "labels": np.array([[1.0, 0.0], [3.0, 2.0]]),
...     "weights": np.array([1.0, 3.0])})
>>> metrics = stats_obj.compute(stats)
>>> metrics["average_loss"], metrics["prediction/mean"], metrics["label/mean"]
(2.0, 3.0, 2.0)
>>> metrics["weighted_example_count"], stats_obj.reduced_loss(stats)
(4.0, 4.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from heads.stats.base_stats import SingleHeadStats, Stats
from heads.stats.inputs import (
    flatten_logits,
    flatten_per_class,
    flatten_weights,
    invalid,
    validate_batch_keys,
    validate_positive_int,
)
from heads.stats.losses import poisson_loss, sigmoid, sigmoid_cross_entropy, squared_error
from heads.stats.metric_keys import StatsMetricKeys
from heads.stats.moments import _weighted_mean_update, safe_divide

__all__ = ["RegressionLoss", "RegressionStats"]

RegressionLoss = Literal["squared_error", "poisson", "sigmoid_cross_entropy"]
"""Default loss (and matching inverse link) of each regression head type:
`squared_error` (RegressionHead, identity link), `poisson` (PoissonRegressionHead, `exp`),
`sigmoid_cross_entropy` (LogisticRegressionHead, `sigmoid`)."""

_LINKS = {"squared_error": None, "poisson": np.exp, "sigmoid_cross_entropy": sigmoid}
_BATCH_KEYS = ("logits", "labels")
_OPTIONAL_BATCH_KEYS = ("weights", "unreduced_loss", "predictions")


class RegressionStats(SingleHeadStats):
    """Statistics of the regression heads' metrics.

    Batch keys:
        logits: float32/float64 `[D0, ..., DN, label_dimension]`.
        labels: float `[D0, ..., DN, label_dimension]` (or `[D0, ..., DN]` when
            `label_dimension` is 1).
        weights: optional float `[D0, ..., DN]`, `[..., 1]` or `[..., label_dimension]`
            (per-output weights); default 1.
        predictions: optional float, shape of the logits: the head's `predictions` (pass
            them for a RegressionHead with a custom `inverse_link_fn`); default: the link of
            `loss` applied to the logits.
        unreduced_loss: optional float, shape of the logits: the head's per-element loss;
            default: the `loss` below, on the logits.

    Semantics (Keras `Mean`, as `head.metrics()`): every element of the
    `[M, label_dimension]` arrays counts, weighted by its (broadcast) weight; so the means
    divide by `sum of weights x label_dimension` for per-example weights.
    `weighted_example_count` is the sum of the example weights (per-output weights
    averaged over the outputs).

    Args:
        label_dimension: number of regression outputs `d` (>= 1).
        name: head name suffixing every key, or None.
        loss: the head type's default loss and link (see `RegressionLoss`).
        compute_full_loss: for `poisson`, whether to add the Stirling term.
    """

    def __init__(
        self,
        label_dimension: int = 1,
        name: str | None = None,
        loss: RegressionLoss = "squared_error",
        compute_full_loss: bool = True,
    ) -> None:
        super().__init__(name)
        self._label_dimension = validate_positive_int(label_dimension, "label_dimension")
        if loss not in _LINKS:
            raise ValueError(invalid("loss", f"one of {sorted(_LINKS)}", loss))
        if not isinstance(compute_full_loss, (bool, np.bool_)):
            raise TypeError(invalid("compute_full_loss", "a bool", compute_full_loss))
        self._loss = loss
        self._compute_full_loss = bool(compute_full_loss)

    def create(self) -> Stats:
        """Empty stats: example count and `[weight, loss, prediction, label]` sums over
        the elements."""
        return {"example_count": np.zeros((), dtype=np.int64), "moments": np.zeros(4)}

    def _default_loss(self, labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
        if self._loss == "poisson":
            return poisson_loss(labels, logits, self._compute_full_loss)
        if self._loss == "sigmoid_cross_entropy":
            return sigmoid_cross_entropy(labels, logits)
        return squared_error(labels, logits)

    def _prepare(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray | None]:
        batch = validate_batch_keys(batch, _BATCH_KEYS, _OPTIONAL_BATCH_KEYS)
        dimension = self._label_dimension
        logits, leading = flatten_logits(batch["logits"], dimension)
        weights = flatten_weights(batch.get("weights"), leading, per_element_dimension=dimension)
        if weights is not None:
            weights = weights.astype(np.float64)
            if weights.ndim == 1:
                weights = weights[:, None]
            weights = np.broadcast_to(weights, logits.shape)
        prepared = {
            "logits": logits,
            "labels": flatten_per_class(batch["labels"], leading, dimension, "labels"),
            "weights": weights,
        }
        for key in ("predictions", "unreduced_loss"):
            value = batch.get(key)
            prepared[key] = (
                None if value is None else flatten_per_class(value, leading, dimension, key)
            )
        return prepared

    def _add_rows(self, stats: Stats, rows: Mapping[str, np.ndarray | None]) -> None:
        logits, labels = rows["logits"], rows["labels"]
        predictions = rows["predictions"]
        if predictions is None:
            link = _LINKS[self._loss]
            with np.errstate(over="ignore"):
                predictions = logits if link is None else link(logits)
        loss = rows["unreduced_loss"]
        if loss is None:
            loss = self._default_loss(labels, logits)
        weights = rows["weights"]
        stats["example_count"] += logits.shape[0]
        _weighted_mean_update(
            stats["moments"],
            [loss.reshape(-1), predictions.reshape(-1), labels.reshape(-1)],
            None if weights is None else weights.reshape(-1),
        )

    def _loss_elements_per_example(self) -> int:
        return self._label_dimension

    def _weight_total(self, stats: Stats) -> float:
        return float(stats["moments"][0]) / self._label_dimension

    def compute(self, stats: Stats) -> dict[str, float]:
        weight, loss_sum, prediction_sum, label_sum = (float(v) for v in stats["moments"])
        key = self._key
        metrics = {
            key(StatsMetricKeys.LOSS_MEAN): float(safe_divide(loss_sum, weight)),
            key(StatsMetricKeys.PREDICTION_MEAN): float(safe_divide(prediction_sum, weight)),
            key(StatsMetricKeys.LABEL_MEAN): float(safe_divide(label_sum, weight)),
        }
        metrics.update(self._count_metrics(stats, weight / self._label_dimension))
        return metrics
