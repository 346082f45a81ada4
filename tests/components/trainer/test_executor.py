"""The head trainer's executor, run directly on a small taxi sample under MirroredStrategy."""

import glob
import json
import os
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_transform.tf_metadata import schema_utils
from tfx.proto import trainer_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import json_utils, proto_utils

import heads
from heads.export import head_export_outputs
from tfx_heads.components.trainer import constants, executor, strategy, train
from tfx_heads.components.trainer.options import TrainerOptions
from tfx_heads.pipeline.taxi import sample

NUM_TRIPS = 2000
NUM_EVAL = 400
MIRRORED_DEVICES = ("/cpu:0", "/cpu:1")
SPARSE_IN_SCHEMA = (*sample.CATEGORICAL_FEATURES, "payment_type", "trip_tags")


def taxi_schema():
    """A schema of the taxi examples, as SchemaGen may infer it.

    The numeric features (int64 or float) and two labels have a fixed shape `[1]` (dense when
    parsed, cast to the model's float inputs); the
    categorical features and `payment_type` have none but one value each (sparse when
    parsed, densified by the trainer); `trip_tags` holds 0 to 4 values (a sparse label).
    """
    spec = {}
    for name in (*sample.NUMERIC_FEATURES, "log_trip_seconds"):
        dtype = tf.int64 if name in sample.INTEGER_FEATURES else tf.float32
        spec[name] = tf.io.FixedLenFeature([1], dtype)
    spec["big_tipper"] = tf.io.FixedLenFeature([1], tf.int64)
    for name in SPARSE_IN_SCHEMA:
        spec[name] = tf.io.VarLenFeature(tf.string)
    schema = schema_utils.schema_from_feature_spec(spec)
    for feature in schema.feature:
        if feature.name in SPARSE_IN_SCHEMA and feature.name != "trip_tags":
            feature.value_count.min = feature.value_count.max = 1
    return schema


def make_artifacts(root, trips, schema):
    """Examples (train/eval splits), Schema, Model and ModelRun artifacts under `root`."""
    examples = standard_artifacts.Examples()
    examples.uri = os.path.join(root, "examples")
    examples.split_names = artifact_utils.encode_split_names(["train", "eval"])
    sample.write_tfrecords(
        trips.iloc[NUM_EVAL:], os.path.join(examples.uri, "Split-train", "data.gz")
    )
    sample.write_tfrecords(
        trips.iloc[:NUM_EVAL], os.path.join(examples.uri, "Split-eval", "data.gz")
    )
    schema_artifact = standard_artifacts.Schema()
    schema_artifact.uri = os.path.join(root, "schema")
    os.makedirs(schema_artifact.uri)
    with open(os.path.join(schema_artifact.uri, "schema.pbtxt"), "w") as f:
        f.write(str(schema))
    model = standard_artifacts.Model()
    model.uri = os.path.join(root, "model")
    model_run = standard_artifacts.ModelRun()
    model_run.uri = os.path.join(root, "model_run")
    return examples, schema_artifact, model, model_run


def exec_properties(module_file, options, train_steps, eval_steps):
    return {
        "train_args": proto_utils.proto_to_json(trainer_pb2.TrainArgs(num_steps=train_steps)),
        "eval_args": proto_utils.proto_to_json(trainer_pb2.EvalArgs(num_steps=eval_steps)),
        "module_file": module_file,
        "custom_config": json_utils.dumps({constants.OPTIONS_KEY: options.to_json_dict()}),
    }


