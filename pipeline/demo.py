"""`tfx-heads demo`: trains the taxi sample's four-head model in-process and exports it.

A quick look at the heads library on real data, without TFX: 80% of the trips train a
`heads.HeadModel`, the other 20% evaluate it, and the model is exported as a SavedModel
with the heads' serving signatures.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

HEADLINE_METRICS = (
    "auc/big_tipper",
    "accuracy/big_tipper",
    "accuracy/payment_type",
    "average_loss/trip_seconds",
    "auc/trip_tags",
    "loss",
)


def add_subcommand(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="train and export the taxi sample's four-head model in-process (no TFX)",
        description=__doc__,
    )
    parser.add_argument("--output", default="demo", help="directory for the exported model")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.set_defaults(run=run)


def features_and_labels(trips) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Feature and label arrays (`[N, 1]`, or `[N, 4]` multi-hot tags) of a trips frame."""
    from pipeline.taxi import sample

    features = {
        name: trips[name].to_numpy().astype(np.float32).reshape(-1, 1)
        for name in sample.NUMERIC_FEATURES
    }
    features.update(
        {
            name: trips[name].to_numpy().astype(str).reshape(-1, 1)
            for name in sample.CATEGORICAL_FEATURES
        }
    )
    labels = {
        head_name: _column(trips[key].to_numpy()).reshape(-1, 1)
        for head_name, key in sample.LABEL_KEYS.items()
        if key != "trip_tags"
    }
    labels["trip_tags"] = sample.multi_hot(trips["trip_tags"])
    return features, labels


def _column(values: np.ndarray) -> np.ndarray:
    """Strings as `str` arrays (TensorFlow rejects object arrays), others unchanged."""
    return values.astype(str) if values.dtype == object else values


def run(args: argparse.Namespace) -> int:
    import keras
    import tensorflow as tf

    import heads
    from pipeline.taxi import model as taxi_model
    from pipeline.taxi import sample

    started = time.time()
    keras.utils.set_random_seed(0)
    trips = sample.load_trips()
    is_eval = np.arange(len(trips)) % 5 == 0
    train = tf.data.Dataset.from_tensor_slices(features_and_labels(trips[~is_eval]))
    evaluation = tf.data.Dataset.from_tensor_slices(features_and_labels(trips[is_eval]))

    logits_model, head = taxi_model.build_model()
    model = heads.HeadModel(logits_model, head)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(
        train.shuffle(len(trips), seed=0).batch(args.batch_size), epochs=args.epochs, verbose=2
    )
    metrics = model.evaluate(evaluation.batch(4096), return_dict=True, verbose=0)

    feature_spec = {
        name: tf.io.FixedLenFeature([1], tf.float32) for name in sample.NUMERIC_FEATURES
    }
    feature_spec.update(
        {name: tf.io.FixedLenFeature([1], tf.string) for name in sample.CATEGORICAL_FEATURES}
    )
    export_dir = os.path.join(args.output, "model", str(int(time.time())))
    heads.export_saved_model(model, export_dir, feature_spec)

    print(f"\nTrained on {int((~is_eval).sum())} trips, evaluated on {int(is_eval.sum())}.")
    print("Headline metrics (evaluation split):")
    for key in HEADLINE_METRICS:
        print(f"  {key:28s} {metrics[key]:.4f}")
    print(f"All {len(metrics)} metric keys: {', '.join(sorted(metrics))}")
    print(f"SavedModel with the heads' serving signatures: {export_dir}")
    print(f"Done in {time.time() - started:.0f} s.")
    return 0
