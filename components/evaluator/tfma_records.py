"""TFMA's records of the results: metrics and plots per slice, as TFMA's writer makes them.

`write_tfma_results` writes what `tfma.writers.MetricsPlotsAndValidationsWriter` and
`EvalConfigWriter` write (see `writers` for the layout). `tfma_metrics` and `tfma_plots` build
each slice's records directly, byte for byte what TFMA's `convert_slice_metrics_to_proto` and
`convert_slice_plots_to_proto` make (the tests compare them), at a fraction of their cost per
metric: with 10,000 slices or a head of 100,000 classes that cost was most of the writing.
"""

from __future__ import annotations

import contextlib
import functools
import operator
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import tensorflow as tf
import tensorflow_model_analysis as tfma
from google.protobuf import json_format, wrappers_pb2
from google.protobuf.descriptor import FieldDescriptor
from tensorflow_model_analysis.proto import config_pb2, metrics_for_slice_pb2
from tensorflow_model_analysis.slicer.slicer_lib import serialize_slice_key

from tfx_heads.components.evaluator.combine import SliceResult
from tfx_heads.components.evaluator.plots import HistogramPlot
from tfx_heads.components.evaluator.slicing import SliceKey

_TFMA_SHARD_SUFFIX = "-00000-of-00001.tfrecord"
"""The file name TFMA's writer gives its single shard (`metrics` + this)."""
_EVAL_CONFIG_FILE = "eval_config.json"
"""`tfma.writers.EvalConfigWriter`'s file, which `tfma.load_eval_result` reads."""


def tfma_metrics(item: tuple[SliceKey, SliceResult]) -> bytes:
    """The serialized `MetricsForSlice` of a slice, as TFMA's `convert_slice_metrics_to_proto`
    makes it from `{MetricKey(name=key): value}` (a `BoundedValue` with bootstrap): one entry
    per metric, in the result's order (TFMA sorts the keys, but `MetricKey.__lt__` is False
    for every pair of unweighted keys, so its sort keeps their order); with bootstrap the
    value and its interval's bounds.

    Written as protobuf's wire format directly, every entry at once by NumPy (`_Pieces`):
    TFMA's per-key conversion costs about 15 microseconds a metric and protobuf's API about
    4, which a head of 100,000 classes or 10,000 slices multiply."""
    slice_key, result = item
    keys = list(result.metrics)
    entry = _METRICS.fields_by_name["metric_keys_and_values"]
    fields = entry.message_type.fields_by_name
    key_fields = fields["key"].message_type.fields_by_name
    pieces = _Pieces(len(keys))
    with pieces.message(entry):
        with pieces.message(fields["key"]):
            pieces.string(key_fields["name"], keys)
            with pieces.message(key_fields["example_weighted"]):  # False: an empty BoolValue.
                pass
        with pieces.message(fields["value"]):
            pieces.double_value(_float64(result.metrics.values()))
        if result.intervals is not None:
            intervals = [result.intervals[key] for key in keys]
            interval = fields["confidence_interval"]
            bound_fields = interval.message_type.fields_by_name
            with pieces.message(interval):
                for name, bound in (("upper_bound", "upper"), ("lower_bound", "lower")):
                    with pieces.message(bound_fields[name]):  # In field number order.
                        pieces.double_value(_float64(map(operator.attrgetter(bound), intervals)))
    slice_field = _field(
        _METRICS.fields_by_name["slice_key"], serialize_slice_key(slice_key).SerializeToString()
    )
    return slice_field + pieces.rows()


def _float64(values: Iterable[float]) -> np.ndarray:
    """float64 `[len(values)]`: Python floats (or ints) keep their bits, NaN's included."""
    return np.fromiter(values, np.float64)


_Piece = tuple[np.ndarray, np.ndarray]
"""The bytes of one part of every row (uint8, row after row) and each row's byte count."""


class _Pieces:
    """The wire format of `rows` messages of the same fields, built a field at a time for
    all rows at once (`_Piece`s); `rows` joins each row's pieces in the order added.

    `message` adds a length-delimited field holding what is added inside it, in every row;
    `string` a string field per row (left out where empty); `double_value` a
    `MetricValue.double_value` per row (its `value` left out where its bits are 0, as
    protobuf does in proto3)."""

    def __init__(self, rows: int) -> None:
        self._count = rows
        self._pieces: list[_Piece] = []

    @contextlib.contextmanager
    def message(self, field: FieldDescriptor) -> Iterator[None]:
        start = len(self._pieces)
        yield
        lengths = np.zeros(self._count, np.int64)
        for _, widths in self._pieces[start:]:
            lengths += widths
        every = np.ones(self._count, bool)
        self._pieces[start:start] = [
            _constant(_tag(field, _LENGTH), every),
            _varints(lengths, every),
        ]

    def string(self, field: FieldDescriptor, values: Sequence[str]) -> None:
        text = "".join(values)
        data = text.encode()
        if len(data) == len(text):  # ASCII: a byte a character.
            lengths = np.fromiter(map(len, values), np.int64, len(values))
        else:
            lengths = np.fromiter((len(value.encode()) for value in values), np.int64)
        present = lengths > 0
        self._pieces += [
            _constant(_tag(field, _LENGTH), present),
            _varints(lengths, present),
            (np.frombuffer(data, np.uint8), lengths),
        ]

    def double_value(self, values: np.ndarray) -> None:
        """`values`: float64 `[rows]`."""
        with self.message(_METRIC_VALUE.fields_by_name["double_value"]):
            present = values.view(np.uint64) != 0
            tag = _tag(_DOUBLE_VALUE.fields_by_name["value"], _FIXED64)
            value = (values[present].astype("<f8").view(np.uint8), present * 8)
            self._pieces += [_constant(tag, present), value]

    def rows(self) -> bytes:
        """The rows' bytes, one after another."""
        row_widths = np.zeros(self._count, np.int64)
        for _, widths in self._pieces:
            row_widths += widths
        starts = np.cumsum(row_widths) - row_widths  # Then each piece's, in turn.
        out = np.empty(int(row_widths.sum()), np.uint8)
        for data, widths in self._pieces:
            out[_positions(starts, widths)] = data
            starts += widths
        return out.tobytes()


