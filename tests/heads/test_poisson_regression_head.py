"""Unit tests of PoissonRegressionHead."""

import numpy as np
import pytest
import tensorflow as tf

import heads

LOGITS = np.array([[0.5], [-1.0], [2.0]], dtype=np.float32)
LABELS = np.array([[3.0], [0.0], [1.0]], dtype=np.float32)


def _poisson(labels, logits, full):
    loss = np.exp(logits) - labels * logits
    if full:
        safe = np.where(labels > 1, labels, 1.0)
        stirling = safe * np.log(safe) - safe + 0.5 * np.log(2 * np.pi * safe)
        loss = loss + np.where(labels > 1, stirling, 0.0)
    return loss


@pytest.mark.parametrize("full", [True, False])
def test_loss(full):
    head = heads.PoissonRegressionHead(compute_full_loss=full)
    expected = _poisson(LABELS, LOGITS, full).mean()
    np.testing.assert_allclose(head.loss(LABELS, LOGITS), expected, rtol=1e-5)
    assert head.compute_full_loss is full


def test_predictions_and_config():
    head = heads.PoissonRegressionHead(label_dimension=1, compute_full_loss=False, name="p")
    preds = head.predictions(LOGITS)
    np.testing.assert_allclose(preds["predictions"], np.exp(LOGITS), rtol=1e-6)
    assert head.get_config() == {"compute_full_loss": False, "name": "p"}
    with pytest.raises(TypeError):
        heads.PoissonRegressionHead(loss_fn=lambda labels, logits: logits)


def test_tensor_arguments_act_as_their_values():
    head = heads.PoissonRegressionHead(
        label_dimension=tf.constant(1), compute_full_loss=tf.constant(False)
    )
    assert head.get_config() == {"compute_full_loss": False}
    np.testing.assert_allclose(
        head.loss(LABELS, LOGITS), _poisson(LABELS, LOGITS, False).mean(), rtol=1e-5
    )
