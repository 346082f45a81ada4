"""The contract of per-head metric statistics, and the merge shared by all of them.

A `HeadStats` object is built from plain configuration values (thresholds, class count,
name, histogram resolution) and turns batches of already-processed NumPy arrays into
mergeable sufficient statistics, then into the head's metric dict. It is stateless: the
statistics ("stats") are plain data, a dict from names to NumPy arrays (a dict of such dicts
for a MultiHead), which pickles cheaply and maps one-to-one onto a Beam `CombineFn`:

    create_accumulator  -> stats_obj.create()
    add_input           -> stats_obj.update(accumulator, batch)
    merge_accumulators  -> stats_obj.merge(first, second)   (elementwise sum; or
                           stats_obj.merge_into(first, second), which reuses `first`)
    extract_output      -> stats_obj.compute(accumulator)

`update` adds the batch *into* the given stats and returns them (so a 1 GiB per-class
accumulator is never copied per batch); `merge` returns new arrays and leaves its inputs
alone. Merge is an elementwise sum (a merge of sorted keys for the exact score counts of
`heads.stats.score_counts`), hence associative and commutative, and `compute` of
merged stats equals `compute` of stats built from all the batches at once up to float64
rounding (about 1e-15 relative), whatever the batch sizes or merge order.

Every metric dict has the head's `head.metrics()` keys (docs/heads-behaviour.md §3;
suffixed with `/<name>` for a named head) plus `example_count`, `weighted_example_count`,
`average_precision` beside each `auc_precision_recall`, and an `.../error_bound` key beside
each curve metric (the name suffix stays last: `auc/error_bound/my_head`; see
`heads.stats.metric_keys`).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, NamedTuple, Union

import numpy as np

from heads.stats.inputs import invalid, validate_name
from heads.stats.metric_keys import StatsMetricKeys, suffixed
from heads.stats.score_counts import ScoreCounts
from heads.stats.sparse_histogram import SparseHistogram

__all__ = ["CurveHistogram", "HeadStats", "Stats", "merge_stats", "merge_stats_into"]

_CHUNK_CELLS = 2**16
"""Cells (examples x logits) added per chunk: keeps every temporary array in cache."""

Stats = dict[str, Union[np.ndarray, ScoreCounts, SparseHistogram, "Stats"]]
"""Sufficient statistics: arrays, exact score counts, sparse histograms (or nested stats for
a MultiHead) by name."""

_MERGEABLE = (ScoreCounts, SparseHistogram)
"""Statistics objects that merge themselves (`check_compatible`, `merged`, `merge_from`)."""


class CurveHistogram(NamedTuple):
    """The label-split logit histogram behind one ROC/PR curve (see `heads.stats.histogram`)."""

    output_name: str
    """The sub-head's name within a MultiHead, else ''."""
    class_id: int | None
    """The class of a one-vs-rest curve, else None (a binary or pooled multi-label curve)."""
    histogram: np.ndarray
    """float64 `[2, N]`: negative and positive weight per logit bucket."""


def _check_layout(first: Stats, second: Stats) -> None:
    if not isinstance(first, Mapping) or not isinstance(second, Mapping):
        raise TypeError(invalid("stats", "dicts of arrays", (type(first), type(second))))
    if first.keys() != second.keys():
        raise ValueError(invalid("second", f"stats with keys {sorted(first)}", sorted(second)))
    for key, value in first.items():
        other = second[key]
        if isinstance(value, Mapping):
            _check_layout(value, other)
        elif isinstance(value, _MERGEABLE):
            value.check_compatible(other)
        elif np.shape(value) != np.shape(other):
            raise ValueError(
                invalid(f"second[{key!r}]", f"shape {np.shape(value)}", np.shape(other))
            )


def _sum(first: Stats, second: Stats) -> Stats:
    # np.add with a fresh output keeps 0-d counters arrays (a plain `+` returns scalars).
    def merged(value: Any, other: Any) -> Any:
        if isinstance(value, Mapping):
            return _sum(value, other)
        if isinstance(value, _MERGEABLE):
            return value.merged(other)
        return np.add(value, other, out=np.empty_like(value))

    return {key: merged(value, second[key]) for key, value in first.items()}


def _add_into(target: Stats, source: Stats) -> None:
    for key, value in target.items():
        if isinstance(value, Mapping):
            _add_into(value, source[key])
        elif isinstance(value, _MERGEABLE):
            value.merge_from(source[key])
        else:
            np.add(value, source[key], out=value)


def merge_stats(first: Stats, second: Stats) -> Stats:
    """Merges two stats of the same layout: the elementwise sum of every array (new arrays).

    Raises:
        ValueError: if the two stats do not have the same keys and array shapes.
    """
    _check_layout(first, second)
    return _sum(first, second)


def merge_stats_into(target: Stats, source: Stats) -> Stats:
    """Adds `source` into `target` in place (no allocation) and returns `target`.

    The same sum as `merge_stats`; use it where the first operand may be reused, as Beam's
    `merge_accumulators` allows: for a 1 GiB per-class accumulator it saves allocating and
    faulting in a fresh gigabyte per merge.

    Raises:
        ValueError: if the two stats do not have the same keys and array shapes.
    """
    _check_layout(target, source)
    _add_into(target, source)
    return target


