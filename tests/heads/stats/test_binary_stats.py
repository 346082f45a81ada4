"""Tests of heads/stats/binary_stats.py against scikit-learn and plain NumPy."""

import numpy as np
import pytest
from sklearn.metrics import precision_score, recall_score

from heads.stats.binary_stats import BinaryStats

_HEAD_KEYS = [
    "average_loss",
    "accuracy",
    "precision",
    "recall",
    "prediction/mean",
    "label/mean",
    "accuracy_baseline",
    "auc",
    "auc_precision_recall",
]
_ADDED_KEYS = [
    "auc/error_bound",
    "auc_precision_recall/error_bound",
    "average_precision",
    "average_precision/error_bound",
    "example_count",
    "weighted_example_count",
]


def _data(rng, size, skewed=False):
    if skewed:
        labels = (rng.random(size) < 0.01).astype(np.float64)
        logits = np.where(labels > 0, rng.normal(-2.0, 1.0, size), rng.normal(-6.0, 1.0, size))
    else:
        logits = rng.normal(size=size) * 2
        labels = (rng.random(size) < 1 / (1 + np.exp(-logits))).astype(np.float64)
    weights = rng.integers(1, 4, size).astype(np.float64)
    return logits, labels, weights


def test_keys_in_head_order_then_added_keys():
    keys = BinaryStats(thresholds=(0.5, 1 / 3)).metric_keys()
    thresholds = [
        f"{metric}/positive_threshold_{t}"
        for t in ("0.5", "0.333333")
        for metric in ("accuracy", "precision", "recall")
    ]
    assert list(keys) == _HEAD_KEYS + thresholds + _ADDED_KEYS


def test_name_suffixes_every_key():
    keys = BinaryStats(thresholds=(0.5,), name="bin").metric_keys()
    assert all(key.endswith("/bin") for key in keys)
    assert "auc/error_bound/bin" in keys
    assert "accuracy/positive_threshold_0.5/bin" in keys


@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize("skewed", [False, True])
def test_every_metric_matches_references(skewed, exact, reference):
    rng = np.random.default_rng(11)
    logits, labels, weights = _data(rng, 100_000, skewed)
    budget = 2**20 if exact else 0
    stats_obj = BinaryStats(thresholds=(0.2, 0.5, 0.9), max_exact_scores=budget)
    metrics = stats_obj.compute(
        stats_obj.update(None, {"logits": logits[:, None], "labels": labels, "weights": weights})
    )
    total = weights.sum()
    loss = np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))
    probabilities = 1 / (1 + np.exp(-logits))
    label_mean = np.sum(weights * labels) / total
    class_ids = (logits > 0).astype(np.float64)
    assert metrics["average_loss"] == pytest.approx(np.sum(weights * loss) / total, rel=1e-12)
    assert metrics["accuracy"] == np.sum(weights * (labels == class_ids)) / total
    assert metrics["precision"] == pytest.approx(
        precision_score(labels, class_ids, sample_weight=weights), rel=1e-14
    )
    assert metrics["recall"] == pytest.approx(
        recall_score(labels, class_ids, sample_weight=weights), rel=1e-14
    )
    assert metrics["prediction/mean"] == pytest.approx(
        np.sum(weights * probabilities) / total, rel=1e-13
    )
    assert metrics["label/mean"] == pytest.approx(label_mean, rel=1e-14)
    assert metrics["accuracy_baseline"] == pytest.approx(max(label_mean, 1 - label_mean))
    reference.check_curves(metrics, "", logits, labels, weights, exact)
    for threshold in (0.2, 0.5, 0.9):
        predicted = (probabilities > threshold).astype(np.float64)
        suffix = f"positive_threshold_{threshold:g}"
        assert metrics[f"accuracy/{suffix}"] == np.sum(weights * (predicted == labels)) / total
        assert metrics[f"precision/{suffix}"] == pytest.approx(
            precision_score(labels, predicted, sample_weight=weights, zero_division=0), rel=1e-14
        )
        assert metrics[f"recall/{suffix}"] == pytest.approx(
            recall_score(labels, predicted, sample_weight=weights), rel=1e-14
        )
    assert metrics["example_count"] == 100_000
    assert metrics["weighted_example_count"] == total


def test_float32_inputs_and_unit_weights():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(500, 1)).astype(np.float32)
    labels = (rng.random((500, 1)) < 0.5).astype(np.float32)
    stats_obj = BinaryStats()
    unweighted = stats_obj.compute(stats_obj.update(None, {"logits": logits, "labels": labels}))
    weighted = stats_obj.compute(
        stats_obj.update(None, {"logits": logits, "labels": labels, "weights": np.ones(500)})
    )
    assert unweighted == weighted
    x = logits.astype(np.float64)
    expected_loss = np.mean(np.maximum(x, 0) - x * labels + np.log1p(np.exp(-np.abs(x))))
    assert unweighted["average_loss"] == pytest.approx(expected_loss, rel=1e-6)


