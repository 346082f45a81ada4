"""Serving features; the exported signatures themselves are checked in test_executor.py."""

import pytest
import tensorflow as tf
from tensorflow_transform.tf_metadata import schema_utils

from tfx_heads.components.trainer import features, serving
from tfx_heads.components.trainer.features import InputSpec

SPECS = {"fare": InputSpec(tf.float32, (1,)), "company": InputSpec(tf.string, (1,))}


def test_default_serving_keys_are_the_model_inputs_without_transform():
    keys = serving.default_serving_keys(["fare", "company", "y", "w"], SPECS, "y", ["w"], False)
    assert keys == ["company", "fare"]


def test_default_serving_keys_with_transform_drop_raw_labels_and_weights():
    raw = ["fare", "company", "raw_y", "w", "extra"]
    keys = serving.default_serving_keys(raw, SPECS, {"a": "raw_y"}, ["w"], True)
    assert keys == ["company", "extra", "fare"]
    assert serving.default_serving_keys(raw, None, "raw_y", [], False) == [
        "company",
        "extra",
        "fare",
        "w",
    ]


def test_serving_feature_spec_restricts_and_names_missing_features():
    schema = schema_utils.schema_from_feature_spec(
        {
            "fare": tf.io.FixedLenFeature([1], tf.float32),
            "company": tf.io.VarLenFeature(tf.string),
            "y": tf.io.FixedLenFeature([1], tf.int64),
        }
    )
    all_features = features.schema_feature_spec(schema)
    spec = serving.serving_feature_spec(all_features, None, ["fare", "company"])
    assert spec == {
        "company": tf.io.VarLenFeature(tf.string),
        "fare": tf.io.FixedLenFeature([1], tf.float32),
    }
    assert list(serving.serving_feature_spec(all_features, ["fare"], ["company"])) == ["fare"]
    with pytest.raises(ValueError, match=r"received \['tips'\] that it lacks"):
        serving.serving_feature_spec(all_features, ["fare", "tips"], [])
    with pytest.raises(ValueError, match="expected at least one feature"):
        serving.serving_feature_spec(all_features, None, [])
