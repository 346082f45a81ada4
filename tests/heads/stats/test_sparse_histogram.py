"""`SparseHistogram`: the dense histogram's numbers, bit for bit, at the size of its data."""

import pickle

import numpy as np
import pytest

from heads.stats.curve import curve_metrics
from heads.stats.sparse_histogram import SparseHistogram, occupied_buckets


def _both(rng, cells, num_buckets, weighted=True):
    index = rng.integers(0, 2 * num_buckets, cells)
    weights = rng.random(cells) * 3 if weighted else 1.0
    sparse = SparseHistogram(num_buckets)
    dense = np.zeros(2 * num_buckets)
    for part in np.array_split(np.arange(cells), 3):  # in batches, as the statistics do
        part_weights = weights if np.isscalar(weights) else weights[part]
        sparse.add(index[part], part_weights)
        np.add.at(dense, index[part], part_weights)
    return sparse, dense.reshape(2, num_buckets)


@pytest.mark.parametrize("cells", [0, 1, 20, 200, 5000])
def test_updates_and_merges_equal_the_dense_sums_bit_for_bit(cells):
    rng = np.random.default_rng(cells)
    first, first_dense = _both(rng, cells, 1024)
    second, second_dense = _both(rng, 3 * cells, 1024)
    assert np.asarray(first).tobytes() == first_dense.tobytes()
    assert first.is_dense == (len(np.unique(np.flatnonzero(first_dense))) > 512)
    merged = first.merged(second)
    assert np.asarray(merged).tobytes() == (first_dense + second_dense).tobytes()
    assert np.asarray(second.merged(first)).tobytes() == (second_dense + first_dense).tobytes()
    assert np.asarray(first).tobytes() == first_dense.tobytes()  # `merged` copies
    restored = pickle.loads(pickle.dumps(merged))
    assert np.asarray(restored).tobytes() == np.asarray(merged).tobytes()
    for histogram in (merged, np.asarray(merged)):
        buckets, negatives, positives = occupied_buckets(histogram)
        dense = first_dense + second_dense
        expected = np.flatnonzero(dense.any(axis=0))
        np.testing.assert_array_equal(buckets, expected)
        np.testing.assert_array_equal(negatives, dense[0, expected])
        np.testing.assert_array_equal(positives, dense[1, expected])


def test_a_small_histogram_stays_small_and_its_curve_equals_the_dense_one():
    rng = np.random.default_rng(5)
    sparse, dense = _both(rng, 20, 2**16, weighted=False)
    assert not sparse.is_dense and sparse.cells <= 20 and sparse.nbytes <= 20 * 16
    assert curve_metrics(sparse) == curve_metrics(dense)


def test_merging_histograms_of_other_resolutions_fails():
    with pytest.raises(ValueError, match=r"SparseHistogram of shape \(2, 8\)"):
        SparseHistogram(8).merge_from(SparseHistogram(16))
    with pytest.raises(ValueError, match=r"shape \(3, 2, 8\); received \(2, 2, 8\)"):
        SparseHistogram(8, n_curves=3).merge_from(SparseHistogram(8, n_curves=2))


@pytest.mark.parametrize("cells", [0, 1, 30, 400, 3000])
def test_curves_and_their_pooled_sum_equal_the_dense_per_curve_histograms(cells):
    # Per-class histograms `[C, 2, N]`: each curve, and their sum over curves (the pooled
    # multi-label curve), bit for bit as the dense array's, before and after turning dense.
    rng = np.random.default_rng(cells)
    curves, num_buckets = 5, 64
    index = rng.integers(0, curves * 2 * num_buckets, cells)
    index[: cells // 3] %= 2 * num_buckets  # many cells shared by several curves
    weights = rng.random(cells) * 10.0 ** rng.integers(-8, 8, cells)
    sparse = SparseHistogram(num_buckets, n_curves=curves)
    dense = np.zeros(curves * 2 * num_buckets)
    for part in np.array_split(np.arange(cells), 3):
        sparse.add(index[part], weights[part])
        np.add.at(dense, index[part], weights[part])
    dense = dense.reshape(curves, 2, num_buckets)
    assert sparse.shape == dense.shape and len(sparse) == curves
    assert sparse.is_dense == (len(np.unique(index)) > dense.size // 4)
    for curve, expected in zip(sparse, dense, strict=True):
        assert np.asarray(curve).tobytes() == expected.tobytes()
    assert np.asarray(sparse.pooled()).tobytes() == dense.sum(axis=0).tobytes()
    restored = pickle.loads(pickle.dumps(sparse))
    assert restored.shape == dense.shape
    assert np.asarray(restored).tobytes() == dense.tobytes()
    with pytest.raises(TypeError, match="has no curves"):
        iter(SparseHistogram(8)).__next__()


def test_one_large_add_turns_dense_with_the_same_sums():
    """More values in one add than the dense limit (512 cells of 1,024 buckets), on only 3
    cells: dense at once (a dense add costs less than sorting them), the same sums."""
    rng = np.random.default_rng(7)
    index, weights = rng.integers(0, 3, 600), rng.random(600)
    sparse, dense = SparseHistogram(1024), np.zeros(2048)
    sparse.add(index[:10], weights[:10])
    assert not sparse.is_dense
    sparse.add(index[10:], weights[10:])
    np.add.at(dense, index[:10], weights[:10])
    np.add.at(dense, index[10:], weights[10:])
    assert sparse.is_dense
    assert np.asarray(sparse).tobytes() == dense.reshape(2, 1024).tobytes()
