"""Unit tests of MultiLabelHead beyond the reference vectors."""

import re

import numpy as np
import pytest
import tensorflow as tf

import heads

LOGITS = np.array([[-1.0, 1.0, 0.5], [2.0, -0.5, 0.0]], dtype=np.float32)
MULTI_HOT = np.array([[1, 0, 1], [0, 0, 1]], dtype=np.int64)


def _cell_loss(labels, logits):
    return np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))


def test_sparse_ids_and_strings_equal_dense_multi_hot():
    head = heads.MultiLabelHead(n_classes=3, label_vocabulary=["a", "b", "c"])
    ids = tf.SparseTensor([[0, 0], [0, 1], [1, 0]], tf.constant([0, 2, 2], tf.int64), [2, 2])
    names = tf.SparseTensor([[0, 0], [0, 1], [1, 0]], ["a", "c", "c"], [2, 2])
    expected = _cell_loss(MULTI_HOT, LOGITS).mean()
    for labels in (ids, names, MULTI_HOT):
        np.testing.assert_allclose(head.loss(labels, LOGITS), expected, rtol=1e-5)


def test_sparse_errors():
    head = heads.MultiLabelHead(n_classes=3)
    floats = tf.SparseTensor([[0, 0]], [1.0], [2, 1])
    with pytest.raises(ValueError, match="Labels dtype should be integer"):
        head.loss(floats, LOGITS)
    strings = tf.SparseTensor([[0, 0]], ["a"], [2, 1])
    with pytest.raises(ValueError, match="no label_vocabulary"):
        head.loss(strings, LOGITS)
    vocab_head = heads.MultiLabelHead(n_classes=3, label_vocabulary=["a", "b", "c"])
    unknown = tf.SparseTensor([[0, 0]], ["z"], [2, 1])
    with pytest.raises(tf.errors.InvalidArgumentError, match="label_vocabulary"):
        vocab_head.loss(unknown, LOGITS)


def test_dense_string_labels_rejected():
    head = heads.MultiLabelHead(n_classes=3, label_vocabulary=["a", "b", "c"])
    with pytest.raises(TypeError, match="multi-hot"):
        head.loss(np.array([["a", "b", "c"], ["a", "b", "c"]]), LOGITS)


def test_class_based_metric_keys_and_names():
    head = heads.MultiLabelHead(
        n_classes=3,
        label_vocabulary=["a", "b", "c"],
        classes_for_class_based_metrics=["c", "a"],
        thresholds=[0.5],
        name="tags",
    )
    assert head.classes_for_class_based_metrics == (2, 0)
    metrics = head.metrics()
    for key in ("probability_mean/c/tags", "auc/a/tags", "auc_precision_recall/c/tags"):
        assert metrics[key].name == key
    assert metrics["auc/tags"].name == "auc"
    assert metrics["recall/positive_threshold_0.5/tags"].name == (
        "recall/positive_threshold_0.5/tags"
    )
    ids_head = heads.MultiLabelHead(n_classes=3, classes_for_class_based_metrics=[1])
    assert "auc/class1" in ids_head.metrics()


def test_per_class_metrics_use_the_class_column():
    head = heads.MultiLabelHead(n_classes=3, classes_for_class_based_metrics=[2])
    metrics = head.update_metrics(head.metrics(), {}, LOGITS, MULTI_HOT)
    probabilities = 1.0 / (1.0 + np.exp(-LOGITS[:, 2]))
    np.testing.assert_allclose(
        metrics["probability_mean/class2"].result(), probabilities.mean(), rtol=1e-5
    )


def test_three_d_logits_and_weights():
    head = heads.MultiLabelHead(n_classes=3, weight_column="w")
    logits = np.stack([LOGITS, -LOGITS])  # [2, 2, 3]
    labels = np.stack([MULTI_HOT, 1 - MULTI_HOT])
    weights = np.array([[1.0, 0.0], [2.0, 1.0]], dtype=np.float32)
    per_example = _cell_loss(labels, logits).mean(axis=-1)
    np.testing.assert_allclose(
        head.loss(labels, logits, {"w": weights}), (per_example * weights).mean(), rtol=1e-5
    )
    preds = head.predictions(logits)
    assert preds["classes"].shape == (2, 3)
    with pytest.raises(ValueError, match="weights shape must be"):
        head.loss(labels, logits, {"w": np.ones([2, 2, 3], np.float32)})


