"""Writing the results: TFMA's files and `metrics.json`.

TFMA output, readable by `tfma.load_eval_result(output)` and `tfma.view.*`, laid out as TFMA's
writers lay it out; the records are what TFMA's own converters (`convert_slice_metrics_to_proto`,
`convert_slice_plots_to_proto`) make, built directly (`tfma_records`), and written in one step
from the finished slices, not through TFMA's Beam file sinks (a dozen stages that cost about
1.5 s of every evaluation's start-up):

- `eval_config.json` (as `tfma.writers.EvalConfigWriter`): an `EvalConfig` with one slicing
  spec per slicing (overall first), the model spec (signature `predict`, label keys) and,
  with bootstrap, `compute_confidence_intervals`;
- `metrics-00000-of-00001.tfrecord` (as `tfma.writers.MetricsPlotsAndValidationsWriter`):
  every metric of each
  slice under `tfma.metrics.MetricKey(name=<the head's own metric key>)`. The head's keys
  already name the head and the class (`auc/class2/trip_tags`), so no `output_name` or
  `sub_key` is used and `load_eval_result(...).get_metrics_for_slice(slice)` returns exactly
  the keys of `metrics.json`. With bootstrap each value is a `BoundedValue` (Poisson
  bootstrap, see `bootstrap`), stored by TFMA as the value plus its confidence interval;
- `plots-00000-of-00001.tfrecord` (same layout): per curve a `ConfusionMatrixAtThresholds`
  (ROC and PR curves) and `CalibrationHistogramBuckets` (see `plots`), under
  `PlotKey(output_name=<sub-head name of a MultiHead, else ''>, sub_key=SubKey(class_id=c)
  for a per-class curve)`, as TFMA's own plots are keyed;
- `validations.tfrecord`: one `ValidationResult(validation_ok=True)`, in the file layout of
  TFMA's writer; with thresholds, `validations.bless` replaces it with the verdict after the
  evaluation. TFMA's writer is not used for it: without thresholds in the `EvalConfig` it
  writes `validation_ok=False`.

Each slice is encoded where it is finalized (`encoding`: its two TFMA records and its
`metrics.json` entry), and the files are written once from the encoded slices, in slice order.

`metrics.json` (`json_lines`: one line per slice):

    {"min_slice_size": M, "class_curves": [{"head": name, "n_classes": C, "classes": "all"
     or [ids], "max_default_class_curves": K}, ...],
     "slices": [{"slice": {}, "example_count": N, "weighted_example_count": W,
                 "metrics": {"<key>": value, ...}, "heads": [...]}, ...],
     "rejected": {"count": R, "reasons": {"<reason>": count, ...}}}

A slice with fewer than `min_slice_size` examples (`EvaluationOptions.min_slice_size`,
default 1) has `"counts_only": true` and its count keys only in `metrics` (and in TFMA's
records, with no plots).

With `reject_malformed`, files whose rest could not be read are listed in
`"rejected": {..., "unreadable_files": [{"file": f, "where": w, "problem": p, "records": n}]}`
(`n` is None where the count is unknown; known counts are in `reasons` as well).

The overall slice comes first, then the slicings in the order given, each sorted by value.
`example_count` and `weighted_example_count` are the head's (a MultiHead's example count and
its first head's weighted count); with bootstrap each slice also has
`"confidence_intervals": {"<key>": {"lower": l, "upper": u, "standard_error": s}}`.
NaN values are written as `NaN` (Python's `json` reads them back). `heads` holds the same
metrics per head as structured data (`head_metrics`: headline metrics, error bounds,
intervals, metrics per threshold and per class), which the report reads.

`head_config.json`: the evaluated head, its label keys and its description
(`heads.export.head_config_document`, as `heads.export_saved_model` stores them beside a
model), so the report knows each head's kind and classes without the model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import apache_beam as beam
import tensorflow as tf
import tensorflow_model_analysis as tfma
from apache_beam.io.filesystems import FileSystems
from tensorflow_model_analysis.proto import config_pb2, validation_result_pb2

from heads import keys
from heads.description import HeadDescription
from heads.stats import stats_for_head
from heads.stats.per_class import MAX_DEFAULT_CLASS_CURVES
from tfx_heads.components.evaluator import constants
from tfx_heads.components.evaluator.batches import ExampleCounts
from tfx_heads.components.evaluator.combine import SliceResult
from tfx_heads.components.evaluator.encoding import (
    EncodedJSON,
    EncodedSlices,
    SliceEncoder,
    count_keys,
    slice_entry,
)
from tfx_heads.components.evaluator.head_metrics import HeadMetricLayout
from tfx_heads.components.evaluator.slicing import SliceKey, SliceSpec, tfma_slicing_spec
from tfx_heads.components.evaluator.tfma_records import (
    write_tfma_results,
)


# The config protos come from `config_pb2`: TFMA 0.52 (TFX 1.21) no longer exports them at
# its top level (docs/tfx-1.21.md).
def eval_config(
    specs: Sequence[SliceSpec],
    label_keys: str | Mapping[str, str],
    confidence_intervals: bool,
) -> config_pb2.EvalConfig:
    """The `EvalConfig` describing an evaluation (slicings, labels, intervals)."""
    model_spec = config_pb2.ModelSpec(signature_name=keys.PREDICT_SERVING_KEY)
    if isinstance(label_keys, str):
        model_spec.label_key = label_keys
    else:
        model_spec.label_keys.update({str(k): v for k, v in label_keys.items()})
    options = config_pb2.Options()
    options.compute_confidence_intervals.value = confidence_intervals
    if confidence_intervals:
        options.confidence_intervals.method = config_pb2.ConfidenceIntervalOptions.POISSON_BOOTSTRAP
    return config_pb2.EvalConfig(
        model_specs=[model_spec],
        slicing_specs=[tfma_slicing_spec(spec) for spec in specs],
        options=options,
    )


def metrics_json(
    results: Iterable[tuple[SliceKey, SliceResult]],
    counts: ExampleCounts,
    specs: Sequence[SliceSpec],
    head: HeadDescription,
    min_slice_size: int = 1,
) -> dict[str, Any]:
    """The `metrics.json` document (see the module docstring).

    Args:
        results: `(slice key, SliceResult)` of every slice.
        counts: the evaluation's example counts.
        specs: the slicings, overall first (they order the slices).
        head: the evaluated head's description.
        min_slice_size: the evaluation's `min_slice_size` (recorded in the document).
    """
    layout, keys = HeadMetricLayout(head), count_keys(head)
    order = slice_order(specs)
    ordered = sorted(results, key=lambda item: order(item[0]))
    entries = [slice_entry(item, layout, keys) for item in ordered]
    return metrics_document(entries, counts, head, min_slice_size)


def slice_order(specs: Sequence[SliceSpec]) -> Callable[[SliceKey], tuple]:
    """The sort key of slices: the overall slice, then the slicings in the order of `specs`
    (any other after them), each by value."""
    order = {spec.features: position for position, spec in enumerate(specs)}

    def sort_key(slice_key: SliceKey) -> tuple:
        features = tuple(feature for feature, _ in slice_key)
        return order.get(features, len(order)), features, tuple(value for _, value in slice_key)

    return sort_key


def metrics_document(
    entries: list[Any], counts: ExampleCounts, head: HeadDescription, min_slice_size: int
) -> dict[str, Any]:
    """`metrics.json` of the slices' `entries`, in order (dicts, or `EncodedJSON` texts)."""
    rejected = {"count": sum(counts.rejected.values()), "reasons": dict(counts.rejected)}
    if counts.unreadable:
        rejected["unreadable_files"] = [dict(entry) for entry in counts.unreadable]
    return {
        "min_slice_size": min_slice_size,
        "class_curves": class_curves(head),
        "slices": entries,
        "rejected": rejected,
    }


