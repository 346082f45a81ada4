"""Full evaluations against independent references: scikit-learn for AUC and average
precision, exact NumPy for threshold metrics, means, losses and counts."""

import gc
import json
import os
import re

import numpy as np
import pytest
import scipy.special
import tensorflow as tf
from sklearn.metrics import average_precision_score, roc_auc_score

import heads
from heads.export import load_head_config, read_head_config
from tfx_heads.components.evaluator import constants, runner
from tfx_heads.components.evaluator.options import EvaluationOptions

# ---------------------------------------------------------------------------- references


def _sigmoid64(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def _sigmoid32(x):
    x = np.asarray(x, np.float32)
    with np.errstate(over="ignore"):
        return np.float32(1) / (np.float32(1) + np.exp(-x))


def _bce(y, x):
    x = np.asarray(x, np.float64)
    return np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))


def _mean(values, weights):
    return float(np.sum(weights * values) / np.sum(weights))


def keras_pr_auc(y, score, w):
    """Keras' interpolated PR AUC with one threshold per distinct score."""
    order = np.argsort(-score, kind="stable")
    s, y, w = score[order], y[order], w[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]
    tp = np.r_[0.0, np.cumsum(y * w)[last]]
    fp = np.r_[0.0, np.cumsum((1 - y) * w)[last]]
    p = tp + fp
    dtp, dp = np.diff(tp), np.diff(p)
    slope = np.divide(dtp, dp, out=np.zeros_like(dtp), where=dp > 0)
    intercept = tp[:-1] - slope * p[:-1]
    ratio = np.where((p[:-1] > 0) & (p[1:] > 0), p[1:] / np.where(p[:-1] > 0, p[:-1], 1), 1.0)
    return float(np.sum(slope * (dtp + intercept * np.log(ratio))) / tp[-1])


def _curve(prefix, y, logits, w, suffix):
    """auc, auc_precision_recall and average_precision keys (score ranked by logit).

    Without positives every value is 0, without negatives the ROC AUC is 0 and the others
    1: Keras' divide-no-NaN values, which scikit-learn leaves undefined."""
    keys = [f"{metric}{prefix}{suffix}" for metric in _CURVE_METRICS]
    if not np.any(y):
        return dict.fromkeys(keys, 0.0)
    if np.all(y):
        return dict(zip(keys, (0.0, 1.0, 1.0), strict=True))
    return {
        f"auc{prefix}{suffix}": roc_auc_score(y, logits, sample_weight=w),
        f"auc_precision_recall{prefix}{suffix}": keras_pr_auc(y, logits, w),
        f"average_precision{prefix}{suffix}": average_precision_score(y, logits, sample_weight=w),
    }


_CURVE_METRICS = ("auc", "auc_precision_recall", "average_precision")


