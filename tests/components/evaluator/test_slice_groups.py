"""Slice groups give each slice the result of its own `SliceStats`, however the rows arrive."""

import json
import pickle

import numpy as np
import pytest

import heads
from tfx_heads.components.evaluator import slice_groups
from tfx_heads.components.evaluator.combine import SliceStats
from tfx_heads.components.evaluator.slice_groups import (
    SliceGroupCombineFn,
    SliceGroupStats,
    group_of,
)
from tfx_heads.components.evaluator.slicing import SliceBatch, SliceGroupBatch

OPTIONS = dict(num_buckets=2048, max_plot_points=50)


def _rows(rng, size):
    return {
        "logits": rng.normal(size=(size, 1)).astype(np.float32),
        "labels": rng.integers(0, 2, (size, 1)).astype(np.float64),
        "weights": rng.integers(1, 4, size).astype(np.float64),
    }


def _items(rng, keys, sizes, slice_of):
    """`SliceGroupBatch`es of random rows: row `i` of all the data is in slice `slice_of[i]`."""
    items, start = [], 0
    for size in sizes:
        ids = slice_of[start : start + size]
        present = sorted(set(ids.tolist()))
        local = np.searchsorted(present, ids)
        items.append(SliceGroupBatch(tuple(keys[i] for i in present), local, _rows(rng, size)))
        start += size
    return items


def _expected(head, items, keys, **options):
    """Each slice's `SliceStats` result over its rows, in arrival order."""
    stats = SliceStats(head, **OPTIONS, **options)
    accumulators = {}
    for item in items:
        for local, key in enumerate(item.slice_keys):
            rows = np.flatnonzero(item.slice_ids == local)
            batch = {name: value[rows] for name, value in item.batch.items()}
            accumulator = accumulators.setdefault(key, stats.create())
            stats.update(accumulator, SliceBatch(batch, None))
    return {key: stats.finalize(accumulator) for key, accumulator in accumulators.items()}


def _assert_same(results, expected):
    assert sorted(results) == sorted(expected)
    for key, want in expected.items():
        got = results[key]
        assert got.counts_only == want.counts_only and got.intervals is None
        assert list(got.metrics) == list(want.metrics)
        for name, value in want.metrics.items():
            assert got.metrics[name] == pytest.approx(value, rel=1e-12, abs=1e-13, nan_ok=True), (
                key,
                name,
            )
        assert len(got.plots) == len(want.plots)
        for got_plot, want_plot in zip(got.plots, want.plots, strict=True):
            for field in want_plot._fields:
                np.testing.assert_array_equal(getattr(got_plot, field), getattr(want_plot, field))


def _finalized(stats, accumulators):
    merged = accumulators[0]
    for accumulator in accumulators[1:]:
        merged = stats.merge(merged, pickle.loads(pickle.dumps(accumulator)))
    return dict(stats.finalize(merged))


@pytest.mark.parametrize("min_slice_size", [1, 96])
def test_every_slice_gets_its_own_result_whatever_the_split(monkeypatch, min_slice_size):
    # Small thresholds so that slices leave their group, during updates and merges.
    monkeypatch.setattr(slice_groups, "LARGE_SLICE_ROWS", 300)
    monkeypatch.setattr(slice_groups, "_CHECK_ROWS", 500)
    rng = np.random.default_rng(0)
    keys = [(("city", f"c{i}"),) for i in range(30)]
    slice_of = rng.integers(0, 30, 4000)
    slice_of[rng.random(4000) < 0.3] = 7  # one slice of about 1,250 rows
    items = _items(rng, keys, [700, 1, 1299, 1000, 1000], slice_of)
    head = heads.describe(heads.BinaryClassHead(thresholds=(0.3,)))
    stats = SliceGroupStats(head, **OPTIONS, min_slice_size=min_slice_size)
    parts = [stats.create(), stats.create()]
    for index, item in enumerate(items):
        stats.update(parts[index % 2], item)
    results = _finalized(stats, parts)
    _assert_same(results, _expected(head, items, keys, min_slice_size=min_slice_size))
    counts_only = [result.counts_only for result in results.values()]
    assert any(counts_only) == (min_slice_size > 1) and not all(counts_only)


def test_a_part_of_one_large_slice_moves_whole(monkeypatch):
    monkeypatch.setattr(slice_groups, "LARGE_SLICE_ROWS", 100)
    monkeypatch.setattr(slice_groups, "_CHECK_ROWS", 100)
    rng = np.random.default_rng(3)
    keys = [(("f", "big"),), (("f", "small"),)]
    items = _items(rng, keys, [150, 150, 40], np.r_[np.zeros(300, int), np.ones(40, int)])
    head = heads.describe(heads.BinaryClassHead())
    stats = SliceGroupStats(head, **OPTIONS)
    accumulator = stats.create()
    for item in items:
        stats.update(accumulator, item)
    assert list(accumulator["large"]) == [keys[0]] and accumulator["rows"] == 40
    _assert_same(dict(stats.finalize(accumulator)), _expected(head, items, keys))


def test_a_slice_whose_curve_needs_its_histogram_is_computed_on_its_own():
    rng = np.random.default_rng(1)
    keys = [(("f", 0),), (("f", 1),), (("f", 2),)]
    items = _items(rng, keys, [90], np.repeat([0, 1, 2], 30))
    items[0].batch["logits"][35, 0] = np.nan  # slice 1
    head = heads.describe(heads.BinaryClassHead())
    stats = SliceGroupStats(head, **OPTIONS, max_exact_scores=25)  # slices 0 and 2 too
    results = dict(stats.finalize(stats.update(stats.create(), items[0])))
    _assert_same(results, _expected(head, items, keys, max_exact_scores=25))
    assert results[keys[1]].metrics["auc/error_bound"] > 0  # from the histogram


def test_the_combine_fn_pickles_without_its_state(tmp_path):
    rng = np.random.default_rng(2)
    keys = [(("f", "a"),), (("f", "b"),)]
    items = _items(rng, keys, [10, 20], rng.integers(0, 2, 30))
    combine = SliceGroupCombineFn(heads.describe(heads.BinaryClassHead()), str(tmp_path), **OPTIONS)
    combine.setup()
    clone = pickle.loads(pickle.dumps(combine))
    assert "_stats" not in clone.__dict__ and "_encode" not in clone.__dict__
    accumulators = [clone.add_input(clone.create_accumulator(), item) for item in items]
    merged = clone.compact(clone.merge_accumulators(accumulators))
    assert len(merged["parts"]) == 1
    encoded = clone.extract_output(merged).unpack()
    assert sorted(item.slice_key for item in encoded) == keys
    assert sum(json.loads(item.entry)["example_count"] for item in encoded) == 30


def test_groups_are_for_binary_heads_without_bootstrap():
    with pytest.raises(ValueError, match="binary head .* received a 'multi_class' head"):
        SliceGroupStats(heads.describe(heads.MultiClassHead(n_classes=3)))
    with pytest.raises(ValueError, match="no bootstrap .* received 10 replicates"):
        SliceGroupStats(heads.describe(heads.BinaryClassHead()), num_bootstrap_samples=10)


def test_a_slice_has_one_group_on_every_worker():
    keys = [(("city", f"c{i}"),) for i in range(2000)] + [(("h", 3), ("x", 1.5))]
    groups = [group_of(key) for key in keys]
    assert set(groups) == set(range(slice_groups.GROUP_SHARDS))
    assert groups == [group_of(pickle.loads(pickle.dumps(key))) for key in keys]
