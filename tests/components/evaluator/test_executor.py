"""The HeadEvaluator executor: a model and its baseline, evaluated in one Beam pass."""

import json
import os

import pytest
import tensorflow_model_analysis as tfma
from tfx.types import standard_artifacts

from tfx_heads.components.evaluator import constants, runner
from tfx_heads.components.evaluator.constants import BLESSING_FILE, REPORT_FILE
from tfx_heads.components.evaluator.executor import Executor

SLICES = [["trip_start_day"]]
VALIDATIONS_FILE = "validations.tfrecord"


def _files(folder):
    """Every file under `folder`, subdirectories included: relative path to its bytes (to
    its document for `eval_config.json`, which writes the label keys, a protobuf map, in no
    fixed order)."""
    found = {}
    for root, _, names in os.walk(folder):
        for name in names:
            with open(os.path.join(root, name), "rb") as f:
                data = f.read()
            relative = os.path.relpath(os.path.join(root, name), folder)
            found[relative] = json.loads(data) if name == "eval_config.json" else data
    return found


@pytest.mark.slow
def test_a_baseline_is_evaluated_in_the_same_pass_as_two_separate_evaluations(
    taxi_examples, taxi_model, taxi_baseline_model, tmp_path, helpers
):
    examples = helpers.examples_artifact(tmp_path / "examples", taxi_examples)
    model = helpers.model_artifact(tmp_path / "model", taxi_model, 1)
    baseline_model = helpers.model_artifact(tmp_path / "baseline_model", taxi_baseline_model, 2)
    evaluation = helpers.artifact(standard_artifacts.ModelEvaluation, tmp_path / "evaluation")
    blessing = helpers.artifact(standard_artifacts.ModelBlessing, tmp_path / "blessing")
    Executor().Do(
        {
            constants.EXAMPLES_KEY: [examples],
            constants.MODEL_KEY: [model],
            constants.BASELINE_MODEL_KEY: [baseline_model],
        },
        {constants.EVALUATION_KEY: [evaluation], constants.BLESSING_KEY: [blessing]},
        {
            constants.SLICES_KEY: json.dumps(SLICES),
            constants.THRESHOLDS_KEY: json.dumps([{"metric": "auc/big_tipper", "max_decrease": 1}]),
        },
    )
    written = _files(evaluation.uri)
    baseline_prefix = constants.BASELINE_DIR + os.sep
    candidate_files = {
        name: data
        for name, data in written.items()
        if not name.startswith(baseline_prefix)
        and name not in (BLESSING_FILE, REPORT_FILE, VALIDATIONS_FILE)
    }
    baseline_files = {
        name[len(baseline_prefix) :]: data
        for name, data in written.items()
        if name.startswith(baseline_prefix)
    }
    assert {constants.METRICS_JSON_FILE, constants.HEAD_CONFIG_FILE} <= set(baseline_files)
    assert any(name.startswith("plots") for name in baseline_files)
    # Each model's files are those of an evaluation of its own (given the same paths, so that
    # eval_config.json's data and model locations match too), byte for byte.
    for artifact, files in ((model, candidate_files), (baseline_model, baseline_files)):
        output = str(tmp_path / f"alone-{artifact.id}")
        runner.evaluate(
            [os.path.join(examples.uri, "Split-eval", "*")],
            output,
            model=os.path.join(artifact.uri, "Format-Serving"),
            slices=[",".join(features) for features in SLICES],
        )
        alone = _files(output)
        if artifact is model:  # the candidate's verdict is checked below
            del alone[VALIDATIONS_FILE]
        assert alone == files
    candidate = runner.read_metrics(evaluation.uri)
    baseline = runner.read_metrics(os.path.join(evaluation.uri, constants.BASELINE_DIR))
    auc = "auc/big_tipper"
    assert candidate["slices"][0]["metrics"][auc] != baseline["slices"][0]["metrics"][auc]
    with open(os.path.join(blessing.uri, BLESSING_FILE)) as f:
        verdict = json.load(f)
    assert verdict["blessed"] and verdict["checked"] == 1 and not verdict["skipped"]
    # The verdict as TFMA writes it: the threshold held, in the one slice it names.
    validation = tfma.load_validation_result(evaluation.uri)
    assert validation.validation_ok and not validation.rubber_stamp
    (details,) = validation.validation_details.slicing_details
    assert details.num_matching_slices == 1 and not details.slicing_spec.feature_values
    assert blessing.get_int_custom_property("baseline_model_id") == 2
