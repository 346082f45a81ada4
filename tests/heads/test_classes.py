"""Tests of heads._classes: vocabulary lookups and all_class* predictions."""

import pytest
import tensorflow as tf

from heads import _classes


def test_class_ids_from_strings():
    ids = _classes.class_ids_from_strings(tf.constant([["b"], ["z"], ["a"]]), ["a", "b"])
    assert ids.dtype == tf.int64 and ids.numpy().tolist() == [[1], [-1], [0]]
    with pytest.raises(TypeError, match="keys"):
        _classes.class_ids_from_strings(tf.constant([[1]]), ["a", "b"])


def test_class_strings_from_ids():
    ids = tf.constant([[0], [1]], tf.int64)
    assert _classes.class_strings_from_ids(ids, 2, None).numpy().tolist() == [[b"0"], [b"1"]]
    assert _classes.class_strings_from_ids(ids, 2, ["n", "p", "x"]).numpy().tolist() == [
        [b"n"],
        [b"p"],
    ]
    assert _classes.class_strings_from_ids(ids, 2, ["n"]).numpy().tolist() == [[b"n"], [b"UNK"]]


def test_all_classes_tile_first_dimension_only():
    logits = tf.zeros([2, 5, 3])
    assert _classes.all_class_ids(logits, 3).numpy().tolist() == [[0, 1, 2]] * 2
    assert _classes.all_classes(logits, 3).numpy().tolist() == [[b"0", b"1", b"2"]] * 2
    assert _classes.all_classes(logits, 2, ["a", "b", "c"]).shape == (2, 3)
