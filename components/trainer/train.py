"""The head trainer's training run: the fit plan, `HeadModel.fit`, backups and export.

`run_training` is what the executor calls once it has TFX's `FnArgs`, the user module, the
options and the distribution (`strategy.create_distribution`). It builds the model in the
strategy's scope (`module_contract.build_head_model`, under the mixed-precision policy, if any)
and its inputs (`features.training_inputs`), resumes from a backup of an earlier, killed
attempt (`tfx_heads.components.trainer.backup`), trains it with TensorBoard logs in the ModelRun
directory, and exports it. In a multi-worker run every worker trains and exports (saving may
run collective ops on all of them), but only the chief writes to the Model and ModelRun
artifacts; the others write to temporary directories that are removed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import keras
import tensorflow as tf
from absl import logging
from tfx.components.trainer import fn_args_utils

import heads
from tfx_heads.components.trainer import backup as backup_lib
from tfx_heads.components.trainer import constants, module_contract
from tfx_heads.components.trainer import features as features_lib
from tfx_heads.components.trainer import progress as progress_lib
from tfx_heads.components.trainer import serving as serving_lib
from tfx_heads.components.trainer import strategy as strategy_lib
from tfx_heads.components.trainer.options import TrainerOptions

# Strategies whose replicas must all run the same number of steps.
_STEPS_REQUIRED = ("multi_worker", "tpu")


@dataclasses.dataclass(frozen=True)
class TrainingResult:
    """What `run_training` produced.

    Attributes:
        model: the trained `heads.HeadModel`.
        history: Keras history: metric name to one value per epoch.
        export_dir: where this process wrote the SavedModel (a removed temporary directory
            on a non-chief worker).
        chief: whether this process is the chief.
        num_replicas: the number of replicas that trained the model.
        start_step: the step training started from (above 0 when it resumed from a backup).
        final_step: the step count at the end of training.
    """

    model: heads.HeadModel
    history: dict[str, list[float]]
    export_dir: str
    chief: bool
    num_replicas: int
    start_step: int = 0
    final_step: int = 0


@dataclasses.dataclass(frozen=True)
class FitPlan:
    """How `fit` walks the data: Keras epochs and steps, and dataset passes (None = repeat)."""

    epochs: int
    steps_per_epoch: int | None
    train_passes: int | None
    validation_steps: int | None
    eval_passes: int | None


def fit_plan(train_steps: int | None, eval_steps: int | None, epochs: int) -> FitPlan:
    """The `FitPlan` for TFX's train/eval step counts (None when unset) and `epochs`.

    With `train_steps`, the repeated training data is cut into `epochs` epochs of
    `ceil(train_steps / epochs)` steps (at most `train_steps` epochs); without, each epoch is
    one pass. Validation runs `eval_steps` steps of repeated data, or one full pass.
    """
    if train_steps:
        epochs = min(epochs, train_steps)
        train = {"steps_per_epoch": math.ceil(train_steps / epochs), "train_passes": None}
    else:
        train = {"steps_per_epoch": None, "train_passes": 1}
    evaluation = (
        {"validation_steps": eval_steps, "eval_passes": None}
        if eval_steps
        else {"validation_steps": None, "eval_passes": 1}
    )
    return FitPlan(epochs=epochs, **train, **evaluation)


def merged_hparams(
    options: TrainerOptions, tuner_hyperparameters: dict[str, Any] | None
) -> dict[str, Any]:
    """The options' `hparams` updated with a Tuner's values (a `keras_tuner` config)."""
    tuned = tuner_hyperparameters or {}
    tuned = tuned.get("values", tuned) if isinstance(tuned, dict) else {}
    return {**options.hparams, **tuned}


def run_training(
    fn_args: fn_args_utils.FnArgs,
    user_module: module_contract.UserModule,
    options: TrainerOptions,
    distribution: strategy_lib.Distribution,
) -> TrainingResult:
    """Trains and exports the user module's model.

    Args:
        fn_args: TFX's trainer arguments (from `compat.fn_args`).
        user_module: the loaded user module.
        options: the trainer options.
        distribution: the strategy and this process's role (`strategy.create_distribution`).

    Raises:
        ValueError: if the data, the schema or the options do not fit the model.
    """
    plan = fit_plan(fn_args.train_steps, fn_args.eval_steps, options.epochs)
    _check_equal_step_counts(distribution.kind, plan, fn_args)
    hparams = merged_hparams(options, fn_args.hyperparameters)
    schema, raw_features = features_lib.training_schemas(fn_args)
    logging.info(
        "HeadTrainer: %s strategy with %d replica(s); chief=%s; hparams=%s",
        distribution.kind,
        distribution.num_replicas,
        distribution.chief,
        hparams,
    )
    with (
        _output_dirs(fn_args, distribution.chief) as (log_dir, export_dir),
        precision_policy(options.mixed_precision),
    ):
        model = module_contract.build_head_model(
            user_module, hparams, options, distribution.strategy
        )
        inputs = features_lib.training_inputs(schema, model, user_module.label_keys)
        datasets = _datasets(fn_args, inputs, options, plan, distribution)
        feature_spec = _serving_feature_spec(fn_args, user_module, model.head, raw_features, inputs)
        state = _backup_state(model, fn_args, options, distribution.chief)
        start_step = backup_lib.restore(state) if state else 0
        history = _fit(model, datasets, plan, log_dir, state, options.backup_steps)
        serving_lib.export_serving_model(
            model,
            export_dir,
            feature_spec,
            user_module.raw_label_keys,
            inputs.input_specs,
            fn_args.transform_output,
        )
    result = TrainingResult(
        model=model,
        history=history,
        export_dir=export_dir,
        chief=distribution.chief,
        num_replicas=distribution.num_replicas,
        start_step=start_step,
        final_step=int(model.optimizer.iterations.numpy()),
    )
    if state:
        backup_lib.remove(state)
    if distribution.chief:
        _write_run_files(fn_args.model_run_dir, result, distribution.kind)
    return result


def _check_equal_step_counts(
    strategy_kind: str, plan: FitPlan, fn_args: fn_args_utils.FnArgs
) -> None:
    """Fails early when a strategy whose replicas must run equal step counts lacks them.

    Raises:
        ValueError: if `strategy_kind` needs both step counts and the plan lacks one.
    """
    if strategy_kind in _STEPS_REQUIRED and not (plan.steps_per_epoch and plan.validation_steps):
        raise ValueError(
            "Invalid `train_args.num_steps`/`eval_args.num_steps`: expected both for the "
            f"{strategy_kind} strategy, whose workers must run equal step counts; received "
            f"{fn_args.train_steps} and {fn_args.eval_steps}."
        )


def _serving_feature_spec(
    fn_args: fn_args_utils.FnArgs,
    user_module: module_contract.UserModule,
    head: heads.Head,
    raw_features: dict[str, Any],
    inputs: features_lib.TrainingInputs,
) -> serving_lib.FeatureSpec:
    """The parsing spec of the raw features the serving signatures take.

    They are the module's `SERVING_FEATURE_KEYS`, else the model's inputs or (with Transform
    or no known inputs) every raw feature but the labels and weights.
    """
    return serving_lib.serving_feature_spec(
        raw_features,
        user_module.serving_feature_keys,
        serving_lib.default_serving_keys(
            raw_features,
            inputs.input_specs,
            user_module.raw_label_keys,
            features_lib.weight_column_keys(head),
            transformed=bool(fn_args.transform_output),
        ),
    )


def _backup_state(
    model: heads.HeadModel,
    fn_args: fn_args_utils.FnArgs,
    options: TrainerOptions,
    chief: bool,
) -> backup_lib.TrainingState | None:
    """What to back up in the ModelRun directory, or None when backups are off.

    A killed attempt's retry restores from these backups instead of training from scratch.
    """
    if not options.backup:
        return None
    backup_dir = os.path.join(fn_args.model_run_dir, backup_lib.BACKUP_DIR)
    return backup_lib.training_state(model, backup_dir, chief)


@contextlib.contextmanager
def _output_dirs(fn_args: fn_args_utils.FnArgs, chief: bool) -> Iterator[tuple[str, str]]:
    """The log and export directories: the artifacts' on the chief, a temporary one's elsewhere.

    Every worker trains and exports (saving may run collective ops on all of them), but only
    the chief writes to the ModelRun and Model artifacts; the others' directory is removed.
    It is also the workers' temporary directory while they build their inputs and model and
    train: TensorFlow writes the code AutoGraph generates there, and at exit removes only the
    sources, not their bytecode.
    """
    if chief:
        yield fn_args.model_run_dir, fn_args.serving_model_dir
        return
    scratch = tempfile.mkdtemp(prefix="head_trainer_")
    saved_tempdir, tempfile.tempdir = tempfile.tempdir, scratch
    try:
        yield os.path.join(scratch, "logs"), os.path.join(scratch, "model")
    finally:
        tempfile.tempdir = saved_tempdir
        shutil.rmtree(scratch, ignore_errors=True)


def _write_run_files(model_run_dir: str, result: TrainingResult, strategy_kind: str) -> None:
    """Writes the Keras history and the run's strategy and step counts to the ModelRun.

    They tell a reader of the ModelRun how training went without loading the model.
    """
    _write_json(os.path.join(model_run_dir, constants.HISTORY_FILE), result.history)
    _write_json(
        os.path.join(model_run_dir, constants.TRAINING_STATE_FILE),
        {
            "strategy": strategy_kind,
            "num_replicas": result.num_replicas,
            "start_step": result.start_step,
            "final_step": result.final_step,
            "jit_compile": bool(result.model.jit_compile),
        },
    )


@contextlib.contextmanager
def precision_policy(name: str | None) -> Iterator[None]:
    """Sets Keras's global dtype policy to `name` (if given) and restores it afterwards."""
    if name is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _fit(
    model: heads.HeadModel,
    datasets: tuple[tf.data.Dataset, tf.data.Dataset],
    plan: FitPlan,
    log_dir: str,
    state: backup_lib.TrainingState | None,
    backup_steps: int | None,
) -> dict[str, list[float]]:
    """Runs `fit` on the (training, validation) datasets from the backup's step to the end.

    Returns the Keras history as plain floats (empty when a backup already holds every step).
    """
    total_steps = plan.steps_per_epoch * plan.epochs if plan.steps_per_epoch else None
    initial_epoch = state.finished_epochs if state else 0
    start_step = state.step if state else 0
    if initial_epoch >= plan.epochs or (total_steps is not None and start_step >= total_steps):
        logging.info("HeadTrainer: the backup holds the finished training; nothing to run.")
        return {}
    callbacks = [
        keras.callbacks.TensorBoard(log_dir=log_dir, update_freq="epoch"),
        progress_lib.TrainingProgress(total_steps),
    ]
    if state:
        callbacks.append(backup_lib.StepBackup(state, backup_steps, total_steps))
    history = model.fit(
        datasets[0],
        epochs=plan.epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=plan.steps_per_epoch,
        validation_data=datasets[1],
        validation_steps=plan.validation_steps,
        callbacks=callbacks,
        verbose=2,
    )
    return {key: [float(v) for v in series] for key, series in history.history.items()}


def _write_json(path: str, value: Any) -> None:
    """Writes `value` as indented JSON to `path` (local or remote, through tf.io.gfile)."""
    with tf.io.gfile.GFile(path, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)


def _datasets(
    fn_args: fn_args_utils.FnArgs,
    inputs: features_lib.TrainingInputs,
    options: TrainerOptions,
    plan: FitPlan,
    distribution: strategy_lib.Distribution,
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """The training and validation datasets of `(features, labels)` batches."""
    return tuple(
        features_lib.make_dataset(
            fn_args.data_accessor.tf_dataset_factory,
            files,
            inputs.schema,
            inputs.split,
            batch_size,
            num_epochs=passes,
            shuffle=shuffle,
            drop_final_batch=distribution.kind == "tpu",  # TPUs need static batch shapes
            num_workers=distribution.num_workers,
        )
        for files, batch_size, passes, shuffle in (
            (fn_args.train_files, options.batch_size, plan.train_passes, True),
            (fn_args.eval_files, options.global_eval_batch_size, plan.eval_passes, False),
        )
    )
