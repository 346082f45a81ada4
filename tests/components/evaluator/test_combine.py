"""The CombineFns: merge order and splitting do not change results; counts add up."""

import pickle

import numpy as np

import heads
from tfx_heads.components.evaluator.batches import ExampleCounts
from tfx_heads.components.evaluator.bootstrap import poisson_counts
from tfx_heads.components.evaluator.combine import (
    PENDING_BYTES,
    ExampleCountsCombineFn,
    HeadStatsCombineFn,
    SliceStats,
)
from tfx_heads.components.evaluator.rows import row_bytes
from tfx_heads.components.evaluator.slicing import SliceBatch


def _head():
    return heads.MultiHead(
        [
            heads.BinaryClassHead(thresholds=(0.5,), name="b"),
            heads.RegressionHead(name="r"),
        ]
    )


def _batch(rng, size):
    return {
        "b": {"logits": rng.normal(size=(size, 1)), "labels": rng.integers(0, 2, size)},
        "r": {"logits": rng.normal(size=(size, 1)), "labels": rng.normal(size=(size, 1))},
    }


def test_merging_in_any_order_gives_the_same_results():
    rng = np.random.default_rng(0)
    batches = [_batch(rng, size) for size in (50, 1, 300, 77)]
    record = np.arange(428)
    weights = np.split(poisson_counts("f", record, 4, seed=0), np.cumsum([50, 1, 300])[:])
    slice_stats = SliceStats(heads.describe(_head()), num_buckets=1024, num_bootstrap_samples=4)
    items = [SliceBatch(b, w) for b, w in zip(batches, weights, strict=True)]
    whole = slice_stats.create()
    for item in items:
        slice_stats.update(whole, item)
    for order in ([3, 1, 0, 2], [2, 0, 3, 1]):
        parts = []
        for index in order:
            accumulator = slice_stats.create()
            parts.append(slice_stats.update(accumulator, items[index]))
        merged = slice_stats.merge(
            slice_stats.merge(parts[0], parts[1]), slice_stats.merge(parts[2], parts[3])
        )
        first, second = slice_stats.finalize(whole), slice_stats.finalize(merged)
        for key, value in first.metrics.items():
            np.testing.assert_allclose(second.metrics[key], value, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(
                second.intervals[key].standard_error, first.intervals[key].standard_error,
                rtol=1e-9, atol=1e-12,
            )  # fmt: skip


def test_combine_fn_pickles_without_its_state_and_wraps_slice_stats():
    combine = HeadStatsCombineFn(heads.describe(_head()), num_buckets=512)
    combine.setup()
    clone = pickle.loads(pickle.dumps(combine))
    assert "_stats" not in clone.__dict__
    rng = np.random.default_rng(1)
    accumulators = []
    for size in (10, 20):
        accumulators.append(
            clone.add_input(clone.create_accumulator(), SliceBatch(_batch(rng, size), None))
        )
    result = clone.extract_output(clone.merge_accumulators(accumulators))
    assert result.metrics["example_count/b_r"] == 30 and result.intervals is None
    assert [plot.output_name for plot in result.plots] == ["b"]


def test_example_counts_add_up():
    combine = ExampleCountsCombineFn()
    total = combine.create_accumulator()
    for counts in (ExampleCounts(5, 4, {"x": 1}), ExampleCounts(3, 1, {"y": 1, "x": 1})):
        total = combine.add_input(total, counts)
    assert combine.extract_output(total) == ExampleCounts(8, 5, {"x": 2, "y": 1})


def test_a_slice_below_min_slice_size_reports_its_counts_only():
    rng = np.random.default_rng(4)
    slice_stats = SliceStats(
        heads.describe(_head()), num_buckets=256, num_bootstrap_samples=2, min_slice_size=5
    )
    full = SliceStats(heads.describe(_head()), num_buckets=256)
    for size, counts_only in ((4, True), (5, False)):
        item = SliceBatch(_batch(rng, size), np.ones((size, 2), dtype=np.int64))
        result = slice_stats.finalize(slice_stats.update(slice_stats.create(), item))
        expected = full.finalize(full.update(full.create(), SliceBatch(item.batch, None)))
        assert result.counts_only is counts_only
        if counts_only:
            assert result.intervals is None and result.plots == []
            assert result.metrics == {
                key: value for key, value in expected.metrics.items() if "example_count" in key
            }
            assert result.metrics["example_count/b_r"] == 4.0
        else:
            assert result.metrics == expected.metrics and result.plots


def test_compact_joins_held_rows_without_changing_results():
    """Small parts held below PENDING_ROWS: compacting (as Beam does before an accumulator
    leaves a worker) joins them into one part, and the finalized metrics are identical."""
    rng = np.random.default_rng(5)
    slice_stats = SliceStats(heads.describe(_head()), num_buckets=256)
    items = [SliceBatch(_batch(rng, size), None) for size in (3, 7, 1, 12)]
    plain, compacted = slice_stats.create(), slice_stats.create()
    for index, item in enumerate(items):
        slice_stats.update(plain, item)
        slice_stats.update(compacted, item)
        if index % 2:
            slice_stats.compact(compacted)
            assert len(compacted["pending"]) == 1
    assert compacted["pending_rows"] == plain["pending_rows"] == 23
    assert len(plain["pending"]) == 4
    first, second = slice_stats.finalize(plain), slice_stats.finalize(compacted)
    assert first.metrics == second.metrics
    assert first.metrics["example_count/b_r"] == 23


def test_wide_rows_are_added_at_once_narrow_rows_held():
    """Rows of a 100,000-class head (800 kB each here) are not held past PENDING_BYTES;
    a binary head's rows are held up to PENDING_ROWS. Either way the finalized example
    count is every row's."""
    rng = np.random.default_rng(3)
    wide = SliceStats(heads.describe(heads.MultiLabelHead(n_classes=100_000)))
    accumulator = wide.create()
    batch = {
        "logits": rng.normal(size=(8, 100_000)).astype(np.float32),
        "labels": (rng.random((8, 100_000)) < 1e-4).astype(np.float32),
    }
    assert row_bytes(batch) > PENDING_BYTES
    wide.update(accumulator, SliceBatch(batch, None))
    assert accumulator["pending"] == [] and accumulator["pending_rows"] == 0
    assert wide.finalize(accumulator).metrics["example_count"] == 8
    narrow = SliceStats(heads.describe(heads.BinaryClassHead()))
    accumulator = narrow.create()
    for size in (100, 420, 30):
        item = {"logits": rng.normal(size=(size, 1)), "labels": rng.integers(0, 2, (size, 1))}
        narrow.update(accumulator, SliceBatch(item, None))
    assert accumulator["pending_rows"] == 30  # 520 rows were added at once, 30 are held
    assert narrow.finalize(accumulator).metrics["example_count"] == 550
