"""Shared test setup: quiet TensorFlow, the reference vectors, and clusters on localhost."""

import json
import os
import pathlib
from collections.abc import Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def reference_dir() -> pathlib.Path:
    """The folder holding vectors.json: `tests/reference` (see its README.md).

    The environment variable TFX_HEADS_REFERENCE_DIR names another folder, for example a
    newer recording to check against.
    """
    override = os.environ.get("TFX_HEADS_REFERENCE_DIR")
    path = pathlib.Path(override) if override else REPO_ROOT / "tests" / "reference"
    if not (path / "vectors.json").is_file():
        raise FileNotFoundError(
            f"Conformance vectors not found: expected {path / 'vectors.json'}. Restore "
            "tests/reference/vectors.json from the repository or unset TFX_HEADS_REFERENCE_DIR."
        )
    return path


@pytest.fixture(scope="session")
def reference_vectors() -> dict:
    """The parsed vectors.json recorded from tf.estimator 2.15 heads."""
    with open(reference_dir() / "vectors.json") as f:
        return json.load(f)


@pytest.fixture(scope="session")
def built_in_head_kinds() -> dict[str, tuple[str, str, str]]:
    """Head class name to its `HeadDescription` (kind, built-in loss, link), written from the
    behaviour HEADS.md documents for each head (PoissonRegressionHead with its default
    `compute_full_loss=True`)."""
    return {
        "BinaryClassHead": ("binary", "sigmoid_cross_entropy", "sigmoid"),
        "MultiClassHead": ("multi_class", "softmax_cross_entropy", "softmax"),
        "MultiLabelHead": ("multi_label", "sigmoid_cross_entropy", "sigmoid"),
        "RegressionHead": ("regression", "squared_error", "identity"),
        "PoissonRegressionHead": ("regression", "log_poisson_full", "exp"),
        "LogisticRegressionHead": ("regression", "sigmoid_cross_entropy", "sigmoid"),
    }


def pytest_configure(config):
    """Splits the CPU into two logical devices, for tests under MirroredStrategy.

    This must happen before TensorFlow initialises its runtime, so before any test runs.
    """
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )


@pytest.fixture(scope="session")
def mirrored_strategy():
    """One MirroredStrategy over the two logical CPU devices, shared by every test.

    Several MirroredStrategy objects in one process can clash in their collective ops
    (docs/heads-behaviour.md §12.6).
    """
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports on localhost that were free a moment ago."""
    import socket

    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("localhost", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def cluster_tf_configs(task_types: list[str]) -> list[str]:
    """One `TF_CONFIG` per task of a cluster on localhost, as Vertex AI sets them.

    Args:
        task_types: the task type of each process, e.g. `["chief", "worker"]`; tasks of one
            type get indices 0, 1, ... in order.
    """
    cluster: dict[str, list[str]] = {}
    tasks = []
    for task_type, port in zip(task_types, free_ports(len(task_types)), strict=True):
        tasks.append({"type": task_type, "index": len(cluster.get(task_type, []))})
        cluster.setdefault(task_type, []).append(f"localhost:{port}")
    return [json.dumps({"cluster": cluster, "task": task}) for task in tasks]


@pytest.fixture
def run_cluster():
    """Runs a Python program as the tasks of a cluster on localhost, as real processes.

    Call it as `run_cluster(argv, task_types, timeout=...)`: one process per task type (with
    its `TF_CONFIG` from `cluster_tf_configs`), or one process without `TF_CONFIG` for
    `task_types=()`. It waits for all of them, returns each process's combined output, and
    fails the test (showing every output) if any process fails.
    """
    import subprocess
    import sys

    def run(argv: list[str], task_types: Sequence[str], timeout: float = 300) -> list[str]:
        tf_configs = cluster_tf_configs(list(task_types)) if task_types else [""]
        processes = []
        for tf_config in tf_configs:
            env = {**os.environ, "TF_CONFIG": tf_config, "PYTHONPATH": str(REPO_ROOT)}
            processes.append(
                subprocess.Popen(
                    [sys.executable, *argv],
                    env=env,
                    cwd=REPO_ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        outputs = []
        try:
            for process in processes:
                outputs.append(process.communicate(timeout=timeout)[0])
        finally:
            for process in processes:
                process.kill()
        failed = [p.args for p in processes if p.returncode != 0]
        assert not failed, "\n\n".join(outputs)
        return outputs

    return run


def assert_serves_the_taxi_sample(model_dir: str) -> None:
    """A pushed taxi SavedModel answers serialized examples: classification scores that sum
    to 1, and every head's predictions from the `predict` signature."""
    import tensorflow as tf

    from tfx_heads.pipeline.taxi import sample

    served = tf.saved_model.load(model_dir)
    examples = tf.constant(sample.to_tf_examples(sample.load_trips().iloc[:4]))
    scores = served.signatures["serving_default"](inputs=examples)["scores"].numpy()
    assert scores.shape == (4, 2)
    assert (abs(scores.sum(axis=1) - 1) < 1e-5).all()
    predictions = served.signatures["predict"](examples=examples)
    assert {"big_tipper/probabilities", "trip_tags/probabilities"} <= set(predictions)


@pytest.fixture(scope="session")
def serves_the_taxi_sample():
    """`assert_serves_the_taxi_sample`, for the end-to-end tests."""
    return assert_serves_the_taxi_sample
