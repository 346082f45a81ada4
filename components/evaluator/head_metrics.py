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

import itertools
from collections.abc import Iterator, Mapping, Sequence
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


_Group = tuple[tuple[str, str, str], ...]
"""`(metric name, its full key, its error bound's full key)` of each metric of a group."""


class _SingleLayout:
    """The layout of one single head: per group, each metric's name and full keys, computed
    once, so that a slice costs one lookup per key (a head may have 100,000 classes)."""

    def __init__(self, head: HeadDescription) -> None:
        self._name, self._kind = head.name, head.kind
        stats_obj = stats_for_head(head)
        # `loss/<name>`: the reduced loss a MultiHead's statistics add for each of its heads
        # (a single head's have none, and an entry leaves out the keys a slice lacks).
        own = [*stats_obj.metric_keys(), suffixed(StatsMetricKeys.LOSS, head.name)]
        thresholds = {
            threshold: {
                metric: threshold_key(template, threshold)
                for metric, template in THRESHOLD_METRICS.items()
            }
            for threshold in head.thresholds
        }
        class_ids = list(getattr(stats_obj, "classes", ()))
        class_keys = {  # Metric name to the key of each class, by column: built at C speed.
            metric: [class_key(template, c, head.label_vocabulary) for c in class_ids]
            for metric, template in CLASS_METRICS.items()
        }
        unsuffixed = _unsuffixed(own, head.name)
        grouped = {key for group in thresholds.values() for key in group.values()}
        for keys in class_keys.values():
            grouped.update(keys)
        grouped.update(error_bound_key(key) for key in unsuffixed)
        self._headline = _group({key: key for key in unsuffixed if key not in grouped}, head.name)
        self._thresholds = [
            (threshold, _group(keys, head.name)) for threshold, keys in thresholds.items()
        ]
        names = [_class_name(head, class_id) for class_id in class_ids]
        self._classes = list(zip(class_ids, names, _groups(class_keys, head.name), strict=True))

    def entry(
        self, metrics: Mapping[str, float], intervals: Mapping[str, Interval]
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": self._name, "kind": self._kind}
        entry.update(_values(self._headline, metrics, intervals))
        entry["thresholds"] = [
            {"threshold": threshold, **_values(group, metrics, intervals)}
            for threshold, group in self._thresholds
        ]
        entry["classes"] = [
            {"class_id": class_id, "class_name": name, **_values(group, metrics, intervals)}
            for class_id, name, group in self._classes
        ]
        return entry


def _unsuffixed(keys: Sequence[str], name: str | None) -> list[str]:
    """`keys` without the `/<name>` every key of the head ends with."""
    cut = len(name) + 1 if name else 0
    return [key[: len(key) - cut] for key in keys]


def _group(keys: Mapping[str, str], name: str | None) -> _Group:
    """The `_Group` of `keys` (metric name to unsuffixed key) of the head `name`."""
    return tuple(
        (metric, suffixed(key, name), suffixed(error_bound_key(key), name))
        for metric, key in keys.items()
    )


def _groups(columns: Mapping[str, list[str]], name: str | None) -> Iterator[_Group]:
    """The `_Group` of each row of `columns` (metric name to each row's unsuffixed key)."""
    return zip(
        *(
            zip(
                itertools.repeat(metric),
                [suffixed(key, name) for key in keys],
                [suffixed(error_bound_key(key), name) for key in keys],
            )
            for metric, keys in columns.items()
        ),
        strict=True,
    )


def _values(
    group: _Group, metrics: Mapping[str, float], intervals: Mapping[str, Interval]
) -> dict[str, dict[str, Any]]:
    """`metrics`, `error_bounds` and `confidence_intervals` of the group's metrics that the
    slice has (the last two where there are any)."""
    found: dict[str, Any] = {}
    bounds: dict[str, Any] = {}
    found_intervals: dict[str, Any] = {}
    for metric, key, bound in group:
        if key not in metrics:
            continue
        found[metric] = metrics[key]
        if bound in metrics:
            bounds[metric] = metrics[bound]
        if intervals and key in intervals:
            interval = intervals[key]
            found_intervals[metric] = {
                "lower": interval.lower,
                "upper": interval.upper,
                "standard_error": interval.standard_error,
            }
    values: dict[str, dict[str, Any]] = {"metrics": found}
    if bounds:
        values["error_bounds"] = bounds
    if found_intervals:
        values["confidence_intervals"] = found_intervals
    return values


def _class_name(head: HeadDescription, class_id: int) -> str:
    """The class's vocabulary name, else `class<id>` (as its metric keys name it)."""
    if head.label_vocabulary is not None:
        return head.label_vocabulary[class_id]
    return f"class{class_id}"
