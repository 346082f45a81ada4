"""Slice groups: the slices of a binary head's slicings combined many to a Beam key.

With thousands of slices, a combine key per slice costs the same fixed work per slice
(Beam's per-key handling, an accumulator to create, encode and merge, a statistics update,
a finalize and a plot of a few hundred small NumPy calls) whatever its rows: about a
millisecond a slice, most of an evaluation of 10,000 slices. Here the slices are spread
over `GROUP_SHARDS` keys by a hash of their slice key, and each key's accumulator holds the
rows of its slices (`SliceGroupBatch`); `finalize` computes every small slice's metrics and
plot together (`heads.stats.binary_groups`). A slice that reaches `LARGE_SLICE_ROWS` held
rows leaves the group for statistics of its own (`combine.SliceStats`), whose size is
bounded by the histogram's. The held rows are looked over each time they double, so an
accumulator holds up to about twice that many rows per small slice (20-30 bytes a row of a
binary head), about as much as the exact score counts of `SliceStats` would keep for them.

The results are those of `combine.SliceStats`, slice by slice (up to float64 rounding, as
for any merge order); a slice whose curve comes from its histogram (a NaN logit, more
distinct scores than the exact budget) is computed by `SliceStats` from its rows.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable
from typing import Any

import apache_beam as beam
import numpy as np

from heads.description import HeadDescription
from heads.stats.binary_groups import binary_group_metrics
from heads.stats.binary_stats import BinaryStats
from tfx_heads.components.evaluator.combine import HeadStatsCombineFn, SliceResult, SliceStats
from tfx_heads.components.evaluator.encoding import EncodedSlices, SliceEncoder
from tfx_heads.components.evaluator.plots import histogram_plots
from tfx_heads.components.evaluator.rows import concatenate_rows, take_rows
from tfx_heads.components.evaluator.slicing import SliceBatch, SliceGroupBatch, SliceKey

GROUP_SHARDS = 16
"""Combine keys the slices of an evaluation are spread over (their finalize can run on as
many workers)."""
LARGE_SLICE_ROWS = 4096
"""Held rows at which a slice leaves its group for statistics of its own."""
_CHECK_ROWS = 2**16
"""Held rows of an accumulator at which it first looks for large slices (then at twice
the rows it held after the last look)."""


def group_of(slice_key: SliceKey) -> int:
    """The group of a slice: a hash of its key that every worker computes alike."""
    return zlib.crc32(repr(slice_key).encode()) % GROUP_SHARDS


class SliceGroupStats:
    """The statistics of a group of slices: their held rows, and the large slices' own.

    Accumulator: `{"keys": {slice key: id}, "parts": [(ids, batch)], "rows": held rows,
    "checked": held rows at the last look for large slices, "large": {slice key:
    SliceStats accumulator}}`.

    Args:
        head: a binary head's description.
        options: keyword arguments of `combine.SliceStats`, without bootstrap.
    """

    def __init__(self, head: HeadDescription, **options: Any) -> None:
        if options.get("num_bootstrap_samples"):
            raise ValueError(
                "Invalid options: expected no bootstrap for slice groups (each replicate "
                f"needs statistics of its own); received {options['num_bootstrap_samples']} "
                "replicates."
            )
        self._slice_stats = SliceStats(head, **options)
        if not isinstance(self._slice_stats.head_stats, BinaryStats):
            raise ValueError(
                f"Invalid `head`: expected a binary head for slice groups; received a "
                f"{head.kind!r} head."
            )
        self._stats = self._slice_stats.head_stats
        self._count_keys = tuple(self._stats.count_metrics(self._stats.create()))

    def create(self) -> dict[str, Any]:
        return {"keys": {}, "parts": [], "rows": 0, "checked": 0, "large": {}}

    def update(self, accumulator: dict[str, Any], item: SliceGroupBatch) -> dict[str, Any]:
        """Holds the rows of `item` (in place) and returns the accumulator."""
        keys = accumulator["keys"]
        ids = np.array([keys.setdefault(key, len(keys)) for key in item.slice_keys], np.int64)
        self._hold(accumulator, ids[item.slice_ids], item.batch)
        return accumulator

    def merge(self, first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
        """Adds `second` into `first` in place and returns `first`."""
        keys = first["keys"]
        ids = np.array([keys.setdefault(key, len(keys)) for key in second["keys"]], np.int64)
        for part_ids, batch in second["parts"]:
            self._hold(first, ids[part_ids], batch)
        for key, large in second["large"].items():
            if key in first["large"]:
                self._slice_stats.merge(first["large"][key], large)
            else:
                first["large"][key] = large
        return first

    def compact(self, accumulator: dict[str, Any]) -> dict[str, Any]:
        """Joins the held parts (in place): one part pickles as a few arrays."""
        if len(accumulator["parts"]) > 1:
            accumulator["parts"] = [_joined(accumulator["parts"])]
        return accumulator

    def _hold(self, accumulator: dict[str, Any], ids: np.ndarray, batch: Any) -> None:
        accumulator["parts"].append((ids, batch))
        accumulator["rows"] += len(ids)
        if accumulator["rows"] >= max(_CHECK_ROWS, 2 * accumulator["checked"]):
            self._move_large(accumulator)

    def _move_large(self, accumulator: dict[str, Any]) -> None:
        """Moves the rows of the slices with `LARGE_SLICE_ROWS` held rows (or already
        large) into their own statistics."""
        self.compact(accumulator)
        if not accumulator["parts"]:
            return
        ids, batch = accumulator["parts"][0]
        keys = list(accumulator["keys"])
        held = np.bincount(ids, minlength=len(keys))
        large = accumulator["large"]
        moving = [
            i
            for i in np.flatnonzero(held).tolist()
            if held[i] >= LARGE_SLICE_ROWS or keys[i] in large
        ]
        if len(moving) == 1 and held[moving[0]] == len(ids):  # one slice, all rows: no copy
            stats = large.setdefault(keys[moving[0]], self._slice_stats.create())
            self._slice_stats.update(stats, SliceBatch(batch, None))
            accumulator["parts"] = []
        elif moving:
            rows_of = _rows_of_slices(ids, held)
            for i in moving:
                rows = rows_of(i)
                stats = large.setdefault(keys[i], self._slice_stats.create())
                self._slice_stats.update(stats, SliceBatch(take_rows(batch, rows), None))
            kept = np.flatnonzero(~np.isin(ids, moving))
            accumulator["parts"] = [(ids[kept], take_rows(batch, kept))] if kept.size else []
        accumulator["rows"] = accumulator["checked"] = sum(len(p[0]) for p in accumulator["parts"])

    def finalize(self, accumulator: dict[str, Any]) -> list[tuple[SliceKey, SliceResult]]:
        """Every slice's `SliceResult`: the small ones computed together."""
        self._move_large(accumulator)
        results = [(k, self._slice_stats.finalize(s)) for k, s in accumulator["large"].items()]
        if accumulator["parts"]:
            ids, batch = accumulator["parts"][0]
            results += self._small_results(list(accumulator["keys"]), ids, batch)
        return results

    def _small_results(
        self, keys: list[SliceKey], ids: np.ndarray, batch: Any
    ) -> list[tuple[SliceKey, SliceResult]]:
        groups = binary_group_metrics(self._stats, batch, ids, len(keys))
        plots = histogram_plots(
            groups.bucket_starts,
            groups.buckets,
            groups.negatives,
            groups.positives,
            self._slice_stats.num_buckets,
            self._slice_stats.logit_range,
            self._slice_stats.max_plot_points,
        )
        metrics, counts = groups.metrics.tolist(), groups.counts.tolist()
        minimum = self._slice_stats.min_slice_size
        held = groups.counts[:, 0].astype(np.int64)
        rows_of = None if groups.exact.all() else _rows_of_slices(ids, held)
        results = []
        for slice_id in np.flatnonzero(held).tolist():
            if not groups.exact[slice_id]:
                result = self._own_result(batch, rows_of(slice_id))
            elif counts[slice_id][0] < minimum:
                values = dict(zip(self._count_keys, counts[slice_id], strict=True))
                result = SliceResult(values, None, [], counts_only=True)
            else:
                values = dict(zip(groups.keys, metrics[slice_id], strict=True))
                result = SliceResult(values, None, [plots[slice_id]])
            results.append((keys[slice_id], result))
        return results

    def _own_result(self, batch: Any, rows: np.ndarray) -> SliceResult:
        """A slice's result from its own statistics (where its curve needs the histogram)."""
        stats = self._slice_stats.update(
            self._slice_stats.create(), SliceBatch(take_rows(batch, rows), None)
        )
        return self._slice_stats.finalize(stats)


