"""Tests of heads/stats/curve.py against scikit-learn and sort-based NumPy references."""

import numpy as np
import pytest

from heads.stats.curve import (
    CurveMetrics,
    _binary_curve_compute,
    _binary_curve_update,
    binary_curve,
    exact_curves,
)
from heads.stats.histogram import logit_histogram
from heads.stats.inputs import binary_labels


def _check_within_bounds(metrics, exact_auc, exact_pr, exact_ap, slack=1e-12):
    assert abs(metrics.auc - exact_auc) <= metrics.auc_error_bound + slack
    assert abs(metrics.auc_precision_recall - exact_pr) <= (
        metrics.auc_precision_recall_error_bound + slack
    )
    assert abs(metrics.average_precision - exact_ap) <= (
        metrics.average_precision_error_bound + slack
    )


@pytest.mark.parametrize("kind", ["uniform", "skewed", "near_perfect", "tied"])
def test_matches_references_at_default_resolution(kind, reference, scores_factory):
    rng = np.random.default_rng(7)
    logits, labels = scores_factory(rng, kind, 200_000)
    weights = rng.uniform(0.5, 2.0, logits.shape)
    metrics = binary_curve(logits, labels, weights, max_exact_scores=0)
    exact_auc = reference.roc_auc(logits, labels, weights)
    exact_pr = reference.keras_pr_auc(logits, labels, weights)
    exact_ap = reference.average_precision(logits, labels, weights)
    _check_within_bounds(metrics, exact_auc, exact_pr, exact_ap)
    assert abs(metrics.auc - exact_auc) <= 1e-6
    assert abs(metrics.auc_precision_recall - exact_pr) <= 1e-5
    assert abs(metrics.average_precision - exact_ap) <= 1e-5


@pytest.mark.parametrize("num_buckets", [4, 32, 1024])
@pytest.mark.parametrize("seed", range(6))
def test_bounds_hold_at_coarse_resolution(num_buckets, seed, reference):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(2, 400))
    logits = rng.normal(size=size) * rng.uniform(0.1, 6)
    if seed % 2:
        logits = np.round(logits, 1)  # ties across and inside buckets
    labels = (rng.random(size) < rng.uniform(0.1, 0.9)).astype(np.float64)
    labels[:2] = [0.0, 1.0]
    weights = rng.random(size)
    metrics = binary_curve(logits, labels, weights, num_buckets=num_buckets, max_exact_scores=0)
    _check_within_bounds(
        metrics,
        reference.roc_auc(logits, labels, weights),
        reference.keras_pr_auc(logits, labels, weights),
        reference.average_precision(logits, labels, weights),
    )


@pytest.mark.parametrize("seed", range(3))
def test_soft_labels_are_positives_like_the_original_heads(seed, reference):
    # The original heads' Keras AUC cast labels to bool (vectors.json,
    # multi_label/float_labels): a label of 0.3 is a positive with its full weight.
    rng = np.random.default_rng(seed)
    logits = np.round(rng.normal(size=300), 2)
    labels = rng.choice([0.0, 0.3, 0.5, 1.0], size=300)
    weights = rng.random(300)
    metrics = binary_curve(logits, labels, weights)
    hard = (labels != 0).astype(np.float64)
    # Distinct 0.01-spaced logits never share a bucket: the values are exact.
    assert metrics.auc == pytest.approx(reference.pairwise_roc_auc(logits, hard, weights))
    assert metrics.auc == pytest.approx(reference.roc_auc(logits, hard, weights), abs=1e-12)
    assert metrics.auc_precision_recall == pytest.approx(
        reference.keras_pr_auc(logits, hard, weights), abs=1e-12
    )
    assert metrics.average_precision == pytest.approx(
        reference.average_precision(logits, hard, weights), abs=1e-12
    )


def test_tied_scores_are_exact_and_bounds_are_honest(reference):
    logits = np.array([0.0, 0.0, 1.0])
    labels = np.array([0.0, 1.0, 1.0])
    metrics = binary_curve(logits, labels, max_exact_scores=0)
    assert metrics.auc == 0.75  # the tied pair counts half
    assert metrics.auc_error_bound == 0.25  # the histogram cannot tell a tie from an order
    exact = binary_curve(logits, labels)
    assert exact.auc == 0.75 and exact.auc_error_bound == 0.0  # exact counts know the tie
    assert metrics.average_precision == pytest.approx(reference.average_precision(logits, labels))
    assert metrics.auc_precision_recall == pytest.approx(reference.keras_pr_auc(logits, labels))


