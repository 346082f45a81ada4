"""Tests of `tfx_heads.kubeflow.compile` and `tfx-heads compile`: the Kubeflow job spec, without a
cluster.

The golden file `testdata/pipeline_job.golden.json` is the compiled spec with volatile fields
(TFX/Python versions) normalised. After an intended change, regenerate it with
`UPDATE_GOLDEN=1 python -m pytest tests/kubeflow/test_compile.py` and review the diff.
"""

import json
import os
import pathlib

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from tfx_heads import cli as tfx_heads_cli
from tfx_heads.components.evaluator import eval_config
from tfx_heads.kubeflow import cli, compile
from tfx_heads.pipeline.taxi import config as taxi_config

GOLDEN = pathlib.Path(__file__).parent / "testdata" / "pipeline_job.golden.json"
IMAGE = "us-docker.pkg.dev/my-project/tfx/tfx-heads:1"
PIPELINE_ROOT = "gs://my-bucket/tfx-heads/root"
DATA_ROOT = "gs://my-bucket/tfx-heads/data"
DATAFLOW_ARGS = [
    "--runner=DataflowRunner",
    "--project=my-project",
    "--region=us-central1",
    "--temp_location=gs://my-bucket/tmp",
    "--max_num_workers=8",
]
EXPECTED_BEAM_ARGS = [
    *DATAFLOW_ARGS,
    f"--sdk_container_image={IMAGE}",
    "--setup_file=/tfx-heads/setup.py",
]
COMPONENTS = (
    "ImportExampleGen",
    "StatisticsGen",
    "SchemaGen",
    "HeadTrainer",
    "HeadEvaluator",
    "Pusher",
)
BEAM_COMPONENTS = ("ImportExampleGen", "StatisticsGen", "HeadEvaluator")
EXECUTOR_CLASSES = {
    "HeadTrainer": "tfx_heads.components.trainer.executor.Executor",
    "HeadEvaluator": "tfx_heads.components.evaluator.executor.Executor",
}
RESOURCES = compile.TrainerResources(
    cpu_limit=8, memory_limit=32, accelerator_type="NVIDIA_TESLA_T4", accelerator_count=2
)


@pytest.fixture(scope="module")
def job_path(tmp_path_factory):
    output = tmp_path_factory.mktemp("compiled") / "pipeline.json"
    written = compile.compile_pipeline(
        output=str(output),
        image=IMAGE,
        pipeline_root=PIPELINE_ROOT,
        data_root=DATA_ROOT,
        beam_args=" ".join(DATAFLOW_ARGS),
        train_steps=2000,
        eval_steps=100,
        trainer_options={"strategy": "mirrored", "batch_size": 1024, "epochs": 2},
        trainer_resources=RESOURCES,
    )
    assert written == str(output)
    return output


@pytest.fixture(scope="module")
def job(job_path):
    with open(job_path) as f:
        return json.load(f)


def _executor(job, component):
    spec = job["pipelineSpec"]
    label = spec["components"][component]["executorLabel"]
    return spec["deploymentSpec"]["executors"][label]["container"]


def normalise(job: dict) -> dict:
    """The job without the fields that change with the TFX or Python version."""
    job = json.loads(json.dumps(job))
    job["labels"] = {key: value for key, value in job["labels"].items() if "version" not in key}
    job["pipelineSpec"]["sdkVersion"] = "tfx-VERSION"
    return job


def test_job_parses_strictly_into_kubeflow_protos(job_path, job):
    with open(job_path) as f:
        parsed = json_format.Parse(f.read(), pipeline_spec_pb2.PipelineJob())
    spec = json_format.ParseDict(job["pipelineSpec"], pipeline_spec_pb2.PipelineSpec())

    assert parsed.display_name == "tfx-heads-taxi"
    assert parsed.runtime_config.gcs_output_directory == PIPELINE_ROOT
    assert spec.pipeline_info.name == "tfx-heads-taxi"
    assert set(COMPONENTS) <= set(spec.root.dag.tasks)
    assert any(task.startswith("latest_blessed_model_resolver") for task in spec.root.dag.tasks)


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_component_runs_in_the_image_with_the_beam_args(job, component):
    container = _executor(job, component)

    assert container["image"] == IMAGE
    assert container["command"] == [
        "python",
        "-m",
        "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor",
    ]
    args = container["args"]
    assert args[:4] == [
        "--executor_class_path",
        EXECUTOR_CLASSES.get(component, args[1]),
        "--json_serialized_invocation_args",
        "{{$}}",
    ]
    # TFX gives the pipeline's Beam arguments to every container; Beam steps use them.
    assert args[4:] == EXPECTED_BEAM_ARGS


