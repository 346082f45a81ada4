"""What each head reads from an example: the `InputSpec` of an evaluation.

`build_input_spec` turns a head (a single head or a MultiHead), its label keys, optional
logits features and the slice features into one `HeadInput` per single head, deciding how
each label is stored (`LabelFormat`) from the head and the stored feature types:

| head | stored type | label format |
|---|---|---|
| BinaryClassHead | int64 or float | `value` (0/1, or soft labels in [0, 1]) |
| BinaryClassHead with vocabulary | bytes | `class_names` |
| MultiClassHead | int64 | `class_ids` in `[0, n_classes)` |
| MultiClassHead with vocabulary | bytes (or int64 ids) | `class_names` (`class_ids`) |
| MultiLabelHead | float | `multi_hot` (`n_classes` values in [0, 1]) |
| MultiLabelHead | int64 | `multi_hot` or `class_ids` (lists of ids), see below |
| MultiLabelHead with vocabulary | bytes | `class_names` (a variable-length list) |
| regression heads | int64 or float | `value` (`label_dimension` values) |

An int64 multi-label feature is read as `multi_hot` when every sampled example holds
exactly `n_classes` values in {0, 1}, else as variable-length lists of class ids.
`label_formats` overrides the inferred format of a head (for example `class_ids` for an int64
multi-label feature whose sampled lists happen to look multi-hot).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import tensorflow as tf

from components.evaluator.example_inputs import TF_DTYPES, FeatureType
from heads.binary_class_head import BinaryClassHead
from heads.multi_class_head import MultiClassHead
from heads.multi_head import MultiHead
from heads.multi_label_head import MultiLabelHead
from heads.regression_head import RegressionHead
from heads.stats.metric_keys import suffixed

HeadKind = Literal["binary", "multi_class", "multi_label", "regression"]
LabelFormat = Literal["value", "class_ids", "class_names", "multi_hot"]
"""How labels are stored: `value` (numbers: one per example, or `label_dimension` for
regression), `class_ids` (int64 ids: one per example, or a list for multi-label),
`class_names` (vocabulary strings: one, or a list for multi-label) and `multi_hot` (a list of
`n_classes` indicators in [0, 1]; multi-label only)."""

LABEL_FORMATS = ("value", "class_ids", "class_names", "multi_hot")
_FORMAT_TYPES: dict[str, tuple[str, ...]] = {
    "value": ("int64", "float"),
    "class_ids": ("int64",),
    "class_names": ("bytes",),
    "multi_hot": ("int64", "float"),
}
_KIND_FORMATS: dict[str, tuple[str, ...]] = {
    "binary": ("value", "class_names"),
    "multi_class": ("class_ids", "class_names"),
    "multi_label": ("multi_hot", "class_ids", "class_names"),
    "regression": ("value",),
}


@dataclasses.dataclass(frozen=True)
class HeadInput:
    """What one head (or one sub-head of a MultiHead) reads from an example.

    Attributes:
        name: the head name (None for an unnamed single head).
        kind: the head's task.
        label_key: the feature holding the labels.
        label_format: how the labels are stored (see `LabelFormat`).
        label_dimension: values per example of a `value` label (regression outputs; 1
            otherwise).
        n_classes: number of classes (2 for binary; None for regression).
        vocabulary: the head's `label_vocabulary`, or None.
        weight_key: the feature holding example weights (`weight_column`), or None.
        logits_dimension: the head's `logits_dimension`.
        logits_key: the feature holding logits (evaluating without a model), or None.
    """

    name: str | None
    kind: HeadKind
    label_key: str
    label_format: LabelFormat
    label_dimension: int
    n_classes: int | None
    vocabulary: tuple[str, ...] | None
    weight_key: str | None
    logits_dimension: int
    logits_key: str | None = None

    def reason(self, reason: str) -> str:
        """A rejection reason about this head: `reason/<head name>` (bare when unnamed)."""
        return suffixed(reason, self.name)

    @property
    def description(self) -> str:
        """`head 'name'`, or `the head` when unnamed (for messages)."""
        return "the head" if self.name is None else f"head {self.name!r}"


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """Every feature the evaluator parses, and how.

    Attributes:
        heads: one `HeadInput` per single head, in head order.
        slice_keys: the features the slices read.
        feature_types: stored type of every label, weight, logits and slice feature.
    """

    heads: tuple[HeadInput, ...]
    slice_keys: tuple[str, ...]
    feature_types: Mapping[str, FeatureType]

    def feature_spec(self) -> dict[str, tf.io.RaggedFeature]:
        """The `tf.io.parse_example` spec: one ragged feature per key, so that missing
        features and lists of any length never fail a batch."""
        return {
            key: tf.io.RaggedFeature(TF_DTYPES[self.feature_types[key]], row_splits_dtype=tf.int64)
            for key in sorted(self.feature_types)
        }


def single_heads(head: Any) -> tuple[Any, ...]:
    """The single heads of `head`: its sub-heads for a MultiHead, else `(head,)`."""
    return tuple(head.heads) if isinstance(head, MultiHead) else (head,)


def head_kind(head: Any) -> HeadKind:
    """The task of a single head.

    Raises:
        TypeError: for a head of none of the estimator head types.
    """
    for cls, kind in (
        (BinaryClassHead, "binary"),
        (MultiClassHead, "multi_class"),
        (MultiLabelHead, "multi_label"),
        (RegressionHead, "regression"),
    ):
        if isinstance(head, cls):
            return kind  # type: ignore[return-value]
    raise TypeError(
        "Invalid `head`: expected a BinaryClassHead, MultiClassHead, MultiLabelHead, a "
        f"regression head or a MultiHead of them; received {type(head).__name__}."
    )


def per_head(value: Any, heads: Sequence[Any], arg: str, required: bool) -> dict[Any, Any]:
    """Resolves a per-head argument: one value for a single head, or `{head name: value}`.

    Returns:
        Head name (None for an unnamed single head) to value; heads without a value are
        left out unless `required`.

    Raises:
        ValueError: a single value for several heads, unknown head names, or a required
            head without a value.
    """
    names = [head.name for head in heads]
    if value is None:
        resolved: dict[Any, Any] = {}
    elif isinstance(value, Mapping):
        unknown = sorted(set(value) - set(names), key=str)
        if unknown:
            raise ValueError(
                f"Invalid `{arg}`: expected keys among the head names {names}; received "
                f"{dict(value)!r} (unknown {unknown})."
            )
        resolved = dict(value)
    elif len(heads) == 1:
        resolved = {names[0]: value}
    else:
        raise ValueError(
            f"Invalid `{arg}`: expected one value per head of the MultiHead, as "
            f"{{head name: value}} (CLI: HEAD=VALUE) for heads {names}; received {value!r}."
        )
    missing = [name for name in names if name not in resolved]
    if required and missing:
        raise ValueError(
            f"Invalid `{arg}`: expected a value for every head {names}; missing {missing}."
        )
    return resolved


def weight_key(head: Any) -> str | None:
    """The feature name of a head's `weight_column` (a string or a numeric column)."""
    column = getattr(head, "weight_column", None)
    if column is None or isinstance(column, str):
        return column
    return column.key


