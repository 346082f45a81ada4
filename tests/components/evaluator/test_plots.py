"""Plot data from label-split logit histograms: exact counts at the kept thresholds."""

import numpy as np
import pytest

import heads
from heads.stats import stats_for_head
from heads.stats.histogram import logit_histogram
from heads.stats.sparse_histogram import SparseHistogram
from tfx_heads.components.evaluator import plots


def test_counts_at_kept_thresholds_are_exact():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=5000)
    labels = (rng.random(5000) < 0.3).astype(float)
    weights = rng.random(5000) + 0.5
    histogram = logit_histogram(logits, labels, weights, num_buckets=4096, logit_range=8.0)
    plot = plots.histogram_plot(histogram, 8.0, max_points=100)
    assert len(plot.thresholds) <= 102 and np.all(np.diff(plot.thresholds) > 0)
    edges = np.linspace(-8, 8, 4097)
    bucket = np.clip(np.floor((logits + 8) / 16 * 4096), 0, 4095)
    for k in range(0, len(plot.thresholds), 7):
        index = np.searchsorted(edges, np.log(plot.thresholds[k] / (1 - plot.thresholds[k])) - 1e-9)
        predicted = bucket >= index
        np.testing.assert_allclose(plot.true_positives[k], np.sum(weights * predicted * labels))
        np.testing.assert_allclose(plot.false_negatives[k], np.sum(weights * ~predicted * labels))
        total = plot.true_positives[k] + plot.false_positives[k] + plot.true_negatives[k]
        np.testing.assert_allclose(total + plot.false_negatives[k], weights.sum())
    np.testing.assert_allclose(plot.bucket_weights.sum(), weights.sum())
    np.testing.assert_allclose(plot.bucket_labels.sum(), np.sum(weights * labels))
    probabilities = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(
        plot.bucket_predictions.sum(), np.sum(weights * probabilities), rtol=1e-3
    )
    assert plot.bucket_bounds[0] == -np.inf and plot.bucket_bounds[-1] == np.inf


def test_head_plots_cover_pooled_and_per_class_curves():
    head = heads.MultiHead(
        [
            heads.MultiLabelHead(3, classes_for_class_based_metrics=[0, 2], name="m"),
            heads.RegressionHead(name="r"),
            heads.BinaryClassHead(name="b"),
        ]
    )
    stats_obj = stats_for_head(heads.describe(head), num_buckets=256)
    stats = stats_obj.create()
    found = plots.head_plots(heads.describe(head), stats_obj, stats, 16.0, 50, max_classes=1)
    assert [(p.output_name, p.class_id) for p in found] == [
        ("m", None),
        ("m", 0),
        ("m", 2),
        ("b", None),
    ]


def test_head_plots_keep_the_largest_classes_of_a_head_that_selects_none():
    head = heads.MultiClassHead(5)
    stats_obj = stats_for_head(heads.describe(head), num_buckets=256)
    labels = np.array([3, 3, 3, 1, 1, 4, 4, 0])
    logits = np.random.default_rng(0).normal(size=(labels.size, 5))
    stats = stats_obj.update(None, {"logits": logits, "labels": labels})
    found = plots.head_plots(heads.describe(head), stats_obj, stats, 16.0, 50, max_classes=3)
    # Positive counts: class 3 has 3, classes 1 and 4 have 2, class 0 has 1, class 2 none.
    assert [p.class_id for p in found] == [1, 3, 4]
    for plot in found:
        positives = np.count_nonzero(labels == plot.class_id)
        assert plot.true_positives[0] + plot.false_negatives[0] == positives
        assert plot.false_positives[0] + plot.true_negatives[0] == labels.size - positives


def test_a_sparse_histogram_plots_as_its_dense_form():
    rng = np.random.default_rng(3)
    cells = rng.integers(0, 2 * 4096, 300)
    weights = rng.random(300) + 0.25
    sparse = SparseHistogram(4096)
    sparse.add(cells, weights)
    dense = np.zeros(2 * 4096)
    np.add.at(dense, cells, weights)
    for points in (5, 1000):
        from_sparse = plots.histogram_plot(sparse, 8.0, points)
        from_dense = plots.histogram_plot(dense.reshape(2, 4096), 8.0, points)
        for a, b in zip(from_sparse, from_dense, strict=True):
            np.testing.assert_array_equal(a, b)
    # A slice's plot has at most two points per bucket in use, whatever the resolution.
    assert len(from_sparse.thresholds) <= 2 * len(np.unique(cells % 4096)) + 2


