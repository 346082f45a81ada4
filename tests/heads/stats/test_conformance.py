"""The statistics layer reproduces the original heads' metric values (vectors.json).

Every value case of the reference vectors is replayed batch by batch through the stats
object that `stats_for_head` builds from the head's description (made here from the vector's
head JSON, without TensorFlow; `tests/heads/test_description.py` checks `heads.describe`
gives the same for the real heads), with the labels processed the way
the head processes them (vocabulary lookup, sparse ids to multi-hot) and a registry
`loss_fn` computed here in NumPy. Compared: every key of `head.metrics()` except
`regularization_loss` (not a data statistic) and the curve keys (the original used Keras'
200-threshold approximation; exactness of ours is tested in test_curve.py), which must
still be present. `loss/<head>` is compared where the original's mean of per-batch losses
equals the whole-data loss (equal batch sizes, `sum_over_batch_size`).
"""

import math

import numpy as np
import pytest

from heads.description import HeadDescription
from heads.stats import stats_for_head


def _floats(value):
    if isinstance(value, list):
        return [_floats(item) for item in value]
    if isinstance(value, str):
        return float(value)
    return value


def description(head_json, kinds):
    """The `HeadDescription` of a vector's head JSON (what `heads.describe` returns)."""
    class_name, config = head_json["class_name"], head_json["config"]
    if class_name == "MultiHead":
        sub_heads = tuple(description(h, kinds) for h in config["heads"])
        return HeadDescription(
            kind="multi_head",
            head_type=class_name,
            name="_".join(h.name for h in sub_heads),
            logits_dimension=sum(h.logits_dimension for h in sub_heads),
            label_dimension=None,
            sub_heads=sub_heads,
            head_weights=None if not config.get("head_weights") else tuple(config["head_weights"]),
        )
    kind, loss, link = kinds[class_name]
    if class_name == "PoissonRegressionHead" and not config.get("compute_full_loss", True):
        loss = "log_poisson"
    if config.get("loss_fn"):
        loss = "custom"
    vocabulary = config.get("label_vocabulary")
    classes = config.get("classes_for_class_based_metrics") or ()
    if classes and isinstance(classes[0], str):
        classes = [vocabulary.index(value) for value in classes]
    n_classes = 2 if kind == "binary" else config.get("n_classes")
    label_dimension = config.get("label_dimension", 1)
    weight_column = config.get("weight_column")
    if isinstance(weight_column, dict):
        weight_column = weight_column["config"]["key"]
    return HeadDescription(
        kind=kind,
        head_type=class_name,
        name=config.get("name"),
        logits_dimension={"binary": 1, "regression": label_dimension}.get(kind, n_classes),
        label_dimension={"multi_label": None, "regression": label_dimension}.get(kind, 1),
        n_classes=None if kind == "regression" else n_classes,
        label_vocabulary=None if vocabulary is None else tuple(vocabulary),
        thresholds=tuple(config.get("thresholds") or ())
        if kind in ("binary", "multi_label")
        else (),
        classes_for_class_based_metrics=tuple(classes),
        weight_key=weight_column,
        loss=loss,
        link=link,
    )


def _logits_dimension(head_json):
    config = head_json["config"]
    if head_json["class_name"] in ("MultiClassHead", "MultiLabelHead"):
        return config["n_classes"]
    if head_json["class_name"] in ("RegressionHead", "PoissonRegressionHead"):
        return config.get("label_dimension", 1)
    return 1


def _labels(head_json, labels_json, leading_shape):
    config = head_json["config"]
    vocabulary = config.get("label_vocabulary")
    if "sparse" in labels_json:
        sparse = labels_json["sparse"]
        dense = np.zeros(tuple(leading_shape) + (config["n_classes"],))
        for index, value in zip(sparse["indices"], sparse["values"], strict=True):
            column = vocabulary.index(value) if isinstance(value, str) else value
            dense[tuple(index[:-1]) + (column,)] = 1.0
        return dense
    dense = np.array(labels_json["dense"], dtype=object)
    if dense.size and isinstance(dense.flat[0], str):
        dense = np.vectorize(vocabulary.index, otypes=[np.int64])(dense)
    if head_json["class_name"] == "MultiClassHead":
        return dense.astype(np.int64)
    return dense.astype(np.float64)


