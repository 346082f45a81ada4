"""The `Head` interface: what every head computes from logits.

A head sits on top of a network that outputs logits. Given logits (and, for training and
evaluation, labels and features) it knows how to compute the training loss, the
predictions and the evaluation metrics. Concrete heads (`BinaryClassHead`,
`MultiClassHead`, `MultiLabelHead`, `RegressionHead`, ..., `MultiHead`) document only
where they differ from the contract below.
"""

from __future__ import annotations

import abc
import copy
from collections.abc import Mapping, Sequence
from typing import Any

import tensorflow as tf

from heads import _host, _losses, _weights
from heads.description import HeadDescription
from heads.stats.metric_keys import suffixed

__all__ = ["Head", "SingleHead"]

HEAD_CLASSES: dict[str, type[Head]] = {}
"""The head classes of this package by class name, filled as each class is defined (what
`heads.deserialize` finds without `custom_objects`)."""


class Head(abc.ABC):
    """Interface for the head (top) of a model.

    Shapes below use `[D0, ..., DN]` for the batch dimensions: usually just
    `[batch_size]`, but logits of any rank >= 2 are accepted.

    Every head works eagerly and inside `tf.function` (for example in a Keras
    `train_step`): shape errors are Python `ValueError`s raised when the shapes are
    known statically. Value errors (labels out of range, including vocabulary strings
    that are not in the vocabulary) are, as in the original heads, a `ValueError` at call
    time eagerly and a `tf.errors.InvalidArgumentError` from an assertion op when a graph
    runs. Strings of a sparse multi-label `SparseTensor` that are not in the vocabulary
    are an `InvalidArgumentError` in both modes (the original's failing indicator op).

    Attributes:
        centered_bias: `bool`. When True, a Keras integration adds a learned per-class
            bias to the logits before calling the head (the legacy
            `enable_centered_bias` option, see `heads.contrib`). The head itself never
            reads it. False unless set on an instance.
    """

    centered_bias: bool = False

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("heads."):  # user subclasses go in `custom_objects`
            HEAD_CLASSES[cls.__name__] = cls

    @property
    @abc.abstractmethod
    def name(self) -> str | None:
        """The head name, or None.

        When set, every metric key is suffixed with `"/" + name` (prediction keys never
        are).
        """

    @property
    @abc.abstractmethod
    def logits_dimension(self) -> int:
        """Size of the last logits axis, for example the number of classes."""

    @property
    @abc.abstractmethod
    def loss_reduction(self) -> str:
        """How the training loss is reduced over the batch.

        One of `"sum_over_batch_size"` (weighted sum divided by the number of elements of
        the unweighted loss), `"sum"` (weighted sum) or `"auto"` (same as
        `"sum_over_batch_size"`).
        """

    @abc.abstractmethod
    def loss(
        self,
        labels: Any,
        logits: Any,
        features: Mapping[str, Any] | None = None,
        mode: Any = None,
        regularization_losses: Sequence[Any] | None = None,
    ) -> tf.Tensor:
        """Returns the regularized training loss of one batch.

        Args:
            labels: labels `Tensor` (or `SparseTensor` where the head accepts one) with
                shape `[D0, ..., DN, label_dimension]`, or `[D0, ..., DN]` when the label
                dimension is 1. For a `MultiHead`, a dict from head name to labels.
            logits: float `Tensor` `[D0, ..., DN, logits_dimension]` (any numeric dtype
                is cast to float32). For a `MultiHead`, a dict from head name to logits
                or one `Tensor` holding all heads' logits concatenated.
            features: dict from feature name to `Tensor`. Holds the example weights when
                the head has a `weight_column`, and is passed to a custom `loss_fn` that
                declares a `features` argument. None is treated as an empty dict.
            mode: ignored (kept for compatibility with `tf.estimator` heads).
            regularization_losses: list of scalar losses added, unweighted, to the
                reduced loss. None or an empty list adds nothing.

        Returns:
            float32 scalar `Tensor`: the weighted loss reduced with `loss_reduction`,
            plus the sum of `regularization_losses`.
        """

    @abc.abstractmethod
    def predictions(self, logits: Any, keys: Sequence[str] | None = None) -> dict:
        """Returns a dict of prediction tensors computed from logits.

        Args:
            logits: float `Tensor` `[D0, ..., DN, logits_dimension]`.
            keys: `PredictionKeys` strings to compute. None or empty: every key the head
                supports. An unknown key raises `ValueError`. (Regression heads take no
                `keys` argument; `MultiHead` accepts and ignores it.)

        Returns:
            dict from `PredictionKeys` string to `Tensor`; see each head for shapes.
        """

    @abc.abstractmethod
    def metrics(self, regularization_losses: Sequence[Any] | None = None) -> dict:
        """Creates fresh metric objects.

        Args:
            regularization_losses: only whether it is None (or empty) matters: when it
                holds losses, a `regularization_loss` mean metric is added.

        Returns:
            dict from metric key (suffixed with `"/" + name` when the head has a name) to
            a new `keras.metrics.Metric`.
        """

    @abc.abstractmethod
    def update_metrics(
        self,
        eval_metrics: dict,
        features: Mapping[str, Any] | None,
        logits: Any,
        labels: Any,
        regularization_losses: Sequence[Any] | None = None,
    ) -> dict:
        """Updates the metric objects with one batch, in place.

        Args:
            eval_metrics: dict returned by `metrics()` (possibly already updated with
                earlier batches).
            features: as in `loss`.
            logits: as in `loss`.
            labels: as in `loss`.
            regularization_losses: list of scalar losses; their sum updates the
                `regularization_loss` metric, which must exist in `eval_metrics`
                (`KeyError` otherwise). None or empty: no update.

        Returns:
            `eval_metrics`, updated.
        """

    def get_config(self) -> dict:
        """Returns the constructor arguments that differ from their defaults.

        The values are JSON-serializable; see `heads.serialize`.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not implement get_config(); implement it to "
            "serialize this head."
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any], custom_objects: Mapping | None = None):
        """Builds a head from the output of `get_config`.

        Args:
            config: dict of constructor arguments.
            custom_objects: dict from registry name to function, used to resolve
                `"registry:NAME"` callables (see `heads.deserialize`).

        Returns:
            A new head.
        """
        del custom_objects  # Heads without callables in their config do not need it.
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__name__} name={self.name!r}>"

    def _describe(self) -> HeadDescription:
        """This head as plain values (`heads.describe`); each head of this library has one.

        Raises:
            TypeError: for a head class of its own (the components cannot tell its task).
        """
        raise TypeError(
            f"Invalid `head`: expected one of the library's heads (or a subclass of one); "
            f"received {type(self).__name__}, which has no description."
        )

    # Host-side hooks (`heads/_host.py`, which documents them): the defaults suit a head
    # whose labels and predictions need no host work beyond a compiled step's checks.

    def _step_head(self) -> Head:
        """This head as a compiled step uses it, on labels from `_prepare_labels`."""
        return self

    def _needs_label_preparation(self, compiled: bool) -> bool:
        """Whether `_prepare_labels` has work to do (every check, for a compiled step)."""
        return compiled or getattr(self, "label_vocabulary", None) is not None

    def _prepare_labels(self, labels: Any, check_ranges: bool) -> Any:
        """Labels converted (and with `check_ranges`, checked) on the host."""
        dense = _host.dense_labels(labels)
        return labels if dense is None else dense

    def _device_predictions(self, logits: Any) -> dict:
        """The predictions a compiled step computes: all but the string ones."""
        return self.predictions(logits)

    def _string_predictions(self, predictions: Mapping[Any, tf.Tensor]) -> dict:
        """The string predictions, from `_device_predictions` (on the host)."""
        return {}


class SingleHead(Head):
    """A head over one label (every head but `MultiHead`): the loss plumbing they share.

    A subclass implements `_loss_parts`, its per-example loss after label processing;
    weighting, reduction and the regularization term are done here, once for every head.
    It stores its constructor values as `_name`, `_loss_reduction` and `_weight_column`.
    """

    def _step_head(self) -> Head:
        """A copy without the label vocabulary (labels arrive as class ids); its metric
        keys, made when it was built, keep the class names."""
        if getattr(self, "_label_vocabulary", None) is None:
            return self
        numeric = copy.copy(self)
        numeric._label_vocabulary = None
        return numeric

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def loss_reduction(self) -> str:
        return self._loss_reduction

    @property
    def weight_column(self) -> str | Any | None:
        """The weight feature name or numeric column, as given."""
        return self._weight_column

    def _key(self, key: str) -> str:
        """`key` suffixed with `/<name>` when the head has a name."""
        return suffixed(key, self._name)

    def _description(self, **fields: Any) -> HeadDescription:
        """A `HeadDescription` of this head: `fields` plus what every single head has."""
        weight_column = self._weight_column
        return HeadDescription(
            head_type=type(self).__name__,
            name=self._name,
            logits_dimension=self.logits_dimension,
            weight_key=None if weight_column is None else _weights.weight_column_key(weight_column),
            **fields,
        )

    @abc.abstractmethod
    def _loss_parts(
        self, labels: Any, logits: Any, features: Mapping[str, Any] | None
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        """Returns `(logits, processed labels, unweighted loss, weights)`, all checked.

        The unweighted loss is float32 `[D..., k]` (k = 1, or `label_dimension` for the
        regression heads); the weights broadcast to it.
        """

    def unreduced_loss(
        self, labels: Any, logits: Any, features: Mapping[str, Any] | None = None
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Returns the unweighted per-example loss and the example weights.

        Args:
            labels: labels in any form the head accepts (see the head's class docstring).
            logits: float `[D..., logits_dimension]`.
            features: dict holding the weight feature, if any.

        Returns:
            `(loss, weights)`: float32 loss `[D..., k]` (k = 1, or `label_dimension` for the
            regression heads) and weights `[D..., 1]` (or `[D..., k]` per-output regression
            weights).
        """
        return self._loss_parts(labels, logits, features)[2:]

    def loss(
        self,
        labels: Any,
        logits: Any,
        features: Mapping[str, Any] | None = None,
        mode: Any = None,
        regularization_losses: Sequence[Any] | None = None,
    ) -> tf.Tensor:
        del mode  # Unused.
        _, _, unweighted_loss, weights = self._loss_parts(labels, logits, features)
        training_loss = _losses.compute_weighted_loss(
            unweighted_loss, weights, self._loss_reduction
        )
        return _losses.add_regularization(training_loss, regularization_losses)
