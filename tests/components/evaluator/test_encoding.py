"""Slices encoded together (`SliceEncoder.encode_many`, `EncodeSlices`) are each what
the encoder makes of the slice alone, and their entries what `slice_entry` gives."""

import json
import math
import pickle

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.util import assert_that, equal_to
from tensorflow_model_analysis.proto import metrics_for_slice_pb2

import heads
from tfx_heads.components.evaluator import encoding
from tfx_heads.components.evaluator.bootstrap import Interval
from tfx_heads.components.evaluator.combine import SliceResult, SliceStats
from tfx_heads.components.evaluator.encoding import (
    EncodedSlices,
    EncodeSlices,
    SliceEncoder,
    count_keys,
    slice_entry,
)
from tfx_heads.components.evaluator.head_metrics import HeadMetricLayout
from tfx_heads.components.evaluator.slicing import SliceBatch

_MULTI_HEAD = heads.MultiHead(
    [heads.BinaryClassHead(name="ctr"), heads.MultiLabelHead(n_classes=3, name="tags")]
)


def _finalized(head, batch, rows, seed, **options):
    """A real `SliceResult` of `rows` random examples (`batch(rng, rows)`)."""
    rng = np.random.default_rng(seed)
    replicates = options.get("num_bootstrap_samples", 0)
    weights = rng.poisson(1.0, (rows, replicates)) if replicates else None
    stats = SliceStats(heads.describe(head), num_buckets=256, **options)
    return stats.finalize(stats.update(stats.create(), SliceBatch(batch(rng, rows), weights)))


def _multi_head_batch(rng, rows):
    return {
        "ctr": {"logits": rng.normal(size=(rows, 1)), "labels": rng.integers(0, 2, rows)},
        "tags": {
            "logits": rng.normal(size=(rows, 3)),
            "labels": rng.integers(0, 2, (rows, 3)).astype(np.float64),
        },
    }


def _multi_class_batch(rng, rows):
    return {"logits": rng.normal(size=(rows, 3)), "labels": rng.integers(0, 3, rows)}


def _odd(result):
    """`result` with its values 0, -0, NaN, +-inf in turn (and the intervals' bounds), but
    for its example counts."""
    odd = [0.0, -0.0, math.nan, math.inf, -math.inf]
    metrics = {
        key: value if "example_count" in key else odd[i % 5]
        for i, (key, value) in enumerate(result.metrics.items())
    }
    intervals = result.intervals and {
        key: Interval(odd[i % 5], 0.0, -0.0, 2, -math.inf, odd[(i + 2) % 5])
        for i, key in enumerate(result.intervals)
    }
    return result._replace(metrics=metrics, intervals=intervals)


def _textual():
    """Hand-made: keys with the characters a text template must keep (`%`, quotes, a
    backslash, non-ASCII), values of other types (NumPy floats, an int, a bool), extremes."""
    metrics = {
        "100%/ctr": np.float64(0.5),
        'q"\\%s%%': np.float64(math.nan),
        "类": np.float64(-math.inf),
        "c": 7,
        "flag": True,
        "big": 1e300,
        "tiny": 5e-324,
        "example_count/ctr_tags": 3.0,
    }
    intervals = {key: Interval(0.5, 0.5, np.float64(0.1), 2, -1e-7, 2) for key in metrics}
    return SliceResult(metrics, intervals, [])


@pytest.fixture(scope="module")
def multi_head_items():
    """A MultiHead's slices: bootstrapped, plain (per-class plots of the multi-label head),
    counts only, odd values, hand-made ones (no plots, no metrics, non-ASCII keys)."""
    bootstrapped = _finalized(_MULTI_HEAD, _multi_head_batch, 60, 1, num_bootstrap_samples=3)
    plain = _finalized(_MULTI_HEAD, _multi_head_batch, 40, 2)
    counts_only = _finalized(_MULTI_HEAD, _multi_head_batch, 5, 3, min_slice_size=10)
    assert bootstrapped.intervals and len(plain.plots) == 5 and counts_only.counts_only
    return [
        ((), bootstrapped),
        ((("g", "x"),), plain),
        ((("rate", 0.25),), counts_only),
        ((("день", "é类"), ("n", -3)), _odd(bootstrapped)),
        ((("g", "odd"),), _odd(plain)),
        ((("g", "hand"),), SliceResult({"ü/ctr": 1.5, "auc/ctr": -0.0, "c": 7}, None, [])),
        ((("g", "text"),), _textual()),
        ((("g", "text again"),), _textual()),  # a shape's second slice: its template
        ((("g", "none"),), SliceResult({}, None, [])),
        ((("g", "none bounded"),), SliceResult({}, {}, [])),
        ((("g", "y"),), plain),
    ]


