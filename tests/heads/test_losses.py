"""Tests of heads._losses: reduction, custom loss_fn checks, regularization."""

import functools

import numpy as np
import pytest
import tensorflow as tf

from heads import _losses


def test_validate_loss_reduction():
    for reduction in ("sum", "sum_over_batch_size", "auto"):
        _losses.validate_loss_reduction(reduction)
    for reduction in ("none", "mean", "SUM", None):
        with pytest.raises(ValueError, match=f"Invalid loss_reduction: {reduction}. See"):
            _losses.validate_loss_reduction(reduction)


def test_validate_loss_fn_args():
    _losses.validate_loss_fn_args(lambda labels, logits, features, loss_reduction: labels)

    class Loss:
        def __call__(self, labels, logits):
            return labels

        def method(self, labels, logits):
            return labels

    _losses.validate_loss_fn_args(Loss())
    _losses.validate_loss_fn_args(Loss().method)
    _losses.validate_loss_fn_args(functools.partial(lambda scale, labels, logits: 0, 2.0))
    with pytest.raises(
        ValueError, match=r"must contain argument: logits. Given arguments: \('labels',\)"
    ):
        _losses.validate_loss_fn_args(lambda labels: labels)
    with pytest.raises(ValueError, match=r"unexpected args: \['a', 'weights'\]"):
        _losses.validate_loss_fn_args(lambda labels, logits, weights, a: labels)


def test_call_loss_fn_passes_features_only_when_declared():
    logits = tf.ones([2, 1])
    got = _losses.call_loss_fn(lambda labels, logits: labels - logits, tf.zeros([2, 1]), logits, {})
    assert got.numpy().tolist() == [[-1.0], [-1.0]]
    got = _losses.call_loss_fn(
        lambda labels, logits, features: features["s"] * logits,
        tf.zeros([2, 1]),
        logits,
        {"s": 3.0},
    )
    assert got.numpy().tolist() == [[3.0], [3.0]]
    with pytest.raises(ValueError) as info:
        _losses.call_loss_fn(lambda labels, logits: logits[:, 0], tf.zeros([2, 1]), logits, {})
    assert info.value.args == (
        "loss_fn must return Tensor of shape [D0, D1, ... DN, 1]. ",
        "logits_shape: ",
        (2, 1),
        "loss_shape: ",
        (2,),
    )


def test_compute_weighted_loss():
    loss = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    weights = tf.constant([[0.0], [2.0]])
    assert float(_losses.compute_weighted_loss(loss, weights, "sum")) == 14.0
    assert float(_losses.compute_weighted_loss(loss, weights, "sum_over_batch_size")) == 3.5
    assert float(_losses.compute_weighted_loss(loss, weights, "auto")) == 3.5
    empty = tf.zeros([0, 1])
    assert float(_losses.compute_weighted_loss(empty, empty, "sum_over_batch_size")) == 0.0


def test_regularization():
    assert _losses.regularization_loss(None) is None
    assert _losses.regularization_loss([]) is None
    np.testing.assert_allclose(_losses.regularization_loss([1.0, tf.constant(2.0)]), 3.0)
    np.testing.assert_allclose(_losses.add_regularization(tf.constant(1.0), [0.5]), 1.5)
    np.testing.assert_allclose(_losses.add_regularization(tf.constant(1.0), []), 1.0)
