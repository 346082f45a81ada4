"""The structured per-head entries of metrics.json (`HeadMetricLayout`)."""

import json

import numpy as np

import heads
from heads.stats import stats_for_head
from heads.stats.multilabel_stats import MultilabelStats
from tfx_heads.components.evaluator import head_metrics
from tfx_heads.components.evaluator.bootstrap import Interval
from tfx_heads.components.evaluator.head_metrics import HeadMetricLayout, json_string_bodies

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
    _check_json(HeadMetricLayout(multi), metrics, intervals)
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


def _check_json(layout, metrics, intervals):
    """`entries_json` of the values' texts is `json.dumps` of `entries`."""
    texts = {key: json.dumps(value) for key, value in metrics.items()}
    interval_texts = {
        key: json.dumps({"lower": i.lower, "upper": i.upper, "standard_error": i.standard_error})
        for key, i in intervals.items()
    }
    expected = json.dumps(layout.entries(metrics, intervals))
    assert layout.entries_json(texts, interval_texts) == expected


def test_entries_json_of_odd_class_names_bounds_without_values_and_intervals():
    # Vocabulary names that JSON escapes (a quote, `", "`, a backslash, non-ASCII, a
    # control character); a bound whose metric the slice lacks; intervals on class metrics
    # and a headline metric; a class with no metric.
    vocabulary = ['a", "b', "c\\", "é类%", "\x01"]
    head = heads.describe(heads.MultiClassHead(n_classes=4, label_vocabulary=vocabulary, name="m"))
    layout = HeadMetricLayout(head)
    metrics = _metrics(
        head, {"logits": np.array([[1.0, 0.0, 2.0, -1.0]] * 2), "labels": np.array([[0], [2]])}
    )
    del metrics['auc/a", "b/m']
    metrics = {key: value for key, value in metrics.items() if "/c\\/" not in key}
    metrics.update({'auc/a", "b/error_bound/m': 0.5, "probability_mean/\x01/m": float("nan")})
    interval = Interval(0.4, 0.41, 0.05, 3, 0.3, float("inf"))
    intervals = dict.fromkeys(["auc/é类%/m", "accuracy/m", "probability_mean/\x01/m"], interval)
    _check_json(layout, metrics, intervals)
    _check_json(layout, {}, {})
    (entry,) = layout.entries(metrics, intervals)
    assert [c["class_name"] for c in entry["classes"]] == vocabulary
    assert "auc" not in entry["classes"][0]["error_bounds"]  # its auc is missing
    assert entry["classes"][0]["error_bounds"]["average_precision"] == 0.0
    assert entry["classes"][1] == {"class_id": 1, "class_name": "c\\", "metrics": {}}
    assert entry["classes"][2]["confidence_intervals"]["auc"]["upper"] == float("inf")


def test_json_string_bodies_are_each_string_s_json_within_its_quotes():
    strings = ['a", "b', "\\", "", '"', "é", "\x00", ", ", '\\", "']
    bodies = json_string_bodies(strings)
    assert [f'"{body}"' for body in bodies] == [json.dumps(string) for string in strings]
    assert json_string_bodies([]) == []


def _sigmoid(logits):
    return 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))


def test_a_head_of_over_1000_classes_has_each_class_s_probability_mean_and_no_curves():
    # Without selected classes, a multi-label head of over 1,000 classes has per-class
    # curves for none: each class entry holds its mean probability (sigmoid, by NumPy) only.
    head = heads.describe(heads.MultiLabelHead(n_classes=1001, name="tags"))
    logits = np.linspace(-3.0, 3.0, 2 * 1001).reshape(2, 1001)
    labels = np.zeros((2, 1001))
    labels[0, 5] = labels[1, 1000] = 1.0
    metrics = _metrics(head, {"logits": logits, "labels": labels})
    intervals = {"probability_mean/class7/tags": Interval(0.4, 0.41, 0.05, 3, 0.3, 0.5)}
    _check_json(HeadMetricLayout(head), metrics, intervals)
    (entry,) = HeadMetricLayout(head).entries(metrics, intervals)
    expected = _sigmoid(logits).mean(axis=0)
    assert [c["class_id"] for c in entry["classes"]] == list(range(1001))
    assert entry["classes"][1000]["class_name"] == "class1000"
    for class_id in (0, 5, 1000):
        (probability,) = entry["classes"][class_id].pop("metrics").items()
        assert probability[0] == "probability_mean"
        np.testing.assert_allclose(probability[1], expected[class_id])
        assert entry["classes"][class_id] == {
            "class_id": class_id,
            "class_name": f"class{class_id}",
        }
    assert entry["classes"][7]["confidence_intervals"] == {
        "probability_mean": {"lower": 0.3, "upper": 0.5, "standard_error": 0.05}
    }
    assert {"auc", "auc_precision_recall", "average_precision"} <= set(entry["metrics"])
    assert not any(key.startswith("probability_mean") for key in entry["metrics"])
    assert set(entry["error_bounds"]) == {"auc", "auc_precision_recall", "average_precision"}


def test_classes_with_curves_among_others_keep_their_metrics_order(monkeypatch):
    # Statistics with curves for classes 1 and 3 of 4 (the layout asks the statistics which
    # classes have curves): those hold the four class metrics in `CLASS_METRICS` order, the
    # others their mean probability; vocabulary names, keys written out by hand.
    head = heads.describe(heads.MultiLabelHead(n_classes=4, label_vocabulary=list("wxyz")))
    stats_obj = MultilabelStats(
        n_classes=4,
        classes_for_class_based_metrics=(0, 1, 2, 3),
        label_vocabulary=list("wxyz"),
        curve_classes=(3, 1),
    )
    monkeypatch.setattr(head_metrics, "stats_for_head", lambda _: stats_obj)
    metrics = {
        "probability_mean/w": 0.1,
        "probability_mean/x": 0.2,
        "auc/x": 0.3,
        "auc/x/error_bound": 0.01,
        "average_precision/x": 0.4,
        "auc_precision_recall/x": 0.5,
        "probability_mean/y": 0.6,
        "auc/y": 0.7,  # Class y has no curves: its `auc` is no key of the head.
        "auc/z": 0.8,
        "probability_mean/z": 0.9,
    }
    _check_json(HeadMetricLayout(head), metrics, {})
    (entry,) = HeadMetricLayout(head).entries(metrics)
    assert [(c["class_name"], list(c["metrics"].items())) for c in entry["classes"]] == [
        ("w", [("probability_mean", 0.1)]),
        (
            "x",
            [
                ("auc", 0.3),
                ("auc_precision_recall", 0.5),
                ("average_precision", 0.4),
                ("probability_mean", 0.2),
            ],
        ),
        ("y", [("probability_mean", 0.6)]),
        ("z", [("auc", 0.8), ("probability_mean", 0.9)]),
    ]
    assert entry["classes"][1]["error_bounds"] == {"auc": 0.01}
    assert "error_bounds" not in entry["classes"][3]