def _at_thresholds(y, p32, w, thresholds, suffix):
    result = {}
    for t in thresholds:
        pred = p32 > np.float32(t)
        tp = np.sum(w * (pred & (y == 1)))
        result[f"accuracy/positive_threshold_{t:g}{suffix}"] = np.sum(w * (pred == (y == 1))) / (
            np.sum(w) * (y.size // len(w))
        )
        result[f"precision/positive_threshold_{t:g}{suffix}"] = tp / np.sum(w * pred)
        result[f"recall/positive_threshold_{t:g}{suffix}"] = tp / np.sum(w * (y == 1))
    return result


def binary_reference(y, logits, w, thresholds, name=None):
    """Every key of a BinaryClassHead (plus the loss key of a MultiHead)."""
    s = f"/{name}" if name else ""
    logits = logits.reshape(-1)
    pred = logits > 0
    label_mean = _mean(y, w)
    result = {
        f"average_loss{s}": _mean(_bce(y, logits), w),
        f"accuracy{s}": _mean(pred == y, w),
        f"precision{s}": np.sum(w * (pred & (y == 1))) / np.sum(w * pred),
        f"recall{s}": np.sum(w * (pred & (y == 1))) / np.sum(w * y),
        f"prediction/mean{s}": _mean(_sigmoid64(logits), w),
        f"label/mean{s}": label_mean,
        f"accuracy_baseline{s}": max(label_mean, 1 - label_mean),
        f"example_count{s}": len(y),
        f"weighted_example_count{s}": np.sum(w),
        **_curve("", y, logits, w, s),
        **_at_thresholds(y, _sigmoid32(logits), w, thresholds, s),
    }
    if name:  # The MultiHead's loss/<head>.
        result[f"loss{s}"] = np.sum(w * _bce(y, logits)) / len(y)
    return result


def multiclass_reference(y, logits, w, names, name):
    """Every key of a MultiClassHead, plus the one-vs-rest keys of every class, ranked by the
    softmax probability: scikit-learn gets its float64 log-odds `x_c - logsumexp(x_others)`,
    which keep the order of probabilities that round to 1.0 in float64 (a barely trained
    model has logits in the hundreds)."""
    s = f"/{name}"
    x = logits.astype(np.float64)
    logsumexp = np.log(np.exp(x - x.max(1, keepdims=True)).sum(1)) + x.max(1)
    loss = logsumexp - x[np.arange(len(y)), y]
    probabilities = np.exp(x - logsumexp[:, None])
    result = {
        f"average_loss{s}": _mean(loss, w),
        f"accuracy{s}": _mean(np.argmax(x, 1) == y, w),
        f"example_count{s}": len(y),
        f"weighted_example_count{s}": np.sum(w),
        f"loss{s}": np.sum(w * loss) / len(y),
    }
    for c, label in enumerate(names):
        result[f"probability_mean/{label}{s}"] = _mean(probabilities[:, c], w)
        log_odds = x[:, c] - scipy.special.logsumexp(np.delete(x, c, axis=1), axis=1)
        result.update(_curve(f"/{label}", y == c, log_odds, w, s))
    return result


def multilabel_reference(y, logits, w, thresholds, classes, names, name):
    s = f"/{name}"
    n_classes = y.shape[1]
    loss = _bce(y, logits).mean(1)
    cell_w = np.repeat(w, n_classes)
    result = {
        f"average_loss{s}": _mean(loss, w),
        f"example_count{s}": len(y),
        f"weighted_example_count{s}": np.sum(w),
        f"loss{s}": np.sum(w * loss) / len(y),
        **_curve("", y.reshape(-1), logits.reshape(-1), cell_w, s),
        **_at_thresholds(y.reshape(-1), _sigmoid32(logits).reshape(-1), cell_w, thresholds, s),
    }
    for c in classes:
        label = names[c]
        result[f"probability_mean/{label}{s}"] = _mean(_sigmoid64(logits[:, c]), w)
        result.update(_curve(f"/{label}", y[:, c], logits[:, c], w, s))
    return result


def regression_reference(y, logits, w, name):
    s = f"/{name}"
    d = y.shape[1]
    err = (y.astype(np.float64) - logits) ** 2
    return {
        f"average_loss{s}": np.sum(w[:, None] * err) / (np.sum(w) * d),
        f"prediction/mean{s}": np.sum(w[:, None] * logits) / (np.sum(w) * d),
        f"label/mean{s}": np.sum(w[:, None] * y) / (np.sum(w) * d),
        f"example_count{s}": len(y),
        f"weighted_example_count{s}": np.sum(w),
        f"loss{s}": np.sum(w[:, None] * err) / (len(y) * d),
    }


def synthetic_reference(a, rows):
    """Every metric key of the synthetic MultiHead on the given rows."""
    ones = np.ones(int(rows.sum()), np.float64)
    w = a["w"][rows].astype(np.float64)
    result = {"example_count/bin_cls_tags_hot_ids_reg": int(rows.sum())}
    result.update(
        binary_reference(a["y_bin"][rows], a["logit_bin"][rows], w, (0.3, 0.5, 0.7), "bin")
    )
    result.update(multiclass_reference(a["y_cls"][rows], a["logit_cls"][rows], ones, "abcd", "cls"))
    result.update(
        multilabel_reference(
            a["y_tags"][rows], a["logit_tags"][rows], ones, (0.5,), (0, 2), "xyz", "tags"
        )
    )
    result.update(
        multilabel_reference(
            a["y_hot"][rows],
            a["logit_hot"][rows],
            w,
            (0.4,),
            (0, 1, 2),
            ["class0", "class1", "class2"],
            "hot",
        )  # fmt: skip
    )
    result.update(
        multilabel_reference(
            a["y_ids"][rows],
            a["logit_ids"][rows],
            ones,
            (),
            (0, 1, 2),
            ["class0", "class1", "class2"],
            "ids",
        )  # fmt: skip
    )
    result.update(regression_reference(a["y_reg"][rows], a["logit_reg"][rows], w, "reg"))
    return result


def assert_matches_reference(metrics, reference):
    """Every reported metric equals its reference. The data have far fewer distinct scores
    than the exact-curve budget, so AUC-like values are exact: error bound 0, and within
    1e-9 of scikit-learn's sort-based values."""
    bounds = {key: value for key, value in metrics.items() if "/error_bound" in key}
    assert all(value >= 0 for value in bounds.values())
    missing = sorted(set(metrics) - set(reference) - set(bounds))
    assert not missing, f"metrics without a reference: {missing}"
    for key, expected in reference.items():
        value = metrics[key]
        parts = key.split("/")
        if parts[0] in ("auc", "auc_precision_recall", "average_precision"):
            unnamed = f"{key}/error_bound"
            named = "/".join([*parts[:-1], "error_bound", parts[-1]])
            bound = metrics[unnamed] if unnamed in metrics else metrics[named]
            assert bound == 0.0, (key, bound)
            assert abs(value - expected) <= 1e-9, (key, value, expected)
        elif parts[0] in ("average_loss", "loss", "prediction", "probability_mean"):
            # Computed from float32 logits in float32, like the heads (about 1e-7 relative).
            np.testing.assert_allclose(value, expected, rtol=2e-6, err_msg=key)
        else:
            np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-12, err_msg=key)


