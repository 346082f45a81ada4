"""`EvaluationConfig`: one model's evaluation, resolved from its inputs and options.

`build_config` matches the example files, resolves the head (from the arguments or the
SavedModel) and reads a few records to learn the features' types, so that every Beam stage
(`transforms`) gets what it needs without looking at the data again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import tensorflow as tf

from heads.base_head import Head
from heads.description import HeadDescription, describe, per_head
from heads.export import load_head_document, predict_output_name
from heads.serialization import deserialize, serialize
from tfx_heads.components.evaluator.example_inputs import (
    feature_types,
    looks_multi_hot,
    sample_examples,
)
from tfx_heads.components.evaluator.head_inputs import InputSpec, build_input_spec
from tfx_heads.components.evaluator.inference import LOGITS_KEY, PREDICT_SIGNATURE
from tfx_heads.components.evaluator.options import EvaluationOptions
from tfx_heads.components.evaluator.slicing import SliceSpec, slice_specs


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    """Everything one model's evaluation needs, resolved.

    Attributes:
        files: the TFRecord files to read.
        data_location: the examples' glob(s), as given (for display).
        output: the output directory.
        head_config: the head's `heads.serialize` form (rebuilt on workers only for a custom
            loss or link).
        input_spec: what every head reads from an example (`input_spec.head` is the head's
            description, which every stage reads).
        slices: the slicings, overall first.
        model: the SavedModel directory, or None with logits features.
        options: the user's options (see `EvaluationOptions`).
    """

    files: tuple[str, ...]
    data_location: str
    output: str
    head_config: Mapping[str, Any]
    input_spec: InputSpec
    slices: tuple[SliceSpec, ...]
    model: str | None = None
    options: EvaluationOptions = dataclasses.field(default_factory=EvaluationOptions)

    @property
    def reading(self) -> dict[str, Any]:
        """What decides the batches read (and rejected unparseable): evaluations that share
        one reading must agree on all of it."""
        options = self.options
        return {
            "files": self.files,
            "batch_size": options.batch_size,
            "compression": options.compression,
            "reject_malformed": options.reject_malformed,
        }


def match_files(examples: str | Sequence[str]) -> tuple[str, ...]:
    """The files matching one glob or several (sorted, without duplicates).

    Raises:
        ValueError: if nothing matches.
    """
    patterns = [examples] if isinstance(examples, str) else list(examples)
    files = sorted({path for pattern in patterns for path in tf.io.gfile.glob(pattern)})
    if not files:
        raise ValueError(
            f"Invalid `examples`: expected a glob matching TFRecord files; received "
            f"{examples!r}, which matches no file."
        )
    return tuple(files)


def resolve_head(
    head: Head | Mapping[str, Any] | None, model: str | None, label_keys: Any
) -> tuple[dict[str, Any], str | Mapping[str, str], HeadDescription]:
    """The head's serialized form, label keys and description, from the arguments or the
    SavedModel.

    A stored head-config document's description is read back as it is; the head is built
    here (once, which checks its config and custom objects) only where the description
    says a custom loss or link needs the head object, or where no description is stored.

    Args:
        head: a head, its `heads.serialize` JSON, the `{"head": ..., "label_keys": ...,
            "description": ...}` document that `export_saved_model` stores, or None to read
            that document from `model`.
        model: the SavedModel directory, or None.
        label_keys: the label keys, or None to use the stored ones.
    """
    if head is None:
        if model is None:
            raise ValueError(
                "Invalid `head`: expected a head or its heads.serialize JSON (required without "
                "a model); received None."
            )
        head = load_head_document(model)
    stored_keys = stored_description = None
    if isinstance(head, Mapping) and "head" in head and "class_name" not in head:
        head, stored_keys, stored_description = (
            head["head"],
            head.get("label_keys"),
            head.get("description"),
        )
    config = dict(head) if isinstance(head, Mapping) else serialize(head)
    if stored_description is not None:
        description = HeadDescription.from_json(stored_description)
        if description.needs_head_object:
            deserialize(config)  # The workers will build it: fail here if it cannot be.
    else:
        description = describe(head if isinstance(head, Head) else deserialize(config))
    keys = label_keys if label_keys is not None else stored_keys
    if keys is None:
        raise ValueError(
            "Invalid `label_keys`: expected the label feature (HEAD=KEY per head of a "
            "MultiHead); received None, and the model stores none."
        )
    return config, keys, description


def build_config(
    examples: str | Sequence[str],
    output: str,
    options: EvaluationOptions | None = None,
    head: Head | Mapping[str, Any] | None = None,
    model: str | None = None,
) -> EvaluationConfig:
    """Resolves one model's evaluation (reads a few records).

    Args:
        examples: glob (or globs) of TFRecord files of serialized `tf.Example`s.
        output: the output directory.
        options: the evaluation's options (default: `EvaluationOptions()`).
        head: the head, or its `heads.serialize` JSON; None reads it from `model`.
        model: the SavedModel directory; exclusive with `options.logits_features`.

    Raises:
        ValueError: for invalid arguments, or files that match nothing.
    """
    options = options or EvaluationOptions()
    logits_features = options.logits_features
    if (model is None) == (logits_features is None):
        raise ValueError(
            "Invalid arguments: expected exactly one of `model` (a SavedModel directory) and "
            f"`logits_features`; received model={model!r}, logits_features={logits_features!r}."
        )
    files = match_files(examples)
    head_config, label_keys, description = resolve_head(head, model, options.label_keys)
    if model is not None:
        check_model_logits(model, description)
    specs = slice_specs(options.slices)
    spec = _input_spec(files, description, label_keys, specs, options)
    return EvaluationConfig(
        files=files,
        data_location=examples if isinstance(examples, str) else ",".join(examples),
        output=output,
        head_config=head_config,
        input_spec=spec,
        slices=specs,
        model=model,
        options=options,
    )


def _input_spec(
    files: Sequence[str],
    description: HeadDescription,
    label_keys: str | Mapping[str, str],
    specs: Sequence[SliceSpec],
    options: EvaluationOptions,
) -> InputSpec:
    """What every head reads, with the features' types from a few records of `files`."""
    heads = description.single_heads
    labels = per_head(label_keys, heads, "label_keys", required=True)
    logits = per_head(options.logits_features, heads, "logits_features", required=False)
    keys = {*labels.values(), *logits.values(), *(h.weight_key for h in heads)}
    keys.update(feature for spec in specs for feature in spec.features)
    keys.discard(None)
    sample = sample_examples(files, options.compression, reject_malformed=options.reject_malformed)
    types = feature_types(sample, sorted(keys))
    check_logits_widths(sample, heads, logits)
    multi_hot = [
        labels[single.name]
        for single in heads
        if single.kind == "multi_label"
        and looks_multi_hot(sample, labels[single.name], single.n_classes)
    ]
    return build_input_spec(
        description,
        label_keys,
        options.logits_features,
        sorted({feature for s in specs for feature in s.features}),
        types,
        multi_hot_keys=multi_hot,
        label_formats=options.label_formats,
    )


