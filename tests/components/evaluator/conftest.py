"""Fixtures of the evaluator tests: tf.Example files, the taxi sample and its SavedModel."""

from __future__ import annotations

import os
import types
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

TAXI_TRIPS = 3000
"""Trips of the taxi sample used by the tests (split over two files)."""


def example(features: Mapping[str, Any]) -> bytes:
    """A serialized tf.Example; values are lists (or scalars) of int, float, str or bytes."""
    feature = {}
    for key, value in features.items():
        values = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]
        if values and isinstance(values[0], (str, bytes)):
            encoded = [v.encode() if isinstance(v, str) else v for v in values]
            feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=encoded))
        elif values and isinstance(values[0], (float, np.floating)):
            feature[key] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
        else:
            ints = [int(v) for v in values]
            feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=ints))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_examples(path: str, rows: Sequence[Mapping[str, Any]], gzip: bool = True) -> str:
    """Writes one tf.Example per row (a dict of feature values) to a TFRecord file."""
    with tf.io.TFRecordWriter(str(path), options="GZIP" if gzip else None) as writer:
        for row in rows:
            writer.write(example(row))
    return str(path)


def artifact(cls, uri, **properties):
    """A TFX artifact of type `cls` at `uri` (created), with `properties` set."""
    made = cls()
    made.uri = str(uri)
    os.makedirs(made.uri, exist_ok=True)
    for key, value in properties.items():
        setattr(made, key, value)
    return made


def model_artifact(folder, saved_model, artifact_id):
    """A Model artifact whose serving model (`Format-Serving`) is `saved_model`."""
    from tfx.types import standard_artifacts

    model = artifact(standard_artifacts.Model, folder)
    os.symlink(saved_model, os.path.join(model.uri, "Format-Serving"))
    model.id = artifact_id
    return model


def examples_artifact(folder, files_glob):
    """An Examples artifact whose `eval` split holds the files of `files_glob`."""
    from tfx.types import artifact_utils, standard_artifacts

    examples = artifact(
        standard_artifacts.Examples,
        folder,
        split_names=artifact_utils.encode_split_names(["eval"]),
    )
    os.symlink(os.path.dirname(files_glob), os.path.join(examples.uri, "Split-eval"))
    return examples


@pytest.fixture(scope="session")
def helpers():
    """The module's helpers, for test modules (which cannot import conftest)."""
    return types.SimpleNamespace(
        example=example,
        write_examples=write_examples,
        artifact=artifact,
        model_artifact=model_artifact,
        examples_artifact=examples_artifact,
    )


@pytest.fixture(scope="session")
def taxi_trips():
    """The first `TAXI_TRIPS` trips of the taxi sample, with derived labels."""
    from tfx_heads.pipeline.taxi import sample

    return sample.load_trips().iloc[:TAXI_TRIPS].reset_index(drop=True)


@pytest.fixture(scope="session")
def taxi_examples(tmp_path_factory, taxi_trips):
    """The trips as two gzipped TFRecord files; returns their glob (file order: part-0 holds
    the even trips, part-1 the odd ones)."""
    from tfx_heads.pipeline.taxi import sample

    folder = tmp_path_factory.mktemp("taxi_examples")
    sample.write_tfrecords(taxi_trips.iloc[0::2], str(folder / "part-0.tfrecord.gz"))
    sample.write_tfrecords(taxi_trips.iloc[1::2], str(folder / "part-1.tfrecord.gz"))
    return str(folder / "part-*.tfrecord.gz")


def train_taxi_model(folder: str, trips: Any, seed: int, steps: int) -> str:
    """The taxi MultiHead trained for `steps` batches of 256 and exported with its label keys
    into `folder`; returns the SavedModel directory."""
    import keras

    import heads
    from tfx_heads.pipeline.taxi import model as taxi_model_lib
    from tfx_heads.pipeline.taxi import sample

    keras.utils.set_random_seed(seed)
    features, labels = sample.features_and_labels(trips)
    logits_model, head = taxi_model_lib.build_model()
    model = heads.HeadModel(logits_model, head)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    dataset = tf.data.Dataset.from_tensor_slices((features, labels)).batch(256).take(steps)
    model.fit(dataset, epochs=1, verbose=0)
    export_dir = os.path.join(folder, "model")
    return heads.export_saved_model(
        model, export_dir, sample.feature_spec(), label_keys=sample.LABEL_KEYS
    )