def test_supplied_unreduced_loss_and_layouts():
    stats_obj = BinaryStats()
    logits = np.array([[[0.5], [-1.0]], [[2.0], [0.0]]])  # [2, 2, 1]
    labels = np.array([[1, 0], [1, 1]])
    weights = np.array([[[1.0], [2.0]], [[0.0], [1.0]]])
    loss = np.array([[1.0, 2.0], [3.0, 4.0]])
    batch = {"logits": logits, "labels": labels, "weights": weights, "unreduced_loss": loss}
    metrics = stats_obj.compute(stats_obj.update(None, batch))
    assert metrics["average_loss"] == (1 + 4 + 0 + 4) / 4
    assert metrics["accuracy"] == (1 + 2 + 0 + 0) / 4  # logit 0.0 is class 0
    assert metrics["example_count"] == 4


def test_soft_labels_follow_keras():
    stats_obj = BinaryStats(thresholds=(0.5,))
    batch = {"logits": np.array([1.0, 1.0, -1.0]), "labels": np.array([0.5, 1.0, 0.0])}
    metrics = stats_obj.compute(stats_obj.update(None, batch))
    assert metrics["precision"] == 1.0  # the 0.5 label counts as a positive
    assert metrics["accuracy"] == pytest.approx(2 / 3)  # but never matches a prediction
    assert metrics["label/mean"] == 0.5
    assert metrics["auc"] == 1.0


def test_zero_weights_give_keras_zeros():
    stats_obj = BinaryStats(thresholds=(0.5,))
    batch = {"logits": np.array([1.0, -1.0]), "labels": np.array([1, 0]), "weights": np.zeros(2)}
    metrics = stats_obj.compute(stats_obj.update(None, batch))
    assert all(value == 0.0 for key, value in metrics.items() if key != "example_count")
    assert all(value == 0.0 for value in stats_obj.compute(stats_obj.create()).values())


def test_update_is_in_place_and_merge_is_a_sum():
    rng = np.random.default_rng(4)
    logits, labels, weights = _data(rng, 1000)
    stats_obj = BinaryStats(thresholds=(0.5,), num_buckets=256)
    whole = stats_obj.update(None, {"logits": logits, "labels": labels, "weights": weights})
    first = stats_obj.update(None, {"logits": logits[:400], "labels": labels[:400],
                                    "weights": weights[:400]})  # fmt: skip
    second = stats_obj.create()
    result = stats_obj.update(
        second, {"logits": logits[400:], "labels": labels[400:], "weights": weights[400:]}
    )
    assert result is second
    merged = stats_obj.merge(first, second)
    assert merged is not first and merged is not second
    assert stats_obj.compute(merged) == pytest.approx(stats_obj.compute(whole), rel=1e-12)


@pytest.mark.parametrize(
    ("batch", "error", "match"),
    [
        ({"logits": np.zeros((2, 1))}, ValueError, "Invalid `batch`: expected keys"),
        (
            {"logits": np.zeros((2, 1)), "labels": np.zeros(2), "weight": np.ones(2)},
            ValueError,
            "Invalid `batch`",
        ),
        ({"logits": np.zeros((2, 2)), "labels": np.zeros(2)}, ValueError, "Invalid `logits`"),
        ({"logits": np.zeros((2, 1)), "labels": np.zeros(3)}, ValueError, "Invalid `labels`"),
        ({"logits": np.zeros((2, 1)), "labels": np.array([0, 2])}, ValueError, "\\[0, 1\\]"),
        (
            {"logits": np.zeros((2, 1)), "labels": np.zeros(2), "weights": np.ones(3)},
            ValueError,
            "Invalid `weights`",
        ),
        (
            {"logits": np.zeros((2, 1)), "labels": np.zeros(2), "unreduced_loss": np.ones(3)},
            ValueError,
            "Invalid `unreduced_loss`",
        ),
        ({"logits": np.array([["a"]]), "labels": np.zeros(1)}, TypeError, "Invalid `logits`"),
    ],
)
def test_batch_validation(batch, error, match):
    with pytest.raises(error, match=match):
        BinaryStats().update(None, batch)


