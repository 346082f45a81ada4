"""ROC/PR and calibration plot data from the heads' label-split logit histograms.

The statistics of a binary or multi-label head keep, per curve, a weighted histogram of
logits split by label (`heads.stats.histogram`: float64 `[2, N]`, negatives then positives,
`N` equal buckets on `[-L, L]` in ascending logit order). A plot needs far fewer points than
`N` (65,536 by default), so `histogram_plot` keeps at most `max_points` bucket edges, chosen
at equal steps of cumulative weight (every point moves about the same share of examples),
plus both ends. At each kept edge `e` an example is predicted positive when its logit lies
in a bucket at or above `e`, which gives exact weighted confusion counts at the probability
threshold `sigmoid(e)`. The calibration buckets are the spans between kept edges, holding
their weighted example and label sums; their prediction sums take each fine bucket's
examples at the bucket's centre probability (exact to within a fine bucket's width, 32/N in
logits). `histogram_plots` plots many histograms given as flat arrays of their occupied
buckets at once (one slice each), with the same results, bit for bit, as one at a time.

>>> plot = histogram_plot(np.array([[2.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 3.0]]), 2.0, 10)
>>> plot.true_positives.tolist(), plot.false_positives.tolist()
([4.0, 4.0, 3.0, 0.0], [3.0, 1.0, 0.0, 0.0])

`head_plots` plots a head's curves (`HeadStats.curve_histograms`): the binary head's, the
multi-label head's pooled one, and one-vs-rest curves of the classes the head selects for
class-based metrics, else of its largest classes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from heads.description import HeadDescription
from heads.stats.base_stats import CurveHistogram, HeadStats, Stats
from heads.stats.grouped import PaddedGroups, pad, padded_groups
from heads.stats.histogram import bucket_edges
from heads.stats.losses import sigmoid
from heads.stats.sparse_histogram import occupied_buckets


class HistogramPlot(NamedTuple):
    """Confusion counts at thresholds and calibration buckets of one score."""

    output_name: str
    """The sub-head's name for a MultiHead, else ''."""
    class_id: int | None
    """The class of a per-class curve, else None."""
    thresholds: np.ndarray
    """float64 `[T]` probability thresholds, ascending."""
    true_positives: np.ndarray
    false_positives: np.ndarray
    true_negatives: np.ndarray
    false_negatives: np.ndarray
    bucket_bounds: np.ndarray
    """float64 `[C + 1]` calibration bucket bounds in probability (first -inf, last +inf)."""
    bucket_weights: np.ndarray
    """float64 `[C]` weighted example count per calibration bucket."""
    bucket_labels: np.ndarray
    """float64 `[C]` weighted label sum per calibration bucket."""
    bucket_predictions: np.ndarray
    """float64 `[C]` weighted prediction sum per calibration bucket (bucket centres)."""


@functools.lru_cache(maxsize=8)
def _grid(num_buckets: int, logit_range: float) -> tuple[np.ndarray, np.ndarray]:
    """The bucket edges in probability and the buckets' centre probabilities (read-only)."""
    edges = bucket_edges(num_buckets, logit_range)
    centres = sigmoid((edges[:-1] + edges[1:]) / 2.0)
    edges = sigmoid(edges)
    edges.flags.writeable = centres.flags.writeable = False
    return edges, centres


@functools.lru_cache(maxsize=8)
def _steps(max_points: int) -> np.ndarray:
    """float64 `[0, 1, ..., max_points]` (read-only): the threshold targets' numerators."""
    steps = np.arange(max_points + 1, dtype=np.float64)
    steps.flags.writeable = False
    return steps


def histogram_plot(
    histogram: np.ndarray,
    logit_range: float,
    max_points: int,
    output_name: str = "",
    class_id: int | None = None,
) -> HistogramPlot:
    """Plot data of one label-split logit histogram (`histogram_plots` of one group).

    Args:
        histogram: float64 `[2, N]` (or a `SparseHistogram`): negative and positive weight
            per logit bucket.
        logit_range: `L`, the histogram covers `[-L, L]` (clamped outside).
        max_points: most thresholds to keep (about; both ends are always kept).
        output_name: see `HistogramPlot`.
        class_id: see `HistogramPlot`.

    Returns:
        `HistogramPlot`.
    """
    buckets, negatives, positives = occupied_buckets(histogram)
    starts = np.array([0, buckets.size])
    num_buckets = histogram.shape[-1]
    (plot,) = histogram_plots(
        starts, buckets, negatives, positives, num_buckets, logit_range, max_points
    )
    return plot._replace(output_name=output_name, class_id=class_id)


