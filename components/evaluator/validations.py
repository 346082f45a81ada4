"""The blessing's verdict as TFMA writes it: `validations.tfrecord` and `blessing.json`.

`bless` decides (`blessing.decide`) from an evaluation's `metrics.json` (and its baseline's)
and writes the verdict twice: `blessing.json` (the verdict with every check, and the
thresholds) and TFMA's `ValidationResult` in `validations.tfrecord`, which
`tfma.load_validation_result(output)` reads. The `ValidationResult` follows TFMA's
`metrics_validator.validate_metrics` and its writer:

- `validation_ok` is the verdict's `blessed`;
- each slice with a failed condition has a `metric_validations_per_slice` entry: its
  `slice_key` (as in `metrics-*.tfrecord`) and one `failures` entry per failed condition,
  with the `metric_key` (`is_diff` for a change condition), the `metric_threshold` (a
  `value_threshold` with the bounds, or a `change_threshold`: `max_decrease` d is
  `absolute: -d, direction: HIGHER_IS_BETTER`, `max_increase` i is `absolute: i,
  direction: LOWER_IS_BETTER`, and `max_relative_decrease` / `max_relative_increase` the
  same with `relative`), the `metric_value` (the value; for a change condition the
  change, candidate − baseline, as TFMA's diff metric) when known, and the reason as
  `message`;
- a slice that a threshold names but the evaluation lacks is in `missing_slices`;
- `validation_details.slicing_details` has, per slicing spec of the thresholds (`{}` for
  `"*"`, as TFMA's thresholds without a spec), the number of slices checked;
- change conditions skipped without a baseline model are left out, and `rubber_stamp` is
  set, as TFMA does when it rubber-stamps a first model (TFX removes the change
  thresholds from the config).

Only fields that TFMA 0.47 and 0.52 both have are written.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import tensorflow as tf
from tensorflow_model_analysis.proto import config_pb2, metrics_for_slice_pb2, validation_result_pb2
from tensorflow_model_analysis.writers.metrics_plots_and_validations_writer import (
    convert_slice_metrics_to_proto,
)

from tfx_heads.components.evaluator import blessing, constants
from tfx_heads.components.evaluator.slicing import SliceKey
from tfx_heads.components.evaluator.writers import write_json, write_validation_result

_DIRECTIONS = {
    "decrease": config_pb2.MetricDirection.HIGHER_IS_BETTER,
    "increase": config_pb2.MetricDirection.LOWER_IS_BETTER,
}


def bless(
    output: str,
    thresholds: Sequence[blessing.MetricThreshold],
    baseline_output: str | None = None,
) -> blessing.Verdict:
    """Decides the blessing of the evaluation in `output` and writes its verdict there
    (`blessing.json` and `validations.tfrecord`).

    Args:
        output: an evaluation's output directory (with `metrics.json`).
        thresholds: the conditions.
        baseline_output: the baseline model's evaluation, or None without a baseline.

    Returns:
        The verdict.
    """
    document = _read_json(os.path.join(output, constants.METRICS_JSON_FILE))
    baseline = None
    if baseline_output is not None:
        baseline = _read_json(os.path.join(baseline_output, constants.METRICS_JSON_FILE))
    verdict = blessing.decide(
        thresholds, metrics_by_slice(document), baseline and metrics_by_slice(baseline)
    )
    write_json(
        blessing_document(thresholds, verdict), os.path.join(output, constants.BLESSING_FILE)
    )
    write_validation_result(output, validation_result(thresholds, verdict, slice_keys(document)))
    return verdict


def metrics_by_slice(document: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """`metrics.json`'s slices as {canonical slice name: metrics}, for `blessing.decide`."""
    return {
        blessing.slice_name(entry["slice"]): {
            **entry["metrics"],
            "example_count": entry["example_count"],
            "weighted_example_count": entry["weighted_example_count"],
        }
        for entry in document["slices"]
    }


def slice_keys(document: Mapping[str, Any]) -> dict[str, SliceKey]:
    """`metrics.json`'s slices as {canonical slice name: slice key}."""
    return {
        blessing.slice_name(entry["slice"]): tuple(sorted(entry["slice"].items()))
        for entry in document["slices"]
    }


def blessing_document(
    thresholds: Sequence[blessing.MetricThreshold], verdict: blessing.Verdict
) -> dict[str, Any]:
    """The `blessing.json` document: the verdict (`Verdict.to_dict`) and the thresholds."""
    return {
        **verdict.to_dict(),
        "thresholds": [dataclasses.asdict(threshold) for threshold in thresholds],
    }


