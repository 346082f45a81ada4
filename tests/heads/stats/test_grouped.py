"""Tests of heads/stats/grouped.py: groups of a flat array as padded rows."""

import numpy as np
import pytest

from heads.stats.grouped import pad, padded_groups


def test_every_group_is_one_row_of_its_entries_then_zeros():
    rng = np.random.default_rng(0)
    lengths = np.array([0, 1, 2, 3, 4, 5, 9, 16, 17, 0, 300, 1])
    starts = np.concatenate(([0], np.cumsum(lengths)))
    values = rng.random(starts[-1])
    seen = []
    for part in padded_groups(starts):
        rows = pad(values, part)
        assert rows.shape[1] <= max(part.lengths.min() * 5 / 4, 1)  # padding under 1/4
        for row, group in zip(rows, part.groups, strict=True):
            own = values[starts[group] : starts[group + 1]]
            assert row[: own.size].tolist() == own.tolist() and not row[own.size :].any()
            seen.append(group)
    assert sorted(seen) == list(range(lengths.size))


def test_a_row_cumsum_is_its_group_cumsum_after_a_large_group():
    values = np.concatenate(([1e17] * 3, [0.1] * 3))
    parts = padded_groups(np.array([0, 3, 6]))
    (part,) = parts
    sums = np.cumsum(pad(values, part), axis=1)
    assert sums[1].tolist() == np.cumsum([0.1] * 3).tolist()


@pytest.mark.parametrize("starts", [np.array([0, 2, 1]), np.array([]), np.zeros((2, 2))])
def test_bad_offsets_are_rejected(starts):
    with pytest.raises(ValueError, match="Invalid `starts`: expected a non-decreasing"):
        padded_groups(starts)
