"""Loading an evaluation's output for the report: metrics, blessing, baseline and plot data.

An evaluation directory (see `components.evaluator.writers`) holds `metrics.json`, TFMA's
files (`eval_config.json`, `metrics-*`, `plots-*`) and, when written by the TFX component,
`blessing.json` and a baseline model's evaluation in `baseline/`. Heads are derived from the
metric keys: every head's keys end with `/<head name>` and each head has a
`weighted_example_count/<head name>` key (an unnamed single head has unsuffixed keys); the head
config stored beside the model, when `eval_config.json` names one, only names classes. Curves
and calibration buckets come from TFMA's plots (`tfma.load_eval_result(dir).plots`, overall
slice), keyed by head (`output_name`) and class id (`sub_key`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import tensorflow as tf

from components.evaluator.constants import (
    BASELINE_DIR,
    BLESSING_FILE,
    HEAD_CONFIG_FILE,
    METRICS_JSON_FILE,
)
from heads.stats.metric_keys import ERROR_BOUND_SUFFIX

PER_CLASS_METRICS = ("auc", "auc_precision_recall", "average_precision", "probability_mean")
THRESHOLD_PREFIX = "positive_threshold_"
CALIBRATION_BUCKETS = 20
"""Most points of a calibration plot (buckets merged into runs of about equal weight)."""

HeadKind = Literal["binary", "multi_class", "multi_label", "regression", "unknown"]


@dataclasses.dataclass
class Curve:
    """Confusion counts at thresholds and calibration buckets of one score (overall slice).

    Arrays are float64: `thresholds`, `tp`, `fp`, `tn`, `fn` `[T]` (thresholds ascending);
    `bucket_weight`, `bucket_label`, `bucket_prediction` `[C]` (weighted sums per bucket).
    """

    head: str
    class_id: int | None
    class_name: str | None
    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    tn: np.ndarray
    fn: np.ndarray
    bucket_weight: np.ndarray
    bucket_label: np.ndarray
    bucket_prediction: np.ndarray

    @property
    def positives(self) -> float:
        """Weighted positives of this score."""
        return float(self.tp[0] + self.fn[0]) if len(self.tp) else 0.0

    def roc(self) -> tuple[np.ndarray, np.ndarray]:
        """`(false positive rate, true positive rate)`, float64 `[T]` each."""
        return _ratio(self.fp, self.fp + self.tn), _ratio(self.tp, self.tp + self.fn)

    def precision_recall(self) -> tuple[np.ndarray, np.ndarray]:
        """`(recall, precision)`, float64 `[T']`, points where precision is defined."""
        defined = (self.tp + self.fp) > 0
        recall = _ratio(self.tp, self.tp + self.fn)[defined]
        return recall, _ratio(self.tp, self.tp + self.fp)[defined]

    def calibration(
        self, max_buckets: int = CALIBRATION_BUCKETS
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`(mean prediction, observed rate, weight)`, float64 `[C']` each: the buckets merged
        into at most `max_buckets` runs of about equal weight, empty runs dropped."""
        weight = self.bucket_weight
        if not len(weight) or weight.sum() <= 0:
            return np.zeros(0), np.zeros(0), np.zeros(0)
        before = np.cumsum(weight) - weight
        group = np.minimum((before / weight.sum() * max_buckets).astype(int), max_buckets - 1)
        merged = [
            np.bincount(group, v, max_buckets)
            for v in (weight, self.bucket_label, self.bucket_prediction)
        ]
        keep = merged[0] > 0
        total, labels, predictions = (m[keep] for m in merged)
        return predictions / total, labels / total, total

    def confusion_at(self, threshold: float) -> dict[str, float]:
        """Counts at the curve threshold nearest `threshold` (`threshold` key: the one used)."""
        i = int(np.argmin(np.abs(self.thresholds - threshold)))
        return {
            "threshold": float(self.thresholds[i]),
            "tp": float(self.tp[i]),
            "fp": float(self.fp[i]),
            "tn": float(self.tn[i]),
            "fn": float(self.fn[i]),
        }


