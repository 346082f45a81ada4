"""Loading an evaluation's output for the report: metrics, blessing, baseline and plot data.

An evaluation directory (see `tfx_heads.components.evaluator.writers`) holds `metrics.json`, TFMA's
files (`eval_config.json`, `metrics-*`, `plots-*`) and, when written by the TFX component,
`blessing.json` and a baseline model's evaluation in `baseline/`. The heads, their kinds, thresholds
and classes come from each slice's structured `heads` list
(`tfx_heads.components.evaluator.head_metrics`, built from the head's description), never from
taking metric keys apart, so head and class names may hold any character. Curves and calibration
buckets come from TFMA's plots (`tfma.load_eval_result(dir).plots`, overall slice), keyed by head
(`output_name`) and class id (`sub_key`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf
from google.protobuf.message import DecodeError

from heads.description import HeadKind
from tfx_heads.components.evaluator.constants import BASELINE_DIR, BLESSING_FILE, METRICS_JSON_FILE

CALIBRATION_BUCKETS = 20
"""Most points of a calibration plot (buckets merged into runs of about equal weight)."""


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
    """One head's metrics in one slice, by form (names without the head suffix): a slice's
    structured `heads` entry (`HeadMetrics.from_entry`)."""

    name: str
    kind: HeadKind
    scalars: dict[str, float]
    """Headline metrics: `auc`, `accuracy`, `average_loss`, ..."""
    error_bounds: dict[str, float]
    """Metric (scalar, or `metric/class name` for a class's) to its guaranteed error bound."""
    thresholds: dict[float, dict[str, float]]
    """Threshold to {`accuracy`, `precision`, `recall`} at it."""
    classes: dict[str, dict[str, float]]
    """Class name to {`auc`, `auc_precision_recall`, ...}."""
    intervals: dict[str, tuple[float, float]]
    """Headline metric to its confidence interval `(lower, upper)`, when computed."""

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> HeadMetrics:
        """The metrics of a `heads` entry of a `metrics.json` slice."""
        bounds = dict(entry.get("error_bounds", {}))
        classes = {}
        for item in entry["classes"]:
            classes[item["class_name"]] = dict(item["metrics"])
            for metric, bound in item.get("error_bounds", {}).items():
                bounds[f"{metric}/{item['class_name']}"] = bound
        return cls(
            name=entry["name"] or "",
            kind=entry["kind"],
            scalars=dict(entry["metrics"]),
            error_bounds=bounds,
            thresholds={
                item["threshold"]: dict(item["metrics"])
                for item in sorted(entry["thresholds"], key=lambda item: item["threshold"])
            },
            classes=classes,
            intervals={
                metric: (interval["lower"], interval["upper"])
                for metric, interval in entry.get("confidence_intervals", {}).items()
            },
        )


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
        """`head`'s metrics in a `metrics.json` slice entry (default: the overall slice);
        `head` is its name, "" for an unnamed single head."""
        return HeadMetrics.from_entry(self.head_entry(head, entry))

    def head_entry(self, head: str, entry: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """`head`'s structured entry in a slice entry's `heads` (default: the overall slice).

        Raises:
            KeyError: if the slice has no such head.
        """
        for item in (entry if entry is not None else self.overall)["heads"]:
            if (item["name"] or "") == head:
                return item
        raise KeyError(f"No head {head!r} in {self.directory}; heads: {self.heads}.")

    def curves_of(self, head: str) -> list[Curve]:
        return [curve for curve in self.curves if curve.head == head]

    @property
    def counts_only(self) -> list[dict[str, Any]]:
        """The slices below `metrics.json`'s `min_slice_size`: example counts only."""
        return [entry for entry in self.slices if entry.get("counts_only")]

    def class_curves(self, head: str) -> dict[str, Any] | None:
        """`metrics.json`'s `class_curves` entry of `head` (which classes have per-class
        curves); None for a head without classes or a document older than the entry."""
        for item in self.document.get("class_curves", []):
            if (item.get("head") or "") == head:
                return item
        return None


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.zeros(np.shape(numerator), np.float64)
    return np.divide(numerator, denominator, out=out, where=denominator > 0)


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


UNREADABLE_PLOTS = (OSError, tf.errors.OpError, DecodeError)
"""What `load_curves` raises for plots files it cannot read (missing, unreadable, corrupt or
not TFMA's records); the report then renders without curves and says why."""


def load_curves(directory: str) -> list[Curve]:
    """The overall slice's curves from TFMA's plots files (`tfma.load_eval_result`).

    Raises:
        OSError, tf.errors.OpError, DecodeError: (`UNREADABLE_PLOTS`) if the plots files
            cannot be read.
    """
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


def _name_classes(curves: list[Curve], evaluation: Evaluation) -> None:
    """Names per-class curves as the overall slice's class entries name their class ids."""
    for head in evaluation.heads:
        classes = evaluation.head_entry(head)["classes"]
        names = {item["class_id"]: item["class_name"] for item in classes}
        for curve in curves:
            if curve.head == head and curve.class_id is not None:
                curve.class_name = names.get(curve.class_id, f"class{curve.class_id}")


def _read_json(path: str) -> Any:
    with tf.io.gfile.GFile(path) as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f"Invalid {path}: expected JSON; {error}.") from error


_SLICE_FIELDS = {"slice": dict, "example_count": (int, float), "metrics": dict, "heads": list}
"""What the report reads of each slice entry of `metrics.json`, and its JSON type."""


_HEAD_FIELDS = {
    "name": (str, type(None)),
    "kind": str,
    "metrics": dict,
    "thresholds": list,
    "classes": list,
}
"""What the report reads of each `heads` entry of a slice, and its JSON type."""
_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    (int, float): "number",
    (str, type(None)): "string or null",
}
_OLDER = " (metrics.json of a version before per-head metrics: evaluate again)"


def _checked_document(document: Any, path: str) -> dict[str, Any]:
    """`metrics.json` as the evaluator writes it (`tfx_heads.components.evaluator.writers`), or a
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
                    f"{_JSON_TYPES[kind]}; received {value!r}.{_OLDER if field == 'heads' else ''}"
                )
        for index, head in enumerate(entry["heads"]):
            for field, kind in _HEAD_FIELDS.items():
                if not isinstance(head, dict) or not isinstance(head.get(field, 0), kind):
                    received = head.get(field) if isinstance(head, dict) else head
                    raise ValueError(
                        f"Invalid {path}: expected slices[{position}].heads[{index}].{field} as "
                        f"a JSON {_JSON_TYPES[kind]}; received {received!r}."
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
    heads = [entry["name"] or "" for entry in document["slices"][0]["heads"]]
    evaluation = Evaluation(directory=directory, document=document, heads=heads, curves=[])
    try:
        evaluation.curves = load_curves(directory)
    except UNREADABLE_PLOTS as error:  # the report renders without curves, and says why
        evaluation.plots_error = f"{type(error).__name__}: {error}"
    _name_classes(evaluation.curves, evaluation)
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
