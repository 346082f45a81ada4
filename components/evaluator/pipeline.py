"""The evaluator's Beam pipeline and its library entry point, `evaluate`.

Stage graph (labels from `constants`):

    MatchExamples (the files) -> DistributeFiles (Reshuffle)
      -> ReadExamples (tf.data, batches of `batch_size` records per file)
      -> ParseExamples (labels, weights, logits and slice features, whole batch)
      -> per model, EvaluateModel[i]:
           InferLogits (the SavedModel's `predict` signature; skipped with logits features)
           -> PrepareHeadBatches (labels and weights converted and checked; -> counts)
           -> SliceBatches ((slice key, rows of the batch) for the overall slice and each slicing)
           -> CombineStatsPerSlice (CombinePerKey of the heads' statistics; finalize)
           -> WriteResults (TFMA files with TFMA's writers; metrics.json)
         counts -> CombineExampleCounts -> (metrics.json's `rejected`)

Every stage after reading works on whole batches; the combine is lifted by Beam (each worker
adds its batches into one accumulator per slice before the shuffle), so accumulators, not
examples, cross workers. A baseline model is a second `EvaluateModel` branch of the same
parsed batches: the records are read and parsed once, and each model infers and writes into
its own directory. `EvaluateHeads` is the PTransform (a TFX executor can apply it to its own
pipeline); `evaluate` resolves the inputs, builds and runs a pipeline from Beam arguments and
returns the `metrics.json` document.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import apache_beam as beam
import tensorflow as tf
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from heads.base_head import Head
from heads.description import HeadDescription, describe
from heads.export import head_config_document, load_head_config
from heads.serialization import deserialize, serialize
from heads.stats.histogram import DEFAULT_LOGIT_RANGE, DEFAULT_NUM_BUCKETS
from heads.stats.score_counts import DEFAULT_MAX_EXACT_SCORES
from tfx_heads.components.evaluator import constants
from tfx_heads.components.evaluator.batches import PrepareHeadBatches
from tfx_heads.components.evaluator.bootstrap import PoissonCounts
from tfx_heads.components.evaluator.combine import (
    ExampleCountsCombineFn,
    HeadStatsCombineFn,
    SliceStats,
)
from tfx_heads.components.evaluator.example_inputs import (
    ParseExamples,
    feature_types,
    looks_multi_hot,
    sample_examples,
)
from tfx_heads.components.evaluator.head_inputs import InputSpec, build_input_spec, per_head
from tfx_heads.components.evaluator.inference import DEFAULT_CHUNK_SIZE, InferLogits
from tfx_heads.components.evaluator.reading import ReadExamples
from tfx_heads.components.evaluator.slicing import SliceBatches, SliceSpec, slice_specs
from tfx_heads.components.evaluator.writers import WriteResults, eval_config

_LOG = logging.getLogger(__name__)

DEFAULT_LOCAL_RUNNER = "FnApiRunner"
_READING = ("files", "batch_size", "compression", "reject_malformed")
"""The fields of `EvaluationConfig` that decide the batches read (and rejected unparseable)."""


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    """Everything an evaluation needs, resolved (see `evaluate` for the meanings).

    Attributes:
        files: the TFRecord files to read.
        data_location: the examples' glob(s), as given (for display).
        output: the output directory.
        head_config: the head's `heads.serialize` form (rebuilt on workers only for a custom
            loss or link).
        input_spec: what every head reads from an example (`input_spec.head` is the head's
            description, which every stage reads).
        slices: the slicings, overall first.
        model: the SavedModel directory, or None with logits features.
    """

    files: tuple[str, ...]
    data_location: str
    output: str
    head_config: Mapping[str, Any]
    input_spec: InputSpec
    slices: tuple[SliceSpec, ...]
    model: str | None = None
    batch_size: int = constants.DEFAULT_BATCH_SIZE
    compression: str = "auto"
    reject_malformed: bool = False
    num_bootstrap_samples: int = 0
    confidence_level: float = constants.DEFAULT_CONFIDENCE_LEVEL
    bootstrap_seed: int = 0
    num_buckets: int = DEFAULT_NUM_BUCKETS
    class_num_buckets: int | None = None
    max_exact_scores: int = DEFAULT_MAX_EXACT_SCORES
    logit_range: float = DEFAULT_LOGIT_RANGE
    inference_chunk_size: int = DEFAULT_CHUNK_SIZE


class EvaluateHeads(beam.PTransform):
    """Reads and parses the examples once, then evaluates each config's model on them and
    writes its results into the config's `output`; applied to a pipeline (`PBegin`).

    With several configs (a candidate model and its baseline), every config must read the
    same examples the same way (`files`, `batch_size`, `compression`, `reject_malformed`).
    The records are read and parsed once, with the features of every config, so a record
    that cannot be parsed is rejected for each model; inference and the label, weight and
    logits checks are each model's own (`EvaluateModel`).

    Args:
        configs: one evaluation per model, at least one.

    Returns (from `expand`): per config, in order, the PCollection of its `metrics.json` path.

    Raises:
        ValueError: without a config, or for configs that read the examples differently.
    """

    def __init__(self, *configs: EvaluationConfig) -> None:
        super().__init__()
        if not configs:
            raise ValueError("Invalid `configs`: expected at least one; received none.")
        differing = [
            field for field in _READING if len({getattr(config, field) for config in configs}) > 1
        ]
        if differing:
            raise ValueError(
                "Invalid `configs`: expected evaluations that read the same examples the same "
                f"way; received configs that differ in {differing}."
            )
        self._configs = configs
        self._feature_spec = _feature_spec(configs)

    def expand(self, root: beam.pvalue.PBegin) -> tuple[beam.PCollection, ...]:
        first = self._configs[0]
        read = (
            root
            | constants.MATCH_FILES_STAGE >> beam.Create(first.files)
            | constants.DISTRIBUTE_FILES_STAGE >> beam.Reshuffle()
            | constants.READ_STAGE
            >> beam.ParDo(
                ReadExamples(first.batch_size, first.compression, first.reject_malformed)
            ).with_outputs(constants.COUNTS_TAG, main="batches")
        )
        batches = read.batches | constants.PARSE_STAGE >> beam.ParDo(
            ParseExamples(self._feature_spec, first.reject_malformed)
        )
        return tuple(
            batches
            | f"{constants.EVALUATE_MODEL_STAGE}[{index}]"
            >> EvaluateModel(config, read[constants.COUNTS_TAG])
            for index, config in enumerate(self._configs)
        )


def _feature_spec(configs: Sequence[EvaluationConfig]) -> dict[str, tf.io.RaggedFeature]:
    """The `tf.io.parse_example` spec of every feature that any of `configs` reads.

    Raises:
        ValueError: for a feature that two configs parse with different types.
    """
    spec: dict[str, tf.io.RaggedFeature] = {}
    for config in configs:
        for key, feature in config.input_spec.feature_spec().items():
            if spec.setdefault(key, feature) != feature:
                raise ValueError(
                    f"Invalid `configs`: expected one type per feature; received feature "
                    f"{key!r} as {spec[key].dtype.name} and as {feature.dtype.name}."
                )
    return spec


class EvaluateModel(beam.PTransform):
    """Evaluates one model on parsed batches (`ParseExamples`) and writes its results.

    Infers the logits (unless the config reads logits features), prepares, slices and
    combines the batches, and writes into `config.output`; returns the PCollection of the
    `metrics.json` path. `read_counts` are the reading stage's counts (the files whose rest
    could not be read), which every model reports.
    """

    def __init__(self, config: EvaluationConfig, read_counts: beam.PCollection) -> None:
        super().__init__()
        self._config = config
        self._read_counts = read_counts

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        config = self._config
        if config.model is not None:
            batches = batches | constants.INFER_STAGE >> beam.ParDo(
                InferLogits(
                    config.model,
                    config.input_spec,
                    config.reject_malformed,
                    config.inference_chunk_size,
                )
            )
        prepared = batches | constants.PREPARE_STAGE >> beam.ParDo(
            PrepareHeadBatches(config.input_spec, config.head_config, config.reject_malformed)
        ).with_outputs(constants.COUNTS_TAG, main="batches")
        counts = (
            (self._read_counts, prepared[constants.COUNTS_TAG])
            | constants.GATHER_COUNTS_STAGE >> beam.Flatten()
            | constants.COUNT_STAGE >> beam.CombineGlobally(ExampleCountsCombineFn())
        )
        return self._slice_results(
            prepared.batches
        ) | constants.WRITE_RESULTS_STAGE >> self._write_results(counts)

    def _stats_options(self) -> dict[str, Any]:
        """The `SliceStats` options of this evaluation."""
        config = self._config
        return dict(
            num_buckets=config.num_buckets,
            logit_range=config.logit_range,
            class_num_buckets=config.class_num_buckets,
            max_exact_scores=config.max_exact_scores,
            num_bootstrap_samples=config.num_bootstrap_samples,
            confidence=config.confidence_level,
            max_plot_points=constants.MAX_PLOT_POINTS,
            max_class_curves=constants.MAX_CLASS_CURVES,
        )

    def _slice_results(self, prepared: beam.PCollection) -> beam.PCollection:
        """`(slice key, SliceResult)` of every slice: the prepared batches cut into slices
        (with bootstrap weights) and combined per slice."""
        config = self._config
        poisson = (
            PoissonCounts(config.num_bootstrap_samples, config.bootstrap_seed)
            if config.num_bootstrap_samples
            else None
        )
        combine = HeadStatsCombineFn(config.input_spec.head, **self._stats_options())
        return (
            prepared
            | constants.SLICE_STAGE >> beam.ParDo(SliceBatches(config.slices, poisson))
            | constants.COMBINE_STAGE >> beam.CombinePerKey(combine)
        )

    def _write_results(self, counts: beam.PCollection) -> WriteResults:
        """The transform writing this model's files into `config.output`."""
        config = self._config
        spec = config.input_spec
        head = spec.head
        label_keys = (
            {h.name or "": h.label_key for h in spec.heads}
            if head.kind == "multi_head"
            else spec.heads[0].label_key
        )
        slice_stats = SliceStats(head, **self._stats_options())
        return WriteResults(
            output=config.output,
            head=head,
            head_config=head_config_document(config.head_config, label_keys, head),
            specs=config.slices,
            config=eval_config(
                config.slices,
                label_keys,
                confidence_intervals=bool(config.num_bootstrap_samples),
            ),
            counts=counts,
            empty=slice_stats.finalize(slice_stats.create()),
            data_location=config.data_location,
            model_location=config.model or "<logits features>",
        )


