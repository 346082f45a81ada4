"""Tests of heads/stats/regression_stats.py against plain NumPy."""

import numpy as np
import pytest

from heads.stats.regression_stats import RegressionStats


def test_keys():
    assert RegressionStats(name="r").metric_keys() == (
        "average_loss/r",
        "prediction/mean/r",
        "label/mean/r",
        "example_count/r",
        "weighted_example_count/r",
    )


@pytest.mark.parametrize("per_element", [False, True])
def test_squared_error_head_matches_numpy(per_element):
    rng = np.random.default_rng(9)
    logits = rng.normal(size=(1000, 3))
    labels = rng.normal(size=(1000, 3))
    weights = rng.random((1000, 3)) if per_element else rng.random((1000, 1))
    stats_obj = RegressionStats(label_dimension=3)
    stats = stats_obj.update(None, {"logits": logits, "labels": labels, "weights": weights})
    metrics = stats_obj.compute(stats)
    element_weights = np.broadcast_to(weights, (1000, 3))
    expected = np.average((labels - logits) ** 2, weights=element_weights)
    assert metrics["average_loss"] == pytest.approx(expected, rel=1e-12)
    assert metrics["prediction/mean"] == pytest.approx(
        np.average(logits, weights=element_weights), rel=1e-12
    )
    assert metrics["label/mean"] == pytest.approx(
        np.average(labels, weights=element_weights), rel=1e-12
    )
    assert metrics["weighted_example_count"] == pytest.approx(element_weights.sum() / 3)
    assert stats_obj.reduced_loss(stats) == pytest.approx(
        np.sum(element_weights * (labels - logits) ** 2) / 3000, rel=1e-12
    )


def test_poisson_and_logistic_links_and_losses():
    logits = np.array([[0.5], [-1.0], [2.0]])
    labels = np.array([[2.0], [0.0], [3.0]])
    poisson = RegressionStats(loss="poisson")
    metrics = poisson.compute(poisson.update(None, {"logits": logits, "labels": labels}))
    z, x = labels, logits
    safe = np.maximum(z, 1)
    stirling = np.where(z > 1, safe * np.log(safe) - safe + 0.5 * np.log(2 * np.pi * safe), 0)
    assert metrics["average_loss"] == pytest.approx(np.mean(np.exp(x) - z * x + stirling))
    assert metrics["prediction/mean"] == pytest.approx(np.mean(np.exp(x)))
    no_full = RegressionStats(loss="poisson", compute_full_loss=False)
    plain = no_full.compute(no_full.update(None, {"logits": logits, "labels": labels}))
    assert plain["average_loss"] == pytest.approx(np.mean(np.exp(x) - z * x))
    logistic = RegressionStats(loss="sigmoid_cross_entropy")
    soft = np.array([[0.2], [1.0], [0.0]])
    metrics = logistic.compute(logistic.update(None, {"logits": logits, "labels": soft}))
    expected = np.maximum(x, 0) - x * soft + np.log1p(np.exp(-np.abs(x)))
    assert metrics["average_loss"] == pytest.approx(np.mean(expected))
    assert metrics["prediction/mean"] == pytest.approx(np.mean(1 / (1 + np.exp(-x))))


def test_supplied_predictions_and_loss():
    stats_obj = RegressionStats()
    batch = {
        "logits": np.array([[1.0], [2.0]]),
        "labels": np.array([0.0, 4.0]),  # [D0] labels are accepted when d == 1
        "predictions": np.array([[10.0], [20.0]]),
        "unreduced_loss": np.array([[1.0], [3.0]]),
        "weights": np.array([1.0, 3.0]),
    }
    metrics = stats_obj.compute(stats_obj.update(None, batch))
    assert metrics["prediction/mean"] == 17.5
    assert metrics["average_loss"] == 2.5
    assert metrics["label/mean"] == 3.0


def test_validation():
    with pytest.raises(ValueError, match="Invalid `loss`"):
        RegressionStats(loss="huber")
    with pytest.raises(ValueError, match="Invalid `label_dimension`"):
        RegressionStats(label_dimension=0)
    with pytest.raises(TypeError, match="Invalid `compute_full_loss`"):
        RegressionStats(compute_full_loss="yes")
    stats_obj = RegressionStats(label_dimension=2)
    with pytest.raises(ValueError, match="Invalid `labels`: expected shape \\(2, 2\\)"):
        stats_obj.update(None, {"logits": np.zeros((2, 2)), "labels": np.zeros(2)})
    with pytest.raises(ValueError, match="Invalid `weights`"):
        stats_obj.update(
            None, {"logits": np.zeros((2, 2)), "labels": np.zeros((2, 2)), "weights": np.ones(3)}
        )
