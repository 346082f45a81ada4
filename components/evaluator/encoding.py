"""Encoding a finished slice as it is written: its TFMA records and its `metrics.json` entry.

Slices are encoded where they are finalized (`EncodeSlices` right after the combine, and a
slice group's combine itself, `slice_groups`), so a finished slice travels to the single
write (`writers.WriteResults`) as a few byte strings: its serialized `MetricsForSlice` and
`PlotsForSlice` (`tfma_records`) and its `metrics.json` entry as JSON text (`slice_entry`,
structured per head by `head_metrics`). The slices finalized together (a group's, or a
bundle's) are encoded together, their TFMA records in one NumPy pass
(`tfma_records.tfma_metrics_many`, `tfma_plots_many`), so that a slice costs tens of
microseconds, not a few hundred, and travel as one `EncodedSlices`.
"""

from __future__ import annotations

import json
import operator
import os
import pickle
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from math import isfinite
from typing import Any, NamedTuple

import apache_beam as beam
import numpy as np
import tensorflow as tf
from apache_beam.transforms.window import GlobalWindows
from apache_beam.utils.windowed_value import WindowedValue

from heads.description import HeadDescription
from heads.stats.metric_keys import StatsMetricKeys, suffixed
from tfx_heads.components.evaluator import constants
from tfx_heads.components.evaluator.coders import BatchCoder
from tfx_heads.components.evaluator.combine import SliceResult
from tfx_heads.components.evaluator.head_metrics import HeadMetricLayout, json_string_bodies
from tfx_heads.components.evaluator.slicing import SliceKey
from tfx_heads.components.evaluator.tfma_records import tfma_metrics_many, tfma_plots_many


def count_keys(head: HeadDescription) -> tuple[str, str]:
    """The metric keys of a head's example count and weighted example count (a MultiHead's
    example count, and its first head's weighted count)."""
    return (
        suffixed(StatsMetricKeys.EXAMPLE_COUNT, head.name),
        suffixed(StatsMetricKeys.WEIGHTED_EXAMPLE_COUNT, head.single_heads[0].name),
    )


def slice_entry(
    item: tuple[SliceKey, SliceResult], layout: HeadMetricLayout, keys: tuple[str, str]
) -> dict[str, Any]:
    """One slice's entry of `metrics.json`; `keys` are the head's `count_keys`."""
    slice_key, result = item
    count_key, weighted_key = keys
    entry: dict[str, Any] = {
        "slice": dict(slice_key),
        "example_count": int(result.metrics.get(count_key, 0)),
        "weighted_example_count": float(result.metrics.get(weighted_key, 0.0)),
    }
    entry.update(_result_entry(result, layout))
    return entry


def _result_entry(result: SliceResult, layout: HeadMetricLayout) -> dict[str, Any]:
    """The part of a slice's entry after its counts: its metrics, as they are and per head,
    and whether it has only counts, and its intervals."""
    entry: dict[str, Any] = {
        "metrics": dict(result.metrics),
        "heads": layout.entries(result.metrics, result.intervals),
    }
    if result.counts_only:
        entry["counts_only"] = True
    if result.intervals is not None:
        entry["confidence_intervals"] = {
            key: {
                "lower": interval.lower,
                "upper": interval.upper,
                "standard_error": interval.standard_error,
            }
            for key, interval in result.intervals.items()
        }
    return entry


def _result_json(layout: HeadMetricLayout, shape: tuple, texts: Sequence[str]) -> str:
    """`json.dumps(_result_entry(...))` of a slice of `shape` (its metric keys, interval keys
    or None, counts only), from the JSON texts of its values (`SliceEncoder.entry_text`'s
    order: the metrics', then each interval's lower, upper and standard error bounds)."""
    keys, interval_keys, counts_only = shape
    metrics = dict(zip(keys, texts[: len(keys)], strict=True))
    intervals = {}
    if interval_keys is not None:
        bounds = [texts[len(keys) + index :: 3] for index in range(3)]
        intervals = {
            key: f'{{"lower": {lower}, "upper": {upper}, "standard_error": {error}}}'
            for key, lower, upper, error in zip(interval_keys, *bounds, strict=True)
        }
    text = f'{{"metrics": {_object_json(metrics)}, "heads": '
    text += layout.entries_json(metrics, intervals)
    if counts_only:
        text += ', "counts_only": true'
    if interval_keys is not None:
        text += f', "confidence_intervals": {_object_json(intervals)}'
    return text + "}"


def _object_json(texts: Mapping[str, str]) -> str:
    """The JSON object of `texts`' keys and the values whose JSON texts they map to."""
    pairs = zip(json_string_bodies(list(texts)), texts.values(), strict=True)
    return "{" + ", ".join([f'"{key}": {text}' for key, text in pairs]) + "}"