@pytest.fixture(scope="module")
def taxi_run(tmp_path_factory, mirrored_strategy):
    """Runs the executor once: taxi module, mirrored over the two logical CPUs.

    The executor gets the session's MirroredStrategy for that configuration rather than a
    second one, which could clash with it (docs/heads-behaviour.md §12.6).
    """
    root = str(tmp_path_factory.mktemp("taxi_run"))
    trips = sample.load_trips().iloc[:NUM_TRIPS]
    examples, schema, model, model_run = make_artifacts(root, trips, taxi_schema())
    module_file = os.path.join(os.path.dirname(sample.__file__), "trainer_module.py")
    options = TrainerOptions(strategy="mirrored", devices=MIRRORED_DEVICES, batch_size=64, epochs=2)
    requested, results = [], []

    def session_distribution(name, devices, tpu, tf_config):
        requested.append((name, tuple(devices), tpu, tf_config))
        return strategy.Distribution(mirrored_strategy, "mirrored", chief=True, num_workers=1)

    def recording_run_training(*args, **kwargs):
        results.append(run_training(*args, **kwargs))
        return results[-1]

    run_training = train.run_training
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(strategy, "create_distribution", session_distribution)
        patch.setattr(train, "run_training", recording_run_training)
        executor.Executor().Do(
            {"examples": [examples], "schema": [schema]},
            {"model": [model], "model_run": [model_run]},
            exec_properties(module_file, options, train_steps=24, eval_steps=3),
        )
    assert requested == [("mirrored", MIRRORED_DEVICES, None, {})]
    return {
        "result": results[0],
        "serving_dir": os.path.join(model.uri, "Format-Serving"),
        "model_run_dir": model_run.uri,
        "trips": trips.iloc[:8],
    }


def taxi_features(trips):
    """The model inputs of `trips` as dense `[N, 1]` tensors."""
    features = {
        name: tf.constant(trips[name].to_numpy(np.float32).reshape(-1, 1))
        for name in sample.NUMERIC_FEATURES
    }
    features.update(
        {
            name: tf.constant(trips[name].to_numpy().astype(object).reshape(-1, 1))
            for name in sample.CATEGORICAL_FEATURES
        }
    )
    return features


@pytest.mark.slow
def test_training_runs_under_mirrored_strategy_and_logs(taxi_run):
    result = taxi_run["result"]
    assert result.chief
    assert result.num_replicas == 2
    assert len(result.history["loss"]) == 2
    assert np.isfinite(result.history["val_auc/big_tipper"]).all()
    events = glob.glob(os.path.join(taxi_run["model_run_dir"], "**", "events.out.tfevents*"))
    assert {os.path.basename(os.path.dirname(path)) for path in events} == {
        "train",
        "validation",
    }
    assert os.path.isfile(os.path.join(taxi_run["model_run_dir"], constants.HISTORY_FILE))


@pytest.mark.slow
def test_head_config_holds_the_multi_head_and_label_keys(taxi_run):
    head, label_keys = heads.load_head_config(taxi_run["serving_dir"])
    assert isinstance(head, heads.MultiHead)
    assert [sub_head.name for sub_head in head.heads] == list(sample.LABEL_KEYS)
    assert label_keys == sample.LABEL_KEYS


