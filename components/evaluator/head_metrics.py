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


_Group = tuple[tuple[str, str, str], ...]
"""`(metric name, its full key, its error bound's full key)` of each metric of a group."""

_MARKER = "\0"
"""A stand-in for the part of a key that varies, to find the text around it."""
_CURVE_METRICS = ("auc", "auc_precision_recall", "average_precision")
"""The metrics of `CLASS_METRICS` a class has only where it has curves (`curve_classes`)."""


class _SingleLayout:
    """The layout of one single head: per group, each metric's name and full keys, computed
    once, so that a slice costs one lookup per key (a head may have 100,000 classes).

    The rules of `heads.stats.metric_keys` only append to a key, so a full key is its
    unsuffixed key plus one of two strings computed once per head (`_suffixes`); class keys
    are built a column (metric) at a time, the curve metrics' only for the classes with
    curves (a multi-label head of over 1,000 classes without selected ones has none)."""

    def __init__(self, head: HeadDescription) -> None:
        self._name, self._kind = head.name, head.kind
        stats_obj = stats_for_head(head)
        suffixes = _suffixes(head.name)
        # `loss/<name>`: the reduced loss a MultiHead's statistics add for each of its heads
        # (a single head's have none, and an entry leaves out the keys a slice lacks).
        own = [*stats_obj.metric_keys(), suffixed(StatsMetricKeys.LOSS, head.name)]
        self._thresholds = [
            (threshold, _group(_threshold_keys(threshold), *suffixes))
            for threshold in head.thresholds
        ]
        class_ids = list(getattr(stats_obj, "classes", ()))
        curve_classes = getattr(stats_obj, "curve_classes", class_ids)
        names = _class_names(head.label_vocabulary, class_ids)
        groups, grouped = _class_groups(class_ids, curve_classes, names, *suffixes)
        grouped.update(key for _, group in self._thresholds for _, key, _ in group)
        self._headline = _headline(own, grouped, *suffixes)
        self._classes = (class_ids, names, groups)  # Zipped per slice: no 100,000 tuples.

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
            for class_id, name, group in zip(*self._classes, strict=True)
        ]
        return entry


def _suffixes(name: str | None) -> tuple[str, str]:
    """What the key rules append to an unsuffixed key of the head `name`: `suffixed` for the
    key itself, `error_bound_key` then `suffixed` for its error bound's key."""
    return (
        suffixed(_MARKER, name).partition(_MARKER)[2],
        suffixed(error_bound_key(_MARKER), name).partition(_MARKER)[2],
    )


def _threshold_keys(threshold: float) -> dict[str, str]:
    """Each `THRESHOLD_METRICS` metric's unsuffixed key at `threshold`."""
    return {
        metric: threshold_key(template, threshold) for metric, template in THRESHOLD_METRICS.items()
    }


def _group(keys: Mapping[str, str], key_suffix: str, bound_suffix: str) -> _Group:
    """The `_Group` of `keys` (metric name to unsuffixed key), given the head's `_suffixes`."""
    return tuple((metric, key + key_suffix, key + bound_suffix) for metric, key in keys.items())


def _class_groups(
    class_ids: Sequence[int],
    curve_classes: Sequence[int],
    names: Sequence[str],
    key_suffix: str,
    bound_suffix: str,
) -> tuple[list[_Group], set[str]]:
    """The `_Group` of each class of `class_ids` (`names`: each one's name in its keys), in
    order: every `CLASS_METRICS` metric for a class of `curve_classes`, the others for the
    rest; and the set of their full keys. Built a column (metric) at a time: a class key is
    the class's name in the text `class_key` puts around a vocabulary name (without a
    vocabulary the name `class<id>` there makes the key of the id, `auc/class<id>`)."""
    keys: set[str] = set()

    def rows(selected: Sequence[str], metrics: Sequence[str]) -> list[_Group]:
        columns = []
        for metric in metrics:
            before, _, after = class_key(CLASS_METRICS[metric], 0, [_MARKER]).partition(_MARKER)
            key_tail, bound_tail = after + key_suffix, after + bound_suffix
            full = [f"{before}{name}{key_tail}" for name in selected]
            bounds = [f"{before}{name}{bound_tail}" for name in selected]
            keys.update(full)
            columns.append(zip(itertools.repeat(metric), full, bounds))
        return list(zip(*columns, strict=True))

    curve_set = set(curve_classes)
    is_curve = [class_id in curve_set for class_id in class_ids]
    plain = [metric for metric in CLASS_METRICS if metric not in _CURVE_METRICS]
    if all(is_curve) or not any(is_curve):  # One kind of class: no reordering.
        return rows(names, list(CLASS_METRICS) if all(is_curve) else plain), keys
    curves = iter(rows(list(itertools.compress(names, is_curve)), list(CLASS_METRICS)))
    rest = iter(rows([n for n, curve in zip(names, is_curve, strict=True) if not curve], plain))
    return [next(curves) if curve else next(rest) for curve in is_curve], keys


def _headline(own: Sequence[str], grouped: set[str], key_suffix: str, bound_suffix: str) -> _Group:
    """The `_Group` of the head's keys `own` (full keys) that are neither in a class or
    threshold group (`grouped`) nor the error bound of another key of `own`."""
    own_set = set(own)
    cut, bound_cut = len(key_suffix), len(bound_suffix)
    headline: dict[str, str] = {}
    for key in [key for key in own if key not in grouped]:
        if key.endswith(bound_suffix) and key[: len(key) - bound_cut] + key_suffix in own_set:
            continue
        headline.setdefault(key[: len(key) - cut], key)
    return tuple((metric, key, metric + bound_suffix) for metric, key in headline.items())


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


def _class_names(vocabulary: Sequence[str] | None, class_ids: Sequence[int]) -> list[str]:
    """Each class's vocabulary name, else `class<id>` (as its metric keys name it)."""
    if vocabulary is not None:
        return [vocabulary[class_id] for class_id in class_ids]
    return [f"class{class_id}" for class_id in class_ids]