@pytest.fixture(scope="session")
def taxi_model(tmp_path_factory, taxi_trips):
    """The taxi MultiHead model trained for a few steps and exported with its label keys."""
    return train_taxi_model(str(tmp_path_factory.mktemp("taxi_model")), taxi_trips, 0, 8)


@pytest.fixture(scope="session")
def taxi_baseline_model(tmp_path_factory, taxi_trips):
    """Another taxi model (other seed, fewer steps): a baseline whose metrics differ."""
    return train_taxi_model(str(tmp_path_factory.mktemp("taxi_baseline")), taxi_trips, 1, 3)


SYNTHETIC_SIZE = 2000


def synthetic_head():
    """A MultiHead covering every label form: binary ints with weights, multi-class
    vocabulary strings, multi-label variable-length strings and dense multi-hot ints,
    multi-label variable-length ids, and two-output regression with weights."""
    import heads

    return heads.MultiHead(
        [
            heads.BinaryClassHead(weight_column="w", thresholds=(0.3, 0.5, 0.7), name="bin"),
            heads.MultiClassHead(n_classes=4, label_vocabulary=["a", "b", "c", "d"], name="cls"),
            heads.MultiLabelHead(
                n_classes=3,
                label_vocabulary=["x", "y", "z"],
                thresholds=(0.5,),
                classes_for_class_based_metrics=["x", "z"],
                name="tags",
            ),
            heads.MultiLabelHead(
                n_classes=3,
                weight_column="w",
                thresholds=(0.4,),
                classes_for_class_based_metrics=[0, 1, 2],
                name="hot",
            ),
            heads.MultiLabelHead(n_classes=3, name="ids"),
            heads.RegressionHead(label_dimension=2, weight_column="w", name="reg"),
        ]
    )


def _on_grid(logits: np.ndarray) -> np.ndarray:
    """float32 logits rounded to multiples of 1/64.

    Distinct grid values lie 32 histogram buckets apart (at 2**16 buckets on [-16, 16]), so
    examples share a bucket only when their scores tie, which the histograms count exactly:
    AUCs then match scikit-learn to rounding, not just within their error bounds (which
    continuous scores are checked against in other tests). No grid value's sigmoid lies
    within 1e-4 of the test thresholds except 0.5 itself (logit 0, exactly).
    """
    return (np.round(np.asarray(logits) * 64) / 64).astype(np.float32)


def synthetic_arrays(size: int = SYNTHETIC_SIZE, seed: int = 0) -> dict[str, Any]:
    """Labels, logits, weights and slice features of the synthetic data (row order)."""
    rng = np.random.default_rng(seed)
    y_bin = rng.integers(0, 2, size)
    y_cls = rng.integers(0, 4, size)
    y_tags = rng.random((size, 3)) < [0.3, 0.5, 0.2]
    y_hot = (rng.random((size, 3)) < 0.4).astype(np.int64)
    y_ids = rng.random((size, 3)) < 0.35
    logit_bin = _on_grid(rng.normal(0.8 * (2 * y_bin - 1), 1.5))
    logit_cls = (rng.normal(size=(size, 4)) + 1.2 * np.eye(4)[y_cls]).astype(np.float32)
    logit_tags = _on_grid(rng.normal(1.0 * (2 * y_tags - 1), 1.3))
    logit_hot = _on_grid(rng.normal(0.7 * (2 * y_hot - 1), 1.0))
    logit_ids = _on_grid(rng.normal(0.5 * (2 * y_ids - 1), 1.0))
    y_reg = rng.normal(size=(size, 2)).astype(np.float32)
    logit_reg = (y_reg + rng.normal(scale=0.5, size=(size, 2))).astype(np.float32)
    weights = rng.choice([0.5, 1.0, 2.0, 3.0], size).astype(np.float32)
    multi_choices = [[], ["m1"], ["m2"], ["m1", "m2"], ["m2", "m2"]]
    return {
        "y_bin": y_bin,
        "y_cls": y_cls,
        "y_tags": y_tags.astype(np.int64),
        "y_hot": y_hot,
        "y_ids": y_ids.astype(np.int64),
        "y_reg": y_reg,
        "logit_bin": logit_bin,
        "logit_cls": logit_cls,
        "logit_tags": logit_tags,
        "logit_hot": logit_hot,
        "logit_ids": logit_ids,
        "logit_reg": logit_reg,
        "w": weights,
        "group": np.array(["g0", "g1", "g2"])[rng.integers(0, 3, size)],
        "bucket": rng.integers(0, 4, size),
        "multi": [multi_choices[i] for i in rng.integers(0, len(multi_choices), size)],
    }


