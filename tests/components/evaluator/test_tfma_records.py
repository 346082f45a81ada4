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
from tfx_heads.components.evaluator.bootstrap import Interval
from tfx_heads.components.evaluator.combine import SliceResult, SliceStats
from tfx_heads.components.evaluator.plots import HistogramPlot
from tfx_heads.components.evaluator.slicing import SliceBatch, slice_specs
from tfx_heads.components.evaluator.tfma_records import (
    tfma_metrics,
    tfma_metrics_many,
    tfma_plots,
    tfma_plots_many,
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
        *_odd_metrics(),
    ]


def _odd_metrics():
    """Hand-made slices with the values and keys whose encoding is special: 0, -0, NaN,
    +-inf, subnormal; an empty key, non-ASCII keys, keys of over 127 and 16,383 bytes (two-
    and three-byte lengths, in entries whose lengths need as many); bounds that are 0;
    no metrics at all."""
    values = [0.0, -0.0, math.nan, math.inf, -math.inf, 5e-324, 1.0, -2.5, 3]
    keys = ["", "é/类/ctr", "x" * 128, "auc/" + "ü" * 70, "y" * 20_000, "a", "b", "c", "d"]
    metrics = dict(zip(keys, values, strict=True))
    lows = [0.0, -0.0, math.nan, -math.inf, 0.0, 1.0, 0.0, -3.0, 0.0]
    intervals = {
        key: Interval(value, value, 0.0, 2, low, -low)
        for key, value, low in zip(keys, values, lows, strict=True)
    }
    return [
        ((("g", "odd"),), SliceResult(metrics, None, [])),
        ((("g", "odd bounds"),), SliceResult(metrics, intervals, [])),
        ((("g", "none"),), SliceResult({}, None, [])),
        ((("g", "none bounded"),), SliceResult({}, {}, [])),
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


def _tfma_plots_input(slice_key, result):
    """TFMA's input: `{PlotKey(name, output_name, sub_key): plot proto}`, the protos filled
    field by field from the plot data, with TFMA's conventions where a ratio is undefined
    (precision 1, the other ratios 0)."""
    values = {}
    for plot in result.plots:
        tp, fp = plot.true_positives, plot.false_positives
        tn, fn = plot.true_negatives, plot.false_negatives
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(tp + fp > 0, tp / (tp + fp), 1.0)
            recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0)
            columns = {
                "threshold": plot.thresholds,
                "true_positives": tp,
                "false_positives": fp,
                "true_negatives": tn,
                "false_negatives": fn,
                "precision": precision,
                "recall": recall,
                "false_positive_rate": np.where(fp + tn > 0, fp / (fp + tn), 0.0),
                "false_omission_rate": np.where(fn + tn > 0, fn / (fn + tn), 0.0),
                "f1": f1,
                "accuracy": np.where(tp + tn + fp + fn > 0, (tp + tn) / (tp + tn + fp + fn), 0),
            }
        confusion = metrics_for_slice_pb2.ConfusionMatrixAtThresholds()
        for row in range(len(tp)):
            matrix = confusion.matrices.add()
            for name, column in columns.items():
                setattr(matrix, name, float(column[row]))
        calibration = metrics_for_slice_pb2.CalibrationHistogramBuckets()
        for row in range(len(plot.bucket_weights)):
            bucket = calibration.buckets.add()
            bucket.lower_threshold_inclusive = plot.bucket_bounds[row]
            bucket.upper_threshold_exclusive = plot.bucket_bounds[row + 1]
            bucket.num_weighted_examples.value = plot.bucket_weights[row]
            bucket.total_weighted_label.value = plot.bucket_labels[row]
            bucket.total_weighted_refined_prediction.value = plot.bucket_predictions[row]
        sub_key = None if plot.class_id is None else tfma.metrics.SubKey(class_id=plot.class_id)
        for name, proto in ((_CONFUSION, confusion), (_CALIBRATION, calibration)):
            key = tfma.metrics.PlotKey(name, output_name=plot.output_name, sub_key=sub_key)
            values[key] = proto
    return slice_key, values


def test_records_are_byte_for_byte_tfma_s_own(results, tmp_path):
    config = eval_config(slice_specs(["g"]), "y", confidence_intervals=True)
    records = [(tfma_metrics(item), tfma_plots(item)) for item in results]
    write_tfma_results(records, config, "data", "model", str(tmp_path))
    metrics = list(tf.data.TFRecordDataset(str(tmp_path / "metrics-00000-of-00001.tfrecord")))
    plots = list(tf.data.TFRecordDataset(str(tmp_path / "plots-00000-of-00001.tfrecord")))
    assert len(metrics) == len(plots) == len(results)
    for (slice_key, result), metric_record, plot_record in zip(
        results, metrics, plots, strict=True
    ):
        expected = convert_slice_metrics_to_proto(_tfma_metrics_input(slice_key, result), None)
        assert metric_record.numpy() == expected.SerializeToString(), slice_key
        expected = convert_slice_plots_to_proto(_tfma_plots_input(slice_key, result), None)
        assert plot_record.numpy() == expected.SerializeToString(), slice_key


