"""Default per-example losses, links and scores of the heads, in vectorised NumPy.

Used when the caller does not supply the head's unreduced loss. Each function computes in
the dtype of its floating inputs (float32 logits give float32 losses, like the original
TensorFlow ops) except `multiclass_softmax`, which works in float64 so the one-vs-rest
log-odds of tiny probabilities stay accurate. Infinite and NaN logits give the values the
original ops give (for example NaN for `sigmoid_cross_entropy(1, inf)`), without warnings.

>>> float(sigmoid_cross_entropy(np.float64(1.0), np.float64(0.0)))  # ln 2
0.6931471805599453
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

__all__ = [
    "MulticlassSoftmax",
    "constant_like",
    "log1p_unit",
    "multiclass_softmax",
    "poisson_loss",
    "sigmoid",
    "sigmoid_and_cross_entropy",
    "sigmoid_cross_entropy",
    "squared_error",
]


_CONSTANT_BLOCK = 2**16
"""Elements of the cached constant arrays of `constant_like` (256 KiB in float32)."""


@functools.lru_cache(maxsize=16)
def _constant_block(value: float, dtype: np.dtype) -> np.ndarray:
    block = np.full(_CONSTANT_BLOCK, value, dtype=dtype)
    block.flags.writeable = False
    return block


def constant_like(value: float, array: np.ndarray) -> np.ndarray | np.generic:
    """`value` in the dtype of `array`: a read-only array of its shape when it is small.

    NumPy 1.26's `maximum`, `minimum`, `fmax` and `fmin` run about three times faster
    between two arrays than between an array and a scalar (the scalar loops are not
    vectorised on AVX2), so the chunked updates compare against a cached constant array;
    arrays over 2**16 elements get the scalar (no large cache).
    """
    if array.size > _CONSTANT_BLOCK:
        return array.dtype.type(value)
    return _constant_block(float(value), array.dtype)[: array.size].reshape(array.shape)


def log1p_unit(values: np.ndarray) -> np.ndarray:
    """`log(1 + v)` for `v >= 0`, accurate to a few ulp and SIMD-fast.

    NumPy's `log1p` has no vectorised kernel on most CPUs (float32 about 20 ns a value,
    float64 14 against 9 for `log`); this uses `log(u) + (v - (u - 1)) / u` with
    `u = 1 + v`. For `v <= 1`, `v - (u - 1)` is the exact rounding error of `1 + v`, so tiny
    `v` keep full relative precision; for larger `v` the term is below an ulp of the result.

    Args:
        values: float array, values `>= 0` (NaN propagates).

    Returns:
        float array of the same shape and dtype.
    """
    values = np.asarray(values)
    return _log1p_unit_into(values, np.empty_like(values), np.empty_like(values))


def _log1p_unit_into(values: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """`log1p_unit(values)` written into `out`, with `scratch` as work space; returns `out`."""
    np.add(values, 1, out=out)
    correction = np.subtract(out, 1, out=scratch)
    np.subtract(values, correction, out=correction)
    correction /= out
    np.log(out, out=out)
    out += correction
    return out


def _float_buffer(values: np.ndarray) -> np.ndarray:
    return np.empty(values.shape, dtype=np.result_type(values.dtype, np.float32))


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """`1 / (1 + exp(-x))` in the dtype of `logits`; saturates to 0/1 without warnings."""
    with np.errstate(over="ignore"):
        return _sigmoid(logits)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    """`sigmoid` for callers that already ignore overflow warnings."""
    logits = np.asarray(logits)
    result = np.negative(logits, out=_float_buffer(logits))
    np.exp(result, out=result)
    result += 1
    # `1 / u` by division: the same correctly rounded value as `np.reciprocal`, which has
    # no vectorised loop (about 1.6 times slower).
    np.divide(1, result, out=result)
    return result


def _float_dtype(logits: np.ndarray) -> np.dtype:
    return np.result_type(np.asarray(logits).dtype, np.float32)


def sigmoid_cross_entropy(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Per-element `max(x, 0) - x * z + log(1 + exp(-|x|))` (TF's stable formula, summed
    left to right as TensorFlow does).

    Args:
        labels: float `z`, values in `[0, 1]`, broadcastable to `logits`; cast to the
            logits' dtype first, as the heads do.
        logits: float `x`.

    Returns:
        float array of the broadcast shape, in the logits' dtype.
    """
    logits = np.asarray(logits)
    labels = np.asarray(labels, dtype=_float_dtype(logits))
    exp_neg_abs, log1p_term, scratch = (_float_buffer(logits) for _ in range(3))
    with np.errstate(invalid="ignore"):
        np.abs(logits, out=exp_neg_abs)
        np.negative(exp_neg_abs, out=exp_neg_abs)
        np.exp(exp_neg_abs, out=exp_neg_abs)
        _log1p_unit_into(exp_neg_abs, log1p_term, scratch)
        return _cross_entropy_into(exp_neg_abs, scratch, log1p_term, logits, labels)