@dataclasses.dataclass
class HeadMetrics:
    """One head's metrics in one slice, split by form (keys without the head suffix)."""

    name: str
    kind: HeadKind
    scalars: dict[str, float]
    """Headline metrics: `auc`, `accuracy`, `average_loss`, ..."""
    error_bounds: dict[str, float]
    """Metric (scalar, threshold or `metric/class`) to its guaranteed error bound."""
    thresholds: dict[float, dict[str, float]]
    """Threshold to {`accuracy`, `precision`, `recall`} at it."""
    classes: dict[str, dict[str, float]]
    """Class name to {`auc`, `auc_precision_recall`, ...}."""
    intervals: dict[str, tuple[float, float]]
    """Metric to its confidence interval `(lower, upper)`, when computed."""


@dataclasses.dataclass
class Evaluation:
    """Everything the report shows about one evaluation directory."""

    directory: str
    document: dict[str, Any]
    heads: list[str]
    curves: list[Curve]
    blessing: dict[str, Any] | None = None
    baseline: Evaluation | None = None
    plots_error: str | None = None

    @property
    def slices(self) -> list[dict[str, Any]]:
        return self.document["slices"]

    @property
    def overall(self) -> dict[str, Any]:
        return self.slices[0]

    def head_metrics(self, head: str, entry: Mapping[str, Any] | None = None) -> HeadMetrics:
        """`head`'s metrics in a `metrics.json` slice entry (default: the overall slice)."""
        return split_metrics(head, entry if entry is not None else self.overall)

    def curves_of(self, head: str) -> list[Curve]:
        return [curve for curve in self.curves if curve.head == head]


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.zeros(np.shape(numerator), np.float64)
    return np.divide(numerator, denominator, out=out, where=denominator > 0)


def head_names(metrics: Mapping[str, float]) -> list[str]:
    """Head names from metric keys, in key order (`[""]` for an unnamed single head)."""
    prefix = "weighted_example_count/"
    names = [key[len(prefix) :] for key in metrics if key.startswith(prefix)]
    if not names and "weighted_example_count" in metrics:
        return [""]
    return names


def _strip(key: str, head: str) -> str | None:
    if not head:
        return key
    suffix = f"/{head}"
    return key[: -len(suffix)] if key.endswith(suffix) else None


def head_kind(scalars: Mapping[str, float], classes: Mapping[str, Any]) -> HeadKind:
    """The head's kind from which headline metrics it has."""
    if "accuracy_baseline" in scalars or ("auc" in scalars and "accuracy" in scalars):
        return "binary"
    if "accuracy" in scalars:
        return "multi_class"
    if "auc" in scalars or classes:
        return "multi_label"
    if "label/mean" in scalars or "average_loss" in scalars:
        return "regression"
    return "unknown"


def split_metrics(head: str, entry: Mapping[str, Any]) -> HeadMetrics:
    """Splits a slice entry's metrics of `head` into headline, bound, threshold and class
    metrics (see `HeadMetrics`)."""
    scalars: dict[str, float] = {}
    bounds: dict[str, float] = {}
    thresholds: dict[float, dict[str, float]] = {}
    classes: dict[str, dict[str, float]] = {}
    intervals: dict[str, tuple[float, float]] = {}
    raw_intervals = entry.get("confidence_intervals") or {}
    for key, value in entry["metrics"].items():
        base = _strip(key, head)
        if base is None:
            continue
        if key in raw_intervals:
            interval = raw_intervals[key]
            intervals[base] = (interval["lower"], interval["upper"])
        parts = base.split("/")
        if parts[-1] == ERROR_BOUND_SUFFIX and len(parts) > 1:
            bounds["/".join(parts[:-1])] = value
        elif len(parts) == 2 and parts[1].startswith(THRESHOLD_PREFIX):
            threshold = float(parts[1][len(THRESHOLD_PREFIX) :])
            thresholds.setdefault(threshold, {})[parts[0]] = value
        elif len(parts) == 2 and parts[0] in PER_CLASS_METRICS:
            classes.setdefault(parts[1], {})[parts[0]] = value
        else:
            scalars[base] = value
    return HeadMetrics(
        name=head,
        kind=head_kind(scalars, classes),
        scalars=scalars,
        error_bounds=bounds,
        thresholds=dict(sorted(thresholds.items())),
        classes=classes,
        intervals=intervals,
    )


