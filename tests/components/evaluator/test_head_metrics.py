"""The structured per-head entries of metrics.json (`HeadMetricLayout`)."""

import numpy as np

import heads
from heads.stats import stats_for_head
from tfx_heads.components.evaluator.bootstrap import Interval
from tfx_heads.components.evaluator.head_metrics import HeadMetricLayout

_BATCHES = {
    "a": {"logits": np.array([[1.0], [3.0]]), "labels": np.array([[0.0], [3.0]])},
    "b": {"logits": np.array([[0.0], [0.0]]), "labels": np.array([[2.0], [2.0]])},
}


def _metrics(description, batch):
    stats_obj = stats_for_head(description)
    return stats_obj.compute(stats_obj.update(None, batch))


def test_a_multi_head_entry_holds_each_head_s_loss_and_a_single_head_entry_none():
    multi = heads.describe(
        heads.MultiHead([heads.RegressionHead(name="a"), heads.RegressionHead(name="b")])
    )
    first, second = HeadMetricLayout(multi).entries(_metrics(multi, _BATCHES))
    # Squared errors: a (1, 0), b (4, 4); the reduced loss is their mean per head.
    assert (first["name"], first["kind"]) == ("a", "regression")
    assert first["metrics"]["loss"] == 0.5 and first["metrics"]["average_loss"] == 0.5
    assert second["metrics"]["loss"] == 4.0 and second["metrics"]["average_loss"] == 4.0
    single = heads.describe(heads.RegressionHead(name="a"))
    (entry,) = HeadMetricLayout(single).entries(_metrics(single, _BATCHES["a"]))
    assert "loss" not in entry["metrics"] and entry["metrics"]["average_loss"] == 0.5
    assert list(entry["metrics"]) == [key for key in first["metrics"] if key != "loss"]


def test_entries_group_classes_thresholds_error_bounds_and_intervals():
    # Keys written out by hand: a vocabulary name holding `/` (`b/x`), a class that lacks a
    # metric and one with none, a threshold metric with an interval, a headline metric with
    # an error bound.
    multi = heads.describe(
        heads.MultiHead(
            [
                heads.MultiClassHead(n_classes=3, label_vocabulary=["a", "b/x", "c"], name="c"),
                heads.BinaryClassHead(thresholds=(0.3,), name="ctr"),
            ]
        )
    )
    metrics = {
        "accuracy/c": 0.5,
        "auc/a/c": 0.25,
        "auc/a/error_bound/c": 0.01,
        "probability_mean/b/x/c": 0.75,
        "auc/b/x/c": 0.5,
        "auc/ctr": 0.9,
        "auc/error_bound/ctr": 0.02,
        "precision/positive_threshold_0.3/ctr": 0.4,
        "example_count/c_ctr": 8.0,
    }
    interval = Interval(0.4, 0.41, 0.05, 3, 0.3, 0.5)
    intervals = {"precision/positive_threshold_0.3/ctr": interval, "auc/b/x/c": interval}
    bounds = {"lower": 0.3, "upper": 0.5, "standard_error": 0.05}
    assert HeadMetricLayout(multi).entries(metrics, intervals) == [
        {
            "name": "c",
            "kind": "multi_class",
            "metrics": {"accuracy": 0.5},
            "thresholds": [],
            "classes": [
                {
                    "class_id": 0,
                    "class_name": "a",
                    "metrics": {"auc": 0.25},
                    "error_bounds": {"auc": 0.01},
                },
                {
                    "class_id": 1,
                    "class_name": "b/x",
                    "metrics": {"auc": 0.5, "probability_mean": 0.75},
                    "confidence_intervals": {"auc": bounds},
                },
                {"class_id": 2, "class_name": "c", "metrics": {}},
            ],
        },
        {
            "name": "ctr",
            "kind": "binary",
            "metrics": {"auc": 0.9},
            "error_bounds": {"auc": 0.02},
            "thresholds": [
                {
                    "threshold": 0.3,
                    "metrics": {"precision": 0.4},
                    "confidence_intervals": {"precision": bounds},
                }
            ],
            "classes": [],
        },
    ]
