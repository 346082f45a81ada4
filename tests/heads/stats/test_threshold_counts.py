"""Tests of heads/stats/threshold_counts.py against plain NumPy and scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, precision_score, recall_score

from heads.stats.inputs import binary_labels
from heads.stats.threshold_counts import (
    _threshold_counts_compute,
    _threshold_counts_merge,
    _threshold_counts_update,
    binary_threshold_metrics,
    threshold_counts_validate_args,
    threshold_predicates,
)


def _numpy_reference(scores, labels, weights, threshold):
    """Keras semantics written out: pred = score > t; bool(label) for P/R; equality for acc."""
    predicted = scores > threshold
    positive = labels != 0
    tp = np.sum(weights * (predicted & positive))
    fp = np.sum(weights * (predicted & ~positive))
    fn = np.sum(weights * (~predicted & positive))
    matches = np.where(predicted, labels == 1, labels == 0)
    accuracy = np.sum(weights * matches) / np.sum(weights)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return accuracy, precision, recall


@pytest.mark.parametrize("soft", [False, True])
def test_matches_numpy_reference_exactly(soft):
    rng = np.random.default_rng(0)
    scores = rng.random(10_000).astype(np.float32)
    scores[::97] = np.nan  # NaN is never predicted positive
    values = [0.0, 0.3, 1.0] if soft else [0.0, 1.0]
    labels = rng.choice(values, 10_000)
    weights = rng.integers(0, 4, 10_000).astype(np.float64)  # exact float sums
    thresholds = (0.1, 0.5, 0.999)
    metrics = binary_threshold_metrics(scores, labels, weights, thresholds)
    for position, threshold in enumerate(thresholds):
        accuracy, precision, recall = _numpy_reference(
            scores, labels, weights, np.float32(threshold)
        )
        assert metrics.accuracy[position] == accuracy
        assert metrics.precision[position] == precision
        assert metrics.recall[position] == recall


def test_matches_sklearn_for_hard_labels():
    rng = np.random.default_rng(1)
    scores = rng.random(5000)
    labels = (rng.random(5000) < scores).astype(int)
    weights = rng.random(5000)
    predicted = (scores > 0.4).astype(int)
    metrics = binary_threshold_metrics(scores, labels, weights, (0.4,))
    assert metrics.accuracy[0] == pytest.approx(
        accuracy_score(labels, predicted, sample_weight=weights), rel=1e-12
    )
    assert metrics.precision[0] == pytest.approx(
        precision_score(labels, predicted, sample_weight=weights), rel=1e-12
    )
    assert metrics.recall[0] == pytest.approx(
        recall_score(labels, predicted, sample_weight=weights), rel=1e-12
    )


def test_confusion_counts_and_unweighted_path():
    scores = np.array([0.2, 0.6, 0.9, 0.7])
    metrics = binary_threshold_metrics(scores, np.array([0, 0, 1, 1]), thresholds=(0.5, 0.8))
    np.testing.assert_array_equal(metrics.true_positives, [2, 1])
    np.testing.assert_array_equal(metrics.false_positives, [1, 0])
    np.testing.assert_array_equal(metrics.true_negatives, [1, 2])
    np.testing.assert_array_equal(metrics.false_negatives, [0, 1])
    np.testing.assert_allclose(metrics.accuracy, [0.75, 0.75])


def test_cells_weigh_their_row_weight():
    scores = np.array([[0.9, 0.1, 0.6], [0.2, 0.8, 0.4]])
    labels = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    weights = np.array([1.0, 3.0])
    counts = _threshold_counts_update(
        None, threshold_predicates(scores, np.array([0.5])), binary_labels(labels), weights
    )
    cell_weights = np.repeat(weights, 3)
    accuracy, precision, recall = _numpy_reference(
        scores.ravel(), labels.ravel(), cell_weights, 0.5
    )
    metrics = _threshold_counts_compute(counts)
    assert counts[0, 0] == cell_weights.sum()
    assert metrics.accuracy[0] == pytest.approx(accuracy)
    assert metrics.precision[0] == pytest.approx(precision)
    assert metrics.recall[0] == pytest.approx(recall)


def test_zero_weight_gives_keras_zeros():
    metrics = binary_threshold_metrics(np.array([0.9]), np.array([1.0]), np.zeros(1))
    assert (metrics.accuracy[0], metrics.precision[0], metrics.recall[0]) == (0.0, 0.0, 0.0)


def test_update_in_place_and_merge():
    labels = binary_labels(np.array([1.0, 0.0, 1.0]))
    predicates = threshold_predicates(np.array([0.7, 0.2, 0.4]), np.array([0.3]))
    counts = np.zeros((2, 3))
    assert _threshold_counts_update(counts, predicates, labels, None) is counts
    np.testing.assert_array_equal(counts, [[3, 2, 2], [2, 2, 2]])
    np.testing.assert_array_equal(_threshold_counts_merge(counts, counts), 2 * counts)


def test_predicates_compare_in_score_dtype():
    # 0.1 in float32 is above 0.1 in float64: Keras compares float32 with float32.
    scores = np.array([0.1], dtype=np.float32)
    assert not threshold_predicates(scores, np.array([0.1]))[0][0]
    assert threshold_predicates(scores.astype(np.float64), np.array([0.1]))[0][0]


@pytest.mark.parametrize(
    ("thresholds", "error"),
    [((0.0,), ValueError), ((1.0,), ValueError), ((0.5, 1.5), ValueError), (("a",), TypeError)],
)
def test_validate_args(thresholds, error):
    with pytest.raises(error, match="Invalid `thresholds`: expected a sequence of floats"):
        threshold_counts_validate_args(thresholds)
    assert threshold_counts_validate_args(None) == ()
    assert threshold_counts_validate_args([0.25, np.float32(0.5)]) == (0.25, 0.5)