def test_a_target_rounded_above_the_total_weight_lands_on_the_last_edge():
    # 5.381433132192782 * 50 / 50 rounds above 5.381433132192782: the last target lies
    # above every cumulative weight (it used to index past the histogram).
    histogram = np.zeros((2, 8))
    histogram[0, 3] = 5.381433132192782
    plot = plots.histogram_plot(histogram, 4.0, max_points=50)
    assert plot.false_positives.tolist() == [5.381433132192782, 0.0, 0.0]
    np.testing.assert_allclose(plot.thresholds, 1 / (1 + np.exp(-np.array([-4.0, 0.0, 4.0]))))


def _edges_one_target_at_a_time(histogram, max_points):
    """The kept bucket edges by their definition: each target `total * k / max_points` lands
    on the edge above the first occupied bucket whose cumulative weight reaches it (a
    target above the total, by rounding, on the edge above the last one), plus both ends."""
    negatives, positives = np.asarray(histogram)
    buckets = np.flatnonzero((negatives != 0) | (positives != 0))
    cumulative = np.cumsum(negatives[buckets] + positives[buckets])
    total = float(cumulative[-1]) if buckets.size else 0.0
    edges = {0, histogram.shape[-1]}
    for k in range(max_points + 1):
        target = total * k / max_points
        if target <= 0.0:
            continue
        reached = np.flatnonzero(cumulative >= target)
        last = reached[0] if reached.size else buckets.size - 1
        edges.add(int(buckets[last]) + 1)
    return sorted(edges)


def test_the_kept_edges_are_those_of_each_target_on_ties_tiny_weights_and_rounding():
    rng = np.random.default_rng(11)
    num_buckets = 64
    edge_probabilities = 1 / (1 + np.exp(-np.linspace(-4.0, 4.0, num_buckets + 1)))
    for case in range(300):
        histogram = np.zeros((2, num_buckets))
        cells = rng.integers(0, 2 * num_buckets, rng.integers(0, 40))
        weights = rng.choice([1.0, 0.5, 3.0, 1e-300, 5.381433132192782], cells.size)
        if case % 3:
            weights = weights * rng.random(cells.size)
        np.add.at(histogram.reshape(-1), cells, weights)
        points = int(rng.choice([1, 2, 7, 50, 1000]))
        plot = plots.histogram_plot(histogram, 4.0, points)
        expected = _edges_one_target_at_a_time(histogram, points)
        np.testing.assert_array_equal(plot.thresholds, edge_probabilities[expected])


def _one_plot(buckets, negatives, positives, num_buckets, logit_range, max_points):
    """Per-histogram reference of `histogram_plots` (the former `histogram_plot`): targets
    looked up with `searchsorted`, one histogram at a time."""
    edge_probabilities, centres = plots._grid(num_buckets, logit_range)
    size = buckets.size
    weights = negatives + positives
    below = np.zeros((4, size + 1))
    np.cumsum([weights, negatives, positives, weights * centres[buckets]], axis=1, out=below[:, 1:])
    targets = below[0, -1] * np.arange(max_points + 1.0) / max_points
    reached = np.searchsorted(targets, below[0], side="right")
    kept = np.zeros(size + 1, dtype=bool)
    kept[0] = True
    if size:
        kept[1:size] = reached[1:size] > reached[: size - 1]
        kept[size] = reached[size - 1] <= max_points
    edges = np.flatnonzero(kept)
    bucket_ids = np.concatenate(([0], buckets[edges[1:] - 1] + 1))
    if bucket_ids[-1] != num_buckets:
        edges, bucket_ids = np.append(edges, size), np.append(bucket_ids, num_buckets)
    sums = below[:, edges]
    above, steps = sums[:, -1:] - sums, np.diff(sums, axis=1)
    bounds = edge_probabilities[bucket_ids].copy()
    bounds[0], bounds[-1] = -np.inf, np.inf
    return plots.HistogramPlot(
        "", None, edge_probabilities[bucket_ids], above[2], above[1], sums[1], sums[2],
        bounds, steps[0], steps[2], steps[3],
    )  # fmt: skip


