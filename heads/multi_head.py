"""Head that combines several named heads (multi-objective learning)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import tensorflow as tf

from heads import _host, _losses, _metrics, _validation, serialization
from heads.base_head import Head
from heads.description import HeadDescription, describe
from heads.keys import MetricKeys
from heads.stats.metric_keys import suffixed


class MultiHead(Head):
    """Head combining several named heads.

    Loss: `sum_i head_weights[i] * heads[i].loss(labels[name_i], logits_i, features)`,
    plus the sum of `regularization_losses` (passed only to the `MultiHead`, never to the
    sub-heads). Each sub-head loss is reduced with that head's own `loss_reduction`.

    Logits: a dict from head name to logits (extra keys ignored), or one float `Tensor`
    `[D0, ..., DN, logits_dimension]` split along the last axis in head order. Labels: a
    dict from head name to that head's labels. Features go unchanged to every sub-head.

    Predictions: dict keyed by `(head_name, prediction_key)` tuples with every sub-head's
    predictions; `keys` is accepted and ignored.

    Metrics: `loss/<head name>` (mean over batches of each head's reduced loss),
    `regularization_loss/<multi-head name>` when regularization losses are given, and
    every sub-head's own metrics (already suffixed with the sub-head name). Unlike
    `tf.estimator`, the sub-head metrics accumulate over every `update_metrics` call.

    Example (head "a" has squared errors 1 and 0, loss 0.5; head "b" has squared errors
    1 and 1, loss 1.0; so the loss is 1 * 0.5 + 2 * 1.0 = 2.5):

    >>> import numpy as np
    >>> from heads.regression_head import RegressionHead
    >>> head = MultiHead(
    ...     [RegressionHead(name="a"), RegressionHead(name="b")], head_weights=[1.0, 2.0]
    ... )
    >>> head.name, head.logits_dimension
    ('a_b', 2)
    >>> logits = np.array([[1.0, 3.0], [2.0, 3.0]], dtype=np.float32)
    >>> labels = {"a": np.array([[0.0], [2.0]]), "b": np.array([[2.0], [2.0]])}
    >>> print(f"{float(head.loss(labels, logits)):.2f}")
    2.50
    >>> metrics = head.update_metrics(head.metrics(), {}, logits, labels)
    >>> print(f"{float(metrics['loss/b'].result()):.2f}")
    1.00
    >>> sorted(head.predictions(logits))
    [('a', 'predictions'), ('b', 'predictions')]

    Args:
        heads: non-empty list of heads, each with a `name`. The first one is the default
            at serving time.
        head_weights: optional list of floats, one per head, weighting the losses (scalar
            tensors whose value is known stand for their value, as in the original). None
            or empty: every weight is 1.

    Raises:
        ValueError: no heads, a head without name, or a wrong number of weights.
        TypeError: a head weight is a tensor that is not a scalar or whose value is not
            known.
    """

    def __init__(self, heads: Sequence[Head], head_weights: Sequence[float] | None = None):
        if not heads:
            raise ValueError(f"Must specify heads. Given: {heads}")
        if head_weights and len(head_weights) != len(heads):
            raise ValueError(
                "heads and head_weights must have the same size. "
                f"Given len(heads): {len(heads)}. Given len(head_weights): {len(head_weights)}."
            )
        for head in heads:
            if head.name is None:
                raise ValueError(f"All given heads must have name specified. Given: {head}")
        self._heads = tuple(heads)
        self._head_weights = (
            tuple(_validation.concrete_scalar(w, "head_weights") for w in head_weights)
            if head_weights
            else None
        )
        self._loss_keys = tuple(f"{MetricKeys.LOSS}/{head.name}" for head in self._heads)

    @property
    def name(self) -> str:
        """The sub-head names joined with "_"."""
        return "_".join(head.name for head in self._heads)

    @property
    def logits_dimension(self) -> int:
        """The sum of the sub-heads' logits dimensions."""
        return sum(head.logits_dimension for head in self._heads)

    @property
    def loss_reduction(self) -> str:
        """The common loss reduction of the sub-heads.

        Raises:
            ValueError: the sub-heads use different reductions.
        """
        reductions = [head.loss_reduction for head in self._heads]
        if len(set(reductions)) > 1:
            raise ValueError(
                f"The loss_reduction must be the same for different heads. Given: {reductions}"
            )
        return reductions[0]

    @property
    def heads(self) -> tuple[Head, ...]:
        """The sub-heads, in order."""
        return self._heads

    @property
    def head_weights(self) -> tuple[float, ...] | None:
        """The loss weights of the sub-heads, or None (all 1)."""
        return self._head_weights

    def _describe(self) -> HeadDescription:
        return HeadDescription(
            kind="multi_head",
            head_type=type(self).__name__,
            name=self.name,
            logits_dimension=self.logits_dimension,
            label_dimension=None,
            sub_heads=tuple(describe(head) for head in self._heads),
            head_weights=self._head_weights,
        )

    def _split_logits(self, logits: Any) -> dict:
        """Splits `[D..., logits_dimension]` logits among the heads, in head order."""
        logits = tf.convert_to_tensor(logits)
        dimensions = [head.logits_dimension for head in self._heads]
        total = sum(dimensions)
        shape = logits.shape.as_list() if logits.shape.rank is not None else None
        last = shape[-1] if shape else None
        if last is not None and last != total:
            raise ValueError(
                f"Could not split logits of shape {shape!r} among the heads with individual "
                f"logits dimensions: {dimensions!r}. The last dimension of the logits tensor "
                f"should equal {last} but is {total}."
            )
        parts = tf.split(logits, dimensions, axis=-1)
        return {head.name: part for head, part in zip(self._heads, parts, strict=True)}

    def _check_logits_and_labels(self, logits: Any, labels: Any = None) -> dict:
        """Returns logits per head name, after checking logits and labels cover every head."""
        names = [head.name for head in self._heads]
        if isinstance(logits, Mapping):
            missing = [name for name in names if name not in logits]
            if missing:
                raise ValueError(f"logits has missing values for head(s): {missing}")
            logits_dict = dict(logits)
        else:
            logits_dict = self._split_logits(logits)
        if labels is not None:
            if not isinstance(labels, Mapping):
                raise ValueError(f"labels must be a dict. Given: {labels}")
            missing = [name for name in names if name not in labels]
            if missing:
                raise ValueError(f"labels has missing values for head(s): {missing}")
        return logits_dict

    @staticmethod
    def _require_labels(labels: Any) -> Mapping:
        if labels is None:
            raise TypeError(
                "Invalid `labels`: expected a dict from head name to labels; received None."
            )
        return labels

    def loss(
        self,
        labels: Any,
        logits: Any,
        features: Mapping[str, Any] | None = None,
        mode: Any = None,
        regularization_losses: Sequence[Any] | None = None,
    ) -> tf.Tensor:
        logits_dict = self._check_logits_and_labels(logits, labels)
        labels = self._require_labels(labels)
        losses = [
            head.loss(labels[head.name], logits_dict[head.name], features=features, mode=mode)
            for head in self._heads
        ]
        if self._head_weights:
            losses = [
                loss * weight for loss, weight in zip(losses, self._head_weights, strict=True)
            ]
        total = tf.math.add_n(losses)
        return _losses.add_regularization(total, regularization_losses)

    def predictions(self, logits: Any, keys: Sequence[str] | None = None) -> dict:
        del keys  # Ignored, as in tf.estimator: every key of every head is returned.
        logits_dict = self._check_logits_and_labels(logits)
        predictions = {}
        for head in self._heads:
            for key, value in head.predictions(logits_dict[head.name]).items():
                predictions[(head.name, key)] = value
        return predictions

    def metrics(
        self, regularization_losses: Sequence[Any] | None = None
    ) -> dict[str, keras.metrics.Metric]:
        eval_metrics = {}
        _metrics.add_regularization_metric(eval_metrics, regularization_losses, self.name)
        for key in self._loss_keys:
            eval_metrics[key] = keras.metrics.Mean(name=key)
        for head in self._heads:
            eval_metrics.update(head.metrics())
        return eval_metrics

    def update_metrics(
        self,
        eval_metrics: dict[str, keras.metrics.Metric],
        features: Mapping[str, Any] | None,
        logits: Any,
        labels: Any,
        regularization_losses: Sequence[Any] | None = None,
    ) -> dict[str, keras.metrics.Metric]:
        logits_dict = self._check_logits_and_labels(logits, labels)
        labels = self._require_labels(labels)
        _metrics.update_regularization_metric(eval_metrics, regularization_losses, self.name)
        for head, loss_key in zip(self._heads, self._loss_keys, strict=True):
            head_logits = logits_dict[head.name]
            head_labels = labels[head.name]
            training_loss = head.loss(head_labels, head_logits, features=features)
            eval_metrics[loss_key].update_state(training_loss)
            if suffixed(MetricKeys.LOSS_MEAN, head.name) not in eval_metrics:
                # A dict not made by `metrics()` (as the original MultiHead's, which held
                # only the loss keys): add the sub-head's metrics once.
                for key, metric in head.metrics().items():
                    eval_metrics.setdefault(key, metric)
            head.update_metrics(eval_metrics, features, head_logits, head_labels)
        return eval_metrics

    def _step_head(self) -> Head:
        sub_heads = [_host.step_head(head) for head in self._heads]
        if all(new is old for new, old in zip(sub_heads, self._heads, strict=True)):
            return self
        return MultiHead(sub_heads, head_weights=self._head_weights)

    def _needs_label_preparation(self, compiled: bool) -> bool:
        return any(_host.needs_preparation(head, compiled) for head in self._heads)

    def _prepare_labels(self, labels: Any, check_ranges: bool) -> Any:
        if not isinstance(labels, Mapping):
            return labels
        sub_heads = {head.name: head for head in self._heads}
        return {
            key: _host.prepare_labels(sub_heads[key], value, check_ranges)
            if key in sub_heads
            else value
            for key, value in labels.items()
        }

    def _device_predictions(self, logits: Any) -> dict:
        logits_dict = self._check_logits_and_labels(logits)
        return {
            (head.name, key): value
            for head in self._heads
            for key, value in _host.device_predictions(head, logits_dict[head.name]).items()
        }

    def _string_predictions(self, predictions: Mapping[Any, tf.Tensor]) -> dict:
        strings = {}
        for head in self._heads:
            own = {key[1]: value for key, value in predictions.items() if key[0] == head.name}
            for key, value in _host.string_predictions(head, own).items():
                strings[(head.name, key)] = value
        return strings

    def get_config(self) -> dict:
        config: dict[str, Any] = {"heads": [serialization.serialize(h) for h in self._heads]}
        if self._head_weights:
            config["head_weights"] = [float(w) for w in self._head_weights]
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["heads"] = [
            h if isinstance(h, Head) else serialization.deserialize(h, custom_objects)
            for h in config.get("heads", [])
        ]
        return cls(**config)