def overall_plot(result, output_name, sub_key=""):
    """The overall slice's plot data of one head (and class) in a loaded EvalResult."""
    for slice_key, plots in result.plots:
        if slice_key == ():
            return plots[output_name][sub_key]
    raise AssertionError("no overall plots")


# ---------------------------------------------------------------------------------- tests


@pytest.mark.slow
def test_synthetic_multi_head_matches_references_overall(synthetic, synthetic_result):
    document, _ = synthetic_result
    overall = document["slices"][0]
    assert overall["slice"] == {}
    size = len(synthetic.arrays["y_bin"])
    assert overall["example_count"] == size
    assert overall["weighted_example_count"] == pytest.approx(synthetic.arrays["w"].sum())
    assert document["rejected"] == {"count": 0, "reasons": {}}
    reference = synthetic_reference(synthetic.arrays, np.ones(size, bool))
    assert_matches_reference(overall["metrics"], reference)


@pytest.mark.slow
def test_slices_crosses_and_multi_valued_features(synthetic, synthetic_result):
    document, _ = synthetic_result
    a = synthetic.arrays
    multi = a["multi"]
    expected_rows = {(): np.ones(len(a["y_bin"]), bool)}
    for g in ("g0", "g1", "g2"):
        expected_rows[(("group", g),)] = a["group"] == g
        for b in range(4):
            expected_rows[(("bucket", b),)] = a["bucket"] == b
            expected_rows[(("bucket", b), ("group", g))] = (a["group"] == g) & (a["bucket"] == b)
    for m in ("m1", "m2"):
        expected_rows[(("multi", m),)] = np.array([m in values for values in multi])
    found = [tuple(sorted(entry["slice"].items())) for entry in document["slices"]]
    assert found[0] == ()
    assert sorted(found, key=str) == sorted(expected_rows, key=str)
    # Overall, then the slicings in the order given, each by value.
    assert [len(k) for k in found] == sorted(len(k) for k in found)
    assert found[1:4] == [(("group", "g0"),), (("group", "g1"),), (("group", "g2"),)]
    for entry in document["slices"]:
        rows = expected_rows[tuple(sorted(entry["slice"].items()))]
        assert entry["example_count"] == rows.sum()
        reference = synthetic_reference(a, rows)
        assert_matches_reference(entry["metrics"], reference)


@pytest.mark.slow
def test_tfma_reads_every_metric_per_slice(synthetic_result):
    import tensorflow_model_analysis as tfma

    document, output = synthetic_result
    result = tfma.load_eval_result(output)
    assert len(result.slicing_metrics) == len(document["slices"])
    for entry in document["slices"]:
        slice_key = tuple(sorted(entry["slice"].items()))
        loaded = result.get_metrics_for_slice(slice_key)
        assert set(loaded) == set(entry["metrics"])
        for key, value in entry["metrics"].items():
            assert loaded[key]["doubleValue"] == pytest.approx(value, rel=1e-15, nan_ok=True)
    assert [s.feature_keys for s in result.config.slicing_specs] == [
        [],
        ["group"],
        ["bucket"],
        ["multi"],
        ["bucket", "group"],
    ]
    plots = overall_plot(result, "bin")
    matrices = plots["confusionMatrixAtThresholds"]["matrices"]
    assert 2 <= len(matrices) <= 1002
    thresholds = [m.get("threshold", 0.0) for m in matrices]
    assert thresholds == sorted(thresholds)
    assert "buckets" in plots["calibrationHistogramBuckets"]
    per_class = overall_plot(result, "tags", "classId:2")
    assert per_class["confusionMatrixAtThresholds"]["matrices"]
    tfma.view.render_slicing_metrics(result)
    tfma.view.render_slicing_metrics(result, slicing_column="group")
    validation = tfma.load_validation_result(output)
    assert validation.validation_ok


@pytest.mark.slow
def test_plots_are_exact_confusion_counts(synthetic, synthetic_result):
    import tensorflow_model_analysis as tfma

    _, output = synthetic_result
    a = synthetic.arrays
    result = tfma.load_eval_result(output)
    matrices = overall_plot(result, "bin")["confusionMatrixAtThresholds"]
    w, y, logits = a["w"].astype(np.float64), a["y_bin"], a["logit_bin"].astype(np.float64)
    for matrix in matrices["matrices"][1:-1:50]:
        threshold = matrix["threshold"]
        # Predicted positive: logits in buckets at or above the threshold's edge.
        edge = np.log(threshold / (1 - threshold))
        predicted = logits >= edge - 1e-5
        tp = np.sum(w * (predicted & (y == 1)))
        assert matrix.get("truePositives", 0.0) == pytest.approx(tp, abs=3.0 + 1e-9)


