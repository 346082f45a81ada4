"""TFMA's records of the results: metrics and plots per slice, as TFMA's writer makes them.

`write_tfma_results` writes what `tfma.writers.MetricsPlotsAndValidationsWriter` and
`EvalConfigWriter` write (see `writers` for the layout). `tfma_metrics_many` and
`tfma_plots_many` build the records of many slices directly, in one NumPy pass for all of
them (`wire_format`), byte for byte what TFMA's `convert_slice_metrics_to_proto` and
`convert_slice_plots_to_proto` make (the tests compare them), at a fraction of their cost per
metric: with 10,000 slices or a head of 100,000 classes that cost was most of the writing.
`tfma_metrics` and `tfma_plots` are their one-slice cases.
"""

from __future__ import annotations

import functools
import operator
import os
from collections.abc import Iterable, Sequence
from itertools import chain

import numpy as np
import tensorflow as tf
import tensorflow_model_analysis as tfma
from google.protobuf import json_format, wrappers_pb2
from google.protobuf.descriptor import Descriptor
from tensorflow_model_analysis.proto import config_pb2, metrics_for_slice_pb2
from tensorflow_model_analysis.slicer.slicer_lib import serialize_slice_key

from tfx_heads.components.evaluator import wire_format
from tfx_heads.components.evaluator.bootstrap import Interval
from tfx_heads.components.evaluator.combine import SliceResult
from tfx_heads.components.evaluator.plots import HistogramPlot
from tfx_heads.components.evaluator.slicing import SliceKey

_TFMA_SHARD_SUFFIX = "-00000-of-00001.tfrecord"
"""The file name TFMA's writer gives its single shard (`metrics` + this)."""
_EVAL_CONFIG_FILE = "eval_config.json"
"""`tfma.writers.EvalConfigWriter`'s file, which `tfma.load_eval_result` reads."""


def tfma_metrics(item: tuple[SliceKey, SliceResult]) -> bytes:
    """The serialized `MetricsForSlice` of a slice (`tfma_metrics_many` of one)."""
    return tfma_metrics_many([item])[0]


def tfma_metrics_many(items: Sequence[tuple[SliceKey, SliceResult]]) -> list[bytes]:
    """The serialized `MetricsForSlice` of each slice, as TFMA's
    `convert_slice_metrics_to_proto` makes it from `{MetricKey(name=key): value}` (a
    `BoundedValue` with bootstrap): one entry per metric, in the result's order (TFMA sorts
    the keys, but `MetricKey.__lt__` is False for every pair of unweighted keys, so its sort
    keeps their order); with bootstrap the value and its interval's bounds.

    Written as protobuf's wire format directly, the entries of every slice at once by NumPy
    (`wire_format.Pieces`, a row per metric), then cut per slice: TFMA's per-key conversion
    costs about 15 microseconds a metric and protobuf's API about 4, which a head of 100,000
    classes or 10,000 slices multiply, and NumPy's own cost per call, tens of calls a
    record, is paid once for all slices."""
    results = [result for _, result in items]
    counts = [len(result.metrics) for result in results]
    entry = _METRICS.fields_by_name["metric_keys_and_values"]
    fields = entry.message_type.fields_by_name
    key_fields = fields["key"].message_type.fields_by_name
    pieces = wire_format.Pieces(sum(counts))
    with pieces.message(entry):
        with pieces.message(fields["key"]):
            pieces.string(key_fields["name"], [key for result in results for key in result.metrics])
            with pieces.message(key_fields["example_weighted"]):  # False: an empty BoolValue.
                pass
        with pieces.message(fields["value"]):
            values = chain.from_iterable(result.metrics.values() for result in results)
            _double_value(pieces, _float64(values))
        if any(result.intervals is not None for result in results):
            bounded, bounds = _bounds(results, counts)
            interval = fields["confidence_interval"]
            bound_fields = interval.message_type.fields_by_name
            with pieces.message(interval, bounded):
                for name, values in (("upper_bound", bounds[1]), ("lower_bound", bounds[0])):
                    with pieces.message(bound_fields[name]):  # In field number order.
                        _double_value(pieces, values)
    entries = wire_format.split(*pieces.rows(), counts)
    keys = [_slice_field(_METRICS, slice_key) for slice_key, _ in items]
    return [key + part for key, part in zip(keys, entries, strict=True)]


def _double_value(pieces: wire_format.Pieces, values: np.ndarray) -> None:
    """A `MetricValue.double_value` per row of `values` (float64 `[rows]`)."""
    with pieces.message(_METRIC_VALUE.fields_by_name["double_value"]):
        pieces.double(_DOUBLE_VALUE.fields_by_name["value"], values)