def class_curves(head: HeadDescription) -> list[dict[str, Any]]:
    """Which classes of each multi-class and multi-label head have per-class curves
    (`auc/class<c>`, ... and their plots): every class, the classes the head selects, or
    none for a head of more than `MAX_DEFAULT_CLASS_CURVES` classes that selects none (see
    `heads.stats.factory`)."""
    found = []
    for single in head.single_heads:
        if single.kind not in ("multi_class", "multi_label"):
            continue
        stats_obj = stats_for_head(single)
        curves = stats_obj.curve_classes
        found.append(
            {
                "head": single.name,
                "n_classes": single.n_classes,
                "classes": "all" if len(curves) == single.n_classes else list(curves),
                "max_default_class_curves": MAX_DEFAULT_CLASS_CURVES,
            }
        )
    return found


def write_json(document: Mapping[str, Any], path: str) -> None:
    """Writes a JSON document through Beam's file systems (local, gs://, ...), as
    `json_lines` lays it out."""
    with FileSystems.create(path) as f:
        f.write(json_lines(document).encode())


def json_lines(document: Mapping[str, Any]) -> str:
    """`document` as JSON with each top-level key on its own line, and each item of a
    top-level list (a slice of `metrics.json`) on its own line, written on one line (an
    `EncodedJSON` item as it is).

    `json.dumps` with `indent` runs Python's own encoder, about 2 microseconds per value:
    seconds for a head of 100,000 classes or 10,000 slices. Without it, C's encoder writes
    the same values (NaN as `NaN`); only the whitespace differs.
    """
    lines = []
    for key, value in document.items():
        # Each key as `json.dumps` writes a key (`3` as `"3"`): `{key: ...}` less its braces.
        if isinstance(value, list) and value:
            items = ",\n    ".join(
                item if isinstance(item, EncodedJSON) else json.dumps(item) for item in value
            )
            lines.append(f"  {json.dumps({key: []})[1:-3]}[\n    {items}\n  ]")
        else:
            lines.append(f"  {json.dumps({key: value})[1:-1]}")
    return "{\n" + ",\n".join(lines) + "\n}" if lines else "{}"