def test_malformed_examples_fail_with_file_and_record(tmp_path, helpers):
    good = {"y": 1, "logit": [0.5]}
    path = helpers.write_examples(tmp_path / "bad.tfrecord.gz", [good, good, {"logit": [0.1]}])
    with pytest.raises(Exception) as raised:
        runner.evaluate(
            str(tmp_path / "*.gz"),
            str(tmp_path / "out"),
            head=heads.BinaryClassHead(),
            logits_features="logit",
            label_keys="y",
        )
    message = str(raised.value)
    assert f"record 2 of {path}; missing_label)" in message
    assert "expected 1 value in label feature 'y' of the head; received no value" in message


def _malformed_rows():
    good = {"y_b": 1, "logit_b": [0.5], "y_c": "p", "logit_c": [1.0, 0.0, 0.0], "y_m": [0, 2]}
    good_m = {**good, "logit_m": [0.1, -0.2, 0.3]}
    rows = [dict(good_m, y_b=i % 2, logit_b=[float(i) / 10]) for i in range(20)]
    rows[1].pop("y_b")  # missing label
    rows[3]["logit_b"] = [0.1, 0.2]  # logits width
    rows[5]["y_c"] = "zzz"  # unknown vocabulary string
    rows[7]["y_m"] = [0, 5]  # class id out of range
    rows[9]["y_b"] = 0.5  # a float among int64 labels: unparseable
    rows[11].pop("y_b")  # missing label and unknown string: counted once, first reason
    rows[11]["y_c"] = "zzz"
    rows[13]["logit_m"] = [0.1]  # logits width of the multi-label head
    return rows


def _malformed_head():
    return heads.MultiHead(
        [
            heads.BinaryClassHead(name="b"),
            heads.MultiClassHead(n_classes=3, label_vocabulary=["p", "q", "r"], name="c"),
            heads.MultiLabelHead(n_classes=3, name="m"),
        ]
    )


@pytest.mark.slow
def test_malformed_examples_are_counted_with_reasons(tmp_path, helpers):
    rows = _malformed_rows()
    helpers.write_examples(tmp_path / "part-0.tfrecord.gz", rows[:10])
    helpers.write_examples(tmp_path / "part-1.tfrecord.gz", rows[10:])
    document = runner.evaluate(
        str(tmp_path / "part-*"),
        str(tmp_path / "out"),
        head=_malformed_head(),
        logits_features={"b": "logit_b", "c": "logit_c", "m": "logit_m"},
        label_keys={"b": "y_b", "c": "y_c", "m": "y_m"},
        reject_malformed=True,
        batch_size=4,
    )
    assert document["rejected"] == {
        "count": 7,
        "reasons": {
            "label_out_of_range/m": 1,
            "logits_width/b": 1,
            "logits_width/m": 1,
            "missing_label/b": 2,
            "unknown_label/c": 1,
            "unparseable": 1,
        },
    }
    good = np.array([i not in (1, 3, 5, 7, 9, 11, 13) for i in range(20)])
    overall = document["slices"][0]
    assert overall["example_count"] == good.sum() == 13
    y = np.array([i % 2 for i in range(20)])[good]
    logits = np.array([i / 10 for i in range(20)], np.float32)[good]
    reference = binary_reference(y, logits, np.ones(len(y)), (), "b")
    for key in ("accuracy/b", "label/mean/b", "auc/b", "weighted_example_count/b"):
        assert overall["metrics"][key] == pytest.approx(reference[key], abs=1e-6)


def _non_finite_and_negative_rows():
    rows = [{"y": i % 2, "logit": [i / 10 - 1], "w": [1.0 + i % 3]} for i in range(12)]
    rows[1]["logit"] = [float("nan")]
    rows[4]["logit"] = [float("inf")]
    rows[6]["w"] = [-0.5]
    rows[9]["w"] = [float("nan")]
    return rows


@pytest.mark.parametrize(
    ("row", "reason", "expected", "received"),
    [
        (1, "non_finite_logits", "finite values in logits feature 'logit'", "[nan]"),
        (6, "invalid_weight", "finite weights >= 0 in weight feature 'w'", "-0.5"),
    ],
)
def test_non_finite_logits_and_negative_weights_fail_naming_the_record(
    tmp_path, helpers, row, reason, expected, received
):
    rows = _non_finite_and_negative_rows()
    bad = {1, 4, 6, 9} - {row}
    rows = [r for i, r in enumerate(rows) if i not in bad]  # only the row under test is bad
    record = row - sum(1 for i in bad if i < row)
    path = helpers.write_examples(tmp_path / "part-0.tfrecord.gz", rows)
    with pytest.raises(Exception) as raised:
        runner.evaluate(
            path,
            str(tmp_path / "out"),
            head=heads.BinaryClassHead(weight_column="w", name="b"),
            logits_features="logit",
            label_keys="y",
        )
    message = str(raised.value)
    assert (
        f"Invalid example (record {record} of {path}; {reason}/b): expected {expected}" in message
    )
    assert f"received {received}" in message
    assert not os.path.exists(tmp_path / "out" / constants.METRICS_JSON_FILE)