@pytest.mark.parametrize("component", BEAM_COMPONENTS)
def test_beam_components_get_the_dataflow_args(job, component):
    args = _executor(job, component)["args"]

    for arg in EXPECTED_BEAM_ARGS:
        assert arg in args


def test_example_gen_driver_gets_the_beam_args(job):
    driver = _executor(job, "ImportExampleGen")["lifecycle"]["preCacheCheck"]

    assert driver["args"][2:] == EXPECTED_BEAM_ARGS


def test_trainer_has_its_resources_options_and_image_module_file(job):
    container = _executor(job, "HeadTrainer")
    parameters = job["pipelineSpec"]["root"]["dag"]["tasks"]["HeadTrainer"]["inputs"]["parameters"]

    def value(name):
        return parameters[name]["runtimeValue"]["constantValue"]["stringValue"]

    assert container["resources"] == {
        "accelerator": {"count": "2", "type": "NVIDIA_TESLA_T4"},
        "cpuLimit": 8.0,
        "memoryLimit": 32.0,
    }
    assert "resources" not in _executor(job, "HeadEvaluator")
    assert value("module_file") == "/tfx-heads/pipeline/taxi/trainer_module.py"
    assert "module_path" not in parameters  # no wheel packaged at compile time
    assert "UNSUPPORTED_DO_NOT_PACKAGE_USER_MODULES" not in os.environ
    options = json.loads(value("custom_config"))["head_trainer"]
    assert (options["strategy"], options["batch_size"], options["epochs"]) == ("mirrored", 1024, 2)
    assert json.loads(value("train_args")) == {"num_steps": 2000}
    assert json.loads(value("eval_args")) == {"num_steps": 100}


def test_pipeline_inputs_and_evaluator_settings(job):
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]

    def value(task, name):
        return tasks[task]["inputs"]["parameters"][name]["runtimeValue"]["constantValue"][
            "stringValue"
        ]

    assert value("ImportExampleGen", "input_base") == DATA_ROOT
    assert PIPELINE_ROOT + "/serving" in value("Pusher", "push_destination")
    # The local run's evaluation: the taxi EvalConfig, not the dict form.
    assert json.loads(value("HeadEvaluator", "slices")) == []
    assert json.loads(value("HeadEvaluator", "thresholds")) == []
    compiled = eval_config.load_eval_config(value("HeadEvaluator", "eval_config"))
    assert compiled == taxi_config.eval_config()
    assert [list(spec.feature_keys) for spec in compiled.slicing_specs] == [
        [],
        ["trip_start_day"],
        ["trip_start_hour"],
    ]