def test_hand_computed_values():
    # Scores high to low: pos (2.0), neg (1.0), pos (0.0), neg (-1.0).
    metrics = binary_curve(np.array([2.0, 1.0, 0.0, -1.0]), np.array([1.0, 0.0, 1.0, 0.0]))
    assert metrics.auc == 0.75
    assert metrics.auc_error_bound == 0.0
    assert metrics.average_precision == pytest.approx((1.0 + 2.0 / 3.0) / 2)
    # Keras interpolation: first step precision 1; then from (tp, p) = (1, 1) over a negative
    # (no area) to (1, 2); then a positive from (1, 2) to (2, 3): slope 1, intercept -1.
    assert metrics.auc_precision_recall == pytest.approx((1.0 + 1.0 - np.log(1.5)) / 2)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ([0.0, 0.0, 0.0], (0.0, 0.0, 0.0)),  # no positives: every metric 0 (Keras)
        ([1.0, 1.0, 1.0], (0.0, 1.0, 1.0)),  # no negatives: ROC 0, PR and AP 1 (Keras)
    ],
)
def test_degenerate_cases_follow_keras(labels, expected):
    metrics = binary_curve(np.array([-1.0, 0.0, 2.0]), np.array(labels))
    values = (metrics.auc, metrics.auc_precision_recall, metrics.average_precision)
    assert values == pytest.approx(expected)
    assert metrics.auc_error_bound == metrics.auc_precision_recall_error_bound == 0.0


def test_empty_and_zero_weight_data_give_zeros():
    for metrics in (
        binary_curve(np.zeros(0), np.zeros(0)),
        binary_curve(np.array([1.0, -1.0]), np.array([1.0, 0.0]), np.zeros(2)),
    ):
        assert all(float(value) == 0.0 for value in metrics)


def test_per_class_compute_matches_single_curves():
    rng = np.random.default_rng(3)
    histograms = np.stack(
        [
            logit_histogram(rng.normal(size=500), rng.random(500) < 0.3, num_buckets=256)
            for _ in range(7)
        ]
    )
    stacked = _binary_curve_compute(histograms)
    for position, histogram in enumerate(histograms):
        single = _binary_curve_compute(histogram)
        for name in CurveMetrics._fields:
            assert getattr(stacked, name)[position] == pytest.approx(getattr(single, name))
    empty = _binary_curve_compute(np.zeros((0, 2, 8)))
    assert all(value.shape == (0,) for value in empty)


def test_update_accumulates_and_merge_sums():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=1000)
    labels = binary_labels((rng.random(1000) < 0.5).astype(np.float64))
    whole = _binary_curve_update(None, logits, labels, None, 64, 4.0)
    first = _binary_curve_update(
        None, logits[:300], binary_labels(labels.values[:300]), None, 64, 4.0
    )
    second = _binary_curve_update(
        None, logits[300:], binary_labels(labels.values[300:]), None, 64, 4.0
    )
    np.testing.assert_array_equal(first + second, whole)
    same = _binary_curve_update(
        first, logits[300:], binary_labels(labels.values[300:]), None, 64, 4.0
    )
    assert same is first
    np.testing.assert_array_equal(same, whole)


def test_validation_errors():
    with pytest.raises(ValueError, match="Invalid `num_buckets`"):
        binary_curve(np.zeros(2), np.zeros(2), num_buckets=1)
    with pytest.raises(TypeError, match="Invalid `logit_range`"):
        binary_curve(np.zeros(2), np.zeros(2), logit_range="16")
    with pytest.raises(ValueError, match="Invalid `labels`: expected values in \\[0, 1\\]"):
        binary_curve(np.zeros(2), np.array([0.0, 2.0]))


