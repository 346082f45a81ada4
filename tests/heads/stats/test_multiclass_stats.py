"""Tests of heads/stats/multiclass_stats.py against scikit-learn and plain NumPy."""

import numpy as np
import pytest

from heads.stats.multiclass_stats import MulticlassStats


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def test_head_keys_only_by_default():
    assert MulticlassStats(3).metric_keys() == (
        "average_loss",
        "accuracy",
        "example_count",
        "weighted_example_count",
    )
    keys = MulticlassStats(3, label_vocabulary=("a", "b", "c"), name="mc",
                           classes_for_class_based_metrics=(1,)).metric_keys()  # fmt: skip
    assert keys[:2] == ("average_loss/mc", "accuracy/mc")
    assert "auc/b/mc" in keys and "average_precision/b/error_bound/mc" in keys


@pytest.mark.parametrize("exact", [True, False])
def test_metrics_match_references(exact, reference):
    rng = np.random.default_rng(8)
    size = 100_000
    logits = rng.normal(size=(size, 5)) * 2
    probabilities = _softmax(logits)
    labels = (rng.random((size, 1)) > np.cumsum(probabilities, axis=1)).sum(axis=1)
    weights = rng.integers(1, 4, size).astype(np.float64)
    stats_obj = MulticlassStats(
        5, classes_for_class_based_metrics=(0, 4), max_exact_scores=2**20 if exact else 0
    )
    batch = {"logits": logits, "labels": labels[:, None], "weights": weights[:, None]}
    metrics = stats_obj.compute(stats_obj.update(None, batch))
    loss = -np.log(probabilities[np.arange(size), labels])
    assert metrics["average_loss"] == pytest.approx(np.average(loss, weights=weights), rel=1e-12)
    correct = np.argmax(logits, axis=1) == labels
    assert metrics["accuracy"] == np.sum(weights * correct) / weights.sum()
    for class_id in (0, 4):
        scores = probabilities[:, class_id]
        one_vs_rest = (labels == class_id).astype(np.float64)
        assert metrics[f"probability_mean/class{class_id}"] == pytest.approx(
            np.average(scores, weights=weights), rel=1e-12
        )
        reference.check_curves(metrics, f"/class{class_id}", scores, one_vs_rest, weights, exact)


def test_ties_go_to_the_first_class_and_loss_can_be_supplied():
    stats_obj = MulticlassStats(3)
    batch = {
        "logits": np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0]]),
        "labels": np.array([0, 2]),
        "unreduced_loss": np.array([0.5, 1.5]),
    }
    metrics = stats_obj.compute(stats_obj.update(None, batch))
    assert metrics["accuracy"] == 0.5
    assert metrics["average_loss"] == 1.0


def test_validation():
    stats_obj = MulticlassStats(3)
    with pytest.raises(ValueError, match="Invalid `labels`: expected class ids in \\[0, 3\\)"):
        stats_obj.update(None, {"logits": np.zeros((2, 3)), "labels": np.array([0, 3])})
    with pytest.raises(TypeError, match="Invalid `labels`: expected an integer array"):
        stats_obj.update(None, {"logits": np.zeros((2, 3)), "labels": np.array([0.0, 1.0])})
    with pytest.raises(ValueError, match="Invalid `logits`"):
        stats_obj.update(None, {"logits": np.zeros((2, 4)), "labels": np.array([0, 1])})
