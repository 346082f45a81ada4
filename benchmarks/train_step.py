"""Training steps per second through `heads.HeadModel` versus plain Keras.

For each head, the same network and data are trained two ways, side by side in one run:
- `head`: `heads.HeadModel(network, head)` (the head's loss, weights and reduction);
- `keras`: the same network compiled with the equivalent built-in Keras loss.

Rounds alternate between the two so that machine noise hits both alike; the median time per
round gives steps/second, and the ratio head/keras is printed (target: at most 1.05, the head
costing at most 5% more per step).

    .venv/bin/python benchmarks/train_step.py [--rounds 7] [--steps 200] [--batch-size 256]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import heads  # noqa: E402

N_FEATURES = 32


def _network(units: int) -> keras.Model:
    inputs = {"x": keras.Input(shape=(N_FEATURES,), name="x")}
    hidden = keras.layers.Dense(128, activation="relu")(inputs["x"])
    hidden = keras.layers.Dense(64, activation="relu")(hidden)
    return keras.Model(inputs, keras.layers.Dense(units)(hidden))


def _cases(n: int, rng: np.random.Generator):
    x = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    binary = (x[:, :1] + rng.normal(size=(n, 1)) > 0).astype(np.float32)
    classes = rng.integers(0, 5, size=(n, 1)).astype(np.int64)
    target = (x[:, :2] @ np.ones((2, 1), np.float32)).astype(np.float32)
    return {
        "binary": (
            heads.BinaryClassHead(),
            keras.losses.BinaryCrossentropy(from_logits=True),
            x,
            binary,
        ),
        "multi_class": (
            heads.MultiClassHead(n_classes=5),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            x,
            classes,
        ),
        "regression": (heads.RegressionHead(), keras.losses.MeanSquaredError(), x, target),
    }


def _timer(model: keras.Model, dataset: tf.data.Dataset, steps: int):
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)  # trace and warm up

    def run_round() -> float:
        started = time.perf_counter()
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
        return time.perf_counter() - started

    return run_round


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    n = args.batch_size * 64
    print(f"{'head':12s} {'head steps/s':>13s} {'keras steps/s':>14s} {'ratio':>7s}")
    for name, (head, keras_loss, x, labels) in _cases(n, rng).items():
        keras.utils.set_random_seed(0)
        dataset = (
            tf.data.Dataset.from_tensor_slices(({"x": x}, labels))
            .repeat()
            .batch(args.batch_size)
            .prefetch(tf.data.AUTOTUNE)
        )
        head_model = heads.HeadModel(_network(head.logits_dimension), head)
        head_model.compile(optimizer=keras.optimizers.SGD(0.01))
        keras_model = _network(head.logits_dimension)
        keras_model.compile(optimizer=keras.optimizers.SGD(0.01), loss=keras_loss)
        timers = {
            "head": _timer(head_model, dataset, args.steps),
            "keras": _timer(keras_model, dataset, args.steps),
        }
        seconds = {"head": [], "keras": []}
        for _ in range(args.rounds):
            for which, run_round in timers.items():
                seconds[which].append(run_round())
        rate = {which: args.steps / statistics.median(s) for which, s in seconds.items()}
        print(
            f"{name:12s} {rate['head']:13.1f} {rate['keras']:14.1f} "
            f"{rate['keras'] / rate['head']:7.3f}"
        )
    print("ratio = time per step with the head / time per step with the Keras loss")


if __name__ == "__main__":
    main()
