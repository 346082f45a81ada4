"""Builds the statistics object of a head from its description (`heads.describe`).

The description's `kind` picks the statistics class, its `loss` the regression loss, and
its thresholds, classes, vocabulary and name configure it; a MultiHead gets one statistics
object per sub-head.

Per-class statistics: a multi-label head's `classes_for_class_based_metrics` get them, as
in `head.metrics()`; when it selects none, and for every multi-class head (which has no
such argument), every class gets one-vs-rest statistics, at the resolution that keeps them
within 16 MiB per accumulator (`default_class_num_buckets`). A head of more than
`MAX_DEFAULT_CLASS_CURVES` (1,000) classes that selects none (every multi-class head of
that size) gets per-class curves for none (its per-class probability means stay), so its
memory and time do not grow with curves per class: select the classes to plot and rank
with a multi-label head's `classes_for_class_based_metrics`. Their keys
(`auc/class<c>`, `probability_mean/class<c>`, ...) are then added keys, like
`average_precision`.

>>> from heads.description import HeadDescription
>>> head = HeadDescription(kind="binary", head_type="BinaryClassHead", name="bin",
...                        n_classes=2, thresholds=(0.5,), loss="sigmoid_cross_entropy")
>>> stats_obj = stats_for_head(head)
>>> type(stats_obj).__name__, stats_obj.metric_keys()[:2]
('BinaryStats', ('average_loss/bin', 'accuracy/bin'))
"""

from __future__ import annotations

from heads.description import HeadDescription
from heads.stats.base_stats import HeadStats
from heads.stats.binary_stats import BinaryStats
from heads.stats.histogram import DEFAULT_LOGIT_RANGE, DEFAULT_NUM_BUCKETS
from heads.stats.multi_head_stats import MultiHeadStats
from heads.stats.multiclass_stats import MulticlassStats
from heads.stats.multilabel_stats import MultilabelStats
from heads.stats.per_class import MAX_DEFAULT_CLASS_CURVES
from heads.stats.regression_stats import RegressionStats
from heads.stats.score_counts import DEFAULT_MAX_EXACT_SCORES

__all__ = ["stats_for_head"]

_REGRESSION_LOSSES = {
    "squared_error": {"loss": "squared_error"},
    "custom": {"loss": "squared_error"},  # The evaluator passes the head's own loss values.
    "log_poisson": {"loss": "poisson", "compute_full_loss": False},
    "log_poisson_full": {"loss": "poisson", "compute_full_loss": True},
    "sigmoid_cross_entropy": {"loss": "sigmoid_cross_entropy"},
}
"""`RegressionStats` arguments per regression loss of a description."""


def stats_for_head(
    head: HeadDescription,
    num_buckets: int = DEFAULT_NUM_BUCKETS,
    logit_range: float = DEFAULT_LOGIT_RANGE,
    class_num_buckets: int | None = None,
    max_exact_scores: int = DEFAULT_MAX_EXACT_SCORES,
) -> HeadStats:
    """Returns the `HeadStats` whose metric keys match `head.metrics()`.

    Args:
        head: the head's description (`heads.describe(head)`).
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
        TypeError: if `head` is not a `HeadDescription`.
    """
    if not isinstance(head, HeadDescription):
        raise TypeError(
            "Invalid `head`: expected a HeadDescription (heads.describe(head)); received "
            f"{type(head).__name__}."
        )
    curve = {
        "num_buckets": num_buckets,
        "logit_range": logit_range,
        "max_exact_scores": max_exact_scores,
    }
    if head.kind == "binary":
        return BinaryStats(thresholds=head.thresholds, name=head.name, **curve)
    if head.kind == "multi_class":
        return MulticlassStats(
            n_classes=head.n_classes,
            label_vocabulary=head.label_vocabulary,
            name=head.name,
            classes_for_class_based_metrics=tuple(range(head.n_classes)),
            curve_classes=None if head.n_classes <= MAX_DEFAULT_CLASS_CURVES else (),
            class_num_buckets=class_num_buckets,
            **curve,
        )
    if head.kind == "multi_label":
        selected = head.classes_for_class_based_metrics
        return MultilabelStats(
            n_classes=head.n_classes,
            thresholds=head.thresholds,
            classes_for_class_based_metrics=selected or tuple(range(head.n_classes)),
            curve_classes=None if selected or head.n_classes <= MAX_DEFAULT_CLASS_CURVES else (),
            label_vocabulary=head.label_vocabulary,
            name=head.name,
            class_num_buckets=class_num_buckets,
            **curve,
        )
    if head.kind == "regression":
        return RegressionStats(
            label_dimension=head.label_dimension, name=head.name, **_REGRESSION_LOSSES[head.loss]
        )
    return MultiHeadStats(
        [
            stats_for_head(sub_head, num_buckets, logit_range, class_num_buckets, max_exact_scores)
            for sub_head in head.sub_heads
        ]
    )
