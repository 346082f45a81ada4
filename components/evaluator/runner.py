"""Runs an evaluation: the library entry point `evaluate`, its Beam options and results.

`evaluate` resolves each model's evaluation (`config.build_config`), applies
`transforms.EvaluateHeads` to a Beam pipeline built from Beam arguments, runs it and returns
the `metrics.json` document. A baseline model is evaluated in the same pass, into its own
directory. With thresholds in the options it also writes the blessing's verdict
(`validations.bless`: `blessing.json` and TFMA's `validations.tfrecord`).
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import apache_beam as beam
import tensorflow as tf
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from heads.base_head import Head
from heads.description import HeadDescription
from heads.stats import stats_for_head
from tfx_heads.components.evaluator import constants
from tfx_heads.components.evaluator.config import build_config
from tfx_heads.components.evaluator.eval_config import check_head_references
from tfx_heads.components.evaluator.options import EvaluationOptions
from tfx_heads.components.evaluator.transforms import EvaluateHeads
from tfx_heads.components.evaluator.validations import bless

_LOG = logging.getLogger(__name__)

DEFAULT_LOCAL_RUNNER = "FnApiRunner"


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
    *,
    options: EvaluationOptions | None = None,
    eval_config: Any = None,
    baseline_model: str | None = None,
    baseline_output: str | None = None,
    beam_pipeline_args: Sequence[str] = (),
    num_workers: int | None = None,
    **option_values: Any,
) -> dict[str, Any]:
    """Evaluates every head's metrics over TFRecords of `tf.Example`s, per slice.

    Args:
        examples: glob (or globs) of TFRecord files of serialized `tf.Example`s.
        output: directory for TFMA's files and `metrics.json` (see `writers`).
        head: the head, or its `heads.serialize` JSON; None reads it from `model`.
        model: a SavedModel written by `heads.export_saved_model`: logits come from its
            `predict` signature. Exclusive with `logits_features`.
        options: the evaluation's options (default: `EvaluationOptions()`).
        eval_config: a `tfma.EvalConfig` (the proto, or its JSON or text form) instead of
            `options`: `EvaluationOptions.from_eval_config(eval_config, **option_values)`.
        baseline_model: a second SavedModel to evaluate in the same pass (the records are
            read and parsed once, then each model infers; see `EvaluateHeads`), with the
            same options (its head is read from it when `head` is None). Needs `model`.
        baseline_output: the baseline's output directory (default: `<output>/baseline`,
            `constants.BASELINE_DIR`); its `metrics.json` is read with `read_metrics`.
        beam_pipeline_args: Beam pipeline arguments (`--runner=...`, ...).
        num_workers: DirectRunner worker processes (None: in-process).
        **option_values: fields of `EvaluationOptions` (`label_keys`, `logits_features`,
            `slices`, `batch_size`, `confidence_intervals`, ...), replacing those of
            `options`.

    Returns:
        The `metrics.json` document (the model's, not the baseline's). With thresholds the
        verdict is in `output`: `validations.read_blessing(output)` (`blessing.json`) and
        `tfma.load_validation_result(output)`.

    Raises:
        TypeError: for a keyword that is no option.
        ValueError: for invalid arguments (a baseline without `model`, for example).
    """
    if eval_config is not None:
        if options is not None:
            raise ValueError(
                "Invalid arguments: expected `options` or `eval_config`, not both (the "
                "options of an EvalConfig are EvaluationOptions.from_eval_config's)."
            )
        options = EvaluationOptions.from_eval_config(eval_config, **option_values)
    options = dataclasses.replace(options or EvaluationOptions(), **option_values)
    if baseline_model is None and baseline_output is not None:
        raise ValueError(
            f"Invalid `baseline_output`: expected it only with `baseline_model`; received "
            f"{baseline_output!r} without a baseline model."
        )
    if baseline_model is not None and model is None:
        raise ValueError(
            "Invalid `baseline_model`: expected it with `model` (both models infer the "
            f"logits); received baseline_model={baseline_model!r} with logits_features="
            f"{options.logits_features!r}."
        )
    configs = [build_config(examples, output, options, head, model)]
    check_options_against_head(options, configs[0].input_spec.head)
    if baseline_model is not None:
        baseline_output = baseline_output or os.path.join(output, constants.BASELINE_DIR)
        configs.append(build_config(examples, baseline_output, options, head, baseline_model))
    _LOG.info(
        "Evaluating %d files of %s into %s.",
        len(configs[0].files),
        examples,
        " and ".join(config.output for config in configs),
    )
    with beam.Pipeline(options=pipeline_options(beam_pipeline_args, num_workers)) as pipeline:
        _ = pipeline | "EvaluateHeads" >> EvaluateHeads(*configs)
    if options.thresholds:
        bless(output, options.thresholds, baseline_output)
    return read_metrics(output)


def check_options_against_head(options: EvaluationOptions, head: HeadDescription) -> None:
    """Checks, before anything runs, that the thresholds name metric keys of the head and
    that example weight keys are the head's (`eval_config.check_head_references`).

    Raises:
        ValueError: naming the metric or weight key.
    """
    keys = stats_for_head(head).metric_keys() if options.thresholds else ()
    check_head_references(options.thresholds, options.example_weight_keys, head, keys)


def read_metrics(output: str) -> dict[str, Any]:
    """The `metrics.json` document of an evaluation's output directory.

    Parsed from its bytes with Python's cyclic garbage collector paused: the document of a
    head of 100,000 classes holds 100,000 new dicts, whose allocation would start
    collections that each go over every object of the process (TensorFlow's and Beam's
    too): 0.4 s for its 15 MB, 0.17 s paused. A JSON document has no cycles; its objects
    are freed by reference counting as ever.
    """
    with tf.io.gfile.GFile(os.path.join(output, constants.METRICS_JSON_FILE), "rb") as f:
        data = f.read()
    enabled = gc.isenabled()
    gc.disable()
    try:
        return json.loads(data)
    finally:
        if enabled:
            gc.enable()
