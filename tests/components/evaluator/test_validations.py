"""The verdict as TFMA writes it: `validations.tfrecord` agrees with the blessing."""

import json
import math
import os
import shutil

import pytest
from google.protobuf import text_format
from tensorflow_model_analysis.proto import validation_result_pb2

import heads
from tfx_heads.components.evaluator import blessing, runner, validations

# Candidate logits `a`: AUC 8/9 overall, 0 on day 0, 1 on days 1 and 2; baseline logits `b`:
# AUC 1 everywhere (see `_rows`).
CANDIDATE_AUC = {(): 8 / 9, (("day", 0),): 0.0, (("day", 1),): 1.0, (("day", 2),): 1.0}


def _rows():
    rows = []
    for i in range(60):
        sign = -1.0 if i % 2 == 0 else 1.0
        rows.append(
            {
                "y": i % 2,
                "a": [sign * (1 if i % 3 else -0.5)],
                "b": [0.3 * (i % 2) - 0.1],
                "day": i % 3,
            }
        )
    return rows


@pytest.fixture(scope="module")
def evaluations(tmp_path_factory, helpers):
    """`(candidate output, baseline output)`: the two logits features evaluated; the candidate
    with thresholds, through `evaluate`."""
    folder = tmp_path_factory.mktemp("validations")
    path = helpers.write_examples(folder / "data.tfrecord.gz", _rows())
    head = heads.serialize(heads.BinaryClassHead())
    outputs = []
    for name, feature, thresholds in (
        ("candidate", "a", [{"metric": "auc", "lower_bound": 0.95}]),
        ("baseline", "b", []),
    ):
        output = str(folder / name)
        document = runner.evaluate(
            path,
            output,
            head=head,
            logits_features=feature,
            label_keys="y",
            slices=["day"],
            thresholds=thresholds,
        )
        outputs.append(output)
    assert {
        tuple(sorted(s["slice"].items())): s["metrics"]["auc"] for s in document["slices"]
    } == pytest.approx(dict.fromkeys(CANDIDATE_AUC, 1.0))
    return tuple(outputs)


def _load(output):
    import tensorflow_model_analysis as tfma

    return tfma.load_validation_result(output)


def test_evaluate_with_thresholds_writes_the_verdict(evaluations):
    candidate, baseline = evaluations
    written = validations.read_blessing(candidate)
    assert not written["blessed"] and written["thresholds"][0]["lower_bound"] == 0.95
    result = _load(candidate)
    assert not result.validation_ok
    (entry,) = result.metric_validations_per_slice
    assert not entry.slice_key.single_slice_keys  # the overall slice
    assert entry.failures[0].metric_value.double_value.value == pytest.approx(8 / 9)
    assert validations.read_blessing(baseline) is None  # no thresholds: metrics only
    assert _load(baseline) == validation_result_pb2.ValidationResult(validation_ok=True)


OVERALL, DAY0, DAY1 = (), (("day", 0),), (("day", 1),)
DIFF_DAY0 = CANDIDATE_AUC[DAY0] - 1.0
DIFF_OVERALL = CANDIDATE_AUC[OVERALL] - 1.0


@pytest.mark.parametrize(
    "threshold, with_baseline, failures",
    [
        ({"metric": "auc", "lower_bound": 0.8}, False, []),
        ({"metric": "auc", "lower_bound": 0.9}, False, [(OVERALL, False, 8 / 9)]),
        ({"metric": "auc", "slice": {"day": "0"}, "upper_bound": 0.5}, False, []),
        ({"metric": "auc", "slice": {"day": "1"}, "upper_bound": 0.5}, False, [(DAY1, False, 1.0)]),
        ({"metric": "auc", "slice": "*", "lower_bound": 0.5}, False, [(DAY0, False, 0.0)]),
        ({"metric": "auc", "max_decrease": 0.2}, True, []),
        ({"metric": "auc", "max_decrease": 0.1}, True, [(OVERALL, True, DIFF_OVERALL)]),
        ({"metric": "auc", "slice": "*", "max_increase": 0.0}, True, []),
        (
            {"metric": "auc", "slice": "*", "max_decrease": 0.5},
            True,
            [(DAY0, True, DIFF_DAY0)],
        ),
        ({"metric": "auc", "max_decrease": 0.0}, False, []),  # skipped: no baseline
        ({"metric": "auc_typo", "upper_bound": 1.0}, False, [(OVERALL, False, None)]),
    ],
)
def test_the_validation_result_agrees_with_the_blessing(
    evaluations, tmp_path, threshold, with_baseline, failures
):
    candidate, baseline = evaluations
    output = str(tmp_path / "candidate")
    shutil.copytree(candidate, output)
    thresholds = blessing.parse_thresholds([threshold])
    verdict = validations.bless(output, thresholds, baseline if with_baseline else None)
    result = _load(output)
    assert verdict.blessed == (not failures) == result.validation_ok
    found = []
    for entry in result.metric_validations_per_slice:
        key = tuple((k.column, k.int64_value) for k in entry.slice_key.single_slice_keys)
        for failure in entry.failures:
            assert failure.metric_key.name == threshold["metric"]
            value = failure.metric_value.double_value.value
            found.append(
                (
                    key,
                    failure.metric_key.is_diff,
                    value if failure.HasField("metric_value") else None,
                )
            )
    for (key, is_diff, value), (want_key, want_diff, want_value) in zip(
        found, failures, strict=True
    ):
        assert (key, is_diff) == (want_key, want_diff)
        assert value == pytest.approx(want_value)
    skipped = "max_decrease" in threshold and not with_baseline
    assert result.rubber_stamp == skipped == bool(verdict.skipped)
    if skipped:
        assert [check.outcome for check in verdict.checks] == ["skipped"]
    with open(os.path.join(output, "blessing.json")) as f:
        assert json.load(f)["blessed"] == result.validation_ok


