"""TFMA's `EvalConfig` as the evaluator's options: slicings, thresholds, label keys.

`options_from_eval_config` reads a `tfma.EvalConfig` (the proto, or its JSON or text form,
as TFX's Evaluator takes it) into `EvaluationOptions` fields, so that a config written for
TFX's own Evaluator works with `HeadEvaluator`, `evaluate` and `tfx-heads evaluate`:

- `slicing_specs`: `feature_keys` are slicings (several make a cross), `feature_values`
  fixed slices, an empty spec the overall slice;
- `metrics_specs`: `thresholds` by metric name, `per_slice_thresholds` and each
  `MetricConfig`'s `threshold` / `per_slice_thresholds`; `value_threshold` bounds and
  `change_threshold` (`absolute` / `relative` with a `direction`) against the baseline,
  as `max_(relative_)decrease/increase` bounds (one that demands an improvement, e.g.
  `HIGHER_IS_BETTER` with `absolute` 0.01, is a negative bound);
  `output_names` names the heads of a MultiHead (a metric's key gets `/<head>`);
- `model_specs`: the candidate's and the baseline's (`is_baseline`) label key(s),
  `signature_name` (the `predict` signature) and example weight key(s);
- `options.compute_confidence_intervals` and `options.min_slice_size` (a smaller slice
  reports its example counts only, `EvaluationOptions.min_slice_size`).

As in TFMA, a threshold without a slicing spec holds in every slice. Metric names are
TFMA's (`METRIC_NAMES` maps them onto the head's keys) or the head's own keys
(`average_loss`, `auc/class3`, ...). Any other field is refused with an error naming it:
nothing in a config is silently ignored. The names are checked against the head's keys
when the head is known (`check_head_references`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from google.protobuf import json_format, text_format
from google.protobuf.message import Message
from tensorflow_model_analysis.proto import config_pb2

from heads.description import HeadDescription
from tfx_heads.components.evaluator.blessing import ALL_SLICES, ANY_VALUE, MetricThreshold
from tfx_heads.components.evaluator.slicing import SliceSpec

METRIC_NAMES = {
    "auc": "auc",
    "auc_precision_recall": "auc_precision_recall",
    "binary_accuracy": "accuracy",
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "mean_label": "label/mean",
    "mean_prediction": "prediction/mean",
    "example_count": "example_count",
    "weighted_example_count": "weighted_example_count",
}
"""TFMA (and Keras) metric names -> the head's metric keys (before `/<head>`)."""

METRIC_CLASSES = {
    "AUC": "auc",
    "AUCPrecisionRecall": "auc_precision_recall",
    "BinaryAccuracy": "binary_accuracy",
    "Precision": "precision",
    "Recall": "recall",
    "MeanLabel": "mean_label",
    "MeanPrediction": "mean_prediction",
    "ExampleCount": "example_count",
    "WeightedExampleCount": "weighted_example_count",
}
"""`MetricConfig.class_name`s accepted (TFMA's or Keras's) -> the metric's name."""
HEAD_METRICS = ("HeadMetrics", "tfx_heads.components.evaluator.tfma_metric")
"""The `MetricConfig` of `tfma_metric.head_metrics_spec`: every head key, as here."""
_METRIC_MODULES = ("", "tensorflow_model_analysis.metrics", "tf.keras.metrics", "keras.metrics")
SIGNATURES = ("", "predict")
_MODEL_FIELDS = {"name", "signature_name", "label_key", "label_keys", "example_weight_key",
                 "example_weight_keys", "is_baseline"}  # fmt: skip


