"""Loading an evaluation for the report (on a real evaluation, see conftest)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tfx_heads.components.report import data


def test_heads_and_kinds(evaluation):
    loaded = data.load_evaluation(evaluation.dir)
    assert loaded.heads == ["bin", "cls", "tags"]
    kinds = [loaded.head_metrics(head).kind for head in loaded.heads]
    assert kinds == ["binary", "multi_class", "multi_label"]


def test_split_metrics_covers_every_key(evaluation):
    loaded = data.load_evaluation(evaluation.dir)
    overall = evaluation.document["slices"][0]
    tags = loaded.head_metrics("tags")
    assert set(tags.classes) == {"x", "z"}
    assert tags.classes["x"]["auc"] == overall["metrics"]["auc/x/tags"]
    assert tags.error_bounds["auc/x"] == overall["metrics"]["auc/x/error_bound/tags"]
    assert (
        tags.thresholds[0.5]["precision"]
        == overall["metrics"]["precision/positive_threshold_0.5/tags"]
    )
    binary = loaded.head_metrics("bin")
    assert binary.error_bounds["auc"] == overall["metrics"]["auc/error_bound/bin"]
    assert sorted(binary.thresholds) == [0.3, 0.7]
    lower, upper = binary.intervals["auc"]
    assert lower <= overall["metrics"]["auc/bin"] <= upper
    counted = sum(
        len(m.scalars)
        + len(m.error_bounds)
        + sum(len(v) for v in m.thresholds.values())
        + sum(len(v) for v in m.classes.values())
        for m in (loaded.head_metrics(h) for h in loaded.heads)
    )
    # Every key belongs to one head, except the MultiHead's own example count.
    assert counted == len(overall["metrics"]) - 1


def test_curves_from_tfma_plots(evaluation):
    loaded = data.load_evaluation(evaluation.dir)
    found = {(c.head, c.class_id, c.class_name) for c in loaded.curves}
    # The multi-label head's selected classes; every class of the multi-class head (it has
    # fewer than evaluator.constants.MAX_PLOTTED_CLASS_CURVES).
    assert found == {
        ("bin", None, None),
        ("cls", 0, "a"),
        ("cls", 1, "b"),
        ("cls", 2, "c"),
        ("cls", 3, "d"),
        ("tags", None, None),
        ("tags", 0, "x"),
        ("tags", 2, "z"),
    }
    curve = next(c for c in loaded.curves if c.head == "bin")
    assert np.all(np.diff(curve.thresholds) >= 0)
    fpr, tpr = curve.roc()
    assert (fpr[0], tpr[0]) == (1.0, 1.0) and fpr[-1] == pytest.approx(0.0)
    overall = evaluation.document["slices"][0]
    assert curve.bucket_weight.sum() == pytest.approx(
        overall["metrics"]["weighted_example_count/bin"]
    )
    predicted, observed, weight = curve.calibration()
    assert len(weight) <= data.CALIBRATION_BUCKETS
    assert weight.sum() == pytest.approx(curve.bucket_weight.sum())
    assert np.all((predicted >= 0) & (predicted <= 1) & (observed >= 0) & (observed <= 1))
    # At the head's threshold the curve's counts give the head's exact recall.
    counts = curve.confusion_at(0.3)
    assert counts["threshold"] == pytest.approx(0.3, abs=0.01)
    recall = counts["tp"] / (counts["tp"] + counts["fn"])
    assert recall == pytest.approx(
        overall["metrics"]["recall/positive_threshold_0.3/bin"], abs=0.02
    )


def test_blessing_and_baseline(evaluation):
    loaded = data.load_evaluation(evaluation.dir)
    assert loaded.blessing["blessed"] is False
    assert loaded.baseline is not None and loaded.baseline.baseline is None
    assert loaded.baseline.overall["metrics"] == evaluation.baseline["slices"][0]["metrics"]
    assert loaded.baseline.curves


def _document(head, metrics):
    """A one-slice metrics.json of `head` (a heads.Head) as the evaluator writes it."""
    import heads
    from tfx_heads.components.evaluator.batches import ExampleCounts
    from tfx_heads.components.evaluator.combine import SliceResult
    from tfx_heads.components.evaluator.slicing import slice_specs
    from tfx_heads.components.evaluator.writers import metrics_json

    result = SliceResult(metrics, None, [])
    counts = ExampleCounts(3, 3, {})
    return metrics_json([((), result)], counts, slice_specs([]), heads.describe(head))


def test_unnamed_head_and_missing_files(tmp_path):
    import heads

    metrics = {"auc": 0.8, "auc/error_bound": 0.001, "accuracy": 0.7, "weighted_example_count": 3.0}
    with pytest.raises(FileNotFoundError, match="metrics.json"):
        data.load_evaluation(str(tmp_path))
    document = _document(heads.BinaryClassHead(), metrics)
    (tmp_path / "metrics.json").write_text(json.dumps(document))
    loaded = data.load_evaluation(str(tmp_path))
    assert loaded.heads == [""]
    split = loaded.head_metrics("")
    assert split.kind == "binary" and split.error_bounds == {"auc": 0.001}
    # TFMA reads metrics.json as one of its own (TFRecord) metrics files: unreadable.
    assert loaded.curves == [] and loaded.blessing is None
    assert loaded.plots_error.startswith("DataLossError: ")
    assert math.isclose(loaded.head_metrics("").scalars["auc"], 0.8)


def test_a_bug_in_the_curves_raises_instead_of_becoming_a_note(evaluation, monkeypatch):
    """Only unreadable plots files become a note in the report; a bug must fail loudly."""

    def broken_curve(head, class_id, plot):
        raise TypeError("a bug in the curve parsing")

    monkeypatch.setattr(data, "_curve", broken_curve)
    with pytest.raises(TypeError, match="a bug in the curve parsing"):
        data.load_evaluation(evaluation.dir)


def test_head_and_class_names_with_slashes(tmp_path):
    """Names are read from the structured entries, so a `/` in them cannot mislead."""
    import heads
    from heads.stats import stats_for_head

    head = heads.MultiHead(
        [
            heads.MultiLabelHead(
                3, label_vocabulary=["a/b", "c", "d/e/f"], thresholds=[0.7, 0.5], name="tags/v2"
            ),
            heads.RegressionHead(name="error_bound"),
        ]
    )
    stats_obj = stats_for_head(heads.describe(head))
    rng = np.random.default_rng(0)
    batch = {
        "tags/v2": {"logits": rng.normal(size=(40, 3)), "labels": rng.integers(0, 2, (40, 3))},
        "error_bound": {"logits": rng.normal(size=(40, 1)), "labels": rng.normal(size=(40, 1))},
    }
    metrics = stats_obj.compute(stats_obj.update(None, batch))
    (tmp_path / "metrics.json").write_text(json.dumps(_document(head, metrics)))
    loaded = data.load_evaluation(str(tmp_path))
    assert loaded.heads == ["tags/v2", "error_bound"]
    tags = loaded.head_metrics("tags/v2")
    assert tags.kind == "multi_label" and list(tags.classes) == ["a/b", "c", "d/e/f"]
    assert tags.classes["d/e/f"]["auc"] == metrics["auc/d/e/f/tags/v2"]
    assert tags.error_bounds["auc/a/b"] == metrics["auc/a/b/error_bound/tags/v2"]
    assert tags.thresholds[0.5]["recall"] == metrics["recall/positive_threshold_0.5/tags/v2"]
    assert list(tags.thresholds) == [0.5, 0.7]  # Ascending, whatever the head's order.
    assert tags.scalars["auc"] == metrics["auc/tags/v2"]
    regression = loaded.head_metrics("error_bound")
    assert regression.kind == "regression" and regression.error_bounds == {}
    assert regression.scalars["label/mean"] == metrics["label/mean/error_bound"]
    assert regression.scalars["loss"] == metrics["loss/error_bound"]
    counted = sum(
        len(m.scalars)
        + len(m.error_bounds)
        + sum(len(v) for v in m.thresholds.values())
        + sum(len(v) for v in m.classes.values())
        for m in (tags, regression)
    )
    assert counted == len(metrics) - 1  # All but the MultiHead's own example count.


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", r"expected JSON; Expecting property name"),
        ("[]", r"expected an object with a `slices` list"),
        ('{"slices": []}', r"expected at least the overall slice"),
        (
            '{"slices": [{"slice": {}, "metrics": {}}]}',
            r"expected slices\[0\]\.example_count as a JSON number; received None",
        ),
        (
            '{"slices": [{"slice": {}, "example_count": 1, "metrics": 3}]}',
            r"expected slices\[0\]\.metrics as a JSON object; received 3",
        ),
        (
            '{"slices": [{"slice": {}, "example_count": 1, "metrics": {}}]}',
            r"expected slices\[0\]\.heads as a JSON array; received None. \(metrics.json of "
            r"a version before per-head metrics: evaluate again\)",
        ),
        (
            '{"slices": [{"slice": {}, "example_count": 1, "metrics": {}, "heads": [{}]}]}',
            r"expected slices\[0\]\.heads\[0\]\.name as a JSON string or null; received None",
        ),
        (
            '{"slices": [{"slice": {}, "example_count": 1, "metrics": {}, '
            '"heads": [{"name": "h", "kind": "binary", "metrics": {}, "thresholds": 2}]}]}',
            r"expected slices\[0\]\.heads\[0\]\.thresholds as a JSON array; received 2",
        ),
    ],
)
def test_a_malformed_metrics_json_is_named_with_what_is_wrong(tmp_path, text, message):
    (tmp_path / "metrics.json").write_text(text)
    with pytest.raises(ValueError, match=f"Invalid {tmp_path / 'metrics.json'}: {message}"):
        data.load_evaluation(str(tmp_path))