class _EntryTemplate(NamedTuple):
    """`json.dumps` of `_result_entry` for the slices of one shape (metric keys, interval
    keys, counts only) as a `%` format, a `%s` per value, and which value fills each."""

    text: str
    values: Callable[[list[str]], tuple[str, ...]]

    @classmethod
    def of(cls, layout: HeadMetricLayout, shape: tuple) -> _EntryTemplate:
        """The template of `shape`: `_result_json` of marks in place of the values' texts
        (`\0<index>\0`: a NUL is never raw in JSON text), cut at the marks."""
        keys, interval_keys, _ = shape
        marks = [f"\0{index}\0" for index in range(len(keys) + 3 * len(interval_keys or ()))]
        parts = _result_json(layout, shape, marks).replace("%", "%%").split("\0")
        indices = list(map(int, parts[1::2]))
        if len(indices) > 1:
            return cls("%s".join(parts[::2]), operator.itemgetter(*indices))
        return cls("%s".join(parts[::2]), lambda texts: tuple(texts[index] for index in indices))


def _number(value: Any) -> str:
    """`json.dumps(value)` of a metric's value (a float's repr but for NaN and infinities)."""
    if isinstance(value, float) and isfinite(value):
        return float.__repr__(value)
    return json.dumps(value)


class EncodedJSON(str):
    """A JSON text that `json_lines` writes as it is (a slice entry encoded on its worker)."""


class EncodedSlice(NamedTuple):
    """A slice's results as they are written: TFMA's records and its `metrics.json` entry."""

    slice_key: SliceKey
    metrics_record: bytes
    """The serialized `MetricsForSlice` (`tfma_records.tfma_metrics`)."""
    plots_record: bytes
    """The serialized `PlotsForSlice` (`tfma_records.tfma_plots`)."""
    entry: EncodedJSON
    """The slice's `metrics.json` entry (`slice_entry`) as JSON."""


class EncodedSlices(NamedTuple):
    """Slices encoded together (a slice group's, or up to 1,024 of a bundle's), as one Beam
    element: their keys, and the file where their records and entries are (`pack`,
    `unpack`).

    The records are most of an evaluation's output (about 16 KB of plots a slice of 100
    examples: 160 MB for 10,000 slices); written where they are encoded, as Beam's file
    sinks write temporary shards, they do not travel through the runner (encoded, copied
    between stages, sized, decoded: about a second for those 160 MB in-process), and the
    final write reads them once. `writers.WriteResults` removes the files.
    """

    keys: bytes
    """The pickled list of the slices' keys."""
    path: str
    """The file holding every slice's metrics record, then every plots record, then every
    `metrics.json` entry (UTF-8)."""
    ends: np.ndarray
    """int64 `[3, S]`: where each slice's metrics record, plots record and entry end in the
    file."""

    @classmethod
    def pack(cls, items: Sequence[EncodedSlice], directory: str) -> EncodedSlices:
        """Writes `items`' records and entries into a new file of `directory`."""
        entries = [item.entry.encode() for item in items]
        columns = [[item.metrics_record for item in items], [item.plots_record for item in items]]
        columns.append(entries)
        lengths = np.array([[len(value) for value in column] for column in columns], np.int64)
        ends = np.cumsum(lengths.reshape(-1)).reshape(3, len(items))
        tf.io.gfile.makedirs(directory)
        path = os.path.join(directory, f"{uuid.uuid4().hex}.slices")
        with tf.io.gfile.GFile(path, "wb") as f:
            f.write(b"".join(value for column in columns for value in column))
        keys = pickle.dumps([item.slice_key for item in items], pickle.HIGHEST_PROTOCOL)
        return cls(keys, path, ends)

    def unpack(self) -> list[EncodedSlice]:
        """The slices' `EncodedSlice`s, in order (read from `path`)."""
        with tf.io.gfile.GFile(self.path, "rb") as f:
            data = f.read()
        ends = self.ends.reshape(-1)
        starts = np.zeros_like(ends)
        starts[1:] = ends[:-1]  # each part starts where the one before it ends
        starts, ends = starts.reshape(self.ends.shape).tolist(), self.ends.tolist()
        return [
            EncodedSlice(key, data[m0:m1], data[p0:p1], EncodedJSON(data[e0:e1].decode()))
            for key, m0, p0, e0, m1, p1, e1 in zip(
                pickle.loads(self.keys), *starts, *ends, strict=True
            )
        ]


def encoded_slices_directory(output: str) -> str:
    """A new directory under an evaluation's `output` for its `EncodedSlices` files (one per
    run: a retried or failed run leaves its own, which the final write does not read)."""
    return os.path.join(output, f"{constants.ENCODED_SLICES_PREFIX}{uuid.uuid4().hex}")


class EncodedSlicesCoder(BatchCoder):
    """`BatchCoder` of `EncodedSlices`, sized by their keys' and offsets' bytes."""

    def estimate_size(self, value: EncodedSlices) -> int:
        return len(value.keys) + len(value.path) + value.ends.nbytes


beam.coders.registry.register_coder(EncodedSlices, EncodedSlicesCoder)


