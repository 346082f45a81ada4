"""Unit tests of MultiHead beyond the reference vectors."""

import numpy as np
import pytest
import tensorflow as tf

import heads


def _heads():
    return [heads.BinaryClassHead(name="bin"), heads.RegressionHead(label_dimension=2, name="reg")]


LOGITS = np.array([[0.5, 1.0, 2.0], [-1.0, 0.0, 1.0]], dtype=np.float32)
LABELS = {
    "bin": np.array([[1], [0]], dtype=np.int64),
    "reg": np.array([[1.0, 1.0], [0.0, 0.0]], dtype=np.float32),
}


def test_loss_is_weighted_sum_of_head_losses_plus_regularization():
    head = heads.MultiHead(_heads(), head_weights=[2.0, 0.5])
    bin_loss = _heads()[0].loss(LABELS["bin"], LOGITS[:, :1])
    reg_loss = _heads()[1].loss(LABELS["reg"], LOGITS[:, 1:])
    expected = 2.0 * bin_loss + 0.5 * reg_loss + 0.3
    np.testing.assert_allclose(
        head.loss(LABELS, LOGITS, regularization_losses=[0.3]), expected, rtol=1e-5
    )
    dict_logits = {"bin": LOGITS[:, :1], "reg": LOGITS[:, 1:], "extra": LOGITS}
    np.testing.assert_allclose(head.loss(LABELS, dict_logits), head.loss(LABELS, LOGITS))


def test_name_dimension_and_properties():
    head = heads.MultiHead(_heads(), head_weights=[])
    assert head.name == "bin_reg" and head.logits_dimension == 3
    assert head.head_weights is None
    assert [h.name for h in head.heads] == ["bin", "reg"]
    assert head.loss_reduction == "sum_over_batch_size"


def test_loss_reduction_property_error_when_heads_differ():
    head = heads.MultiHead(
        [heads.BinaryClassHead(name="a"), heads.RegressionHead(loss_reduction="sum", name="b")]
    )
    with pytest.raises(ValueError, match="The loss_reduction must be the same for different"):
        head.loss_reduction  # noqa: B018


def test_metrics_accumulate_over_update_calls():
    head = heads.MultiHead(_heads())
    metrics = head.metrics(regularization_losses=[1.0])
    assert metrics["loss/bin"].name == "loss/bin"
    assert metrics["regularization_loss/bin_reg"].name == "regularization_loss"
    auc = metrics["auc/bin"]
    head.update_metrics(metrics, {}, LOGITS, LABELS, regularization_losses=[1.0])
    flipped = {"bin": 1 - LABELS["bin"], "reg": LABELS["reg"]}
    head.update_metrics(metrics, {}, LOGITS, flipped, regularization_losses=[3.0])
    assert metrics["auc/bin"] is auc
    np.testing.assert_allclose(metrics["label/mean/bin"].result(), 0.5)
    np.testing.assert_allclose(metrics["regularization_loss/bin_reg"].result(), 2.0)


def test_update_metrics_adds_missing_sub_head_metrics():
    head = heads.MultiHead(_heads())
    metrics = {key: m for key, m in head.metrics().items() if key.startswith("loss/")}
    head.update_metrics(metrics, {}, LOGITS, LABELS)
    assert "auc/bin" in metrics and "average_loss/reg" in metrics


def test_predictions_keyed_by_tuples_and_keys_ignored():
    head = heads.MultiHead(_heads())
    preds = head.predictions(LOGITS, keys=["logits"])
    assert ("bin", "classes") in preds and ("reg", "predictions") in preds
    assert len(preds) == 8


def test_three_d_logits_are_split_on_the_last_axis():
    head = heads.MultiHead(_heads())
    logits = np.stack([LOGITS, LOGITS])  # [2, 2, 3]
    labels = {"bin": np.stack([LABELS["bin"]] * 2), "reg": np.stack([LABELS["reg"]] * 2)}
    np.testing.assert_allclose(head.loss(labels, logits), head.loss(LABELS, LOGITS), rtol=1e-5)
    assert head.predictions(logits)[("reg", "predictions")].shape == (2, 2, 2)


def test_errors():
    head = heads.MultiHead(_heads())
    with pytest.raises(ValueError, match=r"logits has missing values for head\(s\): \['reg'\]"):
        head.loss(LABELS, {"bin": LOGITS[:, :1]})
    with pytest.raises(ValueError, match="labels must be a dict"):
        head.loss(LABELS["bin"], LOGITS)
    with pytest.raises(TypeError, match="received None"):
        head.loss(None, LOGITS)
    with pytest.raises(ValueError, match="should equal 4 but is 3"):
        head.loss(LABELS, np.zeros([2, 4], np.float32))
    with pytest.raises(ValueError, match="Must specify heads"):
        heads.MultiHead([])
    with pytest.raises(ValueError, match="All given heads must have name specified"):
        heads.MultiHead([heads.BinaryClassHead()])
    with pytest.raises(ValueError, match="heads and head_weights must have the same size"):
        heads.MultiHead(_heads(), head_weights=[1.0])


