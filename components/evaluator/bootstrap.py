"""Poisson bootstrap confidence intervals, independent of batching and runner splitting.

Each of `K` replicates resamples the data by giving every example a Poisson(1) count (how
many times it appears in the replicate). The count of example `r` of file `f` in replicate
`k` is a pure function of `(seed, f, r, k)`: a SplitMix64 hash of those values gives a
uniform number, and the Poisson inverse CDF turns it into a count, all with whole-array
NumPy operations. So a replicate holds the same examples whatever the batch size, the number
of workers or the order of the files, and the intervals are reproducible. (Seeding by the
record's position rather than its content keeps duplicated records independent draws.)

A replicate's statistics are the head's statistics of its resampled rows (rows repeated by
their counts), so every metric, counts and losses included, is that of a real resample. The
interval of a metric is TFMA's: the value on all the data, and the Student t interval
`value +- t(1 - alpha/2, K - 1) * s` with `s` the standard deviation of the `K` replicate
values (`tfma.types.ValueWithTDistribution`).

>>> counts = poisson_counts("a.tfrecord", np.arange(4), num_samples=3, seed=0)
>>> counts.shape, counts.dtype
((4, 3), dtype('int64'))
>>> bool((poisson_counts("a.tfrecord", np.arange(2, 4), 3, 0) == counts[2:]).all())
True
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from scipy import stats as scipy_stats

from tfx_heads.components.evaluator.rows import take_rows

_MAX_COUNT = 24
# Poisson(1) CDF at 0 .. _MAX_COUNT - 1 (the tail beyond has probability < 1e-24).
_POISSON_CDF = np.cumsum([math.exp(-1.0) / math.factorial(k) for k in range(_MAX_COUNT)])
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


class Interval(NamedTuple):
    """A metric's bootstrap summary (TFMA's t-distribution value)."""

    value: float
    """The metric on all the data."""
    sample_mean: float
    standard_error: float
    """Standard deviation of the replicate values (`ddof=1`)."""
    degrees_of_freedom: int
    lower: float
    upper: float


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64 finalizer of uint64 values (wrapping arithmetic)."""
    z = values + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def poisson_counts(file: str, record_index: np.ndarray, num_samples: int, seed: int) -> np.ndarray:
    """Poisson(1) counts of examples in each bootstrap replicate.

    Args:
        file: the examples' file.
        record_index: int64 `[R]`: the examples' record numbers in `file`.
        num_samples: number of replicates `K`.
        seed: the evaluation's bootstrap seed.

    Returns:
        int64 `[R, K]`, each entry a Poisson(1) draw determined by `(seed, file, record, k)`.
    """
    digest = hashlib.sha256(f"{seed}\0{file}".encode()).digest()
    file_key = np.uint64(int.from_bytes(digest[:8], "little"))
    keys = record_index.astype(np.uint64)[:, None] * np.uint64(num_samples)
    keys = keys + np.arange(num_samples, dtype=np.uint64)[None, :]
    uniform = (_splitmix64(keys ^ file_key) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return np.searchsorted(_POISSON_CDF, uniform, side="right").astype(np.int64)


def validate_num_bootstrap_samples(num_samples: Any) -> None:
    """Raises ValueError unless `num_samples` is an int >= 2 (replicates of the bootstrap)."""
    if not isinstance(num_samples, int) or num_samples < 2:
        raise ValueError(
            f"Invalid `num_bootstrap_samples`: expected an int >= 2; received {num_samples!r}."
        )


class PoissonCounts:
    """Picklable `(file, record_index) -> [R, K]` counts for `SliceBatches`."""

    def __init__(self, num_samples: int, seed: int) -> None:
        validate_num_bootstrap_samples(num_samples)
        self.num_samples = num_samples
        self.seed = int(seed)

    def __call__(self, file: str, record_index: np.ndarray) -> np.ndarray:
        return poisson_counts(file, record_index, self.num_samples, self.seed)


def resample(batch: Any, counts: np.ndarray) -> Any:
    """A statistics batch with each row repeated `counts[row]` times (int64 `[R]`)."""
    return take_rows(batch, np.repeat(np.arange(len(counts)), counts))


def intervals(
    point: Mapping[str, float], replicates: Sequence[Mapping[str, float]], confidence: float
) -> dict[str, Interval]:
    """Student t intervals of every metric from its replicate values.

    Args:
        point: metric key to value on all the data.
        replicates: `K` metric dicts, one per replicate.
        confidence: the interval's coverage, in (0, 1).

    Returns:
        Metric key to `Interval` (NaN bounds where a replicate value is NaN).
    """
    dof = len(replicates) - 1
    t = float(scipy_stats.t.ppf(0.5 + confidence / 2.0, dof))
    result = {}
    for key, value in point.items():
        samples = np.array([replicate[key] for replicate in replicates], np.float64)
        error = float(np.std(samples, ddof=1))
        result[key] = Interval(
            value=float(value),
            sample_mean=float(samples.mean()),
            standard_error=error,
            degrees_of_freedom=dof,
            lower=float(value) - t * error,
            upper=float(value) + t * error,
        )
    return result
