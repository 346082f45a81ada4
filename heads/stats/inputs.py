"""Validation of configuration values and batch arrays for the statistics layer.

`validate_*` functions raise (`TypeError` for a wrong type, `ValueError` for a wrong
value) with messages of the form "Invalid `arg`: expected <what>; received <value>." and
return the checked, normalised value. `flatten_*` functions bring batch arrays of any
leading shape `[D0, ..., DN, k]` to two dimensions `[M, k]` with `M = D0 * ... * DN`,
without copying when the input is already contiguous.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "MAX_NUM_BUCKETS",
    "BinaryLabels",
    "binary_labels",
    "as_float_array",
    "flatten_binary_labels",
    "flatten_logits",
    "flatten_per_class",
    "flatten_per_example",
    "flatten_weights",
    "invalid",
    "validate_batch_keys",
    "validate_class_ids",
    "validate_logit_range",
    "validate_n_classes",
    "validate_name",
    "validate_num_buckets",
    "validate_positive_int",
    "validate_thresholds",
    "validate_unit_interval",
    "validate_vocabulary",
]

MAX_NUM_BUCKETS = 2**24
"""Largest histogram resolution accepted (float32 bucketing stays monotone up to here)."""


def invalid(arg: str, expected: str, received: Any, fix: str = "") -> str:
    """Formats the standard error message of this package."""
    message = f"Invalid `{arg}`: expected {expected}; received {received!r}."
    return f"{message} {fix}" if fix else message


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def validate_positive_int(value: Any, arg: str, minimum: int = 1) -> int:
    """Checks that `value` is an integer `>= minimum` and returns it as `int`."""
    if not _is_int(value):
        raise TypeError(invalid(arg, f"an integer >= {minimum}", value))
    if value < minimum:
        raise ValueError(invalid(arg, f"an integer >= {minimum}", value))
    return int(value)


def validate_num_buckets(num_buckets: Any, arg: str = "num_buckets") -> int:
    """Checks a histogram resolution: an integer in `[2, 2**24]`."""
    value = validate_positive_int(num_buckets, arg, minimum=2)
    if value > MAX_NUM_BUCKETS:
        raise ValueError(invalid(arg, f"an integer in [2, {MAX_NUM_BUCKETS}]", num_buckets))
    return value


def validate_logit_range(logit_range: Any) -> float:
    """Checks the half-width `L` of the histogram interval `[-L, L]`: a finite real > 0."""
    if not _is_real(logit_range):
        raise TypeError(invalid("logit_range", "a finite real number > 0", logit_range))
    if not (math.isfinite(logit_range) and logit_range > 0):
        raise ValueError(invalid("logit_range", "a finite real number > 0", logit_range))
    return float(logit_range)


def validate_thresholds(thresholds: Any) -> tuple[float, ...]:
    """Checks classification thresholds: reals strictly inside `(0, 1)`; None means none."""
    if thresholds is None:
        return ()
    if isinstance(thresholds, (str, bytes)) or not isinstance(thresholds, Iterable):
        raise TypeError(invalid("thresholds", "a sequence of floats in (0, 1)", thresholds))
    values = tuple(thresholds)
    for value in values:
        if not _is_real(value):
            raise TypeError(invalid("thresholds", "a sequence of floats in (0, 1)", values))
        if not 0.0 < value < 1.0:
            raise ValueError(invalid("thresholds", "a sequence of floats in (0, 1)", values))
    return tuple(float(value) for value in values)


def validate_n_classes(n_classes: Any, minimum: int) -> int:
    """Checks a number of classes: an integer `>= minimum`."""
    return validate_positive_int(n_classes, "n_classes", minimum=minimum)


def validate_vocabulary(label_vocabulary: Any, n_classes: int) -> tuple[str, ...] | None:
    """Checks a label vocabulary: None, or a list/tuple of `n_classes` strings."""
    if label_vocabulary is None:
        return None
    if not isinstance(label_vocabulary, (list, tuple)):
        raise TypeError(
            invalid("label_vocabulary", "None or a list/tuple of strings", label_vocabulary)
        )
    if not all(isinstance(entry, str) for entry in label_vocabulary):
        raise TypeError(invalid("label_vocabulary", "strings only", label_vocabulary))
    if len(label_vocabulary) != n_classes:
        raise ValueError(
            invalid("label_vocabulary", f"{n_classes} entries (n_classes)", label_vocabulary)
        )
    return tuple(label_vocabulary)


def validate_class_ids(classes: Any, n_classes: int) -> tuple[int, ...]:
    """Checks class ids for per-class metrics: integers in `[0, n_classes)`; None means none.

    Vocabulary strings must be converted to ids by the caller (the head does it at
    construction).
    """
    if classes is None:
        return ()
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Iterable):
        raise TypeError(invalid("classes_for_class_based_metrics", "a sequence of ints", classes))
    values = tuple(classes)
    if set(map(type, values)) <= {int} and (
        not values or (min(values) >= 0 and max(values) < n_classes)
    ):
        return values  # The common case, checked without a Python call per class.
    for value in values:
        if not _is_int(value):
            raise TypeError(
                invalid("classes_for_class_based_metrics", "a sequence of int class ids", values)
            )
        if not 0 <= value < n_classes:
            raise ValueError(
                invalid("classes_for_class_based_metrics", f"class ids in [0, {n_classes})", values)
            )
    return tuple(int(value) for value in values)


def validate_name(name: Any) -> str | None:
    """Checks a head name: None or a string (the empty string counts as no name)."""
    if name is not None and not isinstance(name, str):
        raise TypeError(invalid("name", "None or a string", name))
    return name or None


def validate_batch_keys(
    batch: Any, required: Collection[str], optional: Collection[str]
) -> Mapping[str, Any]:
    """Checks that `batch` is a mapping with the `required` keys and no unknown ones."""
    if not isinstance(batch, Mapping):
        raise TypeError(invalid("batch", "a mapping from array names to arrays", type(batch)))
    missing = [key for key in required if batch.get(key) is None]
    unknown = sorted(set(batch) - set(required) - set(optional))
    if missing or unknown:
        expected = f"keys {sorted(required)} and optionally {sorted(optional)}"
        raise ValueError(invalid("batch", expected, sorted(batch)))
    return batch


def as_float_array(values: Any, arg: str) -> np.ndarray:
    """Returns `values` as a float32 or float64 array (other numeric dtypes become float64)."""
    array = np.asarray(values)
    if array.dtype in (np.float32, np.float64):
        return array
    if array.dtype == np.float16:
        return array.astype(np.float32)
    if array.dtype.kind in "biu":
        return array.astype(np.float64)
    raise TypeError(invalid(arg, "a numeric array", f"dtype {array.dtype}"))


def flatten_logits(
    logits: Any, dimension: int, arg: str = "logits"
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Checks `[D0, ..., DN, dimension]` logits and returns them as `[M, dimension]`.

    A 1-D array `[M]` is accepted when `dimension` is 1.

    Returns:
        The float `[M, dimension]` logits and their leading shape `(D0, ..., DN)`.
    """
    array = as_float_array(logits, arg)
    if array.ndim == 1 and dimension == 1:
        return array.reshape(-1, 1), array.shape
    if array.ndim < 2 or array.shape[-1] != dimension:
        raise ValueError(invalid(arg, f"shape [D0, ..., DN, {dimension}]", f"shape {array.shape}"))
    return array.reshape(-1, dimension), array.shape[:-1]