def test_in_tf_function_with_unknown_batch():
    head = heads.MultiHead(_heads())
    metrics = head.metrics()
    signature = [
        {"bin": tf.TensorSpec([None, 1], tf.int64), "reg": tf.TensorSpec([None, 2], tf.float32)},
        tf.TensorSpec([None, 3], tf.float32),
    ]

    @tf.function(input_signature=signature)
    def step(labels, logits):
        head.update_metrics(metrics, {}, logits, labels)
        return head.loss(labels, logits)

    np.testing.assert_allclose(step(LABELS, LOGITS), head.loss(LABELS, LOGITS), rtol=1e-5)
    np.testing.assert_allclose(
        metrics["loss/reg"].result(), _heads()[1].loss(LABELS["reg"], LOGITS[:, 1:]), rtol=1e-5
    )


def test_tensor_head_weights_act_as_their_values():
    head = heads.MultiHead(_heads(), head_weights=[tf.constant(2.0), tf.constant(0.5)])
    assert head.head_weights == (2.0, 0.5)
    assert heads.serialize(head) == heads.serialize(
        heads.MultiHead(_heads(), head_weights=[2.0, 0.5])
    )
    expected = 2.0 * _heads()[0].loss(LABELS["bin"], LOGITS[:, :1]) + 0.5 * _heads()[1].loss(
        LABELS["reg"], LOGITS[:, 1:]
    )
    np.testing.assert_allclose(head.loss(LABELS, LOGITS), expected, rtol=1e-6)


def test_loss_metric_is_the_mean_of_per_batch_losses():
    head = heads.MultiHead(
        [heads.RegressionHead(name="a"), heads.RegressionHead(name="b")], head_weights=[3.0, 1.0]
    )
    metrics = head.metrics()
    # The head weights scale the training loss only, not `loss/<head>`.
    # Batch 1: one example, head "a" loss 4. Batch 2: three examples, head "a" loss 0.
    head.update_metrics(metrics, {}, np.array([[2.0, 0.0]]), {"a": [[0.0]], "b": [[0.0]]})
    head.update_metrics(metrics, {}, np.zeros([3, 2]), {"a": np.zeros([3, 1]), "b": [[1.0]] * 3})
    np.testing.assert_allclose(metrics["loss/a"].result(), (4.0 + 0.0) / 2)
    np.testing.assert_allclose(metrics["loss/b"].result(), (0.0 + 1.0) / 2)
    # The sub-head metrics accumulate over all four examples (a deliberate difference).
    np.testing.assert_allclose(metrics["average_loss/a"].result(), 4.0 / 4)
    np.testing.assert_allclose(metrics["average_loss/b"].result(), 3.0 / 4)


def test_regularization_stays_with_the_multi_head():
    head = heads.MultiHead(_heads())
    metrics = head.metrics(regularization_losses=[1.0])
    assert [key for key in metrics if key.startswith("regularization_loss")] == [
        "regularization_loss/bin_reg"
    ]
    head.update_metrics(metrics, {}, LOGITS, LABELS, regularization_losses=[1.0, 2.0])
    np.testing.assert_allclose(metrics["regularization_loss/bin_reg"].result(), 3.0)
    np.testing.assert_allclose(
        metrics["loss/reg"].result(), _heads()[1].loss(LABELS["reg"], LOGITS[:, 1:]), rtol=1e-6
    )
    with pytest.raises(KeyError, match="regularization_loss/bin_reg"):
        head.update_metrics(head.metrics(), {}, LOGITS, LABELS, regularization_losses=[1.0])


def test_constructor_checks_and_combined_properties():
    # The number of weights is checked before the head names.
    with pytest.raises(ValueError, match=r"Given len\(heads\): 1. Given len\(head_weights\): 2."):
        heads.MultiHead([heads.BinaryClassHead()], head_weights=[1.0, 2.0])
    three = heads.MultiHead(
        [
            heads.BinaryClassHead(name="h1"),
            heads.MultiClassHead(4, name="h2"),
            heads.MultiLabelHead(3, name="h3"),
        ]
    )
    assert three.name == "h1_h2_h3" and three.logits_dimension == 1 + 4 + 3
    with pytest.raises(ValueError, match=r"should equal 7 but is 8\."):
        three.predictions(np.zeros([2, 7], np.float32))
