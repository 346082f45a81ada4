"""Tests of heads/stats/multilabel_stats.py against scikit-learn and plain NumPy."""

import numpy as np
import pytest
from sklearn.metrics import precision_score, recall_score

from heads.stats.multilabel_stats import MultilabelStats


def _data(rng, size, n_classes):
    logits = rng.normal(size=(size, n_classes)) * 2 - 1
    labels = (rng.random((size, n_classes)) < 1 / (1 + np.exp(-logits))).astype(np.float64)
    weights = rng.integers(1, 4, size).astype(np.float64)
    return logits, labels, weights


def test_keys_follow_the_head_then_added_keys():
    stats_obj = MultilabelStats(
        3, thresholds=(0.5,), classes_for_class_based_metrics=(2, 0), name="ml"
    )
    keys = list(stats_obj.metric_keys())
    assert keys[:9] == [
        "average_loss/ml",
        "auc/ml",
        "auc_precision_recall/ml",
        "accuracy/positive_threshold_0.5/ml",
        "precision/positive_threshold_0.5/ml",
        "recall/positive_threshold_0.5/ml",
        "probability_mean/class2/ml",
        "auc/class2/ml",
        "auc_precision_recall/class2/ml",
    ]
    assert "average_precision/class0/ml" in keys
    assert "auc_precision_recall/class0/error_bound/ml" in keys
    assert keys[-2:] == ["example_count/ml", "weighted_example_count/ml"]


def test_vocabulary_names_per_class_keys():
    stats_obj = MultilabelStats(
        2, classes_for_class_based_metrics=(1,), label_vocabulary=("red", "blue")
    )
    keys = stats_obj.metric_keys()
    assert "probability_mean/blue" in keys and "auc/blue" in keys
    assert "auc_precision_recall/blue/error_bound" in keys


@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize("classes", [(0, 3), (0, 1, 2, 3)])
def test_pooled_and_per_class_metrics_match_references(classes, exact, reference):
    rng = np.random.default_rng(5)
    logits, labels, weights = _data(rng, 100_000, 4)
    stats_obj = MultilabelStats(
        4,
        thresholds=(0.3, 0.7),
        classes_for_class_based_metrics=classes,
        max_exact_scores=2**20 if exact else 0,
    )
    batch = {"logits": logits, "labels": labels, "weights": weights}
    metrics = stats_obj.compute(stats_obj.update(None, batch))
    cell_weights = np.repeat(weights, 4)
    flat_logits, flat_labels = logits.ravel(), labels.ravel()
    loss = np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))
    assert metrics["average_loss"] == pytest.approx(
        np.sum(weights * loss.mean(axis=1)) / weights.sum(), rel=1e-12
    )
    reference.check_curves(metrics, "", flat_logits, flat_labels, cell_weights, exact)
    probabilities = 1 / (1 + np.exp(-logits))
    for threshold in (0.3, 0.7):
        predicted = (probabilities.ravel() > threshold).astype(np.float64)
        suffix = f"positive_threshold_{threshold:g}"
        assert metrics[f"accuracy/{suffix}"] == pytest.approx(
            np.sum(cell_weights * (predicted == flat_labels)) / cell_weights.sum(), rel=1e-14
        )
        assert metrics[f"precision/{suffix}"] == pytest.approx(
            precision_score(flat_labels, predicted, sample_weight=cell_weights), rel=1e-14
        )
        assert metrics[f"recall/{suffix}"] == pytest.approx(
            recall_score(flat_labels, predicted, sample_weight=cell_weights), rel=1e-14
        )
    for class_id in classes:
        column_logits, column_labels = logits[:, class_id], labels[:, class_id]
        assert metrics[f"probability_mean/class{class_id}"] == pytest.approx(
            np.average(probabilities[:, class_id], weights=weights), rel=1e-13
        )
        reference.check_curves(
            metrics, f"/class{class_id}", column_logits, column_labels, weights, exact
        )


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.int64])
def test_integer_and_bool_labels_give_the_float_labels_statistics(dtype):
    rng = np.random.default_rng(8)
    logits, labels, weights = _data(rng, 3_000, 5)
    stats_obj = MultilabelStats(
        5, thresholds=(0.4,), classes_for_class_based_metrics=(1, 4), num_buckets=256
    )
    want = stats_obj.compute(stats_obj.update(None, {"logits": logits, "labels": labels}))
    hard = labels.astype(dtype)
    got = stats_obj.compute(stats_obj.update(None, {"logits": logits, "labels": hard}))
    assert got == want


