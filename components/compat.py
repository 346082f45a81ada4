"""The private TFX, Beam and Keras APIs the components, pipeline and Kubeflow code use.

Each use below says what it is, why it is needed and which upgrade may break it.
`PRIVATE_APIS` lists them; `tests/components/test_compat.py` checks each against the
installed libraries and fails naming the upgrade when one is gone (the heads library's own
TensorFlow and Keras uses are in `heads/_compat.py`). Libraries are imported on use, so that
importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import Iterator
from typing import Any

from heads._compat import PrivateApi

__all__ = [
    "PRIVATE_APIS",
    "beam_pipeline_args",
    "fn_args",
    "layers_without_xla",
    "user_module_packaging_disabled",
]


# --- tfx GenericExecutor._GetFnArgs (tfx.components.trainer.executor) ---
# What: TFX Trainer's reading of its inputs into `FnArgs` (file patterns per split, step
# counts, schema, Transform output, hyperparameters, output directories, data accessor).
# Why: the head trainer keeps exactly TFX's reading but runs its own training instead of a
# user `run_fn`. May break: TFX after 1.16 (see docs/tfx-1.21.md).
def fn_args(executor: Any, input_dict: Any, output_dict: Any, exec_properties: Any) -> Any:
    """`executor._GetFnArgs(...)`: the trainer's `FnArgs` (a TFX `GenericExecutor`)."""
    return executor._GetFnArgs(input_dict, output_dict, exec_properties)  # noqa: SLF001


def _has_get_fn_args() -> bool:
    from tfx.components.trainer import executor

    method = getattr(executor.GenericExecutor, "_GetFnArgs", None)
    return method is not None and list(inspect.signature(method).parameters)[1:] == [
        "input_dict",
        "output_dict",
        "exec_properties",
    ]


# --- tfx BaseBeamExecutor._beam_pipeline_args (tfx.dsl.components.base) ---
# What: the Beam arguments the orchestrator gave the executor (`with_beam_pipeline_args`),
# with TFX's dependency flags added. Why: the head evaluator runs its own Beam pipeline
# (`tfx_heads.components.evaluator.runner.evaluate`) with them; TFX offers no public accessor. May
# break: TFX after 1.16.
def beam_pipeline_args(executor: Any) -> list[str]:
    """The Beam arguments of a TFX Beam executor (empty when none were given)."""
    return list(executor._beam_pipeline_args or [])  # noqa: SLF001


def _has_beam_pipeline_args() -> bool:
    from tfx.components.evaluator import executor  # the Beam executor the evaluator extends

    return hasattr(executor.Executor(), "_beam_pipeline_args")


# --- keras.layers.Layer._flatten_layers ---
# What: every layer of a model, nested ones included. Why: when `jit_compile=True` is asked
# for but Keras runs uncompiled, the trainer names the layers that do not support XLA; this
# is the walk Keras's own `model_supports_jit` makes. May break: Keras after 3.12.
def layers_without_xla(model: Any) -> list[str]:
    """Sorted class names of the layers of `model` whose `supports_jit` is False."""
    return sorted(
        {type(layer).__name__ for layer in model._flatten_layers() if not layer.supports_jit}  # noqa: SLF001
    )


def _has_flatten_layers() -> bool:
    import keras

    return callable(getattr(keras.layers.Layer, "_flatten_layers", None))


# --- the TFX environment switch UNSUPPORTED_DO_NOT_PACKAGE_USER_MODULES ---
# What: an environment variable TFX reads when a Trainer is constructed
# (`tfx.components.util.udf_utils`). Why: set, the module file stays a path (inside the
# container image) instead of its folder being packaged into a wheel under the pipeline root
# at compile time. May break: TFX after 1.16 (TFX names it unsupported).
_NO_PACKAGING_ENV = "UNSUPPORTED_DO_NOT_PACKAGE_USER_MODULES"


@contextlib.contextmanager
def user_module_packaging_disabled() -> Iterator[None]:
    """Keeps module files as paths while the pipeline's components are built."""
    previous = os.environ.get(_NO_PACKAGING_ENV)
    os.environ[_NO_PACKAGING_ENV] = "1"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[_NO_PACKAGING_ENV]
        else:
            os.environ[_NO_PACKAGING_ENV] = previous


def _reads_no_packaging_env() -> bool:
    from tfx.components.util import udf_utils

    return _NO_PACKAGING_ENV in inspect.getsource(udf_utils)


PRIVATE_APIS = (
    PrivateApi("tfx GenericExecutor._GetFnArgs", "TFX after 1.16", _has_get_fn_args),
    PrivateApi(
        "tfx BaseBeamExecutor._beam_pipeline_args", "TFX after 1.16", _has_beam_pipeline_args
    ),
    PrivateApi("keras.layers.Layer._flatten_layers", "Keras after 3.12", _has_flatten_layers),
    PrivateApi(
        f"the TFX environment switch {_NO_PACKAGING_ENV}",
        "TFX after 1.16",
        _reads_no_packaging_env,
    ),
)
