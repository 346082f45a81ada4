"""Blessing: decides whether a model is good enough to push, from its evaluated metrics.

A threshold names a metric key (as in `metrics.json`, e.g. `auc/big_tipper`) and a slice
(`{}` is the overall slice, `{"trip_start_day": "1"}` one slice, `{"trip_start_day": "*"}`
every slice of that slicing, `"*"` every slice). It may bound the candidate's value
(`lower_bound`, `upper_bound`) and its change against the baseline model (`max_decrease`,
`max_increase`: candidate − baseline must lie in [−max_decrease, max_increase];
`max_relative_decrease`, `max_relative_increase`: the same for (candidate − baseline) /
baseline, as TFMA's `GenericChangeThreshold.relative`). A negative change bound demands an
improvement: `max_decrease: -0.01` requires candidate − baseline >= 0.01, as TFMA's
`absolute: 0.01` with `HIGHER_IS_BETTER` (`diff >= absolute`). The model is blessed when every
threshold holds on every slice it names; a metric or slice that a threshold names but the
evaluation lacks fails it, so a typo cannot bless a model. Without a baseline (the first
run of a pipeline) change conditions are skipped, as TFMA's rubber stamp does, and the
verdict lists them as skipped.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

ALL_SLICES = "*"
ANY_VALUE = "*"
"""A slice value that matches every value of its feature."""
CHANGE_CONDITIONS = (
    "max_decrease",
    "max_increase",
    "max_relative_decrease",
    "max_relative_increase",
)

SliceMetrics = Mapping[str, Mapping[str, float]]
"""Metric values by slice: canonical slice string (see `slice_name`) to {metric key: value}."""


@dataclasses.dataclass(frozen=True)
class MetricThreshold:
    """A condition on one metric in one slice (or every slice).

    Attributes:
        metric: the metric key, e.g. `auc/big_tipper`.
        slice: feature name to value (`{}` is the overall slice; the value `"*"` matches
            every value), or `"*"` for every slice.
        lower_bound: the candidate's value must be >= this.
        upper_bound: the candidate's value must be <= this.
        max_decrease: candidate − baseline must be >= −max_decrease (needs a baseline; a
            negative value demands an increase of at least its magnitude).
        max_increase: candidate − baseline must be <= max_increase (needs a baseline; a
            negative value demands a decrease of at least its magnitude).
        max_relative_decrease: (candidate − baseline) / baseline must be >=
            −max_relative_decrease (needs a baseline; a baseline of 0 fails it, as in TFMA).
        max_relative_increase: (candidate − baseline) / baseline must be <=
            max_relative_increase.
    """

    metric: str
    slice: Mapping[str, str] | str = dataclasses.field(default_factory=dict)
    lower_bound: float | None = None
    upper_bound: float | None = None
    max_decrease: float | None = None
    max_increase: float | None = None
    max_relative_decrease: float | None = None
    max_relative_increase: float | None = None

    def __post_init__(self):
        if not isinstance(self.metric, str) or not self.metric:
            raise ValueError(
                f"Invalid `metric`: expected a metric key such as 'auc'; received {self.metric!r}."
            )
        if not (self.slice == ALL_SLICES or isinstance(self.slice, Mapping)):
            raise ValueError(
                f"Invalid `slice` for {self.metric}: expected a dict of feature to value or "
                f"'{ALL_SLICES}'; received {self.slice!r}."
            )
        bounds = ("lower_bound", "upper_bound", *CHANGE_CONDITIONS)
        if all(getattr(self, bound) is None for bound in bounds):
            raise ValueError(
                f"Invalid threshold for {self.metric}: expected at least one of "
                f"{', '.join(bounds)}; received none."
            )
        for name in CHANGE_CONDITIONS:
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
                raise ValueError(
                    f"Invalid `{name}` for {self.metric}: expected a finite number (negative "
                    f"demands an improvement); received {value!r}."
                )

    @property
    def needs_baseline(self) -> bool:
        return any(getattr(self, name) is not None for name in CHANGE_CONDITIONS)

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> MetricThreshold:
        unknown = sorted(set(config) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(
                f"Invalid threshold {dict(config)!r}: unknown keys {unknown}; expected "
                f"{[f.name for f in dataclasses.fields(cls)]}."
            )
        return cls(**config)


@dataclasses.dataclass(frozen=True)
class Failure:
    """One threshold that did not hold, in one slice."""

    metric: str
    slice: str
    reason: str


Condition = Literal[
    "value", "max_decrease", "max_increase", "max_relative_decrease", "max_relative_increase"
]
"""What a check tests: the bounds on the value, or one bound on the change."""
Outcome = Literal["pass", "fail", "skipped"]


@dataclasses.dataclass(frozen=True)
class Check:
    """One condition of one threshold, checked in one slice.

    A threshold has up to five conditions: `value` (its `lower_bound` and `upper_bound`,
    TFMA's value threshold) and one per change bound (`max_decrease`, ..., TFMA's change
    thresholds).

    Attributes:
        threshold: the threshold's position in the list given to `decide`.
        metric: the threshold's metric key.
        slice: the slice's canonical name (`slice_name`).
        condition: which condition.
        outcome: `pass`, `fail`, or `skipped` (a change condition without a baseline model).
        value: the candidate's value (None when the slice or metric is missing).
        baseline: the baseline's value, for a change condition (None without it).
        reason: why it failed or was skipped; empty when it passed.
    """

    threshold: int
    metric: str
    slice: str
    condition: Condition
    outcome: Outcome
    value: float | None = None
    baseline: float | None = None
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The blessing decision and, when not blessed, every reason.

    `failures` has the first failed condition of each threshold and slice that failed;
    `checked` counts the (threshold, slice) pairs; `checks` has every condition checked.
    """

    blessed: bool
    failures: tuple[Failure, ...]
    checked: int
    skipped: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "blessed": self.blessed,
            "checked": self.checked,
            "failures": [dataclasses.asdict(f) for f in self.failures],
            "skipped": list(self.skipped),
            "checks": [dataclasses.asdict(c) for c in self.checks],
        }


