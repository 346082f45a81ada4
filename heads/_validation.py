"""Checks of logits, labels and prediction keys shared by the heads.

Shape checks use static shapes and raise a Python `ValueError` (eagerly and while a
`tf.function` is traced); where a dimension is unknown at trace time, a
`tf.debugging` assertion checks it when the graph runs. Value checks (label ranges) go
through `check_values`, as the originals' `base_head.check_label_range` did: eagerly they
raise a `ValueError`, in a graph (`tf.function`, a Keras step) they are `Assert` ops that
raise `tf.errors.InvalidArgumentError` when it runs. The message texts are those of
`tf.estimator` 2.15.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

LABEL_NONE_ERR_MSG = (
    "You must provide a labels Tensor. Given: None. "
    "Suggested troubleshooting steps: Check that your data contains your label "
    "feature. Check that your input_fn properly parses and returns labels."
)

SPARSE_LABEL_ERR_MSG = (
    "SparseTensor labels are not supported. Labels must be a Tensor of shape "
    "[D0, D1, ..., DN, {}], e.g. [batch_size, {}].Suggested Fix (1): Check the"
    " label feature in your data. Each example must contain {} value(s). If "
    "not, your choice of label was probably incorrect. Suggested Fix (2): In "
    "your input_fn, use tf.sparse_tensor_to_dense() to turn labels into a "
    "Tensor."
)

MISMATCHED_LABEL_DIM_ERR_MSG = (
    "Mismatched label shape. Expected labels dimension={}.  Received {}. "
    "Suggested Fix: If your classifier expects one-hot encoding label, check "
    "your n_classes argument to the estimator and/or the shape of your label. "
    "Otherwise, check the shape of your label."
)

LABEL_SHAPE_ERR_MSG = (
    "labels shape must be [D0, D1, ... DN, {}]. Suggested Fix: check your "
    "n_classes argument to the head and/or the shape of your label."
)

LOGITS_SHAPE_ERR_MSG = "logits shape must be [D0, D1, ... DN, logits_dimension]"


def shape_tuple(shape: tf.TensorShape) -> tuple | None:
    """Returns a static shape as a Python tuple (None entries where unknown)."""
    if shape.rank is None:
        return None
    return tuple(shape.as_list())


def is_sparse(value: Any) -> bool:
    """Whether `value` is a `tf.SparseTensor`."""
    return isinstance(value, tf.SparseTensor)


def logits_based_shape(
    logits: tf.Tensor, last_dim: int | None
) -> tuple[tf.TensorShape, Callable[[], tf.Tensor]]:
    """Returns the shape `[D0, ..., DN] (+ [last_dim])` of logits `[D0, ..., DN, k]`.

    Returns:
        `(static, dynamic)`: a `tf.TensorShape` (None where unknown at trace time) and a
        function building the same shape as an int32 vector (only called when the static
        shape cannot decide a check).
    """
    static = logits.shape[:-1]
    if last_dim is None:
        return static, lambda: tf.shape(logits)[:-1]
    return static.concatenate([last_dim]), lambda: tf.concat(
        [tf.shape(logits)[:-1], [last_dim]], axis=0
    )


def assert_shape_in(
    tensor: tf.Tensor,
    candidates: Sequence[tuple[tf.TensorShape, Callable[[], tf.Tensor]]],
    error: str,
) -> tf.Tensor:
    """Checks that the shape of `tensor` equals one of `candidates`.

    Args:
        tensor: `Tensor` of known rank.
        candidates: allowed shapes as `(static, dynamic)` pairs (see
            `logits_based_shape`).
        error: message of the error.

    Returns:
        `tensor`, with a run-time assertion attached when the static shapes cannot decide.

    Raises:
        ValueError: when the static shapes already rule out every candidate.
    """
    shape = tensor.shape
    compatible = [c for c in candidates if c[0].is_compatible_with(shape)]
    if not compatible:
        raise ValueError(error)
    if shape.is_fully_defined() and any(c[0].is_fully_defined() for c in compatible):
        return tensor
    actual = tf.shape(tensor)
    matches = [tf.reduce_all(tf.equal(actual, dynamic())) for _, dynamic in compatible]
    check = tf.debugging.Assert(tf.reduce_any(tf.stack(matches)), [error, actual])
    with tf.control_dependencies([check]):
        return tf.identity(tensor)


def check_logits_final_dim(logits: Any, expected_logits_dimension: int) -> tf.Tensor:
    """Casts logits to float32 and checks their shape is `[D0, ..., DN, expected]`.

    Args:
        logits: numeric `Tensor` (or array-like) of rank >= 2.
        expected_logits_dimension: required size of the last axis.

    Returns:
        float32 `Tensor` `[D0, ..., DN, expected_logits_dimension]`.

    Raises:
        ValueError: rank < 2 or wrong last dimension.
    """
    logits = _checked_rank(tf.cast(tf.convert_to_tensor(logits), tf.float32), "logits")
    last = None if logits.shape.rank is None else logits.shape[-1]
    if last is not None:
        if last != expected_logits_dimension:
            raise ValueError(f"{LOGITS_SHAPE_ERR_MSG}, got {shape_tuple(logits.shape)}.")
        return logits
    check = tf.debugging.assert_equal(
        tf.shape(logits)[-1], expected_logits_dimension, message=LOGITS_SHAPE_ERR_MSG
    )
    return _after(check, logits)


def _checked_rank(value: tf.Tensor, what: str, message: str = LOGITS_SHAPE_ERR_MSG) -> tf.Tensor:
    """`value` checked to have rank >= 2: a `ValueError` for a known rank under 2, a check
    run with `value` (failing with `message`) for an unknown rank."""
    rank = value.shape.rank
    if rank is None:
        return _after(tf.debugging.assert_rank_at_least(value, 2, message=message), value)
    if rank < 2:
        raise ValueError(
            f"{what} must have rank at least 2.  Received rank {rank}, "
            f"shape {shape_tuple(value.shape)}"
        )
    return value


def _after(check: tf.Operation, value: tf.Tensor) -> tf.Tensor:
    """`value`, computed after `check` runs."""
    with tf.control_dependencies([check]):
        return tf.identity(value)


def check_dense_labels_match_logits_and_reshape(
    labels: Any, logits: tf.Tensor, expected_labels_dimension: int
) -> tf.Tensor:
    """Checks that dense labels are `[D0, ..., DN, expected]` for logits `[D0, ..., DN, k]`.

    Labels of rank `rank(logits) - 1` get a trailing axis of size 1 first.

    Args:
        labels: dense labels `Tensor` (or array-like), any dtype.
        logits: checked logits `Tensor` `[D0, ..., DN, k]`.
        expected_labels_dimension: required size of the last labels axis.

    Returns:
        labels `Tensor` `[D0, ..., DN, expected_labels_dimension]`, dtype unchanged.

    Raises:
        ValueError: labels are None, sparse, of rank < 2, or of the wrong shape.
    """
    if labels is None:
        raise ValueError(LABEL_NONE_ERR_MSG)
    if is_sparse(labels):
        raise ValueError(SPARSE_LABEL_ERR_MSG.format(*[expected_labels_dimension] * 3))
    labels = tf.convert_to_tensor(labels)
    labels_rank = labels.shape.rank
    logits_rank = logits.shape.rank
    if labels_rank is not None and logits_rank is not None and labels_rank == logits_rank - 1:
        labels = tf.expand_dims(labels, -1)
        labels_rank += 1
    shape_err = LABEL_SHAPE_ERR_MSG.format(expected_labels_dimension)
    labels = _checked_rank(labels, "labels", shape_err)
    if labels_rank is None:
        expected = tf.concat([tf.shape(logits)[:-1], [expected_labels_dimension]], axis=0)
        check = tf.debugging.assert_equal(tf.shape(labels), expected, message=shape_err)
        return _after(check, labels)
    final_dim = labels.shape[-1]
    if final_dim is not None and final_dim != expected_labels_dimension:
        raise ValueError(MISMATCHED_LABEL_DIM_ERR_MSG.format(expected_labels_dimension, final_dim))
    expected_shape = logits_based_shape(logits, expected_labels_dimension)
    message = (
        f"{shape_err}, expected_labels_shape: {shape_tuple(expected_shape[0])}. "
        f"labels_shape: {shape_tuple(labels.shape)}."
    )
    return assert_shape_in(labels, [expected_shape], message)


def check_values(tensor: tf.Tensor, checks: Sequence[tuple[tf.Tensor, str]]) -> tf.Tensor:
    """Checks conditions on the values of `tensor`; the first one that fails is reported.

    Eagerly the conditions are concrete and a failing one raises a `ValueError` at once. In
    a graph (`tf.function`, a Keras step) each becomes an `Assert` op, run in order before
    `tensor` is used, which raises `tf.errors.InvalidArgumentError` when the graph runs.
    Compiled (XLA) steps drop `Assert` ops; `heads/_host.py` checks their labels instead.

    Args:
        tensor: the `Tensor` the conditions are about.
        checks: `(condition, message)` pairs, in the order to check them; each condition is
            a scalar bool `Tensor` that is True when the values are valid.

    Returns:
        `tensor`, with the assertions attached in a graph.

    Raises:
        ValueError: eagerly, the message of the first condition that is False.
    """
    if not any(tf.is_symbolic_tensor(condition) for condition, _ in checks):
        for condition, message in checks:
            if not bool(condition):
                raise ValueError(message)
        return tensor
    # `tf.debugging.Assert` with string-only data is one plain Assert op in a graph; the
    # `assert_*` helpers also attach the values, which wraps them in a conditional (an
    # `If` op) that costs a measurable share of a small training step.
    asserts = []
    for condition, message in checks:
        with tf.control_dependencies(asserts):
            asserts.append(tf.debugging.Assert(condition, [message]))
    with tf.control_dependencies(asserts):
        return tf.identity(tensor)


def check_label_range(labels: tf.Tensor, n_classes: int, message: str | None = None) -> tf.Tensor:
    """Checks that every label is in `[0, n_classes)`; first `<= n - 1`, then `>= 0`.

    Args:
        labels: integer or float `Tensor`, any shape.
        n_classes: number of classes.
        message: error message replacing the default ones.

    Returns:
        `labels`, with the assertions attached in a graph (see `check_values`).

    Raises:
        ValueError: eagerly, a label is out of range ("Labels must be <= 3 - 1",
            "Labels must be >= 0", or `message`). In a graph the same message comes as a
            `tf.errors.InvalidArgumentError` when the graph runs.
    """
    return check_values(
        labels,
        [
            (
                tf.reduce_all(labels <= tf.constant(n_classes - 1, dtype=labels.dtype)),
                message or f"Labels must be <= {n_classes} - 1",
            ),
            (
                tf.reduce_all(labels >= tf.constant(0, dtype=labels.dtype)),
                message or "Labels must be >= 0",
            ),
        ],
    )


def concrete_scalar(value: Any, argument: str) -> Any:
    """Returns the Python value of a scalar tensor given as a head argument.

    The original heads take some arguments as tensors (`n_classes`, `label_dimension`,
    thresholds, head weights, ...). Here the value must be known when the head is built:
    an eager tensor or variable, or a constant. Other values are returned unchanged.

    Args:
        value: the argument.
        argument: its name, for the error message.

    Returns:
        `value`, or for a tensor its value as a Python scalar (`int`, `float`, `bool`,
        `bytes`).

    Raises:
        TypeError: `value` is a tensor that is not a scalar, or a symbolic tensor whose value
            is not known.
    """
    if not tf.is_tensor(value):
        return value
    known = tf.get_static_value(value) if tf.is_symbolic_tensor(value) else value.numpy()
    if known is None:
        raise TypeError(
            f"Invalid `{argument}`: expected a value known when the head is built (a Python "
            f"number, an eager tensor or a constant); received the symbolic tensor {value!r}."
        )
    if np.ndim(known) != 0:
        raise TypeError(
            f"Invalid `{argument}`: expected a scalar; received a tensor of shape "
            f"{list(np.shape(known))}."
        )
    return np.asarray(known).item()


def check_prediction_keys(pred_keys: Sequence[str], valid_keys: Sequence[str]) -> None:
    """Raises `ValueError` when a requested prediction key is not a valid one."""
    for key in pred_keys:
        if key not in valid_keys:
            raise ValueError(
                f"Prediction key must be in PredictionKeys, given: {key}."
                f"Valid prediction keys include {list(valid_keys)}."
            )


def select_prediction_keys(keys: Sequence[str] | None, valid_keys: Sequence[str]) -> Sequence[str]:
    """Returns the keys to compute: all valid keys when `keys` is None or empty."""
    if keys:
        if isinstance(keys, str):
            keys = [keys]
        check_prediction_keys(keys, valid_keys)
        return keys
    return valid_keys


def validate_label_vocabulary_type(label_vocabulary: Any, verb: str = "should be") -> None:
    """Raises `ValueError` when a vocabulary is given that is not a list or tuple."""
    if label_vocabulary is not None and not isinstance(label_vocabulary, (list, tuple)):
        joiner = "a list or a tuple" if verb == "should be" else "a list or tuple"
        raise ValueError(f"label_vocabulary {verb} {joiner}. Given type: {type(label_vocabulary)}")


def class_ids_for_metrics(
    classes: Sequence[int | str] | None, n_classes: int, label_vocabulary: Sequence[str] | None
) -> tuple[int, ...]:
    """Converts `classes_for_class_based_metrics` to class ids, checking each one.

    Raises:
        ValueError: string classes without a vocabulary, a name not in the vocabulary, or
            an id outside `[0, n_classes)`.
    """
    if not classes:
        return ()
    classes = tuple(classes)
    if isinstance(classes[0], str):
        if not label_vocabulary:
            raise ValueError(
                "label_vocabulary must be provided when classes_for_class_based_metrics "
                "are strings."
            )
        return tuple(label_vocabulary.index(class_name) for class_name in classes)
    for class_id in classes:
        if class_id < 0 or class_id >= n_classes:
            raise ValueError(
                "All classes_for_class_based_metrics must be in range "
                f"[0, {n_classes - 1}]. Given: {class_id}"
            )
    return tuple(int(class_id) for class_id in classes)
