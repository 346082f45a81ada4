"""Exact weighted sums and means (average loss, label and prediction means, baselines).

The state of a group of weighted means is float64 `[1 + K]`: the weight total followed by
`K` weighted sums `sum_i w_i * v_k[i]`. Values of any float dtype are widened to float64
before they are multiplied and summed (one float64 matrix-vector product per batch), so
the per-example terms do not depend on how the data is batched and the accumulated error
(about 1e-16 relative) stays far below the 1e-12 that split invariance asks for. States
merge by elementwise sum. Means follow Keras' `Mean`: `total / count`, 0 when the weight
total is 0 (`tf.math.divide_no_nan`).

>>> state = _weighted_mean_update(None, [np.array([1.0, 3.0])], np.array([1.0, 3.0]))
>>> state
array([ 4., 10.])
>>> float(_weighted_mean_compute(state)[0])
2.5
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["ratio", "safe_divide", "weighted_mean", "weighted_sums"]


def safe_divide(numerator: np.ndarray | float, denominator: np.ndarray | float) -> np.ndarray:
    """`numerator / denominator`, 0 where the denominator is 0 (`tf.math.divide_no_nan`).

    Args:
        numerator: float array or scalar.
        denominator: float array or scalar, broadcastable to `numerator`.

    Returns:
        float64 array of the broadcast shape.
    """
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    shape = numerator.shape
    if denominator.shape != shape:
        shape = np.broadcast_shapes(shape, denominator.shape)
    result = np.zeros(shape)
    np.divide(numerator, denominator, out=result, where=denominator != 0)
    return result


def ratio(numerator: float, denominator: float) -> float:
    """`safe_divide` of two scalars, as a Python float (without array overhead)."""
    return float(numerator) / float(denominator) if denominator != 0 else 0.0


def weighted_sums(values: Sequence[np.ndarray], weights: np.ndarray | None) -> np.ndarray:
    """Returns float64 `[K]`: `sum_i w_i * v_k[i]` for each of `K` value arrays.

    Args:
        values: `K` float arrays `[M]` (any float dtype; widened to float64 first).
        weights: float64 `[M]`, or None for weight 1.

    Returns:
        float64 `[K]`.
    """
    if not values:
        return np.zeros(0)
    features = np.empty((len(values), values[0].shape[0]))
    for row, value in zip(features, values, strict=True):
        row[...] = value
    if weights is None:
        return features.sum(axis=1)
    return features @ weights


def _weighted_mean_update(
    state: np.ndarray | None, values: Sequence[np.ndarray], weights: np.ndarray | None
) -> np.ndarray:
    """Adds a batch to a `[1 + K]` weighted-mean state (in place) and returns it.

    Args:
        state: float64 `[1 + K]`, or None to start a new one.
        values: `K` float arrays `[M]`.
        weights: float64 `[M]` (non-negative), or None for weight 1.

    Returns:
        float64 `[1 + K]`: weight total, then the `K` weighted sums.
    """
    if state is None:
        state = np.zeros(1 + len(values))
    size = values[0].shape[0] if values else 0
    state[0] += size if weights is None else weights.sum()
    state[1:] += weighted_sums(values, weights)
    return state


def _weighted_mean_compute(state: np.ndarray) -> np.ndarray:
    """Returns float64 `[K]`: each weighted sum divided by the weight total (0 if it is 0)."""
    return safe_divide(state[1:], state[0])


def weighted_mean(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Keras-`Mean`-compatible weighted mean of `values`.

    Args:
        values: float `[M]` (any shape is flattened).
        weights: float `[M]` (non-negative), or None for weight 1.

    Returns:
        `sum(w * v) / sum(w)`, or 0.0 when `sum(w)` is 0.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64).reshape(-1)
        if weights.shape != values.shape:
            raise ValueError(
                f"Invalid `weights`: expected shape {values.shape} (one per value); received "
                f"shape {weights.shape}."
            )
    state = _weighted_mean_update(None, [values], weights)
    return float(_weighted_mean_compute(state)[0])
