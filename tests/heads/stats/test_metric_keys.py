"""Tests of heads/stats/metric_keys.py (docs/heads-behaviour.md §3.1, §3.2, §3.4)."""

import pytest

from heads.stats.metric_keys import (
    StatsMetricKeys,
    class_key,
    error_bound_key,
    suffixed,
    threshold_key,
)


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [(0.5, "0.5"), (0.25, "0.25"), (1 / 3, "0.333333"), (1e-5, "1e-05")],
)
def test_threshold_keys_use_percent_g(threshold, expected):
    assert threshold_key(StatsMetricKeys.ACCURACY_AT_THRESHOLD, threshold) == (
        f"accuracy/positive_threshold_{expected}"
    )


def test_name_suffix_comes_last():
    assert suffixed("auc", None) == "auc"
    assert suffixed("auc", "") == "auc"
    assert suffixed(error_bound_key("auc"), "h1") == "auc/error_bound/h1"
    assert suffixed(error_bound_key(class_key(StatsMetricKeys.AUC_AT_CLASS, 3)), "ml") == (
        "auc/class3/error_bound/ml"
    )


def test_class_keys_with_and_without_vocabulary():
    vocabulary = ("red", "green")
    assert class_key(StatsMetricKeys.PROBABILITY_MEAN_AT_CLASS, 1) == "probability_mean/class1"
    assert class_key(StatsMetricKeys.PROBABILITY_MEAN_AT_CLASS, 1, vocabulary) == (
        "probability_mean/green"
    )
    assert class_key(StatsMetricKeys.AUC_PR_AT_CLASS, 0, vocabulary) == "auc_precision_recall/red"
    assert class_key(StatsMetricKeys.AVERAGE_PRECISION_AT_CLASS, 0, vocabulary) == (
        "average_precision/red"
    )


def test_key_strings_agree_with_the_heads_metric_keys():
    # The strings are defined once, here; `heads.MetricKeys` takes the estimator's from here.
    import heads
    from heads.stats.metric_keys import EstimatorMetricKeys

    assert issubclass(heads.MetricKeys, EstimatorMetricKeys)
    assert issubclass(StatsMetricKeys, EstimatorMetricKeys)
    shared = [
        name for name in dir(StatsMetricKeys) if name.isupper() and hasattr(heads.MetricKeys, name)
    ]
    assert len(shared) >= 15
    for name in shared:
        assert getattr(StatsMetricKeys, name) == getattr(heads.MetricKeys, name), name


def test_heads_metric_keys_are_the_estimator_keys_only():
    import heads

    added = {"AVERAGE_PRECISION", "EXAMPLE_COUNT", "WEIGHTED_EXAMPLE_COUNT"}
    assert not added & {name for name in dir(heads.MetricKeys) if name.isupper()}
    assert heads.MetricKeys.LOSS_REGULARIZATION == "regularization_loss"
    assert StatsMetricKeys.AVERAGE_PRECISION == "average_precision"
