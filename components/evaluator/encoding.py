"""Encoding a finished slice as it is written: its TFMA records and its `metrics.json` entry.

`EncodeSlices` runs where a slice is finalized (right after the combine), so a finished slice
travels to the single write (`writers.WriteResults`) as a few byte strings: its serialized
`MetricsForSlice` and `PlotsForSlice` (`tfma_records`) and its `metrics.json` entry as JSON
text (`slice_entry`, structured per head by `head_metrics`). `EncodeSliceGroups` encodes the
slices finalized together (a list of them, one element) together: their TFMA records in one
NumPy pass (`tfma_records.tfma_metrics_many`, `tfma_plots_many`), so that a slice costs
tens of microseconds, not a few hundred.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import apache_beam as beam

from heads.description import HeadDescription
from heads.stats.metric_keys import StatsMetricKeys, suffixed
from tfx_heads.components.evaluator.combine import SliceResult
from tfx_heads.components.evaluator.head_metrics import HeadMetricLayout
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


class SliceEncoder:
    """Encodes `(slice key, SliceResult)` into an `EncodedSlice`.

    Done where the slice is finalized (`EncodeSlices`): a finished slice then travels to the
    writer as a few byte strings, not as metrics and plot arrays that Beam pickles again at
    every stage boundary (about 8 times a slice before the final write), and the encoding
    of many slices is spread over the workers.
    """

    def __init__(self, head: HeadDescription) -> None:
        self._layout = HeadMetricLayout(head)
        self._keys = count_keys(head)

    def __call__(self, item: tuple[SliceKey, SliceResult]) -> EncodedSlice:
        return self.encode_many([item])[0]

    def encode_many(self, items: Sequence[tuple[SliceKey, SliceResult]]) -> list[EncodedSlice]:
        """Each slice's `EncodedSlice`, in order: their TFMA records built together (one
        NumPy pass for all, `tfma_metrics_many`, `tfma_plots_many`), so that the cost of a
        slice follows its data, not a fixed cost per call."""
        with _collection_paused():
            texts = [
                EncodedJSON(json.dumps(slice_entry(item, self._layout, self._keys)))
                for item in items
            ]
        return [
            EncodedSlice(item[0], metrics, plots, text)
            for item, metrics, plots, text in zip(
                items, tfma_metrics_many(items), tfma_plots_many(items), texts, strict=True
            )
        ]


class EncodeSlices(beam.DoFn):
    """`(slice key, SliceResult)` -> `EncodedSlice` (a `SliceEncoder` per worker)."""

    def __init__(self, head: HeadDescription) -> None:
        self._head = head

    def setup(self) -> None:
        self._encode = SliceEncoder(self._head)

    def process(self, item: tuple[SliceKey, SliceResult]) -> Iterator[EncodedSlice]:
        yield self._encode(item)


class EncodeSliceGroups(beam.DoFn):
    """`[(slice key, SliceResult), ...]` -> an `EncodedSlice` per item, in order: the
    slices finalized together (many small slices, one combine element) encoded together
    (`SliceEncoder.encode_many`, a `SliceEncoder` per worker)."""

    def __init__(self, head: HeadDescription) -> None:
        self._head = head

    def setup(self) -> None:
        self._encode = SliceEncoder(self._head)

    def process(self, items: list[tuple[SliceKey, SliceResult]]) -> Iterator[EncodedSlice]:
        yield from self._encode.encode_many(items)


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused: `metrics.json` is a tree of hundreds of
    thousands of new dicts and lists (a head of 100,000 classes, 10,000 slices), whose
    allocation would start collections that each go over every object of the process
    (TensorFlow's and Beam's too): half of `metrics_json`'s time. A tree has no cycles; its
    objects are freed by reference counting as ever."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