def _number(value: Any) -> float:
    return float(value) if not isinstance(value, str) else float(value.replace("Infinity", "inf"))


def _curve(head: str, class_id: int | None, plot: Mapping[str, Any]) -> Curve:
    matrices = plot.get("confusionMatrixAtThresholds", {}).get("matrices", [])
    buckets = plot.get("calibrationHistogramBuckets", {}).get("buckets", [])

    def column(rows: list[Mapping[str, Any]], name: str) -> np.ndarray:
        return np.array([_number(row.get(name, 0.0)) for row in rows], np.float64)

    def bucket_column(name: str) -> np.ndarray:
        values = [b.get(name, 0.0) for b in buckets]
        values = [v.get("value", 0.0) if isinstance(v, Mapping) else v for v in values]
        return np.array([_number(v) for v in values], np.float64)

    return Curve(
        head=head,
        class_id=class_id,
        class_name=None,
        thresholds=column(matrices, "threshold"),
        tp=column(matrices, "truePositives"),
        fp=column(matrices, "falsePositives"),
        tn=column(matrices, "trueNegatives"),
        fn=column(matrices, "falseNegatives"),
        bucket_weight=bucket_column("numWeightedExamples"),
        bucket_label=bucket_column("totalWeightedLabel"),
        bucket_prediction=bucket_column("totalWeightedRefinedPrediction"),
    )


def load_curves(directory: str) -> list[Curve]:
    """The overall slice's curves from TFMA's plots files (`tfma.load_eval_result`)."""
    import tensorflow_model_analysis as tfma

    result = tfma.load_eval_result(directory)
    curves = []
    for slice_key, by_output in result.plots:
        if slice_key != ():
            continue
        for output_name, by_sub_key in by_output.items():
            for sub_key, plot in by_sub_key.items():
                class_id = int(sub_key.split(":")[1]) if sub_key.startswith("classId:") else None
                curves.append(_curve(output_name, class_id, plot))
    return curves


def head_vocabularies(directory: str) -> dict[str, tuple[str, ...]] | None:
    """Head name to label vocabulary, from the head config the evaluator writes beside its
    results or, for older results, the one stored beside the evaluated model
    (`heads.export_saved_model`), which `eval_config.json` names; None when not at hand."""
    from heads.export import HEAD_CONFIG_PATH, read_head_config
    from heads.multi_head import MultiHead

    candidates = [os.path.join(directory, HEAD_CONFIG_FILE)]
    eval_config = os.path.join(directory, "eval_config.json")
    if tf.io.gfile.exists(eval_config):
        locations = _read_json(eval_config).get("modelLocations", {}).values()
        candidates += [os.path.join(location, HEAD_CONFIG_PATH) for location in locations]
    for path in candidates:
        if not tf.io.gfile.exists(path):
            continue
        try:
            head, _ = read_head_config(path)
        except Exception:  # noqa: BLE001 - e.g. custom objects; names then come from keys.
            continue
        singles = head.heads if isinstance(head, MultiHead) else (head,)
        return {
            single.name or "": tuple(single.label_vocabulary)
            for single in singles
            if getattr(single, "label_vocabulary", None)
        }
    return None


