"""Unit tests of MultiClassHead beyond the reference vectors."""

import numpy as np
import pytest
import tensorflow as tf

import heads
from heads.keys import PredictionKeys

LOGITS = np.array([[1.0, 2.0, 0.5], [3.0, -1.0, 3.0], [0.0, 0.0, 5.0]], dtype=np.float32)
LABELS = np.array([[1], [2], [2]], dtype=np.int32)


def _softmax_ce(labels, logits):
    log_z = np.log(np.exp(logits).sum(axis=-1))
    return log_z - np.take_along_axis(logits, labels, axis=-1)[..., 0]


def test_loss_matches_numpy_softmax_cross_entropy():
    head = heads.MultiClassHead(n_classes=3)
    expected = _softmax_ce(LABELS, LOGITS).mean()
    np.testing.assert_allclose(head.loss(LABELS, LOGITS), expected, rtol=1e-5)


def test_argmax_ties_take_the_first_class():
    head = heads.MultiClassHead(n_classes=3)
    preds = head.predictions(LOGITS)
    assert preds["class_ids"].numpy().tolist() == [[1], [0], [2]]
    assert preds["class_ids"].dtype == tf.int64
    assert preds["classes"].numpy().tolist() == [[b"1"], [b"0"], [b"2"]]
    assert preds["all_class_ids"].numpy().tolist() == [[0, 1, 2]] * 3


def test_vocabulary_labels_and_predictions():
    head = heads.MultiClassHead(n_classes=3, label_vocabulary=("x", "y", "z"))
    labels = np.array([["y"], ["z"], ["z"]])
    np.testing.assert_allclose(
        head.loss(labels, LOGITS), heads.MultiClassHead(3).loss(LABELS, LOGITS), rtol=1e-5
    )
    preds = head.predictions(LOGITS)
    assert preds["classes"].numpy().tolist() == [[b"y"], [b"x"], [b"z"]]
    assert preds["all_classes"].numpy().tolist() == [[b"x", b"y", b"z"]] * 3
    with pytest.raises(ValueError, match="Labels dtype should be string if there is a vocabulary"):
        head.loss(LABELS, LOGITS)
    with pytest.raises(ValueError, match="^Labels must be >= 0$"):
        head.loss(np.array([["y"], ["w"], ["z"]]), LOGITS)


def test_prediction_keys_filter_and_error():
    head = heads.MultiClassHead(n_classes=3)
    preds = head.predictions(LOGITS, keys=[PredictionKeys.PROBABILITIES])
    assert list(preds) == [PredictionKeys.PROBABILITIES]
    with pytest.raises(ValueError, match="given: logistic.Valid prediction keys include"):
        head.predictions(LOGITS, keys=[PredictionKeys.LOGISTIC])


def test_metric_names_and_keys():
    head = heads.MultiClassHead(n_classes=3, name="mc")
    metrics = head.metrics(regularization_losses=[0.1])
    assert list(metrics) == ["average_loss/mc", "regularization_loss/mc", "accuracy/mc"]
    assert [m.name for m in metrics.values()] == [
        "average_loss",
        "regularization_loss",
        "accuracy",
    ]


def test_metrics_accumulate_over_batches():
    head = heads.MultiClassHead(n_classes=3, weight_column="w")
    metrics = head.metrics()
    head.update_metrics(metrics, {"w": np.array([[1.0], [0.0], [1.0]])}, LOGITS, LABELS)
    head.update_metrics(metrics, {"w": np.array([[2.0], [1.0], [1.0]])}, LOGITS, LABELS)
    correct = np.array([1.0, 0.0, 1.0] * 2)
    weights = np.array([1.0, 0.0, 1.0, 2.0, 1.0, 1.0])
    np.testing.assert_allclose(
        metrics["accuracy"].result(), (correct * weights).sum() / weights.sum(), rtol=1e-5
    )


def test_three_d_logits_and_rank1_free_labels():
    head = heads.MultiClassHead(n_classes=3)
    logits = np.stack([LOGITS, LOGITS[::-1]])  # [2, 3, 3]
    labels = np.stack([LABELS[:, 0], LABELS[::-1, 0]])  # [2, 3] -> [2, 3, 1]
    expected = _softmax_ce(labels[..., None].reshape([-1, 1]), logits.reshape([-1, 3])).mean()
    np.testing.assert_allclose(head.loss(labels, logits), expected, rtol=1e-5)
    preds = head.predictions(logits)
    assert preds["class_ids"].shape == (2, 3, 1)
    assert preds["all_classes"].shape == (2, 3)


