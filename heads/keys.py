"""String constants shared by the heads: prediction keys, metric keys, serving keys.

The strings are those of `tf.estimator` 2.15 (`PredictionKeys`, `MetricKeys` and the
serving signature keys of `base_head`), so code that reads predictions, metrics or
signatures by key keeps working unchanged.
"""

from heads.stats.metric_keys import EstimatorMetricKeys

__all__ = [
    "CLASSIFY_SERVING_KEY",
    "DEFAULT_SERVING_KEY",
    "EXAMPLES_INPUT_KEY",
    "INPUTS_INPUT_KEY",
    "PREDICT_SERVING_KEY",
    "REGRESS_SERVING_KEY",
    "MetricKeys",
    "PredictionKeys",
]

DEFAULT_SERVING_KEY = "serving_default"
"""Signature key TF Serving uses when the request names none."""

CLASSIFY_SERVING_KEY = "classification"
REGRESS_SERVING_KEY = "regression"
PREDICT_SERVING_KEY = "predict"

INPUTS_INPUT_KEY = "inputs"
"""The input of the classify and regress signatures: a batch of serialized tf.Examples."""
EXAMPLES_INPUT_KEY = "examples"
"""The input of the predict signature: a batch of serialized tf.Examples."""


class PredictionKeys:
    """Keys of the dict returned by `Head.predictions`.

    Prediction keys are never suffixed with the head name.
    """

    CLASSES = "classes"
    CLASS_IDS = "class_ids"
    ALL_CLASSES = "all_classes"
    ALL_CLASS_IDS = "all_class_ids"
    LOGISTIC = "logistic"
    LOGITS = "logits"
    PREDICTIONS = "predictions"
    PROBABILITIES = "probabilities"
    TOP_K = "top_k"


class MetricKeys(EstimatorMetricKeys):
    """Keys of the dict returned by `Head.metrics`, before the `/<head name>` suffix.

    The strings are defined once, in `heads.stats.metric_keys.EstimatorMetricKeys` (the
    NumPy-only statistics use them too). Keys ending in `%g` are formatted with a threshold
    (`0.5` -> `0.5`, `1/3` -> `0.333333`); keys ending in `%d` with a class id; keys ending
    in `%s` with a class name from the label vocabulary.
    """