def _sigmoid_ce(labels, logits):
    return np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))


def _registry_loss(name, labels, logits, features):
    if name == "squared_error":
        return np.mean((labels - logits) ** 2, axis=-1, keepdims=True)
    if name == "scaled_sigmoid_ce":
        scale = np.asarray(features["scale"], dtype=np.float64)
        return scale * np.mean(_sigmoid_ce(labels, logits), axis=-1, keepdims=True)
    if name == "sparse_softmax_ce_plus_one":
        shifted = logits - logits.max(axis=-1, keepdims=True)
        log_softmax = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        return 1.0 - np.take_along_axis(log_softmax, labels.reshape(logits.shape[:-1] + (1,)), -1)
    raise KeyError(name)


def _single_batch(head_json, logits, labels_json, features):
    config = head_json["config"]
    logits = np.asarray(_floats(logits), dtype=np.float32)
    labels = _labels(head_json, labels_json, logits.shape[:-1])
    batch = {"logits": logits, "labels": labels}
    if config.get("weight_column"):
        batch["weights"] = np.asarray(features[config["weight_column"]], dtype=np.float64)
    loss_fn = config.get("loss_fn")
    if loss_fn:
        name = loss_fn.split(":", 1)[1]
        batch["unreduced_loss"] = _registry_loss(name, labels, logits.astype(np.float64), features)
    return batch


def _batch(head_json, batch_json):
    if head_json["class_name"] != "MultiHead":
        return _single_batch(
            head_json, batch_json["logits"], batch_json["labels"], batch_json["features"]
        )
    sub_heads = head_json["config"]["heads"]
    logits = batch_json["logits"]
    if not isinstance(logits, dict):
        stacked = np.asarray(_floats(logits))
        splits = np.cumsum([_logits_dimension(h) for h in sub_heads])[:-1]
        parts = np.split(stacked, splits, axis=-1)
        logits = {h["config"]["name"]: part for h, part in zip(sub_heads, parts, strict=True)}
    return {
        h["config"]["name"]: _single_batch(
            h,
            logits[h["config"]["name"]],
            batch_json["labels"][h["config"]["name"]],
            batch_json["features"],
        )
        for h in sub_heads
    }


def _comparable(key, case):
    if "regularization_loss" in key or "auc" in key:
        return False
    if key.startswith("loss/"):
        sizes = {
            len(next(iter(batch["logits"].values())))
            if isinstance(batch["logits"], dict)
            else len(batch["logits"])
            for batch in case["batches"]
        }
        reductions = {
            h["config"].get("loss_reduction", "sum_over_batch_size")
            for h in case["head"]["config"]["heads"]
        }
        return len(sizes) == 1 and reductions <= {"sum_over_batch_size", "auto"}
    return True


def test_replays_every_value_case(reference_vectors, built_in_head_kinds):
    tolerance = reference_vectors["tolerance"]
    checked = 0
    for case in reference_vectors["cases"]:
        if case["kind"] != "value":
            continue
        stats_obj = stats_for_head(description(case["head"], built_in_head_kinds), num_buckets=1024)
        stats = None
        for batch_json in case["batches"]:
            stats = stats_obj.update(stats, _batch(case["head"], batch_json))
        got = stats_obj.compute(stats)
        expected = {
            key: float(value) if isinstance(value, str) else value
            for key, value in case["expected"]["metrics"].items()
        }
        for key, want in expected.items():
            if "regularization_loss" in key:
                continue
            assert key in got, (case["id"], key)
            if not _comparable(key, case):
                continue
            if math.isnan(want) or math.isinf(want):
                assert got[key] == want or math.isnan(got[key]) and math.isnan(want), (
                    case["id"],
                    key,
                    got[key],
                )
                continue
            allowed = tolerance["atol"] + tolerance["rtol"] * abs(want)
            assert abs(got[key] - want) <= allowed, (case["id"], key, got[key], want)
            checked += 1
    assert checked > 1000


