"""Beam `CombineFn`s: the heads' statistics per slice, and the example counts.

`HeadStatsCombineFn` is a thin wrapper (STYLE item 3) around `SliceStats`, which holds the
head's `HeadStats` (`heads.stats.stats_for_head`) and, with bootstrap, one more set of
statistics per replicate:

    create_accumulator  -> SliceStats.create   (HeadStats.create)
    add_input           -> SliceStats.update   (HeadStats.update with one slice of a batch)
    merge_accumulators  -> SliceStats.merge    (HeadStats.merge_into: sums in place)
    extract_output      -> SliceStats.finalize (HeadStats.compute, plots, intervals)

Merging is an elementwise sum (a merge of sorted keys for exact curves), so the result does
not depend on how the runner splits the data or orders the merges (up to float64 rounding,
about 1e-15 relative).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import apache_beam as beam

from heads.description import HeadDescription
from heads.stats import stats_for_head
from heads.stats.base_stats import HeadStats
from heads.stats.histogram import DEFAULT_LOGIT_RANGE, DEFAULT_NUM_BUCKETS
from heads.stats.metric_keys import StatsMetricKeys, suffixed
from heads.stats.score_counts import DEFAULT_MAX_EXACT_SCORES
from tfx_heads.components.evaluator import bootstrap, plots
from tfx_heads.components.evaluator.batches import ExampleCounts
from tfx_heads.components.evaluator.coders import AccumulatorCoder, BatchCoder
from tfx_heads.components.evaluator.rows import concatenate_rows, row_bytes
from tfx_heads.components.evaluator.slicing import SliceBatch

PENDING_ROWS = 512
"""Rows a slice holds before adding them to its statistics (see `SliceStats.update`)..."""
PENDING_BYTES = 4 * 2**20
"""... or fewer, so that the rows held stay under about 4 MiB: one row of 100,000 classes'
logits and labels takes over 1 MB, and is added at once."""


class SliceResult(NamedTuple):
    """The finalized results of one slice."""

    metrics: dict[str, float]
    """Metric key to value (`HeadStats.compute`)."""
    intervals: dict[str, bootstrap.Interval] | None
    """Metric key to its bootstrap interval, or None without bootstrap."""
    plots: list[plots.HistogramPlot]
    """ROC/PR and calibration data of each curve of the head."""
    counts_only: bool = False
    """Whether the slice had fewer than `min_slice_size` examples: `metrics` then holds the
    example counts only, with no intervals or plots."""


beam.coders.registry.register_coder(SliceResult, BatchCoder)


class SliceStats:
    """Statistics of one slice: the head's, plus one per bootstrap replicate.

    Args:
        head: the head's description (single or MultiHead).
        num_buckets: AUC histogram resolution.
        logit_range: AUC histogram range `[-logit_range, logit_range]`.
        class_num_buckets: per-class histogram resolution (default: see
            `heads.stats.factory`).
        max_exact_scores: the most distinct scores of an exact curve (see
            `heads.stats.score_counts`).
        num_bootstrap_samples: replicates `K` (0 for no confidence intervals).
        confidence: coverage of the intervals.
        max_plot_points: most thresholds per plotted curve.
        max_class_curves: most per-class curves plotted per head that selects no classes
            (its largest classes).
        min_slice_size: a slice with fewer examples reports its counts only (no other
            metric is computed, no plot drawn).
    """

    def __init__(
        self,
        head: HeadDescription,
        num_buckets: int = DEFAULT_NUM_BUCKETS,
        logit_range: float = DEFAULT_LOGIT_RANGE,
        class_num_buckets: int | None = None,
        max_exact_scores: int = DEFAULT_MAX_EXACT_SCORES,
        num_bootstrap_samples: int = 0,
        confidence: float = 0.95,
        max_plot_points: int = 1000,
        max_class_curves: int = 10,
        min_slice_size: int = 1,
    ) -> None:
        self._head = head
        self._stats = stats_for_head(
            head, num_buckets, logit_range, class_num_buckets, max_exact_scores
        )
        self.num_buckets = num_buckets
        self.logit_range = logit_range
        self._replicates = num_bootstrap_samples
        self._confidence = confidence
        self.max_plot_points = max_plot_points
        self._max_class_curves = max_class_curves
        self.min_slice_size = min_slice_size
        self._count_key = suffixed(StatsMetricKeys.EXAMPLE_COUNT, head.name)

    @property
    def head_stats(self) -> HeadStats:
        """The head's statistics (`heads.stats.stats_for_head`)."""
        return self._stats

    def create(self) -> dict[str, Any]:
        """Empty accumulator: `{"stats": ..., "replicates": [...], "pending": [...],
        "pending_rows": 0}` (the rows held in `pending`, counted as they arrive)."""
        return {
            "stats": self._stats.create(),
            "replicates": [self._stats.create() for _ in range(self._replicates)],
            "pending": [],
            "pending_rows": 0,
        }

    def update(self, accumulator: dict[str, Any], item: SliceBatch) -> dict[str, Any]:
        """Adds one slice of a batch (in place) and returns the accumulator.

        A slice's rows of one batch are held until the slice has `PENDING_ROWS` of them
        (fewer for wide rows: `PENDING_BYTES`), then added in one `HeadStats.update`: with
        many slices a batch holds a few rows of each, and each update has a fixed cost (a
        few hundred microseconds) whatever its rows. Histogram and count sums are the same
        either way (one addition per row, in row order); sums of means may round differently
        (about 1e-16 relative).
        """
        rows = _rows(item)
        accumulator["pending"].append(item)
        accumulator["pending_rows"] += rows
        if accumulator["pending_rows"] >= _held_rows_limit(item, rows):
            self._flush(accumulator)
        return accumulator

    def compact(self, accumulator: dict[str, Any]) -> dict[str, Any]:
        """Joins the held rows into one `SliceBatch` (in place): an accumulator leaving a
        worker with many small held parts is pickled as a few arrays, not a few per part."""
        if len(accumulator["pending"]) > 1:
            accumulator["pending"] = [_concatenated(accumulator["pending"])]
        return accumulator

    def _flush(self, accumulator: dict[str, Any]) -> dict[str, Any]:
        pending = accumulator["pending"]
        if not pending:
            return accumulator
        item = pending[0] if len(pending) == 1 else _concatenated(pending)
        accumulator["pending"], accumulator["pending_rows"] = [], 0
        self._stats.update(accumulator["stats"], item.batch)
        for replicate, counts in zip(accumulator["replicates"], _columns(item), strict=False):
            self._stats.update(replicate, bootstrap.resample(item.batch, counts))
        return accumulator

    def merge(self, first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
        """Adds `second` (a disjoint part of the data) into `first` in place and returns
        `first` (Beam lets `merge_accumulators` reuse its first accumulator): no array is
        allocated per merge, and a sparse histogram grows only by the cells it gains. Held
        rows stay held (`update`)."""
        self._stats.merge_into(first["stats"], second["stats"])
        for target, source in zip(first["replicates"], second["replicates"], strict=True):
            self._stats.merge_into(target, source)
        first["pending"].extend(second["pending"])
        first["pending_rows"] += second["pending_rows"]
        if first["pending_rows"] >= PENDING_ROWS:
            self._flush(first)
        return first

    def finalize(self, accumulator: dict[str, Any]) -> SliceResult:
        """Metrics, intervals and plot data of the accumulated data (the counts only below
        `min_slice_size` examples)."""
        self._flush(accumulator)
        counts = self._stats.count_metrics(accumulator["stats"])
        if counts[self._count_key] < self.min_slice_size:
            return SliceResult(counts, None, [], counts_only=True)
        metrics = self._stats.compute(accumulator["stats"])
        intervals = None
        if self._replicates:
            replicates = [self._stats.compute(stats) for stats in accumulator["replicates"]]
            intervals = bootstrap.intervals(metrics, replicates, self._confidence)
        curves = plots.head_plots(
            self._head,
            self._stats,
            accumulator["stats"],
            self.logit_range,
            self.max_plot_points,
            self._max_class_curves,
        )
        return SliceResult(metrics, intervals, curves)


def _rows(item: SliceBatch) -> int:
    """Rows of a `SliceBatch` (of its first array: every array has one row per example)."""
    batch = item.batch
    while isinstance(batch, Mapping):
        batch = next(iter(batch.values()))
    return len(batch)


def _held_rows_limit(item: SliceBatch, rows: int) -> int:
    """The rows a slice holds, at rows as wide as `item`'s (`PENDING_ROWS`, `PENDING_BYTES`)."""
    width = row_bytes(item.batch) / max(rows, 1)
    return max(1, min(PENDING_ROWS, int(PENDING_BYTES / max(width, 1.0))))


def _concatenated(items: Sequence[SliceBatch]) -> SliceBatch:
    """One `SliceBatch` of the rows of `items`, in order."""
    return SliceBatch(
        concatenate_rows([item.batch for item in items]),
        concatenate_rows([item.replicate_weights for item in items]),
    )


def _columns(item: SliceBatch) -> Iterable[Any]:
    weights = item.replicate_weights
    return () if weights is None else weights.T


@beam.typehints.with_input_types(SliceBatch)
@beam.typehints.with_output_types(SliceResult)
class HeadStatsCombineFn(beam.CombineFn):
    """Combines `SliceBatch`es of one slice into its `SliceResult`.

    Args:
        head: the head's description.
        options: keyword arguments of `SliceStats` besides the head.
    """

    _statistics: Any = SliceStats
    """The statistics it wraps, built from the head and the options (a subclass's own)."""
    _worker_state: tuple[str, ...] = ("_stats",)
    """What each worker builds for itself (not pickled with the CombineFn)."""

    def __init__(self, head: HeadDescription, **options: Any) -> None:
        self._head = head
        self._options = options

    def setup(self) -> None:
        for name in self._worker_state:  # Also built on first use, where a runner skips setup.
            getattr(self, name)

    @functools.cached_property
    def _stats(self) -> Any:
        return self._statistics(self._head, **self._options)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in self._worker_state:
            state.pop(name, None)
        return state

    def create_accumulator(self) -> dict[str, Any]:
        return self._stats.create()

    def add_input(self, accumulator: dict[str, Any], element: SliceBatch) -> dict[str, Any]:
        return self._stats.update(accumulator, element)

    def merge_accumulators(self, accumulators: Iterable[dict[str, Any]]) -> dict[str, Any]:
        return functools.reduce(self._stats.merge, accumulators)

    def compact(self, accumulator: dict[str, Any]) -> dict[str, Any]:
        return self._stats.compact(accumulator)

    def get_accumulator_coder(self) -> AccumulatorCoder:
        return AccumulatorCoder()

    def extract_output(self, accumulator: dict[str, Any]) -> SliceResult:
        return self._stats.finalize(accumulator)


@beam.typehints.with_input_types(ExampleCounts)
@beam.typehints.with_output_types(ExampleCounts)
class ExampleCountsCombineFn(beam.CombineFn):
    """Sums `ExampleCounts` (read, evaluated, and rejected by reason)."""

    def create_accumulator(self) -> ExampleCounts:
        return ExampleCounts(0, 0, {})

    def add_input(self, accumulator: ExampleCounts, element: ExampleCounts) -> ExampleCounts:
        return self.merge_accumulators([accumulator, element])

    def merge_accumulators(self, accumulators: Iterable[ExampleCounts]) -> ExampleCounts:
        read, evaluated, rejected, unreadable = 0, 0, {}, []
        for counts in accumulators:
            read += counts.read
            evaluated += counts.evaluated
            for reason, count in counts.rejected.items():
                rejected[reason] = rejected.get(reason, 0) + count
            unreadable.extend(counts.unreadable)
        return ExampleCounts(read, evaluated, rejected, tuple(unreadable))

    def extract_output(self, accumulator: ExampleCounts) -> ExampleCounts:
        return ExampleCounts(
            accumulator.read,
            accumulator.evaluated,
            dict(sorted(accumulator.rejected.items())),
            tuple(sorted(accumulator.unreadable, key=lambda entry: entry["file"])),
        )
