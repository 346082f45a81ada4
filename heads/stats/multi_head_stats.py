"""Metric statistics of `MultiHead`: its sub-heads' statistics side by side.

>>> import numpy as np
>>> from heads.stats.regression_stats import RegressionStats
>>> stats_obj = MultiHeadStats([RegressionStats(name="a"), RegressionStats(name="b")])
>>> stats = stats_obj.update(None, {
...     "a": {"logits": np.array([[1.0], [3.0]]), "labels": np.array([[0.0], [3.0]])},
...     "b": {"logits": np.array([[0.0], [0.0]]), "labels": np.array([[2.0], [2.0]])}})
>>> metrics = stats_obj.compute(stats)
>>> metrics["loss/a"], metrics["loss/b"], metrics["average_loss/b"], metrics["example_count/a_b"]
(0.5, 4.0, 4.0, 2.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from heads.stats.base_stats import CurveHistogram, HeadStats, SingleHeadStats, Stats
from heads.stats.inputs import invalid
from heads.stats.metric_keys import StatsMetricKeys, suffixed

__all__ = ["MultiHeadStats"]


class MultiHeadStats(HeadStats):
    """Statistics of `MultiHead` metrics, composed of its sub-heads' `SingleHeadStats`.

    The stats are a dict from sub-head name to that sub-head's stats; a batch is a mapping
    from sub-head name to that sub-head's batch (every sub-head must be present). Merge and
    compute work sub-head by sub-head.

    Keys: every sub-head's keys (suffixed with its name), then per sub-head `loss/<name>`,
    its reduced training loss over all the data with `sum_over_batch_size` semantics
    (`sum(w * loss) / number of loss elements`, see `HeadStats.reduced_loss`; the original
    reported the mean of per-batch reduced losses, which depends on the batch sizes, and
    the head weights do not enter it), and `example_count/<multi-head name>` (the first
    sub-head's example count; `weighted_example_count` stays per sub-head because each
    may have its own weights).

    Args:
        heads: the sub-heads' stats objects, each with a distinct, non-empty name.
    """

    def __init__(self, heads: Sequence[SingleHeadStats]) -> None:
        heads = tuple(heads)
        if not heads:
            raise ValueError(invalid("heads", "a non-empty sequence of SingleHeadStats", heads))
        for head in heads:
            if not isinstance(head, SingleHeadStats):
                raise TypeError(invalid("heads", "single-head SingleHeadStats objects", head))
        names = [head.name for head in heads]
        if any(name is None for name in names) or len(set(names)) != len(names):
            raise ValueError(invalid("heads", "heads with distinct names", names))
        super().__init__("_".join(names))
        self._heads = heads

    @property
    def heads(self) -> tuple[SingleHeadStats, ...]:
        return self._heads

    def create(self) -> Stats:
        return {head.name: head.create() for head in self._heads}

    def update(self, stats: Stats | None, batch: Mapping[str, Any]) -> Stats:
        """Adds one batch (a mapping from sub-head name to that head's batch) in place.

        Every sub-head's batch is validated before any statistic changes.
        """
        if not isinstance(batch, Mapping):
            raise TypeError(invalid("batch", "a mapping from head name to batch", type(batch)))
        missing = [head.name for head in self._heads if head.name not in batch]
        if missing:
            raise ValueError(
                invalid(
                    "batch",
                    f"a batch for every head {[head.name for head in self._heads]}",
                    sorted(batch),
                )
            )
        prepared = [head._prepare(batch[head.name]) for head in self._heads]
        if stats is None:
            stats = self.create()
        for head, arrays in zip(self._heads, prepared, strict=True):
            head._accumulate(stats[head.name], arrays)
        return stats

    def curve_histograms(self, stats: Stats) -> list[CurveHistogram]:
        """Every sub-head's curve histograms, named by the sub-head."""
        return [
            curve._replace(output_name=head.name)
            for head in self._heads
            for curve in head.curve_histograms(stats[head.name])
        ]

    def compute(self, stats: Stats) -> dict[str, float]:
        metrics: dict[str, float] = {}
        for head in self._heads:
            metrics[f"{StatsMetricKeys.LOSS}/{head.name}"] = head.reduced_loss(stats[head.name])
        for head in self._heads:
            metrics.update(head.compute(stats[head.name]))
        first = self._heads[0]
        metrics[suffixed(StatsMetricKeys.EXAMPLE_COUNT, self.name)] = float(
            stats[first.name]["example_count"]
        )
        return metrics

    def count_metrics(self, stats: Stats) -> dict[str, float]:
        """Every sub-head's count keys and the MultiHead's `example_count` (see `compute`)."""
        metrics: dict[str, float] = {}
        for head in self._heads:
            metrics.update(head.count_metrics(stats[head.name]))
        first = self._heads[0]
        metrics[suffixed(StatsMetricKeys.EXAMPLE_COUNT, self.name)] = float(
            stats[first.name]["example_count"]
        )
        return metrics
