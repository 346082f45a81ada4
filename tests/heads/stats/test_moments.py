"""Tests of heads/stats/moments.py against np.average."""

import numpy as np
import pytest

from heads.stats.moments import (
    _weighted_mean_compute,
    _weighted_mean_update,
    safe_divide,
    weighted_mean,
    weighted_sums,
)


def test_weighted_mean_matches_numpy_average():
    rng = np.random.default_rng(0)
    values = rng.normal(size=1000).astype(np.float32)
    weights = rng.random(1000)
    expected = np.average(values.astype(np.float64), weights=weights)
    assert weighted_mean(values, weights) == pytest.approx(expected, rel=1e-14)
    assert weighted_mean(values) == pytest.approx(values.astype(np.float64).mean(), rel=1e-14)


def test_zero_total_weight_gives_zero_like_keras_mean():
    assert weighted_mean(np.array([3.0, 4.0]), np.zeros(2)) == 0.0
    assert weighted_mean(np.zeros(0)) == 0.0


def test_float32_values_are_widened_before_multiplying():
    values = np.array([1 + 2**-23], dtype=np.float32)
    weights = np.array([1 + 2**-30])
    assert weighted_sums([values], weights)[0] == float(values[0]) * weights[0]


def test_state_updates_in_place_and_merges():
    state = _weighted_mean_update(None, [np.array([1.0, 2.0]), np.array([0.0, 4.0])], None)
    np.testing.assert_array_equal(state, [2.0, 3.0, 4.0])
    same = _weighted_mean_update(state, [np.array([5.0]), np.array([1.0])], np.array([2.0]))
    assert same is state
    np.testing.assert_array_equal(state, [4.0, 13.0, 6.0])
    np.testing.assert_allclose(_weighted_mean_compute(state), [13 / 4, 6 / 4])


def test_safe_divide():
    np.testing.assert_array_equal(
        safe_divide(np.array([1.0, np.nan, 2.0]), np.array([0.0, 0.0, 4.0])), [0.0, 0.0, 0.5]
    )


def test_weighted_mean_rejects_mismatched_weights():
    with pytest.raises(ValueError, match="Invalid `weights`: expected shape \\(2,\\)"):
        weighted_mean(np.zeros(2), np.zeros(3))