def match_files(examples: str | Sequence[str]) -> tuple[str, ...]:
    """The files matching one glob or several (sorted, without duplicates).

    Raises:
        ValueError: if nothing matches.
    """
    patterns = [examples] if isinstance(examples, str) else list(examples)
    files = sorted({path for pattern in patterns for path in tf.io.gfile.glob(pattern)})
    if not files:
        raise ValueError(
            f"Invalid `examples`: expected a glob matching TFRecord files; received "
            f"{examples!r}, which matches no file."
        )
    return tuple(files)


def resolve_head(
    head: Head | Mapping[str, Any] | None, model: str | None, label_keys: Any
) -> tuple[dict[str, Any], str | Mapping[str, str], HeadDescription]:
    """The head's serialized form, label keys and description, from the arguments or the
    SavedModel (the head is rebuilt here once, which also validates its config).

    Args:
        head: a head, its `heads.serialize` JSON (or the `{"head": ..., "label_keys": ...}`
            document `export_saved_model` stores), or None to read it from `model`.
        model: the SavedModel directory, or None.
        label_keys: the label keys, or None to use the stored ones.
    """
    stored_keys = None
    if head is None:
        if model is None:
            raise ValueError(
                "Invalid `head`: expected a head or its heads.serialize JSON (required without "
                "a model); received None."
            )
        head, stored_keys = load_head_config(model)
    elif isinstance(head, Mapping) and "head" in head and "class_name" not in head:
        head, stored_keys = head["head"], head.get("label_keys")
    config = dict(head) if isinstance(head, Mapping) else serialize(head)
    description = describe(deserialize(config))
    keys = label_keys if label_keys is not None else stored_keys
    if keys is None:
        raise ValueError(
            "Invalid `label_keys`: expected the label feature (HEAD=KEY per head of a "
            "MultiHead); received None, and the model stores none."
        )
    return config, keys, description


