"""Tests of `tfx_heads.kubeflow.dataflow`: the Beam arguments built for Dataflow, read by Beam
itself."""

import pytest
from apache_beam.options import pipeline_options

from tfx_heads.kubeflow import dataflow

IMAGE = "us-docker.pkg.dev/my-project/tfx/tfx-heads:1"
USER_ARGS = (
    "--runner=DataflowRunner --project=my-project --region us-central1 "
    "--temp_location=gs://my-bucket/tmp --max_num_workers=8 "
    "--machine_type=n1-highmem-4 --disk_size_gb=100 "
    "--labels='team=ml eval'"
)


def _views(args):
    options = pipeline_options.PipelineOptions(args)
    return (
        options.view_as(pipeline_options.StandardOptions),
        options.view_as(pipeline_options.GoogleCloudOptions),
        options.view_as(pipeline_options.WorkerOptions),
        options.view_as(pipeline_options.SetupOptions),
    )


def test_dataflow_args_parse_into_google_cloud_and_worker_options():
    args = dataflow.dataflow_beam_args(USER_ARGS, IMAGE)

    standard, cloud, worker, setup = _views(args)
    assert standard.runner == "DataflowRunner"
    assert cloud.project == "my-project"
    assert cloud.region == "us-central1"
    assert cloud.temp_location == "gs://my-bucket/tmp"
    assert cloud.labels == ["team=ml eval"]
    assert worker.max_num_workers == 8
    assert worker.machine_type == "n1-highmem-4"
    assert worker.disk_size_gb == 100
    assert worker.sdk_container_image == IMAGE
    assert setup.setup_file == "/tfx-heads/setup.py"
    assert args[-2:] == [f"--sdk_container_image={IMAGE}", "--setup_file=/tfx-heads/setup.py"]


def test_user_given_image_and_setup_file_are_kept():
    args = dataflow.dataflow_beam_args(
        USER_ARGS + " --sdk_container_image=other:2 --setup_file /app/setup.py", IMAGE
    )

    _, _, worker, setup = _views(args)
    assert worker.sdk_container_image == "other:2"
    assert setup.setup_file == "/app/setup.py"
    assert not any(arg.startswith(f"--sdk_container_image={IMAGE}") for arg in args)
    assert sum(arg.startswith("--setup_file") for arg in args) == 1


def test_a_list_is_taken_as_already_split():
    args = dataflow.dataflow_beam_args(
        [
            "--runner=DataflowRunner",
            "--project=p",
            "--region=europe-west4",
            "--temp_location=gs://b/t",
        ],
        IMAGE,
        setup_file="/srv/setup.py",
    )

    _, cloud, _, setup = _views(args)
    assert cloud.region == "europe-west4"
    assert setup.setup_file == "/srv/setup.py"


@pytest.mark.parametrize("beam_args", [None, "", "--direct_running_mode=multi_processing"])
def test_other_runners_pass_through_without_dataflow_defaults(beam_args):
    args = dataflow.dataflow_beam_args(beam_args, IMAGE)

    assert args == dataflow.split_beam_args(beam_args)
    assert not dataflow.is_dataflow(args)


def test_runner_name_dataflow_is_recognised():
    assert dataflow.is_dataflow(["--runner", "dataflow"])
    assert not dataflow.is_dataflow(["--runner=DirectRunner"])


@pytest.mark.parametrize(
    "beam_args, missing",
    [
        ("--runner=DataflowRunner --region=r --temp_location=gs://b/t", "--project"),
        ("--runner=DataflowRunner --project=p --temp_location=gs://b/t", "--region"),
        ("--runner=DataflowRunner --project=p --region=r", "--temp_location=gs://"),
        ("--runner=DataflowRunner --project=p --region=r --temp_location=/tmp", "gs://"),
    ],
)
def test_dataflow_without_required_cloud_options_fails_clearly(beam_args, missing):
    with pytest.raises(ValueError, match=r"Invalid `beam_args`: expected .*" + missing):
        dataflow.dataflow_beam_args(beam_args, IMAGE)


def test_split_beam_args_rejects_bad_input():
    with pytest.raises(ValueError, match="Invalid `beam_args`: expected shell-quoted"):
        dataflow.split_beam_args("--labels='unterminated")
    with pytest.raises(ValueError, match="Invalid `beam_args`: expected arguments such as"):
        dataflow.split_beam_args("DataflowRunner --project=p")
    with pytest.raises(TypeError, match="Invalid `beam_args`: expected a string or a list"):
        dataflow.split_beam_args(["--a", 1])


def test_image_is_required():
    with pytest.raises(ValueError, match="Invalid `image`: expected a container image name"):
        dataflow.dataflow_beam_args(USER_ARGS, "")