def test_non_finite_logits_and_invalid_weights_are_counted_when_rejected(tmp_path, helpers):
    rows = _non_finite_and_negative_rows()
    helpers.write_examples(tmp_path / "part-0.tfrecord.gz", rows)
    document = runner.evaluate(
        str(tmp_path / "part-*"),
        str(tmp_path / "out"),
        head=heads.BinaryClassHead(weight_column="w", name="b"),
        logits_features="logit",
        label_keys="y",
        reject_malformed=True,
        batch_size=5,
    )
    assert document["rejected"] == {
        "count": 4,
        "reasons": {"non_finite_logits/b": 2, "invalid_weight/b": 2},
    }
    good = np.array([i not in (1, 4, 6, 9) for i in range(12)])
    overall = document["slices"][0]
    assert overall["example_count"] + document["rejected"]["count"] == len(rows)
    y = np.array([i % 2 for i in range(12)])[good]
    logits = np.array([i / 10 - 1 for i in range(12)], np.float32)[good]
    w = np.array([1.0 + i % 3 for i in range(12)])[good]
    reference = binary_reference(y, logits, w, (), "b")
    for key in ("average_loss/b", "auc/b", "weighted_example_count/b"):
        assert overall["metrics"][key] == pytest.approx(reference[key], abs=1e-6)


def test_every_example_rejected_still_writes_the_overall_slice(tmp_path, helpers):
    helpers.write_examples(tmp_path / "part-0.tfrecord.gz", [{"logit": [0.5]}] * 3)
    document = runner.evaluate(
        str(tmp_path / "part-*"),
        str(tmp_path / "out"),
        head=heads.BinaryClassHead(),
        logits_features="logit",
        label_keys="y",
        reject_malformed=True,
    )
    assert document["rejected"] == {"count": 3, "reasons": {"missing_label": 3}}
    assert document["slices"][0]["slice"] == {} and document["slices"][0]["example_count"] == 0


@pytest.mark.slow
def test_single_head_keys_and_confidence_intervals(tmp_path, helpers):
    import tensorflow_model_analysis as tfma

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 1500)
    logits = rng.normal(y - 0.5, 1.0).astype(np.float32)
    rows = [
        {"label": ["neg", "pos"][y[i]], "logit": [float(logits[i])], "day": int(i % 3)}
        for i in range(len(y))
    ]
    helpers.write_examples(tmp_path / "part-0.tfrecord.gz", rows)
    output = str(tmp_path / "out")
    document = runner.evaluate(
        str(tmp_path / "part-*"),
        output,
        head=heads.BinaryClassHead(label_vocabulary=["neg", "pos"]),
        logits_features="logit",
        label_keys="label",
        slices=["day"],
        confidence_intervals=True,
        num_bootstrap_samples=32,
    )
    overall = document["slices"][0]
    reference = binary_reference(y, logits, np.ones(len(y)), ())
    assert_matches_reference(overall["metrics"], reference)
    intervals = overall["confidence_intervals"]
    assert set(intervals) == set(overall["metrics"])
    for key in ("auc", "accuracy", "label/mean"):
        value = overall["metrics"][key]
        assert intervals[key]["lower"] < value < intervals[key]["upper"]
    # The bootstrap standard error of a mean is close to the analytic one. The replicates'
    # draws depend on the file path (a new temporary one per run), so the estimate varies from
    # run to run: with 32 replicates its relative spread is about 13%, and the bounds below
    # are more than 4 spreads away (with 8 it was 27%, and a CI run drew 0.32x).
    analytic = np.sqrt(y.mean() * (1 - y.mean()) / len(y))
    assert 0.4 * analytic < intervals["label/mean"]["standard_error"] < 2.5 * analytic
    loaded = tfma.load_eval_result(output).get_metrics_for_slice((("day", 1),))
    assert loaded["auc"]["boundedValue"]["lowerBound"] == pytest.approx(
        document["slices"][2]["confidence_intervals"]["auc"]["lower"]
    )
    assert tfma.load_eval_result(output).config.options.compute_confidence_intervals.value


def _taxi_reference(taxi_trips, taxi_model, taxi_examples):
    """Logits from the SavedModel's signature on the files' examples, labels from the trips."""
    from tfx_heads.pipeline.taxi import sample

    files = sorted(tf.io.gfile.glob(taxi_examples))
    serialized = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(10**6)
    outputs = tf.saved_model.load(taxi_model).signatures["predict"](examples=next(iter(serialized)))
    order = np.r_[np.arange(0, len(taxi_trips), 2), np.arange(1, len(taxi_trips), 2)]
    trips = taxi_trips.iloc[order]
    ones = np.ones(len(trips))
    reference = {"example_count/big_tipper_payment_type_trip_seconds_trip_tags": len(trips)}
    reference.update(
        binary_reference(
            trips["big_tipper"].to_numpy(),
            outputs["big_tipper/logits"].numpy(),
            ones,
            (0.3, 0.5, 0.7),
            "big_tipper",
        )  # fmt: skip
    )
    payment = np.array([sample.PAYMENT_TYPES.index(p) for p in trips["payment_type"]])
    reference.update(
        multiclass_reference(
            payment,
            outputs["payment_type/logits"].numpy(),
            ones,
            sample.PAYMENT_TYPES,
            "payment_type",
        )  # fmt: skip
    )
    reference.update(
        regression_reference(
            trips[["log_trip_seconds"]].to_numpy(),
            outputs["trip_seconds/predictions"].numpy().astype(np.float64),
            ones,
            "trip_seconds",
        )
    )
    reference.update(
        multilabel_reference(
            sample.multi_hot(trips["trip_tags"]),
            outputs["trip_tags/logits"].numpy(),
            ones,
            (0.5,),
            (0, 1, 2, 3),
            sample.TRIP_TAGS,
            "trip_tags",
        )  # fmt: skip
    )
    return reference