def build_input_spec(
    head: Any,
    label_keys: str | Mapping[str, str],
    logits_keys: str | Mapping[str, str] | None,
    slice_keys: Sequence[str],
    feature_types: Mapping[str, FeatureType],
    multi_hot_keys: Sequence[str] = (),
    label_formats: str | Mapping[str, str] | None = None,
) -> InputSpec:
    """Builds the `InputSpec` of an evaluation.

    Args:
        head: a single head or a MultiHead.
        label_keys: the label feature (for a MultiHead, head name to label feature).
        logits_keys: the logits feature (head name to feature for a MultiHead), or None
            when a model computes the logits.
        slice_keys: every feature a slice reads.
        feature_types: stored types found in the data (`example_inputs.feature_types`); features
            not found get the type their use implies.
        multi_hot_keys: int64 label features whose sampled examples all hold `n_classes`
            values in {0, 1} (multi-label heads read them as multi-hot).
        label_formats: format overrides (head name to `LabelFormat`).

    Returns:
        The `InputSpec`.

    Raises:
        ValueError: a missing or unknown per-head value, a label or weight feature whose
            stored type the head cannot use, or an unknown label format.
    """
    heads = single_heads(head)
    labels = per_head(label_keys, heads, "label_keys", required=True)
    logits = per_head(logits_keys, heads, "logits_keys", required=logits_keys is not None)
    formats = per_head(label_formats, heads, "label_formats", required=False)
    types = dict(feature_types)
    inputs = []
    for single in heads:
        kind = head_kind(single)
        vocabulary = getattr(single, "label_vocabulary", None)
        label_key = labels[single.name]
        label_format = formats.get(single.name) or _default_format(
            kind, types.get(label_key), vocabulary, label_key in multi_hot_keys
        )
        _check_format(single, kind, label_key, label_format, types.get(label_key), vocabulary)
        types.setdefault(label_key, "bytes" if label_format == "class_names" else _numeric(kind))
        weights = weight_key(single)
        logits_key = logits.get(single.name)
        for key, what in ((weights, "weight"), (logits_key, "logits")):
            if key is not None and types.setdefault(key, "float") == "bytes":
                raise ValueError(
                    f"Invalid {what} feature {key!r} of {_describe(single)}: expected int64 "
                    "or float values; received bytes."
                )
        inputs.append(
            HeadInput(
                name=single.name,
                kind=kind,
                label_key=label_key,
                label_format=label_format,
                label_dimension=single.logits_dimension if kind == "regression" else 1,
                n_classes=None if kind == "regression" else getattr(single, "n_classes", 2),
                vocabulary=None if vocabulary is None else tuple(vocabulary),
                weight_key=weights,
                logits_dimension=single.logits_dimension,
                logits_key=logits_key,
            )
        )
    for key in slice_keys:
        types.setdefault(key, "bytes")
    used = {key for i in inputs for key in (i.label_key, i.weight_key, i.logits_key) if key}
    used.update(slice_keys)
    return InputSpec(
        heads=tuple(inputs),
        slice_keys=tuple(slice_keys),
        feature_types={key: types[key] for key in sorted(used)},
    )


