"""Unit tests of BinaryClassHead beyond the reference vectors."""

import numpy as np
import pytest
import tensorflow as tf

import heads
from heads.keys import MetricKeys, PredictionKeys

LOGITS = np.array([[-1.0], [0.5], [2.0], [0.0]], dtype=np.float32)
LABELS = np.array([[0], [1], [1], [0]], dtype=np.int64)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _bce(labels, logits):
    return np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))


def test_loss_matches_numpy_sigmoid_cross_entropy():
    head = heads.BinaryClassHead()
    expected = _bce(LABELS.astype(np.float32), LOGITS).mean()
    np.testing.assert_allclose(head.loss(LABELS, LOGITS), expected, rtol=1e-5)


def test_sum_reduction_and_regularization():
    head = heads.BinaryClassHead(loss_reduction="sum")
    expected = _bce(LABELS.astype(np.float32), LOGITS).sum() + 0.25 + 0.5
    got = head.loss(LABELS, LOGITS, regularization_losses=[0.25, tf.constant(0.5)])
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_empty_regularization_list_acts_like_none():
    head = heads.BinaryClassHead()
    np.testing.assert_allclose(
        head.loss(LABELS, LOGITS, regularization_losses=[]), head.loss(LABELS, LOGITS)
    )
    assert MetricKeys.LOSS_REGULARIZATION not in head.metrics(regularization_losses=[])
    metrics = head.metrics()
    head.update_metrics(metrics, {}, LOGITS, LABELS, regularization_losses=[])


def test_regularization_losses_without_metric_raise_key_error():
    head = heads.BinaryClassHead()
    with pytest.raises(KeyError, match="regularization_loss"):
        head.update_metrics(head.metrics(), {}, LOGITS, LABELS, regularization_losses=[1.0])


def test_metric_object_names_follow_estimator_rules():
    head = heads.BinaryClassHead(thresholds=[0.25, 1 / 3], name="ctr")
    metrics = head.metrics(regularization_losses=[1.0])
    assert metrics["auc/ctr"].name == "auc"
    assert metrics["label/mean/ctr"].name == "label/mean"
    assert metrics["accuracy_baseline/ctr"].name == "accuracy_baseline"
    assert metrics["regularization_loss/ctr"].name == "regularization_loss"
    key = "precision/positive_threshold_0.333333/ctr"
    assert metrics[key].name == key
    assert metrics["accuracy/positive_threshold_0.25/ctr"].name == (
        "accuracy/positive_threshold_0.25/ctr"
    )


def test_prediction_keys_filter_and_error():
    head = heads.BinaryClassHead()
    preds = head.predictions(LOGITS, keys=[PredictionKeys.CLASSES, PredictionKeys.LOGISTIC])
    assert list(preds) == [PredictionKeys.LOGISTIC, PredictionKeys.CLASSES]
    assert list(head.predictions(LOGITS, keys=[])) == list(head.predictions(LOGITS))
    with pytest.raises(ValueError, match="Prediction key must be in PredictionKeys, given: top_k"):
        head.predictions(LOGITS, keys=["top_k"])


def test_predictions_with_vocabulary_and_ties():
    head = heads.BinaryClassHead(label_vocabulary=["neg", "pos"])
    preds = head.predictions(LOGITS)
    assert preds["class_ids"].numpy().tolist() == [[0], [1], [1], [0]]
    assert preds["classes"].numpy().tolist() == [[b"neg"], [b"pos"], [b"pos"], [b"neg"]]
    assert preds["all_classes"].numpy().tolist() == [[b"neg", b"pos"]] * 4
    assert preds["all_class_ids"].dtype == tf.int32
    np.testing.assert_allclose(preds["probabilities"][:, 1:], _sigmoid(LOGITS), rtol=1e-5)


def test_three_d_logits():
    head = heads.BinaryClassHead(weight_column="w")
    logits = np.arange(-3, 3, dtype=np.float32).reshape([2, 3, 1])
    labels = np.array([[0, 1, 0], [1, 1, 0]], dtype=np.float32)  # [D0, D1] is accepted.
    weights = np.array([[1.0, 2.0, 0.0], [1.0, 1.0, 3.0]], dtype=np.float32)
    loss = head.loss(labels, logits, {"w": weights})
    per_example = _bce(labels[..., None], logits)
    np.testing.assert_allclose(loss, (per_example * weights[..., None]).sum() / 6, rtol=1e-5)
    preds = head.predictions(logits)
    assert preds["class_ids"].shape == (2, 3, 1)
    assert preds["all_classes"].shape == (2, 2)
    metrics = head.update_metrics(head.metrics(), {"w": weights}, logits, labels)
    expected_label_mean = (labels * weights).sum() / weights.sum()
    np.testing.assert_allclose(metrics["label/mean"].result(), expected_label_mean, rtol=1e-5)