@pytest.mark.slow
def test_taxi_multi_head_from_the_saved_model(taxi_trips, taxi_model, taxi_examples, taxi_result):
    document, output = taxi_result
    overall = document["slices"][0]
    assert overall["example_count"] == len(taxi_trips)
    reference = _taxi_reference(taxi_trips, taxi_model, taxi_examples)
    assert_matches_reference(overall["metrics"], reference)
    with open(os.path.join(output, "metrics.json")) as f:
        assert json.load(f) == json.loads(json.dumps(document))
    # The evaluated head, as the SavedModel stores it.
    written, keys = read_head_config(os.path.join(output, constants.HEAD_CONFIG_FILE))
    stored, stored_keys = load_head_config(taxi_model)
    assert heads.serialize(written) == heads.serialize(stored) and keys == stored_keys


def test_the_evaluated_head_is_written_beside_the_results(synthetic, synthetic_result):
    _, output = synthetic_result
    written, keys = read_head_config(os.path.join(output, constants.HEAD_CONFIG_FILE))
    assert heads.serialize(written) == heads.serialize(synthetic.head)
    assert keys == synthetic.label_keys


def assert_identical(first, second):
    assert first["rejected"] == second["rejected"]
    assert [s["slice"] for s in first["slices"]] == [s["slice"] for s in second["slices"]]
    for a, b in zip(first["slices"], second["slices"], strict=True):
        assert a["example_count"] == b["example_count"]
        assert set(a["metrics"]) == set(b["metrics"])
        for key, value in a["metrics"].items():
            np.testing.assert_allclose(
                b["metrics"][key], value, rtol=1e-12, atol=1e-12, err_msg=key
            )


@pytest.mark.slow
def test_two_workers_give_identical_results(taxi_examples, taxi_model, taxi_result, tmp_path):
    """In-process with batches of 512 against 2 worker processes with batches of 1000 (the
    CLI test compares a third batch size)."""
    document, output = taxi_result
    import tensorflow_model_analysis as tfma

    slicing = tfma.load_eval_result(output).config.slicing_specs
    slices = [",".join(spec.feature_keys) for spec in slicing if spec.feature_keys]
    two_workers = runner.evaluate(
        taxi_examples,
        str(tmp_path / "out"),
        model=taxi_model,
        slices=slices,
        batch_size=1000,
        num_workers=2,
    )
    assert len(document["slices"]) == 8  # Overall and 7 days.
    assert_identical(document, two_workers)


def test_evaluate_checks_its_arguments(tmp_path):
    with pytest.raises(ValueError, match="exactly one of `model`"):
        runner.evaluate("x", str(tmp_path), head=heads.BinaryClassHead(), label_keys="y")
    with pytest.raises(ValueError, match="matches no file"):
        runner.evaluate(
            str(tmp_path / "none-*"),
            str(tmp_path),
            head=heads.BinaryClassHead(),
            logits_features="l",
            label_keys="y",
        )


def test_a_baseline_needs_a_model_and_its_output_a_baseline(synthetic, tmp_path):
    arguments = dict(head=synthetic.head, label_keys=synthetic.label_keys)
    arguments.update(examples=synthetic.glob, logits_features=synthetic.logits_features)
    with pytest.raises(ValueError, match="Invalid `baseline_model`: expected it with `model`"):
        runner.evaluate(output=str(tmp_path / "c"), baseline_model="m", **arguments)
    with pytest.raises(ValueError, match="Invalid `baseline_output`"):
        runner.evaluate(output=str(tmp_path / "c"), baseline_output="d", **arguments)


def test_options_and_option_keywords_combine(tmp_path):
    options = EvaluationOptions(label_keys="y", logits_features="l", batch_size=8)
    with pytest.raises(ValueError, match="matches no file"):  # the options were accepted
        runner.evaluate(str(tmp_path / "none-*"), str(tmp_path), heads.BinaryClassHead(),
                          options=options, reject_malformed=True)  # fmt: skip
    with pytest.raises(ValueError, match="Invalid `batch_size`: expected an int >= 1"):
        runner.evaluate("x", str(tmp_path), options=options, batch_size=0)
    with pytest.raises(TypeError, match="batch_sizes"):
        runner.evaluate("x", str(tmp_path), options=options, batch_sizes=8)