def histogram_plots(
    starts: np.ndarray,
    buckets: np.ndarray,
    negatives: np.ndarray,
    positives: np.ndarray,
    num_buckets: int,
    logit_range: float,
    max_points: int,
) -> list[HistogramPlot]:
    """Plot data of `G` histograms given by their occupied buckets, all at once.

    Only the occupied buckets count: a cumulative sum over the empty ones adds zeros, and a
    threshold target lands on the edge just above an occupied bucket (or at 0), so the
    points are those of the full histogram, at a cost that follows the buckets in use.
    Histograms of similar size are padded rows of one array (`heads.stats.grouped`), so
    each cumulative sum adds a histogram's buckets in its own order.

    Args:
        starts: int `[G + 1]` offsets: histogram `g` is entries `starts[g]:starts[g + 1]`.
        buckets: intp `[K]` each histogram's occupied buckets, ascending, in `[0, N)`.
        negatives: float64 `[K]` their negative weights (non-negative).
        positives: float64 `[K]` their positive weights (non-negative; at least one of the
            two weights of a bucket is non-zero).
        num_buckets: `N`, the histograms' resolution.
        logit_range: `L`, the histograms cover `[-L, L]` (clamped outside).
        max_points: most thresholds to keep per plot (about; both ends are always kept).

    Returns:
        `G` `HistogramPlot`s (output name '' and class id None).
    """
    plots: list[HistogramPlot | None] = [None] * (len(starts) - 1)
    grid = _grid(num_buckets, logit_range)
    for part in padded_groups(starts):
        sums, totals, bucket_ids, offsets = _kept_edges(
            part, buckets, negatives, positives, grid[1], max_points
        )
        found = _split_plots(sums, totals, grid[0][bucket_ids], offsets)
        for group, plot in zip(part.groups.tolist(), found, strict=True):
            plots[group] = plot
    return plots


