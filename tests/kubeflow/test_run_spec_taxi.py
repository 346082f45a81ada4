"""End to end: the taxi pipeline compiled for Kubeflow and run by `tfx-heads run-spec`.

`tfx-heads compile` writes the job with a local root and DirectRunner Beam arguments; the
`tfx-heads run-spec` command (a real process) runs every task through TFX's Kubeflow V2
entrypoint on 1,500 trips. The checks read only what the tasks wrote: the run record, the
executors' artifacts, the pushed SavedModel. A second run of the job's resolver tasks alone
then finds the first run's blessed model, as the evaluator's baseline of a later run.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest
import tensorflow_model_analysis as tfma

from tfx_heads import cli
from tfx_heads.kubeflow import run_spec
from tfx_heads.pipeline import local_runner
from tfx_heads.pipeline.taxi import trainer_module

REPO = pathlib.Path(__file__).resolve().parents[2]
HEADS = ("big_tipper", "payment_type", "trip_seconds", "trip_tags")
HEAD_KEYS = (
    "auc/big_tipper",
    "accuracy/payment_type",
    "average_loss/trip_seconds",
    "auc/trip_tags",
)
RESOLVERS = (
    "latest_blessed_model_resolver-model-blessing-resolver",
    "latest_blessed_model_resolver-model-resolver",
)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    base = tmp_path_factory.mktemp("run_spec")
    thresholds = base / "thresholds.json"
    thresholds.write_text(json.dumps([{"metric": "average_loss/big_tipper", "upper_bound": 100}]))
    job = base / "pipeline.json"
    argv = ["compile", "--output", str(job), "--image", "tfx-heads:local"]
    argv += ["--pipeline-root", str(base / "root")]
    argv += ["--data-root", local_runner.prepare_data(str(base), 1500)]
    argv += ["--serving-model-dir", str(base / "serving")]
    argv += ["--module-file", os.path.abspath(trainer_module.__file__)]
    argv += ["--train-steps", "40", "--batch-size", "256", "--thresholds", str(thresholds)]
    argv += ["--beam-args=--runner=DirectRunner --direct_running_mode=in_memory"]
    assert cli.main(argv) == 0
    return base, job


@pytest.fixture(scope="module")
def first_run(compiled):
    base, job = compiled
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    process = subprocess.run(
        [sys.executable, "-m", "tfx_heads.cli", "run-spec", str(job)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    records = sorted((base / "root").glob("*/run.json"))
    assert len(records) == 1
    # The command's own lines only: the log path, the start, one per task, where the run is.
    lines = process.stdout.splitlines()
    with open(job) as f:
        n_tasks = len(json.load(f)["pipelineSpec"]["root"]["dag"]["tasks"])
    assert sum(line.startswith("  ") and ": " in line for line in lines) == n_tasks + 1
    assert len(lines) <= n_tasks + 5 and "succeeded; its artifacts are under" in process.stdout
    with open(records[0]) as f:
        record = json.load(f)
    artifacts = {(a["task"], a["key"]): a["artifact"] for a in record["artifacts"]}
    return job, record, artifacts


def _metadata(artifact):
    return artifact.get("metadata", {})


@pytest.mark.slow
def test_every_task_of_the_job_succeeded(first_run):
    job, record, _ = first_run
    with open(job) as f:
        tasks = set(json.load(f)["pipelineSpec"]["root"]["dag"]["tasks"])

    assert set(record["tasks"]) == tasks
    assert {task["state"] for task in record["tasks"].values()} == {"SUCCEEDED"}
    for name, task in record["tasks"].items():
        if task["log"]:  # container tasks
            assert os.path.getsize(task["log"]) > 0, name


@pytest.mark.slow
def test_the_first_run_has_no_baseline(first_run):
    _, _, artifacts = first_run

    assert not [key for key in artifacts if key[0] in RESOLVERS]
    evaluation = artifacts[("HeadEvaluator", "evaluation")]["uri"]
    assert not os.path.exists(os.path.join(evaluation, "baseline"))
    assert "baseline_model_id" not in _metadata(artifacts[("HeadEvaluator", "blessing")])


@pytest.mark.slow
def test_evaluation_holds_every_heads_metrics_and_loads_in_tfma(first_run):
    _, _, artifacts = first_run
    evaluation = artifacts[("HeadEvaluator", "evaluation")]["uri"]
    with open(os.path.join(evaluation, "metrics.json")) as f:
        overall = json.load(f)["slices"][0]

    assert overall["slice"] == {} and overall["example_count"] > 200
    for head in HEADS:
        assert f"average_loss/{head}" in overall["metrics"], head
    tfma_overall = tfma.load_eval_result(evaluation).get_metrics_for_slice(slice_name=())
    for key in HEAD_KEYS:
        assert tfma_overall[key]["doubleValue"] == pytest.approx(overall["metrics"][key], rel=1e-9)


@pytest.mark.slow
def test_the_blessing_names_the_model_it_blessed(first_run):
    _, _, artifacts = first_run
    blessing = artifacts[("HeadEvaluator", "blessing")]
    model = artifacts[("HeadTrainer", "model")]

    assert os.path.exists(os.path.join(blessing["uri"], "BLESSED"))
    assert _metadata(blessing)["blessed"] == 1
    # What the compiled model resolver matches: the Model artifact's name.
    assert _metadata(blessing)["current_model_id"] == model["name"]
    assert _metadata(blessing)["current_model"] == model["uri"]


@pytest.mark.slow
def test_the_blessed_model_was_pushed_and_answers_serialized_examples(
    compiled, first_run, serves_the_taxi_sample
):
    base, _ = compiled
    _, _, artifacts = first_run
    pushed = _metadata(artifacts[("Pusher", "pushed_model")])

    assert pushed["pushed"] == 1
    destination = pushed["pushed_destination"]
    assert destination.startswith(str(base / "serving"))
    serves_the_taxi_sample(destination)


@pytest.mark.slow
def test_a_later_run_resolves_the_blessed_model_as_baseline(compiled, first_run, tmp_path):
    job, _, artifacts = first_run
    with open(job) as f:
        resolvers_only = json.load(f)
    tasks = resolvers_only["pipelineSpec"]["root"]["dag"]["tasks"]
    for name in set(tasks) - set(RESOLVERS):
        del tasks[name]
    path = tmp_path / "resolvers.json"
    path.write_text(json.dumps(resolvers_only))

    result = run_spec.run_job(str(path), report=lambda line: None)

    blessing = result.outputs[RESOLVERS[0]].artifacts["model_blessing"]
    model = result.outputs[RESOLVERS[1]].artifacts["model"]
    assert [a.name for a in blessing] == [artifacts[("HeadEvaluator", "blessing")]["name"]]
    assert [(a.name, a.uri) for a in model] == [
        (artifacts[("HeadTrainer", "model")]["name"], artifacts[("HeadTrainer", "model")]["uri"])
    ]