def test_constructor_validation():
    with pytest.raises(ValueError, match="Invalid `thresholds`"):
        BinaryStats(thresholds=(0.0,))
    with pytest.raises(TypeError, match="Invalid `name`"):
        BinaryStats(name=1)
    with pytest.raises(ValueError, match="Invalid `num_buckets`"):
        BinaryStats(num_buckets=1)
    assert BinaryStats(thresholds=None).thresholds == ()


def test_a_rejected_batch_changes_nothing():
    stats_obj = BinaryStats()
    stats = stats_obj.update(None, {"logits": np.array([1.0, -1.0]), "labels": np.array([1, 0])})
    before = stats_obj.compute(stats)
    big = 200_000  # several internal chunks; the bad label sits in the last one
    labels = np.zeros(big)
    labels[-1] = 2.0
    with pytest.raises(ValueError, match="Invalid `labels`"):
        stats_obj.update(stats, {"logits": np.zeros(big), "labels": labels})
    assert stats_obj.compute(stats) == before


def test_large_batches_are_chunked_without_changing_results():
    rng = np.random.default_rng(13)
    logits, labels, weights = _data(rng, 300_000)
    stats_obj = BinaryStats(thresholds=(0.5,))
    whole = stats_obj.update(None, {"logits": logits, "labels": labels, "weights": weights})
    pieces = None
    for start in range(0, 300_000, 1000):
        stop = start + 1000
        batch = {"logits": logits[start:stop], "labels": labels[start:stop],
                 "weights": weights[start:stop]}  # fmt: skip
        pieces = stats_obj.update(pieces, batch)
    assert stats_obj.compute(whole) == pytest.approx(stats_obj.compute(pieces), rel=1e-12)


def _direct_threshold_metrics(probabilities, labels, weights, threshold):
    """Keras semantics written out: predicted = p > t; bool(label) for P/R; equality for acc."""
    predicted = probabilities > threshold
    positive = labels != 0
    tp = np.sum(weights * (predicted & positive))
    accuracy = np.sum(weights * np.where(predicted, labels == 1, labels == 0)) / weights.sum()
    precision = tp / np.sum(weights * predicted) if predicted.any() else 0.0
    return accuracy, precision, tp / np.sum(weights * positive)


@pytest.mark.parametrize("n_thresholds", [0, 3, 100])
@pytest.mark.parametrize("soft", [False, True])
def test_float32_thresholds_class_ids_and_means_match_direct_numpy(n_thresholds, soft):
    # Unsorted, repeated and float32-colliding thresholds; 100 of them need uint16 cells.
    rng = np.random.default_rng(21)
    size = 150_000  # three chunks
    logits = (rng.normal(size=size) * 4).astype(np.float32)
    logits[:20] = [0, -0.0, 1e-9, -1e-9, 6e-8, 1e-7, 17, -17, 40, -40] * 2
    values = [0.0, 0.25, 1.0] if soft else [0.0, 1.0]
    labels = rng.choice(values, size).astype(np.float32)
    weights = rng.integers(0, 4, size).astype(np.float32)  # exact float64 sums
    thresholds = list(rng.random(n_thresholds))
    if n_thresholds:
        thresholds[:3] = [0.5, 0.5, 0.5 + 1e-10][:n_thresholds]
    stats_obj = BinaryStats(thresholds=thresholds)
    batch = {"logits": logits, "labels": labels, "weights": weights}
    metrics = stats_obj.compute(stats_obj.update(None, batch))
    w = weights.astype(np.float64)
    probabilities = 1 / (1 + np.exp(-logits))  # float32, as the head computes it
    expected = _direct_threshold_metrics(logits, labels, w, np.float32(0))  # class_ids
    assert (metrics["accuracy"], metrics["precision"], metrics["recall"]) == expected
    for threshold in thresholds:
        expected = _direct_threshold_metrics(probabilities, labels, w, np.float32(threshold))
        suffix = f"positive_threshold_{threshold:g}"
        got = tuple(metrics[f"{name}/{suffix}"] for name in ("accuracy", "precision", "recall"))
        assert got == pytest.approx(expected, rel=1e-14)
    total = w.sum()
    assert metrics["weighted_example_count"] == total
    assert metrics["label/mean"] == pytest.approx(np.sum(w * labels) / total, rel=1e-14)
    prediction_mean = np.sum(w * probabilities.astype(np.float64)) / total
    assert metrics["prediction/mean"] == pytest.approx(prediction_mean, rel=1e-14)
    x = logits.astype(np.float64)
    loss = np.maximum(x, 0) - x * labels + np.log1p(np.exp(-np.abs(x)))
    assert metrics["average_loss"] == pytest.approx(np.sum(w * loss) / total, rel=1e-6)
