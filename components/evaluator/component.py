"""`HeadEvaluator`: the Beam head evaluator as a TFX component.

Inputs: `examples` (the split(s) to evaluate), `model` (a SavedModel exported by the head
trainer, which carries its head config and label keys) and an optional `baseline_model`
(for example from TFX's latest-blessed-model resolver). Outputs: `evaluation`, a
`ModelEvaluation` that `tfma.load_eval_result` reads (plus `metrics.json` and the HTML
report), and `blessing`, a `ModelBlessing` with the `blessed` custom property that the Pusher
and the latest-blessed-model resolver read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import component_spec, standard_artifacts

from tfx_heads.components.evaluator import blessing, executor
from tfx_heads.components.evaluator.constants import (
    BASELINE_MODEL_KEY,
    BLESSING_KEY,
    BOOTSTRAP_REPLICATES_KEY,
    DEFAULT_NUM_BOOTSTRAP_SAMPLES,
    EVAL_CONFIG_KEY,
    EVALUATION_KEY,
    EXAMPLE_SPLITS_KEY,
    EXAMPLES_KEY,
    MODEL_KEY,
    REJECT_MALFORMED_KEY,
    SLICES_KEY,
    THRESHOLDS_KEY,
)
from tfx_heads.components.evaluator.eval_config import eval_config_json, load_eval_config
from tfx_heads.components.evaluator.options import EvaluationOptions


class HeadEvaluatorSpec(types.ComponentSpec):
    """Inputs, outputs and parameters of `HeadEvaluator`; JSON strings for structured ones."""

    PARAMETERS = {
        SLICES_KEY: component_spec.ExecutionParameter(type=str, optional=True),
        THRESHOLDS_KEY: component_spec.ExecutionParameter(type=str, optional=True),
        EVAL_CONFIG_KEY: component_spec.ExecutionParameter(type=str, optional=True),
        EXAMPLE_SPLITS_KEY: component_spec.ExecutionParameter(type=str, optional=True),
        REJECT_MALFORMED_KEY: component_spec.ExecutionParameter(type=int, optional=True),
        BOOTSTRAP_REPLICATES_KEY: component_spec.ExecutionParameter(type=int, optional=True),
    }
    INPUTS = {
        EXAMPLES_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples),
        MODEL_KEY: component_spec.ChannelParameter(type=standard_artifacts.Model),
        BASELINE_MODEL_KEY: component_spec.ChannelParameter(
            type=standard_artifacts.Model, optional=True
        ),
    }
    OUTPUTS = {
        EVALUATION_KEY: component_spec.ChannelParameter(type=standard_artifacts.ModelEvaluation),
        BLESSING_KEY: component_spec.ChannelParameter(type=standard_artifacts.ModelBlessing),
    }


class HeadEvaluator(base_beam_component.BaseBeamComponent):
    """Computes every head metric over the full evaluation split(s) on Beam, and blesses.

    Example:
        ```
        evaluator = HeadEvaluator(
            examples=example_gen.outputs["examples"],
            model=trainer.outputs["model"],
            slices=[["trip_start_day"], ["payment_type", "trip_start_day"]],
            thresholds=[{"metric": "auc/big_tipper", "lower_bound": 0.6}],
        )
        ```
    or, as TFX's Evaluator takes it, with a `tfma.EvalConfig` (see `eval_config`):
        ```
        evaluator = HeadEvaluator(examples=..., model=..., eval_config=config_pb2.EvalConfig(
            slicing_specs=[config_pb2.SlicingSpec(), config_pb2.SlicingSpec(feature_keys=[
                "trip_start_day"])],
            metrics_specs=[config_pb2.MetricsSpec(output_names=["big_tipper"], thresholds={
                "auc": config_pb2.MetricThreshold(value_threshold=config_pb2.
                    GenericValueThreshold(lower_bound={"value": 0.6}))})]))
        ```

    Args:
        examples: a channel of `Examples`.
        model: a channel of `Model` written by the head trainer (`heads.export_saved_model`).
        baseline_model: an optional channel of `Model` to compare with; change thresholds
            need it.
        slices: feature-name lists to slice by, besides the overall slice; a list of several
            names is a cross.
        thresholds: blessing conditions (see `tfx_heads.components.evaluator.blessing`);
            without any, every evaluated model is blessed.
        eval_config: a `tfma.EvalConfig` (the proto, or its JSON or text form) giving the
            slicings, thresholds, label keys and confidence intervals instead of `slices`
            and `thresholds` (see `tfx_heads.components.evaluator.eval_config`); stored as
            JSON, as TFX's Evaluator stores it, and checked here.
        example_splits: the splits to evaluate (default `["eval"]`).
        reject_malformed: count malformed examples in `rejected` instead of failing.
        confidence_intervals: add Poisson bootstrap confidence intervals (as
            `tfx_heads.components.evaluator.runner.evaluate` and `tfx-heads evaluate` do;
            see `EvaluationOptions`, which the executor reads the parameters into).
        num_bootstrap_samples: bootstrap replicates, >= 2 (with `confidence_intervals`).

    Raises:
        TypeError: if `confidence_intervals` is not a bool.
        ValueError: if a threshold or slice is malformed, the eval_config has a field the
            evaluator does not support, or `num_bootstrap_samples` < 2 with
            `confidence_intervals`.
    """

    SPEC_CLASS = HeadEvaluatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(
        self,
        examples: types.BaseChannel,
        model: types.BaseChannel,
        baseline_model: types.BaseChannel | None = None,
        slices: Sequence[Sequence[str]] | None = None,
        thresholds: Sequence[Mapping[str, Any]] | None = None,
        example_splits: Sequence[str] | None = None,
        reject_malformed: bool = False,
        confidence_intervals: bool = False,
        num_bootstrap_samples: int = DEFAULT_NUM_BOOTSTRAP_SAMPLES,
        eval_config: Any = None,
    ):
        if eval_config is not None and (slices or thresholds):
            raise ValueError(
                "Invalid arguments: expected `eval_config` or `slices`/`thresholds`, not both; "
                f"received slices={slices!r}, thresholds={thresholds!r} with an eval_config."
            )
        thresholds = list(thresholds or [])
        parsed = blessing.parse_thresholds(thresholds)  # fail at definition, not at run
        slices = [list(features) for features in (slices or [])]
        for features in slices:
            if not features or not all(isinstance(f, str) and f for f in features):
                raise ValueError(
                    f"Invalid `slices`: expected lists of feature names; received {features!r}."
                )
        values = dict(  # as the executor reads them back: checked the same way
            reject_malformed=reject_malformed,
            confidence_intervals=confidence_intervals,
            num_bootstrap_samples=num_bootstrap_samples,
        )
        if eval_config is not None:
            eval_config = load_eval_config(eval_config)
            options = EvaluationOptions.from_eval_config(eval_config, **values)
        else:
            options = EvaluationOptions(
                slices=[tuple(features) for features in slices], thresholds=parsed, **values
            )
        spec = HeadEvaluatorSpec(
            examples=examples,
            model=model,
            baseline_model=baseline_model,
            slices=json.dumps(slices),
            thresholds=json.dumps(thresholds),
            eval_config=None if eval_config is None else eval_config_json(eval_config),
            example_splits=json.dumps(list(example_splits or ["eval"])),
            reject_malformed=int(reject_malformed),
            bootstrap_replicates=options.bootstrap_replicates,
            evaluation=types.Channel(type=standard_artifacts.ModelEvaluation),
            blessing=types.Channel(type=standard_artifacts.ModelBlessing),
        )
        super().__init__(spec=spec)
