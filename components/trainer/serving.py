"""Export of the trained model: the heads' signatures over serialized raw `tf.Example`s.

`heads.export_saved_model` parses the examples with a feature spec and calls the model. The
trainer wraps the trained `HeadModel` in `ServingLogits`, which first applies the Transform
graph (when the pipeline has one) and conforms the parsed features to the logits model's
inputs exactly as training did (`features.conform`), so the signatures take the same raw
examples that the pipeline read. The serving feature spec comes from the schema (or, with
Transform, from its raw schema) and holds only the serving features: the model's inputs (or,
with Transform, every raw feature but the labels and weights) unless the user module names
them in `SERVING_FEATURE_KEYS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import keras
import tensorflow as tf

import heads
from tfx_heads.components.trainer import features as features_lib
from tfx_heads.components.trainer.module_contract import LabelKeys, label_key_list

FeatureSpec = dict[str, tf.io.FixedLenFeature | tf.io.VarLenFeature]


class ServingLogits(keras.Model):
    """Parsed raw features to the trained model's logits.

    Args:
        trained_model: the trained `heads.HeadModel`.
        input_specs: the logits model's dense inputs (`features.model_input_specs`), or
            None to pass the features unchanged.
        transform_layer: `tft.TFTransformOutput.transform_features_layer()`, or None.
    """

    def __init__(
        self,
        trained_model: heads.HeadModel,
        input_specs: Mapping[str, features_lib.InputSpec] | None,
        transform_layer: Any = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.trained_model = trained_model
        self.transform_layer = transform_layer
        self._input_specs = dict(input_specs) if input_specs is not None else None

    def call(self, features: dict[str, Any], training: bool = False) -> Any:
        """Logits `[batch_size, logits_dimension]` (a dict by head name for a MultiHead)."""
        if self.transform_layer is not None:
            features = dict(self.transform_layer(features))
        if self._input_specs is not None:
            features = {
                name: features_lib.conform(features[name], spec, name)
                for name, spec in self._input_specs.items()
            }
        return self.trained_model(features, training=False)


def serving_feature_spec(
    all_features: Mapping[str, Any],
    serving_keys: Iterable[str] | None,
    default_keys: Iterable[str],
) -> FeatureSpec:
    """`all_features` restricted to `serving_keys` (or `default_keys` when None).

    Raises:
        ValueError: if a key is not in `all_features`.
    """
    keys = sorted(set(serving_keys if serving_keys is not None else default_keys))
    missing = [key for key in keys if key not in all_features]
    if missing:
        raise ValueError(
            f"Invalid serving features: expected features of the schema; received {missing} "
            f"that it lacks. Schema features: {sorted(all_features)}."
        )
    if not keys:
        raise ValueError(
            "Invalid serving features: expected at least one feature for the serving "
            f"signatures; received none. Schema features: {sorted(all_features)}."
        )
    return {key: all_features[key] for key in keys}


def default_serving_keys(
    schema_features: Iterable[str],
    input_specs: Mapping[str, features_lib.InputSpec] | None,
    raw_label_keys: LabelKeys,
    weight_keys: Iterable[str],
    transformed: bool,
) -> list[str]:
    """The model's inputs, or (with Transform or no known inputs) every feature but the
    labels and weights."""
    if input_specs is not None and not transformed:
        return sorted(input_specs)
    excluded = set(label_key_list(raw_label_keys)) | set(weight_keys)
    return sorted(set(schema_features) - excluded)


def export_serving_model(
    model: heads.HeadModel,
    export_dir: str,
    feature_spec: FeatureSpec,
    raw_label_keys: LabelKeys,
    input_specs: Mapping[str, features_lib.InputSpec] | None,
    transform_output: str | None = None,
) -> str:
    """Writes the SavedModel with the head's signatures and head config to `export_dir`.

    Args:
        model: the trained `heads.HeadModel`.
        export_dir: where to write (must not exist or be empty).
        feature_spec: the serving features' parsing spec (raw features with Transform).
        raw_label_keys: label feature(s) in the raw examples, stored in the head config.
        input_specs: the logits model's dense inputs, or None.
        transform_output: the Transform graph directory, or None.

    Returns:
        `export_dir`.
    """
    transform_layer = None
    if transform_output:
        import tensorflow_transform as tft

        transform_layer = tft.TFTransformOutput(transform_output).transform_features_layer()
    serving_model = heads.HeadModel(
        ServingLogits(model, input_specs, transform_layer, name="serving_logits"),
        model.head,
        name="serving_model",
    )
    return heads.export_saved_model(
        serving_model, export_dir, feature_spec, label_keys=raw_label_keys
    )
