"""`HeadMetrics`: a head's metrics inside stock TFMA (and so in TFX's own Evaluator).

TFMA calls a metric's combiner once per example. The combiner here only buffers each
example's label, weight and logits, and every `BUFFER_SIZE` examples turns the buffer into
one batch that goes through the same label handling (`batches.PrepareHeadBatches`) and the
same statistics (`heads.stats`) as the Beam head evaluator: one metric definition, two
executors. The metric keys are the head's own (`auc/big_tipper`, ...), as `MetricKey` names.

Use it through a `MetricConfig` (`head_metrics_spec` builds the whole `MetricsSpec`):

    spec = head_metrics_spec(head, label_keys={"big_tipper": "big_tipper", ...})
    eval_config = config_pb2.EvalConfig(  # tensorflow_model_analysis.proto.config_pb2
        model_specs=[config_pb2.ModelSpec(signature_name="predict")], metrics_specs=[spec], ...)

The model's `predict` signature (from `heads.export_saved_model`) supplies the logits: key
`logits` for a single head, `<head>/logits` for a MultiHead. Labels and weights are read
from the examples' features, so the model spec needs no label key. An int64 multi-label
feature is read as lists of class ids unless `label_formats` says `multi_hot`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import apache_beam as beam
import numpy as np
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.proto import config_pb2

from heads.base_head import Head
from heads.description import HeadDescription, describe, per_head
from heads.export import predict_output_name
from heads.serialization import deserialize, serialize
from heads.stats import stats_for_head
from tfx_heads.components.evaluator.batches import PrepareHeadBatches
from tfx_heads.components.evaluator.example_inputs import ExampleBatch
from tfx_heads.components.evaluator.head_inputs import build_input_spec
from tfx_heads.components.evaluator.rows import RaggedColumn

BUFFER_SIZE = 4096
METRIC_CLASS_NAME = "HeadMetrics"


class HeadMetrics(tfma.metrics.Metric):
    """Computes every metric of a head (see the module docstring).

    Args:
        head_config: the head's `heads.serialize` form, as JSON text or a dict (the head is
            built from it only for a custom loss or link).
        label_keys: the label feature (head name to feature for a MultiHead).
        label_formats: label format overrides by head name
            (`tfx_heads.components.evaluator.head_inputs`).
        name: unused except as TFMA's metric name.
        description: the head's `HeadDescription.to_json()`, as JSON text or a dict; None
            (a spec written without it) describes the head built from `head_config`, once,
            when TFMA asks for the computations.
    """

    def __init__(
        self,
        head_config: str | Mapping[str, Any] = "",
        label_keys: str | Mapping[str, str] | None = None,
        label_formats: Mapping[str, str] | None = None,
        name: str = "head_metrics",
        description: str | Mapping[str, Any] | None = None,
    ):
        if not isinstance(head_config, str):
            head_config = json.dumps(head_config)
        if not head_config or label_keys is None:
            raise ValueError(
                "Invalid HeadMetrics config: expected `head_config` (heads.serialize JSON) and "
                f"`label_keys`; received head_config={head_config!r}, label_keys={label_keys!r}."
            )
        if description is not None and not isinstance(description, str):
            description = json.dumps(description)
        super().__init__(
            _head_metric_computations,
            head_config=head_config,
            label_keys=label_keys,
            label_formats=dict(label_formats or {}),
            name=name,
            description=description,
        )


def head_metrics_spec(
    head: Head,
    label_keys: str | Mapping[str, str],
    label_formats: Mapping[str, str] | None = None,
) -> config_pb2.MetricsSpec:
    """The `config_pb2.MetricsSpec` that computes `head`'s metrics with `HeadMetrics`."""
    config = {
        "head_config": serialize(head),
        "label_keys": label_keys,
        "label_formats": dict(label_formats or {}),
        "description": describe(head).to_json(),
    }
    return config_pb2.MetricsSpec(
        metrics=[
            config_pb2.MetricConfig(
                class_name=METRIC_CLASS_NAME, module=__name__, config=json.dumps(config)
            )
        ]
    )


def _head_metric_computations(
    head_config: str,
    label_keys: str | Mapping[str, str],
    label_formats: Mapping[str, str],
    name: str,
    description: str | None = None,
    model_names: list[str] | None = None,
) -> tfma.metrics.MetricComputations:
    if description is None:
        head = describe(deserialize(json.loads(head_config)))
    else:
        head = HeadDescription.from_json(json.loads(description))
    heads = head.single_heads
    names = per_head(label_keys, heads, "label_keys", required=True)
    features = sorted({*names.values(), *(h.weight_key for h in heads if h.weight_key)})
    computations = []
    for model_name in model_names or [""]:
        # `example_weighted=None`: the head weighs by its own weight column, and TFMA keys
        # the thresholds of `MetricsSpec.thresholds` / `per_slice_thresholds` so.
        keys = [
            tfma.metrics.MetricKey(name=key, model_name=model_name, example_weighted=None)
            for key in stats_for_head(head).metric_keys()
        ]
        computations.append(
            tfma.metrics.MetricComputation(
                keys=keys,
                preprocessors=[tfma.metrics.FeaturePreprocessor(feature_keys=features)],
                combiner=_HeadMetricsCombiner(
                    head_config, head, label_keys, label_formats, model_name, keys
                ),
            )
        )
    return computations