def slice_name(slice_values: Mapping[str, Any]) -> str:
    """Canonical text of a slice: `Overall`, or `feature:value` joined by `, ` in key order."""
    if not slice_values:
        return "Overall"
    return ", ".join(f"{key}:{slice_values[key]}" for key in sorted(slice_values))


def parse_thresholds(config: str | Sequence[Mapping[str, Any]] | None) -> list[MetricThreshold]:
    """Thresholds from JSON text or a list of dicts; None or empty gives none."""
    if not config:
        return []
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"Invalid thresholds: expected a JSON list of threshold objects; {error}."
            ) from error
    if not isinstance(config, list):
        raise ValueError(
            f"Invalid thresholds: expected a list of threshold objects; received {config!r}."
        )
    return [MetricThreshold.from_dict(item) for item in config]


def read_threshold_file(path: str, argument: str = "--thresholds") -> list[dict[str, Any]]:
    """The thresholds of a JSON file (a list of threshold objects), checked by
    `parse_thresholds` and returned as read.

    Raises:
        ValueError: if the file is not JSON or not a valid list of thresholds.
        OSError: if the file cannot be read.
    """
    from tfx_heads.components.json_files import read_json_argument

    thresholds = read_json_argument(path, argument, "a JSON list")
    parse_thresholds(thresholds)
    return thresholds


def decide(
    thresholds: Iterable[MetricThreshold],
    candidate: SliceMetrics,
    baseline: SliceMetrics | None = None,
) -> Verdict:
    """Checks every threshold against the candidate's (and baseline's) metrics.

    Args:
        thresholds: the conditions.
        candidate: the evaluated model's metrics by `slice_name`.
        baseline: the baseline model's metrics by `slice_name`, or None without a baseline.

    Returns:
        The verdict; without thresholds a model is blessed.
    """
    checks: list[Check] = []
    skipped: list[str] = []
    checked = 0
    for index, threshold in enumerate(thresholds):
        if threshold.needs_baseline and baseline is None:
            skipped.append(f"{threshold.metric}: change condition without a baseline model")
        slices = _slices(threshold.slice, candidate)
        for name in slices:
            checked += 1
            base = None if baseline is None else baseline.get(name, {})
            checks += _check(index, threshold, name, candidate.get(name), base)
    failures: dict[tuple[int, str], Failure] = {}
    for check in checks:
        if check.outcome == "fail":
            failures.setdefault(
                (check.threshold, check.slice), Failure(check.metric, check.slice, check.reason)
            )
    return Verdict(
        blessed=not failures,
        failures=tuple(failures.values()),
        checked=checked,
        skipped=tuple(skipped),
        checks=tuple(checks),
    )


