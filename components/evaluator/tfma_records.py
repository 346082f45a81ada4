"""TFMA's records of the results: metrics and plots per slice, as TFMA's writer makes them.

`write_tfma_results` writes what `tfma.writers.MetricsPlotsAndValidationsWriter` and
`EvalConfigWriter` write (see `writers` for the layout). `tfma_metrics` and `tfma_plots` build
each slice's records directly, byte for byte what TFMA's `convert_slice_metrics_to_proto` and
`convert_slice_plots_to_proto` make (the tests compare them), at a fraction of their cost per
metric: with 10,000 slices or a head of 100,000 classes that cost was most of the writing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
import tensorflow_model_analysis as tfma
from google.protobuf import json_format
from tensorflow_model_analysis.proto import config_pb2, metrics_for_slice_pb2
from tensorflow_model_analysis.slicer.slicer_lib import serialize_slice_key

from tfx_heads.components.evaluator.combine import SliceResult
from tfx_heads.components.evaluator.plots import HistogramPlot
from tfx_heads.components.evaluator.slicing import SliceKey

_TFMA_SHARD_SUFFIX = "-00000-of-00001.tfrecord"
"""The file name TFMA's writer gives its single shard (`metrics` + this)."""
_EVAL_CONFIG_FILE = "eval_config.json"
"""`tfma.writers.EvalConfigWriter`'s file, which `tfma.load_eval_result` reads."""


def tfma_metrics(item: tuple[SliceKey, SliceResult]) -> metrics_for_slice_pb2.MetricsForSlice:
    """The `MetricsForSlice` of a slice, as TFMA's `convert_slice_metrics_to_proto` makes it
    from `{MetricKey(name=key): value}` (a `BoundedValue` with bootstrap): one entry per
    metric, in the result's order (TFMA sorts the keys, but `MetricKey.__lt__` is False for
    every pair of unweighted keys, so its sort keeps their order); with bootstrap the value
    and its interval's bounds. Built here directly: TFMA's per-key conversion costs about
    15 microseconds a metric, which a head of 100,000 classes or 10,000 slices multiply."""
    slice_key, result = item
    proto = metrics_for_slice_pb2.MetricsForSlice(slice_key=serialize_slice_key(slice_key))
    add = proto.metric_keys_and_values.add
    intervals = result.intervals
    for key, value in result.metrics.items():
        entry = add()
        entry.key.name = key
        entry.key.example_weighted.value = False
        entry.value.double_value.value = value
        if intervals is not None:
            interval = intervals[key]
            entry.confidence_interval.lower_bound.double_value.value = interval.lower
            entry.confidence_interval.upper_bound.double_value.value = interval.upper
    return proto


def tfma_plots(item: tuple[SliceKey, SliceResult]) -> metrics_for_slice_pb2.PlotsForSlice:
    """The `PlotsForSlice` of a slice, as TFMA's `convert_slice_plots_to_proto` makes it from
    `{PlotKey(name, output_name, sub_key): plot}` (the confusion matrices and calibration
    buckets of each curve, under one key without the plot name), built directly."""
    slice_key, result = item
    proto = metrics_for_slice_pb2.PlotsForSlice(slice_key=serialize_slice_key(slice_key))
    for plot in result.plots:
        entry = proto.plot_keys_and_values.add()
        if plot.output_name:
            entry.key.output_name = plot.output_name
        if plot.class_id is not None:
            entry.key.sub_key.class_id.value = plot.class_id
        entry.key.example_weighted.value = False
        _confusion(plot, entry.value.confusion_matrix_at_thresholds)
        _calibration(plot, entry.value.calibration_histogram_buckets)
    return proto


def _ratio(numerator: np.ndarray, denominator: np.ndarray, empty: float) -> np.ndarray:
    out = np.full(np.shape(numerator), empty, np.float64)
    return np.divide(numerator, denominator, out=out, where=denominator > 0)


def _confusion(
    plot: HistogramPlot, proto: metrics_for_slice_pb2.ConfusionMatrixAtThresholds
) -> None:
    """Fills `proto` with the plot's confusion matrices, by TFMA's conventions: precision 1
    and recall 0 where undefined."""
    tp, fp = plot.true_positives, plot.false_positives
    tn, fn = plot.true_negatives, plot.false_negatives
    precision = _ratio(tp, tp + fp, 1.0)
    recall = _ratio(tp, tp + fn, 0.0)
    columns = (
        plot.thresholds,
        tp,
        fp,
        tn,
        fn,
        precision,
        recall,
        _ratio(fp, fp + tn, 0.0),
        _ratio(fn, fn + tn, 0.0),
        _ratio(2 * precision * recall, precision + recall, 0.0),
        _ratio(tp + tn, tp + tn + fp + fn, 0.0),
    )
    add = proto.matrices.add
    # Keyword arguments spelled out: a dict per row costs twice the time.
    for row in np.column_stack(columns).tolist():
        add(
            threshold=row[0],
            true_positives=row[1],
            false_positives=row[2],
            true_negatives=row[3],
            false_negatives=row[4],
            precision=row[5],
            recall=row[6],
            false_positive_rate=row[7],
            false_omission_rate=row[8],
            f1=row[9],
            accuracy=row[10],
        )


def _calibration(
    plot: HistogramPlot, proto: metrics_for_slice_pb2.CalibrationHistogramBuckets
) -> None:
    """Fills `proto` with the plot's calibration buckets."""
    rows = zip(
        plot.bucket_bounds[:-1].tolist(),
        plot.bucket_bounds[1:].tolist(),
        plot.bucket_weights.tolist(),
        plot.bucket_labels.tolist(),
        plot.bucket_predictions.tolist(),
        strict=True,
    )
    add = proto.buckets.add
    for lower, upper, weight, label, prediction in rows:
        bucket = add(lower_threshold_inclusive=lower, upper_threshold_exclusive=upper)
        bucket.num_weighted_examples.value = weight
        bucket.total_weighted_label.value = label
        bucket.total_weighted_refined_prediction.value = prediction


def write_tfma_results(
    results: Sequence[tuple[SliceKey, SliceResult]],
    config: config_pb2.EvalConfig,
    data_location: str,
    model_location: str,
    output: str,
) -> None:
    """Writes what TFMA's `MetricsPlotsAndValidationsWriter` and `EvalConfigWriter` write:
    `metrics-00000-of-00001.tfrecord` and `plots-...` (one `MetricsForSlice` and one
    `PlotsForSlice` per slice) and `eval_config.json`.

    The results are one small list (a few records per slice), so one write here replaces
    TFMA's Beam file sinks, whose dozen stages cost about 1.5 s of every evaluation's start-up.
    """
    converters = {tfma.constants.METRICS_KEY: tfma_metrics, tfma.constants.PLOTS_KEY: tfma_plots}
    for key, convert in converters.items():
        with tf.io.TFRecordWriter(os.path.join(output, f"{key}{_TFMA_SHARD_SUFFIX}")) as writer:
            for item in results:
                writer.write(convert(item).SerializeToString())
    run = config_pb2.EvalRun(
        eval_config=config,
        version=tfma.version.VERSION,
        data_location=data_location,
        file_format="tfrecords",
        model_locations={"": model_location},
    )
    with tf.io.gfile.GFile(os.path.join(output, _EVAL_CONFIG_FILE), "w") as f:
        f.write(json_format.MessageToJson(run))