def read_blessing(output: str) -> dict[str, Any] | None:
    """The `blessing.json` document of an evaluation, or None where it has none."""
    path = os.path.join(output, constants.BLESSING_FILE)
    return _read_json(path) if tf.io.gfile.exists(path) else None


def validation_result(
    thresholds: Sequence[blessing.MetricThreshold],
    verdict: blessing.Verdict,
    keys: Mapping[str, SliceKey],
) -> validation_result_pb2.ValidationResult:
    """The verdict as TFMA's `ValidationResult` (see the module docstring).

    Args:
        thresholds: the thresholds `verdict` was decided with.
        verdict: the verdict (`blessing.decide`).
        keys: the evaluation's slice keys by canonical slice name (`slice_keys`).
    """
    result = validation_result_pb2.ValidationResult(validation_ok=verdict.blessed)
    per_slice: dict[str, validation_result_pb2.MetricsValidationForSlice] = {}
    matching: dict[bytes, tuple[config_pb2.SlicingSpec, set[str]]] = {}
    missing: dict[bytes, config_pb2.SlicingSpec] = {}
    for check in verdict.checks:
        threshold = thresholds[check.threshold]
        spec = _slicing_spec(threshold)
        if check.slice not in keys:
            missing.setdefault(spec.SerializeToString(deterministic=True), spec)
            continue
        if check.outcome == "skipped":
            continue
        entry = matching.setdefault(spec.SerializeToString(deterministic=True), (spec, set()))
        entry[1].add(check.slice)
        if check.outcome != "fail":
            continue
        if check.slice not in per_slice:
            per_slice[check.slice] = validation_result_pb2.MetricsValidationForSlice(
                slice_key=_slice_key(keys[check.slice])
            )
        per_slice[check.slice].failures.append(_failure(threshold, check))
    result.metric_validations_per_slice.extend(per_slice.values())
    result.missing_slices.extend(missing.values())
    for spec, names in matching.values():
        result.validation_details.slicing_details.add(
            slicing_spec=spec, num_matching_slices=len(names)
        )
    if verdict.skipped:
        result.rubber_stamp = True
    return result


def metric_threshold(
    threshold: blessing.MetricThreshold, condition: blessing.Condition
) -> config_pb2.MetricThreshold:
    """One condition of a threshold as TFMA's `MetricThreshold`."""
    proto = config_pb2.MetricThreshold()
    if condition == "value":
        if threshold.lower_bound is not None:
            proto.value_threshold.lower_bound.value = threshold.lower_bound
        if threshold.upper_bound is not None:
            proto.value_threshold.upper_bound.value = threshold.upper_bound
        return proto
    bound = getattr(threshold, condition)
    decrease = condition.endswith("decrease")
    field = "relative" if condition.startswith("max_relative") else "absolute"
    getattr(proto.change_threshold, field).value = 0.0 - bound if decrease else bound
    proto.change_threshold.direction = _DIRECTIONS["decrease" if decrease else "increase"]
    return proto


def _failure(
    threshold: blessing.MetricThreshold, check: blessing.Check
) -> validation_result_pb2.ValidationFailure:
    failure = validation_result_pb2.ValidationFailure(
        metric_key=metrics_for_slice_pb2.MetricKey(
            name=check.metric, is_diff=check.condition != "value"
        ),
        metric_threshold=metric_threshold(threshold, check.condition),
        message=check.reason,
    )
    value = check.value
    if check.condition != "value":
        value = None if value is None or check.baseline is None else value - check.baseline
    if value is not None:
        failure.metric_value.double_value.value = value
    return failure


def _slicing_spec(threshold: blessing.MetricThreshold) -> config_pb2.SlicingSpec:
    """The threshold's slice as a `SlicingSpec` (every slice: `{}`, as TFMA's thresholds
    without a spec record it; a feature of any value: in `feature_keys`)."""
    if threshold.slice == blessing.ALL_SLICES:
        return config_pb2.SlicingSpec()
    pattern = {str(key): str(value) for key, value in threshold.slice.items()}
    return config_pb2.SlicingSpec(
        feature_keys=sorted(k for k, v in pattern.items() if v == blessing.ANY_VALUE),
        feature_values={k: v for k, v in pattern.items() if v != blessing.ANY_VALUE},
    )


def _slice_key(key: SliceKey) -> metrics_for_slice_pb2.SliceKey:
    """The slice key as TFMA's writer writes it in `metrics-*.tfrecord`."""
    return convert_slice_metrics_to_proto((key, {}), None).slice_key


def _read_json(path: str) -> dict[str, Any]:
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)