class _Accumulator:
    """Statistics so far, plus the examples not yet added to them."""

    __slots__ = ("stats", "features", "logits")

    def __init__(self, stats: Any):
        self.stats = stats
        self.features: list[dict[str, np.ndarray]] = []
        self.logits: list[dict[str | None, np.ndarray]] = []


class _HeadMetricsCombiner(beam.CombineFn):
    """Buffers TFMA's per-example inputs and adds them to `heads.stats` a batch at a time."""

    def __init__(
        self,
        head_config: str,
        head: HeadDescription,
        label_keys: Any,
        label_formats: Mapping[str, str],
        model_name: str,
        keys: list[tfma.metrics.MetricKey],
    ):
        self._head_config = json.loads(head_config)
        self._head = head
        self._label_keys = label_keys
        self._label_formats = dict(label_formats)
        self._model_name = model_name
        self._keys = {key.name: key for key in keys}

    def setup(self) -> None:
        self._heads = self._head.single_heads
        self._stats = stats_for_head(self._head)
        self._prepare: dict[tuple[tuple[str, str], ...], PrepareHeadBatches] = {}

    def create_accumulator(self) -> _Accumulator:
        return _Accumulator(self._stats.create())

    def add_input(self, accumulator: _Accumulator, element: Any) -> _Accumulator:
        prediction = element.prediction
        if isinstance(prediction, Mapping) and self._model_name in prediction:
            prediction = prediction[self._model_name]
        accumulator.logits.append(
            {head.name: _head_logits(prediction, self._head, head) for head in self._heads}
        )
        accumulator.features.append(dict(element.features))
        if len(accumulator.features) >= BUFFER_SIZE:
            self._flush(accumulator)
        return accumulator

    def merge_accumulators(self, accumulators: Any) -> _Accumulator:
        accumulators = iter(accumulators)
        merged = next(accumulators)
        self._flush(merged)
        for accumulator in accumulators:
            self._flush(accumulator)
            self._stats.merge_into(merged.stats, accumulator.stats)
        return merged

    def extract_output(self, accumulator: _Accumulator) -> dict[Any, float]:
        self._flush(accumulator)
        values = self._stats.compute(accumulator.stats)
        return {self._keys[key]: value for key, value in values.items() if key in self._keys}

    def _flush(self, accumulator: _Accumulator) -> None:
        """Adds the buffered examples to the statistics as one batch."""
        if not accumulator.features:
            return
        features, logits = accumulator.features, accumulator.logits
        accumulator.features, accumulator.logits = [], []
        columns = {key: _ragged([f.get(key) for f in features]) for key in features[0]}
        batch = ExampleBatch(
            file="<tfma inputs>",
            record_index=np.arange(len(features), dtype=np.int64),
            serialized=None,
            read=len(features),
            columns=columns,
            logits={
                head.name: np.stack([row[head.name] for row in logits]) for head in self._heads
            },
        )
        for output in self._preparation(columns).process(batch):
            if not isinstance(output, beam.pvalue.TaggedOutput):
                accumulator.stats = self._stats.update(accumulator.stats, output.stats_batch)

    def _preparation(self, columns: Mapping[str, RaggedColumn]) -> PrepareHeadBatches:
        """The label handling for buffered `columns`, built (and set up: for a custom loss or
        link, the head object) once per combiner and stored feature types, in practice once."""
        types = tuple(sorted((key, _stored_type(column.values)) for key, column in columns.items()))
        if types not in self._prepare:
            spec = build_input_spec(
                self._head,
                self._label_keys,
                None,
                (),
                dict(types),
                label_formats=self._label_formats or None,
            )
            prepare = PrepareHeadBatches(spec, self._head_config, reject_malformed=False)
            prepare.setup()
            self._prepare[types] = prepare
        return self._prepare[types]


def _head_logits(prediction: Any, model_head: HeadDescription, head: HeadDescription) -> np.ndarray:
    """One example's logits for `head` (a single head of `model_head`) from the model's
    outputs, named as `heads.export_saved_model`'s `predict` signature names them.

    A regression head without an inverse link exports its logits as `predictions` only.
    """
    if isinstance(prediction, Mapping):
        candidates = [predict_output_name(model_head, head.name, "logits")]
        if head.link == "identity":
            candidates.append(predict_output_name(model_head, head.name, "predictions"))
        found = [key for key in candidates if key in prediction]
        if not found:
            raise ValueError(
                f"Invalid model outputs: expected key {candidates[0]!r} (use the `predict` "
                f"signature of heads.export_saved_model); received keys {sorted(prediction)}."
            )
        prediction = prediction[found[0]]
    return np.asarray(prediction, dtype=np.float32).reshape(-1)


def _ragged(values: list[Any]) -> RaggedColumn:
    """Per-example value arrays (None when missing) as one ragged column."""
    arrays = [np.asarray([] if v is None else v).reshape(-1) for v in values]
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    flat = np.concatenate(arrays) if len(arrays) else np.array([])
    if flat.dtype.kind in "SUO":
        flat = flat.astype(object)
    return RaggedColumn(flat, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))


def _stored_type(values: np.ndarray) -> str:
    if values.dtype == object:
        return "bytes"
    return "int64" if values.dtype.kind in "iu" else "float"