def synthetic_rows(arrays: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One tf.Example feature dict per row of `synthetic_arrays`."""
    vocab_cls, vocab_tags = np.array(["a", "b", "c", "d"]), np.array(["x", "y", "z"])
    rows = []
    for i in range(len(arrays["y_bin"])):
        rows.append(
            {
                "y_bin": int(arrays["y_bin"][i]),
                "y_cls": str(vocab_cls[arrays["y_cls"][i]]),
                "y_tags": [str(v) for v in vocab_tags[arrays["y_tags"][i].astype(bool)]],
                "y_hot": arrays["y_hot"][i].tolist(),
                "y_ids": np.flatnonzero(arrays["y_ids"][i]).tolist(),
                "y_reg": [float(v) for v in arrays["y_reg"][i]],
                "logit_bin": [float(arrays["logit_bin"][i])],
                "logit_cls": [float(v) for v in arrays["logit_cls"][i]],
                "logit_tags": [float(v) for v in arrays["logit_tags"][i]],
                "logit_hot": [float(v) for v in arrays["logit_hot"][i]],
                "logit_ids": [float(v) for v in arrays["logit_ids"][i]],
                "logit_reg": [float(v) for v in arrays["logit_reg"][i]],
                "w": float(arrays["w"][i]),
                "group": str(arrays["group"][i]),
                "bucket": int(arrays["bucket"][i]),
                "multi": list(arrays["multi"][i]),
            }
        )
    for row in rows:
        for key in [k for k, v in row.items() if isinstance(v, list) and not v]:
            del row[key]  # An empty list is written as a missing feature.
    return rows


SYNTHETIC_LABEL_KEYS = {name: f"y_{name}" for name in ("bin", "cls", "tags", "hot", "ids", "reg")}
SYNTHETIC_LOGITS = {name: f"logit_{name}" for name in SYNTHETIC_LABEL_KEYS}
SYNTHETIC_SLICES = ("group", "bucket", "multi", "group,bucket")


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory):
    """The synthetic MultiHead data in two gzipped files; a namespace with `glob`, `head`,
    `arrays`, `label_keys`, `logits_features` and `slices`."""
    folder = tmp_path_factory.mktemp("synthetic")
    arrays = synthetic_arrays()
    rows = synthetic_rows(arrays)
    half = len(rows) // 2
    write_examples(folder / "part-0.tfrecord.gz", rows[:half])
    write_examples(folder / "part-1.tfrecord.gz", rows[half:])
    return types.SimpleNamespace(
        glob=str(folder / "part-*.tfrecord.gz"),
        head=synthetic_head(),
        arrays=arrays,
        label_keys=dict(SYNTHETIC_LABEL_KEYS),
        logits_features=dict(SYNTHETIC_LOGITS),
        slices=SYNTHETIC_SLICES,
    )


@pytest.fixture(scope="session")
def synthetic_result(synthetic, tmp_path_factory):
    """`(metrics.json document, output directory)` of the synthetic evaluation, in-process."""
    from tfx_heads.components.evaluator import runner

    output = str(tmp_path_factory.mktemp("synthetic_eval"))
    document = runner.evaluate(
        synthetic.glob,
        output,
        head=synthetic.head,
        logits_features=synthetic.logits_features,
        label_keys=synthetic.label_keys,
        slices=synthetic.slices,
        batch_size=700,
    )
    return document, output


TAXI_SLICES = ("trip_start_day",)


@pytest.fixture(scope="session")
def taxi_result(taxi_examples, taxi_model, tmp_path_factory):
    """`(metrics.json document, output directory)` of the taxi model, in-process, batch 512."""
    from tfx_heads.components.evaluator import runner

    output = str(tmp_path_factory.mktemp("taxi_eval"))
    document = runner.evaluate(
        taxi_examples, output, model=taxi_model, slices=TAXI_SLICES, batch_size=512
    )
    return document, output
