"""Builds the statistics object of a head from the head's public attributes.

The head is only read, never imported: its class (or the first base class) named like one
of the estimator heads picks the statistics class, and these attributes configure it:
`name`, `thresholds`, `n_classes`, `label_vocabulary`, `classes_for_class_based_metrics`,
`label_dimension`, `compute_full_loss` (Poisson, default True) and `heads` (MultiHead).

Per-class statistics: a multi-label head's `classes_for_class_based_metrics` get them, as
in `head.metrics()`; when it selects none, and for every multi-class head (which has no
such argument), every class gets one-vs-rest statistics, at the resolution that keeps them
within 16 MiB per accumulator (`default_class_num_buckets`). Their keys (`auc/class<c>`,
`probability_mean/class<c>`, ...) are then added keys, like `average_precision`.

>>> import types
>>> class BinaryClassHead(types.SimpleNamespace):
...     pass
>>> stats_obj = stats_for_head(BinaryClassHead(name="bin", thresholds=(0.5,)))
>>> type(stats_obj).__name__, stats_obj.metric_keys()[:2]
('BinaryStats', ('average_loss/bin', 'accuracy/bin'))
"""

from __future__ import annotations

from typing import Any

from heads.stats.base_stats import HeadStats
from heads.stats.binary_stats import BinaryStats
from heads.stats.histogram import DEFAULT_LOGIT_RANGE, DEFAULT_NUM_BUCKETS
from heads.stats.inputs import invalid
from heads.stats.multi_head_stats import MultiHeadStats
from heads.stats.multiclass_stats import MulticlassStats
from heads.stats.multilabel_stats import MultilabelStats
from heads.stats.regression_stats import RegressionStats
from heads.stats.score_counts import DEFAULT_MAX_EXACT_SCORES

__all__ = ["HEAD_TYPES", "stats_for_head"]

HEAD_TYPES = (
    "BinaryClassHead",
    "MultiClassHead",
    "MultiLabelHead",
    "PoissonRegressionHead",
    "LogisticRegressionHead",
    "RegressionHead",
    "MultiHead",
)
"""Class names `stats_for_head` recognises (a subclass is matched through its bases)."""


def _head_type(head: Any) -> str:
    for cls in type(head).__mro__:
        if cls.__name__ in HEAD_TYPES:
            return cls.__name__
    raise TypeError(invalid("head", f"an instance of one of {list(HEAD_TYPES)}", type(head)))


def stats_for_head(
    head: Any,
    num_buckets: int = DEFAULT_NUM_BUCKETS,
    logit_range: float = DEFAULT_LOGIT_RANGE,
    class_num_buckets: int | None = None,
    max_exact_scores: int = DEFAULT_MAX_EXACT_SCORES,
) -> HeadStats:
    """Returns the `HeadStats` whose metric keys match `head.metrics()`.

    Args:
        head: a head object (read through its public attributes only).
        num_buckets: AUC histogram resolution.
        logit_range: AUC histogram range `[-logit_range, logit_range]`.
        class_num_buckets: per-class histogram resolution (MultiLabel/MultiClass per-class
            keys); default `default_class_num_buckets(number of classes, num_buckets)`.
        max_exact_scores: the most distinct scores a curve is exact for (see
            `heads.stats.score_counts`; 0: histograms only).

    Returns:
        `BinaryStats`, `MulticlassStats`, `MultilabelStats`, `RegressionStats` or
        `MultiHeadStats`.

    Raises:
        TypeError: if the head is of none of the known types.
    """
    head_type = _head_type(head)
    curve = {
        "num_buckets": num_buckets,
        "logit_range": logit_range,
        "max_exact_scores": max_exact_scores,
    }
    if head_type == "BinaryClassHead":
        return BinaryStats(thresholds=head.thresholds, name=head.name, **curve)
    if head_type in ("MultiClassHead", "MultiLabelHead"):
        every_class = tuple(range(head.n_classes))
    if head_type == "MultiClassHead":
        return MulticlassStats(
            n_classes=head.n_classes,
            label_vocabulary=head.label_vocabulary,
            name=head.name,
            classes_for_class_based_metrics=every_class,
            class_num_buckets=class_num_buckets,
            **curve,
        )
    if head_type == "MultiLabelHead":
        return MultilabelStats(
            n_classes=head.n_classes,
            thresholds=head.thresholds,
            classes_for_class_based_metrics=head.classes_for_class_based_metrics or every_class,
            label_vocabulary=head.label_vocabulary,
            name=head.name,
            class_num_buckets=class_num_buckets,
            **curve,
        )
    if head_type == "RegressionHead":
        return RegressionStats(label_dimension=head.label_dimension, name=head.name)
    if head_type == "PoissonRegressionHead":
        return RegressionStats(
            label_dimension=head.label_dimension,
            name=head.name,
            loss="poisson",
            compute_full_loss=getattr(head, "compute_full_loss", True),
        )
    if head_type == "LogisticRegressionHead":
        return RegressionStats(label_dimension=1, name=head.name, loss="sigmoid_cross_entropy")
    return MultiHeadStats(
        [
            stats_for_head(sub_head, num_buckets, logit_range, class_num_buckets, max_exact_scores)
            for sub_head in head.heads
        ]
    )
