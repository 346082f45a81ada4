"""Tests of heads/stats/factory.py with descriptions written here (no head imported)."""

import pytest

from heads.description import HeadDescription
from heads.stats.binary_stats import BinaryStats
from heads.stats.factory import stats_for_head
from heads.stats.multi_head_stats import MultiHeadStats
from heads.stats.multiclass_stats import MulticlassStats
from heads.stats.multilabel_stats import MultilabelStats
from heads.stats.regression_stats import RegressionStats


def _binary(name, thresholds=()):
    return HeadDescription(
        kind="binary",
        head_type="BinaryClassHead",
        name=name,
        n_classes=2,
        thresholds=thresholds,
        loss="sigmoid_cross_entropy",
        link="sigmoid",
    )


def _multi_class(name, n_classes):
    return HeadDescription(
        kind="multi_class",
        head_type="MultiClassHead",
        name=name,
        logits_dimension=n_classes,
        n_classes=n_classes,
        loss="softmax_cross_entropy",
        link="softmax",
    )


def _multi_label(name, n_classes, classes=(), vocabulary=None):
    return HeadDescription(
        kind="multi_label",
        head_type="MultiLabelHead",
        name=name,
        logits_dimension=n_classes,
        label_dimension=None,
        n_classes=n_classes,
        label_vocabulary=vocabulary,
        classes_for_class_based_metrics=classes,
        loss="sigmoid_cross_entropy",
        link="sigmoid",
    )


def _regression(name, label_dimension=1, loss="squared_error", link="identity"):
    return HeadDescription(
        kind="regression",
        head_type="RegressionHead",
        name=name,
        logits_dimension=label_dimension,
        label_dimension=label_dimension,
        loss=loss,
        link=link,
    )


def test_each_head_type():
    binary = stats_for_head(_binary("b", (0.3,)), num_buckets=128)
    assert isinstance(binary, BinaryStats) and binary.thresholds == (0.3,)
    assert "precision/positive_threshold_0.3/b" in binary.metric_keys()
    multi_class = stats_for_head(_multi_class(None, 4))
    assert isinstance(multi_class, MulticlassStats)
    assert multi_class.metric_keys()[:2] == ("average_loss", "accuracy")
    assert multi_class.classes == (0, 1, 2, 3)  # The original head has no selection.
    multi_label = stats_for_head(
        _multi_label("ml", 3, classes=(1,), vocabulary=("a", "b", "c")), class_num_buckets=64
    )
    assert isinstance(multi_label, MultilabelStats)
    assert "auc/b/ml" in multi_label.metric_keys()
    assert multi_label.create()["class_histograms"].shape == (1, 2, 64)
    regression = stats_for_head(_regression("r", label_dimension=2))
    assert isinstance(regression, RegressionStats)
    assert regression._loss == "squared_error" and regression._label_dimension == 2
    poisson = stats_for_head(_regression("p", loss="log_poisson", link="exp"))
    assert poisson._loss == "poisson" and not poisson._compute_full_loss
    assert stats_for_head(_regression("p", loss="log_poisson_full", link="exp"))._compute_full_loss
    logistic = stats_for_head(_regression("l", loss="sigmoid_cross_entropy", link="sigmoid"))
    assert logistic._loss == "sigmoid_cross_entropy"
    # A custom loss: the evaluator passes the head's own per-example loss values.
    assert stats_for_head(_regression("c", loss="custom", link="custom"))._loss == "squared_error"


def test_multi_head_builds_sub_heads():
    head = HeadDescription(
        kind="multi_head",
        head_type="MultiHead",
        name="b_r",
        logits_dimension=2,
        label_dimension=None,
        sub_heads=(_binary("b"), _regression("r")),
    )
    stats_obj = stats_for_head(head, num_buckets=32)
    assert isinstance(stats_obj, MultiHeadStats)
    assert [type(h) for h in stats_obj.heads] == [BinaryStats, RegressionStats]
    assert stats_obj.create()["b"]["histogram"].shape == (2, 32)


def test_a_head_object_is_refused():
    class BinaryClassHead:  # Looks like a head by name; the factory takes descriptions only.
        name = "x"
        thresholds = ()

    with pytest.raises(TypeError, match=r"expected a HeadDescription \(heads.describe"):
        stats_for_head(BinaryClassHead())


def test_every_class_gets_one_vs_rest_statistics_within_16_mib_when_none_are_selected():
    for head in (_multi_class(None, 1000), _multi_label(None, 1000)):
        stats_obj = stats_for_head(head)
        assert stats_obj.classes == tuple(range(1000))
        histograms = stats_obj.create()["class_histograms"]
        # The finest power-of-two resolution within 16 MiB: 1000 * 2 * 1024 * 8 bytes once
        # dense (the most the histograms hold); empty, they hold nothing.
        assert histograms.shape == (1000, 2, 1024)
        assert 8 * histograms.size <= 2**24 < 16 * histograms.size
        assert histograms.nbytes == 0
        keys = stats_obj.metric_keys()
        assert "auc/class999" in keys and "probability_mean/class0" in keys
    few = stats_for_head(_multi_class("c", 3))
    assert few.create()["class_histograms"].shape == (3, 2, 2**16)