@pytest.mark.parametrize("weighted", [False, True])
def test_rows_wider_than_a_chunk_give_exact_class_means(weighted):
    # 40,000 classes: each chunk of the update is a single row (the one-row path).
    rng = np.random.default_rng(9)
    logits, labels, weights = _data(rng, 3, 40_000)
    logits = logits.astype(np.float32)
    stats_obj = MultilabelStats(
        40_000, classes_for_class_based_metrics=range(40_000), curve_classes=()
    )
    batch = {"logits": logits, "labels": labels.astype(bool)}
    if weighted:
        batch["weights"] = weights
    metrics = stats_obj.compute(stats_obj.update(None, batch))
    probabilities = 1 / (1 + np.exp(-logits.astype(np.float64)))
    means = np.average(probabilities, axis=0, weights=weights if weighted else None)
    got = [metrics[f"probability_mean/class{c}"] for c in (0, 17, 39_999)]
    assert got == pytest.approx(means[[0, 17, 39_999]], rel=1e-6)  # float32 sigmoid


def test_pooled_histogram_is_derived_when_every_class_is_selected():
    rng = np.random.default_rng(6)
    logits, labels, weights = _data(rng, 500, 3)
    batch = {"logits": logits, "labels": labels, "weights": weights}
    derived = MultilabelStats(3, classes_for_class_based_metrics=(0, 1, 2), num_buckets=512)
    stored = MultilabelStats(
        3, classes_for_class_based_metrics=(0, 1, 2), num_buckets=512, class_num_buckets=256
    )
    none = MultilabelStats(3, num_buckets=512)
    derived_stats = derived.update(None, batch)
    assert "histogram" not in derived_stats
    assert derived_stats["class_histograms"].shape == (3, 2, 512)
    assert stored.update(None, batch)["class_histograms"].shape == (3, 2, 256)
    got, want = derived.compute(derived_stats), none.compute(none.update(None, batch))
    for key in ("auc", "auc_precision_recall", "average_precision", "auc/error_bound"):
        assert got[key] == pytest.approx(want[key], rel=1e-12)


def test_unreduced_loss_layout_and_soft_labels():
    stats_obj = MultilabelStats(2, thresholds=(0.5,))
    batch = {
        "logits": np.array([[[2.0, -2.0]], [[2.0, 2.0]]]),  # [2, 1, 2]
        "labels": np.array([[[0.5, 0.0]], [[1.0, 1.0]]]),
        "weights": np.array([[1.0], [3.0]]),
        "unreduced_loss": np.array([[1.0], [2.0]]),
    }
    metrics = stats_obj.compute(stats_obj.update(None, batch))
    assert metrics["average_loss"] == (1.0 + 6.0) / 4
    assert metrics["precision/positive_threshold_0.5"] == 1.0  # 0.5 counts as positive
    assert metrics["accuracy/positive_threshold_0.5"] == (0 + 1 + 3 + 3) / 8  # but never matches


