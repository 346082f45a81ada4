"""One description of a head, for every layer that needs to know what a head is.

`describe(head)` reads a head object once and returns a `HeadDescription`: a small frozen
dataclass of plain values (its task, logits and label shape, classes and vocabulary, weight
feature, built-in loss and link, and the sub-heads of a MultiHead). The statistics
(`heads.stats.stats_for_head`), the evaluator's inputs, batches, plots and writers, the
export signatures, the trainer's input pipeline and the report take a description instead
of inspecting head classes themselves. It pickles cheaply (Beam ships it to workers) and
round-trips through JSON (`to_json`/`from_json`: the evaluator writes it into
`head_config.json`, where the report reads it).

This module imports nothing from TensorFlow, so the NumPy-only `heads.stats` can use it;
each head class builds its own description (`Head._describe`).

>>> head = HeadDescription(kind="binary", head_type="BinaryClassHead", name="ctr",
...                        n_classes=2, thresholds=(0.5,), loss="sigmoid_cross_entropy",
...                        link="sigmoid")
>>> HeadDescription.from_json(head.to_json()) == head
True
>>> [single.name for single in head.single_heads]
['ctr']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from heads.base_head import Head

__all__ = ["HeadDescription", "HeadKind", "LinkKind", "LossKind", "describe", "per_head"]

HeadKind = Literal["binary", "multi_class", "multi_label", "regression", "multi_head"]
"""The task: one of the estimator heads' four, or a MultiHead of them."""

LossKind = Literal[
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
    "squared_error",
    "log_poisson",
    "log_poisson_full",
    "custom",
]
"""The per-example loss: a built-in one (`log_poisson_full` adds the Stirling term of
`PoissonRegressionHead(compute_full_loss=True)`), or `custom`, the user's `loss_fn`, which
only the head object can compute."""

LinkKind = Literal["sigmoid", "softmax", "identity", "exp", "custom"]
"""From logits to predicted values: built in, or `custom`, a regression head's own
`inverse_link_fn`, which only the head object can compute."""


@dataclasses.dataclass(frozen=True)
class HeadDescription:
    """What a head is, as plain values (see the module docstring).

    Attributes:
        kind: the task (`multi_head` for a MultiHead).
        head_type: the head's class name (for messages and titles).
        name: the head name (a MultiHead's: its heads' names joined by `_`).
        logits_dimension: size of the logits' last axis (a MultiHead: the sum).
        label_dimension: values per example of a dense label: 1 for a class id or a binary
            label, `label_dimension` for regression; None for a multi-label head (a row of
            `n_classes` indicators or a variable-length list of ids or names) and a
            MultiHead.
        n_classes: number of classes (2 for binary); None for regression and a MultiHead.
        label_vocabulary: the class names of string labels, or None.
        thresholds: the head's `thresholds` (binary and multi-label; else empty).
        classes_for_class_based_metrics: the class ids a multi-label head computes
            per-class metrics for (empty: none selected, and for every other head).
        weight_key: the feature holding example weights (`weight_column`'s key), or None.
        loss: the per-example loss (None for a MultiHead).
        link: the inverse link (None for a MultiHead).
        sub_heads: a MultiHead's heads, in order (empty for a single head).
        head_weights: a MultiHead's loss weights, or None.
    """

    kind: HeadKind
    head_type: str
    name: str | None = None
    logits_dimension: int = 1
    label_dimension: int | None = 1
    n_classes: int | None = None
    label_vocabulary: tuple[str, ...] | None = None
    thresholds: tuple[float, ...] = ()
    classes_for_class_based_metrics: tuple[int, ...] = ()
    weight_key: str | None = None
    loss: LossKind | None = None
    link: LinkKind | None = None
    sub_heads: tuple[HeadDescription, ...] = ()
    head_weights: tuple[float, ...] | None = None

    # The one place that tells a MultiHead from a single head (`_is_multi_head`):
    # `single_heads` splits a head into the heads that have labels and logits, `by_head` puts
    # per-head values back in the head's own form, `output_name` names a head's outputs.

    @property
    def _is_multi_head(self) -> bool:
        return self.kind == "multi_head"

    @property
    def single_heads(self) -> tuple[HeadDescription, ...]:
        """The sub-heads of a MultiHead, else `(self,)`."""
        return self.sub_heads if self._is_multi_head else (self,)

    def by_head(
        self,
        values: Mapping[str | None, Any],
        combine: Callable[[dict[str | None, Any]], Any] = dict,
    ) -> Any:
        """Per-single-head `values` (keyed by head name) in the head's own form: for a
        MultiHead, `combine` of them (by default the dict, as its labels and predictions),
        for a single head the one value.

        >>> HeadDescription(kind="regression", head_type="RegressionHead").by_head({None: 1})
        1
        """
        return combine(dict(values)) if self._is_multi_head else values[self.name]

    def output_name(self, head_name: str | None) -> str:
        """The output name (TFMA's `output_name`) of the single head `head_name` of this
        head: its name within a MultiHead, whose outputs are per head, `''` for a single
        head (named or not), whose outputs are the model's.

        >>> HeadDescription(kind="binary", head_type="BinaryClassHead", name="ctr").output_name(
        ...     "ctr")
        ''
        """
        return str(head_name) if self._is_multi_head else ""

    @property
    def needs_head_object(self) -> bool:
        """Whether a loss or link (of any sub-head) is the user's own, which only the head
        object computes; every built-in one is known from the description alone."""
        return any("custom" in (head.loss, head.link) for head in self.single_heads)

    @property
    def is_classifier(self) -> bool:
        """Whether the head predicts classes (binary, multi-class or multi-label)."""
        return self.kind in ("binary", "multi_class", "multi_label")

    @property
    def subject(self) -> str:
        """`head 'name'`, or `the head` when unnamed (for messages)."""
        return "the head" if self.name is None else f"head {self.name!r}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable dict (`from_json` reads it back)."""
        document = {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if field.name != "sub_heads"
        }
        document["sub_heads"] = [sub_head.to_json() for sub_head in self.sub_heads]
        return {key: list(v) if isinstance(v, tuple) else v for key, v in document.items()}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> HeadDescription:
        """The description whose `to_json` is `document`.

        Raises:
            ValueError: for a document without `kind` and `head_type`, or with unknown
                fields.
        """
        fields = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(document) - fields)
        if unknown or not {"kind", "head_type"} <= set(document):
            raise ValueError(
                "Invalid head description: expected `kind`, `head_type` and fields among "
                f"{sorted(fields)}; received {sorted(document)}."
            )
        values = {
            key: tuple(value) if isinstance(value, list) else value
            for key, value in document.items()
        }
        values["sub_heads"] = tuple(cls.from_json(sub) for sub in document.get("sub_heads", ()))
        return cls(**values)


def describe(head: Head) -> HeadDescription:
    """The description of `head`, a head of this library (single or MultiHead).

    Raises:
        TypeError: for an object that is not such a head.
    """
    build = getattr(head, "_describe", None)
    if build is None:
        raise TypeError(
            "Invalid `head`: expected a head of this library (heads.Head); received "
            f"{type(head).__name__}."
        )
    return build()


def per_head(
    value: Any, heads: Sequence[HeadDescription], arg: str, required: bool
) -> dict[Any, Any]:
    """Resolves a per-head argument (label keys, logits features, ...) for the single heads
    `heads` (`HeadDescription.single_heads`): one value for a single head, or
    `{head name: value}`.

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
