"""Tests of heads/stats/losses.py against float64 / long-double NumPy formulas."""

import numpy as np
import pytest

from heads.stats.losses import (
    constant_like,
    log1p_unit,
    multiclass_softmax,
    poisson_loss,
    sigmoid,
    sigmoid_and_cross_entropy,
    sigmoid_cross_entropy,
    squared_error,
)

_SPECIAL_LOGITS = [0.0, -0.0, 1e-30, -1e-30, 30.0, -30.0, 88.0, -88.0, 89.0, -89.0, 104.0,
                   -104.0, 710.0, -710.0, 1e30, -1e30, np.inf, -np.inf, np.nan]  # fmt: skip


def _long_double_cross_entropy(labels, logits):
    x = logits.astype(np.longdouble)
    return np.maximum(x, 0) - x * labels + np.log1p(np.exp(-np.abs(x)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log1p_unit_is_accurate(dtype):
    values = np.concatenate([np.geomspace(1e-30, 1.0, 5000), np.random.default_rng(0).random(5000)])
    values = values.astype(dtype)
    expected = np.log1p(values.astype(np.float64))
    np.testing.assert_allclose(log1p_unit(values), expected, rtol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_cross_entropy_matches_float64_formula(dtype):
    rng = np.random.default_rng(1)
    logits = (rng.normal(size=20_000) * 10).astype(dtype)
    labels = rng.choice([0.0, 0.3, 1.0], 20_000).astype(dtype)
    x = logits.astype(np.longdouble)
    expected = np.maximum(x, 0) - x * labels + np.log1p(np.exp(-np.abs(x)))
    got = sigmoid_cross_entropy(labels, logits)
    assert got.dtype == dtype
    # Float32 cancellation in max(x, 0) - x z bounds the error by a few ulp of |x|.
    tolerance = 8 * np.finfo(dtype).eps * (1 + np.abs(x))
    assert np.all(np.abs(got - expected) <= tolerance)
    # Confident correct predictions keep their tiny losses (no log(1 + tiny) = 0, and the
    # linear terms are summed first, as TensorFlow does, for arrays and scalars alike).
    correct = (labels == 1) & (logits > 0) | (labels == 0) & (logits < 0)
    np.testing.assert_allclose(got[correct], expected[correct], rtol=8 * np.finfo(dtype).eps)
    tiny = sigmoid_cross_entropy(np.ones(3, dtype), np.array([30.0, 60.0, 80.0], dtype))
    np.testing.assert_allclose(tiny, np.exp([-30.0, -60.0, -80.0]), rtol=1e-6, atol=0)
    tiny = sigmoid_cross_entropy(dtype(1), dtype(30))
    assert tiny.dtype == dtype and tiny == pytest.approx(np.exp(-30.0), rel=1e-6, abs=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_cross_entropy_matches_the_direct_formulas(dtype):
    rng = np.random.default_rng(3)
    logits = np.r_[rng.normal(size=50_000) * 10, _SPECIAL_LOGITS].astype(dtype)
    labels = rng.choice([0.0, 0.3, 1.0], logits.size).astype(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        probabilities, loss = sigmoid_and_cross_entropy(labels, logits)
    assert probabilities.dtype == loss.dtype == dtype
    # The probabilities are bit for bit those of 1 / (1 + exp(-x)) in the logits' dtype.
    with np.errstate(over="ignore"):
        direct = np.reciprocal(1 + np.exp(-logits))
    np.testing.assert_array_equal(probabilities, direct)
    np.testing.assert_array_equal(probabilities, sigmoid(logits))
    # The loss is as accurate as sigmoid_cross_entropy's (a few ulp of |x|; relative for
    # the tiny losses of confident correct predictions), with NaN in the same places.
    finite = np.isfinite(logits)
    x, y, got = logits[finite], labels[finite], loss[finite]
    expected = _long_double_cross_entropy(y, x)
    eps = np.finfo(dtype).eps
    assert np.all(np.abs(got - expected) <= 8 * eps * (1 + np.abs(x.astype(np.float64))))
    correct = ((y == 1) & (x > 0) | (y == 0) & (x < 0)) & (expected > np.finfo(dtype).tiny)
    np.testing.assert_allclose(got[correct], expected[correct], rtol=8 * eps)
    separate = sigmoid_cross_entropy(labels, logits)
    np.testing.assert_array_equal(loss[~finite], separate[~finite])


def test_sigmoid_and_cross_entropy_of_scalars():
    probability, loss = sigmoid_and_cross_entropy(np.float32(1), np.float32(30))
    assert probability == 1 and probability.dtype == np.float32
    assert loss.dtype == np.float32 and loss == pytest.approx(np.exp(-30.0), rel=1e-6, abs=0)
    probability, loss = sigmoid_and_cross_entropy(1.0, 0.0)
    assert probability == 0.5 and loss == pytest.approx(np.log(2), rel=1e-15)


def test_constant_like_is_a_cached_read_only_array_for_small_inputs():
    small = np.zeros((4, 3), dtype=np.float32)
    constant = constant_like(7, small)
    assert constant.shape == (4, 3) and constant.dtype == np.float32
    assert np.all(constant == 7) and not constant.flags.writeable
    large = np.zeros(2**16 + 1)
    assert constant_like(-1, large) == -1.0 and np.ndim(constant_like(-1, large)) == 0


def test_sigmoid_cross_entropy_special_values_like_tensorflow():
    # TensorFlow's formula gives NaN for infinite logits (inf - inf, or inf * 0).
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = sigmoid_cross_entropy(
            np.array([1.0, 0.0, 0.0, 1.0, 1.0]),
            np.array([np.inf, -np.inf, np.inf, np.nan, -np.inf]),
        )
    assert np.isnan(loss[:4]).all() and loss[4] == np.inf


def test_sigmoid_saturates_without_warnings():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        values = sigmoid(np.array([-1000.0, -np.inf, 0.0, np.inf, 1000.0], dtype=np.float32))
    np.testing.assert_array_equal(values, [0.0, 0.0, 0.5, 1.0, 1.0])
    assert values.dtype == np.float32


def test_squared_error():
    np.testing.assert_array_equal(squared_error(np.array([1.0, 2.0]), np.array([3.0, 2.0])), [4, 0])


def test_poisson_loss_with_and_without_stirling():
    labels = np.array([0.0, 0.5, 1.0, 3.0, -1.0])
    logits = np.array([0.3, -0.2, 1.0, 1.5, 0.3])
    base = np.exp(logits) - labels * logits
    np.testing.assert_allclose(poisson_loss(labels, logits, False), base)
    full = poisson_loss(labels, logits, True)
    stirling = 3 * np.log(3) - 3 + 0.5 * np.log(2 * np.pi * 3)
    np.testing.assert_allclose(full[:4], base[:4] + [0, 0, 0, stirling])
    assert np.isnan(full[4])  # TensorFlow adds the Stirling term for labels < 0 too


def test_multiclass_softmax_matches_direct_formulas():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(500, 6)) * 4
    logits[0] = [50.0, -50.0, 0.0, 0.0, 0.0, 0.0]  # extreme probabilities
    labels = rng.integers(0, 6, 500)
    classes = np.array([0, 2, 5])
    result = multiclass_softmax(logits.astype(np.float32), labels, classes)
    x = logits.astype(np.float32).astype(np.longdouble)
    exp = np.exp(x - x.max(axis=1, keepdims=True))
    probabilities = exp / exp.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(result.loss, -np.log(probabilities[np.arange(500), labels]))
    np.testing.assert_array_equal(result.class_ids, np.argmax(logits.astype(np.float32), axis=1))
    np.testing.assert_allclose(result.probabilities, probabilities[:, classes], rtol=1e-12)
    # Direct formula (cancels for the extreme first row, which is checked on its own).
    others = np.log(exp[1:].sum(axis=1, keepdims=True) - exp[1:])  # logsumexp of the others
    expected_log_odds = (np.log(exp[1:]) - others)[:, classes]
    np.testing.assert_allclose(result.log_odds[1:], expected_log_odds, rtol=1e-10, atol=1e-10)
    assert result.log_odds[0, 0] == pytest.approx(50.0 + np.log(1 / (np.exp(-50.0) + 4)), rel=1e-12)


def test_multiclass_softmax_without_labels_and_first_max_wins():
    result = multiclass_softmax(np.array([[1.0, 1.0, 0.0]]), None, np.array([0, 1]))
    assert result.loss is None
    assert result.class_ids[0] == 0
    np.testing.assert_allclose(result.log_odds[0], [np.log(np.e / (np.e + 1))] * 2)


def test_multiclass_softmax_log_odds_of_other_classes_than_the_probabilities():
    rng = np.random.default_rng(3)
    logits = (rng.normal(size=(200, 7)) * 3).astype(np.float32)
    every = np.arange(7)
    full = multiclass_softmax(logits, None, every)
    for classes, curves in [(every, np.array([5, 1])), (np.array([6, 0, 3]), np.array([3])),
                            (every, np.array([], np.intp))]:  # fmt: skip
        result = multiclass_softmax(logits, None, classes, curves)
        np.testing.assert_array_equal(result.probabilities, full.probabilities[:, classes])
        np.testing.assert_array_equal(result.log_odds, full.log_odds[:, curves])
        assert result.log_odds.shape == (200, len(curves))
