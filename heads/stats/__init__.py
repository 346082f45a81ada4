"""Mergeable sufficient statistics of every head's metrics, in NumPy only.

Per-head classes (`BinaryStats`, `MulticlassStats`, `MultilabelStats`, `RegressionStats`,
`MultiHeadStats`, or `stats_for_head(heads.describe(head))`) turn batches of processed arrays
into stats (dicts of NumPy arrays) with `create` / `update` / `merge` / `compute`, the four
methods a Beam `CombineFn` needs (see `heads.stats.base_stats`; every state merges by the
one elementwise sum of `merge_stats` / `merge_stats_into`). The metric math lives in
functional modules, each with `_update` / `_compute` stages and a public one-shot function:

- `histogram`: label-split weighted histograms of logits (`logit_histogram`);
- `score_counts`: exact weights per distinct score, while within a budget (`ScoreCounts`);
- `curve`: ROC AUC, PR AUC and average precision, exact from the score counts or with
  guaranteed error bounds from the histograms (`binary_curve`, `curve_metrics`);
- `threshold_counts`: exact weighted confusion counts (`binary_threshold_metrics`);
- `moments`: exact weighted sums and Keras-`Mean` means (`weighted_mean`);
- `losses`: the heads' default per-example losses and links.
"""

from heads.stats.base_stats import HeadStats, Stats, merge_stats, merge_stats_into
from heads.stats.binary_stats import BinaryStats
from heads.stats.curve import CurveMetrics, binary_curve, curve_metrics
from heads.stats.factory import stats_for_head
from heads.stats.histogram import DEFAULT_LOGIT_RANGE, DEFAULT_NUM_BUCKETS, logit_histogram
from heads.stats.metric_keys import ERROR_BOUND_SUFFIX, StatsMetricKeys
from heads.stats.moments import weighted_mean
from heads.stats.multi_head_stats import MultiHeadStats
from heads.stats.multiclass_stats import MulticlassStats
from heads.stats.multilabel_stats import MultilabelStats
from heads.stats.regression_stats import RegressionStats
from heads.stats.score_counts import DEFAULT_MAX_EXACT_SCORES, ScoreCounts
from heads.stats.threshold_counts import ThresholdMetrics, binary_threshold_metrics

__all__ = [
    "DEFAULT_LOGIT_RANGE",
    "DEFAULT_MAX_EXACT_SCORES",
    "DEFAULT_NUM_BUCKETS",
    "ERROR_BOUND_SUFFIX",
    "BinaryStats",
    "CurveMetrics",
    "HeadStats",
    "StatsMetricKeys",
    "MultiHeadStats",
    "MulticlassStats",
    "MultilabelStats",
    "RegressionStats",
    "ScoreCounts",
    "Stats",
    "ThresholdMetrics",
    "binary_curve",
    "curve_metrics",
    "binary_threshold_metrics",
    "logit_histogram",
    "merge_stats",
    "merge_stats_into",
    "stats_for_head",
    "weighted_mean",
]
