"""The host side of a compiled step (heads/_host.py) and HeadModel under `jit_compile=True`.

XLA (and so every TPU step) has no string kernels and drops `Assert` ops. These tests check
that every head kind trains, evaluates and predicts compiled, with the uncompiled model's
predictions and metrics, and that bad labels still fail with a message naming the head,
the allowed values and the offending values.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import heads
from heads import _host

N = 48
N_FEATURES = 4


def _features(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=(N, N_FEATURES)).astype(np.float32),
        "w": rng.uniform(0.5, 2.0, size=(N, 1)).astype(np.float32),
    }


def _cases():
    rng = np.random.default_rng(1)
    x = _features()["x"]
    names = np.array(["a", "b", "c"])
    return {
        "binary_vocabulary": (
            heads.BinaryClassHead(
                weight_column="w", label_vocabulary=["no", "yes"], thresholds=[0.3]
            ),
            np.where(x[:, :1] > 0, "yes", "no"),
        ),
        "multi_class_vocabulary": (
            heads.MultiClassHead(3, weight_column="w", label_vocabulary=list(names)),
            names[rng.integers(0, 3, size=(N, 1))],
        ),
        "multi_class_ids": (heads.MultiClassHead(4), rng.integers(0, 4, size=(N, 1))),
        "multi_label_sparse_names": (
            heads.MultiLabelHead(
                3, label_vocabulary=list(names), classes_for_class_based_metrics=["b"]
            ),
            tf.sparse.from_dense(np.array(["a", "", "c", "b"])[rng.integers(0, 4, size=(N, 2))]),
        ),
        "multi_label_dense": (
            heads.MultiLabelHead(2, thresholds=[0.4]),
            rng.integers(0, 2, size=(N, 2)),
        ),
        "regression": (
            heads.RegressionHead(label_dimension=2, weight_column="w"),
            rng.normal(size=(N, 2)).astype(np.float32),
        ),
        "poisson": (
            heads.PoissonRegressionHead(),
            rng.poisson(2.0, size=(N, 1)).astype(np.float32),
        ),
        "logistic": (heads.LogisticRegressionHead(), rng.uniform(size=(N, 1)).astype(np.float32)),
        "multi_head": (
            heads.MultiHead(
                [
                    heads.BinaryClassHead(weight_column="w", name="bin"),
                    heads.MultiClassHead(3, label_vocabulary=list(names), name="kind"),
                ]
            ),
            {
                "bin": (x[:, :1] > 0).astype(np.int64),
                "kind": names[rng.integers(0, 3, size=(N, 1))],
            },
        ),
    }


def _logits_model(head, seed=0):
    inputs = {"x": keras.Input(shape=(N_FEATURES,), name="x")}
    if isinstance(head, heads.MultiHead):
        outputs = {
            sub.name: keras.layers.Dense(sub.logits_dimension)(inputs["x"]) for sub in head.heads
        }
    else:
        outputs = keras.layers.Dense(head.logits_dimension)(inputs["x"])
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def _head_model(head, jit_compile):
    model = heads.HeadModel(_logits_model(head), head)
    model.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=jit_compile)
    return model


def _assert_same_predictions(actual, expected):
    assert list(actual) == list(expected) or set(actual) == set(expected)
    for key, value in expected.items():
        value = np.asarray(value)
        if value.dtype.kind in "SUO" or value.dtype.kind in "iub":
            np.testing.assert_array_equal(np.asarray(actual[key]), value, err_msg=str(key))
        else:
            np.testing.assert_allclose(actual[key], value, rtol=1e-6, atol=1e-6, err_msg=str(key))


@pytest.mark.parametrize("case", sorted(_cases()))
def test_compiled_model_trains_evaluates_and_predicts_like_the_uncompiled_one(case):
    head, labels = _cases()[case]
    features = _features()
    dataset = tf.data.Dataset.from_tensor_slices((features, labels)).batch(16)
    compiled = _head_model(head, jit_compile=True)
    before = compiled.evaluate(dataset, return_dict=True, verbose=0)
    compiled.fit(dataset, epochs=3, verbose=0)
    after = compiled.evaluate(dataset, return_dict=True, verbose=0)
    assert after["loss"] < before["loss"]

    uncompiled = _head_model(head, jit_compile=False)
    uncompiled.set_weights(compiled.get_weights())
    expected_metrics = uncompiled.evaluate(dataset, return_dict=True, verbose=0)
    assert set(after) == set(expected_metrics)
    for key, value in expected_metrics.items():
        assert after[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key

    predictions = compiled.predict(features, batch_size=16, verbose=0)
    _assert_same_predictions(predictions, uncompiled.predict(features, batch_size=16, verbose=0))
    # And both are exactly what the head itself predicts from the same logits.
    expected = head.predictions(uncompiled({"x": features["x"]}))
    assert set(predictions) == set(expected)
    for key in expected:
        if expected[key].dtype == tf.string:
            np.testing.assert_array_equal(predictions[key], expected[key].numpy())


@pytest.mark.parametrize(
    ("head", "labels", "message"),
    [
        (
            heads.MultiClassHead(3, name="kind"),
            np.array([[0], [5], [1], [7]] * 4),
            r"(?s)MultiClassHead kind: expected class ids in \[0, 3\); received.*5.*7",
        ),
        (
            heads.BinaryClassHead(label_vocabulary=["no", "yes"]),
            np.array([["no"], ["maybe"]] * 8),
            r"(?s)BinaryClassHead: expected values of label_vocabulary \[no, yes\]; "
            r"received.*maybe",
        ),
        (
            heads.BinaryClassHead(),
            np.array([[0], [2]] * 8),
            r"(?s)BinaryClassHead: expected values in \[0, 1\]; received.*2",
        ),
        (
            heads.MultiLabelHead(3, name="tags"),
            tf.sparse.from_dense(np.array([[0, 4]] * 16)),
            r"(?s)MultiLabelHead tags: expected class ids in \[0, 3\); received.*4",
        ),
        (
            heads.LogisticRegressionHead(),
            np.array([[0.5], [-1.0]] * 8, dtype=np.float32),
            r"(?s)LogisticRegressionHead: expected values in \[0, 1\]; received.*-1",
        ),
    ],
)
@pytest.mark.parametrize("as_dataset", [True, False])
def test_bad_labels_fail_clearly_in_a_compiled_step(head, labels, message, as_dataset):
    features = {"x": np.ones((16, N_FEATURES), np.float32)}
    model = _head_model(head, jit_compile=True)
    weights = [w.copy() for w in model.get_weights()]
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        if as_dataset:
            model.fit(tf.data.Dataset.from_tensor_slices((features, labels)).batch(8), verbose=0)
        else:
            model.fit(features, labels, batch_size=8, verbose=0)
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)  # no step ran on the bad batch


def test_prepared_labels_are_ids_and_multi_hot():
    binary = heads.BinaryClassHead(label_vocabulary=["no", "yes"])
    np.testing.assert_array_equal(
        _host.prepare_labels(binary, np.array([["yes"], ["no"]])), [[1.0], [0.0]]
    )
    multi_class = heads.MultiClassHead(3, label_vocabulary=["a", "b", "c"])
    np.testing.assert_array_equal(
        _host.prepare_labels(multi_class, np.array([["c"], ["a"]])), [[2], [0]]
    )
    multi_label = heads.MultiLabelHead(3, label_vocabulary=["a", "b", "c"])
    sparse = tf.sparse.from_dense(np.array([["c", "a"], ["", ""], ["b", "b"]]))
    np.testing.assert_array_equal(
        _host.prepare_labels(multi_label, sparse), [[1, 0, 1], [0, 0, 0], [0, 1, 0]]
    )
    multi = heads.MultiHead([binary.__class__(name="b"), multi_class.__class__(3, name="m")])
    prepared = _host.prepare_labels(multi, {"b": np.array([[1]]), "m": np.array([[2]])})
    assert set(prepared) == {"b", "m"}


@pytest.mark.parametrize("case", sorted(_cases()))
def test_step_head_gives_the_heads_loss_and_metric_keys_from_prepared_labels(case):
    head, labels = _cases()[case]
    features = _features()
    logits = _logits_model(head)({"x": features["x"]})
    step_head = _host.step_head(head)
    prepared = _host.prepare_labels(head, labels)
    assert _host.labels_are_prepared(prepared)
    np.testing.assert_allclose(
        step_head.loss(prepared, logits, features), head.loss(labels, logits, features), rtol=1e-6
    )
    assert set(step_head.metrics()) == set(head.metrics())


@pytest.mark.parametrize("case", sorted(_cases()))
def test_device_and_string_predictions_make_up_the_heads_predictions(case):
    head, _ = _cases()[case]
    logits = _logits_model(head)({"x": _features()["x"]})
    numeric = _host.device_predictions(head, logits)
    assert all(value.dtype != tf.string for value in numeric.values())
    combined = {**numeric, **_host.string_predictions(head, numeric)}
    _assert_same_predictions(combined, head.predictions(logits))
