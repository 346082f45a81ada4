"""Each head's metrics of a slice as structured data: the `heads` list of `metrics.json`.

The flat metric keys (`auc/class2/error_bound/trip_tags`) are built from the head's
description by the rules of `heads.stats.metric_keys`, so the same rules, run forwards from
the description, sort every key of a head into its group; nothing is parsed back out of a
key (a head or class name may contain `/`). One entry per single head, in head order:

    {"name": "ctr", "kind": "binary",
     "metrics": {"auc": 0.81, "average_loss": 0.42, ...},
     "error_bounds": {"auc": 0.0, ...},
     "confidence_intervals": {"auc": {"lower": l, "upper": u, "standard_error": s}, ...},
     "thresholds": [{"threshold": 0.5, "metrics": {"accuracy": ..., "precision": ...,
                     "recall": ...}, ...}],
     "classes": [{"class_id": 2, "class_name": "red", "metrics": {"auc": ..., ...},
                  "error_bounds": {...}}, ...]}

`metrics` holds the head's other keys without the `/<head name>` suffix (for a MultiHead's
sub-head, its `loss` too); `error_bounds` and `confidence_intervals` appear where there are
any. A MultiHead's own `example_count/<name>` stays in the slice's flat `metrics`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from heads.description import HeadDescription
from heads.stats import stats_for_head
from heads.stats.metric_keys import (
    StatsMetricKeys,
    class_key,
    error_bound_key,
    suffixed,
    threshold_key,
)
from tfx_heads.components.evaluator.bootstrap import Interval

THRESHOLD_METRICS = {
    "accuracy": StatsMetricKeys.ACCURACY_AT_THRESHOLD,
    "precision": StatsMetricKeys.PRECISION_AT_THRESHOLD,
    "recall": StatsMetricKeys.RECALL_AT_THRESHOLD,
}
"""Metric name to key template, for the metrics at each threshold."""

CLASS_METRICS = {
    "auc": StatsMetricKeys.AUC_AT_CLASS,
    "auc_precision_recall": StatsMetricKeys.AUC_PR_AT_CLASS,
    "average_precision": StatsMetricKeys.AVERAGE_PRECISION_AT_CLASS,
    "probability_mean": StatsMetricKeys.PROBABILITY_MEAN_AT_CLASS,
}
"""Metric name to key template, for the metrics of each class."""


class HeadMetricLayout:
    """Where each metric key of a head goes in its structured entry; built once per head,
    then applied to every slice's metrics.

    Args:
        head: the evaluated head's description (a single head or a MultiHead).
    """

    def __init__(self, head: HeadDescription) -> None:
        self._heads = tuple(_SingleLayout(single) for single in head.single_heads)

    def entries(
        self, metrics: Mapping[str, float], intervals: Mapping[str, Interval] | None = None
    ) -> list[dict[str, Any]]:
        """The `heads` list of a slice entry, from the slice's metrics (`HeadStats.compute`)
        and their bootstrap intervals (None without bootstrap)."""
        return [layout.entry(metrics, intervals or {}) for layout in self._heads]


class _SingleLayout:
    """The layout of one single head: metric name to unsuffixed key, per group."""

    def __init__(self, head: HeadDescription) -> None:
        self._head = head
        stats_obj = stats_for_head(head)
        # `loss/<name>`: the reduced loss a MultiHead's statistics add for each of its heads
        # (a single head's have none, and an entry leaves out the keys a slice lacks).
        own = [*stats_obj.metric_keys(), suffixed(StatsMetricKeys.LOSS, head.name)]
        self._thresholds = {
            threshold: {
                metric: threshold_key(template, threshold)
                for metric, template in THRESHOLD_METRICS.items()
            }
            for threshold in head.thresholds
        }
        self._classes = {
            class_id: {
                metric: class_key(template, class_id, head.label_vocabulary)
                for metric, template in CLASS_METRICS.items()
            }
            for class_id in getattr(stats_obj, "classes", ())
        }
        unsuffixed = _unsuffixed(own, head.name)
        grouped = {
            key
            for group in (*self._thresholds.values(), *self._classes.values())
            for key in group.values()
        }
        grouped.update(error_bound_key(key) for key in unsuffixed)
        self._headline = {key: key for key in unsuffixed if key not in grouped}

    def entry(
        self, metrics: Mapping[str, float], intervals: Mapping[str, Interval]
    ) -> dict[str, Any]:
        head = self._head
        entry: dict[str, Any] = {"name": head.name, "kind": head.kind}
        entry.update(_values(self._headline, head.name, metrics, intervals))
        entry["thresholds"] = [
            {"threshold": threshold, **_values(keys, head.name, metrics, intervals)}
            for threshold, keys in self._thresholds.items()
        ]
        entry["classes"] = [
            {
                "class_id": class_id,
                "class_name": _class_name(head, class_id),
                **_values(keys, head.name, metrics, intervals),
            }
            for class_id, keys in self._classes.items()
        ]
        return entry


def _unsuffixed(keys: Sequence[str], name: str | None) -> list[str]:
    """`keys` without the `/<name>` every key of the head ends with."""
    cut = len(name) + 1 if name else 0
    return [key[: len(key) - cut] for key in keys]


def _values(
    keys: Mapping[str, str],
    name: str | None,
    metrics: Mapping[str, float],
    intervals: Mapping[str, Interval],
) -> dict[str, dict[str, Any]]:
    """`metrics`, `error_bounds` and `confidence_intervals` of the metric names in `keys`
    (name to unsuffixed key) that the slice has."""
    values: dict[str, dict[str, Any]] = {
        "metrics": {},
        "error_bounds": {},
        "confidence_intervals": {},
    }
    for metric, key in keys.items():
        full = suffixed(key, name)
        if full not in metrics:
            continue
        values["metrics"][metric] = metrics[full]
        bound = suffixed(error_bound_key(key), name)
        if bound in metrics:
            values["error_bounds"][metric] = metrics[bound]
        if full in intervals:
            interval = intervals[full]
            values["confidence_intervals"][metric] = {
                "lower": interval.lower,
                "upper": interval.upper,
                "standard_error": interval.standard_error,
            }
    return {part: found for part, found in values.items() if found or part == "metrics"}


def _class_name(head: HeadDescription, class_id: int) -> str:
    """The class's vocabulary name, else `class<id>` (as its metric keys name it)."""
    if head.label_vocabulary is not None:
        return head.label_vocabulary[class_id]
    return f"class{class_id}"
