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

`HeadMetricLayout.entries` gives the list as data; `entries_json` writes the same list as
JSON text from the texts of the values, without a dict per class (the encoder's form).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

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

    def entries_json(self, metrics: Mapping[str, str], intervals: Mapping[str, str]) -> str:
        """`json.dumps(self.entries(...))`, from the JSON text of each value: `metrics` maps
        each of the slice's metric keys to its value's text, `intervals` each key with an
        interval to the text of its `{"lower": ..., "upper": ..., "standard_error": ...}`.

        Written a metric (column) at a time, without a dict per class: a head of 100,000
        classes takes about 0.08 s, against 0.25 s for `entries` and `json.dumps`.
        """
        return f"[{', '.join(layout.entry_json(metrics, intervals) for layout in self._heads)}]"


_Group = tuple[tuple[str, str, str], ...]
"""`(metric name, its full key, its error bound's full key)` of each metric of a group."""

_MARKER = "\0"
"""A stand-in for the part of a key that varies, to find the text around it."""
_CURVE_METRICS = ("auc", "auc_precision_recall", "average_precision")
"""The metrics of `CLASS_METRICS` a class has only where it has curves (`curve_classes`)."""


class _Column(NamedTuple):
    """One metric of a `_Table`: the rows that have it, and its full key and its error
    bound's full key in each of them."""

    metric: str
    rows: Sequence[int]
    keys: Sequence[str]
    bounds: Sequence[str]


class _Table:
    """The groups of one part of a head's entry (the head's own metrics: one row; its
    thresholds; its classes), stored by metric (column).

    Args:
        leads: the JSON text of each row up to its metrics (`'{"threshold": 0.5, '`).
        columns: the metrics, in the order a row lists them.
    """

    def __init__(self, leads: Sequence[str], columns: Sequence[_Column]) -> None:
        self._leads = leads
        self._columns = columns

    @functools.cached_property
    def groups(self) -> list[_Group]:
        """Each row's `_Group`, for `_SingleLayout.entry` (built on first use: the encoder
        writes text, `texts`)."""
        rows: list[list[tuple[str, str, str]]] = [[] for _ in self._leads]
        for column in self._columns:
            for row, key, bound in zip(column.rows, column.keys, column.bounds, strict=True):
                rows[row].append((column.metric, key, bound))
        return [tuple(row) for row in rows]

    def texts(self, metrics: Mapping[str, str], intervals: Mapping[str, str]) -> list[str]:
        """Each row as JSON: its lead, then `_values` of its group, from the texts of the
        values (see `HeadMetricLayout.entries_json`)."""
        count = len(self._leads)
        found, bounds, spans = [""] * count, [""] * count, [""] * count
        for column in self._columns:
            name = json.dumps(column.metric)
            for row, key, bound in zip(column.rows, column.keys, column.bounds, strict=True):
                text = metrics.get(key)
                if text is None:
                    continue
                found[row] += f", {name}: {text}"
                if bound in metrics:
                    bounds[row] += f", {name}: {metrics[bound]}"
                if intervals and key in intervals:
                    spans[row] += f", {name}: {intervals[key]}"
        return [  # Each part without its first ", ".
            f'{lead}"metrics": {{{values[2:]}}}'
            + (f', "error_bounds": {{{bound_texts[2:]}}}' if bound_texts else "")
            + (f', "confidence_intervals": {{{span_texts[2:]}}}}}' if span_texts else "}")
            for lead, values, bound_texts, span_texts in zip(
                self._leads, found, bounds, spans, strict=True
            )
        ]


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
        self._threshold_values = list(head.thresholds)
        threshold_columns = _threshold_columns(self._threshold_values, *suffixes)
        self._thresholds = _Table(
            [f'{{"threshold": {json.dumps(t)}, ' for t in self._threshold_values],
            threshold_columns,
        )
        class_ids = list(getattr(stats_obj, "classes", ()))
        curve_classes = getattr(stats_obj, "curve_classes", class_ids)
        names = _class_names(head.label_vocabulary, class_ids)
        class_columns = _class_columns(class_ids, curve_classes, names, *suffixes)
        self._classes = _Table(
            [
                f'{{"class_id": {class_id}, "class_name": "{name}", '
                for class_id, name in zip(class_ids, json_string_bodies(names), strict=True)
            ],
            class_columns,
        )
        self._class_ids, self._names = class_ids, names
        grouped = {key for column in class_columns + threshold_columns for key in column.keys}
        self._own = _Table(
            [f'{{"name": {json.dumps(self._name)}, "kind": {json.dumps(self._kind)}, '],
            [
                _Column(metric, (0,), (key,), (bound,))
                for metric, key, bound in _headline(own, grouped, *suffixes)
            ],
        )

    def entry(
        self, metrics: Mapping[str, float], intervals: Mapping[str, Interval]
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": self._name, "kind": self._kind}
        entry.update(_values(self._own.groups[0], metrics, intervals))
        entry["thresholds"] = [
            {"threshold": threshold, **_values(group, metrics, intervals)}
            for threshold, group in zip(
                self._threshold_values, self._thresholds.groups, strict=True
            )
        ]
        entry["classes"] = [
            {"class_id": class_id, "class_name": name, **_values(group, metrics, intervals)}
            for class_id, name, group in zip(
                self._class_ids, self._names, self._classes.groups, strict=True
            )
        ]
        return entry

    def entry_json(self, metrics: Mapping[str, str], intervals: Mapping[str, str]) -> str:
        """`json.dumps(self.entry(...))` from the texts of the values (see `entries_json`)."""
        (own,) = self._own.texts(metrics, intervals)
        thresholds = ", ".join(self._thresholds.texts(metrics, intervals))
        classes = ", ".join(self._classes.texts(metrics, intervals))
        return f'{own[:-1]}, "thresholds": [{thresholds}], "classes": [{classes}]}}'


def json_string_bodies(strings: Sequence[str]) -> list[str]:
    """Each string's `json.dumps` without its quotes, from one `json.dumps` of the list (4x
    faster than one each): in its text, `", "` is only ever where one string ends and the
    next starts, since a quote inside a string is written `\\"`."""
    if not strings:
        return []
    return json.dumps(list(strings))[2:-2].split('", "')


def _suffixes(name: str | None) -> tuple[str, str]:
    """What the key rules append to an unsuffixed key of the head `name`: `suffixed` for the
    key itself, `error_bound_key` then `suffixed` for its error bound's key."""
    return (
        suffixed(_MARKER, name).partition(_MARKER)[2],
        suffixed(error_bound_key(_MARKER), name).partition(_MARKER)[2],
    )


def _threshold_columns(
    thresholds: Sequence[float], key_suffix: str, bound_suffix: str
) -> list[_Column]:
    """A `_Column` per `THRESHOLD_METRICS` metric, of a row per threshold."""
    columns = []
    for metric, template in THRESHOLD_METRICS.items():
        keys = [threshold_key(template, threshold) for threshold in thresholds]
        columns.append(
            _Column(
                metric,
                range(len(thresholds)),
                [key + key_suffix for key in keys],
                [key + bound_suffix for key in keys],
            )
        )
    return columns


def _class_columns(
    class_ids: Sequence[int],
    curve_classes: Sequence[int],
    names: Sequence[str],
    key_suffix: str,
    bound_suffix: str,
) -> list[_Column]:
    """A `_Column` per `CLASS_METRICS` metric, of a row per class of `class_ids` (`names`:
    each one's name in its keys): the curve metrics' for the classes of `curve_classes`
    only. A class key is the class's name in the text `class_key` puts around a vocabulary
    name (without a vocabulary the name `class<id>` there makes the key of the id,
    `auc/class<id>`)."""
    curve_set = set(curve_classes)
    curve_rows = [row for row, class_id in enumerate(class_ids) if class_id in curve_set]
    columns = []
    for metric, template in CLASS_METRICS.items():
        rows = curve_rows if metric in _CURVE_METRICS else range(len(class_ids))
        before, _, after = class_key(template, 0, [_MARKER]).partition(_MARKER)
        key_tail, bound_tail = after + key_suffix, after + bound_suffix
        selected = [names[row] for row in rows]
        columns.append(
            _Column(
                metric,
                rows,
                [f"{before}{name}{key_tail}" for name in selected],
                [f"{before}{name}{bound_tail}" for name in selected],
            )
        )
    return columns


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
