"""The evaluator's Beam transforms, and the stages they apply, in order.

Stage graph (labels from `constants`):

    MatchExamples (the files) -> DistributeFiles (Reshuffle)
      -> ReadExamples (tf.data, batches of `batch_size` records per file)
      -> ParseExamples (labels, weights, logits and slice features, whole batch)
      -> per model, EvaluateModel[i]:
           InferLogits (the SavedModel's `predict` signature; skipped with logits features)
           -> PrepareHeadBatches (labels and weights converted and checked; -> counts)
           -> SliceBatches ((slice key, rows) for the overall slice and each slicing; with
              slicings, a bundle's batches are cut together; for a binary head without
              bootstrap the slicings' slices go out as (group, SliceGroupBatch))
           -> CombineStatsPerSlice (CombinePerKey of the heads' statistics; finalize; with a
              minimum slice size the overall slice has its own CombineStatsOverall), and
              CombineSliceGroups (CombinePerKey of `slice_groups`: every small slice of a
              group finalized together)
           -> EncodeSlices (the TFMA records and metrics.json entries of the slices a
              bundle finalized, together; a slice group's combine encodes its own)
           -> WriteResults (the TFMA files and metrics.json, in slice order)
         counts -> CombineExampleCounts -> (metrics.json's `rejected`)

Every stage after reading works on whole batches; the combine is lifted by Beam (each worker
adds its batches into one accumulator per slice before the shuffle), so accumulators, not
examples, cross workers. A baseline model is a second `EvaluateModel` branch of the same
parsed batches: the records are read and parsed once, and each model infers and writes into
its own directory. `batch_stages` lists the per-batch stages (read to slice) as the
transforms apply them, and `slice_stats` the statistics they combine, so that a benchmark can
run them one after another without Beam (with `group_stats` for grouped slices).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import apache_beam as beam
import tensorflow as tf

from heads.export import head_config_document
from tfx_heads.components.evaluator import constants
from tfx_heads.components.evaluator.batches import PrepareHeadBatches
from tfx_heads.components.evaluator.bootstrap import PoissonCounts
from tfx_heads.components.evaluator.combine import (
    ExampleCountsCombineFn,
    HeadStatsCombineFn,
    SliceStats,
)
from tfx_heads.components.evaluator.config import EvaluationConfig
from tfx_heads.components.evaluator.encoding import (
    EncodedSlices,
    EncodeSlices,
    encoded_slices_directory,
)
from tfx_heads.components.evaluator.example_inputs import ParseExamples
from tfx_heads.components.evaluator.inference import InferLogits
from tfx_heads.components.evaluator.reading import ReadExamples
from tfx_heads.components.evaluator.slice_groups import (
    SliceGroupCombineFn,
    SliceGroupStats,
    group_of,
)
from tfx_heads.components.evaluator.slicing import GROUPS_TAG, OVERALL, SliceBatches
from tfx_heads.components.evaluator.writers import WriteResults, eval_config


def feature_spec(configs: Sequence[EvaluationConfig]) -> dict[str, tf.io.RaggedFeature]:
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


def read_examples(config: EvaluationConfig) -> ReadExamples:
    """The reading stage: a file's path -> batches of its records (and counts)."""
    options = config.options
    return ReadExamples(options.batch_size, options.compression, options.reject_malformed)


def parse_examples(
    config: EvaluationConfig, spec: dict[str, tf.io.RaggedFeature] | None = None
) -> ParseExamples:
    """The parsing stage, of `spec` (default: the features `config` reads)."""
    spec = feature_spec([config]) if spec is None else spec
    return ParseExamples(spec, config.options.reject_malformed)


def infer_logits(config: EvaluationConfig) -> InferLogits | None:
    """The inference stage; None when the logits are features (no model)."""
    if config.model is None:
        return None
    options = config.options
    return InferLogits(
        config.model, config.input_spec, options.reject_malformed, options.inference_chunk_size
    )


