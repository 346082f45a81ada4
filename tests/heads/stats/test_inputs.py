"""Tests of heads/stats/inputs.py: every validator on good and bad input."""

import numpy as np
import pytest

from heads.stats.inputs import (
    as_float_array,
    binary_labels,
    flatten_binary_labels,
    flatten_logits,
    flatten_per_class,
    flatten_per_example,
    flatten_weights,
    invalid,
    validate_batch_keys,
    validate_class_ids,
    validate_n_classes,
    validate_name,
    validate_positive_int,
    validate_thresholds,
    validate_unit_interval,
    validate_vocabulary,
)


def test_message_format():
    assert invalid("x", "an int", 1.5) == "Invalid `x`: expected an int; received 1.5."
    assert invalid("x", "an int", "a", "Fix it.") == (
        "Invalid `x`: expected an int; received 'a'. Fix it."
    )


def test_validate_positive_int():
    assert validate_positive_int(np.int32(3), "k") == 3
    with pytest.raises(TypeError, match="Invalid `k`: expected an integer >= 1; received 2.0."):
        validate_positive_int(2.0, "k")
    with pytest.raises(ValueError, match="Invalid `k`: expected an integer >= 1; received 0."):
        validate_positive_int(0, "k")


def test_validate_n_classes_and_class_ids():
    assert validate_n_classes(3, minimum=2) == 3
    with pytest.raises(ValueError, match="Invalid `n_classes`"):
        validate_n_classes(1, minimum=2)
    assert validate_class_ids(None, 3) == ()
    assert validate_class_ids([2, np.int64(0)], 3) == (2, 0)
    with pytest.raises(ValueError, match="class ids in \\[0, 3\\)"):
        validate_class_ids((3,), 3)
    with pytest.raises(TypeError, match="Invalid `classes_for_class_based_metrics`"):
        validate_class_ids(("a",), 3)
    with pytest.raises(TypeError, match="Invalid `classes_for_class_based_metrics`"):
        validate_class_ids("ab", 3)


def test_validate_vocabulary_and_name():
    assert validate_vocabulary(None, 2) is None
    assert validate_vocabulary(["a", "b"], 2) == ("a", "b")
    with pytest.raises(ValueError, match="Invalid `label_vocabulary`: expected 3 entries"):
        validate_vocabulary(("a", "b"), 3)
    with pytest.raises(TypeError, match="Invalid `label_vocabulary`"):
        validate_vocabulary("ab", 2)
    with pytest.raises(TypeError, match="Invalid `label_vocabulary`: expected strings only"):
        validate_vocabulary((1, 2), 2)
    assert validate_name("h") == "h" and validate_name("") is None and validate_name(None) is None
    with pytest.raises(TypeError, match="Invalid `name`"):
        validate_name(3)


def test_validate_thresholds():
    assert validate_thresholds((0.5, 1e-5)) == (0.5, 1e-5)
    with pytest.raises(TypeError, match="Invalid `thresholds`"):
        validate_thresholds(0.5)
    with pytest.raises(ValueError, match="Invalid `thresholds`"):
        validate_thresholds((0.5, 1.0))


def test_validate_batch_keys():
    batch = {"logits": 1, "labels": 2, "weights": None}
    assert validate_batch_keys(batch, ("logits", "labels"), ("weights",)) is batch
    with pytest.raises(ValueError, match="Invalid `batch`: expected keys"):
        validate_batch_keys({"logits": 1}, ("logits", "labels"), ())
    with pytest.raises(ValueError, match="Invalid `batch`: expected keys"):
        validate_batch_keys({"logits": 1, "labels": 2, "weight": 3}, ("logits", "labels"), ())
    with pytest.raises(TypeError, match="Invalid `batch`"):
        validate_batch_keys([1, 2], ("logits",), ())


def test_as_float_array():
    assert as_float_array(np.zeros(2, np.float32), "x").dtype == np.float32
    assert as_float_array(np.zeros(2, np.float16), "x").dtype == np.float32
    assert as_float_array([1, 2], "x").dtype == np.float64
    with pytest.raises(TypeError, match="Invalid `x`: expected a numeric array"):
        as_float_array(np.array(["a"]), "x")