def test_pipeline_options():
    from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

    options = runner.pipeline_options([], num_workers=2)
    assert options.view_as(StandardOptions).runner == "FnApiRunner"
    assert options.view_as(DirectOptions).direct_num_workers == 2
    assert options.view_as(DirectOptions).direct_running_mode == "multi_processing"
    dataflow = runner.pipeline_options(["--runner=DataflowRunner", "--project=p"])
    assert dataflow.view_as(StandardOptions).runner == "DataflowRunner"
    with pytest.raises(ValueError, match="Invalid `num_workers`"):
        runner.pipeline_options(["--runner=DataflowRunner"], num_workers=2)


def test_read_metrics_gives_the_document_and_leaves_the_collector_as_it_was(tmp_path):
    document = {"slices": [{"metrics": {"auc": 0.5, "x": float("nan")}}], "é": "类", "n": 3}
    (tmp_path / constants.METRICS_JSON_FILE).write_text(json.dumps(document), "utf-8")
    assert gc.isenabled()
    read = runner.read_metrics(str(tmp_path))
    assert gc.isenabled()
    assert json.dumps(read) == json.dumps(document)
    gc.disable()
    try:
        assert json.dumps(runner.read_metrics(str(tmp_path))) == json.dumps(document)
        assert not gc.isenabled()
    finally:
        gc.enable()
    (tmp_path / constants.METRICS_JSON_FILE).write_text("{", "utf-8")
    with pytest.raises(json.JSONDecodeError):
        runner.read_metrics(str(tmp_path))
    assert gc.isenabled()


@pytest.mark.parametrize("gzip", [False, True])
def test_a_truncated_file_fails_naming_the_file_and_the_record(tmp_path, helpers, gzip):
    rows = [{"y": i % 2, "logit": [i / 10]} for i in range(50)]
    suffix = ".tfrecord.gz" if gzip else ".tfrecord"
    whole = helpers.write_examples(tmp_path / f"whole{suffix}", rows, gzip=gzip)
    head_part = helpers.write_examples(tmp_path / f"head{suffix}", rows[:30], gzip=gzip)
    path = str(tmp_path / f"data{suffix}")
    with open(whole, "rb") as f:
        data = f.read()
    # Uncompressed: cut inside record 30's header, which TensorFlow reads as a clean end.
    keep = os.path.getsize(head_part) + 5 if not gzip else len(data) // 2
    with open(path, "wb") as f:
        f.write(data[:keep])  # cut inside record 30 (uncompressed) or inside the stream
    with pytest.raises(OSError) as raised:
        runner.evaluate(
            path,
            str(tmp_path / "out"),
            head=heads.BinaryClassHead(),
            logits_features="logit",
            label_keys="y",
        )
    message = str(raised.value)
    assert message.startswith(f"Invalid `examples` file {path}: expected TFRecords; reading fail")
    if gzip:  # where TensorFlow notices the cut varies; the message names the record
        assert re.search(r"reading failed (at|at or after|after) record \d+", message)
    else:
        assert "reading failed after record 29: 5 bytes remain that are no complete" in message


def test_concatenated_gzip_members_are_read_whole(tmp_path, helpers):
    # A file of two gzip members (`cat a.gz b.gz`): its last 4 bytes give only the second
    # member's size, so the reader decompresses it to check, and finds it complete.
    rows = [{"y": i % 2, "logit": [i / 10]} for i in range(40)]
    first = helpers.write_examples(tmp_path / "a.tfrecord.gz", rows[:25])
    second = helpers.write_examples(tmp_path / "b.tfrecord.gz", rows[25:])
    path = tmp_path / "both.tfrecord.gz"
    path.write_bytes(open(first, "rb").read() + open(second, "rb").read())
    document = runner.evaluate(
        str(path),
        str(tmp_path / "out"),
        head=heads.BinaryClassHead(),
        logits_features="logit",
        label_keys="y",
    )
    assert document["slices"][0]["example_count"] == 40


