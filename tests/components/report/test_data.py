"""Loading an evaluation for the report (on a real evaluation, see conftest)."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from components.report import data


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
    # fewer than evaluator.constants.MAX_CLASS_CURVES).
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


def test_unnamed_head_and_missing_files(tmp_path):
    metrics = {"auc": 0.8, "auc/error_bound": 0.001, "accuracy": 0.7, "weighted_example_count": 3.0}
    assert data.head_names(metrics) == [""]
    split = data.split_metrics("", {"metrics": metrics})
    assert split.kind == "binary" and split.error_bounds == {"auc": 0.001}
    with pytest.raises(FileNotFoundError, match="metrics.json"):
        data.load_evaluation(str(tmp_path))
    document = {
        "slices": [
            {"slice": {}, "example_count": 3, "weighted_example_count": 3.0, "metrics": metrics}
        ],
        "rejected": {"count": 0, "reasons": {}},
    }
    (tmp_path / "metrics.json").write_text(json.dumps(document))
    loaded = data.load_evaluation(str(tmp_path))
    assert loaded.curves == [] and loaded.plots_error and loaded.blessing is None
    assert math.isclose(loaded.head_metrics("").scalars["auc"], 0.8)


def test_class_names_from_the_stored_head_config(evaluation, tmp_path):
    import heads
    from components.evaluator.constants import HEAD_CONFIG_FILE
    from heads.export import HEAD_CONFIG_PATH

    # The evaluator's own head_config.json names the classes.
    assert data.head_vocabularies(evaluation.dir) == {
        "cls": ("a", "b", "c", "d"),
        "tags": ("x", "y", "z"),
    }
    # Without it (results of an older version), the model's stored head config does.
    copy = tmp_path / "evaluation"
    shutil.copytree(evaluation.dir, copy)
    (copy / HEAD_CONFIG_FILE).unlink()
    assert data.head_vocabularies(str(copy)) is None  # Logits features: no model.
    model = tmp_path / "model"
    (model / HEAD_CONFIG_PATH).parent.mkdir(parents=True)
    head = heads.MultiLabelHead(
        n_classes=3,
        label_vocabulary=["X", "Y", "Z"],
        classes_for_class_based_metrics=["X", "Z"],
        name="tags",
    )
    stored = {"head": heads.serialize(head), "label_keys": "y_tags"}
    (model / HEAD_CONFIG_PATH).write_text(json.dumps(stored))
    config = json.loads((copy / "eval_config.json").read_text())
    config["modelLocations"] = {"": str(model)}
    (copy / "eval_config.json").write_text(json.dumps(config))
    assert data.head_vocabularies(str(copy)) == {"tags": ("X", "Y", "Z")}
    curves = data.load_evaluation(str(copy)).curves
    names = {c.class_id: c.class_name for c in curves if c.head == "tags"}
    assert names == {None: None, 0: "X", 2: "Z"}


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
    ],
)
def test_a_malformed_metrics_json_is_named_with_what_is_wrong(tmp_path, text, message):
    (tmp_path / "metrics.json").write_text(text)
    with pytest.raises(ValueError, match=f"Invalid {tmp_path / 'metrics.json'}: {message}"):
        data.load_evaluation(str(tmp_path))