def _keras_auc_200(probabilities, labels, weights, curve):
    """Keras `AUC(num_thresholds=200)` on bool labels, written out in NumPy."""
    thresholds = np.array([-1e-7, *[(i + 1) / 199 for i in range(198)], 1 + 1e-7], np.float32)
    predicted = probabilities[None, :] > thresholds[:, None]
    positive, negative = labels != 0, labels == 0
    tp = (predicted * (positive * weights)).sum(axis=1)
    fp = (predicted * (negative * weights)).sum(axis=1)
    fn, tn = (positive * weights).sum() - tp, (negative * weights).sum() - fp

    def ratio(numerator, denominator):
        safe = np.where(denominator > 0, denominator, 1)
        return np.where(denominator > 0, numerator / safe, 0.0)

    if curve == "ROC":
        tpr, fpr = ratio(tp, tp + fn), ratio(fp, fp + tn)
        return float(np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2))
    d_tp = tp[:-1] - tp[1:]
    predicted_total = tp + fp
    slope = ratio(d_tp, predicted_total[:-1] - predicted_total[1:])
    intercept = tp[1:] - slope * predicted_total[1:]
    both = (predicted_total[:-1] > 0) & (predicted_total[1:] > 0)
    p_ratio = np.where(both, ratio(predicted_total[:-1], predicted_total[1:]), 1.0)
    return float(np.sum(ratio(slope * (d_tp + intercept * np.log(p_ratio)), tp[1:] + fn[1:])))


def _curve_inputs(case):
    """Per-cell float32 probabilities, labels and weights of a binary or multi-label case."""
    parts = []
    for batch_json in case["batches"]:
        batch = _batch(case["head"], batch_json)
        logits = np.asarray(batch["logits"], np.float32)
        labels = np.asarray(batch["labels"], np.float64).reshape(logits.shape)
        weights = batch.get("weights")
        weights = np.ones(logits.shape[:-1]) if weights is None else weights
        weights = np.broadcast_to(np.reshape(weights, logits.shape[:-1])[..., None], logits.shape)
        parts.append((logits.ravel(), labels.ravel(), weights.ravel()))
    return [np.concatenate(column) for column in zip(*parts, strict=True)]


def test_curve_semantics_reproduce_keras_values(reference_vectors, reference, built_in_head_kinds):
    """Our label and weight semantics give the original values under Keras' binning, and
    our exact values agree with sort-based references on the same inputs."""
    checked = 0
    for case in reference_vectors["cases"]:
        head = case["head"]
        if case["kind"] != "value" or head["class_name"] not in (
            "BinaryClassHead",
            "MultiLabelHead",
        ):
            continue
        logits, labels, weights = _curve_inputs(case)
        probabilities = (1 / (1 + np.exp(-logits))).astype(np.float32)
        stats_obj = stats_for_head(description(head, built_in_head_kinds))
        stats = None
        for batch_json in case["batches"]:
            stats = stats_obj.update(stats, _batch(head, batch_json))
        got = stats_obj.compute(stats)
        name = head["config"].get("name")
        hard = (labels != 0).astype(np.float64)
        for base, curve, exact in (
            ("auc", "ROC", reference.pairwise_roc_auc),
            ("auc_precision_recall", "PR", reference.keras_pr_auc),
        ):
            key = f"{base}/{name}" if name else base
            want = case["expected"]["metrics"][key]
            if isinstance(want, str):
                continue
            keras = _keras_auc_200(probabilities, labels, weights, curve)
            assert keras == pytest.approx(want, abs=1e-5), (case["id"], key)
            finite = np.isfinite(logits)
            if finite.all() and hard.min() != hard.max():
                bound = got[key.replace(base, f"{base}/error_bound", 1)]
                assert abs(got[key] - exact(logits, hard, weights)) <= bound + 1e-9
            checked += 1
    assert checked > 200
