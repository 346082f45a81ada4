"""What the heads with per-class statistics (multi-class, multi-label) share: the
resolution of their per-class histograms within a memory budget, and their per-class
curves and metric entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from heads.stats.base_stats import CurveHistogram
from heads.stats.binary_stats import curve_entries
from heads.stats.inputs import invalid, validate_class_ids, validate_num_buckets
from heads.stats.metric_keys import StatsMetricKeys, class_key

__all__ = [
    "CLASS_HISTOGRAMS_BYTES",
    "MAX_DEFAULT_CLASS_CURVES",
    "class_mean_keys",
    "class_num_buckets_or_default",
    "default_class_num_buckets",
    "per_class_curves",
    "per_class_entries",
    "class_indices",
    "validate_curve_classes",
]

CLASS_HISTOGRAMS_BYTES = 2**24
"""Memory the per-class histograms of one accumulator stay within by default (16 MiB)."""
MAX_DEFAULT_CLASS_CURVES = 1000
"""The most classes that get per-class curves (histograms and exact counts) when a head
selects none: 16 MiB per accumulator at `default_class_num_buckets`. A head with more
classes gets per-class curves only for the classes it selects (a multi-label head's
`classes_for_class_based_metrics`; a multi-class head has no such argument, so none); its
per-class probability means stay exact for every class (`heads.stats.factory`)."""
MIN_CLASS_NUM_BUCKETS = 2**8
"""The default per-class resolution never goes below this (10,000 selected classes take 40
MiB)."""


def default_class_num_buckets(n_curves: int, num_buckets: int) -> int:
    """Per-class histogram resolution for `n_curves` per-class curves.

    The largest power of two up to `num_buckets` that keeps `n_curves` histograms within
    `CLASS_HISTOGRAMS_BYTES`, but at least `MIN_CLASS_NUM_BUCKETS` (or `num_buckets` when
    that is smaller): 16 classes keep the full 2**16, 1,000 classes get 2**10 (16 MB in
    all). Coarser histograms only widen the reported `/error_bound` of the per-class
    curves; the accumulator never outgrows this bound, whatever the number of examples.

    >>> default_class_num_buckets(3, 2**16), default_class_num_buckets(1000, 2**16)
    (65536, 1024)
    """
    if n_curves == 0:
        return num_buckets
    fits = max(1, CLASS_HISTOGRAMS_BYTES // (16 * n_curves))
    return min(num_buckets, max(1 << (fits.bit_length() - 1), MIN_CLASS_NUM_BUCKETS))


def validate_curve_classes(
    curve_classes: Sequence[int] | None, classes: tuple[int, ...], n_classes: int
) -> tuple[int, ...]:
    """The checked classes with per-class curves: `classes` itself when None (the same
    object, so a caller can tell), else class ids among `classes`."""
    if curve_classes is None:
        return classes
    curves = validate_class_ids(curve_classes, n_classes)
    if curves and not set(curves) <= set(classes):
        raise ValueError(
            invalid("curve_classes", "classes among classes_for_class_based_metrics", curves)
        )
    return curves


def class_indices(
    classes: tuple[int, ...], curve_classes: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """intp `(class index, curve index)` of checked ids: one array when the curve classes
    are the classes themselves (`validate_curve_classes` of None), so 100,000 ids are
    converted once and a caller can tell by identity."""
    class_index = np.asarray(classes, dtype=np.intp)
    if curve_classes is classes:
        return class_index, class_index
    return class_index, np.asarray(curve_classes, dtype=np.intp)


def class_num_buckets_or_default(
    class_num_buckets: int | None, n_curves: int, num_buckets: int
) -> int:
    """The checked `class_num_buckets`, or `default_class_num_buckets` when it is None."""
    if class_num_buckets is None:
        return default_class_num_buckets(n_curves, num_buckets)
    return validate_num_buckets(class_num_buckets, "class_num_buckets")


def per_class_curves(classes: Sequence[int], class_histograms: np.ndarray) -> list[CurveHistogram]:
    """One `CurveHistogram` per selected class, from the `[C, 2, N]` per-class histograms."""
    return [
        CurveHistogram("", class_id, histogram)
        for class_id, histogram in zip(classes, class_histograms, strict=True)
    ]


def class_mean_keys(
    key: Any, classes: Sequence[int], vocabulary: Sequence[str] | None
) -> tuple[str, ...]:
    """The full `probability_mean/class<c>` key of each class, in order (built once per
    statistics object: a head may have 100,000 classes)."""
    template = StatsMetricKeys.PROBABILITY_MEAN_AT_CLASS
    return tuple(key(class_key(template, class_id, vocabulary)) for class_id in classes)


def per_class_entries(
    key: Any,
    classes: Sequence[int],
    vocabulary: Sequence[str] | None,
    probability_means: np.ndarray,
    class_curves: Any,
    curve_classes: Sequence[int] | None = None,
    mean_keys: Sequence[str] | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Per-class `probability_mean`, `auc`, `auc_precision_recall` keys and added keys.

    `class_curves` are the curves of `curve_classes` (default: `classes`), in order; a
    class without a curve gets its `probability_mean` only. `mean_keys` are
    `class_mean_keys(key, classes, vocabulary)`, built here when None.

    Returns:
        `(own, added)` dicts: the head's per-class keys in class order, and the per-class
        average precision and error bounds.
    """
    if mean_keys is None:
        mean_keys = class_mean_keys(key, classes, vocabulary)
    means = np.asarray(probability_means, dtype=np.float64).tolist()
    curve_classes = classes if curve_classes is None else curve_classes
    if not curve_classes:
        return dict(zip(mean_keys, means, strict=True)), {}
    own: dict[str, float] = {}
    added: dict[str, float] = {}
    curve_positions = {class_id: position for position, class_id in enumerate(curve_classes)}
    for position, class_id in enumerate(classes):
        own[mean_keys[position]] = means[position]
        if class_id not in curve_positions:
            continue
        class_own, class_added = curve_entries(
            key,
            class_curves,
            curve_positions[class_id],
            auc_key=class_key(StatsMetricKeys.AUC_AT_CLASS, class_id, vocabulary),
            auc_pr_key=class_key(StatsMetricKeys.AUC_PR_AT_CLASS, class_id, vocabulary),
            ap_key=class_key(StatsMetricKeys.AVERAGE_PRECISION_AT_CLASS, class_id, vocabulary),
        )
        own.update(class_own)
        added.update(class_added)
    return own, added