def _constant(data: bytes, where: np.ndarray) -> _Piece:
    """The `_Piece` of `data` in the rows `where` (bool `[rows]`)."""
    data_array = np.frombuffer(data, np.uint8)
    return np.tile(data_array, int(where.sum())), where * len(data)


def _varints(values: np.ndarray, where: np.ndarray) -> _Piece:
    """The `_Piece` of the varints of `values` (int64 `[rows]`, >= 0) in the rows `where`:
    7 bits a byte, low bits first, the high bit set on all bytes but the last."""
    shifts = 7 * np.arange(max(1, (int(values.max(initial=0)).bit_length() + 6) // 7))
    widths = np.maximum(1, np.sum(values[:, None] >> shifts > 0, axis=1)) * where
    more = shifts < 7 * (widths[:, None] - 1)
    digits = (values[:, None] >> shifts) & 0x7F | more << 7
    return digits[shifts < 7 * widths[:, None]].astype(np.uint8), widths


def _positions(starts: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """`starts[r] + j` for each `j < widths[r]`, row after row."""
    width = int(widths.max(initial=0))
    if widths.min(initial=width) == width:  # One width in every row (a tag): not ragged.
        return starts if width == 1 else (starts[:, None] + np.arange(width)).ravel()
    positions = np.repeat(starts - (np.cumsum(widths) - widths), widths)
    positions += np.arange(len(positions))
    return positions


def tfma_plots(item: tuple[SliceKey, SliceResult]) -> bytes:
    """The serialized `PlotsForSlice` of a slice, as TFMA's `convert_slice_plots_to_proto`
    makes it from `{PlotKey(name, output_name, sub_key): plot}`: per curve, in order, one
    entry under its key without the plot name, holding its calibration buckets and
    confusion matrices.

    Written as protobuf's wire format directly, the rows by NumPy (`_rows`): protobuf's C++
    backend (3.20, by reflection) builds and serializes about 2 microseconds per matrix row,
    most of the writing time of 10,000 slices, where NumPy writes all rows of a plot at once.
    """
    slice_key, result = item
    plots = _PLOTS.fields_by_name
    parts = [_field(plots["slice_key"], serialize_slice_key(slice_key).SerializeToString())]
    entry = plots["plot_keys_and_values"].message_type.fields_by_name
    data = entry["value"].message_type.fields_by_name
    for plot in result.plots:
        key = metrics_for_slice_pb2.PlotKey(output_name=plot.output_name)
        if plot.class_id is not None:
            key.sub_key.class_id.value = plot.class_id
        key.example_weighted.value = False
        value = _field(data["calibration_histogram_buckets"], _calibration(plot))
        value += _field(data["confusion_matrix_at_thresholds"], _confusion(plot))
        payload = _field(entry["key"], key.SerializeToString()) + _field(entry["value"], value)
        parts.append(_field(plots["plot_keys_and_values"], payload))
    return b"".join(parts)


def _ratio(numerator: np.ndarray, denominator: np.ndarray, empty: float) -> np.ndarray:
    out = np.full(np.shape(numerator), empty, np.float64)
    return np.divide(numerator, denominator, out=out, where=denominator > 0)


def _confusion(plot: HistogramPlot) -> bytes:
    """The serialized `ConfusionMatrixAtThresholds` of the plot, by TFMA's conventions:
    precision 1 and recall 0 where undefined."""
    tp, fp = plot.true_positives, plot.false_positives
    tn, fn = plot.true_negatives, plot.false_negatives
    precision = _ratio(tp, tp + fp, 1.0)
    recall = _ratio(tp, tp + fn, 0.0)
    columns = {
        "threshold": plot.thresholds,
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
    return _rows(_CONFUSION.fields_by_name["matrices"], columns)


def _calibration(plot: HistogramPlot) -> bytes:
    """The serialized `CalibrationHistogramBuckets` of the plot."""
    columns = {
        "lower_threshold_inclusive": plot.bucket_bounds[:-1],
        "upper_threshold_exclusive": plot.bucket_bounds[1:],
        "num_weighted_examples": plot.bucket_weights,
        "total_weighted_label": plot.bucket_labels,
        "total_weighted_refined_prediction": plot.bucket_predictions,
    }
    return _rows(_CALIBRATION.fields_by_name["buckets"], columns)


def _rows(field: FieldDescriptor, columns: Mapping[str, np.ndarray]) -> bytes:
    """The repeated message `field` with one message per row of `columns` (field name to
    float64 values, each a `double` or a `google.protobuf.DoubleValue` field), as protobuf
    writes it: fields in number order; a `double` left out where its bits are 0 (proto3), a
    `DoubleValue` always there, empty where its value's bits are 0."""
    layout = _row_layout(field, tuple(columns))
    values = np.column_stack(list(columns.values())).astype("<f8")
    present = values.view("<u8") != 0
    out = np.empty((len(values), layout.template.size), np.uint8)
    out[:] = layout.template
    out[:, layout.value_bytes] = values.view(np.uint8)
    out[:, layout.length_bytes] = np.where(present[:, layout.wrapped], 9, 0)
    keep = np.ones(out.shape, bool)
    keep[:, layout.optional] = present[:, layout.owners]
    lengths = keep.sum(axis=1) - layout.row_prefix
    if lengths.size and lengths.max() > 127:  # A one-byte length: at most 11 doubles a row.
        raise ValueError(f"rows of {field.full_name} over 127 bytes: {lengths.max()}")
    out[:, layout.row_prefix - 1] = lengths
    return out[keep].tobytes()


class _RowLayout(NamedTuple):
    """The bytes of one row of `_rows`, the same for every row but for the values."""

    template: np.ndarray
    """uint8: the row's tag, its length (0 here), then per field its tag (and a
    `DoubleValue`'s length and inner tag) and 8 value bytes (0 here)."""
    row_prefix: int
    """Bytes before the row's fields (its tag and length)."""
    value_bytes: np.ndarray
    """Where each column's 8 value bytes go, in column order."""
    wrapped: np.ndarray
    """The columns that are `DoubleValue` fields; `length_bytes`: where their lengths go."""
    length_bytes: np.ndarray
    optional: np.ndarray
    """The bytes written only where a column's value is not 0; `owners`: their columns."""
    owners: np.ndarray


@functools.lru_cache(maxsize=8)
def _row_layout(field: FieldDescriptor, names: tuple[str, ...]) -> _RowLayout:
    """The `_RowLayout` of the repeated message `field` holding the fields `names`."""
    message = field.message_type.fields_by_name
    template = [*_tag(field, _LENGTH), 0]
    owners: list[int] = [-1] * len(template)  # The column a byte needs (-1: always written).
    value_bytes: list[range] = [range(0)] * len(names)
    wrapped, length_bytes = [], []

    def put(data: bytes, owner: int) -> None:
        template.extend(data)
        owners.extend([owner] * len(data))

    for column in sorted((message[name] for name in names), key=_number):
        index = names.index(column.name)
        if column.type == FieldDescriptor.TYPE_MESSAGE:
            put(_tag(column, _LENGTH), -1)
            wrapped.append(index)
            length_bytes.append(len(template))
            put(b"\0", -1)
            put(_tag(column.message_type.fields_by_name["value"], _FIXED64), index)
        else:
            put(_tag(column, _FIXED64), index)
        value_bytes[index] = range(len(template), len(template) + 8)
        put(bytes(8), index)
    owner_array = np.array(owners)
    return _RowLayout(
        template=np.array(template, np.uint8),
        row_prefix=len(_tag(field, _LENGTH)) + 1,
        value_bytes=np.array([list(r) for r in value_bytes]).ravel(),
        wrapped=np.array(wrapped, np.int64),
        length_bytes=np.array(length_bytes, np.int64),
        optional=np.flatnonzero(owner_array >= 0),
        owners=owner_array[owner_array >= 0],
    )


_FIXED64, _LENGTH = 1, 2
"""Protobuf wire types: an 8-byte value, a length-delimited value."""
_METRICS = metrics_for_slice_pb2.MetricsForSlice.DESCRIPTOR
_METRIC_VALUE = metrics_for_slice_pb2.MetricValue.DESCRIPTOR
_DOUBLE_VALUE = wrappers_pb2.DoubleValue.DESCRIPTOR
_PLOTS = metrics_for_slice_pb2.PlotsForSlice.DESCRIPTOR
_CONFUSION = metrics_for_slice_pb2.ConfusionMatrixAtThresholds.DESCRIPTOR
_CALIBRATION = metrics_for_slice_pb2.CalibrationHistogramBuckets.DESCRIPTOR


def _number(field: FieldDescriptor) -> int:
    return field.number


def _tag(field: FieldDescriptor, wire_type: int) -> bytes:
    return _varint(field.number << 3 | wire_type)


def _field(field: FieldDescriptor, payload: bytes) -> bytes:
    """A length-delimited field (a message) as protobuf writes it."""
    return _tag(field, _LENGTH) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


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
