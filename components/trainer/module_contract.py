"""Load the user module of a `HeadTrainer` and check it against the contract.

The contract (the `HeadTrainer` docstring has the full text):

| attribute | required | form |
|---|---|---|
| `build_model(hparams)` | yes | returns `(logits_model, head)`: `keras.Model`, `heads.Head` |
| `LABEL_KEYS` | yes | a feature name (one head), or head name to feature name (a MultiHead) |
| `RAW_LABEL_KEYS` | no | the same, in the raw examples when Transform renames labels |
| `SERVING_FEATURE_KEYS` | no | the raw features that the serving signatures parse |
| `build_optimizer(hparams)` | no | returns a `keras.optimizers.Optimizer` |

Errors name the module and the attribute, in the form "Invalid `LABEL_KEYS` in user module
'...': expected <what>; received <value>."
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

import keras
import tensorflow as tf
from absl import logging
from tfx.components.util import udf_utils

import heads
from heads.keras_model import dict_inputs
from tfx_heads.components import compat
from tfx_heads.components.trainer import constants
from tfx_heads.components.trainer.options import TrainerOptions

LabelKeys = str | dict[str, str]


@dataclasses.dataclass(frozen=True)
class UserModule:
    """The parts of a user module that the trainer uses.

    Attributes:
        source: the module file or module path, for messages.
        build_model: `build_model(hparams) -> (logits_model, head)`.
        label_keys: label feature(s) in the training examples.
        raw_label_keys: label feature(s) in the raw examples (stored with the model for
            evaluators, and left out of the serving features).
        serving_feature_keys: raw features the serving signatures parse; None for the default.
        build_optimizer: `build_optimizer(hparams) -> keras.optimizers.Optimizer`, or None.
    """

    source: str
    build_model: Callable[[dict[str, Any]], Any]
    label_keys: LabelKeys
    raw_label_keys: LabelKeys
    serving_feature_keys: tuple[str, ...] | None
    build_optimizer: Callable[[dict[str, Any]], Any] | None

    def error(self, attribute: str, expected: str, received: Any) -> str:
        """An error message naming this module and `attribute`."""
        return contract_error(self.source, attribute, expected, received)


def contract_error(source: str, attribute: str, expected: str, received: Any) -> str:
    """The message "Invalid `<attribute>` in user module '<source>': expected ...; received ..."."""
    return (
        f"Invalid `{attribute}` in user module {source!r}: expected {expected}; "
        f"received {received}."
    )


def load_user_module(exec_properties: Mapping[str, Any]) -> UserModule:
    """Imports the module named by `module_file` or `module_path` and reads its attributes.

    Args:
        exec_properties: the component's execution properties.

    Raises:
        ValueError: if neither `module_file` nor `module_path` is set, or an attribute is
            missing or has an invalid value.
        TypeError: if an attribute has the wrong type.
        ImportError: if the module cannot be imported.
    """
    source = exec_properties.get(constants.MODULE_PATH_KEY) or exec_properties.get(
        constants.MODULE_FILE_KEY
    )
    if not source:
        raise ValueError(
            "Invalid `module_file`: expected the path of the user module; received "
            f"{exec_properties.get(constants.MODULE_FILE_KEY)!r}."
        )
    return read_user_module(_import(exec_properties, source), source)


def read_user_module(module: ModuleType, source: str) -> UserModule:
    """Reads and checks the contract's attributes of an imported `module`.

    Raises:
        ValueError, TypeError: as `load_user_module`.
    """
    build_model = _module_function(
        module,
        source,
        constants.BUILD_MODEL_FN,
        "a function build_model(hparams) -> (logits_model, head)",
        required=True,
    )
    build_optimizer = _module_function(
        module,
        source,
        constants.BUILD_OPTIMIZER_FN,
        "a function build_optimizer(hparams) -> keras.optimizers.Optimizer",
        required=False,
    )
    label_keys, raw_label_keys = _module_label_keys(module, source)
    serving_keys = _serving_feature_keys(module, source)
    return UserModule(
        source, build_model, label_keys, raw_label_keys, serving_keys, build_optimizer
    )


def _module_function(
    module: ModuleType, source: str, attribute: str, expected: str, *, required: bool
) -> Callable[[dict[str, Any]], Any] | None:
    """The module's function `attribute`, or None for an optional one it does not define.

    Raises:
        ValueError: if a required function is not defined.
        TypeError: if the attribute is not callable.
    """
    function = getattr(module, attribute, None)
    if function is None and required:
        raise ValueError(contract_error(source, attribute, expected, _undefined(attribute)))
    if function is not None and not callable(function):
        raise TypeError(contract_error(source, attribute, expected, _type_summary(function)))
    return function


def _module_label_keys(module: ModuleType, source: str) -> tuple[LabelKeys, LabelKeys]:
    """The module's `LABEL_KEYS` and `RAW_LABEL_KEYS` (the former when it does not set them).

    Raises:
        ValueError: if the module defines no `LABEL_KEYS`.
        TypeError: if either has the wrong form.
    """
    if not hasattr(module, constants.LABEL_KEYS_ATTR):
        raise ValueError(
            contract_error(
                source,
                constants.LABEL_KEYS_ATTR,
                "the label feature name (one head) or a dict of head name to label feature",
                _undefined(constants.LABEL_KEYS_ATTR),
            )
        )
    label_keys = _label_keys(source, constants.LABEL_KEYS_ATTR, module.LABEL_KEYS)
    if getattr(module, constants.RAW_LABEL_KEYS_ATTR, None) is None:
        return label_keys, label_keys
    return label_keys, _label_keys(source, constants.RAW_LABEL_KEYS_ATTR, module.RAW_LABEL_KEYS)


def _serving_feature_keys(module: ModuleType, source: str) -> tuple[str, ...] | None:
    """The module's `SERVING_FEATURE_KEYS` as a tuple, or None when it does not set them.

    Raises:
        TypeError: if they are not a non-empty list of non-empty feature names.
    """
    serving_keys = getattr(module, constants.SERVING_FEATURE_KEYS_ATTR, None)
    if serving_keys is None:
        return None
    if (
        isinstance(serving_keys, str)
        or not isinstance(serving_keys, Sequence)
        or not serving_keys
        or not all(isinstance(key, str) and key for key in serving_keys)
    ):
        raise TypeError(
            contract_error(
                source,
                constants.SERVING_FEATURE_KEYS_ATTR,
                "a non-empty list of feature names",
                repr(serving_keys),
            )
        )
    return tuple(serving_keys)


def _undefined(attribute: str) -> str:
    """What an error received for an attribute the module does not define."""
    return f"nothing (the module defines no {attribute})"


def build_model(user_module: UserModule, hparams: dict[str, Any]) -> tuple[keras.Model, heads.Head]:
    """Calls the module's `build_model` and checks its result against the label keys.

    Raises:
        TypeError: if `build_model` does not return `(keras.Model, heads.Head)`.
        ValueError: if the label keys do not match the head, or name a model input.
    """
    result = user_module.build_model(hparams)
    if (
        not isinstance(result, tuple)
        or len(result) != 2
        or not isinstance(result[0], keras.Model)
        or not isinstance(result[1], heads.Head)
    ):
        raise TypeError(
            user_module.error(
                constants.BUILD_MODEL_FN,
                "a function returning (keras.Model, heads.Head)",
                f"a call that returned {_type_summary(result)}",
            )
        )
    logits_model, head = result
    for attribute, keys in (
        (constants.LABEL_KEYS_ATTR, user_module.label_keys),
        (constants.RAW_LABEL_KEYS_ATTR, user_module.raw_label_keys),
    ):
        check_label_keys(user_module, attribute, keys, head)
    _check_labels_are_not_model_inputs(user_module, logits_model)
    _check_serving_keys_have_no_labels(user_module)
    return logits_model, head


def _check_labels_are_not_model_inputs(user_module: UserModule, logits_model: keras.Model) -> None:
    """A label the logits model also takes as input would leak the answer into training."""
    inputs = model_input_names(logits_model)
    leaked = sorted(set(label_key_list(user_module.label_keys)) & set(inputs or ()))
    if leaked:
        raise ValueError(
            user_module.error(
                constants.LABEL_KEYS_ATTR,
                "label features that are not inputs of the logits model",
                f"{leaked}, which the model also takes as inputs",
            )
        )


def _check_serving_keys_have_no_labels(user_module: UserModule) -> None:
    """Serving requests carry no labels: `serving_feature_keys` may not name one."""
    if user_module.serving_feature_keys is None:
        return
    raw_labels = set(label_key_list(user_module.raw_label_keys))
    served_labels = sorted(raw_labels & set(user_module.serving_feature_keys))
    if served_labels:
        raise ValueError(
            user_module.error(
                constants.SERVING_FEATURE_KEYS_ATTR,
                "features that serving requests carry, without labels",
                f"label features {served_labels}",
            )
        )


def check_label_keys(
    user_module: UserModule, attribute: str, keys: LabelKeys, head: heads.Head
) -> None:
    """Checks that `keys` has the form `head` needs (see the module docstring).

    Raises:
        ValueError: a string for a MultiHead, a dict for another head, or a dict whose keys
            are not exactly the sub-head names.
        TypeError: a head class of its own, which `heads.describe` cannot describe.
    """
    description = heads.describe(head)
    if description.sub_heads:
        names = sorted(sub_head.name for sub_head in description.sub_heads)
        if not isinstance(keys, dict) or sorted(keys) != names:
            raise ValueError(
                user_module.error(
                    attribute, f"a dict with exactly the MultiHead's head names {names}", repr(keys)
                )
            )
    elif not isinstance(keys, str):
        raise ValueError(
            user_module.error(
                attribute, f"one label feature name for the {description.head_type}", repr(keys)
            )
        )


def label_key_list(keys: LabelKeys) -> list[str]:
    """The label feature names of `keys` (a string or a dict of them)."""
    return [keys] if isinstance(keys, str) else list(keys.values())


def model_input_names(logits_model: keras.Model) -> list[str] | None:
    """The input names of a functional model with dict inputs; None for other models."""
    model_input = dict_inputs(logits_model)
    return None if model_input is None else sorted(model_input)


def _label_keys(source: str, attribute: str, value: Any) -> LabelKeys:
    if isinstance(value, str) and value:
        return value
    if (
        isinstance(value, Mapping)
        and value
        and all(isinstance(k, str) and isinstance(v, str) and k and v for k, v in value.items())
    ):
        return dict(value)
    raise TypeError(
        contract_error(
            source,
            attribute,
            "a label feature name or a non-empty dict of head name to label feature name",
            repr(value),
        )
    )


def _import(exec_properties: Mapping[str, Any], source: str) -> ModuleType:
    """The user module, imported the way TFX's Trainer imports it (file, path or wheel)."""
    try:
        # TFX's loader returns a module attribute; the module's own name finds the module.
        module_name = udf_utils.get_fn(dict(exec_properties), "__name__")
    except Exception as error:  # any failure while importing user code
        raise ImportError(
            "Invalid `module_file`: expected an importable Python module; received "
            f"{source!r} ({type(error).__name__}: {error})."
        ) from error
    return sys.modules[module_name]


