"""Exact curves (heads/stats/score_counts.py, curve.py) against scikit-learn on float64 scores.

The reference ranks float64 probabilities computed from the same float32 logits (sigmoid for
binary and multi-label heads, softmax for multi-class one-vs-rest), as a user would check the
evaluator (the logits stay below 30, where float64 probabilities keep their order); within
the budget of distinct scores every curve metric must agree to 1e-9 with a zero error bound,
and beyond it fall back to the histogram's bounds.
"""

import pickle

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from heads.stats.binary_stats import BinaryStats
from heads.stats.curve import binary_curve
from heads.stats.multiclass_stats import MulticlassStats
from heads.stats.multilabel_stats import MultilabelStats
from heads.stats.score_counts import ScoreCounts, validate_max_exact_scores


def _sigmoid64(logits):
    return 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))


def _softmax64(logits):
    x = logits.astype(np.float64)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _rare_positives(rng, size, n_classes=1):
    """float32 logits and labels with about 1% positives that the logits partly predict."""
    logits = (rng.normal(size=(size, n_classes)) * 2).astype(np.float32)
    labels = rng.random((size, n_classes)) < 0.01 * (1 + np.tanh(logits))
    return logits, labels.astype(np.float64)


@pytest.mark.parametrize("rounding", [None, 1])
def test_binary_head_is_exact_against_sklearn(reference, rounding):
    rng = np.random.default_rng(3)
    logits, labels = _rare_positives(rng, 60_000)
    if rounding is not None:
        logits = np.round(logits, rounding)  # heavy ties: 0.1 apart
    weights = rng.exponential(size=60_000)
    stats_obj = BinaryStats(thresholds=(0.5,))
    metrics = stats_obj.compute(
        stats_obj.update(None, {"logits": logits, "labels": labels, "weights": weights})
    )
    reference.check_curves(metrics, "", _sigmoid64(logits[:, 0]), labels[:, 0], weights, True)


@pytest.mark.parametrize("n_classes", [12, 60])
def test_multiclass_one_vs_rest_is_exact_against_sklearn(reference, n_classes):
    rng = np.random.default_rng(n_classes)
    size = 60_000
    logits = (rng.normal(size=(size, n_classes)) * 1.5).astype(np.float32)
    probabilities = _softmax64(logits)
    labels = (rng.random((size, 1)) > np.cumsum(probabilities, axis=1)).sum(axis=1)
    labels = np.minimum(labels, n_classes - 1)
    weights = rng.uniform(0.1, 3.0, size)
    stats_obj = MulticlassStats(n_classes, classes_for_class_based_metrics=range(n_classes))
    metrics = stats_obj.compute(
        stats_obj.update(None, {"logits": logits, "labels": labels, "weights": weights})
    )
    for class_id in range(0, n_classes, 7):
        one_vs_rest = (labels == class_id).astype(np.float64)
        reference.check_curves(
            metrics, f"/class{class_id}", probabilities[:, class_id], one_vs_rest, weights, True
        )


def test_multilabel_pooled_and_per_class_are_exact_against_sklearn(reference):
    rng = np.random.default_rng(4)
    logits, labels = _rare_positives(rng, 20_000, n_classes=5)
    logits[:, 2] = np.round(logits[:, 2], 1)
    weights = rng.exponential(size=20_000)
    stats_obj = MultilabelStats(5, classes_for_class_based_metrics=(0, 2, 4))
    metrics = stats_obj.compute(
        stats_obj.update(None, {"logits": logits, "labels": labels, "weights": weights})
    )
    scores = _sigmoid64(logits)
    reference.check_curves(
        metrics, "", scores.ravel(), labels.ravel(), np.repeat(weights, 5), exact=True
    )
    for class_id in (0, 2, 4):
        reference.check_curves(
            metrics, f"/class{class_id}", scores[:, class_id], labels[:, class_id], weights, True
        )


def test_above_the_budget_curves_fall_back_to_bounded_histograms(reference):
    rng = np.random.default_rng(5)
    logits, labels = _rare_positives(rng, 5_000)
    logits, labels = logits[:, 0], labels[:, 0]
    weights = rng.random(5_000)
    distinct = np.unique(logits).size
    at_budget = binary_curve(logits, labels, weights, max_exact_scores=distinct)
    over_budget = binary_curve(logits, labels, weights, max_exact_scores=distinct - 1)
    histogram_only = binary_curve(logits, labels, weights, max_exact_scores=0)
    scores = _sigmoid64(logits)
    assert at_budget.auc_error_bound == at_budget.average_precision_error_bound == 0.0
    assert at_budget.auc == pytest.approx(roc_auc_score(labels, scores, sample_weight=weights))
    assert over_budget == histogram_only
    assert over_budget.auc_error_bound > 0 and over_budget.average_precision_error_bound > 0
    assert abs(over_budget.average_precision - at_budget.average_precision) <= (
        over_budget.average_precision_error_bound
    )
    assert abs(over_budget.auc - at_budget.auc) <= over_budget.auc_error_bound