def _random_histograms(rng, num_buckets):
    """Occupied buckets of histograms of many sizes and kinds: `(buckets, neg, pos)`."""
    found = []
    for case, size in enumerate([0, 1, 2, 100, 5000, 0, 1, 2, 3, 97, 130, 1, 4999, 2, 60]):
        buckets = np.sort(rng.choice(num_buckets, size, replace=False))
        if case % 4 == 1 and size:
            buckets[0] = 0  # the first and last buckets
        if case % 4 == 3 and size:
            buckets[-1] = num_buckets - 1
        if case % 2:
            neg = rng.integers(0, 3, size).astype(float)
            pos = rng.integers(0, 3, size).astype(float)
        else:
            neg, pos = rng.exponential(size=size) * 1e-3, rng.exponential(size=size) * 1e6
            neg[rng.random(size) < 0.4] = 0.0
            pos[(rng.random(size) < 0.4) & (neg != 0)] = 0.0  # both stay in some buckets
        if case % 5 == 1:
            neg[:] = 0.0  # only positives
        elif case % 5 == 3:
            pos[:] = 0.0  # only negatives
        pos[(neg == 0) & (pos == 0)] = 1.0  # occupied: a weight in either row
        found.append((buckets, neg, pos))
    return found


@pytest.mark.parametrize("max_points", [1, 3, 1000])
@pytest.mark.parametrize("seed", [0, 1])
def test_histogram_plots_are_each_histogram_plotted_alone(seed, max_points):
    histograms = _random_histograms(np.random.default_rng(seed), 8192)
    starts = np.cumsum([0] + [buckets.size for buckets, _, _ in histograms])
    flat = [np.concatenate([h[column] for h in histograms]) for column in range(3)]
    found = plots.histogram_plots(starts, *flat, 8192, 8.0, max_points)
    assert len(found) == len(histograms)
    for plot, histogram in zip(found, histograms, strict=True):
        expected = _one_plot(*histogram, 8192, 8.0, max_points)
        assert plot.output_name == "" and plot.class_id is None
        for field, value, wanted in zip(plot._fields[2:], plot[2:], expected[2:], strict=True):
            assert np.array_equal(value, wanted), field


def test_histogram_plot_of_a_dense_histogram_is_its_occupied_buckets_plotted():
    rng = np.random.default_rng(4)
    for buckets, neg, pos in _random_histograms(rng, 8192):
        dense = np.zeros((2, 8192))
        dense[0, buckets], dense[1, buckets] = neg, pos
        plot = plots.histogram_plot(dense, 4.0, 7, output_name="h", class_id=2)
        assert plot[:2] == ("h", 2)
        expected = _one_plot(buckets, neg, pos, 8192, 4.0, 7)
        for field, value, wanted in zip(plot._fields[2:], plot[2:], expected[2:], strict=True):
            assert np.array_equal(value, wanted), field


def test_histogram_plots_keep_the_edges_where_cumulative_weights_hit_targets_exactly():
    # Weights of 1 and 0.5 with totals a multiple of max_points put cumulative weights
    # exactly on targets, where an estimate `weight / total * max_points` rounds either way.
    rng = np.random.default_rng(8)
    for max_points in (3, 7, 10, 50, 100, 1000):
        histograms = []
        for repeat in range(1, 30):
            size = max_points * repeat if max_points <= 100 else max_points
            buckets = np.sort(rng.choice(8192, size, replace=False))
            neg = rng.integers(0, 2, size) * 0.5
            histograms.append((buckets, neg, 0.5 - neg + 0.5 * (repeat % 2)))
        starts = np.cumsum([0] + [h[0].size for h in histograms])
        flat = [np.concatenate([h[column] for h in histograms]) for column in range(3)]
        found = plots.histogram_plots(starts, *flat, 8192, 8.0, max_points)
        for plot, histogram in zip(found, histograms, strict=True):
            expected = _one_plot(*histogram, 8192, 8.0, max_points)
            assert np.array_equal(plot.thresholds, expected.thresholds), max_points


def test_histogram_plots_of_subnormal_weights_keep_the_edges_of_coarsely_rounded_targets():
    # Targets `total * k / max_points` below 2.2e-308 round to a few multiples of 5e-324.
    rng = np.random.default_rng(9)
    histograms = []
    for scale in (5e-324, 1e-320, 1e-310, 1e-305, 1.0):
        for size in (1, 5, 40):
            buckets = np.sort(rng.choice(64, size, replace=False))
            neg = rng.integers(0, 4, size) * scale
            histograms.append((buckets, neg, np.where(neg == 0, scale, 0.0)))
    starts = np.cumsum([0] + [h[0].size for h in histograms])
    flat = [np.concatenate([h[column] for h in histograms]) for column in range(3)]
    for max_points in (1, 3, 7, 1000):
        found = plots.histogram_plots(starts, *flat, 64, 4.0, max_points)
        for plot, histogram in zip(found, histograms, strict=True):
            expected = _one_plot(*histogram, 64, 4.0, max_points)
            assert np.array_equal(plot.thresholds, expected.thresholds), (max_points, histogram)