def flatten_per_class(
    values: Any, leading_shape: Sequence[int], dimension: int, arg: str
) -> np.ndarray:
    """Checks a per-class (or per-output) float array of shape `leading_shape + (d,)`.

    When `dimension` is 1, `leading_shape` alone is accepted too.

    Returns:
        float `[M, dimension]`.
    """
    return _per_class_rows(as_float_array(values, arg), leading_shape, dimension, arg)


def flatten_binary_labels(
    values: Any, leading_shape: Sequence[int], dimension: int, arg: str = "labels"
) -> BinaryLabels:
    """Checks per-class labels in `[0, 1]` (shaped as for `flatten_per_class`) and returns
    their `BinaryLabels` `[M, dimension]`.

    Bool and integer labels are not copied to float: once in range they are 0/1, and their
    positive mask is all the statistics need (a float64 copy of a batch of 100,000-class
    multi-hot labels would cost more than the statistics themselves).

    Raises:
        ValueError: for a wrong shape or a label outside `[0, 1]`.
    """
    array = np.asarray(values)
    if array.dtype.kind not in "biu":
        return binary_labels(flatten_per_class(array, leading_shape, dimension, arg), arg)
    rows = _per_class_rows(array, leading_shape, dimension, arg)
    if rows.dtype.kind != "b":
        validate_unit_interval(rows, arg)
    positive = rows.astype(bool, copy=False)
    return BinaryLabels(positive, positive, positive, True)