def test_weight_column_numeric_column_with_normalizer():
    column = tf.feature_column.numeric_column("w", normalizer_fn=lambda w: w * 2.0)
    head = heads.BinaryClassHead(weight_column=column, loss_reduction="sum")
    weights = np.array([[1.0], [0.0], [0.5], [2.0]], dtype=np.float32)
    expected = (_bce(LABELS.astype(np.float32), LOGITS) * weights * 2.0).sum()
    np.testing.assert_allclose(head.loss(LABELS, LOGITS, {"w": weights}), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="normalizer_fn"):
        heads.serialize(head)


def test_bad_weight_column_type_raises_at_call_time():
    head = heads.BinaryClassHead(weight_column=3)
    with pytest.raises(TypeError, match="Weight column must be either a string or NumericColumn"):
        head.loss(LABELS, LOGITS, {"w": LABELS})


def test_unreduced_loss_returns_loss_and_weights():
    head = heads.BinaryClassHead(weight_column="w")
    loss, weights = head.unreduced_loss(LABELS, LOGITS, {"w": np.array([1.0, 2.0, 3.0, 4.0])})
    np.testing.assert_allclose(loss, _bce(LABELS.astype(np.float32), LOGITS), rtol=1e-5)
    assert weights.numpy().tolist() == [[1.0], [2.0], [3.0], [4.0]]


def test_public_properties():
    head = heads.BinaryClassHead(weight_column="w", thresholds=[0.3], label_vocabulary=["a", "b"])
    assert head.thresholds == (0.3,)
    assert head.label_vocabulary == ("a", "b")
    assert head.weight_column == "w"
    assert head.n_classes == 2 and head.logits_dimension == 1
    assert head.loss_fn is None and head.centered_bias is False


def test_loss_fn_with_loss_reduction_argument_is_never_given_it():
    def loss_fn(labels, logits, loss_reduction):
        return labels - logits

    head = heads.BinaryClassHead(loss_fn=loss_fn)
    with pytest.raises(TypeError, match="loss_reduction"):
        head.loss(LABELS, LOGITS)


def test_label_range_eagerly_raises_value_error_as_the_original():
    head = heads.BinaryClassHead()
    with pytest.raises(ValueError, match=r"^Labels must be <= 2 - 1$"):
        head.loss(LABELS * 2, LOGITS)
    with pytest.raises(ValueError, match="^Labels must be >= 0$"):
        head.loss(-LABELS, LOGITS)
    with pytest.raises(ValueError, match=r"^Labels must be <= 2 - 1$"):
        head.update_metrics(head.metrics(), {}, LOGITS, LABELS * 2)
    vocabulary_head = heads.BinaryClassHead(label_vocabulary=["no", "yes", "maybe"])
    with pytest.raises(ValueError, match=r"^Labels must be <= 2 - 1$"):
        vocabulary_head.loss(np.array([["no"], ["maybe"], ["yes"], ["no"]]), LOGITS)


def test_label_range_is_checked_inside_tf_function():
    head = heads.BinaryClassHead()

    @tf.function(input_signature=[tf.TensorSpec([None, 1], tf.float32)] * 2)
    def loss(labels, logits):
        return head.loss(labels, logits)

    assert np.isfinite(loss(LABELS.astype(np.float32), LOGITS))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Labels must be <= 2 - 1"):
        loss(LABELS.astype(np.float32) * 2.0, LOGITS)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Labels must be >= 0"):
        loss(-LABELS.astype(np.float32), LOGITS)


def test_tensor_thresholds_act_as_their_values():
    head = heads.BinaryClassHead(thresholds=[tf.constant(0.25), 0.5])
    assert head.thresholds == (0.25, 0.5)
    assert heads.serialize(head)["config"]["thresholds"] == [0.25, 0.5]
    reference = heads.BinaryClassHead(thresholds=[0.25, 0.5])
    got = head.update_metrics(head.metrics(), {}, LOGITS, LABELS)
    want = reference.update_metrics(reference.metrics(), {}, LOGITS, LABELS)
    assert set(got) == set(want)
    for key, metric in want.items():
        np.testing.assert_allclose(got[key].result(), metric.result(), rtol=1e-6)
    with pytest.raises(ValueError, match=r"thresholds not in \(0, 1\)"):
        heads.BinaryClassHead(thresholds=[tf.constant(1.5)])


