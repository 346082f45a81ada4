"""Tests of heads._validation: logits, labels, label ranges, prediction keys."""

import numpy as np
import pytest
import tensorflow as tf

from heads import _validation


def test_check_logits_final_dim():
    logits = _validation.check_logits_final_dim(np.ones([2, 3], np.float64), 3)
    assert logits.dtype == tf.float32 and logits.shape == (2, 3)
    with pytest.raises(ValueError, match=r"rank at least 2.  Received rank 1, shape \(3,\)"):
        _validation.check_logits_final_dim(np.ones([3]), 3)
    with pytest.raises(ValueError, match=r"logits_dimension\], got \(2, 2\)"):
        _validation.check_logits_final_dim(np.ones([2, 2]), 3)


def test_check_logits_final_dim_unknown_last_dim():
    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
    def check(logits):
        return _validation.check_logits_final_dim(logits, 3)

    assert check(np.ones([2, 3], np.float32)).shape == (2, 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="logits shape must be"):
        check(np.ones([2, 4], np.float32))


def test_dense_labels_reshaped_and_checked():
    logits = tf.ones([2, 3])
    labels = _validation.check_dense_labels_match_logits_and_reshape([1, 2], logits, 1)
    assert labels.shape == (2, 1)
    with pytest.raises(ValueError, match="You must provide a labels Tensor"):
        _validation.check_dense_labels_match_logits_and_reshape(None, logits, 1)
    with pytest.raises(ValueError, match="SparseTensor labels are not supported"):
        sparse = tf.SparseTensor([[0, 0]], [1], [2, 1])
        _validation.check_dense_labels_match_logits_and_reshape(sparse, logits, 1)
    with pytest.raises(ValueError, match="labels must have rank at least 2"):
        _validation.check_dense_labels_match_logits_and_reshape(1, logits, 1)
    with pytest.raises(ValueError, match="Expected labels dimension=1.  Received 2"):
        _validation.check_dense_labels_match_logits_and_reshape(np.ones([2, 2]), logits, 1)
    with pytest.raises(
        ValueError, match=r"expected_labels_shape: \(2, 1\). labels_shape: \(3, 1\)"
    ):
        _validation.check_dense_labels_match_logits_and_reshape(np.ones([3, 1]), logits, 1)


def test_check_label_range():
    ok = _validation.check_label_range(tf.constant([[0], [2]]), 3)
    assert ok.numpy().tolist() == [[0], [2]]
    with pytest.raises(tf.errors.InvalidArgumentError, match="Labels must be <= 3 - 1"):
        _validation.check_label_range(tf.constant([[-1], [3]]), 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Labels must be >= 0"):
        _validation.check_label_range(tf.constant([[-1.0]]), 2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="custom"):
        _validation.check_label_range(tf.constant([[5]]), 2, message="custom")


def test_select_prediction_keys():
    assert _validation.select_prediction_keys(None, ("a", "b")) == ("a", "b")
    assert _validation.select_prediction_keys(["b"], ("a", "b")) == ["b"]
    assert _validation.select_prediction_keys("b", ("a", "b")) == ["b"]
    with pytest.raises(ValueError, match=r"given: c.Valid prediction keys include \['a', 'b'\]."):
        _validation.select_prediction_keys(["c"], ("a", "b"))


def test_assert_shape_in_static_and_dynamic():
    logits = tf.ones([2, 3])
    candidates = [_validation.logits_based_shape(logits, 1)]
    assert _validation.assert_shape_in(tf.ones([2, 1]), candidates, "bad").shape == (2, 1)
    with pytest.raises(ValueError, match="bad"):
        _validation.assert_shape_in(tf.ones([2, 2]), candidates, "bad")

    @tf.function(input_signature=[tf.TensorSpec([None, 1]), tf.TensorSpec([None, 3])])
    def check(x, logits):
        return _validation.assert_shape_in(x, [_validation.logits_based_shape(logits, 1)], "bad")

    check(tf.ones([2, 1]), logits)
    with pytest.raises(tf.errors.InvalidArgumentError, match="bad"):
        check(tf.ones([4, 1]), logits)