def test_unreduced_loss_and_properties():
    head = heads.MultiClassHead(n_classes=3, weight_column="w", label_vocabulary=["a", "b", "c"])
    loss, weights = head.unreduced_loss(
        np.array([["b"], ["c"], ["c"]]), LOGITS, {"w": np.array([1.0, 2.0, 3.0])}
    )
    np.testing.assert_allclose(loss[:, 0], _softmax_ce(LABELS, LOGITS), rtol=1e-5)
    assert weights.shape == (3, 1)
    assert head.n_classes == 3 and head.label_vocabulary == ("a", "b", "c")
    assert head.weight_column == "w" and head.loss_fn is None


def test_class_ids_out_of_range_eagerly_raise_value_error_as_the_original():
    head = heads.MultiClassHead(n_classes=3)
    with pytest.raises(ValueError, match=r"^Labels must be <= 3 - 1$"):
        head.loss(np.array([[1], [3], [2]]), LOGITS)
    with pytest.raises(ValueError, match="^Labels must be >= 0$"):
        head.loss(np.array([[1], [-1], [2]]), LOGITS)
    with pytest.raises(ValueError, match=r"^Labels must be <= 3 - 1$"):
        head.loss(np.array([[-1], [3], [2]]), LOGITS)  # the upper bound is checked first
    with pytest.raises(ValueError, match="^Labels must be >= 0$"):
        head.update_metrics(head.metrics(), {}, LOGITS, np.array([[1], [-1], [2]]))


