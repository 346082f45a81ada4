"""The accumulator coder: bit-exact round trips, and sparse arrays written as their entries."""

import doctest
import pickle

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
from apache_beam.portability.api import beam_runner_api_pb2

import heads
from heads.stats.score_counts import ScoreCounts
from heads.stats.sparse_histogram import SparseHistogram
from tfx_heads.components.evaluator import coders, constants, transforms
from tfx_heads.components.evaluator.batches import PreparedBatch
from tfx_heads.components.evaluator.coders import MIN_SPARSE_SIZE, AccumulatorCoder, BatchCoder
from tfx_heads.components.evaluator.combine import HeadStatsCombineFn, SliceResult
from tfx_heads.components.evaluator.config import build_config
from tfx_heads.components.evaluator.example_inputs import ExampleBatch
from tfx_heads.components.evaluator.slicing import SliceBatch


def _assert_same_bits(decoded, original):
    assert type(decoded) is type(original)
    if isinstance(original, dict):
        assert decoded.keys() == original.keys()
        for key in original:
            _assert_same_bits(decoded[key], original[key])
    elif isinstance(original, (ScoreCounts, SparseHistogram)):
        _assert_same_bits(decoded.__getstate__(), original.__getstate__())
    elif isinstance(original, (list, tuple)):
        assert len(decoded) == len(original)
        for first, second in zip(decoded, original, strict=True):
            _assert_same_bits(first, second)
    elif isinstance(original, np.ndarray):
        assert decoded.dtype == original.dtype and decoded.shape == original.shape
        assert decoded.tobytes() == original.tobytes()
    else:
        assert decoded == original


def _sparse(rng, shape, dtype, filled):
    array = np.zeros(shape, dtype=dtype)
    flat = array.reshape(-1)
    positions = rng.choice(flat.size, size=filled, replace=False)
    flat[positions] = rng.integers(1, 1000, size=filled)
    return array


def test_round_trips_keep_every_bit_dtype_and_shape():
    rng = np.random.default_rng(0)
    special = _sparse(rng, (3, 4096), np.float64, 20)
    special[0, :4] = [-0.0, np.nan, np.inf, -np.inf]
    value = {
        "histogram": _sparse(rng, (2, 65536), np.float64, 300),
        "special": special,
        "dense": rng.normal(size=(4, 1024)),
        "small": np.array([0.0, 2.5]),
        "empty": np.zeros((0, 7)),
        "all_zero": np.zeros(MIN_SPARSE_SIZE * 4, dtype=np.float32),
        "ints": _sparse(rng, (5000,), np.int64, 10),
        "flags": _sparse(rng, (3000,), np.bool_, 5),
        "transposed": _sparse(rng, (300, 40), np.float64, 9).T,
        "replicates": [{"count": 3.0, "sums": _sparse(rng, 2048, np.float64, 2)}],
        "name": "head",
    }
    coder = AccumulatorCoder()
    decoded = coder.decode(coder.encode(value))
    _assert_same_bits(decoded, value)
    assert np.signbit(decoded["special"][0, 0])  # -0.0 is kept, not written as a zero.


def test_the_module_example_holds():
    assert doctest.testmod(coders).failed == 0


def test_sparse_arrays_take_the_room_of_their_entries_only():
    rng = np.random.default_rng(1)
    filled = 500
    histogram = _sparse(rng, (2, 65536), np.float64, filled)
    encoded = AccumulatorCoder().encode(histogram)
    # 8 bytes per value and 4 per uint32 position, plus pickle's framing.
    assert len(encoded) <= filled * (8 + 4) + 300
    assert len(pickle.dumps(histogram)) > histogram.nbytes
    dense = rng.normal(size=(2, 65536))
    assert len(AccumulatorCoder().encode(dense)) == pytest.approx(dense.nbytes, rel=0.001)


def test_head_accumulators_round_trip_to_the_same_results():
    head = heads.MultiHead(
        [
            heads.BinaryClassHead(thresholds=(0.5,), name="b"),
            heads.MultiClassHead(n_classes=4, name="m"),
        ]
    )
    combine = HeadStatsCombineFn(heads.describe(head))
    coder = combine.get_accumulator_coder()
    assert coder == AccumulatorCoder()
    rng = np.random.default_rng(2)
    batch = {
        "b": {"logits": rng.normal(size=(200, 1)), "labels": rng.integers(0, 2, 200)},
        "m": {"logits": rng.normal(size=(200, 4)), "labels": rng.integers(0, 4, (200, 1))},
    }
    accumulator = combine.add_input(combine.create_accumulator(), SliceBatch(batch, None))
    encoded = coder.encode(accumulator)
    decoded = coder.decode(encoded)
    _assert_same_bits(decoded, accumulator)
    assert combine.extract_output(decoded).metrics == combine.extract_output(accumulator).metrics


def test_the_pipeline_ships_accumulators_with_it(taxi_examples, taxi_model, tmp_path):
    root = beam.Pipeline()
    _ = root | transforms.EvaluateHeads(
        build_config(taxi_examples, str(tmp_path), model=taxi_model)
    )
    proto, context = root.to_runner_api(return_context=True)
    (combine,) = [
        transform
        for transform in proto.components.transforms.values()
        if transform.unique_name.endswith(f"/{constants.COMBINE_STAGE}")
    ]
    payload = beam_runner_api_pb2.CombinePayload.FromString(combine.spec.payload)
    assert context.coders.get_by_id(payload.accumulator_coder_id) == AccumulatorCoder()


def test_batches_round_trip_and_are_sized_without_encoding(monkeypatch):
    """The registered coder of the batches and results: pickle both ways; the size Beam
    samples is the arrays' bytes, found without pickling anything."""
    logits = np.arange(12, dtype=np.float32).reshape(3, 4)
    item = SliceBatch({"h": {"logits": logits, "labels": np.ones(3)}}, np.zeros((3, 2)))
    for kind in (ExampleBatch, PreparedBatch, SliceBatch, SliceResult):
        assert isinstance(beam.coders.registry.get_coder(kind), BatchCoder), kind
    coder = BatchCoder()
    decoded = coder.decode(coder.encode(item))
    np.testing.assert_array_equal(decoded.batch["h"]["logits"], logits)
    monkeypatch.setattr(pickle, "dumps", None)  # estimating must not encode
    assert coder.estimate_size(item) == logits.nbytes + 3 * 8 + 3 * 2 * 8
    batch = ExampleBatch("f", np.arange(3), tf.constant([b"ab", b"c", b""]), read=3)
    # file, record_index, three strings at 8 bytes, `read`; the empty fields nothing.
    assert coder.estimate_size(batch) == 1 + 3 * 8 + 3 * 8 + 8