def build_config(
    examples: str | Sequence[str],
    output: str,
    head: Head | Mapping[str, Any] | None = None,
    model: str | None = None,
    logits_features: str | Mapping[str, str] | None = None,
    label_keys: str | Mapping[str, str] | None = None,
    slices: Sequence[str | Sequence[str]] = (),
    label_formats: str | Mapping[str, str] | None = None,
    num_bootstrap_samples: int = 0,
    **options: Any,
) -> EvaluationConfig:
    """Resolves `evaluate`'s arguments into an `EvaluationConfig` (reads a few records)."""
    if (model is None) == (logits_features is None):
        raise ValueError(
            "Invalid arguments: expected exactly one of `model` (a SavedModel directory) and "
            f"`logits_features`; received model={model!r}, logits_features={logits_features!r}."
        )
    files = match_files(examples)
    head_config, label_keys, description = resolve_head(head, model, label_keys)
    heads = description.single_heads
    specs = slice_specs(slices)
    labels = per_head(label_keys, heads, "label_keys", required=True)
    logits = per_head(logits_features, heads, "logits_features", required=False)
    keys = {*labels.values(), *logits.values(), *(h.weight_key for h in heads)}
    keys.update(feature for spec in specs for feature in spec.features)
    keys.discard(None)
    sample = sample_examples(
        files,
        options.get("compression", "auto"),
        reject_malformed=options.get("reject_malformed", False),
    )
    types = feature_types(sample, sorted(keys))
    multi_hot = [
        labels[single.name]
        for single in heads
        if single.kind == "multi_label"
        and looks_multi_hot(sample, labels[single.name], single.n_classes)
    ]
    spec = build_input_spec(
        description,
        label_keys,
        logits_features,
        sorted({feature for s in specs for feature in s.features}),
        types,
        multi_hot_keys=multi_hot,
        label_formats=label_formats,
    )
    return EvaluationConfig(
        files=files,
        data_location=examples if isinstance(examples, str) else ",".join(examples),
        output=output,
        head_config=head_config,
        input_spec=spec,
        slices=specs,
        model=model,
        num_bootstrap_samples=num_bootstrap_samples,
        **options,
    )


