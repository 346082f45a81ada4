"""Tests of heads/stats/histogram.py against np.histogram and plain NumPy."""

import numpy as np
import pytest

from heads.stats.histogram import (
    _class_histograms_update,
    _flat_bucket_index,
    _histogram_add_logits,
    _logit_histogram_update,
    bucket_edges,
    bucketize,
    logit_histogram,
    logit_histogram_validate_args,
)
from heads.stats.inputs import binary_labels


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bucketize_matches_edges_clamps_and_sends_nan_low(dtype):
    logits = np.array(
        [-np.inf, -20.0, -2.0, -1.99, -0.01, 0.0, 0.49, 1.0, 2.0, 7.0, np.inf, np.nan]
    )
    buckets = bucketize(logits.astype(dtype), num_buckets=8, logit_range=2.0)
    # Bucket width 0.5 on [-2, 2]; outside values clamp to the end buckets, NaN to bucket 0.
    np.testing.assert_array_equal(buckets, [0, 0, 0, 0, 3, 4, 4, 6, 7, 7, 7, 0])
    assert buckets.dtype == np.intp


def test_bucketize_is_monotone_in_float32():
    rng = np.random.default_rng(0)
    logits = np.sort(rng.normal(size=100_000).astype(np.float32) * 8)
    buckets = bucketize(logits, 2**16, 16.0)
    assert np.all(np.diff(buckets) >= 0)
    assert buckets.min() >= 0 and buckets.max() < 2**16


def test_bucketize_is_the_same_above_the_cached_constant_size():
    # Up to 2**16 elements the clamps compare against cached constant arrays, above against
    # scalars: both must give the same buckets.
    rng = np.random.default_rng(4)
    logits = np.r_[rng.normal(size=70_000) * 20, np.nan, np.inf, -np.inf].astype(np.float32)
    pieces = np.concatenate([bucketize(part, 2**16, 16.0) for part in np.array_split(logits, 4)])
    np.testing.assert_array_equal(bucketize(logits, 2**16, 16.0), pieces)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("num_buckets", [8, 2**16, 2**24])
def test_flat_index_is_the_bucket_plus_the_row_offset(dtype, num_buckets):
    rng = np.random.default_rng(5)
    special = [-np.inf, np.inf, np.nan, 0.0, -0.0, 16.0, -16.0, 15.9999, 1e30]
    logits = np.r_[rng.normal(size=5000) * 20, special].astype(dtype)
    positive = rng.random(logits.size) < 0.5
    expected = bucketize(logits, num_buckets, 16.0) + num_buckets * positive
    np.testing.assert_array_equal(_flat_bucket_index(logits, positive, num_buckets, 16.0), expected)
    # 0/1 labels can stand for their own mask.
    labels = positive.astype(dtype)
    np.testing.assert_array_equal(_flat_bucket_index(logits, labels, num_buckets, 16.0), expected)


def test_add_logits_equals_the_update_with_binary_labels():
    rng = np.random.default_rng(6)
    logits = rng.normal(size=3000).astype(np.float32) * 4
    labels = (rng.random(3000) < 0.4).astype(np.float32)
    weights = rng.random(3000)
    expected = logit_histogram(logits, labels, weights, 64, 4.0)
    histogram = np.zeros((2, 64))
    _histogram_add_logits(histogram, logits, labels, weights, 4.0)
    np.testing.assert_array_equal(histogram, expected)
    _histogram_add_logits(histogram, logits, labels != 0, None, 4.0)
    np.testing.assert_allclose(histogram, expected + logit_histogram(logits, labels, None, 64, 4.0))


def test_histogram_matches_numpy_histogram():
    rng = np.random.default_rng(1)
    logits = rng.uniform(-3, 3, 5000)
    labels = (rng.random(5000) < 0.4).astype(np.float64)
    weights = rng.random(5000)
    histogram = logit_histogram(logits, labels, weights, num_buckets=12, logit_range=3.0)
    edges = bucket_edges(12, 3.0)
    expected_neg, _ = np.histogram(logits[labels == 0], edges, weights=weights[labels == 0])
    expected_pos, _ = np.histogram(logits[labels != 0], edges, weights=weights[labels != 0])
    np.testing.assert_allclose(histogram, [expected_neg, expected_pos], rtol=1e-12)


def test_soft_labels_count_as_positives_like_the_original_heads():
    histogram = logit_histogram(
        np.array([0.1, 0.1, -0.9]), np.array([0.25, 1.0, 0.0]), np.array([2.0, 1.0, 4.0]), 4, 1.0
    )
    np.testing.assert_allclose(histogram, [[4, 0, 0, 0], [0, 0, 3, 0]])


def test_unit_weights_equal_missing_weights():
    rng = np.random.default_rng(2)
    logits, labels = rng.normal(size=300), rng.random(300) < 0.5
    np.testing.assert_array_equal(
        logit_histogram(logits, labels), logit_histogram(logits, labels, np.ones(300))
    )


def test_update_adds_in_place_with_repeated_buckets():
    histogram = np.zeros((2, 4))
    labels = binary_labels(np.array([1.0, 1.0, 0.0, 1.0]))
    result = _logit_histogram_update(
        histogram, np.array([0.1, 0.2, 0.3, -5.0]), labels, np.array([1.0, 2.0, 4.0, 8.0]), 4, 1.0
    )
    assert result is histogram
    np.testing.assert_array_equal(histogram, [[0, 0, 4, 0], [8, 0, 3, 0]])


def test_class_histograms_equal_one_histogram_per_class():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(200, 5))
    labels = (rng.random((200, 5)) < 0.3).astype(np.float64)
    labels[:, 4] = rng.choice([0.0, 0.5, 1.0], 200)  # soft labels count as positives
    weights = rng.random(200)
    histograms = np.zeros((5, 2, 16))
    buckets = bucketize(logits, 16, 2.0)
    _class_histograms_update(histograms, buckets, binary_labels(labels), weights)
    for column in range(5):
        expected = logit_histogram(logits[:, column], labels[:, column], weights, 16, 2.0)
        np.testing.assert_allclose(histograms[column], expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("num_buckets", "logit_range", "error", "match"),
    [
        (1, 16.0, ValueError, "Invalid `num_buckets`: expected an integer >= 2; received 1."),
        (2**25, 16.0, ValueError, "Invalid `num_buckets`: expected an integer in"),
        (8.0, 16.0, TypeError, "Invalid `num_buckets`"),
        (True, 16.0, TypeError, "Invalid `num_buckets`"),
        (8, 0.0, ValueError, "Invalid `logit_range`"),
        (8, float("inf"), ValueError, "Invalid `logit_range`"),
        (8, None, TypeError, "Invalid `logit_range`"),
    ],
)
def test_validate_args(num_buckets, logit_range, error, match):
    with pytest.raises(error, match=match.replace("[", "\\[")):
        logit_histogram_validate_args(num_buckets, logit_range)


def test_validate_args_accepts_numpy_ints():
    assert logit_histogram_validate_args(np.int64(64), 8) == (64, 8.0)
