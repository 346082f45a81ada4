"""Tests of heads._weights: reading example weights and checking their shape."""

import numpy as np
import pytest
import tensorflow as tf

from heads import _weights

LOGITS = tf.ones([3, 2])


def test_no_weight_column_gives_ones():
    weights = _weights.get_weights_and_check_match_logits({}, None, LOGITS)
    assert weights.numpy().tolist() == [[1.0]] * 3


def test_rank1_and_rank2_weights():
    for raw in ([1, 2, 3], [[1], [2], [3]]):
        weights = _weights.get_weights_and_check_match_logits({"w": raw}, "w", LOGITS)
        assert weights.dtype == tf.float32 and weights.numpy().tolist() == [[1.0], [2.0], [3.0]]


def test_per_logit_weights_only_when_allowed():
    raw = {"w": np.ones([3, 2], np.float32)}
    assert _weights.get_weights_and_check_match_logits(raw, "w", LOGITS, True).shape == (3, 2)
    with pytest.raises(ValueError, match=r"weights shape must be \[D0, D1, ... DN\] or"):
        _weights.get_weights_and_check_match_logits(raw, "w", LOGITS)


def test_numeric_column_with_normalizer():
    column = tf.feature_column.numeric_column("w", normalizer_fn=lambda w: w + 1.0)
    weights = _weights.get_weights_and_check_match_logits({"w": [1.0, 2.0, 3.0]}, column, LOGITS)
    assert weights.numpy().tolist() == [[2.0], [3.0], [4.0]]


def test_errors():
    with pytest.raises(ValueError, match="Feature w is not in features dictionary."):
        _weights.get_weights_and_check_match_logits({}, "w", LOGITS)
    with pytest.raises(TypeError, match="Weight column must be either a string or NumericColumn"):
        _weights.get_weights_and_check_match_logits({"w": [1.0]}, 1.5, LOGITS)
    with pytest.raises(ValueError, match="castable to float"):
        _weights.get_weights_and_check_match_logits({"w": ["a", "b", "c"]}, "w", LOGITS)
    with pytest.raises(ValueError, match="cannot have rank 0"):
        _weights.get_weights_and_check_match_logits({"w": 1.0}, "w", LOGITS)
    with pytest.raises(ValueError, match=r"logits_shape: \(3, 2\). weights_shape: \(2, 1\)"):
        _weights.get_weights_and_check_match_logits({"w": [1.0, 2.0]}, "w", LOGITS)
    sparse = tf.SparseTensor([[0, 0]], [1.0], [3, 1])
    with pytest.raises(ValueError, match="SparseTensor is not supported"):
        _weights.get_weights_and_check_match_logits({"w": sparse}, "w", LOGITS)
