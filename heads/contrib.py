"""The legacy `tf.contrib.learn.multi_label_head` factory, mapped onto `MultiLabelHead`.

Code written for `tf.contrib.learn` can keep its call::

    head = heads.contrib.multi_label_head(n_classes=5, weight_column_name="w",
                                          head_name="tags", metric_class_ids=[0, 3])

and gets a `heads.MultiLabelHead`. What changes (see docs/heads-behaviour.md §9):

* metric keys are those of `MetricKeys` (`accuracy/positive_threshold_0.5/tags`, not the
  legacy `accuracy/threshold_0.500000_mean/tags`);
* predictions are not suffixed with the head name;
* `enable_centered_bias` is stored as `head.centered_bias`; a Keras integration (such as
  `heads.HeadModel`) adds the learned per-class bias to the logits;
* `label_name` is stored as `head.label_name`; pass the label tensor itself to the head
  (with a `MultiHead`, the head name is the label key).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf

from heads.multi_label_head import MultiLabelHead

__all__ = ["adapt_legacy_loss_fn", "multi_label_head", "validate_legacy_loss_fn"]

_LEGACY_LOSS_ARGS = ("labels", "logits", "weights")


def multi_label_head(
    n_classes: int,
    label_name: str | None = None,
    weight_column_name: str | None = None,
    enable_centered_bias: bool = False,
    head_name: str | None = None,
    thresholds: Sequence[float] | None = None,
    metric_class_ids: Sequence[int] | None = None,
    loss_fn: Callable | None = None,
) -> MultiLabelHead:
    """Creates a `MultiLabelHead` from the arguments of the legacy factory.

    Example:

    >>> head = multi_label_head(n_classes=3, head_name="tags", enable_centered_bias=True)
    >>> head.name, head.thresholds, head.centered_bias
    ('tags', (0.5,), True)
    >>> sorted(head.metrics())[:3]
    ['accuracy/positive_threshold_0.5/tags', 'auc/tags', 'auc_precision_recall/tags']

    Args:
        n_classes: number of classes, an int >= 2.
        label_name: key of the labels in a labels dict; stored as `head.label_name`.
        weight_column_name: feature name of the example weights (`weight_column`).
        enable_centered_bias: stored as `head.centered_bias` for the Keras integration.
        head_name: the head `name` (suffix of metric keys).
        thresholds: thresholds of the accuracy/precision/recall metrics; None or empty
            means `[0.5]` (the legacy default).
        metric_class_ids: class ids with per-class metrics
            (`classes_for_class_based_metrics`).
        loss_fn: legacy `loss_fn(labels, logits, weights=None)` returning a weighted
            scalar loss; adapted with `adapt_legacy_loss_fn`.

    Returns:
        A `MultiLabelHead` with the extra attributes `centered_bias` and `label_name`.

    Raises:
        ValueError: `n_classes < 2`, or a `loss_fn` without the legacy signature, or any
            error of `MultiLabelHead`.
        TypeError: `enable_centered_bias` is not a bool.
    """
    if n_classes is None or n_classes < 2:
        raise ValueError(
            f"n_classes must be > 1 for multi-label classification. Given: {n_classes}"
        )
    if not isinstance(enable_centered_bias, bool):
        raise TypeError(
            f"Invalid `enable_centered_bias`: expected a bool; received {enable_centered_bias!r}."
        )
    head = MultiLabelHead(
        n_classes=n_classes,
        weight_column=weight_column_name,
        thresholds=thresholds if thresholds else [0.5],
        loss_fn=None if loss_fn is None else adapt_legacy_loss_fn(loss_fn),
        classes_for_class_based_metrics=metric_class_ids,
        name=head_name,
    )
    head.centered_bias = enable_centered_bias
    head.label_name = label_name
    return head


def validate_legacy_loss_fn(loss_fn: Callable) -> None:
    """Checks the legacy signature `loss_fn(labels, logits, weights=None)`.

    The arguments `labels`, `logits` and `weights` must exist by name; any other argument
    must have a default.

    Raises:
        ValueError: the signature does not fit.
    """
    expected = "loss_fn(labels, logits, weights=None)"
    if not callable(loss_fn):
        raise ValueError(
            f"Invalid `loss_fn`: expected a callable {expected}; received {loss_fn!r}."
        )
    try:
        parameters = inspect.signature(loss_fn).parameters
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"Invalid `loss_fn`: expected a Python function {expected}; "
            f"received {loss_fn!r} whose signature cannot be read."
        ) from e
    names = tuple(parameters)
    missing = [name for name in _LEGACY_LOSS_ARGS if name not in parameters]
    extra = [
        name
        for name, p in parameters.items()
        if name not in _LEGACY_LOSS_ARGS
        and p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    if missing or extra:
        problem = f"missing {missing}" if missing else f"required extra arguments {extra}"
        raise ValueError(
            f"Invalid `loss_fn`: expected the legacy signature {expected}; received "
            f"arguments {names} ({problem})."
        )


def adapt_legacy_loss_fn(legacy_loss_fn: Callable) -> Callable:
    """Turns a legacy scalar `loss_fn(labels, logits, weights=None)` into a per-example one.

    The returned `loss_fn(labels, logits)` evaluates the legacy function once per example:
    for logits `[D0, ..., DN, n]` and multi-hot labels `[D0, ..., DN, n]` it flattens the
    batch dimensions and, for every example `i`, calls
    `legacy_loss_fn(labels=labels_i, logits=logits_i, weights=None)` with `labels_i`
    `[1, n]` (the head's processed labels) and `logits_i` float32 `[1, n]`; the scalar it
    returns is that example's loss. The results form the unreduced loss float32
    `[D0, ..., DN, 1]`, which the head then weights with its example weights and reduces
    with its `loss_reduction` (the legacy function never sees the weights).

    The calls are vectorized with `tf.vectorized_map` (a loop when an op cannot be
    vectorized). For a legacy loss that is a mean over its batch of per-example losses
    (like the legacy default, the sigmoid cross-entropy averaged over classes), the head's
    default "sum_over_batch_size" reduction gives exactly the legacy weighted loss,
    `mean(weights * per_example_loss)`. A legacy loss that normalizes by the weights
    themselves cannot be reproduced per example.

    Args:
        legacy_loss_fn: function with arguments `labels`, `logits`, `weights`.

    Returns:
        A `loss_fn(labels, logits)` for `MultiLabelHead`; its `legacy_loss_fn` attribute
        holds the original function. It cannot be serialized with `heads.serialize`.

    Raises:
        ValueError: the legacy signature does not fit (see `validate_legacy_loss_fn`).
    """
    validate_legacy_loss_fn(legacy_loss_fn)

    def loss_fn(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        n_classes = logits.shape[-1]
        flat_labels = tf.reshape(labels, [-1, n_classes])
        flat_logits = tf.reshape(logits, [-1, n_classes])

        def example_loss(example: tuple[Any, Any]) -> tf.Tensor:
            example_labels, example_logits = example
            value = legacy_loss_fn(
                labels=tf.expand_dims(example_labels, 0),
                logits=tf.expand_dims(example_logits, 0),
                weights=None,
            )
            return tf.reshape(tf.cast(value, tf.float32), [])

        per_example = tf.vectorized_map(example_loss, (flat_labels, flat_logits))
        unreduced = tf.reshape(per_example, tf.shape(logits[..., :1]))
        return tf.ensure_shape(unreduced, logits.shape[:-1].concatenate([1]))

    loss_fn.__name__ = f"legacy_{getattr(legacy_loss_fn, '__name__', 'loss_fn')}"
    loss_fn.legacy_loss_fn = legacy_loss_fn
    loss_fn.serialization_error = (
        "it adapts a legacy contrib loss_fn; serialize the legacy arguments instead "
        "(heads.contrib.multi_label_head is not a head class)."
    )
    return loss_fn