def test_label_shape_mismatch_is_checked_at_run_time_when_unknown():
    head = heads.BinaryClassHead()

    @tf.function(input_signature=[tf.TensorSpec([None, 1], tf.float32)] * 2)
    def loss(labels, logits):
        return head.loss(labels, logits)

    with pytest.raises(tf.errors.InvalidArgumentError, match="labels shape must be"):
        loss(np.zeros([3, 1], np.float32), LOGITS)


def test_constructor_errors():
    with pytest.raises(ValueError, match=r"thresholds not in \(0, 1\): \(\(0.5, 1\),\)"):
        heads.BinaryClassHead(thresholds=[0.5, 1])
    with pytest.raises(ValueError, match="label_vocabulary should be a list or a tuple"):
        heads.BinaryClassHead(label_vocabulary="ab")
    with pytest.raises(ValueError, match="Invalid loss_reduction: none"):
        heads.BinaryClassHead(loss_reduction="none")


def test_constructor_checks_in_the_original_order():
    # Vocabulary type, then thresholds, then loss_reduction, then the loss_fn signature.
    with pytest.raises(ValueError, match="label_vocabulary should be a list or a tuple"):
        heads.BinaryClassHead(label_vocabulary="ab", thresholds=[2.0])
    with pytest.raises(ValueError, match=r"thresholds not in \(0, 1\)"):
        heads.BinaryClassHead(thresholds=[2.0], loss_reduction="none")
    with pytest.raises(ValueError, match="Invalid loss_reduction: none"):
        heads.BinaryClassHead(loss_reduction="none", loss_fn=lambda labels: labels)
    # The vocabulary length is never checked.
    assert heads.BinaryClassHead(label_vocabulary=["only"]).logits_dimension == 1


def test_fractional_labels_are_soft_targets_and_positives():
    head = heads.BinaryClassHead(weight_column="w")
    labels = np.array([[0.3], [1.0], [0.0], [0.6]], dtype=np.float32)
    weights = np.array([[1.0], [2.0], [1.0], [3.0]], dtype=np.float32)
    np.testing.assert_allclose(
        head.loss(labels, LOGITS, {"w": weights}),
        (_bce(labels, LOGITS) * weights).sum() / 4,
        rtol=1e-5,
    )
    metrics = head.update_metrics(head.metrics(), {"w": weights}, LOGITS, labels)
    # class_ids are [0, 1, 1, 0]; precision and recall count any label > 0 as positive:
    # true positives weigh 2 (row 1), false positives 1 (row 2), false negatives 1 + 3.
    np.testing.assert_allclose(metrics["precision"].result(), 2 / 3, rtol=1e-6)
    np.testing.assert_allclose(metrics["recall"].result(), 2 / 6, rtol=1e-6)
    # Accuracy compares labels with class ids exactly: only row 1 matches.
    np.testing.assert_allclose(metrics["accuracy"].result(), 2 / 7, rtol=1e-6)
    label_mean = (0.3 * 1 + 1.0 * 2 + 0.0 * 1 + 0.6 * 3) / 7
    np.testing.assert_allclose(metrics["label/mean"].result(), label_mean, rtol=1e-6)
    np.testing.assert_allclose(
        metrics["accuracy_baseline"].result(), max(label_mean, 1 - label_mean), rtol=1e-6
    )


def test_prediction_dtypes_and_shapes_from_integer_logits():
    preds = heads.BinaryClassHead().predictions(np.array([[-2], [0], [3]], dtype=np.int64))
    want = {
        "logits": (tf.float32, (3, 1)),
        "logistic": (tf.float32, (3, 1)),
        "probabilities": (tf.float32, (3, 2)),
        "class_ids": (tf.int64, (3, 1)),
        "classes": (tf.string, (3, 1)),
        "all_class_ids": (tf.int32, (3, 2)),
        "all_classes": (tf.string, (3, 2)),
    }
    assert {key: (value.dtype, tuple(value.shape)) for key, value in preds.items()} == want
    assert preds["classes"].numpy().tolist() == [[b"0"], [b"0"], [b"1"]]


def test_loss_fn_receives_float32_labels_and_logits():
    received = {}

    def loss_fn(labels, logits):
        received.update(labels=labels, logits=logits)
        return tf.abs(labels - logits)

    heads.BinaryClassHead(loss_fn=loss_fn).loss(LABELS, LOGITS.astype(np.float64))
    assert received["labels"].dtype == tf.float32 and received["labels"].shape == (4, 1)
    assert received["logits"].dtype == tf.float32