@pytest.mark.slow
def test_every_signature_answers_serialized_examples_like_the_model(taxi_run):
    model = taxi_run["result"].model
    trips = taxi_run["trips"]
    serialized = tf.constant(sample.to_tf_examples(trips))
    predictions = model.head.predictions(model(taxi_features(trips), training=False))
    expected_outputs = head_export_outputs(heads.describe(model.head))
    loaded = tf.saved_model.load(taxi_run["serving_dir"])
    assert set(loaded.signatures) == set(expected_outputs)
    assert {"serving_default", "predict", "big_tipper", "trip_tags/classification"} <= set(
        loaded.signatures
    )

    for name, export_output in expected_outputs.items():
        signature = loaded.signatures[name]
        (input_name,) = signature.structured_input_signature[1]
        outputs = signature(**{input_name: serialized})
        expected = export_output.outputs(predictions)
        assert set(outputs) == set(expected), name
        for key, value in expected.items():
            assert outputs[key].shape[0] == len(trips), (name, key)
            if value.dtype == tf.string:
                np.testing.assert_array_equal(outputs[key].numpy(), value.numpy())
            else:
                np.testing.assert_allclose(
                    outputs[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6, err_msg=name
                )


def test_do_rejects_missing_schema_before_any_work(tmp_path):
    examples = standard_artifacts.Examples()
    model, model_run = standard_artifacts.Model(), standard_artifacts.ModelRun()
    with pytest.raises(ValueError, match=r"Invalid `input_dict`: expected `schema` or"):
        executor.Executor().Do(
            {"examples": [examples]},
            {"model": [model], "model_run": [model_run]},
            exec_properties("unused.py", TrainerOptions(), 1, 1),
        )


def test_an_evaluator_task_has_nothing_to_train(tmp_path, monkeypatch):
    # Vertex AI starts the evaluator pool's replicas with the trainer task too.
    cluster = {"chief": ["localhost:1"], "worker": ["localhost:2"], "evaluator": ["localhost:3"]}
    monkeypatch.setenv(
        "TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "evaluator", "index": 0}})
    )
    examples, schema = standard_artifacts.Examples(), standard_artifacts.Schema()
    model, model_run = standard_artifacts.Model(), standard_artifacts.ModelRun()
    model.uri, model_run.uri = str(tmp_path / "model"), str(tmp_path / "model_run")
    executor.Executor().Do(
        {"examples": [examples], "schema": [schema]},
        {"model": [model], "model_run": [model_run]},
        exec_properties("unused.py", TrainerOptions(), 1, 1),
    )
    assert not (tmp_path / "model").exists() and not (tmp_path / "model_run").exists()


def test_check_inputs_rejects_base_model_and_missing_outputs():
    examples, schema = standard_artifacts.Examples(), standard_artifacts.Schema()
    outputs = {"model": [standard_artifacts.Model()], "model_run": [standard_artifacts.ModelRun()]}
    properties = exec_properties("unused.py", TrainerOptions(), 1, 1)
    with pytest.raises(ValueError, match="does not warm-start"):
        executor.check_inputs(
            {"examples": [examples], "schema": [schema], "base_model": [outputs["model"][0]]},
            outputs,
            properties,
        )
    with pytest.raises(ValueError, match=r"expected a `model_run` artifact"):
        executor.check_inputs(
            {"examples": [examples], "schema": [schema]}, {"model": outputs["model"]}, properties
        )
    with pytest.raises(ValueError, match=r"expected `examples` artifacts"):
        executor.check_inputs({"schema": [schema]}, outputs, properties)


def test_verify_outputs_names_the_missing_file(tmp_path):
    with pytest.raises(RuntimeError, match="saved_model.pb"):
        executor.verify_outputs(str(tmp_path))


TRANSFORM_MODULE = """
import keras

import heads

LABEL_KEYS = "tipped"
RAW_LABEL_KEYS = "big_tipper"


def build_model(hparams):
    inputs = {
        "fare_z": keras.Input(shape=(1,), name="fare_z"),
        "hour": keras.Input(shape=(), name="hour"),
        "company_id": keras.Input(shape=(1,), name="company_id", dtype="int64"),
    }
    company = keras.layers.Flatten()(keras.layers.Embedding(100, 2)(inputs["company_id"]))
    hour = keras.layers.Reshape((1,))(inputs["hour"])
    hidden = keras.layers.Concatenate()([inputs["fare_z"], hour, company])
    logits = keras.layers.Dense(1)(keras.layers.Dense(4, activation="relu")(hidden))
    return keras.Model(inputs, logits), heads.BinaryClassHead(name="tipped")
"""


def preprocessing_fn(inputs):
    import tensorflow_transform as tft

    return {
        "fare_z": tft.scale_to_z_score(inputs["fare"]),
        "hour": tf.cast(tf.squeeze(inputs["trip_start_hour"], -1), tf.float32),
        "company_id": tft.compute_and_apply_vocabulary(inputs["company"], num_oov_buckets=1),
        "tipped": inputs["big_tipper"],
    }


def raw_examples(trips, with_label):
    """Serialized raw examples: fare, company, trip_start_hour (and big_tipper)."""
    serialized = []
    for row in trips.itertuples():
        feature = {
            "fare": tf.train.Feature(float_list=tf.train.FloatList(value=[row.fare])),
            "company": tf.train.Feature(
                bytes_list=tf.train.BytesList(value=[row.company.encode()])
            ),
            "trip_start_hour": tf.train.Feature(
                int64_list=tf.train.Int64List(value=[int(row.trip_start_hour)])
            ),
        }
        if with_label:
            feature["big_tipper"] = tf.train.Feature(
                int64_list=tf.train.Int64List(value=[row.big_tipper])
            )
        example = tf.train.Example(features=tf.train.Features(feature=feature))
        serialized.append(example.SerializeToString())
    return serialized


@pytest.fixture(scope="module")
def transform_run(tmp_path_factory):
    """Runs Transform (in-process Beam) on 300 trips, then the executor on its output."""
    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import metadata_io

    root = str(tmp_path_factory.mktemp("transform_run"))
    trips = sample.load_trips().iloc[:300]
    raw_spec = {
        "fare": tf.io.FixedLenFeature([1], tf.float32),
        "company": tf.io.FixedLenFeature([1], tf.string),
        "trip_start_hour": tf.io.FixedLenFeature([1], tf.int64),
        "big_tipper": tf.io.FixedLenFeature([1], tf.int64),
    }
    raw_metadata = tft.DatasetMetadata(schema_utils.schema_from_feature_spec(raw_spec))
    raw_data = [tf.io.parse_single_example(x, raw_spec) for x in raw_examples(trips, True)]
    raw_data = [{k: v.numpy() for k, v in row.items()} for row in raw_data]
    transform_dir = os.path.join(root, "transform_graph")
    with tft_beam.Context(temp_dir=os.path.join(root, "tft_tmp"), force_tf_compat_v1=False):
        (transformed, transformed_metadata), transform_fn = (
            raw_data,
            raw_metadata,
        ) | tft_beam.AnalyzeAndTransformDataset(preprocessing_fn)
        _ = transform_fn | tft_beam.WriteTransformFn(transform_dir)
    metadata_io.write_metadata(
        raw_metadata, os.path.join(transform_dir, tft.TFTransformOutput.RAW_METADATA_DIR)
    )
    coder = tft.coders.ExampleProtoCoder(transformed_metadata.schema)
    examples = standard_artifacts.Examples()
    examples.uri = os.path.join(root, "examples")
    examples.split_names = artifact_utils.encode_split_names(["train", "eval"])
    for split, rows in (("train", transformed[60:]), ("eval", transformed[:60])):
        path = os.path.join(examples.uri, f"Split-{split}", "data.gz")
        os.makedirs(os.path.dirname(path))
        with tf.io.TFRecordWriter(path, options="GZIP") as writer:
            for row in rows:
                writer.write(coder.encode(row))
    transform_graph = standard_artifacts.TransformGraph()
    transform_graph.uri = transform_dir
    model = standard_artifacts.Model()
    model.uri = os.path.join(root, "model")
    model_run = standard_artifacts.ModelRun()
    model_run.uri = os.path.join(root, "model_run")
    module_file = os.path.join(root, "transform_module.py")
    with open(module_file, "w") as f:
        f.write(TRANSFORM_MODULE)
    options = TrainerOptions(strategy="one_device", devices=("/cpu:0",), batch_size=32)
    executor.Executor().Do(
        {"examples": [examples], "transform_graph": [transform_graph]},
        {"model": [model], "model_run": [model_run]},
        exec_properties(module_file, options, train_steps=4, eval_steps=2),
    )
    return {
        "serving_dir": os.path.join(model.uri, "Format-Serving"),
        "transform_dir": transform_dir,
        "trips": trips.iloc[:5],
    }


@pytest.mark.slow
def test_with_transform_serving_applies_the_graph_to_raw_examples(transform_run):
    import tensorflow_transform as tft

    head, label_keys = heads.load_head_config(transform_run["serving_dir"])
    assert (head.name, label_keys) == ("tipped", "big_tipper")
    loaded = tf.saved_model.load(transform_run["serving_dir"])
    serialized = tf.constant(raw_examples(transform_run["trips"], with_label=False))
    scores = loaded.signatures["serving_default"](inputs=serialized)["scores"]
    assert scores.shape == (5, 2)

    # The same examples through the Transform graph by hand, then the predict signature's
    # logits as the model's own answer: both paths must agree.
    transform_output = tft.TFTransformOutput(transform_run["transform_dir"])
    raw_spec = transform_output.raw_feature_spec()
    raw_spec.pop("big_tipper")
    transformed = transform_output.transform_raw_features(tf.io.parse_example(serialized, raw_spec))
    assert set(transformed) == {"fare_z", "hour", "company_id"}
    logits = loaded.signatures["predict"](examples=serialized)["logits"]
    probabilities = tf.sigmoid(logits)
    # 1 - sigmoid(x) in float32 loses relative precision near 0: compare probabilities
    # with an absolute tolerance.
    np.testing.assert_allclose(
        scores.numpy(), tf.concat([1 - probabilities, probabilities], -1).numpy(), atol=1e-6
    )


PROGRAM = os.path.join(os.path.dirname(__file__), "executor_program.py")
TAXI_MODULE = os.path.join(os.path.dirname(sample.__file__), "trainer_module.py")


def write_executor_spec(root, options, train_steps, eval_steps, num_trips=NUM_TRIPS):
    """Writes the taxi artifacts and a spec for executor_program.py; returns their paths."""
    trips = sample.load_trips().iloc[:num_trips]
    examples, schema, model, model_run = make_artifacts(str(root), trips, taxi_schema())
    spec_path = os.path.join(root, "spec.json")
    with open(spec_path, "w") as f:
        json.dump(
            {
                "input_dict": artifact_utils.jsonify_artifact_dict(
                    {"examples": [examples], "schema": [schema]}
                ),
                "output_dict": artifact_utils.jsonify_artifact_dict(
                    {"model": [model], "model_run": [model_run]}
                ),
                "exec_properties": exec_properties(TAXI_MODULE, options, train_steps, eval_steps),
            },
            f,
        )
    return spec_path, os.path.join(model.uri, "Format-Serving"), model_run.uri, trips


def answer(serving_dir, signature_name, trips):
    """The outputs of a signature of the SavedModel for `trips` as serialized examples."""
    signature = tf.saved_model.load(serving_dir).signatures[signature_name]
    (input_name,) = signature.structured_input_signature[1]
    return signature(**{input_name: tf.constant(sample.to_tf_examples(trips))})


def read_training_state(model_run_dir):
    with open(os.path.join(model_run_dir, constants.TRAINING_STATE_FILE)) as f:
        return json.load(f)


@pytest.mark.slow
def test_two_workers_train_and_only_the_chief_exports(tmp_path, run_cluster):
    options = TrainerOptions(strategy="multi_worker", batch_size=32, backup_steps=4)
    spec, serving_dir, model_run_dir, trips = write_executor_spec(
        tmp_path, options, train_steps=8, eval_steps=2, num_trips=600
    )
    run_cluster([PROGRAM, spec], ("chief", "worker"), timeout=600)

    state = read_training_state(model_run_dir)
    assert state == {
        "strategy": "multi_worker",
        "num_replicas": 2,
        "start_step": 0,
        "final_step": 8,
        "jit_compile": False,
    }
    assert not os.path.exists(os.path.join(model_run_dir, "backup"))  # removed after success
    assert os.listdir(tmp_path / "tmp-worker0") == []  # the worker's export and logs are gone
    probabilities = answer(serving_dir, "big_tipper", trips.iloc[:5])["scores"].numpy()
    assert probabilities.shape == (5, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    head, _ = heads.load_head_config(serving_dir)
    assert [sub_head.name for sub_head in head.heads] == list(sample.LABEL_KEYS)


@pytest.mark.slow
def test_a_killed_trainer_resumes_from_its_last_backup(tmp_path, run_cluster):
    import signal
    import subprocess
    import sys
    import time

    train_steps = 600
    options = TrainerOptions(
        strategy="one_device", devices=("/cpu:0",), batch_size=16, backup_steps=20
    )
    spec, serving_dir, model_run_dir, trips = write_executor_spec(
        tmp_path, options, train_steps=train_steps, eval_steps=2
    )
    backup_dir = os.path.join(model_run_dir, "backup")
    process = subprocess.Popen(
        [sys.executable, PROGRAM, spec],
        env={**os.environ, "PYTHONPATH": str(pathlib.Path(__file__).resolve().parents[3])},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while tf.train.latest_checkpoint(backup_dir) is None:
        assert process.poll() is None, "the trainer ended before its first backup"
        assert time.monotonic() < deadline, "no backup within 300 s"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)  # preemption: no chance to clean up
    process.wait()
    backed_up_step = int(tf.train.latest_checkpoint(backup_dir).rsplit("-", 1)[1])
    assert 0 < backed_up_step < train_steps
    assert not os.path.exists(os.path.join(model_run_dir, constants.TRAINING_STATE_FILE))

    run_cluster([PROGRAM, spec], (), timeout=600)  # the retried task
    state = read_training_state(model_run_dir)
    assert state["start_step"] == backed_up_step  # the last backup, not from scratch
    assert state["final_step"] == train_steps
    assert not os.path.exists(backup_dir)
    outputs = answer(serving_dir, "serving_default", trips.iloc[:3])
    assert all(
        np.isfinite(value.numpy()).all() for value in outputs.values() if value.dtype.is_floating
    )


XLA_MODULE = """
import keras

from tfx_heads.pipeline.taxi import model, sample

LABEL_KEYS = dict(sample.LABEL_KEYS)


def build_model(hparams):
    # Numeric inputs only: every layer supports XLA (the sample's Hashing layers do not).
    head = model.build_head()
    inputs = {name: keras.Input(shape=(1,), name=name) for name in sample.NUMERIC_FEATURES}
    hidden = keras.layers.Concatenate()(list(inputs.values()))
    hidden = keras.layers.Dense(8, activation="relu")(keras.layers.Normalization()(hidden))
    outputs = {sub.name: keras.layers.Dense(sub.logits_dimension)(hidden) for sub in head.heads}
    return keras.Model(inputs, outputs), head
"""


@pytest.mark.slow
def test_compiled_bfloat16_training_exports_float32_answers(tmp_path):
    # What a TPU runs: every step compiled by XLA (the vocabulary and sparse multi-label
    # labels converted on the host), layers computing in bfloat16.
    options = TrainerOptions(
        strategy="one_device",
        devices=("/cpu:0",),
        batch_size=32,
        jit_compile=True,
        mixed_precision="mixed_bfloat16",
    )
    spec_path, serving_dir, model_run_dir, trips = write_executor_spec(
        tmp_path, options, train_steps=6, eval_steps=2, num_trips=600
    )
    with open(spec_path) as f:
        spec = json.load(f)
    module_file = tmp_path / "xla_module.py"
    module_file.write_text(XLA_MODULE)
    spec["exec_properties"]["module_file"] = str(module_file)
    policy = keras.config.dtype_policy().name
    executor.Executor().Do(
        artifact_utils.parse_artifact_dict(spec["input_dict"]),
        artifact_utils.parse_artifact_dict(spec["output_dict"]),
        spec["exec_properties"],
    )
    assert keras.config.dtype_policy().name == policy  # the global policy is restored
    state = read_training_state(model_run_dir)
    assert (state["final_step"], state["jit_compile"]) == (6, True)
    outputs = answer(serving_dir, "predict", trips.iloc[:4])
    assert outputs["payment_type/probabilities"].dtype == tf.float32
    np.testing.assert_allclose(
        outputs["payment_type/probabilities"].numpy().sum(axis=1), 1.0, rtol=1e-5
    )
    classes = outputs["payment_type/classes"].numpy().ravel()
    assert set(classes) <= {name.encode() for name in sample.PAYMENT_TYPES}
