"""Shared test setup: quiet TensorFlow, and locate the reference vectors."""

import json
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def reference_dir() -> pathlib.Path:
    """The folder holding HEADS.md and vectors.json.

    It is `shared/reference` beside the checkout (where CI puts it), or the folder named by
    the TFX_HEADS_REFERENCE_DIR environment variable.
    """
    override = os.environ.get("TFX_HEADS_REFERENCE_DIR")
    path = pathlib.Path(override) if override else REPO_ROOT.parent / "shared" / "reference"
    if not (path / "vectors.json").is_file():
        raise FileNotFoundError(
            f"Conformance vectors not found: expected {path / 'vectors.json'}. Put the "
            "shared/ folder beside the checkout or set TFX_HEADS_REFERENCE_DIR."
        )
    return path


@pytest.fixture(scope="session")
def reference_vectors() -> dict:
    """The parsed vectors.json recorded from tf.estimator 2.15 heads."""
    with open(reference_dir() / "vectors.json") as f:
        return json.load(f)


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
    (HEADS.md 14.6).
    """
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
