"""The head trainer's executor: TFX's generic trainer executor with a built-in `run_fn`.

It keeps `GenericExecutor`'s reading of the inputs (`compat.fn_args`: file patterns per split,
step counts, schema, Transform output, hyperparameters, output directories and the data
accessor), but instead of calling a user `run_fn` it loads the user module's model and head
(`module_contract`) and runs `train.run_training`.
"""

from __future__ import annotations

import os
from typing import Any

import tensorflow as tf
from absl import logging
from tfx import types
from tfx.components.trainer import executor as tfx_trainer_executor
from tfx.types import standard_component_specs

from heads.export import HEAD_CONFIG_PATH, SAVED_MODEL_FILE
from tfx_heads.components import compat
from tfx_heads.components.trainer import module_contract, strategy, train
from tfx_heads.components.trainer.options import TrainerOptions


class Executor(tfx_trainer_executor.GenericExecutor):
    """Trains a user module's logits model and head (see `HeadTrainer`) and exports it."""

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        """Trains and exports the model.

        Args:
            input_dict: `examples` (required), `schema` or `transform_graph` (one required),
                `hyperparameters` (optional). `base_model` is not supported.
            output_dict: `model` and `model_run`.
            exec_properties: TFX Trainer's: `train_args`, `eval_args`, `module_file` (or
                `module_path`), and `custom_config` holding the `HeadTrainer` options.

        Raises:
            ValueError: if a required input or property is missing, or `base_model` is given.
            RuntimeError: if the chief wrote no SavedModel.
        """
        self._log_startup(input_dict, output_dict, exec_properties)
        check_inputs(input_dict, output_dict, exec_properties)
        tf_config = strategy.read_tf_config()
        if strategy.task_type(tf_config) == strategy.EVALUATOR_TASK:
            logging.info(
                "HeadTrainer: this is an `evaluator` task; the chief and workers train and "
                "validate, so it has nothing to do."
            )
            return
        fn_args = compat.fn_args(self, input_dict, output_dict, exec_properties)
        options = TrainerOptions.from_custom_config(fn_args.custom_config)
        user_module = module_contract.load_user_module(exec_properties)
        distribution = strategy.create_distribution(
            options.strategy, options.devices, options.tpu, tf_config
        )
        result = train.run_training(fn_args, user_module, options, distribution)
        if result.chief:
            verify_outputs(fn_args.serving_model_dir)
            logging.info(
                "HeadTrainer: model written to %s; TensorBoard logs in %s.",
                fn_args.serving_model_dir,
                fn_args.model_run_dir,
            )


def check_inputs(
    input_dict: dict[str, list[types.Artifact]],
    output_dict: dict[str, list[types.Artifact]],
    exec_properties: dict[str, Any],
) -> None:
    """Checks the keys the executor needs before any work.

    Raises:
        ValueError: naming the first missing or unsupported key.
    """
    specs = standard_component_specs
    if not input_dict.get(specs.EXAMPLES_KEY):
        raise ValueError(
            f"Invalid `input_dict`: expected `{specs.EXAMPLES_KEY}` artifacts; received keys "
            f"{sorted(input_dict)}."
        )
    if not input_dict.get(specs.SCHEMA_KEY) and not input_dict.get(specs.TRANSFORM_GRAPH_KEY):
        raise ValueError(
            f"Invalid `input_dict`: expected `{specs.SCHEMA_KEY}` or "
            f"`{specs.TRANSFORM_GRAPH_KEY}`; received keys {sorted(input_dict)}."
        )
    if input_dict.get(specs.BASE_MODEL_KEY):
        raise ValueError(
            f"Invalid `input_dict`: expected no `{specs.BASE_MODEL_KEY}` (HeadTrainer does not "
            f"warm-start); received {input_dict[specs.BASE_MODEL_KEY]}."
        )
    for key in (specs.MODEL_KEY, specs.MODEL_RUN_KEY):
        if not output_dict.get(key):
            raise ValueError(
                f"Invalid `output_dict`: expected a `{key}` artifact; received keys "
                f"{sorted(output_dict)}."
            )
    for key in (specs.TRAIN_ARGS_KEY, specs.EVAL_ARGS_KEY):
        if key not in exec_properties:
            raise ValueError(
                f"Invalid `exec_properties`: expected `{key}`; received keys "
                f"{sorted(exec_properties)}."
            )


def verify_outputs(serving_model_dir: str) -> None:
    """Checks that the SavedModel and its head config were written.

    Raises:
        RuntimeError: if either file is missing.
    """
    for name in (SAVED_MODEL_FILE, HEAD_CONFIG_PATH):
        path = os.path.join(serving_model_dir, name)
        if not tf.io.gfile.exists(path):
            raise RuntimeError(f"HeadTrainer wrote no {name}: expected {path} after export.")
