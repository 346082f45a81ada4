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
logits).

>>> plot = histogram_plot(np.array([[2.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 3.0]]), 2.0, 10)
>>> plot.true_positives.tolist(), plot.false_positives.tolist()
([4.0, 4.0, 3.0, 0.0], [3.0, 1.0, 0.0, 0.0])

`head_plots` walks a head's statistics: the binary head's histogram, the multi-label head's
pooled histogram and its per-class histograms, and the one-vs-rest histograms a multi-class
head keeps for selected classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from components.evaluator.head_inputs import head_kind, single_heads
from heads.multi_head import MultiHead
from heads.stats.histogram import bucket_edges
from heads.stats.losses import sigmoid


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


def histogram_plot(
    histogram: np.ndarray,
    logit_range: float,
    max_points: int,
    output_name: str = "",
    class_id: int | None = None,
) -> HistogramPlot:
    """Plot data of one label-split logit histogram.

    Args:
        histogram: float64 `[2, N]`: negative and positive weight per logit bucket.
        logit_range: `L`, the histogram covers `[-L, L]` (clamped outside).
        max_points: most thresholds to keep (about; both ends are always kept).
        output_name: see `HistogramPlot`.
        class_id: see `HistogramPlot`.

    Returns:
        `HistogramPlot`.
    """
    negatives, positives = np.asarray(histogram, np.float64)
    num_buckets = negatives.shape[0]
    weights = negatives + positives
    cumulative = np.zeros(num_buckets + 1)
    np.cumsum(weights, out=cumulative[1:])
    total = cumulative[-1]
    targets = total * np.arange(max_points + 1) / max_points
    edges = np.unique(np.r_[0, np.searchsorted(cumulative, targets), num_buckets])
    negatives_below = np.r_[0.0, np.cumsum(negatives)][edges]
    positives_below = np.r_[0.0, np.cumsum(positives)][edges]
    logit_edges = bucket_edges(num_buckets, logit_range)
    centres = sigmoid((logit_edges[:-1] + logit_edges[1:]) / 2.0)
    predictions_below = np.r_[0.0, np.cumsum(weights * centres)][edges]
    bounds = sigmoid(logit_edges[edges])
    bounds[0], bounds[-1] = -np.inf, np.inf
    return HistogramPlot(
        output_name=output_name,
        class_id=class_id,
        thresholds=sigmoid(logit_edges[edges]),
        true_positives=positives_below[-1] - positives_below,
        false_positives=negatives_below[-1] - negatives_below,
        true_negatives=negatives_below,
        false_negatives=positives_below,
        bucket_bounds=bounds,
        bucket_weights=np.diff(cumulative[edges]),
        bucket_labels=np.diff(positives_below),
        bucket_predictions=np.diff(predictions_below),
    )


def head_plots(head: Any, stats: Any, logit_range: float, max_points: int) -> list[HistogramPlot]:
    """Plot data of every histogram in a head's statistics.

    Args:
        head: the head (a single head or a MultiHead) the statistics belong to.
        stats: its statistics (`HeadStats.create/update/merge` output).
        logit_range: the histograms' `L`.
        max_points: see `histogram_plot`.

    Returns:
        One `HistogramPlot` per curve: binary heads and pooled multi-label scores without a
        class id, per-class scores with one.
    """
    multi = isinstance(head, MultiHead)
    plots = []
    for single in single_heads(head):
        head_stats = stats[single.name] if multi else stats
        output_name = single.name if multi else ""
        plots.extend(_single_head_plots(single, head_stats, output_name, logit_range, max_points))
    return plots


def _single_head_plots(
    head: Any, stats: Any, output_name: str, logit_range: float, max_points: int
) -> list[HistogramPlot]:
    kind = head_kind(head)
    if kind == "regression":
        return []
    class_histograms = stats.get("class_histograms")
    classes: Sequence[int] = getattr(head, "classes_for_class_based_metrics", ())
    pooled = stats.get("histogram")
    if pooled is None and kind == "multi_label" and class_histograms is not None:
        if tuple(classes) == tuple(range(head.n_classes)):
            pooled = class_histograms.sum(axis=0)
    plots = []
    if pooled is not None:
        plots.append(histogram_plot(pooled, logit_range, max_points, output_name))
    if class_histograms is not None and len(class_histograms):
        ids = list(classes) if len(classes) == len(class_histograms) else None
        for position, histogram in enumerate(class_histograms):
            class_id = ids[position] if ids else position
            plots.append(histogram_plot(histogram, logit_range, max_points, output_name, class_id))
    return plots