@pytest.mark.parametrize("group", [3, 1024])
def test_encode_many_is_each_slice_encoded_alone(multi_head_items, group, monkeypatch):
    """Whether the slices are built in one group or several (`_GROUP_SLICES`)."""
    monkeypatch.setattr(encoding, "_GROUP_SLICES", group)
    multi_class = _finalized(heads.MultiClassHead(n_classes=3), _multi_class_batch, 30, 4)
    assert len(multi_class.plots) > 1
    cases = [
        (_MULTI_HEAD, multi_head_items),
        (
            heads.MultiClassHead(n_classes=3),
            [((("é", "raw"), ("n", 0)), multi_class), ((), multi_class)],
        ),
    ]
    for head, items in cases:
        description = heads.describe(head)
        encoder = SliceEncoder(description)
        layout, keys = HeadMetricLayout(description), count_keys(description)
        encoded = encoder.encode_many(items)
        assert encoded == [encoder(item) for item in items]
        for (slice_key, result), one in zip(items, encoded, strict=True):
            assert one.slice_key == slice_key
            assert one.entry == json.dumps(slice_entry((slice_key, result), layout, keys))
            read = json.loads(one.entry)
            assert json.dumps(read["metrics"]) == json.dumps(result.metrics)  # NaN as text
            metrics = metrics_for_slice_pb2.MetricsForSlice.FromString(one.metrics_record)
            assert [entry.key.name for entry in metrics.metric_keys_and_values] == list(
                result.metrics
            )
            plots = metrics_for_slice_pb2.PlotsForSlice.FromString(one.plots_record)
            assert len(plots.plot_keys_and_values) == len(result.plots)
    assert SliceEncoder(heads.describe(_MULTI_HEAD)).encode_many([]) == []


def test_encoded_slices_pack_and_unpack_the_same_slices(multi_head_items, tmp_path):
    encoded = SliceEncoder(heads.describe(_MULTI_HEAD)).encode_many(multi_head_items)
    directory = str(tmp_path / "encoded")
    packs = [EncodedSlices.pack(part, directory) for part in (encoded, [], encoded[2:3])]
    assert len({pack.path for pack in packs}) == 3  # a file each
    assert [pack.unpack() for pack in packs] == [encoded, [], encoded[2:3]]
    assert pickle.loads(pickle.dumps(packs[0])).unpack() == encoded


def test_encode_slices_encodes_a_bundle_s_slices_together(multi_head_items, monkeypatch, tmp_path):
    monkeypatch.setattr(encoding, "_GROUP_SLICES", 3)  # so that a bundle gives several
    description = heads.describe(_MULTI_HEAD)
    expected = SliceEncoder(description).encode_many(multi_head_items)
    with beam.Pipeline() as pipeline:
        encoded = (
            pipeline
            | beam.Create(multi_head_items)
            | beam.ParDo(EncodeSlices(description, str(tmp_path)))
            | beam.Map(lambda group: len(group.unpack()))
        )

        def at_most_three_a_group(sizes):
            assert sum(sizes) == len(expected) and max(sizes) <= 3, sizes

        assert_that(encoded, at_most_three_a_group)
    with beam.Pipeline() as pipeline:
        encoded = (
            pipeline
            | beam.Create(multi_head_items)
            | beam.ParDo(EncodeSlices(description, str(tmp_path)))
            | beam.FlatMap(EncodedSlices.unpack)
        )
        assert_that(encoded, equal_to(expected))
