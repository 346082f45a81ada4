"""Example weights: reading the weight feature and checking its shape against logits."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from heads import _validation


@functools.lru_cache(maxsize=1)
def numeric_column_type() -> type:
    """The class of the columns `tf.feature_column.numeric_column` returns."""
    return type(tf.feature_column.numeric_column("weight"))


def is_numeric_column(value: Any) -> bool:
    """Whether `value` is a `tf.feature_column.numeric_column`."""
    return isinstance(value, numeric_column_type())


def weight_column_key(weight_column: Any) -> str:
    """Returns the feature name a weight column reads.

    Raises:
        TypeError: `weight_column` is neither a string nor a NumericColumn.
    """
    if isinstance(weight_column, str):
        return weight_column
    if is_numeric_column(weight_column):
        return weight_column.key
    raise TypeError(
        "Weight column must be either a string or NumericColumn. "
        f"Given type: {type(weight_column)}."
    )


def read_weight_feature(features: Mapping[str, Any], weight_column: Any) -> tf.Tensor:
    """Reads example weights from `features` the way a numeric column does.

    A rank-1 feature gets a trailing axis of size 1 (as `tf.feature_column` did); a
    NumericColumn's `normalizer_fn` is applied; the result is cast to float32.

    Args:
        features: dict from feature name to `Tensor`.
        weight_column: feature name (`str`) or `tf.feature_column.numeric_column`.

    Returns:
        float32 `Tensor` of weights.

    Raises:
        TypeError: `weight_column` has an unsupported type.
        ValueError: the feature is missing, sparse, a scalar, or not numeric.
    """
    key = weight_column_key(weight_column)
    if key not in features:
        raise ValueError(f"Feature {key} is not in features dictionary.")
    weights = features[key]
    if _validation.is_sparse(weights):
        raise ValueError(
            "The corresponding Tensor of numerical column must be a Tensor. "
            f"SparseTensor is not supported. key: {key}"
        )
    weights = tf.convert_to_tensor(weights)
    if weights.shape.rank == 0:
        raise ValueError(f"Feature (key: {key}) cannot have rank 0. Given: {weights}")
    if weights.shape.rank == 1:
        weights = tf.expand_dims(weights, -1)
    normalizer_fn = getattr(weight_column, "normalizer_fn", None)
    if normalizer_fn is not None:
        weights = tf.convert_to_tensor(normalizer_fn(weights))
    if not (weights.dtype.is_floating or weights.dtype.is_integer or weights.dtype.is_bool):
        raise ValueError(f"Weight column should be castable to float. Given dtype: {weights.dtype}")
    return tf.cast(weights, tf.float32)


def get_weights_and_check_match_logits(
    features: Mapping[str, Any] | None,
    weight_column: Any,
    logits: tf.Tensor,
    allow_per_logit_weights: bool = False,
) -> tf.Tensor:
    """Returns example weights shaped to broadcast against the per-example loss.

    For logits `[D0, ..., DN, k]` the weight feature may be `[D0, ..., DN]` (expanded to
    `[D0, ..., DN, 1]`), `[D0, ..., DN, 1]`, or, with `allow_per_logit_weights`,
    `[D0, ..., DN, k]`.

    Args:
        features: dict from feature name to `Tensor`.
        weight_column: None, a feature name or a `tf.feature_column.numeric_column`.
        logits: checked float32 logits `[D0, ..., DN, k]`.
        allow_per_logit_weights: whether `[D0, ..., DN, k]` weights are allowed
            (regression heads).

    Returns:
        float32 `Tensor` `[D0, ..., DN, 1]` (ones when `weight_column` is None) or
        `[D0, ..., DN, k]`.

    Raises:
        TypeError, ValueError: see `read_weight_feature`; ValueError for a bad shape.
    """
    if weight_column is None:
        return tf.ones_like(logits[..., :1])
    weights = read_weight_feature(features or {}, weight_column)
    if allow_per_logit_weights:
        err_msg = (
            "weights shape must be [D0, D1, ... DN], [D0, D1, ... DN, 1] or "
            "[D0, D1, ... DN, logits_dimension]"
        )
    else:
        err_msg = "weights shape must be [D0, D1, ... DN] or [D0, D1, ... DN, 1]"
    logits_shape = logits.shape
    message = (
        f"{err_msg}, logits_shape: {_validation.shape_tuple(logits_shape)}. "
        f"weights_shape: {_validation.shape_tuple(weights.shape)}."
    )
    if weights.shape.rank is None or logits_shape.rank is None:
        raise ValueError(f"{message} The ranks of weights and logits must be known.")
    if weights.shape.rank == logits_shape.rank - 1:
        batch_shape = _validation.logits_based_shape(logits, None)
        weights = _validation.assert_shape_in(weights, [batch_shape], message)
        return tf.expand_dims(weights, -1)
    candidates = [_validation.logits_based_shape(logits, 1)]
    if allow_per_logit_weights:
        candidates.append((logits_shape, lambda: tf.shape(logits)))
    return _validation.assert_shape_in(weights, candidates, message)


def broadcast_weights(weights: tf.Tensor, values: tf.Tensor) -> tf.Tensor:
    """Broadcasts float weights to the shape of `values`."""
    return tf.broadcast_to(tf.cast(weights, tf.float32), tf.shape(values))