class SliceEncoder:
    """Encodes `(slice key, SliceResult)` into an `EncodedSlice`.

    Done where the slice is finalized (`EncodeSlices`, `slice_groups`): a finished slice then
    travels to the writer as a few byte strings, not as metrics and plot arrays that Beam
    pickles again at every stage boundary (about 8 times a slice before the final write),
    and the encoding of many slices is spread over the workers.
    """

    def __init__(self, head: HeadDescription) -> None:
        self._layout = HeadMetricLayout(head)
        self._keys = count_keys(head)
        self._templates: dict[tuple, _EntryTemplate] = {}
        self._seen: set[tuple] = set()
        """The entry shapes met once (see `entry_text`)."""

    def __call__(self, item: tuple[SliceKey, SliceResult]) -> EncodedSlice:
        return self.encode_many([item])[0]

    def encode_many(self, items: Sequence[tuple[SliceKey, SliceResult]]) -> list[EncodedSlice]:
        """Each slice's `EncodedSlice`, in order: their TFMA records built together (one
        NumPy pass for `_GROUP_SLICES` slices at a time, `tfma_metrics_many`,
        `tfma_plots_many`), so that the cost of a slice follows its data, not a fixed cost
        per call."""
        encoded = []
        for start in range(0, len(items), _GROUP_SLICES):
            group = items[start : start + _GROUP_SLICES]
            texts = [self.entry_text(item) for item in group]
            records = zip(tfma_metrics_many(group), tfma_plots_many(group), strict=True)
            encoded += [
                EncodedSlice(slice_key, metrics, plots, text)
                for (slice_key, _), (metrics, plots), text in zip(
                    group, records, texts, strict=True
                )
            ]
        return encoded

    def entry_text(self, item: tuple[SliceKey, SliceResult]) -> EncodedJSON:
        """`json.dumps(slice_entry(item, ...))`, from the texts of the values, each written
        once (a metric's value is in both the flat `metrics` and its head's entry): directly
        for a shape's first slice (`_result_json`), then from the shape's `_EntryTemplate`
        (the text around the values is the same for every slice of one shape: metric keys,
        interval keys, counts only)."""
        slice_key, result = item
        metrics, intervals = result.metrics, result.intervals
        shape = (tuple(metrics), intervals if intervals is None else tuple(intervals))
        shape += (result.counts_only,)
        values = list(metrics.values())
        for interval in (intervals or {}).values():
            values += (interval.lower, interval.upper, interval.standard_error)
        # Each value's `json.dumps`, from one of them all: no number's text holds ", ".
        texts = json.dumps(values)[1:-1].split(", ") if values else []
        template = self._templates.get(shape)
        if template is not None:
            body = template.text % template.values(texts)
        elif shape not in self._seen:
            # A shape's first slice is written as it is: a template costs about as much
            # again (0.2 s for a head of 100,000 classes), and may never be used again.
            if len(self._seen) >= _MAX_TEMPLATES:
                self._seen.clear()
            self._seen.add(shape)
            body = _result_json(self._layout, shape, texts)
        else:
            if len(self._templates) >= _MAX_TEMPLATES:
                self._templates.clear()
            template = self._templates[shape] = _EntryTemplate.of(self._layout, shape)
            body = template.text % template.values(texts)
        count_key, weighted_key = self._keys
        prefix = (
            f'{{"slice": {json.dumps(dict(slice_key))}, '
            f'"example_count": {int(metrics.get(count_key, 0))}, '
            f'"weighted_example_count": {_number(float(metrics.get(weighted_key, 0.0)))}, '
        )
        return EncodedJSON(prefix + body[1:])


_GROUP_SLICES = 1024
"""Slices whose records are built at once: their plots' rows (about 16 KB a slice of one
curve of 100 thresholds, in a few copies) stay tens of MB, and the cost of a call (about
200 microseconds) a fraction of a microsecond a slice."""
_MAX_TEMPLATES = 256
"""The most entry shapes a `SliceEncoder` keeps templates of, or remembers as met once (all
of them are dropped past it)."""


@beam.typehints.with_input_types(tuple[tuple, SliceResult])
@beam.typehints.with_output_types(EncodedSlices)
class EncodeSlices(beam.DoFn):
    """`(slice key, SliceResult)`s -> `EncodedSlices` of up to `_GROUP_SLICES` of them, in
    `directory`: the slices finalized in a bundle are encoded together
    (`SliceEncoder.encode_many`, a `SliceEncoder` per worker) and travel as one element,
    since Beam's work per element (encoding, sizing) would otherwise repeat per slice."""

    def __init__(self, head: HeadDescription, directory: str) -> None:
        self._head = head
        self._directory = directory

    def setup(self) -> None:
        self._encode = SliceEncoder(self._head)

    def start_bundle(self) -> None:
        self._held: list[tuple[SliceKey, SliceResult]] = []

    def process(self, item: tuple[SliceKey, SliceResult]) -> Iterator[EncodedSlices]:
        self._held.append(item)
        if len(self._held) >= _GROUP_SLICES:
            yield self._encoded()

    def finish_bundle(self) -> Iterator[WindowedValue]:
        if self._held:
            yield GlobalWindows.windowed_value(self._encoded())

    def _encoded(self) -> EncodedSlices:
        held, self._held = self._held, []
        return EncodedSlices.pack(self._encode.encode_many(held), self._directory)
