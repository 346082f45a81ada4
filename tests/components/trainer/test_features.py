"""From parsed batches to (features, labels): densifying, casting, label splitting."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2
from tensorflow_transform.tf_metadata import schema_utils

import heads
from tfx_heads.components.trainer import features
from tfx_heads.components.trainer.features import InputSpec

FLOAT_1 = InputSpec(tf.float32, (1,))


def sparse(rows, dtype=tf.string):
    """A `[len(rows), max_len]` SparseTensor with the given values per row."""
    return tf.ragged.constant(rows, dtype=dtype).to_sparse()


def test_conform_densifies_single_valued_sparse_features_with_defaults():
    value = features.conform(sparse([["a"], [], ["c"]]), InputSpec(tf.string, (1,)), "company")
    np.testing.assert_array_equal(value.numpy(), [[b"a"], [b""], [b"c"]])
    value = features.conform(sparse([[], []], tf.float32), FLOAT_1, "fare")
    np.testing.assert_array_equal(value.numpy(), [[0.0], [0.0]])


def test_conform_fails_on_more_values_than_the_input_width():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Feature `tags` has more than 1"):
        features.conform(sparse([["a", "b"]]), InputSpec(tf.string, (1,)), "tags")


def test_conform_shapes_and_casts_dense_values():
    ints = tf.constant([[1], [2]], tf.int64)
    value = features.conform(ints, FLOAT_1, "hour")
    assert value.dtype == tf.float32 and value.shape == (2, 1)
    assert features.conform(tf.constant([1.0, 2.0]), FLOAT_1, "x").shape == (2, 1)
    assert features.conform(tf.constant([[1.0], [2.0]]), InputSpec(tf.float32, ()), "x").shape == (
        2,
    )
    ragged = tf.ragged.constant([[1.0, 2.0], [3.0]])
    np.testing.assert_array_equal(
        features.conform(ragged, InputSpec(tf.float32, (2,)), "v").numpy(), [[1, 2], [3, 0]]
    )


def test_conform_leaves_string_numeric_mismatches_to_the_schema_check():
    strings = tf.constant([["1"]])
    assert features.conform(strings, FLOAT_1, "x") is strings


def test_dense_label_requires_a_value_per_example():
    label = features.dense_label(sparse([["Cash"], ["Credit Card"]]), 1, "payment_type")
    np.testing.assert_array_equal(label.numpy(), [[b"Cash"], [b"Credit Card"]])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Label `payment_type`: expected 1"):
        features.dense_label(sparse([["Cash"], []]), 1, "payment_type")
    dense = tf.constant([[1], [0]])
    assert features.dense_label(dense, 1, "y") is dense


def test_splitter_separates_labels_and_keeps_model_inputs_and_weights():
    head = heads.MultiHead(
        [
            heads.MultiClassHead(3, label_vocabulary=["a", "b", "c"], name="kind"),
            heads.MultiLabelHead(2, label_vocabulary=["x", "y"], name="tags", weight_column="w"),
            heads.RegressionHead(label_dimension=2, name="size"),
        ]
    )
    label_keys = {"kind": "kind_label", "tags": "tag_list", "size": "size_label"}
    split = features.make_splitter(head, label_keys, {"f": FLOAT_1})
    batch = {
        "f": sparse([[1.0], [2.0]], tf.float32),
        "w": sparse([[2.0], [3.0]], tf.float32),
        "unused": tf.constant([[1], [2]]),
        "kind_label": sparse([["a"], ["c"]]),
        "tag_list": sparse([["x", "y"], []]),
        "size_label": tf.constant([[1.0, 2.0], [3.0, 4.0]]),
    }
    x, y = split(batch)
    assert sorted(x) == ["f", "w"]
    assert x["f"].shape == (2, 1) and x["w"].shape == (2, 1)
    assert sorted(y) == ["kind", "size", "tags"]
    assert isinstance(y["tags"], tf.SparseTensor)
    np.testing.assert_array_equal(y["kind"].numpy(), [[b"a"], [b"c"]])
    assert y["size"] is batch["size_label"]
    loss = head.loss(
        labels=y,
        logits={"kind": tf.zeros([2, 3]), "tags": tf.zeros([2, 2]), "size": tf.zeros([2, 2])},
        features=x,
    )
    assert np.isfinite(loss.numpy())


def test_splitter_for_a_single_head_and_a_model_without_dict_inputs():
    split = features.make_splitter(heads.BinaryClassHead(), "y", None)
    x, y = split({"a": tf.constant([[1.0]]), "y": tf.constant([[1]])})
    assert list(x) == ["a"] and y.shape == (1, 1)


def test_model_input_specs_of_functional_and_subclassed_models():
    inputs = {
        "a": keras.Input(shape=(1,), name="a"),
        "b": keras.Input(shape=(), name="b", dtype="string"),
        "c": keras.Input(shape=(3,), name="c", dtype="int64"),
    }
    model = keras.Model(inputs, [keras.layers.Identity()(x) for x in inputs.values()])
    assert features.model_input_specs(model) == {
        "a": InputSpec(tf.float32, (1,)),
        "b": InputSpec(tf.string, ()),
        "c": InputSpec(tf.int64, (3,)),
    }

    class Subclassed(keras.Model):
        def call(self, x):
            return x["a"]

    assert features.model_input_specs(Subclassed()) is None
    assert (
        features.model_input_specs(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))
        is None
    )


def schema_of(spec):
    return schema_utils.schema_from_feature_spec(spec)


def test_check_schema_fits_rejects_wrong_types_and_widths():
    specs = {"fare": FLOAT_1, "company": InputSpec(tf.string, (1,))}
    features.check_schema_fits(
        schema_of(
            {
                "fare": tf.io.FixedLenFeature([1], tf.int64),
                "company": tf.io.VarLenFeature(tf.string),
            }
        ),
        specs,
    )
    with pytest.raises(ValueError, match=r"`fare`: expected a INT or FLOAT feature .*BYTES"):
        features.check_schema_fits(schema_of({"fare": tf.io.VarLenFeature(tf.string)}), specs)
    with pytest.raises(ValueError, match=r"`fare`: expected 1 value.*fixed shape \[2\]"):
        features.check_schema_fits(
            schema_of({"fare": tf.io.FixedLenFeature([2], tf.float32)}), specs
        )
    schema = schema_of({"company": tf.io.VarLenFeature(tf.string)})
    schema.feature[0].value_count.max = 3
    with pytest.raises(ValueError, match=r"`company`: expected at most 1 .*up to 3"):
        features.check_schema_fits(schema, specs)


def test_restrict_schema_keeps_named_features_and_names_missing_ones():
    schema = schema_of({k: tf.io.VarLenFeature(tf.string) for k in ("a", "b", "c")})
    restricted = features.restrict_schema(schema, ["a", "c"])
    assert [f.name for f in restricted.feature] == ["a", "c"]
    assert len(schema.feature) == 3
    with pytest.raises(ValueError, match=r"expected features \['z'\] .*received a schema with"):
        features.restrict_schema(schema, ["a", "z"])


def test_read_schema_parses_text_protos(tmp_path):
    schema = schema_of({"a": tf.io.FixedLenFeature([1], tf.float32)})
    path = tmp_path / "schema.pbtxt"
    path.write_text(str(schema))
    assert features.read_schema(str(path)) == schema
    assert isinstance(features.read_schema(str(path)), schema_pb2.Schema)


def test_label_width_and_weight_columns():
    # The dense label width the splitter uses is the description's `label_dimension`.
    assert heads.describe(heads.MultiClassHead(3)).label_dimension == 1
    assert heads.describe(heads.RegressionHead(label_dimension=2)).label_dimension == 2
    assert heads.describe(heads.MultiLabelHead(3)).label_dimension is None
    multi = heads.MultiHead(
        [heads.BinaryClassHead(name="a", weight_column="w"), heads.RegressionHead(name="b")]
    )
    assert features.weight_column_keys(multi) == ["w"]


def test_training_schemas_need_a_schema_or_a_transform_graph(tmp_path):
    from tfx.components.trainer.fn_args_utils import FnArgs

    with pytest.raises(ValueError, match=r"expected a `schema` \(from SchemaGen\) or a"):
        features.training_schemas(FnArgs())
    path = tmp_path / "schema.pbtxt"
    path.write_text(
        'feature { name: "fare" type: FLOAT shape { dim { size: 1 } } '
        "presence { min_fraction: 1.0 } }"
    )
    schema, raw_features = features.training_schemas(FnArgs(schema_path=str(path)))
    assert [feature.name for feature in schema.feature] == ["fare"]
    assert list(raw_features) == ["fare"]