def _one_exact_curve(negatives, positives):
    """Per-curve reference of `exact_curves` (the former `_exact_curve`): ROC AUC, PR AUC
    and AP of one curve's distinct scores (ascending), each cumulative sum a plain cumsum."""
    keep = (negatives != 0) | (positives != 0)
    neg, pos = negatives[keep], positives[keep]
    a, b = pos[::-1], neg[::-1]
    tp0 = np.concatenate(([0.0], np.cumsum(a)[:-1]))
    p0 = tp0 + np.concatenate(([0.0], np.cumsum(b)[:-1]))
    slope = a / (a + b)
    ratio = np.divide(a + b, p0, out=np.zeros(a.shape), where=p0 != 0)
    pr = slope * (a + (tp0 - slope * p0) * np.log1p(ratio))
    ap = a * (tp0 + a) / (p0 + a + b)
    roc = (pos * (np.concatenate(([0.0], np.cumsum(neg)[:-1])) + 0.5 * neg)).sum()
    total_pos, pairs = pos.sum(), pos.sum() * neg.sum()
    return (
        roc / pairs if pairs else 0.0,
        pr.sum() / total_pos if total_pos else 0.0,
        ap.sum() / total_pos if total_pos else 0.0,
    )


def _random_curves(rng):
    """Curves of many sizes and kinds (distinct scores' weights, ascending scores)."""
    curves = []
    for case, size in enumerate([0, 1, 2, 100, 5000, 0, 1, 2, 3, 97, 130, 1, 4999, 2, 60]):
        if case % 2:
            neg = rng.integers(0, 3, size).astype(float)  # with scores of no weight at all
            pos = rng.integers(0, 3, size).astype(float)
        else:
            neg, pos = rng.exponential(size=size), rng.exponential(size=size)
            neg[rng.random(size) < 0.5] = 0.0
            pos[(rng.random(size) < 0.5) & (neg != 0)] = 0.0  # ties where both stay
        if case % 5 == 1:
            neg[:] = 0.0  # only positives
        elif case % 5 == 3:
            pos[:] = 0.0  # only negatives
        scale = 1e6 if size >= 4999 else 1e-3  # small curves after large ones
        curves.append((neg * scale, pos * scale))
    return curves


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_curves_match_each_curve_computed_alone(seed):
    curves = _random_curves(np.random.default_rng(seed))
    starts = np.cumsum([0] + [neg.size for neg, _ in curves])
    negatives = np.concatenate([neg for neg, _ in curves])
    positives = np.concatenate([pos for _, pos in curves])
    metrics = exact_curves(starts, negatives, positives)
    expected = np.array([_one_exact_curve(neg, pos) for neg, pos in curves])
    found = [metrics.auc, metrics.auc_precision_recall, metrics.average_precision]
    np.testing.assert_allclose(np.transpose(found), expected, rtol=1e-12, atol=1e-15)
    bounds = [metrics.auc_error_bound, metrics.auc_precision_recall_error_bound]
    assert not np.any(bounds) and not np.any(metrics.average_precision_error_bound)


def test_exact_curves_agree_with_sklearn_on_mixed_curves(reference):
    rng = np.random.default_rng(5)
    curves = [c for c in _random_curves(rng) if c[0].sum() > 0 and c[1].sum() > 0]
    starts = np.cumsum([0] + [neg.size for neg, _ in curves])
    metrics = exact_curves(
        starts, np.concatenate([c[0] for c in curves]), np.concatenate([c[1] for c in curves])
    )
    for index, (neg, pos) in enumerate(curves):
        scores = np.tile(np.arange(neg.size, dtype=float), 2)  # one score per distinct score
        labels = np.repeat([0.0, 1.0], neg.size)
        weights = np.concatenate((neg, pos))
        assert abs(metrics.auc[index] - reference.roc_auc(scores, labels, weights)) < 1e-9
        ap = reference.average_precision(scores, labels, weights)
        assert abs(metrics.average_precision[index] - ap) < 1e-9
        pr = reference.keras_pr_auc(scores, labels, weights)
        assert abs(metrics.auc_precision_recall[index] - pr) < 1e-9


def test_exact_curves_of_no_curves_and_of_empty_curves_are_zero():
    assert exact_curves(np.array([0]), np.zeros(0), np.zeros(0)).auc.shape == (0,)
    metrics = exact_curves(np.array([0, 0, 2]), np.zeros(2), np.zeros(2))
    assert all(np.array_equal(field, np.zeros(2)) for field in metrics)