def load_eval_config(
    value: config_pb2.EvalConfig | Mapping[str, Any] | str,
) -> config_pb2.EvalConfig:
    """The `EvalConfig` of a proto, a dict of its JSON form, or JSON or text-format text.

    Raises:
        ValueError: for text that is neither form, naming both parse errors.
    """
    if isinstance(value, Message):
        if not isinstance(value, config_pb2.EvalConfig):  # another TFMA build's class
            return config_pb2.EvalConfig.FromString(value.SerializeToString())
        return value
    if isinstance(value, Mapping):
        return json_format.ParseDict(value, config_pb2.EvalConfig())
    if not isinstance(value, str):
        raise ValueError(
            "Invalid `eval_config`: expected a tfma.EvalConfig, its JSON or text form; "
            f"received {type(value).__name__}."
        )
    try:
        return json_format.Parse(value, config_pb2.EvalConfig())
    except json_format.ParseError as json_error:
        try:
            return text_format.Parse(value, config_pb2.EvalConfig())
        except text_format.ParseError as text_error:
            raise ValueError(
                "Invalid `eval_config`: expected a tfma.EvalConfig as JSON or text format; "
                f"as JSON: {json_error}; as text: {text_error}."
            ) from text_error


def eval_config_json(eval_config: config_pb2.EvalConfig) -> str:
    """The config as the execution property TFX's Evaluator stores (`json_format`)."""
    return json_format.MessageToJson(eval_config, sort_keys=True, indent=None)


def options_from_eval_config(
    value: config_pb2.EvalConfig | Mapping[str, Any] | str,
) -> dict[str, Any]:
    """The `EvaluationOptions` fields an `EvalConfig` sets (see the module docstring).

    Raises:
        ValueError: for a field the evaluator does not support, naming it and what is.
    """
    config = load_eval_config(value)
    _refuse(config, "eval_config", {"model_specs", "slicing_specs", "metrics_specs", "options"})
    fields: dict[str, Any] = {"slices": [_slice_spec(s, f"slicing_specs[{i}]")
                                         for i, s in enumerate(config.slicing_specs)]}  # fmt: skip
    fields.update(_model_fields(config.model_specs))
    fields["thresholds"] = [
        threshold
        for i, spec in enumerate(config.metrics_specs)
        for threshold in _spec_thresholds(spec, f"metrics_specs[{i}]", config.model_specs)
    ]
    if config.HasField("options"):
        fields["confidence_intervals"] = _confidence_intervals(config.options)
        if config.options.HasField("min_slice_size"):  # TFMA keeps every slice below 1
            fields["min_slice_size"] = max(1, config.options.min_slice_size.value)
    return fields


def check_head_references(
    thresholds: Sequence[MetricThreshold],
    weight_keys: str | Mapping[str, str] | None,
    head: HeadDescription,
    metric_keys: Sequence[str],
) -> None:
    """Checks that every threshold names one of the head's metric keys and that example
    weight keys are the head's own.

    Raises:
        ValueError: naming the metric (with the head's keys) or the weight key.
    """
    known = {*metric_keys, "example_count", "weighted_example_count"}
    for threshold in thresholds:
        if threshold.metric not in known:
            raise ValueError(
                f"Invalid threshold metric {threshold.metric!r}: {head.subject} has no such "
                f"metric key (TFMA names map as in eval_config.METRIC_NAMES, with "
                f"`output_names` naming a MultiHead's heads); its keys: {sorted(known)}."
            )
    if weight_keys is None:
        return
    singles = head.single_heads
    given = weight_keys if isinstance(weight_keys, Mapping) else {singles[0].name: weight_keys}
    carried = {single.name: single.weight_key for single in singles}
    for name, key in given.items():
        if name not in carried or (key or None) != carried[name]:
            raise ValueError(
                f"Invalid `example_weight_key(s)`: {name or 'the head'} -> {key!r}, but the "
                f"heads weigh examples by their weight_column {carried}; the evaluator "
                "supports only these."
            )


def _refuse(message: Message, where: str, supported: set[str]) -> None:
    """Raises for a set field of `message` outside `supported`."""
    for field, _ in message.ListFields():
        if field.name not in supported:
            raise ValueError(
                f"Invalid `{where}.{field.name}`: not supported by the head evaluator; it "
                f"supports {sorted(supported)}."
            )


def _slice_spec(spec: config_pb2.SlicingSpec, where: str) -> SliceSpec:
    _refuse(spec, where, {"feature_keys", "feature_values"})
    return SliceSpec(tuple(spec.feature_keys), dict(spec.feature_values))


