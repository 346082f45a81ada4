"""The structured per-head entries of metrics.json (`HeadMetricLayout`)."""

import numpy as np

import heads
from heads.stats import stats_for_head
from tfx_heads.components.evaluator.head_metrics import HeadMetricLayout

_BATCHES = {
    "a": {"logits": np.array([[1.0], [3.0]]), "labels": np.array([[0.0], [3.0]])},
    "b": {"logits": np.array([[0.0], [0.0]]), "labels": np.array([[2.0], [2.0]])},
}


def _metrics(description, batch):
    stats_obj = stats_for_head(description)
    return stats_obj.compute(stats_obj.update(None, batch))


def test_a_multi_head_entry_holds_each_head_s_loss_and_a_single_head_entry_none():
    multi = heads.describe(
        heads.MultiHead([heads.RegressionHead(name="a"), heads.RegressionHead(name="b")])
    )
    first, second = HeadMetricLayout(multi).entries(_metrics(multi, _BATCHES))
    # Squared errors: a (1, 0), b (4, 4); the reduced loss is their mean per head.
    assert (first["name"], first["kind"]) == ("a", "regression")
    assert first["metrics"]["loss"] == 0.5 and first["metrics"]["average_loss"] == 0.5
    assert second["metrics"]["loss"] == 4.0 and second["metrics"]["average_loss"] == 4.0
    single = heads.describe(heads.RegressionHead(name="a"))
    (entry,) = HeadMetricLayout(single).entries(_metrics(single, _BATCHES["a"]))
    assert "loss" not in entry["metrics"] and entry["metrics"]["average_loss"] == 0.5
    assert list(entry["metrics"]) == [key for key in first["metrics"] if key != "loss"]
