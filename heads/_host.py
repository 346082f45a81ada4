"""What a compiled (XLA, TPU) step cannot do, done on the host before or after it.

XLA has no string kernels and drops `Assert` ops, so under `jit_compile=True` (and on a TPU,
which compiles every step) a head's string work and label checks cannot run inside the
step. `HeadModel` splits it out:

* before the step, `prepare_labels` maps vocabulary strings to class ids and sparse labels
  to multi-hot tensors, and checks label values, raising an error that names the head, the
  allowed values and the offending ones (in the `tf.data` pipeline or eagerly, on the host);
* inside the step, `step_head` is the head with its vocabulary removed: it computes the same
  loss and metrics (metric keys included) from the prepared numeric labels;
* `device_predictions` are the numeric predictions, computed in the step; after it,
  `string_predictions` adds `classes` and `all_classes` from them on the host.

Uncompiled steps take the same path (except the range checks, which they run themselves),
so compiled and uncompiled models agree.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from heads import _classes, _validation
from heads.base_head import Head
from heads.binary_class_head import BinaryClassHead
from heads.keys import PredictionKeys
from heads.logistic_regression_head import LogisticRegressionHead
from heads.multi_class_head import MultiClassHead
from heads.multi_head import MultiHead
from heads.multi_label_head import MultiLabelHead

STRING_PREDICTION_KEYS = (PredictionKeys.CLASSES, PredictionKeys.ALL_CLASSES)
_CLASSIFICATION_HEADS = (BinaryClassHead, MultiClassHead, MultiLabelHead)
_MAX_REPORTED_VALUES = 10


def step_head(head: Head) -> Head:
    """The head the compiled step uses: `head` without a label vocabulary.

    With labels prepared by `prepare_labels` (class ids instead of vocabulary strings), it
    computes the same loss and metrics, under the same keys. Heads without a vocabulary are
    returned as they are.
    """
    if isinstance(head, MultiHead):
        sub_heads = [step_head(sub_head) for sub_head in head.heads]
        if all(new is old for new, old in zip(sub_heads, head.heads, strict=True)):
            return head
        return MultiHead(sub_heads, head_weights=head.head_weights)
    if getattr(head, "label_vocabulary", None) is None:
        return head
    numeric = copy.copy(head)
    numeric._label_vocabulary = None  # noqa: SLF001 - a head of this package
    return numeric


def labels_are_prepared(labels: Any) -> bool:
    """Whether `labels` hold no strings and no `SparseTensor` (what `prepare_labels` makes)."""
    return not any(
        _validation.is_sparse(value) or getattr(value, "dtype", None) == tf.string
        for value in tf.nest.flatten(labels)
    )


def needs_preparation(head: Head, compiled: bool) -> bool:
    """Whether `prepare_labels` has work to do for `head`'s labels.

    Compiled steps need every label check on the host; uncompiled ones only the conversion
    of vocabulary strings and sparse multi-label labels (their own checks still run).
    """
    if isinstance(head, MultiHead):
        return any(needs_preparation(sub_head, compiled) for sub_head in head.heads)
    return (
        compiled
        or isinstance(head, MultiLabelHead)
        or getattr(head, "label_vocabulary", None) is not None
    )


def prepare_labels(head: Head, labels: Any, check_ranges: bool = True) -> Any:
    """Converts and checks labels on the host, for `step_head(head)`.

    * vocabulary strings (binary and multi-class heads) become class ids, after checking
      each is in the vocabulary;
    * sparse multi-label labels (ids or vocabulary strings) become multi-hot int64 tensors,
      after checking each id or name;
    * with `check_ranges`, class ids, binary labels, multi-hot labels and
      logistic-regression labels are checked against their allowed range (an uncompiled
      step checks them itself, so `HeadModel` asks for this only when the step is compiled).

    Labels of a form the head does not accept are returned unchanged, so that the head
    raises its own error for them.

    Args:
        head: the model's head.
        labels: a batch of labels (for a MultiHead, a dict by head name).
        check_ranges: whether to check the range of labels that need no conversion.

    Returns:
        The labels, with the checks attached (they run eagerly, or in the `tf.data`
        pipeline when called inside `Dataset.map`).

    Raises:
        tf.errors.InvalidArgumentError: a label is out of range or not in the vocabulary;
            the message names the head, the allowed values and the offending values.
    """
    if isinstance(head, MultiHead):
        if not isinstance(labels, Mapping):
            return labels
        sub_heads = {sub_head.name: sub_head for sub_head in head.heads}
        return {
            key: prepare_labels(sub_heads[key], value, check_ranges) if key in sub_heads else value
            for key, value in labels.items()
        }
    if labels is None:
        return labels
    if isinstance(head, MultiLabelHead):
        return _prepare_multi_label(head, labels, check_ranges)
    if _validation.is_sparse(labels):
        return labels
    labels = tf.convert_to_tensor(labels)
    vocabulary = getattr(head, "label_vocabulary", None)
    if isinstance(head, (BinaryClassHead, MultiClassHead)) and vocabulary is not None:
        if labels.dtype != tf.string:
            return labels
        labels = _vocabulary_ids(head, labels, vocabulary)
        return tf.cast(labels, tf.float32) if isinstance(head, BinaryClassHead) else labels
    if not check_ranges:
        return labels
    if isinstance(head, (BinaryClassHead, LogisticRegressionHead)):
        if labels.dtype.is_floating or labels.dtype.is_integer:
            return _checked_range(head, labels, upper=1, inclusive=True)
    if isinstance(head, MultiClassHead) and labels.dtype.is_integer:
        return _checked_range(head, labels, upper=head.n_classes, inclusive=False)
    return labels


def device_predictions(head: Head, logits: Any) -> dict:
    """The head's numeric predictions (every key but `classes` and `all_classes`)."""
    if isinstance(head, MultiHead):
        logits_dict = head._check_logits_and_labels(logits)  # noqa: SLF001
        return {
            (sub_head.name, key): value
            for sub_head in head.heads
            for key, value in device_predictions(sub_head, logits_dict[sub_head.name]).items()
        }
    if isinstance(head, _CLASSIFICATION_HEADS):
        keys = [key for key in head.prediction_keys if key not in STRING_PREDICTION_KEYS]
        return head.predictions(logits, keys)
    return head.predictions(logits)


