"""Tests of `tfx-heads run-spec` (`tfx_heads.kubeflow.run_spec`) on small jobs: the command's
errors, a failing task, and an importer whose URI is a runtime parameter feeding a real
StatisticsGen. The whole taxi pipeline runs in `test_run_spec_taxi.py`."""

import json
import pathlib
import re

import pytest
import tensorflow as tf

from tfx_heads import cli
from tfx_heads.kubeflow import run_spec
from tfx_heads.pipeline.taxi import sample

GOLDEN = pathlib.Path(__file__).parent / "testdata" / "pipeline_job.golden.json"


def _one_error_line(capsys):
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1, error
    return error


def test_a_gs_root_is_refused_in_one_line(capsys):
    assert cli.main(["run-spec", str(GOLDEN)]) == 2

    error = _one_error_line(capsys)
    assert error.startswith("tfx-heads run-spec: error: Invalid pipeline root 'gs://")
    assert "--pipeline-root" in error


def test_a_missing_job_and_a_bad_parameter_are_refused(tmp_path, capsys):
    assert cli.main(["run-spec", str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in _one_error_line(capsys)

    argv = ["run-spec", str(GOLDEN), "--pipeline-root", str(tmp_path), "--parameter", "x"]
    assert cli.main(argv) == 2
    assert "Invalid `--parameter`: expected NAME=VALUE; received 'x'" in _one_error_line(capsys)


@pytest.mark.slow
def test_a_failing_task_is_named_with_its_log(tmp_path, capsys):
    job = tmp_path / "job.json"
    argv = ["compile", "--output", str(job), "--image", "tfx-heads:local"]
    argv += ["--pipeline-root", str(tmp_path / "root"), "--data-root", str(tmp_path / "none")]
    argv += ["--serving-model-dir", str(tmp_path / "serving")]
    assert cli.main(argv) == 0
    capsys.readouterr()

    assert cli.main(["run-spec", str(job)]) == 2

    error = _one_error_line(capsys)
    # TFX's driver takes a missing folder as no data; the executor then fails.
    assert "Task 'ImportExampleGen' failed: its command exited with status 1" in error
    assert "No files found" in error  # the log's last line
    # The task's log, then (from the command line) the command's own log.
    log, command_log = re.findall(r"log: (\S+\.log)", error)
    assert log.endswith("ImportExampleGen.log") and pathlib.Path(log).stat().st_size > 0
    assert command_log != log and pathlib.Path(command_log).exists()
    record = json.loads((pathlib.Path(log).parents[1] / "run.json").read_text())
    assert record["tasks"]["ImportExampleGen"]["state"] == "FAILED"
    assert "HeadTrainer" not in record["tasks"]


def _examples(folder, trips):
    for split, rows in (("train", trips.iloc[:150]), ("eval", trips.iloc[150:])):
        sample.write_tfrecords(rows, str(folder / f"Split-{split}" / "data.tfrecord.gz"))


def _compile_import_and_statistics(tmp_path):
    """A job: an Importer of Examples whose URI is the runtime parameter `examples_uri`,
    then StatisticsGen on them."""
    from tfx import v1 as tfx

    uri = tfx.dsl.experimental.RuntimeParameter(name="examples_uri", ptype=str)
    importer = tfx.dsl.Importer(
        source_uri=uri,
        artifact_type=tfx.types.standard_artifacts.Examples,
        properties={"split_names": '["train", "eval"]'},
    ).with_id("import_examples")
    statistics = tfx.components.StatisticsGen(examples=importer.outputs["result"])
    pipeline = tfx.dsl.Pipeline(
        pipeline_name="import-and-statistics",
        pipeline_root=str(tmp_path / "root"),
        components=[importer, statistics],
    )
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image="tfx-heads:local"
        ),
        output_dir=str(tmp_path),
        output_filename="job.json",
    )
    runner.run(pipeline, parameter_values={"examples_uri": str(tmp_path / "missing")})
    return str(tmp_path / "job.json")


@pytest.mark.slow
def test_an_importer_feeds_a_task_with_its_runtime_parameter_uri(tmp_path):
    _examples(tmp_path / "examples", sample.load_trips().iloc[:200])
    job = _compile_import_and_statistics(tmp_path)

    result = run_spec.run_job(
        job, parameters={"examples_uri": str(tmp_path / "examples")}, report=lambda line: None
    )

    (imported,) = result.outputs["import_examples"].artifacts["result"]
    assert imported.uri == str(tmp_path / "examples")
    (statistics,) = result.outputs["StatisticsGen"].artifacts["statistics"]
    assert json.loads(dict(statistics.metadata)["split_names"]) == ["train", "eval"]
    stats_file = pathlib.Path(statistics.uri) / "Split-eval" / "FeatureStats.pb"
    from tensorflow_metadata.proto.v0 import statistics_pb2

    stats = statistics_pb2.DatasetFeatureStatisticsList.FromString(
        tf.io.gfile.GFile(str(stats_file), "rb").read()
    )
    assert stats.datasets[0].num_examples == 50
