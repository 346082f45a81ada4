"""Logits from the SavedModel's predict signature: output choice, chunking, failures."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

import heads
from tfx_heads.components.evaluator.example_inputs import ExampleBatch, MalformedExampleError
from tfx_heads.components.evaluator.head_inputs import build_input_spec
from tfx_heads.components.evaluator.inference import InferLogits, signature_outputs


def _spec(head):
    labels = {h.name: "y" for h in getattr(head, "heads", (head,))}
    labels = labels if isinstance(head, heads.MultiHead) else "y"
    return build_input_spec(heads.describe(head), labels, None, (), {})


def test_signature_outputs():
    linked = heads.RegressionHead(name="r", inverse_link_fn=tf.math.exp)
    multi = heads.MultiHead([heads.BinaryClassHead(name="b"), linked])
    outputs = signature_outputs(["b/logits", "b/logistic", "r/predictions"], _spec(multi))
    assert outputs == {
        "b/logits": ("b", "logits"),
        "r/predictions": ("r", "predictions"),
    }
    single = _spec(heads.PoissonRegressionHead())
    assert signature_outputs(["logits", "predictions"], single) == {"logits": (None, "logits")}
    with pytest.raises(ValueError, match="expected a 'predict' signature with output 'b/logits'"):
        signature_outputs(["logits"], _spec(multi))
    # A MultiHead of one head still has prefixed outputs.
    alone = _spec(heads.MultiHead([heads.BinaryClassHead(name="b")]))
    assert signature_outputs(["b/logits", "logits"], alone) == {"b/logits": ("b", "logits")}


@pytest.fixture(scope="module")
def taxi_stage(taxi_model):
    head, _ = heads.load_head_config(taxi_model)
    stage = InferLogits(taxi_model, _spec(head), chunk_size=256, reject_malformed=True)
    stage.setup()
    return stage


def _taxi_batch(taxi_examples, size):
    files = sorted(tf.io.gfile.glob(taxi_examples))
    serialized = next(iter(tf.data.TFRecordDataset(files[:1], compression_type="GZIP").batch(size)))
    return ExampleBatch(files[0], np.arange(size), serialized, read=size)


def test_logits_match_the_signature_and_not_the_batching(taxi_model, taxi_examples, taxi_stage):
    batch = _taxi_batch(taxi_examples, 700)
    whole = taxi_stage.infer_batch(batch)
    direct = tf.saved_model.load(taxi_model).signatures["predict"](examples=batch.serialized)
    np.testing.assert_allclose(whole.logits["trip_tags"], direct["trip_tags/logits"], rtol=1e-5)
    assert whole.logits["trip_seconds"].shape == (700, 1)  # From `predictions`.
    parts = (np.arange(0, 333), np.arange(333, 700))
    halves = [
        taxi_stage.infer_batch(dataclasses.replace(
            batch, record_index=batch.record_index[p], serialized=tf.gather(batch.serialized, p)
        ))
        for p in parts
    ]  # fmt: skip
    for name, logits in whole.logits.items():
        np.testing.assert_array_equal(np.concatenate([h.logits[name] for h in halves]), logits)


def test_examples_the_model_cannot_read(taxi_model, taxi_examples, taxi_stage):
    batch = _taxi_batch(taxi_examples, 6)
    broken = tf.train.Example.FromString(batch.serialized[3].numpy())
    del broken.features.feature["fare"]
    serialized = tf.tensor_scatter_nd_update(batch.serialized, [[3]], [broken.SerializeToString()])
    batch = dataclasses.replace(batch, serialized=serialized)
    out = taxi_stage.infer_batch(batch)
    assert out.rejected == {"model_error": 1}
    np.testing.assert_array_equal(out.valid, [True, True, True, False, True, True])
    head, _ = heads.load_head_config(taxi_model)
    strict = InferLogits(taxi_model, _spec(head), chunk_size=256)
    strict.setup()
    with pytest.raises(MalformedExampleError, match=r"record 3 of .*part-0.*; model_error\)"):
        strict.infer_batch(batch)