def _slice_pattern(spec: config_pb2.SlicingSpec, where: str) -> dict[str, str]:
    """A per-slice threshold's spec as `MetricThreshold.slice`."""
    _refuse(spec, where, {"feature_keys", "feature_values"})
    return {**{key: ANY_VALUE for key in spec.feature_keys}, **spec.feature_values}


def _model_fields(specs: Sequence[config_pb2.ModelSpec]) -> dict[str, Any]:
    """Label and weight keys of the candidate's model spec (the baseline's must agree)."""
    fields: dict[str, Any] = {}
    for role in (False, True):
        found = [(i, s) for i, s in enumerate(specs) if s.is_baseline == role]
        if len(found) > 1:
            raise ValueError(
                f"Invalid `eval_config.model_specs`: expected one candidate and at most one "
                f"baseline (is_baseline) spec; received {len(found)} "
                f"{'baseline' if role else 'candidate'} specs."
            )
        for index, spec in found:
            where = f"model_specs[{index}]"
            _refuse(spec, where, _MODEL_FIELDS)
            if spec.signature_name not in SIGNATURES:
                raise ValueError(
                    f"Invalid `{where}.signature_name`: the evaluator infers with the "
                    f"`predict` signature of heads.export_saved_model; received "
                    f"{spec.signature_name!r}."
                )
            keys = {
                "label_keys": spec.label_key or dict(spec.label_keys) or None,
                "example_weight_keys": spec.example_weight_key
                or dict(spec.example_weight_keys)
                or None,
            }
            for name, value in keys.items():
                if role and value is not None and value != fields.get(name):
                    raise ValueError(
                        f"Invalid `{where}`: the baseline is evaluated with the candidate's "
                        f"{name} ({fields.get(name)!r}); received {value!r}."
                    )
                if not role:
                    fields[name] = value
    return {name: value for name, value in fields.items() if value is not None}


def _spec_thresholds(
    spec: config_pb2.MetricsSpec, where: str, models: Sequence[config_pb2.ModelSpec]
) -> Iterator[MetricThreshold]:
    """The thresholds of one `MetricsSpec`, one per head of `output_names`."""
    _refuse(spec, where, {"metrics", "model_names", "output_names", "thresholds",
                          "per_slice_thresholds"})  # fmt: skip
    names = {model.name for model in models}
    unknown = sorted(set(spec.model_names) - names)
    if unknown:
        raise ValueError(
            f"Invalid `{where}.model_names`: {unknown} name no model spec; the specs are "
            f"{sorted(names)}."
        )
    conditions: list[tuple] = []  # (metric name, slice, TFMA threshold, where)
    for index, metric in enumerate(spec.metrics):
        conditions += _metric_config_thresholds(metric, f"{where}.metrics[{index}]")
    for name, threshold in spec.thresholds.items():
        conditions.append((name, ALL_SLICES, threshold, f"{where}.thresholds[{name!r}]"))
    for name, per_slice in spec.per_slice_thresholds.items():
        for index, item in enumerate(per_slice.thresholds):
            conditions += _per_slice(name, item, f"{where}.per_slice_thresholds[{name!r}][{index}]")
    for output in spec.output_names or [""]:
        for name, pattern, threshold, origin in conditions:
            key = METRIC_NAMES.get(name, name) + (f"/{output}" if output else "")
            yield _threshold(key, pattern, threshold, origin)


