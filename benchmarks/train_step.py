"""Training steps per second through `heads.HeadModel`: against plain Keras, compiled with
XLA, and on two workers.

Three tables, each a ratio of two ways measured side by side in one run:
1. `head` against `keras`, per head: `heads.HeadModel(network, head)` against the same network
   compiled with the equivalent built-in Keras loss (target: at most 1.05, the head costing at
   most 5% more per step).
2. `jit_compile=True` against uncompiled, per head (a vocabulary head included, whose labels
   are converted on the host): what XLA, as on a TPU, does to a step.
3. Two worker processes on localhost (MultiWorkerMirroredStrategy, TF_CONFIG with a chief and
   a worker, each taking half of every global batch) against one process taking whole global
   batches. On one machine both workers share its cores and exchange gradients over
   loopback, so no speed-up is expected here; the row shows what the collective costs.

Rounds alternate between the ways compared so that machine noise hits both alike; the
median time per round gives steps/second.

    .venv/bin/python benchmarks/train_step.py [--rounds 7] [--steps 200] [--batch-size 256]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
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


def _vocabulary_case(n: int, rng: np.random.Generator):
    """A multi-class head with a label vocabulary: string labels, converted on the host."""
    names = np.array(["a", "b", "c", "d", "e"])
    return heads.MultiClassHead(n_classes=5, label_vocabulary=list(names)), names[
        rng.integers(0, 5, size=(n, 1))
    ]


def _dataset(x: np.ndarray, labels: np.ndarray, batch_size: int) -> tf.data.Dataset:
    return (
        tf.data.Dataset.from_tensor_slices(({"x": x}, labels))
        .repeat()
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )


def _median_rates(timers: dict, rounds: int, steps: int) -> dict[str, float]:
    seconds = {which: [] for which in timers}
    for _ in range(rounds):
        for which, run_round in timers.items():
            seconds[which].append(run_round())
    return {which: steps / statistics.median(s) for which, s in seconds.items()}


def _timer(model: keras.Model, dataset: tf.data.Dataset, steps: int):
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)  # trace and warm up

    def run_round() -> float:
        started = time.perf_counter()
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
        return time.perf_counter() - started

    return run_round


def head_against_keras(args: argparse.Namespace, rng: np.random.Generator) -> None:
    n = args.batch_size * 64
    print(f"{'head':12s} {'head steps/s':>13s} {'keras steps/s':>14s} {'ratio':>7s}")
    for name, (head, keras_loss, x, labels) in _cases(n, rng).items():
        keras.utils.set_random_seed(0)
        dataset = _dataset(x, labels, args.batch_size)
        head_model = heads.HeadModel(_network(head.logits_dimension), head)
        head_model.compile(optimizer=keras.optimizers.SGD(0.01))
        keras_model = _network(head.logits_dimension)
        keras_model.compile(optimizer=keras.optimizers.SGD(0.01), loss=keras_loss)
        rate = _median_rates(
            {
                "head": _timer(head_model, dataset, args.steps),
                "keras": _timer(keras_model, dataset, args.steps),
            },
            args.rounds,
            args.steps,
        )
        print(
            f"{name:12s} {rate['head']:13.1f} {rate['keras']:14.1f} "
            f"{rate['keras'] / rate['head']:7.3f}"
        )
    print("ratio = time per step with the head / time per step with the Keras loss\n")


def jit_against_uncompiled(args: argparse.Namespace, rng: np.random.Generator) -> None:
    n = args.batch_size * 64
    cases = {name: (case[0], case[2], case[3]) for name, case in _cases(n, rng).items()}
    head, labels = _vocabulary_case(n, rng)
    cases["vocabulary"] = (head, cases["binary"][1], labels)
    print(f"{'head':12s} {'xla steps/s':>12s} {'plain steps/s':>14s} {'ratio':>7s}")
    for name, (head, x, labels) in cases.items():
        dataset = _dataset(x, labels, args.batch_size)
        timers = {}
        for jit_compile in (True, False):
            keras.utils.set_random_seed(0)
            model = heads.HeadModel(_network(head.logits_dimension), head)
            model.compile(optimizer=keras.optimizers.SGD(0.01), jit_compile=jit_compile)
            assert model.jit_compile == jit_compile
            timers["xla" if jit_compile else "plain"] = _timer(model, dataset, args.steps)
        rate = _median_rates(timers, args.rounds, args.steps)
        print(
            f"{name:12s} {rate['xla']:12.1f} {rate['plain']:14.1f} "
            f"{rate['plain'] / rate['xla']:7.3f}"
        )
    print("ratio = time per step with jit_compile=True / time per step uncompiled\n")


def _worker(args: argparse.Namespace) -> None:
    """One process of the two-worker table: times `fit` rounds and writes them as JSON."""
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    strategy = (
        tf.distribute.MultiWorkerMirroredStrategy() if tf_config else tf.distribute.get_strategy()
    )
    rng = np.random.default_rng(0)
    head, _, x, labels = _cases(args.batch_size * 64, rng)["binary"]
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = heads.HeadModel(_network(head.logits_dimension), head)
        model.compile(optimizer=keras.optimizers.SGD(0.01))
    run_round = _timer(model, _dataset(x, labels, args.batch_size), args.steps)
    with open(args.worker, "w") as f:
        json.dump([run_round() for _ in range(args.rounds)], f)


def _run_processes(args: argparse.Namespace, task_types: list[str], out_dir: str) -> float:
    """Runs `_worker` as one process per task (or alone); returns the chief's steps/s."""
    ports = []
    for _ in task_types:
        with socket.socket() as sock:
            sock.bind(("localhost", 0))
            ports.append(sock.getsockname()[1])
    cluster: dict[str, list[str]] = {}
    for task_type, port in zip(task_types, ports, strict=True):
        cluster.setdefault(task_type, []).append(f"localhost:{port}")
    processes, outputs = [], []
    for index, task_type in enumerate(task_types or ["single"]):
        output = os.path.join(out_dir, f"{task_type}{index}.json")
        env = dict(os.environ)
        if task_types:
            task = {
                "type": task_type,
                "index": cluster[task_type].index(f"localhost:{ports[index]}"),
            }
            env["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": task})
        command = [sys.executable, __file__, "--worker", output]
        command += ["--rounds", str(args.rounds), "--steps", str(args.steps)]
        command += ["--batch-size", str(args.batch_size)]
        processes.append(subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL))
        outputs.append(output)
    for process in processes:
        if process.wait() != 0:
            raise RuntimeError(f"benchmark worker failed: {process.args}")
    with open(outputs[0]) as f:
        return args.steps / statistics.median(json.load(f))


def two_workers_against_one(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as out_dir:
        one = _run_processes(args, [], out_dir)
        two = _run_processes(args, ["chief", "worker"], out_dir)
    print(f"{'binary head':22s} {'steps/s':>8s} {'examples/s':>11s}")
    for name, rate in (("1 process", one), ("2 workers (loopback)", two)):
        print(f"{name:22s} {rate:8.1f} {rate * args.batch_size:11.0f}")
    print(f"ratio = time per global step on 2 workers / on 1 process: {one / two:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=256, help="global batch size")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: one worker process
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return
    rng = np.random.default_rng(0)
    head_against_keras(args, rng)
    jit_against_uncompiled(args, rng)
    two_workers_against_one(args)


if __name__ == "__main__":
    main()
