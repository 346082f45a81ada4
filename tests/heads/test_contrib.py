"""Tests of the legacy heads.contrib.multi_label_head factory."""

import numpy as np
import pytest
import tensorflow as tf

import heads
from heads import contrib

LOGITS = np.array([[-1.0, 1.0, 0.5], [2.0, -0.5, 0.0]], dtype=np.float32)
LABELS = np.array([[1, 0, 1], [0, 0, 1]], dtype=np.int64)
WEIGHTS = np.array([[1.0], [3.0]], dtype=np.float32)


def legacy_sigmoid_loss(labels, logits, weights=None):
    """A legacy loss: weighted mean of the element-wise sigmoid cross-entropy."""
    loss = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.float32), logits=logits
    )
    if weights is not None:
        loss = loss * weights
    return tf.reduce_mean(loss)


def test_argument_mapping():
    head = contrib.multi_label_head(
        n_classes=3,
        label_name="tags",
        weight_column_name="w",
        enable_centered_bias=True,
        head_name="t",
        metric_class_ids=[2],
    )
    assert isinstance(head, heads.MultiLabelHead)
    assert head.n_classes == 3 and head.name == "t" and head.weight_column == "w"
    assert head.thresholds == (0.5,)
    assert head.classes_for_class_based_metrics == (2,)
    assert head.centered_bias is True and head.label_name == "tags"
    assert "auc/class2/t" in head.metrics()
    assert contrib.multi_label_head(2, thresholds=[0.3]).thresholds == (0.3,)
    assert contrib.multi_label_head(2).centered_bias is False


def test_errors():
    with pytest.raises(ValueError, match="n_classes must be > 1"):
        contrib.multi_label_head(n_classes=1)
    with pytest.raises(ValueError, match="legacy signature"):
        contrib.multi_label_head(n_classes=2, loss_fn=lambda labels, logits: logits)
    with pytest.raises(ValueError, match="required extra arguments"):
        contrib.multi_label_head(2, loss_fn=lambda labels, logits, weights, scale: logits)
    with pytest.raises(TypeError, match="enable_centered_bias"):
        contrib.multi_label_head(2, enable_centered_bias="yes")
    with pytest.raises(ValueError, match="must be in range"):
        contrib.multi_label_head(2, metric_class_ids=[5])


def test_legacy_loss_fn_adapted_per_example():
    head = contrib.multi_label_head(
        n_classes=3, weight_column_name="w", loss_fn=legacy_sigmoid_loss
    )
    loss, weights = head.unreduced_loss(LABELS, LOGITS, {"w": WEIGHTS})
    expected = [float(legacy_sigmoid_loss(LABELS[i : i + 1], LOGITS[i : i + 1])) for i in range(2)]
    np.testing.assert_allclose(loss[:, 0], expected, rtol=1e-5)
    np.testing.assert_allclose(weights, WEIGHTS)
    # With the default reduction the head reproduces the legacy weighted loss.
    np.testing.assert_allclose(
        head.loss(LABELS, LOGITS, {"w": WEIGHTS}),
        legacy_sigmoid_loss(LABELS, LOGITS, weights=WEIGHTS),
        rtol=1e-5,
    )
    assert head.loss_fn.legacy_loss_fn is legacy_sigmoid_loss
    with pytest.raises(ValueError, match="legacy contrib loss_fn"):
        heads.serialize(head)


def test_adapted_loss_fn_in_tf_function_and_three_d():
    head = contrib.multi_label_head(n_classes=3, loss_fn=legacy_sigmoid_loss)

    @tf.function(
        input_signature=[tf.TensorSpec([None, None, 3], tf.int64)] * 1
        + [tf.TensorSpec([None, None, 3], tf.float32)]
    )
    def loss(labels, logits):
        return head.loss(labels, logits)

    logits = np.stack([LOGITS, -LOGITS])
    labels = np.stack([LABELS, 1 - LABELS])
    np.testing.assert_allclose(
        loss(labels, logits), heads.MultiLabelHead(3).loss(labels, logits), rtol=1e-5
    )
