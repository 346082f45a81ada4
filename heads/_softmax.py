"""Softmax as the original heads computed it, whichever kernel TensorFlow picks.

With oneDNN, which TensorFlow enables by default on recent x86 CPUs, `tf.nn.softmax` maps a
row holding +inf or NaN to per-element values (`[0, nan]` for logits `[0, inf]`). Eigen's
kernel, which the original heads ran, gives NaN for the whole row, as `exp(x - max) / sum`
does; the conformance vectors record that (`special/binary/*`). Writing the kernel's steps
out gives the same probabilities on every machine.
"""

from __future__ import annotations

import tensorflow as tf


def softmax(logits: tf.Tensor) -> tf.Tensor:
    """Softmax over the last axis: `exp(x - max(x))` times the reciprocal of its sum."""
    exps = tf.exp(logits - tf.reduce_max(logits, axis=-1, keepdims=True))
    return exps * tf.math.reciprocal(tf.reduce_sum(exps, axis=-1, keepdims=True))