def test_batch_and_constructor_validation():
    stats_obj = MultilabelStats(3)
    with pytest.raises(ValueError, match="Invalid `labels`: expected shape \\(2, 3\\)"):
        stats_obj.update(None, {"logits": np.zeros((2, 3)), "labels": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="Invalid `labels`: expected values in"):
        stats_obj.update(None, {"logits": np.zeros((1, 3)), "labels": np.array([[0, 2, 1]])})
    with pytest.raises(ValueError, match="Invalid `n_classes`"):
        MultilabelStats(1)
    with pytest.raises(ValueError, match="Invalid `classes_for_class_based_metrics`"):
        MultilabelStats(3, classes_for_class_based_metrics=(3,))
    with pytest.raises(ValueError, match="Invalid `label_vocabulary`"):
        MultilabelStats(3, label_vocabulary=("a", "b"))
    with pytest.raises(ValueError, match="Invalid `class_num_buckets`"):
        MultilabelStats(3, class_num_buckets=1)


def test_curve_classes_keep_curves_for_some_classes_and_means_for_all():
    rng = np.random.default_rng(8)
    batch = {
        "logits": rng.normal(size=(40, 4)),
        "labels": (rng.random((40, 4)) < 0.4).astype(float),
    }
    every = MultilabelStats(4, classes_for_class_based_metrics=(0, 1, 2, 3), num_buckets=256)
    some = MultilabelStats(
        4, classes_for_class_based_metrics=(0, 1, 2, 3), num_buckets=256, curve_classes=(2,)
    )
    expected = every.compute(every.update(None, batch))
    stats = some.update(None, batch)
    assert stats["class_histograms"].shape == (1, 2, 256)
    found = some.compute(stats)
    # Only class 2's curve keys go; every class keeps its probability mean, exactly.
    dropped = {k for k in expected if "/class" in k and "probability_mean" not in k}
    assert set(expected) - set(found) == {k for k in dropped if "/class2" not in k}
    for key, value in found.items():
        assert value == expected[key], key
    assert [c.class_id for c in some.curve_histograms(stats)] == [None, 2]
    with pytest.raises(ValueError, match="curve_classes"):
        MultilabelStats(4, classes_for_class_based_metrics=(0,), curve_classes=(1,))


def test_every_class_in_another_order_keys_each_class_by_its_own_values():
    rng = np.random.default_rng(9)
    batch = {"logits": rng.normal(size=(30, 3)), "labels": rng.random((30, 3)) < 0.5}
    ordered = MultilabelStats(3, classes_for_class_based_metrics=(0, 1, 2), num_buckets=256)
    shuffled = MultilabelStats(3, classes_for_class_based_metrics=(2, 0, 1), num_buckets=256)
    expected = ordered.compute(ordered.update(None, batch))
    found = shuffled.compute(shuffled.update(None, batch))
    assert [key for key in found if key.startswith("auc/class") and "error" not in key] == [
        "auc/class2",
        "auc/class0",
        "auc/class1",
    ]
    assert found == pytest.approx(expected, rel=1e-12)
    means = (1 / (1 + np.exp(-batch["logits"]))).mean(axis=0)
    assert [found[f"probability_mean/class{c}"] for c in range(3)] == pytest.approx(means)


def test_a_head_of_many_classes_selecting_none_gets_no_per_class_curves():
    from heads.description import describe
    from heads.multi_label_head import MultiLabelHead
    from heads.stats import stats_for_head
    from heads.stats.multilabel_stats import MAX_DEFAULT_CLASS_CURVES

    many = stats_for_head(describe(MultiLabelHead(n_classes=MAX_DEFAULT_CLASS_CURVES + 1)))
    assert many.curve_classes == () and len(many.classes) == MAX_DEFAULT_CLASS_CURVES + 1
    assert many.create()["class_histograms"].nbytes == 0
    chosen = describe(MultiLabelHead(n_classes=5000, classes_for_class_based_metrics=[7]))
    assert stats_for_head(chosen).curve_classes == (7,)
    few = stats_for_head(describe(MultiLabelHead(n_classes=MAX_DEFAULT_CLASS_CURVES)))
    assert len(few.curve_classes) == MAX_DEFAULT_CLASS_CURVES