class HeadStats(abc.ABC):
    """Mergeable metric statistics of one head type (see the module docstring): the
    interface a combiner uses. `SingleHeadStats` implements it for one head;
    `heads.stats.multi_head_stats.MultiHeadStats` composes several."""

    def __init__(self, name: str | None) -> None:
        self._name = validate_name(name)

    @property
    def name(self) -> str | None:
        """The head name that suffixes every metric key, or None."""
        return self._name

    @abc.abstractmethod
    def create(self) -> Stats:
        """Returns empty stats (all zeros)."""

    @abc.abstractmethod
    def compute(self, stats: Stats) -> dict[str, float]:
        """Finalizes stats into the head's metric dict (key -> Python float)."""

    @abc.abstractmethod
    def update(self, stats: Stats | None, batch: Mapping[str, Any]) -> Stats:
        """Adds one batch to `stats` (None: new stats) in place and returns them."""

    @abc.abstractmethod
    def count_metrics(self, stats: Stats) -> dict[str, float]:
        """Only the `example_count` and `weighted_example_count` keys of `compute` (same
        values), at no cost: what a slice too small for its other metrics reports."""

    def merge(self, first: Stats, second: Stats) -> Stats:
        """Returns the merged stats of two disjoint parts of the data (elementwise sum).

        The inputs are left unchanged; see `merge_into` for the in-place form.
        """
        return merge_stats(first, second)

    def merge_into(self, target: Stats, source: Stats) -> Stats:
        """Adds `source` into `target` in place and returns `target` (see `merge`)."""
        return merge_stats_into(target, source)

    def curve_histograms(self, stats: Stats) -> list[CurveHistogram]:
        """The histogram of every ROC/PR curve in `stats` (none for regression heads), for
        plots: pooled curves first, then one per class in class-id order."""
        return []

    def metric_keys(self) -> tuple[str, ...]:
        """The keys `compute` returns, in order (computed on empty stats, so it costs one
        `compute`: about a second for 1,000 per-class curves)."""
        return tuple(self.compute(self.create()))

    def _key(self, key: str) -> str:
        return suffixed(key, self._name)


class SingleHeadStats(HeadStats):
    """The statistics of one (single) head: a batch is validated whole (`_prepare`), then
    added in chunks (`_add_rows`)."""

    @abc.abstractmethod
    def _prepare(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray | None]:
        """Validates a whole batch and returns its arrays flattened to `[M, ...]` rows.

        Every check runs here, before any statistic changes, so a rejected batch leaves
        the stats untouched.
        """

    @abc.abstractmethod
    def _add_rows(self, stats: Stats, rows: Mapping[str, np.ndarray | None]) -> None:
        """Adds a chunk of prepared rows into `stats` in place."""

    def update(self, stats: Stats | None, batch: Mapping[str, Any]) -> Stats:
        """Adds one batch to `stats` in place and returns them.

        The batch is validated first (a rejected batch changes nothing), then added in
        chunks of about 2**16 cells, so temporaries stay in cache whatever the batch size.

        Args:
            stats: stats from `create()`/`update()`/`merge()` of this object, or None to
                start from empty stats.
            batch: a mapping of NumPy arrays; the keys each head type accepts are listed in
                its class docstring (`logits`, `labels`, optional `weights`, ...).

        Returns:
            The updated stats (the same object as `stats` when it was given).
        """
        prepared = self._prepare(batch)
        if stats is None:
            stats = self.create()
        self._accumulate(stats, prepared)
        return stats

    def _accumulate(self, stats: Stats, prepared: Mapping[str, np.ndarray | None]) -> None:
        logits = prepared["logits"]
        rows = logits.shape[0]
        step = max(1, _CHUNK_CELLS // max(1, logits.size // max(1, rows)))
        for start in range(0, rows, step):
            self._add_rows(
                stats,
                {
                    key: None if value is None else value[start : start + step]
                    for key, value in prepared.items()
                },
            )

    def reduced_loss(self, stats: Stats) -> float:
        """The head's training loss over all the data, with `sum_over_batch_size` semantics.

        `sum(w * loss) / (number of loss elements)`: examples for classification heads,
        examples times `label_dimension` for regression heads. This is what a MultiHead's
        `loss/<head>` key reports; it differs from the original, which averaged the
        per-batch reduced losses (and so depended on the batch sizes).
        """
        loss_sum = float(stats["moments"][self._LOSS_INDEX])
        elements = int(stats["example_count"]) * self._loss_elements_per_example()
        return loss_sum / elements if elements else 0.0

    _LOSS_INDEX = 1
    """Index of the weighted loss sum in `stats["moments"]` (after the weight total)."""

    def _loss_elements_per_example(self) -> int:
        return 1

    def count_metrics(self, stats: Stats) -> dict[str, float]:
        return self._count_metrics(stats, self._weight_total(stats))

    def _weight_total(self, stats: Stats) -> float:
        return float(stats["moments"][0])

    def _count_metrics(self, stats: Stats, weight_total: float) -> dict[str, float]:
        return {
            self._key(StatsMetricKeys.EXAMPLE_COUNT): float(stats["example_count"]),
            self._key(StatsMetricKeys.WEIGHTED_EXAMPLE_COUNT): float(weight_total),
        }
