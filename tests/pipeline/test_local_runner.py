"""End to end: `tfx-heads run` on a small sample, checked through ML Metadata.

One run of the whole pipeline (ExampleGen → StatisticsGen → SchemaGen → HeadTrainer →
HeadEvaluator → Pusher) on 1,500 trips, then a second run that must come from the cache.
"""

import json
import os

import pytest
import tensorflow_model_analysis as tfma
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx

from tfx_heads.pipeline import cli, local_runner

COMPONENTS = (
    "ImportExampleGen",
    "StatisticsGen",
    "SchemaGen",
    "HeadTrainer",
    "HeadEvaluator",
    "Pusher",
)
HEAD_KEYS = (
    "auc/big_tipper",
    "accuracy/payment_type",
    "average_loss/trip_seconds",
    "auc/trip_tags",
)


def _executions_by_component(root):
    store = metadata_store.MetadataStore(
        tfx.orchestration.metadata.sqlite_metadata_connection_config(
            os.path.join(root, "metadata.sqlite")
        )
    )
    by_component = {}
    for execution in store.get_executions():
        type_name = store.get_execution_types_by_id([execution.type_id])[0].name
        by_component.setdefault(type_name.rsplit(".", 1)[-1], []).append(execution)
    return by_component


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("run"))
    thresholds = os.path.join(root, "thresholds.json")
    with open(thresholds, "w") as f:
        json.dump([{"metric": "average_loss/big_tipper", "upper_bound": 100.0}], f)
    argv = ["run", "--root", root, "--sample-size", "1500", "--train-steps", "40"]
    argv += ["--thresholds", thresholds]
    assert cli.main(argv) == 0
    first = _executions_by_component(root)
    assert cli.main(argv) == 0  # a re-run with the same inputs
    return root, first, _executions_by_component(root)


@pytest.mark.slow
def test_every_component_succeeded_and_a_rerun_reuses_the_cache(pipeline_run):
    _, first, second = pipeline_run
    for component in COMPONENTS:
        assert [e.last_known_state for e in first[component]] == [
            metadata_store_pb2.Execution.COMPLETE
        ], component
    for component in COMPONENTS[:4]:
        assert second[component][-1].last_known_state == metadata_store_pb2.Execution.CACHED
    # The first run's model is now the latest blessed one: the evaluator runs again, with it
    # as the baseline, and so does the Pusher (a new blessing).
    for component in COMPONENTS[4:]:
        assert second[component][-1].last_known_state == metadata_store_pb2.Execution.COMPLETE


@pytest.mark.slow
def test_the_rerun_compares_with_the_first_runs_model_as_baseline(pipeline_run):
    root, _, _ = pipeline_run
    outputs = local_runner.latest_outputs(os.path.join(root, "metadata.sqlite"))
    blessing = outputs["ModelBlessing"].custom_properties
    assert blessing["baseline_model_id"].int_value > 0
    assert blessing["current_model_id"].int_value == outputs["Model"].id
    evaluation = outputs["ModelEvaluation"].uri
    with open(os.path.join(evaluation, "baseline", "metrics.json")) as f:
        baseline_overall = json.load(f)["slices"][0]
    with open(os.path.join(evaluation, "metrics.json")) as f:
        overall = json.load(f)["slices"][0]
    # Same model (cached trainer), same data: the baseline's metrics are the candidate's.
    assert baseline_overall["metrics"] == pytest.approx(overall["metrics"], rel=1e-12)


@pytest.mark.slow
def test_evaluation_loads_in_tfma_with_every_heads_metrics(pipeline_run):
    root, _, _ = pipeline_run
    outputs = local_runner.latest_outputs(os.path.join(root, "metadata.sqlite"))
    evaluation = outputs["ModelEvaluation"].uri
    with open(os.path.join(evaluation, "metrics.json")) as f:
        document = json.load(f)
    overall = document["slices"][0]
    assert overall["slice"] == {} and overall["example_count"] > 200
    result = tfma.load_eval_result(evaluation)
    tfma_overall = result.get_metrics_for_slice(slice_name=())  # key -> {"doubleValue": v}
    for key in HEAD_KEYS:
        assert key in overall["metrics"], key
        assert tfma_overall[key]["doubleValue"] == pytest.approx(overall["metrics"][key], rel=1e-9)
    assert {tuple(s["slice"]) for s in document["slices"]} >= {(), ("trip_start_day",)}


@pytest.mark.slow
def test_the_blessed_model_was_pushed_and_serves_predictions(pipeline_run, serves_the_taxi_sample):
    root, _, _ = pipeline_run
    outputs = local_runner.latest_outputs(os.path.join(root, "metadata.sqlite"))
    assert outputs["ModelBlessing"].custom_properties["blessed"].int_value == 1
    pushed = outputs["PushedModel"]
    assert pushed.custom_properties["pushed"].int_value == 1
    destination = pushed.custom_properties["pushed_destination"].string_value
    assert destination.startswith(os.path.join(root, "serving"))

    serves_the_taxi_sample(destination)


def test_the_demo_gives_the_evaluator_the_taxi_eval_config(tmp_path):
    from google.protobuf import json_format
    from tensorflow_model_analysis.proto import config_pb2

    from tfx_heads.components.evaluator import constants
    from tfx_heads.pipeline.taxi import config

    args = cli.build_parser().parse_args(["run", "--root", str(tmp_path), "--sample-size", "10"])
    evaluator = next(c for c in local_runner.build(args).components if c.id == "HeadEvaluator")
    properties = evaluator.exec_properties
    stored = json_format.Parse(properties[constants.EVAL_CONFIG_KEY], config_pb2.EvalConfig())
    assert stored == config.eval_config()
    assert json.loads(properties[constants.THRESHOLDS_KEY]) == []  # the dict form is unused