def _name_classes(
    curves: list[Curve], evaluation: Evaluation, vocabularies: Mapping[str, Sequence[str]] | None
) -> None:
    """Names per-class curves: by the head config's vocabulary when at hand; else `classN`
    keys by id, vocabulary names position-wise (the plots keep the classes in the order of
    the metric keys, the selected classes' order)."""
    for head in evaluation.heads:
        names = list(evaluation.head_metrics(head).classes)
        vocabulary = (vocabularies or {}).get(head)
        per_class = [curve for curve in curves if curve.head == head and curve.class_id is not None]
        for position, curve in enumerate(per_class):
            if vocabulary and curve.class_id < len(vocabulary):
                curve.class_name = vocabulary[curve.class_id]
            elif f"class{curve.class_id}" in names:
                curve.class_name = f"class{curve.class_id}"
            elif len(names) == len(per_class):
                curve.class_name = names[position]
            else:
                curve.class_name = f"class{curve.class_id}"


def _read_json(path: str) -> Any:
    with tf.io.gfile.GFile(path) as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f"Invalid {path}: expected JSON; {error}.") from error


_SLICE_FIELDS = {"slice": dict, "example_count": (int, float), "metrics": dict}
"""What the report reads of each slice entry of `metrics.json`, and its JSON type."""


def _checked_document(document: Any, path: str) -> dict[str, Any]:
    """`metrics.json` as the evaluator writes it (`components.evaluator.writers`), or a
    ValueError naming the file, the entry and the field that is missing or mistyped."""
    if not isinstance(document, dict) or not isinstance(document.get("slices"), list):
        raise ValueError(f"Invalid {path}: expected an object with a `slices` list.")
    if not document["slices"]:
        raise ValueError(f"Invalid {path}: expected at least the overall slice; found none.")
    for position, entry in enumerate(document["slices"]):
        for field, kind in _SLICE_FIELDS.items():
            value = entry.get(field) if isinstance(entry, dict) else None
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError(
                    f"Invalid {path}: expected slices[{position}].{field} as a JSON "
                    f"{'object' if kind is dict else 'number'}; received {value!r}."
                )
    rejected = document.get("rejected", {})
    if not isinstance(rejected, dict):
        raise ValueError(f"Invalid {path}: expected `rejected` as an object; got {rejected!r}.")
    return document


def load_evaluation(directory: str, with_baseline: bool = True) -> Evaluation:
    """Loads an evaluation directory (and its `baseline/` when present).

    Raises:
        FileNotFoundError: if `directory` has no `metrics.json`.
    """
    path = os.path.join(directory, METRICS_JSON_FILE)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(
            f"Invalid `eval_dir`: expected an evaluation output with {METRICS_JSON_FILE}; "
            f"received {directory!r}, which has none."
        )
    document = _checked_document(_read_json(path), path)
    heads = head_names(document["slices"][0]["metrics"])
    evaluation = Evaluation(directory=directory, document=document, heads=heads, curves=[])
    try:
        evaluation.curves = load_curves(directory)
    except Exception as error:  # noqa: BLE001 - the report renders without curves.
        evaluation.plots_error = f"{type(error).__name__}: {error}"
    try:
        vocabularies = head_vocabularies(directory)
    except (OSError, ValueError, tf.errors.OpError):
        vocabularies = None
    _name_classes(evaluation.curves, evaluation, vocabularies)
    blessing_path = os.path.join(directory, BLESSING_FILE)
    if tf.io.gfile.exists(blessing_path):
        evaluation.blessing = _read_json(blessing_path)
    baseline_dir = os.path.join(directory, BASELINE_DIR)
    if with_baseline and tf.io.gfile.exists(os.path.join(baseline_dir, METRICS_JSON_FILE)):
        evaluation.baseline = load_evaluation(baseline_dir, with_baseline=False)
    return evaluation


def is_finite(value: Any) -> bool:
    """Whether `value` is a finite number."""
    return isinstance(value, (int, float)) and math.isfinite(value)
