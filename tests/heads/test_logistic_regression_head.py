"""Unit tests of LogisticRegressionHead."""

import numpy as np
import pytest
import tensorflow as tf

import heads

LOGITS = np.array([[0.5], [-1.0], [2.0]], dtype=np.float32)
LABELS = np.array([[0.2], [0.0], [1.0]], dtype=np.float32)


def test_loss_predictions_and_metric_keys():
    head = heads.LogisticRegressionHead(name="lr")
    expected = (np.maximum(LOGITS, 0) - LOGITS * LABELS + np.log1p(np.exp(-np.abs(LOGITS)))).mean()
    np.testing.assert_allclose(head.loss(LABELS, LOGITS), expected, rtol=1e-5)
    preds = head.predictions(LOGITS)
    np.testing.assert_allclose(preds["predictions"], 1 / (1 + np.exp(-LOGITS)), rtol=1e-6)
    assert sorted(head.metrics()) == ["average_loss/lr", "label/mean/lr", "prediction/mean/lr"]
    assert head.label_dimension == 1


def test_label_range_eagerly_raises_value_error_as_the_original():
    head = heads.LogisticRegressionHead()
    with pytest.raises(ValueError, match=r"^Labels must be in range \[0, 1\]$"):
        head.loss(LABELS + 1.0, LOGITS)
    with pytest.raises(ValueError, match=r"^Labels must be in range \[0, 1\]$"):
        head.loss(LABELS - 1.0, LOGITS)
    with pytest.raises(ValueError, match=r"^Labels must be in range \[0, 1\]$"):
        head.update_metrics(head.metrics(), {}, LOGITS, LABELS + 1.0)
    with pytest.raises(TypeError, match="label_dimension"):
        heads.LogisticRegressionHead(label_dimension=2)


def test_label_range_in_tf_function_raises_invalid_argument_error():
    head = heads.LogisticRegressionHead()

    @tf.function(input_signature=[tf.TensorSpec([None, 1], tf.float32)])
    def loss(labels):
        return head.loss(labels, LOGITS)

    np.testing.assert_allclose(loss(LABELS), head.loss(LABELS, LOGITS), rtol=1e-6)
    for bad in (LABELS + 1.0, LABELS - 1.0):
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"Labels must be in range"):
            loss(bad)
