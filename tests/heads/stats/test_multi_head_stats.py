"""Tests of heads/stats/multi_head_stats.py."""

import numpy as np
import pytest

from heads.stats.binary_stats import BinaryStats
from heads.stats.multi_head_stats import MultiHeadStats
from heads.stats.regression_stats import RegressionStats


def _stats_obj():
    return MultiHeadStats([BinaryStats(name="bin", num_buckets=64), RegressionStats(name="reg")])


def _batch(rng, size):
    return {
        "bin": {"logits": rng.normal(size=(size, 1)), "labels": rng.integers(0, 2, size)},
        "reg": {
            "logits": rng.normal(size=(size, 1)),
            "labels": rng.normal(size=(size, 1)),
            "weights": rng.random(size),
        },
    }


def test_keys_are_sub_head_keys_plus_losses_and_count():
    keys = _stats_obj().metric_keys()
    assert keys[:2] == ("loss/bin", "loss/reg")
    assert "auc/error_bound/bin" in keys and "label/mean/reg" in keys
    assert keys[-1] == "example_count/bin_reg"
    assert _stats_obj().name == "bin_reg"


def test_sub_metrics_equal_single_heads_and_losses_cover_all_data():
    rng = np.random.default_rng(10)
    batches = [_batch(rng, size) for size in (5, 9, 2)]
    stats_obj = _stats_obj()
    stats = None
    for batch in batches:
        stats = stats_obj.update(stats, batch)
    metrics = stats_obj.compute(stats)
    for head in stats_obj.heads:
        single = None
        for batch in batches:
            single = head.update(single, batch[head.name])
        for key, value in head.compute(single).items():
            assert metrics[key] == value
    regression = [batch["reg"] for batch in batches]
    weights = np.concatenate([b["weights"] for b in regression])
    errors = np.concatenate([(b["labels"] - b["logits"]).ravel() ** 2 for b in regression])
    assert metrics["loss/reg"] == pytest.approx(np.sum(weights * errors) / 16)
    assert metrics["example_count/bin_reg"] == 16


def test_merge_is_per_head():
    rng = np.random.default_rng(11)
    stats_obj = _stats_obj()
    first = stats_obj.update(None, _batch(rng, 4))
    second = stats_obj.update(None, _batch(rng, 6))
    merged = stats_obj.merge(first, second)
    np.testing.assert_array_equal(
        np.asarray(merged["bin"]["histogram"]),
        np.asarray(first["bin"]["histogram"]) + np.asarray(second["bin"]["histogram"]),
    )


def test_validation():
    with pytest.raises(ValueError, match="Invalid `heads`: expected a non-empty"):
        MultiHeadStats([])
    with pytest.raises(ValueError, match="Invalid `heads`: expected heads with distinct names"):
        MultiHeadStats([RegressionStats(name="a"), RegressionStats()])
    with pytest.raises(ValueError, match="distinct names"):
        MultiHeadStats([RegressionStats(name="a"), RegressionStats(name="a")])
    with pytest.raises(TypeError, match="Invalid `heads`"):
        MultiHeadStats([_stats_obj()])
    with pytest.raises(ValueError, match="Invalid `batch`: expected a batch for every head"):
        _stats_obj().update(None, {"bin": {}})
    # A MultiHead composes single-head statistics: it has no single reduced loss.
    assert not hasattr(_stats_obj(), "reduced_loss")


def test_a_rejected_batch_changes_nothing():
    rng = np.random.default_rng(12)
    stats_obj = _stats_obj()
    stats = stats_obj.update(None, _batch(rng, 4))
    before = stats_obj.compute(stats)
    bad = _batch(rng, 4)
    bad["reg"]["weights"] = np.ones(5)  # the second head's batch is invalid
    with pytest.raises(ValueError, match="Invalid `weights`"):
        stats_obj.update(stats, bad)
    assert stats_obj.compute(stats) == before


def test_curve_histograms_name_each_sub_head_and_class():
    from heads.stats.histogram import logit_histogram
    from heads.stats.multiclass_stats import MulticlassStats

    stats_obj = MultiHeadStats(
        [
            BinaryStats(name="bin", num_buckets=64),
            RegressionStats(name="reg"),
            MulticlassStats(3, name="cls", classes_for_class_based_metrics=(2, 0), num_buckets=64),
        ]
    )
    rng = np.random.default_rng(3)
    batch = _batch(rng, 50)
    labels = rng.integers(0, 3, 50)
    batch["cls"] = {"logits": rng.normal(size=(50, 3)), "labels": labels}
    stats = stats_obj.update(None, batch)
    curves = stats_obj.curve_histograms(stats)
    assert [(c.output_name, c.class_id) for c in curves] == [
        ("bin", None),
        ("cls", 2),
        ("cls", 0),
    ]
    expected = logit_histogram(batch["bin"]["logits"], batch["bin"]["labels"], num_buckets=64)
    np.testing.assert_array_equal(curves[0].histogram, expected)
    for curve in curves[1:]:
        positives = np.count_nonzero(labels == curve.class_id)
        assert np.asarray(curve.histogram).sum(axis=1).tolist() == [50 - positives, positives]