def _metric_config_thresholds(metric: config_pb2.MetricConfig, where: str) -> list[tuple]:
    _refuse(metric, where, {"class_name", "module", "config", "threshold", "per_slice_thresholds"})
    if (metric.class_name, metric.module) == HEAD_METRICS:
        if metric.HasField("threshold") or metric.per_slice_thresholds:
            raise ValueError(
                f"Invalid `{where}`: HeadMetrics computes every head key; give its thresholds "
                "by key in the MetricsSpec's `thresholds` or `per_slice_thresholds`."
            )
        return []
    if metric.module not in _METRIC_MODULES or metric.class_name not in METRIC_CLASSES:
        raise ValueError(
            f"Invalid `{where}`: the head evaluator computes the head's metrics; it supports "
            f"the MetricConfig class names {sorted(METRIC_CLASSES)} (TFMA's or Keras's) and "
            f"{HEAD_METRICS[1]}.HeadMetrics; received class_name={metric.class_name!r}, "
            f"module={metric.module!r}."
        )
    name = METRIC_CLASSES[metric.class_name]
    if metric.config and json.loads(metric.config) not in ({}, {"name": name}):
        raise ValueError(
            f"Invalid `{where}.config`: expected none (the head's own {name}); received "
            f"{metric.config!r}."
        )
    found = []
    if metric.HasField("threshold"):
        found.append((name, ALL_SLICES, metric.threshold, f"{where}.threshold"))
    for index, item in enumerate(metric.per_slice_thresholds):
        found += _per_slice(name, item, f"{where}.per_slice_thresholds[{index}]")
    return found


def _per_slice(name: str, item: config_pb2.PerSliceMetricThreshold, where: str) -> list[tuple]:
    specs = item.slicing_specs or [config_pb2.SlicingSpec()]
    return [
        (name, _slice_pattern(spec, f"{where}.slicing_specs[{index}]"), item.threshold, where)
        for index, spec in enumerate(specs)
    ]


def _threshold(
    key: str, pattern: Any, threshold: config_pb2.MetricThreshold, where: str
) -> MetricThreshold:
    """One TFMA `MetricThreshold` as a blessing threshold."""
    bounds: dict[str, float] = {}
    if threshold.HasField("value_threshold"):
        value = threshold.value_threshold
        for name in ("lower_bound", "upper_bound"):
            if value.HasField(name):
                bounds[name] = getattr(value, name).value
    if threshold.HasField("change_threshold"):
        bounds.update(_change_bounds(threshold.change_threshold, f"{where}.change_threshold"))
    if not bounds:
        raise ValueError(f"Invalid `{where}`: expected a value_threshold or change_threshold.")
    return MetricThreshold(metric=key, slice=pattern, **bounds)


def _change_bounds(change: config_pb2.GenericChangeThreshold, where: str) -> dict[str, float]:
    """TFMA's change threshold as `max_(relative_)decrease/increase` bounds."""
    directions = {
        config_pb2.MetricDirection.HIGHER_IS_BETTER: ("decrease", -1.0),
        config_pb2.MetricDirection.LOWER_IS_BETTER: ("increase", 1.0),
    }
    if change.direction not in directions:
        raise ValueError(
            f"Invalid `{where}.direction`: expected HIGHER_IS_BETTER or LOWER_IS_BETTER; "
            f"received {config_pb2.MetricDirection.Name(change.direction)}."
        )
    word, sign = directions[change.direction]
    bounds = {}
    for field, name in (("absolute", f"max_{word}"), ("relative", f"max_relative_{word}")):
        if change.HasField(field):
            # A negative bound (HIGHER_IS_BETTER with a value > 0, LOWER_IS_BETTER with one
            # < 0) demands an improvement, as TFMA's `diff >= absolute` / `diff <= absolute`.
            bounds[name] = sign * getattr(change, field).value + 0.0
    if not bounds:
        raise ValueError(f"Invalid `{where}`: expected `absolute` or `relative`.")
    return bounds


def _confidence_intervals(options: config_pb2.Options) -> bool:
    _refuse(options, "options", {"compute_confidence_intervals", "confidence_intervals",
                                 "include_default_metrics", "min_slice_size"})  # fmt: skip
    method = options.confidence_intervals.method
    if method not in (0, config_pb2.ConfidenceIntervalOptions.POISSON_BOOTSTRAP):
        raise ValueError(
            "Invalid `options.confidence_intervals.method`: the evaluator computes Poisson "
            f"bootstrap intervals; received {config_pb2.ConfidenceIntervalOptions.Name(method)}."
        )
    if options.include_default_metrics.value:
        raise ValueError(
            "Invalid `options.include_default_metrics`: the evaluator computes the head's "
            "metrics, not an EvalSavedModel's; expected false or unset."
        )
    return options.compute_confidence_intervals.value
