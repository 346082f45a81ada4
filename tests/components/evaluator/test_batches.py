"""Preparing head batches: errors name the record, counts, custom losses and links."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import heads
from tfx_heads.components.evaluator import constants
from tfx_heads.components.evaluator.batches import ExampleCounts, PrepareHeadBatches
from tfx_heads.components.evaluator.example_inputs import (
    ExampleBatch,
    MalformedExampleError,
    ParseExamples,
)
from tfx_heads.components.evaluator.head_inputs import build_input_spec


@keras.saving.register_keras_serializable(package="evaluator_tests")
def absolute_loss(labels, logits):
    return tf.abs(labels - logits)


@keras.saving.register_keras_serializable(package="evaluator_tests")
def doubled(logits):
    return 2.0 * logits


def _prepare(helpers, head, rows, label_keys, logits_keys, reject=True, slices=()):
    types = {"y": "float", "l": "float", "g": "bytes", "y_a": "int64", "y_b": "int64"}
    spec = build_input_spec(heads.describe(head), label_keys, logits_keys, slices, types)
    serialized = tf.constant([helpers.example(row) for row in rows])
    batch = ExampleBatch("data/f.gz", np.arange(len(rows)), serialized, read=len(rows))
    (parsed,) = ParseExamples(spec.feature_spec(), reject).process(batch)
    stage = PrepareHeadBatches(spec, heads.serialize(head), reject)
    stage.setup()
    outputs = list(stage.process(parsed))
    counts = [o.value for o in outputs if hasattr(o, "tag")]
    return [o for o in outputs if not hasattr(o, "tag")], counts


def test_a_multi_head_example_is_rejected_for_every_head(helpers):
    head = heads.MultiHead([heads.BinaryClassHead(name="a"), heads.BinaryClassHead(name="b")])
    rows = [{"y_a": 1, "y_b": 0, "l": 0.1}, {"y_b": 1, "l": 0.3}, {"y_a": 0, "y_b": 1, "l": 0.5}]
    logits = {"a": "l", "b": "l"}
    (prepared,), (counts,) = _prepare(helpers, head, rows, {"a": "y_a", "b": "y_b"}, logits)
    assert counts == ExampleCounts(3, 2, {"missing_label/a": 1})
    assert set(prepared.stats_batch) == {"a", "b"}
    np.testing.assert_array_equal(prepared.stats_batch["b"]["labels"], [0, 1])


def test_strict_and_lenient_preparation(helpers):
    head = heads.BinaryClassHead()
    rows = [{"y": 1.0, "l": 0.5, "g": "x"}, {"l": 0.1, "g": "y"}, {"y": 0.0, "l": 2.0, "g": "z"}]
    (prepared,), (counts,) = _prepare(helpers, head, rows, "y", "l", slices=("g",))
    assert counts == ExampleCounts(3, 2, {constants.MISSING_LABEL: 1})
    np.testing.assert_array_equal(prepared.record_index, [0, 2])
    np.testing.assert_array_equal(prepared.stats_batch["labels"], [1.0, 0.0])
    np.testing.assert_array_equal(prepared.stats_batch["logits"], [[0.5], [2.0]])
    assert prepared.slice_columns["g"].values.tolist() == [b"x", b"z"]
    with pytest.raises(MalformedExampleError, match=r"record 1 of data/f.gz; missing_label\)"):
        _prepare(helpers, head, rows, "y", "l", reject=False)


def test_custom_loss_and_inverse_link_come_from_the_head(helpers):
    head = heads.RegressionHead(loss_fn=absolute_loss, inverse_link_fn=doubled)
    rows = [{"y": 1.0, "l": 0.25}, {"y": -1.0, "l": 0.5}]
    (prepared,), _ = _prepare(helpers, head, rows, "y", "l")
    np.testing.assert_allclose(prepared.stats_batch["unreduced_loss"], [[0.75], [1.5]])
    np.testing.assert_allclose(prepared.stats_batch["predictions"], [[0.5], [1.0]])
