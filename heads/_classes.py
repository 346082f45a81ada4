"""Class ids and class names: vocabulary lookups and the `all_class*` predictions.

Lookups are plain TF ops on a constant vocabulary (no lookup-table resources), so they
work the same eagerly, inside `tf.function`, under a distribution strategy and in an
exported SavedModel.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from heads import _validation

UNKNOWN_CLASS = "UNK"
"""Name given to a class id that has no vocabulary entry (as `index_to_string_table`)."""


def check_string_labels(labels: tf.Tensor) -> None:
    """Raises `TypeError` unless `labels` holds strings (needed for a vocabulary lookup)."""
    if labels.dtype != tf.string:
        raise TypeError(
            f"Dtype of argument `keys` must be {tf.string}, received: {labels.dtype}. "
            "Labels must be strings when the head has a label_vocabulary."
        )


def class_ids_from_strings(labels: tf.Tensor, vocabulary: Sequence[str]) -> tf.Tensor:
    """Maps string labels to their vocabulary index.

    Args:
        labels: string `Tensor`, any shape.
        vocabulary: class names; the first match wins.

    Returns:
        int64 `Tensor` shaped like `labels`: the index of each label in `vocabulary`, or
        -1 when the label is not in it.
    """
    check_string_labels(labels)
    matches = tf.equal(tf.expand_dims(labels, -1), tf.constant(list(vocabulary), tf.string))
    ids = tf.argmax(tf.cast(matches, tf.int32), axis=-1, output_type=tf.int64)
    return tf.where(tf.reduce_any(matches, axis=-1), ids, tf.constant(-1, tf.int64))


def class_strings_from_ids(
    class_ids: tf.Tensor, n_classes: int, vocabulary: Sequence[str] | None
) -> tf.Tensor:
    """Maps class ids in `[0, n_classes)` to class names.

    Args:
        class_ids: integer `Tensor`, any shape, values in `[0, n_classes)`.
        n_classes: number of classes.
        vocabulary: class names, or None for the decimal strings of the ids. Ids beyond
            the vocabulary map to "UNK".

    Returns:
        string `Tensor` shaped like `class_ids`.
    """
    if vocabulary is None:
        return tf.strings.as_string(class_ids)
    names = list(vocabulary)[:n_classes]
    names += [UNKNOWN_CLASS] * (n_classes - len(names))
    return tf.gather(tf.constant(names, tf.string), class_ids)


def all_class_ids(logits: tf.Tensor, n_classes: int) -> tf.Tensor:
    """Returns int32 `[D0, n_classes]`: every row is `0, ..., n_classes - 1`.

    Only the first logits dimension is tiled, also for logits of rank > 2.
    """
    batch_size = tf.shape(logits)[0]
    return tf.tile(tf.expand_dims(tf.range(n_classes), 0), [batch_size, 1])


def all_classes(
    logits: tf.Tensor, n_classes: int, vocabulary: Sequence[str] | None = None
) -> tf.Tensor:
    """Returns string `[D0, n]`: every row is the vocabulary, or `"0", ..., "n_classes-1"`.

    With a (non-empty) vocabulary, `n` is its length; otherwise `n_classes`.
    """
    batch_size = tf.shape(logits)[0]
    if vocabulary:
        names = tf.constant(list(vocabulary), tf.string)
    else:
        names = tf.strings.as_string(tf.range(n_classes))
    return tf.tile(tf.expand_dims(names, 0), [batch_size, 1])


def sparse_to_multi_hot(
    labels: tf.SparseTensor, n_classes: int, vocabulary: Sequence[str] | None
) -> tf.Tensor:
    """Converts sparse class labels to a multi-hot `Tensor`.

    Args:
        labels: `SparseTensor` with dense shape `[D0, ..., DN, ?]` whose values are integer
            class ids in `[0, n_classes)` or, with a vocabulary, class names.
        n_classes: number of classes.
        vocabulary: class names, or None.

    Returns:
        int64 `Tensor` `[D0, ..., DN, n_classes]` of 0/1 (duplicates count once).

    Raises:
        ValueError: string values without a vocabulary, or non-integer values; eagerly, an
            id out of range (in a graph that is an `InvalidArgumentError` when it runs).
        tf.errors.InvalidArgumentError: a name not in the vocabulary (in both modes, as
            the original's indicator op).
    """
    values = labels.values
    if values.dtype == tf.string:
        if vocabulary is None:
            raise ValueError(
                "Invalid `labels`: expected integer class ids; received string labels "
                "but the head has no label_vocabulary."
            )
        ids = class_ids_from_strings(values, vocabulary)
        check = tf.debugging.assert_non_negative(
            ids, message=f"labels must be values of label_vocabulary {list(vocabulary)}"
        )
        with tf.control_dependencies([check]):
            ids = tf.identity(ids)
    else:
        if not values.dtype.is_integer:
            raise ValueError(f"Labels dtype should be integer. Instead got {values.dtype}.")
        ids = _validation.check_label_range(
            values,
            n_classes,
            message=f"labels must be an integer SparseTensor with values in [0, {n_classes})",
        )
    ids = tf.SparseTensor(labels.indices, tf.cast(ids, tf.int64), labels.dense_shape)
    return tf.cast(tf.sparse.to_indicator(ids, n_classes), tf.int64)