def test_class_ids_out_of_range_in_tf_function_raise_invalid_argument_error():
    head = heads.MultiClassHead(n_classes=3)

    @tf.function(
        input_signature=[tf.TensorSpec([None, 1], tf.int32), tf.TensorSpec([None, 3], tf.float32)]
    )
    def loss(labels, logits):
        return head.loss(labels, logits)

    np.testing.assert_allclose(loss(LABELS, LOGITS), head.loss(LABELS, LOGITS), rtol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Labels must be <= 3 - 1"):
        loss(np.array([[1], [3], [2]], np.int32), LOGITS)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Labels must be >= 0"):
        loss(np.array([[1], [-1], [2]], np.int32), LOGITS)


def test_tensor_n_classes_works_as_its_value():
    reference = heads.MultiClassHead(n_classes=3, label_vocabulary=["x", "y", "z"])
    for n_classes in (tf.constant(3), tf.constant(3, tf.int64), tf.Variable(3)):
        head = heads.MultiClassHead(n_classes=n_classes, label_vocabulary=["x", "y", "z"])
        assert head.n_classes == 3 and head.logits_dimension == 3
        assert heads.serialize(head) == heads.serialize(reference)
        for key, value in reference.predictions(LOGITS).items():
            np.testing.assert_array_equal(head.predictions(LOGITS)[key], value)
        labels = np.array([["y"], ["z"], ["z"]])
        np.testing.assert_allclose(head.loss(labels, LOGITS), reference.loss(labels, LOGITS))
    with pytest.raises(ValueError, match="logits shape must be"):
        heads.MultiClassHead(n_classes=tf.constant(3)).predictions(LOGITS[:, :2])


def test_tensor_n_classes_in_tf_function():
    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
    def class_ids(logits):
        # A constant built in the graph has a known value, so the head can be built here.
        head = heads.MultiClassHead(n_classes=tf.constant(3))
        return head.predictions(logits, keys=["class_ids"])["class_ids"]

    assert class_ids(LOGITS).numpy().tolist() == [[1], [0], [2]]
    head = heads.MultiClassHead(n_classes=tf.constant(3))

    @tf.function(input_signature=[tf.TensorSpec([None, 1], tf.int32)])
    def loss(labels):
        return head.loss(labels, LOGITS)

    np.testing.assert_allclose(loss(LABELS), heads.MultiClassHead(3).loss(LABELS, LOGITS))

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
    def build(n_classes):
        return heads.MultiClassHead(n_classes=n_classes).logits_dimension

    with pytest.raises(TypeError, match="Invalid `n_classes`: expected a value known"):
        build(tf.constant(3))


def test_tensor_n_classes_errors_as_the_original():
    # The original checked a tensor with an assertion (`validate_n_classes`).
    with pytest.raises(tf.errors.InvalidArgumentError, match="n_classes must be greater than 2"):
        heads.MultiClassHead(n_classes=tf.constant(2))
    with pytest.raises(TypeError, match="Invalid `n_classes`: expected an int > 2"):
        heads.MultiClassHead(n_classes=tf.constant(3.0))
    with pytest.raises(TypeError, match="Invalid `n_classes`: expected a scalar"):
        heads.MultiClassHead(n_classes=tf.constant([3]))
    with pytest.raises(ValueError, match='"label_vocabulary" does not have "n_classes" items'):
        heads.MultiClassHead(n_classes=tf.constant(4), label_vocabulary=["a", "b", "c"])


def test_constructor_errors():
    with pytest.raises(ValueError, match="n_classes cannot be None"):
        heads.MultiClassHead(n_classes=None)
    with pytest.raises(ValueError, match="n_classes must be > 2: 2."):
        heads.MultiClassHead(n_classes=2)
    with pytest.raises(TypeError, match="Invalid `n_classes`"):
        heads.MultiClassHead(n_classes=3.5)
    with pytest.raises(ValueError, match='"label_vocabulary" does not have "n_classes" items'):
        heads.MultiClassHead(n_classes=4, label_vocabulary=["a"])


def test_float_labels_rejected():
    head = heads.MultiClassHead(n_classes=3)
    with pytest.raises(ValueError, match="Labels dtype should be integer"):
        head.loss(LABELS.astype(np.float32), LOGITS)


def test_constructor_checks_in_the_original_order():
    def bad_loss_fn(labels):
        return labels

    with pytest.raises(ValueError, match="n_classes cannot be None"):
        heads.MultiClassHead(n_classes=None, label_vocabulary="abc", loss_reduction="none")
    with pytest.raises(ValueError, match="label_vocabulary should be a list or a tuple"):
        heads.MultiClassHead(n_classes=2, label_vocabulary="ab")
    # n_classes <= 2 is checked last, after the vocabulary, loss_reduction and loss_fn.
    with pytest.raises(ValueError, match='"label_vocabulary" does not have "n_classes" items'):
        heads.MultiClassHead(n_classes=2, label_vocabulary=["a", "b", "c"])
    with pytest.raises(ValueError, match="Invalid loss_reduction: none"):
        heads.MultiClassHead(n_classes=2, loss_reduction="none", loss_fn=bad_loss_fn)
    with pytest.raises(ValueError, match="loss_fn must contain argument: logits"):
        heads.MultiClassHead(n_classes=2, loss_fn=bad_loss_fn)
    with pytest.raises(ValueError, match="n_classes must be > 2: 2."):
        heads.MultiClassHead(n_classes=2, label_vocabulary=["a", "b"])


def test_loss_fn_receives_label_ids_in_their_integer_dtype():
    received = []

    def loss_fn(labels, logits):
        received.append(labels)
        return tf.reduce_sum(logits, axis=-1, keepdims=True)

    heads.MultiClassHead(n_classes=3, loss_fn=loss_fn).loss(LABELS, LOGITS)
    vocabulary_head = heads.MultiClassHead(3, label_vocabulary=["x", "y", "z"], loss_fn=loss_fn)
    vocabulary_head.loss(np.array([["y"], ["z"], ["z"]]), LOGITS)
    assert [(labels.dtype, tuple(labels.shape)) for labels in received] == [
        (tf.int32, (3, 1)),
        (tf.int64, (3, 1)),
    ]
    assert received[1].numpy().tolist() == LABELS.tolist()


def test_prediction_dtypes_and_shapes():
    preds = heads.MultiClassHead(n_classes=3).predictions(LOGITS.astype(np.float64))
    assert {key: (value.dtype, tuple(value.shape)) for key, value in preds.items()} == {
        "logits": (tf.float32, (3, 3)),
        "probabilities": (tf.float32, (3, 3)),
        "class_ids": (tf.int64, (3, 1)),
        "classes": (tf.string, (3, 1)),
        "all_class_ids": (tf.int32, (3, 3)),
        "all_classes": (tf.string, (3, 3)),
    }
    softmax = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(preds["probabilities"], softmax, rtol=1e-6)