def test_batches_and_merges_do_not_change_exact_results():
    """200,000 rows: several sorts and merges of the pending rows, any split, any order."""
    rng = np.random.default_rng(6)
    size = 200_000
    logits = np.round(rng.normal(size=(size, 1)) * 3, 3).astype(np.float32)
    labels = (rng.random(size) < 0.3).astype(np.float64)
    weights = rng.integers(0, 4, size).astype(np.float64)  # exact sums: any order is equal
    stats_obj = BinaryStats()
    whole = stats_obj.compute(
        stats_obj.update(None, {"logits": logits, "labels": labels, "weights": weights})
    )
    assert whole["auc/error_bound"] == 0.0
    cuts = np.sort(rng.choice(size, 7, replace=False))
    parts = [
        stats_obj.update(
            None, {"logits": logits[a:b], "labels": labels[a:b], "weights": weights[a:b]}
        )
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, size], strict=True)
    ]
    rng.shuffle(parts)
    merged = parts.pop()
    while parts:
        other = pickle.loads(pickle.dumps(parts.pop()))  # as Beam ships accumulators
        merged = (
            stats_obj.merge(other, merged)
            if rng.random() < 0.5
            else (stats_obj.merge_into(merged, other))
        )
    result = stats_obj.compute(merged)
    curve_keys = [key for key in whole if key.startswith(("auc", "average_precision"))]
    assert len(curve_keys) == 6
    # Integer weights sum exactly in any order, so the curves are bit-for-bit equal.
    assert {key: result[key] for key in curve_keys} == {key: whole[key] for key in curve_keys}
    assert result == pytest.approx(whole, rel=1e-13)


def test_a_budget_exceeded_by_any_part_stays_exceeded_after_merges():
    counts = ScoreCounts(1, max_scores=3)
    counts.add(np.arange(4.0)[:, None], np.ones((4, 1), bool), None)
    assert counts.curve_counts(0) is None
    other = ScoreCounts(1, max_scores=3)
    other.add(np.array([[9.0]]), np.ones((1, 1), bool), None)
    assert other.merged(counts).curve_counts(0) is None
    within = ScoreCounts(1, max_scores=3)
    within.add(np.array([[1.0], [2.0]]), np.array([[True], [False]]), np.array([2.0, 0.5]))
    keys, negatives, positives = within.merged(other).curve_counts(0)
    assert keys.tolist() == [1.0, 2.0, 9.0]
    assert negatives.tolist() == [0.0, 0.5, 0.0] and positives.tolist() == [2.0, 0.0, 1.0]
    assert within.merged(other).merged(other).curve_counts(0) is not None  # 3 keys, in budget


def test_nan_scores_have_no_order_and_fall_back():
    counts = ScoreCounts(2, max_scores=10)
    counts.add(np.array([[0.0, np.nan], [1.0, 2.0]]), np.ones((2, 2), bool), None)
    assert counts.curve_counts(0) is not None and counts.curve_counts(1) is None


def test_saturated_scores_keep_the_order_of_their_logits():
    # Above a logit of about 36.7 every float64 probability is 1.0; the logits still rank.
    logits = np.array([40.0, 45.0, 50.0, 0.0], dtype=np.float32)
    labels = np.array([0.0, 1.0, 1.0, 0.0])
    metrics = binary_curve(logits, labels)
    assert metrics.auc == roc_auc_score(labels, logits) == 1.0
    assert metrics.average_precision == average_precision_score(labels, logits) == 1.0
    assert roc_auc_score(labels, _sigmoid64(logits)) < 1.0  # the probabilities tie


def test_budget_validation_and_layout_checks():
    assert validate_max_exact_scores(0) == 0
    with pytest.raises(ValueError, match="Invalid `max_exact_scores`: expected an int >= 0"):
        validate_max_exact_scores(-1)
    with pytest.raises(TypeError, match="max_exact_scores"):
        validate_max_exact_scores(1.5)
    with pytest.raises(ValueError, match="Invalid `second`"):
        ScoreCounts(2, 5).merged(ScoreCounts(2, 6))


def test_many_curves_together_stay_within_the_accumulator_budget():
    # 3 curves of 40 distinct keys: each within 50, together over 4 * 50 only with 5 curves.
    keys = np.arange(40.0)[:, None] + np.zeros((1, 3))
    small = ScoreCounts(3, max_scores=50)
    small.add(keys, np.ones((40, 3), bool), None)
    assert all(small.curve_counts(index) is not None for index in range(3))
    wide = ScoreCounts(6, max_scores=50)
    wide.add(np.tile(keys, 2), np.ones((40, 6), bool), None)
    assert all(wide.curve_counts(index) is None for index in range(6))  # 240 > 200 keys


def test_the_budget_counts_keys_equal_as_floats_across_kept_and_new_ones():
    # 2 kept keys and 4 new ones (6 > 3) hold 3 distinct keys: -0.0 is 0.0, as `_grouped` sums.
    counts = ScoreCounts(1, max_scores=3)
    counts.add(np.array([[0.0], [1.0], [1.0]]), np.array([[True], [False], [True]]), None)
    assert counts.curve_counts(0)[0].tolist() == [0.0, 1.0]
    counts.add(np.array([[-0.0], [2.0], [2.0], [1.0]]), np.zeros((4, 1), bool), None)
    keys, negatives, positives = counts.curve_counts(0)
    assert keys.tolist() == [0.0, 1.0, 2.0]
    assert negatives.tolist() == [1.0, 2.0, 2.0] and positives.tolist() == [1.0, 1.0, 0.0]
    counts.add(np.array([[3.0]]), np.ones((1, 1), bool), None)
    assert counts.curve_counts(0) is None  # a fourth distinct key
