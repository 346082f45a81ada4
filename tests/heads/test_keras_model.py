"""HeadModel: training, evaluation and prediction through Keras, also under MirroredStrategy.

Expectations are computed independently with NumPy from the same logits (weighted accuracy,
weighted mean loss, label mean), so the test checks that Keras aggregates the head's metrics
over batches and replicas correctly, not just that it returns something.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import heads

N_FEATURES = 4


def _binary_data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    true_w = np.array([1.5, -2.0, 0.5, 1.0], dtype=np.float32)
    labels = (x @ true_w + 0.3 * rng.normal(size=n) > 0).astype(np.int64).reshape(-1, 1)
    weights = rng.uniform(0.5, 2.0, size=(n, 1)).astype(np.float32)
    return {"x": x, "w": weights}, labels


def _linear_logits_model(units=1, name="logits"):
    inputs = {"x": keras.Input(shape=(N_FEATURES,), name="x")}
    outputs = keras.layers.Dense(units, name=name)(inputs["x"])
    return keras.Model(inputs, outputs)


def _sigmoid_ce(labels, logits):
    return np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))


def test_binary_head_trains_under_mirrored_strategy_and_reports_weighted_metrics(
    mirrored_strategy,
):
    features, labels = _binary_data()
    with mirrored_strategy.scope():
        model = heads.HeadModel(_linear_logits_model(), heads.BinaryClassHead(weight_column="w"))
        model.compile(optimizer=keras.optimizers.SGD(0.5))
    before = model.evaluate(features, labels, batch_size=64, return_dict=True, verbose=0)
    model.fit(features, labels, batch_size=32, epochs=5, verbose=0)
    after = model.evaluate(features, labels, batch_size=48, return_dict=True, verbose=0)
    assert after["average_loss"] < 0.5 * before["average_loss"]

    logits = model.predict(features, batch_size=50, verbose=0)["logits"]
    w = features["w"]
    expected_accuracy = np.sum(w * ((logits > 0) == labels)) / np.sum(w)
    expected_average_loss = np.sum(w * _sigmoid_ce(labels, logits)) / np.sum(w)
    assert after["accuracy"] == pytest.approx(expected_accuracy, abs=1e-5)
    assert after["average_loss"] == pytest.approx(expected_average_loss, rel=1e-4)
    assert after["label/mean"] == pytest.approx(np.sum(w * labels) / np.sum(w), rel=1e-5)
    assert set(after) == {"loss"} | set(heads.BinaryClassHead().metrics())


def test_predict_returns_the_heads_predictions_for_every_example(mirrored_strategy):
    features, _ = _binary_data(n=37)  # 37 leaves a partial last batch on each replica
    with mirrored_strategy.scope():
        model = heads.HeadModel(_linear_logits_model(), heads.BinaryClassHead())
    predictions = model.predict(features, batch_size=8, verbose=0)
    logits = model(features)
    expected = heads.BinaryClassHead().predictions(logits)
    assert set(predictions) == set(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(np.asarray(predictions[key]).shape, value.shape)
    np.testing.assert_allclose(predictions["logistic"], expected["logistic"], rtol=1e-6)
    np.testing.assert_array_equal(predictions["class_ids"], expected["class_ids"])


def _multi_head_model():
    head = heads.MultiHead(
        [
            heads.BinaryClassHead(weight_column="w", name="bin"),
            heads.RegressionHead(label_dimension=2, name="reg"),
        ],
        head_weights=[1.0, 0.5],
    )
    inputs = {"x": keras.Input(shape=(N_FEATURES,), name="x")}
    hidden = keras.layers.Dense(
        8, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-3)
    )(inputs["x"])
    outputs = {"bin": keras.layers.Dense(1)(hidden), "reg": keras.layers.Dense(2)(hidden)}
    return heads.HeadModel(keras.Model(inputs, outputs), head), head


def test_multi_head_metrics_are_suffixed_and_cover_every_batch(mirrored_strategy):
    features, bin_labels = _binary_data(n=120)
    reg_labels = np.stack([features["x"][:, 0], features["x"][:, 1] * 2], axis=1)
    labels = {"bin": bin_labels, "reg": reg_labels}
    with mirrored_strategy.scope():
        model, head = _multi_head_model()
        model.compile(optimizer=keras.optimizers.Adam(0.01))
    model.fit(features, labels, batch_size=40, epochs=3, verbose=0)
    metrics = model.evaluate(features, labels, batch_size=30, return_dict=True, verbose=0)
    assert set(metrics) == {"loss"} | set(head.metrics(regularization_losses=[0.0]))
    assert metrics["regularization_loss/bin_reg"] > 0

    predictions = model.predict(features, batch_size=30, verbose=0)
    assert ("bin", "logistic") in predictions and ("reg", "predictions") in predictions
    w = features["w"]
    bin_logits = predictions[("bin", "logits")]
    assert metrics["accuracy/bin"] == pytest.approx(
        np.sum(w * ((bin_logits > 0) == bin_labels)) / np.sum(w), abs=1e-5
    )
    squared_error = (predictions[("reg", "predictions")] - reg_labels) ** 2
    assert metrics["average_loss/reg"] == pytest.approx(np.mean(squared_error), rel=1e-4)


def test_string_features_and_sparse_labels_train_under_mirrored_strategy(mirrored_strategy):
    # Keras 3.12 would average the first batch over replicas to build the model, which
    # fails on strings and sparse tensors (keras-team/keras#21172).
    n = 64
    colors = np.array([["red"], ["green"], ["blue"], ["gold"]] * (n // 4))
    tags = tf.sparse.from_dense(
        tf.constant([["a", ""], ["b", "a"], ["", ""], ["b", ""]] * (n // 4))
    )
    dataset = tf.data.Dataset.from_tensor_slices(({"color": colors}, tags)).batch(16)
    keras.utils.set_random_seed(0)
    with mirrored_strategy.scope():
        inputs = {"color": keras.Input(shape=(1,), dtype="string", name="color")}
        ids = keras.layers.StringLookup(vocabulary=["red", "green", "blue", "gold"])(
            inputs["color"]
        )
        one_hot = keras.layers.CategoryEncoding(num_tokens=5, output_mode="one_hot")(ids)
        logits_model = keras.Model(inputs, keras.layers.Dense(2)(one_hot))
        head = heads.MultiLabelHead(n_classes=2, label_vocabulary=["a", "b"])
        model = heads.HeadModel(logits_model, head)
        model.compile(optimizer=keras.optimizers.Adam(0.1))
    before = model.evaluate(dataset, return_dict=True, verbose=0)["average_loss"]
    model.fit(dataset, epochs=10, verbose=0)
    after = model.evaluate(dataset, return_dict=True, verbose=0)["average_loss"]
    assert after < 0.5 * before, (before, after)


def test_extra_features_do_not_shift_the_logits_model_inputs():
    # "a" sorts before "x": without input selection Keras would feed "a" to the model.
    features, labels = _binary_data(n=16)
    features["a"] = np.zeros((16, N_FEATURES), dtype=np.float32)
    model = heads.HeadModel(_linear_logits_model(), heads.BinaryClassHead(weight_column="w"))
    np.testing.assert_allclose(model(features), model.logits_model({"x": features["x"]}), rtol=1e-6)


def test_centered_bias_of_the_legacy_factory_is_learned():
    features, _ = _binary_data(n=64)
    labels = np.tile([[1, 1, 0]], (64, 1))  # constant labels: the bias alone can fit them
    head = heads.contrib.multi_label_head(n_classes=3, enable_centered_bias=True)
    model = heads.HeadModel(_linear_logits_model(units=3), head)
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    model.fit(features, labels, batch_size=16, epochs=5, verbose=0)
    bias = model.centered_bias.numpy()
    assert bias[0] > 0.5 and bias[1] > 0.5 and bias[2] < -0.5


def test_compile_rejects_a_loss_because_the_head_owns_it():
    model = heads.HeadModel(_linear_logits_model(), heads.BinaryClassHead())
    with pytest.raises(ValueError, match="loss"):
        model.compile(optimizer="sgd", loss="mse")


def test_sample_weight_is_rejected_in_favour_of_the_weight_column():
    features, labels = _binary_data(n=8)
    model = heads.HeadModel(_linear_logits_model(), heads.BinaryClassHead())
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="weight_column"):
        model.fit(features, labels, sample_weight=np.ones(8), verbose=0)


def test_constructor_checks_its_arguments():
    with pytest.raises(TypeError, match="logits_model"):
        heads.HeadModel(lambda x: x, heads.BinaryClassHead())
    with pytest.raises(TypeError, match="head"):
        heads.HeadModel(_linear_logits_model(), "binary")


def test_works_inside_a_user_tf_function():
    features, labels = _binary_data(n=8)
    model = heads.HeadModel(_linear_logits_model(), heads.BinaryClassHead(weight_column="w"))

    @tf.function
    def loss_fn(features, labels):
        return model.head.loss(labels, model(features), features=features)

    eager = model.head.loss(labels, model(features), features=features)
    np.testing.assert_allclose(loss_fn(features, labels), eager, rtol=1e-6)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_keeps_the_heads_loss_and_predictions_in_float32(policy):
    features, labels = _binary_data(n=128)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        keras.utils.set_random_seed(0)
        model = heads.HeadModel(_linear_logits_model(), heads.BinaryClassHead(weight_column="w"))
        model.compile(optimizer=keras.optimizers.SGD(0.5))
    finally:
        keras.config.set_dtype_policy(previous)
    compute_dtype = policy.split("_")[1]
    assert model.logits_model(features["x"][:2]).dtype == compute_dtype
    assert (policy == "mixed_float16") == isinstance(
        model.optimizer, keras.optimizers.LossScaleOptimizer
    )
    before = model.evaluate(features, labels, batch_size=32, return_dict=True, verbose=0)
    model.fit(features, labels, batch_size=32, epochs=5, verbose=0)
    after = model.evaluate(features, labels, batch_size=32, return_dict=True, verbose=0)
    assert after["average_loss"] < 0.5 * before["average_loss"]
    predictions = model.predict(features, batch_size=32, verbose=0)
    assert predictions["logistic"].dtype == np.float32
    # The metrics are float32 sums of the float32 head outputs: recompute them from the
    # predicted logits (which carry the model's lower-precision rounding).
    logits = predictions["logits"].astype(np.float64)
    w = features["w"]
    expected_loss = np.sum(w * _sigmoid_ce(labels, logits)) / np.sum(w)
    assert after["average_loss"] == pytest.approx(expected_loss, rel=1e-4)
    assert model.head.loss(labels, model(features), features).dtype == tf.float32


@pytest.mark.parametrize(
    "run_eagerly, error", [(False, tf.errors.InvalidArgumentError), (True, ValueError)]
)
def test_out_of_range_labels_fail_in_fit_as_the_originals_in_that_mode(run_eagerly, error):
    # A compiled (XLA) step checks labels on the host instead: see test_host.py.
    features, labels = _binary_data(n=16)
    model = heads.HeadModel(_linear_logits_model(units=3), heads.MultiClassHead(3))
    model.compile(optimizer="sgd", run_eagerly=run_eagerly, jit_compile=False)
    weights = [w.copy() for w in model.get_weights()]
    with pytest.raises(error, match=r"Labels must be <= 3 - 1"):
        model.fit(features, labels * 3, batch_size=8, verbose=0)
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
