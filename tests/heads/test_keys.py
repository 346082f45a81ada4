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


def test_every_constant_of_the_original_tables():
    metric_keys = {
        "LOSS": "loss",
        "LOSS_MEAN": "average_loss",
        "LOSS_REGULARIZATION": "regularization_loss",
        "ACCURACY": "accuracy",
        "PRECISION": "precision",
        "RECALL": "recall",
        "ACCURACY_BASELINE": "accuracy_baseline",
        "AUC": "auc",
        "AUC_PR": "auc_precision_recall",
        "LABEL_MEAN": "label/mean",
        "PREDICTION_MEAN": "prediction/mean",
        "ACCURACY_AT_THRESHOLD": "accuracy/positive_threshold_%g",
        "PRECISION_AT_THRESHOLD": "precision/positive_threshold_%g",
        "RECALL_AT_THRESHOLD": "recall/positive_threshold_%g",
        "PRECISION_AT_RECALL": "precision_at_recall_%g",
        "RECALL_AT_PRECISION": "recall_at_precision_%g",
        "SENSITIVITY_AT_SPECIFICITY": "sensitivity_at_specificity_%g",
        "SPECIFICITY_AT_SENSITIVITY": "specificity_at_sensitivity_%g",
        "PROBABILITY_MEAN_AT_CLASS": "probability_mean/class%d",
        "AUC_AT_CLASS": "auc/class%d",
        "AUC_PR_AT_CLASS": "auc_precision_recall/class%d",
        "PROBABILITY_MEAN_AT_NAME": "probability_mean/%s",
        "AUC_AT_NAME": "auc/%s",
        "AUC_PR_AT_NAME": "auc_precision_recall/%s",
    }
    assert {name: getattr(MetricKeys, name) for name in metric_keys} == metric_keys
    prediction_keys = {
        "CLASSES": "classes",
        "CLASS_IDS": "class_ids",
        "ALL_CLASSES": "all_classes",
        "ALL_CLASS_IDS": "all_class_ids",
        "LOGISTIC": "logistic",
        "LOGITS": "logits",
        "PREDICTIONS": "predictions",
        "PROBABILITIES": "probabilities",
        "TOP_K": "top_k",
    }
    assert {name: getattr(PredictionKeys, name) for name in prediction_keys} == prediction_keys
    thresholds = [MetricKeys.RECALL_AT_THRESHOLD % t for t in (0.5, 0.25, 1 / 3, 1e-5)]
    assert thresholds == [
        "recall/positive_threshold_0.5",
        "recall/positive_threshold_0.25",
        "recall/positive_threshold_0.333333",
        "recall/positive_threshold_1e-05",
    ]
