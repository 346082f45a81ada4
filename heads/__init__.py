"""tf.estimator heads (losses, metrics, predictions) for TF2 and Keras 3."""

# This module only re-exports the public API.
# ruff: noqa: F401

from heads import contrib
from heads.base_head import Head
from heads.binary_class_head import BinaryClassHead
from heads.export import export_saved_model, load_head_config
from heads.keras_model import HeadModel
from heads.keys import MetricKeys, PredictionKeys
from heads.logistic_regression_head import LogisticRegressionHead
from heads.multi_class_head import MultiClassHead
from heads.multi_head import MultiHead
from heads.multi_label_head import MultiLabelHead
from heads.poisson_regression_head import PoissonRegressionHead
from heads.regression_head import RegressionHead
from heads.serialization import deserialize, serialize
