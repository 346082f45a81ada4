"""Tests of heads._metrics: AccuracyBaseline and the weighted update helpers."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from heads import _metrics


def _baseline(labels, weights):
    p = (labels * weights).sum() / weights.sum()
    return max(p, 1 - p)


def test_accuracy_baseline_matches_numpy_and_merges():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 50).astype(np.float32)
    weights = rng.uniform(0, 2, 50).astype(np.float32)
    whole = _metrics.AccuracyBaseline()
    whole.update_state(labels, sample_weight=weights)
    np.testing.assert_allclose(whole.result(), _baseline(labels, weights), rtol=1e-5)
    # Two "replicas" each see part of the data; summing their state gives the same value.
    parts = [_metrics.AccuracyBaseline(), _metrics.AccuracyBaseline()]
    split = rng.permutation(50)
    parts[0].update_state(labels[split[:17]], sample_weight=weights[split[:17]])
    parts[1].update_state(labels[split[17:]], sample_weight=weights[split[17:]])
    merged = _metrics.AccuracyBaseline()
    for part in parts:
        merged.total.assign_add(part.total)
        merged.count.assign_add(part.count)
    np.testing.assert_allclose(merged.result(), whole.result(), rtol=1e-5)


def test_accuracy_baseline_empty_and_zero_weights():
    metric = _metrics.AccuracyBaseline(name="accuracy_baseline/h")
    assert float(metric.result()) == 0.0
    metric.update_state([1.0, 0.0], sample_weight=[0.0, 0.0])
    assert float(metric.result()) == 0.0
    assert metric.name == "accuracy_baseline/h"
    assert metric.get_config()["name"] == "accuracy_baseline/h"


def test_update_mean_flattens_with_broadcast_weights():
    metric = keras.metrics.Mean()
    _metrics.update_mean(
        metric, tf.constant([[[1.0, 3.0]], [[5.0, 7.0]]]), tf.constant([[[1.0]], [[3.0]]])
    )
    _metrics.update_mean(metric, tf.constant([[2.0]]), tf.constant([[2.0]]))
    expected = (1 + 3 + 15 + 21 + 4) / (1 + 1 + 3 + 3 + 2)
    np.testing.assert_allclose(metric.result(), expected, rtol=1e-6)


def test_threshold_keys():
    assert _metrics.threshold_keys([1 / 3, 1e-5], None) == [
        (
            1 / 3,
            "accuracy/positive_threshold_0.333333",
            "precision/positive_threshold_0.333333",
            "recall/positive_threshold_0.333333",
        ),
        (
            1e-5,
            "accuracy/positive_threshold_1e-05",
            "precision/positive_threshold_1e-05",
            "recall/positive_threshold_1e-05",
        ),
    ]


def test_update_regularization_metric_requires_the_metric():
    metrics = {}
    _metrics.update_regularization_metric(metrics, None, "h")
    with pytest.raises(KeyError, match="regularization_loss/h"):
        _metrics.update_regularization_metric(metrics, [1.0], "h")
