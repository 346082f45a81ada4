"""Independent sort-based references for the statistics tests (NumPy and scikit-learn)."""

from __future__ import annotations

import types

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score


def _grouped_curve(scores, labels, weights):
    """Cumulative (TP, FP) at one threshold per distinct score, highest score first."""
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    positive = labels[order] * weights[order]
    negative = (1 - labels[order]) * weights[order]
    last = np.r_[np.flatnonzero(np.diff(sorted_scores) != 0), len(sorted_scores) - 1]
    return np.cumsum(positive)[last], np.cumsum(negative)[last]


def keras_pr_auc(scores, labels, weights=None):
    """Keras' interpolated PR AUC (Davis & Goadrich) with a threshold per distinct score."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    weights = np.ones_like(scores) if weights is None else np.asarray(weights, np.float64)
    tp, fp = _grouped_curve(scores, labels, weights)
    tp = np.r_[0.0, tp]
    predicted = tp + np.r_[0.0, fp]
    total = tp[-1]
    if total == 0:
        return 0.0
    d_tp = np.diff(tp)
    d_p = np.diff(predicted)
    slope = np.divide(d_tp, d_p, out=np.zeros_like(d_tp), where=d_p > 0)
    intercept = tp[:-1] - slope * predicted[:-1]
    both = (predicted[:-1] > 0) & (predicted[1:] > 0)
    ratio = np.divide(predicted[1:], predicted[:-1], out=np.ones_like(d_tp), where=both)
    return float(np.sum(slope * (d_tp + intercept * np.log(ratio))) / total)


def pairwise_roc_auc(scores, labels, weights=None):
    """Mann-Whitney ROC AUC with soft labels and ties counted half (O(n^2), small n)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    weights = np.ones_like(scores) if weights is None else np.asarray(weights, np.float64)
    positive = labels * weights
    negative = (1 - labels) * weights
    above = (scores[:, None] > scores[None, :]) + 0.5 * (scores[:, None] == scores[None, :])
    pairs = positive.sum() * negative.sum()
    return float(positive @ above @ negative / pairs) if pairs else 0.0


def check_curves(metrics, suffix, scores, labels, weights, exact):
    """Checks a curve's `auc`, `auc_precision_recall` and `average_precision` keys (each
    followed by `suffix`, e.g. `/class0`) against the sort-based references: to 1e-9 with
    bounds 0 when `exact`, else within their error bounds (the AUC also to 1e-6)."""
    references = {
        "auc": float(roc_auc_score(labels, scores, sample_weight=weights)),
        "auc_precision_recall": keras_pr_auc(scores, labels, weights),
        "average_precision": float(average_precision_score(labels, scores, sample_weight=weights)),
    }
    for key, expected in references.items():
        value, bound = metrics[f"{key}{suffix}"], metrics[f"{key}{suffix}/error_bound"]
        if exact:
            assert bound == 0.0, key
            assert abs(value - expected) <= 1e-9, (key, value, expected)
        else:
            limit = min(bound, 1e-6) if key == "auc" else bound + 1e-12
            assert abs(value - expected) <= limit, (key, value, expected, bound)


@pytest.fixture(scope="session")
def reference():
    """Reference metric implementations, independent of `heads.stats`."""
    return types.SimpleNamespace(
        check_curves=check_curves,
        roc_auc=lambda s, y, w=None: float(roc_auc_score(y, s, sample_weight=w)),
        average_precision=lambda s, y, w=None: float(
            average_precision_score(y, s, sample_weight=w)
        ),
        keras_pr_auc=keras_pr_auc,
        pairwise_roc_auc=pairwise_roc_auc,
    )


def make_scores(rng: np.random.Generator, kind: str, size: int):
    """Returns (logits float64, hard labels float64) for a named score distribution.

    uniform: probabilities uniform, labels Bernoulli(p). skewed: 1% positives, scores
    mostly below 0.01. near_perfect: well separated. tied: probabilities rounded to 2
    decimals (101 distinct values).
    """
    if kind == "uniform":
        p = rng.random(size)
        labels = rng.random(size) < p
    elif kind == "skewed":
        labels = rng.random(size) < 0.01
        p = np.where(labels, rng.beta(2, 20, size), rng.beta(1, 300, size))
    elif kind == "near_perfect":
        labels = rng.random(size) < 0.3
        p = np.where(labels, rng.beta(8, 1, size), rng.beta(1, 8, size))
    elif kind == "tied":
        p = np.round(rng.random(size), 2)
        labels = rng.random(size) < p
    else:
        raise ValueError(kind)
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p), labels.astype(np.float64)


@pytest.fixture(scope="session")
def scores_factory():
    return make_scores
