"""Tests of per-component settings (`tfx_heads.kubeflow.settings`) in the compiled job: images, Beam
arguments on top of the common ones, and container resources."""

import json

import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from tfx_heads import cli as tfx_heads_cli
from tfx_heads.kubeflow import compile, settings

IMAGE = "us-docker.pkg.dev/p/tfx/tfx-heads:1"
GPU_IMAGE = "us-docker.pkg.dev/p/tfx/tfx-heads-gpu:1"
EVALUATOR_IMAGE = "us-docker.pkg.dev/p/tfx/tfx-heads-eval:1"
COMMON = [
    "--runner=DataflowRunner",
    "--project=p",
    "--region=us-central1",
    "--temp_location=gs://b/tmp",
]
COMMON_ADDED = [*COMMON, f"--sdk_container_image={IMAGE}", "--setup_file=/tfx-heads/setup.py"]


def _container(job, component):
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    return executors[f"{component}_executor"]["container"]


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    output = tmp_path_factory.mktemp("settings") / "job.json"
    compile.compile_pipeline(
        str(output),
        IMAGE,
        "gs://b/root",
        "gs://b/data",
        beam_args=COMMON,
        trainer_resources=compile.TrainerResources(
            cpu_limit=8, accelerator_type="NVIDIA_L4", accelerator_count=1
        ),
        components={
            "HeadTrainer": settings.ComponentSettings(image=GPU_IMAGE),
            "ImportExampleGen": settings.ComponentSettings(beam_args="--max_num_workers=4"),
            "StatisticsGen": settings.ComponentSettings(
                beam_args=["--machine_type=n1-highmem-8"],
                resources=settings.ComponentResources(cpu_limit=2, memory_limit=8),
            ),
            "HeadEvaluator": settings.ComponentSettings(
                image=EVALUATOR_IMAGE,
                beam_args="--max_num_workers=16 --experiments=use_runner_v2",
                resources=settings.ComponentResources(memory_limit=16),
            ),
        },
    )
    text = output.read_text()
    json_format.Parse(text, pipeline_spec_pb2.PipelineJob())  # strictly a PipelineJob
    return json.loads(text)


def test_each_component_runs_in_its_image(job):
    assert _container(job, "HeadTrainer")["image"] == GPU_IMAGE
    assert _container(job, "HeadEvaluator")["image"] == EVALUATOR_IMAGE
    for component in ("ImportExampleGen", "StatisticsGen", "SchemaGen", "Pusher"):
        assert _container(job, component)["image"] == IMAGE, component


def test_beam_components_get_their_args_after_the_common_ones(job):
    def beam_args(component):
        return _container(job, component)["args"][4:]

    assert beam_args("ImportExampleGen") == [*COMMON_ADDED, "--max_num_workers=4"]
    assert beam_args("StatisticsGen") == [*COMMON_ADDED, "--machine_type=n1-highmem-8"]
    # Its Dataflow workers run its own image: the later --sdk_container_image wins.
    assert beam_args("HeadEvaluator") == [
        *COMMON_ADDED,
        "--max_num_workers=16",
        "--experiments=use_runner_v2",
        f"--sdk_container_image={EVALUATOR_IMAGE}",
    ]
    for component in ("SchemaGen", "HeadTrainer", "Pusher"):
        assert beam_args(component) == COMMON_ADDED, component
    driver = _container(job, "ImportExampleGen")["lifecycle"]["preCacheCheck"]["args"]
    assert driver[2:] == [*COMMON_ADDED, "--max_num_workers=4"]


def test_resources_are_set_where_given(job):
    assert _container(job, "HeadTrainer")["resources"] == {
        "cpuLimit": 8.0,
        "accelerator": {"type": "NVIDIA_L4", "count": "1"},
    }
    assert _container(job, "StatisticsGen")["resources"] == {"cpuLimit": 2.0, "memoryLimit": 8.0}
    assert _container(job, "HeadEvaluator")["resources"] == {"memoryLimit": 16.0}
    for component in ("ImportExampleGen", "SchemaGen", "Pusher"):
        assert "resources" not in _container(job, component), component


@pytest.mark.parametrize(
    "components, trainer_resources, match",
    [
        (
            {"Evaluator": settings.ComponentSettings(image="x")},
            None,
            "Invalid component 'Evaluator'",
        ),
        (
            {"SchemaGen": settings.ComponentSettings(beam_args="--a=1")},
            None,
            "component 'SchemaGen': expected Beam arguments only for the Beam components",
        ),
        (
            {"HeadTrainer": settings.ComponentSettings(resources=compile.TrainerResources(1))},
            compile.TrainerResources(2),
            "expected the trainer's resources once",
        ),
        (
            {"HeadEvaluator": settings.ComponentSettings(beam_args="--runner=DataflowRunner")},
            None,
            "expected --project=... with --runner=DataflowRunner",
        ),
    ],
)
def test_invalid_settings_are_named(tmp_path, components, trainer_resources, match):
    with pytest.raises(ValueError, match=match):
        compile.compile_pipeline(
            str(tmp_path / "job.json"),
            IMAGE,
            "gs://b/root",
            "gs://b/data",
            trainer_resources=trainer_resources,
            components=components,
        )
    assert not (tmp_path / "job.json").exists()


@pytest.mark.parametrize(
    "values, match",
    [
        ({"machine_type": "n1"}, "expected an object with keys among"),
        ({"image": ""}, "Invalid `image`"),
        ({"resources": {"cpu": 1}}, r"Invalid `HeadEvaluator.resources`: expected keys"),
        ({"beam_args": "max_num_workers=2"}, "Invalid `beam_args`"),
    ],
)
def test_settings_values_are_validated(values, match):
    with pytest.raises(ValueError, match=match):
        settings.ComponentSettings.from_dict("HeadEvaluator", values)


def test_compile_command_takes_component_settings(tmp_path, capsys):
    config = tmp_path / "components.json"
    config.write_text(
        json.dumps(
            {
                "HeadEvaluator": {
                    "beam_args": "--direct_num_workers=2",
                    "resources": {"cpu_limit": 4},
                },
                "StatisticsGen": {"resources": {"memory_limit": 8}},
            }
        )
    )
    output = tmp_path / "job.json"
    argv = ["compile", "--output", str(output), "--image", IMAGE]
    argv += ["--pipeline-root", "gs://b/root", "--data-root", "gs://b/data"]
    argv += ["--component-config", str(config), "--component-image", f"HeadTrainer={GPU_IMAGE}"]
    argv += ["--component-beam-args", "HeadEvaluator=--direct_num_workers=3"]

    assert tfx_heads_cli.main(argv) == 0, capsys.readouterr().err

    job = json.loads(output.read_text())
    assert _container(job, "HeadTrainer")["image"] == GPU_IMAGE
    assert _container(job, "HeadEvaluator")["args"][4:] == ["--direct_num_workers=3"]
    assert _container(job, "HeadEvaluator")["resources"] == {"cpuLimit": 4.0}
    assert _container(job, "StatisticsGen")["resources"] == {"memoryLimit": 8.0}

    argv[-1] = "HeadEvaluator"
    assert tfx_heads_cli.main(argv) == 2
    assert "Invalid `--component-beam-args`: expected NAME=VALUE" in capsys.readouterr().err
