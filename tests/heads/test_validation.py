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


def test_check_label_range_eagerly_raises_value_error():
    ok = _validation.check_label_range(tf.constant([[0], [2]]), 3)
    assert ok.numpy().tolist() == [[0], [2]]
    # The upper bound is checked first, so a batch breaking both reports it.
    with pytest.raises(ValueError, match=r"^Labels must be <= 3 - 1$"):
        _validation.check_label_range(tf.constant([[-1], [3]]), 3)
    with pytest.raises(ValueError, match="^Labels must be >= 0$"):
        _validation.check_label_range(tf.constant([[-1.0]]), 2)
    with pytest.raises(ValueError, match="^custom$"):
        _validation.check_label_range(tf.constant([[5]]), 2, message="custom")


def test_check_label_range_in_tf_function_raises_invalid_argument_error():
    @tf.function(input_signature=[tf.TensorSpec([None, 1], tf.int32)])
    def check(labels):
        return _validation.check_label_range(labels, 3)

    assert check(tf.constant([[0], [2]])).numpy().tolist() == [[0], [2]]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Labels must be <= 3 - 1"):
        check(tf.constant([[-1], [3]]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Labels must be >= 0"):
        check(tf.constant([[-1], [0]]))


def test_check_label_range_compiles_with_xla():
    # XLA drops Assert ops (compiled steps check labels on the host, heads/_host.py); the
    # check must still compile and pass the labels through.
    @tf.function(jit_compile=True)
    def check(labels):
        return _validation.check_label_range(labels, 3) * 2

    assert check(tf.constant([[0], [2]])).numpy().tolist() == [[0], [4]]


def test_check_values_one_path_for_eager_and_graph():
    values = tf.constant([1.0, 2.0])
    checks = [(tf.reduce_all(values > 0), "positive"), (tf.reduce_all(values < 2), "small")]
    with pytest.raises(ValueError, match="^small$"):
        _validation.check_values(values, checks)
    assert _validation.check_values(values, checks[:1]) is values

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def check(x):
        return _validation.check_values(
            x, [(tf.reduce_all(x > 0), "positive"), (tf.reduce_all(x < 2), "small")]
        )

    with pytest.raises(tf.errors.InvalidArgumentError, match="positive"):
        check(tf.constant([-1.0, 5.0]))  # the first failing check is reported
    with pytest.raises(tf.errors.InvalidArgumentError, match="small"):
        check(values)
    assert check(tf.constant([1.0])).numpy().tolist() == [1.0]


def test_concrete_scalar():
    assert _validation.concrete_scalar(3, "n") == 3
    assert _validation.concrete_scalar(None, "n") is None
    assert _validation.concrete_scalar(tf.constant(3), "n") == 3
    assert type(_validation.concrete_scalar(tf.constant(3, tf.int64), "n")) is int
    assert _validation.concrete_scalar(tf.Variable(4), "n") == 4
    assert _validation.concrete_scalar(tf.constant(0.25), "t") == 0.25
    assert _validation.concrete_scalar(tf.constant(False), "b") is False
    with pytest.raises(TypeError, match=r"Invalid `n`: expected a scalar; received .*\[2\]"):
        _validation.concrete_scalar(tf.constant([3, 4]), "n")

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
    def symbolic(n):
        assert _validation.concrete_scalar(tf.constant(5), "n") == 5  # a constant is known
        return _validation.concrete_scalar(n, "n")

    with pytest.raises(TypeError, match="Invalid `n`: expected a value known when the head"):
        symbolic(tf.constant(3))


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
