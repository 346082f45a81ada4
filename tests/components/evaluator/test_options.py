"""`EvaluationOptions`: defaults, normalised values, every check on good and bad input, and
the execution properties the component writes read back."""

import json

import pytest

from tfx_heads.components.evaluator import constants
from tfx_heads.components.evaluator.blessing import MetricThreshold
from tfx_heads.components.evaluator.options import EvaluationOptions
from tfx_heads.components.evaluator.slicing import SliceSpec


def test_defaults_and_normalised_values():
    options = EvaluationOptions()
    assert options.batch_size == constants.DEFAULT_BATCH_SIZE
    assert options.compression == "auto" and not options.reject_malformed
    assert options.num_bootstrap_samples == constants.DEFAULT_NUM_BOOTSTRAP_SAMPLES
    assert options.confidence_level == constants.DEFAULT_CONFIDENCE_LEVEL
    assert options.bootstrap_replicates == 0 and options.slices == () == options.thresholds
    label_keys = {"a": "y_a"}
    options = EvaluationOptions(
        label_keys=label_keys,
        slices=["day", "b, a", ("a", "b"), SliceSpec(("day",))],
        thresholds=[
            {"metric": "auc", "lower_bound": 0.5},
            MetricThreshold("loss", upper_bound=1.0),
        ],
        confidence_intervals=True,
        num_bootstrap_samples=4,
    )
    label_keys["a"] = "changed"  # the options keep their own copy
    assert options.label_keys == {"a": "y_a"}
    assert options.slices == (SliceSpec(("day",)), SliceSpec(("a", "b")))
    assert options.thresholds == (
        MetricThreshold("auc", lower_bound=0.5),
        MetricThreshold("loss", upper_bound=1.0),
    )
    assert options.bootstrap_replicates == 4


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ({"batch_size": 0}, ValueError, r"Invalid `batch_size`: expected an int >= 1; received 0"),
        ({"batch_size": 2.0}, ValueError, "Invalid `batch_size`"),
        ({"compression": "GZIP"}, ValueError, "Invalid `compression`: expected one of"),
        ({"inference_chunk_size": 0}, ValueError, "Invalid `inference_chunk_size`: expected an"),
        ({"confidence_intervals": 20}, TypeError, "`confidence_intervals`: expected a bool"),
        (
            {"confidence_intervals": True, "num_bootstrap_samples": 1},
            ValueError,
            "Invalid `num_bootstrap_samples`: expected an int >= 2; received 1",
        ),
        ({"num_buckets": 1}, ValueError, "Invalid `num_buckets`"),
        ({"num_buckets": 2.5}, TypeError, "Invalid `num_buckets`"),
        ({"class_num_buckets": 1}, ValueError, "Invalid `class_num_buckets`"),
        ({"max_exact_scores": -1}, ValueError, "Invalid `max_exact_scores`"),
        ({"logit_range": 0.0}, ValueError, "Invalid `logit_range`"),
        ({"min_slice_size": 0}, ValueError, "Invalid `min_slice_size`: expected an int >= 1"),
        ({"min_slice_size": 2.0}, TypeError, "Invalid `min_slice_size`: expected an int"),
        ({"slices": ["a,"]}, ValueError, "Invalid `slice`"),
        ({"slices": [("a", "a")]}, ValueError, "Invalid slice: expected distinct"),
        ({"thresholds": [{"metric": ""}]}, ValueError, "Invalid `metric`"),
    ],
)
def test_invalid_options_fail_naming_the_field(values, error, message):
    with pytest.raises(error, match=message):
        EvaluationOptions(**values)


@pytest.mark.parametrize(
    "values",
    [
        {"batch_size": 1, "inference_chunk_size": 1, "compression": "none"},
        {"confidence_intervals": False, "num_bootstrap_samples": 1},  # unused without intervals
        {"confidence_intervals": True, "num_bootstrap_samples": 2},
        {"num_buckets": 2, "class_num_buckets": 2, "max_exact_scores": 0, "logit_range": 1},
        {"min_slice_size": 1},
        {"min_slice_size": 500},
    ],
)
def test_valid_options_pass(values):
    assert EvaluationOptions(**values).batch_size >= 1


def test_execution_properties_read_back():
    properties = {
        constants.SLICES_KEY: json.dumps([["b", "a"], ["day"]]),
        constants.THRESHOLDS_KEY: json.dumps([{"metric": "auc", "lower_bound": 0.6}]),
        constants.REJECT_MALFORMED_KEY: 1,
        constants.BOOTSTRAP_REPLICATES_KEY: 8,
    }
    options = EvaluationOptions.from_exec_properties(properties)
    assert options == EvaluationOptions(
        slices=[("a", "b"), ("day",)],
        thresholds=[MetricThreshold("auc", lower_bound=0.6)],
        reject_malformed=True,
        confidence_intervals=True,
        num_bootstrap_samples=8,
    )
    assert EvaluationOptions.from_exec_properties({}) == EvaluationOptions()
    no_intervals = EvaluationOptions.from_exec_properties({constants.BOOTSTRAP_REPLICATES_KEY: 0})
    assert no_intervals.bootstrap_replicates == 0
    with pytest.raises(ValueError, match="Invalid thresholds"):
        EvaluationOptions.from_exec_properties({constants.THRESHOLDS_KEY: "{"})