def test_records_read_back_as_the_results(results):
    _, bootstrapped = results[0]
    proto = _parsed_metrics(results[0])
    first = proto.metric_keys_and_values[0]
    key = next(iter(bootstrapped.metrics))
    assert first.key.name == key and first.value.double_value.value == bootstrapped.metrics[key]
    interval = bootstrapped.intervals[key]
    bounds = first.confidence_interval
    assert bounds.lower_bound.double_value.value == interval.lower
    assert bounds.upper_bound.double_value.value == interval.upper
    nan = _parsed_metrics(results[2]).metric_keys_and_values
    assert math.isnan(next(e.value.double_value.value for e in nan if e.key.name == "auc/ctr"))
    plot_keys = [entry.key for entry in _parsed_plots(results[1]).plot_keys_and_values]
    assert [(k.output_name, k.sub_key.class_id.value) for k in plot_keys[2:]] == [
        ("tags", c) for c in (0, 1, 2)
    ]
    assert [k.HasField("sub_key") for k in plot_keys] == [False, False, True, True, True]
    assert not _parsed_plots(results[3]).plot_keys_and_values


def _parsed_metrics(item):
    return metrics_for_slice_pb2.MetricsForSlice.FromString(tfma_metrics(item))


def _parsed_plots(item):
    return metrics_for_slice_pb2.PlotsForSlice.FromString(tfma_plots(item))


def _odd_plot():
    """A hand-made plot with the values whose encoding is special: 0, -0, NaN, +-inf."""
    zeros = np.array([0.0, -0.0, 0.0])
    return HistogramPlot(
        output_name="",
        class_id=0,
        thresholds=np.array([0.0, 0.5, math.nan]),
        true_positives=np.array([2.0, -0.0, 0.0]),
        false_positives=np.array([1.0, 1.0, 0.0]),
        true_negatives=zeros,
        false_negatives=np.array([0.0, 2.0, 2.0]),
        bucket_bounds=np.array([-math.inf, 0.5, math.inf]),
        bucket_weights=np.array([-0.0, 3.0]),
        bucket_labels=np.array([0.0, math.nan]),
        bucket_predictions=np.array([1e-300, 2.5]),
    )


def test_plots_with_zero_minus_zero_nan_and_infinities_are_tfma_s(results):
    odd = SliceResult({}, None, [_odd_plot()])
    expected = convert_slice_plots_to_proto(_tfma_plots_input((), odd), None)
    assert tfma_plots(((), odd)) == expected.SerializeToString()


def _multi_class(rows, seed):
    """A real `SliceResult` of a 3-class head (per-class curves of every class)."""
    rng = np.random.default_rng(seed)
    batch = {"logits": rng.normal(size=(rows, 3)), "labels": rng.integers(0, 3, rows)}
    stats = SliceStats(heads.describe(heads.MultiClassHead(n_classes=3)), num_buckets=256)
    return stats.finalize(stats.update(stats.create(), SliceBatch(batch, None)))


def test_many_slices_at_once_are_each_slice_s_tfma_records(results):
    """One call for a mix of slices: bootstrapped and not, counts only, several plots (per
    class, per output), none, a multi-class head's, non-ASCII keys and values, odd values;
    each record is TFMA's own (not only the one-slice wrapper's)."""
    multi_class = _multi_class(30, 4)
    assert len(multi_class.plots) > 1
    odd_plots = SliceResult({"é": -0.0}, None, [_odd_plot(), _odd_plot()._replace(class_id=None)])
    items = [
        *results,
        ((("ü类", "ş"),), multi_class),
        ((("g", b"raw"),), odd_plots),
        *results[::-1],
    ]
    metrics, plots = tfma_metrics_many(items), tfma_plots_many(items)
    assert len(metrics) == len(plots) == len(items)
    for item, metric_record, plot_record in zip(items, metrics, plots, strict=True):
        expected = convert_slice_metrics_to_proto(_tfma_metrics_input(*item), None)
        assert metric_record == expected.SerializeToString(), item[0]
        expected = convert_slice_plots_to_proto(_tfma_plots_input(*item), None)
        assert plot_record == expected.SerializeToString(), item[0]
        assert (metric_record, plot_record) == (tfma_metrics(item), tfma_plots(item))


def test_no_slices_make_no_records():
    assert tfma_metrics_many([]) == tfma_plots_many([]) == []