def _bounds(
    results: Sequence[SliceResult], counts: Sequence[int]
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Which metric rows of `results` have intervals (bool), and their lower and upper
    bounds (float64, 0 in the rows without)."""
    intervals: list[Interval] = []
    for result, count in zip(results, counts, strict=True):
        if result.intervals is None:
            intervals += [_NO_INTERVAL] * count
        else:
            intervals += [result.intervals[key] for key in result.metrics]
    bounded = np.repeat([result.intervals is not None for result in results], counts)
    lower = _float64(map(operator.attrgetter("lower"), intervals))
    return bounded.astype(bool), (lower, _float64(map(operator.attrgetter("upper"), intervals)))


_NO_INTERVAL = Interval(0.0, 0.0, 0.0, 0, 0.0, 0.0)
"""The stand-in of a metric without an interval (its bounds are not written)."""


def _float64(values: Iterable[float]) -> np.ndarray:
    """float64 `[len(values)]`: Python floats (or ints) keep their bits, NaN's included."""
    return np.fromiter(values, np.float64)


def _slice_field(record: Descriptor, slice_key: SliceKey) -> bytes:
    """The `slice_key` field of a `MetricsForSlice` or `PlotsForSlice` record."""
    serialized = serialize_slice_key(slice_key).SerializeToString()
    return wire_format.delimited(record.fields_by_name["slice_key"], serialized)


def tfma_plots(item: tuple[SliceKey, SliceResult]) -> bytes:
    """The serialized `PlotsForSlice` of a slice (`tfma_plots_many` of one)."""
    return tfma_plots_many([item])[0]


def tfma_plots_many(items: Sequence[tuple[SliceKey, SliceResult]]) -> list[bytes]:
    """The serialized `PlotsForSlice` of each slice, as TFMA's `convert_slice_plots_to_proto`
    makes it from `{PlotKey(name, output_name, sub_key): plot}`: per curve, in order, one
    entry under its key without the plot name, holding its calibration buckets and
    confusion matrices.

    Written as protobuf's wire format directly, the rows of every plot of every slice by one
    NumPy call per message type (`wire_format.repeated_rows`), then cut per plot: protobuf's
    C++ backend (3.20, by reflection) builds and serializes about 2 microseconds per matrix
    row, most of the writing time of 10,000 slices."""
    curves = [plot for _, result in items for plot in result.plots]
    entries = [
        _plot_entry(_plot_key(plot.output_name, plot.class_id), buckets, matrices)
        for plot, buckets, matrices in zip(
            curves, _calibration(curves), _confusion(curves), strict=True
        )
    ]
    ends = np.cumsum([len(result.plots) for _, result in items], dtype=np.int64).tolist()
    return [
        b"".join(
            [
                _slice_field(_PLOTS, key),
                *chain.from_iterable(entries[end - len(result.plots) : end]),
            ]
        )
        for (key, result), end in zip(items, ends, strict=True)
    ]


def _plot_entry(key: bytes, buckets: memoryview, matrices: memoryview) -> list[bytes | memoryview]:
    """The parts of a `plot_keys_and_values` entry: its `key` field (a `_plot_key`), and the
    serialized buckets and matrices of its plot, under their fields' tags and lengths
    (joined once, with the slice's other entries)."""
    calibration = _CALIBRATION_TAG + wire_format.varint(len(buckets))
    confusion = _CONFUSION_TAG + wire_format.varint(len(matrices))
    value_length = len(calibration) + len(buckets) + len(confusion) + len(matrices)
    value = _VALUE_TAG + wire_format.varint(value_length)
    length = len(key) + len(value) + value_length
    return [
        _ENTRY_TAG + wire_format.varint(length) + key + value + calibration,
        buckets,
        confusion,
        matrices,
    ]


@functools.lru_cache(maxsize=1024)
def _plot_key(output_name: str, class_id: int | None) -> bytes:
    """The `key` field of a curve's `plot_keys_and_values` entry: its `PlotKey` (no plot
    name; unweighted)."""
    key = metrics_for_slice_pb2.PlotKey(output_name=output_name)
    if class_id is not None:
        key.sub_key.class_id.value = class_id
    key.example_weighted.value = False
    return wire_format.delimited(_ENTRY.fields_by_name["key"], key.SerializeToString())


def _ratio(numerator: np.ndarray, denominator: np.ndarray, empty: float) -> np.ndarray:
    out = np.full(np.shape(numerator), empty, np.float64)
    return np.divide(numerator, denominator, out=out, where=denominator > 0)


def _confusion(plots: Sequence[HistogramPlot]) -> list[memoryview]:
    """The serialized `ConfusionMatrixAtThresholds.matrices` of each plot, by TFMA's
    conventions: precision 1 and recall 0 where undefined."""
    tp, fp, tn, fn = (
        _joined([getattr(plot, name) for plot in plots])
        for name in ("true_positives", "false_positives", "true_negatives", "false_negatives")
    )
    precision = _ratio(tp, tp + fp, 1.0)
    recall = _ratio(tp, tp + fn, 0.0)
    columns = {
        "threshold": _joined([plot.thresholds for plot in plots]),
        "true_positives": tp,
        "false_positives": fp,
        "true_negatives": tn,
        "false_negatives": fn,
        "precision": precision,
        "recall": recall,
        "false_positive_rate": _ratio(fp, fp + tn, 0.0),
        "false_omission_rate": _ratio(fn, fn + tn, 0.0),
        "f1": _ratio(2 * precision * recall, precision + recall, 0.0),
        "accuracy": _ratio(tp + tn, tp + tn + fp + fn, 0.0),
    }
    rows = wire_format.repeated_rows(_CONFUSION.fields_by_name["matrices"], columns)
    return wire_format.split(*rows, [len(plot.true_positives) for plot in plots])


def _calibration(plots: Sequence[HistogramPlot]) -> list[memoryview]:
    """The serialized `CalibrationHistogramBuckets.buckets` of each plot."""
    columns = {
        "lower_threshold_inclusive": _joined([plot.bucket_bounds[:-1] for plot in plots]),
        "upper_threshold_exclusive": _joined([plot.bucket_bounds[1:] for plot in plots]),
        "num_weighted_examples": _joined([plot.bucket_weights for plot in plots]),
        "total_weighted_label": _joined([plot.bucket_labels for plot in plots]),
        "total_weighted_refined_prediction": _joined([plot.bucket_predictions for plot in plots]),
    }
    rows = wire_format.repeated_rows(_CALIBRATION.fields_by_name["buckets"], columns)
    return wire_format.split(*rows, [len(plot.bucket_weights) for plot in plots])


def _joined(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """float64: `arrays` one after another (empty without any)."""
    return np.concatenate(arrays, dtype=np.float64) if arrays else np.empty(0)


_METRICS = metrics_for_slice_pb2.MetricsForSlice.DESCRIPTOR
_METRIC_VALUE = metrics_for_slice_pb2.MetricValue.DESCRIPTOR
_DOUBLE_VALUE = wrappers_pb2.DoubleValue.DESCRIPTOR
_PLOTS = metrics_for_slice_pb2.PlotsForSlice.DESCRIPTOR
_CONFUSION = metrics_for_slice_pb2.ConfusionMatrixAtThresholds.DESCRIPTOR
_CALIBRATION = metrics_for_slice_pb2.CalibrationHistogramBuckets.DESCRIPTOR
_ENTRY = _PLOTS.fields_by_name["plot_keys_and_values"].message_type
_PLOT_DATA = _ENTRY.fields_by_name["value"].message_type
_ENTRY_TAG = wire_format.tag(_PLOTS.fields_by_name["plot_keys_and_values"], wire_format.LENGTH)
_VALUE_TAG = wire_format.tag(_ENTRY.fields_by_name["value"], wire_format.LENGTH)
_CALIBRATION_TAG = wire_format.tag(
    _PLOT_DATA.fields_by_name["calibration_histogram_buckets"], wire_format.LENGTH
)
_CONFUSION_TAG = wire_format.tag(
    _PLOT_DATA.fields_by_name["confusion_matrix_at_thresholds"], wire_format.LENGTH
)


def write_tfma_results(
    records: Sequence[tuple[bytes, bytes]],
    config: config_pb2.EvalConfig,
    data_location: str,
    model_location: str,
    output: str,
) -> None:
    """Writes what TFMA's `MetricsPlotsAndValidationsWriter` and `EvalConfigWriter` write:
    `metrics-00000-of-00001.tfrecord` and `plots-...` (one `MetricsForSlice` and one
    `PlotsForSlice` per slice: `records` holds each slice's two, from `tfma_metrics` and
    `tfma_plots`, in the order written) and `eval_config.json`.

    The records are one small list (two per slice), so one write here replaces TFMA's Beam
    file sinks, whose dozen stages cost about 1.5 s of every evaluation's start-up.
    """
    for column, key in enumerate((tfma.constants.METRICS_KEY, tfma.constants.PLOTS_KEY)):
        with tf.io.TFRecordWriter(os.path.join(output, f"{key}{_TFMA_SHARD_SUFFIX}")) as writer:
            for slice_records in records:
                writer.write(slice_records[column])
    run = config_pb2.EvalRun(
        eval_config=config,
        version=tfma.version.VERSION,
        data_location=data_location,
        file_format="tfrecords",
        model_locations={"": model_location},
    )
    with tf.io.gfile.GFile(os.path.join(output, _EVAL_CONFIG_FILE), "w") as f:
        f.write(json_format.MessageToJson(run))
