"""Input pipelines for the head trainer: from TFXIO batches to (features, labels).

TFX's data accessor parses each schema feature as a dense `[batch_size, *shape]` tensor when
the schema gives it a fixed shape (SchemaGen's `infer_feature_shape=True`), else as a
`tf.SparseTensor` `[batch_size, max_values]`. The logits model takes dense inputs, so
`conform` densifies a sparse feature to the model input's width (missing values become 0 or
the empty string) and fails, with the feature's name, when an example has more values. The
same function runs in the serving signatures, so training and serving agree.

Labels leave the features: one tensor for a single head, a dict by head name for a MultiHead.
A MultiLabelHead's labels pass as they come (a SparseTensor of class names or ids is what it
takes); other heads' sparse labels are densified to `[batch_size, label_dimension]` (from
`heads.describe`), and every example must have one. The heads' weight columns stay in the
features.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import keras
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.components.trainer import fn_args_utils
from tfx_bsl.public import tfxio

import heads
from heads.description import per_head
from heads.keras_model import dict_inputs
from tfx_heads.components.trainer.module_contract import LabelKeys

Batch = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """A dense model input: dtype and shape without the batch axis (`()` or `(width,)`)."""

    dtype: tf.DType
    shape: tuple[int | None, ...]

    @property
    def width(self) -> int:
        """The number of values per example (1 for a scalar input or an unknown width)."""
        return (self.shape[-1] or 1) if self.shape else 1


def model_input_specs(logits_model: keras.Model) -> dict[str, InputSpec] | None:
    """The dense dict inputs of a functional `logits_model`; None for other models.

    Sparse or ragged Keras inputs, and inputs of rank above 2, are left out (their features
    pass unchanged).
    """
    model_input = dict_inputs(logits_model)
    if model_input is None:
        return None
    specs = {}
    for name, tensor in model_input.items():
        if getattr(tensor, "sparse", False) or getattr(tensor, "ragged", False):
            continue
        shape = tuple(tensor.shape[1:])
        if len(shape) <= 1:
            specs[name] = InputSpec(tf.as_dtype(tensor.dtype), shape)
    return specs


def weight_column_keys(head: heads.Head) -> list[str]:
    """The weight-column feature names of `head` (of each sub-head of a MultiHead)."""
    singles = heads.describe(head).single_heads
    return sorted({single.weight_key for single in singles if single.weight_key is not None})


def read_schema(path: str) -> schema_pb2.Schema:
    """The `Schema` proto in the text file at `path` (as SchemaGen writes it)."""
    with tf.io.gfile.GFile(path) as f:
        return text_format.Parse(f.read(), schema_pb2.Schema())


def restrict_schema(schema: schema_pb2.Schema, keys: Iterable[str]) -> schema_pb2.Schema:
    """A copy of `schema` with only the features in `keys`.

    Raises:
        ValueError: if a key is not a feature of the schema.
    """
    keys = set(keys)
    names = {feature.name for feature in schema.feature}
    missing = sorted(keys - names)
    if missing:
        raise ValueError(
            f"Invalid schema: expected features {missing} (model inputs, labels or weights); "
            f"received a schema with features {sorted(names)}."
        )
    restricted = schema_pb2.Schema()
    restricted.CopyFrom(schema)
    del restricted.feature[:]
    restricted.feature.extend(f for f in schema.feature if f.name in keys)
    return restricted


def check_schema_fits(schema: schema_pb2.Schema, specs: Mapping[str, InputSpec]) -> None:
    """Checks statically that each model input's schema feature fits its dtype and width.

    Raises:
        ValueError: if a feature is a string feature for a numeric input (or the reverse),
            has a fixed shape of another size, or may hold more values per example than the
            input's width.
    """
    by_name = {feature.name: feature for feature in schema.feature}
    for name, spec in specs.items():
        feature = by_name.get(name)
        if feature is None:
            continue
        if (feature.type == schema_pb2.BYTES) != (spec.dtype == tf.string):
            raise ValueError(
                f"Invalid schema feature `{name}`: expected a "
                f"{'BYTES' if spec.dtype == tf.string else 'INT or FLOAT'} feature for the "
                f"model input of dtype {spec.dtype.name}; received "
                f"{schema_pb2.FeatureType.Name(feature.type)}."
            )
        if feature.HasField("shape"):
            size = math.prod(dim.size for dim in feature.shape.dim)
            if size != spec.width:
                raise ValueError(
                    f"Invalid schema feature `{name}`: expected {spec.width} value(s) per "
                    f"example for the model input of shape {spec.shape}; received a fixed "
                    f"shape {[dim.size for dim in feature.shape.dim]}."
                )
        elif feature.HasField("value_count") and feature.value_count.max > spec.width:
            raise ValueError(
                f"Invalid schema feature `{name}`: expected at most {spec.width} value(s) per "
                f"example for the model input of shape {spec.shape}; received a value_count "
                f"of up to {feature.value_count.max}. Give the model input that width or "
                "reduce the feature (for example in Transform)."
            )


def conform(value: Any, spec: InputSpec, name: str) -> tf.Tensor:
    """`value` as the dense `[batch_size, *spec.shape]` tensor of dtype `spec.dtype`.

    Numeric values are cast to a numeric `spec.dtype`; a string feature for a numeric input
    (or the reverse) is left as it is, for the model to reject (`check_schema_fits` rejects
    it before training).

    Args:
        value: a `Tensor` `[batch_size]` or `[batch_size, width]`, or a `SparseTensor` /
            `RaggedTensor` `[batch_size, <= width]` (missing values become 0 or "").
        spec: the model input.
        name: the feature name, for errors.

    Raises:
        tf.errors.InvalidArgumentError: (when run) if an example has more than `spec.width`
            values.
    """
    if isinstance(value, tf.RaggedTensor):
        value = value.to_sparse()
    is_string = value.dtype == tf.string
    width = spec.width
    if isinstance(value, tf.SparseTensor):
        too_many = tf.debugging.assert_less_equal(
            value.dense_shape[-1],
            tf.constant(width, tf.int64),
            message=f"Feature `{name}` has more than {width} value(s) in an example",
        )
        with tf.control_dependencies([too_many]):
            shape = tf.stack([value.dense_shape[0], tf.constant(width, tf.int64)])
            value = tf.sparse.to_dense(
                tf.SparseTensor(value.indices, value.values, shape),
                default_value="" if is_string else tf.zeros([], value.dtype),
            )
        value.set_shape([None, width])
    elif value.shape.rank == 1:
        value = tf.expand_dims(value, -1)
    if not spec.shape:
        value = tf.squeeze(value, -1)
    if value.dtype == spec.dtype or is_string or spec.dtype == tf.string:
        return value
    return tf.cast(value, spec.dtype)


def dense_label(value: Any, width: int, name: str) -> tf.Tensor:
    """A label as a dense `[batch_size, width]` tensor; a sparse one must be complete.

    Raises:
        tf.errors.InvalidArgumentError: (when run) if a sparse label lacks values.
    """
    if isinstance(value, tf.RaggedTensor):
        value = value.to_sparse()
    if not isinstance(value, tf.SparseTensor):
        return value
    complete = tf.debugging.assert_equal(
        tf.size(value.values, out_type=tf.int64),
        value.dense_shape[0] * width,
        message=f"Label `{name}`: expected {width} value(s) in every example",
    )
    with tf.control_dependencies([complete]):
        return conform(value, InputSpec(value.dtype, (width,)), name)


def make_splitter(
    head: heads.Head,
    label_keys: LabelKeys,
    specs: Mapping[str, InputSpec] | None,
) -> Callable[[Batch], tuple[Batch, Any]]:
    """The function from a parsed batch to `(features, labels)` (see the module docstring).

    The features keep the model's inputs (conformed) and the heads' weight columns (dense
    `[batch_size, 1]`); without `specs` (a model without dict inputs) every non-label feature
    passes unchanged.
    """
    weight_keys = weight_column_keys(head)
    description = heads.describe(head)
    singles = description.single_heads
    keys = per_head(label_keys, singles, "label_keys", required=True)
    label_specs = {single.name: (keys[single.name], single.label_dimension) for single in singles}

    def split(batch: Batch) -> tuple[Batch, Any]:
        labels = {}
        for head_name, (key, width) in label_specs.items():
            value = batch[key]
            labels[head_name] = value if width is None else dense_label(value, width, key)
        if specs is None:
            label_features = {key for key, _ in label_specs.values()}
            features = {k: v for k, v in batch.items() if k not in label_features}
        else:
            features = {name: conform(batch[name], spec, name) for name, spec in specs.items()}
        for key in weight_keys:
            features[key] = dense_label(batch[key], 1, key)
        return features, description.by_head(labels)

    return split


def needed_keys(
    schema: schema_pb2.Schema,
    specs: Mapping[str, InputSpec] | None,
    head: heads.Head,
    label_keys: LabelKeys,
) -> list[str]:
    """The schema features a training batch needs: model inputs, labels, weights."""
    labels = [label_keys] if isinstance(label_keys, str) else list(label_keys.values())
    inputs = list(specs) if specs is not None else [f.name for f in schema.feature]
    return sorted(set(inputs) | set(labels) | set(weight_column_keys(head)))


def make_dataset(
    dataset_factory: Callable[..., tf.data.Dataset],
    file_patterns: list[str],
    schema: schema_pb2.Schema,
    split: Callable[[Batch], tuple[Batch, Any]],
    batch_size: int,
    *,
    num_epochs: int | None,
    shuffle: bool,
    drop_final_batch: bool = False,
    num_workers: int = 1,
) -> tf.data.Dataset:
    """A dataset of `(features, labels)` batches read through TFX's data accessor.

    Across several workers, each reads its share of the files when there are at least as
    many files as workers, else its share of the records (every worker reads every file;
    ExampleGen often writes a single file per split, which file sharding cannot split).

    Args:
        dataset_factory: `fn_args.data_accessor.tf_dataset_factory`.
        file_patterns: the split's file patterns (`fn_args.train_files` or `eval_files`).
        schema: the schema of the examples, restricted to the features needed.
        split: from `make_splitter`.
        batch_size: the global batch size.
        num_epochs: passes over the data; None repeats forever.
        shuffle: whether to shuffle (training).
        drop_final_batch: whether to drop a smaller last batch (TPUs need static shapes).
        num_workers: the number of training workers (hosts) that share the data.
    """
    options = tfxio.TensorFlowDatasetOptions(
        batch_size=batch_size,
        num_epochs=num_epochs,
        shuffle=shuffle,
        drop_final_batch=drop_final_batch,
    )
    dataset = dataset_factory(file_patterns, options, schema)
    if num_workers > 1:
        num_files = sum(len(tf.io.gfile.glob(pattern)) for pattern in file_patterns)
        policy = tf.data.experimental.AutoShardPolicy
        dataset_options = tf.data.Options()
        dataset_options.experimental_distribute.auto_shard_policy = (
            policy.FILE if num_files >= num_workers else policy.DATA
        )
        dataset = dataset.with_options(dataset_options)
    return dataset.map(split, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def schema_feature_spec(schema: schema_pb2.Schema) -> dict[str, Any]:
    """The `tf.io` parsing spec of every feature of `schema` (as TFX components parse it)."""
    from tensorflow_transform.tf_metadata import schema_utils

    return dict(schema_utils.schema_as_feature_spec(schema).feature_spec)


def training_schemas(fn_args: fn_args_utils.FnArgs) -> tuple[schema_pb2.Schema, dict[str, Any]]:
    """The training examples' schema and the raw features' parsing spec for serving.

    With Transform, the examples are Transform's output (its transformed schema) and
    serving parses raw features (its raw schema); without, both come from the schema.

    Raises:
        ValueError: if there is neither a schema nor a Transform graph.
    """
    if fn_args.transform_output:
        import tensorflow_transform as tft

        transform_output = tft.TFTransformOutput(fn_args.transform_output)
        return transform_output.transformed_metadata.schema, transform_output.raw_feature_spec()
    if not fn_args.schema_path:
        raise ValueError(
            "Invalid inputs: expected a `schema` (from SchemaGen) or a `transform_graph`; "
            "received neither."
        )
    schema = read_schema(fn_args.schema_path)
    return schema, schema_feature_spec(schema)


@dataclasses.dataclass(frozen=True)
class TrainingInputs:
    """What the trainer reads from the examples for a model.

    Attributes:
        input_specs: the logits model's inputs (`model_input_specs`), or None.
        schema: the examples' schema, restricted to the features a batch needs.
        split: from a parsed batch to `(features, labels)` (`make_splitter`).
    """

    input_specs: dict[str, InputSpec] | None
    schema: schema_pb2.Schema
    split: Callable[[Batch], tuple[Batch, Any]]


def training_inputs(
    schema: schema_pb2.Schema, model: heads.HeadModel, label_keys: LabelKeys
) -> TrainingInputs:
    """The `TrainingInputs` of `model` (built) for examples of `schema`.

    The schema is checked against the model's inputs here, so that a schema that does not
    fit the model fails before any data is read.

    Raises:
        ValueError: see `check_schema_fits`.
    """
    input_specs = model_input_specs(model.logits_model)
    if input_specs is not None:
        check_schema_fits(schema, input_specs)
    keys = needed_keys(schema, input_specs, model.head, label_keys)
    return TrainingInputs(
        input_specs=input_specs,
        schema=restrict_schema(schema, keys),
        split=make_splitter(model.head, label_keys, input_specs),
    )
