"""The tfx-heads pipeline: one definition for the laptop and for Kubeflow/Dataflow.

ImportExampleGen → StatisticsGen → SchemaGen → HeadTrainer → HeadEvaluator → Pusher, with
the latest blessed model as the evaluator's baseline. Runners (`pipeline/local_runner.py`,
`kubeflow/`) only configure and call `create_pipeline`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tfx import v1 as tfx

from tfx_heads.components.evaluator.component import HeadEvaluator
from tfx_heads.components.evaluator.constants import DEFAULT_NUM_BOOTSTRAP_SAMPLES
from tfx_heads.components.trainer.component import HeadTrainer


def create_pipeline(
    pipeline_name: str,
    pipeline_root: str,
    data_root: str,
    module_file: str,
    serving_model_dir: str,
    train_steps: int | None = None,
    eval_steps: int | None = None,
    trainer_options: Mapping[str, Any] | None = None,
    slices: Sequence[Sequence[str]] = (),
    thresholds: Sequence[Mapping[str, Any]] = (),
    eval_config: Any = None,
    confidence_intervals: bool = False,
    num_bootstrap_samples: int = DEFAULT_NUM_BOOTSTRAP_SAMPLES,
    metadata_connection_config: Any = None,
    beam_pipeline_args: Sequence[str] = (),
    enable_cache: bool = True,
) -> tfx.dsl.Pipeline:
    """Builds the pipeline.

    Args:
        pipeline_name: the pipeline's name in ML Metadata.
        pipeline_root: where every component writes its artifacts (a local path or a URI).
        data_root: a folder of gzipped TFRecord files of `tf.Example`s; ExampleGen splits
            them 4:1 into `train` and `eval` by a hash of each example.
        module_file: the HeadTrainer user module (`build_model`, `LABEL_KEYS`, ...).
        serving_model_dir: where the Pusher copies a blessed model.
        train_steps: training steps (None: `trainer_options["epochs"]` passes).
        eval_steps: validation steps per epoch during training (None: a full pass).
        trainer_options: HeadTrainer keyword options (strategy, batch_size, epochs, hparams,
            ...).
        slices: feature lists to slice the evaluation by (a list of several is a cross).
        thresholds: the evaluator's blessing thresholds.
        eval_config: a `tfma.EvalConfig` for the evaluator instead of `slices` and
            `thresholds` (as TFX's Evaluator takes it; see `HeadEvaluator`).
        confidence_intervals: add Poisson bootstrap confidence intervals to the evaluation.
        num_bootstrap_samples: bootstrap replicates (with `confidence_intervals`).
        metadata_connection_config: ML Metadata connection (None: the runner's default).
        beam_pipeline_args: arguments for every Beam-based component (ExampleGen,
            StatisticsGen, the evaluator), e.g. `--runner=DataflowRunner ...`.
        enable_cache: reuse results of components whose inputs did not change.

    Returns:
        The `tfx.dsl.Pipeline`.
    """
    example_gen = tfx.components.ImportExampleGen(
        input_base=data_root,
        output_config=tfx.proto.Output(
            split_config=tfx.proto.SplitConfig(
                splits=[
                    tfx.proto.SplitConfig.Split(name="train", hash_buckets=4),
                    tfx.proto.SplitConfig.Split(name="eval", hash_buckets=1),
                ]
            )
        ),
    )
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.SchemaGen(
        statistics=statistics_gen.outputs["statistics"], infer_feature_shape=True
    )
    trainer = HeadTrainer(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        module_file=module_file,
        train_args=tfx.proto.TrainArgs(num_steps=train_steps),
        eval_args=tfx.proto.EvalArgs(num_steps=eval_steps),
        **dict(trainer_options or {}),
    )
    baseline_resolver = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    evaluator = HeadEvaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=baseline_resolver.outputs["model"],
        slices=slices,
        thresholds=thresholds,
        eval_config=eval_config,
        confidence_intervals=confidence_intervals,
        num_bootstrap_samples=num_bootstrap_samples,
    )
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=serving_model_dir)
        ),
    )
    return tfx.dsl.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=[
            example_gen,
            statistics_gen,
            schema_gen,
            trainer,
            baseline_resolver,
            evaluator,
            pusher,
        ],
        enable_cache=enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(beam_pipeline_args),
    )
