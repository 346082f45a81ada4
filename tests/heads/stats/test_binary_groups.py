"""Metrics of many groups at once equal `BinaryStats` on each group's rows."""

import numpy as np
import pytest

from heads.stats.binary_groups import binary_group_metrics
from heads.stats.binary_stats import BinaryStats


def _data(rng, size, dtype=np.float64, weights=False, soft=False, loss=False, ties=False):
    logits = rng.normal(size=size).astype(dtype)
    if ties:
        logits = np.round(logits, 1).astype(dtype)
    labels = rng.integers(0, 2, size).astype(np.float64)
    if soft:
        labels[::5] = rng.uniform(0.1, 0.9, labels[::5].shape)
    batch = {"logits": logits[:, None], "labels": labels[:, None]}
    if weights:
        batch["weights"] = rng.uniform(0.0, 3.0, size)
        batch["weights"][::11] = 0.0
    if loss:
        batch["unreduced_loss"] = rng.uniform(0.0, 2.0, (size, 1))
    return batch


def _per_group(stats_obj, batch, groups, group):
    rows = groups == group
    return stats_obj.update(None, {key: value[rows] for key, value in batch.items()})


CASES = {
    "float64": {},
    "float32": {"dtype": np.float32},
    "tied scores": {"ties": True},
    "weights": {"weights": True},
    "soft labels and weights": {"soft": True, "weights": True},
    "supplied loss": {"loss": True, "dtype": np.float32},
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_group_gets_binary_stats_compute_of_its_rows(case):
    rng = np.random.default_rng(len(case))
    batch = _data(rng, 3000, **CASES[case])
    n_groups = 41  # group 40 holds no row
    groups = rng.integers(0, 40, 3000)
    groups[:300] = 3  # one larger group
    stats_obj = BinaryStats(thresholds=(0.7, 0.2, 0.5), name="h", num_buckets=4096)
    result = binary_group_metrics(stats_obj, batch, groups, n_groups)
    assert result.exact.all()
    assert result.keys == stats_obj.metric_keys()
    unit = "weights" not in CASES[case]
    for group in range(n_groups):
        stats = stats_obj.create() if group == 40 else _per_group(stats_obj, batch, groups, group)
        expected = stats_obj.compute(stats)
        got = dict(zip(result.keys, result.metrics[group].tolist(), strict=True))
        for key, value in expected.items():
            assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-13), (group, key)
        count, weight = result.counts[group]
        assert (count, weight) == pytest.approx(
            (expected["example_count/h"], expected["weighted_example_count/h"]), rel=1e-12
        )
        span = slice(result.bucket_starts[group], result.bucket_starts[group + 1])
        buckets, negatives, positives = stats["histogram"].occupied()
        np.testing.assert_array_equal(result.buckets[span], buckets)
        compare = np.testing.assert_array_equal if unit else np.testing.assert_allclose
        compare(result.negatives[span], negatives)
        compare(result.positives[span], positives)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_groups_with_a_nan_logit_or_too_many_scores_are_left_to_binary_stats(dtype):
    rng = np.random.default_rng(7)
    batch = _data(rng, 400, dtype=dtype)
    groups = np.repeat(np.arange(4), 100)
    batch["logits"][150, 0] = np.nan  # group 1
    batch["logits"][300:, 0] = np.round(batch["logits"][300:, 0])  # group 3: few scores
    stats_obj = BinaryStats(max_exact_scores=20)
    result = binary_group_metrics(stats_obj, batch, groups, 4)
    assert result.exact.tolist() == [False, False, False, True]
    for group in range(4):  # BinaryStats agrees on which curves are exact
        counts = _per_group(stats_obj, batch, groups, group)["scores"].curve_counts(0)
        assert (counts is not None) == result.exact[group]


def test_no_exact_curve_without_an_exact_budget():
    batch = _data(np.random.default_rng(3), 10)
    result = binary_group_metrics(BinaryStats(max_exact_scores=0), batch, np.zeros(10), 1)
    assert not result.exact.any()


def test_one_group_per_row_is_required():
    batch = _data(np.random.default_rng(3), 10)
    with pytest.raises(ValueError, match=r"one group per row, shape \(10,\); .*\(9,\)"):
        binary_group_metrics(BinaryStats(), batch, np.zeros(9), 1)
