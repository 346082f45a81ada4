"""What each head reads from an example: the `InputSpec` of an evaluation.

`build_input_spec` turns a head's description (`heads.describe`; a single head or a
MultiHead), its label keys, optional logits features and the slice features into one
`HeadInput` per single head, deciding how each label is stored (`LabelFormat`) from the head
and the stored feature types:

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
from typing import Literal

import tensorflow as tf

from heads.description import HeadDescription, HeadKind, per_head
from heads.stats.metric_keys import suffixed
from tfx_heads.components.evaluator.example_inputs import TF_DTYPES, FeatureType

LabelFormat = Literal["value", "class_ids", "class_names", "multi_hot"]
"""How labels are stored: `value` (numbers: one per example, or `label_dimension` for
regression), `class_ids` (int64 ids: one per example, or a list for multi-label),
`class_names` (vocabulary strings: one, or a list for multi-label) and `multi_hot` (a list of
`n_classes` indicators in [0, 1]; multi-label only)."""

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
        head: the single head's description (`heads.describe`).
        label_key: the feature holding the labels.
        label_format: how the labels are stored (see `LabelFormat`).
        logits_key: the feature holding logits (evaluating without a model), or None.
    """

    head: HeadDescription
    label_key: str
    label_format: LabelFormat
    logits_key: str | None = None

    @property
    def name(self) -> str | None:
        """The head name (None for an unnamed single head)."""
        return self.head.name

    @property
    def kind(self) -> HeadKind:
        return self.head.kind

    @property
    def n_classes(self) -> int | None:
        """Number of classes (2 for binary; None for regression)."""
        return self.head.n_classes

    @property
    def vocabulary(self) -> tuple[str, ...] | None:
        return self.head.label_vocabulary

    @property
    def weight_key(self) -> str | None:
        return self.head.weight_key

    @property
    def logits_dimension(self) -> int:
        return self.head.logits_dimension

    @property
    def label_dimension(self) -> int:
        """Values per example of a `value` label (regression outputs; 1 otherwise)."""
        return self.head.label_dimension or 1

    @property
    def subject(self) -> str:
        """`head 'name'`, or `the head` when unnamed (for messages)."""
        return self.head.subject

    def reason(self, reason: str) -> str:
        """A rejection reason about this head: `reason/<head name>` (bare when unnamed)."""
        return suffixed(reason, self.name)


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """Every feature the evaluator parses, and how.

    Attributes:
        head: the evaluated head's description (a single head or a MultiHead).
        heads: one `HeadInput` per single head, in head order.
        slice_keys: the features the slices read.
        feature_types: stored type of every label, weight, logits and slice feature.
    """

    head: HeadDescription
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


def build_input_spec(
    head: HeadDescription,
    label_keys: str | Mapping[str, str],
    logits_keys: str | Mapping[str, str] | None,
    slice_keys: Sequence[str],
    feature_types: Mapping[str, FeatureType],
    multi_hot_keys: Sequence[str] = (),
    label_formats: str | Mapping[str, str] | None = None,
) -> InputSpec:
    """Builds the `InputSpec` of an evaluation.

    Args:
        head: the description of a single head or a MultiHead.
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
    heads = head.single_heads
    labels = per_head(label_keys, heads, "label_keys", required=True)
    logits = per_head(logits_keys, heads, "logits_keys", required=logits_keys is not None)
    formats = per_head(label_formats, heads, "label_formats", required=False)
    types = dict(feature_types)
    inputs = tuple(
        _head_input(
            single,
            labels[single.name],
            formats.get(single.name),
            logits.get(single.name),
            types,
            labels[single.name] in multi_hot_keys,
        )
        for single in heads
    )
    for key in slice_keys:
        types.setdefault(key, "bytes")
    used = {key for i in inputs for key in (i.label_key, i.weight_key, i.logits_key) if key}
    used.update(slice_keys)
    return InputSpec(
        head=head,
        heads=inputs,
        slice_keys=tuple(slice_keys),
        feature_types={key: types[key] for key in sorted(used)},
    )


def _head_input(
    head: HeadDescription,
    label_key: str,
    label_format: LabelFormat | None,
    logits_key: str | None,
    types: dict[str, FeatureType],
    multi_hot: bool,
) -> HeadInput:
    """One single head's `HeadInput`: its label format (given, or inferred from the stored
    type), checked; `types` gets the type implied for features the data sample lacked."""
    stored = types.get(label_key)
    label_format = label_format or _default_format(head, stored, multi_hot)
    _check_format(head, label_key, label_format, stored)
    types.setdefault(label_key, "bytes" if label_format == "class_names" else _numeric(head))
    for key, what in ((head.weight_key, "weight"), (logits_key, "logits")):
        if key is not None and types.setdefault(key, "float") == "bytes":
            raise ValueError(
                f"Invalid {what} feature {key!r} of {head.subject}: expected int64 or float "
                "values; received bytes."
            )
    return HeadInput(head, label_key, label_format, logits_key)


def _numeric(head: HeadDescription) -> FeatureType:
    return "float" if head.kind == "regression" else "int64"


def _default_format(head: HeadDescription, stored: str | None, multi_hot: bool) -> LabelFormat:
    kind, vocabulary = head.kind, head.label_vocabulary
    if stored == "bytes" or (stored is None and vocabulary is not None and kind != "regression"):
        return "class_names"
    if kind in ("binary", "regression"):
        return "value"
    if kind == "multi_label" and (stored == "float" or multi_hot):
        return "multi_hot"
    return "class_ids"


def _check_format(head: HeadDescription, key: str, label_format: str, stored: str | None) -> None:
    if label_format not in _KIND_FORMATS[head.kind]:
        raise ValueError(
            f"Invalid label format of {head.subject}: expected one of "
            f"{list(_KIND_FORMATS[head.kind])}; received {label_format!r}."
        )
    if stored is not None and stored not in _FORMAT_TYPES[label_format]:
        raise ValueError(
            f"Invalid label feature {key!r} of {head.subject}: expected "
            f"{' or '.join(_FORMAT_TYPES[label_format])} values for {label_format} labels; "
            f"received {stored} values."
        )
    if label_format == "class_names" and head.label_vocabulary is None:
        raise ValueError(
            f"Invalid label feature {key!r} of {head.subject}: expected numeric labels "
            "(the head has no label_vocabulary); received strings. Give the head a "
            "label_vocabulary to use string labels."
        )
