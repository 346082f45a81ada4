"""Blessing thresholds: absolute bounds, changes against a baseline, slices."""

import pytest

from tfx_heads.components.evaluator import blessing

CANDIDATE = {
    "Overall": {"auc": 0.80, "average_loss": 0.40},
    "day:1": {"auc": 0.70, "average_loss": 0.50},
    "day:2": {"auc": 0.90, "average_loss": float("nan")},
}
BASELINE = {"Overall": {"auc": 0.78, "average_loss": 0.38}}


def _decide(thresholds, baseline=None):
    return blessing.decide(blessing.parse_thresholds(thresholds), CANDIDATE, baseline)


def test_no_thresholds_blesses():
    verdict = _decide(None)
    assert verdict.blessed and verdict.checked == 0


def test_absolute_bounds_on_the_overall_slice():
    assert _decide([{"metric": "auc", "lower_bound": 0.75}]).blessed
    verdict = _decide([{"metric": "auc", "lower_bound": 0.85}])
    assert not verdict.blessed
    assert verdict.failures[0].slice == "Overall"
    assert "0.8 < lower_bound 0.85" in verdict.failures[0].reason
    assert not _decide([{"metric": "average_loss", "upper_bound": 0.3}]).blessed


def test_every_slice_and_one_slice():
    verdict = _decide([{"metric": "auc", "slice": "*", "lower_bound": 0.75}])
    assert [f.slice for f in verdict.failures] == ["day:1"] and verdict.checked == 3
    assert _decide([{"metric": "auc", "slice": {"day": "2"}, "lower_bound": 0.85}]).blessed


def test_changes_against_the_baseline():
    assert _decide([{"metric": "auc", "max_decrease": 0.0}], BASELINE).blessed
    verdict = _decide([{"metric": "average_loss", "max_increase": 0.01}], BASELINE)
    assert not verdict.blessed and "above max_increase" in verdict.failures[0].reason


def test_change_conditions_are_skipped_without_a_baseline_as_a_rubber_stamp():
    verdict = _decide([{"metric": "auc", "max_decrease": 0.0, "lower_bound": 0.9}])
    assert not verdict.blessed  # the absolute bound still applies
    assert verdict.skipped == ("auc: change condition without a baseline model",)
    assert _decide([{"metric": "auc", "max_decrease": 0.0}]).blessed


def test_a_slice_the_baseline_lacks_fails_a_change_condition():
    verdict = _decide([{"metric": "auc", "slice": "*", "max_decrease": 0.5}], BASELINE)
    assert [f.slice for f in verdict.failures] == ["day:1", "day:2"]
    assert verdict.failures[0].reason == "baseline value missing or NaN"


def test_missing_things_fail_rather_than_bless():
    reasons = [
        _decide([{"metric": "auc_typo", "lower_bound": 0}]).failures[0].reason,
        _decide([{"metric": "auc", "slice": {"day": "9"}, "lower_bound": 0}]).failures[0].reason,
        _decide([{"metric": "average_loss", "slice": {"day": "2"}, "upper_bound": 1}])
        .failures[0]
        .reason,
    ]
    assert reasons == [
        "metric not found in the evaluation",
        "slice not found in the evaluation",
        "value is NaN",
    ]


@pytest.mark.parametrize(
    "config, match",
    [
        ('[{"metric": "auc"}]', "at least one of"),
        ('[{"metric": "auc", "lower": 1}]', "unknown keys"),
        ('[{"metric": "auc", "max_decrease": "0.1"}]', "max_decrease.*finite number"),
        ('[{"metric": "auc", "max_increase": NaN}]', "max_increase.*finite number"),
        ('{"metric": "auc"}', "expected a list"),
        ("not json", "JSON"),
    ],
)
def test_invalid_thresholds_are_rejected_with_the_reason(config, match):
    with pytest.raises(ValueError, match=match):
        blessing.parse_thresholds(config)


def test_slice_names_are_canonical():
    assert blessing.slice_name({}) == "Overall"
    assert blessing.slice_name({"b": 2, "a": "x"}) == "a:x, b:2"