def _cross_entropy_into(
    out: np.ndarray,
    scratch: np.ndarray,
    log1p_term: np.ndarray,
    logits: np.ndarray,
    labels: np.ndarray,
) -> np.ndarray:
    """`(max(x, 0) - x * z) + log1p_term` into `out`, in TensorFlow's order of operations.

    Summing the linear terms first keeps the tiny loss of a confident correct prediction
    (`x = 30, z = 1` gives `exp(-30)`, where adding `log1p` to `max(x, 0)` first gives 0 in
    float32). `scratch` is work space of the logits' shape; returns `out`.
    """
    np.maximum(logits, constant_like(0, logits), out=out)
    out -= np.multiply(logits, labels, out=scratch)
    out += log1p_term
    return out


def sigmoid_and_cross_entropy(
    labels: np.ndarray, logits: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """`(sigmoid(x), sigmoid_cross_entropy(z, x))` with one `exp` instead of two.

    The probabilities are bit-identical to `sigmoid` (`1 / (1 + E)` with `E = exp(-x)`), so
    threshold comparisons on them are unchanged. The loss takes `exp(-|x|)` as
    `min(E, 1 / E)`: `E` itself for `x >= 0`, its reciprocal (within a few ulp of
    `exp(x)`) for `x < 0`, so it differs from `sigmoid_cross_entropy` by float rounding only.

    Args:
        labels: float `z`, values in `[0, 1]`, broadcastable to `logits`.
        logits: float `x`.

    Returns:
        `(probabilities, loss)`: float arrays of the logits' shape and dtype.
    """
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return _sigmoid_and_cross_entropy(labels, logits)


def _sigmoid_and_cross_entropy(
    labels: np.ndarray, logits: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """`sigmoid_and_cross_entropy` for callers that already ignore float warnings."""
    logits = np.asarray(logits)
    dtype = _float_dtype(logits)
    labels = np.asarray(labels, dtype=dtype)
    # Four buffers, reused as values die: a smaller working set is about 1 ns an example
    # faster than fresh arrays for every step.
    exp_neg, probabilities, exp_neg_abs, scratch = (np.empty(logits.shape, dtype) for _ in range(4))
    np.negative(logits, out=exp_neg)
    np.exp(exp_neg, out=exp_neg)
    np.add(exp_neg, 1, out=probabilities)
    np.divide(1, probabilities, out=probabilities)
    np.divide(1, exp_neg, out=exp_neg_abs)
    np.minimum(exp_neg, exp_neg_abs, out=exp_neg_abs)
    log1p_term = _log1p_unit_into(exp_neg_abs, exp_neg, scratch)
    loss = _cross_entropy_into(exp_neg_abs, scratch, log1p_term, logits, labels)
    return probabilities, loss


def squared_error(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Per-element `(labels - predictions) ** 2` (the RegressionHead loss, on logits).

    Labels are cast to the predictions' dtype first, as the heads do.
    """
    predictions = np.asarray(predictions)
    labels = np.asarray(labels, dtype=_float_dtype(predictions))
    with np.errstate(invalid="ignore", over="ignore"):
        difference = np.subtract(labels, predictions)
        np.multiply(difference, difference, out=difference)
    return difference


def poisson_loss(
    labels: np.ndarray, logits: np.ndarray, compute_full_loss: bool = True
) -> np.ndarray:
    """Per-element log-input Poisson loss (`tf.nn.log_poisson_loss`, same operation order).

    `exp(x) - x * z`, plus with `compute_full_loss` the Stirling term
    `z * ln(z) - z + ln(2 pi z) / 2` wherever `z` is outside `[0, 1]` (so negative labels
    give NaN, as in TensorFlow). Computed in the logits' dtype with the labels cast to it:
    for large labels the terms cancel, and float32 reproduces the original's float32 value.

    Args:
        labels: float `z`, broadcastable to `logits`.
        logits: float `x` (the log of the predicted rate).
        compute_full_loss: whether to add the Stirling term.

    Returns:
        float array of the broadcast shape, in the logits' dtype.
    """
    logits = np.asarray(logits)
    dtype = _float_dtype(logits)
    z = np.asarray(labels, dtype=dtype)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        result = np.exp(logits) - logits * z
        if compute_full_loss:
            stirling = z * np.log(z) - z + dtype.type(0.5) * np.log(dtype.type(2 * np.pi) * z)
            result = result + np.where((z >= 0) & (z <= 1), dtype.type(0), stirling)
    return result


class MulticlassSoftmax(NamedTuple):
    """Softmax quantities of multi-class logits (float64)."""

    loss: np.ndarray | None
    """`[M]` sparse softmax cross-entropy `logsumexp(x) - x[label]` (None without labels)."""
    class_ids: np.ndarray
    """intp `[M]`: argmax of the logits (first maximum on ties)."""
    probabilities: np.ndarray
    """`[M, C]`: softmax probabilities of the selected classes."""
    log_odds: np.ndarray
    """`[M, C]`: `log(p / (1 - p))` of the selected classes, `x_c - logsumexp(x_{j != c})`."""


def multiclass_softmax(
    logits: np.ndarray,
    labels: np.ndarray | None,
    classes: np.ndarray,
    curve_classes: np.ndarray | None = None,
) -> MulticlassSoftmax:
    """Loss, predicted class and one-vs-rest scores of multi-class logits, in float64.

    The log-odds of class `c` is computed without cancellation from the row maximum `m`,
    `E_j = exp(x_j - m)` and `S = sum of E_j over the non-argmax classes`: for the argmax
    class it is `-log(S)`, for the others `x_c - m - log1p(S - E_c)` (the argmax term
    contributes the exact 1; `log1p` as `log1p_unit`). Every cell is computed as a
    non-argmax one, then the argmax cells (one per row) are overwritten, which costs far less
    than a full-matrix select.

    Args:
        logits: float `[M, n]`.
        labels: int `[M]` class ids in `[0, n)`, or None to skip the loss.
        classes: intp `[C]`, the classes whose probabilities are wanted.
        curve_classes: intp `[K]`, the classes whose log-odds are wanted (None: `classes`);
            a head of 100,000 classes may want every probability and no log-odds.

    Returns:
        `MulticlassSoftmax`.
    """
    x = np.asarray(logits, dtype=np.float64)
    rows = np.arange(x.shape[0])
    class_ids = np.argmax(x, axis=1)
    top = x[rows, class_ids]
    every_class = np.arange(x.shape[1])
    all_probabilities = np.array_equal(classes, every_class)
    if curve_classes is None or curve_classes is classes:
        curve_classes, all_log_odds = classes, all_probabilities
    else:
        all_log_odds = np.array_equal(curve_classes, every_class)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        shifted = x - top[:, None]
        exp_shifted = np.exp(shifted)
        exp_shifted[rows, class_ids] = 0.0
        others = exp_shifted.sum(axis=1)
        logsumexp = top + np.log1p(others)
        loss = None if labels is None else logsumexp - x[rows, labels]
        log_odds = _log_odds(shifted, exp_shifted, others, class_ids, curve_classes, all_log_odds)
        exp_selected = exp_shifted if all_probabilities else exp_shifted[:, classes]
        probabilities = np.divide(exp_selected, (1.0 + others)[:, None], out=exp_selected)
        top_rows, top_columns = _top_cells(class_ids, classes, all_probabilities)
        probabilities[top_rows, top_columns] = 1.0 / (1.0 + others[top_rows])
    return MulticlassSoftmax(loss, class_ids, probabilities, log_odds)


def _log_odds(
    shifted: np.ndarray,
    exp_shifted: np.ndarray,
    others: np.ndarray,
    class_ids: np.ndarray,
    classes: np.ndarray,
    every: bool,
) -> np.ndarray:
    """`MulticlassSoftmax.log_odds` of `classes` (every class when `every`, reusing
    `shifted` as the output); `exp_shifted` is read only."""
    if not every:
        shifted, exp_shifted = shifted[:, classes], exp_shifted[:, classes]
    rest = np.subtract(others[:, None], exp_shifted)
    np.maximum(rest, 0.0, out=rest)
    log_rest = _log1p_unit_into(rest, np.empty_like(rest), np.empty_like(rest))
    log_odds = np.subtract(shifted, log_rest, out=shifted)
    top_rows, top_columns = _top_cells(class_ids, classes, every)
    log_odds[top_rows, top_columns] = -np.log(others[top_rows])
    return log_odds


def _top_cells(
    class_ids: np.ndarray, classes: np.ndarray, every: bool
) -> tuple[np.ndarray, np.ndarray]:
    """`(rows, columns)` of the cells of `[M, len(classes)]` where a row's argmax class is."""
    if every:
        return np.arange(len(class_ids)), class_ids
    return np.nonzero(class_ids[:, None] == classes[None, :])