def test_job_matches_the_golden_file(job):
    actual = json.dumps(normalise(job), indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(actual)
    assert actual == GOLDEN.read_text(), (
        "The compiled job differs from the golden file; if intended, regenerate it with "
        "UPDATE_GOLDEN=1 (see this module's docstring)."
    )


def test_kfp_package_is_a_strict_pipeline_spec(job_path, tmp_path):
    package = compile.write_kfp_package(str(job_path), str(tmp_path / "pipeline.yaml"))

    with open(package) as f:
        spec = json_format.ParseDict(yaml.safe_load(f), pipeline_spec_pb2.PipelineSpec())
    assert spec.deployment_spec["executors"]["HeadTrainer_executor"]["container"]["image"] == IMAGE
    with pytest.raises(ValueError, match=r"Invalid `package`: expected a path ending"):
        compile.write_kfp_package(str(job_path), str(tmp_path / "pipeline.json"))


def test_compile_command_writes_a_valid_job(tmp_path, capsys):
    config = tmp_path / "trainer.json"
    config.write_text(
        json.dumps(
            {
                "options": {"strategy": "one_device", "batch_size": 64},
                "resources": {"cpu_limit": 4, "memory_limit": 16},
            }
        )
    )
    output = tmp_path / "out" / "job.json"

    status = tfx_heads_cli.main(
        [
            "compile",
            "--output",
            str(output),
            "--image",
            IMAGE,
            "--pipeline-root",
            PIPELINE_ROOT,
            "--data-root",
            DATA_ROOT,
            "--beam-args=--direct_running_mode=multi_processing --direct_num_workers=4",
            "--trainer-config",
            str(config),
            "--batch-size",
            "256",
            "--mixed-precision",
            "mixed_bfloat16",
            "--trainer-accelerator",
            "NVIDIA_L4",
            "--trainer-accelerator-count",
            "1",
            "--no-cache",
        ]
    )

    assert status == 0, capsys.readouterr().err
    json_format.Parse(output.read_text(), pipeline_spec_pb2.PipelineJob())
    job = json.loads(output.read_text())
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    trainer = executors["HeadTrainer_executor"]["container"]
    assert trainer["resources"] == {
        "cpuLimit": 4.0,
        "memoryLimit": 16.0,
        "accelerator": {"type": "NVIDIA_L4", "count": "1"},
    }
    assert executors["HeadEvaluator_executor"]["container"]["args"][4:] == [
        "--direct_running_mode=multi_processing",
        "--direct_num_workers=4",
    ]
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    custom_config = tasks["HeadTrainer"]["inputs"]["parameters"]["custom_config"]
    options = json.loads(custom_config["runtimeValue"]["constantValue"]["stringValue"])
    assert options["head_trainer"]["strategy"] == "one_device"
    assert options["head_trainer"]["batch_size"] == 256
    assert options["head_trainer"]["mixed_precision"] == "mixed_bfloat16"
    assert not tasks["HeadTrainer"].get("cachingOptions", {}).get("enableCache")


def test_compile_command_reports_invalid_dataflow_args(tmp_path, capsys):
    status = tfx_heads_cli.main(
        [
            "compile",
            "--output",
            str(tmp_path / "job.json"),
            "--image",
            IMAGE,
            "--pipeline-root",
            PIPELINE_ROOT,
            "--data-root",
            DATA_ROOT,
            "--beam-args=--runner=DataflowRunner --project=p",
        ]
    )

    assert status == 2  # bad arguments
    error = capsys.readouterr().err
    assert error.startswith("tfx-heads compile: error: ") and "expected --region=..." in error
    assert len(error.strip().splitlines()) == 1
    assert not (tmp_path / "job.json").exists()


@pytest.mark.parametrize(
    "values, match",
    [
        ({"cpu_limit": 0}, "Invalid `cpu_limit`: expected a number > 0"),
        ({"memory_limit": "32"}, "Invalid `memory_limit`: expected a number > 0"),
        ({"accelerator_type": "NVIDIA_L4"}, "Invalid `accelerator_count`: expected it together"),
        (
            {"accelerator_type": "NVIDIA_L4", "accelerator_count": 0},
            "Invalid `accelerator_count`: expected an integer >= 1",
        ),
        ({"accelerator_type": " ", "accelerator_count": 1}, "Invalid `accelerator_type`"),
        ({"machine_type": "n1-standard-8"}, "Invalid `trainer_resources`: expected keys"),
    ],
)
def test_trainer_resources_are_validated(values, match):
    with pytest.raises(ValueError, match=match):
        compile.TrainerResources.from_dict(values)


def test_trainer_config_file_is_validated(tmp_path):
    assert cli.load_trainer_config(None) == {"options": {}, "resources": {}}
    bad = tmp_path / "bad.json"
    for text in ("[1]", '{"trainer": {}}', '{"options": 3}', "{"):
        bad.write_text(text)
        with pytest.raises(ValueError, match="Invalid `--trainer-config`"):
            cli.load_trainer_config(str(bad))


def test_compile_rejects_empty_arguments(tmp_path):
    with pytest.raises(ValueError, match="Invalid `data_root`: expected a non-empty string"):
        compile.compile_pipeline(str(tmp_path / "job.json"), IMAGE, PIPELINE_ROOT, "")
    with pytest.raises(TypeError, match="Invalid `trainer_resources`"):
        compile.compile_pipeline(
            str(tmp_path / "job.json"),
            IMAGE,
            PIPELINE_ROOT,
            DATA_ROOT,
            trainer_resources={"cpu_limit": 1},
        )