def pipeline_options(
    beam_pipeline_args: Sequence[str] = (), num_workers: int | None = None
) -> PipelineOptions:
    """Beam options from arguments.

    Without `--runner` the pipeline runs on Beam's `FnApiRunner`, the engine the
    DirectRunner uses for batch pipelines (Beam 2.74's DirectRunner first tries to download
    and start the Prism runner, which needs network access). `num_workers` runs it on that
    many processes (`--direct_running_mode=multi_processing --direct_num_workers=N`).
    """
    args = list(beam_pipeline_args)
    if not any(arg == "--runner" or arg.startswith("--runner=") for arg in args):
        args.append(f"--runner={DEFAULT_LOCAL_RUNNER}")
    runner = PipelineOptions(args).view_as(StandardOptions).runner
    if num_workers is not None and runner not in StandardOptions.LOCAL_RUNNERS:
        raise ValueError(
            f"Invalid `num_workers`: expected it only with a local runner (the DirectRunner's "
            f"processes); received {num_workers!r} with --runner={runner}. Size a remote "
            "runner with its own options (for Dataflow, --num_workers/--max_num_workers)."
        )
    if num_workers is not None:
        if not isinstance(num_workers, int) or num_workers < 1:
            raise ValueError(
                f"Invalid `num_workers`: expected an int >= 1; received {num_workers!r}."
            )
        args += [
            "--direct_running_mode=multi_processing",
            f"--direct_num_workers={num_workers}",
        ]
    return PipelineOptions(args)