def prepare_batches(config: EvaluationConfig) -> PrepareHeadBatches:
    """The stage converting and checking labels, weights and logits (and counting)."""
    return PrepareHeadBatches(
        config.input_spec, config.head_config, config.options.reject_malformed
    )


def slice_batches(config: EvaluationConfig) -> SliceBatches:
    """The stage cutting prepared batches into slices (with bootstrap weights), the
    slicings' slices in groups where `grouped_slices` holds."""
    options = config.options
    replicates = options.bootstrap_replicates
    poisson = PoissonCounts(replicates, options.bootstrap_seed) if replicates else None
    return SliceBatches(
        config.slices, poisson, group_of=group_of if grouped_slices(config) else None
    )


def grouped_slices(config: EvaluationConfig) -> bool:
    """Whether the slicings' slices are combined in groups (`slice_groups`): for a binary
    head without bootstrap (each replicate needs statistics of its own)."""
    return config.input_spec.head.kind == "binary" and not config.options.bootstrap_replicates


def batch_stages(config: EvaluationConfig) -> tuple[tuple[str, beam.DoFn], ...]:
    """`(stage label, DoFn)` of the per-batch stages of one evaluation, in pipeline order:
    read, parse, infer (with a model), prepare, slice. Their outputs tagged
    `constants.COUNTS_TAG` are the example counts."""
    stages = [
        (constants.READ_STAGE, read_examples(config)),
        (constants.PARSE_STAGE, parse_examples(config)),
        (constants.INFER_STAGE, infer_logits(config)),
        (constants.PREPARE_STAGE, prepare_batches(config)),
        (constants.SLICE_STAGE, slice_batches(config)),
    ]
    return tuple((label, stage) for label, stage in stages if stage is not None)


def stats_options(config: EvaluationConfig) -> dict[str, Any]:
    """The `SliceStats` (and `HeadStatsCombineFn`) options of an evaluation."""
    options = config.options
    return dict(
        num_buckets=options.num_buckets,
        logit_range=options.logit_range,
        class_num_buckets=options.class_num_buckets,
        max_exact_scores=options.max_exact_scores,
        num_bootstrap_samples=options.bootstrap_replicates,
        confidence=options.confidence_level,
        max_plot_points=constants.MAX_PLOT_POINTS,
        max_class_curves=constants.MAX_PLOTTED_CLASS_CURVES,
        min_slice_size=options.min_slice_size,
    )


def slice_stats(config: EvaluationConfig) -> SliceStats:
    """The statistics of one slice that the combine stage accumulates and finalizes."""
    return SliceStats(config.input_spec.head, **stats_options(config))


def group_stats(config: EvaluationConfig) -> SliceGroupStats | None:
    """The statistics of a group of slices that the group combine accumulates and finalizes,
    or None where the slices are not grouped (`grouped_slices`)."""
    if not grouped_slices(config):
        return None
    return SliceGroupStats(config.input_spec.head, **stats_options(config))


def write_results(config: EvaluationConfig, counts: beam.PCollection) -> WriteResults:
    """The transform writing one model's files into `config.output`."""
    spec = config.input_spec
    head = spec.head
    label_keys = head.by_head({h.name: h.label_key for h in spec.heads})
    stats = slice_stats(config)
    return WriteResults(
        output=config.output,
        head=head,
        head_config=head_config_document(config.head_config, label_keys, head),
        specs=config.slices,
        config=eval_config(
            config.slices,
            label_keys,
            confidence_intervals=bool(config.options.bootstrap_replicates),
        ),
        counts=counts,
        empty=stats.finalize(stats.create()),
        data_location=config.data_location,
        model_location=config.model or "<logits features>",
        min_slice_size=config.options.min_slice_size,
    )