def _type_summary(value: Any) -> str:
    """What a contract error says it received: the type (and repr) of `value`, or of the
    items of a tuple."""
    if value is None:
        return "None"
    if isinstance(value, tuple):
        return "(" + ", ".join(type(item).__name__ for item in value) + ")"
    return f"{type(value).__name__} {value!r}"[:200]


def build_head_model(
    user_module: UserModule,
    hparams: dict[str, Any],
    options: TrainerOptions,
    strategy: tf.distribute.Strategy,
) -> heads.HeadModel:
    """The user's logits model and head as a compiled `HeadModel`, built in `strategy`'s scope.

    Its layers, metrics and optimizer variables all exist when this returns.
    """
    with strategy.scope():
        logits_model, head = build_model(user_module, hparams)
        model = heads.HeadModel(logits_model, head)
        model.compile(
            optimizer=build_optimizer(user_module, hparams),
            steps_per_execution=options.steps_per_execution,
            jit_compile="auto" if options.jit_compile is None else options.jit_compile,
        )
    if options.jit_compile and not model.jit_compile:
        unsupported = compat.layers_without_xla(model)
        logging.warning(
            "HeadTrainer: jit_compile=True, but Keras runs the steps uncompiled: the layers "
            "%s do not support XLA. Move them into the input pipeline (Transform) to compile.",
            unsupported,
        )
    return model


def build_optimizer(user_module: UserModule, hparams: dict[str, Any]) -> Any:
    """The module's `build_optimizer(hparams)`, else Adam at `hparams['learning_rate']`.

    Raises:
        TypeError: if the module's function returns something else than a Keras optimizer.
    """
    if user_module.build_optimizer is None:
        return keras.optimizers.Adam(
            learning_rate=hparams.get("learning_rate", constants.DEFAULT_LEARNING_RATE)
        )
    optimizer = user_module.build_optimizer(hparams)
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(
            user_module.error(
                constants.BUILD_OPTIMIZER_FN,
                "a function returning a keras.optimizers.Optimizer",
                f"a call that returned {type(optimizer).__name__}",
            )
        )
    return optimizer
