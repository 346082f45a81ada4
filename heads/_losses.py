"""Loss plumbing shared by the heads: reduction, custom `loss_fn`, regularization.

Each head computes only its unweighted per-example loss; weighting, reduction and the
regularization term are done here, the same way for every head.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import tensorflow as tf

from heads import _validation

LossReduction = Literal["sum_over_batch_size", "sum", "auto"]

SUM = "sum"
SUM_OVER_BATCH_SIZE = "sum_over_batch_size"
AUTO = "auto"
VALID_LOSS_REDUCTIONS = (AUTO, SUM, SUM_OVER_BATCH_SIZE)

LOSS_FN_ARGS = ("labels", "logits", "features", "loss_reduction")


def validate_loss_reduction(loss_reduction: Any) -> None:
    """Raises `ValueError` unless `loss_reduction` is "sum_over_batch_size", "sum" or "auto".

    "none" is rejected: heads always return a scalar loss.
    """
    if not isinstance(loss_reduction, str) or loss_reduction not in VALID_LOSS_REDUCTIONS:
        raise ValueError(
            f"Invalid loss_reduction: {loss_reduction}. See `tf.losses.Reduction` for "
            "valid options."
        )


def loss_fn_args(loss_fn: Callable) -> tuple[str, ...]:
    """Returns the names of the arguments `loss_fn` accepts by keyword.

    `self` of a bound method and arguments already bound by `functools.partial` are not
    included; `*args` and `**kwargs` are not names and are ignored.
    """
    try:
        parameters = inspect.signature(loss_fn).parameters.values()
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"Invalid `loss_fn`: expected a Python callable; received {loss_fn!r}."
        ) from e
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(p.name for p in parameters if p.kind in kinds)


def validate_loss_fn_args(loss_fn: Callable) -> None:
    """Checks a custom `loss_fn` signature by argument names.

    Required: `labels`, `logits`. Optional: `features`, `loss_reduction` (accepted but
    never passed, as in `tf.estimator`).

    Raises:
        ValueError: a required argument is missing, or an unexpected one is declared.
    """
    args = loss_fn_args(loss_fn)
    for required in ("labels", "logits"):
        if required not in args:
            raise ValueError(f"loss_fn must contain argument: {required}. Given arguments: {args}")
    invalid = sorted(set(args) - set(LOSS_FN_ARGS))
    if invalid:
        raise ValueError(f"loss_fn has unexpected args: {invalid}")


def call_loss_fn(
    loss_fn: Callable,
    labels: tf.Tensor,
    logits: tf.Tensor,
    features: Mapping[str, Any],
    expected_loss_dim: int = 1,
) -> tf.Tensor:
    """Calls a custom `loss_fn` and checks the shape of what it returns.

    Args:
        loss_fn: called as `loss_fn(labels=..., logits=...)`, plus `features=features`
            when it declares `features`.
        labels: processed labels `Tensor` `[D0, ..., DN, label_dim]`.
        logits: float32 `Tensor` `[D0, ..., DN, logits_dimension]`.
        features: dict of feature tensors.
        expected_loss_dim: last dimension the unreduced loss must have.

    Returns:
        float32 `Tensor` `[D0, ..., DN, expected_loss_dim]`.

    Raises:
        ValueError: the returned loss has another shape.
    """
    kwargs = {"features": features} if "features" in loss_fn_args(loss_fn) else {}
    unweighted_loss = tf.convert_to_tensor(loss_fn(labels=labels, logits=logits, **kwargs))
    expected_shape = _validation.logits_based_shape(logits, expected_loss_dim)
    error = (
        f"loss_fn must return Tensor of shape [D0, D1, ... DN, {expected_loss_dim}]. ",
        "logits_shape: ",
        _validation.shape_tuple(logits.shape),
        "loss_shape: ",
        _validation.shape_tuple(unweighted_loss.shape),
    )
    try:
        unweighted_loss = _validation.assert_shape_in(unweighted_loss, [expected_shape], str(error))
    except ValueError:
        raise ValueError(*error) from None
    return tf.cast(unweighted_loss, tf.float32)


def compute_weighted_loss(
    unweighted_loss: tf.Tensor, weights: tf.Tensor, reduction: str
) -> tf.Tensor:
    """Weights and reduces a per-example loss to a scalar.

    Args:
        unweighted_loss: float32 `Tensor` `[D0, ..., DN, d]`.
        weights: float32 `Tensor` broadcastable to `unweighted_loss`.
        reduction: "sum" (sum of weighted elements), "sum_over_batch_size" or "auto"
            (sum of weighted elements divided by the number of elements of the weighted
            loss; zero-weight elements still count; 0 for an empty batch).

    Returns:
        float32 scalar `Tensor`.
    """
    weighted = tf.multiply(tf.cast(unweighted_loss, tf.float32), tf.cast(weights, tf.float32))
    total = tf.reduce_sum(weighted)
    if reduction == SUM:
        return total
    return tf.math.divide_no_nan(total, tf.cast(tf.size(weighted), tf.float32))


def regularization_loss(regularization_losses: Sequence[Any] | None) -> tf.Tensor | None:
    """Returns the float32 sum of `regularization_losses`, or None when there are none.

    An empty list counts as None (the original heads failed on it).
    """
    if not has_regularization(regularization_losses):
        return None
    return tf.math.add_n([tf.cast(loss, tf.float32) for loss in regularization_losses])


def has_regularization(regularization_losses: Sequence[Any] | None) -> bool:
    """Whether `regularization_losses` holds at least one loss."""
    return regularization_losses is not None and len(regularization_losses) > 0


def add_regularization(
    training_loss: tf.Tensor, regularization_losses: Sequence[Any] | None
) -> tf.Tensor:
    """Returns `training_loss` plus the sum of `regularization_losses` (if any)."""
    total = regularization_loss(regularization_losses)
    return training_loss if total is None else training_loss + total
