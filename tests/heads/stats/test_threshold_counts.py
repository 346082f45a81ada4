"""Tests of heads/stats/threshold_counts.py against plain NumPy and scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, precision_score, recall_score

from heads.stats.inputs import binary_labels
from heads.stats.threshold_counts import (
    _threshold_counts_compute,
    _threshold_counts_update,
    binary_threshold_metrics,
    cell_dtype,
    label_classes,
    level_counts,
    threshold_counts_validate_args,
    threshold_levels,
    threshold_predicates,
    weighted_cell_counts,
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


def test_label_classes():
    values = np.array([0.0, 1.0, 0.3, np.nan, 1.0, 0.0])
    classes, positive, soft = label_classes(values)
    np.testing.assert_array_equal(classes, [0, 2, 1, 1, 2, 0])
    np.testing.assert_array_equal(positive, values != 0)
    assert soft and classes.dtype == np.uint8
    assert not label_classes(np.array([0.0, 1.0, 1.0], dtype=np.float32))[2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threshold_levels_count_the_predicates(dtype):
    rng = np.random.default_rng(7)
    scores = rng.random(5000).astype(dtype)
    scores[::50] = np.nan
    scores[1::50] = dtype(0.1)  # on a threshold: not above it
    thresholds = np.array([0.1, 0.1, 0.5, 0.9])  # ascending, with a repeat
    levels = threshold_levels(scores, thresholds)
    expected = sum(scores > dtype(t) for t in thresholds)
    np.testing.assert_array_equal(levels, expected)
    assert levels.dtype == np.uint8
    assert threshold_levels(scores, thresholds, np.uint16).dtype == np.uint16


@pytest.mark.parametrize("size", [1000, 2**16, 2**16 + 3])
@pytest.mark.parametrize("n_cells", [24, 70, 20_000])
def test_weighted_cell_counts_equal_bincount(size, n_cells):
    rng = np.random.default_rng(size + n_cells)
    cells = rng.integers(0, n_cells, size)
    cells[: size // 2] = n_cells - 1  # long runs of one cell
    weights = rng.random(size)
    dtype = cell_dtype(n_cells)
    assert np.iinfo(dtype).max >= 4 * n_cells - 1
    for chosen in (weights, None):
        expected = np.bincount(cells, chosen, minlength=n_cells)
        got = weighted_cell_counts(cells.astype(dtype), chosen, n_cells)
        assert got.dtype == np.float64 and got.shape == (n_cells,)
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_level_counts_match_direct_sums():
    rng = np.random.default_rng(8)
    size = 3000
    levels = [rng.integers(0, 2, size), rng.integers(0, 5, size)]
    label_class = rng.integers(0, 3, size)
    weights = rng.integers(0, 4, size).astype(np.float64)
    table = np.zeros((2, 5, 3))
    np.add.at(table, (levels[0], levels[1], label_class), weights)
    ranks = ([0], [3, 0, 2, 2])
    counts = level_counts(table, ranks)
    columns = [np.ones(size, bool), label_class >= 1, label_class == 2]
    predicates = [levels[0] > 0] + [levels[1] > rank for rank in ranks[1]]
    expected = [[np.sum(weights * column) for column in columns]]
    expected += [[np.sum(weights * (p & column)) for column in columns] for p in predicates]
    np.testing.assert_array_equal(counts, expected)
