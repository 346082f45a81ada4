"""The sample's model: one Keras network with four heads (binary, multi-class, regression,
multi-label) combined in a MultiHead.

The network embeds the categorical features, scales the numeric ones, and shares two dense
layers between the heads; each head has its own output layer.
"""

from __future__ import annotations

from typing import Any

import keras

import heads
from tfx_heads.pipeline.taxi import sample

# Fixed affine scaling of `sample.NUMERIC_FEATURES` to about unit range: money and miles by
# typical values, time fields by their period, coordinates around central Chicago.
_NUMERIC_SCALE = [1 / 20, 1 / 10, 1 / 24, 1 / 7, 1 / 12, 10.0, 10.0, 10.0, 10.0]
_NUMERIC_OFFSET = [0.0, 0.0, 0.0, 0.0, 0.0, -418.8, 876.3, -418.8, 876.3]

DEFAULT_HPARAMS = {"hidden_units": (64, 32), "embedding_dim": 8, "hash_buckets": 100}


def build_head() -> heads.MultiHead:
    """The MultiHead over the sample's four labels (see `tfx_heads.pipeline.taxi.sample`)."""
    return heads.MultiHead(
        [
            heads.BinaryClassHead(thresholds=(0.3, 0.5, 0.7), name="big_tipper"),
            heads.MultiClassHead(
                n_classes=len(sample.PAYMENT_TYPES),
                label_vocabulary=list(sample.PAYMENT_TYPES),
                name="payment_type",
            ),
            heads.RegressionHead(name="trip_seconds"),
            heads.MultiLabelHead(
                n_classes=len(sample.TRIP_TAGS),
                label_vocabulary=list(sample.TRIP_TAGS),
                thresholds=(0.5,),
                classes_for_class_based_metrics=list(sample.TRIP_TAGS),
                name="trip_tags",
            ),
        ]
    )


def build_logits_model(head: heads.MultiHead, hparams: dict[str, Any] | None = None) -> keras.Model:
    """A functional model from the feature dict to a dict of logits by head name."""
    hparams = {**DEFAULT_HPARAMS, **(hparams or {})}
    inputs = {
        name: keras.Input(shape=(1,), name=name, dtype="float32")
        for name in sample.NUMERIC_FEATURES
    }
    inputs.update(
        {
            name: keras.Input(shape=(1,), name=name, dtype="string")
            for name in sample.CATEGORICAL_FEATURES
        }
    )
    numeric = keras.layers.Concatenate()([inputs[n] for n in sample.NUMERIC_FEATURES])
    numeric = keras.layers.Rescaling(_NUMERIC_SCALE, offset=_NUMERIC_OFFSET)(numeric)
    embedded = [numeric]
    for name in sample.CATEGORICAL_FEATURES:
        ids = keras.layers.Hashing(num_bins=hparams["hash_buckets"])(inputs[name])
        vectors = keras.layers.Embedding(hparams["hash_buckets"], hparams["embedding_dim"])(ids)
        embedded.append(keras.layers.Flatten()(vectors))
    hidden = keras.layers.Concatenate()(embedded)
    for units in hparams["hidden_units"]:
        hidden = keras.layers.Dense(units, activation="relu")(hidden)
    logits = {
        sub_head.name: keras.layers.Dense(
            sub_head.logits_dimension, name=f"{sub_head.name}_logits"
        )(hidden)
        for sub_head in head.heads
    }
    return keras.Model(inputs=inputs, outputs=logits, name="taxi_logits")


def build_model(hparams: dict[str, Any] | None = None) -> tuple[keras.Model, heads.MultiHead]:
    """The module-file entry point: `(logits_model, head)`."""
    head = build_head()
    return build_logits_model(head, hparams), head
