"""export_saved_model: the original heads' serving signatures over serialized tf.Examples."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

import heads
from heads import export

N_FEATURES = 3
FEATURE_SPEC = {"x": tf.io.FixedLenFeature([N_FEATURES], tf.float32)}


def _serialized_examples(x):
    return tf.constant(
        [
            tf.train.Example(
                features=tf.train.Features(
                    feature={"x": tf.train.Feature(float_list=tf.train.FloatList(value=row))}
                )
            ).SerializeToString()
            for row in x
        ]
    )


def _model(head, outputs=None):
    inputs = {"x": keras.Input(shape=(N_FEATURES,), name="x")}
    if outputs is None:
        logits = keras.layers.Dense(head.logits_dimension)(inputs["x"])
    else:
        logits = {name: keras.layers.Dense(units)(inputs["x"]) for name, units in outputs}
    return heads.HeadModel(keras.Model(inputs, logits), head)


def _method_names(export_dir):
    saved_model = saved_model_pb2.SavedModel()
    with open(f"{export_dir}/saved_model.pb", "rb") as f:
        saved_model.ParseFromString(f.read())
    signatures = saved_model.meta_graphs[0].signature_def
    return {k: v.method_name for k, v in signatures.items() if k != "__saved_model_init_op"}


@pytest.fixture
def x():
    return np.random.default_rng(0).normal(size=(5, N_FEATURES)).astype(np.float32)


def test_binary_head_exports_classify_regress_and_predict(tmp_path, x, mirrored_strategy):
    with mirrored_strategy.scope():
        model = _model(heads.BinaryClassHead(weight_column="w", label_vocabulary=["no", "yes"]))
    export_dir = heads.export_saved_model(model, tmp_path / "m", FEATURE_SPEC, label_keys="y")
    expected = model.predict({"x": x}, verbose=0)
    head, label_keys = heads.load_head_config(export_dir)
    assert heads.serialize(head) == heads.serialize(model.head) and label_keys == "y"
    document = export.load_head_document(export_dir)
    assert heads.HeadDescription.from_json(document["description"]) == heads.describe(head)

    loaded = tf.saved_model.load(export_dir)
    assert set(loaded.signatures) == {"serving_default", "classification", "regression", "predict"}
    classify = loaded.signatures["serving_default"](inputs=_serialized_examples(x))
    np.testing.assert_allclose(classify["scores"], expected["probabilities"], rtol=1e-6)
    np.testing.assert_array_equal(classify["classes"].numpy().astype(str), [["no", "yes"]] * 5)
    regress = loaded.signatures["regression"](inputs=_serialized_examples(x))
    np.testing.assert_allclose(regress["outputs"], expected["logistic"], rtol=1e-6)
    predict = loaded.signatures["predict"](examples=_serialized_examples(x))
    assert set(predict) == set(expected)
    np.testing.assert_array_equal(predict["class_ids"], expected["class_ids"])

    assert _method_names(export_dir) == {
        "serving_default": "tensorflow/serving/classify",
        "classification": "tensorflow/serving/classify",
        "regression": "tensorflow/serving/regress",
        "predict": "tensorflow/serving/predict",
    }


@pytest.mark.parametrize(
    "head, signatures, classes_key",
    [
        (heads.MultiClassHead(3), {"serving_default", "classification", "predict"}, "all_classes"),
        (heads.MultiLabelHead(3), {"serving_default", "classification", "predict"}, "classes"),
        (
            heads.RegressionHead(label_dimension=2),
            {"serving_default", "regression", "predict"},
            None,
        ),
        (heads.PoissonRegressionHead(), {"serving_default", "regression", "predict"}, None),
        (heads.LogisticRegressionHead(), {"serving_default", "regression", "predict"}, None),
    ],
)
def test_each_head_exports_its_signatures(tmp_path, x, head, signatures, classes_key):
    model = _model(head)
    export_dir = heads.export_saved_model(model, tmp_path / "m", FEATURE_SPEC)
    expected = model.predict({"x": x}, verbose=0)
    loaded = tf.saved_model.load(export_dir)
    assert set(loaded.signatures) == signatures
    default = loaded.signatures["serving_default"](inputs=_serialized_examples(x))
    if classes_key:
        np.testing.assert_allclose(default["scores"], expected["probabilities"], rtol=1e-6)
        np.testing.assert_array_equal(default["classes"], expected[classes_key])
    else:
        np.testing.assert_allclose(default["outputs"], expected["predictions"], rtol=1e-6)
    predict = loaded.signatures["predict"](examples=_serialized_examples(x))
    assert set(predict) == set(expected)


def test_multi_head_exports_per_head_signatures_and_a_merged_predict(tmp_path, x):
    head = heads.MultiHead([heads.BinaryClassHead(name="bin"), heads.RegressionHead(name="reg")])
    model = _model(head, outputs=[("bin", 1), ("reg", 1)])
    export_dir = heads.export_saved_model(model, tmp_path / "m", FEATURE_SPEC)
    expected = model.predict({"x": x}, verbose=0)
    loaded = tf.saved_model.load(export_dir)
    assert set(loaded.signatures) == {
        "serving_default",
        "bin",
        "bin/classification",
        "bin/regression",
        "bin/predict",
        "reg",
        "reg/regression",
        "reg/predict",
        "predict",
    }
    default = loaded.signatures["serving_default"](inputs=_serialized_examples(x))
    np.testing.assert_allclose(default["scores"], expected[("bin", "probabilities")], rtol=1e-6)
    reg = loaded.signatures["reg"](inputs=_serialized_examples(x))
    np.testing.assert_allclose(reg["outputs"], expected[("reg", "predictions")], rtol=1e-6)
    predict = loaded.signatures["predict"](examples=_serialized_examples(x))
    assert set(predict) == {f"{name}/{key}" for name, key in expected}


def test_load_head_config_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="head_config.json"):
        heads.load_head_config(tmp_path)
    with pytest.raises(FileNotFoundError, match="head_config.json"):
        export.load_head_document(tmp_path)


def test_rejects_what_it_cannot_export(tmp_path):
    with pytest.raises(TypeError, match="HeadModel"):
        heads.export_saved_model(keras.Sequential(), tmp_path / "m", FEATURE_SPEC)
    with pytest.raises(ValueError, match="feature_spec"):
        heads.export_saved_model(_model(heads.BinaryClassHead()), tmp_path / "m", {})