def _rows_of_slices(ids: np.ndarray, held: np.ndarray) -> Callable[[int], np.ndarray]:
    """`slice id -> its rows` (ascending), from one stable sort of the rows by slice;
    `held`: each slice's row count (`bincount(ids)`)."""
    order = np.argsort(ids, kind="stable")
    starts = np.concatenate(([0], np.cumsum(held)))
    return lambda slice_id: order[starts[slice_id] : starts[slice_id + 1]]


def _joined(parts: list[tuple[np.ndarray, Any]]) -> tuple[np.ndarray, Any]:
    return np.concatenate([p[0] for p in parts]), concatenate_rows([p[1] for p in parts])


@beam.typehints.with_input_types(SliceGroupBatch)
@beam.typehints.with_output_types(EncodedSlices)
class SliceGroupCombineFn(HeadStatsCombineFn):
    """Combines `SliceGroupBatch`es of one group into its slices' results, encoded where
    they are finalized (`encoding.EncodedSlices`): `HeadStatsCombineFn` around
    `SliceGroupStats`.

    Args:
        head: a binary head's description.
        directory: where the encoded slices are written (`EncodedSlices.pack`).
        options: keyword arguments of `SliceStats` besides the head, without bootstrap.
    """

    _statistics = SliceGroupStats
    _worker_state = ("_stats", "_encode")

    def __init__(self, head: HeadDescription, directory: str, **options: Any) -> None:
        super().__init__(head, **options)
        self._directory = directory

    @functools.cached_property
    def _encode(self) -> SliceEncoder:
        return SliceEncoder(self._head)

    def extract_output(self, accumulator: dict[str, Any]) -> EncodedSlices:
        encoded = self._encode.encode_many(self._stats.finalize(accumulator))
        return EncodedSlices.pack(encoded, self._directory)