def _kept_edges(
    part: PaddedGroups,
    buckets: np.ndarray,
    negatives: np.ndarray,
    positives: np.ndarray,
    centres: np.ndarray,
    max_points: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The kept edges of one class of padded histograms: `(sums, totals, bucket_ids,
    offsets)`, float64 `[4, T]` weight, negatives, positives and predictions below each
    kept edge and `[4, T]` its histogram's totals, intp `[T]` the edges' bucket ids, and
    `[g + 1]` each histogram's span of the `T` edges."""
    rows, lengths = np.arange(part.groups.size), part.lengths
    width = part.mask.shape[1] + 1
    # Row 0 of `below` holds the weight, then negatives, positives and predictions, each
    # summed over the occupied buckets below edge `e` (column `e` of `K + 1`).
    below = np.zeros((4, rows.size, width))
    inner = below[:, :, 1:]
    pad(negatives, part, inner[1])
    pad(positives, part, inner[2])
    np.add(inner[1], inner[2], out=inner[0])
    # Bucket id of each edge: 0, the edge above each occupied bucket, N past the last one.
    ids = np.full((rows.size, width + 1), centres.size - 1)
    above_bucket = pad(buckets, part, ids[:, 1:-1])
    np.multiply(inner[0], centres[above_bucket], out=inner[3])
    above_bucket += 1
    ids[:, 0], ids[:, -1] = 0, centres.size
    np.cumsum(below, axis=2, out=below)  # from column 0, which adds 0 exactly
    reached = _reached(below[0, :, :-1], below[0, rows, lengths][:, None], max_points)
    # Edge `e` gets a target where more targets lie at or below its cumulative weight than
    # below the previous one; the last edge where a target is left (by rounding, past the
    # total); the column after it repeats it as bucket id N unless it is kept and is N.
    kept = np.zeros(ids.shape, dtype=bool)
    kept[:, 0] = True
    kept[:, 1:-2] = reached[:, 1:] > reached[:, :-1]
    kept[:, 1:-2] &= part.mask[:, 1:]
    occupied = lengths > 0
    kept[rows[occupied], lengths[occupied]] = reached[occupied, lengths[occupied] - 1] <= max_points
    kept[rows, lengths + 1] = ~kept[rows, lengths] | (ids[rows, lengths] != centres.size)
    positions = np.flatnonzero(kept)
    kept_rows = positions // ids.shape[1]
    edges = np.minimum(positions - kept_rows * ids.shape[1], lengths[kept_rows])
    sums = np.take(below.reshape(4, -1), kept_rows * width + edges, axis=1)
    counts = np.count_nonzero(kept, axis=1)
    totals = np.repeat(below[:, rows, lengths], counts, axis=1)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    return sums, totals, ids.reshape(-1)[positions], offsets


def _reached(cumulative: np.ndarray, total: np.ndarray, max_points: int) -> np.ndarray:
    """How many targets `total * k / max_points` (k = 0..max_points) lie at or below each
    cumulative weight `[g, W]` (`total`: `[g, 1]`): the count `searchsorted(targets,
    cumulative, "right")` gives, from the same target expression.

    The estimate `cumulative / total * max_points` and the targets' crossing differ by a few
    ulps of `max_points`, so the estimate's floor is the last target below unless it lies
    within `1e-12 * max_points` of an integer (or the targets are subnormal, rounded
    coarsely); those cells are settled by evaluating the target expression itself (the
    targets ascend: the weights are non-negative).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = cumulative / total
    estimate *= max_points
    below = np.floor(estimate)
    estimate -= below
    margin = min(max_points * 1e-12, 0.5)
    unsure = (estimate < margin) | (estimate > 1.0 - margin)
    unsure |= total < max_points * np.finfo(np.float64).tiny
    np.fmin(below, max_points, out=below)  # a NaN (no weight): every target lies below
    np.fmax(below, 0.0, out=below)
    rows, columns = np.nonzero(unsure)
    below[rows, columns] = _settled(
        below[rows, columns], cumulative[rows, columns], total[rows, 0], max_points
    )
    return below.astype(np.intp) + 1


def _settled(below: np.ndarray, cumulative: np.ndarray, total: np.ndarray, k: int) -> np.ndarray:
    """The last `j` in `[0, k]` with target `total * j / k <= cumulative`, from a guess
    `below` (float64 arrays of one shape), by comparing the targets themselves."""
    while True:  # down while the target itself lies above
        step = (below > 0) & (total * below / k > cumulative)
        if not step.any():
            break
        below -= step
    while True:  # up while the next target lies at or below
        step = (below < k) & (total * (below + 1) / k <= cumulative)
        if not step.any():
            break
        below += step
    return below


def _split_plots(
    sums: np.ndarray, totals: np.ndarray, thresholds: np.ndarray, offsets: np.ndarray
) -> list[HistogramPlot]:
    """One `HistogramPlot` per span `offsets[g]:offsets[g + 1]` of the kept edges."""
    above = totals - sums
    steps = sums[:, 1:] - sums[:, :-1]
    bounds = thresholds.copy()
    bounds[offsets[:-1]], bounds[offsets[1:] - 1] = -np.inf, np.inf
    tp, fp, tn, fn = above[2], above[1], sums[1], sums[2]
    weights, labels, predictions = steps[0], steps[2], steps[3]
    spans = offsets.tolist()
    return [
        HistogramPlot(
            "",
            None,
            thresholds[a:b],
            tp[a:b],
            fp[a:b],
            tn[a:b],
            fn[a:b],
            bounds[a:b],
            weights[a : b - 1],
            labels[a : b - 1],
            predictions[a : b - 1],
        )
        for a, b in zip(spans[:-1], spans[1:], strict=True)
    ]


def head_plots(
    head: HeadDescription,
    stats_obj: HeadStats,
    stats: Stats,
    logit_range: float,
    max_points: int,
    max_classes: int,
) -> list[HistogramPlot]:
    """Plot data of a head's curves: every binary and pooled multi-label curve, and per-class
    curves for the classes the head selects for class-based metrics, else for its
    `max_classes` largest classes (by positive weight in these stats; ties to the lower id).

    Args:
        head: the description of the head (single or MultiHead) the statistics belong to.
        stats_obj: its `HeadStats` (`heads.stats.stats_for_head(head)`).
        stats: the statistics to plot.
        logit_range: the histograms' `L`.
        max_points: see `histogram_plot`.
        max_classes: most per-class curves per head when it selects no classes.

    Returns:
        One `HistogramPlot` per curve, in `stats_obj.curve_histograms` order.
    """
    selected = {
        head.output_name(single.name): single.classes_for_class_based_metrics
        for single in head.single_heads
    }
    curves = stats_obj.curve_histograms(stats)
    plotted = _plotted_classes(curves, selected, max_classes)
    return [
        histogram_plot(curve.histogram, logit_range, max_points, curve.output_name, curve.class_id)
        for curve in curves
        if curve.class_id is None or curve.class_id in plotted[curve.output_name]
    ]


def _plotted_classes(
    curves: Sequence[CurveHistogram],
    selected: Mapping[str, Sequence[int]],
    max_classes: int,
) -> dict[str, set[int]]:
    """The class ids to plot per head: the selected ones, else the largest ones."""
    plotted: dict[str, set[int]] = {}
    for output_name, classes in selected.items():
        if classes:
            plotted[output_name] = set(classes)
            continue
        per_class = [c for c in curves if c.output_name == output_name and c.class_id is not None]
        if len(per_class) <= max_classes:  # all of them: no need to rank
            plotted[output_name] = {c.class_id for c in per_class}
            continue
        largest = sorted(
            per_class, key=lambda c: (-float(np.asarray(c.histogram)[1].sum()), c.class_id)
        )
        plotted[output_name] = {c.class_id for c in largest[:max_classes]}
    return plotted