class WriteResults(beam.PTransform):
    """Writes the per-slice results, `encoding.EncodedSlices`: TFMA's files and
    `metrics.json`.

    Args:
        output: the output directory.
        head: the head's description (for the structured metrics of `metrics.json`).
        head_config: the `head_config.json` document.
        specs: the slicings, overall first.
        config: the `EvalConfig` to write.
        counts: a singleton PCollection of the evaluation's `ExampleCounts`.
        empty: the overall slice's result without examples (written when every example
            was rejected, so the overall slice always exists).
        data_location: the examples' glob (shown by TFMA).
        model_location: the SavedModel, or a description of the logits features.
        min_slice_size: slices with fewer examples have counts only (see `metrics_json`).
    """

    def __init__(
        self,
        output: str,
        head: HeadDescription,
        head_config: Mapping[str, Any],
        specs: Sequence[SliceSpec],
        config: config_pb2.EvalConfig,
        counts: beam.PCollection,
        empty: SliceResult,
        data_location: str,
        model_location: str,
        min_slice_size: int = 1,
    ) -> None:
        super().__init__()
        self._output = output
        self._head = head
        self._head_config = dict(head_config)
        self._empty = empty
        self._specs = tuple(specs)
        self._config = config
        self._counts = counts
        self._data_location = data_location
        self._model_location = model_location
        self._min_slice_size = min_slice_size

    def expand(self, encoded: beam.PCollection) -> beam.PCollection:
        output = self._output
        # One write of every slice, also when there is none (every example rejected): a
        # single element, with the encoded slices (their keys and files) as a side input.
        once = encoded.pipeline | "WriteOnce" >> beam.Create([None])
        return once | constants.WRITE_METRICS_JSON_STAGE >> beam.Map(
            _write_once,
            encoded=beam.pvalue.AsIter(encoded),
            counts=beam.pvalue.AsSingleton(self._counts),
            empty=self._empty,
            specs=self._specs,
            head=self._head,
            head_config=self._head_config,
            config=self._config,
            data_location=self._data_location,
            model_location=self._model_location,
            output=output,
            min_slice_size=self._min_slice_size,
        )


def write_validation_result(
    output: str, result: validation_result_pb2.ValidationResult | None = None
) -> str:
    """Writes a `ValidationResult` (default: `validation_ok=True`, an evaluation without
    thresholds) as TFMA's writer lays it out (one uncompressed TFRecord,
    `validations.tfrecord`), for `tfma.load_validation_result`; returns its path."""
    if result is None:
        result = validation_result_pb2.ValidationResult(validation_ok=True)
    path = os.path.join(output, f"{tfma.constants.VALIDATIONS_KEY}.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        writer.write(result.SerializeToString())
    return path


def _write_once(_: None, **arguments: Any) -> str:
    return _write_documents(**arguments)


def _write_documents(
    encoded: Iterable[EncodedSlices],
    counts: ExampleCounts,
    empty: SliceResult,
    specs: Sequence[SliceSpec],
    head: HeadDescription,
    head_config: Mapping[str, Any],
    config: config_pb2.EvalConfig,
    data_location: str,
    model_location: str,
    output: str,
    min_slice_size: int = 1,
) -> str:
    """Writes TFMA's files (`tfma_records.write_tfma_results`), `metrics.json`,
    `validations.tfrecord` and `head_config.json` from the encoded slices, in slice order
    (`empty` as the overall slice when no example was evaluated), then removes the
    encoded slices' files; returns the path of `metrics.json`."""
    tf.io.gfile.makedirs(output)
    order = slice_order(specs)
    groups = list(encoded)
    encoded = sorted(
        (item for group in groups for item in group.unpack()),
        key=lambda item: order(item.slice_key),
    )
    if not encoded or encoded[0].slice_key != ():
        encoded.insert(0, SliceEncoder(head)(((), empty)))
    records = [(item.metrics_record, item.plots_record) for item in encoded]
    write_tfma_results(records, config, data_location, model_location, output)
    document = metrics_document([item.entry for item in encoded], counts, head, min_slice_size)
    path = os.path.join(output, constants.METRICS_JSON_FILE)
    write_json(document, path)
    write_validation_result(output)
    write_json(head_config, os.path.join(output, constants.HEAD_CONFIG_FILE))
    for directory in {os.path.dirname(group.path) for group in groups}:
        tf.io.gfile.rmtree(directory)  # with any file of a retried bundle
    return path