def check_logits_widths(
    sample: Sequence[tf.train.Example],
    heads: Sequence[HeadDescription],
    logits_features: Mapping[str | None, str],
) -> None:
    """Fails early when a head's logits feature never has the head's logits dimension.

    Runs on the sampled records, before any statistics exist (a head's per-class
    statistics are sized by its classes: a wrong head must not allocate them). A sample
    with some rows of the right width passes; the others are then rejected (or fail) row
    by row in the pipeline, naming their records.

    Raises:
        ValueError: naming the feature, the widths found and the head's logits dimension.
    """
    for head in heads:
        key = logits_features.get(head.name)
        widths = set()
        for example in sample:
            feature = example.features.feature.get(key) if key else None
            if feature is not None and feature.WhichOneof("kind"):
                values = getattr(feature, feature.WhichOneof("kind")).value
                widths.add(len(values))
        if widths and head.logits_dimension not in widths:
            raise ValueError(
                f"Invalid logits feature {key!r} of {head.subject}: expected "
                f"{head.logits_dimension} values per example (the head's logits dimension); "
                f"received {_widths(widths)} values in every one of the first {len(sample)} "
                "records that holds it. Check the head's n_classes (or label_dimension) "
                "against the data."
            )


def check_model_logits(model: str, head: HeadDescription) -> None:
    """Fails early when the model's `predict` signature declares logits of another width
    than the head's logits dimension (read from `saved_model.pb`, without loading it).

    Outputs of unknown width, or a SavedModel that cannot be parsed here, pass (inference
    checks them).

    Raises:
        ValueError: naming the output, its width and the head's logits dimension.
    """
    from tensorflow.python.tools import saved_model_utils  # noqa: PLC0415

    try:
        graph = saved_model_utils.get_meta_graph_def(model, "serve")
    except (OSError, RuntimeError, ValueError):
        return
    signature = graph.signature_def.get(PREDICT_SIGNATURE)
    if signature is None:
        return
    for single in head.single_heads:
        name = predict_output_name(head, single.name, LOGITS_KEY)
        output = signature.outputs.get(name)
        dims = [] if output is None or output.tensor_shape.unknown_rank else output.tensor_shape.dim
        width = dims[-1].size if dims else -1
        if width >= 0 and width != single.logits_dimension:
            raise ValueError(
                f"Invalid `model` {model}: expected output {name!r} of its "
                f"'{PREDICT_SIGNATURE}' signature to hold {single.logits_dimension} logits per "
                f"example ({single.subject}'s logits dimension); received {width}."
            )


def _widths(widths: set[int]) -> str:
    found = sorted(widths)
    return str(found[0]) if len(found) == 1 else " or ".join(map(str, found))