def conditions(threshold: MetricThreshold) -> list[Condition]:
    """The conditions a threshold sets, in the order they are checked."""
    found: list[Condition] = []
    if threshold.lower_bound is not None or threshold.upper_bound is not None:
        found.append("value")
    found += [name for name in CHANGE_CONDITIONS if getattr(threshold, name) is not None]
    return found


def _slices(pattern: Mapping[str, str] | str, candidate: SliceMetrics) -> list[str]:
    """The names of the slices a threshold's `slice` names: every evaluated slice that
    matches a pattern with `"*"`, else the one slice (evaluated or not)."""
    if pattern == ALL_SLICES:
        return sorted(candidate)
    if ANY_VALUE not in pattern.values():
        return [slice_name(pattern)]
    fixed = {key: str(value) for key, value in pattern.items() if value != ANY_VALUE}

    def matches(name: str) -> bool:
        parts = [] if name == slice_name({}) else name.split(", ")
        values = dict(part.split(":", 1) for part in parts)
        return set(values) == set(pattern) and all(values[k] == v for k, v in fixed.items())

    return sorted(name for name in candidate if matches(name))


def _check(
    index: int,
    threshold: MetricThreshold,
    name: str,
    candidate: Mapping[str, float] | None,
    baseline: Mapping[str, float] | None,
) -> list[Check]:
    """Each condition of `threshold` checked in the slice `name`.

    `baseline` is the baseline's metrics in that slice: None without a baseline model, and
    an empty dict when the baseline lacks the slice.
    """
    value = None if candidate is None else candidate.get(threshold.metric)
    if candidate is None:
        missing = "slice not found in the evaluation"
    elif value is None:
        missing = "metric not found in the evaluation"
    elif math.isnan(value):
        missing = "value is NaN"
    else:
        missing = ""
    checks = []
    for condition in conditions(threshold):
        check = functools.partial(Check, index, threshold.metric, name, condition, value=value)
        if missing:
            checks.append(check("fail", reason=missing))
        elif condition == "value":
            reason = _value_failure(threshold, value)
            checks.append(check("fail" if reason else "pass", reason=reason))
        elif baseline is None:
            checks.append(check("skipped", reason="no baseline model"))
        else:
            base = baseline.get(threshold.metric)
            reason = _change_failure(threshold, condition, value, base)
            checks.append(check("fail" if reason else "pass", baseline=base, reason=reason))
    return checks


def _value_failure(threshold: MetricThreshold, value: float) -> str:
    if threshold.lower_bound is not None and value < threshold.lower_bound:
        return f"value {value:.6g} < lower_bound {threshold.lower_bound:.6g}"
    if threshold.upper_bound is not None and value > threshold.upper_bound:
        return f"value {value:.6g} > upper_bound {threshold.upper_bound:.6g}"
    return ""


def _change_failure(
    threshold: MetricThreshold, condition: Condition, value: float, base: float | None
) -> str:
    if base is None or math.isnan(base):
        return "baseline value missing or NaN"
    change, what = value - base, "change"
    if condition.startswith("max_relative"):
        if math.isclose(base, 0.0):
            return "baseline value is 0: no relative change"
        change, what = change / base, "relative change"
    bound = getattr(threshold, condition)
    if condition.endswith("decrease") and change < -bound:
        return f"{what} {change:+.6g} below -{condition} {0.0 - bound:.6g}"
    if condition.endswith("increase") and change > bound:
        return f"{what} {change:+.6g} above {condition} {bound:.6g}"
    return ""
