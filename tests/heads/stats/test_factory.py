"""Tests of heads/stats/factory.py with stand-in head objects (the real heads not imported)."""

import types

import pytest

from heads.stats.binary_stats import BinaryStats
from heads.stats.factory import stats_for_head
from heads.stats.multi_head_stats import MultiHeadStats
from heads.stats.multiclass_stats import MulticlassStats
from heads.stats.multilabel_stats import MultilabelStats
from heads.stats.regression_stats import RegressionStats


class BinaryClassHead(types.SimpleNamespace):
    pass


class MultiClassHead(types.SimpleNamespace):
    pass


class MultiLabelHead(types.SimpleNamespace):
    pass


class RegressionHead(types.SimpleNamespace):
    pass


class PoissonRegressionHead(RegressionHead):
    pass


class LogisticRegressionHead(RegressionHead):
    pass


class MultiHead(types.SimpleNamespace):
    pass


class MyBinaryHead(BinaryClassHead):
    """A user subclass: recognised through its base class name."""


def test_each_head_type():
    binary = stats_for_head(BinaryClassHead(name="b", thresholds=(0.3,)), num_buckets=128)
    assert isinstance(binary, BinaryStats) and binary.thresholds == (0.3,)
    assert "precision/positive_threshold_0.3/b" in binary.metric_keys()
    multi_class = stats_for_head(MultiClassHead(name=None, n_classes=4, label_vocabulary=None))
    assert isinstance(multi_class, MulticlassStats)
    assert multi_class.metric_keys()[:2] == ("average_loss", "accuracy")
    assert multi_class.classes == (0, 1, 2, 3)  # The original head has no selection.
    multi_label = stats_for_head(
        MultiLabelHead(
            name="ml",
            n_classes=3,
            thresholds=(),
            classes_for_class_based_metrics=(1,),
            label_vocabulary=("a", "b", "c"),
        ),
        class_num_buckets=64,
    )
    assert isinstance(multi_label, MultilabelStats)
    assert "auc/b/ml" in multi_label.metric_keys()
    assert multi_label.create()["class_histograms"].shape == (1, 2, 64)
    regression = stats_for_head(RegressionHead(name="r", label_dimension=2))
    assert isinstance(regression, RegressionStats)
    assert regression._loss == "squared_error" and regression._label_dimension == 2
    poisson = stats_for_head(
        PoissonRegressionHead(name="p", label_dimension=1, compute_full_loss=False)
    )
    assert poisson._loss == "poisson" and not poisson._compute_full_loss
    assert stats_for_head(PoissonRegressionHead(name="p", label_dimension=1))._compute_full_loss
    logistic = stats_for_head(LogisticRegressionHead(name="l", label_dimension=1))
    assert logistic._loss == "sigmoid_cross_entropy"
    assert isinstance(stats_for_head(MyBinaryHead(name=None, thresholds=None)), BinaryStats)


def test_multi_head_builds_sub_heads():
    head = MultiHead(
        heads=(
            BinaryClassHead(name="b", thresholds=()),
            RegressionHead(name="r", label_dimension=1),
        )
    )
    stats_obj = stats_for_head(head, num_buckets=32)
    assert isinstance(stats_obj, MultiHeadStats)
    assert [type(h) for h in stats_obj.heads] == [BinaryStats, RegressionStats]
    assert stats_obj.create()["b"]["histogram"].shape == (2, 32)


def test_unknown_head_type():
    with pytest.raises(TypeError, match="Invalid `head`: expected an instance of one of"):
        stats_for_head(types.SimpleNamespace(name="x"))


def test_every_class_gets_one_vs_rest_statistics_within_16_mib_when_none_are_selected():
    for head in (
        MultiClassHead(name=None, n_classes=1000, label_vocabulary=None),
        MultiLabelHead(
            name=None,
            n_classes=1000,
            thresholds=(),
            classes_for_class_based_metrics=None,
            label_vocabulary=None,
        ),
    ):
        stats_obj = stats_for_head(head)
        assert stats_obj.classes == tuple(range(1000))
        histograms = stats_obj.create()["class_histograms"]
        # The finest power-of-two resolution within 16 MiB: 1000 * 2 * 1024 * 8 bytes.
        assert histograms.shape == (1000, 2, 1024)
        assert histograms.nbytes <= 2**24 < histograms.nbytes * 2
        keys = stats_obj.metric_keys()
        assert "auc/class999" in keys and "probability_mean/class0" in keys
    few = stats_for_head(MultiClassHead(name="c", n_classes=3, label_vocabulary=None))
    assert few.create()["class_histograms"].shape == (3, 2, 2**16)
