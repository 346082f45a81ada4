"""TFMA's records, built directly, are byte for byte what TFMA's own converters make."""

import math

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.proto import metrics_for_slice_pb2
from tensorflow_model_analysis.writers.metrics_plots_and_validations_writer import (
    convert_slice_metrics_to_proto,
    convert_slice_plots_to_proto,
)

import heads
from tfx_heads.components.evaluator.combine import SliceResult, SliceStats
from tfx_heads.components.evaluator.slicing import SliceBatch, slice_specs
from tfx_heads.components.evaluator.tfma_records import (
    tfma_metrics,
    tfma_plots,
    write_tfma_results,
)
from tfx_heads.components.evaluator.writers import eval_config

_CONFUSION = tfma.metrics.confusion_matrix_plot.CONFUSION_MATRIX_PLOT_NAME
_CALIBRATION = tfma.metrics.calibration_plot.CALIBRATION_PLOT_NAME


def _finalized(head, rows, seed, **options):
    """A real `SliceResult`: `rows` random examples of a binary and a 3-class multi-label
    head through `SliceStats`."""
    rng = np.random.default_rng(seed)
    batch = {
        "ctr": {"logits": rng.normal(size=(rows, 1)), "labels": rng.integers(0, 2, rows)},
        "tags": {
            "logits": rng.normal(size=(rows, 3)),
            "labels": rng.integers(0, 2, (rows, 3)).astype(np.float64),
        },
    }
    replicates = options.get("num_bootstrap_samples", 0)
    weights = rng.poisson(1.0, (rows, replicates)) if replicates else None
    stats = SliceStats(heads.describe(head), num_buckets=256, **options)
    return stats.finalize(stats.update(stats.create(), SliceBatch(batch, weights)))


@pytest.fixture(scope="module")
def results():
    head = heads.MultiHead(
        [heads.BinaryClassHead(name="ctr"), heads.MultiLabelHead(n_classes=3, name="tags")]
    )
    bootstrapped = _finalized(head, 60, 1, num_bootstrap_samples=3)
    plain = _finalized(head, 40, 2)
    with_nan = plain._replace(metrics={**plain.metrics, "auc/ctr": math.nan})
    counts_only = _finalized(head, 5, 3, min_slice_size=10)
    assert bootstrapped.intervals and len(plain.plots) == 5 and counts_only.counts_only
    assert {(p.output_name, p.class_id) for p in plain.plots} >= {("ctr", None), ("tags", 0)}
    hand_made = SliceResult({"b": 2.0, "a": -0.0, "c": 7}, None, [])
    return [
        ((), bootstrapped),
        ((("g", "x"),), plain),
        ((("day", 3),), with_nan),
        ((("rate", 0.25),), counts_only),
        ((("day", 0), ("g", "é")), hand_made),
        ((("day", -4), ("rate", 1.5)), plain),
    ]


def _tfma_metrics_input(slice_key, result):
    """TFMA's input: `{MetricKey(name): value, or a BoundedValue with bootstrap}`."""
    values = {}
    for key, value in result.metrics.items():
        metric_key = tfma.metrics.MetricKey(name=key)
        if result.intervals is None:
            values[metric_key] = value
            continue
        bounded = metrics_for_slice_pb2.BoundedValue()
        bounded.value.value = value
        bounded.lower_bound.value = result.intervals[key].lower
        bounded.upper_bound.value = result.intervals[key].upper
        values[metric_key] = bounded
    return slice_key, values


def _tfma_plots_input(slice_key, built):
    """TFMA's input: `{PlotKey(name, output_name, sub_key): plot}`, the plots taken from the
    records built (their values are checked in test_writers and test_runner)."""
    values = {}
    for entry in built.plot_keys_and_values:
        sub_key = None
        if entry.key.HasField("sub_key"):
            sub_key = tfma.metrics.SubKey(class_id=entry.key.sub_key.class_id.value)
        for name, plot in (
            (_CONFUSION, entry.value.confusion_matrix_at_thresholds),
            (_CALIBRATION, entry.value.calibration_histogram_buckets),
        ):
            key = tfma.metrics.PlotKey(name, output_name=entry.key.output_name, sub_key=sub_key)
            values[key] = plot
    return slice_key, values


def test_records_are_byte_for_byte_tfma_s_own(results, tmp_path):
    config = eval_config(slice_specs(["g"]), "y", confidence_intervals=True)
    write_tfma_results(results, config, "data", "model", str(tmp_path))
    metrics = list(tf.data.TFRecordDataset(str(tmp_path / "metrics-00000-of-00001.tfrecord")))
    plots = list(tf.data.TFRecordDataset(str(tmp_path / "plots-00000-of-00001.tfrecord")))
    assert len(metrics) == len(plots) == len(results)
    for (slice_key, result), metric_record, plot_record in zip(
        results, metrics, plots, strict=True
    ):
        expected = convert_slice_metrics_to_proto(_tfma_metrics_input(slice_key, result), None)
        assert metric_record.numpy() == expected.SerializeToString(), slice_key
        built = tfma_plots((slice_key, result))
        assert len(built.plot_keys_and_values) == len(result.plots)
        expected = convert_slice_plots_to_proto(_tfma_plots_input(slice_key, built), None)
        assert plot_record.numpy() == expected.SerializeToString(), slice_key


def test_records_read_back_as_the_results(results):
    _, bootstrapped = results[0]
    proto = tfma_metrics(results[0])
    first = proto.metric_keys_and_values[0]
    key = next(iter(bootstrapped.metrics))
    assert first.key.name == key and first.value.double_value.value == bootstrapped.metrics[key]
    interval = bootstrapped.intervals[key]
    bounds = first.confidence_interval
    assert bounds.lower_bound.double_value.value == interval.lower
    assert bounds.upper_bound.double_value.value == interval.upper
    nan = tfma_metrics(results[2]).metric_keys_and_values
    assert math.isnan(next(e.value.double_value.value for e in nan if e.key.name == "auc/ctr"))
    plot_keys = [entry.key for entry in tfma_plots(results[1]).plot_keys_and_values]
    assert [(k.output_name, k.sub_key.class_id.value) for k in plot_keys[2:]] == [
        ("tags", c) for c in (0, 1, 2)
    ]
    assert [k.HasField("sub_key") for k in plot_keys] == [False, False, True, True, True]
    assert not tfma_plots(results[3]).plot_keys_and_values
