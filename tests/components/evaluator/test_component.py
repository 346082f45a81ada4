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
    assert evaluator.exec_properties[constants.CONFIDENCE_INTERVALS_KEY] == replicates


def test_confidence_intervals_is_a_switch():
    with pytest.raises(TypeError, match="`confidence_intervals`: expected a bool"):
        _evaluator(confidence_intervals=20)


@pytest.mark.parametrize("num_bootstrap_samples", [1, 0, 2.5])
def test_too_few_replicates_fail_at_definition(num_bootstrap_samples):
    with pytest.raises(ValueError, match="num_bootstrap_samples"):
        _evaluator(confidence_intervals=True, num_bootstrap_samples=num_bootstrap_samples)