def evaluate(
    examples: str | Sequence[str],
    output: str,
    head: Head | Mapping[str, Any] | None = None,
    model: str | None = None,
    logits_features: str | Mapping[str, str] | None = None,
    label_keys: str | Mapping[str, str] | None = None,
    slices: Sequence[str | Sequence[str]] = (),
    *,
    baseline_model: str | None = None,
    baseline_output: str | None = None,
    batch_size: int = constants.DEFAULT_BATCH_SIZE,
    reject_malformed: bool = False,
    confidence_intervals: bool = False,
    num_bootstrap_samples: int = constants.DEFAULT_NUM_BOOTSTRAP_SAMPLES,
    confidence_level: float = constants.DEFAULT_CONFIDENCE_LEVEL,
    bootstrap_seed: int = 0,
    num_buckets: int = DEFAULT_NUM_BUCKETS,
    class_num_buckets: int | None = None,
    max_exact_scores: int = DEFAULT_MAX_EXACT_SCORES,
    label_formats: str | Mapping[str, str] | None = None,
    compression: str = "auto",
    inference_chunk_size: int = DEFAULT_CHUNK_SIZE,
    beam_pipeline_args: Sequence[str] = (),
    num_workers: int | None = None,
) -> dict[str, Any]:
    """Evaluates every head's metrics over TFRecords of `tf.Example`s, per slice.

    Args:
        examples: glob (or globs) of TFRecord files of serialized `tf.Example`s.
        output: directory for TFMA's files and `metrics.json` (see `writers`).
        head: the head, or its `heads.serialize` JSON; None reads it from `model`.
        model: a SavedModel written by `heads.export_saved_model`: logits come from its
            `predict` signature. Exclusive with `logits_features`.
        logits_features: the float feature holding each example's logits (for a MultiHead,
            head name to feature).
        label_keys: the label feature (head name to feature for a MultiHead); None uses
            the label keys stored with the model.
        slices: slicings besides the overall slice: feature names, or crosses as
            `"a,b"` / `("a", "b")`.
        baseline_model: a second SavedModel to evaluate in the same pass (the records are
            read and parsed once, then each model infers; see `EvaluateHeads`), with the
            same arguments (its head is read from it when `head` is None). Needs `model`.
        baseline_output: the baseline's output directory (default: `<output>/baseline`,
            `constants.BASELINE_DIR`); its `metrics.json` is read with `read_metrics`.
        batch_size: examples per batch.
        reject_malformed: count malformed examples in `rejected` instead of failing.
        confidence_intervals: add Poisson bootstrap intervals (see `bootstrap`).
        num_bootstrap_samples: bootstrap replicates.
        confidence_level: coverage of the intervals.
        bootstrap_seed: seed of the replicates.
        num_buckets: AUC histogram resolution (see `heads.stats`).
        class_num_buckets: per-class histogram resolution (default: the finest that keeps
            a head's per-class histograms within 16 MiB, see `heads.stats.factory`).
        max_exact_scores: a curve (per slice) with at most this many distinct scores is
            computed exactly (error bound 0); one with more falls back to its histogram
            (see `heads.stats.score_counts`; 0: histograms only).
        label_formats: label format overrides (see `head_inputs.LabelFormat`).
        compression: `"auto"`, `"gzip"`, `"zlib"` or `"none"`.
        inference_chunk_size: examples per call of the model's signature (every call has
            this shape, so logits do not depend on the batch size; see `inference`).
        beam_pipeline_args: Beam pipeline arguments (`--runner=...`, ...).
        num_workers: DirectRunner worker processes (None: in-process).

    Returns:
        The `metrics.json` document (the model's, not the baseline's).

    Raises:
        ValueError: for invalid arguments (a baseline without `model`, for example).
    """
    if baseline_model is None and baseline_output is not None:
        raise ValueError(
            f"Invalid `baseline_output`: expected it only with `baseline_model`; received "
            f"{baseline_output!r} without a baseline model."
        )
    if baseline_model is not None and model is None:
        raise ValueError(
            "Invalid `baseline_model`: expected it with `model` (both models infer the "
            f"logits); received baseline_model={baseline_model!r} with logits_features="
            f"{logits_features!r}."
        )
    options = dict(
        num_bootstrap_samples=num_bootstrap_samples if confidence_intervals else 0,
        batch_size=batch_size,
        compression=compression,
        reject_malformed=reject_malformed,
        confidence_level=confidence_level,
        bootstrap_seed=bootstrap_seed,
        num_buckets=num_buckets,
        class_num_buckets=class_num_buckets,
        max_exact_scores=max_exact_scores,
        inference_chunk_size=inference_chunk_size,
    )
    resolve = functools.partial(
        build_config,
        examples,
        head=head,
        label_keys=label_keys,
        slices=slices,
        label_formats=label_formats,
        **options,
    )
    configs = [resolve(output=output, model=model, logits_features=logits_features)]
    if baseline_model is not None:
        baseline_output = baseline_output or os.path.join(output, constants.BASELINE_DIR)
        configs.append(resolve(output=baseline_output, model=baseline_model))
    _LOG.info(
        "Evaluating %d files of %s into %s.",
        len(configs[0].files),
        examples,
        " and ".join(config.output for config in configs),
    )
    with beam.Pipeline(options=pipeline_options(beam_pipeline_args, num_workers)) as pipeline:
        _ = pipeline | "EvaluateHeads" >> EvaluateHeads(*configs)
    return read_metrics(output)


def read_metrics(output: str) -> dict[str, Any]:
    """The `metrics.json` document of an evaluation's output directory."""
    with tf.io.gfile.GFile(os.path.join(output, constants.METRICS_JSON_FILE)) as f:
        return json.load(f)