def test_flatten_logits():
    flat, leading = flatten_logits(np.zeros((2, 3, 4)), 4)
    assert flat.shape == (6, 4) and leading == (2, 3)
    flat, leading = flatten_logits(np.zeros(5), 1)
    assert flat.shape == (5, 1) and leading == (5,)
    with pytest.raises(ValueError, match="Invalid `logits`: expected shape \\[D0, ..., DN, 4\\]"):
        flatten_logits(np.zeros((2, 3)), 4)


def test_flatten_per_example_and_per_class():
    assert flatten_per_example(np.zeros((2, 3, 1)), (2, 3), "labels").shape == (6,)
    assert flatten_per_example(np.zeros((2, 3)), (2, 3), "labels").shape == (6,)
    with pytest.raises(ValueError, match="Invalid `labels`: expected shape \\(2, 3\\) or"):
        flatten_per_example(np.zeros((3, 2)), (2, 3), "labels")
    with pytest.raises(TypeError, match="Invalid `labels`: expected an integer array"):
        flatten_per_example(np.zeros(2), (2,), "labels", dtype_kind="i")
    assert flatten_per_class(np.zeros((4, 2)), (4,), 2, "labels").shape == (4, 2)
    assert flatten_per_class(np.zeros(4), (4,), 1, "labels").shape == (4, 1)
    with pytest.raises(ValueError, match="Invalid `labels`: expected shape \\(4, 2\\)"):
        flatten_per_class(np.zeros(4), (4,), 2, "labels")


def test_flatten_weights():
    assert flatten_weights(None, (3,)) is None
    assert flatten_weights(np.ones((3, 1)), (3,)).shape == (3,)
    assert flatten_weights(np.ones((3, 2)), (3,), per_element_dimension=2).shape == (3, 2)
    with pytest.raises(
        ValueError, match="Invalid `weights`: expected shape \\(3,\\) or \\(3, 1\\);"
    ):
        flatten_weights(np.ones((3, 2)), (3,))


def test_binary_labels():
    hard = binary_labels(np.array([0.0, 1.0, 1.0]))
    assert hard.hard and hard.positive.tolist() == [False, True, True]
    soft = binary_labels(np.array([0.0, 0.5, 1.0]))
    assert not soft.hard
    assert soft.positive.tolist() == [False, True, True]
    assert soft.one.tolist() == [False, False, True]
    assert binary_labels(np.array([True, False])).hard
    with pytest.raises(ValueError, match="Invalid `labels`: expected values in \\[0, 1\\]"):
        binary_labels(np.array([0.0, -0.5]))
    validate_unit_interval(np.array([np.nan, 0.5]), "labels")  # NaN is not rejected


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.int64, np.float32])
def test_flatten_binary_labels_keeps_0_1_labels_as_their_mask(dtype):
    values = np.array([[[1, 0, 1]], [[0, 0, 1]]], dtype=dtype)  # [2, 1, 3]
    labels = flatten_binary_labels(values, (2, 1), 3)
    assert labels.hard
    assert labels.positive.dtype == bool and labels.positive.shape == (2, 3)
    assert labels.positive.tolist() == [[True, False, True], [False, False, True]]
    assert np.array_equal(labels.one, labels.positive)
    if dtype is not np.float32:  # integer labels are not copied to float
        assert labels.values.dtype == bool


def test_flatten_binary_labels_soft_and_bad_labels():
    soft = flatten_binary_labels(np.array([[0.5, 1.0]]), (1,), 2)
    assert not soft.hard and soft.values.tolist() == [[0.5, 1.0]]
    assert soft.one.tolist() == [[False, True]]
    for bad in (np.array([[0, 2]]), np.array([[-1, 0]], dtype=np.int8), np.array([[0.0, 1.5]])):
        with pytest.raises(ValueError, match="Invalid `labels`: expected values in \\[0, 1\\]"):
            flatten_binary_labels(bad, (1,), 2)
    with pytest.raises(ValueError, match="Invalid `labels`: expected shape \\(1, 3\\)"):
        flatten_binary_labels(np.zeros((1, 2), dtype=bool), (1,), 3)
