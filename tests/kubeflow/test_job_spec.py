"""Tests of `tfx_heads.kubeflow.job_spec`: reading a compiled job for a local run (no task runs
here).

The job is the compile test's golden file, a real `KubeflowV2DagRunner` output.
"""

import copy
import json
import pathlib

import pytest

from tfx_heads.kubeflow import job_spec

GOLDEN = pathlib.Path(__file__).parent / "testdata" / "pipeline_job.golden.json"


@pytest.fixture
def document():
    return json.loads(GOLDEN.read_text())


def _write(tmp_path, document):
    path = tmp_path / "job.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_tasks_come_after_every_task_they_depend_on(document, tmp_path):
    job = job_spec.load_job(_write(tmp_path, document))
    tasks = document["pipelineSpec"]["root"]["dag"]["tasks"]
    position = {task.name: index for index, task in enumerate(job.tasks)}

    assert set(position) == set(tasks)
    for name, task in tasks.items():
        producers = set(task.get("dependentTasks", []))
        for artifact in task.get("inputs", {}).get("artifacts", {}).values():
            producers.add(artifact["taskOutputArtifact"]["producerTask"])
        for producer in producers:
            assert position[producer] < position[name], (producer, name)
    kinds = {task.name: task.kind for task in job.tasks}
    assert kinds["HeadTrainer"] == "container"
    assert kinds["latest_blessed_model_resolver-model-resolver"] == "resolver"
    assert (job.name, job.root) == ("tfx-heads-taxi", "gs://my-bucket/tfx-heads/root")


def test_constant_parameters_keep_their_types(document, tmp_path):
    job = job_spec.load_job(_write(tmp_path, document))
    evaluator = next(task for task in job.tasks if task.name == "HeadEvaluator")

    values = job_spec.task_parameters(evaluator, job, {})

    assert values["bootstrap_replicates"] == 0 and isinstance(values["bootstrap_replicates"], int)
    assert json.loads(values["eval_config"])["slicingSpecs"][1] == {
        "featureKeys": ["trip_start_day"]
    }


def _with_runtime_parameter(document, default=None):
    """The job with ExampleGen's input_base taken from a runtime parameter `data_root`."""
    document = copy.deepcopy(document)
    spec = document["pipelineSpec"]
    spec["root"]["inputDefinitions"] = {"parameters": {"data_root": {"type": "STRING"}}}
    if default is not None:
        spec["root"]["inputDefinitions"]["parameters"]["data_root"]["defaultValue"] = default
    spec["root"]["dag"]["tasks"]["ImportExampleGen"]["inputs"]["parameters"]["input_base"] = {
        "componentInputParameter": "data_root"
    }
    return document


def _input_base(job):
    example_gen = next(task for task in job.tasks if task.name == "ImportExampleGen")
    return job_spec.task_parameters(example_gen, job, {})["input_base"]


def test_runtime_parameters_take_the_jobs_value_then_an_override(document, tmp_path):
    document = _with_runtime_parameter(document, default="/default")
    assert _input_base(job_spec.load_job(_write(tmp_path, document))) == "/default"

    document["runtimeConfig"]["parameters"] = {"data_root": {"stringValue": "/data"}}
    job = job_spec.load_job(_write(tmp_path, document))
    assert _input_base(job) == "/data"
    assert _input_base(job_spec.override_parameters(job, {"data_root": "/other"})) == "/other"
    with pytest.raises(ValueError, match=r"Invalid `--parameter data_rot`: expected one of"):
        job_spec.override_parameters(job, {"data_rot": "/x"})


def test_a_runtime_parameter_without_a_value_is_named(document, tmp_path):
    job = job_spec.load_job(_write(tmp_path, _with_runtime_parameter(document)))

    with pytest.raises(ValueError, match=r"'ImportExampleGen': parameter 'input_base' .*data_root"):
        _input_base(job)


@pytest.mark.parametrize(
    "kind, text, expected",
    [("INT", "3", 3), ("DOUBLE", "0.5", 0.5), ("STRING", "x", "x")],
)
def test_parameter_text_is_typed_as_declared(kind, text, expected):
    from kfp.pipeline_spec import pipeline_spec_pb2 as pb

    spec = pb.ComponentInputsSpec.ParameterSpec(type=pb.PrimitiveType.PrimitiveTypeEnum.Value(kind))

    assert job_spec.parse_parameter("p", text, spec) == expected
    if kind == "INT":
        with pytest.raises(ValueError, match=r"Invalid `--parameter p`: .*\(INT\); received 'x'"):
            job_spec.parse_parameter("p", "x", spec)


def test_a_cycle_and_an_unknown_task_are_named(document, tmp_path):
    tasks = document["pipelineSpec"]["root"]["dag"]["tasks"]
    tasks["ImportExampleGen"]["dependentTasks"] = ["Pusher"]
    with pytest.raises(ValueError, match=r"depend on each other in a cycle"):
        job_spec.load_job(_write(tmp_path, document))
    tasks["ImportExampleGen"]["dependentTasks"] = ["Trainer"]
    with pytest.raises(ValueError, match=r"task 'ImportExampleGen' depends on \['Trainer'\]"):
        job_spec.load_job(_write(tmp_path, document))


def test_a_file_that_is_not_a_job_is_refused(tmp_path):
    path = tmp_path / "job.json"
    path.write_text('{"pipelineSpec": {}, "unknownField": 1}')

    with pytest.raises(ValueError, match=r"Invalid pipeline job .*expected the Kubeflow"):
        job_spec.load_job(str(path))


def test_remote_paths_are_refused_naming_where_they_are(document, tmp_path):
    job = job_spec.load_job(_write(tmp_path, document))

    with pytest.raises(ValueError, match=r"Invalid pipeline root 'gs://my-bucket/tfx-heads/root'"):
        job_spec.check_local(job, job.root)
    with pytest.raises(
        ValueError, match=r"'ImportExampleGen': parameter 'input_base' holds a gs://"
    ):
        job_spec.check_local(job, str(tmp_path))

    local = json.loads(json.dumps(document).replace("gs://my-bucket/tfx-heads", str(tmp_path)))
    with pytest.raises(
        ValueError, match=r"container argument '--temp_location=gs://my-bucket/tmp'"
    ):
        job_spec.check_local(job_spec.load_job(_write(tmp_path, local)), str(tmp_path))
