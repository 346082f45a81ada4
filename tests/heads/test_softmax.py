"""Probabilities follow the original heads' softmax kernel on every machine."""

import numpy as np
import tensorflow as tf

import heads
from heads import _softmax

INF, NAN = float("inf"), float("nan")


def test_a_row_with_inf_or_nan_is_nan_as_in_eigen():
    # exp(x - max) / sum by hand: a +inf or NaN logit makes the shifted row hold NaN, and
    # the sum spreads it over the row; -inf only zeroes its own entry.
    logits = tf.constant([[0.0, INF], [0.0, NAN], [0.0, -INF]])
    expected = [[NAN, NAN], [NAN, NAN], [1.0, 0.0]]
    np.testing.assert_array_equal(_softmax.softmax(logits).numpy(), expected)
    wide = tf.constant([[1.0, INF, 2.0], [-INF, 0.0, np.log(3.0)]])
    np.testing.assert_allclose(
        _softmax.softmax(wide).numpy(), [[NAN, NAN, NAN], [0.0, 0.25, 0.75]], rtol=1e-6
    )


def test_finite_logits_match_tf_softmax():
    logits = tf.random.stateless_normal([64, 7], seed=[1, 2]) * 20.0
    np.testing.assert_allclose(
        _softmax.softmax(logits).numpy(), tf.nn.softmax(logits).numpy(), rtol=1e-6, atol=1e-30
    )


def test_heads_use_it():
    binary = heads.BinaryClassHead().predictions(tf.constant([[INF], [30.0]]))
    np.testing.assert_allclose(
        binary["probabilities"].numpy(), [[NAN, NAN], [1 / (1 + np.exp(30.0)), 1.0]], rtol=1e-6
    )
    multi = heads.MultiClassHead(n_classes=3).predictions(tf.constant([[0.0, NAN, 1.0]]))
    assert np.isnan(multi["probabilities"].numpy()).all()