def string_predictions(head: Head, predictions: Mapping[Any, tf.Tensor]) -> dict:
    """`classes` and `all_classes` built from `device_predictions`, as `head.predictions`."""
    if isinstance(head, MultiHead):
        strings = {}
        for sub_head in head.heads:
            own = {key[1]: value for key, value in predictions.items() if key[0] == sub_head.name}
            for key, value in string_predictions(sub_head, own).items():
                strings[(sub_head.name, key)] = value
        return strings
    vocabulary = getattr(head, "label_vocabulary", None)
    if isinstance(head, MultiLabelHead):
        probabilities = predictions[PredictionKeys.PROBABILITIES]
        return {
            PredictionKeys.CLASSES: _classes.all_classes(probabilities, head.n_classes, vocabulary)
        }
    if isinstance(head, (BinaryClassHead, MultiClassHead)):
        class_ids = predictions[PredictionKeys.CLASS_IDS]
        return {
            PredictionKeys.CLASSES: _classes.class_strings_from_ids(
                class_ids, head.n_classes, vocabulary
            ),
            PredictionKeys.ALL_CLASSES: _classes.all_classes(class_ids, head.n_classes, vocabulary),
        }
    return {}


def _head_label(head: Head) -> str:
    """`<class name> <head name>`, naming the head in label errors."""
    # No quotes: TensorFlow escapes them in the messages of graph-mode assertions.
    return f"{type(head).__name__} {head.name}" if head.name else type(head).__name__


def _fail_unless(head: Head, ok: tf.Tensor, values: tf.Tensor, expected: str) -> tf.Operation:
    """An `Assert` naming the head, what was expected and (up to 10 of) the bad values."""
    bad = tf.boolean_mask(tf.reshape(values, [-1]), tf.logical_not(tf.reshape(ok, [-1])))
    return tf.debugging.Assert(
        tf.reduce_all(ok),
        [f"Invalid labels for {_head_label(head)}: expected {expected}; received", bad],
        summarize=_MAX_REPORTED_VALUES,
    )


def _checked_range(head: Head, labels: tf.Tensor, upper: int, inclusive: bool) -> tf.Tensor:
    """`labels` after checking `0 <= label < upper` (`<= upper` when `inclusive`)."""
    zero = tf.zeros([], labels.dtype)
    bound = tf.cast(upper, labels.dtype)
    ok = (labels >= zero) & ((labels <= bound) if inclusive else (labels < bound))
    expected = f"values in [0, {upper}]" if inclusive else f"class ids in [0, {upper})"
    with tf.control_dependencies([_fail_unless(head, ok, labels, expected)]):
        return tf.identity(labels)


def _vocabulary_ids(head: Head, labels: tf.Tensor, vocabulary: tuple[str, ...]) -> tf.Tensor:
    """int64 ids of string labels, after checking every label is in the vocabulary."""
    ids = _classes.class_ids_from_strings(labels, vocabulary)
    expected = f"values of label_vocabulary [{', '.join(vocabulary)}]"
    with tf.control_dependencies([_fail_unless(head, ids >= 0, labels, expected)]):
        return tf.identity(ids)


def _prepare_multi_label(head: MultiLabelHead, labels: Any, check_ranges: bool) -> Any:
    """Multi-hot labels from sparse ids or names; dense labels checked to be in [0, 1]."""
    if not _validation.is_sparse(labels):
        labels = tf.convert_to_tensor(labels)
        if labels.dtype == tf.string or not check_ranges:
            return labels
        return _checked_range(head, labels, upper=1, inclusive=True)
    values = labels.values
    if values.dtype == tf.string:
        if head.label_vocabulary is None:
            return labels
        ids = _vocabulary_ids(head, values, head.label_vocabulary)
    elif values.dtype.is_integer:
        ids = _checked_range(head, values, upper=head.n_classes, inclusive=False)
    else:
        return labels
    ids = tf.SparseTensor(labels.indices, tf.cast(ids, tf.int64), labels.dense_shape)
    return tf.cast(tf.sparse.to_indicator(ids, head.n_classes), tf.int64)
