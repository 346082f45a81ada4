"""Tests of heads/stats/multiclass_stats.py against scikit-learn and plain NumPy."""

import numpy as np
import pytest

from heads.stats.multiclass_stats import MulticlassStats


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def test_head_keys_only_by_default():
    assert MulticlassStats(3).metric_keys() == (
        "average_loss",
        "accuracy",
        "example_count",
        "weighted_example_count",
    )
    keys = MulticlassStats(3, label_vocabulary=("a", "b", "c"), name="mc",
                           classes_for_class_based_metrics=(1,)).metric_keys()  # fmt: skip
    assert keys[:2] == ("average_loss/mc", "accuracy/mc")
    assert "auc/b/mc" in keys and "average_precision/b/error_bound/mc" in keys


@pytest.mark.parametrize("exact", [True, False])
def test_metrics_match_references(exact, reference):
    rng = np.random.default_rng(8)
    size = 100_000
    logits = rng.normal(size=(size, 5)) * 2
    probabilities = _softmax(logits)
    labels = (rng.random((size, 1)) > np.cumsum(probabilities, axis=1)).sum(axis=1)
    weights = rng.integers(1, 4, size).astype(np.float64)
    stats_obj = MulticlassStats(
        5, classes_for_class_based_metrics=(0, 4), max_exact_scores=2**20 if exact else 0
    )
    batch = {"logits": logits, "labels": labels[:, None], "weights": weights[:, None]}
    metrics = stats_obj.compute(stats_obj.update(None, batch))
    loss = -np.log(probabilities[np.arange(size), labels])
    assert metrics["average_loss"] == pytest.approx(np.average(loss, weights=weights), rel=1e-12)
    correct = np.argmax(logits, axis=1) == labels
    assert metrics["accuracy"] == np.sum(weights * correct) / weights.sum()
    for class_id in (0, 4):
        scores = probabilities[:, class_id]
        one_vs_rest = (labels == class_id).astype(np.float64)
        assert metrics[f"probability_mean/class{class_id}"] == pytest.approx(
            np.average(scores, weights=weights), rel=1e-12
        )
        reference.check_curves(metrics, f"/class{class_id}", scores, one_vs_rest, weights, exact)


def test_ties_go_to_the_first_class_and_loss_can_be_supplied():
    stats_obj = MulticlassStats(3)
    batch = {
        "logits": np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0]]),
        "labels": np.array([0, 2]),
        "unreduced_loss": np.array([0.5, 1.5]),
    }
    metrics = stats_obj.compute(stats_obj.update(None, batch))
    assert metrics["accuracy"] == 0.5
    assert metrics["average_loss"] == 1.0


def test_validation():
    stats_obj = MulticlassStats(3)
    with pytest.raises(ValueError, match="Invalid `labels`: expected class ids in \\[0, 3\\)"):
        stats_obj.update(None, {"logits": np.zeros((2, 3)), "labels": np.array([0, 3])})
    with pytest.raises(TypeError, match="Invalid `labels`: expected an integer array"):
        stats_obj.update(None, {"logits": np.zeros((2, 3)), "labels": np.array([0.0, 1.0])})
    with pytest.raises(ValueError, match="Invalid `logits`"):
        stats_obj.update(None, {"logits": np.zeros((2, 4)), "labels": np.array([0, 1])})


def test_curve_classes_keep_curves_for_some_classes_and_means_for_all():
    rng = np.random.default_rng(8)
    batch = {"logits": rng.normal(size=(60, 4)) * 2, "labels": rng.integers(0, 4, 60)}
    every = MulticlassStats(4, classes_for_class_based_metrics=(0, 1, 2, 3), num_buckets=256)
    some = MulticlassStats(
        4, classes_for_class_based_metrics=(0, 1, 2, 3), num_buckets=256, curve_classes=(2,)
    )
    expected = every.compute(every.update(None, batch))
    stats = some.update(None, batch)
    assert stats["class_histograms"].shape == (1, 2, 256)
    found = some.compute(stats)
    # Only class 2's curve keys stay; every class keeps its probability mean, exactly.
    dropped = {k for k in expected if "/class" in k and "probability_mean" not in k}
    assert set(expected) - set(found) == {k for k in dropped if "/class2" not in k}
    for key, value in found.items():
        assert value == expected[key], key
    means = _softmax(batch["logits"]).mean(axis=0)
    assert [found[f"probability_mean/class{c}"] for c in range(4)] == pytest.approx(means)
    assert [c.class_id for c in some.curve_histograms(stats)] == [2]
    assert some.curve_classes == (2,) and every.curve_classes == (0, 1, 2, 3)
    with pytest.raises(ValueError, match="curve_classes"):
        MulticlassStats(4, classes_for_class_based_metrics=(0,), curve_classes=(1,))


def test_a_multi_class_head_of_many_classes_gets_no_per_class_curves():
    from heads.description import describe
    from heads.multi_class_head import MultiClassHead
    from heads.stats import stats_for_head
    from heads.stats.per_class import MAX_DEFAULT_CLASS_CURVES

    many = stats_for_head(describe(MultiClassHead(n_classes=MAX_DEFAULT_CLASS_CURVES + 1)))
    assert many.curve_classes == () and len(many.classes) == MAX_DEFAULT_CLASS_CURVES + 1
    stats = many.create()
    assert stats["class_histograms"].nbytes == 0 and stats["class_scores"].n_curves == 0
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(20, MAX_DEFAULT_CLASS_CURVES + 1))
    labels = rng.integers(0, MAX_DEFAULT_CLASS_CURVES + 1, 20)
    metrics = many.compute(many.update(stats, {"logits": logits, "labels": labels}))
    assert not [key for key in metrics if key.startswith(("auc", "average_precision"))]
    means = [metrics[f"probability_mean/class{c}"] for c in range(MAX_DEFAULT_CLASS_CURVES + 1)]
    assert means == pytest.approx(_softmax(logits).mean(axis=0), rel=1e-12)
    assert metrics["accuracy"] == np.mean(np.argmax(logits, axis=1) == labels)
    few = stats_for_head(describe(MultiClassHead(n_classes=MAX_DEFAULT_CLASS_CURVES)))
    assert few.curve_classes == tuple(range(MAX_DEFAULT_CLASS_CURVES))
