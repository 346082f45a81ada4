"""Unit tests of RegressionHead beyond the reference vectors."""

import numpy as np
import pytest
import tensorflow as tf

import heads

LOGITS = np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 0.5]], dtype=np.float32)
LABELS = np.array([[1.5, 2.0], [2.0, 1.0], [0.0, 0.0]], dtype=np.float32)


def test_sum_over_batch_size_divides_by_batch_times_dimension():
    head = heads.RegressionHead(label_dimension=2)
    np.testing.assert_allclose(head.loss(LABELS, LOGITS), ((LABELS - LOGITS) ** 2).mean())


def test_per_logit_weights():
    head = heads.RegressionHead(label_dimension=2, weight_column="w", loss_reduction="sum")
    weights = np.array([[1.0, 0.0], [2.0, 1.0], [0.0, 3.0]], dtype=np.float32)
    expected = (((LABELS - LOGITS) ** 2) * weights).sum()
    np.testing.assert_allclose(head.loss(LABELS, LOGITS, {"w": weights}), expected, rtol=1e-5)
    metrics = head.update_metrics(head.metrics(), {"w": weights}, LOGITS, LABELS)
    np.testing.assert_allclose(
        metrics["label/mean"].result(), (LABELS * weights).sum() / weights.sum(), rtol=1e-5
    )
    with pytest.raises(ValueError, match=r"\[D0, D1, ... DN, logits_dimension\]"):
        head.loss(LABELS, LOGITS, {"w": np.ones([3, 3], np.float32)})


def test_predictions_take_no_keys():
    head = heads.RegressionHead(label_dimension=2)
    assert list(head.predictions(LOGITS)) == ["predictions"]
    with pytest.raises(TypeError):
        head.predictions(LOGITS, keys=["predictions"])


def test_inverse_link_fn_used_for_predictions_not_loss():
    head = heads.RegressionHead(label_dimension=2, inverse_link_fn=tf.math.exp)
    preds = head.predictions(LOGITS)
    np.testing.assert_allclose(preds["predictions"], np.exp(LOGITS), rtol=1e-5)
    np.testing.assert_allclose(preds["logits"], LOGITS)
    np.testing.assert_allclose(head.loss(LABELS, LOGITS), ((LABELS - LOGITS) ** 2).mean())
    metrics = head.update_metrics(head.metrics(), {}, LOGITS, LABELS)
    np.testing.assert_allclose(metrics["prediction/mean"].result(), np.exp(LOGITS).mean(), 1e-5)


def test_three_d_logits():
    head = heads.RegressionHead(label_dimension=2, weight_column="w")
    logits = np.stack([LOGITS, -LOGITS])  # [2, 3, 2]
    labels = np.stack([LABELS, LABELS])
    weights = np.array([[1.0, 0.0, 2.0], [1.0, 1.0, 1.0]], dtype=np.float32)
    expected = (((labels - logits) ** 2) * weights[..., None]).sum() / labels.size
    np.testing.assert_allclose(head.loss(labels, logits, {"w": weights}), expected, rtol=1e-5)


def test_metric_names():
    head = heads.RegressionHead(name="r")
    metrics = head.metrics(regularization_losses=[1.0])
    assert {k: m.name for k, m in metrics.items()} == {
        "average_loss/r": "average_loss",
        "prediction/mean/r": "prediction/mean",
        "label/mean/r": "label/mean",
        "regularization_loss/r": "regularization_loss",
    }


def test_unreduced_loss_and_properties():
    def loss_fn(labels, logits, features):
        return tf.abs(labels - logits) * features["scale"]

    head = heads.RegressionHead(label_dimension=2, loss_fn=loss_fn)
    loss, weights = head.unreduced_loss(LABELS, LOGITS, {"scale": 2.0})
    np.testing.assert_allclose(loss, np.abs(LABELS - LOGITS) * 2.0)
    assert weights.shape == (3, 1)
    assert head.label_dimension == 2 and head.loss_fn is loss_fn
    assert head.inverse_link_fn is None and head.weight_column is None


def test_string_labels_rejected():
    head = heads.RegressionHead()
    with pytest.raises(ValueError, match="numeric"):
        head.loss(np.array([["a"]]), np.array([[1.0]]))


def test_tensor_label_dimension_acts_as_its_value():
    head = heads.RegressionHead(label_dimension=tf.constant(2))
    assert head.label_dimension == 2 and type(head.logits_dimension) is int
    assert heads.serialize(head) == heads.serialize(heads.RegressionHead(label_dimension=2))
    np.testing.assert_allclose(head.loss(LABELS, LOGITS), ((LABELS - LOGITS) ** 2).mean())

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)] * 2)
    def loss(labels, logits):
        return head.loss(labels, logits)

    np.testing.assert_allclose(loss(LABELS, LOGITS), ((LABELS - LOGITS) ** 2).mean())
    with pytest.raises(ValueError, match="Invalid label_dimension 0."):
        heads.RegressionHead(label_dimension=tf.constant(0))


def test_constructor_checks_in_the_original_order():
    with pytest.raises(ValueError, match="Invalid label_dimension 0."):
        heads.RegressionHead(label_dimension=0, loss_reduction="none")
    with pytest.raises(ValueError, match="Invalid loss_reduction: none"):
        heads.RegressionHead(loss_reduction="none", loss_fn=lambda labels: labels)
    with pytest.raises(ValueError, match="Invalid label_dimension -1."):
        heads.PoissonRegressionHead(label_dimension=-1)


def test_loss_fn_receives_float32_labels_of_label_dimension():
    received = {}

    def loss_fn(labels, logits):
        received["labels"] = labels
        return tf.abs(labels - logits)

    head = heads.RegressionHead(label_dimension=2, loss_fn=loss_fn, loss_reduction="sum")
    loss = head.loss(LABELS.astype(np.int64), LOGITS)
    assert received["labels"].dtype == tf.float32 and received["labels"].shape == (3, 2)
    np.testing.assert_allclose(loss, np.abs(LABELS.astype(np.int64) - LOGITS).sum(), rtol=1e-6)
