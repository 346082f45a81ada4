"""The HeadEvaluator component: its options agree with `evaluate` and `tfx-heads evaluate`."""

import pytest
from tfx import types
from tfx.types import standard_artifacts

from tfx_heads.components.evaluator import constants
from tfx_heads.components.evaluator.component import HeadEvaluator


def _evaluator(**options):
    return HeadEvaluator(
        examples=types.Channel(type=standard_artifacts.Examples),
        model=types.Channel(type=standard_artifacts.Model),
        **options,
    )


@pytest.mark.parametrize(
    ("options", "replicates"),
    [
        ({}, 0),
        ({"confidence_intervals": True}, constants.DEFAULT_NUM_BOOTSTRAP_SAMPLES),
        ({"confidence_intervals": True, "num_bootstrap_samples": 8}, 8),
        ({"confidence_intervals": False, "num_bootstrap_samples": 8}, 0),
    ],
)
def test_confidence_intervals_become_the_number_of_replicates(options, replicates):
    evaluator = _evaluator(**options)
    assert evaluator.exec_properties[constants.BOOTSTRAP_REPLICATES_KEY] == replicates


def test_confidence_intervals_is_a_switch():
    with pytest.raises(TypeError, match="`confidence_intervals`: expected a bool"):
        _evaluator(confidence_intervals=20)


@pytest.mark.parametrize("num_bootstrap_samples", [1, 0, 2.5])
def test_too_few_replicates_fail_at_definition(num_bootstrap_samples):
    with pytest.raises(ValueError, match="num_bootstrap_samples"):
        _evaluator(confidence_intervals=True, num_bootstrap_samples=num_bootstrap_samples)


def test_an_eval_config_is_stored_as_json_and_read_back_by_the_executor():
    from google.protobuf import json_format
    from tensorflow_model_analysis.proto import config_pb2

    from tfx_heads.components.evaluator.options import EvaluationOptions

    config = config_pb2.EvalConfig(
        slicing_specs=[config_pb2.SlicingSpec(), config_pb2.SlicingSpec(feature_keys=["day"])],
        metrics_specs=[
            config_pb2.MetricsSpec(
                output_names=["b"],
                thresholds={
                    "auc": config_pb2.MetricThreshold(
                        value_threshold=config_pb2.GenericValueThreshold(lower_bound={"value": 0.6})
                    )
                },
            )
        ],
        options=config_pb2.Options(compute_confidence_intervals={"value": True}),
    )
    evaluator = _evaluator(eval_config=config)
    properties = evaluator.exec_properties
    stored = properties[constants.EVAL_CONFIG_KEY]
    assert json_format.Parse(stored, config_pb2.EvalConfig()) == config
    assert properties[constants.BOOTSTRAP_REPLICATES_KEY] == constants.DEFAULT_NUM_BOOTSTRAP_SAMPLES
    assert EvaluationOptions.from_exec_properties(properties) == EvaluationOptions.from_eval_config(
        config
    )


def test_a_bad_eval_config_fails_at_definition():
    with pytest.raises(ValueError, match="slicing_specs\\[0\\].slice_keys_sql"):
        _evaluator(eval_config='slicing_specs { slice_keys_sql: "SELECT 1" }')
    with pytest.raises(ValueError, match="`eval_config` or `slices`/`thresholds`"):
        _evaluator(eval_config="", thresholds=[{"metric": "auc", "lower_bound": 0.5}])