class EvaluateHeads(beam.PTransform):
    """Reads and parses the examples once, then evaluates each config's model on them and
    writes its results into the config's `output`; applied to a pipeline (`PBegin`).

    With several configs (a candidate model and its baseline), every config must read the
    same examples the same way (`EvaluationConfig.reading`). The records are read and parsed
    once, with the features of every config, so a record that cannot be parsed is rejected
    for each model; inference and the label, weight and logits checks are each model's own
    (`EvaluateModel`).

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
        readings = [config.reading for config in configs]
        differing = [
            field for field in readings[0] if any(r[field] != readings[0][field] for r in readings)
        ]
        if differing:
            raise ValueError(
                "Invalid `configs`: expected evaluations that read the same examples the same "
                f"way; received configs that differ in {differing}."
            )
        self._configs = configs
        self._feature_spec = feature_spec(configs)

    def expand(self, root: beam.pvalue.PBegin) -> tuple[beam.PCollection, ...]:
        first = self._configs[0]
        read = (
            root
            | constants.MATCH_FILES_STAGE >> beam.Create(first.files)
            | constants.DISTRIBUTE_FILES_STAGE >> beam.Reshuffle()
            | constants.READ_STAGE
            >> beam.ParDo(read_examples(first)).with_outputs(constants.COUNTS_TAG, main="batches")
        )
        batches = read.batches | constants.PARSE_STAGE >> beam.ParDo(
            parse_examples(first, self._feature_spec)
        )
        return tuple(
            batches
            | f"{constants.EVALUATE_MODEL_STAGE}[{index}]"
            >> EvaluateModel(config, read[constants.COUNTS_TAG])
            for index, config in enumerate(self._configs)
        )


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
        infer = infer_logits(config)
        if infer is not None:
            batches = batches | constants.INFER_STAGE >> beam.ParDo(infer)
        prepared = batches | constants.PREPARE_STAGE >> beam.ParDo(
            prepare_batches(config)
        ).with_outputs(constants.COUNTS_TAG, main="batches")
        counts = (
            (self._read_counts, prepared[constants.COUNTS_TAG])
            | constants.GATHER_COUNTS_STAGE >> beam.Flatten()
            | constants.COUNT_STAGE >> beam.CombineGlobally(ExampleCountsCombineFn())
        )
        sliced = prepared.batches | constants.SLICE_STAGE >> beam.ParDo(
            slice_batches(config)
        ).with_outputs(GROUPS_TAG, main="slices")
        head = config.input_spec.head
        directory = encoded_slices_directory(config.output)
        encoded = _combine_per_slice(
            sliced.slices, config
        ) | constants.ENCODE_SLICES_STAGE >> beam.ParDo(EncodeSlices(head, directory))
        if grouped_slices(config):
            combine = SliceGroupCombineFn(head, directory, **stats_options(config))
            groups = (
                sliced[GROUPS_TAG]
                | constants.COMBINE_GROUPS_STAGE >> beam.CombinePerKey(combine)
                | constants.GROUP_RESULTS_STAGE >> beam.Values().with_output_types(EncodedSlices)
            )
            encoded = (encoded, groups) | constants.GATHER_GROUPS_STAGE >> beam.Flatten()
        return encoded | constants.WRITE_RESULTS_STAGE >> write_results(config, counts)


def _combine_per_slice(sliced: beam.PCollection, config: EvaluationConfig) -> beam.PCollection:
    """`(slice key, SliceResult)` of every slice. With a minimum slice size the overall slice
    is combined apart, without it: as in TFMA, the overall slice is never reduced to counts."""
    options = stats_options(config)
    head = config.input_spec.head
    combine = HeadStatsCombineFn(head, **options)
    if options["min_slice_size"] <= 1:
        return sliced | constants.COMBINE_STAGE >> beam.CombinePerKey(combine)
    overall, others = sliced | constants.SPLIT_OVERALL_STAGE >> beam.Partition(
        lambda item, _: 0 if item[0] == OVERALL else 1, 2
    )
    whole = HeadStatsCombineFn(head, **{**options, "min_slice_size": 1})
    return (
        overall | constants.COMBINE_OVERALL_STAGE >> beam.CombinePerKey(whole),
        others | constants.COMBINE_STAGE >> beam.CombinePerKey(combine),
    ) | constants.GATHER_RESULTS_STAGE >> beam.Flatten()
