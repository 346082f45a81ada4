"""Encoding of head constructor arguments as JSON config values, and back.

Rules (see `heads.serialize` / `heads.deserialize`):

* Arguments equal to their default are left out of the config.
* Tuples become lists.
* A callable (`loss_fn`, `inverse_link_fn`) becomes the string `"registry:NAME"`, where
  NAME is `keras.saving.get_registered_name(fn)`: `"package>name"` for a function
  registered with `keras.saving.register_keras_serializable`, else the function's
  `__name__`. Lambdas and callables without a `__name__` cannot be serialized.
* `"registry:NAME"` is resolved from `custom_objects[NAME]` first, then from Keras'
  registry (`keras.saving.get_registered_object(NAME)`, which also sees
  `keras.saving.custom_object_scope`). Anything else is a `ValueError` naming NAME.
* A `weight_column` string stays a string; a `tf.feature_column.numeric_column` becomes
  its key when it has no `normalizer_fn` (a normalizer cannot be serialized).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import keras

from heads import _weights

REGISTRY_PREFIX = "registry:"


def to_json_value(value: Any) -> Any:
    """Returns `value` with tuples turned into lists (recursively)."""
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    return value


def callable_to_config(fn: Callable | None, arg_name: str) -> str | None:
    """Returns `"registry:NAME"` for a callable argument (None stays None).

    Raises:
        ValueError: `fn` has no usable name (lambda, callable object, legacy adapter).
    """
    if fn is None:
        return None
    reason = getattr(fn, "serialization_error", None)
    if reason:
        raise ValueError(f"Cannot serialize `{arg_name}`: {reason}")
    if getattr(fn, "__name__", None) in (None, "<lambda>"):
        raise ValueError(
            f"Cannot serialize `{arg_name}`: expected a named function; received {fn!r}. "
            "Define it with `def` (optionally registered with "
            "keras.saving.register_keras_serializable) so it can be resolved by name."
        )
    return REGISTRY_PREFIX + keras.saving.get_registered_name(fn)


def callable_from_config(
    value: Any, arg_name: str, custom_objects: Mapping[str, Any] | None = None
) -> Callable | None:
    """Resolves a `"registry:NAME"` config value to a function (callables pass through).

    Raises:
        ValueError: `value` is not a callable, None or a `"registry:NAME"` string, or
            NAME is neither in `custom_objects` nor registered with Keras.
    """
    if value is None or callable(value):
        return value
    if not isinstance(value, str) or not value.startswith(REGISTRY_PREFIX):
        raise ValueError(
            f"Invalid `{arg_name}` in config: expected a string 'registry:NAME'; "
            f"received {value!r}."
        )
    name = value[len(REGISTRY_PREFIX) :]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    fn = keras.saving.get_registered_object(name)
    if fn is None:
        raise ValueError(
            f"Cannot resolve `{arg_name}` {value!r}: no function named {name!r} in "
            "custom_objects and none registered with "
            f"keras.saving.register_keras_serializable. Pass custom_objects={{{name!r}: fn}}."
        )
    return fn


def weight_column_to_config(weight_column: Any) -> str | None:
    """Returns the feature name of a weight column (None stays None).

    Raises:
        ValueError: a NumericColumn with a `normalizer_fn`.
        TypeError: neither a string nor a NumericColumn.
    """
    if weight_column is None or isinstance(weight_column, str):
        return weight_column
    if _weights.is_numeric_column(weight_column):
        if weight_column.normalizer_fn is not None:
            raise ValueError(
                "Cannot serialize `weight_column`: expected a feature name or a "
                "numeric_column without normalizer_fn; received numeric_column "
                f"{weight_column.key!r} with normalizer_fn {weight_column.normalizer_fn!r}. "
                "Normalize the weight feature in the input pipeline instead."
            )
        return weight_column.key
    raise TypeError(
        "Cannot serialize `weight_column`: expected a string or NumericColumn; "
        f"received {type(weight_column)}."
    )


def drop_defaults(cls: type, values: Mapping[str, Any]) -> dict:
    """Returns the JSON form of `values` without entries equal to `cls.__init__` defaults.

    Args:
        cls: head class whose constructor defines the defaults.
        values: constructor argument name to value (already encoded).
    """
    parameters = inspect.signature(cls.__init__).parameters
    config = {}
    for name, value in values.items():
        default = parameters[name].default
        if default is not inspect.Parameter.empty and value == default:
            continue
        config[name] = to_json_value(value)
    return config


def resolve_callables(
    config: Mapping[str, Any], names: tuple[str, ...], custom_objects: Mapping | None
) -> dict:
    """Returns a copy of `config` with the callable arguments `names` resolved."""
    config = dict(config)
    for name in names:
        if name in config:
            config[name] = callable_from_config(config[name], name, custom_objects)
    return config
