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

What each head needs is the head's own: the functions here call the hooks of `Head`
(`_step_head`, `_needs_label_preparation`, `_prepare_labels`, `_device_predictions`,
`_string_predictions`), which a head whose labels or predictions need host work overrides
(`MultiHead` recurses into its heads), and give them the checks they share.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import tensorflow as tf

from heads import _classes, _validation
from heads.keys import PredictionKeys

if TYPE_CHECKING:
    from heads.base_head import Head

STRING_PREDICTION_KEYS = (PredictionKeys.CLASSES, PredictionKeys.ALL_CLASSES)
_MAX_REPORTED_VALUES = 10


def step_head(head: Head) -> Head:
    """The head the compiled step uses: `head` without a label vocabulary.

    With labels prepared by `prepare_labels` (class ids instead of vocabulary strings), it
    computes the same loss and metrics, under the same keys. Heads without a vocabulary are
    returned as they are.
    """
    return head._step_head()  # noqa: SLF001 - the hook of a head of this package


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
    return head._needs_label_preparation(compiled)  # noqa: SLF001


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
    return head._prepare_labels(labels, check_ranges)  # noqa: SLF001


def device_predictions(head: Head, logits: Any) -> dict:
    """The head's numeric predictions (every key but `classes` and `all_classes`)."""
    return head._device_predictions(logits)  # noqa: SLF001


def string_predictions(head: Head, predictions: Mapping[Any, tf.Tensor]) -> dict:
    """`classes` and `all_classes` built from `device_predictions`, as `head.predictions`."""
    return head._string_predictions(predictions)  # noqa: SLF001


def dense_labels(labels: Any) -> tf.Tensor | None:
    """`labels` as a `Tensor`; None for no labels or a `SparseTensor` (which a head that
    converts dense labels returns unchanged)."""
    if labels is None or _validation.is_sparse(labels):
        return None
    return tf.convert_to_tensor(labels)


def numeric_predictions(head: Head, logits: Any) -> dict:
    """`head.predictions` for every key of `head.prediction_keys` but the string ones."""
    keys = [key for key in head.prediction_keys if key not in STRING_PREDICTION_KEYS]
    return head.predictions(logits, keys)


def class_strings(
    predictions: Mapping[Any, tf.Tensor], n_classes: int, vocabulary: tuple[str, ...] | None
) -> dict:
    """`classes` and `all_classes` from the `class_ids` prediction (binary, multi-class)."""
    class_ids = predictions[PredictionKeys.CLASS_IDS]
    return {
        PredictionKeys.CLASSES: _classes.class_strings_from_ids(class_ids, n_classes, vocabulary),
        PredictionKeys.ALL_CLASSES: _classes.all_classes(class_ids, n_classes, vocabulary),
    }


def checked_probability_labels(head: Head, labels: tf.Tensor, check_ranges: bool) -> tf.Tensor:
    """Numeric labels checked to be in [0, 1] when `check_ranges` (binary, logistic)."""
    if check_ranges and (labels.dtype.is_floating or labels.dtype.is_integer):
        return checked_range(head, labels, upper=1, inclusive=True)
    return labels


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


def checked_range(head: Head, labels: tf.Tensor, upper: int, inclusive: bool) -> tf.Tensor:
    """`labels` after checking `0 <= label < upper` (`<= upper` when `inclusive`)."""
    zero = tf.zeros([], labels.dtype)
    bound = tf.cast(upper, labels.dtype)
    ok = (labels >= zero) & ((labels <= bound) if inclusive else (labels < bound))
    expected = f"values in [0, {upper}]" if inclusive else f"class ids in [0, {upper})"
    with tf.control_dependencies([_fail_unless(head, ok, labels, expected)]):
        return tf.identity(labels)


def vocabulary_ids(head: Head, labels: tf.Tensor, vocabulary: tuple[str, ...]) -> tf.Tensor:
    """int64 ids of string labels, after checking every label is in the vocabulary."""
    ids = _classes.class_ids_from_strings(labels, vocabulary)
    expected = f"values of label_vocabulary [{', '.join(vocabulary)}]"
    with tf.control_dependencies([_fail_unless(head, ids >= 0, labels, expected)]):
        return tf.identity(ids)
