"""`HeadTrainer`: TFX's Trainer with a built-in training loop for a logits model and a head.

It keeps TFX's Trainer spec (inputs `examples`, `schema`, `transform_graph`, `base_model`,
`hyperparameters`; parameters `train_args`, `eval_args`, `module_file`, `custom_config`;
outputs `model` and `model_run`), so Kubeflow/Vertex compilation, the Evaluator, the Pusher
and the Tuner treat it as a Trainer. Only the executor differs; the typed options travel in
`custom_config`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tfx import types
from tfx.components.trainer import component as tfx_trainer_component
from tfx.dsl.components.base import executor_spec
from tfx.proto import trainer_pb2

from tfx_heads.components.trainer import constants, executor
from tfx_heads.components.trainer.options import TrainerOptions
from tfx_heads.components.trainer.strategy import StrategyName


class HeadTrainer(tfx_trainer_component.Trainer):
    """Trains the user module's logits model with its head and exports serving signatures.

    The user module (`module_file`) defines:

    - `build_model(hparams: dict) -> (logits_model, head)` (required): a `keras.Model` from
      the features dict to logits (a dict of logits by head name for a `heads.MultiHead`) and the
      `heads.Head`. It is called in the distribution strategy's scope. A functional model with dict
      inputs (`keras.Input(shape=(1,), name=...)` per feature) gets exactly its inputs, dense, cast
      to its dtypes (sparse schema features are densified; see
      `tfx_heads.components.trainer.features`); another model gets every non-label feature as
      parsed.
    - `LABEL_KEYS` (required): the label feature name for a single head, or a dict of head
      name to label feature name with exactly the MultiHead's head names. Label features
      leave the features; a head's `weight_column` stays in them. With Transform, these are
      the transformed examples' names, and labels must pass through Transform unchanged.
    - `RAW_LABEL_KEYS` (optional): the same, in the raw examples (default `LABEL_KEYS`);
      stored with the model for evaluators and left out of the serving features.
    - `SERVING_FEATURE_KEYS` (optional): the raw features the serving signatures parse.
      Default: the logits model's inputs; with Transform (or a model without dict inputs),
      every raw feature but the labels and weight columns.
    - `build_optimizer(hparams: dict) -> keras.optimizers.Optimizer` (optional): default
      `keras.optimizers.Adam(hparams.get("learning_rate", 1e-3))`.

    `hparams` is the `hparams` option updated with the values of a Tuner's `hyperparameters`.

    The model is a `heads.HeadModel`: the head supplies loss and metrics (validation metrics
    are the head's keys, such as `auc/big_tipper`). TensorBoard logs and `history.json` go
    to the ModelRun directory. The Model artifact holds a SavedModel
    (`Format-Serving/`) with the head's signatures over serialized raw `tf.Example`s
    (`serving_default`, `classification`/`regression`/`predict`, and per head for a
    MultiHead) and `assets.extra/head_config.json` with the head and the raw label keys
    (`heads.load_head_config`). In a multi-worker run only the chief writes them.

    Example:
        ```
        trainer = HeadTrainer(
            examples=example_gen.outputs["examples"],
            schema=schema_gen.outputs["schema"],
            module_file="trainer_module.py",
            train_args=proto.TrainArgs(num_steps=2000),
            eval_args=proto.EvalArgs(num_steps=100),
            strategy="auto",
            batch_size=256,
        )
        ```

    Args:
        examples: a channel of `Examples` (transformed examples when `transform_graph` is
            given).
        module_file: path of the user module.
        schema: a channel of `Schema` (required without `transform_graph`).
        transform_graph: a channel of `TransformGraph`; training reads its transformed
            schema, and the serving signatures apply it to raw examples.
        hyperparameters: a channel of `HyperParameters` (from a Tuner).
        train_args: `trainer_pb2.TrainArgs` (splits, `num_steps`: total training steps, unset
            for passes over the data).
        eval_args: `trainer_pb2.EvalArgs` (splits, `num_steps`: validation steps per epoch,
            unset for a full pass).
        strategy: `auto`, `mirrored`, `multi_worker`, `tpu` or `one_device` (see
            `tfx_heads.components.trainer.strategy`).
        devices: devices for `mirrored` or `one_device`.
        tpu: TPU address or name.
        batch_size: global training batch size.
        eval_batch_size: global validation batch size (default `batch_size`).
        epochs: Keras epochs (see `TrainerOptions`).
        steps_per_execution: training steps per compiled call.
        jit_compile: compile the steps with XLA (True/False; None: Keras's choice).
        mixed_precision: None, `mixed_float16` (GPUs) or `mixed_bfloat16` (TPUs, CPUs).
        backup: back up the training state and resume from it after a kill (default True).
        backup_steps: steps between backups (besides each epoch end).
        hparams: hyperparameters for `build_model` and `build_optimizer`.

    Raises:
        ValueError: if `module_file` is empty, neither `schema` nor `transform_graph` is
            given, or an option is invalid.
        TypeError: if an option has the wrong type.
    """

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        examples: types.BaseChannel,
        module_file: str,
        schema: types.BaseChannel | None = None,
        transform_graph: types.BaseChannel | None = None,
        hyperparameters: types.BaseChannel | None = None,
        train_args: trainer_pb2.TrainArgs | None = None,
        eval_args: trainer_pb2.EvalArgs | None = None,
        strategy: StrategyName = "auto",
        devices: Sequence[str] | None = None,
        tpu: str | None = None,
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        epochs: int = 1,
        steps_per_execution: int = 1,
        jit_compile: bool | None = None,
        mixed_precision: str | None = None,
        backup: bool = True,
        backup_steps: int = 500,
        hparams: dict[str, Any] | None = None,
    ):
        if not isinstance(module_file, str) or not module_file:
            raise ValueError(
                f"Invalid `module_file`: expected the path of the user module; received "
                f"{module_file!r}."
            )
        if schema is None and transform_graph is None:
            raise ValueError(
                "Invalid `schema`: expected a Schema channel (or a `transform_graph`); "
                "received None."
            )
        options = TrainerOptions(
            strategy=strategy,
            devices=tuple(devices) if devices is not None else None,
            tpu=tpu,
            batch_size=batch_size,
            eval_batch_size=eval_batch_size,
            epochs=epochs,
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
            mixed_precision=mixed_precision,
            backup=backup,
            backup_steps=backup_steps,
            hparams=hparams or {},
        )
        super().__init__(
            examples=examples,
            schema=schema,
            transform_graph=transform_graph,
            hyperparameters=hyperparameters,
            module_file=module_file,
            train_args=train_args,
            eval_args=eval_args,
            custom_config={constants.OPTIONS_KEY: options.to_json_dict()},
        )