def test_prediction_keys_filter_and_error():
    head = heads.MultiLabelHead(n_classes=3)
    assert list(head.predictions(LOGITS, keys=["classes"])) == ["classes"]
    with pytest.raises(ValueError, match="given: class_ids"):
        head.predictions(LOGITS, keys=["class_ids"])


def test_unreduced_loss_and_properties():
    head = heads.MultiLabelHead(n_classes=3, thresholds=(0.2, 0.7))
    loss, weights = head.unreduced_loss(MULTI_HOT, LOGITS)
    np.testing.assert_allclose(loss[:, 0], _cell_loss(MULTI_HOT, LOGITS).mean(-1), rtol=1e-5)
    assert weights.numpy().tolist() == [[1.0], [1.0]]
    assert head.thresholds == (0.2, 0.7) and head.n_classes == 3
    assert head.label_vocabulary is None and head.classes_for_class_based_metrics == ()


def test_constructor_errors():
    with pytest.raises(ValueError, match="n_classes must be > 1"):
        heads.MultiLabelHead(n_classes=1)
    with pytest.raises(ValueError, match="thresholds must be in"):
        heads.MultiLabelHead(n_classes=2, thresholds=[1.0])
    with pytest.raises(ValueError, match=r"Length of label_vocabulary must be n_classes \(2\)"):
        heads.MultiLabelHead(n_classes=2, label_vocabulary=["a"])
    with pytest.raises(ValueError, match="tuple.index"):
        heads.MultiLabelHead(
            n_classes=2, label_vocabulary=("a", "b"), classes_for_class_based_metrics=["c"]
        )
    with pytest.raises(ValueError, match=r"must be in range \[0, 1\]. Given: 2"):
        heads.MultiLabelHead(n_classes=2, classes_for_class_based_metrics=[2])


DENSE_ERROR = "labels must be an integer indicator Tensor with values in [0, 1]"
SPARSE_ERROR = "labels must be an integer SparseTensor with values in [0, 3)"


def _sparse_ids(values):
    return tf.SparseTensor([[0, 0], [1, 0]], tf.constant(values, tf.int64), [2, 1])


def test_label_values_eagerly_raise_value_error_as_the_original():
    head = heads.MultiLabelHead(n_classes=3)
    for bad in (MULTI_HOT * 2, MULTI_HOT - 1):
        with pytest.raises(ValueError) as info:
            head.loss(bad, LOGITS)
        assert str(info.value) == DENSE_ERROR
    for values in ([0, 3], [-1, 0]):
        with pytest.raises(ValueError) as info:
            head.loss(_sparse_ids(values), LOGITS)
        assert str(info.value) == SPARSE_ERROR
    with pytest.raises(ValueError) as info:
        head.update_metrics(head.metrics(), {}, LOGITS, _sparse_ids([0, 3]))
    assert str(info.value) == SPARSE_ERROR


def test_label_values_in_tf_function_raise_invalid_argument_error():
    head = heads.MultiLabelHead(n_classes=3)

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.int64)])
    def dense_loss(labels):
        return head.loss(labels, LOGITS)

    @tf.function(input_signature=[tf.SparseTensorSpec([None, None], tf.int64)])
    def sparse_loss(labels):
        return head.loss(labels, LOGITS)

    np.testing.assert_allclose(dense_loss(MULTI_HOT), head.loss(MULTI_HOT, LOGITS), rtol=1e-6)
    np.testing.assert_allclose(
        sparse_loss(_sparse_ids([0, 2])), head.loss(_sparse_ids([0, 2]), LOGITS), rtol=1e-6
    )
    for bad in (MULTI_HOT * 2, MULTI_HOT - 1):
        with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(DENSE_ERROR)):
            dense_loss(bad)
    for values in ([0, 3], [-1, 0]):
        with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(SPARSE_ERROR)):
            sparse_loss(_sparse_ids(values))


def test_tensor_arguments_act_as_their_values():
    head = heads.MultiLabelHead(
        n_classes=tf.constant(3),
        thresholds=[tf.constant(0.5)],
        classes_for_class_based_metrics=[tf.constant(1)],
    )
    reference = heads.MultiLabelHead(
        n_classes=3, thresholds=[0.5], classes_for_class_based_metrics=[1]
    )
    assert heads.serialize(head) == heads.serialize(reference)
    got = head.update_metrics(head.metrics(), {}, LOGITS, MULTI_HOT)
    want = reference.update_metrics(reference.metrics(), {}, LOGITS, MULTI_HOT)
    assert set(got) == set(want)
    for key, metric in want.items():
        np.testing.assert_allclose(got[key].result(), metric.result(), rtol=1e-6)

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
    def classes(logits):
        return head.predictions(logits, keys=["classes"])["classes"]

    assert classes(LOGITS).numpy().tolist() == [[b"0", b"1", b"2"]] * 2
    with pytest.raises(ValueError, match="n_classes must be > 1"):
        heads.MultiLabelHead(n_classes=tf.constant(1))
    with pytest.raises(ValueError, match="thresholds must be in"):
        heads.MultiLabelHead(n_classes=3, thresholds=[tf.constant(1.0)])


