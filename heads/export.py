"""Export a `HeadModel` as a SavedModel with the signatures the estimator heads produced.

Every signature takes one input, a batch of serialized `tf.Example` protos, parses it with
the given feature spec, runs the model and returns what the original export outputs
returned (docs/heads-behaviour.md §7.5 and §8):

| signature | method | input | outputs |
|---|---|---|---|
| Classification | `tensorflow/serving/classify` | `inputs` | `classes`, `scores` |
| Regression | `tensorflow/serving/regress` | `inputs` | `outputs` |
| Predict | `tensorflow/serving/predict` | `examples` | every prediction key |

TensorFlow 2 writes every signature with the predict method; the classify and regress method
names are set afterwards in `saved_model.pb` so TensorFlow Serving's Classify and Regress
APIs accept them.

Beside the model, `assets.extra/head_config.json` holds the head's `heads.serialize` form, its
description (`heads.describe`) and the label keys, so an evaluator needs only the SavedModel
and the data (`load_head_config`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Callable, Mapping
from typing import Any

import tensorflow as tf

from heads import _compat, keys
from heads.description import HeadDescription, describe
from heads.keras_model import HeadModel
from heads.serialization import deserialize, serialize

FeatureSpec = Mapping[str, tf.io.FixedLenFeature | tf.io.VarLenFeature]

CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"
PREDICT_METHOD = "tensorflow/serving/predict"
HEAD_CONFIG_PATH = os.path.join("assets.extra", "head_config.json")
SAVED_MODEL_FILE = _compat.SAVED_MODEL_FILE
_INPUT_NAME = {
    CLASSIFY_METHOD: keys.INPUTS_INPUT_KEY,
    REGRESS_METHOD: keys.INPUTS_INPUT_KEY,
    PREDICT_METHOD: keys.EXAMPLES_INPUT_KEY,
}


@dataclasses.dataclass(frozen=True)
class ExportOutput:
    """One signature: its serving method and how to pick its outputs from the predictions."""

    method: str
    outputs: Callable[[Mapping[Any, tf.Tensor]], dict[str, tf.Tensor]]


def export_saved_model(
    model: HeadModel,
    export_dir: str | os.PathLike,
    feature_spec: FeatureSpec,
    label_keys: str | Mapping[str, str] | None = None,
) -> str:
    """Writes `model` as a SavedModel with its head's serving signatures.

    Args:
        model: a trained `heads.HeadModel`.
        export_dir: the directory to write; it must not exist or be empty.
        feature_spec: feature name to `tf.io.FixedLenFeature` / `tf.io.VarLenFeature`, used
            to parse the serialized examples; it must cover the logits model's inputs.
        label_keys: the feature holding the labels (for a MultiHead, head name to feature),
            stored in the head config for evaluators; None when unknown.

    Returns:
        `export_dir` as a string.

    Raises:
        TypeError: if `model` is not a HeadModel.
        ValueError: if `feature_spec` is empty, or the head cannot be serialized (a custom
            `loss_fn` must be registered with `keras.saving.register_keras_serializable`).
    """
    if not isinstance(model, HeadModel):
        raise TypeError(
            f"Invalid `model`: expected a heads.HeadModel; received {type(model).__name__}."
        )
    if not feature_spec:
        raise ValueError(
            "Invalid `feature_spec`: expected a dict of feature name to "
            f"tf.io.FixedLenFeature/VarLenFeature; received {feature_spec!r}."
        )
    feature_spec = dict(feature_spec)
    description = describe(model.head)
    head_config = head_config_document(serialize(model.head), label_keys, description)
    export_outputs = head_export_outputs(description)

    def make_signature(export_output: ExportOutput):
        input_spec = tf.TensorSpec([None], tf.string, name=_INPUT_NAME[export_output.method])

        @tf.function(input_signature=[input_spec])
        def serve(serialized):
            features = tf.io.parse_example(serialized, feature_spec)
            predictions = model.head.predictions(model(features, training=False))
            return export_output.outputs(predictions)

        return serve.get_concrete_function()

    signatures = {name: make_signature(output) for name, output in export_outputs.items()}
    export_dir = os.fspath(export_dir)
    tf.saved_model.save(model, export_dir, signatures=signatures)
    _compat.set_signature_method_names(
        export_dir, {name: output.method for name, output in export_outputs.items()}
    )
    tf.io.gfile.makedirs(os.path.join(export_dir, os.path.dirname(HEAD_CONFIG_PATH)))
    with tf.io.gfile.GFile(os.path.join(export_dir, HEAD_CONFIG_PATH), "w") as f:
        json.dump(head_config, f, indent=2, sort_keys=True)
    return export_dir


def load_head_config(
    export_dir: str | os.PathLike, custom_objects: Mapping[str, Any] | None = None
) -> tuple[Any, str | dict[str, str] | None]:
    """The head and label keys stored by `export_saved_model` beside a SavedModel.

    Raises:
        FileNotFoundError: if `export_dir` has no head config (not written by this library).
    """
    return _head_objects(load_head_document(export_dir), custom_objects)


def load_head_document(export_dir: str | os.PathLike) -> dict[str, Any]:
    """The `head_config_document` stored by `export_saved_model` beside a SavedModel, as
    read (no head is built: its `description` reads without the head's custom objects).

    Raises:
        FileNotFoundError: if `export_dir` has no head config (not written by this library).
    """
    path = os.path.join(os.fspath(export_dir), HEAD_CONFIG_PATH)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(
            f"No head config at {path}: expected a SavedModel written by "
            "heads.export_saved_model. Pass the head configuration explicitly."
        )
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def head_config_document(
    head_config: Mapping[str, Any],
    label_keys: str | Mapping[str, str] | None,
    description: HeadDescription,
) -> dict[str, Any]:
    """The head-config document that `export_saved_model` stores beside a SavedModel and the
    evaluator beside its results: `{"head": <heads.serialize>, "label_keys": ...,
    "description": <HeadDescription.to_json>}` (the description reads without the head's
    custom objects)."""
    return {
        "head": dict(head_config),
        "label_keys": label_keys,
        "description": description.to_json(),
    }


def read_head_config(
    path: str | os.PathLike, custom_objects: Mapping[str, Any] | None = None
) -> tuple[Any, str | dict[str, str] | None]:
    """The head and label keys of a file holding a `head_config_document`."""
    with tf.io.gfile.GFile(os.fspath(path)) as f:
        return _head_objects(json.load(f), custom_objects)


def _head_objects(
    document: Mapping[str, Any], custom_objects: Mapping[str, Any] | None
) -> tuple[Any, str | dict[str, str] | None]:
    """The head (built from its config) and the label keys of a `head_config_document`."""
    return deserialize(document["head"], custom_objects=custom_objects), document["label_keys"]


def head_export_outputs(head: HeadDescription) -> dict[str, ExportOutput]:
    """Signature name to `ExportOutput` for the described head, as the original head
    exported them (a MultiHead: its heads', combined by `_multi_head_export_outputs`)."""
    own = {single.name: _single_head_export_outputs(single) for single in head.single_heads}
    return head.by_head(own, combine=functools.partial(_multi_head_export_outputs, head))


def _single_head_export_outputs(head: HeadDescription) -> dict[str, ExportOutput]:
    """The signatures of a single head: classify (and for a binary head, regress) for a
    classifier, regress for a regression head, and predict."""
    predict = ExportOutput(PREDICT_METHOD, dict)
    if head.is_classifier:
        classify = ExportOutput(CLASSIFY_METHOD, _classify_outputs)
        outputs = {
            keys.DEFAULT_SERVING_KEY: classify,
            keys.CLASSIFY_SERVING_KEY: classify,
            keys.PREDICT_SERVING_KEY: predict,
        }
        if head.kind == "binary":
            outputs[keys.REGRESS_SERVING_KEY] = ExportOutput(
                REGRESS_METHOD, lambda p: {"outputs": p[keys.PredictionKeys.LOGISTIC]}
            )
        return outputs
    regress = ExportOutput(
        REGRESS_METHOD, lambda p: {"outputs": p[keys.PredictionKeys.PREDICTIONS]}
    )
    return {
        keys.DEFAULT_SERVING_KEY: regress,
        keys.REGRESS_SERVING_KEY: regress,
        keys.PREDICT_SERVING_KEY: predict,
    }


def _classify_outputs(predictions: Mapping[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """The classify signature's outputs: every class's name and score, per example.

    The names are the head's string prediction that lists every class (which the heads'
    `_string_predictions` make): `all_classes` where the head has it (binary, multi-class),
    else `classes` (a multi-label head's `classes` lists every class)."""
    names = predictions.get(keys.PredictionKeys.ALL_CLASSES)
    if names is None:
        names = predictions[keys.PredictionKeys.CLASSES]
    return {"classes": names, "scores": predictions[keys.PredictionKeys.PROBABILITIES]}


def _multi_head_export_outputs(
    head: HeadDescription, by_head: Mapping[str, Mapping[str, ExportOutput]]
) -> dict[str, ExportOutput]:
    """A MultiHead's signatures from its heads' (`by_head`, in order): `<head>` (each head's
    default), `<head>/<signature>`, the first head's default, and a merged predict.

    See docs/heads-behaviour.md §7.5.
    """
    outputs: dict[str, ExportOutput] = {}
    for name, signatures in by_head.items():
        for signature, output in signatures.items():
            key = name if signature == keys.DEFAULT_SERVING_KEY else f"{name}/{signature}"
            outputs[key] = ExportOutput(output.method, _for_sub_head(name, output))
    outputs[keys.DEFAULT_SERVING_KEY] = outputs[next(iter(by_head))]
    outputs[keys.PREDICT_SERVING_KEY] = ExportOutput(
        PREDICT_METHOD,
        lambda p: {predict_output_name(head, name, key): value for (name, key), value in p.items()},
    )
    return outputs


def predict_output_name(head: HeadDescription, head_name: str | None, key: str) -> str:
    """The name of a single head's prediction `key` among the `predict` signature's outputs
    of the described `head`: `<output name>/<key>` for a MultiHead's heads, `key` alone for a
    single head (named or not), see `HeadDescription.output_name`."""
    output = head.output_name(head_name)
    return f"{output}/{key}" if output else key


def _for_sub_head(head_name: str, output: ExportOutput) -> Callable[..., dict[str, tf.Tensor]]:
    """Picks a sub-head's outputs from MultiHead predictions keyed by (head_name, key)."""

    def outputs(predictions: Mapping[Any, tf.Tensor]) -> dict[str, tf.Tensor]:
        own = {key: value for (name, key), value in predictions.items() if name == head_name}
        return output.outputs(own)

    return outputs