def test_a_missing_slice_is_recorded_as_tfma_records_it(evaluations, tmp_path):
    output = str(tmp_path / "candidate")
    shutil.copytree(evaluations[0], output)
    thresholds = blessing.parse_thresholds(
        [{"metric": "auc", "slice": {"day": "9"}, "lower_bound": 0}]
    )
    assert not validations.bless(output, thresholds).blessed
    result = _load(output)
    assert not result.validation_ok and not result.metric_validations_per_slice
    assert [dict(spec.feature_values) for spec in result.missing_slices] == [{"day": "9"}]


# Hand-written expectations of three verdicts: a failing value threshold, a failing change
# threshold and a skipped change threshold (a model without a baseline).
CANDIDATE = {"Overall": {"auc": 0.8}, "day:1": {"auc": 0.7}}
BASELINE = {"Overall": {"auc": 0.9}, "day:1": {"auc": 0.7}}
KEYS = {"Overall": (), "day:1": (("day", 1),)}

FAILING_VALUE = """
metric_validations_per_slice {
  slice_key { single_slice_keys { column: "day" int64_value: 1 } }
  failures {
    metric_key { name: "auc" }
    metric_threshold { value_threshold { lower_bound { value: 0.75 } } }
    metric_value { double_value { value: 0.7 } }
    message: "value 0.7 < lower_bound 0.75"
  }
}
validation_details { slicing_details { slicing_spec {} num_matching_slices: 2 } }
"""

FAILING_CHANGE = """
metric_validations_per_slice {
  slice_key {}
  failures {
    metric_key { name: "auc" is_diff: true }
    metric_threshold {
      change_threshold { absolute { value: -0.05 } direction: HIGHER_IS_BETTER }
    }
    metric_value { double_value { value: -0.1 } }
    message: "change -0.1 below -max_decrease -0.05"
  }
}
validation_details { slicing_details { slicing_spec {} num_matching_slices: 1 } }
"""

SKIPPED_CHANGE = """
validation_ok: true
validation_details { slicing_details { slicing_spec {} num_matching_slices: 1 } }
rubber_stamp: true
"""


@pytest.mark.parametrize(
    "threshold, baseline, expected",
    [
        ({"metric": "auc", "slice": "*", "lower_bound": 0.75}, None, FAILING_VALUE),
        ({"metric": "auc", "max_decrease": 0.05, "max_increase": 1}, BASELINE, FAILING_CHANGE),
        ({"metric": "auc", "lower_bound": 0.5, "max_decrease": 0.05}, None, SKIPPED_CHANGE),
    ],
)
def test_validation_result_protos(threshold, baseline, expected):
    thresholds = blessing.parse_thresholds([threshold])
    verdict = blessing.decide(thresholds, CANDIDATE, baseline)
    result = validations.validation_result(thresholds, verdict, KEYS)
    want = text_format.Parse(expected, validation_result_pb2.ValidationResult())
    pairs = zip(result.metric_validations_per_slice, want.metric_validations_per_slice, strict=True)
    for got, wanted in pairs:
        value = got.failures[0].metric_value.double_value
        assert math.isclose(value.value, wanted.failures[0].metric_value.double_value.value)
        value.value = wanted.failures[0].metric_value.double_value.value  # 0.8 - 0.9 != -0.1
    assert result == want


def test_a_change_condition_reports_the_baselines_value():
    thresholds = blessing.parse_thresholds([{"metric": "auc", "max_decrease": 0.05}])
    (check,) = blessing.decide(thresholds, CANDIDATE, BASELINE).checks
    assert (check.outcome, check.value, check.baseline) == ("fail", 0.8, 0.9)
    metric_threshold = validations.metric_threshold(thresholds[0], "max_decrease")
    assert metric_threshold.change_threshold.absolute.value == -0.05