def _bad_loss_fn(labels):
    return labels


def test_constructor_checks_in_the_original_order():
    with pytest.raises(ValueError, match="multi-label classification. Given: None"):
        heads.MultiLabelHead(n_classes=None, thresholds=[2.0])
    with pytest.raises(ValueError, match="Given: 1"):
        heads.MultiLabelHead(n_classes=1, thresholds=[2.0])
    with pytest.raises(ValueError, match=r"thresholds must be in \(0, 1\) range. Given: 2.0"):
        heads.MultiLabelHead(n_classes=3, thresholds=[0.5, 2.0], label_vocabulary="abc")
    with pytest.raises(ValueError, match="label_vocabulary must be a list or tuple. Given type"):
        heads.MultiLabelHead(n_classes=3, label_vocabulary="abc", loss_fn=_bad_loss_fn)
    with pytest.raises(ValueError, match=r"Length of label_vocabulary must be n_classes \(3\)"):
        heads.MultiLabelHead(n_classes=3, label_vocabulary=["a"], loss_fn=_bad_loss_fn)
    # Here (unlike the other heads) the loss_fn is checked before the loss_reduction.
    with pytest.raises(ValueError, match="loss_fn must contain argument: logits"):
        heads.MultiLabelHead(n_classes=3, loss_fn=_bad_loss_fn, loss_reduction="none")
    with pytest.raises(ValueError, match="Invalid loss_reduction: none"):
        heads.MultiLabelHead(
            n_classes=3, loss_reduction="none", classes_for_class_based_metrics=[5]
        )
    with pytest.raises(ValueError, match="'z' is not in list"):
        heads.MultiLabelHead(
            n_classes=3, label_vocabulary=["a", "b", "c"], classes_for_class_based_metrics=["z"]
        )
    assert heads.MultiLabelHead(n_classes=2).logits_dimension == 2


def test_per_class_keys_name_the_vocabulary_entry_even_for_class_ids():
    head = heads.MultiLabelHead(
        n_classes=3, label_vocabulary=["a", "b", "c"], classes_for_class_based_metrics=[2, 0]
    )
    assert list(head.metrics()) == [
        "average_loss",
        "auc",
        "auc_precision_recall",
        "probability_mean/c",
        "auc/c",
        "auc_precision_recall/c",
        "probability_mean/a",
        "auc/a",
        "auc_precision_recall/a",
    ]


def test_sparse_duplicates_collapse_and_the_last_dimension_is_a_slot_count():
    head = heads.MultiLabelHead(n_classes=3)
    # Row 0 names class 2 twice in 5 slots, row 1 names class 0: multi-hot [0,0,1], [1,0,0].
    labels = tf.SparseTensor([[0, 0], [0, 3], [1, 0]], tf.constant([2, 2, 0], tf.int64), [2, 5])
    multi_hot = np.array([[0, 0, 1], [1, 0, 0]])
    np.testing.assert_allclose(
        head.loss(labels, LOGITS), _cell_loss(multi_hot, LOGITS).mean(), rtol=1e-5
    )


def test_loss_fn_receives_multi_hot_labels():
    received = []

    def loss_fn(labels, logits):
        received.append(labels)
        return tf.reduce_mean(logits, axis=-1, keepdims=True)

    head = heads.MultiLabelHead(n_classes=3, loss_fn=loss_fn)
    head.loss(tf.SparseTensor([[0, 0], [1, 0]], tf.constant([2, 0], tf.int32), [2, 1]), LOGITS)
    head.loss(MULTI_HOT.astype(np.int32), LOGITS)
    head.loss(np.array([[0.5, 0.0, 1.0], [0.0, 1.0, 0.0]]), LOGITS)
    assert [(labels.dtype, tuple(labels.shape)) for labels in received] == [
        (tf.int64, (2, 3)),
        (tf.int32, (2, 3)),
        (tf.float64, (2, 3)),
    ]
    assert received[0].numpy().tolist() == [[0, 0, 1], [1, 0, 0]]
