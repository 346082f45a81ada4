"""Poisson bootstrap weights: deterministic per example, Poisson(1), and t intervals."""

import numpy as np
import pytest

from tfx_heads.components.evaluator import bootstrap


def test_counts_depend_only_on_file_record_and_seed():
    full = bootstrap.poisson_counts("a", np.arange(1000), 20, seed=3)
    parts = [
        bootstrap.poisson_counts("a", part, 20, seed=3)
        for part in np.split(np.arange(1000), [7, 500])
    ]
    np.testing.assert_array_equal(np.concatenate(parts), full)
    assert not np.array_equal(full, bootstrap.poisson_counts("b", np.arange(1000), 20, seed=3))
    assert not np.array_equal(full, bootstrap.poisson_counts("a", np.arange(1000), 20, seed=4))


def test_counts_are_poisson_one():
    counts = bootstrap.poisson_counts("file", np.arange(200_000), 5, seed=0)
    assert counts.mean() == pytest.approx(1.0, abs=0.01)
    assert counts.var() == pytest.approx(1.0, abs=0.02)
    assert (counts == 0).mean() == pytest.approx(np.exp(-1), abs=0.005)


def test_resample_repeats_rows_and_intervals_follow_the_t_distribution():
    batch = {"a": {"x": np.array([1.0, 2.0, 3.0])}}
    resampled = bootstrap.resample(batch, np.array([2, 0, 1]))
    np.testing.assert_array_equal(resampled["a"]["x"], [1, 1, 3])
    replicates = [{"m": v} for v in (1.0, 2.0, 3.0, 4.0)]
    interval = bootstrap.intervals({"m": 2.0}, replicates, confidence=0.95)["m"]
    error = np.std([1, 2, 3, 4], ddof=1)
    assert interval.standard_error == pytest.approx(error)
    assert interval.upper - 2.0 == pytest.approx(3.182446 * error, rel=1e-5)
    assert interval.degrees_of_freedom == 3 and interval.sample_mean == 2.5
    with pytest.raises(ValueError, match="num_bootstrap_samples"):
        bootstrap.PoissonCounts(1, 0)