def test_with_reject_malformed_unreadable_rests_are_reported_and_counts_reconcile(
    tmp_path, helpers
):
    rows = [{"y": i % 2, "logit": [(i % 7) / 10]} for i in range(50)]
    helpers.write_examples(tmp_path / "part-0.tfrecord", rows, gzip=False)
    corrupt = helpers.write_examples(tmp_path / "part-1.tfrecord", rows, gzip=False)
    first_30 = helpers.write_examples(tmp_path / "head.tfrecord.x", rows[:30], gzip=False)
    with open(corrupt, "r+b") as f:  # flip a byte of record 30's data
        f.seek(os.path.getsize(first_30) + 14)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    whole_gzip = open(helpers.write_examples(tmp_path / "g", rows), "rb").read()
    cut_gzip = tmp_path / "part-2.tfrecord.gz"
    cut_gzip.write_bytes(whole_gzip[: len(whole_gzip) // 2])
    document = runner.evaluate(
        str(tmp_path / "part-*"),
        str(tmp_path / "out"),
        head=heads.BinaryClassHead(),
        logits_features="logit",
        label_keys="y",
        batch_size=8,
        reject_malformed=True,
    )
    rejected = document["rejected"]
    evaluated = document["slices"][0]["example_count"]
    by_file = {entry["file"]: entry for entry in rejected["unreadable_files"]}
    assert sorted(by_file) == sorted([corrupt, str(cut_gzip)])
    assert by_file[corrupt]["records"] == 26  # batches of 8: records 24-49 were not read
    assert by_file[str(cut_gzip)]["records"] is None  # the cut stream's rest is unknown
    assert rejected["reasons"] == {"unreadable_records": 26}
    read_from_gzip = evaluated - 50 - 24
    assert 0 <= read_from_gzip < 50
    # Every record of the intact and the corrupt file is evaluated or rejected.
    assert evaluated + rejected["count"] == 50 + 50 + read_from_gzip
    # The metrics are those of the records read.
    logits = [r["logit"][0] for r in rows]
    labels = [r["y"] for r in rows]
    used = list(range(50)) + list(range(24)) + list(range(read_from_gzip))
    expected = roc_auc_score([labels[i] for i in used], [logits[i] for i in used])
    assert document["slices"][0]["metrics"]["auc"] == pytest.approx(expected, abs=1e-12)
    # Without it, the start-up sampling already fails, naming the record.
    message = f"Invalid `examples` file {corrupt}: .* at record 30: corrupted record at \\d+$"
    with pytest.raises(OSError, match=message):
        runner.evaluate(
            corrupt, str(tmp_path / "o2"), head=heads.BinaryClassHead(),
            logits_features="logit", label_keys="y", batch_size=8,
        )  # fmt: skip


def test_min_slice_size_reduces_small_slices_never_the_overall_one(tmp_path, helpers):
    # 30 examples: day 0 has 20, day 1 has 10; a minimum of 15 keeps day 0 whole, reduces day
    # 1 to its counts and, as in TFMA, leaves the overall slice whole although it is smaller
    # than a minimum of 40.
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 30)
    logits = rng.normal(y - 0.5, 1.0).astype(np.float32)
    rows = [{"y": [int(y[i])], "logit": [float(logits[i])], "day": int(i >= 20)} for i in range(30)]
    helpers.write_examples(tmp_path / "part-0.tfrecord.gz", rows)
    for minimum, whole_days in ((15, {0}), (40, set())):
        document = runner.evaluate(
            str(tmp_path / "part-*"),
            str(tmp_path / f"out-{minimum}"),
            head=heads.BinaryClassHead(),
            logits_features="logit",
            label_keys="y",
            slices=["day"],
            min_slice_size=minimum,
        )
        overall, *days = document["slices"]
        assert overall["slice"] == {} and not overall.get("counts_only")
        assert_matches_reference(overall["metrics"], binary_reference(y, logits, np.ones(30), ()))
        by_day = {entry["slice"]["day"]: entry for entry in days}
        assert {int(day) for day, entry in by_day.items() if not entry.get("counts_only")} == (
            whole_days
        )
        assert sorted(entry["example_count"] for entry in by_day.values()) == [10, 20]


@pytest.mark.parametrize("workers", [None, pytest.param(2, marks=pytest.mark.slow)])
def test_many_slices_of_a_binary_head_each_match_their_reference(tmp_path, helpers, workers):
    """A binary head's slices are combined in groups (`slice_groups`): every slice of 60
    (some examples in two of them) still gets the metrics of its own examples, in-process
    and on two worker processes, and the encoded slices' temporary files are gone."""
    rng = np.random.default_rng(11)
    size = 900
    y = rng.integers(0, 2, size)
    logits = rng.normal(y - 0.5, 1.0).astype(np.float32)
    weights = rng.integers(1, 4, size).astype(np.float64)
    cities = [sorted({f"c{rng.integers(0, 60)}" for _ in range(rng.integers(1, 3))}) for _ in y]
    rows = [
        {"y": [int(y[i])], "logit": [float(logits[i])], "w": [weights[i]], "city": cities[i]}
        for i in range(size)
    ]
    helpers.write_examples(tmp_path / "part-0.tfrecord.gz", rows)
    output = tmp_path / "out"
    document = runner.evaluate(
        str(tmp_path / "part-*"), str(output), head=heads.BinaryClassHead(weight_column="w"),
        logits_features="logit", label_keys="y", slices=["city"], num_workers=workers,
    )  # fmt: skip
    by_city = {entry["slice"]["city"]: entry for entry in document["slices"][1:]}
    assert sorted(by_city) == sorted({city for row in cities for city in row})
    for city, entry in by_city.items():
        rows_of = np.array([city in row for row in cities])
        reference = binary_reference(y[rows_of], logits[rows_of], weights[rows_of], ())
        assert entry["example_count"] == rows_of.sum()
        assert_matches_reference(entry["metrics"], reference)
    assert sorted(os.listdir(output)) == [  # no temporary file left
        "eval_config.json", "head_config.json", "metrics-00000-of-00001.tfrecord",
        "metrics.json", "plots-00000-of-00001.tfrecord", "validations.tfrecord",
    ]  # fmt: skip
