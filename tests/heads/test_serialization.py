"""Tests of heads.serialize / heads.deserialize and every head's get_config."""

import json
import pathlib

import keras
import pytest
import tensorflow as tf

import heads
from heads import serialization


def mean_abs_error(labels, logits):
    return tf.reduce_mean(tf.abs(tf.cast(labels, tf.float32) - logits), axis=-1, keepdims=True)


@keras.saving.register_keras_serializable(package="test_heads")
def registered_loss(labels, logits):
    return mean_abs_error(labels, logits)


CUSTOM = {"mean_abs_error": mean_abs_error}

ROUND_TRIP_HEADS = [
    heads.BinaryClassHead(),
    heads.BinaryClassHead(
        weight_column="w",
        thresholds=(0.25, 0.5),
        label_vocabulary=("n", "p"),
        loss_reduction="sum",
        loss_fn=mean_abs_error,
        name="b",
    ),
    heads.MultiClassHead(3),
    heads.MultiClassHead(4, weight_column="w", label_vocabulary=list("abcd"), name="m"),
    heads.MultiLabelHead(3),
    heads.MultiLabelHead(
        3,
        thresholds=[0.5],
        label_vocabulary=["x", "y", "z"],
        classes_for_class_based_metrics=["z"],
        loss_fn=registered_loss,
        name="ml",
    ),
    heads.RegressionHead(),
    heads.RegressionHead(label_dimension=2, loss_reduction="auto", loss_fn=mean_abs_error),
    heads.PoissonRegressionHead(label_dimension=2, compute_full_loss=False, name="p"),
    heads.LogisticRegressionHead(weight_column="w", name="lr"),
    heads.MultiHead(
        [heads.BinaryClassHead(name="b"), heads.RegressionHead(name="r", loss_fn=registered_loss)],
        head_weights=[1.0, 0.5],
    ),
    heads.MultiHead([heads.MultiClassHead(3, name="mc")]),
]


@pytest.mark.parametrize("head", ROUND_TRIP_HEADS, ids=lambda h: type(h).__name__)
def test_round_trip(head):
    obj = heads.serialize(head)
    assert obj["class_name"] == type(head).__name__
    text = json.dumps(obj)
    rebuilt = heads.deserialize(json.loads(text), custom_objects=CUSTOM)
    assert type(rebuilt) is type(head)
    assert heads.serialize(rebuilt) == obj
    assert rebuilt.get_config() == head.get_config()
    assert type(head).from_config(head.get_config(), custom_objects=CUSTOM).name == head.name


def test_defaults_are_omitted_and_loss_fn_is_a_registry_name():
    assert heads.serialize(heads.MultiClassHead(3)) == {
        "class_name": "MultiClassHead",
        "config": {"n_classes": 3},
    }
    config = heads.serialize(heads.RegressionHead(loss_fn=registered_loss))["config"]
    assert config == {"loss_fn": "registry:test_heads>registered_loss"}
    rebuilt = heads.deserialize({"class_name": "RegressionHead", "config": config})
    assert rebuilt.loss_fn is registered_loss


def test_custom_objects_take_precedence_over_the_registry():
    obj = {
        "class_name": "RegressionHead",
        "config": {"loss_fn": "registry:test_heads>registered_loss"},
    }
    rebuilt = heads.deserialize(obj, custom_objects={"test_heads>registered_loss": mean_abs_error})
    assert rebuilt.loss_fn is mean_abs_error


def test_unresolvable_loss_fn_names_the_function():
    obj = {"class_name": "BinaryClassHead", "config": {"loss_fn": "registry:nowhere"}}
    with pytest.raises(ValueError, match="'nowhere'"):
        heads.deserialize(obj)
    with pytest.raises(ValueError, match="registry:NAME"):
        heads.deserialize({"class_name": "BinaryClassHead", "config": {"loss_fn": "nowhere"}})


def test_weight_column_forms():
    column = tf.feature_column.numeric_column("w")
    assert heads.BinaryClassHead(weight_column=column).get_config() == {"weight_column": "w"}
    normalized = tf.feature_column.numeric_column("w", normalizer_fn=lambda x: x / 2)
    with pytest.raises(ValueError, match="normalizer_fn"):
        heads.serialize(heads.RegressionHead(weight_column=normalized))
    with pytest.raises(TypeError, match="weight_column"):
        heads.serialize(heads.RegressionHead(weight_column=3))


def test_lambda_loss_fn_cannot_be_serialized():
    head = heads.BinaryClassHead(loss_fn=lambda labels, logits: logits)
    with pytest.raises(ValueError, match="named function"):
        heads.serialize(head)


def test_bad_json():
    with pytest.raises(ValueError, match="Unknown head class_name 'NoHead'"):
        heads.deserialize({"class_name": "NoHead", "config": {}})
    with pytest.raises(ValueError, match="class_name"):
        heads.deserialize(["BinaryClassHead"])
    with pytest.raises(TypeError, match="heads.Head"):
        heads.serialize("BinaryClassHead")


def test_registry_holds_this_package_s_concrete_heads_only():
    class MyHead(heads.RegressionHead):
        """A user's head: found through `custom_objects` only."""

    obj = {"class_name": "MyHead", "config": {"name": "mine"}}
    with pytest.raises(ValueError, match="Unknown head class_name 'MyHead'"):
        heads.deserialize(obj)
    assert type(heads.deserialize(obj, custom_objects={"MyHead": MyHead})) is MyHead
    for abstract in ("Head", "SingleHead"):
        with pytest.raises(ValueError, match=f"Unknown head class_name '{abstract}'"):
            heads.deserialize({"class_name": abstract, "config": {}})


def test_serialization_imports_no_concrete_head():
    # MultiHead imports serialization to (de)serialize its sub-heads: no import cycle.
    source = pathlib.Path(serialization.__file__).read_text()
    assert "import multi_head" not in source and "heads.multi_head" not in source
    rebuilt = heads.deserialize(
        {
            "class_name": "MultiHead",
            "config": {
                "heads": [
                    {"class_name": "MultiLabelHead", "config": {"n_classes": 3, "name": "tags"}}
                ]
            },
        }
    )
    assert [type(head).__name__ for head in rebuilt.heads] == ["MultiLabelHead"]