def _describe(head: Any) -> str:
    return "the head" if head.name is None else f"head {head.name!r}"


def _numeric(kind: str) -> FeatureType:
    return "float" if kind == "regression" else "int64"


def _default_format(kind: str, stored: str | None, vocabulary: Any, multi_hot: bool) -> LabelFormat:
    if stored == "bytes" or (stored is None and vocabulary is not None and kind != "regression"):
        return "class_names"
    if kind in ("binary", "regression"):
        return "value"
    if kind == "multi_label" and (stored == "float" or multi_hot):
        return "multi_hot"
    return "class_ids"


def _check_format(
    head: Any, kind: str, key: str, label_format: str, stored: str | None, vocabulary: Any
) -> None:
    if label_format not in _KIND_FORMATS[kind]:
        raise ValueError(
            f"Invalid label format of {_describe(head)}: expected one of "
            f"{list(_KIND_FORMATS[kind])}; received {label_format!r}."
        )
    if stored is not None and stored not in _FORMAT_TYPES[label_format]:
        raise ValueError(
            f"Invalid label feature {key!r} of {_describe(head)}: expected "
            f"{' or '.join(_FORMAT_TYPES[label_format])} values for {label_format} labels; "
            f"received {stored} values."
        )
    if label_format == "class_names" and vocabulary is None:
        raise ValueError(
            f"Invalid label feature {key!r} of {_describe(head)}: expected numeric labels "
            "(the head has no label_vocabulary); received strings. Give the head a "
            "label_vocabulary to use string labels."
        )
