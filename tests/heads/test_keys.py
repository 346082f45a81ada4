"""Tests of heads.keys: the original tf.estimator strings."""

from heads import keys
from heads.keys import MetricKeys, PredictionKeys


def test_prediction_keys():
    assert PredictionKeys.CLASS_IDS == "class_ids"
    assert PredictionKeys.ALL_CLASSES == "all_classes"
    assert PredictionKeys.PREDICTIONS == "predictions"


def test_metric_keys_formatting():
    assert MetricKeys.LOSS_MEAN == "average_loss"
    assert MetricKeys.ACCURACY_AT_THRESHOLD % 0.5 == "accuracy/positive_threshold_0.5"
    assert MetricKeys.AUC_PR_AT_CLASS % 3 == "auc_precision_recall/class3"
    assert MetricKeys.PROBABILITY_MEAN_AT_NAME % "cat" == "probability_mean/cat"


def test_serving_keys():
    assert keys.DEFAULT_SERVING_KEY == "serving_default"
    assert (keys.CLASSIFY_SERVING_KEY, keys.REGRESS_SERVING_KEY, keys.PREDICT_SERVING_KEY) == (
        "classification",
        "regression",
        "predict",
    )


def test_serving_input_keys():
    assert (keys.INPUTS_INPUT_KEY, keys.EXAMPLES_INPUT_KEY) == ("inputs", "examples")