def _per_class_rows(
    array: np.ndarray, leading_shape: Sequence[int], dimension: int, arg: str
) -> np.ndarray:
    """`array` as `[M, dimension]` rows, after checking its shape (see `flatten_per_class`)."""
    leading = tuple(leading_shape)
    shapes = [leading + (dimension,)] + ([leading] if dimension == 1 else [])
    if array.shape not in shapes:
        raise ValueError(
            invalid(
                arg,
                "shape " + " or ".join(str(shape) for shape in shapes),
                f"shape {array.shape}",
                "Give one value per example and class (or output), in the layout of the logits.",
            )
        )
    return array.reshape(-1, dimension)


def validate_unit_interval(values: np.ndarray, arg: str) -> np.ndarray:
    """Checks that every value lies in `[0, 1]` (NaN passes) and returns `values`."""
    if values.size and (values.min(initial=0.0) < 0 or values.max(initial=1.0) > 1):
        raise ValueError(
            invalid(
                arg,
                "values in [0, 1]",
                f"values from {values.min()} to {values.max()}",
            )
        )
    return values


def flatten_per_example(
    values: Any, leading_shape: Sequence[int], arg: str, dtype_kind: str = "f"
) -> np.ndarray:
    """Checks a per-example array of shape `leading_shape` or `leading_shape + (1,)`.

    Args:
        values: the array (labels, weights, per-example losses).
        leading_shape: the logits' shape without the last axis.
        arg: the argument name for error messages.
        dtype_kind: "f" to return float32/float64 values, "i" to require integers.

    Returns:
        The values as a 1-D array `[M]`.
    """
    array = np.asarray(values) if dtype_kind == "i" else as_float_array(values, arg)
    if dtype_kind == "i" and array.dtype.kind not in "iu":
        raise TypeError(invalid(arg, "an integer array", f"dtype {array.dtype}"))
    leading = tuple(leading_shape)
    if array.shape not in (leading, leading + (1,)):
        raise ValueError(
            invalid(
                arg,
                f"shape {leading} or {leading + (1,)}",
                f"shape {array.shape}",
                "Give one value per example, in the layout of the logits without their last axis.",
            )
        )
    return array.reshape(-1)


def flatten_weights(
    weights: Any, leading_shape: Sequence[int], per_element_dimension: int | None = None
) -> np.ndarray | None:
    """Checks example weights; None (all weights 1) is passed through.

    Args:
        weights: None, or float `[D0, ..., DN]` / `[D0, ..., DN, 1]`; with
            `per_element_dimension = d` also `[D0, ..., DN, d]` (regression heads).
        leading_shape: the logits' shape without the last axis.
        per_element_dimension: the label dimension when per-element weights are allowed.

    Returns:
        None, float `[M]`, or float `[M, d]` for per-element weights.
    """
    if weights is None:
        return None
    array = as_float_array(weights, "weights")
    leading = tuple(leading_shape)
    if array.shape in (leading, leading + (1,)):
        return array.reshape(-1)
    if per_element_dimension is not None and array.shape == leading + (per_element_dimension,):
        return array.reshape(-1, per_element_dimension)
    shapes = [leading, leading + (1,)]
    if per_element_dimension is not None:
        shapes.append(leading + (per_element_dimension,))
    raise ValueError(
        invalid(
            "weights",
            "shape " + " or ".join(str(shape) for shape in shapes),
            f"shape {array.shape}",
            "Give one weight per example, in the layout of the logits without their last axis.",
        )
    )


class BinaryLabels(NamedTuple):
    """Labels in `[0, 1]` with the masks the binary metrics need (arrays of one shape)."""

    values: np.ndarray
    """float or int labels, as given."""
    positive: np.ndarray
    """bool, `values != 0`: positives for precision and recall (Keras casts to bool)."""
    one: np.ndarray
    """bool, `values == 1`: labels a positive prediction matches (accuracy)."""
    hard: bool
    """Whether every label is exactly 0 or 1 (then `one` equals `positive`)."""


def binary_labels(values: np.ndarray, arg: str = "labels") -> BinaryLabels:
    """Checks labels in `[0, 1]` (soft labels allowed) and derives their masks.

    Args:
        values: float, int or bool array of any shape.
        arg: the argument name for error messages.

    Returns:
        `BinaryLabels`.

    Raises:
        ValueError: if a label is outside `[0, 1]`.
    """
    positive = values != 0
    one = values == 1
    hard = bool(np.array_equal(positive, one))
    if not hard:
        validate_unit_interval(values, arg)
    return BinaryLabels(values, positive, one, hard)
