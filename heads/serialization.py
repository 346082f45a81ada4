"""JSON form of heads: `serialize(head)` and `deserialize(obj)`.

The form is `{"class_name": <head class name>, "config": {<constructor arguments>}}`:

* the config holds the constructor arguments by name; arguments left at their default
  are omitted; tuples are written as lists;
* a `MultiHead` config is `{"heads": [<head JSON>, ...], "head_weights": [...]}`;
* a `loss_fn` (or `inverse_link_fn`) is written `"registry:NAME"` with NAME =
  `keras.saving.get_registered_name(fn)` (`"package>name"` for a function registered
  with `keras.saving.register_keras_serializable`, else its `__name__`). `deserialize`
  resolves NAME from `custom_objects` first, then from the functions registered with
  Keras (including a `keras.saving.custom_object_scope`); otherwise it raises a
  `ValueError` naming NAME;
* a `weight_column` string stays a string; a `tf.feature_column.numeric_column` is
  written as its key, unless it has a `normalizer_fn` (a `ValueError` at serialize time).

`class_name` is looked up in `custom_objects`, then among this package's head classes
(`base_head.HEAD_CLASSES`, which each class joins as it is defined; so this module imports
no concrete head, and `MultiHead` can use it to serialize its sub-heads).

The result is JSON-serializable and `serialize(deserialize(obj)) == obj` for any `obj`
that `serialize` produced.

Example:

>>> from heads.binary_class_head import BinaryClassHead
>>> serialize(BinaryClassHead(thresholds=(0.5,), name="ctr"))
{'class_name': 'BinaryClassHead', 'config': {'thresholds': [0.5], 'name': 'ctr'}}
>>> deserialize({"class_name": "BinaryClassHead", "config": {"name": "ctr"}}).name
'ctr'
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import heads
from heads.base_head import HEAD_CLASSES, Head

__all__ = ["deserialize", "serialize"]


def serialize(head: Head) -> dict:
    """Returns the JSON form `{"class_name": ..., "config": {...}}` of a head.

    Args:
        head: a head implementing `get_config()`.

    Returns:
        JSON-serializable dict.

    Raises:
        TypeError: `head` is not a `Head`.
        ValueError: an argument cannot be serialized (a lambda `loss_fn`, a weight column
            with a `normalizer_fn`, ...).
    """
    if not isinstance(head, Head):
        raise TypeError(f"Invalid `head`: expected a heads.Head; received {type(head)}.")
    return {"class_name": type(head).__name__, "config": head.get_config()}


def deserialize(obj: Mapping[str, Any], custom_objects: Mapping[str, Any] | None = None) -> Head:
    """Builds a head from its JSON form.

    Args:
        obj: dict with `"class_name"` and `"config"`, as returned by `serialize`.
        custom_objects: dict from name to object: functions for `"registry:NAME"` values
            (keyed by NAME), and head classes not defined in `heads` (keyed by class
            name).

    Returns:
        A new head.

    Raises:
        ValueError: malformed `obj`, unknown class name, or an unresolvable
            `"registry:NAME"`. The head's constructor raises for invalid arguments.
    """
    if not isinstance(obj, Mapping) or "class_name" not in obj:
        raise ValueError(
            f"Invalid head JSON: expected a dict with 'class_name' and 'config'; received {obj!r}."
        )
    class_name = obj["class_name"]
    cls = (custom_objects or {}).get(class_name) or _head_class(class_name)
    if not (isinstance(cls, type) and issubclass(cls, Head)) or inspect.isabstract(cls):
        raise ValueError(
            f"Unknown head class_name {class_name!r}: expected one of "
            f"{_built_in_names()} or a Head subclass passed in custom_objects."
        )
    config = obj.get("config") or {}
    if not isinstance(config, Mapping):
        raise ValueError(f"Invalid head JSON: 'config' must be a dict; received {config!r}.")
    return cls.from_config(config, custom_objects=custom_objects)


def _head_class(class_name: str) -> type[Head] | None:
    """The head class of this package named `class_name` (importing its module through the
    package's public names registers it), or None."""
    if class_name not in HEAD_CLASSES and class_name in heads.__all__:
        getattr(heads, class_name)
    return HEAD_CLASSES.get(class_name)


def _built_in_names() -> list[str]:
    """The names of the concrete head classes of this package (for error messages)."""
    for name in heads.__all__:
        getattr(heads, name)
    return sorted(name for name, cls in HEAD_CLASSES.items() if not inspect.isabstract(cls))
